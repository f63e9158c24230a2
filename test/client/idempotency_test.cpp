/*
 * idempotency_test.cpp
 *    Idempotency keys (extension 1.3) as the Client uses them, against the
 *    real server: a connection lost during COMMIT, after the server
 *    committed, is retried with the same key(s) and returns the code(s) the
 *    lost try stored, with no second row; the same key for another URL is
 *    IdempotencyConflict; a call without a key (alias) still ends in
 *    OutcomeUnknown.
 *
 *    "Lost during COMMIT" is made real by commit_hang.h: the backend is
 *    terminated while its COMMIT waits for a synchronous standby that never
 *    comes, so the transaction is committed and the client gets no answer.
 */
#include <sys/wait.h>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <thread>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <pqxx/nontransaction>
#include <pqxx/result>
#include <unistd.h>

#include "commit_hang.h"
#include "failure_classification.h"
#include "killed_backend.h"
#include "test_database.h"
#include "url_shortener/client.h"

using namespace url_shortener;
using namespace url_shortener::test;

namespace {

/* The codes of the rows holding url, in no particular order. */
std::vector<std::string> codes_of(const std::string &url)
{
    auto c = connect();
    pqxx::nontransaction q(*c);
    std::vector<std::string> codes;
    for (const pqxx::row &row :
         q.exec_params("SELECT short_code FROM urls WHERE original_url = $1", url))
        codes.push_back(row.at(0).as<std::string>());
    return codes;
}

/*
 * Options recording every retry; on the first, the hang is released (the
 * lost try is committed by then) and what the table holds for urls is
 * noted, to compare with what the retry returns.
 */
struct RetryWatch {
    CommitsHang *hang = nullptr;
    std::vector<std::string> urls;
    std::vector<RetryEvent> events;
    std::map<std::string, std::vector<std::string>> stored_before_retry;

    ClientOptions options(Isolation isolation = Isolation::autocommit)
    {
        ClientOptions o;
        o.isolation = isolation;
        o.retry.base_delay = std::chrono::milliseconds(1);
        o.retry.max_delay = std::chrono::milliseconds(20);
        o.on_retry = [this](const RetryEvent &e) {
            if (events.empty()) {
                for (const std::string &url : urls)
                    stored_before_retry[url] = codes_of(url);
                if (hang)
                    hang->release();
            }
            events.push_back(e);
        };
        return o;
    }
};

LinkOptions with_key(const std::string &key)
{
    LinkOptions o;
    o.idempotency_key = key;
    return o;
}

/* A key no other test (or run) uses. */
std::string unique_key(const std::string &tag)
{
    return unique_url("key-" + tag);
}

} // namespace

TEST(Idempotency, ShortenLostDuringCommitIsRetriedAndReturnsTheStoredCode)
{
    const std::string url = unique_url("idem-autocommit");
    RetryWatch watch;
    watch.urls = {url};
    const std::string name = unique_application_name("idem-autocommit");
    Client client(dsn("application_name=" + name), watch.options());
    const long long before = link_count();

    CommitsHang hang;
    watch.hang = &hang;
    auto call = call_with_commit_lost(name, [&] { return client.shorten(url); });
    const std::string code = finish(call);

    /* The lost try had stored the link; the retry returned its code and stored no other. */
    ASSERT_EQ(watch.events.size(), 1u);
    EXPECT_EQ(watch.events[0].cause, RetryCause::outcome_unknown);
    EXPECT_EQ(watch.events[0].failed_attempt, 1);
    EXPECT_EQ(watch.stored_before_retry[url], std::vector<std::string>{code});
    EXPECT_EQ(codes_of(url), std::vector<std::string>{code});
    EXPECT_EQ(link_count(), before + 1);
    EXPECT_EQ(client.resolve(code), url);
}

