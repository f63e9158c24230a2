/*
 * transactional_test.cpp
 *    InTransaction (url_shortener/transactional.h): links made in the
 *    caller's transaction commit and roll back with the caller's own rows,
 *    errors are typed as the Client's, nothing is retried, and a lost
 *    connection is ConnectionLost in a transaction, OutcomeUnknown in a
 *    nontransaction.
 */
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <pqxx/connection>
#include <pqxx/nontransaction>
#include <pqxx/transaction>

#include "killed_backend.h"
#include "test_database.h"
#include "url_shortener/transactional.h"

using namespace url_shortener;
using namespace url_shortener::test;

namespace {

/* A table of the caller's own, created once per process. */
void create_orders()
{
    auto c = connect();
    pqxx::nontransaction t(*c);
    t.exec("CREATE TABLE IF NOT EXISTS orders (id serial PRIMARY KEY, tracking_code text)");
}

/*
 * Kills the backend of a connection while shorten_locked, called in a
 * Transaction on it, waits for the generation lock; expects the call to
 * throw Lost with sqlstate, and no link stored once the lock is free.
 */
template <typename Transaction, typename Lost>
void expect_lost_connection(const std::string &tag, const std::string &sqlstate)
{
    GenerationLock lock;

    const std::string name = unique_application_name(tag);
    auto c = connect("application_name=" + name);
    const std::string url = unique_url(tag);
    auto call = call_with_backend_killed(name, [&] {
        Transaction t(*c);
        InTransaction links(t);
        return links.shorten_locked(url);
    });
    try {
        finish(call);
        ADD_FAILURE() << "no error after the backend was terminated";
    } catch (const Lost &e) {
        EXPECT_EQ(e.sqlstate(), sqlstate);
    }
    lock.release();
    EXPECT_EQ(links_to(url), 0);
}

} // namespace

TEST(InTransaction, TheLinkCommitsWithTheCallersRow)
{
    create_orders();
    auto c = connect();
    const std::string url = unique_url("txn-commit");
    std::string code;
    int order = 0;
    {
        pqxx::work t(*c);
        order = t.exec("INSERT INTO orders DEFAULT VALUES RETURNING id").at(0).at(0).as<int>();
        InTransaction links(t);
        code = links.shorten(url);
        t.exec_params("UPDATE orders SET tracking_code = $1 WHERE id = $2", code, order);
        EXPECT_EQ(links.resolve(code), url);   /* visible inside before COMMIT */
        t.commit();
    }
    Client client(dsn());
    EXPECT_EQ(client.resolve(code), url);
    pqxx::nontransaction check(*c);
    EXPECT_EQ(check.exec_params("SELECT tracking_code FROM orders WHERE id = $1", order)
                  .at(0)
                  .at(0)
                  .as<std::string>(),
              code);
}

TEST(InTransaction, RollingBackTakesTheLinkAlong)
{
    create_orders();
    auto c = connect();
    const std::string url = unique_url("txn-abort");
    const std::vector<std::string> many{unique_url("txn-abort", 1), unique_url("txn-abort", 2)};
    {
        pqxx::work t(*c);
        t.exec("INSERT INTO orders DEFAULT VALUES");
        InTransaction links(t);
        links.shorten(url);
        LinkOptions once;
        once.max_clicks = 1;
        links.shorten_locked(unique_url("txn-abort", 3), once);
        EXPECT_EQ(links.shorten_many(many, 1).size(), 2u);
        t.abort();
    }
    EXPECT_EQ(links_to(url), 0);
    EXPECT_EQ(links_to(many[0]), 0);
    EXPECT_EQ(links_to(unique_url("txn-abort", 3)), 0);
}

TEST(InTransaction, ClientSideRefusalsLeaveTheTransactionUsable)
{
    auto c = connect();
    pqxx::work t(*c);
    InTransaction links(t);
    LinkOptions zero;
    zero.max_clicks = 0;
    EXPECT_THROW(links.shorten(unique_url("txn-refuse"), zero), InvalidArgument);
    EXPECT_THROW(links.purge(0), InvalidArgument);
    EXPECT_THROW(links.shorten(std::string("https://example.com/\0", 21)), InvalidUrl);
    /* Bytes that are not UTF-8 (the connection's encoding), named. */
    try {
        links.shorten_many({unique_url("txn-refuse", 1), "https://example.com/\xc3\x28"});
        ADD_FAILURE() << "accepted a URL that is not UTF-8";
    } catch (const InvalidUrl &e) {
        EXPECT_EQ(e.batch_index(), std::optional<std::size_t>(1));
    }
    EXPECT_THROW(links.shorten_many({unique_url("txn-refuse", 1)}, {"key-\xff"}), InvalidArgument);
    LinkOptions bad_key;
    bad_key.idempotency_key = std::string("key-\xff");
    EXPECT_THROW(links.shorten(unique_url("txn-refuse", 1), bad_key), InvalidArgument);
    /* Nothing was sent, so the transaction goes on. */
    const std::string code = links.shorten(unique_url("txn-refuse"));
    t.commit();
    EXPECT_EQ(links_to(unique_url("txn-refuse")), 1);
    EXPECT_EQ(Client(dsn()).resolve(code), unique_url("txn-refuse"));
}

