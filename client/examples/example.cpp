/*
 * example.cpp
 *    The url_shortener client in a dozen lines: shorten a link, follow it,
 *    and tell bad input from a server you cannot reach.
 *
 *      example ["host=... dbname=..."]     (default: PGHOST, PGDATABASE, ...)
 */
#include <iostream>

#include <url_shortener/client.h>

int main(int argc, char **argv)
{
    try {
        url_shortener::Client client(argc > 1 ? argv[1] : "");

        const std::string code = client.shorten("https://www.postgresql.org/docs/15/");
        std::cout << code << " -> " << client.resolve(code).value_or("(none)") << '\n';

        const std::vector<std::string> codes =
            client.shorten_many({"https://example.com/a", "https://example.com/b"});
        std::cout << codes.size() << " more links: " << codes[0] << ' ' << codes[1] << '\n';

        client.shorten("ftp://example.com/");  // throws InvalidUrl
    } catch (const url_shortener::InvalidUrl &e) {
        std::cerr << "refused (" << e.sqlstate() << "): " << e.what() << '\n';
    } catch (const url_shortener::Error &e) {
        std::cerr << "failed: " << e.what() << '\n';
        return 1;
    }
}
