/*
 * url_lines.h
 *    Reading URLs one per line, as import and "shorten -" take them:
 *    surrounding whitespace trimmed, blank lines and lines starting with "#"
 *    skipped, a UTF-8 byte order mark at the very start ignored, each URL
 *    kept with its line number for error messages and import's idempotency
 *    keys; and the SHA-256 of the exact bytes read.  A line longer than any
 *    URL the extension can take stops the reading: it is not buffered.
 */
#ifndef URL_SHORTENER_CLI_URL_LINES_H
#define URL_SHORTENER_CLI_URL_LINES_H

#include <cstddef>
#include <istream>
#include <optional>
#include <string>
#include <vector>

namespace url_shortener::cli {

/*
 * The longest line taken, without its "\n" or "\r\n": the most
 * url_shortener.max_url_length allows (1 MB), so no longer line can be a
 * URL the server would store.
 */
inline constexpr std::size_t max_line_bytes = 1048576;

/* Why a line over max_line_bytes was refused, for "line N of X was refused: ...". */
std::string too_long_line_reason();

struct UrlLines {
    std::vector<std::string> urls;
    std::vector<std::size_t> line_numbers;   /* 1-based, parallel to urls */
    std::string sha256;                      /* of every byte read, 64 lower-case hex digits */
    /* Set: this line was longer than max_line_bytes, and reading stopped in
     * it (urls and sha256 are then incomplete: use none of it). */
    std::optional<std::size_t> too_long_line;
};

/*
 * Reads every URL of in, to its end, hashing each byte once as it is read
 * (the input is not kept whole).  Lines end at "\n"; a last line without
 * one counts.  A UTF-8 byte order mark (EF BB BF) opening line 1 is not
 * part of it (it is hashed as every byte is).  Stops at the first line
 * longer than max_line_bytes, having kept at most that much of it (and one
 * block read) in memory: see too_long_line.  Check in.bad() afterwards for
 * a read error.
 */
UrlLines read_url_lines(std::istream &in);

} // namespace url_shortener::cli

#endif
