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
 *    A lost connection whose outcome is unknown is retried only when the
 *    call sent idempotency keys (CallArguments::sends_idempotency_key).
 */
#ifndef URL_SHORTENER_CLIENT_FAILURE_CLASSIFICATION_H
#define URL_SHORTENER_CLIENT_FAILURE_CLASSIFICATION_H

#include <exception>
#include <string>

#include <pqxx/except>

#include "url_shortener/client.h"

namespace url_shortener {

class BatchKeys;

enum class FailureKind {
    retry,            /* transient and nothing happened: wait, try again */
    reconnect_retry,  /* connection lost, nothing committed (or, with cause
                         outcome_unknown, committed or not but idempotent):
                         reconnect, try again */
    final,            /* throw the error */
};

/*
 * What one call sent, to tell a refused URL from a refused option when the
 * server answers both with a class-22 SQLSTATE (22023 for most).
 */
struct CallArguments {
    bool sends_url = true;       /* a URL or URLs among the arguments */
    bool sends_options = false;  /* alias, reuse, expires_at or max_clicks */
    /*
     * Idempotency key(s) among the arguments (extension 1.3): sending the
     * statement again cannot store anything twice, so a connection lost
     * after sending, or during COMMIT, may be retried on a new connection.
     */
    bool sends_idempotency_key = false;
    /*
     * The key(s) are the caller's (LinkOptions::idempotency_key,
     * shorten_many's keys), not drawn by the client for this call: only
     * then does sending them again, in a call of the caller's, mean the
     * same request.
     */
    bool keys_from_caller = false;
    /*
     * The key the call sends (shorten, shorten_locked), or its keys
     * (shorten_many), for the OutcomeUnknown of a retry that could not be
     * made: the caller settles it by sending them again.  Null for none.
     */
    const std::string *key = nullptr;
    const BatchKeys *batch_keys = nullptr;
    /*
     * The call only reads (the lookup of the installed version, stats,
     * resolve_without_click, the version read of a change at versions): a
     * connection lost after sending it, or during its COMMIT, changed
     * nothing, so the call is retried on a new connection, as one lost
     * before COMMIT is.
     */
    bool only_reads = false;
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
 * A libpqxx exception that is no failure (a usage, argument or conversion
 * error) becomes a url_shortener::Error without SQLSTATE, final.
 * libpq_report is libpq's message about the connection (PQerrorMessage),
 * empty where it cannot be had (InTransaction, on the caller's
 * connection): once the connection is gone it is the error's
 * server_message(), because libpqxx's own text then ("Could not obtain
 * client encoding: not connected.", "WARNING: Connection lost while
 * committing ...") is no report of the server's.  Returns
 * an empty error for exceptions that are not libpqxx's; the caller
 * rethrows those unchanged.
 */
Failure classify_failure(std::exception_ptr caught, bool connection_open,
                         bool in_explicit_transaction, const CallArguments &arguments = {},
                         const std::string &libpq_report = {});

/*
 * The error for a server report.  A class-22 refusal is InvalidArgument
 * when the call sent no URL, or sent options and the server's primary
 * message names one of them (the extension's option messages all begin
 * with the option's name: "alias ...", "expires_at ...", "max_clicks ...",
 * "reuse ..."), or sent idempotency keys and the message is about them
 * ("idempotency key ..."); otherwise InvalidUrl.
 */
std::exception_ptr error_for_sqlstate(const std::string &sqlstate, const std::string &server_text,
                                      const CallArguments &arguments = {});

/* What setup statements send (SET, the lookup, PREPARE): no URL, no option. */
inline constexpr CallArguments setup_arguments{false, false, false, false};

/*
 * The SQLSTATE of a server's report.  libpqxx 6.4 leaves it out of two of
 * the classes it throws (insufficient_privilege for 42501,
 * too_many_connections for 53300); those are filled in from the class.
 */
std::string sqlstate_of(const pqxx::sql_error &e);

/* SQLSTATEs the client assigns on the server's behalf. */
inline constexpr const char *sqlstate_cannot_connect = "08001";     /* sqlclient_unable_to_establish_sqlconnection */
inline constexpr const char *sqlstate_connection_lost = "08006";    /* connection_failure */
inline constexpr const char *sqlstate_outcome_unknown = "08007";    /* transaction_resolution_unknown */
inline constexpr const char *sqlstate_invalid_argument = "22023";   /* invalid_parameter_value */

/*
 * One line from a server report: "primary message: Detail. Hint." (detail
 * and hint only when present), without severity prefix and CONTEXT.
 */
std::string one_line(const std::string &server_text);

} // namespace url_shortener

#endif
