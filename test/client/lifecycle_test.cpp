/*
 * lifecycle_test.cpp
 *    The 1.1 calls against the real server: options of shorten, update with
 *    its VersionConflict, remove, disable/enable, stats and purge, the
 *    typed errors they raise, and a clean refusal against extension 1.0.
 */
#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <pqxx/nontransaction>
#include <pqxx/transaction>

#include "scoped_tz.h"
#include "test_database.h"
#include "url_shortener/client.h"
#include "url_shortener/transactional.h"

namespace url_shortener::test {
namespace {

using std::chrono::hours;
using std::chrono::system_clock;

/*
 * A login role granted EXECUTE on grants (a list of signatures) while it
 * lives; revoked and dropped at its end.  connection_string() logs in as it.
 */
class GrantedRole {
public:
    GrantedRole(std::string role, std::string grants) : role_(std::move(role)), grants_(std::move(grants))
    {
        auto admin = connect();
        pqxx::nontransaction t(*admin);
        t.exec("DROP ROLE IF EXISTS " + role_);
        t.exec("CREATE ROLE " + role_ + " LOGIN PASSWORD 'granted'");
        t.exec("GRANT EXECUTE ON FUNCTION " + grants_ + " TO " + role_);
    }
    ~GrantedRole()
    {
        try {
            auto admin = connect();
            pqxx::nontransaction t(*admin);
            t.exec("REVOKE ALL ON FUNCTION " + grants_ + " FROM " + role_);
            t.exec("DROP ROLE " + role_);
        } catch (const std::exception &e) {
            ADD_FAILURE() << "could not drop role " << role_ << ": " << e.what();
        }
    }
    GrantedRole(const GrantedRole &) = delete;
    GrantedRole &operator=(const GrantedRole &) = delete;

