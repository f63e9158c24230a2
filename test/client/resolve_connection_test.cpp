/*
 * resolve_connection_test.cpp
 *    ResolveConnection against the real server, driven by a small event
 *    loop of the test's own (poll(2) on socket(), then read()): a code
 *    resolves and counts one click, an unknown code resolves to nothing and
 *    counts none, statements follow one another on one connection, an idle
 *    connection whose backend is terminated is ConnectionLost, a statement
 *    whose backend is terminated while it waits on a row lock is
 *    OutcomeUnknown and counted nothing, a server refusal (statement
 *    timeout) leaves the connection usable, a batch resolves its codes in
 *    order in one transaction and a refusal of one statement (or at its
 *    commit) rolls the whole batch back, and connecting fails with the Client's errors,
 *    also within the connect timeout when the setup statements get no answer.
 *
 *    The assertions are on outcomes (the answer, the error type and
 *    SQLSTATE, the clicks in the table), never on how long anything took;
 *    every wait is bounded, so a bug fails the test instead of hanging it.
 */
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <future>
#include <limits>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <pqxx/nontransaction>
#include <pqxx/transaction>

#include "test_database.h"
#include "url_shortener/client.h"
#include "url_shortener/resolve_connection.h"

namespace url_shortener::test {
namespace {

/* How long the event loop waits for read() to finish or throw. */
constexpr auto patience = std::chrono::seconds(10);

/*
 * The event loop: waits until socket() is readable (and writable while
 * wants_write(), then flush()es), and calls read() until it returns true
 * or throws.  Throws std::runtime_error when nothing of the kind happened
 * within patience.  On an idle connection read() never returns true, so
 * this returns only by throwing what read() throws (or by timing out).
 */
template <typename Answer>
void read_until_done(ResolveConnection &connection, Answer &answer)
{
    const auto deadline = std::chrono::steady_clock::now() + patience;
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0)
            throw std::runtime_error("read() did not finish within 10 s");
        pollfd watched{};
        watched.fd = connection.socket();
        watched.events = static_cast<short>(POLLIN | (connection.wants_write() ? POLLOUT : 0));
        const int ready = poll(&watched, 1, static_cast<int>(std::max<long long>(left.count(), 1)));
        if (ready < 0) {
            if (errno == EINTR)
                continue;
            throw std::runtime_error(std::string("poll: ") + std::strerror(errno));
        }
        if (ready == 0)
            continue;
        if (watched.revents & POLLOUT)
            connection.flush();
        if ((watched.revents & (POLLIN | POLLERR | POLLHUP)) && connection.read(answer))
            return;
    }
}

/* Sends code and runs the event loop until its answer is in. */
std::optional<std::string> resolve_on(ResolveConnection &connection, const std::string &code)
{
    connection.send(code);
    EXPECT_TRUE(connection.busy());
    std::optional<std::string> url;
    read_until_done(connection, url);
    EXPECT_FALSE(connection.busy());
    return url;
}

/*
 * Sends codes as one batch and runs the event loop, expecting the server to
 * refuse it: returns the SQLSTATE of the ServerError read() threw, and
 * checks that the connection is still usable and idle.  A batch that
 * resolved instead fails the test.
 */
std::string refusal_of(ResolveConnection &connection, const std::vector<std::string> &codes)
{
    connection.send(codes);
    std::vector<std::optional<std::string>> urls;
    std::string sqlstate = "(resolved)";
    try {
        read_until_done(connection, urls);
        ADD_FAILURE() << "the batch resolved; a refusal was expected";
    } catch (const ServerError &e) {
        sqlstate = e.sqlstate();
    }
    EXPECT_TRUE(connection.open());
    EXPECT_FALSE(connection.busy());
    return sqlstate;
}

/* The clicks of every link together. */
long long total_clicks()
{
    auto connection = connect();
    pqxx::nontransaction query(*connection);
    return query.exec("SELECT coalesce(sum(clicks), 0) FROM urls").at(0).at(0).as<long long>();
}