TEST(Idempotency, ACallersKeyLostDuringAnExplicitCommitReturnsTheSameCodeEveryTime)
{
    const std::string url = unique_url("idem-explicit");
    const std::string key = unique_key("explicit");
    RetryWatch watch;
    watch.urls = {url};
    const std::string name = unique_application_name("idem-explicit");
    Client client(dsn("application_name=" + name), watch.options(Isolation::read_committed));
    const long long before = link_count();

    std::string code;
    {
        CommitsHang hang;
        watch.hang = &hang;
        auto call = call_with_commit_lost(name, [&] { return client.shorten(url, with_key(key)); });
        code = finish(call);
    }
    ASSERT_EQ(watch.events.size(), 1u);
    EXPECT_EQ(watch.events[0].cause, RetryCause::outcome_unknown);
    EXPECT_EQ(watch.stored_before_retry[url], std::vector<std::string>{code});

    /* The same key again, from another session: the same code, still one row. */
    EXPECT_EQ(Client(dsn()).shorten(url, with_key(key)), code);
    EXPECT_EQ(codes_of(url), std::vector<std::string>{code});
    EXPECT_EQ(link_count(), before + 1);
}

TEST(Idempotency, TheSameKeyForAnotherUrlIsIdempotencyConflictAndStoresNothing)
{
    Client client(dsn());
    const std::string key = unique_key("conflict");
    const std::string url = unique_url("idem-conflict", 1);
    const std::string other = unique_url("idem-conflict", 2);
    const std::string code = client.shorten(url, with_key(key));
    const long long before = link_count();

    try {
        client.shorten(other, with_key(key));
        ADD_FAILURE() << "the key was taken for another URL";
    } catch (const IdempotencyConflict &e) {
        EXPECT_EQ(e.sqlstate(), "US004");
        /* The other request's code is not told: the key may have been guessed. */
        EXPECT_EQ(e.detail().find(code), std::string::npos) << e.detail();
        EXPECT_NE(e.detail().find("first used"), std::string::npos) << e.detail();
        EXPECT_EQ(e.batch_index(), std::nullopt);
    }
    /* Other limits are another request too. */
    LinkOptions limited = with_key(key);
    limited.max_clicks = 3;
    EXPECT_THROW(client.shorten_locked(url, limited), IdempotencyConflict);

    EXPECT_EQ(link_count(), before);
    EXPECT_EQ(links_to(other), 0);
    EXPECT_EQ(client.shorten_locked(url, with_key(key)), code);   /* locked or not, one key */
}

TEST(Idempotency, ARepeatAfterTheExpiryItAskedForReturnsItsLink)
{
    /* Only a new link's expiry must be ahead; a key's repeat returns its
     * link whenever it comes (a new key with a past expiry is refused). */
    Client client(dsn());
    const std::string url = unique_url("idem-expired");
    LinkOptions options = with_key(unique_key("expired"));
    /* 3 s: time for the first call on a loaded machine (it must store the
     * link while the expiry is ahead), then the repeats come after it. */
    options.expires_at = std::chrono::system_clock::now() + std::chrono::seconds(3);
    const std::string code = client.shorten(url, options);
    std::this_thread::sleep_until(*options.expires_at + std::chrono::milliseconds(200));
    EXPECT_EQ(client.shorten(url, options), code);
    EXPECT_EQ(client.shorten_locked(url, options), code);
    EXPECT_EQ(links_to(url), 1);

    LinkOptions fresh = with_key(unique_key("expired-new"));
    fresh.expires_at = options.expires_at;
    const std::string never = unique_url("idem-expired-new");
    try {
        client.shorten(never, fresh);
        ADD_FAILURE() << "a new link was made with a past expiry";
    } catch (const InvalidArgument &e) {
        EXPECT_EQ(e.sqlstate(), "22023");
    }
    EXPECT_EQ(links_to(never), 0);
}

TEST(Idempotency, ShortenManyLostDuringCommitIsRetriedWithTheSameCodes)
{
    std::vector<std::string> urls;
    for (std::size_t i = 0; i < 5; ++i)
        urls.push_back(unique_url("idem-many", i));
    RetryWatch watch;
    watch.urls = urls;
    ClientOptions options = watch.options();
    options.batch_chunk_size = 2;   /* three statements in the one transaction */
    const std::string name = unique_application_name("idem-many");
    Client client(dsn("application_name=" + name), options);
    const long long before = link_count();

    CommitsHang hang;
    watch.hang = &hang;
    auto call = call_with_commit_lost(name, [&] { return client.shorten_many(urls); });
    const std::vector<std::string> codes = finish(call);

    ASSERT_EQ(codes.size(), urls.size());
    ASSERT_EQ(watch.events.size(), 1u);
    EXPECT_EQ(watch.events[0].cause, RetryCause::outcome_unknown);
    for (std::size_t i = 0; i < urls.size(); ++i) {
        EXPECT_EQ(watch.stored_before_retry[urls[i]], std::vector<std::string>{codes[i]}) << i;
        EXPECT_EQ(codes_of(urls[i]), std::vector<std::string>{codes[i]}) << i;
    }
    EXPECT_EQ(link_count(), before + static_cast<long long>(urls.size()));
}

