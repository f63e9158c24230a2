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
#include "link_options.h"
#include "url_argument.h"

/*
 * The advisory lock key of shorten_url_locked, in the two-int4 key space:
 * pg_advisory_xact_lock(1431456851, 1).  1431456851 is 0x55524C53, "URLS"
 * in ASCII.  Two-int4 keys never collide with bigint keys, so only an
 * application that also uses the class 1431456851 could wait on it.
 */
static const int32 GENERATION_LOCK_CLASS = 1431456851;
static const int32 GENERATION_LOCK_OBJECT = 1;

static void
take_generation_lock(void)
{
    /* Waits like any heavyweight lock: lock_timeout and cancel apply. */
    DirectFunctionCall2(pg_advisory_xact_lock_int4,
                        Int32GetDatum(GENERATION_LOCK_CLASS),
                        Int32GetDatum(GENERATION_LOCK_OBJECT));
}

/* Stores url under the caller's alias, or raises US002 if it is taken. */
static Datum
store_under_alias(FunctionCallInfo fcinfo, const char *alias, text *url, const LinkLimits *limits)
{
    if (SPI_connect() != SPI_OK_CONNECT)
        elog(ERROR, "url_shortener: SPI_connect failed");
    open_link_store(fcinfo->flinfo->fn_oid);

    /* The primary key decides: one attempt, never a retry onto another code. */
    const bool stored = insert_link_unless_code_taken(alias, PointerGetDatum(url), limits);

    SPI_finish();

    if (!stored)
        ereport(ERROR,
                (errcode(ERRCODE_URL_SHORTENER_ALIAS_TAKEN),
                 errmsg("alias \"%s\" is already taken", alias),
                 errhint("Choose another alias, or omit it to get a random code.")));
    PG_RETURN_TEXT_P(cstring_to_text(alias));
}

/*
 * The shared body of both variants; serialize selects the locked one.
 * Version 1.0's functions have the URL only; 1.1's also an alias,
 * expires_at and max_clicks (arguments 1 to 3, NULL when not given).
 */
static Datum
shorten(FunctionCallInfo fcinfo, bool serialize)
{
    char code[Max(MAX_CODE_LENGTH, MAX_ALIAS_LENGTH) + 1];
    const int max_attempts = max_attempts_setting;
    bool stored = false;
    LinkLimits limits = {false, (Datum) 0, false, (Datum) 0};
    bool has_alias = false;

    text *url = valid_url_argument(fcinfo, 0);
    if (PG_NARGS() >= 4) {
        has_alias = alias_argument(fcinfo, 1, code);
        limits_arguments(fcinfo, 2, 3, &limits);
    }

    if (serialize)
        take_generation_lock();

    if (has_alias)
        return store_under_alias(fcinfo, code, url, &limits);

    if (SPI_connect() != SPI_OK_CONNECT)
        elog(ERROR, "url_shortener: SPI_connect failed");
    open_link_store(fcinfo->flinfo->fn_oid);

    for (int attempt = 1; attempt <= max_attempts && !stored; attempt++) {
        draw_code(code);
        if (serialize && code_is_visible(code))
            continue;
        stored = insert_link_unless_code_taken(code, PointerGetDatum(url), &limits);
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
