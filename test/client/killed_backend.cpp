/*
 * killed_backend.cpp
 *    Holding the generation lock for the tests that kill a backend mid-call.
 */
#include "killed_backend.h"

namespace url_shortener::test {

GenerationLock::GenerationLock()
    : connection_(connect()), holding_(std::make_unique<pqxx::work>(*connection_))
{
    holding_->exec("SELECT pg_advisory_xact_lock(1431456851, 1)");
}

void GenerationLock::release()
{
    holding_->abort();
}

} // namespace url_shortener::test
