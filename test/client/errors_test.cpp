/*
 * errors_test.cpp
 *    Each error type, produced by the real server and mapped by SQLSTATE,
 *    and the plain results of shorten and resolve.
 */
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <optional>
#include <string>
#include <typeinfo>
#include <utility>

#include <gtest/gtest.h>
#include <pqxx/except>
#include <pqxx/nontransaction>
#include <pqxx/transaction>

#include "failure_classification.h"
#include "killed_backend.h"
#include "test_database.h"
#include "url_shortener/client.h"
#include "url_shortener/resolve_connection.h"
#include "url_shortener/transactional.h"

using namespace url_shortener;
using namespace url_shortener::test;

TEST(Results, ShortenReturnsACodeThatResolvesToTheUrl)
{
    Client client(dsn());
    const std::string url = unique_url("results");
    const std::string code = client.shorten(url);
    EXPECT_EQ(code.size(), 6u);
    EXPECT_EQ(client.resolve(code), url);
    EXPECT_EQ(clicks(code), 1);
}

TEST(Results, ShortenLockedReturnsACodeThatResolvesToTheUrl)
{
    Client client(dsn());
    const std::string url = unique_url("results-locked");
    EXPECT_EQ(client.resolve(client.shorten_locked(url)), url);
}

TEST(Results, UnknownCodeResolvesToNullopt)
{
    Client client(dsn());
    EXPECT_EQ(client.resolve("no-such-code"), std::nullopt);
    EXPECT_EQ(client.resolve(std::string("a\0b", 3)), std::nullopt);
}

TEST(Errors, ServerRefusalsAreInvalidUrlWithTheirSqlstate)
{
    Client client(dsn());
    const long long before = link_count();

    const struct {
        std::string url;
        const char *sqlstate;
    } cases[] = {
        {"ftp://example.com/file", "22023"},          // scheme not allowed
        {"example.com/relative", "22023"},            // not absolute
        {"https://user@example.com/", "22023"},       // userinfo
        {"https://example.com/a b", "22023"},         // space
        {"https:///no-host", "22023"},                // no host
        {"", "22023"},                                // empty
        {"https://example.com/" + std::string(3000, 'a'), "22001"},  // too long
    };
    for (const auto &c : cases) {
        try {
            client.shorten(c.url);
            ADD_FAILURE() << "accepted " << c.url;
        } catch (const InvalidUrl &e) {
            EXPECT_EQ(e.sqlstate(), c.sqlstate) << c.url;
            EXPECT_FALSE(e.server_message().empty());
            EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
        }
    }
    EXPECT_THROW(client.shorten_locked("ftp://example.com/"), InvalidUrl);
    EXPECT_EQ(link_count(), before);
}

TEST(Errors, NulByteIsRefusedBeforeSending)
{
    Client client(dsn());
    const long long before = link_count();
    try {
        client.shorten(std::string("https://example.com/\0tail", 25));
        ADD_FAILURE() << "accepted a NUL byte";
    } catch (const InvalidUrl &e) {
        EXPECT_EQ(e.sqlstate(), "22021");
    }
    EXPECT_THROW(client.shorten_many({unique_url("nul"), std::string("https://x/\0", 11)}),
                 InvalidUrl);
    EXPECT_EQ(link_count(), before);

    /* update's argument is new_url, as the server names it. */
    const std::string code = client.shorten(unique_url("nul-update"));
    try {
        client.update(code, std::string("https://example.com/\0tail", 25), 1);
        ADD_FAILURE() << "update accepted a NUL byte";
    } catch (const InvalidUrl &e) {
        EXPECT_EQ(e.sqlstate(), "22021");
        EXPECT_EQ(std::string(e.what()), "new_url contains a NUL byte");
    }
    const std::optional<LinkStats> st = client.stats(code);
    ASSERT_TRUE(st);
    EXPECT_EQ(st->version, 1);
}

/*
 * On a UTF8 connection the server refuses bytes that are not UTF-8 before
 * the call runs, naming neither the argument nor the URL of a batch; the
 * client names them first.  A key is an option, so InvalidArgument.
 */
TEST(Errors, BytesThatAreNotUtf8AreNamedBeforeSending)
{
    Client client(dsn());
    const std::string first = unique_url("not-utf8", 1), third = unique_url("not-utf8", 3);
    try {
        client.shorten_many({first, "https://example.com/\xc3\x28", third});
        ADD_FAILURE() << "accepted a URL that is not UTF-8";
    } catch (const InvalidUrl &e) {
        EXPECT_EQ(e.sqlstate(), "22021");
        EXPECT_EQ(e.batch_index(), std::optional<std::size_t>(1));
    }
    try {
        client.shorten_many({first, third}, {"key-one", "key-\xff"});
        ADD_FAILURE() << "accepted a key that is not UTF-8";
    } catch (const InvalidArgument &e) {
        EXPECT_EQ(e.sqlstate(), "22021");
        EXPECT_NE(std::string(e.what()).find("idempotency key 2 of 2"), std::string::npos) << e.what();
    }
    LinkOptions options;
    options.idempotency_key = std::string("key-\xed\xa0\x80");   /* a surrogate, not UTF-8 */
    EXPECT_THROW(client.shorten(first, options), InvalidArgument);
    EXPECT_EQ(links_to(first), 0);
    EXPECT_EQ(links_to(third), 0);

    /* A key in UTF-8 beyond ASCII is a key like any other. */
    options.idempotency_key = unique_url("cl\xc3\xa9-\xe2\x82\xac");
    const std::string code = client.shorten(first, options);
    EXPECT_EQ(client.shorten(first, options), code);
    EXPECT_EQ(links_to(first), 1);
}