    const std::string &name() const { return role_; }
    std::string connection_string(const std::string &more = "") const
    {
        return dsn("user=" + role_ + " password=granted" + (more.empty() ? "" : " " + more));
    }

private:
    const std::string role_;
    const std::string grants_;
};

/* An alias no other test or run uses. */
std::string unique_alias(const std::string &tag)
{
    const std::string url = unique_url(tag);
    std::string alias = tag;
    for (const char c : url.substr(url.find(tag) + tag.size()))
        if ((c >= '0' && c <= '9') || c == '-')
            alias += c;
    return alias.substr(0, 64);
}

TEST(Lifecycle, AliasIsStoredAndATakenAliasIsAliasTaken)
{
    Client client(dsn());
    const std::string alias = unique_alias("alias");
    LinkOptions options;
    options.alias = alias;

    EXPECT_EQ(client.shorten(unique_url("alias", 1), options), alias);
    EXPECT_EQ(client.resolve(alias), std::optional<std::string>(unique_url("alias", 1)));
    try {
        client.shorten_locked(unique_url("alias", 2), options);
        ADD_FAILURE() << "a taken alias was stored again";
    } catch (const AliasTaken &e) {
        EXPECT_EQ(e.sqlstate(), "US002");
    }
    EXPECT_EQ(links_to(unique_url("alias", 2)), 0);

    options.alias = "not/allowed";
    EXPECT_THROW(client.shorten(unique_url("alias", 3), options), InvalidArgument);
}

TEST(Lifecycle, EightThreadsClaimingOneAliasOneWins)
{
    const std::string alias = unique_alias("claim");
    std::atomic<int> won{0}, taken{0};
    StartLine start(8);
    std::vector<std::thread> threads;
    for (int i = 0; i < 8; ++i)
        threads.emplace_back([&, i] {
            Client client(dsn());
            LinkOptions options;
            options.alias = alias;
            start.arrive_and_wait();
            try {
                client.shorten(unique_url("claim", i), options);
                ++won;
            } catch (const AliasTaken &) {
                ++taken;
            }
        });
    for (std::thread &t : threads)
        t.join();
    EXPECT_EQ(won.load(), 1);
    EXPECT_EQ(taken.load(), 7);
}

TEST(Lifecycle, ReuseReturnsTheSameCode)
{
    Client client(dsn());
    LinkOptions reuse;
    reuse.reuse = true;
    const std::string code = client.shorten(unique_url("reuse"), reuse);
    EXPECT_EQ(client.shorten_locked(unique_url("reuse"), reuse), code);
    EXPECT_EQ(links_to(unique_url("reuse")), 1);
    EXPECT_NE(client.shorten(unique_url("reuse")), code);   /* without reuse: a new link */
}

TEST(Lifecycle, LimitsAndStats)
{
    Client client(dsn());
    LinkOptions options;
    options.max_clicks = 2;
    const system_clock::time_point expiry = system_clock::now() + hours(1);
    options.expires_at = expiry;
    const std::string code = client.shorten(unique_url("limits"), options);

    EXPECT_TRUE(client.resolve(code));
    EXPECT_TRUE(client.resolve(code));
    EXPECT_FALSE(client.resolve(code));   /* used up */

    const std::optional<LinkStats> st = client.stats(code);
    ASSERT_TRUE(st);
    EXPECT_EQ(st->code, code);
    EXPECT_EQ(st->url, unique_url("limits"));
    EXPECT_EQ(st->clicks, 2);
    EXPECT_EQ(st->max_clicks, std::optional<long long>(2));
    ASSERT_TRUE(st->expires_at);
    EXPECT_LT(std::chrono::abs(*st->expires_at - expiry), std::chrono::milliseconds(1));
    EXPECT_LE(st->created_at, system_clock::now());
    EXPECT_EQ(st->version, 1);
    EXPECT_TRUE(st->enabled);
    EXPECT_FALSE(client.stats("no-such-code"));

    options.max_clicks = 0;
    EXPECT_THROW(client.shorten(unique_url("limits", 2), options), InvalidArgument);
    options.max_clicks.reset();
    options.expires_at = system_clock::now() - hours(1);
    EXPECT_THROW(client.shorten(unique_url("limits", 3), options), InvalidArgument);
}

/*
 * stats() reads created_at and expires_at exactly, to the microsecond the
 * database stores: through a float8 about half came back a microsecond
 * early, and the same keyed request repeated with stats()'s expires_at was
 * then an IdempotencyConflict.  Fifty links, each microsecond-exact with a
 * different fraction, so a rounding error cannot pass by luck.
 */
TEST(Lifecycle, StatsReadsTimesExactlyAndAKeyedRequestRepeatsWithThem)
{
    using std::chrono::microseconds;
    Client client(dsn());
    for (int i = 0; i < 50; ++i) {
        LinkOptions options;
        options.idempotency_key = "stats-exact-" + unique_url("stats-exact", i);
        options.expires_at = std::chrono::time_point_cast<microseconds>(
            system_clock::now() + hours(1) + microseconds(i * 7919));
        const std::string url = unique_url("stats-exact", i);
        const std::string code = client.shorten(url, options);

        const std::optional<LinkStats> st = client.stats(code);
        ASSERT_TRUE(st && st->expires_at);
        EXPECT_EQ(st->expires_at->time_since_epoch().count(),
                  options.expires_at->time_since_epoch().count()) << "link " << i;
        EXPECT_EQ(st->created_at, std::chrono::time_point_cast<microseconds>(st->created_at));

        LinkOptions again = options;
        again.expires_at = st->expires_at;
        EXPECT_EQ(client.shorten(url, again), code) << "link " << i;
    }
    /* A link without expiry still has none. */
    const std::optional<LinkStats> plain = client.stats(client.shorten(unique_url("stats-exact", 99)));
    ASSERT_TRUE(plain);
    EXPECT_FALSE(plain->expires_at);
}

/*
 * An expiry is stored as given, to the microsecond, however far ahead
 * (the clock's last microsecond included) and whatever the session's
 * DateStyle and TimeZone: sent as Unix seconds in a float8, times past
 * about 2242 came back a microsecond or two off, so a keyed request
 * repeated with them was another request.  And whatever this process's
 * TZ: a date made with gmtime_r under right/UTC counts leap seconds, and
 * was 27 seconds early.
 */
TEST(Lifecycle, AFarExpiryIsStoredToTheMicrosecondUnderAnyDateStyle)
{
    REQUIRE_RIGHT_ZONES();
    using std::chrono::microseconds;
    const ScopedTz leap_seconds_counted("right/UTC");
    Client client(dsn("options='-c DateStyle=SQL,DMY -c TimeZone=Pacific/Chatham'"));
    const auto last = std::chrono::floor<microseconds>(system_clock::time_point::max());
    const std::vector<system_clock::time_point> expiries = {
        last, last - microseconds(1), last - hours(24 * 365 * 12) - microseconds(500001),
        std::chrono::floor<microseconds>(system_clock::now()) + hours(24 * 365 * 200) +
            microseconds(999999)};
    for (std::size_t i = 0; i < expiries.size(); ++i) {
        LinkOptions options;
        options.idempotency_key = "far-expiry-" + unique_url("far-expiry", i);
        options.expires_at = expiries[i];
        const std::string url = unique_url("far-expiry", i);
        const std::string code = client.shorten(url, options);

        const std::optional<LinkStats> st = client.stats(code);
        ASSERT_TRUE(st && st->expires_at) << "link " << i;
        EXPECT_EQ(std::chrono::floor<microseconds>(*st->expires_at).time_since_epoch().count(),
                  std::chrono::floor<microseconds>(expiries[i]).time_since_epoch().count())
            << "link " << i;
        EXPECT_EQ(client.shorten(url, options), code) << "link " << i;
    }
}

/*
 * An expiry SQL callers may set beyond what system_clock holds (after
 * 2262-04-11, or 'infinity') reads as time_point::max(), not as a
 * converted overflow (it came back as 1677-09-21, an expired link).
 */
TEST(Lifecycle, AnExpiryBeyondTheClocksRangeReadsAsTheLatestTime)
{
    Client client(dsn());
    auto conn = connect();
    for (const std::string when : {"infinity", "3000-01-01 00:00:00+00", "2300-01-01 00:00:00+00"}) {
        pqxx::nontransaction tx(*conn);
        const std::string code =
            tx.exec_params1("SELECT shorten_url($1, expires_at => $2::timestamptz)",
                            unique_url("far-expiry-" + when.substr(0, 4)), when)[0]
                .as<std::string>();
        const std::optional<LinkStats> st = client.stats(code);
        ASSERT_TRUE(st) << when;
        ASSERT_TRUE(st->expires_at) << when;
        EXPECT_EQ(*st->expires_at, system_clock::time_point::max()) << when;
        EXPECT_TRUE(client.resolve(code)) << when;
    }
}

/*
 * resolve_without_click answers what resolve would, and counts nothing:
 * the URL while the link is followable, std::nullopt once it is used up,
 * disabled, expired (by the database's clock: the expiry is set with SQL's
 * now()) or unknown.
 */
TEST(Lifecycle, ResolveWithoutClickAnswersAsResolveAndCountsNothing)
{
    Client client(dsn());
    LinkOptions once;
    once.max_clicks = 1;
    const std::string url = unique_url("peek");
    const std::string code = client.shorten(url, once);

    EXPECT_EQ(client.resolve_without_click(code), std::optional<std::string>(url));
    EXPECT_EQ(client.resolve_without_click(code), std::optional<std::string>(url));
    EXPECT_EQ(client.stats(code)->clicks, 0);
    EXPECT_EQ(client.resolve(code), std::optional<std::string>(url));
    EXPECT_FALSE(client.resolve_without_click(code));   /* used up */
    EXPECT_EQ(client.stats(code)->clicks, 1);

    const std::string other = client.shorten(unique_url("peek", 2));
    EXPECT_TRUE(client.disable(other));
    EXPECT_FALSE(client.resolve_without_click(other));
    EXPECT_TRUE(client.enable(other));
    EXPECT_EQ(client.resolve_without_click(other), std::optional<std::string>(unique_url("peek", 2)));

    auto conn = connect();
    {
        pqxx::nontransaction tx(*conn);
        tx.exec_params(
            "UPDATE urls SET expires_at = now() - interval '1 second' WHERE short_code = $1", other);
        EXPECT_FALSE(client.resolve_without_click(other));   /* expired */
        EXPECT_FALSE(client.resolve(other));
        tx.exec_params("UPDATE urls SET expires_at = now() + interval '1 hour' WHERE short_code = $1",
                       other);
        EXPECT_TRUE(client.resolve_without_click(other));
    }

    EXPECT_FALSE(client.resolve_without_click("no-such-code"));
    EXPECT_FALSE(client.resolve_without_click(""));

    pqxx::work t(*conn);
    InTransaction links(t);
    EXPECT_EQ(links.resolve_without_click(other), std::optional<std::string>(unique_url("peek", 2)));
    EXPECT_FALSE(links.resolve_without_click(code));
    EXPECT_EQ(links.stats(other)->clicks, 0);
}

TEST(Lifecycle, UpdateChecksTheVersion)
{
    Client client(dsn());
    const std::string code = client.shorten(unique_url("edit"));
    EXPECT_EQ(client.update(code, unique_url("edit", 2), 1), std::optional<long long>(2));
    EXPECT_EQ(client.resolve(code), std::optional<std::string>(unique_url("edit", 2)));
    try {
        client.update(code, unique_url("edit", 3), 1);
        ADD_FAILURE() << "a stale version was accepted";
    } catch (const VersionConflict &e) {
        EXPECT_EQ(e.sqlstate(), "US003");
    }
    EXPECT_EQ(client.stats(code)->url, unique_url("edit", 2));
    EXPECT_FALSE(client.update("no-such-code", unique_url("edit", 4), 1));
    EXPECT_THROW(client.update(code, "javascript:alert(1)", 2), InvalidUrl);
}

TEST(Lifecycle, DisableEnableRemove)
{
    Client client(dsn());
    const std::string code = client.shorten(unique_url("switch"));
    EXPECT_TRUE(client.disable(code));
    EXPECT_FALSE(client.disable(code));
    EXPECT_FALSE(client.resolve(code));
    EXPECT_EQ(clicks(code), std::optional<long long>(0));
    EXPECT_TRUE(client.enable(code));
    EXPECT_TRUE(client.resolve(code));
    EXPECT_TRUE(client.remove(code));
    EXPECT_FALSE(client.remove(code));
    EXPECT_FALSE(client.resolve(code));
}

/*
 * remove_at, disable_at, enable_at act only while the link is at an
 * expected version; an edit committed between their read of the version
 * and their change makes the change fail with 40001, and the retry reads
 * the new version: VersionConflict, nothing changed by the call.
 */
/*
 * What every path of remove_at, disable_at and enable_at answers: true,
 * false (already as asked), std::nullopt (no such link), VersionConflict
 * (another version), with no retry.  Returns the link's version after.
 */
long long expect_versioned_outcomes(Client &client, const std::string &code,
                                    const std::vector<RetryEvent> &events)
{
    const long long v = client.stats(code)->version;
    EXPECT_THROW(client.disable_at(code, {v + 1}), VersionConflict);
    EXPECT_THROW(client.disable_at(code, {}), VersionConflict);
    EXPECT_TRUE(client.stats(code)->enabled);
    EXPECT_EQ(client.disable_at(code, {v + 5, v}), std::optional<bool>(true));
    EXPECT_EQ(client.disable_at(code, {v + 1}), std::optional<bool>(false));   /* disabled already */
    EXPECT_EQ(client.enable_at(code, {v + 1}), std::optional<bool>(true));
    EXPECT_EQ(client.enable_at(code, {v + 2}), std::optional<bool>(false));   /* enabled already */
    EXPECT_EQ(client.remove_at("no-such-code", {1}), std::nullopt);
    EXPECT_EQ(client.disable_at("no-such-code", {1, 2}), std::nullopt);
    EXPECT_TRUE(events.empty());
    return v + 2;
}

/*
 * Another session clicks the link and holds its row; call waits for the
 * row, and the click commits.  Returns what call returned.
 */
std::optional<bool> behind_a_committed_click(pqxx::connection &other, int pid,
                                             const std::string &code,
                                             const std::function<std::optional<bool>()> &call)
{
    pqxx::work clicking(other);
    clicking.exec_params("SELECT resolve_url($1)", code);
    auto result = std::async(std::launch::async, call);
    wait_until_waiting_on_lock(pid);
    clicking.commit();
    return result.get();
}

/*
 * Another session edits the link (from version) and holds its row; call
 * waits for the row, the edit commits, and call must throw
 * VersionConflict (US003).
 */
void expect_conflict_behind_a_committed_edit(pqxx::connection &other, int pid,
                                             const std::string &code, const std::string &new_url,
                                             long long version,
                                             const std::function<std::optional<bool>()> &call)
{
    pqxx::work editing(other);
    editing.exec_params("SELECT update_url($1, $2, $3)", code, new_url, version);
    auto result = std::async(std::launch::async, call);
    wait_until_waiting_on_lock(pid);
    editing.commit();
    try {
        result.get();
        ADD_FAILURE() << "changed a link edited since its version was read";
    } catch (const VersionConflict &e) {
        EXPECT_EQ(e.sqlstate(), "US003");
    }
}

/*
 * Extension 1.5: one UPDATE at the expected version.  A click in flight
 * does not stand in the way (no retry), an edit that overtook the call is
 * VersionConflict at once.
 */
TEST(Lifecycle, VersionedChangesAreOneUpdateSince15)
{
    std::vector<RetryEvent> events;
    ClientOptions options;
    options.retry.base_delay = std::chrono::milliseconds(1);
    options.on_retry = [&events](const RetryEvent &e) { events.push_back(e); };
    const std::string name = unique_application_name("versioned-15");
    Client client(dsn("application_name=" + name), options);
    const int pid = backend_pid(name);
    const std::string code = client.shorten(unique_url("versioned-15"));
    long long v = expect_versioned_outcomes(client, code, events);

    auto other = connect();
    EXPECT_EQ(behind_a_committed_click(*other, pid, code,
                                       [&] { return client.disable_at(code, {v}); }),
              std::optional<bool>(true));
    EXPECT_TRUE(events.empty()) << "a click made the versioned change retry";
    std::optional<LinkStats> after = client.stats(code);
    ASSERT_TRUE(after);
    EXPECT_FALSE(after->enabled);
    EXPECT_EQ(after->clicks, 1);
    EXPECT_EQ(after->version, ++v);

    /* An edit holds the row; the call waits, re-checks, and finds it changed. */
    expect_conflict_behind_a_committed_edit(*other, pid, code, unique_url("versioned-15", 2), v,
                                            [&] { return client.enable_at(code, {v}); });
    EXPECT_TRUE(events.empty());
    after = client.stats(code);
    ASSERT_TRUE(after);
    EXPECT_FALSE(after->enabled);
    EXPECT_EQ(after->version, ++v);
    EXPECT_EQ(client.remove_at(code, {v}), std::optional<bool>(true));
    EXPECT_FALSE(client.stats(code));
}

/*
 * Before 1.5 (here a 1.4 database), and for a role not granted the
 * two-argument forms: url_stats and the change in one REPEATABLE READ
 * transaction, so a click committed in between is a 40001, retried.
 */
void expect_read_and_change_at_repeatable_read(const std::string &connection_string,
                                               const std::string &database,
                                               const std::string &application_name)
{
    std::vector<RetryEvent> events;
    ClientOptions options;
    options.retry.base_delay = std::chrono::milliseconds(1);
    options.on_retry = [&events](const RetryEvent &e) { events.push_back(e); };
    Client client(connection_string + " application_name=" + application_name, options);
    const int pid = backend_pid(application_name);
    const std::string code = client.shorten(unique_url(application_name));
    const long long v = expect_versioned_outcomes(client, code, events);

    pqxx::connection other("dbname=" + database);
    EXPECT_EQ(behind_a_committed_click(other, pid, code,
                                       [&] { return client.disable_at(code, {v}); }),
              std::optional<bool>(true));
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].cause, RetryCause::serialization_failure);
    events.clear();