/*
 * A lock on code's row, held by an open transaction on a connection of its
 * own until release() or destruction: resolve_url's UPDATE of the row
 * meanwhile waits on a heavyweight lock.
 */
class RowLock {
public:
    explicit RowLock(const std::string &code)
        : connection_(connect()), holding_(std::make_unique<pqxx::work>(*connection_))
    {
        const pqxx::result rows =
            holding_->exec_params("SELECT 1 FROM urls WHERE short_code = $1 FOR UPDATE", code);
        if (rows.size() != 1)
            throw std::runtime_error("no row to lock for " + code);
    }

    /* Rolls the holding transaction back, which frees the lock. */
    void release() { holding_->abort(); }

private:
    std::unique_ptr<pqxx::connection> connection_;
    std::unique_ptr<pqxx::work> holding_;
};

TEST(ResolveConnection, ResolvesAStoredCodeAndCountsOneClick)
{
    const std::string url = unique_url("rc-resolve");
    const std::string code = Client(dsn()).shorten(url);
    ASSERT_EQ(clicks(code), std::optional<long long>(0));

    ResolveConnection connection(dsn());
    EXPECT_TRUE(connection.open());
    EXPECT_FALSE(connection.busy());
    EXPECT_GE(connection.socket(), 0);

    EXPECT_EQ(resolve_on(connection, code), std::optional<std::string>(url));
    EXPECT_TRUE(connection.open());
    EXPECT_EQ(clicks(code), std::optional<long long>(1));
}

TEST(ResolveConnection, AnUnknownCodeResolvesToNothingAndCountsNothing)
{
    Client(dsn()).shorten(unique_url("rc-unknown"));   /* at least one link to leave alone */
    const long long links = link_count();
    const long long clicked = total_clicks();

    ResolveConnection connection(dsn());
    EXPECT_EQ(resolve_on(connection, "no-such-code"), std::nullopt);
    EXPECT_TRUE(connection.open());
    EXPECT_EQ(total_clicks(), clicked);
    EXPECT_EQ(link_count(), links);
}

TEST(ResolveConnection, StatementsFollowOneAnotherOnOneConnection)
{
    Client client(dsn());
    const std::string first = client.shorten(unique_url("rc-sequence", 1));
    const std::string second = client.shorten(unique_url("rc-sequence", 2));

    ResolveConnection connection(dsn());
    const int socket = connection.socket();
    EXPECT_EQ(resolve_on(connection, first), std::optional<std::string>(unique_url("rc-sequence", 1)));
    EXPECT_EQ(resolve_on(connection, second), std::optional<std::string>(unique_url("rc-sequence", 2)));
    EXPECT_EQ(resolve_on(connection, first), std::optional<std::string>(unique_url("rc-sequence", 1)));
    EXPECT_EQ(connection.socket(), socket);
    EXPECT_TRUE(connection.open());
    EXPECT_EQ(clicks(first), std::optional<long long>(2));
    EXPECT_EQ(clicks(second), std::optional<long long>(1));
}

TEST(ResolveConnection, AnIdleConnectionWhoseBackendIsTerminatedIsConnectionLost)
{
    const std::string name = unique_application_name("rc-idle");
    ResolveConnection connection(dsn("application_name=" + name));
    const int socket = connection.socket();
    terminate_backend(backend_pid(name));

    std::optional<std::string> url;
    try {
        read_until_done(connection, url);
        ADD_FAILURE() << "an idle connection answered a statement it was never sent";
    } catch (const OutcomeUnknown &e) {
        ADD_FAILURE() << "an idle connection's loss was OutcomeUnknown: " << e.what();
    } catch (const ConnectionLost &e) {
        EXPECT_EQ(e.sqlstate(), "08006");
    }
    EXPECT_FALSE(connection.open());
    EXPECT_FALSE(connection.busy());
    EXPECT_EQ(connection.socket(), socket);   /* still the caller's until destroyed */

    /* Sending on it now is refused before anything is sent. */
    try {
        connection.send("no-such-code");
        ADD_FAILURE() << "sent on a lost connection";
    } catch (const ConnectionLost &e) {
        EXPECT_EQ(e.sqlstate(), "08006");
    }
    EXPECT_FALSE(connection.busy());
}

