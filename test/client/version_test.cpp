/*
 * version_test.cpp
 *    The client's version (macros and the linked library agree), the
 *    server's extension version as Client::server_version reads it, and a
 *    live Client noticing ALTER EXTENSION url_shortener UPDATE.
 */
#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <pqxx/nontransaction>

#include "test_database.h"
#include "url_shortener/client.h"
#include "url_shortener/version.h"

using namespace url_shortener;
using namespace url_shortener::test;

namespace {

/* The extversion of url_shortener in database name. */
std::string installed_version(const std::string &name)
{
    pqxx::connection db("dbname=" + name);
    pqxx::nontransaction query(db);
    return query.exec("SELECT extversion FROM pg_extension WHERE extname = 'url_shortener'")
        .at(0)
        .at(0)
        .as<std::string>();
}

} // namespace

TEST(Version, MacrosAndTheLinkedLibraryAgree)
{
    const std::string from_parts = std::to_string(URL_SHORTENER_CLIENT_VERSION_MAJOR) + "." +
                                   std::to_string(URL_SHORTENER_CLIENT_VERSION_MINOR) + "." +
                                   std::to_string(URL_SHORTENER_CLIENT_VERSION_PATCH);
    EXPECT_EQ(from_parts, URL_SHORTENER_CLIENT_VERSION);
    EXPECT_STREQ(client_version(), URL_SHORTENER_CLIENT_VERSION);
    EXPECT_EQ(URL_SHORTENER_CLIENT_VERSION_NUMBER,
              URL_SHORTENER_CLIENT_VERSION_MAJOR * 10000 + URL_SHORTENER_CLIENT_VERSION_MINOR * 100 +
                  URL_SHORTENER_CLIENT_VERSION_PATCH);
    /* The lifecycle calls (1.1) and this release's additions are in: at least 1.2. */
    EXPECT_GE(URL_SHORTENER_CLIENT_VERSION_NUMBER, 10200);
}

TEST(Version, ServerVersionIsTheInstalledExtensionVersion)
{
    Client client(dsn());
    EXPECT_EQ(client.server_version(), installed_version(database_name));
}

TEST(Version, ALiveClientNoticesAlterExtensionUpdate)
{
    const std::string name = "url_shortener_client_update_test";
    create_database_at(name, "1.0");
    std::vector<RetryEvent> events;
    ClientOptions options;
    options.on_retry = [&events](const RetryEvent &e) { events.push_back(e); };
    Client client("dbname=" + name, options);
    const std::string code = client.shorten(unique_url("update-live"));
    try {
        client.stats(code);
        ADD_FAILURE() << "stats worked against 1.0";
    } catch (const ServerError &e) {
        EXPECT_EQ(e.sqlstate(), "0A000");
        EXPECT_NE(e.hint().find("ALTER EXTENSION url_shortener UPDATE"), std::string::npos);
    }
    EXPECT_EQ(client.server_version(), "1.0");
    EXPECT_TRUE(events.empty());

    {
        pqxx::connection db("dbname=" + name);
        pqxx::nontransaction update(db);
        update.exec("ALTER EXTENSION url_shortener UPDATE");
    }
    const std::string updated = installed_version(name);
    ASSERT_NE(updated, "1.0");

    /* The same Client, not recreated: the 1.1 calls work now, after the
     * one reconnect that prepares the statements anew, which on_retry hears. */
    const std::optional<LinkStats> st = client.stats(code);
    ASSERT_TRUE(st);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].cause, RetryCause::extension_updated);
    EXPECT_EQ(st->url, unique_url("update-live"));
    LinkOptions once;
    once.max_clicks = 1;
    const std::string limited = client.shorten(unique_url("update-live", 2), once);
    EXPECT_TRUE(client.resolve(limited));
    EXPECT_FALSE(client.resolve(limited));
    EXPECT_EQ(client.server_version(), updated);
    EXPECT_TRUE(client.resolve(client.shorten(unique_url("update-live", 3))));
    EXPECT_EQ(events.size(), 1u);
}
