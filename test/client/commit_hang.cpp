/*
 * commit_hang.cpp
 *    Making COMMITs wait for a standby that never comes (commit_hang.h).
 */
#include "commit_hang.h"

#include <atomic>
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

/*
 * Waits (bounded) until a commit does wait for the standby.  New sessions
 * see synchronous_standby_names as soon as they start, but commits wait
 * only once the checkpointer has reloaded the configuration too (it sets
 * the shared flag SyncRepWaitForLSN reads), which a loaded machine may
 * delay.  So a probe commits a transaction that wrote WAL (a transactional
 * logical message: an XID, no table) until one is seen waiting in SyncRep,
 * and is then cancelled (its commit stands).  An XID alone is not enough:
 * a commit that wrote no other WAL does not wait.
 */
void wait_until_commits_wait()
{
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    auto watcher = connect();
    for (;;) {
        auto probe = connect();
        const int pid = probe->backendpid();
        std::atomic<bool> finished{false};
        std::thread committing([&] {
            try {
                pqxx::nontransaction q(*probe);
                q.exec("SELECT pg_catalog.pg_logical_emit_message(true, 'url_shortener_test', "
                       "'commits hang')");
            } catch (...) {
                /* Cancelled or not, the probe has done its part. */
            }
            finished = true;
        });
        bool waited = false;
        try {
            while (!finished && !waited) {
                if (std::chrono::steady_clock::now() > deadline)
                    throw std::runtime_error("the probe commit neither ended nor waited");
                pqxx::nontransaction q(*watcher);
                waited = !q.exec_params("SELECT pg_catalog.pg_cancel_backend(pid) FROM "
                                        "pg_stat_activity WHERE pid = $1 AND wait_event = 'SyncRep'",
                                        pid)
                              .empty();
                if (!waited)
                    std::this_thread::sleep_for(std::chrono::milliseconds(5));
            }
        } catch (...) {
            /* Lets a probe that waits commit, so that it can be joined. */
            try {
                set_standby_names("");
            } catch (...) {
            }
            committing.join();
            throw;
        }
        committing.join();
        if (waited)
            return;
        if (std::chrono::steady_clock::now() > deadline)
            throw std::runtime_error("commits never waited for the standby");
    }
}

} // namespace

CommitsHang::CommitsHang()
{
    set_standby_names(no_standby);
    try {
        wait_until_commits_wait();
    } catch (...) {
        set_standby_names("");
        throw;
    }
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
