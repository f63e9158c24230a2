/*
 * retry_test.cpp
 *    Which failures the Client retries, provoked for real on the server:
 *    a serialization failure is retried, up to max_attempts tries in
 *    all; a connection found dead before
 *    sending is replaced once and the call succeeds; a connection lost
 *    inside an explicit transaction is retried, since nothing committed; a
 *    connection lost while an autocommit statement without an idempotency
 *    key (an alias, or a click or change of a link) runs is OutcomeUnknown
 *    and is not retried (with a key
 *    it is retried: idempotency_test.cpp), while one lost during a call
 *    that only reads is retried, also when what is lost is its COMMIT.  A
 *    deadlock victim is retried too.
 */
#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <unistd.h>
#include <pqxx/nontransaction>
#include <pqxx/transaction>

#include "backoff.h"
#include "commit_cutting_proxy.h"
#include "killed_backend.h"
#include "test_database.h"
#include "url_shortener/client.h"

using namespace url_shortener;
using namespace url_shortener::test;

namespace {

/* Options that record every retry event; short waits keep the tests quick. */
ClientOptions recording(std::vector<RetryEvent> &events, Isolation isolation = Isolation::autocommit)
{
    ClientOptions options;
    options.isolation = isolation;
    options.retry.base_delay = std::chrono::milliseconds(1);
    options.retry.max_delay = std::chrono::milliseconds(20);
    options.on_retry = [&events](const RetryEvent &e) { events.push_back(e); };
    return options;
}

/*
 * A stored link that another transaction has clicked and keeps locked
 * until release() rolls it back: a resolve of it waits on the row.
 */
struct HeldLink {
    explicit HeldLink(const std::string &tag)
        : url(unique_url(tag)), code(Client(dsn()).shorten(url)), other(connect()),
          clicking(*other)
    {
        clicking.exec_params("SELECT resolve_url($1)", code);
    }
    void release() { clicking.abort(); }

    const std::string url;
    const std::string code;
    std::unique_ptr<pqxx::connection> other;
    pqxx::work clicking;
};

/* The calls that only read, by name, each returning the link's URL. */
using Read = std::pair<const char *, std::function<std::string(Client &)>>;
std::vector<Read> reads_of(const std::string &code)
{
    return {
        {"stats", [code](Client &c) { return c.stats(code).value().url; }},
        {"resolve_without_click", [code](Client &c) { return c.resolve_without_click(code).value(); }},
    };
}

/* The call (a resolve) ends in a serialization failure, ServerError 40001. */
void expect_serialization_failure(std::future<std::optional<std::string>> &call)
{
    try {
        finish(call);
        ADD_FAILURE() << "no serialization failure";
    } catch (const ServerError &e) {
        EXPECT_EQ(e.sqlstate(), "40001");
    }
}

} // namespace

TEST(Retry, SerializationFailureIsRetriedInANewTransaction)
{
    const std::string url = unique_url("serialization");
    const std::string code = Client(dsn()).shorten(url);

    std::vector<RetryEvent> events;
    const std::string name = unique_application_name("serialization");
    Client client(dsn("application_name=" + name), recording(events, Isolation::repeatable_read));
    const int pid = backend_pid(name);

    /* The client's REPEATABLE READ update waits for the row of a click
     * another transaction holds, and fails with 40001 when it commits. */
    auto call = resolve_behind_a_committed_click(client, pid, code);

    EXPECT_EQ(finish(call), url);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].cause, RetryCause::serialization_failure);
    EXPECT_EQ(events[0].failed_attempt, 1);
    EXPECT_EQ(clicks(code), 2);  // the other's click and the retry's; the failed try's rolled back
}

TEST(Retry, SerializationFailureBeyondTheAttemptsIsServerError40001)
{
    const std::string code = Client(dsn()).shorten(unique_url("serialization-final"));

    std::vector<RetryEvent> events;
    ClientOptions options = recording(events, Isolation::repeatable_read);
    options.retry.max_attempts = 1;
    const std::string name = unique_application_name("serialization-final");
    Client client(dsn("application_name=" + name), options);
    const int pid = backend_pid(name);

    auto call = resolve_behind_a_committed_click(client, pid, code);

    expect_serialization_failure(call);
    EXPECT_TRUE(events.empty());
    EXPECT_EQ(clicks(code), 1);
}

