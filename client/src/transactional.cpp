/*
 * transactional.cpp
 *    InTransaction: the calls as single statements with bound parameters in
 *    the caller's transaction, with libpqxx failures turned into
 *    url_shortener errors and never retried.
 */
#include "url_shortener/transactional.h"

#include <algorithm>
#include <exception>

#include <pqxx/connection_base>
#include <pqxx/except>
#include <pqxx/nontransaction>
#include <pqxx/result>

#include "failure_classification.h"
#include "idempotency_key.h"
#include "server_connection.h"
#include "statement_results.h"
#include "statement_values.h"
#include "statements.h"

namespace url_shortener {

namespace {

/*
 * Throws url_shortener::Error unless t is still open.  libpqxx 6.4's
 * exec_params does not check that the transaction was not committed or
 * aborted (exec does, by sending), so a statement sent after t.abort()
 * would run by itself, in autocommit, and store a link outside the
 * caller's transaction.  libpqxx exposes no status, but it keeps a
 * transaction (every kind but a subtransaction) registered on its
 * connection from construction until it ends, and refuses to start
 * another meanwhile: starting a nontransaction, which sends nothing,
 * fails while t is open and succeeds once it ended.  That costs an
 * exception per call, no round trip.  A subtransaction is registered
 * with its parent, not the connection: for it, only the end of its
 * top-level transaction is noticed.
 */
void require_open(pqxx::transaction_base &t)
{
    /* Not sent on a connection that was open and is lost: libpqxx would
     * reopen it by itself, outside any transaction, and send the statement
     * there.  A lazy connection never opened yet (its server_version() is
     * still 0; libpqxx keeps it after a loss) opens on first use, as ever. */
    if (!t.conn().is_open() && t.conn().server_version() != 0)
        throw ConnectionLost("the connection of this url_shortener::InTransaction's transaction "
                             "is closed; nothing was sent",
                             sqlstate_connection_lost, {});
    try {
        pqxx::nontransaction probe(t.conn(), "url_shortener transaction check");
    } catch (const pqxx::usage_error &) {
        return;   /* another transaction, t, holds the connection */
    } catch (const pqxx::broken_connection &) {
        /* The probe got the connection, so t has ended; and the connection
         * has gone since (its notifications could not be read). */
    }
    throw Error("the transaction this url_shortener::InTransaction was made on has ended "
                "(committed or aborted); nothing was sent");
}

/*
 * Runs work and turns a libpqxx failure into the url_shortener error for
 * it, classified as Client classifies: in a real transaction a lost
 * connection means the server rolled it back; in a nontransaction the
 * statement may have committed.  Nothing is retried.
 */
template <typename Work>
auto translated(pqxx::transaction_base &t, const CallArguments &arguments, Work work)
{
    require_open(t);
    try {
        return work();
    } catch (const Error &) {
        throw;
    } catch (...) {
        const bool explicit_transaction = dynamic_cast<pqxx::nontransaction *>(&t) == nullptr;
        const Failure failure = classify_failure(std::current_exception(), t.conn().is_open(),
                                                 explicit_transaction, arguments);
        if (!failure.error)
            throw;
        std::rethrow_exception(failure.error);
    }
}

/* The lifecycle calls need 1.1; against 1.0 they would fail less clearly. */
void require_lifecycle(const std::string &version, const char *call)
{
    if (!version_at_least(version, 1, 1))
        throw needs_version(call, "1.1", version);
}

/* Idempotency keys need 1.3. */
void require_idempotency_keys(const std::string &version)
{
    if (!version_at_least(version, 1, 3))
        throw needs_version("an idempotency key", "1.3", version);
}

} // namespace

InTransaction::InTransaction(pqxx::transaction_base &t) : transaction_(t)
{
    translated(t, CallArguments{false, false}, [&] {
        const pqxx::result rows = t.exec(statements::extension_schema);
        if (rows.empty())
            throw ServerError("the url_shortener extension is not installed in this database",
                              "42704",
                              ClientReport({}, "Run \"CREATE EXTENSION url_shortener\" in the "
                                               "database the client connects to."));
        schema_ = t.conn().quote_name(rows[0][0].as<std::string>());
        version_ = rows[0][1].as<std::string>();
        return 0;
    });
}

std::string InTransaction::shorten(std::string_view url)
{
    refuse_nul_byte(url);
    const std::string argument(url);
    return translated(transaction_, {}, [&] {
        return single_code(transaction_.exec_params(statements::shorten.sql(schema_), argument));
    });
}

std::string InTransaction::shorten_locked(std::string_view url)
{
    refuse_nul_byte(url);
    const std::string argument(url);
    return translated(transaction_, {}, [&] {
        return single_code(
            transaction_.exec_params(statements::shorten_locked.sql(schema_), argument));
    });
}

namespace {

/*
 * shorten or shorten_locked with options: plain and keyed are the
 * statements without and with the idempotency key, sent only when the
 * caller gave one (nothing here retries, so a key of our own would serve
 * nothing).
 */
std::string shorten_with(pqxx::transaction_base &t, const std::string &plain,
                         const std::string &keyed, const std::string &version,
                         std::string_view url, const LinkOptions &options)
{
    refuse_nul_byte(url);
    check_link_options(options);
    require_lifecycle(version, "shorten with options");
    if (options.idempotency_key) {
        require_idempotency_keys(version);
        if (client_encoding_is_utf8(t.conn()))
            refuse_invalid_utf8_key(*options.idempotency_key, "idempotency_key");
    }
    const std::string argument(url);
    const OptionParameters p(options);
    /* The key too, so that the server's refusal of it is InvalidArgument. */
    const CallArguments sent{true, has_options(options), options.idempotency_key.has_value()};
    return translated(t, sent, [&] {
        if (options.idempotency_key)
            return single_code(t.exec_params(
                keyed, argument, OptionParameters::text(p.alias), OptionParameters::text(p.reuse),
                OptionParameters::text(p.expires_at), OptionParameters::text(p.max_clicks),
                OptionParameters::text(p.idempotency_key)));
        return single_code(t.exec_params(plain, argument, OptionParameters::text(p.alias),
                                         OptionParameters::text(p.reuse),
                                         OptionParameters::text(p.expires_at),
                                         OptionParameters::text(p.max_clicks)));
    });
}

/* A one-parameter statement on a code, returning its boolean result. */
bool code_call(pqxx::transaction_base &t, const std::string &sql, const std::string &version,
               const char *call, std::string_view code)
{
    require_lifecycle(version, call);
    if (impossible_code(code))
        return false;
    const std::string argument(code);
    return translated(t, CallArguments{false, false},
                      [&] { return true_result(t.exec_params(sql, argument)); });
}

} // namespace

std::string InTransaction::shorten(std::string_view url, const LinkOptions &options)
{
    return shorten_with(transaction_, statements::shorten_with_options.sql(schema_),
                        statements::shorten_with_options_keyed.sql(schema_), version_, url,
                        options);
}

std::string InTransaction::shorten_locked(std::string_view url, const LinkOptions &options)
{
    return shorten_with(transaction_, statements::shorten_locked_with_options.sql(schema_),
                        statements::shorten_locked_with_options_keyed.sql(schema_), version_, url,
                        options);
}

std::optional<std::string> InTransaction::resolve(std::string_view code)
{
    if (impossible_code(code))
        return std::nullopt;
    const std::string argument(code);
    return translated(transaction_, {}, [&] {
        return optional_text(transaction_.exec_params(statements::resolve.sql(schema_), argument));
    });
}

namespace {

/* shorten_many inside t, with keys (of the caller) or without. */
std::vector<std::string> shorten_batch(pqxx::transaction_base &t, const std::string &schema,
                                       const std::vector<std::string> &urls,
                                       const BatchKeys &keys, std::size_t chunk_size)
{
    const std::string plain = statements::shorten_chunk.sql(schema);
    const std::string keyed = statements::shorten_chunk_keyed.sql(schema);
    std::size_t chunk_begin = 0;
    try {
        return translated(t, CallArguments{true, false, !keys.empty()}, [&] {
            return shorten_in_chunks(
                urls, keys, chunk_size, chunk_begin, {},
                [&](const std::string &url_array, const std::string *key_array) {
                    if (key_array)
                        return t.exec_params(keyed, url_array, *key_array);
                    return t.exec_params(plain, url_array);
                });
        });
    } catch (const InvalidUrl &e) {
        throw absolute_batch_error(e, chunk_begin, urls.size());
    } catch (const IdempotencyConflict &e) {
        throw absolute_batch_error(e, chunk_begin, urls.size());
    }
}

} // namespace

std::vector<std::string> InTransaction::shorten_many(const std::vector<std::string> &urls,
                                                     std::size_t chunk_size)
{
    check_chunk_size(chunk_size, "chunk_size");
    if (urls.empty())
        return {};
    refuse_nul_bytes(urls);
    if (client_encoding_is_utf8(transaction_.conn()))
        refuse_invalid_utf8(urls, nullptr);
    return shorten_batch(transaction_, schema_, urls, BatchKeys(), chunk_size);
}

std::vector<std::string> InTransaction::shorten_many(const std::vector<std::string> &urls,
                                                     const std::vector<std::string> &idempotency_keys,
                                                     std::size_t chunk_size)
{
    check_chunk_size(chunk_size, "chunk_size");
    const BatchKeys keys(idempotency_keys, urls.size());
    if (urls.empty())
        return {};
    refuse_nul_bytes(urls);
    require_idempotency_keys(version_);
    if (client_encoding_is_utf8(transaction_.conn()))
        refuse_invalid_utf8(urls, &idempotency_keys);
    return shorten_batch(transaction_, schema_, urls, keys, chunk_size);
}

std::optional<long long> InTransaction::update(std::string_view code, std::string_view new_url,
                                               long long expected_version)
{
    require_lifecycle(version_, "update");
    refuse_nul_byte(new_url, "new_url");
    if (impossible_code(code))
        return std::nullopt;
    const std::string code_argument(code), url_argument(new_url);
    const std::string version_argument = std::to_string(expected_version);
    return translated(transaction_, {}, [&] {
        return optional_number(transaction_.exec_params(statements::update.sql(schema_),
                                                        code_argument, url_argument,
                                                        version_argument));
    });
}

bool InTransaction::remove(std::string_view code)
{
    return code_call(transaction_, statements::remove.sql(schema_), version_, "remove", code);
}

bool InTransaction::disable(std::string_view code)
{
    return code_call(transaction_, statements::disable.sql(schema_), version_, "disable", code);
}

bool InTransaction::enable(std::string_view code)
{
    return code_call(transaction_, statements::enable.sql(schema_), version_, "enable", code);
}

std::optional<LinkStats> InTransaction::stats(std::string_view code)
{
    require_lifecycle(version_, "stats");
    if (impossible_code(code))
        return std::nullopt;
    const std::string argument(code);
    return translated(transaction_, CallArguments{false, false}, [&] {
        return optional_stats(transaction_.exec_params(statements::stats.sql(schema_), argument));
    });
}

std::optional<std::string> InTransaction::resolve_without_click(std::string_view code)
{
    require_lifecycle(version_, "resolve_without_click");
    if (impossible_code(code))
        return std::nullopt;
    const std::string argument(code);
    return translated(transaction_, CallArguments{false, false}, [&] {
        return optional_text(
            transaction_.exec_params(statements::resolve_without_click.sql(schema_), argument));
    });
}

long long InTransaction::purge(int batch_size)
{
    if (batch_size < 1)
        throw InvalidArgument("batch_size must be at least 1", sqlstate_invalid_argument,
                              ClientReport("It is " + std::to_string(batch_size) + "."));
    require_lifecycle(version_, "purge");
    const std::string argument = std::to_string(batch_size);
    return translated(transaction_, CallArguments{false, true}, [&] {
        return number_result(transaction_.exec_params(statements::purge.sql(schema_), argument));
    });
}

} // namespace url_shortener
