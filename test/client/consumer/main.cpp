/*
 * main.cpp
 *    A program that uses the installed client as a user would, copied by
 *    install_and_find_package.cmake into a project of its own outside the
 *    source tree.  It proves the installed headers compile, the version
 *    macros match the library linked, and exceptions thrown inside the
 *    (possibly shared) library are caught by their types here.  Without
 *    arguments it needs no server: it expects the typed errors for a bad
 *    connection string and for an unreachable server.
 */
#include <cstring>
#include <iostream>

#include <url_shortener/client.h>
#include <url_shortener/version.h>

int main(int argc, char **argv)
{
    if (std::strcmp(url_shortener::client_version(), URL_SHORTENER_CLIENT_VERSION) != 0) {
        std::cerr << "headers say " << URL_SHORTENER_CLIENT_VERSION << ", library says "
                  << url_shortener::client_version() << '\n';
        return 1;
    }
    try {
        url_shortener::Client client("host");
        std::cerr << "an unparseable connection string was accepted\n";
        return 1;
    } catch (const url_shortener::InvalidInput &e) {
        std::cout << "InvalidInput, as expected: " << e.what() << '\n';
    }
    try {
        url_shortener::Client client(argc > 1 ? argv[1] : "host=/nonexistent-directory port=1");
        std::cout << client.shorten("https://example.com/from-consumer") << '\n';
    } catch (const url_shortener::ConnectionLost &e) {
        std::cout << "ConnectionLost, as expected: " << e.what() << " (" << e.sqlstate() << ")\n";
        return argc > 1 ? 1 : 0;
    }
    return 0;
}