/*
 * The bound: a serialization failure on every attempt ends, after
 * max_attempts of them, in ServerError 40001.  Before each retry another
 * transaction clicks the link and holds its row (on_retry runs before the
 * retry is sent), and commits once the retry waits on it, so that every
 * attempt meets a click committed after its snapshot.
 */
TEST(Retry, ASerializationFailureOnEveryAttemptEndsAfterTheAttempts)
{
    const std::string code = Client(dsn()).shorten(unique_url("serialization-every"));
    const std::string name = unique_application_name("serialization-every");

    int pid = 0;
    std::vector<std::unique_ptr<pqxx::connection>> others;
    std::vector<std::unique_ptr<pqxx::work>> clicks_held;
    std::vector<std::future<void>> commits;  // destroyed first: each waits for its commit
    std::vector<RetryEvent> events;
    ClientOptions options = recording(events, Isolation::repeatable_read);
    options.retry.max_attempts = 3;
    options.on_retry = [&](const RetryEvent &e) {
        events.push_back(e);
        others.push_back(connect());
        clicks_held.push_back(std::make_unique<pqxx::work>(*others.back()));
        pqxx::work *const clicking = clicks_held.back().get();
        clicking->exec_params("SELECT resolve_url($1)", code);
        commits.push_back(std::async(std::launch::async, [&pid, clicking] {
            wait_until_waiting_on_lock(pid);
            clicking->commit();
        }));
    };
    Client client(dsn("application_name=" + name), options);
    pid = backend_pid(name);

    auto call = resolve_behind_a_committed_click(client, pid, code);
    expect_serialization_failure(call);
    for (auto &commit : commits)
        commit.get();
    ASSERT_EQ(events.size(), 2u);
    for (std::size_t i = 0; i < events.size(); ++i) {
        EXPECT_EQ(events[i].cause, RetryCause::serialization_failure);
        EXPECT_EQ(events[i].failed_attempt, static_cast<int>(i) + 1);
    }
    EXPECT_EQ(clicks(code), 3);  // the three others'; the client's three tries rolled back
}

/*
 * A real deadlock: the client's resolve holds its lock on urls while it
 * waits for the row another transaction clicked, and that transaction then
 * asks for the whole table (a migration in the same transaction as a
 * click).  The client's backend finds the cycle (its deadlock_timeout is
 * the shorter) and is rolled back with 40P01; the client sends the call
 * again in a new transaction, which gets the row once the other has ended.
 */
TEST(Retry, ADeadlockVictimIsRetriedInANewTransaction)
{
    HeldLink held("deadlock");
    held.clicking.exec0("SET LOCAL deadlock_timeout = '10min'");

    std::vector<RetryEvent> events;
    const std::string name = unique_application_name("deadlock");
    /* PostgreSQL looks for a cycle once per wait, deadlock_timeout after
     * it began: the other transaction must be waiting by then, which 10 s
     * leaves a loaded machine time for. */
    Client client(dsn("application_name=" + name + " options='-c deadlock_timeout=10s'"), recording(events));
    const int pid = backend_pid(name);

    auto call = std::async(std::launch::async, [&] { return client.resolve(held.code); });
    wait_until_waiting_on_lock(pid);
    auto migration = std::async(std::launch::async, [&] {
        held.clicking.exec0("LOCK TABLE urls IN ACCESS EXCLUSIVE MODE");
    });
    ASSERT_EQ(migration.wait_for(std::chrono::minutes(2)), std::future_status::ready)
        << "the other transaction never got the table";
    migration.get();  // granted once the client's first try was rolled back
    held.release();

    EXPECT_EQ(finish(call), held.url);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].cause, RetryCause::deadlock);
    EXPECT_EQ(events[0].failed_attempt, 1);
    EXPECT_EQ(clicks(held.code), 1);  // the retry's; the other's and the failed try's rolled back
}

TEST(Retry, ConnectionLostBeforeSendingIsReplacedOnceAndTheCallSucceeds)
{
    std::vector<RetryEvent> events;
    const std::string name = unique_application_name("idle-kill");
    Client client(dsn("application_name=" + name), recording(events));
    const int first_pid = backend_pid(name);
    terminate_backend(first_pid);

    const long long before = link_count();
    const std::string url = unique_url("idle-kill");
    const std::string code = client.shorten(url);

    EXPECT_EQ(link_count(), before + 1);
    EXPECT_EQ(links_to(url), 1);
    EXPECT_NE(backend_pid(name), first_pid);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].cause, RetryCause::connection_lost);
    EXPECT_EQ(events[0].failed_attempt, 0);  // found before anything was sent
    EXPECT_EQ(client.resolve(code), url);
}

