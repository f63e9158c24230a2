/*
 * client.cpp
 *    url_shortener::Client: the public calls, each one prepared statement
 *    (or one per chunk) run through the retry loop.
 */
#include "url_shortener/client.h"

#include <algorithm>
#include <cstdio>
#include <random>
#include <utility>

#include <pqxx/result>
#include <pqxx/transaction_base>

#include "idempotency_key.h"
#include "retry_loop.h"
#include "server_connection.h"
#include "statement_results.h"
#include "statement_values.h"
#include "statements.h"

namespace url_shortener {

/* What a Client owns: its connection, its options, its jitter source. */
struct Client::Session {
    Session(const std::string &connection_string, ClientOptions client_options)
        : connection(connection_string, client_options.connect_timeout,
                     client_options.statement_timeout, client_options.defer_connect),
          options(std::move(client_options)), random(std::random_device{}())
    {
    }

    ServerConnection connection;
    ClientOptions options;
    std::mt19937_64 random;
};

namespace {

/*
 * The session's connection, opened if it has none that works: for what
 * needs the server's version or encoding (ServerConnection::ensure_open).
 */
template <typename SessionType>
ServerConnection &opened(SessionType &s)
{
    s.connection.ensure_open(s.options.on_retry);
    return s.connection;
}

/* The CallArguments of a call that changes nothing (a lost connection is retried). */
CallArguments only_reads()
{
    CallArguments reads;
    reads.sends_url = false;
    reads.only_reads = true;
    return reads;
}

/*
 * The installed extension version, read through the retry loop; reconnects
 * (preparing the statements anew) if it is not the one they were prepared
 * for, so a Client notices ALTER EXTENSION ... UPDATE.
 */
template <typename SessionType>
std::string refresh_version(SessionType &s)
{
    const std::optional<std::string> installed = run_with_retries(
        s.connection, s.options, Isolation::autocommit, s.random,
        [&](pqxx::transaction_base &t) -> std::optional<std::string> {
            const pqxx::result rows = t.exec(statements::extension_schema);
            if (rows.empty())
                return std::nullopt;
            return rows[0][1].as<std::string>();
        },
        only_reads());
    if (!installed)
        throw ServerError("the url_shortener extension is not installed in this database",
                          "42704");
    if (*installed != s.connection.extension_version()) {
        s.connection.budget().reprepared = true;   /* the call's one, as in run_with_retries */
        if (s.options.on_retry)
            s.options.on_retry(RetryEvent{RetryCause::extension_updated, 0,
                                          std::chrono::milliseconds(0)});
        s.connection.reconnect();
    }
    return *installed;
}

/*
 * Throws unless the server's extension has the lifecycle calls; first
 * checks whether it was updated since the statements were prepared.
 */
template <typename SessionType>
void require_lifecycle(SessionType &s, const char *call)
{
    if (opened(s).has_lifecycle())
        return;
    const std::string installed = refresh_version(s);
    if (!opened(s).has_lifecycle())
        throw needs_version(call, "1.1", installed);
}

/*
 * Throws unless the server's extension takes idempotency keys (1.3), for a
 * key the caller gave; first checks whether it was updated meanwhile.
 */
template <typename SessionType>
void require_idempotency_keys(SessionType &s)
{
    if (opened(s).has_idempotency_keys())
        return;
    const std::string installed = refresh_version(s);
    if (!opened(s).has_idempotency_keys())
        throw needs_version("an idempotency key", "1.3", installed);
}

/*
 * The calls' shared bodies, templates over the (private) Session type,
 * which they never name.
 */

/*
 * shorten or shorten_locked without options: plain and keyed are the
 * statements without and with an idempotency key.  Against 1.3 a random
 * key goes with the URL, so a lost connection can be retried.
 */
template <typename SessionType>
std::string shorten_plain(SessionType &s, const char *plain, const char *keyed,
                          std::string_view url)
{
    refuse_nul_byte(url);
    const std::string argument(url);
    if (!opened(s).has_idempotency_keys())
        return run_with_retries(s.connection, s.options, s.options.isolation, s.random,
                                [&](pqxx::transaction_base &t) {
                                    return single_code(t.exec_prepared(plain, argument));
                                });
    const std::string key = random_key_text();
    return run_with_retries(s.connection, s.options, s.options.isolation, s.random,
                            [&](pqxx::transaction_base &t) {
                                return single_code(t.exec_prepared(keyed, argument, key));
                            },
                            CallArguments{true, false, true, false, &key});
}

/*
 * shorten or shorten_locked with options.  A key (the caller's, or against
 * 1.3 a random one) goes along unless there is an alias or reuse.
 */
template <typename SessionType>
std::string shorten_with(SessionType &s, const char *plain, const char *keyed,
                         std::string_view url, const LinkOptions &options)
{
    refuse_nul_byte(url);
    check_link_options(options);
    require_lifecycle(s, "shorten with options");
    if (options.idempotency_key) {
        require_idempotency_keys(s);
        if (opened(s).utf8())
            refuse_invalid_utf8_key(*options.idempotency_key, "idempotency_key");
    }
    LinkOptions sent = options;
    const bool with_key = takes_idempotency_key(options) && opened(s).has_idempotency_keys();
    if (with_key && !sent.idempotency_key)
        sent.idempotency_key = random_key_text();
    const std::string argument(url);
    const OptionParameters p(sent);
    return run_with_retries(
        s.connection, s.options, s.options.isolation, s.random,
        [&](pqxx::transaction_base &t) {
            if (with_key)
                return single_code(t.exec_prepared(
                    keyed, argument, OptionParameters::text(p.alias),
                    OptionParameters::text(p.reuse), OptionParameters::text(p.expires_at),
                    OptionParameters::text(p.max_clicks),
                    OptionParameters::text(p.idempotency_key)));
            return single_code(t.exec_prepared(
                plain, argument, OptionParameters::text(p.alias), OptionParameters::text(p.reuse),
                OptionParameters::text(p.expires_at), OptionParameters::text(p.max_clicks)));
        },
        CallArguments{true, has_options(options), with_key, options.idempotency_key.has_value(),
                      with_key ? &*sent.idempotency_key : nullptr});
}

/*
 * shorten_many, with the caller's keys (caller_keys) or, against 1.3,
 * random ones drawn once for all of the call's tries.
 */
template <typename SessionType>
std::vector<std::string> shorten_batch(SessionType &s, const std::vector<std::string> &urls,
                                       const std::vector<std::string> *caller_keys,
                                       const BatchProgress &progress)
{
    BatchKeys keys;
    if (caller_keys)
        keys = BatchKeys(*caller_keys, urls.size());
    if (urls.empty())
        return {};
    refuse_nul_bytes(urls);
    if (caller_keys)
        require_idempotency_keys(s);
    else if (opened(s).has_idempotency_keys())
        keys = BatchKeys::random(urls.size());
    if (opened(s).utf8())
        refuse_invalid_utf8(urls, caller_keys);

    const Isolation isolation = s.options.isolation == Isolation::autocommit
                                    ? Isolation::read_committed
                                    : s.options.isolation;

    /* Where the chunk being sent starts, to name a refused URL's absolute position. */
    std::size_t chunk_begin = 0;
    try {
        return run_with_retries(
            s.connection, s.options, isolation, s.random,
            [&](pqxx::transaction_base &t) {
                return shorten_in_chunks(
                    urls, keys, s.options.batch_chunk_size, chunk_begin, progress,
                    [&](const std::string &url_array, const std::string *key_array) {
                        if (key_array)
                            return t.exec_prepared(statements::shorten_chunk_keyed.name,
                                                   url_array, *key_array);
                        return t.exec_prepared(statements::shorten_chunk.name, url_array);
                    });
            },
            CallArguments{true, false, !keys.empty(), caller_keys != nullptr, nullptr,
                          keys.empty() ? nullptr : &keys});
    } catch (const InvalidUrl &e) {
        throw absolute_batch_error(e, chunk_begin, urls.size());
    } catch (const IdempotencyConflict &e) {
        throw absolute_batch_error(e, chunk_begin, urls.size());
    }
}

/* Runs a one-parameter statement on a code and returns its boolean result. */
template <typename SessionType>
bool code_call(SessionType &s, const char *statement, const char *call, std::string_view code)
{
    require_lifecycle(s, call);
    if (impossible_code(code))
        return false;
    const std::string argument(code);
    return run_with_retries(s.connection, s.options, s.options.isolation, s.random,
                            [&](pqxx::transaction_base &t) {
                                return true_result(t.exec_prepared(statement, argument));
                            });
}

/*
 * Runs a one-parameter statement on a code and reads its result with read
 * (std::nullopt, not asked, for a code no link can have).
 */
template <typename SessionType, typename Read>
auto code_lookup(SessionType &s, const char *statement, const char *call, std::string_view code,
                 Read read) -> decltype(read(std::declval<const pqxx::result &>()))
{
    require_lifecycle(s, call);
    if (impossible_code(code))
        return std::nullopt;
    const std::string argument(code);
    return run_with_retries(
        s.connection, s.options, s.options.isolation, s.random,
        [&](pqxx::transaction_base &t) { return read(t.exec_prepared(statement, argument)); },
        only_reads());
}

/* The result of a 1.5 change at a version: NULL (no such link) is none. */
std::optional<bool> optional_bool(const pqxx::result &rows)
{
    const pqxx::field f = rows.at(0).at(0);
    if (f.is_null())
        return std::nullopt;
    return f.as<bool>();
}

/*
 * What a try of the 1.5 change throws when the connection it runs on lacks
 * the statement: one opened in the call (the retry loop's reconnect) after
 * EXECUTE on the two-argument form was revoked.  Nothing was sent;
 * code_call_at goes the way of 1.4 on it.
 */
ServerError versioned_not_prepared(const char *statement)
{
    return ServerError(std::string("prepared statement \"") + statement +
                           "\" does not exist on this connection",
                       "26000");
}

VersionConflict version_conflict(const std::string &code, long long version)
{
    return VersionConflict("link \"" + code + "\" is at version " + std::to_string(version) +
                               ", which none of the expected versions names",
                           "US003");
}

/*
 * The 1.5 change at one of versions, one statement at the Client's
 * isolation, which at READ COMMITTED a click does not disturb: it waits
 * for the click's row and re-checks the version on the row it left.  With
 * one version, that version is sent; with several (or none), url_stats
 * first picks the link's current one if listed, and a change in between
 * to another listed version is read again (a failed try of the call's
 * budget, within RetryPolicy's tries, as the reads and changes are; not
 * reported to on_retry), so that it is not taken for a conflict.
 */
template <typename SessionType>
std::optional<bool> versioned_call(SessionType &s, const char *statement, const std::string &code,
                                   const std::vector<long long> &versions)
{
    const int tries = std::max(1, s.options.retry.max_attempts);
    ServerConnection::CallBudget &budget = s.connection.budget();
    for (;;) {
        long long expected = versions.empty() ? 0 : versions.front();
        if (versions.size() != 1) {
            const std::optional<LinkStats> stats =
                run_with_retries(s.connection, s.options, s.options.isolation, s.random,
                                 [&](pqxx::transaction_base &t) {
                                     return optional_stats(
                                         t.exec_prepared(statements::stats.name, code));
                                 },
                                 only_reads());
            if (!stats)
                return std::nullopt;
            if (std::find(versions.begin(), versions.end(), stats->version) == versions.end())
                throw version_conflict(code, stats->version);
            expected = stats->version;
        }
        const std::string version_argument = std::to_string(expected);
        try {
            return run_with_retries(s.connection, s.options, s.options.isolation, s.random,
                                    [&](pqxx::transaction_base &t) {
                                        /* Whether prepared is known only now: the
                                         * loop may have reconnected before this try. */
                                        if (!s.connection.prepared_versioned(statement))
                                            throw versioned_not_prepared(statement);
                                        return optional_bool(
                                            t.exec_prepared(statement, code, version_argument));
                                    });
        } catch (const VersionConflict &) {
            if (versions.size() == 1 || budget.failed_tries + 1 >= tries)
                throw;
            ++budget.failed_tries;
        }
    }
}

/*
 * code_call, only while the link is at one of versions (Client::remove_at).
 *
 * With 1.5, and EXECUTE on its two-argument form as of when the connection
 * opened (a connection prepared for an older version first checks whether
 * the extension was updated since): versioned_call.  Refused for want of
 * that grant since (42501), or on a connection opened meanwhile without
 * the statement (26000: a reconnect, also the retry loop's within this
 * call, prepares it only with the grant), both before anything was done,
 * it goes on the way of 1.4.
 *
 * Before 1.5: url_stats and the call in one transaction at REPEATABLE READ
 * or above, where the call's UPDATE fails with 40001 (retried) if the row
 * changed after url_stats read it, a click included.
 */
template <typename SessionType>
std::optional<bool> code_call_at(SessionType &s, const char *statement,
                                 const char *versioned_statement, const char *call,
                                 std::string_view code, const std::vector<long long> &versions)
{
    require_lifecycle(s, call);
    if (impossible_code(code))
        return std::nullopt;
    const std::string argument(code);
    /* Prepared for an extension older than 1.5, whose statements go on
     * working after ALTER EXTENSION UPDATE: look again, so that the update
     * is noticed here (a reconnect prepares the 1.5 statements). */
    if (!version_at_least(opened(s).extension_version(), 1, 5))
        refresh_version(s);
    if (opened(s).prepared_versioned(versioned_statement)) {
        try {
            return versioned_call(s, versioned_statement, argument, versions);
        } catch (const ServerError &e) {
            if (e.sqlstate() != "42501" && e.sqlstate() != "26000")
                throw;
            s.connection.forget_versioned(versioned_statement);
        }
    }
    const Isolation isolation = s.options.isolation == Isolation::serializable
                                    ? Isolation::serializable
                                    : Isolation::repeatable_read;
    struct Outcome {
        std::optional<long long> version;   /* none: no such link */
        bool changed = false;
    };
    const Outcome outcome = run_with_retries(
        s.connection, s.options, isolation, s.random, [&](pqxx::transaction_base &t) {
            Outcome o;
            if (const std::optional<LinkStats> stats =
                    optional_stats(t.exec_prepared(statements::stats.name, argument)))
                o.version = stats->version;
            if (o.version &&
                std::find(versions.begin(), versions.end(), *o.version) != versions.end())
                o.changed = true_result(t.exec_prepared(statement, argument));
            return o;
        });
    if (!outcome.version)
        return std::nullopt;
    if (std::find(versions.begin(), versions.end(), *outcome.version) == versions.end())
        throw version_conflict(argument, *outcome.version);
    return outcome.changed;
}

} // namespace

/*
 * A call in progress, from its start to its end however it ends: its
 * Session, and what Client::interrupt() acts on meanwhile
 * (ServerConnection::begin_call, end_call).  The only way a call reaches
 * its Session, so none can leave interrupt() out.
 */
class Client::Call {
public:
    explicit Call(Session &s) : session(s) { session.connection.begin_call(); }
    ~Call() { session.connection.end_call(); }
    Call(const Call &) = delete;
    Call &operator=(const Call &) = delete;

