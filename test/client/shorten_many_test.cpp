/*
 * shorten_many_test.cpp
 *    Batches: codes come back in input order, each resolves to its URL, and
 *    a batch is stored whole or not at all.  Also the text[] literal the
 *    batch travels in, read back by the server.
 */
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <pqxx/nontransaction>

#include "test_database.h"
#include "text_array.h"
#include "url_shortener/client.h"

using namespace url_shortener;
using namespace url_shortener::test;

TEST(ShortenMany, TenThousandUrlsGetDistinctCodesInInputOrder)
{
    std::vector<std::string> urls;
    for (std::size_t i = 0; i < 10000; ++i)
        urls.push_back(unique_url("many", i));

    Client client(dsn());
    const long long before = link_count();
    const std::vector<std::string> codes = client.shorten_many(urls);

    ASSERT_EQ(codes.size(), urls.size());
    EXPECT_EQ(std::set<std::string>(codes.begin(), codes.end()).size(), urls.size());
    EXPECT_EQ(link_count(), before + 10000);
    for (std::size_t i = 0; i < urls.size(); ++i)
        ASSERT_EQ(client.resolve(codes[i]), urls[i]) << "position " << i;
}

TEST(ShortenMany, ChunksKeepOrderAndReportProgress)
{
    ClientOptions options;
    options.batch_chunk_size = 3;
    Client client(dsn(), options);

    std::vector<std::string> urls;
    for (std::size_t i = 0; i < 10; ++i)
        urls.push_back(unique_url("chunks", i));

    std::vector<std::pair<std::size_t, std::size_t>> reports;
    const std::vector<std::string> codes =
        client.shorten_many(urls, [&](std::size_t done, std::size_t total) {
            reports.emplace_back(done, total);
        });

    const std::vector<std::pair<std::size_t, std::size_t>> expected{
        {3, 10}, {6, 10}, {9, 10}, {10, 10}};
    EXPECT_EQ(reports, expected);
    ASSERT_EQ(codes.size(), urls.size());
    for (std::size_t i = 0; i < urls.size(); ++i)
        EXPECT_EQ(client.resolve(codes[i]), urls[i]) << "position " << i;
}

TEST(ShortenMany, OneBadUrlInALaterChunkStoresNothing)
{
    std::vector<std::string> urls;
    for (std::size_t i = 0; i < 7000; ++i)
        urls.push_back(unique_url("all-or-nothing", i));
    urls[6500] = "javascript:alert(1)";

    Client client(dsn());
    const long long before = link_count();
    try {
        client.shorten_many(urls);
        ADD_FAILURE() << "a batch with a bad URL was stored";
    } catch (const InvalidUrl &e) {
        /* Absolute in the caller's vector, not counted within the 5,000-URL chunk. */
        EXPECT_EQ(e.batch_index(), std::optional<std::size_t>(6500));
        EXPECT_NE(std::string(e.what()).find("URL 6501 of 7000"), std::string::npos) << e.what();
        EXPECT_EQ(e.sqlstate(), "22023");
        EXPECT_EQ(e.detail(), "Only http and https URLs can be shortened.");
    }
    EXPECT_EQ(link_count(), before);
    EXPECT_EQ(links_to(urls[0]), 0);
}

TEST(ShortenMany, TheBadUrlIsNamedByItsPositionInTheCallersVector)
{
    ClientOptions options;
    options.batch_chunk_size = 3;
    Client client(dsn(), options);
    std::vector<std::string> urls;
    for (std::size_t i = 0; i < 10; ++i)
        urls.push_back(unique_url("position", i));
    for (const std::size_t bad : {0u, 2u, 3u, 7u, 9u}) {
        std::vector<std::string> batch = urls;
        batch[bad] = "https://user@example.com/";
        try {
            client.shorten_many(batch);
            ADD_FAILURE() << "stored a batch with a bad URL at " << bad;
        } catch (const InvalidUrl &e) {
            EXPECT_EQ(e.batch_index(), std::optional<std::size_t>(bad));
            EXPECT_NE(std::string(e.what()).find("URL " + std::to_string(bad + 1) + " of 10"),
                      std::string::npos)
                << e.what();
        }
    }
    std::vector<std::string> with_nul = urls;
    with_nul[8] = std::string("https://example.com/\0", 21);
    try {
        client.shorten_many(with_nul);
        ADD_FAILURE() << "sent a NUL byte";
    } catch (const InvalidUrl &e) {
        EXPECT_EQ(e.batch_index(), std::optional<std::size_t>(8));
        EXPECT_EQ(e.sqlstate(), "22021");
        /* what() says which URL; primary_message() what is wrong with it. */
        EXPECT_EQ(std::string(e.what()), "URL 9 of 10 contains a NUL byte");
        EXPECT_EQ(e.primary_message(), "the URL contains a NUL byte");
        EXPECT_TRUE(e.server_message().empty());
    }
    EXPECT_EQ(links_to(urls[0]), 0);
}

TEST(ShortenMany, EmptyBatchIsEmpty)
{
    Client client(dsn());
    EXPECT_TRUE(client.shorten_many({}).empty());
}

TEST(TextArrayLiteral, ServerReadsBackEveryElementUnchanged)
{
    const std::vector<std::string> elements{
        "plain", "", "NULL", "with space", "comma,here", "{braces}", "quote\"d",
        "back\\slash", "\\\"", "trailing\\", "ünïcödé", "tab\there"};
    auto connection = connect();
    pqxx::nontransaction query(*connection);
    const pqxx::result rows = query.exec_params(
        "SELECT e IS NULL, e FROM unnest($1::text[]) WITH ORDINALITY AS a(e, n) ORDER BY n",
        text_array_literal(elements.data(), elements.data() + elements.size()));

    ASSERT_EQ(rows.size(), elements.size());
    for (std::size_t i = 0; i < elements.size(); ++i) {
        EXPECT_FALSE(rows[static_cast<int>(i)][0].as<bool>()) << i;
        EXPECT_EQ(rows[static_cast<int>(i)][1].as<std::string>(), elements[i]) << i;
    }
}