TEST(Errors, ACodeNoLinkCanHaveIsNoLinkNotAnError)
{
    /* Codes are ASCII: a NUL byte, or bytes that are not even UTF-8, name
     * no link, for every call on a code, in both APIs. */
    Client client(dsn());
    for (const std::string &code : {std::string("ab\0c", 4), std::string("ab\xff" "c"),
                                   std::string("\xc3\xa9t\xc3\xa9")}) {
        EXPECT_EQ(client.resolve(code), std::nullopt);
        EXPECT_EQ(client.stats(code), std::nullopt);
        EXPECT_FALSE(client.disable(code));
        EXPECT_FALSE(client.enable(code));
        EXPECT_FALSE(client.remove(code));
        EXPECT_EQ(client.update(code, unique_url("impossible-code"), 1), std::nullopt);
        auto c = connect();
        pqxx::work t(*c);
        InTransaction links(t);
        EXPECT_EQ(links.resolve(code), std::nullopt);
        EXPECT_EQ(links.stats(code), std::nullopt);
        EXPECT_FALSE(links.disable(code));
    }
}

TEST(Errors, FullCodeSpaceIsCodeSpaceExhausted)
{
    /* Two possible codes; enough draws that finding the second free one is certain. */
    Client client(dsn("options='-c url_shortener.code_length=1 -c url_shortener.alphabet=ab "
                      "-c url_shortener.max_attempts=200'"));
    const std::string first = client.shorten(unique_url("exhaust", 1));
    const std::string second = client.shorten(unique_url("exhaust", 2));
    EXPECT_NE(first, second);

    const long long before = link_count();
    try {
        client.shorten(unique_url("exhaust", 3));
        ADD_FAILURE() << "a third code in a space of two";
    } catch (const CodeSpaceExhausted &e) {
        EXPECT_EQ(e.sqlstate(), "US001");
    }
    EXPECT_THROW(client.shorten_many({unique_url("exhaust", 4)}), CodeSpaceExhausted);
    EXPECT_EQ(link_count(), before);
}

TEST(Errors, WaitingLongerThanLockTimeoutIsLockTimeout)
{
    auto holder = connect();
    pqxx::work holding(*holder);
    holding.exec("SELECT pg_advisory_xact_lock(1431456851, 1)");

    int retries = 0;
    ClientOptions options;
    options.on_retry = [&](const RetryEvent &) { ++retries; };
    Client client(dsn("options='-c lock_timeout=100ms'"), options);
    const long long before = link_count();
    try {
        client.shorten_locked(unique_url("lock-timeout"));
        ADD_FAILURE() << "shortened while the generation lock was held";
    } catch (const LockTimeout &e) {
        EXPECT_EQ(e.sqlstate(), "55P03");
    }
    EXPECT_EQ(retries, 0);
    holding.abort();
    EXPECT_EQ(link_count(), before);

    /* The lock is free again; the same client works. */
    EXPECT_EQ(client.shorten_locked(unique_url("lock-timeout", 2)).size(), 6u);
}

TEST(Errors, AServerErrorOfClassZeroEightOnALiveConnectionIsAServerErrorNotALostConnection)
{
    /* As Citus reports a failed connection to a worker (08006): libpqxx
     * throws broken_connection, but the connection is alive and the
     * statement failed, so nothing was done and nothing is in doubt. */
    Client client(dsn());
    const std::string code = client.shorten(unique_url("class-08"));
    RemoteNodeFailure failure(code);
    int retries = 0;
    ClientOptions options;
    options.on_retry = [&](const RetryEvent &) { ++retries; };
    Client resolving(dsn(), options);
    try {
        resolving.resolve(code);
        ADD_FAILURE() << "resolved through a trigger that raises 08006";
    } catch (const OutcomeUnknown &e) {
        ADD_FAILURE() << "taken for a lost connection: " << e.what();
    } catch (const ServerError &e) {
        EXPECT_EQ(e.sqlstate(), "08000");
        EXPECT_NE(std::string(e.what()).find("connection to the remote node failed"),
                  std::string::npos)
            << e.what();
    }
    EXPECT_EQ(retries, 0);
    failure.drop();
    EXPECT_EQ(clicks(code), std::optional<long long>(0));
    /* The same client goes on, on the same connection (a reconnect would
     * have been told to on_retry). */
    EXPECT_TRUE(resolving.resolve(code).has_value());
    EXPECT_EQ(retries, 0);
}

