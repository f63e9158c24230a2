/*
 * url_shortener/client.h
 *    url_shortener::Client: a C++ client for the url_shortener extension.
 *
 *    A Client owns one connection to a database where
 *    "CREATE EXTENSION url_shortener" has been run, and calls the extension's
 *    shorten_url, shorten_url_locked, shorten_urls and resolve_url through
 *    prepared statements with bound parameters.  The functions are called
 *    by schema-qualified name, in the schema the extension was created in
 *    (looked up at connect), so the connection's search_path does not
 *    matter and cannot redirect a call.
 *
 *    Thread safety: a Client is not thread-safe (but interrupt() may be
 *    called from another thread while a call runs).  Use one Client per thread
 *    (each has its own connection); distinct Clients share nothing and may be
 *    used concurrently.  A Client may be moved to another thread between
 *    calls; every call on a moved-from Client throws url_shortener::Error
 *    (it may be destroyed or assigned to).
 *
 *    Versions: the calls are prepared for the extension version installed
 *    when the connection opens.  After ALTER EXTENSION url_shortener UPDATE
 *    a live Client notices by itself: a call the prepared version lacks, or
 *    a call that fails because a function changed (0A000, 42883, 26000),
 *    re-reads the installed version and, if it changed, reconnects and runs
 *    once more (the failed statement did nothing).
 *
 *    The same calls inside a transaction the caller owns:
 *    url_shortener/transactional.h.
 *
 *    Errors: every call throws only the types in url_shortener/errors.h
 *    (plus std::bad_alloc), chosen by SQLSTATE:
 *      InvalidUrl          class 22 for a URL; nothing stored
 *      InvalidArgument     an option refused by the client before sending, or
 *                          class 22 for an option; nothing stored
 *      CodeSpaceExhausted  US001; nothing stored
 *      LockTimeout         55P03 (shorten_locked only); nothing stored
 *      ConnectionLost      could not connect, or lost the connection where
 *                          nothing can have been committed; nothing stored
 *      OutcomeUnknown      the connection broke after the statement or its
 *                          COMMIT was sent, and no retry with the same
 *                          idempotency key could settle it; it may or may
 *                          not have happened
 *      IdempotencyConflict US004: the idempotency key was used for another
 *                          request; nothing stored
 *      ServerError         anything else, with sqlstate() and the message
 *
 *    Retries: a call retries by itself, with jittered exponential backoff and
 *    at most RetryPolicy::max_attempts tries, only where a retry cannot do a
 *    thing twice: serialization failure (40001), deadlock (40P01), and a
 *    connection found dead before anything was sent, which is replaced once
 *    per call.  In an explicit transaction (Isolation other than autocommit,
 *    and always in shorten_many) a connection lost before COMMIT was sent
 *    also counts, since the server rolls such a transaction back; and so
 *    does one lost during stats or resolve_without_click, or during the
 *    read of the version remove_at, disable_at and enable_at make first,
 *    which only read (also during their COMMIT).  The
 *    bounds are the call's, however many statements it runs (remove_at,
 *    disable_at and enable_at read the version, then change; a call may
 *    first re-read the extension's version): max_attempts - 1 retries in
 *    all (a statement that succeeded is not one) and one reconnect.
 *
 *    Idempotency keys (extension 1.3): shorten, shorten_locked and
 *    shorten_many send an idempotency key with every new link: the
 *    caller's (LinkOptions::idempotency_key, shorten_many's keys) or, when
 *    none is given, a random one per call (128 bits from the operating
 *    system's CSPRNG, as 32 hex digits).  The server stores the link under
 *    a code derived from the key, and the same key with the same request
 *    returns that code again without storing a second row.  So a
 *    connection lost after sending, in autocommit mode or during COMMIT,
 *    is retried too (once per call, on a new connection) with the same
 *    key(s): the retry returns the code(s) the lost try stored, or stores
 *    them now.  No key is sent with an alias or with reuse (an alias is its
 *    own identity; reuse already returns the URL's one link), nor to an
 *    extension older than 1.3: such calls, and resolve, update, remove,
 *    disable, enable and purge, never retry a connection lost after
 *    sending: it throws OutcomeUnknown.  When the retry cannot be made
 *    (max_attempts 1, the new connection fails too, or interrupt()) the
 *    call throws OutcomeUnknown as well, and its idempotency_keys() are
 *    the key(s) the call sent, drawn or the caller's: shorten (or
 *    shorten_locked) with the same URL and options and
 *    LinkOptions::idempotency_key = idempotency_keys()[0], or
 *    shorten_many(urls, idempotency_keys()), returns the code(s) the lost
 *    try stored or stores them now.  A call without them draws new keys
 *    and may store a second link.
 */
