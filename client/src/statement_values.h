/*
 * statement_values.h
 *    The values the statements take and return: checking arguments before
 *    anything is sent (NUL bytes, the options the client can judge),
 *    encoding options as text parameters, and naming a refused URL of a
 *    batch by its place in the caller's vector.
 *    Shared by Client (client.cpp) and InTransaction (transactional.cpp).
 */
#ifndef URL_SHORTENER_CLIENT_STATEMENT_VALUES_H
#define URL_SHORTENER_CLIENT_STATEMENT_VALUES_H

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <pqxx/result>

#include "url_shortener/client.h"

namespace url_shortener {

/*
 * libpq sends parameters as C strings, so a NUL byte would silently cut
 * the URL short; refuse it (InvalidUrl 22021) the way the server refuses
 * bad bytes.  name is the argument's, as the server names it ("url",
 * "new_url").
 */
void refuse_nul_byte(std::string_view url, const char *name = "url");

/*
 * Whether code cannot be any link's: codes and aliases are ASCII (the
 * alphabet and alias characters are A-Z a-z 0-9 - . _ ~), so a NUL byte,
 * which libpq could not send, or a byte above 0x7f, which the server would
 * refuse as text before looking (22021), means no link; the calls on a
 * code answer "no link" for it without asking.
 */
bool impossible_code(std::string_view code) noexcept;

/* The same for every URL of a batch, naming the first bad one's position. */
void refuse_nul_bytes(const std::vector<std::string> &urls);

/*
 * For a connection whose client encoding is UTF8: the server would refuse
 * bytes that are not UTF-8 before the call runs (22021), without saying
 * which argument or which URL of a batch held them.  Refuses them first,
 * naming them: a URL of a batch (InvalidUrl with its position), a caller's
 * idempotency key (InvalidArgument; what names it).
 */
void refuse_invalid_utf8_key(std::string_view key, const std::string &what);
/* Both for a batch: its URLs, then the caller's keys (keys may be null). */
void refuse_invalid_utf8(const std::vector<std::string> &urls,
                         const std::vector<std::string> *keys);

/* A time as a timestamptz's input, in UTC to the microsecond. */
std::string timestamptz_text(std::chrono::system_clock::time_point t);

/*
 * Unix microseconds (statements::stats reads them exactly, as int8) as a
 * time; beyond the clock's range (after 2262, 'infinity'),
 * time_point::max() (min() before 1677).
 */
std::chrono::system_clock::time_point from_unix_microseconds(long long microseconds);

/*
 * Refuses with InvalidArgument (22023), before anything is sent, the
 * options the client can judge by itself: the alias's length and
 * characters, max_clicks below 1, an expiry not after the client's clock,
 * reuse with another option, an idempotency key that is empty, longer
 * than 255 bytes, holds a NUL byte or comes with alias or reuse.  The
 * server checks them all again (and the reserved words, and the expiry
 * against its own clock).
 */
void check_link_options(const LinkOptions &o);

/* Whether any option of the link is set (alias, reuse, expires_at, max_clicks). */
bool has_options(const LinkOptions &o);

/* Whether an idempotency key may go with these options: not with alias or reuse. */
bool takes_idempotency_key(const LinkOptions &o);

/*
 * Refuses with InvalidArgument (22023) a number of URLs per statement
 * (ClientOptions::batch_chunk_size, InTransaction::shorten_many's
 * chunk_size; name says which) outside 1 to max_chunk_size: 0 would send
 * nothing, and the extension's shorten_urls takes at most 1,000,000 URLs
 * per call (54000), so a larger chunk fails every batch that fills it.
 */
inline constexpr std::size_t max_chunk_size = 1000000;
void check_chunk_size(std::size_t chunk_size, const char *name);

/*
 * The 1-based position n in "URL n of m in the array", the context the
 * extension's shorten_urls gives a refused element; nullopt without one.
 */
std::optional<std::size_t> element_position(const std::string &context);

/*
 * The options as the text parameters $2..$5 of the statements, and the key
 * as $6 of the keyed ones, NULL where absent.
 */
struct OptionParameters {
    std::optional<std::string> alias, reuse, expires_at, max_clicks, idempotency_key;

    explicit OptionParameters(const LinkOptions &o);

    static const char *text(const std::optional<std::string> &p)
    {
        return p ? p->c_str() : nullptr;
    }
};

/*
 * e, refused in a chunk starting at chunk_begin of a batch of total URLs,
 * as the error naming its absolute position (e itself without the
 * extension's element context).
 */
InvalidUrl absolute_batch_error(const InvalidUrl &e, std::size_t chunk_begin, std::size_t total);

/* The same for a key used before for another URL ("element n" in the detail). */
IdempotencyConflict absolute_batch_error(const IdempotencyConflict &e, std::size_t chunk_begin,
                                         std::size_t total);

} // namespace url_shortener

#endif