TEST(InTransaction, ServerRefusalsAreTypedAsTheClientTypesThem)
{
    auto c = connect();
    {
        pqxx::work t(*c);
        InTransaction links(t);
        try {
            links.shorten("ftp://example.com/");
            ADD_FAILURE() << "accepted ftp";
        } catch (const InvalidUrl &e) {
            EXPECT_EQ(e.sqlstate(), "22023");
            EXPECT_EQ(e.detail(), "Only http and https URLs can be shortened.");
        }
    }
    {
        pqxx::work t(*c);
        InTransaction links(t);
        LinkOptions reserved;
        reserved.alias = "admin";
        EXPECT_THROW(links.shorten(unique_url("txn-reserved"), reserved), InvalidArgument);
    }
    {
        pqxx::work t(*c);
        InTransaction links(t);
        std::vector<std::string> urls;
        for (int i = 0; i < 7; ++i)
            urls.push_back(unique_url("txn-batch", i));
        urls[5] = "not a url";
        try {
            links.shorten_many(urls, 2);
            ADD_FAILURE() << "stored a bad batch";
        } catch (const InvalidUrl &e) {
            EXPECT_EQ(e.batch_index(), std::optional<std::size_t>(5));
        }
    }
    {
        pqxx::work t(*c);
        InTransaction links(t);
        const std::string code = links.shorten(unique_url("txn-edit"));
        const std::optional<LinkStats> st = links.stats(code);
        ASSERT_TRUE(st);
        EXPECT_EQ(links.update(code, unique_url("txn-edit", 2), st->version),
                  std::optional<long long>(st->version + 1));
        EXPECT_THROW(links.update(code, unique_url("txn-edit", 3), st->version), VersionConflict);
    }
    EXPECT_EQ(links_to(unique_url("txn-edit")), 0);
    EXPECT_EQ(links_to(unique_url("txn-batch", 0)), 0);
}

/*
 * A key the client passes (200 bytes as sent, in LATIN1) and the server
 * refuses (400 bytes in UTF-8, over its 255): InvalidArgument, the key
 * being an argument of the call, as the Client types it; not InvalidUrl.
 */
TEST(InTransaction, TheServersRefusalOfAKeyIsInvalidArgument)
{
    LinkOptions keyed;
    keyed.idempotency_key = std::string(200, '\xe9');
    const std::string url = unique_url("txn-long-key");
    auto c = connect("client_encoding=LATIN1");
    {
        pqxx::work t(*c);
        InTransaction links(t);
        try {
            links.shorten(url, keyed);
            ADD_FAILURE() << "the server took a key of 400 bytes";
        } catch (const InvalidUrl &e) {
            ADD_FAILURE() << "typed as a refused URL: " << e.what();
        } catch (const InvalidArgument &e) {
            EXPECT_EQ(e.sqlstate(), "22023");
            EXPECT_EQ(e.primary_message().rfind("idempotency key", 0), 0u) << e.what();
        }
    }
    Client client(dsn("client_encoding=LATIN1"));
    EXPECT_THROW(client.shorten(url, keyed), InvalidArgument);
    EXPECT_EQ(links_to(url), 0);
}

TEST(InTransaction, InANontransactionEachCallCommitsByItself)
{
    auto c = connect();
    pqxx::nontransaction t(*c);
    InTransaction links(t);
    const std::string code = links.shorten(unique_url("txn-none"));
    EXPECT_TRUE(links.disable(code));
    EXPECT_FALSE(links.resolve(code));
    EXPECT_TRUE(links.enable(code));
    EXPECT_EQ(links.server_version(), Client(dsn()).server_version());
    EXPECT_EQ(links_to(unique_url("txn-none")), 1);
}

TEST(InTransaction, ALostConnectionIsConnectionLostInATransactionAndNotRetried)
{
    expect_lost_connection<pqxx::work, ConnectionLost>("txn-kill", "08006");
}

TEST(InTransaction, ALostConnectionIsOutcomeUnknownInANontransaction)
{
    expect_lost_connection<pqxx::nontransaction, OutcomeUnknown>("nontxn-kill", "08007");
}