#ifndef URL_SHORTENER_CLIENT_H
#define URL_SHORTENER_CLIENT_H

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "url_shortener/errors.h"
#include "url_shortener/export.h"
#include "url_shortener/version.h"

namespace url_shortener {

/*
 * How often and how patiently a call retries a transient failure.  Try n
 * (n >= 2) waits a random time between half and all of
 * min(max_delay, base_delay * 2^(n-2)) first.
 */
struct RetryPolicy {
    int max_attempts = 4;                       /* tries per call, at least 1 */
    std::chrono::milliseconds base_delay{10};   /* wait before the 2nd try */
    std::chrono::milliseconds max_delay{1000};  /* cap on any one wait (at most 24 h is
                                                   waited, whatever is set) */
};

/* Why a call is about to try again; see ClientOptions::on_retry. */
enum class RetryCause {
    serialization_failure,       /* SQLSTATE 40001 */
    deadlock,                    /* SQLSTATE 40P01 */
    connection_lost,             /* nothing was committed; reconnecting */
    outcome_unknown,             /* lost after sending (or during COMMIT); reconnecting
                                    and sending the same idempotency key(s) again */
    extension_updated,           /* ALTER EXTENSION ... UPDATE replaced what the
                                    statements were prepared for (0A000, 42883, 26000;
                                    nothing done): reconnecting to prepare them anew */
};

struct RetryEvent {
    RetryCause cause;
    int failed_attempt;                 /* 1 for the call's first failed try; 0 if the
                                           connection was found dead before any try */
    std::chrono::milliseconds delay;    /* wait before the next try */
};

/*
 * Transaction each call runs in.  autocommit sends one statement, which the
 * server runs in its own transaction: one round trip per call.  The others
 * wrap it in BEGIN ISOLATION LEVEL ... / COMMIT (three round trips); under
 * repeatable_read or serializable a concurrent click on the same link can
 * make resolve fail with 40001, which is retried.
 */
enum class Isolation { autocommit, read_committed, repeatable_read, serializable };

struct ClientOptions {
    RetryPolicy retry;
    Isolation isolation = Isolation::autocommit;
    /*
     * URLs per statement in shorten_many; every chunk is one round trip.
     * 1 to 1,000,000 (shorten_urls' limit); the constructor refuses others
     * with InvalidArgument.
     */
    std::size_t batch_chunk_size = 5000;
    /* Called before every retry and reconnect, on the calling thread. */
    std::function<void(const RetryEvent &)> on_retry;
    /*
     * How long opening a connection may take, in whole seconds (libpq's
     * connect_timeout; it waits at least 2): covers a server that accepts
     * and never answers.  As long again bounds the statements that then
     * prepare the connection (statement timeout, schema lookup, PREPARE):
     * a server that authenticates and then goes silent fails the open with
     * ConnectionLost (08001), nothing sent.  0 waits as long as the
     * operating system does, and the setup statements without limit.
     * The connection string's connect_timeout or PGCONNECT_TIMEOUT, when
     * set, win over this.  Applies to every reconnect too.  At most
     * INT_MAX seconds (libpq's limit): the constructor refuses more with
     * InvalidArgument.
     */
    std::chrono::seconds connect_timeout{10};
    /*
     * The server cancels any one statement that runs longer (the session's
     * statement_timeout; ServerError 57014, nothing stored).  This covers a
     * shorten_locked waiting for the generation lock.  0 leaves the server's
     * setting (from PGOPTIONS, the role or the database) alone.
     */
    std::chrono::milliseconds statement_timeout{30000};
    /*
     * false: the constructor opens the connection (and fails as it says).
     * true: the constructor only checks the connection string, and the
     * first call opens the connection, with the same errors, as part of the
     * call: interrupt() reaches it, setup statements included.  For a
     * caller that bounds calls from another thread (a pool).
     */
    bool defer_connect = false;
};

/*
 * How long opening a connection for connection_string with options may
 * take, as libpq will apply it: the string's connect_timeout, else
 * PGCONNECT_TIMEOUT, else options.connect_timeout; at least 2 s, and 0 for
 * no limit.  Throws InvalidArgument if libpq cannot parse
 * connection_string, if the connect_timeout it names (or
 * PGCONNECT_TIMEOUT) is not an integer libpq would take (an int in
 * decimal, blanks around it allowed), or if options.connect_timeout is
 * over INT_MAX seconds.  For a caller that sets its own deadline around
 * calls that may reconnect.
 */
URL_SHORTENER_CLIENT_EXPORT std::chrono::seconds connect_timeout_in_effect(
    const std::string &connection_string, const ClientOptions &options = {});

/*
 * Options of a new link (extension 1.1).  reuse returns the URL's existing
 * reusable link, or makes one; it cannot be combined with the others.
 *
 * idempotency_key (extension 1.3): 1 to 255 bytes, no NUL byte, never with
 * alias or reuse.  The same key with the same url, expires_at and
 * max_clicks returns the same code, at any time and from any session, and
 * stores one link; the same key with anything else of these different
 * throws IdempotencyConflict.  Without it, shorten sends a random key of
 * its own (unless alias or reuse is set), used for its own retries and
 * handed to the caller in OutcomeUnknown::idempotency_keys() when those
 * could not settle a lost call.
 */
struct LinkOptions {
    std::optional<std::string> alias;                                 /* A-Z a-z 0-9 _ -, 1..64 */
    bool reuse = false;
    std::optional<std::chrono::system_clock::time_point> expires_at;  /* future, by the database */
    std::optional<long long> max_clicks;                              /* at least 1 */
    std::optional<std::string> idempotency_key;                       /* 1..255 bytes */
};

/* What url_stats reports about one link (extension 1.1); times exact to
 * the microsecond, as the database stores them. */
struct LinkStats {
    std::string code;
    std::string url;
    long long clicks = 0;
    std::chrono::system_clock::time_point created_at;
    /* time_point::max() for an expiry after the clock's range (about
     * 2262-04-11) or 'infinity', which SQL callers may set. */
    std::optional<std::chrono::system_clock::time_point> expires_at;
    std::optional<long long> max_clicks;
    long long version = 0;
    bool enabled = true;
};

/* shorten_many reports progress as (URLs shortened so far, total). */
using BatchProgress = std::function<void(std::size_t done, std::size_t total)>;

/* The client library's version as built ("1.6.0" for 1.6.0); compare URL_SHORTENER_CLIENT_VERSION. */
URL_SHORTENER_CLIENT_EXPORT const char *client_version() noexcept;

class URL_SHORTENER_CLIENT_EXPORT Client {
public:
    /*
     * Connects with a libpq connection string ("host=... dbname=..." or a
     * postgresql:// URI); an empty string uses libpq's environment
     * (PGHOST, PGPORT, PGDATABASE, PGUSER, PGOPTIONS, ...) and defaults.
     * Prepares the statements at once, so a database without the extension
     * fails here.
     * Throws InvalidArgument if libpq cannot parse connection_string (or
     * it holds a NUL byte), its connect_timeout or PGCONNECT_TIMEOUT is not
     * an integer (connect_timeout_in_effect()), or options.batch_chunk_size
     * or options.connect_timeout is out of range,
     * ConnectionLost (08001) if the server cannot be reached within
     * options.connect_timeout, or does not answer the setup statements
     * within it again or within options.statement_timeout (the server
     * cancels them, 57014), ServerError (42704) if the extension is not
     * installed in the database.  With options.defer_connect, only the
     * first throws here; the others come from the first call.  A call that
     * finds no working connection (deferred, the last attempt to open one
     * failed, or known to be broken) opens one once its own checks of its
     * arguments have passed, throwing the same.
     */
    explicit Client(const std::string &connection_string = {}, ClientOptions options = {});
    ~Client();

