/*
 * server_connection.h
 *    The one libpqxx connection a Client owns: opening it within the
 *    connect timeout, with the session's statement timeout set and the
 *    statements prepared for the installed extension version (those
 *    setup statements within the connect timeout too); noticing
 *    (without sending anything) that the server has closed it; replacing
 *    it; and ending, from another thread, a call that waits on it.
 */
#ifndef URL_SHORTENER_CLIENT_SERVER_CONNECTION_H
#define URL_SHORTENER_CLIENT_SERVER_CONNECTION_H

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <pqxx/connection>

#include <libpq-fe.h>

#include "url_shortener/client.h"
#include "url_shortener/errors.h"

namespace url_shortener {

/*
 * The connection string libpq will be given: connection_string (key=value
 * or URI) re-written as key=value pairs, with connect_timeout added when
 * connect_timeout_seconds > 0 and neither the string nor PGCONNECT_TIMEOUT
 * sets one.  Throws InvalidArgument (22023) if libpq cannot parse it.
 */
std::string connection_string_with_timeout(const std::string &connection_string,
                                           long long connect_timeout_seconds);

/*
 * What connecting throws when the server cancelled a setup statement
 * (57014: the statement timeout, just set, ran out while the setup waited,
 * e.g. on a lock): ConnectionLost 08001, as for setup statements the
 * connect timeout cuts short, since the connection could not be opened
 * and nothing of a call was sent.  server_text is the server's report.
 */
ConnectionLost setup_cancelled(const std::string &server_text);

/* What connecting throws when the database has no url_shortener extension (42704). */
ServerError extension_not_installed();

/* Whether an extension version ("1.2") is major.minor or later. */
bool version_at_least(const std::string &version, int major, int minor);

/*
 * What a call that Client::interrupt() ended before it sent anything
 * throws: ConnectionLost, nothing stored.
 */
ConnectionLost interrupted_before_sending();

/*
 * Whether connection's client encoding is UTF8 now (libpq follows changes
 * of client_encoding); false if the connection is broken.  Never throws.
 */
bool client_encoding_is_utf8(const pqxx::connection_base &connection) noexcept;

/*
 * libpqxx's direct connection, remembering libpq's handle.  libpqxx 6.4
 * keeps the handle, and with it libpq's own error text, private; when the
 * server ends the connection mid-statement (a terminated backend, a
 * restart), libpqxx then throws a text of its own ("Could not obtain
 * client encoding: not connected.") and the server's FATAL report is only
 * in PQerrorMessage.  A connection policy sees the handle as libpqxx opens
 * and closes it, so it is taken there: the extension point libpqxx offers
 * for connecting, not its internals.
 */
class HandleKeepingPolicy : public pqxx::connect_direct {
public:
    explicit HandleKeepingPolicy(const std::string &options) : connect_direct(options) {}

    handle do_startconnect(handle orig) override { return kept(connect_direct::do_startconnect(orig)); }
    handle do_completeconnect(handle orig) override
    {
        return kept(connect_direct::do_completeconnect(orig));
    }
    handle do_dropconnect(handle orig) noexcept override
    {
        return kept(connect_direct::do_dropconnect(orig));
    }
    handle do_disconnect(handle orig) noexcept override
    {
        return kept(connect_direct::do_disconnect(orig));
    }

    /* libpq's handle of the connection now, or null. */
    PGconn *current() const noexcept { return current_; }

private:
    handle kept(handle h) noexcept
    {
        current_ = h;
        return h;
    }
    PGconn *current_ = nullptr;
};

/* pqxx::connection, with the policy above (as basic_connection_base pairs them). */
class KeptConnection : public pqxx::connection_base {
public:
    explicit KeptConnection(const std::string &options)
        : connection_base(policy_), options_(options), policy_(options_)
    {
        init();
    }
    ~KeptConnection() noexcept { close(); }

    /*
     * libpq's message about the connection's last failure (for a
     * connection the server ended, its FATAL report and libpq's note that
     * the connection closed); empty if there is none.
     */
    std::string libpq_message() const;

private:
    std::string options_;          /* before policy_, which keeps a reference to it */
    HandleKeepingPolicy policy_;
};

class ServerConnection {
public:
    /*
     * Connects, unless defer is set (then a call opens it: ensure_open());
     * throws InvalidArgument (either way), ConnectionLost or ServerError (see
     * Client::Client).  statement_timeout 0 leaves the server's setting.
     */
    ServerConnection(std::string connection_string, std::chrono::seconds connect_timeout,
                     std::chrono::milliseconds statement_timeout, bool defer);
    ~ServerConnection();
    ServerConnection(const ServerConnection &) = delete;
    ServerConnection &operator=(const ServerConnection &) = delete;

    pqxx::connection_base &get() { return *connection_; }

    /* KeptConnection::libpq_message() of the connection held (empty without one). */
    std::string libpq_message() const { return connection_ ? connection_->libpq_message() : ""; }

    /* Whether the connection still works after the last exchange. */
    bool is_open() const noexcept;

