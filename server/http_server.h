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
 *    Graceful stop (SIGTERM, SIGINT): the listening socket closes at once,
 *    idle connections (no byte of a next request read) are closed, a
 *    connection with a request in flight, or any part of one read, gets
 *    its answer (with "Connection: close") and then closes, within the
 *    usual timeouts; run() returns when the last one has.
 */
#ifndef URL_SHORTENER_SERVER_HTTP_SERVER_H
#define URL_SHORTENER_SERVER_HTTP_SERVER_H

#include <atomic>
#include <cstddef>
#include <list>
#include <memory>
#include <mutex>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include "router.h"

namespace url_shortener::server {

class Session;

class HttpServer {
public:
    /* Binds and listens on endpoint (throws boost::system::system_error if it cannot). */
    HttpServer(boost::asio::io_context &io, const boost::asio::ip::tcp::endpoint &endpoint,
               std::size_t max_body_bytes);

    /* The address actually bound (port 0 asks for any free port). */
    boost::asio::ip::tcp::endpoint local_endpoint() const;

    /* Starts accepting, answering through router, and waiting for SIGTERM/SIGINT;
     * the io_context's run() does the rest.  router must outlive run(). */
    void start(Router &router);

    /* Stops as described above; safe to call more than once. */
    void stop();

    bool stopping() const { return stopping_; }
    Router &router() { return *router_; }
    std::size_t max_body_bytes() const { return max_body_bytes_; }

private:
    void accept();

    boost::asio::io_context &io_;
    boost::asio::ip::tcp::acceptor acceptor_;
    boost::asio::signal_set signals_;
    /* After a failed accept (out of descriptors: EMFILE, ENFILE), the
     * pause before the next, so the I/O thread does not spin on it. */
    boost::asio::steady_timer accept_pause_;
    Router *router_ = nullptr;
    const std::size_t max_body_bytes_;
    std::atomic<bool> stopping_{false};
    std::mutex sessions_mutex_;
    std::list<std::weak_ptr<Session>> sessions_;
};

} // namespace url_shortener::server

#endif