/*
 * libpqxx's refusals of how it was used (a statement not prepared, a
 * value that does not convert, a row past the end) end a try as a
 * url_shortener::Error, final: client.h promises no other types.
 */
TEST(Errors, LibpqxxUsageErrorsBecomeAnErrorOfTheClient)
{
    const std::exception_ptr thrown[] = {
        std::make_exception_ptr(pqxx::argument_error("Unknown prepared statement 'x'")),
        std::make_exception_ptr(pqxx::usage_error("Started twice")),
        std::make_exception_ptr(pqxx::conversion_error("Could not convert")),
        std::make_exception_ptr(pqxx::range_error("Row number out of range")),
        std::make_exception_ptr(pqxx::internal_error("bad state")),
    };
    for (const std::exception_ptr &e : thrown) {
        const Failure failure = classify_failure(e, true, true);
        EXPECT_EQ(failure.kind, FailureKind::final);
        ASSERT_TRUE(failure.error);
        try {
            std::rethrow_exception(failure.error);
        } catch (const Error &error) {
            EXPECT_NE(std::string(error.what()).find("url_shortener client"), std::string::npos)
                << error.what();
            /* A plain Error, without SQLSTATE (README): no subclass. */
            EXPECT_EQ(typeid(error), typeid(Error)) << typeid(error).name();
            EXPECT_EQ(error.sqlstate(), "");
        } catch (...) {
            ADD_FAILURE() << "not a url_shortener::Error";
        }
        /* With the connection gone, the loss decides, as for a server's error. */
        const Failure lost = classify_failure(e, false, true);
        EXPECT_EQ(lost.kind, FailureKind::reconnect_retry);
        EXPECT_EQ(lost.cause, RetryCause::connection_lost);
    }
}

TEST(Errors, SearchPathDoesNotMatter)
{
    /* The functions are called by schema-qualified name (schema_test.cpp). */
    Client client(dsn("options='-c search_path=pg_catalog'"));
    const std::string code = client.shorten(unique_url("search-path"));
    EXPECT_EQ(client.resolve(code), std::optional<std::string>(unique_url("search-path")));
}

TEST(Errors, UnreachableServerIsConnectionLost)
{
    EXPECT_THROW(Client("host=/nonexistent-directory port=1"), ConnectionLost);
}

/*
 * With defer_connect the constructor only checks the connection string; the
 * first call fails as the constructor would have, and each later call
 * tries to connect again.
 */
TEST(Errors, ADeferredConnectionFailsAtTheFirstCallNotBefore)
{
    ClientOptions options;
    options.defer_connect = true;
    EXPECT_THROW(Client("port=1 'unterminated", options), InvalidArgument);
    Client client("host=/nonexistent-directory port=1", options);
    EXPECT_FALSE(client.connected());
    /* What the client refuses, or has nothing to send for, needs no server. */
    EXPECT_THROW(client.purge(0), InvalidArgument);
    EXPECT_TRUE(client.shorten_many({}).empty());
    EXPECT_THROW(client.shorten(std::string("https://example.com/\0", 21)), InvalidUrl);
    EXPECT_THROW(client.update("abc", std::string("https://example.com/\0", 21), 1), InvalidUrl);
    LinkOptions zero;
    zero.max_clicks = 0;
    EXPECT_THROW(client.shorten("https://example.com/", zero), InvalidArgument);
    try {
        client.resolve("abc");
        ADD_FAILURE() << "resolved without a server";
    } catch (const ConnectionLost &e) {
        EXPECT_EQ(e.sqlstate(), "08001");
    }
    EXPECT_THROW(client.connect(), ConnectionLost);
    EXPECT_FALSE(client.connected());
}

/* ... and against a real server, the first call connects and runs. */
TEST(Results, ADeferredClientConnectsAtItsFirstCall)
{
    ClientOptions options;
    options.defer_connect = true;
    const std::string name = unique_application_name("deferred");
    Client client(dsn("application_name=" + name), options);
    EXPECT_FALSE(client.connected());
    auto observer = connect();
    pqxx::nontransaction query(*observer);
    EXPECT_EQ(query.exec_params("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1",
                                name).at(0).at(0).as<int>(), 0);
    const std::string url = unique_url("deferred");
    const std::string code = client.shorten(url);
    EXPECT_TRUE(client.connected());
    EXPECT_EQ(client.resolve(code), url);
    EXPECT_EQ(links_to(url), 1);
}

TEST(Errors, EveryErrorIsAnErrorAndARuntimeError)
{
    Client client(dsn());
    EXPECT_THROW(client.shorten("not a url"), Error);
    EXPECT_THROW(client.shorten("not a url"), std::runtime_error);
}

