/*
 * url_validation.cpp
 *    The URL rules of url_shortener: an absolute http or https URL with a
 *    host, no user information, printable ASCII only, within a byte limit.
 *    Parsing is uriparser's; this file only decides.
 */
#include "url_validation.h"

#include <cstring>

#include <uriparser/Uri.h>

namespace url_shortener {
namespace {

UrlVerdict verdict(UrlProblem problem, std::size_t offset = 0) noexcept
{
    UrlVerdict v;
    v.problem = problem;
    v.offset = offset;
    v.scheme[0] = '\0';
    return v;
}

std::size_t range_length(const UriTextRangeA &range) noexcept
{
    if (range.first == nullptr || range.afterLast == nullptr)
        return 0;
    return static_cast<std::size_t>(range.afterLast - range.first);
}

bool range_equals_ignoring_case(const UriTextRangeA &range, const char *word) noexcept
{
    const std::size_t n = range_length(range);
    if (n != std::strlen(word))
        return false;
    for (std::size_t i = 0; i < n; i++) {
        char c = range.first[i];
        if (c >= 'A' && c <= 'Z')
            c = static_cast<char>(c - 'A' + 'a');
        if (c != word[i])
            return false;
    }
    return true;
}

/* A port is digits (uriparser guarantees that); empty means the default. */
bool port_in_range(const UriTextRangeA &range) noexcept
{
    const std::size_t n = range_length(range);
    if (n == 0)
        return true;
    unsigned long value = 0;
    for (std::size_t i = 0; i < n; i++) {
        value = value * 10 + static_cast<unsigned long>(range.first[i] - '0');
        if (value > 65535)
            return false;
    }
    return value >= 1;
}

/*
 * The characters RFC 3986 allows in a query or fragment, with the
 * percent-encoding checked, plus the six that browsers leave unencoded
 * there.  The tail starts at its "?" or "#" and is checked whole: after
 * the first "?", a "?" is data; "#" may appear once, to start the fragment.
 */
bool is_hex_digit(char c) noexcept
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

bool is_query_character(char c) noexcept
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    return std::strchr("-._~!$&'()*+,;=:@/?" "[]{}|^", c) != nullptr && c != '\0';
}

/* Returns the offset of the first byte not allowed in the tail, or length. */
std::size_t check_query_and_fragment(const char *data, std::size_t start,
                                     std::size_t length) noexcept
{
    bool in_fragment = data[start] == '#';

    for (std::size_t i = start + 1; i < length; i++) {
        const char c = data[i];
        if (c == '%') {
            if (i + 2 >= length || !is_hex_digit(data[i + 1]) || !is_hex_digit(data[i + 2]))
                return i;
            i += 2;
        } else if (c == '#' && !in_fragment) {
            in_fragment = true;
        } else if (!is_query_character(c)) {
            return i;
        }
    }
    return length;
}

/* A registered host name (not an IP literal) holding a "%". */
bool host_is_percent_encoded(const UriUriA &uri) noexcept
{
    if (uri.hostData.ip4 != nullptr || uri.hostData.ip6 != nullptr ||
        uri.hostData.ipFuture.first != nullptr)
        return false;
    const std::size_t n = range_length(uri.hostText);
    return n > 0 && std::memchr(uri.hostText.first, '%', n) != nullptr;
}

/*
 * The WHATWG URL standard's "ends in a number" test, which decides whether
 * a browser parses an http(s) host as IPv4: the last label, after dropping
 * one trailing dot, is all decimal digits, or "0x" or "0X" followed by
 * hex digits or nothing (a browser reads "0x" as 0).  Such a host is either
 * an address or refused by the browser; never a name.
 */
bool ends_in_a_number(const char *host, std::size_t n) noexcept
{
    if (n > 0 && host[n - 1] == '.')
        n--;
    std::size_t start = n;
    while (start > 0 && host[start - 1] != '.')
        start--;
    const char *label = host + start;
    const std::size_t label_length = n - start;
    if (label_length == 0)
        return false;

    std::size_t i = 0;
    while (i < label_length && label[i] >= '0' && label[i] <= '9')
        i++;
    if (i == label_length)
        return true;

    if (label_length < 2 || label[0] != '0' || (label[1] != 'x' && label[1] != 'X'))
        return false;
    for (i = 2; i < label_length; i++)
        if (!is_hex_digit(label[i]))
            return false;
    return true;
}

/*
 * A host that browsers read as an IPv4 address but that is not RFC 3986's
 * IPv4address (four decimal numbers 0-255 without leading zeros, which is
 * what uriparser reports as ip4): "2130706433", "0x7f.1", "0177.0.0.1",
 * "127.1", "127.0.0.1." and "256.1.1.1" alike.  Such a form shows a reader
 * something other than the address the link goes to.  Bracketed IPv6 and
 * IPvFuture literals are not host names and are left to uriparser.
 */
bool host_is_noncanonical_ipv4(const UriUriA &uri) noexcept
{
    if (uri.hostData.ip4 != nullptr || uri.hostData.ip6 != nullptr ||
        uri.hostData.ipFuture.first != nullptr)
        return false;
    return ends_in_a_number(uri.hostText.first, range_length(uri.hostText));
}

/* The parts of the rules that need the parsed URI. */
UrlVerdict check_parsed(const UriUriA &uri, const char *data) noexcept
{
    if (range_length(uri.scheme) == 0)
        return verdict(UrlProblem::relative);

    if (!range_equals_ignoring_case(uri.scheme, "http") &&
        !range_equals_ignoring_case(uri.scheme, "https")) {
        UrlVerdict v = verdict(UrlProblem::scheme_not_allowed);
        std::size_t n = range_length(uri.scheme);
        if (n > sizeof(v.scheme) - 1)
            n = sizeof(v.scheme) - 1;
        std::memcpy(v.scheme, uri.scheme.first, n);
        v.scheme[n] = '\0';
        return v;
    }

    const bool has_host = range_length(uri.hostText) > 0 ||
                          uri.hostData.ip4 != nullptr || uri.hostData.ip6 != nullptr;
    if (!has_host)
        return verdict(UrlProblem::no_host);

    /* RFC 3986 allows "[v1.x]" for addresses of versions to come; the
     * WHATWG URL standard that browsers follow refuses it. */
    if (uri.hostData.ipFuture.first != nullptr)
        return verdict(UrlProblem::future_ip_literal,
                       static_cast<std::size_t>(uri.hostData.ipFuture.first - data));

    if (host_is_percent_encoded(uri))
        return verdict(UrlProblem::encoded_host,
                       static_cast<std::size_t>(uri.hostText.first - data));

    if (host_is_noncanonical_ipv4(uri))
        return verdict(UrlProblem::noncanonical_ipv4,
                       static_cast<std::size_t>(uri.hostText.first - data));

    if (uri.userInfo.first != nullptr)
        return verdict(UrlProblem::userinfo,
                       static_cast<std::size_t>(uri.userInfo.first - data));

    if (!port_in_range(uri.portText))
        return verdict(UrlProblem::bad_port,
                       static_cast<std::size_t>(uri.portText.first - data));

    return verdict(UrlProblem::none);
}

}  // namespace

