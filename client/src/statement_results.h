/*
 * statement_results.h
 *    What the statements return, decoded the same way for Client
 *    (client.cpp) and InTransaction (transactional.cpp): one code, an
 *    optional URL or number, a boolean, a url_stats row, and a whole batch
 *    sent chunk by chunk.  Both run the same statements and differ only in
 *    how they send them (prepared by name, or with bound parameters) and
 *    what they do about a failure (retry, or leave it to the caller).
 */
#ifndef URL_SHORTENER_CLIENT_STATEMENT_RESULTS_H
#define URL_SHORTENER_CLIENT_STATEMENT_RESULTS_H

#include <algorithm>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include <pqxx/result>

#include "idempotency_key.h"
#include "text_array.h"
#include "url_shortener/client.h"

namespace url_shortener {

/* The code in the one row and column shorten_url returns. */
std::string single_code(const pqxx::result &rows);

/* The one text value (resolve_url), std::nullopt for NULL. */
std::optional<std::string> optional_text(const pqxx::result &rows);

/* The one number (update_url), std::nullopt for NULL. */
std::optional<long long> optional_number(const pqxx::result &rows);

/* The one number (purge_urls); never NULL. */
long long number_result(const pqxx::result &rows);

/* Whether the one boolean (delete_url, disable_url, enable_url) is true; NULL is false. */
bool true_result(const pqxx::result &rows);

/* The stats statement's row as LinkStats, std::nullopt for no row. */
std::optional<LinkStats> optional_stats(const pqxx::result &rows);

/* A row of the stats statement (statements.h) as LinkStats. */
LinkStats stats_from_row(const pqxx::row &r);

/*
 * Appends a chunk's codes (one column, one row per URL sent, in order) to
 * codes; throws ServerError if the server returned another number of rows.
 */
void append_chunk_codes(const pqxx::result &rows, std::size_t urls_sent,
                        std::vector<std::string> &codes);

/*
 * The ServerError (0A000) for call against an extension older than needed
 * ("1.1"), installed being the version the database has.
 */
ServerError needs_version(const std::string &call, const char *needed,
                          const std::string &installed);

/*
 * Shortens urls chunk by chunk: run_chunk(urls_literal, keys_literal)
 * sends one chunk's text[] literal of URLs (and of their keys, nullptr
 * when keys is empty) and returns the result.  chunk_begin is set to where
 * the chunk being sent starts, so a caller can name a refused URL's
 * absolute position (absolute_batch_error).  progress, if set, is called
 * after each chunk.  Returns the codes in input order.
 */
template <typename RunChunk>
std::vector<std::string> shorten_in_chunks(const std::vector<std::string> &urls,
                                           const BatchKeys &keys, std::size_t chunk,
                                           std::size_t &chunk_begin,
                                           const BatchProgress &progress, RunChunk run_chunk)
{
    chunk = std::max<std::size_t>(chunk, 1);
    std::vector<std::string> codes;
    codes.reserve(urls.size());
    for (std::size_t begin = 0; begin < urls.size(); begin += chunk) {
        chunk_begin = begin;
        const std::size_t end = std::min(urls.size(), begin + chunk);
        const std::string url_literal = text_array_literal(urls.data() + begin, urls.data() + end);
        const std::string key_literal = keys.empty() ? std::string() : keys.literal(begin, end);
        const pqxx::result rows = run_chunk(url_literal, keys.empty() ? nullptr : &key_literal);
        append_chunk_codes(rows, end - begin, codes);
        if (progress)
            progress(end, urls.size());
    }
    return codes;
}

} // namespace url_shortener

#endif
