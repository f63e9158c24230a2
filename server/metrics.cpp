/*
 * metrics.cpp
 *    Request counters, latency histograms and their Prometheus text (see metrics.h).
 */
#include "metrics.h"

#include <iomanip>
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

void Metrics::count(const std::string &route, unsigned status)
{
    std::lock_guard<std::mutex> lock(mutex_);
    ++requests_[{route, status}];
}

std::string Metrics::render(const PoolCounts &redirect_pool, const PoolCounts &api_pool) const
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
            << std::setprecision(17) << histogram.sum << std::setprecision(6) << "\n"
            << "url_shortener_http_request_duration_seconds_count{route=\"" << route << "\"} "
            << histogram.count << "\n";
    }

    /* Two pools: "redirect" (GET /{code}, on the I/O thread) and "api"
     * (everything else that needs the database, on the workers). */
    const std::pair<const char *, const PoolCounts *> pools[] = {{"redirect", &redirect_pool},
                                                                 {"api", &api_pool}};
    auto series = [&](const char *name, const char *type, const char *help, auto value) {
        out << "# HELP url_shortener_pool_" << name << " " << help << "\n"
            << "# TYPE url_shortener_pool_" << name << " " << type << "\n";
        for (const auto &[label, counts] : pools)
            out << "url_shortener_pool_" << name << "{pool=\"" << label << "\"} " << value(*counts)
                << "\n";
    };
    series("size", "gauge", "Most database connections the server opens, by pool.",
           [](const PoolCounts &p) { return p.size; });
    series("open", "gauge", "Database connections open now.",
           [](const PoolCounts &p) { return p.open; });
    series("in_use", "gauge", "Database connections lent to a request now.",
           [](const PoolCounts &p) { return p.in_use; });
    series("waits_total", "counter", "Requests that found no free connection and waited.",
           [](const PoolCounts &p) { return p.waits; });
    series("timeouts_total", "counter", "Requests answered 503 after the longest wait.",
           [](const PoolCounts &p) { return p.timeouts; });
    series("open_failures_total", "counter", "Connections that could not be opened.",
           [](const PoolCounts &p) { return p.open_failures; });
    series("unanswered_total", "counter",
           "Database work given up (502, or 503 if nothing that may have been done was "
           "sent) because the database did not answer within statement_timeout and a margin.",
           [](const PoolCounts &p) { return p.unanswered; });
    /* Redirects that wait together share a transaction (--redirect-batch):
     * statements / transactions is the mean batch. */
    out << "# HELP url_shortener_redirect_transactions_total Transactions sent to resolve "
           "redirects, each one or more resolve_url statements.\n"
        << "# TYPE url_shortener_redirect_transactions_total counter\n"
        << "url_shortener_redirect_transactions_total " << redirect_pool.transactions << "\n"
        << "# HELP url_shortener_redirect_statements_total resolve_url statements sent in them.\n"
        << "# TYPE url_shortener_redirect_statements_total counter\n"
        << "url_shortener_redirect_statements_total " << redirect_pool.statements << "\n";
    return out.str();
}

} // namespace url_shortener::server