TEST(Retry, ConnectionLostWhileAStatementRunsIsOutcomeUnknownAndNotRetried)
{
    /*
     * Hold the generation lock so the client's shorten_url_locked waits.
     * With an alias, so no idempotency key goes along (extension 1.3): a
     * keyed call would be retried safely (idempotency_test.cpp).
     */
    GenerationLock lock;
    LinkOptions alias;
    alias.alias = "busy-kill-" + std::to_string(getpid());

    std::vector<RetryEvent> events;
    const std::string name = unique_application_name("busy-kill");
    Client client(dsn("application_name=" + name), recording(events));
    const long long before = link_count();
    const std::string url = unique_url("busy-kill");

    auto call = call_with_backend_killed(name, [&] { return client.shorten_locked(url, alias); });
    try {
        finish(call);
        ADD_FAILURE() << "no error after the backend was terminated";
    } catch (const OutcomeUnknown &e) {
        EXPECT_EQ(e.sqlstate(), "08007");   /* transaction_resolution_unknown */
        EXPECT_NE(e.server_message(), "");
    }

    /* A retry would now get the lock and store the URL: it must not exist. */
    lock.release();
    EXPECT_TRUE(events.empty());
    EXPECT_EQ(link_count(), before);
    EXPECT_EQ(links_to(url), 0);

    /* The next call reconnects. */
    EXPECT_EQ(client.resolve(client.shorten(url)), url);
    EXPECT_EQ(links_to(url), 1);
}

/*
 * The calls that change a link, in autocommit without a key, are not
 * retried when the connection is lost while they run: the change may
 * have been made.  Each waits on the row another transaction clicked and
 * holds, and its backend is terminated; that transaction then rolls back,
 * so nothing may have changed the link, and no retry may change it after.
 */
TEST(Retry, ConnectionLostWhileAChangeRunsIsOutcomeUnknownAndNotRetried)
{
    using Change = std::pair<const char *, std::function<void(Client &, const std::string &)>>;
    const std::vector<Change> changes = {
        {"resolve", [](Client &c, const std::string &code) { c.resolve(code); }},
        {"update", [](Client &c, const std::string &code) { c.update(code, "https://changed.example/", 1); }},
        {"disable", [](Client &c, const std::string &code) { c.disable(code); }},
        {"remove", [](Client &c, const std::string &code) { c.remove(code); }},
    };
    for (const auto &[call_name, change] : changes) {
        SCOPED_TRACE(call_name);
        HeldLink held(std::string("change-kill-") + call_name);
        std::vector<RetryEvent> events;
        const std::string name = unique_application_name(std::string("change-kill-") + call_name);
        Client client(dsn("application_name=" + name), recording(events));

        auto call = call_with_backend_killed(name, [&] { change(client, held.code); });
        try {
            finish(call);
            ADD_FAILURE() << "no error after the backend was terminated";
        } catch (const OutcomeUnknown &e) {
            EXPECT_EQ(e.sqlstate(), "08007");
        }
        held.release();
        EXPECT_TRUE(events.empty());

        const std::optional<LinkStats> link = Client(dsn()).stats(held.code);
        ASSERT_TRUE(link.has_value());
        EXPECT_EQ(link->url, held.url);
        EXPECT_EQ(link->clicks, 0);
        EXPECT_EQ(link->version, 1);
        EXPECT_TRUE(link->enabled);
    }
}

TEST(Retry, ConnectionLostInsideAnExplicitTransactionIsRetried)
{
    /* Another transaction clicks and keeps the row locked, then rolls back. */
    HeldLink held("txn-kill");
    const std::string &url = held.url, &code = held.code;

    std::vector<RetryEvent> events;
    const std::string name = unique_application_name("txn-kill");
    Client client(dsn("application_name=" + name), recording(events, Isolation::read_committed));

    /* Killed before COMMIT: the server rolls the client's work back. */
    auto call = call_with_backend_killed(name, [&] { return client.resolve(code); });
    held.release();

    EXPECT_EQ(finish(call), url);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].cause, RetryCause::connection_lost);
    EXPECT_EQ(events[0].failed_attempt, 1);
    EXPECT_EQ(clicks(code), 1);  // only the retry's click survives
}

