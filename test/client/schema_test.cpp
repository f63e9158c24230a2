/*
 * schema_test.cpp
 *    The client calls the extension's functions by schema-qualified name:
 *    it works with the extension in a schema of its own that is not on the
 *    search_path, a same-named function earlier on the search_path is never
 *    called, and a database without the extension fails at connect.
 */
#include <string>

#include <gtest/gtest.h>
#include <pqxx/nontransaction>

#include "test_database.h"
#include "url_shortener/client.h"

namespace url_shortener::test {
namespace {

constexpr const char *other_database = "url_shortener_client_schema_test";

/* A fresh database with the extension in schema "links" (quoted name: "Links Here"). */
class ExtensionInOwnSchema : public ::testing::Test {
protected:
    static void SetUpTestSuite()
    {
        pqxx::connection maintenance("");
        pqxx::nontransaction admin(maintenance);
        admin.exec(std::string("DROP DATABASE IF EXISTS ") + other_database + " WITH (FORCE)");
        admin.exec(std::string("CREATE DATABASE ") + other_database);

        pqxx::connection db(connection_string());
        pqxx::nontransaction setup(db);
        /* A name that needs quoting, so an unquoted schema would fail. */
        setup.exec("CREATE SCHEMA \"Links Here\"");
        setup.exec("CREATE EXTENSION url_shortener SCHEMA \"Links Here\"");
        /* Decoys on the search_path: a call that reached them would return "decoy". */
        setup.exec("CREATE FUNCTION public.shorten_url(text) RETURNS text LANGUAGE sql AS $$SELECT 'decoy'$$");
        setup.exec("CREATE FUNCTION public.resolve_url(text) RETURNS text LANGUAGE sql AS $$SELECT 'decoy'$$");
        setup.exec("CREATE FUNCTION public.shorten_urls(text[]) RETURNS TABLE(url text, short_code text) "
                   "LANGUAGE sql AS $$SELECT u, 'decoy' FROM unnest($1) u$$");
    }

    static std::string connection_string(const std::string &extra = {})
    {
        return std::string("dbname=") + other_database + (extra.empty() ? "" : " " + extra);
    }

    static long long rows_with(const std::string &code)
    {
        pqxx::connection db(connection_string());
        pqxx::nontransaction query(db);
        return query
            .exec_params("SELECT count(*) FROM \"Links Here\".urls WHERE short_code = $1", code)
            .at(0)
            .at(0)
            .as<long long>();
    }
};

TEST_F(ExtensionInOwnSchema, EveryCallReachesTheExtensionNotTheDecoys)
{
    Client client(connection_string("options='-c search_path=public'"));

    const std::string code = client.shorten("https://example.com/own-schema");
    EXPECT_NE(code, "decoy");
    EXPECT_EQ(rows_with(code), 1);
    EXPECT_EQ(client.resolve(code), std::optional<std::string>("https://example.com/own-schema"));

    const std::string locked = client.shorten_locked("https://example.com/own-schema/locked");
    EXPECT_EQ(rows_with(locked), 1);

    const std::vector<std::string> codes =
        client.shorten_many({"https://example.com/own-schema/1", "https://example.com/own-schema/2"});
    ASSERT_EQ(codes.size(), 2u);
    for (const std::string &c : codes) {
        EXPECT_NE(c, "decoy");
        EXPECT_EQ(rows_with(c), 1);
    }
}

TEST_F(ExtensionInOwnSchema, WorksWithAnEmptySearchPath)
{
    Client client(connection_string("options='-c search_path='"));
    const std::string code = client.shorten("https://example.com/empty-path");
    EXPECT_EQ(rows_with(code), 1);
}

TEST(MissingExtension, IsAServerErrorAtConnect)
{
    /* The maintenance database of the test cluster has no extension. */
    try {
        Client client("dbname=postgres");
        ADD_FAILURE() << "connected to a database without the extension";
    } catch (const ServerError &e) {
        EXPECT_EQ(e.sqlstate(), "42704");
        EXPECT_NE(std::string(e.what()).find("not installed"), std::string::npos);
    }
}

} // namespace
} // namespace url_shortener::test
