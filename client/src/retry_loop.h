/*
 * retry_loop.h
 *    Running one Client call: in the configured transaction, with bounded,
 *    jittered retries of transient failures and at most one reconnect,
 *    bounded per call however many statements the call runs.
 */
#ifndef URL_SHORTENER_CLIENT_RETRY_LOOP_H
#define URL_SHORTENER_CLIENT_RETRY_LOOP_H

#include <optional>
#include <random>
#include <string>
#include <vector>

#include <pqxx/except>
#include <pqxx/nontransaction>
#include <pqxx/transaction>

#include "backoff.h"
#include "failure_classification.h"
#include "idempotency_key.h"
#include "server_connection.h"
#include "url_shortener/client.h"

namespace url_shortener {

/*
 * Runs work inside BEGIN ... COMMIT at Level.  Losing the connection while
 * COMMIT is on its way is always reported as pqxx::in_doubt_error, whatever
 * libpqxx throws, so it can never be mistaken for a retryable loss.
 */
template <pqxx::isolation_level Level, typename Work>
auto run_in_transaction(pqxx::connection_base &connection, Work &work)
{
    pqxx::transaction<Level> transaction(connection);
    auto outcome = work(static_cast<pqxx::transaction_base &>(transaction));
    try {
        transaction.commit();
    } catch (const pqxx::in_doubt_error &) {
        throw;
    } catch (const pqxx::failure &e) {
        if (!connection.is_open())
            throw pqxx::in_doubt_error(e.what());
        throw;
    }
    return outcome;
}

/* Runs work(transaction) once, in the transaction isolation asks for. */
template <typename Work>
auto run_once(pqxx::connection_base &connection, Isolation isolation, Work &work)
{
    switch (isolation) {
        case Isolation::read_committed:
            return run_in_transaction<pqxx::read_committed>(connection, work);
        case Isolation::repeatable_read:
            return run_in_transaction<pqxx::repeatable_read>(connection, work);
        case Isolation::serializable:
            return run_in_transaction<pqxx::serializable>(connection, work);
        case Isolation::autocommit:
            break;
    }
    pqxx::nontransaction statement(connection);
    return work(static_cast<pqxx::transaction_base &>(statement));
}

/*
 * Whether a final failure may come from statements prepared for an
 * extension version that ALTER EXTENSION ... UPDATE has since replaced:
 * 0A000 (e.g. "cached plan must not change result type"), 42883 (a function
 * gone) or 26000 (a statement the old version had no need to prepare), and
 * the installed version now differs from the prepared one.  Such a
 * statement did nothing, so running it again after re-preparing is safe.
 */
inline bool prepared_for_another_version(ServerConnection &connection, const std::exception_ptr &error)
{
    std::string sqlstate;
    try {
        std::rethrow_exception(error);
    } catch (const Error &e) {
        sqlstate = e.sqlstate();
    } catch (...) {
        return false;
    }
    if (sqlstate != "0A000" && sqlstate != "42883" && sqlstate != "26000")
        return false;
    try {
        const std::optional<std::string> installed = connection.installed_version();
        return installed && *installed != connection.extension_version();
    } catch (const pqxx::failure &) {
        return false;
    }
}

/* Whether error is an OutcomeUnknown. */
inline bool outcome_unknown(const std::exception_ptr &error)
{
    try {
        std::rethrow_exception(error);
    } catch (const OutcomeUnknown &) {
        return true;
    } catch (...) {
        return false;
    }
}

/*
 * The keys a call sent (CallArguments::key, batch_keys), one per URL, for
 * its OutcomeUnknown; empty for none.
 */
inline std::vector<std::string> keys_sent(const CallArguments &arguments)
{
    if (arguments.key)
        return {*arguments.key};
    if (arguments.batch_keys)
        return arguments.batch_keys->texts();
    return {};
}

/*
 * The error to end a call with once a try ended in doubt (its outcome
 * unknown) and the idempotent retry could not settle it: OutcomeUnknown,
 * whatever went wrong after, since the lost try may have been stored.  It
 * carries the keys the call sent, drawn by the client or the caller's:
 * sending them again with the same request is what settles it (a new call
 * without them would draw others, and may store a second link), and the
 * message says so, since the caller cannot look the link up by URL.
 */
inline std::exception_ptr still_in_doubt(const std::exception_ptr &doubt,
                                         const CallArguments &arguments)
{
    std::vector<std::string> keys = keys_sent(arguments);
    const char *advice =
        keys.empty() ? ""
        : arguments.batch_keys
            ? "; the retry with the same idempotency keys could not be made: calling "
              "shorten_many again with the same URLs and the keys idempotency_keys() holds "
              "(shorten_many(urls, keys)) is safe, and returns the codes the lost try stored "
              "or stores them now"
            : "; the retry with the same idempotency key could not be made: calling shorten "
              "(or shorten_locked) again with the same URL and options and the key "
              "idempotency_keys() holds (LinkOptions::idempotency_key) is safe, and returns "
              "the code the lost try stored or stores it now";
    try {
        std::rethrow_exception(doubt);
    } catch (const Error &e) {
        return std::make_exception_ptr(OutcomeUnknown(std::string(e.what()) + advice,
                                                      e.sqlstate(), e.server_message(),
                                                      std::move(keys)));
    }
}

/*
 * Ends a call that Client::interrupt() stopped between two tries: in doubt
 * if an earlier try was, else with nothing stored.
 */
[[noreturn]] inline void end_interrupted(const std::exception_ptr &doubt,
                                         const CallArguments &arguments)
{
    if (doubt)
        std::rethrow_exception(still_in_doubt(doubt, arguments));
    throw interrupted_before_sending();
}

/*
 * Runs work until it succeeds, a failure is final, or the call's retries
 * are spent; returns what work returns or throws a url_shortener::Error.
 * The bounds are the call's, not this loop's (ServerConnection::budget()):
 * a call that runs several loops (a read, then a change) gets
 * options.retry's attempts and one reconnect in all, as a call of one
 * statement does.  Before every try, a connection the server has closed
 * is replaced, if the call has not reconnected yet; after a failure that
 * comes from an updated extension, the connection is replaced and the
 * statements prepared anew, also at most once per call.  work may be run
 * more than once, so it must not keep results from a failed try.
 * arguments says what the call sends, to type a refusal and to know
 * whether a try whose outcome is unknown may be sent again
 * (failure_classification.h); once a try ended so, the call ends either
 * with work's result or OutcomeUnknown.  A call that
 * ServerConnection::interrupt() ended is not tried again.
 */
template <typename Work>
auto run_with_retries(ServerConnection &connection, const ClientOptions &options,
                      Isolation isolation, std::mt19937_64 &random, Work work,
                      const CallArguments &arguments = {})
{
    const bool explicit_transaction = isolation != Isolation::autocommit;
    const int max_attempts = options.retry.max_attempts < 1 ? 1 : options.retry.max_attempts;
    connection.ensure_open(options.on_retry);
    ServerConnection::CallBudget &budget = connection.budget();
    bool lost_in_last_try = false;
    std::exception_ptr doubt;   /* the OutcomeUnknown of a try retried by its keys */

    for (;;) {
        const int attempt = budget.failed_tries + 1;   /* the call's try, counted across loops */
        if (connection.interrupted())   /* Client::interrupt() came between two tries */
            end_interrupted(doubt, arguments);
        if (!connection.probe()) {
            if (doubt && budget.reconnected)
                std::rethrow_exception(still_in_doubt(doubt, arguments));
            if (budget.reconnected)
                throw ConnectionLost("connection to the server was lost again after "
                                     "reconnecting; nothing was stored",
                                     sqlstate_connection_lost);
            if (options.on_retry && !lost_in_last_try)
                options.on_retry(RetryEvent{RetryCause::connection_lost, attempt - 1,
                                            std::chrono::milliseconds(0)});
            budget.reconnected = true;
            try {
                connection.reconnect();
            } catch (const Error &) {
                if (doubt)
                    std::rethrow_exception(still_in_doubt(doubt, arguments));
                throw;
            }
        }
        if (connection.interrupted())   /* ... or while the connection was replaced */
            end_interrupted(doubt, arguments);

        Failure failure{};
        try {
            return run_once(connection.get(), isolation, work);
        } catch (...) {
            failure = classify_failure(std::current_exception(), connection.is_open(),
                                       explicit_transaction, arguments,
                                       connection.libpq_message());
            if (!failure.error)
                throw; /* ours (e.g. a short result) or the caller's: unchanged */
        }

        if (failure.kind == FailureKind::final && !budget.reprepared && !doubt &&
            prepared_for_another_version(connection, failure.error)) {
            budget.reprepared = true;
            ++budget.failed_tries;
            if (options.on_retry)
                options.on_retry(RetryEvent{RetryCause::extension_updated, attempt,
                                            std::chrono::milliseconds(0)});
            connection.reconnect();
            continue;
        }

        const bool may_retry = failure.kind != FailureKind::final && attempt < max_attempts &&
                               !(failure.kind == FailureKind::reconnect_retry &&
                                 budget.reconnected) &&
                               !connection.interrupted();
        if (!may_retry) {
            if (doubt)
                std::rethrow_exception(still_in_doubt(doubt, arguments));
            if (failure.cause == RetryCause::outcome_unknown &&
                failure.kind == FailureKind::reconnect_retry)
                std::rethrow_exception(still_in_doubt(failure.error, arguments));
            /* A 40003 the server reported is final, but its keys settle it too. */
            if (arguments.sends_idempotency_key && outcome_unknown(failure.error))
                std::rethrow_exception(still_in_doubt(failure.error, arguments));
            std::rethrow_exception(failure.error);
        }

        ++budget.failed_tries;
        if (failure.cause == RetryCause::outcome_unknown && !doubt)
            doubt = failure.error;
        lost_in_last_try = failure.kind == FailureKind::reconnect_retry;
        const auto delay = backoff_delay(options.retry, attempt, random);
        if (options.on_retry)
            options.on_retry(RetryEvent{failure.cause, attempt, delay});
        connection.pause(delay);   /* interrupt() ends the wait, and the loop ends the call */
    }
}

} // namespace url_shortener

#endif