/* Bad options are InvalidArgument, never InvalidUrl; both are InvalidInput. */
TEST(Errors, BadOptionsAreInvalidArgumentNotInvalidUrl)
{
    Client client(dsn());
    const long long before = link_count();
    const std::string url = unique_url("bad-option");

    LinkOptions zero_clicks;
    zero_clicks.max_clicks = 0;
    LinkOptions past;
    past.expires_at = std::chrono::system_clock::now() - std::chrono::hours(1);
    LinkOptions bad_alias;
    bad_alias.alias = "not/allowed";
    LinkOptions long_alias;
    long_alias.alias = std::string(65, 'a');
    LinkOptions reserved;
    reserved.alias = "admin";   /* refused by the server: the list lives in the extension */
    LinkOptions reuse_and_alias;
    reuse_and_alias.reuse = true;
    reuse_and_alias.alias = "reuse-and-alias";

    for (const LinkOptions *o : {&zero_clicks, &past, &bad_alias, &long_alias, &reserved,
                                 &reuse_and_alias}) {
        for (const bool locked : {false, true}) {
            try {
                locked ? client.shorten_locked(url, *o) : client.shorten(url, *o);
                ADD_FAILURE() << "accepted a bad option";
            } catch (const InvalidUrl &e) {
                ADD_FAILURE() << "a bad option reported as InvalidUrl: " << e.what();
            } catch (const InvalidArgument &e) {
                EXPECT_EQ(e.sqlstate(), "22023") << e.what();
                EXPECT_FALSE(e.primary_message().empty());
            }
        }
    }
    try {
        client.shorten(url, reserved);
        ADD_FAILURE() << "accepted a reserved alias";
    } catch (const InvalidInput &e) {
        EXPECT_EQ(e.primary_message(), "alias \"admin\" is reserved");
        EXPECT_FALSE(e.hint().empty());
    }
    try {
        client.purge(0);
        ADD_FAILURE() << "purge(0) accepted";
    } catch (const InvalidArgument &e) {
        EXPECT_EQ(e.sqlstate(), "22023");
        EXPECT_EQ(e.detail(), "It is 0.");
    }
    EXPECT_EQ(links_to(url), 0);
    EXPECT_EQ(link_count(), before);
}

/* With valid options, a bad URL is still InvalidUrl. */
TEST(Errors, ABadUrlWithGoodOptionsIsInvalidUrl)
{
    Client client(dsn());
    LinkOptions options;
    options.max_clicks = 5;
    options.alias = "good-alias-bad-url";
    try {
        client.shorten("ftp://example.com/", options);
        ADD_FAILURE() << "accepted an ftp URL";
    } catch (const InvalidArgument &e) {
        ADD_FAILURE() << "a bad URL reported as InvalidArgument: " << e.what();
    } catch (const InvalidUrl &e) {
        EXPECT_EQ(e.sqlstate(), "22023");
        EXPECT_EQ(e.detail(), "Only http and https URLs can be shortened.");
        EXPECT_FALSE(e.batch_index());
    }
}

/* Detail and hint arrive separately, not only inside the raw text. */
TEST(Errors, DetailAndHintAreSeparateFields)
{
    Client client(dsn());
    try {
        client.shorten("https://user@example.com/");
        ADD_FAILURE() << "accepted user information";
    } catch (const InvalidUrl &e) {
        EXPECT_EQ(e.primary_message(), "url must not contain user information");
        EXPECT_EQ(e.detail(), "A name before \"@\" in the authority can disguise the real host.");
        EXPECT_EQ(e.hint(), "");
        EXPECT_NE(e.server_message().find("DETAIL:"), std::string::npos);
    }
}

TEST(Errors, ConnectionErrorsCarryASqlstate)
{
    try {
        Client("host=/nonexistent-directory port=1");
        ADD_FAILURE() << "connected to nothing";
    } catch (const ConnectionLost &e) {
        EXPECT_EQ(e.sqlstate(), "08001");
        EXPECT_FALSE(e.primary_message().empty());
    }
}

TEST(Errors, AnUnparseableConnectionStringIsInvalidArgument)
{
    for (const char *bad : {"host", "port=1 'unterminated", "postgresql://[::1"}) {
        try {
            Client client(bad);
            ADD_FAILURE() << "parsed " << bad;
        } catch (const InvalidArgument &e) {
            EXPECT_EQ(e.sqlstate(), "22023") << bad;
            EXPECT_NE(std::string(e.what()).find("invalid connection string"), std::string::npos);
        }
    }
}

/*
 * libpq's messages about a malformed URI quote the URI, or the part it
 * could not decode: the password must not reach what() (a CLI's stderr,
 * a server's log).  Before, the first of these put "S3cretPw" there.
 */