    Client(Client &&) noexcept;
    Client &operator=(Client &&) noexcept;
    Client(const Client &) = delete;
    Client &operator=(const Client &) = delete;

    /*
     * Ends the call running on this Client in another thread, for a caller
     * that gives up waiting on a database that does not answer (a stopped
     * backend, a network that drops everything: statement_timeout cannot
     * end those).  Shuts the connection's socket down (or, while a new
     * connection is being opened, that one as soon as it is open); the call
     * then throws without retrying: OutcomeUnknown if what it sent may have
     * been carried out (a statement in autocommit, a COMMIT), ConnectionLost
     * if not (nothing sent yet, or a transaction whose COMMIT was not).  One
     * that comes as the call ends, after its last exchange, lets it return
     * what it got.  Either way the connection is dropped when the call ends,
     * and the next call opens a new one (on_retry hears of it), which is
     * not that call's one reconnect.  The only member that may be called
     * while another runs; not while the Client is moved or destroyed.  An
     * interrupt between two calls ends nothing and leaves the connection
     * alone (the next call runs on it).  Never blocks.
     */
    void interrupt() noexcept;

    /*
     * Whether the Client holds a connection that is ready for calls and
     * not known to be broken; if not, the next call opens one (once its
     * arguments passed the client's checks).
     */
    bool connected() const noexcept;

