/*
 * statement_values.cpp
 *    Checking and encoding the values the statements take, and naming a
 *    refused URL of a batch; shared by Client and InTransaction.
 */
#include "statement_values.h"

#include <cmath>
#include <cstdio>

#include <boost/locale/utf.hpp>
#include <pqxx/row>

#include "failure_classification.h"
#include "idempotency_key.h"
#include "utc_time.h"
#include "url_shortener/errors.h"

namespace url_shortener {

namespace {

/* Whether c may appear in an alias (the extension's rule). */
bool is_alias_character(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-';
}

} // namespace

/*
 * libpq sends parameters as C strings, so a NUL byte would silently cut
 * the URL short; refuse it the way the server refuses bad bytes.
 */
void refuse_nul_byte(std::string_view url, const char *name)
{
    if (url.find('\0') != std::string_view::npos)
        throw InvalidUrl(std::string(name) + " contains a NUL byte", "22021");
}

/*
 * A time as PostgreSQL reads a timestamptz, in UTC to the microsecond:
 * "2026-12-07 18:58:12.000001+00".  The input of an ISO date does not
 * depend on DateStyle or TimeZone, and it is exact, where Unix seconds in
 * a float8 (to_timestamp) lost a microsecond past about 2242.  The clock
 * spans 1677 to 2262, so the year always has four digits.
 */
std::string timestamptz_text(std::chrono::system_clock::time_point t)
{
    const UtcTime u = utc_time(t);
    char text[64];
    std::snprintf(text, sizeof(text), "%04lld-%02d-%02d %02d:%02d:%02d.%06lld+00", u.year, u.month,
                  u.day, u.hour, u.minute, u.second, u.microsecond);
    return text;
}

void check_chunk_size(std::size_t chunk_size, const char *name)
{
    if (chunk_size < 1 || chunk_size > max_chunk_size)
        throw InvalidArgument(std::string(name) + " must be between 1 and " +
                                  std::to_string(max_chunk_size),
                              sqlstate_invalid_argument,
                              ClientReport("It is " + std::to_string(chunk_size) + "."));
}

std::chrono::system_clock::time_point from_unix_microseconds(long long microseconds)
{
    using clock = std::chrono::system_clock;
    /*
     * The clock holds about 292 years either side of 1970 (nanoseconds in
     * 64 bits); PostgreSQL's timestamps reach far further, and 'infinity'
     * (which the statement clamps to a value beyond the clock's range).
     * Converting a time beyond that range is undefined (it came back as
     * 1677), so it saturates instead.
     */
    constexpr long long limit =
        std::chrono::duration_cast<std::chrono::microseconds>(clock::duration::max()).count();
    if (microseconds >= limit)
        return clock::time_point::max();
    if (microseconds <= -limit)
        return clock::time_point::min();
    return clock::time_point(
        std::chrono::duration_cast<clock::duration>(std::chrono::microseconds(microseconds)));
}

/*
 * Refuses, before anything is sent, the options the client can judge by
 * itself: the alias's length and characters, max_clicks below 1, reuse
 * with another option.  The server checks them all again, and the reserved
 * words.  Not the expiry: whether it is in the future is the database's to
 * say, by its own clock, as resolve judges it later (this machine's clock
 * may be off from it either way).
 */
void check_link_options(const LinkOptions &o)
{
    if (o.alias) {
        for (std::size_t i = 0; i < o.alias->size(); ++i)
            if (!is_alias_character((*o.alias)[i]))
                throw InvalidArgument("alias contains a character that is not allowed",
                                      sqlstate_invalid_argument,
                                      ClientReport("The byte at position " +
                                                       std::to_string(i + 1) + " is not allowed.",
                                                   "An alias uses only A-Z, a-z, 0-9, \"_\" "
                                                   "and \"-\"."));
        if (o.alias->empty() || o.alias->size() > 64)
            throw InvalidArgument("alias must be 1 to 64 characters long",
                                  sqlstate_invalid_argument,
                                  ClientReport("The alias has " +
                                               std::to_string(o.alias->size()) + " characters."));
    }
    if (o.max_clicks && *o.max_clicks < 1)
        throw InvalidArgument("max_clicks must be at least 1", sqlstate_invalid_argument,
                              ClientReport("It is " + std::to_string(*o.max_clicks) + "."));
    if (o.reuse && (o.alias || o.expires_at || o.max_clicks))
        throw InvalidArgument("reuse cannot be combined with alias, expires_at or max_clicks",
                              sqlstate_invalid_argument);
    if (o.idempotency_key) {
        check_idempotency_key(*o.idempotency_key);
        if (o.alias || o.reuse)
            throw InvalidArgument("idempotency_key cannot be combined with alias or reuse",
                                  sqlstate_invalid_argument,
                                  ClientReport("An alias is its own identity, and reuse already "
                                               "returns the URL's one link."));
    }
}

/* Whether any option is set (an idempotency key is not an option of the link). */
bool has_options(const LinkOptions &o)
{
    return o.alias || o.reuse || o.expires_at || o.max_clicks;
}

/* Whether a key may go with these options: not with alias or reuse. */
bool takes_idempotency_key(const LinkOptions &o)
{
    return !o.alias && !o.reuse;
}

/*
 * The 1-based position n in "URL n of m in the array", the context the
 * extension's shorten_urls gives a refused element; nullopt without one.
 */
std::optional<std::size_t> element_position(const std::string &context)
{
    const std::size_t at = context.find("URL ");
    const std::size_t of = context.find(" of ", at);
    if (at == std::string::npos || of == std::string::npos || context.find(" in the array", of) == std::string::npos)
        return std::nullopt;
    try {
        const std::string number = context.substr(at + 4, of - at - 4);
        std::size_t used = 0;
        const unsigned long n = std::stoul(number, &used);
        if (used != number.size() || n == 0)
            return std::nullopt;
        return n;
    } catch (const std::exception &) {
        return std::nullopt;
    }
}

OptionParameters::OptionParameters(const LinkOptions &o)
    : alias(o.alias), reuse(o.reuse ? "true" : "false"), idempotency_key(o.idempotency_key)
{
    if (o.expires_at)
        expires_at = timestamptz_text(*o.expires_at);
    if (o.max_clicks)
        max_clicks = std::to_string(*o.max_clicks);
}

namespace {

/* The 1-based n of "element n" in an error's detail (shorten_urls' US004). */
std::optional<std::size_t> element_in_detail(const std::string &detail)
{
    const std::size_t at = detail.find("element ");
    if (at == std::string::npos)
        return std::nullopt;
    std::size_t n = 0, i = at + 8;
    for (; i < detail.size() && detail[i] >= '0' && detail[i] <= '9'; ++i)
        n = n * 10 + static_cast<std::size_t>(detail[i] - '0');
    if (i == at + 8 || n == 0)
        return std::nullopt;
    return n;
}

/* The refused element's 1-based position within its chunk, from the server's report. */
std::optional<std::size_t> position_in_chunk(const Error &e)
{
    const ServerReport report = ServerReport::parse(e.server_message());
    if (const std::optional<std::size_t> n = element_position(report.context))
        return n;
    return element_in_detail(report.detail);
}

} // namespace

IdempotencyConflict absolute_batch_error(const IdempotencyConflict &e, std::size_t chunk_begin,
                                         std::size_t total)
{
    const std::optional<std::size_t> in_chunk = position_in_chunk(e);
    if (!in_chunk)
        return e;
    const std::size_t index = chunk_begin + *in_chunk - 1;
    return IdempotencyConflict("URL " + std::to_string(index + 1) + " of " +
                                   std::to_string(total) + ": " + e.what(),
                               e.sqlstate(), e.server_message(), index);
}

InvalidUrl absolute_batch_error(const InvalidUrl &e, std::size_t chunk_begin, std::size_t total)
{
    const std::optional<std::size_t> in_chunk = position_in_chunk(e);
    if (!in_chunk)
        return e;
    const std::size_t index = chunk_begin + *in_chunk - 1;
    return InvalidUrl("URL " + std::to_string(index + 1) + " of " + std::to_string(total) +
                          " was refused: " + e.what(),
                      e.sqlstate(), e.server_message(), index);
}

void refuse_nul_bytes(const std::vector<std::string> &urls)
{
    for (std::size_t i = 0; i < urls.size(); ++i)
        if (urls[i].find('\0') != std::string::npos)
            throw InvalidUrl("URL " + std::to_string(i + 1) + " of " + std::to_string(urls.size()) +
                                 " contains a NUL byte",
                             "22021", i, "the URL contains a NUL byte");
}

namespace {

bool valid_utf8(std::string_view text) noexcept
{
    using utf8 = boost::locale::utf::utf_traits<char>;
    for (auto p = text.begin(); p != text.end();) {
        const boost::locale::utf::code_point c = utf8::decode(p, text.end());
        if (c == boost::locale::utf::illegal || c == boost::locale::utf::incomplete)
            return false;
    }
    return true;
}

} // namespace

void refuse_invalid_utf8_key(std::string_view key, const std::string &what)
{
    if (!valid_utf8(key))
        throw InvalidArgument(what + " is not valid UTF-8, the connection's client encoding",
                              "22021");
}

void refuse_invalid_utf8(const std::vector<std::string> &urls,
                         const std::vector<std::string> *keys)
{
    for (std::size_t i = 0; i < urls.size(); ++i)
        if (!valid_utf8(urls[i]))
            throw InvalidUrl("URL " + std::to_string(i + 1) + " of " + std::to_string(urls.size()) +
                                 " is not valid UTF-8, the connection's client encoding",
                             "22021", i,
                             "the URL is not valid UTF-8, the connection's client encoding");
    if (keys)
        for (std::size_t i = 0; i < keys->size(); ++i)
            refuse_invalid_utf8_key((*keys)[i], "idempotency key " + std::to_string(i + 1) +
                                                    " of " + std::to_string(keys->size()));
}

bool impossible_code(std::string_view code) noexcept
{
    for (const char c : code)
        if (c == '\0' || static_cast<unsigned char>(c) > 0x7f)
            return true;
    return false;
}

} // namespace url_shortener
