/*
 * setup_deadline.h
 *    A time limit on a new connection's setup statements (the statement
 *    timeout, the lookup of the extension's schema, the PREPAREs), which
 *    run after libpq has connected and so outside connect_timeout, and
 *    before statement_timeout is set.  A database that authenticates a
 *    connection and then goes silent (a network partitioned during a
 *    failover, a frozen host, a proxy that stops forwarding) would hold
 *    them forever: nothing ever arrives to end the wait.
 *
 *    Why a thread that shuts the socket down, rather than libpq's
 *    asynchronous calls and poll() with a deadline: libpqxx 6.4, which the
 *    Client's setup goes through, has no asynchronous statements, and the
 *    same small helper serves ResolveConnection too, so both setups end the
 *    same way.  Socket options do not help: poll() ignores SO_RCVTIMEO, and
 *    TCP_USER_TIMEOUT and keepalives see a proxy that acknowledges
 *    everything as alive.  A connection's setup is rare (once per opened
 *    connection), so a thread per setup costs nothing that matters.
 */
#ifndef URL_SHORTENER_CLIENT_SETUP_DEADLINE_H
#define URL_SHORTENER_CLIENT_SETUP_DEADLINE_H

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "url_shortener/errors.h"

namespace url_shortener {

class SetupDeadline {
public:
    /*
     * Watches socket (a duplicate of it, so that libpq closing its own
     * descriptor, whose number may then be reused, changes nothing) and
     * shuts it down once limit has passed, unless finish() came first.
     * limit 0: no limit, nothing watched.  Throws ConnectionLost (08001)
     * if the socket cannot be duplicated or the thread cannot start.
     */
    SetupDeadline(int socket, std::chrono::seconds limit);
    ~SetupDeadline();
    SetupDeadline(const SetupDeadline &) = delete;
    SetupDeadline &operator=(const SetupDeadline &) = delete;

    /*
     * Ends the watch; once it returns, this never shuts anything down.
     * Returns whether the limit passed first (the socket was shut down:
     * the connection is unusable).  May be called again: same answer.
     */
    bool finish() noexcept;

    /* What a setup the limit cut short throws: ConnectionLost, 08001, as a
     * connection that could not be opened (nothing of a call was sent). */
    ConnectionLost expired() const;

private:
    void watch();

    std::chrono::seconds limit_;
    int socket_ = -1;   /* the duplicate; -1 without a limit */
    std::mutex mutex_;
    std::condition_variable done_signal_;
    bool done_ = false;    /* under mutex_ */
    bool fired_ = false;   /* under mutex_ */
    std::thread thread_;
};

/*
 * Runs setup() (the statements that prepare the connection on socket)
 * within limit.  If the limit passed meanwhile, throws
 * SetupDeadline::expired() whatever setup did: its own error then only
 * says the socket was shut down, and a setup that did finish left a
 * connection that is shut down all the same.
 */
template <typename Setup>
void within_setup_deadline(int socket, std::chrono::seconds limit, Setup &&setup)
{
    SetupDeadline deadline(socket, limit);
    try {
        setup();
    } catch (...) {
        if (deadline.finish())
            throw deadline.expired();
        throw;
    }
    if (deadline.finish())
        throw deadline.expired();
}

} // namespace url_shortener

#endif
