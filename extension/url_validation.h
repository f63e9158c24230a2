/*
 * url_validation.h
 *    Decides whether a URL may be shortened.  Pure C++ on top of uriparser
 *    (an RFC 3986 parser): no PostgreSQL headers, no allocation that can
 *    throw, so it can be fuzzed and tested outside the server.
 *
 *    The rules are RFC 3986's, with three departures toward what browsers
 *    do (the WHATWG URL standard): the query and the fragment may also hold
 *    "[ ] { } | ^" unencoded, as links copied from an address bar do; a
 *    host name may not be percent-encoded, which RFC 3986 allows but
 *    browsers decode, so "%65vil.example" would be a disguise; and a host
 *    that browsers read as an IPv4 address (its last label is a number:
 *    "2130706433", "0x7f.1", "0177.0.0.1", "127.1") must be written as four
 *    decimal numbers 0-255 without leading zeros, RFC 3986's IPv4address,
 *    for the same reason.
 */
#ifndef URL_SHORTENER_URL_VALIDATION_H
#define URL_SHORTENER_URL_VALIDATION_H

#include <cstddef>

namespace url_shortener {

/* What is wrong with a URL; none means it may be stored. */
enum class UrlProblem {
    none,
    empty,              /* zero bytes */
    too_long,           /* more bytes than the configured limit */
    space_or_control,   /* a byte <= 0x20 or 0x7f anywhere */
    non_ascii,          /* a byte >= 0x80: IRIs must be encoded first */
    malformed,          /* not an RFC 3986 URI */
    relative,           /* no scheme */
    scheme_not_allowed, /* a scheme other than http or https */
    no_host,            /* no authority, or an empty host */
    encoded_host,       /* a "%" in a host name: it can disguise the host */
    noncanonical_ipv4,  /* a host browsers read as IPv4, not as "a.b.c.d" in decimal */
    future_ip_literal,  /* an IPvFuture literal ("[v1.x]"): no browser opens one */
    userinfo,           /* user@ or user:password@ before the host */
    bad_port,           /* a port outside 1..65535 */
    out_of_memory       /* the URI parser could not allocate: no verdict on the URL */
};

struct UrlVerdict {
    UrlProblem problem;
    std::size_t offset;     /* byte offset of the offending byte, where one is meaningful */
    char scheme[33];        /* the refused scheme (scheme_not_allowed), NUL-terminated, cut at 32 bytes */
};

/*
 * Checks the length bytes at data (not NUL-terminated, may contain NUL)
 * against the rules above.  max_length is the configured byte limit.
 */
UrlVerdict check_url(const char *data, std::size_t length, std::size_t max_length) noexcept;

}  // namespace url_shortener

#endif
