/*
 * url_lines.h
 *    Reading URLs one per line, as import and "shorten -" take them:
 *    surrounding whitespace trimmed, blank lines and lines starting with "#"
 *    skipped, each URL kept with its line number for error messages.
 */
#ifndef URL_SHORTENER_CLI_URL_LINES_H
#define URL_SHORTENER_CLI_URL_LINES_H

#include <cstddef>
#include <istream>
#include <string>
#include <vector>

namespace url_shortener::cli {

struct UrlLines {
    std::vector<std::string> urls;
    std::vector<std::size_t> line_numbers;   /* 1-based, parallel to urls */
};

/* Reads every URL of in. */
UrlLines read_url_lines(std::istream &in);

} // namespace url_shortener::cli

#endif