    /* An edit committed between the read and the change: one 40001
     * retried, then the new version is read and is not the one expected. */
    expect_conflict_behind_a_committed_edit(other, pid, code, unique_url(application_name, 2), v + 1,
                                            [&] { return client.enable_at(code, {v + 1}); });
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].cause, RetryCause::serialization_failure);
    const std::optional<LinkStats> after = client.stats(code);
    ASSERT_TRUE(after);
    EXPECT_FALSE(after->enabled);
    EXPECT_EQ(after->version, v + 2);
    EXPECT_EQ(client.remove_at(code, {v + 2}), std::optional<bool>(true));
    EXPECT_FALSE(client.stats(code));
}

TEST(Lifecycle, VersionedChangesBefore15ReadAndChangeAtRepeatableRead)
{
    const std::string database = "url_shortener_client_v14_test";
    create_database_at(database, "1.4");
    expect_read_and_change_at_repeatable_read("dbname=" + database, database,
                                              unique_application_name("versioned-14"));
}

/*
 * A Client connected to 1.4 when the extension is updated to 1.5: its 1.4
 * statements go on working, but the next change at a version notices the
 * update (one extension_updated event, a reconnect) and takes the 1.5
 * path, so a click in flight costs no 40001.
 */
TEST(Lifecycle, VersionedChangesTakeThe15PathAfterAnUpdateWhileConnected)
{
    const std::string database = "url_shortener_client_v14_updated_test";
    create_database_at(database, "1.4");
    std::vector<RetryEvent> events;
    ClientOptions options;
    options.retry.base_delay = std::chrono::milliseconds(1);
    options.on_retry = [&events](const RetryEvent &e) { events.push_back(e); };
    const std::string name = unique_application_name("versioned-updated");
    Client client("dbname=" + database + " application_name=" + name, options);
    const std::string code = client.shorten(unique_url("versioned-updated"));
    pqxx::connection other("dbname=" + database);
    pqxx::nontransaction(other).exec("ALTER EXTENSION url_shortener UPDATE TO '1.5'");

    EXPECT_EQ(client.enable_at(code, {1}), std::optional<bool>(false));   /* enabled already */
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].cause, RetryCause::extension_updated);
    events.clear();
    EXPECT_EQ(behind_a_committed_click(other, backend_pid(name), code,
                                       [&] { return client.disable_at(code, {1}); }),
              std::optional<bool>(true));
    EXPECT_TRUE(events.empty()) << "a click made the versioned change retry after the update";
}

