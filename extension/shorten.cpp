/*
 * shorten.cpp
 *    shorten_url(url) and shorten_url_locked(url).
 *
 *    Optimistic: draw a code, insert it, and let the primary key be the only
 *    judge of uniqueness.  A collision rolls back that attempt's
 *    subtransaction and draws again, at most url_shortener.max_attempts
 *    times; then the call fails with SQLSTATE US001 and stores nothing.
 *
 *    Pessimistic: the same, after taking a transaction-scoped advisory lock
 *    that serializes generation among shorten_url_locked callers, and
 *    skipping codes already visible before trying to insert them.
 */
#include "code_generator.h"
#include "entry_guard.h"
#include "link_store.h"
#include "postgres_headers.h"
#include "settings.h"
#include "sqlstates.h"
#include "url_validation.h"

/*
 * The advisory lock key of shorten_url_locked, in the two-int4 key space:
 * pg_advisory_xact_lock(1431456851, 1).  1431456851 is 0x55524C53, "URLS"
 * in ASCII.  Two-int4 keys never collide with bigint keys, so only an
 * application that also uses the class 1431456851 could wait on it.
 */
static const int32 GENERATION_LOCK_CLASS = 1431456851;
static const int32 GENERATION_LOCK_OBJECT = 1;

/* Raises the error for a URL that check_url refused. */
static void
report_invalid_url(const url_shortener::UrlVerdict &v, const char *data, size_t length)
{
    using url_shortener::UrlProblem;
    const int position = (int) v.offset + 1;

    switch (v.problem) {
        case UrlProblem::none:
            return;
        case UrlProblem::empty:
            ereport(ERROR,
                    (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                     errmsg("url must not be empty")));
            break;
        case UrlProblem::too_long:
            ereport(ERROR,
                    (errcode(ERRCODE_STRING_DATA_RIGHT_TRUNCATION),
                     errmsg("url is too long"),
                     errdetail("The URL has %zu bytes; url_shortener.max_url_length allows %d.",
                               length, max_url_length_setting)));
            break;
        case UrlProblem::space_or_control:
            ereport(ERROR,
                    (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                     errmsg("url contains a space or control character"),
                     errdetail("The byte at position %d is 0x%02x.", position,
                               (unsigned) (unsigned char) data[v.offset]),
                     errhint("Percent-encode spaces and control characters, for example \"%%20\".")));
            break;
        case UrlProblem::non_ascii:
            ereport(ERROR,
                    (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                     errmsg("url contains a non-ASCII character"),
                     errdetail("The byte at position %d is 0x%02x.", position,
                               (unsigned) (unsigned char) data[v.offset]),
                     errhint("Percent-encode the path and query, and write an international host name in its \"xn--\" form.")));
            break;
        case UrlProblem::malformed:
            ereport(ERROR,
                    (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                     errmsg("url is not a valid URI"),
                     errdetail("RFC 3986 parsing failed at position %d.", position)));
            break;
        case UrlProblem::relative:
            ereport(ERROR,
                    (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                     errmsg("url must be absolute"),
                     errdetail("A URL to shorten starts with \"http://\" or \"https://\".")));
            break;
        case UrlProblem::scheme_not_allowed:
            ereport(ERROR,
                    (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                     errmsg("url scheme \"%s\" is not allowed", v.scheme),
                     errdetail("Only http and https URLs can be shortened.")));
            break;
        case UrlProblem::no_host:
            ereport(ERROR,
                    (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                     errmsg("url has no host")));
            break;
        case UrlProblem::userinfo:
            ereport(ERROR,
                    (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                     errmsg("url must not contain user information"),
                     errdetail("A name before \"@\" in the authority can disguise the real host.")));
            break;
        case UrlProblem::bad_port:
            ereport(ERROR,
                    (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                     errmsg("url has an invalid port"),
                     errdetail("A port is a number from 1 to 65535.")));
            break;
    }
}

/*
 * Returns argument 0 as a validated URL, or raises the matching error.
 * Over-long values are refused before they are detoasted.
 */
static text *
validated_url_argument(FunctionCallInfo fcinfo)
{
    if (PG_ARGISNULL(0))
        ereport(ERROR,
                (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
                 errmsg("url must not be null")));

    const Size raw_length = toast_raw_datum_size(PG_GETARG_DATUM(0)) - VARHDRSZ;
    if (raw_length > (Size) max_url_length_setting)
        ereport(ERROR,
                (errcode(ERRCODE_STRING_DATA_RIGHT_TRUNCATION),
                 errmsg("url is too long"),
                 errdetail("The URL has %zu bytes; url_shortener.max_url_length allows %d.",
                           (size_t) raw_length, max_url_length_setting)));

    text *url = PG_GETARG_TEXT_PP(0);
    const char *data = VARDATA_ANY(url);
    const size_t length = VARSIZE_ANY_EXHDR(url);

    report_invalid_url(url_shortener::check_url(data, length, (size_t) max_url_length_setting),
                       data, length);
    return url;
}

static void
take_generation_lock(void)
{
    /* Waits like any heavyweight lock: lock_timeout and cancel apply. */
    DirectFunctionCall2(pg_advisory_xact_lock_int4,
                        Int32GetDatum(GENERATION_LOCK_CLASS),
                        Int32GetDatum(GENERATION_LOCK_OBJECT));
}

/* The shared body of both variants; serialize selects the locked one. */
static Datum
shorten(FunctionCallInfo fcinfo, bool serialize)
{
    char code[MAX_CODE_LENGTH + 1];
    const int max_attempts = max_attempts_setting;
    bool stored = false;

    text *url = validated_url_argument(fcinfo);

    if (serialize)
        take_generation_lock();

    if (SPI_connect() != SPI_OK_CONNECT)
        elog(ERROR, "url_shortener: SPI_connect failed");
    open_link_store(fcinfo->flinfo->fn_oid);

    for (int attempt = 1; attempt <= max_attempts && !stored; attempt++) {
        draw_code(code);
        if (serialize && code_is_visible(code))
            continue;
        stored = insert_link_unless_code_taken(code, PointerGetDatum(url));
    }

    SPI_finish();

    if (!stored)
        ereport(ERROR,
                (errcode(ERRCODE_URL_SHORTENER_CODE_SPACE_EXHAUSTED),
                 errmsg_plural("could not find a free short code after %d attempt",
                               "could not find a free short code after %d attempts",
                               max_attempts, max_attempts),
                 errdetail("Every code drawn from the %d-character alphabet at length %d was already taken.",
                           (int) strlen(alphabet_setting), code_length_setting),
                 errhint("Increase url_shortener.code_length to enlarge the code space.")));

    PG_RETURN_TEXT_P(cstring_to_text(code));
}

static Datum
shorten_optimistic(PG_FUNCTION_ARGS)
{
    return shorten(fcinfo, false);
}

static Datum
shorten_serialized(PG_FUNCTION_ARGS)
{
    return shorten(fcinfo, true);
}

URL_SHORTENER_SQL_FUNCTION(shorten_url, shorten_optimistic)
URL_SHORTENER_SQL_FUNCTION(shorten_url_locked, shorten_serialized)
