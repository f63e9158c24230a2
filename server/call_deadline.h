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
 *
 *    A graceful stop bounds them all (stop): from then on no timer is armed
 *    later than the stop's drain deadline (--stop-timeout-ms after the
 *    signal), those armed already are brought forward to it, and a Watch
 *    made once it has passed throws ConnectionLost (503) before anything
 *    is sent.  A call still waiting for the database then ends exactly as
 *    at its own deadline.
 *
 *    Once it has fired, at either deadline, the timer interrupts again
 *    every repeat_interrupt_interval until the work ends: an interrupt
 *    that comes between two calls ends nothing.
 */
#ifndef URL_SHORTENER_SERVER_CALL_DEADLINE_H
#define URL_SHORTENER_SERVER_CALL_DEADLINE_H

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <unordered_set>

#include <boost/asio/any_io_executor.hpp>

#include <url_shortener/client.h>

namespace url_shortener::server {

/* Once a call's deadline has fired, how often it is interrupted again
 * until its work ends. */
constexpr std::chrono::milliseconds repeat_interrupt_interval{100};

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

        /* Whether the deadline (its own or a stop's) has fired: the call
         * was, or is being, ended by it, and is not to be tried again. */
        bool fired() const;

        struct State;

    private:
        std::shared_ptr<State> state_;
    };

    /* For ClientOptions::on_retry: arms the current thread's Watch afresh. */
    static void on_retry(const RetryEvent &event);

    /* For a graceful stop, on the I/O thread: every call in flight, or
     * made from now on, ends by drain_deadline at the latest. */
    void stop(std::chrono::steady_clock::time_point drain_deadline);

    /* Calls ended by their deadline so far, for /metrics. */
    unsigned long long interrupted() const { return interrupted_.load(); }

private:
    std::chrono::steady_clock::time_point drain_deadline() const;
    static void arm(const std::shared_ptr<Watch::State> &state,
                    std::chrono::steady_clock::time_point when);

    const boost::asio::any_io_executor io_;
    const std::chrono::milliseconds statement_timeout_;
    const std::chrono::milliseconds connect_timeout_;
    std::atomic<unsigned long long> interrupted_{0};
    /* The stop's drain deadline (time_since_epoch), max until a stop:
     * read by the workers, written once on the I/O thread. */
    std::atomic<std::chrono::steady_clock::rep> drain_deadline_{
        std::chrono::steady_clock::time_point::max().time_since_epoch().count()};
    /* The Watches whose timer is armed: I/O thread only. */
    std::unordered_set<std::shared_ptr<Watch::State>> armed_;
};

} // namespace url_shortener::server

#endif
