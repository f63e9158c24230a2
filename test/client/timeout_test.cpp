/*
 * timeout_test.cpp
 *    ClientOptions::connect_timeout against a listener that accepts and
 *    never answers and against setup statements that get no answer, and
 *    ClientOptions::statement_timeout against a
 *    statement kept waiting for a lock; Client::interrupt() ending a call
 *    that waits on a lock forever.  The assertions are on outcomes
 *    (the error type, nothing stored), never on how long anything took;
 *    each call runs on another thread with a generous bound, so a hang
 *    fails the test instead of stalling the suite.
 */
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <future>
#include <limits>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <pqxx/nontransaction>

#include "killed_backend.h"
#include "silent_listener.h"
#include "test_database.h"
#include "url_shortener/client.h"

using namespace url_shortener;
using namespace url_shortener::test;

TEST(Timeouts, DefaultsAreSet)
{
    const ClientOptions defaults;
    EXPECT_EQ(defaults.connect_timeout, std::chrono::seconds(10));
    EXPECT_EQ(defaults.statement_timeout, std::chrono::milliseconds(30000));
}

TEST(Timeouts, AServerThatNeverAnswersIsConnectionLost)
{
    SilentListener listener;
    ClientOptions options;
    options.connect_timeout = std::chrono::seconds(2);
    const std::string silent =
        "host=127.0.0.1 port=" + std::to_string(listener.port()) + " dbname=x user=x";
    auto call = std::async(std::launch::async, [&] { Client client(silent, options); return 0; });
    try {
        finish(call);
        ADD_FAILURE() << "connected to a listener that never answers";
    } catch (const ConnectionLost &e) {
        EXPECT_EQ(e.sqlstate(), "08001");
    }

    /* The same as a URI: the timeout is added to either form. */
    auto uri_call = std::async(std::launch::async, [&] {
        Client client("postgresql://x@127.0.0.1:" + std::to_string(listener.port()) + "/x", options);
        return 0;
    });
    EXPECT_THROW(finish(uri_call), ConnectionLost);
}

TEST(Timeouts, AStatementOverTheTimeoutIsCancelledAndStoresNothing)
{
    /* Hold the generation lock so shorten_locked waits (lock_timeout is 0),
     * for 15 s: with the default 30 s in place of the 1 s set, the call
     * would get the lock and succeed. */
    GenerationLock lock(std::chrono::seconds(15));

    ClientOptions options;
    options.statement_timeout = std::chrono::milliseconds(1000);
    Client client(dsn(), options);
    const std::string url = unique_url("statement-timeout");
    auto call = std::async(std::launch::async, [&] { return client.shorten_locked(url); });
    try {
        finish(call);
        ADD_FAILURE() << "shortened while the generation lock was held";
    } catch (const ServerError &e) {
        EXPECT_EQ(e.sqlstate(), "57014");   /* query_canceled */
    }
    lock.release();
    EXPECT_EQ(links_to(url), 0);
    EXPECT_EQ(client.resolve(client.shorten_locked(url)), url);   /* the lock is free again */
}

TEST(Timeouts, ZeroLeavesTheServersStatementTimeout)
{
    /* 15 s: a client that set its default 30 s would get the lock and succeed. */
    GenerationLock lock(std::chrono::seconds(15));

    /* The server's own setting (here from the startup options) still cancels. */
    ClientOptions options;
    options.statement_timeout = std::chrono::milliseconds(0);
    Client client(dsn("options='-c statement_timeout=1000'"), options);
    const std::string url = unique_url("server-timeout");
    auto call = std::async(std::launch::async, [&] { return client.shorten_locked(url); });
    try {
        finish(call);
        ADD_FAILURE() << "shortened while the generation lock was held";
    } catch (const ServerError &e) {
        EXPECT_EQ(e.sqlstate(), "57014");
    }
    lock.release();
    EXPECT_EQ(links_to(url), 0);
}

/*
 * connect_timeout bounds the setup statements too (the statement timeout,
 * the lookup of the extension, the PREPAREs), which run after libpq has
 * connected and before any statement_timeout is set: here the lookup waits
 * for an ACCESS EXCLUSIVE lock on pg_extension with no statement_timeout,
 * as it would on a server that authenticated the connection and then went
 * silent.  The open fails as one that could not be opened (08001, nothing
 * sent); before, it waited as long as the lock was held.  (Through a proxy
 * that really goes silent: test/server/run, for the CLI and the server.)
 */
TEST(Timeouts, ConnectTimeoutBoundsTheSetupStatements)
{
    ClientOptions options;
    options.connect_timeout = std::chrono::seconds(2);
    options.statement_timeout = std::chrono::milliseconds(0);
    expect_setup_cut_short_by_connect_timeout([&] { Client client(dsn(), options); });
}

