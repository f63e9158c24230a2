/*
 * http_server.h
 *    The HTTP/1.1 side: accepting connections and running one asynchronous
 *    session per connection (Boost.Beast over Asio), with keep-alive and
 *    no thread held by an idle connection.  Requests are read header first
 *    (so "Expect: 100-continue" is answered and an oversized body refused
 *    before it is sent), then handed to the Router.  The answer is sent by
 *    the thread that made it, as far as the socket takes it at once; the
 *    rest and the next read run on the session's strand.  A request whose
 *    body would follow is first screened on its header (Router::screen):
 *    one with no route, a method its route does not answer, or no
 *    accepted API key is answered at once and its connection closed,
 *    before any of the body is read and before "100 Continue".  So is
 *    one whose route reads no body (Router::takes_body: a redirect, say)
 *    declaring more than bodyless_max_body_bytes (413); such a route's
 *    chunked body is refused when it passes that limit.
 *
 *    It listens on one address or several (every address of a host name),
 *    all on one port, one acceptor each.  It keeps at most max_connections
 *    connections at once, over all of them: at that many, it accepts no
 *    more until one closes (the others wait in the listening sockets'
 *    backlogs), so that
 *    the descriptors kept for the database connections are never taken by
 *    clients (main.cpp: client_connection_limit).  Out of descriptors all
 *    the same (EMFILE, ENFILE), it retries accepting a little later.
 *
 *    SIGHUP does not stop it: it calls the start's on_hangup (main.cpp
 *    reads the API key file again).  It is caught from construction on,
 *    through a stop's drain: an operator's "kill -HUP" to a daemon means
 *    "reload", and its default action would end every connection at once.
 *
 *    Graceful stop (SIGTERM, SIGINT): every listening socket closes at once,
 *    idle connections (no byte of a next request read) are closed, a
 *    connection with a request in flight, or any part of one read, gets
 *    its answer (with "Connection: close") and then closes, within the
 *    usual timeouts, until the drain deadline, stop_timeout after the
 *    signal.  Then a connection still reading a request or writing an
 *    answer is closed, every database call still in flight is ended as at
 *    its own deadline (Router::stop), and the answers that makes are
 *    written within a short timeout (after_drain); run() returns when the
 *    last connection has closed.  A connection that got its last answer
 *    ("Connection: close") lingers, reading what the client still sends,
 *    so that closing does not reset it before the client has the answer;
 *    during a stop only until the client has acknowledged the whole answer
 *    and gone quiet, so a client that keeps its end open does not hold
 *    the exit.
 *
 *    The count of 5xx log lines left out is written once their second is
 *    over (a timer on the listening strand), at a stop and, by main, at
 *    the exit, not only with the next 5xx line.
 */
#ifndef URL_SHORTENER_SERVER_HTTP_SERVER_H
#define URL_SHORTENER_SERVER_HTTP_SERVER_H

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include "router.h"

namespace url_shortener::server {

class Session;

class HttpServer {
public:
    /*
     * Binds and listens on every one of endpoints, all on one port (port 0
     * asks for any free port, the same on each).  Throws
     * std::runtime_error naming the address and the system's reason
     * (such as "Address already in use") if it cannot, except that of several
     * addresses one this machine does not have (EAFNOSUPPORT,
     * EADDRNOTAVAIL: say ::1 in a container without IPv6) is left out with
     * a line on stderr, as long as one is bound.
     */
    HttpServer(boost::asio::io_context &io,
               const std::vector<boost::asio::ip::tcp::endpoint> &endpoints,
               std::size_t max_body_bytes, std::size_t max_connections,
               std::chrono::milliseconds idle_timeout, std::chrono::milliseconds stop_timeout);

    /* The longest a connection may stay open after a stop's drain deadline,
     * once its answer is made: writing it, and the linger after it
     * (longest_stop.h). */
    static std::chrono::seconds after_drain();

    /* The addresses actually bound, the first first. */
    std::vector<boost::asio::ip::tcp::endpoint> local_endpoints() const;

    /* Starts accepting, answering through router, and waiting for
     * SIGTERM/SIGINT (a stop) and SIGHUP (on_hangup, on the I/O thread,
     * each time; the process is not stopped); the io_context's run() does
     * the rest.  router must outlive run(). */
    void start(Router &router, std::function<void()> on_hangup);

    ~HttpServer();

    /* Stops as described above; safe to call more than once. */
    void stop();

    bool stopping() const { return stopping_; }
    /* Whether a stop's drain deadline has passed. */
    bool drained() const;
    Router &router() { return *router_; }
    std::size_t max_body_bytes() const { return max_body_bytes_; }
    /* How long a connection may go without a request: from the last answer
     * (or the accept) to the end of the next header, empty lines included. */
    std::chrono::milliseconds idle_timeout() const { return idle_timeout_; }

private:
    /* One listening socket, and its pause after a failed accept (out of
     * descriptors: EMFILE, ENFILE) so the I/O thread does not spin on it. */
    struct Listener {
        explicit Listener(const boost::asio::strand<boost::asio::io_context::executor_type> &strand)
            : acceptor(strand), pause(strand)
        {
        }
        boost::asio::ip::tcp::acceptor acceptor;
        boost::asio::steady_timer pause;
    };

    bool listen_on_all(const std::vector<boost::asio::ip::tcp::endpoint> &endpoints);
    void wait_for_signal();
    void accept(Listener &listener);
    void accept_later(Listener &listener);
    void write_left_out_at(std::chrono::steady_clock::time_point when);

    boost::asio::io_context &io_;
    /* The listeners' and the signals' handlers: one at a time, so that
     * accepting (which counts the connections open first) and stopping
     * never interleave. */
    boost::asio::strand<boost::asio::io_context::executor_type> listening_;
    std::list<Listener> listeners_;   /* a list: accept's handlers hold references */
    boost::asio::signal_set signals_;
    /* When 5xx log lines were left out: writes their count once their
     * second is over, if no 5xx line has (problem.h, write_left_out). */
    boost::asio::steady_timer left_out_timer_;
    std::function<void()> on_hangup_;
    Router *router_ = nullptr;
    const std::size_t max_body_bytes_;
    const std::size_t max_connections_;
    const std::chrono::milliseconds idle_timeout_;
    const std::chrono::milliseconds stop_timeout_;
    /* Connections open now: each session holds the count and lowers it
     * when it ends (shared: a session may outlive a run() that threw). */
    std::shared_ptr<std::atomic<std::size_t>> open_connections_ =
        std::make_shared<std::atomic<std::size_t>>(0);
    std::atomic<bool> stopping_{false};
    /* The drain deadline (time_since_epoch), max until stop() sets it. */
    std::atomic<std::chrono::steady_clock::rep> drain_deadline_{
        std::chrono::steady_clock::time_point::max().time_since_epoch().count()};
    std::mutex sessions_mutex_;
    std::list<std::weak_ptr<Session>> sessions_;
};

} // namespace url_shortener::server

#endif
