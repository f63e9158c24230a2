/*
 * lifecycle.cpp
 *    delete_url, disable_url, enable_url (also at an expected version),
 *    url_stats and release_code: one statement each on the row of one
 *    short_code, through kept plans.
 *
 *    Deleting a link retires it: the row stays as a tombstone (no URL,
 *    retired_at set) that holds its code, so a code once handed out never
 *    leads to another URL.  Only release_code, an administrator's
 *    function, deletes a tombstone and frees its code.  The other
 *    functions pass over tombstones as over unknown codes.
 */
#include "entry_guard.h"
#include "link_store.h"
#include "postgres_headers.h"

extern "C" {
#include "funcapi.h"
}

/*
 * The body of delete_url, disable_url, enable_url and release_code, one
 * instance per LinkChange: applies which to the link of argument 0
 * (STRICT: never NULL); returns whether it applied.  Trivial locals only,
 * as an ereport(ERROR) may longjmp out of change_link.
 */
template <LinkChange which>
static Datum
change(PG_FUNCTION_ARGS)
{
    text *code = PG_GETARG_TEXT_PP(0);

    connect_link_store(fcinfo);
    const bool changed = change_link(which, code);
    SPI_finish();

    PG_RETURN_BOOL(changed);
}

/*
 * The body of the two-argument delete_url, disable_url and enable_url
 * (1.5): which, only while the link is at expected_version (argument 1).
 * True if it applied, false if the link is at that version and already as
 * asked, NULL for an unknown or retired code; US003 if the link is at
 * another version, as update_url.
 */
template <LinkChange which>
static Datum
change_at(PG_FUNCTION_ARGS)
{
    if (PG_ARGISNULL(0))
        PG_RETURN_NULL();
    if (PG_ARGISNULL(1))
        ereport(ERROR,
                (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
                 errmsg("expected_version must not be null"),
                 errhint("Pass the version url_stats returned for the link, or call the function "
                         "without it.")));
    text *code = PG_GETARG_TEXT_PP(0);
    const int64 expected = PG_GETARG_INT64(1);
    int64 version = 0;

    connect_link_store(fcinfo);
    const EditOutcome outcome = change_link_at(which, code, expected, &version);
    SPI_finish();

    switch (outcome) {
        case EDIT_DONE:
            PG_RETURN_BOOL(true);
        case EDIT_NOT_NEEDED:
            PG_RETURN_BOOL(false);
        case EDIT_NO_SUCH_LINK:
            PG_RETURN_NULL();
        case EDIT_VERSION_CHANGED:
            break;
    }
    report_version_conflict(code, expected, version,
                            "Read the link again with url_stats and retry if the change still applies.");
}

/*
 * url_stats(code): the public facts of one live link, as one row; no row
 * for an unknown or retired code.  Materialized: at most one row.
 */
static Datum
stats(PG_FUNCTION_ARGS)
{
    text *code = PG_GETARG_TEXT_PP(0);
    ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

    InitMaterializedSRF(fcinfo, 0);
    connect_link_store(fcinfo, AccessShareLock);   /* reads links only */
    if (find_link_stats(code)) {
        Datum values[8];
        bool nulls[8];

        ensure_result_types(rsinfo->setDesc);
        heap_deform_tuple(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, values, nulls);
        /* The tuplestore copies the row into its own memory. */
        tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
    }
    SPI_finish();
    return (Datum) 0;
}

/* delete_url(code): retires a live link; true if there was one. */
URL_SHORTENER_SQL_FUNCTION(delete_url, change<RETIRE_LINK>)
/* disable_url(code): the link resolves to NULL until enabled, and is no longer reused. */
URL_SHORTENER_SQL_FUNCTION(disable_url, change<DISABLE_LINK>)
/* enable_url(code): undoes disable_url. */
URL_SHORTENER_SQL_FUNCTION(enable_url, change<ENABLE_LINK>)
/* delete_url, disable_url and enable_url (code, expected_version), 1.5. */
URL_SHORTENER_SQL_FUNCTION(delete_url_at, change_at<RETIRE_LINK>)
URL_SHORTENER_SQL_FUNCTION(disable_url_at, change_at<DISABLE_LINK>)
URL_SHORTENER_SQL_FUNCTION(enable_url_at, change_at<ENABLE_LINK>)
/* release_code(code): deletes a tombstone, so that the code may be used again. */
URL_SHORTENER_SQL_FUNCTION(release_code, change<RELEASE_CODE>)
URL_SHORTENER_SQL_FUNCTION(url_stats, stats)