TEST(Lifecycle, VersionedChangesWithoutTheGrantReadAndChangeAtRepeatableRead)
{
    const GrantedRole role("url_shortener_one_argument_forms",
                           "shorten_url(text, text, boolean, timestamptz, bigint, text), "
                           "url_stats(text), update_url(text, text, bigint), delete_url(text), "
                           "disable_url(text), enable_url(text)");
    expect_read_and_change_at_repeatable_read(role.connection_string(), database_name,
                                              unique_application_name("versioned-no-grant"));
}

/*
 * Several expected versions, and the link moves from one of them to
 * another between the read of its version and the change: read again,
 * not a VersionConflict (the way of 1.4 answered true here too).
 */
TEST(Lifecycle, VersionedChangeWithSeveralVersionsFollowsAMoveBetweenThem)
{
    const std::string name = unique_application_name("versioned-several");
    Client client(dsn("application_name=" + name));
    const int pid = backend_pid(name);
    const std::string code = client.shorten(unique_url("versioned-several"));
    const long long v = client.stats(code)->version;

    auto other = connect();
    pqxx::work editing(*other);
    editing.exec_params("SELECT update_url($1, $2, $3)", code, unique_url("versioned-several", 2), v);
    auto call = std::async(std::launch::async, [&] { return client.disable_at(code, {v, v + 1}); });
    wait_until_waiting_on_lock(pid);
    editing.commit();
    EXPECT_EQ(call.get(), std::optional<bool>(true));
    const std::optional<LinkStats> after = client.stats(code);
    ASSERT_TRUE(after);
    EXPECT_FALSE(after->enabled);
    EXPECT_EQ(after->version, v + 2);
}

