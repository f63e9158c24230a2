/*
 * commit_hang.cpp
 *    Making COMMITs wait for a standby that never comes (commit_hang.h).
 */
#include "commit_hang.h"

#include <chrono>
#include <stdexcept>
#include <thread>

#include <pqxx/nontransaction>

namespace url_shortener::test {

namespace {

constexpr const char *no_standby = "url_shortener_test_no_such_standby";

/* The value of synchronous_standby_names a new session sees. */
std::string standby_names()
{
    auto c = connect();
    pqxx::nontransaction q(*c);
    return q.exec("SHOW synchronous_standby_names").at(0).at(0).as<std::string>();
}

/* Sets synchronous_standby_names and waits (bounded) until new sessions see it. */
void set_standby_names(const std::string &value)
{
    {
        auto c = connect();
        pqxx::nontransaction q(*c);
        if (value.empty())
            q.exec("ALTER SYSTEM RESET synchronous_standby_names");
        else
            q.exec("ALTER SYSTEM SET synchronous_standby_names = " + q.quote(value));
        q.exec("SELECT pg_catalog.pg_reload_conf()");
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (standby_names() != value) {
        if (std::chrono::steady_clock::now() > deadline)
            throw std::runtime_error("the server never took synchronous_standby_names");
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
}

} // namespace

CommitsHang::CommitsHang()
{
    set_standby_names(no_standby);
}

CommitsHang::~CommitsHang()
{
    try {
        release();
    } catch (...) {
        /* A failed test may have left the server unreachable; nothing more to do. */
    }
}

void CommitsHang::release()
{
    if (held_)
        set_standby_names("");
    held_ = false;
}

void wait_until_committing(int pid)
{
    auto c = connect();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    for (;;) {
        pqxx::nontransaction q(*c);
        if (!q.exec_params("SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND wait_event = 'SyncRep'",
                           pid)
                 .empty())
            return;
        if (std::chrono::steady_clock::now() > deadline)
            throw std::runtime_error("backend " + std::to_string(pid) + " never waited in COMMIT");
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
}

} // namespace url_shortener::test
