/*
 * failure_classification.cpp
 *    From libpqxx exceptions to url_shortener errors and retry decisions.
 */
#include "failure_classification.h"
#include "severity_label.h"

#include <pqxx/except>

#include <sstream>

namespace url_shortener {

namespace {

/* Whether text begins with prefix (std::string::starts_with is C++20). */
bool starts_with(const std::string &text, const char *prefix)
{
    return text.rfind(prefix, 0) == 0;
}

/* A failure that ends the call with error. */
Failure give_up(std::exception_ptr error)
{
    return {FailureKind::final, RetryCause::connection_lost, std::move(error)};
}

/*
 * The outcome of what was sent is unknown: final, unless the call sent
 * idempotency keys, which make sending it again safe, or only read, when
 * nothing it sent (a statement, or an explicit transaction's COMMIT) can
 * have changed anything: then it is a lost connection, retried.
 */
Failure in_doubt(OutcomeUnknown error, const CallArguments &arguments)
{
    if (arguments.only_reads)
        return {FailureKind::reconnect_retry, RetryCause::connection_lost,
                std::make_exception_ptr(ConnectionLost(
                    "connection to the server was lost during a read; nothing was changed",
                    sqlstate_connection_lost, error.server_message()))};
    if (arguments.sends_idempotency_key)
        return {FailureKind::reconnect_retry, RetryCause::outcome_unknown,
                std::make_exception_ptr(std::move(error))};
    return give_up(std::make_exception_ptr(std::move(error)));
}

/* The connection is gone: safe to retry if COMMIT was never sent, or with keys. */
Failure connection_gone(const std::string &server_text, bool in_explicit_transaction,
                        const CallArguments &arguments)
{
    if (in_explicit_transaction)
        return {FailureKind::reconnect_retry, RetryCause::connection_lost,
                std::make_exception_ptr(ConnectionLost(
                    "connection to the server was lost before COMMIT; nothing was stored",
                    sqlstate_connection_lost, server_text))};
    return in_doubt(OutcomeUnknown("connection to the server was lost after the statement was "
                                   "sent; it may or may not have taken effect",
                                   sqlstate_outcome_unknown, server_text),
                    arguments);
}

} // namespace

std::string one_line(const std::string &server_text)
{
    std::istringstream lines(server_text);
    std::string line, primary, sentences;
    bool first = true;
    while (std::getline(lines, line)) {
        if (first) {
            first = false;
            primary = line.substr(severity_label_length(line));
        } else if (starts_with(line, "DETAIL:  ") || starts_with(line, "HINT:  ")) {
            /* Detail and hint are whole sentences (PostgreSQL's style). */
            sentences += (sentences.empty() ? "" : " ") + line.substr(line.find(':') + 3);
        }
    }
    return sentences.empty() ? primary : primary + ": " + sentences;
}

/* Whether a class-22 refusal is of an option rather than of a URL. */
static bool refuses_an_option(const std::string &server_text, const CallArguments &arguments)
{
    if (!arguments.sends_url)
        return true;
    const std::string message = ServerReport::parse(server_text).message;
    /* "idempotency key must be ...", "idempotency_keys must ...". */
    if (arguments.sends_idempotency_key && starts_with(message, "idempotency"))
        return true;
    if (!arguments.sends_options)
        return false;
    for (const char *option : {"alias ", "expires_at ", "max_clicks ", "reuse "})
        if (starts_with(message, option))
            return true;
    return false;
}

std::string sqlstate_of(const pqxx::sql_error &e)
{
    if (!e.sqlstate().empty())
        return e.sqlstate();
    if (dynamic_cast<const pqxx::insufficient_privilege *>(&e) != nullptr)
        return "42501";
    if (dynamic_cast<const pqxx::too_many_connections *>(&e) != nullptr)
        return "53300";
    return {};
}

std::exception_ptr error_for_sqlstate(const std::string &sqlstate, const std::string &server_text,
                                      const CallArguments &arguments)
{
    const std::string what = one_line(server_text);
    if (starts_with(sqlstate, "22")) {
        if (refuses_an_option(server_text, arguments))
            return std::make_exception_ptr(InvalidArgument(what, sqlstate, server_text));
        return std::make_exception_ptr(InvalidUrl(what, sqlstate, server_text));
    }
    if (sqlstate == "US001")
        return std::make_exception_ptr(CodeSpaceExhausted(what, sqlstate, server_text));
    if (sqlstate == "US002")
        return std::make_exception_ptr(AliasTaken(what, sqlstate, server_text));
    if (sqlstate == "US003")
        return std::make_exception_ptr(VersionConflict(what, sqlstate, server_text));
    if (sqlstate == "US004")
        return std::make_exception_ptr(IdempotencyConflict(what, sqlstate, server_text));
    if (sqlstate == "55P03")
        return std::make_exception_ptr(LockTimeout(what, sqlstate, server_text));
    if (sqlstate == "40003")
        return std::make_exception_ptr(OutcomeUnknown(what, sqlstate, server_text));
    return std::make_exception_ptr(ServerError(what, sqlstate, server_text));
}

Failure classify_failure(std::exception_ptr caught, bool connection_open,
                         bool in_explicit_transaction, const CallArguments &arguments,
                         const std::string &libpq_report)
{
    try {
        std::rethrow_exception(caught);
    } catch (const pqxx::in_doubt_error &e) {
        return in_doubt(OutcomeUnknown("connection to the server was lost during COMMIT; "
                                       "the change may or may not have been stored",
                                       sqlstate_outcome_unknown, libpq_report),
                        arguments);
    } catch (const pqxx::statement_completion_unknown &e) {
        return in_doubt(OutcomeUnknown(one_line(e.what()), "40003", e.what()), arguments);
    } catch (const pqxx::serialization_failure &e) {
        return {FailureKind::retry, RetryCause::serialization_failure,
                error_for_sqlstate("40001", e.what())};
    } catch (const pqxx::deadlock_detected &e) {
        return {FailureKind::retry, RetryCause::deadlock, error_for_sqlstate("40P01", e.what())};
    } catch (const pqxx::transaction_rollback &e) {
        /* The remaining 40xxx family member libpqxx has no subclass for. */
        return give_up(error_for_sqlstate("40000", e.what()));
    } catch (const pqxx::broken_connection &e) {
        /* libpqxx 6.4 throws this for every error of SQLSTATE class 08 the
         * server reports, also on a connection that is alive: Citus relays
         * a failed connection to a worker as 08006.  Then the statement
         * failed and nothing was done; the report stands, under 08000
         * (libpqxx does not pass the server's own code on). */
        if (connection_open)
            return give_up(std::make_exception_ptr(
                ServerError(one_line(e.what()), "08000", e.what())));
        return connection_gone(libpq_report, in_explicit_transaction, arguments);
    } catch (const pqxx::sql_error &e) {
        if (!connection_open)
            return connection_gone(e.what(), in_explicit_transaction, arguments);
        return give_up(error_for_sqlstate(sqlstate_of(e), e.what(), arguments));
    } catch (const pqxx::failure &e) {
        if (!connection_open)
            return connection_gone(libpq_report, in_explicit_transaction, arguments);
        return give_up(std::make_exception_ptr(ServerError(one_line(e.what()), {}, e.what())));
    } catch (const pqxx::pqxx_exception &e) {
        /* libpqxx refusing how it was used (usage_error, argument_error,
         * conversion_error, range_error, internal_error): the client's
         * fault, not the server's, but never a libpqxx type for the caller
         * (client.h: only the types of errors.h).  On a connection that is
         * gone, what the loss means comes first, as for the others. */
        if (!connection_open)
            return connection_gone(libpq_report, in_explicit_transaction, arguments);
        return give_up(std::make_exception_ptr(
            Error(std::string("internal error of the url_shortener client: ") + e.base().what())));
    } catch (...) {
        return give_up(nullptr);
    }
}

} // namespace url_shortener
