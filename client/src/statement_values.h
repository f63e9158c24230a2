/*
 * statement_values.h
 *    The values the statements take and return: checking arguments before
 *    anything is sent (NUL bytes, the options the client can judge),
 *    encoding options as text parameters, decoding url_stats rows, and
 *    naming a refused URL of a batch by its place in the caller's vector.
 *    Shared by Client (client.cpp) and InTransaction (transactional.cpp).
 */
#ifndef URL_SHORTENER_CLIENT_STATEMENT_VALUES_H
#define URL_SHORTENER_CLIENT_STATEMENT_VALUES_H

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <pqxx/result>

#include "url_shortener/client.h"

namespace url_shortener {

/*
 * libpq sends parameters as C strings, so a NUL byte would silently cut
 * the URL short; refuse it (InvalidUrl 22021) the way the server refuses
 * bad bytes.
 */
void refuse_nul_byte(std::string_view url);

/* The same for every URL of a batch, naming the first bad one's position. */
void refuse_nul_bytes(const std::vector<std::string> &urls);

/* The code in the one row and column shorten_url returns. */
std::string single_code(const pqxx::result &rows);

/* A time as the Unix seconds to_timestamp() takes, to the microsecond. */
std::string unix_seconds(std::chrono::system_clock::time_point t);

/* Unix seconds (EXTRACT(epoch ...)) as a time. */
std::chrono::system_clock::time_point from_unix_seconds(double seconds);

/*
 * Refuses with InvalidArgument (22023), before anything is sent, the
 * options the client can judge by itself: the alias's length and
 * characters, max_clicks below 1, an expiry not after the client's clock,
 * reuse with another option.  The server checks them all again (and the
 * reserved words, and the expiry against its own clock).
 */
void check_link_options(const LinkOptions &o);

/* Whether any option is set. */
bool has_options(const LinkOptions &o);

/*
 * The 1-based position n in "URL n of m in the array", the context the
 * extension's shorten_urls gives a refused element; nullopt without one.
 */
std::optional<std::size_t> element_position(const std::string &context);

/* The options as the text parameters $2..$5 of the statements, NULL where absent. */
struct OptionParameters {
    std::optional<std::string> alias, reuse, expires_at, max_clicks;

    explicit OptionParameters(const LinkOptions &o);

    static const char *text(const std::optional<std::string> &p)
    {
        return p ? p->c_str() : nullptr;
    }
};

/* A row of the stats statement (statements.h) as LinkStats. */
LinkStats stats_from_row(const pqxx::row &r);

/*
 * e, refused in a chunk starting at chunk_begin of a batch of total URLs,
 * as the error naming its absolute position (e itself without the
 * extension's element context).
 */
InvalidUrl absolute_batch_error(const InvalidUrl &e, std::size_t chunk_begin, std::size_t total);

} // namespace url_shortener

#endif
