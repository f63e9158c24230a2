/*
 * commands.cpp
 *    shorten, resolve and import.
 */
#include "commands.h"

#include <cerrno>
#include <chrono>
#include <ctime>
#include <cstring>
#include <fstream>
#include <iostream>

#include <unistd.h>

#include "exit_codes.h"

namespace url_shortener::cli {

int shorten_command(Client &client, const std::vector<std::string> &urls, bool locked,
                    const ShortenOptions &options)
{
    LinkOptions link;
    if (!options.alias.empty())
        link.alias = options.alias;
    link.reuse = options.reuse;
    if (options.expires_in_seconds > 0)
        link.expires_at = std::chrono::system_clock::now() + std::chrono::seconds(options.expires_in_seconds);
    if (options.max_clicks > 0)
        link.max_clicks = options.max_clicks;
    const bool plain = !link.alias && !link.reuse && !link.expires_at && !link.max_clicks;

    for (const std::string &url : urls) {
        try {
            if (plain)
                std::cout << (locked ? client.shorten_locked(url) : client.shorten(url)) << '\n';
            else
                std::cout << (locked ? client.shorten_locked(url, link) : client.shorten(url, link))
                          << '\n';
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

/* A time as UTC ISO 8601, to the second. */
std::string utc(std::chrono::system_clock::time_point t)
{
    const std::time_t seconds = std::chrono::system_clock::to_time_t(t);
    std::tm parts{};
    gmtime_r(&seconds, &parts);
    char text[32];
    std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &parts);
    return text;
}

int no_such_link(const std::string &code)
{
    std::cerr << "url-shortener: no link has the code \"" << code << "\"\n";
    return exit_not_found;
}

} // namespace

int update_command(Client &client, const std::string &code, const std::string &url,
                   long long expected_version)
{
    const std::optional<long long> version = client.update(code, url, expected_version);
    if (!version)
        return no_such_link(code);
    std::cout << *version << '\n';
    return exit_success;
}

int code_command(Client &client, const std::string &name, const std::string &code)
{
    if (name == "stats") {
        const std::optional<LinkStats> st = client.stats(code);
        if (!st)
            return no_such_link(code);
        std::cout << "code\t" << st->code << "\nurl\t" << st->url << "\nclicks\t" << st->clicks
                  << "\ncreated\t" << utc(st->created_at) << "\nexpires\t"
                  << (st->expires_at ? utc(*st->expires_at) : "never") << "\nmax_clicks\t"
                  << (st->max_clicks ? std::to_string(*st->max_clicks) : "none") << "\nversion\t"
                  << st->version << "\nenabled\t" << (st->enabled ? "yes" : "no") << '\n';
        return exit_success;
    }
    /* disable and enable report false also for a link already in that state. */
    const bool changed = name == "delete"    ? client.remove(code)
                         : name == "disable" ? client.disable(code)
                                             : client.enable(code);
    if (!changed && !client.stats(code))
        return no_such_link(code);
    return exit_success;
}

int purge_command(Client &client, int batch_size)
{
    std::cout << client.purge(batch_size) << '\n';
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