TEST(ResolveConnection, AStatementWhoseBackendIsTerminatedIsOutcomeUnknownAndCountedNothing)
{
    const std::string url = unique_url("rc-killed");
    const std::string code = Client(dsn()).shorten(url);
    const std::string name = unique_application_name("rc-killed");
    ResolveConnection connection(dsn("application_name=" + name));
    const int pid = backend_pid(name);

    RowLock lock(code);
    connection.send(code);
    EXPECT_TRUE(connection.busy());
    wait_until_waiting_on_lock(pid);
    terminate_backend(pid);

    std::optional<std::string> answer;
    try {
        read_until_done(connection, answer);
        ADD_FAILURE() << "the statement answered after its backend was terminated";
    } catch (const OutcomeUnknown &e) {
        EXPECT_EQ(e.sqlstate(), "08007");
    }
    EXPECT_FALSE(connection.open());

    lock.release();
    EXPECT_EQ(clicks(code), std::optional<long long>(0));
}

TEST(ResolveConnection, ABatchResolvesEveryCodeInOrderAndCountsEachClick)
{
    const std::string first_url = unique_url("rc-batch-1");
    const std::string second_url = unique_url("rc-batch-2");
    Client client(dsn());
    const std::string first = client.shorten(first_url);
    const std::string second = client.shorten(second_url);
    ResolveConnection connection(dsn());

    /* The same code twice counts twice: each statement sees the one before. */
    connection.send(std::vector<std::string>{first, "zzzzzzzzzz", second, first});
    EXPECT_TRUE(connection.busy());
    std::vector<std::optional<std::string>> urls;
    read_until_done(connection, urls);
    EXPECT_FALSE(connection.busy());
    const std::vector<std::optional<std::string>> expected{first_url, std::nullopt, second_url,
                                                           first_url};
    EXPECT_EQ(urls, expected);
    EXPECT_EQ(clicks(first), std::optional<long long>(2));
    EXPECT_EQ(clicks(second), std::optional<long long>(1));
    /* And a batch of one after it, on the same connection. */
    EXPECT_EQ(resolve_on(connection, second), std::optional<std::string>(second_url));
    EXPECT_EQ(clicks(second), std::optional<long long>(2));
}

TEST(ResolveConnection, ARefusedStatementRollsTheWholeBatchBack)
{
    const std::string before_url = unique_url("rc-batch-before");
    const std::string locked_url = unique_url("rc-batch-locked");
    const std::string after_url = unique_url("rc-batch-after");
    Client client(dsn());
    const std::string before = client.shorten(before_url);
    const std::string locked = client.shorten(locked_url);
    const std::string after = client.shorten(after_url);
    ClientOptions options;
    options.statement_timeout = std::chrono::milliseconds(1000);
    ResolveConnection connection(dsn(), options);

    /* before's click is made, then locked's statement times out: the
     * batch's transaction is rolled back, and after's never runs. */
    RowLock lock(locked);
    EXPECT_EQ(refusal_of(connection, {before, locked, after}), "57014");   /* query_canceled */
    lock.release();
    EXPECT_EQ(clicks(before), std::optional<long long>(0));
    EXPECT_EQ(clicks(locked), std::optional<long long>(0));
    EXPECT_EQ(clicks(after), std::optional<long long>(0));

    /* The connection is usable again, for a batch as for one. */
    connection.send(std::vector<std::string>{before, locked, after});
    std::vector<std::optional<std::string>> urls;
    read_until_done(connection, urls);
    const std::vector<std::optional<std::string>> expected{before_url, locked_url, after_url};
    EXPECT_EQ(urls, expected);
    EXPECT_EQ(clicks(before), std::optional<long long>(1));
    EXPECT_EQ(clicks(locked), std::optional<long long>(1));
    EXPECT_EQ(clicks(after), std::optional<long long>(1));
}