UrlVerdict check_url(const char *data, std::size_t length, std::size_t max_length) noexcept
{
    if (length == 0)
        return verdict(UrlProblem::empty);
    if (length > max_length)
        return verdict(UrlProblem::too_long);

    for (std::size_t i = 0; i < length; i++) {
        const unsigned char c = static_cast<unsigned char>(data[i]);
        if (c <= 0x20 || c == 0x7f)
            return verdict(UrlProblem::space_or_control, i);
        if (c >= 0x80)
            return verdict(UrlProblem::non_ascii, i);
    }

    /*
     * uriparser parses up to the query or fragment, which cannot start
     * earlier: "?" and "#" appear nowhere before them in a URI.  The tail
     * is checked last, here, with the browsers' extra characters allowed.
     */
    std::size_t tail = 0;
    while (tail < length && data[tail] != '?' && data[tail] != '#')
        tail++;

    UriUriA uri;
    const char *error_position = nullptr;
    const int parsed = uriParseSingleUriExA(&uri, data, data + tail, &error_position);
    if (parsed == URI_ERROR_MALLOC)
        return verdict(UrlProblem::out_of_memory, 0);
    if (parsed != URI_SUCCESS) {
        const std::size_t offset =
            error_position != nullptr ? static_cast<std::size_t>(error_position - data) : 0;
        return verdict(UrlProblem::malformed, offset);
    }

    const UrlVerdict v = check_parsed(uri, data);
    uriFreeUriMembersA(&uri);
    if (v.problem != UrlProblem::none || tail == length)
        return v;

    const std::size_t bad = check_query_and_fragment(data, tail, length);
    return bad < length ? verdict(UrlProblem::malformed, bad) : v;
}

}  // namespace url_shortener
