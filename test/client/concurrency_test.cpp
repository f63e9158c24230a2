/*
 * concurrency_test.cpp
 *    Many threads, one Client each, calling at once: every shorten gets its
 *    own code and row, and every click is counted.
 */
#include <exception>
#include <functional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "test_database.h"
#include "url_shortener/client.h"

using namespace url_shortener;
using namespace url_shortener::test;

namespace {

/*
 * Runs body(i) on threads i = 0..n-1, each with its own connected Client,
 * released together once all are connected.  Rethrows the first failure.
 */
void run_together(std::size_t n, const std::function<void(Client &, std::size_t)> &body)
{
    StartLine start(n);
    std::vector<std::exception_ptr> failures(n);
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < n; ++i)
        threads.emplace_back([&, i] {
            bool started = false;
            try {
                Client client(dsn());
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

void shorten_from_threads(std::size_t n, bool locked, const char *tag)
{
    std::vector<std::string> codes(n);
    const long long before = link_count();
    run_together(n, [&](Client &client, std::size_t i) {
        const std::string url = unique_url(tag, i);
        codes[i] = locked ? client.shorten_locked(url) : client.shorten(url);
    });

    EXPECT_EQ(std::set<std::string>(codes.begin(), codes.end()).size(), n);
    EXPECT_EQ(link_count(), before + static_cast<long long>(n));
    for (std::size_t i = 0; i < n; ++i)
        EXPECT_EQ(links_to(unique_url(tag, i)), 1) << i;
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
