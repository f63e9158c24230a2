/*
 * main.cpp
 *    Proves the installed headers compile and the installed library links:
 *    without arguments it only reports an unreachable server as the typed
 *    error it should be.
 */
#include <iostream>

#include <url_shortener/client.h>

int main(int argc, char **argv)
{
    try {
        url_shortener::Client client(argc > 1 ? argv[1] : "host=/nonexistent-directory port=1");
        std::cout << client.shorten("https://example.com/from-consumer") << '\n';
    } catch (const url_shortener::ConnectionLost &e) {
        std::cout << "ConnectionLost, as expected: " << e.what() << '\n';
        return argc > 1 ? 1 : 0;
    }
    return 0;
}
