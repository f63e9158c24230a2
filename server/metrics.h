/*
 * metrics.h
 *    What GET /metrics reports, in the Prometheus text exposition format:
 *    requests by route and status, a latency histogram by route, and the
 *    connection pools' size, connections open and in use, waits and
 *    timeouts (the redirects' and the API's).  Routes are a fixed set of names (never the code asked
 *    for), so the series do not grow with traffic; "http" counts the
 *    requests the HTTP layer refused before routing them.
 */
#ifndef URL_SHORTENER_SERVER_METRICS_H
#define URL_SHORTENER_SERVER_METRICS_H

#include <array>
#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "connection_pool.h"

namespace url_shortener::server {

class Metrics {
public:
    /* Counts one answered request. route is one of the router's fixed names. */
    void record(const std::string &route, unsigned status, std::chrono::steady_clock::duration took);

    /* Counts one request refused by the HTTP layer before it had a route
     * (a header or body over its limit, malformed HTTP): under route, with
     * no latency (no request was read to time). */
    void count(const std::string &route, unsigned status);

    /* The exposition text, with both pools' counts as of now (label pool="redirect", "api"). */
    std::string render(const PoolCounts &redirect_pool, const PoolCounts &api_pool) const;

private:
    /* Up to 10 s: past --pool-wait-ms (2 s) a request waited for a
     * connection, and an API call may run 4 statement timeouts; above 2.5 s
     * they were all one +Inf. */
    static constexpr std::array<double, 14> bucket_bounds = {
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

    struct Histogram {
        std::array<unsigned long long, bucket_bounds.size()> buckets{};  /* not cumulative */
        unsigned long long count = 0;
        double sum = 0;
    };

    mutable std::mutex mutex_;
    std::map<std::pair<std::string, unsigned>, unsigned long long> requests_;
    std::map<std::string, Histogram> latency_;
};

} // namespace url_shortener::server

#endif