TEST(Idempotency, ShortenManyWithTheCallersKeysRunTwiceStoresOnce)
{
    std::vector<std::string> urls, keys;
    for (std::size_t i = 0; i < 4; ++i) {
        urls.push_back(unique_url("idem-many-keys", i));
        keys.push_back(unique_key("many-keys-" + std::to_string(i)));
    }
    ClientOptions options;
    options.batch_chunk_size = 3;
    Client client(dsn(), options);
    const long long before = link_count();

    const std::vector<std::string> first = client.shorten_many(urls, keys);
    EXPECT_EQ(client.shorten_many(urls, keys), first);
    EXPECT_EQ(Client(dsn()).shorten_many(urls, keys), first);   /* another session, one chunk */
    EXPECT_EQ(link_count(), before + 4);

    /* Key 4 (the second chunk) for another URL: nothing of the batch is stored. */
    std::vector<std::string> changed = urls;
    changed[3] = unique_url("idem-many-keys-changed");
    changed.insert(changed.begin(), unique_url("idem-many-keys-new"));
    std::vector<std::string> changed_keys = keys;
    changed_keys.insert(changed_keys.begin(), unique_key("many-keys-new"));
    try {
        client.shorten_many(changed, changed_keys);
        ADD_FAILURE() << "a key was taken for another URL";
    } catch (const IdempotencyConflict &e) {
        EXPECT_EQ(e.sqlstate(), "US004");
        EXPECT_EQ(e.batch_index(), std::optional<std::size_t>(4)) << e.what();
    }
    EXPECT_EQ(link_count(), before + 4);
    EXPECT_EQ(links_to(changed[0]), 0);

    EXPECT_THROW(client.shorten_many(urls, std::vector<std::string>(keys.begin(), keys.end() - 1)),
                 InvalidArgument);
    EXPECT_THROW(client.shorten_many({urls[0]}, {std::string()}), InvalidArgument);
    EXPECT_THROW(client.shorten_many({urls[0]}, {std::string(256, 'k')}), InvalidArgument);
}

TEST(Idempotency, KeysAreRefusedWithAliasOrReuseBeforeSending)
{
    Client client(dsn());
    LinkOptions alias = with_key(unique_key("alias"));
    alias.alias = "idem-alias";
    EXPECT_THROW(client.shorten(unique_url("idem-alias"), alias), InvalidArgument);
    LinkOptions reuse = with_key(unique_key("reuse"));
    reuse.reuse = true;
    EXPECT_THROW(client.shorten(unique_url("idem-reuse"), reuse), InvalidArgument);
    EXPECT_THROW(client.shorten(unique_url("idem-empty"), with_key("")), InvalidArgument);
    EXPECT_EQ(links_to(unique_url("idem-alias")), 0);
}

TEST(Idempotency, WithoutAKeyALostCommitIsStillOutcomeUnknown)
{
    /* An alias is its own identity: no key goes with it, so nothing may retry it. */
    const std::string url = unique_url("idem-alias-lost");
    RetryWatch watch;
    const std::string name = unique_application_name("idem-alias-lost");
    Client client(dsn("application_name=" + name), watch.options());
    LinkOptions alias;
    alias.alias = "idem-lost-" + std::to_string(getpid());

    CommitsHang hang;
    auto call = call_with_commit_lost(name, [&] { return client.shorten(url, alias); });
    try {
        finish(call);
        ADD_FAILURE() << "no error after the backend was terminated";
    } catch (const OutcomeUnknown &e) {
        EXPECT_EQ(e.sqlstate(), "08007");
        EXPECT_TRUE(e.idempotency_keys().empty());   /* none was sent */
    }
    hang.release();
    EXPECT_TRUE(watch.events.empty());
    EXPECT_EQ(links_to(url), 1);   /* it was stored: what OutcomeUnknown warns of */
}