    Session &session;
};

const char *client_version() noexcept
{
    return URL_SHORTENER_CLIENT_VERSION;
}

/* The options are checked before connecting: a bad one costs no connection. */
static ClientOptions checked_options(ClientOptions options)
{
    check_chunk_size(options.batch_chunk_size, "batch_chunk_size");
    return options;
}

Client::Client(const std::string &connection_string, ClientOptions options)
    : session_(std::make_unique<Session>(connection_string, checked_options(std::move(options))))
{
}

Client::~Client() = default;
Client::Client(Client &&) noexcept = default;
Client &Client::operator=(Client &&) noexcept = default;

/*
 * A call that starts now, on the Session, or a clear error instead of a
 * null dereference after a move.  The call checks its arguments first;
 * what needs the server (its version, its encoding, a statement) opens a
 * connection then, if none works (opened()).
 */
Client::Call Client::start_call()
{
    if (!session_)
        throw Error("this url_shortener::Client was moved from; use the Client it was moved to");
    return Call(*session_);
}

bool Client::connected() const noexcept
{
    return session_ && session_->connection.is_open();
}

void Client::connect()
{
    const Call call = start_call();
    Session &s = call.session;
    opened(s);
}

void Client::interrupt() noexcept
{
    if (session_)
        session_->connection.interrupt();
}

std::string Client::shorten(std::string_view url)
{
    const Call call = start_call();
    Session &s = call.session;
    return shorten_plain(s, statements::shorten.name, statements::shorten_keyed.name, url);
}

std::string Client::shorten_locked(std::string_view url)
{
    const Call call = start_call();
    Session &s = call.session;
    return shorten_plain(s, statements::shorten_locked.name,
                         statements::shorten_locked_keyed.name, url);
}

std::optional<std::string> Client::resolve(std::string_view code)
{
    const Call call = start_call();   /* first: a moved-from Client throws, whatever the code */
    Session &s = call.session;
    /* No stored code holds a NUL byte or one above 0x7f (impossible_code). */
    if (impossible_code(code))
        return std::nullopt;
    const std::string argument(code);
    return run_with_retries(s.connection, s.options, s.options.isolation, s.random,
                            [&](pqxx::transaction_base &t) {
                                return optional_text(
                                    t.exec_prepared(statements::resolve.name, argument));
                            });
}

std::vector<std::string> Client::shorten_many(const std::vector<std::string> &urls,
                                              const BatchProgress &progress)
{
    const Call call = start_call();
    Session &s = call.session;
    return shorten_batch(s, urls, nullptr, progress);
}

std::vector<std::string> Client::shorten_many(const std::vector<std::string> &urls,
                                              const std::vector<std::string> &idempotency_keys,
                                              const BatchProgress &progress)
{
    const Call call = start_call();
    Session &s = call.session;
    return shorten_batch(s, urls, &idempotency_keys, progress);
}

std::string Client::shorten(std::string_view url, const LinkOptions &options)
{
    const Call call = start_call();
    Session &s = call.session;
    return shorten_with(s, statements::shorten_with_options.name,
                        statements::shorten_with_options_keyed.name, url, options);
}

std::string Client::shorten_locked(std::string_view url, const LinkOptions &options)
{
    const Call call = start_call();
    Session &s = call.session;
    return shorten_with(s, statements::shorten_locked_with_options.name,
                        statements::shorten_locked_with_options_keyed.name, url, options);
}

std::optional<long long> Client::update(std::string_view code, std::string_view new_url,
                                        long long expected_version)
{
    refuse_nul_byte(new_url, "new_url");
    const Call call = start_call();
    Session &s = call.session;
    require_lifecycle(s, "update");
    if (impossible_code(code))
        return std::nullopt;
    const std::string code_argument(code), url_argument(new_url);
    const std::string version_argument = std::to_string(expected_version);
    return run_with_retries(s.connection, s.options, s.options.isolation, s.random,
                            [&](pqxx::transaction_base &t) {
                                return optional_number(
                                    t.exec_prepared(statements::update.name, code_argument,
                                                    url_argument, version_argument));
                            });
}

bool Client::remove(std::string_view code)
{
    const Call call = start_call();
    Session &s = call.session;
    return code_call(s, statements::remove.name, "remove", code);
}

bool Client::disable(std::string_view code)
{
    const Call call = start_call();
    Session &s = call.session;
    return code_call(s, statements::disable.name, "disable", code);
}

bool Client::enable(std::string_view code)
{
    const Call call = start_call();
    Session &s = call.session;
    return code_call(s, statements::enable.name, "enable", code);
}

std::optional<bool> Client::remove_at(std::string_view code,
                                     const std::vector<long long> &expected_versions)
{
    const Call call = start_call();
    Session &s = call.session;
    return code_call_at(s, statements::remove.name, statements::remove_at.name, "remove",
                        code, expected_versions);
}

std::optional<bool> Client::disable_at(std::string_view code,
                                      const std::vector<long long> &expected_versions)
{
    const Call call = start_call();
    Session &s = call.session;
    return code_call_at(s, statements::disable.name, statements::disable_at.name, "disable",
                        code, expected_versions);
}

std::optional<bool> Client::enable_at(std::string_view code,
                                     const std::vector<long long> &expected_versions)
{
    const Call call = start_call();
    Session &s = call.session;
    return code_call_at(s, statements::enable.name, statements::enable_at.name, "enable",
                        code, expected_versions);
}

std::optional<LinkStats> Client::stats(std::string_view code)
{
    const Call call = start_call();
    Session &s = call.session;
    return code_lookup(s, statements::stats.name, "stats", code, optional_stats);
}

std::optional<std::string> Client::resolve_without_click(std::string_view code)
{
    const Call call = start_call();
    Session &s = call.session;
    return code_lookup(s, statements::resolve_without_click.name, "resolve_without_click",
                       code, optional_text);
}

long long Client::purge(int batch_size)
{
    const Call call = start_call();
    Session &s = call.session;
    if (batch_size < 1)
        throw InvalidArgument("batch_size must be at least 1", sqlstate_invalid_argument,
                              ClientReport("It is " + std::to_string(batch_size) + "."));
    require_lifecycle(s, "purge");
    const std::string argument = std::to_string(batch_size);
    return run_with_retries(s.connection, s.options, s.options.isolation, s.random,
                            [&](pqxx::transaction_base &t) {
                                return number_result(
                                    t.exec_prepared(statements::purge.name, argument));
                            },
                            CallArguments{false, true});
}

std::string Client::server_version()
{
    const Call call = start_call();
    Session &s = call.session;
    return refresh_version(s);
}

} // namespace url_shortener
