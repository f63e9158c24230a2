/*
 * api_keys.cpp
 *    API keys and their constant-time check (see api_keys.h).
 */
#include "api_keys.h"

#include <cstddef>
#include <fstream>
#include <stdexcept>

#include <boost/algorithm/string/predicate.hpp>

namespace url_shortener::server {

namespace {

/* The line without surrounding spaces, tabs and a trailing carriage return. */
std::string trimmed(const std::string &line)
{
    const char *space = " \t\r\n";
    const std::size_t first = line.find_first_not_of(space);
    if (first == std::string::npos)
        return {};
    return line.substr(first, line.find_last_not_of(space) - first + 1);
}

/*
 * Whether presented equals key, looking at every byte of key whatever
 * presented holds: no early exit on the first difference, and a length mismatch
 * folds into the same accumulator.
 */
bool equal_in_constant_time(std::string_view key, std::string_view presented)
{
    volatile unsigned char difference = key.size() == presented.size() ? 0 : 1;
    for (std::size_t i = 0; i < key.size(); ++i) {
        const unsigned char p = i < presented.size() ? static_cast<unsigned char>(presented[i]) : 0;
        difference = difference | (static_cast<unsigned char>(key[i]) ^ p);
    }
    return difference == 0;
}

} // namespace

ApiKeys ApiKeys::from_file(const std::string &path)
{
    std::ifstream in(path);
    if (!in)
        throw std::runtime_error("cannot read API key file \"" + path + "\"");
    ApiKeys keys;
    std::string line;
    for (bool first = true; std::getline(in, line); first = false) {
        /* Editors on Windows start a UTF-8 file with a byte order mark;
         * kept, it would be part of the first key, which then never
         * matches what a client sends. */
        if (first && line.compare(0, 3, "\xEF\xBB\xBF") == 0)
            line.erase(0, 3);
        std::string key = trimmed(line);
        if (!key.empty() && key[0] != '#')
            keys.keys_.push_back(std::move(key));
    }
    if (keys.keys_.empty())
        throw std::runtime_error("API key file \"" + path + "\" holds no key");
    return keys;
}

/* Compares against every key, even after a match, so the time taken does
 * not tell which key (or whether an early one) matched. */
bool ApiKeys::accepts(std::string_view authorization) const
{
    /* RFC 9110 (11.4): the scheme, case-insensitive, then 1*SP. */
    constexpr std::string_view scheme = "Bearer";
    if (authorization.size() <= scheme.size() + 1 ||
        !boost::algorithm::iequals(authorization.substr(0, scheme.size()), scheme) ||
        authorization[scheme.size()] != ' ')
        return false;
    std::string_view presented = authorization.substr(scheme.size());
    while (!presented.empty() && presented.front() == ' ')
        presented.remove_prefix(1);
    bool matched = false;
    for (const std::string &key : keys_)
        matched = equal_in_constant_time(key, presented) | matched;
    return matched;
}

} // namespace url_shortener::server