TEST(Idempotency, WhenTheRetryCannotBeMadeItIsOutcomeUnknownAndTheKeyStillSettlesIt)
{
    const std::string url = unique_url("idem-no-retry");
    const std::string key = unique_key("no-retry");
    RetryWatch watch;
    ClientOptions options = watch.options();
    options.retry.max_attempts = 1;
    const std::string name = unique_application_name("idem-no-retry");
    Client client(dsn("application_name=" + name), options);

    {
        CommitsHang hang;
        auto call =
            call_with_commit_lost(name, [&] { return client.shorten(url, with_key(key)); });
        try {
            finish(call);
            ADD_FAILURE() << "no error after the backend was terminated";
        } catch (const OutcomeUnknown &e) {
            EXPECT_EQ(e.sqlstate(), "08007");
            EXPECT_NE(std::string(e.what()).find("idempotency key"), std::string::npos)
                << e.what();
            EXPECT_EQ(e.idempotency_keys(), std::vector<std::string>{key});
        }
    }
    EXPECT_TRUE(watch.events.empty());
    const std::vector<std::string> stored = codes_of(url);
    ASSERT_EQ(stored.size(), 1u);
    /* The caller sends its key again: the code the lost call stored, no second row. */
    EXPECT_EQ(client.shorten(url, with_key(key)), stored[0]);
    EXPECT_EQ(codes_of(url), stored);
}

/*
 * The OutcomeUnknown of a retry that could not be made carries the keys
 * the lost call sent, the ones the client drew as well as the caller's,
 * and says that calling again with them settles it: the caller cannot look
 * a link up by URL, and a new call without them would draw new keys and
 * store a second link.  Each case loses a real COMMIT after the server
 * committed, takes the keys from the exception, calls again with them and
 * finds the code the lost try stored, and one link per URL.
 */
