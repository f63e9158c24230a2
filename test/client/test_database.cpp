/*
 * test_database.cpp
 *    Creating the test database once per test process, and the checks the
 *    tests make against it.
 */
#include "test_database.h"

#include <chrono>
#include <stdexcept>
#include <thread>

#include <gtest/gtest.h>
#include <pqxx/nontransaction>
#include <pqxx/result>
#include <pqxx/transaction>
#include <unistd.h>

namespace url_shortener::test {

namespace {

/* Drops and recreates the test database with the extension, before any test. */
class TestDatabase : public ::testing::Environment {
public:
    void SetUp() override
    {
        pqxx::connection maintenance("");  // PGDATABASE etc. from the environment
        pqxx::nontransaction admin(maintenance);
        admin.exec(std::string("DROP DATABASE IF EXISTS ") + database_name + " WITH (FORCE)");
        admin.exec(std::string("CREATE DATABASE ") + database_name);

        auto test_db = connect();
        pqxx::nontransaction setup(*test_db);
        setup.exec("CREATE EXTENSION url_shortener");
    }
};

[[maybe_unused]] ::testing::Environment *const test_database =
    ::testing::AddGlobalTestEnvironment(new TestDatabase);

long long single_number(const std::string &sql)
{
    auto connection = connect();
    pqxx::nontransaction query(*connection);
    return query.exec(sql).at(0).at(0).as<long long>();
}

constexpr auto patience = std::chrono::seconds(60);
constexpr auto poll_interval = std::chrono::milliseconds(10);

} // namespace

std::string dsn(const std::string &extra)
{
    return std::string("dbname=") + database_name + (extra.empty() ? "" : " " + extra);
}

std::unique_ptr<pqxx::connection> connect(const std::string &extra)
{
    return std::make_unique<pqxx::connection>(dsn(extra));
}

long long link_count()
{
    return single_number("SELECT count(*) FROM urls");
}

/* Links whose URL is url, or (prefix) starts with it. */
static long long links_with(const std::string &url, bool prefix)
{
    auto connection = connect();
    pqxx::nontransaction query(*connection);
    return query
        .exec_params(prefix ? "SELECT count(*) FROM urls WHERE starts_with(original_url, $1)"
                            : "SELECT count(*) FROM urls WHERE original_url = $1",
                     url)
        .at(0)
        .at(0)
        .as<long long>();
}

long long links_to(const std::string &url)
{
    return links_with(url, false);
}

long long links_under(const std::string &prefix)
{
    return links_with(prefix, true);
}

std::optional<long long> clicks(const std::string &code)
{
    auto connection = connect();
    pqxx::nontransaction query(*connection);
    const pqxx::result rows =
        query.exec_params("SELECT clicks FROM urls WHERE short_code = $1", code);
    if (rows.empty())
        return std::nullopt;
    return rows.at(0).at(0).as<long long>();
}

std::string unique_url(const std::string &tag, std::size_t n)
{
    static const std::string run =
        std::to_string(getpid()) + "-" +
        std::to_string(std::chrono::steady_clock::now().time_since_epoch().count());
    return "https://example.com/" + tag + "/" + run + "/" + std::to_string(n);
}

std::string unique_application_name(const std::string &tag)
{
    static int serial = 0;
    return "ust_" + tag + "_" + std::to_string(getpid()) + "_" + std::to_string(++serial);
}

int backend_pid(const std::string &application_name)
{
    auto connection = connect();
    const auto deadline = std::chrono::steady_clock::now() + patience;
    for (;;) {
        pqxx::nontransaction query(*connection);
        const pqxx::result rows = query.exec_params(
            "SELECT pid FROM pg_stat_activity WHERE application_name = $1", application_name);
        if (rows.size() == 1)
            return rows.at(0).at(0).as<int>();
        if (std::chrono::steady_clock::now() > deadline)
            throw std::runtime_error("no single backend named " + application_name);
        std::this_thread::sleep_for(poll_interval);
    }
}

void wait_until_waiting_on_lock(int pid)
{
    auto connection = connect();
    const auto deadline = std::chrono::steady_clock::now() + patience;
    for (;;) {
        pqxx::nontransaction query(*connection);
        const pqxx::result rows = query.exec_params(
            "SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND wait_event_type = 'Lock'", pid);
        if (!rows.empty())
            return;
        if (std::chrono::steady_clock::now() > deadline)
            throw std::runtime_error("backend " + std::to_string(pid) + " never waited on a lock");
        std::this_thread::sleep_for(poll_interval);
    }
}

void create_database_at(const std::string &name, const std::string &version)
{
    {
        pqxx::connection maintenance("");
        pqxx::nontransaction admin(maintenance);
        admin.exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
        admin.exec("CREATE DATABASE " + name);
    }
    pqxx::connection db("dbname=" + name);
    pqxx::nontransaction setup(db);
    setup.exec("CREATE EXTENSION url_shortener VERSION " + db.quote(version));
}

void terminate_backend(int pid)
{
    auto connection = connect();
    pqxx::nontransaction query(*connection);
    /* The timeout makes pg_terminate_backend wait until the process is gone. */
    const bool gone = query.exec_params("SELECT pg_terminate_backend($1, 60000)", pid)
                          .at(0)
                          .at(0)
                          .as<bool>();
    if (!gone)
        throw std::runtime_error("backend " + std::to_string(pid) + " did not exit");
}

RemoteNodeFailure::RemoteNodeFailure(const std::string &code)
    : connection_(connect()), trigger_("remote_node_failed_" + std::to_string(connection_->backendpid()))
{
    pqxx::nontransaction ddl(*connection_);
    ddl.exec0("CREATE FUNCTION pg_temp.remote_node_failed() RETURNS trigger LANGUAGE plpgsql AS "
              "$$BEGIN RAISE EXCEPTION 'connection to the remote node failed' "
              "USING ERRCODE = '08006'; END$$");
    ddl.exec0("CREATE TRIGGER " + trigger_ + " BEFORE UPDATE ON urls FOR EACH ROW WHEN "
              "(NEW.short_code = " + ddl.quote(code) +
              ") EXECUTE FUNCTION pg_temp.remote_node_failed()");
}

RemoteNodeFailure::~RemoteNodeFailure()
{
    try {
        drop();
    } catch (...) {
        /* The connection's end drops the function; the trigger with it. */
    }
}

void RemoteNodeFailure::drop()
{
    if (trigger_.empty())
        return;
    pqxx::nontransaction ddl(*connection_);
    ddl.exec0("DROP TRIGGER " + trigger_ + " ON urls");
    trigger_.clear();
}

void StartLine::arrive_and_wait()
{
    std::unique_lock<std::mutex> lock(mutex_);
    if (--waiting_ == 0) {
        all_here_.notify_all();
        return;
    }
    all_here_.wait(lock, [this] { return waiting_ == 0; });
}

std::future<std::optional<std::string>> resolve_behind_a_committed_click(Client &client, int pid,
                                                                         const std::string &code)
{
    auto other = connect();
    pqxx::work clicking(*other);
    clicking.exec_params("SELECT resolve_url($1)", code);
    auto call = std::async(std::launch::async, [&client, code] { return client.resolve(code); });
    wait_until_waiting_on_lock(pid);
    clicking.commit();
    return call;
}

void lock_pg_extension(pqxx::work &locking)
{
    for (int attempt = 1;; ++attempt) {
        locking.exec0("SAVEPOINT lock_pg_extension");
        locking.exec0("LOCK TABLE pg_catalog.pg_extension IN ACCESS EXCLUSIVE MODE");
        try {
            pqxx::connection probe(dsn("connect_timeout=2 application_name=pg_extension_probe"));
            return;
        } catch (const pqxx::broken_connection &e) {
            if (attempt == 3)
                throw std::runtime_error(
                    std::string("three new backends waited for pg_extension at their start: ") +
                    e.what());
        }
        locking.exec0("ROLLBACK TO SAVEPOINT lock_pg_extension");
        /* A connection with the lock given back: the file is rebuilt once it is open. */
        pqxx::connection rebuild(dsn("application_name=pg_extension_probe"));
    }
}

void expect_setup_cut_short_by_connect_timeout(const std::function<void()> &open)
{
    auto locker = connect();
    pqxx::work locking(*locker);
    lock_pg_extension(locking);

    auto opening = std::async(std::launch::async, [&] { open(); });
    /* Bounded, and the lock freed either way: a hang fails, it does not stall. */
    const bool ended = opening.wait_for(std::chrono::seconds(60)) == std::future_status::ready;
    locking.abort();
    EXPECT_TRUE(ended) << "the setup statements outlived connect_timeout by a minute";
    try {
        opening.get();
        ADD_FAILURE() << "connected while the extension's lookup could not run";
    } catch (const ConnectionLost &e) {
        EXPECT_EQ(e.sqlstate(), "08001");
        EXPECT_NE(std::string(e.what()).find("did not answer within 2 s"), std::string::npos)
            << e.what();
    }
}

} // namespace url_shortener::test
