/*
 * errors_test.cpp
 *    Each error type, produced by the real server and mapped by SQLSTATE,
 *    and the plain results of shorten and resolve.
 */
#include <string>

#include <gtest/gtest.h>
#include <pqxx/transaction>

#include "test_database.h"
#include "url_shortener/client.h"

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

TEST(Errors, EveryErrorIsAnErrorAndARuntimeError)
{
    Client client(dsn());
    EXPECT_THROW(client.shorten("not a url"), Error);
    EXPECT_THROW(client.shorten("not a url"), std::runtime_error);
}