TEST(ResolveConnection, ARefusalAtCommitRollsTheWholeBatchBack)
{
    const std::string first_url = unique_url("rc-commit-1");
    const std::string refused_url = unique_url("rc-commit-refused");
    Client client(dsn());
    const std::string first = client.shorten(first_url);
    const std::string refused = client.shorten(refused_url);
    /* A deferred constraint trigger on refused's row: every statement of
     * the batch succeeds, and the error comes at the Sync, at commit. */
    auto admin = connect();
    {
        pqxx::nontransaction ddl(*admin);
        ddl.exec0("CREATE FUNCTION pg_temp.refuse_at_commit() RETURNS trigger LANGUAGE plpgsql AS "
                  "$$BEGIN RAISE EXCEPTION 'refused at commit' USING ERRCODE = '23514'; END$$");
        ddl.exec0("CREATE CONSTRAINT TRIGGER rc_refuse_at_commit AFTER UPDATE ON urls "
                  "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.short_code = " +
                  ddl.quote(refused) + ") EXECUTE FUNCTION pg_temp.refuse_at_commit()");
    }
    ResolveConnection connection(dsn());
    EXPECT_EQ(refusal_of(connection, {first, refused}), "23514");
    {
        pqxx::nontransaction ddl(*admin);
        ddl.exec0("DROP TRIGGER rc_refuse_at_commit ON urls");
    }
    EXPECT_EQ(clicks(first), std::optional<long long>(0));
    EXPECT_EQ(clicks(refused), std::optional<long long>(0));
    connection.send(std::vector<std::string>{first, refused});
    std::vector<std::optional<std::string>> urls;
    read_until_done(connection, urls);
    const std::vector<std::optional<std::string>> expected{first_url, refused_url};
    EXPECT_EQ(urls, expected);
    EXPECT_EQ(clicks(refused), std::optional<long long>(1));
}

TEST(ResolveConnection, AServerRefusalLeavesTheConnectionUsable)
{
    const std::string url = unique_url("rc-timeout");
    const std::string code = Client(dsn()).shorten(url);
    ClientOptions options;
    options.statement_timeout = std::chrono::milliseconds(1000);
    ResolveConnection connection(dsn(), options);

    RowLock lock(code);
    EXPECT_EQ(refusal_of(connection, {code}), "57014");   /* query_canceled */

    lock.release();
    EXPECT_EQ(clicks(code), std::optional<long long>(0));
    EXPECT_EQ(resolve_on(connection, code), std::optional<std::string>(url));
    EXPECT_TRUE(connection.open());
    EXPECT_EQ(clicks(code), std::optional<long long>(1));
}

TEST(ResolveConnection, AClassZeroEightErrorOnALiveConnectionIsARefusal)
{
    /* As Citus reports a failed connection to a worker: the batch was
     * refused and rolled back, nothing is in doubt, the connection goes on. */
    const std::string url = unique_url("rc-class-08");
    const std::string code = Client(dsn()).shorten(url);
    RemoteNodeFailure failure(code);
    ResolveConnection connection(dsn());
    EXPECT_EQ(refusal_of(connection, {code}), "08006");
    failure.drop();
    EXPECT_EQ(clicks(code), std::optional<long long>(0));
    EXPECT_EQ(resolve_on(connection, code), std::optional<std::string>(url));
    EXPECT_EQ(clicks(code), std::optional<long long>(1));
}

TEST(ResolveConnection, ADatabaseWithoutTheExtensionIsAServerErrorAtConnect)
{
    /* The maintenance database of the test cluster has no extension. */
    try {
        ResolveConnection connection("dbname=postgres");
        ADD_FAILURE() << "connected to a database without the extension";
    } catch (const ServerError &e) {
        EXPECT_EQ(e.sqlstate(), "42704");
    }
}

/* As Client: a connect_timeout libpq would refuse when connecting is
 * InvalidArgument before anything is opened, not ConnectionLost. */
TEST(ResolveConnection, AConnectTimeoutLibpqCannotTakeIsInvalidArgument)
{
    EXPECT_THROW(ResolveConnection(dsn("connect_timeout=abc")), InvalidArgument);
    ClientOptions forever;
    forever.connect_timeout = std::chrono::seconds(std::numeric_limits<int>::max() + 1LL);
    EXPECT_THROW(ResolveConnection(dsn(), forever), InvalidArgument);
}

