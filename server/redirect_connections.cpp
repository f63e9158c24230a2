/*
 * redirect_connections.cpp
 *    The redirects' connections on the I/O thread: a queue of waiting
 *    redirects, a timer for the oldest one's wait, and for every connection
 *    a descriptor the reactor watches (always for reading, so a connection
 *    the server closes while idle is noticed and dropped at once; for
 *    writing only while a statement is partly sent).
 */
#include "redirect_connections.h"

#include <algorithm>
#include <utility>

#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

#include <url_shortener/errors.h>

#include "problem.h"

namespace net = boost::asio;

namespace url_shortener::server {

struct RedirectConnections::Slot {
    Slot(net::io_context &io, std::unique_ptr<ResolveConnection> c)
        : connection(std::move(c)), socket(io, connection->socket())
    {
    }

    /* libpq owns the socket: the descriptor only watches it. */
    ~Slot() { release(); }

    void release()
    {
        if (socket.is_open()) {
            boost::system::error_code ignored;
            socket.cancel(ignored);
            socket.release();
        }
    }

    std::unique_ptr<ResolveConnection> connection;
    net::posix::stream_descriptor socket;
    std::optional<Waiter> request;   /* the redirect whose statement is in flight */
    bool reading = false;            /* a wait for readability is pending */
    bool writing = false;            /* ... for writability */
    bool dropped = false;
};

namespace {

/* Whether a refusal left nothing done and may pass when sent again; `renew`:
 * only on a new connection (statements prepared for a replaced extension). */
bool worth_second_try(const std::exception_ptr &error, bool &renew)
{
    try {
        std::rethrow_exception(error);
    } catch (const OutcomeUnknown &) {
        return false;
    } catch (const ConnectionLost &) {
        renew = true;   /* nothing was sent */
        return true;
    } catch (const Error &e) {
        const std::string &state = e.sqlstate();
        renew = state == "0A000" || state == "42883" || state == "26000";
        return renew || state == "40001" || state == "40P01";
    } catch (...) {
        return false;
    }
}

} // namespace

RedirectConnections::RedirectConnections(net::io_context &io, net::thread_pool &openers,
                                         std::string dsn, std::size_t size,
                                         std::chrono::milliseconds wait)
    : io_(io), openers_(openers), dsn_(std::move(dsn)), size_(size), wait_(wait), timer_(io),
      open_timer_(io)
{
}

RedirectConnections::~RedirectConnections() = default;

void RedirectConnections::resolve(std::string code, Done done)
{
    /* A wait: every connection there is or may be opened already has a
     * redirect to serve. */
    const auto free_slots = static_cast<std::size_t>(
        std::count_if(slots_.begin(), slots_.end(), [](const auto &s) { return !s->request; }));
    if (waiters_.size() >= free_slots + (size_ - slots_.size()))
        ++waits_;
    waiters_.push_back(
        Waiter{std::move(code), std::move(done), std::chrono::steady_clock::now() + wait_});
    serve();
}

void RedirectConnections::serve()
{
    expire_waiters();
    /* start() may drop a slot (and serve again): index, and take a copy. */
    for (std::size_t i = 0; i < slots_.size() && !waiters_.empty(); ++i) {
        const std::shared_ptr<Slot> slot = slots_[i];
        if (slot->request || slot->dropped)
            continue;
        Waiter waiter = std::move(waiters_.front());
        waiters_.pop_front();
        start(slot, std::move(waiter));
    }
    const bool wanted = waiters_.size() > opening_ && slots_.size() + opening_ < size_;
    if (wanted && std::chrono::steady_clock::now() < next_open_) {
        if (slots_.empty() && opening_ == 0) {
            /* The database refused the last open a moment ago and nothing
             * else can serve: its error now, not a 503 after the wait. */
            std::deque<Waiter> failed;
            failed.swap(waiters_);
            for (Waiter &waiter : failed)
                waiter.done(std::nullopt, open_error_);
        } else if (!open_timer_armed_) {
            open_timer_armed_ = true;
            open_timer_.expires_at(next_open_);
            open_timer_.async_wait([this](const boost::system::error_code &) {
                open_timer_armed_ = false;
                serve();
            });
        }
    } else if (wanted) {
        while (waiters_.size() > opening_ && slots_.size() + opening_ < size_)
            open_one();
    }
    if (stopping_ && waiters_.empty()) {
        /* Stopping: a connection nobody will use again closes now (one
         * could be idle with a read wait, holding run() up forever). */
        for (std::size_t i = slots_.size(); i-- > 0;)
            if (!slots_[i]->request)
                drop(slots_[i]);
    }
    arm_timer();
}

void RedirectConnections::start(const std::shared_ptr<Slot> &slot, Waiter waiter)
{
    slot->request = std::move(waiter);
    try {
        slot->connection->send(slot->request->code);
    } catch (...) {
        /* Nothing was sent: finish() tries another connection. */
        return finish(slot, std::nullopt, std::current_exception());
    }
    if (slot->connection->wants_write())
        wait_writable(slot);
    wait_readable(slot);
}

void RedirectConnections::wait_readable(const std::shared_ptr<Slot> &slot)
{
    wait_for(slot, net::posix::stream_descriptor::wait_read, slot->reading);
}

void RedirectConnections::wait_writable(const std::shared_ptr<Slot> &slot)
{
    wait_for(slot, net::posix::stream_descriptor::wait_write, slot->writing);
}

/* One pending wait per direction: pending is slot->reading or slot->writing. */
void RedirectConnections::wait_for(const std::shared_ptr<Slot> &slot,
                                   net::posix::stream_descriptor::wait_type direction,
                                   bool &pending)
{
    if (pending || slot->dropped)
        return;
    pending = true;
    slot->socket.async_wait(direction, [this, slot, direction, &pending](
                                           const boost::system::error_code &ec) {
        pending = false;   /* a member of slot, which this handler keeps alive */
        /* Any other error: read() or flush() finds out what became of the
         * connection, so a statement in flight is never left unanswered. */
        if (ec == net::error::operation_aborted || slot->dropped)
            return;
        if (direction == net::posix::stream_descriptor::wait_read)
            return on_readable(slot);
        if (!slot->request)
            return;
        slot->connection->flush();
        if (slot->connection->wants_write())
            wait_writable(slot);
    });
}

void RedirectConnections::on_readable(const std::shared_ptr<Slot> &slot)
{
    std::optional<std::string> url;
    try {
        if (!slot->connection->read(url)) {
            if (slot->request && slot->connection->wants_write())
                wait_writable(slot);
            return wait_readable(slot);
        }
    } catch (...) {
        if (!slot->request) {
            drop(slot);   /* closed while idle: nobody was waiting for it */
            return serve();
        }
        return finish(slot, std::nullopt, std::current_exception());
    }
    finish(slot, std::move(url), nullptr);
}

void RedirectConnections::finish(const std::shared_ptr<Slot> &slot, std::optional<std::string> url,
                                 std::exception_ptr error)
{
    Waiter waiter = std::move(*slot->request);
    slot->request.reset();
    bool renew = false;
    if (error && !waiter.second_try && worth_second_try(error, renew)) {
        /* Its own full wait again: the first try may have taken longer
         * than the wait (a deadlock is found after deadlock_timeout). */
        waiter.second_try = true;
        waiter.deadline = std::chrono::steady_clock::now() + wait_;
        waiters_.push_front(std::move(waiter));
        if (renew || !slot->connection->open())
            drop(slot);
        else
            wait_readable(slot);
        return serve();
    }
    if (!slot->connection->open())
        drop(slot);
    else
        wait_readable(slot);   /* serve() closes it instead when stopping */
    waiter.done(std::move(url), std::move(error));
    serve();
}

void RedirectConnections::drop(const std::shared_ptr<Slot> &slot)
{
    slot->dropped = true;
    slot->release();
    slots_.erase(std::remove(slots_.begin(), slots_.end(), slot), slots_.end());
    /* The connection closes with the last handler that holds the slot. */
}

void RedirectConnections::open_one()
{
    ++opening_;
    net::post(openers_, [this, dsn = dsn_] {
        std::unique_ptr<ResolveConnection> connection;
        std::exception_ptr error;
        try {
            connection = std::make_unique<ResolveConnection>(dsn);
        } catch (...) {
            error = std::current_exception();
        }
        net::post(io_, [this, connection = std::move(connection), error]() mutable {
            on_opened(std::move(connection), error);
        });
    });
}

void RedirectConnections::on_opened(std::unique_ptr<ResolveConnection> connection,
                                    std::exception_ptr error)
{
    --opening_;
    if (error) {
        ++open_failures_;
        /* No new open for a while (100 ms, doubling up to 5 s): a database
         * that refuses connections (too many clients) is not hammered. */
        open_backoff_ = std::min(std::max(2 * open_backoff_, std::chrono::milliseconds(100)),
                                 std::chrono::milliseconds(5000));
        next_open_ = std::chrono::steady_clock::now() + open_backoff_;
        open_error_ = error;
        /* With no connection open or coming, nobody waiting can be served:
         * they all get the error (503 for an unreachable database) now. */
        if (slots_.empty() && opening_ == 0) {
            std::deque<Waiter> failed;
            failed.swap(waiters_);
            for (Waiter &waiter : failed)
                waiter.done(std::nullopt, error);
        }
        return serve();
    }
    open_backoff_ = std::chrono::milliseconds(0);
    next_open_ = {};
    open_error_ = nullptr;
    if (stopping_ && waiters_.empty())
        return;
    try {
        slots_.push_back(std::make_shared<Slot>(io_, std::move(connection)));
    } catch (...) {
        return serve();   /* the reactor refused the socket: the next need opens another */
    }
    wait_readable(slots_.back());
    serve();
}

void RedirectConnections::arm_timer()
{
    if (waiters_.empty()) {
        /* Nobody waits: a pending timer would keep io_context::run() (and
         * a graceful stop) going until it expired. */
        if (timer_armed_)
            timer_.cancel();
        if (open_timer_armed_)
            open_timer_.cancel();
        return;
    }
    if (timer_armed_)
        return;
    timer_armed_ = true;
    timer_.expires_at(waiters_.front().deadline);
    timer_.async_wait([this](const boost::system::error_code &) {
        timer_armed_ = false;
        serve();
    });
}

void RedirectConnections::expire_waiters()
{
    const auto now = std::chrono::steady_clock::now();
    while (!waiters_.empty() && waiters_.front().deadline <= now) {
        Waiter waiter = std::move(waiters_.front());
        waiters_.pop_front();
        ++timeouts_;
        waiter.done(std::nullopt, std::make_exception_ptr(ProblemError(pool_exhausted())));
    }
}

void RedirectConnections::stop()
{
    stopping_ = true;
    for (const auto &slot : std::vector<std::shared_ptr<Slot>>(slots_))
        if (!slot->request)
            drop(slot);
}

PoolCounts RedirectConnections::counts() const
{
    PoolCounts counts;
    counts.size = size_;
    counts.open = slots_.size();
    counts.in_use = static_cast<std::size_t>(
        std::count_if(slots_.begin(), slots_.end(), [](const auto &s) { return s->request.has_value(); }));
    counts.waits = waits_;
    counts.timeouts = timeouts_;
    counts.open_failures = open_failures_;
    return counts;
}

} // namespace url_shortener::server
