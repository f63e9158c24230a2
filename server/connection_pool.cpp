/*
 * connection_pool.cpp
 *    The bounded pool of Client connections (see connection_pool.h).
 */
#include "connection_pool.h"

#include <utility>

namespace url_shortener::server {

ConnectionPool::Lease::Lease(ConnectionPool &pool, std::unique_ptr<Client> client)
    : pool_(&pool), client_(std::move(client))
{
}

ConnectionPool::Lease::Lease(Lease &&other) noexcept
    : pool_(other.pool_), client_(std::move(other.client_))
{
}

/* Returns the connection.  A Client whose connection broke reconnects on
 * its next call by itself, so every connection goes back. */
ConnectionPool::Lease::~Lease()
{
    if (client_)
        pool_->give_back(std::move(client_));
}

ConnectionPool::ConnectionPool(std::string dsn, std::size_t size, ClientOptions options)
    : dsn_(std::move(dsn)), size_(size), options_(options)
{
}

/* Takes an idle connection, or opens one while under the bound (outside the
 * lock: connecting takes a round trip), or waits for one until deadline. */
std::optional<ConnectionPool::Lease>
ConnectionPool::acquire(std::chrono::steady_clock::time_point deadline)
{
    std::unique_lock<std::mutex> lock(mutex_);
    if (std::chrono::steady_clock::now() >= deadline) {
        /* The caller already waited its share (queued for a worker). */
        ++waits_;
        ++timeouts_;
        return std::nullopt;
    }
    auto available = [this] { return !idle_.empty() || open_ < size_; };
    if (!available()) {
        ++waits_;
        if (!returned_.wait_until(lock, deadline, available)) {
            ++timeouts_;
            return std::nullopt;
        }
    }
    if (!idle_.empty()) {
        std::unique_ptr<Client> client = std::move(idle_.back());
        idle_.pop_back();
        ++in_use_;
        return Lease(*this, std::move(client));
    }
    ++open_;
    ++in_use_;
    lock.unlock();
    try {
        return Lease(*this, std::make_unique<Client>(dsn_, options_));
    } catch (...) {
        lock.lock();
        --open_;
        --in_use_;
        ++open_failures_;
        lock.unlock();
        returned_.notify_one();
        throw;
    }
}

PoolCounts ConnectionPool::counts() const
{
    std::lock_guard<std::mutex> lock(mutex_);
    return PoolCounts{size_, open_, in_use_, waits_, timeouts_, open_failures_};
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
