/*
 * call_deadline.h
 *    How long an API call may wait for the database.  Every statement the
 *    server sends is bounded by statement_timeout, but only while the
 *    backend runs: a backend that is stopped, or a network that silently
 *    drops everything, answers nothing at all, and a call through the
 *    client library (libpqxx, blocking) would hold its worker thread, and a
 *    graceful stop, until the connection broke.
 *
 *    A Watch guards one request's work on a worker thread: a timer on the
 *    I/O thread, armed for n statements (n times statement_timeout, and the
 *    margin redirects get: a tenth, at least 1 s), and the connect timeout
 *    if the client has no connection yet: opening it, setup statements
 *    included, is part of the work it guards.  A retry (a failed try
 *    the client library runs again, ClientOptions::on_retry, on the same
 *    thread) arms it afresh, with the wait before the retry and a new
 *    connection's connect timeout added.  If the timer fires before the
 *    work ends, Client::interrupt() ends the call in flight: it throws
 *    OutcomeUnknown (502, the request may have been carried out) or, if
 *    nothing had been sent, ConnectionLost (503).
 */
#ifndef URL_SHORTENER_SERVER_CALL_DEADLINE_H
#define URL_SHORTENER_SERVER_CALL_DEADLINE_H

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>

#include <boost/asio/any_io_executor.hpp>

#include <url_shortener/client.h>

namespace url_shortener::server {

/* The statements an API call sends at most when nothing is retried (a
 * library call is one, and one more when it first checks the extension's
 * version): what its deadline is armed for. */
constexpr std::size_t call_statements = 4;

/* Those of a batch of `urls` URLs: shorten_many sends one statement per
 * chunk of `chunk` URLs (0 is taken as 1), and two more. */
std::size_t batch_call_statements(std::size_t urls, std::size_t chunk);

class CallDeadlines {
public:
    CallDeadlines(boost::asio::any_io_executor io, std::chrono::milliseconds statement_timeout,
                  std::chrono::seconds connect_timeout);

    /* Guards the work about to run on client, on this thread, until destroyed. */
    class Watch {
    public:
        Watch(CallDeadlines &deadlines, Client &client, std::size_t statements);
        ~Watch();
        Watch(const Watch &) = delete;
        Watch &operator=(const Watch &) = delete;

        struct State;

    private:
        std::shared_ptr<State> state_;
    };

    /* For ClientOptions::on_retry: arms the current thread's Watch afresh. */
    static void on_retry(const RetryEvent &event);

    /* Calls ended by their deadline so far, for /metrics. */
    unsigned long long interrupted() const { return interrupted_.load(); }

private:
    const boost::asio::any_io_executor io_;
    const std::chrono::milliseconds statement_timeout_;
    const std::chrono::milliseconds connect_timeout_;
    std::atomic<unsigned long long> interrupted_{0};
};

} // namespace url_shortener::server

#endif