/* What a role needs to make links and disable them at a version. */
const std::string versioned_disable_grants =
    "shorten_url(text, text, boolean, timestamptz, bigint, text), url_stats(text), "
    "disable_url(text), disable_url(text, bigint)";

/*
 * A grant revoked after the connection opened (42501, nothing done), and a
 * two-argument form an administrator dropped: the calls go on the way of
 * 1.4 instead of failing.
 */
TEST(Lifecycle, VersionedChangesWithoutTheFunctionOrAfterARevokeGoTheWayOf14)
{
    {
        const GrantedRole role("url_shortener_revoked_at_version", versioned_disable_grants);
        Client client(role.connection_string());
        const std::string code = client.shorten(unique_url("revoked-at-version"));
        auto admin = connect();
        pqxx::nontransaction(*admin).exec("REVOKE EXECUTE ON FUNCTION disable_url(text, bigint) FROM " +
                                          role.name());
        EXPECT_EQ(client.disable_at(code, {1}), std::optional<bool>(true));
        EXPECT_EQ(client.disable_at(code, {2}), std::optional<bool>(false));
    }

    const std::string database = "url_shortener_client_dropped_at_version_test";
    create_database_at(database, "1.5");
    {
        pqxx::connection db("dbname=" + database);
        pqxx::nontransaction t(db);
        t.exec("ALTER EXTENSION url_shortener DROP FUNCTION delete_url(text, bigint)");
        t.exec("DROP FUNCTION delete_url(text, bigint)");
    }
    Client client("dbname=" + database);
    const std::string code = client.shorten(unique_url("dropped-at-version"));
    EXPECT_EQ(client.remove_at(code, {1}), std::optional<bool>(true));
    EXPECT_FALSE(client.stats(code));
}