TEST(Errors, AMalformedUriDoesNotEchoItsPassword)
{
    for (const char *bad : {"postgresql://app:S3cretPw@[::1/db", "postgres://app:S3cretPw%zz@localhost/db",
                            "postgresql://app:S3cretPw@localhost/db?port=1=2",
                            "postgresql://app:S3cretPw@localhost/db?sslmode",
                            "postgresql://[::1/db?password=S3cretPw",
                            "postgresql://app@localhost/db?password=S3cretPw%zz",
                            "postgresql://app@localhost/db?password=S3cretPw=2"}) {
        SCOPED_TRACE(bad);
        try {
            Client client(bad);
            ADD_FAILURE() << "parsed";
        } catch (const InvalidArgument &e) {
            const std::string what = e.what();
            EXPECT_NE(what.find("invalid connection string"), std::string::npos) << what;
            EXPECT_EQ(what.find("S3cretPw"), std::string::npos) << what;
            EXPECT_EQ(e.server_message().find("S3cretPw"), std::string::npos) << e.server_message();
        }
    }
    /* A password that is also other text of the URI, or of the stars, is
     * replaced where it is the password, not wherever it occurs (that
     * would show what it is, or, for "*", never end). */
    for (const auto &[bad, shown] :
         {std::pair{"postgresql://app:p@[::1/db", "\"postgresql://app:********@[::1/db\""},
          std::pair{"postgresql://postgres:postgres@[::1/postgres",
                    "\"postgresql://postgres:********@[::1/postgres\""},
          std::pair{"postgresql://app:*@[::1/db", "\"postgresql://app:********@[::1/db\""}}) {
        SCOPED_TRACE(bad);
        try {
            Client client(bad);
            ADD_FAILURE() << "parsed";
        } catch (const InvalidArgument &e) {
            EXPECT_NE(std::string(e.what()).find(shown), std::string::npos) << e.what();
        }
    }
}

TEST(Errors, AMovedFromClientThrowsAClearError)
{
    Client client(dsn());
    Client other(std::move(client));
    try {
        client.shorten(unique_url("moved"));   // NOLINT(bugprone-use-after-move): the point
        ADD_FAILURE() << "a moved-from Client worked";
    } catch (const Error &e) {
        EXPECT_NE(std::string(e.what()).find("moved from"), std::string::npos) << e.what();
    }
    /* Every call says so, not only shorten. */
    const std::pair<const char *, std::function<void()>> calls[] = {
        {"resolve", [&] { client.resolve("x"); }},   // NOLINT(bugprone-use-after-move)
        /* a code no link can have: still refused as moved from */
        {"resolve of a code no link has", [&] { client.resolve("\xc3\xa9"); }},
        {"server_version", [&] { client.server_version(); }},
    };
    for (const auto &[name, call] : calls) {
        SCOPED_TRACE(name);
        try {
            call();
            ADD_FAILURE() << "a moved-from Client worked";
        } catch (const Error &e) {
            EXPECT_NE(std::string(e.what()).find("moved from"), std::string::npos) << e.what();
        }
    }
    EXPECT_EQ(other.resolve(other.shorten(unique_url("moved"))), unique_url("moved"));
    client = std::move(other);   /* assigning makes it usable again */
    EXPECT_TRUE(client.resolve(client.shorten(unique_url("moved", 2))));
}

/*
 * libpqxx 6.4 throws its insufficient_privilege without the SQLSTATE; the
 * client fills it in, so a role without EXECUTE gets ServerError 42501.
 */
TEST(Errors, AMissingPrivilegeIsAServerErrorWithItsSqlstate)
{
    {
        auto admin = connect();
        pqxx::nontransaction t(*admin);
        t.exec("DROP ROLE IF EXISTS url_shortener_no_execute");
        t.exec("CREATE ROLE url_shortener_no_execute LOGIN PASSWORD 'no-execute'");
    }
    {
        Client client(dsn("user=url_shortener_no_execute password=no-execute"));
        const long long before = link_count();
        try {
            client.shorten(unique_url("no-execute"));
            ADD_FAILURE() << "a role without EXECUTE stored a link";
        } catch (const ServerError &e) {
            EXPECT_EQ(e.sqlstate(), "42501") << e.what();
            EXPECT_EQ(e.primary_message(), "permission denied for function shorten_url");
        }
        EXPECT_EQ(link_count(), before);
    }
    auto admin = connect();
    pqxx::nontransaction(*admin).exec("DROP ROLE url_shortener_no_execute");
}

/*
 * A setting the server refuses while a connection is set up is the
 * caller's InvalidArgument (the constructors throw nothing else for it),
 * not an InvalidUrl: no URL was sent.
 */
TEST(Errors, ASettingRefusedWhileConnectingIsInvalidArgument)
{
    ClientOptions options;
    options.statement_timeout = std::chrono::hours(24 * 30);   /* over INT_MAX ms */
    try {
        Client client(dsn(), options);
        ADD_FAILURE() << "connected with a 30-day statement_timeout";
    } catch (const InvalidArgument &e) {
        EXPECT_EQ(e.sqlstate(), "22023") << e.what();
    }
    try {
        ResolveConnection connection(dsn(), options);
        ADD_FAILURE() << "connected with a 30-day statement_timeout";
    } catch (const InvalidArgument &e) {
        EXPECT_EQ(e.sqlstate(), "22023") << e.what();
    }
}

/*
 * The server's FATAL report survives a lost connection: libpqxx 6.4 throws
 * "Could not obtain client encoding: not connected." then, and that text
 * was passed on as the server's report.  Now server_message() is libpq's
 * message, which holds the server's.
 */
