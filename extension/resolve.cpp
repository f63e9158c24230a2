/*
 * resolve.cpp
 *    resolve_url(code): the URL behind a code, counting the click in the
 *    same statement.  Declared STRICT, so a NULL code never reaches here.
 */
#include "entry_guard.h"
#include "link_store.h"
#include "postgres_headers.h"

static Datum
resolve(PG_FUNCTION_ARGS)
{
    text *code = PG_GETARG_TEXT_PP(0);

    connect_link_store(fcinfo);

    text *url = count_click_and_fetch_url(code);

    SPI_finish();

    if (url == NULL)
        PG_RETURN_NULL();
    PG_RETURN_TEXT_P(url);
}

URL_SHORTENER_SQL_FUNCTION(resolve_url, resolve)
