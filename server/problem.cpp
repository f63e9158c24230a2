/*
 * problem.cpp
 *    RFC 9457 problem details and the mapping from the client library's
 *    failures to HTTP statuses (see problem.h).
 */
#include "problem.h"

#include <chrono>
#include <cstdio>
#include <mutex>
#include <exception>
#include <functional>
#include <new>
#include <optional>
#include <string>
#include <utility>

#include <boost/json.hpp>
#include <url_shortener/errors.h>

namespace url_shortener::server {

ProblemError::ProblemError(Problem problem)
    : std::runtime_error(problem.detail), problem_(std::move(problem))
{
}

ProblemError bad_request(const std::string &detail)
{
    return ProblemError(Problem{http::status::bad_request, "bad-request", "Bad request", detail});
}

Problem no_such_link(const std::string &code)
{
    return Problem{http::status::not_found, "no-such-link", "No such link",
                   "No link with code \"" + code + "\" is active."};
}

/* The type of pool_exhausted()'s 503: load shed, counted, not logged. */
constexpr const char *pool_exhausted_type = "no-database-connection";
constexpr const char *unknown_method_type = "not-implemented";
constexpr const char *version_not_supported_type = "version-not-supported";

Problem pool_exhausted()
{
    return Problem{http::status::service_unavailable, pool_exhausted_type,
                   "No database connection available",
                   "Every database connection stayed busy for the longest wait; try again.",
                   {}, 1};
}

Problem version_not_supported()
{
    return Problem{http::status::http_version_not_supported, version_not_supported_type,
                   "HTTP version not supported",
                   "This server speaks HTTP/1.1 (and 1.0); send the request in HTTP/1.1."};
}

Problem not_ready(Problem problem)
{
    if (problem.status != http::status::service_unavailable) {
        if (problem.cause.empty())
            problem.cause = problem.detail;
        problem.detail = "The database cannot serve requests now: " + problem.title + ".";
        problem.status = http::status::service_unavailable;
        problem.type = "not-ready";
        problem.title = "Not ready";
        problem.retry_after = 1;
    }
    return problem;
}

namespace {

/* Whether sqlstate says the database is temporarily unable to serve: a
 * retry later may succeed and nothing was done. */
bool transient_sqlstate(const std::string &sqlstate)
{
    return sqlstate == "40001" || sqlstate == "40P01" || sqlstate == "55P03" ||
           sqlstate.rfind("08", 0) == 0 || sqlstate.rfind("53", 0) == 0 ||
           sqlstate.rfind("57", 0) == 0;
}

/* The problem for one of the client library's errors. */
Problem problem_for_client_error(const Error &e)
{
    const std::string &state = e.sqlstate();
    try {
        throw;
    } catch (const AliasTaken &) {
        return Problem{http::status::conflict, "alias-taken", "Alias taken", e.what(), state};
    } catch (const CodeSpaceExhausted &) {
        return Problem{http::status::conflict, "code-space-exhausted", "Code space exhausted",
                       e.what(), state};
    } catch (const VersionConflict &) {
        return Problem{http::status::precondition_failed, "version-conflict",
                       "Link changed by someone else", e.what(), state};
    } catch (const IdempotencyConflict &) {
        /* The draft's answer to a key reused with another payload. */
        return Problem{http::status::unprocessable_entity, "idempotency-key-reused",
                       "Idempotency key reused", e.what(), state};
    } catch (const InvalidUrl &) {
        return Problem{http::status::bad_request, "invalid-input", "Invalid URL or option",
                       e.what(), state};
    } catch (const ConnectionLost &) {
        return Problem{http::status::service_unavailable, "database-unavailable",
                       "Database unavailable",
                       "The database could not be reached; nothing was done. Try again.", state, 1};
    } catch (const OutcomeUnknown &) {
        return Problem{http::status::bad_gateway, "outcome-unknown", "Outcome unknown",
                       "The connection to the database broke after the request was sent: it may "
                       "or may not have been carried out (the link may exist, the click may have "
                       "been counted). Check before retrying; a POST that carried an "
                       "Idempotency-Key header can be sent again with the same header: it "
                       "returns the link if it was stored and stores it otherwise.",
                       state};
    } catch (const Error &) {
        /* Other types (a class-22 refusal the library names differently,
         * LockTimeout, ServerError) are judged by SQLSTATE. */
    }
    if (state.rfind("22", 0) == 0)
        return Problem{http::status::bad_request, "invalid-input", "Invalid URL or option",
                       e.what(), state};
    if (transient_sqlstate(state))
        return Problem{http::status::service_unavailable, "database-busy", "Database busy",
                       "The database could not serve the request now; nothing was done. Try again.",
                       state, 1};
    return Problem{http::status::internal_server_error, "database-error", "Database error",
                   "The database refused the request; the server's log has no more than this.",
                   state};
}

} // namespace

Problem problem_for_current_exception()
{
    try {
        throw;
    } catch (const ProblemError &e) {
        return e.problem();
    } catch (const Error &e) {
        Problem problem = problem_for_client_error(e);
        problem.cause = e.primary_message();
        /* A lost connection: libpq's text alone can mislead (libpqxx 6.4
         * reports a result that came back on a connection that broke as
         * "Could not obtain client encoding: not connected."); the
         * library's own words say what happened, libpq's follow. */
        if (dynamic_cast<const ConnectionLost *>(&e) || dynamic_cast<const OutcomeUnknown *>(&e))
            problem.cause = std::string(e.what()) +
                            (problem.cause.empty() || problem.cause == e.what()
                                 ? std::string()
                                 : " (libpq: " + problem.cause + ")");
        return problem;
    } catch (const std::bad_alloc &) {
        return Problem{http::status::service_unavailable, "out-of-memory", "Out of memory",
                       "The server ran out of memory for this request.", {}, 1};
    } catch (const std::exception &e) {
        Problem problem{http::status::internal_server_error, "internal-error", "Internal error",
                        "The server could not answer this request.", {}};
        problem.cause = e.what();
        return problem;
    } catch (...) {
        Problem problem{http::status::internal_server_error, "internal-error", "Internal error",
                        "The server could not answer this request.", {}};
        problem.cause = "an exception of unknown type";
        return problem;
    }
}

namespace {

/* At most this many 5xx lines a second: a database that is down makes
 * every redirect a 5xx, and a line is a blocking write. */
constexpr int logged_per_second = 10;

/* The 5xx log's state, shared by every thread that answers. */
struct ErrorLog {
    std::mutex mutex;
    std::chrono::steady_clock::time_point second_started;
    int in_this_second = 0;
    long long left_out = 0;   /* left out and not yet counted in a line */
    std::function<void(std::chrono::steady_clock::time_point)> notice;   /* set before use */
};

ErrorLog &error_log()
{
    static ErrorLog log;
    return log;
}

/* Writes line on stderr, control characters (line breaks, the tab libpq
 * puts before its hints) made spaces: one line, that a reader of the log
 * can split.  One fwrite: stdio's lock keeps lines whole when workers
 * write at once. */
void write_log_line(std::string line)
{
    for (char &c : line)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
            c = ' ';
    line += '\n';
    std::fwrite(line.data(), 1, line.size(), stderr);
    std::fflush(stderr);
}

std::string left_out_text(long long left_out)
{
    return "(" + std::to_string(left_out) + " more 5xx not logged)";
}

/*
 * One line on stderr for a 5xx answer, so an operator can see why: the
 * status, the problem's type, the SQLSTATE and the cause.  Past
 * logged_per_second lines in a second, the rest are counted, and the next
 * line says how many were left out: the next 5xx line, or one of its own
 * once that second is over (write_left_out, on the server's timer, which
 * the first left out of a second sets through the notice).
 */
void log_server_error(const Problem &problem)
{
    ErrorLog &log = error_log();
    long long left_out_before = 0;
    {
        const std::lock_guard<std::mutex> lock(log.mutex);
        const auto now = std::chrono::steady_clock::now();
        if (now - log.second_started >= std::chrono::seconds(1)) {
            log.second_started = now;
            log.in_this_second = 0;
        }
        if (++log.in_this_second > logged_per_second) {
            if (log.left_out++ == 0 && log.notice)
                log.notice(log.second_started + std::chrono::seconds(1));
            return;
        }
        left_out_before = log.left_out;
        log.left_out = 0;
    }
    write_log_line("url-shortener-server: " +
                   (left_out_before > 0 ? left_out_text(left_out_before) + " " : std::string()) +
                   "answered " + std::to_string(static_cast<unsigned>(problem.status)) + " " +
                   problem.type + " (sqlstate " +
                   (problem.sqlstate.empty() ? "none" : problem.sqlstate) +
                   "): " + (problem.cause.empty() ? problem.detail : problem.cause));
}

} // namespace

Response problem_response(const Problem &problem, unsigned version, bool keep_alive)
{
    /* Not the 503 of a full pool: that is the server shedding load, as
     * many times a second as it is asked to, and /metrics counts it
     * (url_shortener_http_requests_total, status 503); a line for each
     * would add a write to every refusal when the server is busiest.  Nor
     * the 501 of a method nobody implements (BREW): the client's mistake,
     * counted there too; nor the 505 of a request in HTTP/2 or later. */
    if (static_cast<unsigned>(problem.status) >= 500 && problem.type != pool_exhausted_type &&
        problem.type != unknown_method_type && problem.type != version_not_supported_type)
        log_server_error(problem);
    boost::json::object body;
    body["type"] = "urn:url-shortener:problem:" + problem.type;
    body["title"] = problem.title;
    body["status"] = static_cast<unsigned>(problem.status);
    body["detail"] = problem.detail;
    if (!problem.sqlstate.empty())
        body["sqlstate"] = problem.sqlstate;

    Response res{problem.status, version};
    res.set(http::field::content_type, "application/problem+json");
    res.set(http::field::cache_control, "no-store");
    if (problem.status == http::status::unauthorized)
        res.set(http::field::www_authenticate, "Bearer");
    if (!problem.allow.empty())
        res.set(http::field::allow, problem.allow);
    if (problem.retry_after > 0)
        res.set(http::field::retry_after, std::to_string(problem.retry_after));
    res.keep_alive(keep_alive);
    res.body() = boost::json::serialize(body) + "\n";
    res.prepare_payload();
    return res;
}

void set_left_out_notice(std::function<void(std::chrono::steady_clock::time_point)> notice)
{
    ErrorLog &log = error_log();
    const std::lock_guard<std::mutex> lock(log.mutex);
    log.notice = std::move(notice);
}

std::optional<std::chrono::steady_clock::time_point> write_left_out(bool now)
{
    ErrorLog &log = error_log();
    long long left_out = 0;
    {
        const std::lock_guard<std::mutex> lock(log.mutex);
        if (log.left_out == 0)
            return std::nullopt;
        const auto second_ends = log.second_started + std::chrono::seconds(1);
        if (!now && std::chrono::steady_clock::now() < second_ends)
            return second_ends;
        left_out = log.left_out;
        log.left_out = 0;
    }
    write_log_line("url-shortener-server: " + left_out_text(left_out));
    return std::nullopt;
}

} // namespace url_shortener::server