TEST(ResolveConnection, AnUnreachableServerIsConnectionLostAtConnect)
{
    try {
        ResolveConnection connection("host=127.0.0.1 port=1 connect_timeout=2");
        ADD_FAILURE() << "connected to a port nothing listens on";
    } catch (const ConnectionLost &e) {
        EXPECT_EQ(e.sqlstate(), "08001");
    }
}

/*
 * connect_timeout bounds the setup statements (the statement timeout, the
 * lookup of the extension, the PREPARE) as it bounds connecting: here the
 * lookup waits for a lock on pg_extension with no statement_timeout, as on
 * a server that authenticated the connection and then went silent.  08001,
 * as a connection that could not be opened; before, it waited for the lock.
 */
TEST(ResolveConnection, SetupStatementsWithNoAnswerAreConnectionLostWithinTheConnectTimeout)
{
    ClientOptions options;
    options.connect_timeout = std::chrono::seconds(2);
    options.statement_timeout = std::chrono::milliseconds(0);
    expect_setup_cut_short_by_connect_timeout([&] { ResolveConnection connection(dsn(), options); });
}

TEST(ResolveConnection, ABadConnectionStringIsInvalidArgument)
{
    EXPECT_THROW(ResolveConnection("not a connection string"), InvalidArgument);
}

/*
 * send()'s preconditions are checked: an empty batch and a send while a
 * batch is in flight are usage errors that change nothing.
 */
TEST(ResolveConnection, AnEmptyBatchOrASendWhileBusyIsAnError)
{
    const std::string url = unique_url("rc-misuse");
    const std::string code = Client(dsn()).shorten(url);
    ResolveConnection connection(dsn());
    EXPECT_THROW(connection.send(std::vector<std::string>{}), Error);
    EXPECT_FALSE(connection.busy());

    connection.send(code);
    ASSERT_TRUE(connection.busy());
    try {
        connection.send(code);
        ADD_FAILURE() << "a second batch was accepted while the first was in flight";
    } catch (const Error &e) {
        EXPECT_EQ(e.sqlstate(), "");
    }
    std::vector<std::optional<std::string>> urls;
    read_until_done(connection, urls);
    ASSERT_EQ(urls.size(), 1u);
    EXPECT_EQ(urls[0], std::optional<std::string>(url));
    EXPECT_EQ(clicks(code), std::optional<long long>(1));
}

/*
 * A code no link can have (a NUL byte, a byte that is not ASCII) is no
 * link, as Client::resolve answers it, without failing the batch: it used
 * to be cut at the NUL and resolved as its prefix, or refused by the
 * server as InvalidUrl 22021, rolling back the batch's other clicks.
 */
TEST(ResolveConnection, ACodeNoLinkCanHaveIsNoLinkAndTheBatchGoesOn)
{
    const std::string url = unique_url("rc-impossible");
    const std::string code = Client(dsn()).shorten(url);
    ResolveConnection connection(dsn());
    const std::string with_nul = code + std::string("\0x", 2);
    connection.send(std::vector<std::string>{"\xff", code, with_nul, "caf\xc3\xa9", code});
    std::vector<std::optional<std::string>> urls;
    read_until_done(connection, urls);
    ASSERT_EQ(urls.size(), 5u);
    EXPECT_EQ(urls[0], std::nullopt);
    EXPECT_EQ(urls[1], std::optional<std::string>(url));
    EXPECT_EQ(urls[2], std::nullopt);
    EXPECT_EQ(urls[3], std::nullopt);
    EXPECT_EQ(urls[4], std::optional<std::string>(url));
    EXPECT_EQ(clicks(code), std::optional<long long>(2));

    /* Only such codes: answered all the same, when the socket turns readable. */
    EXPECT_EQ(resolve_on(connection, std::string("a\0b", 3)), std::nullopt);
    EXPECT_TRUE(connection.open());
    EXPECT_EQ(clicks(code), std::optional<long long>(2));
}

} // namespace
} // namespace url_shortener::test