/*
 * Client::interrupt() from another thread ends a call that nothing else
 * would end (no statement_timeout, a lock held forever): a keyed
 * shorten_locked, which would otherwise be retried on a new connection
 * with its key, throws OutcomeUnknown at once and is not tried again.
 */
TEST(Interrupt, EndsACallThatWaitsAndDoesNotRetryIt)
{
    GenerationLock lock;

    ClientOptions options;
    options.statement_timeout = std::chrono::milliseconds(0);
    std::atomic<int> retries{0};
    options.on_retry = [&](const RetryEvent &) { ++retries; };
    const std::string name = unique_application_name("interrupted");
    Client client(dsn("application_name=" + name), options);
    const int pid = backend_pid(name);
    const std::string url = unique_url("interrupted");
    auto call = std::async(std::launch::async, [&] { return client.shorten_locked(url); });
    wait_until_waiting_on_lock(pid);
    client.interrupt();
    try {
        finish(call);
        ADD_FAILURE() << "shortened while the generation lock was held";
    } catch (const OutcomeUnknown &e) {
        EXPECT_EQ(e.sqlstate(), "08007");
    }
    EXPECT_EQ(retries.load(), 0);
    lock.release();

    /* The interrupted call dropped its connection: connect() opens a new
     * one (on_retry hears of it), and the next call works on it. */
    EXPECT_FALSE(client.connected());
    client.connect();
    EXPECT_TRUE(client.connected());
    EXPECT_NE(backend_pid(name), pid);
    EXPECT_EQ(retries.load(), 1);
    const std::string again = unique_url("after-interrupt");
    EXPECT_EQ(client.resolve(client.shorten(again)), again);
    EXPECT_EQ(retries.load(), 1);
}

/*
 * A call that interrupt() ended drops its connection, so the next call
 * opens a new one; that is not the next call's one reconnect, which it
 * keeps for a connection the server loses.  Before, an interrupted call
 * left its connection (the socket shut down) for the next call to find
 * dead and replace as its reconnect, also after an interrupt that came as
 * a call ended, when the call had returned what it got: that next call
 * then failed at the first real loss.  Here it is a keyed shorten_locked
 * whose backend is terminated while it waits for the generation lock: it
 * is sent again, with its key, on a new connection, and stores one link.
 */
TEST(Interrupt, TheNextCallKeepsItsReconnect)
{
    GenerationLock lock;
    ClientOptions options;
    options.statement_timeout = std::chrono::milliseconds(0);
    std::vector<RetryCause> causes;
    std::mutex causes_mutex;
    options.on_retry = [&](const RetryEvent &event) {
        std::lock_guard<std::mutex> guard(causes_mutex);
        causes.push_back(event.cause);
    };
    const std::string name = unique_application_name("interrupt-keeps-reconnect");
    Client client(dsn("application_name=" + name), options);
    const int first = backend_pid(name);

    auto interrupted = std::async(std::launch::async,
                                  [&] { return client.shorten_locked(unique_url("ikr-first")); });
    wait_until_waiting_on_lock(first);
    client.interrupt();
    EXPECT_THROW(finish(interrupted), OutcomeUnknown);
    /* Its backend waits for the lock and would not notice before. */
    terminate_backend(first);

    const std::string url = unique_url("ikr-second");
    auto call = std::async(std::launch::async, [&] { return client.shorten_locked(url); });
    /* The call's backend other than gone; 0 if the call ended first. */
    auto observer = connect();
    const auto successor = [&](int gone) {
        for (;;) {
            pqxx::nontransaction query(*observer);
            const pqxx::result rows = query.exec_params(
                "SELECT pid FROM pg_catalog.pg_stat_activity WHERE application_name = $1 "
                "AND pid <> $2",
                name, gone);
            if (rows.size() == 1)
                return rows.at(0).at(0).as<int>();
            if (call.wait_for(std::chrono::milliseconds(10)) == std::future_status::ready)
                return 0;
        }
    };
    const int second = successor(first);
    if (second != 0) {
        wait_until_waiting_on_lock(second);
        terminate_backend(second);
        const int third = successor(second);
        if (third != 0)
            wait_until_waiting_on_lock(third);
    }
    lock.release();
    const std::string code = finish(call);   /* throws if the call could not reconnect */
    EXPECT_EQ(client.resolve_without_click(code), url);
    EXPECT_EQ(links_to(url), 1);
    std::lock_guard<std::mutex> guard(causes_mutex);
    EXPECT_EQ(causes.size(), 2U) << "the new connection after the interrupt, then the reconnect";
}

