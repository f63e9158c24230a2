/*
 * maintenance.cpp
 *    purge_urls(batch_size) and url_shortener_capacity(): the
 *    administrator's two functions over the whole table.
 *
 *    purge_urls retires expired and used-up links (see lifecycle.cpp): the
 *    URL's space is reclaimed by vacuum, the small tombstone keeps the
 *    code.  One purge runs at a time, guarded by a lock that only this
 *    extension's code can take (extension_locks.h), so no role can stall
 *    it by holding an advisory lock.
 *
 *    url_shortener_capacity reports, per code length, how full the code
 *    space of drawn codes is under the current url_shortener.alphabet and
 *    max_attempts, as the module itself reads them.
 */
#include <cmath>

#include "citus_node.h"
#include "entry_guard.h"
#include "extension_locks.h"
#include "link_store.h"
#include "postgres_headers.h"
#include "reserved_codes.h"
#include "settings.h"

extern "C" {
#include "funcapi.h"
#include "tcop/utility.h"
#include "utils/float.h"
#include "utils/numeric.h"
}

/*
 * Retires finished links batch_size per statement until a statement finds
 * fewer; returns how many.  Returns 0 at once if another purge holds the
 * lock: it is doing this work already.
 */
static Datum
purge(PG_FUNCTION_ARGS)
{
    const int32 batch_size = PG_GETARG_INT32(0);     /* STRICT */
    int64 purged = 0;
    uint64 batch = 0;

    if (batch_size < 1)
        ereport(ERROR,
                (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                 errmsg("batch_size must be at least 1"),
                 errdetail("It is %d.", batch_size)));

    /* As take_batch_lock (shorten_batch.cpp): 25006 on a hot standby. */
    PreventCommandIfReadOnly("purge_urls()");
    /* The purge lock is local to the node that takes it (citus_node.h). */
    refuse_on_citus_worker(CoordinatorOnlyCall::purge_urls);
    connect_link_store(fcinfo);
    if (!try_extension_lock(PURGE_LOCK)) {
        SPI_finish();
        PG_RETURN_INT64(0);
    }
    do {
        CHECK_FOR_INTERRUPTS();
        batch = retire_finished_links(batch_size);
        purged += (int64) batch;
    } while (batch == (uint64) batch_size);
    SPI_finish();

    PG_RETURN_INT64(purged);
}

/* base ^ exponent as an exact numeric. */
static Datum
exact_power(int base, int exponent)
{
    Datum power = DirectFunctionCall2(numeric_power, NumericGetDatum(int64_to_numeric(base)),
                                      NumericGetDatum(int64_to_numeric(exponent)));

    return DirectFunctionCall2(numeric_round, power, Int32GetDatum(0));
}

/*
 * One row per code length among drawn codes spelled in the current
 * alphabet (aliases are chosen, not drawn, so they do not fill the space
 * draws search, nor do codes with a character the alphabet lacks;
 * tombstones do): the
 * count, the space alphabet^length, its fullness p, the attempts a call
 * needs on average 1 / (1 - p), and the chance p^max_attempts that a call
 * fails with US001.
 */
static Datum
capacity(PG_FUNCTION_ARGS)
{
    ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
    const int alphabet_size = (int) strlen(alphabet_setting);
    const int max_attempts = max_attempts_setting;

    InitMaterializedSRF(fcinfo, 0);
    connect_link_store(fcinfo, AccessShareLock);   /* reads links only */

    const uint64 lengths = count_drawn_codes(alphabet_setting);
    for (uint64 i = 0; i < lengths; i++) {
        bool isnull;
        const int length = DatumGetInt32(result_value(i, 1, INT4OID, &isnull));
        const int64 links = DatumGetInt64(result_value(i, 2, INT8OID, &isnull));
        /* The codes a draw can give: not those it discards (reserved_codes.h). */
        const unsigned long unusable = unusable_codes_in(alphabet_setting, length);
        const double space = pow((double) alphabet_size, (double) length) - (double) unusable;
        const double fullness = space > 0 ? (double) links / space : 1.0;
        Datum values[6];
        bool nulls[6] = {false, false, false, false, false, false};

        values[0] = Int32GetDatum(length);
        values[1] = Int64GetDatum(links);
        values[2] = DirectFunctionCall2(numeric_sub, exact_power(alphabet_size, length),
                                        NumericGetDatum(int64_to_numeric((int64) unusable)));
        values[3] = Float8GetDatum(fullness);
        values[4] = Float8GetDatum(fullness < 1 ? 1 / (1 - fullness) : get_float8_infinity());
        values[5] = Float8GetDatum(Min(1.0, pow(fullness, (double) max_attempts)));
        tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
    }
    SPI_finish();
    return (Datum) 0;
}

URL_SHORTENER_SQL_FUNCTION(purge_urls, purge)
URL_SHORTENER_SQL_FUNCTION(url_shortener_capacity, capacity)
