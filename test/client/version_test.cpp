/*
 * version_test.cpp
 *    The client's version (the linked library and the header agree, and the
 *    release files name it), the
 *    server's extension version as Client::server_version reads it, and a
 *    live Client noticing ALTER EXTENSION url_shortener UPDATE.
 */
#include <algorithm>
#include <cstring>
#include <fstream>
#include <future>
#include <iterator>
#include <string>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>
#include <pqxx/nontransaction>
#include <pqxx/transaction>

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

TEST(Version, TheLinkedLibraryAgreesWithTheHeader)
{
    EXPECT_STREQ(client_version(), URL_SHORTENER_CLIENT_VERSION);
    /* The lifecycle calls (1.1) and this release's additions are in: at least 1.2. */
    EXPECT_GE(URL_SHORTENER_CLIENT_VERSION_NUMBER, 10200);
}

/*
 * The client's version comes from the control file's default_version (CMake
 * reads it); META.json (PGXN) and debian/changelog are edited by hand at a
 * release, and must name the same version.
 */
TEST(Version, TheReleaseFilesNameTheClientsVersion)
{
    std::ifstream meta_file(URL_SHORTENER_META_JSON);
    ASSERT_TRUE(meta_file) << URL_SHORTENER_META_JSON;
    const std::string meta((std::istreambuf_iterator<char>(meta_file)), std::istreambuf_iterator<char>());
    const boost::json::object top = boost::json::parse(meta).as_object();
    EXPECT_EQ(std::string(top.at("version").as_string()), URL_SHORTENER_CLIENT_VERSION);
    EXPECT_EQ(std::string(top.at("provides").at("url_shortener").at("version").as_string()),
              URL_SHORTENER_CLIENT_VERSION);

    /* "url-shortener (1.7) unstable; ...": the upstream version, in its x.y or x.y.z form */
    std::ifstream changelog(URL_SHORTENER_DEBIAN_CHANGELOG);
    ASSERT_TRUE(changelog) << URL_SHORTENER_DEBIAN_CHANGELOG;
    std::string first;
    std::getline(changelog, first);
    const auto open = first.find('(');
    const auto close = first.find_first_of("-)", open);
    ASSERT_NE(open, std::string::npos) << first;
    ASSERT_NE(close, std::string::npos) << first;
    std::string upstream = first.substr(open + 1, close - open - 1);
    if (std::count(upstream.begin(), upstream.end(), '.') == 1)
        upstream += ".0";
    EXPECT_EQ(upstream, URL_SHORTENER_CLIENT_VERSION) << first;
}

TEST(Version, ServerVersionIsTheInstalledExtensionVersion)
{
    Client client(dsn());
    EXPECT_EQ(client.server_version(), installed_version(database_name));
}

/*
 * The version lookup only reads: a connection lost while it runs changed
 * nothing, so it is retried on a new connection, not OutcomeUnknown (as
 * it was, found in review: before every versioned change against 1.1 to
 * 1.4 too).  The lookup waits on a lock of pg_extension while its backend
 * is terminated.
 */
TEST(Version, AConnectionLostDuringTheVersionLookupIsRetried)
{
    const std::string name = unique_application_name("version-lookup-lost");
    std::vector<RetryCause> retries;
    ClientOptions options;
    options.on_retry = [&](const RetryEvent &event) { retries.push_back(event.cause); };
    Client client(dsn("application_name=" + name), options);
    const std::string expected = client.server_version();
    auto locker = connect();
    pqxx::work locking(*locker);
    lock_pg_extension(locking);
    auto lookup = std::async(std::launch::async, [&] { return client.server_version(); });
    const int pid = backend_pid(name);
    wait_until_waiting_on_lock(pid);
    terminate_backend(pid);
    locking.abort();
    EXPECT_EQ(lookup.get(), expected);
    ASSERT_EQ(retries.size(), 1u);
    EXPECT_EQ(retries[0], RetryCause::connection_lost);
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
