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
#include "server_options.h"

namespace net = boost::asio;

namespace url_shortener::server {

struct RedirectConnections::Slot {
    Slot(net::io_context &io, std::unique_ptr<ResolveConnection> c)
        : connection(std::move(c)), socket(io, connection->socket()), deadline(io)
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
    net::steady_timer deadline;      /* the batch in flight's answer limit */
    unsigned long long batches = 0;  /* sent so far: whose limit a handler is for */
    std::vector<Waiter> requests;    /* the redirects whose batch is in flight */
    bool reading = false;            /* a wait for readability is pending */
    bool writing = false;            /* ... for writability */
    bool dropped = false;
};

namespace {

/* Whether a refusal left nothing done and may pass when sent again; `renew`:
 * only on a new connection; `stale`: the statements were prepared for a
 * replaced extension, as were those of every connection opened before. */
bool worth_second_try(const std::exception_ptr &error, bool &renew, bool &stale)
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
        stale = state == "0A000" || state == "42883" || state == "26000";
        renew = stale;
        return renew || state == "40001" || state == "40P01";
    } catch (...) {
        return false;
    }
}

/* Whether the server refused a statement (the connection is fine and the
 * batch was rolled back), as against a connection lost before or after. */
bool refused(const std::exception_ptr &error)
{
    try {
        std::rethrow_exception(error);
    } catch (const OutcomeUnknown &) {
        return false;
    } catch (const ConnectionLost &) {
        return false;
    } catch (const Error &) {
        return true;
    } catch (...) {
        return false;
    }
}

/* Why a batch still unanswered at a stop's drain deadline is given up. */
const char *const stopped_unanswered =
    "the server is stopping and the database did not answer within the server's "
    "--stop-timeout-ms; the clicks may or may not have been counted";

} // namespace

RedirectConnections::RedirectConnections(net::io_context &io, net::thread_pool &openers,
                                         std::string dsn, std::size_t size,
                                         std::chrono::milliseconds wait, std::size_t batch,
                                         ClientOptions options)
    : io_(io), openers_(openers), dsn_(std::move(dsn)), size_(size), wait_(wait),
      batch_(std::max<std::size_t>(batch, 1)), options_(options), timer_(io), open_timer_(io)
{
}

RedirectConnections::~RedirectConnections() = default;

void RedirectConnections::resolve(std::string code, Done done)
{
    /* A wait: no connection there is or may be opened will take this one in
     * the next batches (each takes up to batch_ of the queue). */
    const auto free_slots = static_cast<std::size_t>(
        std::count_if(slots_.begin(), slots_.end(), [](const auto &s) { return s->requests.empty(); }));
    if (waiters_.size() >= (free_slots + (size_ - slots_.size())) * batch_)
        ++waits_;
    waiters_.push_back(Waiter{std::move(code), std::move(done), wait_deadline()});
    if (batch_ == 1)
        return serve();
    /* After the handlers that are ready now: the redirects read in this
     * round of the event loop go out together, in one batch. */
    if (serve_posted_)
        return;
    serve_posted_ = true;
    net::post(io_, [this] {
        serve_posted_ = false;
        serve();
    });
}

void RedirectConnections::serve()
{
    expire_waiters();
    /* start() may drop a slot (and serve again): index, and take a copy. */
    for (std::size_t i = 0; i < slots_.size() && !waiters_.empty(); ++i) {
        const std::shared_ptr<Slot> slot = slots_[i];
        if (!slot->requests.empty() || slot->dropped)
            continue;
        /* The redirects waiting now, up to batch_ of them, in one
         * transaction; one whose batch was refused goes alone. */
        do {
            slot->requests.push_back(std::move(waiters_.front()));
            waiters_.pop_front();
        } while (!slot->requests.front().alone && slot->requests.size() < batch_ &&
                 !waiters_.empty() && !waiters_.front().alone);
        start(slot);
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
            if (slots_[i]->requests.empty())
                drop(slots_[i]);
    }
    arm_timer();
}