/* An interrupt that comes between calls ends nothing. */
TEST(Interrupt, BetweenCallsEndsNothing)
{
    Client client(dsn());
    const std::string url = unique_url("interrupt-between");
    const std::string code = client.shorten(url);
    client.interrupt();
    EXPECT_EQ(client.resolve(code), url);
    EXPECT_EQ(clicks(code), 1);
}

/*
 * Nor does it touch the idle connection: the next call runs on the same
 * backend, without a reconnect (which would have spent the call's one).
 */
TEST(Interrupt, BetweenCallsCostsTheNextCallNoReconnect)
{
    std::atomic<int> retries{0};
    ClientOptions options;
    options.on_retry = [&](const RetryEvent &) { ++retries; };
    const std::string name = unique_application_name("interrupt-idle");
    Client client(dsn("application_name=" + name), options);
    const std::string url = unique_url("interrupt-idle");
    const std::string code = client.shorten(url);
    const int pid = backend_pid(name);
    client.interrupt();
    EXPECT_TRUE(client.connected());
    EXPECT_EQ(client.resolve(code), url);
    EXPECT_EQ(retries.load(), 0) << "the next call reconnected";
    EXPECT_EQ(backend_pid(name), pid);

    /* Also after a call that threw. */
    EXPECT_THROW(client.shorten("ftp://example.com/"), InvalidUrl);
    client.interrupt();
    EXPECT_EQ(client.resolve(code), url);
    EXPECT_EQ(retries.load(), 0) << "the next call reconnected";
    EXPECT_EQ(backend_pid(name), pid);
}

namespace {

/* call ended in its connection's setup statements, by an interrupt: not by
 * a deadline (08001, "did not answer within"), nor connected. */
template <typename T>
void expect_setup_interrupted(std::future<T> &call)
{
    try {
        finish(call);
        ADD_FAILURE() << "the call went on while its setup was held";
    } catch (const ConnectionLost &e) {
        EXPECT_EQ(e.sqlstate(), "08006") << e.what();
        EXPECT_NE(std::string(e.what()).find("while preparing statements"), std::string::npos)
            << e.what();
    }
}

} // namespace

/*
 * An interrupt that comes while the connection is being replaced is not
 * lost: the new connection is shut down as soon as it is open, so what it
 * would send before the call (here its lookup of the extension, kept
 * waiting forever by an ACCESS EXCLUSIVE lock on pg_extension) cannot hold
 * the call.
 */
TEST(Interrupt, ReachesAConnectionOpenedAfterIt)
{
    Client *interrupting = nullptr;
    ClientOptions options;
    options.statement_timeout = std::chrono::milliseconds(0);
    options.connect_timeout = std::chrono::seconds(0);   /* only the interrupt can end the setup */
    std::vector<RetryEvent> events;
    options.on_retry = [&](const RetryEvent &event) {
        events.push_back(event);
        interrupting->interrupt();
    };
    const std::string name = unique_application_name("interrupted-reconnect");
    Client client(dsn("application_name=" + name), options);
    interrupting = &client;
    const std::string code = client.shorten(unique_url("interrupted-reconnect"));

    /* The idle connection dies: the next call reconnects, and on_retry
     * interrupts it just before. */
    terminate_backend(backend_pid(name));
    auto locker = connect();
    pqxx::work locking(*locker);
    lock_pg_extension(locking);

    auto call = std::async(std::launch::async, [&] { return client.resolve(code); });
    expect_setup_interrupted(call);
    locking.abort();
    /* The call went through the reconnect, where on_retry interrupted it. */
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].cause, RetryCause::connection_lost);
}

/*
 * With defer_connect, opening the connection is part of the first call, so
 * an interrupt reaches its setup statements: here the lookup of the
 * extension, kept waiting by an ACCESS EXCLUSIVE lock on pg_extension (the
 * session has no statement_timeout, and the connect timeout is off, so
 * only the interrupt can end it).  Eager, the same
 * wait would be in the constructor, before there is a Client to interrupt.
 */
TEST(Interrupt, ReachesTheSetupOfADeferredConnection)
{
    auto locker = connect();
    pqxx::work locking(*locker);
    lock_pg_extension(locking);

    ClientOptions options;
    options.statement_timeout = std::chrono::milliseconds(0);
    options.connect_timeout = std::chrono::seconds(0);   /* only the interrupt can end the setup */
    options.defer_connect = true;
    const std::string name = unique_application_name("interrupted-setup");
    Client client(dsn("application_name=" + name), options);
    EXPECT_FALSE(client.connected());
    auto call = std::async(std::launch::async, [&] { client.connect(); return 0; });
    wait_until_waiting_on_lock(backend_pid(name));
    client.interrupt();
    expect_setup_interrupted(call);
    EXPECT_FALSE(client.connected());
    locking.abort();

    /* The next call opens a connection of its own and runs. */
    const std::string url = unique_url("after-interrupted-setup");
    const std::string code = client.shorten(url);
    EXPECT_TRUE(client.connected());
    EXPECT_EQ(client.resolve(code), url);
}