/*
 * A call after the caller's transaction was committed or aborted is a
 * usage error, and nothing is stored: libpqxx 6.4's exec_params would have
 * run the statement by itself, in autocommit, outside the transaction the
 * link belonged to ("the order and its link, or neither").
 */
TEST(InTransaction, ACallAfterTheTransactionEndedIsAnErrorAndStoresNothing)
{
    auto c = connect();
    const std::string url = unique_url("txn-ended");
    for (const bool commit : {false, true}) {
        {
            pqxx::work t(*c);
            InTransaction links(t);
            if (commit)
                t.commit();
            else
                t.abort();
            EXPECT_THROW(links.shorten(url), Error) << (commit ? "after commit" : "after abort");
            EXPECT_THROW(links.resolve("abcdef"), Error);
            try {
                links.shorten_many({url});
                ADD_FAILURE() << "shorten_many after the transaction ended";
            } catch (const Error &e) {
                EXPECT_EQ(e.sqlstate(), "");
                EXPECT_NE(std::string(e.what()).find("has ended"), std::string::npos) << e.what();
            }
        }
        {
            pqxx::nontransaction t(*c);
            InTransaction links(t);
            t.commit();
            EXPECT_THROW(links.shorten(url), Error);
        }
    }
    EXPECT_EQ(links_to(url), 0);

    /* The connection is the caller's as before: a new transaction works. */
    pqxx::work t(*c);
    InTransaction links(t);
    const std::string code = links.shorten(url);
    t.commit();
    EXPECT_EQ(links_to(url), 1);
    EXPECT_EQ(Client(dsn()).resolve(code), url);
}

/*
 * On a connection already lost, nothing is sent and the caller's
 * connection stays closed: libpqxx 6.4 reopened it by itself for the
 * constructor's lookup (a fresh autocommit session the caller's next
 * exec_params would have run in), and the failure was ServerError 08000
 * (found in review).  A call of an InTransaction made before the loss is
 * ConnectionLost with nothing sent too.
 */
TEST(InTransaction, OnAConnectionAlreadyLostNothingIsSentNorReopened)
{
    const std::string name = unique_application_name("txn-already-lost");
    auto c = connect("application_name=" + name);
    pqxx::work t(*c);
    InTransaction before(t);
    terminate_backend(backend_pid(name));
    EXPECT_ANY_THROW(t.exec_params("SELECT 1"));   /* libpq notices the loss */
    ASSERT_FALSE(c->is_open());
    try {
        InTransaction links(t);
        ADD_FAILURE() << "an InTransaction was made on a lost connection";
    } catch (const ConnectionLost &e) {
        EXPECT_NE(std::string(e.what()).find("nothing was sent"), std::string::npos) << e.what();
    }
    EXPECT_THROW(before.shorten(unique_url("txn-already-lost")), ConnectionLost);
    EXPECT_FALSE(c->is_open()) << "libpqxx reopened the caller's connection";
    EXPECT_EQ(links_to(unique_url("txn-already-lost")), 0);
}

/* A lazy connection not opened yet is opened by the first call, as before. */
TEST(InTransaction, ALazyConnectionOpensOnTheFirstCall)
{
    pqxx::lazyconnection c(dsn());
    ASSERT_FALSE(c.is_open());
    pqxx::nontransaction t(c);
    InTransaction links(t);
    const std::string code = links.shorten(unique_url("txn-lazy"));
    EXPECT_TRUE(c.is_open());
    EXPECT_EQ(links_to(unique_url("txn-lazy")), 1);
    EXPECT_EQ(Client(dsn()).resolve(code), unique_url("txn-lazy"));
}

/*
 * The server's report is not replaced by libpqxx's text when the server
 * ends the connection: on the caller's connection the client cannot read
 * libpq's message, so server_message() is empty and primary_message() is
 * what(), never "Could not obtain client encoding: not connected.".
 */
TEST(InTransaction, ALostConnectionCarriesNoTextOfLibpqxxs)
{
    GenerationLock lock;
    const std::string name = unique_application_name("txn-kill-text");
    auto c = connect("application_name=" + name);
    auto call = call_with_backend_killed(name, [&] {
        pqxx::work t(*c);
        InTransaction links(t);
        return links.shorten_locked(unique_url("txn-kill-text"));
    });
    try {
        finish(call);
        ADD_FAILURE() << "no error after the backend was terminated";
    } catch (const ConnectionLost &e) {
        /* The connection is the caller's: no report of the server's is
         * read from it, so server_message() is empty (README), and the
         * message is the client's, without libpqxx's text. */
        EXPECT_EQ(e.server_message(), "");
        EXPECT_EQ(e.sqlstate(), "08006");
        EXPECT_EQ(std::string(e.what()).find("encoding"), std::string::npos) << e.what();
        EXPECT_EQ(e.primary_message(), e.what());
    }
}
