/*
 * commands.cpp
 *    shorten, resolve and import.
 */
#include "commands.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>

#include <unistd.h>

#include "exit_codes.h"

namespace url_shortener::cli {

int shorten_command(Client &client, const std::vector<std::string> &urls, bool locked)
{
    for (const std::string &url : urls) {
        try {
            std::cout << (locked ? client.shorten_locked(url) : client.shorten(url)) << '\n';
        } catch (const InvalidUrl &e) {
            std::cerr << "url-shortener: refused \"" << url << "\": " << e.what() << '\n';
            return exit_invalid_input;
        }
        std::cout.flush();
    }
    return exit_success;
}

int resolve_command(Client &client, const std::string &code)
{
    const std::optional<std::string> url = client.resolve(code);
    if (!url) {
        std::cerr << "url-shortener: no link has the code \"" << code << "\"\n";
        return exit_not_found;
    }
    std::cout << *url << '\n';
    return exit_success;
}

namespace {

/* The non-blank lines of in, without a trailing carriage return. */
std::vector<std::string> read_urls(std::istream &in)
{
    std::vector<std::string> urls;
    std::string line;
    while (std::getline(in, line)) {
        if (!line.empty() && line.back() == '\r')
            line.pop_back();
        if (!line.empty())
            urls.push_back(std::move(line));
    }
    return urls;
}

} // namespace

int import_command(Client &client, const std::string &path)
{
    std::vector<std::string> urls;
    if (path == "-") {
        urls = read_urls(std::cin);
    } else {
        std::ifstream file(path);
        if (!file) {
            std::cerr << "url-shortener: cannot read \"" << path << "\": " << std::strerror(errno)
                      << '\n';
            return exit_invalid_input;
        }
        urls = read_urls(file);
    }

    BatchProgress progress;
    if (isatty(STDERR_FILENO))
        progress = [](std::size_t done, std::size_t total) {
            std::cerr << "\rshortened " << done << " of " << total << " urls" << std::flush;
        };

    std::vector<std::string> codes;
    try {
        codes = client.shorten_many(urls, progress);
    } catch (const InvalidUrl &e) {
        if (progress)
            std::cerr << '\n';
        std::cerr << "url-shortener: import stored nothing: a url in \"" << path
                  << "\" was refused: " << e.what() << '\n';
        return exit_invalid_input;
    }
    if (progress)
        std::cerr << '\n';

    for (std::size_t i = 0; i < codes.size(); ++i)
        std::cout << codes[i] << '\t' << urls[i] << '\n';
    return exit_success;
}

} // namespace url_shortener::cli
