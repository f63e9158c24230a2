/*
 * connection_pool.h
 *    A bounded pool of url_shortener::Client connections shared by the
 *    worker threads.  At most `size` connections exist; they are opened on
 *    first need (so the server starts while the database is down, and
 *    /readyz tells) and kept.  A caller that finds none free waits until a
 *    deadline and then gets nothing, so the HTTP layer can answer 503
 *    instead of queueing without limit.
 */
#ifndef URL_SHORTENER_SERVER_CONNECTION_POOL_H
#define URL_SHORTENER_SERVER_CONNECTION_POOL_H

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <url_shortener/client.h>

namespace url_shortener::server {

/* What /metrics reports about the pool. */
struct PoolCounts {
    std::size_t size = 0;           /* the bound */
    std::size_t open = 0;           /* connections opened and kept */
    std::size_t in_use = 0;         /* lent out now */
    unsigned long long waits = 0;   /* acquisitions that found none free */
    unsigned long long timeouts = 0;/* ... and gave up at the deadline */
    unsigned long long open_failures = 0;  /* connections that could not be opened */
    unsigned long long transactions = 0;   /* redirects only: transactions sent ... */
    unsigned long long statements = 0;     /* ... and the resolve_url statements in them */
    unsigned long long unanswered = 0;     /* calls given up: the database did not answer
                                              within their deadline */
};

class ConnectionPool {
public:
    /* A connection lent to one caller; returned to the pool when destroyed. */
    class Lease {
    public:
        Lease(ConnectionPool &pool, std::unique_ptr<Client> client);
        Lease(Lease &&other) noexcept;
        Lease &operator=(Lease &&) = delete;
        ~Lease();
        Client &client() { return *client_; }

        /*
         * Opens the client's connection unless connected() (a new one, one
         * whose last attempt failed, or one known to be broken), throwing
         * what Client::connect() throws; then the Client is dropped with
         * the lease, and its slot freed.
         */
        void connect();

    private:
        ConnectionPool *pool_;
        std::unique_ptr<Client> client_;
        bool failed_ = false;
    };

    ConnectionPool(std::string dsn, std::size_t size, ClientOptions options = {});

    /*
     * A free connection, or a new Client (whose connection Lease::connect()
     * or its first call opens) if fewer than size exist; waits until
     * deadline for one to come back, then returns std::nullopt (at once if
     * deadline has passed: the caller spent its wait queued elsewhere).
     */
    std::optional<Lease> acquire(std::chrono::steady_clock::time_point deadline);

    /* For a graceful stop: no acquire waits past drain_deadline, those
     * waiting now included (they get nothing then). */
    void stop(std::chrono::steady_clock::time_point drain_deadline);

    PoolCounts counts() const;

    /* The options every connection of the pool is made with. */
    const ClientOptions &options() const { return options_; }

private:
    void give_back(std::unique_ptr<Client> client);
    void discard_unopened(std::unique_ptr<Client> client);

    const std::string dsn_;
    const std::size_t size_;
    const ClientOptions options_;   /* with defer_connect */
    mutable std::mutex mutex_;
    std::condition_variable returned_;
    std::vector<std::unique_ptr<Client>> idle_;
    std::chrono::steady_clock::time_point drain_deadline_ =
        std::chrono::steady_clock::time_point::max();
    std::size_t open_ = 0;          /* opened or being opened */
    std::size_t in_use_ = 0;
    unsigned long long waits_ = 0;
    unsigned long long timeouts_ = 0;
    unsigned long long open_failures_ = 0;
};

} // namespace url_shortener::server

#endif
