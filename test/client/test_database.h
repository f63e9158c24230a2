/*
 * test_database.h
 *    The real server the client tests run against, and what they ask it.
 *
 *    The server comes from libpq's environment (PGHOST, PGPORT, PGUSER, ...,
 *    as pg_virtualenv sets them).  Each test process drops and recreates the
 *    database url_shortener_client_test with the extension before its first
 *    test, so tests start from an empty table; tests that share a process
 *    only ever compare counts before and after.
 */
#ifndef URL_SHORTENER_TEST_DATABASE_H
#define URL_SHORTENER_TEST_DATABASE_H

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <pqxx/connection>
#include <pqxx/transaction>

#include "url_shortener/client.h"

namespace url_shortener::test {

inline constexpr const char *database_name = "url_shortener_client_test";

/* A connection string for the test database; extra keywords win. */
std::string dsn(const std::string &extra = {});

/* A plain libpqxx connection to the test database, for setting up and checking. */
std::unique_ptr<pqxx::connection> connect(const std::string &extra = {});

/* Rows in urls. */
long long link_count();

/* Rows in urls holding url. */
long long links_to(const std::string &url);

/* Rows in urls whose URL starts with prefix. */
long long links_under(const std::string &prefix);

/* The clicks of code, or nullopt if no row has it. */
std::optional<long long> clicks(const std::string &code);

/* A URL no other test uses: https://example.com/<tag>/<process>/<n>. */
std::string unique_url(const std::string &tag, std::size_t n = 0);

/* A fresh application_name, to find one Client's backend by. */
std::string unique_application_name(const std::string &tag);

/* The pid of the one backend with this application_name; waits (bounded) for it. */
int backend_pid(const std::string &application_name);

/* Waits (bounded; throws when over) until backend pid waits for a heavyweight lock. */
void wait_until_waiting_on_lock(int pid);

/* Terminates backend pid and waits for it to exit. */
void terminate_backend(int pid);

/* A fresh database name (dropped first if it exists) with the extension at version. */
void create_database_at(const std::string &name, const std::string &version);

/*
 * A BEFORE UPDATE trigger on urls that raises "connection to the remote
 * node failed" with SQLSTATE 08006 for code's row (as Citus reports a lost
 * worker connection on a coordinator connection that stays up), until
 * drop() or destruction.  Its function is temporary, on a connection of
 * its own.
 */
class RemoteNodeFailure {
public:
    explicit RemoteNodeFailure(const std::string &code);
    ~RemoteNodeFailure();
    RemoteNodeFailure(const RemoteNodeFailure &) = delete;
    RemoteNodeFailure &operator=(const RemoteNodeFailure &) = delete;

    void drop();

private:
    std::unique_ptr<pqxx::connection> connection_;
    std::string trigger_;
};

/* Lets many threads start their calls together, not as they happen to be created. */
class StartLine {
public:
    explicit StartLine(std::size_t runners) : waiting_(runners) {}

    /* Blocks until every runner has arrived. */
    void arrive_and_wait();

private:
    std::mutex mutex_;
    std::condition_variable all_here_;
    std::size_t waiting_;
};

/*
 * Starts client.resolve(code) on another thread while another transaction,
 * which has clicked code, holds its row; once the call waits for that row
 * (backend pid), commits the click.  Under REPEATABLE READ or SERIALIZABLE
 * the call's try then fails with 40001.  Returns the call's future.
 */
std::future<std::optional<std::string>> resolve_behind_a_committed_click(Client &client, int pid,
                                                                         const std::string &code);

/*
 * Takes an ACCESS EXCLUSIVE lock on pg_extension in locking, so that a
 * new connection's setup (its lookup of the extension) waits for it, but
 * not the new backend's start.  The start waits too when the relation
 * cache's init file must be rebuilt (autovacuum of a catalog invalidates
 * it): it then opens every catalog with a syscache, pg_extension among
 * them, before the backend is in pg_stat_activity.  So a probe connects
 * under the lock; if it cannot within 2 s, the lock is given back (in a
 * savepoint), a connection is opened without it (which rebuilds the file),
 * and the lock taken again; up to three times.
 */
void lock_pg_extension(pqxx::work &locking);

/*
 * Runs open (which opens a connection with a connect timeout of 2 s and no
 * statement timeout) while another transaction holds pg_extension, so the
 * setup's lookup of the extension waits as on a server that went silent
 * after authenticating; expects it to end within a minute with
 * ConnectionLost 08001 "did not answer within 2 s".
 */
void expect_setup_cut_short_by_connect_timeout(const std::function<void()> &open);

} // namespace url_shortener::test

#endif
