/*
 * url_argument.cpp
 *    Turns url_validation's verdicts into PostgreSQL errors.
 *
 *    SQLSTATEs: 22004 (null_value_not_allowed) for a NULL URL, 22001
 *    (string_data_right_truncation) for one over url_shortener.max_url_length,
 *    22023 (invalid_parameter_value) for every other refusal.
 */
#include "url_argument.h"

#include "settings.h"
#include "url_validation.h"

/* Raises the error for a URL that check_url refused. */
static void
report_invalid_url(const url_shortener::UrlVerdict &v, const char *data, size_t length,
                   const char *name)
{
    using url_shortener::UrlProblem;
    const int position = (int) v.offset + 1;

    switch (v.problem) {
        case UrlProblem::none:
            return;
        case UrlProblem::empty:
            ereport(ERROR,
                    (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                     errmsg("%s must not be empty", name)));
            break;
        case UrlProblem::too_long:
            ereport(ERROR,
                    (errcode(ERRCODE_STRING_DATA_RIGHT_TRUNCATION),
                     errmsg("%s is too long", name),
                     errdetail("The URL has %zu bytes; url_shortener.max_url_length allows %d.",
                               length, max_url_length_setting)));
            break;
        case UrlProblem::space_or_control:
            ereport(ERROR,
                    (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                     errmsg("%s contains a space or control character", name),
                     errdetail("The byte at position %d is 0x%02x.", position,
                               (unsigned) (unsigned char) data[v.offset]),
                     errhint("Percent-encode spaces and control characters, for example \"%%20\".")));
            break;
        case UrlProblem::non_ascii:
            ereport(ERROR,
                    (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                     errmsg("%s contains a non-ASCII character", name),
                     errdetail("The byte at position %d is 0x%02x.", position,
                               (unsigned) (unsigned char) data[v.offset]),
                     errhint("Percent-encode the path and query, and write an international host name in its \"xn--\" form.")));
            break;
        case UrlProblem::out_of_memory:
            ereport(ERROR,
                    (errcode(ERRCODE_OUT_OF_MEMORY),
                     errmsg("out of memory"),
                     errdetail("The URL parser could not allocate memory for the URL.")));
            break;
        case UrlProblem::malformed:
            ereport(ERROR,
                    (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                     errmsg("%s is not a valid URI", name),
                     errdetail("RFC 3986 parsing failed at position %d.", position)));
            break;
        case UrlProblem::relative:
            ereport(ERROR,
                    (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                     errmsg("%s must be absolute", name),
                     errdetail("A URL to shorten starts with \"http://\" or \"https://\".")));
            break;
        case UrlProblem::scheme_not_allowed:
            ereport(ERROR,
                    (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                     errmsg("%s scheme \"%s\" is not allowed", name, v.scheme),
                     errdetail("Only http and https URLs can be shortened.")));
            break;
        case UrlProblem::no_host:
            ereport(ERROR,
                    (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                     errmsg("%s has no host", name)));
            break;
        case UrlProblem::encoded_host:
            ereport(ERROR,
                    (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                     errmsg("%s host must not be percent-encoded", name),
                     errdetail("Browsers decode a percent-encoded host name, so it can disguise the real host."),
                     errhint("Write the host name as plain letters, digits, hyphens and dots.")));
            break;
        case UrlProblem::noncanonical_ipv4:
            ereport(ERROR,
                    (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                     errmsg("%s host is a numeric IPv4 address in a non-standard form", name),
                     errdetail("Browsers read a host whose last label is a number as an IPv4 address, so this form disguises where the link goes."),
                     errhint("Write the address as four decimal numbers from 0 to 255 without leading zeros, for example \"192.0.2.1\".")));
            break;
        case UrlProblem::future_ip_literal:
            ereport(ERROR,
                    (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                     errmsg("%s host is an IPvFuture literal", name),
                     errdetail("Browsers open no address written as \"[v...]\", so the link could never be followed.")));
            break;
        case UrlProblem::userinfo:
            ereport(ERROR,
                    (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                     errmsg("%s must not contain user information", name),
                     errdetail("A name before \"@\" in the authority can disguise the real host.")));
            break;
        case UrlProblem::bad_port:
            ereport(ERROR,
                    (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                     errmsg("%s has an invalid port", name),
                     errdetail("A port is a number from 1 to 65535.")));
            break;
    }
}

text *
valid_url_argument(FunctionCallInfo fcinfo, int argno, const char *name)
{
    if (PG_ARGISNULL(argno))
        ereport(ERROR,
                (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
                 errmsg("%s must not be null", name)));

    const Size raw_length = toast_raw_datum_size(PG_GETARG_DATUM(argno)) - VARHDRSZ;
    if (raw_length > (Size) max_url_length_setting)
        ereport(ERROR,
                (errcode(ERRCODE_STRING_DATA_RIGHT_TRUNCATION),
                 errmsg("%s is too long", name),
                 errdetail("The URL has %zu bytes; url_shortener.max_url_length allows %d.",
                           (size_t) raw_length, max_url_length_setting)));

    text *url = PG_GETARG_TEXT_PP(argno);
    ensure_valid_url(url, name);
    return url;
}

void
ensure_valid_url(text *url, const char *name)
{
    const char *data = VARDATA_ANY(url);
    const size_t length = VARSIZE_ANY_EXHDR(url);

    report_invalid_url(url_shortener::check_url(data, length, (size_t) max_url_length_setting),
                       data, length, name);
}