    /* Whether the connection's client encoding is UTF8 (false without one). */
    bool utf8() const noexcept { return connection_ && client_encoding_is_utf8(*connection_); }

    /*
     * Whether the connection still looks usable, found without sending
     * anything: reads whatever the server sent while the connection was idle
     * (a terminated backend leaves a FATAL report and end-of-file).  A
     * connection that passes may still turn out dead when used.
     */
    bool probe();

    /* The extension version the statements were prepared for ("1.1"). */
    const std::string &extension_version() const { return extension_version_; }

    /* Whether the extension is version 1.1 or later (lifecycle calls prepared). */
    bool has_lifecycle() const { return extension_version_ != "1.0"; }

    /* Whether the extension is version 1.3 or later (idempotency keys prepared). */
    bool has_idempotency_keys() const { return version_at_least(extension_version_, 1, 3); }

    /*
     * Whether the statement of statements::versioned named name was
     * prepared: the extension is 1.5 or later and the role may execute it
     * (as of when the connection opened).
     */
    bool prepared_versioned(const char *name) const;

    /* Stops using the statement of statements::versioned named name on
     * this connection (its grant was revoked since it opened). */
    void forget_versioned(const char *name);

    /*
     * The extension version installed now, read on this connection;
     * std::nullopt if the extension is gone.  Throws pqxx exceptions.
     */
    std::optional<std::string> installed_version();

    /* Drops the connection and opens a new one, as the constructor does. */
    void reconnect();

    /*
     * In a call, before its first try and once the call's own checks of its
     * arguments passed: opens a connection if there is none that works (a
     * deferred one never opened, the last attempt failed, or the one held is
     * known to be broken).  Replacing one is the call's one reconnect
     * (budget()), and on_retry hears of it; the first open of a deferred
     * connection replaces nothing.  Opening one after a call that
     * interrupt() ended (end_call() dropped that connection) is reported
     * to on_retry but is not the call's reconnect.  Throws ConnectionLost, opening nothing,
     * if the call's reconnect was spent already.
     */
    void ensure_open(const std::function<void(const RetryEvent &)> &on_retry);

    /*
     * The call's one retry budget (reset by begin_call()), shared by every
     * retry loop the call runs (retry_loop.h), so that a call made of
     * several statements, each in a loop of its own, is bounded as one
     * statement is: RetryPolicy::max_attempts - 1 retries in all, one reconnect
     * (ensure_open()'s replacement of a broken connection included) and
     * one re-preparation for an updated extension.
     */
    struct CallBudget {
        int failed_tries = 0;     /* tries of the call that failed and were retried */
        bool reconnected = false; /* the call's one reconnect is spent */
        bool reprepared = false;  /* the call's one reconnect for an updated extension is spent */
    };
    CallBudget &budget() noexcept { return budget_; }

    /*
     * Thread-safe, and the only member that is: while a call is in
     * progress (begin_call() to end_call()), shuts the connection's socket
     * down, so that whatever waits on it on the owning thread fails at once
     * as a lost connection, and marks the connection interrupted until the
     * call ends, which then drops the connection.  Between calls it does
     * nothing: the idle connection stays usable.  Does not block.
     */
    void interrupt() noexcept;

    /*
     * Waits delay (a retry's backoff), or less: until interrupt() is
     * called, or at once if it was since begin_call().
     */
    void pause(std::chrono::milliseconds delay);

    /* Whether interrupt() was called since the last begin_call(). */
    bool interrupted() const noexcept { return interrupted_.load(); }

    /* A call starts: interrupt() acts on it until end_call(). */
    void begin_call() noexcept;

    /*
     * The call ended, returning or throwing: interrupt() acts on nothing.
     * If interrupt() came during the call, drops the connection (its
     * socket is shut down) for the next call to replace.
     */
    void end_call() noexcept;

private:
    void connect();
    void prepare_statements(pqxx::connection_base &opened);
    void watch_socket(int socket) noexcept;

    /*
     * interrupt()'s own duplicate of the connection's socket, -1 if none.
     * libpq closes its descriptor when it finds the connection broken, and
     * the number may then be given to any new file of the process; a
     * duplicate keeps the socket itself until it is closed here, under
     * socket_mutex_, so shutting it down can never reach another file.
     */
    std::mutex socket_mutex_;
    int interrupt_socket_ = -1;
    bool in_call_ = false;   /* between begin_call() and end_call(); under socket_mutex_ */
    std::atomic<bool> interrupted_{false};
    std::condition_variable interrupt_signal_;   /* wakes pause(); under socket_mutex_ */

    std::string connection_string_;
    std::chrono::milliseconds statement_timeout_;
    /* How long the setup statements may take: the connect timeout in effect (0: no limit). */
    std::chrono::seconds setup_limit_{0};
    std::unique_ptr<KeptConnection> connection_;
    std::string extension_version_;
    std::vector<std::string> versioned_prepared_;   /* names, from statements::versioned */
    bool ever_opened_ = false;
    bool dropped_by_interrupt_ = false;   /* end_call() dropped it: replacing it is no reconnect */
    CallBudget budget_;
};

} // namespace url_shortener

#endif