TEST(Errors, ALostConnectionKeepsTheServersReportNotLibpqxxsText)
{
    GenerationLock lock;
    LinkOptions alias;   /* no key goes along: the loss is not retried */
    alias.alias = "kill-text-" + std::to_string(getpid());
    const std::string name = unique_application_name("kill-text");
    Client client(dsn("application_name=" + name));
    auto call = call_with_backend_killed(
        name, [&] { return client.shorten_locked(unique_url("kill-text"), alias); });
    try {
        finish(call);
        ADD_FAILURE() << "no error after the backend was terminated";
    } catch (const OutcomeUnknown &e) {
        EXPECT_EQ(e.sqlstate(), "08007");
        EXPECT_EQ(std::string(e.server_message()).find("client encoding"), std::string::npos)
            << e.server_message();
        EXPECT_EQ(std::string(e.primary_message()).find("client encoding"), std::string::npos)
            << e.primary_message();
        EXPECT_NE(std::string(e.server_message()).find("terminating connection"), std::string::npos)
            << e.server_message();
        EXPECT_NE(std::string(e.primary_message()).find("terminating connection"),
                  std::string::npos)
            << e.primary_message();
    }
}

/*
 * The same in a transaction of the Client's (any isolation but autocommit):
 * libpqxx's ROLLBACK of the broken transaction used to reconnect-and-close
 * the connection before the failure was read, and server_message() was
 * empty (found in review).
 */
TEST(Errors, ALostConnectionInATransactionKeepsTheServersReport)
{
    GenerationLock lock;
    LinkOptions alias;   /* no key goes along: the loss is not retried */
    alias.alias = "kill-text-tx-" + std::to_string(getpid());
    const std::string name = unique_application_name("kill-text-tx");
    ClientOptions options;
    options.isolation = Isolation::read_committed;
    options.retry.max_attempts = 1;   /* lost before COMMIT: nothing done, else retried */
    Client client(dsn("application_name=" + name), options);
    auto call = call_with_backend_killed(
        name, [&] { return client.shorten_locked(unique_url("kill-text-tx"), alias); });
    try {
        finish(call);
        ADD_FAILURE() << "no error after the backend was terminated";
    } catch (const ConnectionLost &e) {
        EXPECT_NE(std::string(e.server_message()).find("terminating connection"), std::string::npos)
            << "server_message: \"" << e.server_message() << "\"";
        EXPECT_NE(std::string(e.primary_message()).find("terminating connection"),
                  std::string::npos)
            << e.primary_message();
    }
}

/* A WARNING's severity prefix goes, as ERROR's and FATAL's do. */
TEST(Errors, AWarningsSeverityPrefixIsNotPartOfTheMessage)
{
    EXPECT_EQ(ServerReport::parse("WARNING:  there is no transaction in progress").message,
              "there is no transaction in progress");
    EXPECT_EQ(one_line("WARNING:  something\nHINT:  Do this."), "something: Do this.");
}

/* A severity in another language is a label too (the server's lc_messages). */
TEST(Errors, ATranslatedSeverityIsNotPartOfTheMessage)
{
    const ServerReport report =
        ServerReport::parse("FEHLER:  alias \"api\" is reserved\nHINT:  Choose another alias.");
    EXPECT_EQ(report.message, "alias \"api\" is reserved");
    EXPECT_EQ(report.hint, "Choose another alias.");
    EXPECT_EQ(ServerReport::parse("ОШИБКА:  expires_at must be in the future").message,
              "expires_at must be in the future");
    EXPECT_EQ(one_line("ERREUR:  something\nHINT:  Do this."), "something: Do this.");
    /* libpq's own messages have no label, and keep their words. */
    EXPECT_EQ(ServerReport::parse("could not connect to server: Connection refused").message,
              "could not connect to server: Connection refused");
    EXPECT_EQ(ServerReport::parse("server closed the connection unexpectedly").message,
              "server closed the connection unexpectedly");
}

/*
 * Against a server whose lc_messages is German, libpq writes the severity
 * the server sends, "FEHLER:  "; the extension's own messages stay
 * English.  A refused option is still InvalidArgument (it was InvalidUrl,
 * its message read with the label), and no message keeps the label.
 * Needs the de_DE.UTF-8 locale and PostgreSQL's German messages
 * (tools/install-deps makes the locale): skipped without them, except
 * under CI=true, where that fails.
 */