TEST(Idempotency, AnOutcomeUnknownCarriesTheKeysThatSettleIt)
{
    RetryWatch watch;
    ClientOptions options = watch.options();
    options.retry.max_attempts = 1;
    options.batch_chunk_size = 2;   /* shorten_many's keys span two statements */
    const std::string name = unique_application_name("idem-keys");
    Client client(dsn("application_name=" + name), options);
    /* The OutcomeUnknown of the call, once its COMMIT is lost (the hang ends with it). */
    const auto lost_commit = [&](const std::function<void()> &call) -> std::optional<OutcomeUnknown> {
        CommitsHang hang;
        auto running = call_with_commit_lost(name, call);
        try {
            finish(running);
            ADD_FAILURE() << "no error after the backend was terminated";
        } catch (const OutcomeUnknown &e) {
            EXPECT_EQ(e.sqlstate(), "08007");
            return e;
        }
        return std::nullopt;
    };
    const std::string settles = "is safe, and returns the code";
    const auto is_drawn_key = [](const std::string &key) {
        return key.size() == 32 && key.find_first_not_of("0123456789abcdef") == std::string::npos;
    };

    /* shorten and shorten_locked without a key of the caller's: the drawn key. */
    for (const bool locked : {false, true}) {
        SCOPED_TRACE(locked ? "shorten_locked" : "shorten");
        const std::string url = unique_url("idem-keys-drawn", locked);
        const std::optional<OutcomeUnknown> e = lost_commit(
            [&] { locked ? client.shorten_locked(url) : client.shorten(url); });
        ASSERT_TRUE(e);
        EXPECT_NE(std::string(e->what()).find(settles), std::string::npos) << e->what();
        EXPECT_NE(std::string(e->what()).find("LinkOptions::idempotency_key"), std::string::npos)
            << e->what();
        ASSERT_EQ(e->idempotency_keys().size(), 1u);
        EXPECT_TRUE(is_drawn_key(e->idempotency_keys()[0])) << e->idempotency_keys()[0];
        const std::vector<std::string> stored = codes_of(url);
        ASSERT_EQ(stored.size(), 1u);   /* the lost try was committed */
        const std::string again = locked
                                      ? client.shorten_locked(url, with_key(e->idempotency_keys()[0]))
                                      : client.shorten(url, with_key(e->idempotency_keys()[0]));
        EXPECT_EQ(again, stored[0]);
        EXPECT_EQ(codes_of(url), stored);
    }

    /* shorten with options, the key drawn: the same options and the key settle it. */
    {
        const std::string url = unique_url("idem-keys-options");
        LinkOptions once;
        once.max_clicks = 3;
        const std::optional<OutcomeUnknown> e = lost_commit([&] { client.shorten(url, once); });
        ASSERT_TRUE(e);
        ASSERT_EQ(e->idempotency_keys().size(), 1u);
        const std::vector<std::string> stored = codes_of(url);
        ASSERT_EQ(stored.size(), 1u);
        once.idempotency_key = e->idempotency_keys()[0];
        EXPECT_EQ(client.shorten(url, once), stored[0]);
        EXPECT_EQ(codes_of(url), stored);
    }

    /* The caller's key: the same key back. */
    {
        const std::string url = unique_url("idem-keys-callers");
        const std::string key = unique_key("keys-callers");
        const std::optional<OutcomeUnknown> e =
            lost_commit([&] { client.shorten(url, with_key(key)); });
        ASSERT_TRUE(e);
        EXPECT_NE(std::string(e->what()).find(settles), std::string::npos) << e->what();
        EXPECT_EQ(e->idempotency_keys(), std::vector<std::string>{key});
        const std::vector<std::string> stored = codes_of(url);
        ASSERT_EQ(stored.size(), 1u);
        EXPECT_EQ(client.shorten(url, with_key(key)), stored[0]);
        EXPECT_EQ(codes_of(url), stored);
    }

    /* shorten_many without keys: one drawn key per URL, in the URLs' order. */
    {
        std::vector<std::string> urls;
        for (std::size_t i = 0; i < 5; ++i)
            urls.push_back(unique_url("idem-keys-many", i));
        const long long before = link_count();
        const std::optional<OutcomeUnknown> e =
            lost_commit([&] { client.shorten_many(urls); });
        ASSERT_TRUE(e);
        EXPECT_NE(std::string(e->what()).find("shorten_many(urls, keys)"), std::string::npos)
            << e->what();
        ASSERT_EQ(e->idempotency_keys().size(), urls.size());
        for (const std::string &key : e->idempotency_keys())
            EXPECT_TRUE(is_drawn_key(key)) << key;
        EXPECT_EQ(link_count(), before + 5);   /* the lost try was committed */
        const std::vector<std::string> codes = client.shorten_many(urls, e->idempotency_keys());
        ASSERT_EQ(codes.size(), urls.size());
        for (std::size_t i = 0; i < urls.size(); ++i)
            EXPECT_EQ(codes_of(urls[i]), std::vector<std::string>{codes[i]}) << i;
        EXPECT_EQ(link_count(), before + 5);
    }

    for (const RetryEvent &e : watch.events)   /* only the reconnects of the calls after */
        EXPECT_NE(e.cause, RetryCause::outcome_unknown);
}

TEST(Idempotency, AStatementKilledWhileItRunsIsRetried)
{
    /* The shared killed-backend setup: the call waits on the generation lock and dies there.
     * It had stored nothing, so any retry stores one link: that the retry
     * sends the same key is shown where the lost try had stored its link
     * (ShortenLostDuringCommitIsRetriedAndReturnsTheStoredCode). */
    const std::string url = unique_url("idem-killed-statement");
    auto lock = std::make_unique<GenerationLock>();
    std::vector<RetryEvent> events;
    ClientOptions options;
    options.retry.base_delay = std::chrono::milliseconds(1);
    options.on_retry = [&](const RetryEvent &e) {
        events.push_back(e);
        lock->release();   /* let the retry through */
    };
    const std::string name = unique_application_name("idem-killed-statement");
    Client client(dsn("application_name=" + name), options);
    const long long before = link_count();

    auto call = call_with_backend_killed(name, [&] { return client.shorten_locked(url); });
    const std::string code = finish(call);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].cause, RetryCause::outcome_unknown);
    EXPECT_EQ(codes_of(url), std::vector<std::string>{code});
    EXPECT_EQ(link_count(), before + 1);
}

