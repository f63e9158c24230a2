/*
 * url_validation_fuzzer.cpp
 *    libFuzzer harness for url_shortener::check_url.  Every input is a URL
 *    candidate; the harness aborts when a verdict breaks a rule the
 *    validator promises (see url_validation.h), recomputing each rule here
 *    without uriparser so that a parser bug shows up as a violation.
 */
#include "url_validation.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

using url_shortener::UrlProblem;
using url_shortener::UrlVerdict;
using url_shortener::check_url;

namespace {

constexpr std::size_t default_max_length = 2048;

[[noreturn]] void violation(const char *rule, const char *data, std::size_t length)
{
    std::fprintf(stderr, "invariant violated: %s\ninput (%zu bytes): ", rule, length);
    std::fwrite(data, 1, length, stderr);
    std::fputc('\n', stderr);
    std::abort();
}

#define REQUIRE(cond) \
    do { if (!(cond)) violation(#cond, data, length); } while (0)

bool lower_equals(const char *s, std::size_t n, const char *word)
{
    if (n != std::strlen(word))
        return false;
    for (std::size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z')
            c = static_cast<char>(c - 'A' + 'a');
        if (c != word[i])
            return false;
    }
    return true;
}

bool is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* RFC 3986 section 2: unreserved, gen-delims, sub-delims and "%". */
bool is_uri_character(char c)
{
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
        return true;
    return c != '\0' && std::strchr("-._~:/?#[]@!$&'()*+,;=%", c) != nullptr;
}

/* The characters browsers leave unencoded in a query or fragment (WHATWG). */
bool is_browser_query_extra(char c)
{
    return c != '\0' && std::strchr("{}|^", c) != nullptr;
}

/*
 * WHATWG URL's "ends in a number": after one trailing dot is dropped, the
 * last label is all digits, or "0x"/"0X" and hex digits (or nothing).  A
 * browser then reads the host as IPv4.
 */
bool host_ends_in_a_number(const char *host, std::size_t n)
{
    if (n > 0 && host[n - 1] == '.')
        n--;
    const char *dot = nullptr;
    for (std::size_t i = 0; i < n; i++)
        if (host[i] == '.')
            dot = host + i;
    const char *last = dot != nullptr ? dot + 1 : host;
    const std::size_t last_length = static_cast<std::size_t>(host + n - last);
    if (last_length == 0)
        return false;
    bool digits = true;
    for (std::size_t i = 0; i < last_length; i++)
        digits = digits && last[i] >= '0' && last[i] <= '9';
    if (digits)
        return true;
    if (last_length < 2 || last[0] != '0' || (last[1] != 'x' && last[1] != 'X'))
        return false;
    for (std::size_t i = 2; i < last_length; i++)
        if (!is_hex(last[i]))
            return false;
    return true;
}

/* Four decimal numbers 0..255 joined by dots, none with a leading zero. */
bool is_dotted_decimal_quad(const char *host, std::size_t n)
{
    int parts = 0;
    std::size_t i = 0;
    while (true) {
        const std::size_t start = i;
        unsigned value = 0;
        while (i < n && host[i] >= '0' && host[i] <= '9' && i - start < 3) {
            value = value * 10 + static_cast<unsigned>(host[i] - '0');
            i++;
        }
        const std::size_t digits = i - start;
        if (digits == 0 || value > 255 || (digits > 1 && host[start] == '0'))
            return false;
        parts++;
        if (i == n)
            return parts == 4;
        if (host[i] != '.' || parts == 4)
            return false;
        i++;
    }
}

bool equal_verdicts(const UrlVerdict &a, const UrlVerdict &b)
{
    return a.problem == b.problem && a.offset == b.offset && std::strcmp(a.scheme, b.scheme) == 0;
}

/* What an accepted URL must look like, checked byte by byte. */
void check_accepted(const char *data, std::size_t length, std::size_t max_length)
{
    REQUIRE(length > 0);
    REQUIRE(length <= max_length);
    bool in_query_or_fragment = false;
    for (std::size_t i = 0; i < length; i++) {
        const unsigned char c = static_cast<unsigned char>(data[i]);
        REQUIRE(c > 0x20 && c != 0x7f && c < 0x80);
        in_query_or_fragment = in_query_or_fragment || data[i] == '?' || data[i] == '#';
        REQUIRE(is_uri_character(data[i]) || (in_query_or_fragment && is_browser_query_extra(data[i])));
        if (data[i] == '%')
            REQUIRE(i + 2 < length && is_hex(data[i + 1]) && is_hex(data[i + 2]));
    }

    /* scheme "://" authority, the scheme http or https in any case */
    const char *colon = static_cast<const char *>(std::memchr(data, ':', length));
    REQUIRE(colon != nullptr);
    const std::size_t scheme_length = static_cast<std::size_t>(colon - data);
    REQUIRE(lower_equals(data, scheme_length, "http") || lower_equals(data, scheme_length, "https"));
    REQUIRE(length - scheme_length >= 3 && std::memcmp(colon, "://", 3) == 0);

    /* The authority runs to the first "/", "?" or "#" and holds no "@". */
    const char *authority = colon + 3;
    const char *end = data + length;
    const char *authority_end = authority;
    while (authority_end < end && *authority_end != '/' && *authority_end != '?' &&
           *authority_end != '#')
        authority_end++;
    REQUIRE(std::memchr(authority, '@', static_cast<std::size_t>(authority_end - authority)) == nullptr);

    /* A non-empty host: a bracketed IP literal or a name without ":". */
    const char *host_end = authority;
    if (host_end < authority_end && *host_end == '[') {
        while (host_end < authority_end && *host_end != ']')
            host_end++;
        REQUIRE(host_end < authority_end);     /* the "]" */
        REQUIRE(host_end - authority > 1);     /* not "[]" */
        host_end++;
    } else {
        while (host_end < authority_end && *host_end != ':')
            host_end++;
        REQUIRE(host_end > authority);
        const std::size_t host_length = static_cast<std::size_t>(host_end - authority);
        /* a host name is never percent-encoded */
        REQUIRE(std::memchr(authority, '%', host_length) == nullptr);
        /* a host a browser reads as IPv4 is written as four decimal octets */
        if (host_ends_in_a_number(authority, host_length))
            REQUIRE(is_dotted_decimal_quad(authority, host_length));
    }

    /* Then nothing, or ":" and a port: empty, or digits with a value 1..65535. */
    if (host_end < authority_end) {
        REQUIRE(*host_end == ':');
        unsigned long port = 0;
        bool digits = false;
        for (const char *p = host_end + 1; p < authority_end; p++) {
            REQUIRE(*p >= '0' && *p <= '9');
            digits = true;
            port = port * 10 + static_cast<unsigned long>(*p - '0');
            REQUIRE(port <= 65535);
        }
        REQUIRE(!digits || port >= 1);
    }
}

/* What a refusal must report, where the refusal names a byte or a scheme. */
void check_refused(const char *data, std::size_t length, std::size_t max_length, const UrlVerdict &v)
{
    switch (v.problem) {
        case UrlProblem::none:
            return;
        case UrlProblem::empty:
            REQUIRE(length == 0);
            return;
        case UrlProblem::too_long:
            REQUIRE(length > max_length);
            return;
        case UrlProblem::space_or_control:
        case UrlProblem::non_ascii: {
            REQUIRE(v.offset < length);
            /* the first byte outside printable ASCII, and of the reported kind */
            for (std::size_t i = 0; i < v.offset; i++) {
                const unsigned char c = static_cast<unsigned char>(data[i]);
                REQUIRE(c > 0x20 && c < 0x7f);
            }
            const unsigned char c = static_cast<unsigned char>(data[v.offset]);
            if (v.problem == UrlProblem::space_or_control)
                REQUIRE(c <= 0x20 || c == 0x7f);
            else
                REQUIRE(c >= 0x80);
            return;
        }
        case UrlProblem::scheme_not_allowed: {
            const std::size_t n = std::strlen(v.scheme);
            REQUIRE(n > 0 && n <= 32);
            REQUIRE(n < length && std::memcmp(v.scheme, data, n) == 0);
            REQUIRE(!lower_equals(v.scheme, n, "http") && !lower_equals(v.scheme, n, "https"));
            return;
        }
        case UrlProblem::encoded_host: {
            /* the offset is where the host starts, and a "%" follows in it */
            REQUIRE(v.offset < length);
            const char *end = data + length;
            const char *p = data + v.offset;
            while (p < end && *p != '/' && *p != '?' && *p != '#' && *p != ':' && *p != '%')
                p++;
            REQUIRE(p < end && *p == '%');
            return;
        }
        case UrlProblem::noncanonical_ipv4: {
            /* the offset is where a host starts that ends in a number and is no quad */
            REQUIRE(v.offset < length);
            const char *end = data + length;
            const char *host = data + v.offset;
            const char *host_end = host;
            while (host_end < end && *host_end != '/' && *host_end != '?' && *host_end != '#' &&
                   *host_end != ':')
                host_end++;
            const std::size_t host_length = static_cast<std::size_t>(host_end - host);
            REQUIRE(host_ends_in_a_number(host, host_length));
            REQUIRE(!is_dotted_decimal_quad(host, host_length));
            return;
        }
        case UrlProblem::future_ip_literal: {
            /* the offset is where a bracketed literal's "v" or "V" is */
            REQUIRE(v.offset > 0 && v.offset < length);
            REQUIRE(data[v.offset - 1] == '[');
            REQUIRE(data[v.offset] == 'v' || data[v.offset] == 'V');
            return;
        }
        case UrlProblem::userinfo:
        case UrlProblem::bad_port:
        case UrlProblem::out_of_memory:   /* no verdict on the input */
        case UrlProblem::malformed:
            REQUIRE(v.offset <= length);
            return;
        case UrlProblem::relative:
        case UrlProblem::no_host:
            return;
    }
    violation("verdict is one of the UrlProblem values", data, length);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *bytes, std::size_t length)
{
    /* A copy of exactly length bytes: a read past the end is an ASan report. */
    char *data = new char[length > 0 ? length : 1];
    if (length > 0)
        std::memcpy(data, bytes, length);

    const UrlVerdict v = check_url(data, length, default_max_length);
    REQUIRE(std::memchr(v.scheme, '\0', sizeof(v.scheme)) != nullptr);
    if (v.problem == UrlProblem::none)
        check_accepted(data, length, default_max_length);
    else
        check_refused(data, length, default_max_length, v);

    /* Deterministic, and the limit only ever adds "too long". */
    REQUIRE(equal_verdicts(v, check_url(data, length, default_max_length)));
    if (length > 0) {
        const UrlVerdict at_limit = check_url(data, length, length);
        if (length <= default_max_length)
            REQUIRE(equal_verdicts(v, at_limit));
        else
            REQUIRE(at_limit.problem != UrlProblem::too_long);
        REQUIRE(check_url(data, length, length - 1).problem == UrlProblem::too_long);
    }

    delete[] data;
    return 0;
}