TEST(Errors, ARefusedOptionIsInvalidArgumentWhateverTheServersLanguage)
{
    const std::string german = "options='-c lc_messages=de_DE.UTF-8'";
    bool translated = false;
    try {
        auto probe = connect(german);
        pqxx::nontransaction query(*probe);
        query.exec("SELECT 1 / 0");
    } catch (const pqxx::sql_error &e) {
        translated = std::string(e.what()).rfind("FEHLER:  ", 0) == 0;
    } catch (const pqxx::broken_connection &) {
        /* the server refused the locale */
    }
    if (!translated) {
        const char *ci = std::getenv("CI");
        if (ci && std::string(ci) == "true")
            FAIL() << "the server cannot speak German: no de_DE.UTF-8 locale or no translations";
        GTEST_SKIP() << "the server cannot speak German: no de_DE.UTF-8 locale or no translations";
    }

    Client client(dsn(german));
    const long long before = link_count();
    LinkOptions reserved;
    reserved.alias = "admin";
    LinkOptions past;
    past.expires_at = std::chrono::system_clock::now() - std::chrono::hours(1);
    for (const auto &[option, message] : {std::pair{&reserved, "alias \"admin\" is reserved"},
                                          std::pair{&past, "expires_at must be in the future"}}) {
        SCOPED_TRACE(message);
        try {
            client.shorten(unique_url("german"), *option);
            ADD_FAILURE() << "accepted";
        } catch (const InvalidArgument &e) {
            EXPECT_EQ(e.sqlstate(), "22023");
            EXPECT_EQ(e.primary_message(), message);
            EXPECT_EQ(std::string(e.what()).find("FEHLER"), std::string::npos) << e.what();
        } catch (const InvalidUrl &e) {
            ADD_FAILURE() << "a refused option reported as InvalidUrl: " << e.what();
        }
    }
    try {
        client.shorten("not a url");
        ADD_FAILURE() << "accepted a bad URL";
    } catch (const InvalidUrl &e) {
        EXPECT_EQ(std::string(e.what()).find("FEHLER"), std::string::npos) << e.what();
    }
    EXPECT_EQ(link_count(), before);
}

/*
 * batch_chunk_size outside 1 to 1,000,000 is refused when the Client is
 * made, before connecting: 0 used to behave as 1 unannounced, and above
 * 1,000,000 every full chunk failed with 54000 from shorten_urls.
 */
TEST(Errors, AChunkSizeOutsideItsRangeIsInvalidArgument)
{
    for (const std::size_t size : {std::size_t(0), std::size_t(1000001)}) {
        ClientOptions options;
        options.batch_chunk_size = size;
        try {
            Client client(dsn("port=1"), options);   /* no server there: nothing is tried */
            ADD_FAILURE() << "batch_chunk_size " << size << " accepted";
        } catch (const InvalidArgument &e) {
            EXPECT_EQ(e.sqlstate(), "22023");
            EXPECT_NE(std::string(e.what()).find("batch_chunk_size"), std::string::npos) << e.what();
        }
    }
    ClientOptions largest;
    largest.batch_chunk_size = 1000000;
    const std::string url = unique_url("chunk-largest");
    EXPECT_EQ(Client(dsn(), largest).shorten_many({url}).size(), 1u);

    auto c = connect();
    pqxx::work t(*c);
    InTransaction links(t);
    EXPECT_THROW(links.shorten_many({url}, 0), InvalidArgument);
}

/*
 * A NUL byte in the connection string is refused: libpq reads a C string
 * and would connect with everything after the NUL dropped unseen.
 */
TEST(Errors, ANulByteInTheConnectionStringIsInvalidArgument)
{
    const std::string with_nul("port=1\0dbname=x", 15);
    EXPECT_THROW(Client client(with_nul), InvalidArgument);
    ClientOptions deferred;
    deferred.defer_connect = true;
    EXPECT_THROW(Client client(with_nul, deferred), InvalidArgument);
    EXPECT_THROW(ResolveConnection connection(with_nul), InvalidArgument);
}

/*
 * A statement timeout shorter than the connect timeout that runs out in
 * the setup statements (here the lookup of the extension, waiting on a
 * lock) is ConnectionLost 08001, as client.h promises for setup statements
 * that do not answer, not ServerError 57014.  The lock on pg_extension can
 * also hold the new backend's start itself, before any statement: when
 * the relation cache's init file must be rebuilt (autovacuum of a catalog
 * invalidates it), the backend opens every catalog with a syscache,
 * pg_extension among them, and the connection then ends at the connect
 * timeout instead (seen once in CI).  lock_pg_extension takes the lock
 * only once a probe connects under it; should the file still be
 * invalidated before the connection tried here, such a try is taken again,
 * with the init file rebuilt by a new connection first, up to three times.
 */
TEST(Errors, ASetupStatementCancelledByTheStatementTimeoutIsConnectionLost)
{
    ClientOptions options;
    options.statement_timeout = std::chrono::milliseconds(300);
    options.connect_timeout = std::chrono::seconds(5);
    for (int way = 0; way < 2; ++way) {
        bool reached_the_setup = false;
        for (int attempt = 0; attempt < 3 && !reached_the_setup; ++attempt) {
            auto locker = connect();
            pqxx::work locking(*locker);
            lock_pg_extension(locking);
            try {
                if (way == 0)
                    Client client(dsn(), options);
                else
                    ResolveConnection connection(dsn(), options);
                ADD_FAILURE() << "connected while the extension's lookup could not run";
                reached_the_setup = true;
            } catch (const ConnectionLost &e) {
                EXPECT_EQ(e.sqlstate(), "08001") << e.what();
                if (std::string(e.what()).find("timeout expired") != std::string::npos)
                    continue;   /* the backend's start waited, not a setup statement */
                reached_the_setup = true;
                EXPECT_NE(std::string(e.what()).find("statement timeout"), std::string::npos)
                    << e.what();
                EXPECT_NE(e.server_message().find("statement timeout"), std::string::npos);
            }
        }
        EXPECT_TRUE(reached_the_setup) << "three connections waited at their start, way " << way;
    }
}