void RedirectConnections::start(const std::shared_ptr<Slot> &slot)
{
    /* In the order of their codes: two batches that share codes take the
     * rows' locks in the same order, so they cannot deadlock each other. */
    std::vector<Waiter> &requests = slot->requests;
    std::stable_sort(requests.begin(), requests.end(),
                     [](const Waiter &a, const Waiter &b) { return a.code < b.code; });
    try {
        std::vector<std::string> codes;
        codes.reserve(requests.size());
        for (const Waiter &waiter : requests)
            codes.push_back(waiter.code);
        slot->connection->send(codes);
        ++transactions_;
        statements_ += codes.size();
    } catch (...) {
        /* Nothing was done: finish() tries another connection. */
        return finish(slot, {}, std::current_exception());
    }
    arm_deadline(slot);
    if (slot->connection->wants_write())
        wait_writable(slot);
    wait_readable(slot);
}

void RedirectConnections::arm_deadline(const std::shared_ptr<Slot> &slot)
{
    /* statement_timeout restarts for each statement of a pipeline, and the
     * server may send no result before the last: n of them, and a margin. */
    const std::chrono::milliseconds limit =
        unanswered_limit(options_.statement_timeout, slot->requests.size());
    const unsigned long long batch = ++slot->batches;
    const auto own = std::chrono::steady_clock::now() + limit;
    if (own > drain_deadline_)
        return give_up_at(slot, batch, drain_deadline_, stopped_unanswered);
    give_up_at(slot, batch, own,
               "the database did not answer within " + std::to_string(limit.count()) +
                   " ms (statement_timeout for each statement, and a margin); the clicks "
                   "may or may not have been counted");
}

/* Gives slot's batch number `batch` up at `when`, unless answered by then:
 * 502 (OutcomeUnknown, 08007) for each of its redirects, saying why. */
void RedirectConnections::give_up_at(const std::shared_ptr<Slot> &slot, unsigned long long batch,
                                     std::chrono::steady_clock::time_point when, std::string why)
{
    /* Cancels the wait set before for the same batch, if any. */
    slot->deadline.expires_at(when);
    /* A handler already queued when finish() cancels the timer still runs,
     * maybe after the next batch went out: it must not give that one up. */
    slot->deadline.async_wait([this, slot, batch, why = std::move(why)](
                                  const boost::system::error_code &ec) {
        if (ec || slot->dropped || slot->requests.empty() || slot->batches != batch)
            return;
        /* Not even statement_timeout's refusal came: the connection is
         * given up, and what it was sent may or may not have been done. */
        ++unanswered_;
        drop(slot);
        finish(slot, {}, std::make_exception_ptr(OutcomeUnknown(why, "08007")));
    });
}

/* How long a redirect queued now may wait for a connection. */
std::chrono::steady_clock::time_point RedirectConnections::wait_deadline() const
{
    return std::min(std::chrono::steady_clock::now() + wait_, drain_deadline_);
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
        if (slot->requests.empty())
            return;
        slot->connection->flush();
        if (slot->connection->wants_write())
            wait_writable(slot);
    });
}

void RedirectConnections::on_readable(const std::shared_ptr<Slot> &slot)
{
    std::vector<std::optional<std::string>> urls;
    try {
        if (!slot->connection->read(urls)) {
            if (!slot->requests.empty() && slot->connection->wants_write())
                wait_writable(slot);
            return wait_readable(slot);
        }
    } catch (...) {
        if (slot->requests.empty()) {
            drop(slot);   /* closed while idle: nobody was waiting for it */
            return serve();
        }
        return finish(slot, {}, std::current_exception());
    }
    finish(slot, std::move(urls), nullptr);
}