/*
 * A call that must first replace a connection known to be broken (here
 * after an interrupted call) and is interrupted before it connects (by
 * on_retry, told of the reconnect) ends without connecting at all.
 */
TEST(Interrupt, BeforeAReconnectEndsTheCallWithoutConnecting)
{
    GenerationLock lock;
    Client *interrupting = nullptr;
    bool interrupt_on_retry = false;
    ClientOptions options;
    options.statement_timeout = std::chrono::milliseconds(0);
    options.on_retry = [&](const RetryEvent &) {
        if (interrupt_on_retry)
            interrupting->interrupt();
    };
    const std::string name = unique_application_name("interrupted-before-reconnect");
    Client client(dsn("application_name=" + name), options);
    interrupting = &client;
    const int pid = backend_pid(name);
    auto call = std::async(std::launch::async, [&] { return client.shorten_locked(unique_url("ibr")); });
    wait_until_waiting_on_lock(pid);
    client.interrupt();
    EXPECT_THROW(finish(call), OutcomeUnknown);
    lock.release();
    ASSERT_FALSE(client.connected());

    interrupt_on_retry = true;
    try {
        client.resolve("abc");
        ADD_FAILURE() << "resolved after an interrupt";
    } catch (const ConnectionLost &e) {
        EXPECT_NE(std::string(e.what()).find("interrupted before it was sent"), std::string::npos)
            << e.what();
    }
    EXPECT_FALSE(client.connected());
    auto observer = connect();
    pqxx::nontransaction query(*observer);
    EXPECT_EQ(query.exec_params("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 "
                                "AND pid <> $2",
                                name, pid).at(0).at(0).as<int>(), 0)
        << "a backend was started for the interrupted call";

    interrupt_on_retry = false;
    EXPECT_EQ(client.resolve("abc"), std::nullopt);
    EXPECT_TRUE(client.connected());
}

namespace {

/* When interrupt() comes, relative to a retry's backoff. */
enum class InterruptAt { during_the_wait, before_the_wait };

/*
 * A resolve refused with 40001 is to be tried again after a wait of 2 to 4
 * minutes; interrupt() comes during that wait (from this thread, once
 * on_retry has returned: by the time this thread runs, the call's thread
 * is almost always in the wait), or before it (from on_retry itself).
 * Either way the call ends at once (nothing stored by the failed try,
 * which rolled back) without waiting out the delay or trying again.
 */
void expect_interrupt_ends_the_backoff(InterruptAt when)
{
    const std::string code = Client(dsn()).shorten(unique_url("interrupted-backoff"));
    Client *interrupting = nullptr;
    std::atomic<int> retries{0};
    std::promise<void> waiting;
    ClientOptions options;
    options.isolation = Isolation::repeatable_read;
    options.retry.base_delay = std::chrono::minutes(4);   /* waits of 2 to 4 minutes */
    options.retry.max_delay = std::chrono::minutes(4);
    options.on_retry = [&](const RetryEvent &event) {
        EXPECT_EQ(event.cause, RetryCause::serialization_failure);
        if (retries++ != 0)
            return;
        if (when == InterruptAt::before_the_wait)
            interrupting->interrupt();
        else
            waiting.set_value();   /* the wait starts as this returns */
    };
    const std::string name = unique_application_name("interrupted-backoff");
    Client client(dsn("application_name=" + name), options);
    interrupting = &client;
    const int pid = backend_pid(name);

    auto call = resolve_behind_a_committed_click(client, pid, code);   /* 40001 */
    if (when == InterruptAt::during_the_wait) {
        ASSERT_EQ(waiting.get_future().wait_for(std::chrono::minutes(2)), std::future_status::ready);
        client.interrupt();
    }
    try {
        finish(call);
        ADD_FAILURE() << "the call was tried again after the interrupt";
    } catch (const ConnectionLost &e) {
        EXPECT_NE(std::string(e.what()).find("interrupted before it was sent"), std::string::npos)
            << e.what();
    }
    EXPECT_EQ(retries.load(), 1);
    EXPECT_EQ(clicks(code), 1);   /* the other's; the failed try's rolled back */
}

} // namespace

