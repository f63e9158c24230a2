/*
 * url_lines.h
 *    Reading URLs one per line, as import and "shorten -" take them:
 *    surrounding whitespace trimmed, blank lines and lines starting with "#"
 *    skipped, each URL kept with its line number for error messages and
 *    import's idempotency keys; and the SHA-256 of the exact bytes read.
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
    std::string sha256;                      /* of every byte read, 64 lower-case hex digits */
};

/*
 * Reads every URL of in, to its end, hashing each byte once as it is read
 * (the input is not kept whole).  Lines end at "\n"; a last line without
 * one counts.  Check in.bad() afterwards for a read error.
 */
UrlLines read_url_lines(std::istream &in);

} // namespace url_shortener::cli

#endif