/*
 * The grant on the two-argument form revoked while the connection is
 * idle, then the connection lost: the call's reconnect opens one without
 * that statement prepared, and the call goes the way of 1.4 on it instead
 * of naming a statement the new connection does not have.
 */
TEST(Lifecycle, VersionedChangeOnAReconnectWithoutTheGrantGoesTheWayOf14)
{
    const GrantedRole role("url_shortener_revoked_before_reconnect", versioned_disable_grants);
    {
        std::vector<RetryEvent> events;
        ClientOptions options;
        options.on_retry = [&events](const RetryEvent &e) { events.push_back(e); };
        const std::string name = unique_application_name("revoked-reconnect");
        Client client(role.connection_string("application_name=" + name), options);
        const std::string code = client.shorten(unique_url("revoked-reconnect"));
        pqxx::nontransaction(*connect())
            .exec("REVOKE EXECUTE ON FUNCTION disable_url(text, bigint) FROM " + role.name());
        terminate_backend(backend_pid(name));
        try {
            EXPECT_EQ(client.disable_at(code, {1}), std::optional<bool>(true));
            EXPECT_EQ(events.size(), 1u) << "the lost connection is the call's one reconnect";
            EXPECT_EQ(client.disable_at(code, {2}), std::optional<bool>(false));
        } catch (const Error &e) {
            ADD_FAILURE() << "threw " << e.what();
        } catch (const std::exception &e) {
            ADD_FAILURE() << "threw a type not in errors.h: " << e.what();
        }
    }
}

