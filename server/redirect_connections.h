/*
 * redirect_connections.h
 *    The redirects' own database connections.  GET /{code} is the hot
 *    path: instead of handing each redirect to a worker thread (two thread
 *    switches and a wake-up of the I/O thread, most of a redirect's cost on
 *    two cores), the I/O thread sends resolve_url on a non-blocking
 *    url_shortener::ResolveConnection and answers when the socket says the
 *    result is in.
 *
 *    At most `size` connections (--redirect-pool-size, by default
 *    --pool-size), one batch in flight on each.  A batch is the redirects
 *    waiting when a connection is free, up to `batch` of them
 *    (--redirect-batch), resolved in one transaction (one commit, one
 *    exchange with the server: ResolveConnection::send).  Redirects read in
 *    one round of the event loop are queued first and sent after it, so
 *    that those arriving together go together, on the first free
 *    connection even when others are free (fewer, larger transactions; but
 *    a redirect held up by a row lock holds up its batch).  When redirects
 *    arrive one at a time, a batch is one redirect.  Each batch is sent in the order of its codes, so two
 *    batches that share codes lock the rows in the same order.  A batch
 *    the server refused was rolled back whole: each of its redirects is
 *    sent again alone, and gets its own answer.
 *    A redirect that finds no connection free waits, first come first served,
 *    until a connection is free or its wait (--pool-wait-ms) is over: then
 *    503, and nothing was sent.  Opening a connection blocks, so it runs on
 *    a thread of its own (openers); a connection found lost (idle, or with a
 *    statement in flight: OutcomeUnknown) is dropped and the next need
 *    opens another.  After a failed open, none is tried for a while (100 ms,
 *    doubling up to 5 s); meanwhile, with no connection at all, a redirect
 *    gets that failure (503) at once.
 *    A redirect the server refused (alone) for a reason that left nothing done and
 *    may pass on a second try (40001, 40P01; or 0A000, 42883, 26000 after
 *    ALTER EXTENSION ... UPDATE, on a newly prepared connection) is sent
 *    once more, with a full wait of its own.
 *
 *    A batch of n not answered within n statement_timeouts and a margin (a stopped
 *    backend, a network that drops everything) is answered as a lost
 *    connection (OutcomeUnknown: 502, its clicks may have been counted),
 *    and its connection is dropped, so neither it nor a graceful stop
 *    waits for ever.  A stop gives up every batch and wait at its drain
 *    deadline (--stop-timeout-ms) at the latest, with the same answers.
 *
 *    Everything but the opening runs on the I/O thread (the io_context is
 *    run by one thread); resolve(), stop() and counts() must be called there.
 */
#ifndef URL_SHORTENER_SERVER_REDIRECT_CONNECTIONS_H
#define URL_SHORTENER_SERVER_REDIRECT_CONNECTIONS_H

#include <chrono>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include <url_shortener/resolve_connection.h>

#include "connection_pool.h"

namespace url_shortener::server {

class RedirectConnections {
public:
    /* The outcome of one resolve: the URL (std::nullopt: no such link now),
     * or the error (a url_shortener::Error, or a ProblemError for the 503). */
    using Done = std::function<void(std::optional<std::string> url, std::exception_ptr error)>;

    RedirectConnections(boost::asio::io_context &io, boost::asio::thread_pool &openers,
                        std::string dsn, std::size_t size, std::chrono::milliseconds wait,
                        std::size_t batch = 1, ClientOptions options = {});
    ~RedirectConnections();
    RedirectConnections(const RedirectConnections &) = delete;
    RedirectConnections &operator=(const RedirectConnections &) = delete;

    /* resolve_url(code), counting the click; done is called exactly once,
     * on the I/O thread: later, or from inside resolve when the answer is
     * known at once (an expired wait, a database that just refused). */
    void resolve(std::string code, Done done);

    /* For a graceful stop: closes idle connections now, the others once
     * their statement is answered and no redirect waits; opens no more.
     * Nothing waits past drain_deadline: a redirect still waiting for a
     * connection then is 503, a batch still unanswered is given up as at
     * its own deadline (502, the connection dropped). */
    void stop(std::chrono::steady_clock::time_point drain_deadline);

    PoolCounts counts() const;

private:
    struct Slot;
    struct Waiter {
        std::string code;
        Done done;
        std::chrono::steady_clock::time_point deadline;
        bool second_try = false;
        bool alone = false;   /* its batch was refused: it goes in a batch of its own */
    };

    void serve();
    void start(const std::shared_ptr<Slot> &slot);
    void wait_readable(const std::shared_ptr<Slot> &slot);
    void wait_writable(const std::shared_ptr<Slot> &slot);
    void wait_for(const std::shared_ptr<Slot> &slot,
                  boost::asio::posix::stream_descriptor::wait_type direction, bool &pending);
    void on_readable(const std::shared_ptr<Slot> &slot);
    void finish(const std::shared_ptr<Slot> &slot, std::vector<std::optional<std::string>> urls,
                std::exception_ptr error);
    void drop(const std::shared_ptr<Slot> &slot);
    void open_one();
    void on_opened(std::unique_ptr<ResolveConnection> connection, std::exception_ptr error);
    void arm_timer();
    void arm_deadline(const std::shared_ptr<Slot> &slot);
    void give_up_at(const std::shared_ptr<Slot> &slot, unsigned long long batch,
                    std::chrono::steady_clock::time_point when, std::string why);
    std::chrono::steady_clock::time_point wait_deadline() const;
    void expire_waiters();

    boost::asio::io_context &io_;
    boost::asio::thread_pool &openers_;
    const std::string dsn_;
    const std::size_t size_;
    const std::chrono::milliseconds wait_;
    const std::size_t batch_;                /* most redirects in one statement batch */
    const ClientOptions options_;            /* of every connection (statement_timeout) */
    boost::asio::steady_timer timer_;        /* the oldest waiter's deadline */
    bool timer_armed_ = false;
    boost::asio::steady_timer open_timer_;   /* the end of a backoff after a failed open */
    bool open_timer_armed_ = false;
    std::chrono::steady_clock::time_point next_open_{};   /* no open before */
    std::chrono::milliseconds open_backoff_{0};
    std::exception_ptr open_error_;          /* why the last open failed */
    bool stopping_ = false;
    std::chrono::steady_clock::time_point drain_deadline_ =
        std::chrono::steady_clock::time_point::max();   /* a stop's: nothing waits past it */
    bool serve_posted_ = false;              /* a serve() is queued on the I/O thread */
    std::vector<std::shared_ptr<Slot>> slots_;   /* open connections */
    std::size_t opening_ = 0;
    std::deque<Waiter> waiters_;
    unsigned long long waits_ = 0;
    unsigned long long timeouts_ = 0;
    unsigned long long open_failures_ = 0;
    unsigned long long transactions_ = 0;    /* batches sent */
    unsigned long long statements_ = 0;      /* resolve_url statements in them */
    unsigned long long unanswered_ = 0;      /* batches given up at their deadline */
};

} // namespace url_shortener::server

#endif
