/*
 * call_deadline.cpp
 *    The timer that ends an API call the database does not answer.  The
 *    timer is only ever touched on the I/O thread (arming and cancelling
 *    are posted there); the worker and the timer's handler meet under the
 *    Watch's mutex, so an interrupt can reach only the call it was armed
 *    for, never the connection's next user.
 */
#include "call_deadline.h"

#include <algorithm>
#include <mutex>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <url_shortener/errors.h>

#include "server_options.h"

namespace net = boost::asio;

namespace url_shortener::server {

struct CallDeadlines::Watch::State {
    State(CallDeadlines &owner, Client &watched, std::chrono::milliseconds limit)
        : deadlines(owner), timer(owner.io_), client(&watched), window(limit)
    {
    }

    /*
     * The timer fired: ends the call, unless the work has ended.  True if
     * it is to fire again soon, that is until the work ends: an interrupt
     * that came between two of its calls (the pool's connect() and the
     * route's call, say) ended nothing, and the next call would run with
     * no deadline, at a stop past the drain deadline too.  Counted once.
     */
    bool expire()
    {
        std::lock_guard<std::mutex> lock(mutex);
        if (client == nullptr)
            return false;
        client->interrupt();
        if (!counted)
            ++deadlines.interrupted_;
        counted = true;
        return true;
    }

    CallDeadlines &deadlines;
    net::steady_timer timer;       /* I/O thread only */
    unsigned long long armed = 0;  /* I/O thread only: which arming a handler is for */
    std::chrono::steady_clock::time_point when{};   /* I/O thread only: the timer's expiry */
    std::mutex mutex;
    Client *client;                /* under mutex; null once the work has ended */
    bool counted = false;          /* under mutex: in interrupted_ */
    const std::chrono::milliseconds window;   /* n statements and the margin */
};

namespace {

/* The Watch of the work running on this thread, for on_retry. */
thread_local std::shared_ptr<CallDeadlines::Watch::State> current_watch;

/* Sets state's timer to fire at `when` (on the I/O thread). */
void wait_until(const std::shared_ptr<CallDeadlines::Watch::State> &state,
                std::chrono::steady_clock::time_point when)
{
    const unsigned long long armed = ++state->armed;
    state->when = when;
    state->timer.expires_at(when);
    state->timer.async_wait([state, armed](const boost::system::error_code &ec) {
        if (!ec && state->armed == armed && state->expire())
            wait_until(state, std::chrono::steady_clock::now() + repeat_interrupt_interval);
    });
}

} // namespace

/* Arms state's timer to fire at `when`, or at a stop's drain deadline if
 * that comes first (from any thread). */
void CallDeadlines::arm(const std::shared_ptr<Watch::State> &state,
                        std::chrono::steady_clock::time_point when)
{
    net::post(state->timer.get_executor(), [state, when] {
        CallDeadlines &deadlines = state->deadlines;
        deadlines.armed_.insert(state);
        wait_until(state, std::min(when, deadlines.drain_deadline()));
    });
}

std::size_t batch_call_statements(std::size_t urls, std::size_t chunk)
{
    chunk = std::max<std::size_t>(chunk, 1);
    return 2 + (urls + chunk - 1) / chunk;
}

CallDeadlines::CallDeadlines(net::any_io_executor io, std::chrono::milliseconds statement_timeout,
                             std::chrono::seconds connect_timeout)
    : io_(std::move(io)), statement_timeout_(statement_timeout), connect_timeout_(connect_timeout)
{
}

CallDeadlines::Watch::Watch(CallDeadlines &deadlines, Client &client, std::size_t statements)
    : state_(std::make_shared<State>(deadlines, client,
                                     unanswered_limit(deadlines.statement_timeout_, statements)))
{
    /* A timer due already would fire before the call starts, when an
     * interrupt ends nothing: the call would run unbounded. */
    if (std::chrono::steady_clock::now() >= deadlines.drain_deadline())
        throw ConnectionLost("the server is stopping and its --stop-timeout-ms has passed; "
                             "the call was not sent, nothing was stored",
                             "08006");
    current_watch = state_;
    /* A client without a connection opens one first (ConnectionPool::Lease::connect). */
    const std::chrono::milliseconds opening =
        client.connected() ? std::chrono::milliseconds(0) : deadlines.connect_timeout_;
    CallDeadlines::arm(state_, std::chrono::steady_clock::now() + opening + state_->window);
}

CallDeadlines::Watch::~Watch()
{
    current_watch.reset();
    {
        std::lock_guard<std::mutex> lock(state_->mutex);
        state_->client = nullptr;
    }
    /* Not left pending: a pending timer would hold a graceful stop. */
    net::post(state_->timer.get_executor(), [state = state_] {
        ++state->armed;
        state->timer.cancel();
        state->deadlines.armed_.erase(state);
    });
}

bool CallDeadlines::Watch::fired() const
{
    std::lock_guard<std::mutex> lock(state_->mutex);
    return state_->counted;
}

void CallDeadlines::on_retry(const RetryEvent &event)
{
    if (!current_watch)
        return;
    CallDeadlines::arm(current_watch, std::chrono::steady_clock::now() + event.delay +
                                          current_watch->deadlines.connect_timeout_ +
                                          current_watch->window);
}

std::chrono::steady_clock::time_point CallDeadlines::drain_deadline() const
{
    return std::chrono::steady_clock::time_point(
        std::chrono::steady_clock::duration(drain_deadline_.load()));
}

void CallDeadlines::stop(std::chrono::steady_clock::time_point drain_deadline)
{
    drain_deadline_.store(drain_deadline.time_since_epoch().count());
    for (const std::shared_ptr<Watch::State> &state : armed_)
        if (state->when > drain_deadline)
            wait_until(state, drain_deadline);
}

} // namespace url_shortener::server