    /*
     * Opens a connection now unless connected() (none yet with
     * defer_connect, the last attempt to open one failed, or the one held
     * is known to be broken), throwing what the constructor throws; every
     * call does the same once its own argument checks have passed
     * (replacing a connection is a reconnect for on_retry).  For a caller
     * that tells failing to connect apart from failing calls.  interrupt()
     * reaches it.
     */
    void connect();

    /*
     * Stores url under a fresh random code (shorten_url) and returns the
     * code; against extension 1.3, with a random idempotency key, so a
     * connection lost after sending is retried without storing twice.
     * Throws InvalidUrl, CodeSpaceExhausted, ConnectionLost,
     * OutcomeUnknown, ServerError.
     */
    std::string shorten(std::string_view url);

    /*
     * Like shorten, but through shorten_url_locked: code generation is
     * serialized with every other shorten_url_locked caller by a
     * transaction-scoped advisory lock.  Waits at most the session's
     * lock_timeout (0, the default, waits forever); then throws
     * LockTimeout.  Also throws what shorten throws.
     */
    std::string shorten_locked(std::string_view url);

    /*
     * Returns the URL stored under code, or std::nullopt if there is none,
     * and counts one click on it.  Throws ConnectionLost, OutcomeUnknown
     * (the click may or may not have been counted), ServerError.
     */
    std::optional<std::string> resolve(std::string_view code);

    /*
     * Shortens every URL and returns their codes in input order.  All or
     * nothing: the whole batch runs in one transaction (at read_committed
     * when the Client is in autocommit mode), batch_chunk_size URLs per
     * statement, one round trip each, so either every URL is stored or, on
     * any exception, none is.  progress, if given, is called after each
     * chunk; after a retry it starts again from 0.  An empty batch sends
     * nothing.  Throws what shorten throws; an InvalidUrl names the refused
     * URL's position in urls (InvalidUrl::batch_index, 0-based; what() says
     * "URL n of N", 1-based).  Against extension 1.3 every URL goes with a
     * random idempotency key of its own, kept for the call's retries, so a
     * connection lost during COMMIT is retried and returns the codes the
     * lost try stored (or stores them now), never a second row.
     */
    std::vector<std::string> shorten_many(const std::vector<std::string> &urls,
                                          const BatchProgress &progress = {});

    /*
     * shorten_many with the caller's idempotency keys, one per URL
     * (idempotency_keys[i] for urls[i]; needs extension 1.3).  Running the
     * same call again, after OutcomeUnknown or at any later time, returns
     * the same codes and stores nothing twice.  Throws InvalidArgument
     * (22023) if the sizes differ or a key is empty, longer than 255 bytes
     * or holds a NUL byte, IdempotencyConflict (its batch_index() 0-based)
     * if a key was used before (or earlier in urls) for another URL, and
     * what shorten_many throws.
     */
    std::vector<std::string> shorten_many(const std::vector<std::string> &urls,
                                          const std::vector<std::string> &idempotency_keys,
                                          const BatchProgress &progress = {});

    /*
     * The lifecycle calls need extension version 1.1; against 1.0 they throw
     * ServerError with SQLSTATE 0A000.  Each is one statement on one link.
     */