/*
 * A refusal the client makes itself, before sending anything, has no
 * server_message(): the server sent nothing, and a DETAIL the client wrote
 * there ("DETAIL:  It has 300 bytes.") would pass for the server's report.
 * Its detail(), hint() and primary_message() are still the client's.  So
 * for the missing extension, which the client finds by a lookup and
 * reports with a HINT of its own.
 */
TEST(Errors, ARefusalOfTheClientsOwnHasNoServerMessageButItsDetailAndHint)
{
    struct Expected {
        std::string primary;
        std::string detail;
        std::string hint;
    };
    const auto check = [](const char *name, const std::function<void()> &call,
                          const Expected &expected) {
        SCOPED_TRACE(name);
        try {
            call();
            ADD_FAILURE() << "no error";
        } catch (const Error &e) {
            EXPECT_EQ(e.server_message(), "");
            EXPECT_EQ(e.primary_message(), expected.primary);
            EXPECT_EQ(e.detail(), expected.detail);
            EXPECT_EQ(e.hint(), expected.hint);
            EXPECT_EQ(std::string(e.what()).find("DETAIL"), std::string::npos) << e.what();
        }
    };
    Client client(dsn());
    const long long before = link_count();
    const std::string url = unique_url("client-refusal");
    LinkOptions long_key;
    long_key.idempotency_key = std::string(300, 'k');
    check("a 300-byte key", [&] { client.shorten(url, long_key); },
          {"idempotency key must be 1 to 255 bytes long", "It has 300 bytes.", ""});
    check("purge(0)", [&] { client.purge(0); }, {"batch_size must be at least 1", "It is 0.", ""});
    ClientOptions chunk;
    chunk.batch_chunk_size = 0;
    check("batch_chunk_size 0", [&] { Client refused(dsn(), chunk); },
          {"batch_chunk_size must be between 1 and 1000000", "It is 0.", ""});
    LinkOptions long_alias;
    long_alias.alias = std::string(65, 'a');
    check("a 65-byte alias", [&] { client.shorten(url, long_alias); },
          {"alias must be 1 to 64 characters long", "The alias has 65 characters.", ""});
    LinkOptions letters_alias;
    std::string forty_e_acute;
    for (int i = 0; i < 40; ++i)
        forty_e_acute += "\xc3\xa9";
    letters_alias.alias = forty_e_acute;
    check("an alias of 40 letters outside ASCII", [&] { client.shorten(url, letters_alias); },
          {"alias contains a character that is not allowed", "The byte at position 1 is not allowed.",
           "An alias uses only A-Z, a-z, 0-9, \"_\" and \"-\"."});
    LinkOptions bad_alias;
    bad_alias.alias = "a b";
    check("an alias with a blank", [&] { client.shorten(url, bad_alias); },
          {"alias contains a character that is not allowed", "The byte at position 2 is not allowed.",
           "An alias uses only A-Z, a-z, 0-9, \"_\" and \"-\"."});
    LinkOptions no_clicks;
    no_clicks.max_clicks = 0;
    check("max_clicks 0", [&] { client.shorten(url, no_clicks); },
          {"max_clicks must be at least 1", "It is 0.", ""});
    LinkOptions key_and_alias;
    key_and_alias.idempotency_key = "client-refusal";
    key_and_alias.alias = "client-refusal";
    check("a key with an alias", [&] { client.shorten(url, key_and_alias); },
          {"idempotency_key cannot be combined with alias or reuse",
           "An alias is its own identity, and reuse already returns the URL's one link.", ""});
    check("two keys for one URL", [&] { client.shorten_many({url}, {"k1", "k2"}); },
          {"shorten_many needs one idempotency key per URL", "It was given 2 keys for 1 URLs.", ""});
    check("no extension", [&] { Client refused("dbname=postgres"); },
          {"the url_shortener extension is not installed in this database", "",
           "Run \"CREATE EXTENSION url_shortener\" in the database the client connects to."});

    auto c = connect();
    pqxx::work t(*c);
    InTransaction links(t);
    check("InTransaction purge(0)", [&] { links.purge(0); },
          {"batch_size must be at least 1", "It is 0.", ""});
    check("InTransaction chunk_size 0", [&] { links.shorten_many({url}, 0); },
          {"chunk_size must be between 1 and 1000000", "It is 0.", ""});
    t.abort();
    auto other = connect("dbname=postgres");
    pqxx::work u(*other);
    check("InTransaction without the extension", [&] { InTransaction refused(u); },
          {"the url_shortener extension is not installed in this database", "",
           "Run \"CREATE EXTENSION url_shortener\" in the database the client connects to."});

    EXPECT_EQ(links_to(url), 0);
    EXPECT_EQ(link_count(), before);
}
