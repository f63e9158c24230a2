/*
 * killed_backend.cpp
 *    Holding the generation lock for the tests that kill a backend mid-call.
 */
#include "killed_backend.h"

#include <pqxx/except>

namespace url_shortener::test {

GenerationLock::GenerationLock()
    : connection_(connect()), holding_(std::make_unique<pqxx::work>(*connection_))
{
    holding_->exec("SELECT pg_advisory_xact_lock(1431456851, 1)");
}

GenerationLock::GenerationLock(std::chrono::seconds given_up_after)
    : connection_(connect()), holding_(std::make_unique<pqxx::work>(*connection_))
{
    holding_->exec("SET LOCAL idle_in_transaction_session_timeout = '" +
                   std::to_string(given_up_after.count()) + "s'");
    holding_->exec("SELECT pg_advisory_xact_lock(1431456851, 1)");
}

void GenerationLock::release()
{
    try {
        holding_->abort();
    } catch (const pqxx::broken_connection &) {
        /* The session ended after given_up_after: the lock is free already. */
    }
}

} // namespace url_shortener::test