TEST(Lifecycle, PurgeDeletesUsedUpLinks)
{
    Client client(dsn());
    LinkOptions once;
    once.max_clicks = 1;
    const std::string code = client.shorten(unique_url("purge"), once);
    EXPECT_TRUE(client.resolve(code));
    EXPECT_GE(client.purge(), 1);
    EXPECT_FALSE(client.stats(code));
    EXPECT_THROW(client.purge(0), InvalidArgument);   /* 22023: batch_size must be at least 1 */
}

TEST(Lifecycle, AgainstExtension10TheCallsAreRefusedCleanly)
{
    const std::string name = "url_shortener_client_v10_test";
    create_database_at(name, "1.0");
    Client client("dbname=" + name);
    const std::string code = client.shorten(unique_url("v10"));   /* 1.0 calls still work */
    EXPECT_TRUE(client.resolve(code));
    try {
        client.stats(code);
        ADD_FAILURE() << "stats worked against 1.0";
    } catch (const ServerError &e) {
        EXPECT_EQ(e.sqlstate(), "0A000");
    }
    try {
        client.resolve_without_click(code);
        ADD_FAILURE() << "resolve_without_click worked against 1.0";
    } catch (const ServerError &e) {
        EXPECT_EQ(e.sqlstate(), "0A000");
    }
}

} // namespace
} // namespace url_shortener::test
