/*
 * url_shortener/transactional.h
 *    The Client's calls inside a transaction the caller owns, so a link is
 *    made (or edited) in the same transaction as the caller's own rows: an
 *    order and its tracking link commit together or not at all.
 *
 *    This header needs libpqxx (the caller brings the transaction); the main
 *    header, url_shortener/client.h, stays free of libpqxx types.
 *
 *      pqxx::work t(connection);
 *      t.exec_params("INSERT INTO orders ...", ...);
 *      url_shortener::InTransaction links(t);
 *      const std::string code = links.shorten("https://shop.example/orders/42");
 *      t.exec_params("UPDATE orders SET tracking_code = $1 ...", code);
 *      t.commit();
 *
 *    What differs from Client:
 *      - No retries, no reconnects, no timeouts of its own: the caller owns
 *        the transaction, its isolation level, its settings and its COMMIT.
 *        A failure leaves the caller's transaction aborted (as any failed
 *        statement in PostgreSQL does); the caller rolls back and decides.
 *      - Statements are sent with bound parameters (exec_params), not
 *        prepared, so nothing is left behind on the caller's connection.
 *      - A lost connection is ConnectionLost when t is a real transaction
 *        (the server rolls it back: nothing of it was stored) and
 *        OutcomeUnknown when t is a pqxx::nontransaction (each statement
 *        commits by itself).  On a connection already closed (a call, or
 *        the constructor, after a loss) nothing is sent: ConnectionLost,
 *        whatever t is, and libpqxx is kept from reopening it by itself.
 *    Errors are otherwise the Client's (url_shortener/errors.h), chosen the
 *    same way; the same client-side checks run before sending.
 *
 *    An InTransaction lives no longer than the transaction it was made on,
 *    and like the transaction it is used from one thread.  A call after
 *    that transaction was committed or aborted throws url_shortener::Error
 *    (no SQLSTATE) and sends nothing, rather than store a link outside it.
 *    For a pqxx::subtransaction only the end of its top-level transaction
 *    is noticed, and not once the caller has opened another transaction on
 *    the connection (libpqxx 6.4 tells no more: see transactional.cpp).
 */
#ifndef URL_SHORTENER_TRANSACTIONAL_H
#define URL_SHORTENER_TRANSACTIONAL_H

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <pqxx/transaction_base>

#include "url_shortener/client.h"
#include "url_shortener/export.h"

namespace url_shortener {

class URL_SHORTENER_CLIENT_EXPORT InTransaction {
public:
    /*
     * Looks up the extension's schema and version in t (one query).  Throws
     * ServerError (42704) if the extension is not installed, and what a
     * statement can throw.
     */
    explicit InTransaction(pqxx::transaction_base &t);

    /* As Client::shorten and shorten_locked, with or without options. */
    std::string shorten(std::string_view url);
    std::string shorten(std::string_view url, const LinkOptions &options);
    std::string shorten_locked(std::string_view url);
    std::string shorten_locked(std::string_view url, const LinkOptions &options);

    /* As Client::resolve: the URL and one click, or std::nullopt. */
    std::optional<std::string> resolve(std::string_view code);

    /*
     * As Client::shorten_many, chunk_size URLs per statement (1 to
     * 1,000,000, else InvalidArgument), all inside t: if any chunk fails,
     * t is aborted and nothing of the batch survives.  (On a
     * pqxx::nontransaction each chunk commits by itself: the chunks before
     * a failed one stay stored.)
     */
    std::vector<std::string> shorten_many(const std::vector<std::string> &urls,
                                          std::size_t chunk_size = 5000);

    /*
     * The same with the caller's idempotency keys, one per URL (extension
     * 1.3), as Client::shorten_many with keys.  A key is sent only when
     * the caller gives one, here and in LinkOptions: nothing here retries.
     */
    std::vector<std::string> shorten_many(const std::vector<std::string> &urls,
                                          const std::vector<std::string> &idempotency_keys,
                                          std::size_t chunk_size = 5000);

    /* As the Client calls of the same names (extension 1.1 or later). */
    std::optional<long long> update(std::string_view code, std::string_view new_url,
                                    long long expected_version);
    bool remove(std::string_view code);
    bool disable(std::string_view code);
    bool enable(std::string_view code);
    std::optional<LinkStats> stats(std::string_view code);
    std::optional<std::string> resolve_without_click(std::string_view code);
    long long purge(int batch_size = 1000);

    /* The installed extension version, as read by the constructor. */
    const std::string &server_version() const noexcept { return version_; }

private:
    pqxx::transaction_base &transaction_;
    std::string schema_;   /* quoted */
    std::string version_;
};

} // namespace url_shortener

#endif
