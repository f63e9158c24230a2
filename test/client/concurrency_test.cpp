/*
 * concurrency_test.cpp
 *    Many threads, one Client each, calling at once: every shorten gets its
 *    own code and row, also where the draws collide, and every click is
 *    counted.
 */
#include <exception>
#include <functional>
#include <set>
#include <string>
#include <utility>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <pqxx/connection>
#include <pqxx/nontransaction>
#include <unistd.h>

#include "test_database.h"
#include "url_shortener/client.h"

using namespace url_shortener;
using namespace url_shortener::test;

namespace {

/*
 * Runs body(i) on threads i = 0..n-1, each with its own connected Client,
 * released together once all are connected.  Rethrows the first failure.
 */
void run_together(std::size_t n, const std::function<void(Client &, std::size_t)> &body,
                  const std::string &connection_string = dsn())
{
    StartLine start(n);
    std::vector<std::exception_ptr> failures(n);
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < n; ++i)
        threads.emplace_back([&, i] {
            bool started = false;
            try {
                Client client(connection_string);
                started = true;
                start.arrive_and_wait();
                body(client, i);
            } catch (...) {
                failures[i] = std::current_exception();
                if (!started)
                    start.arrive_and_wait();  // do not hold the others back
            }
        });
    for (std::thread &t : threads)
        t.join();
    for (const std::exception_ptr &failure : failures)
        if (failure)
            std::rethrow_exception(failure);
}

/*
 * A database of its own with the extension, dropped at the end: the code
 * shape of the Client's keyed calls is the one in effect when the
 * database's first such call made its reuse_key row, so a tiny one is set
 * up where no other test draws.
 */
class TinyCodeSpace {
public:
    /* Codes of two characters of alphabet (256 codes for 16 characters). */
    explicit TinyCodeSpace(std::string alphabet)
        : alphabet_(std::move(alphabet)),
          name_(std::string(database_name) + "_tiny_" + std::to_string(getpid()))
    {
        {
            pqxx::connection maintenance("");
            pqxx::nontransaction admin(maintenance);
            admin.exec0("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
            admin.exec0("CREATE DATABASE " + name_);
        }
        pqxx::connection db(dsn());
        pqxx::nontransaction(db).exec0("CREATE EXTENSION url_shortener");
    }
    ~TinyCodeSpace()
    {
        try {
            pqxx::connection maintenance("");
            pqxx::nontransaction(maintenance).exec0("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
        } catch (const std::exception &e) {
            ADD_FAILURE() << "could not drop " << name_ << ": " << e.what();
        }
    }
    TinyCodeSpace(const TinyCodeSpace &) = delete;
    TinyCodeSpace &operator=(const TinyCodeSpace &) = delete;

    std::string dsn() const
    {
        return url_shortener::test::dsn("dbname=" + name_ +
                                        " options='-c url_shortener.code_length=2"
                                        " -c url_shortener.alphabet=" + alphabet_ +
                                        " -c url_shortener.max_attempts=100'");
    }
    const std::string &alphabet() const { return alphabet_; }

    /* Its links, and those whose code is two characters of the alphabet. */
    std::pair<long long, long long> links() const
    {
        pqxx::connection db(dsn());
        pqxx::nontransaction query(db);
        const pqxx::row row = query.exec_params1(
            "SELECT count(*), count(*) FILTER (WHERE length(short_code) = 2 "
            "AND short_code ~ ('^[' || $1 || ']+$')) FROM urls",
            alphabet_);
        return {row[0].as<long long>(), row[1].as<long long>()};
    }

private:
    const std::string alphabet_;
    const std::string name_;
};

/*
 * n threads shorten at once in a code space of 256 codes, where their
 * codes collide often (50 draws in 256 codes meet a taken one with a
 * probability of about 99 %): every call still gets its own code, each of
 * that shape, and its own row.
 */
void shorten_from_threads(std::size_t n, bool locked, const char *tag)
{
    const TinyCodeSpace space("abcdefghijklmnop");
    std::vector<std::string> codes(n);
    run_together(n, [&](Client &client, std::size_t i) {
        const std::string url = unique_url(tag, i);
        codes[i] = locked ? client.shorten_locked(url) : client.shorten(url);
    }, space.dsn());

    EXPECT_EQ(std::set<std::string>(codes.begin(), codes.end()).size(), n);
    for (const std::string &code : codes)
        EXPECT_TRUE(code.size() == 2 && code.find_first_not_of(space.alphabet()) == std::string::npos)
            << code;
    const auto [links, of_that_shape] = space.links();
    EXPECT_EQ(links, static_cast<long long>(n));
    EXPECT_EQ(of_that_shape, static_cast<long long>(n));
}

} // namespace

TEST(Concurrency, FiftyThreadsShortenFiftyDistinctCodes)
{
    shorten_from_threads(50, false, "concurrent");
}

TEST(Concurrency, TwentyThreadsShortenLockedTwentyDistinctCodes)
{
    shorten_from_threads(20, true, "concurrent-locked");
}

TEST(Concurrency, SixteenThreadsResolvingOneCodeCountEveryClick)
{
    const std::string url = unique_url("clicks");
    const std::string code = Client(dsn()).shorten(url);
    const long long before = clicks(code).value();

    run_together(16, [&](Client &client, std::size_t) {
        for (int n = 0; n < 100; ++n)
            if (client.resolve(code) != url)
                throw std::runtime_error("resolve returned something else");
    });

    EXPECT_EQ(clicks(code).value(), before + 1600);
}