    /*
     * shorten / shorten_locked with options.  Throws AliasTaken when the
     * alias is the code of a link already (never another code instead),
     * InvalidArgument for a bad option (checked before sending where the
     * client can: alias syntax, max_clicks < 1, reuse with another option,
     * an idempotency key that is empty, too long, or given with alias or
     * reuse; a reserved alias and an expiry not in the future by the
     * database's clock are refused by the server),
     * InvalidUrl for a bad URL, IdempotencyConflict when the key was used
     * for another request, ServerError (0A000) for a key given to an
     * extension older than 1.3, and what shorten throws.
     */
    std::string shorten(std::string_view url, const LinkOptions &options);
    std::string shorten_locked(std::string_view url, const LinkOptions &options);

    /*
     * Points code at new_url if the link is still at expected_version (from
     * stats) and returns its new version; std::nullopt if there is no such
     * link.  Throws VersionConflict if someone changed it meanwhile.
     */
    std::optional<long long> update(std::string_view code, std::string_view new_url,
                                    long long expected_version);

    /* Deletes the link; false if there was none. */
    bool remove(std::string_view code);

    /* A disabled link resolves to nothing and counts no click; false if nothing changed. */
    bool disable(std::string_view code);
    bool enable(std::string_view code);

    /*
     * remove, disable and enable only while the link is at one of
     * expected_versions (from stats; an empty list matches none).
     * Returns true if the link changed, false (disable_at, enable_at) if
     * it is at that version and already disabled or enabled, std::nullopt
     * if there is no such link (a retired one included); throws VersionConflict (US003, nothing
     * changed) if the link is at another version, and what the call
     * without versions throws.
     *
     * With extension 1.5, and EXECUTE granted on its two-argument
     * delete_url, disable_url or enable_url (checked when the connection
     * opens; a connection opened before the GRANT keeps the way of 1.4
     * until it is replaced, and one opened before ALTER EXTENSION UPDATE
     * notices the update here, with RetryCause::extension_updated, and
     * reconnects): one UPDATE at the Client's
     * isolation that re-checks the version on the row.  At READ COMMITTED
     * (the default) a click in flight only makes it wait; at REPEATABLE
     * READ or SERIALIZABLE a click committed after the transaction's
     * snapshot is a 40001, retried.  With more than one expected version
     * (or none), stats picks the current one first, and a change to
     * another listed version in between is read again, within
     * RetryPolicy's tries.  Otherwise (1.1 to 1.4, or no such grant): the
     * version is read and the link changed in one REPEATABLE READ
     * transaction (SERIALIZABLE if the Client's isolation is), so a change
     * committed between the two, a click included, makes the call fail
     * with 40001 and read again (RetryPolicy; past its tries it throws
     * ServerError 40001, nothing changed).
     */
    std::optional<bool> remove_at(std::string_view code,
                                  const std::vector<long long> &expected_versions);
    std::optional<bool> disable_at(std::string_view code,
                                   const std::vector<long long> &expected_versions);
    std::optional<bool> enable_at(std::string_view code,
                                  const std::vector<long long> &expected_versions);

    /* The link's public facts, or std::nullopt if there is no such link. */
    std::optional<LinkStats> stats(std::string_view code);

    /*
     * The URL resolve would return now, counting no click (for HEAD, link
     * checkers, previews); std::nullopt for an unknown, disabled, expired
     * or used-up code.  Expiry is judged by the database's clock, as
     * resolve judges it, not by this machine's.
     */
    std::optional<std::string> resolve_without_click(std::string_view code);

    /*
     * Deletes expired and used-up links, batch_size per statement; returns
     * how many.  0 also when another purge is running at the same time.
     * Throws InvalidArgument, without sending anything, if batch_size < 1.
     */
    long long purge(int batch_size = 1000);

    /*
     * The version of the url_shortener extension installed in the database
     * now ("1.1"), read from the server.  If it differs from the version the
     * statements were prepared for, the Client reconnects to prepare them
     * anew.  Throws ConnectionLost, ServerError (42704 if the extension was
     * dropped).
     */
    std::string server_version();

private:
    struct Session;
    class Call;
    Call start_call();
    std::unique_ptr<Session> session_;
};

} // namespace url_shortener

#endif
