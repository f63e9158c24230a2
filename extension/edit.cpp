/*
 * edit.cpp
 *    update_url(code, new_url, expected_version): optimistic locking.  The
 *    caller read a version (url_stats) and changes the target only if
 *    nobody changed the link since; otherwise SQLSTATE US003, so two
 *    editors can never silently overwrite each other.
 */
#include "entry_guard.h"
#include "link_store.h"
#include "postgres_headers.h"
#include "url_argument.h"

static Datum
update(PG_FUNCTION_ARGS)
{
    if (PG_ARGISNULL(0))
        PG_RETURN_NULL();
    text *url = valid_url_argument(fcinfo, 1, "new_url");
    if (PG_ARGISNULL(2))
        ereport(ERROR,
                (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
                 errmsg("expected_version must not be null"),
                 errhint("Pass the version url_stats returned for the link.")));
    text *code = PG_GETARG_TEXT_PP(0);
    const int64 expected = PG_GETARG_INT64(2);
    int64 version = 0;

    connect_link_store(fcinfo);

    const EditOutcome outcome = replace_link_url(code, PointerGetDatum(url), expected, &version);

    SPI_finish();

    switch (outcome) {
        case EDIT_DONE:
        case EDIT_NOT_NEEDED:   /* not an outcome of replace_link_url */
            break;
        case EDIT_NO_SUCH_LINK:
            PG_RETURN_NULL();
        case EDIT_VERSION_CHANGED:
            report_version_conflict(code, expected, version,
                                    "Read the link again with url_stats and retry the edit if it still applies.");
    }
    PG_RETURN_INT64(version);
}

URL_SHORTENER_SQL_FUNCTION(update_url, update)
