/*
 * problem.h
 *    Error answers as RFC 9457 problem details (application/problem+json),
 *    and the one place that decides which HTTP status each known failure
 *    of the client library gets.  A failure's SQLSTATE, when there is one,
 *    travels in the "sqlstate" extension member.
 */
#ifndef URL_SHORTENER_SERVER_PROBLEM_H
#define URL_SHORTENER_SERVER_PROBLEM_H

#include <chrono>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>

#include "http_types.h"

namespace url_shortener::server {

struct Problem {
    http::status status;
    std::string type;          /* a short slug; the "type" member is urn:url-shortener:problem:<slug> */
    std::string title;
    std::string detail;
    std::string sqlstate{};    /* empty: no such member */
    unsigned retry_after = 0;  /* seconds; 0: no Retry-After header */
    std::string allow{};       /* for 405: the Allow header */
    std::string cause{};       /* for the log line of a 5xx, never sent: the failure's own
                                  message (a database error's primary message, no detail) */
};

/* Thrown by request parsing and routes for an answer that is a problem. */
class ProblemError : public std::runtime_error {
public:
    explicit ProblemError(Problem problem);
    const Problem &problem() const noexcept { return problem_; }

private:
    Problem problem_;
};

/* A 400 with the given detail, for a request body or header that cannot be used. */
ProblemError bad_request(const std::string &detail);

/* The 404 for a code that names no link (or none that redirects). */
Problem no_such_link(const std::string &code);

/* The 503 for a request that found no free database connection in time. */
Problem pool_exhausted();

/* The 505 for a request line naming HTTP/2 or later: the client's to fix,
 * not logged (the server speaks HTTP/1.x only; h2c's preface gets it too). */
Problem version_not_supported();

/* /readyz's answer to any failure: 503, whatever problem's status (a missing
 * extension is 42704, a 500 elsewhere), keeping its SQLSTATE and cause. */
Problem not_ready(Problem problem);

/*
 * The problem for the exception being handled (call only inside a catch
 * block): a ProblemError as it is; the client library's errors by type and
 * SQLSTATE (see the table in README.md, "Run it as a service"); anything
 * else a 500 without internals (what() goes to the log only, as cause).
 */
Problem problem_for_current_exception();

/*
 * The response carrying problem, for a request of the given HTTP version.
 * A 5xx is also written to stderr, one line: status, type, SQLSTATE and
 * the cause (or the detail); never a request's body or header.  Except
 * pool_exhausted()'s 503, the 501 of an unknown method and
 * version_not_supported()'s 505, which /metrics counts.
 */
Response problem_response(const Problem &problem, unsigned version, bool keep_alive);

/*
 * The 5xx lines left out (past 10 in a second) are counted, and the count
 * is written with the next 5xx line; these write it when no 5xx line
 * follows (the end of an outage), so every 5xx is a line or counted in one.
 *
 * set_left_out_notice: notice(end) is called, from the thread that
 * answered, when the first 5xx line of a second is left out, with the
 * time that second ends; set once, before any request.  The server arms a
 * timer for it (HttpServer).
 *
 * write_left_out: if 5xx lines were left out and not yet counted in a
 * line, and their second has ended (or at once with `now`, for a stop and
 * the exit), writes "(N more 5xx not logged)" as a line of its own.
 * Returns the end of the second whose count is still to be written, if
 * there is one.
 */
void set_left_out_notice(std::function<void(std::chrono::steady_clock::time_point)> notice);
std::optional<std::chrono::steady_clock::time_point> write_left_out(bool now);

} // namespace url_shortener::server

#endif