TEST(Idempotency, AgainstExtension12NoKeyIsSentAndACallersKeyIsRefused)
{
    const std::string name = std::string(database_name) + "_v12";
    create_database_at(name, "1.2");
    Client client("dbname=" + name);
    const std::string url = unique_url("idem-v12");
    EXPECT_EQ(client.resolve(client.shorten(url)), url);
    EXPECT_EQ(client.shorten_many({url}).size(), 1u);
    try {
        client.shorten(url, with_key(unique_key("v12")));
        ADD_FAILURE() << "a key was accepted by 1.2";
    } catch (const ServerError &e) {
        EXPECT_EQ(e.sqlstate(), "0A000");
        EXPECT_EQ(std::string(e.what()).rfind(
                      "an idempotency key needs url_shortener 1.3, the database has 1.2", 0),
                  0u)
            << e.what();
        /* The client's own report: its HINT, and no text passed off as the server's. */
        EXPECT_EQ(e.hint(), "Run ALTER EXTENSION url_shortener UPDATE in the database.");
        EXPECT_EQ(e.server_message(), "");
    }
    EXPECT_THROW(client.shorten_many({url}, {unique_key("v12-many")}), ServerError);

    /* import: without keys against 1.2, and --idempotency-prefix refused (exit 5). */
    const std::string import = "PGDATABASE=" + name + " " + URL_SHORTENER_CLI + " import ";
    const std::string input = " - > /dev/null 2>&1 <<< " + url;
    EXPECT_EQ(WEXITSTATUS(std::system(("bash -c '" + import + input + "'").c_str())), 0);
    EXPECT_EQ(WEXITSTATUS(std::system(
                  ("bash -c '" + import + "--idempotency-prefix v12" + input + "'").c_str())),
              5);
}

TEST(Idempotency, TheServersRefusalOfAKeyIsInvalidArgumentAndUs004IsIdempotencyConflict)
{
    /*
     * What the client checks before sending, were it to reach the server
     * anyway: the server's own refusals, made for real, typed as the
     * client types a keyed call's failure (by SQLSTATE and the message's
     * first words, which these checks keep in step with the extension).
     */
    const CallArguments keyed{true, false, true};
    const auto type_of_refusal = [&](const std::string &statement) {
        auto connection = connect();
        pqxx::nontransaction refused(*connection);
        try {
            refused.exec(statement);
            return std::string("taken");
        } catch (const pqxx::sql_error &server) {
            try {
                std::rethrow_exception(error_for_sqlstate(server.sqlstate(), server.what(), keyed));
            } catch (const IdempotencyConflict &) {
                return std::string("IdempotencyConflict");
            } catch (const InvalidArgument &) {
                return std::string("InvalidArgument");
            } catch (const InvalidUrl &) {
                return std::string("InvalidUrl");
            } catch (const Error &e) {
                return std::string("Error ") + e.sqlstate();
            }
        }
    };
    const std::string key = unique_key("refusals");
    EXPECT_EQ(type_of_refusal("SELECT shorten_url('https://example.com/k', "
                              "idempotency_key => repeat('k', 256))"),
              "InvalidArgument");
    EXPECT_EQ(type_of_refusal("SELECT shorten_url('https://example.com/k', idempotency_key => '')"),
              "InvalidArgument");
    EXPECT_EQ(type_of_refusal("SELECT * FROM shorten_urls(ARRAY['https://example.com/a', "
                              "'https://example.com/b'], ARRAY['" + key + "-one'])"),
              "InvalidArgument");
    EXPECT_EQ(type_of_refusal("SELECT * FROM shorten_urls(ARRAY['https://example.com/a'], "
                              "ARRAY[NULL::text])"),
              "InvalidArgument");
    EXPECT_EQ(type_of_refusal("SELECT shorten_url('ftp://example.com/k', idempotency_key => '" +
                              key + "-ftp')"),
              "InvalidUrl");
    EXPECT_EQ(type_of_refusal("SELECT shorten_url('https://example.com/first', idempotency_key => '" +
                              key + "')"),
              "taken");
    EXPECT_EQ(type_of_refusal("SELECT shorten_url('https://example.com/second', "
                              "idempotency_key => '" + key + "')"),
              "IdempotencyConflict");
}
