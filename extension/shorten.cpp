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

/* The shared body of both variants; serialize selects the locked one. */
static Datum
shorten(FunctionCallInfo fcinfo, bool serialize)
{
    char code[MAX_CODE_LENGTH + 1];
    const int max_attempts = max_attempts_setting;
    bool stored = false;

    text *url = valid_url_argument(fcinfo, 0);

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
