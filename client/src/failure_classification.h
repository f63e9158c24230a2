/*
 * failure_classification.h
 *    Turning a libpqxx exception from one try into a url_shortener error and
 *    a decision: try again, reconnect and try again, or give up.
 *
 *    Decisions come from exception types and SQLSTATEs only.  libpqxx 6.4
 *    reports 40001 and 40P01 as pqxx::transaction_rollback subclasses (not
 *    pqxx::sql_error, so without sqlstate()); a lost connection as
 *    pqxx::broken_connection or as any failure after which the connection is
 *    no longer open; a connection lost during COMMIT as pqxx::in_doubt_error.
 */
#ifndef URL_SHORTENER_CLIENT_FAILURE_CLASSIFICATION_H
#define URL_SHORTENER_CLIENT_FAILURE_CLASSIFICATION_H

#include <exception>
#include <string>

#include "url_shortener/client.h"

namespace url_shortener {

enum class FailureKind {
    retry,            /* transient and nothing happened: wait, try again */
    reconnect_retry,  /* connection lost, nothing committed: reconnect, try again */
    final,            /* throw the error */
};

struct Failure {
    FailureKind kind;
    RetryCause cause;           /* meaningful unless kind is final */
    std::exception_ptr error;   /* a url_shortener::Error to throw */
};

/*
 * Classifies the exception in flight from one try.  connection_open is
 * whether the connection still works after it; in_explicit_transaction
 * says whether COMMIT was still to be sent (so a lost connection means the
 * server rolled back) rather than the statement committing by itself.
 * Returns an empty error for exceptions that are not libpqxx failures;
 * the caller rethrows those unchanged.
 */
Failure classify_failure(std::exception_ptr caught, bool connection_open,
                         bool in_explicit_transaction);

/* An error for a server report that arrives without an exception. */
std::exception_ptr error_for_sqlstate(const std::string &sqlstate, const std::string &server_text);

/*
 * One line from a server report: "primary message: Detail. Hint." (detail
 * and hint only when present), without severity prefix and CONTEXT.
 */
std::string one_line(const std::string &server_text);

} // namespace url_shortener

#endif
