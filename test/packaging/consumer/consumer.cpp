/*
 * consumer.cpp
 *    Built against the installed client package by test/packaging/run:
 *    shortens a URL and follows it through the libpq environment's server,
 *    so the headers, the static library and its link dependencies are all
 *    proven usable from outside the source tree.  Exit 0 only on a round trip.
 */
#include <iostream>

#include <url_shortener/client.h>

int main()
{
    try {
        url_shortener::Client client("");
        const std::string url = "https://www.debian.org/doc/";
        const std::string code = client.shorten(url);
        const std::string back = client.resolve(code).value_or("(none)");
        std::cout << code << " -> " << back << '\n';
        return back == url ? 0 : 1;
    } catch (const url_shortener::Error &e) {
        std::cerr << "consumer: " << e.what() << '\n';
        return 1;
    }
}