/* The same on the first call of a deferred Client: opening its first
 * connection is no reconnect, so the call still has its one. */
TEST(Retry, ADeferredClientsFirstCallStillHasItsReconnect)
{
    HeldLink held("txn-kill-deferred");
    const std::string &url = held.url, &code = held.code;

    std::vector<RetryEvent> events;
    const std::string name = unique_application_name("txn-kill-deferred");
    ClientOptions options = recording(events, Isolation::read_committed);
    options.defer_connect = true;
    Client client(dsn("application_name=" + name), options);

    /* The backend exists only once the call has opened the connection. */
    auto call = std::async(std::launch::async, [&] { return client.resolve(code); });
    const int pid = backend_pid(name);
    wait_until_waiting_on_lock(pid);
    terminate_backend(pid);
    held.release();

    EXPECT_EQ(finish(call), url);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].failed_attempt, 1);
    EXPECT_EQ(clicks(code), 1);
}

/*
 * stats and resolve_without_click only read: a connection lost after
 * sending one (in autocommit, no COMMIT to wait for) changed nothing, so
 * the call is retried on a new connection and answers, rather than
 * throwing OutcomeUnknown.  The read waits on a lock of urls held by
 * another transaction while its backend is terminated.
 */
TEST(Retry, ConnectionLostDuringAReadIsRetried)
{
    const std::string url = unique_url("read-kill");
    const std::string code = Client(dsn()).shorten(url);
    const std::vector<Read> reads = reads_of(code);
    for (const auto &[call_name, read] : reads) {
        SCOPED_TRACE(call_name);
        std::vector<RetryEvent> events;
        const std::string name = unique_application_name(std::string("read-kill-") + call_name);
        Client client(dsn("application_name=" + name), recording(events));
        auto locker = connect();
        pqxx::work locking(*locker);
        locking.exec0("LOCK TABLE urls IN ACCESS EXCLUSIVE MODE");
        auto call = call_with_backend_killed(name, [&] { return read(client); });
        locking.abort();
        EXPECT_EQ(finish(call), url);
        ASSERT_EQ(events.size(), 1u);
        EXPECT_EQ(events[0].cause, RetryCause::connection_lost);
        EXPECT_EQ(events[0].failed_attempt, 1);
    }
    EXPECT_EQ(clicks(code), 0);
}

/*
 * In an explicit transaction a read ends with COMMIT: the connection lost
 * with that COMMIT on its way changed nothing either, so the read is made
 * again on a new connection.  A click whose COMMIT is lost the same way is
 * OutcomeUnknown (it might have counted) and not repeated; here the proxy
 * never forwarded the COMMIT, so the server rolled the click back.
 */
TEST(Retry, AReadWhoseCommitIsLostIsRetried)
{
    const std::string url = unique_url("read-commit-cut");
    const std::string code = Client(dsn()).shorten(url);
    CommitCuttingProxy proxy;
    const std::vector<Read> reads = reads_of(code);
    for (const auto &[call_name, read] : reads) {
        SCOPED_TRACE(call_name);
        std::vector<RetryEvent> events;
        Client client(proxy.proxy_dsn(), recording(events, Isolation::repeatable_read));
        const int cut_before = proxy.commits_cut();
        proxy.cut_next_commit();
        EXPECT_EQ(read(client), url);
        EXPECT_EQ(proxy.commits_cut(), cut_before + 1);
        ASSERT_EQ(events.size(), 1u);
        EXPECT_EQ(events[0].cause, RetryCause::connection_lost);
        EXPECT_EQ(events[0].failed_attempt, 1);
    }

    std::vector<RetryEvent> events;
    Client client(proxy.proxy_dsn(), recording(events, Isolation::repeatable_read));
    const int cut_before = proxy.commits_cut();
    proxy.cut_next_commit();
    EXPECT_THROW(client.resolve(code), OutcomeUnknown);
    EXPECT_EQ(proxy.commits_cut(), cut_before + 1);
    EXPECT_TRUE(events.empty());
    EXPECT_EQ(clicks(code), 0);
    EXPECT_EQ(client.resolve(code), url);  // the next call reconnects
    EXPECT_EQ(clicks(code), 1);
}

