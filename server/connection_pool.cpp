/*
 * connection_pool.cpp
 *    The bounded pool of Client connections (see connection_pool.h).
 */
#include "connection_pool.h"

#include <algorithm>
#include <utility>

namespace url_shortener::server {

ConnectionPool::Lease::Lease(ConnectionPool &pool, std::unique_ptr<Client> client)
    : pool_(&pool), client_(std::move(client))
{
}

ConnectionPool::Lease::Lease(Lease &&other) noexcept
    : pool_(other.pool_), client_(std::move(other.client_)), failed_(other.failed_)
{
}

/* Returns the connection.  A Client whose connection broke reconnects on
 * its next call by itself, so every connection goes back, except one that
 * could not be opened: that slot is freed. */
ConnectionPool::Lease::~Lease()
{
    if (!client_)
        return;
    if (failed_)
        pool_->discard_unopened(std::move(client_));
    else
        pool_->give_back(std::move(client_));
}

/*
 * Opens the connection outside the pool's lock (connecting takes round
 * trips) and on the caller's thread after acquire(), where whatever bounds
 * the caller's calls (CallDeadlines) bounds the setup statements too.
 */
void ConnectionPool::Lease::connect()
{
    if (client_->connected())
        return;
    try {
        client_->connect();
    } catch (...) {
        failed_ = true;
        throw;
    }
}

namespace {

ClientOptions deferred(ClientOptions options)
{
    options.defer_connect = true;
    return options;
}

} // namespace

ConnectionPool::ConnectionPool(std::string dsn, std::size_t size, ClientOptions options)
    : dsn_(std::move(dsn)), size_(size), options_(deferred(std::move(options)))
{
}

/* Takes an idle connection, or makes a Client (not yet connected) while
 * under the bound, or waits for one until deadline. */
std::optional<ConnectionPool::Lease>
ConnectionPool::acquire(std::chrono::steady_clock::time_point deadline)
{
    std::unique_lock<std::mutex> lock(mutex_);
    if (std::chrono::steady_clock::now() >= std::min(deadline, drain_deadline_)) {
        /* The caller already waited its share (queued for a worker), or
         * the stop's drain is over. */
        ++waits_;
        ++timeouts_;
        return std::nullopt;
    }
    auto available = [this] { return !idle_.empty() || open_ < size_; };
    if (!available()) {
        ++waits_;
        /* Until deadline, or a stop's drain deadline (which stop() may
         * bring in while this waits). */
        while (!available()) {
            const auto until = std::min(deadline, drain_deadline_);
            if (std::chrono::steady_clock::now() >= until) {
                ++timeouts_;
                return std::nullopt;
            }
            returned_.wait_until(lock, until);
        }
    }
    if (!idle_.empty()) {
        std::unique_ptr<Client> client = std::move(idle_.back());
        idle_.pop_back();
        ++in_use_;
        return Lease(*this, std::move(client));
    }
    /* Checks the connection string only: main() already parsed it. */
    auto client = std::make_unique<Client>(dsn_, options_);
    ++open_;
    ++in_use_;
    return Lease(*this, std::move(client));
}

void ConnectionPool::stop(std::chrono::steady_clock::time_point drain_deadline)
{
    {
        std::lock_guard<std::mutex> lock(mutex_);
        drain_deadline_ = std::min(drain_deadline_, drain_deadline);
    }
    returned_.notify_all();   /* each waiter sees its new limit */
}

PoolCounts ConnectionPool::counts() const
{
    std::lock_guard<std::mutex> lock(mutex_);
    return PoolCounts{size_, open_, in_use_, waits_, timeouts_, open_failures_};
}

/* A Lease whose connection could not be opened frees its slot. */
void ConnectionPool::discard_unopened(std::unique_ptr<Client> client)
{
    client.reset();
    {
        std::lock_guard<std::mutex> lock(mutex_);
        --open_;
        --in_use_;
        ++open_failures_;
    }
    returned_.notify_one();
}

/* Puts a connection back and wakes one waiter. */
void ConnectionPool::give_back(std::unique_ptr<Client> client)
{
    {
        std::lock_guard<std::mutex> lock(mutex_);
        idle_.push_back(std::move(client));
        --in_use_;
    }
    returned_.notify_one();
}

} // namespace url_shortener::server
