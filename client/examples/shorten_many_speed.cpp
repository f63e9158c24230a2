/*
 * shorten_many_speed.cpp
 *    How much faster shorten_many is than calling shorten in a loop: times
 *    both for the same number of URLs on one connection and prints the
 *    ratio.  A measurement, not a test: it asserts nothing about time.
 *
 *      shorten_many_speed [COUNT] ["connection string"]   (COUNT: 10000)
 *
 *    Every run stores 2 * COUNT new links in the target database.
 */
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include <url_shortener/client.h>

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start)
{
    return std::chrono::duration<double>(Clock::now() - start).count();
}

} // namespace

int main(int argc, char **argv)
{
    const std::size_t count = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 10000;
    const std::string dsn = argc > 2 ? argv[2] : "";

    try {
        url_shortener::Client client(dsn);
        const std::string run = std::to_string(Clock::now().time_since_epoch().count());

        std::vector<std::string> loop_urls, batch_urls;
        for (std::size_t i = 0; i < count; ++i) {
            loop_urls.push_back("https://example.com/loop/" + run + "/" + std::to_string(i));
            batch_urls.push_back("https://example.com/batch/" + run + "/" + std::to_string(i));
        }

        Clock::time_point start = Clock::now();
        for (const std::string &url : loop_urls)
            client.shorten(url);
        const double loop = seconds_since(start);

        start = Clock::now();
        const std::vector<std::string> codes = client.shorten_many(batch_urls);
        const double batch = seconds_since(start);

        std::cout << "urls: " << count << '\n'
                  << "shorten loop:  " << loop << " s (" << count / loop << " urls/s)\n"
                  << "shorten_many:  " << batch << " s (" << count / batch << " urls/s)\n"
                  << "ratio (loop / shorten_many): " << loop / batch << '\n';
        return codes.size() == count ? 0 : 1;
    } catch (const url_shortener::Error &e) {
        std::cerr << "shorten_many_speed: " << e.what() << '\n';
        return 1;
    }
}