/*
 * remove_at with two versions first reads the link's version: a connection
 * lost during that read changed nothing, so it is read again on a new
 * connection and the change made at the version read, not OutcomeUnknown.
 */
TEST(Retry, AChangeAtVersionsWhoseReadIsLostIsRetried)
{
    const std::string url = unique_url("versioned-read-kill");
    const std::string code = Client(dsn()).shorten(url);
    const long long version = Client(dsn()).stats(code)->version;

    std::vector<RetryEvent> events;
    const std::string name = unique_application_name("versioned-read-kill");
    Client client(dsn("application_name=" + name), recording(events));
    auto locker = connect();
    pqxx::work locking(*locker);
    locking.exec0("LOCK TABLE urls IN ACCESS EXCLUSIVE MODE");
    auto call = call_with_backend_killed(
        name, [&] { return client.remove_at(code, {version, version + 1}); });
    locking.abort();

    EXPECT_EQ(finish(call), std::optional<bool>(true));
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].cause, RetryCause::connection_lost);
    EXPECT_FALSE(Client(dsn()).stats(code).has_value());
}

/*
 * remove_at with two versions reads the link's version, then changes it at
 * that version: two statements, each run by the retry loop.  The bounds
 * are still one call's: the connection found dead before the read is the
 * call's one reconnect, so losing the new connection while the change
 * waits for a row ends the call (ConnectionLost, nothing removed) rather
 * than reconnecting a second time.
 */
TEST(Retry, AChangeAtVersionsHasOneReconnectForAllItsStatements)
{
    HeldLink held("versioned-budget");
    const long long version = Client(dsn()).stats(held.code)->version;

    std::vector<RetryEvent> events;
    const std::string name = unique_application_name("versioned-budget");
    Client client(dsn("application_name=" + name), recording(events, Isolation::read_committed));
    terminate_backend(backend_pid(name));

    auto call = std::async(std::launch::async,
                           [&] { return client.remove_at(held.code, {version, version + 1}); });
    const int pid = backend_pid(name);   /* the connection the read reconnected to */
    wait_until_waiting_on_lock(pid);     /* the change waits for the clicked row */
    terminate_backend(pid);
    held.release();

    try {
        finish(call);
        ADD_FAILURE() << "removed after a second reconnect in one call";
    } catch (const ConnectionLost &e) {
        EXPECT_EQ(e.sqlstate(), "08006");
    }
    ASSERT_EQ(events.size(), 1u) << "more than one retry or reconnect in one call";
    EXPECT_EQ(events[0].cause, RetryCause::connection_lost);
    EXPECT_EQ(events[0].failed_attempt, 0);
    EXPECT_TRUE(Client(dsn()).stats(held.code).has_value());
}

TEST(Backoff, WaitsGrowThenStayUnderTheCap)
{
    RetryPolicy policy;
    policy.base_delay = std::chrono::milliseconds(10);
    policy.max_delay = std::chrono::milliseconds(100);
    std::mt19937_64 random(42);
    const long long ceilings[] = {10, 20, 40, 80, 100, 100, 100};
    for (int attempt = 1; attempt <= 7; ++attempt)
        for (int sample = 0; sample < 200; ++sample) {
            const long long d = backoff_delay(policy, attempt, random).count();
            const long long ceiling = ceilings[attempt - 1];
            EXPECT_GE(d, ceiling / 2) << attempt;
            EXPECT_LE(d, ceiling) << attempt;
        }
    EXPECT_LE(backoff_delay(policy, 1000000, random).count(), 100);
}

/* No cap (milliseconds::max()) is a day: the doubling does not overflow,
 * and the wait stays one the clock can count (found in review). */
TEST(Backoff, AnUncappedPolicyWaitsAtMostADay)
{
    RetryPolicy policy;
    policy.base_delay = std::chrono::milliseconds(10);
    policy.max_delay = std::chrono::milliseconds::max();
    std::mt19937_64 random(42);
    constexpr long long day = 24LL * 60 * 60 * 1000;
    for (const int attempt : {30, 40, 63, 64, 100, 1000000}) {
        const long long d = backoff_delay(policy, attempt, random).count();
        EXPECT_GE(d, day / 2) << attempt;
        EXPECT_LE(d, day) << attempt;
    }
}