void RedirectConnections::finish(const std::shared_ptr<Slot> &slot,
                                 std::vector<std::optional<std::string>> urls,
                                 std::exception_ptr error)
{
    std::vector<Waiter> requests = std::move(slot->requests);
    slot->requests.clear();
    slot->deadline.cancel();
    bool renew = false;
    bool stale = false;
    const bool again = error && worth_second_try(error, renew, stale);
    if (renew || !slot->connection->open())
        drop(slot);
    else
        wait_readable(slot);   /* serve() closes it instead when stopping */
    /* Statements prepared for a replaced extension: every idle connection
     * was prepared the same way, so the second try must not go to one of
     * them (it would fail the same way).  A busy one is dropped when its
     * own batch fails. */
    if (stale) {
        std::vector<std::shared_ptr<Slot>> idle;
        for (const std::shared_ptr<Slot> &other : slots_)
            if (other->requests.empty())
                idle.push_back(other);
        for (const std::shared_ptr<Slot> &other : idle)
            drop(other);
    }
    const bool refused_batch = error && requests.size() > 1 && refused(error);
    /* Back to the front of the queue, in their order, each with a full wait
     * of its own (the first try may have taken longer than the wait: a
     * deadlock is found after deadlock_timeout):
     *  - every redirect of a refused batch, to go alone: the refusal rolled
     *    the whole batch back, so none was counted, and alone each gets its
     *    own answer (the one that was refused most likely the same refusal);
     *  - a redirect refused for a reason that may pass on a second try. */
    if (!error) {
        for (std::size_t i = 0; i < requests.size(); ++i)
            requests[i].done(std::move(urls[i]), nullptr);
        return serve();
    }
    for (std::size_t i = requests.size(); i-- > 0;) {
        Waiter &waiter = requests[i];
        if (!refused_batch && !(again && !waiter.second_try))
            continue;
        if (refused_batch)
            waiter.alone = true;
        else
            waiter.second_try = true;
        waiter.deadline = wait_deadline();
        waiters_.push_front(std::move(waiter));
        waiter.done = nullptr;   /* moved from: answered by its next try */
    }
    for (Waiter &waiter : requests)
        if (waiter.done)
            waiter.done(std::nullopt, error);
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
    net::post(openers_, [this, dsn = dsn_, options = options_] {
        std::unique_ptr<ResolveConnection> connection;
        std::exception_ptr error;
        try {
            connection = std::make_unique<ResolveConnection>(dsn, options);
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
    /* The earliest deadline: redirects sent again go back to the front with
     * a fresh one, so the queue is not in deadline order. */
    auto earliest = waiters_.front().deadline;
    for (const Waiter &waiter : waiters_)
        earliest = std::min(earliest, waiter.deadline);
    timer_.expires_at(earliest);
    timer_.async_wait([this](const boost::system::error_code &) {
        timer_armed_ = false;
        serve();
    });
}

void RedirectConnections::expire_waiters()
{
    /* Anywhere in the queue: see arm_timer(). */
    const auto now = std::chrono::steady_clock::now();
    std::vector<Waiter> expired;
    for (auto it = waiters_.begin(); it != waiters_.end();) {
        if (it->deadline <= now) {
            expired.push_back(std::move(*it));
            it = waiters_.erase(it);
        } else {
            ++it;
        }
    }
    for (Waiter &waiter : expired) {
        ++timeouts_;
        waiter.done(std::nullopt, std::make_exception_ptr(ProblemError(pool_exhausted())));
    }
}

void RedirectConnections::stop(std::chrono::steady_clock::time_point drain_deadline)
{
    stopping_ = true;
    drain_deadline_ = std::min(drain_deadline_, drain_deadline);
    /* Every batch in flight and every wait ends by the drain deadline. */
    for (const auto &slot : slots_)
        if (!slot->requests.empty() && slot->deadline.expiry() > drain_deadline_)
            give_up_at(slot, slot->batches, drain_deadline_, stopped_unanswered);
    for (Waiter &waiter : waiters_)
        waiter.deadline = std::min(waiter.deadline, drain_deadline_);
    if (timer_armed_)
        timer_.cancel();   /* its handler serves, and arms it for the new earliest */
    /* Redirects queued for the posted serve() still need a connection: then
     * serve() closes the idle ones once the queue is empty. */
    if (!waiters_.empty())
        return;
    for (const auto &slot : std::vector<std::shared_ptr<Slot>>(slots_))
        if (slot->requests.empty())
            drop(slot);
}

PoolCounts RedirectConnections::counts() const
{
    PoolCounts counts;
    counts.size = size_;
    counts.open = slots_.size();
    counts.in_use = static_cast<std::size_t>(
        std::count_if(slots_.begin(), slots_.end(), [](const auto &s) { return !s->requests.empty(); }));
    counts.waits = waits_;
    counts.timeouts = timeouts_;
    counts.open_failures = open_failures_;
    counts.transactions = transactions_;
    counts.unanswered = unanswered_;
    counts.statements = statements_;
    return counts;
}

} // namespace url_shortener::server
