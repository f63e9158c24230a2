/*
 * url_lines.cpp
 *    One URL per line, trimmed, without blanks and comments (url_lines.h).
 */
#include "url_lines.h"

namespace url_shortener::cli {

UrlLines read_url_lines(std::istream &in)
{
    static const char *const whitespace = " \t\r\n\v\f";
    UrlLines result;
    std::string line;
    for (std::size_t number = 1; std::getline(in, line); ++number) {
        const std::size_t first = line.find_first_not_of(whitespace);
        if (first == std::string::npos || line[first] == '#')
            continue;
        const std::size_t last = line.find_last_not_of(whitespace);
        result.urls.push_back(line.substr(first, last - first + 1));
        result.line_numbers.push_back(number);
    }
    return result;
}

} // namespace url_shortener::cli