TEST(Interrupt, EndsTheWaitBeforeARetry)
{
    expect_interrupt_ends_the_backoff(InterruptAt::during_the_wait);
}

TEST(Interrupt, BeforeARetrysWaitEndsTheCallToo)
{
    expect_interrupt_ends_the_backoff(InterruptAt::before_the_wait);
}

/* The connect timeout a caller can set its own deadline by, as libpq applies it. */
TEST(Timeouts, ConnectTimeoutInEffectIsLibpqsOwn)
{
    ClientOptions options;
    options.connect_timeout = std::chrono::seconds(7);
    ASSERT_EQ(std::getenv("PGCONNECT_TIMEOUT"), nullptr) << "the test sets it itself";
    EXPECT_EQ(connect_timeout_in_effect("dbname=x", options), std::chrono::seconds(7));
    EXPECT_EQ(connect_timeout_in_effect("dbname=x connect_timeout=30", options), std::chrono::seconds(30));
    EXPECT_EQ(connect_timeout_in_effect("postgresql:///x?connect_timeout=1", options), std::chrono::seconds(2));
    EXPECT_EQ(connect_timeout_in_effect("dbname=x connect_timeout=0", options), std::chrono::seconds(0));
    EXPECT_EQ(connect_timeout_in_effect("dbname=x"), std::chrono::seconds(10));
    ::setenv("PGCONNECT_TIMEOUT", "25", 1);
    EXPECT_EQ(connect_timeout_in_effect("dbname=x", options), std::chrono::seconds(25));
    EXPECT_EQ(connect_timeout_in_effect("dbname=x connect_timeout=4", options), std::chrono::seconds(4));
    ::setenv("PGCONNECT_TIMEOUT", "soon", 1);
    EXPECT_THROW(connect_timeout_in_effect("dbname=x", options), InvalidArgument);
    ::unsetenv("PGCONNECT_TIMEOUT");
    EXPECT_THROW(connect_timeout_in_effect("dbname=x bogus_option=1", options), InvalidArgument);
    /* libpq's own reading: an int in decimal, blanks around it. */
    EXPECT_EQ(connect_timeout_in_effect("dbname=x connect_timeout=' 30 '", options),
              std::chrono::seconds(30));
    EXPECT_EQ(connect_timeout_in_effect("dbname=x connect_timeout=-5", options),
              std::chrono::seconds(0));
    for (const char *refused : {"connect_timeout=abc", "connect_timeout=10s", "connect_timeout=''",
                                "connect_timeout=0x10", "connect_timeout=2147483648"}) {
        SCOPED_TRACE(refused);
        try {
            connect_timeout_in_effect(std::string("dbname=x ") + refused, options);
            ADD_FAILURE() << "taken";
        } catch (const InvalidArgument &e) {
            EXPECT_EQ(e.sqlstate(), "22023");
            EXPECT_NE(std::string(e.what()).find("for connection option \"connect_timeout\""),
                      std::string::npos)
                << e.what();
        }
    }
    EXPECT_EQ(connect_timeout_in_effect("dbname=x connect_timeout=2147483647", options),
              std::chrono::seconds(2147483647));
    options.connect_timeout = std::chrono::seconds(2147483648LL);
    EXPECT_THROW(connect_timeout_in_effect("dbname=x", options), InvalidArgument);
}

/*
 * What libpq refuses when it connects, a Client refuses when it is made:
 * a connect_timeout it cannot read, or over INT_MAX seconds.  libpq itself
 * refuses both (the second as the connect_timeout the Client adds to the
 * connection string), so every connect would fail with ConnectionLost.
 */
TEST(Timeouts, AConnectTimeoutLibpqCannotTakeIsRefusedWhenTheClientIsMade)
{
    EXPECT_THROW(Client(dsn("connect_timeout=abc")), InvalidArgument);
    ClientOptions deferred;
    deferred.defer_connect = true;
    EXPECT_THROW(Client(dsn("connect_timeout=99999999999"), deferred), InvalidArgument);
    ClientOptions forever;
    forever.connect_timeout = std::chrono::seconds(std::numeric_limits<int>::max() + 1LL);
    try {
        Client client(dsn(), forever);
        ADD_FAILURE() << "a connect_timeout libpq cannot take was taken";
    } catch (const InvalidArgument &e) {
        EXPECT_EQ(e.sqlstate(), "22023");
    }
    /* libpq's own limit is taken, and connects. */
    forever.connect_timeout = std::chrono::seconds(std::numeric_limits<int>::max());
    Client client(dsn(), forever);
    EXPECT_EQ(client.resolve("nosuchcode"), std::nullopt);
}
