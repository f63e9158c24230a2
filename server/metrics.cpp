/*
 * metrics.cpp
 *    Request counters, latency histograms and their Prometheus text (see metrics.h).
 */
#include "metrics.h"

#include <sstream>

namespace url_shortener::server {

void Metrics::record(const std::string &route, unsigned status,
                     std::chrono::steady_clock::duration took)
{
    const double seconds = std::chrono::duration<double>(took).count();
    std::lock_guard<std::mutex> lock(mutex_);
    ++requests_[{route, status}];
    Histogram &histogram = latency_[route];
    for (std::size_t i = 0; i < bucket_bounds.size(); ++i)
        if (seconds <= bucket_bounds[i]) {
            ++histogram.buckets[i];
            break;
        }
    ++histogram.count;
    histogram.sum += seconds;
}

std::string Metrics::render(const PoolCounts &pool) const
{
    std::ostringstream out;
    std::lock_guard<std::mutex> lock(mutex_);
    out << "# HELP url_shortener_http_requests_total HTTP requests answered, by route and status.\n"
           "# TYPE url_shortener_http_requests_total counter\n";
    for (const auto &[key, count] : requests_)
        out << "url_shortener_http_requests_total{route=\"" << key.first << "\",status=\""
            << key.second << "\"} " << count << "\n";

    out << "# HELP url_shortener_http_request_duration_seconds Time from a request read to its "
           "answer ready, by route.\n"
           "# TYPE url_shortener_http_request_duration_seconds histogram\n";
    for (const auto &[route, histogram] : latency_) {
        unsigned long long cumulative = 0;
        for (std::size_t i = 0; i < bucket_bounds.size(); ++i) {
            cumulative += histogram.buckets[i];
            out << "url_shortener_http_request_duration_seconds_bucket{route=\"" << route
                << "\",le=\"" << bucket_bounds[i] << "\"} " << cumulative << "\n";
        }
        out << "url_shortener_http_request_duration_seconds_bucket{route=\"" << route
            << "\",le=\"+Inf\"} " << histogram.count << "\n"
            << "url_shortener_http_request_duration_seconds_sum{route=\"" << route << "\"} "
            << histogram.sum << "\n"
            << "url_shortener_http_request_duration_seconds_count{route=\"" << route << "\"} "
            << histogram.count << "\n";
    }

    out << "# HELP url_shortener_pool_size Most database connections the server opens.\n"
           "# TYPE url_shortener_pool_size gauge\n"
           "url_shortener_pool_size " << pool.size << "\n"
           "# HELP url_shortener_pool_open Database connections open now.\n"
           "# TYPE url_shortener_pool_open gauge\n"
           "url_shortener_pool_open " << pool.open << "\n"
           "# HELP url_shortener_pool_in_use Database connections lent to a request now.\n"
           "# TYPE url_shortener_pool_in_use gauge\n"
           "url_shortener_pool_in_use " << pool.in_use << "\n"
           "# HELP url_shortener_pool_waits_total Requests that found no free connection and waited.\n"
           "# TYPE url_shortener_pool_waits_total counter\n"
           "url_shortener_pool_waits_total " << pool.waits << "\n"
           "# HELP url_shortener_pool_timeouts_total Requests answered 503 after the longest wait.\n"
           "# TYPE url_shortener_pool_timeouts_total counter\n"
           "url_shortener_pool_timeouts_total " << pool.timeouts << "\n";
    return out.str();
}

} // namespace url_shortener::server
