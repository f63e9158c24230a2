/*
 * link_store.cpp
 *    Kept SPI plans over <extension schema>.urls, and the subtransaction
 *    that turns "this code is taken" into a retry instead of an error.
 *
 *    The statements name the extension's schema and pg_catalog's operators
 *    explicitly, so a caller's search_path cannot redirect them.
 */
#include "link_store.h"

extern "C" {
#include "catalog/pg_class.h"
#include "utils/inval.h"
#include "utils/syscache.h"
}

/* Per-backend state.  Plans live under CacheMemoryContext (SPI_keepplan). */
static Oid store_namespace = InvalidOid;
static Oid store_relid = InvalidOid;
static bool store_has_lifecycle = false;    /* the 1.1 columns exist */
static bool invalidation_registered = false;
static SPIPlanPtr insert_plan = NULL;
static SPIPlanPtr update_plan = NULL;
static SPIPlanPtr version_plan = NULL;
static SPIPlanPtr reuse_insert_plan = NULL;
static SPIPlanPtr reuse_check_plan = NULL;
static SPIPlanPtr reuse_key_plan = NULL;
static bytea *reuse_key_value = NULL;      /* in TopMemoryContext, read once */
static SPIPlanPtr exists_plan = NULL;
static SPIPlanPtr click_plan = NULL;
static SPIPlanPtr batch_insert_plan = NULL;
static SPIPlanPtr batch_insert_skipping_plan = NULL;
static SPIPlanPtr taken_codes_plan = NULL;
static Oid store_pkey = InvalidOid;         /* the primary key index of the table */

/* Every kept plan, so that re-opening frees them all. */
static SPIPlanPtr *const kept_plans[] = {
    &insert_plan, &update_plan, &version_plan, &reuse_insert_plan, &reuse_check_plan,
    &reuse_key_plan, &exists_plan, &click_plan, &batch_insert_plan,
    &batch_insert_skipping_plan, &taken_codes_plan,
};

static SPIPlanPtr
prepare_kept_plan(const char *sql, int nargs, Oid *argtypes)
{
    /*
     * A generic plan from the first call: every statement is a primary-key
     * lookup or a single-row insert, so custom plans only cost planning time.
     */
    SPIPlanPtr plan = SPI_prepare_cursor(sql, nargs, argtypes, CURSOR_OPT_GENERIC_PLAN);

    if (plan == NULL)
        elog(ERROR, "url_shortener: SPI_prepare failed for \"%s\": %s",
             sql, SPI_result_code_string(SPI_result));
    if (SPI_keepplan(plan) != 0)
        elog(ERROR, "url_shortener: SPI_keepplan failed");
    return plan;
}

static void
free_plan(SPIPlanPtr *plan)
{
    if (*plan != NULL)
        SPI_freeplan(*plan);
    *plan = NULL;
}

/*
 * A change to the table (ALTER EXTENSION UPDATE adding columns, DROP and
 * CREATE EXTENSION) makes the next call prepare the statements afresh: the
 * plan cache would re-plan the old texts, but which texts fit the table is
 * this file's business.  Only a flag is cleared here; nothing is freed
 * inside an invalidation callback.
 */
static void
forget_store(Datum arg, Oid relid)
{
    (void) arg;
    if (relid == InvalidOid || relid == store_relid)
        store_namespace = InvalidOid;
}

void
connect_link_store(FunctionCallInfo fcinfo)
{
    if (SPI_connect() != SPI_OK_CONNECT)
        elog(ERROR, "url_shortener: SPI_connect failed");
    open_link_store(fcinfo->flinfo->fn_oid);
}

void
open_link_store(Oid function_oid)
{
    const Oid nsp = get_func_namespace(function_oid);

    if (nsp == store_namespace && insert_plan != NULL)
        return;

    if (!invalidation_registered) {
        CacheRegisterRelcacheCallback(forget_store, (Datum) 0);
        invalidation_registered = true;
    }

    for (SPIPlanPtr *plan : kept_plans)
        free_plan(plan);
    if (reuse_key_value != NULL)
        pfree(reuse_key_value);
    reuse_key_value = NULL;
    store_namespace = InvalidOid;

    const char *schema = get_namespace_name(nsp);
    if (schema == NULL)
        elog(ERROR, "url_shortener: schema %u of the extension does not exist", nsp);
    const char *table = quote_qualified_identifier(schema, "urls");
    store_relid = get_relname_relid("urls", nsp);
    if (!OidIsValid(store_relid))
        ereport(ERROR,
                (errcode(ERRCODE_UNDEFINED_TABLE),
                 errmsg("table \"%s\" of extension url_shortener does not exist", table)));
    store_has_lifecycle = get_attnum(store_relid, "expires_at") != InvalidAttrNumber;
    /* Kept like the plans: a new or rebuilt primary key invalidates the table. */
    Relation rel = table_open(store_relid, AccessShareLock);
    store_pkey = RelationGetPrimaryKeyIndex(rel);
    table_close(rel, AccessShareLock);

    Oid one_text[1] = {TEXTOID};
    Oid two_texts[2] = {TEXTOID, TEXTOID};
    Oid one_text_array[1] = {TEXTARRAYOID};
    Oid two_text_arrays[2] = {TEXTARRAYOID, TEXTARRAYOID};

    Oid link_columns[4] = {TEXTOID, TEXTOID, TIMESTAMPTZOID, INT8OID};
    Oid edit_columns[3] = {TEXTOID, TEXTOID, INT8OID};

    if (store_has_lifecycle) {
        insert_plan = prepare_kept_plan(
            psprintf("INSERT INTO %s (short_code, original_url, expires_at, max_clicks) "
                     "VALUES ($1, $2, $3, $4)", table),
            4, link_columns);
        /*
         * A click counts only on a link that is enabled, not expired and not
         * used up.  Concurrent clicks queue on the row lock, and each re-checks
         * this WHERE against the row as the previous click left it, so a
         * limited link resolves exactly max_clicks times.
         */
        click_plan = prepare_kept_plan(
            psprintf("UPDATE %s SET clicks = clicks OPERATOR(pg_catalog.+) 1 "
                     "WHERE short_code OPERATOR(pg_catalog.=) $1 AND enabled "
                     "AND (expires_at IS NULL OR expires_at OPERATOR(pg_catalog.>) pg_catalog.now()) "
                     "AND (max_clicks IS NULL OR clicks OPERATOR(pg_catalog.<) max_clicks) "
                     "RETURNING original_url",
                     table),
            1, one_text);
        update_plan = prepare_kept_plan(
            psprintf("UPDATE %s SET original_url = $2, version = version OPERATOR(pg_catalog.+) 1, "
                     "reusable = false "
                     "WHERE short_code OPERATOR(pg_catalog.=) $1 AND version OPERATOR(pg_catalog.=) $3 "
                     "RETURNING version",
                     table),
            3, edit_columns);
        version_plan = prepare_kept_plan(
            psprintf("SELECT version FROM %s WHERE short_code OPERATOR(pg_catalog.=) $1", table),
            1, one_text);
        /*
         * Reuse: the code is derived from the URL, so the primary key alone
         * arbitrates two sessions reusing the same new URL; ON CONFLICT DO
         * NOTHING waits for the other's insert and then lets the re-read
         * find it.  No subtransaction.
         */
        reuse_insert_plan = prepare_kept_plan(
            psprintf("INSERT INTO %s (short_code, original_url, reusable) VALUES ($1, $2, true) "
                     "ON CONFLICT (short_code) DO NOTHING RETURNING short_code",
                     table),
            2, two_texts);
        reuse_check_plan = prepare_kept_plan(
            psprintf("SELECT reusable AND original_url OPERATOR(pg_catalog.=) $2 FROM %s "
                     "WHERE short_code OPERATOR(pg_catalog.=) $1",
                     table),
            2, two_texts);
        reuse_key_plan = prepare_kept_plan(
            psprintf("SELECT secret FROM %s", quote_qualified_identifier(schema, "reuse_key")),
            0, NULL);
    } else {
        /* Version 1.0 of the extension, not yet updated: its two columns. */
        insert_plan = prepare_kept_plan(
            psprintf("INSERT INTO %s (short_code, original_url) VALUES ($1, $2)", table),
            2, two_texts);
        click_plan = prepare_kept_plan(
            psprintf("UPDATE %s SET clicks = clicks OPERATOR(pg_catalog.+) 1 "
                     "WHERE short_code OPERATOR(pg_catalog.=) $1 RETURNING original_url",
                     table),
            1, one_text);
    }
    exists_plan = prepare_kept_plan(
        psprintf("SELECT 1 FROM %s WHERE short_code OPERATOR(pg_catalog.=) $1", table),
        1, one_text);
    /*
     * The batch statements unnest their arrays in the target list (a
     * ProjectSet node, which streams) rather than in FROM: a function scan
     * first copies every element into a tuplestore, which cost a quarter
     * of shorten_urls' time on 100,000 URLs.  Both arrays have the same
     * length, so the two unnests run in step.
     */
    batch_insert_plan = prepare_kept_plan(
        psprintf("INSERT INTO %s (short_code, original_url) "
                 "SELECT pg_catalog.unnest($1), pg_catalog.unnest($2)",
                 table),
        2, two_text_arrays);
    batch_insert_skipping_plan = prepare_kept_plan(
        psprintf("INSERT INTO %s (short_code, original_url) "
                 "SELECT pg_catalog.unnest($1), pg_catalog.unnest($2) "
                 "ON CONFLICT (short_code) DO NOTHING RETURNING short_code",
                 table),
        2, two_text_arrays);
    taken_codes_plan = prepare_kept_plan(
        psprintf("SELECT c FROM (SELECT pg_catalog.unnest($1) AS c) AS drawn "
                 "WHERE EXISTS (SELECT FROM %s WHERE short_code OPERATOR(pg_catalog.=) c)",
                 table),
        1, one_text_array);
    store_namespace = nsp;
}

/*
 * Whether name is base, or base followed by "_<digits>": the name Citus
 * gives the same object on a shard.
 */
static bool
is_name_or_shard_name(const char *name, const char *base)
{
    const size_t n = strlen(base);

    if (name == NULL || strncmp(name, base, n) != 0)
        return false;
    if (name[n] == '\0')
        return true;
    if (name[n] != '_' || name[n + 1] == '\0')
        return false;
    for (const char *p = name + n + 1; *p != '\0'; p++)
        if (*p < '0' || *p > '9')
            return false;
    return true;
}

/*
 * Whether a unique violation was raised by the primary key of our table,
 * judged by the constraint (for a btree unique check: the index) name the
 * error carries.  A violation of any other unique constraint, say one a DBA
 * added on original_url, is not a code collision and must not be retried.
 */
static bool
is_short_code_violation(const ErrorData *edata)
{
    if (edata->sqlerrcode != ERRCODE_UNIQUE_VIOLATION || edata->constraint_name == NULL)
        return false;
    if (!is_name_or_shard_name(edata->table_name, "urls"))
        return false;
    if (edata->schema_name != NULL && get_namespace_oid(edata->schema_name, true) != store_namespace)
        return false;

    /* The primary key's name as it is now, in case a DBA renamed it. */
    char *pkey_name = OidIsValid(store_pkey) ? get_rel_name(store_pkey) : NULL;
    if (pkey_name == NULL)
        return false;
    const bool match = is_name_or_shard_name(edata->constraint_name, pkey_name);
    pfree(pkey_name);
    return match;
}

/*
 * Runs an INSERT plan inside an internal subtransaction.  Returns true if
 * it succeeded; false if the short-code primary key rejected a code (the
 * subtransaction is rolled back, nothing of the statement remains).  Any
 * other error is re-thrown unchanged.
 *
 * The sequence follows PL/pgSQL's EXCEPTION block (exec_stmt_block):
 * remember the memory context and resource owner, begin, run, and on error
 * copy the error out, roll back, restore both, then decide.
 */
static bool
insert_unless_code_taken(SPIPlanPtr plan, Datum *values, const char *nulls)
{
    MemoryContext volatile caller_context = CurrentMemoryContext;
    ResourceOwner volatile caller_owner = CurrentResourceOwner;
    volatile bool inserted = false;

    BeginInternalSubTransaction(NULL);
    MemoryContextSwitchTo(caller_context);

    PG_TRY();
    {
        const int rc = SPI_execute_plan(plan, values, nulls, false, 0);

        if (rc != SPI_OK_INSERT)
            elog(ERROR, "url_shortener: insert returned %s", SPI_result_code_string(rc));

        ReleaseCurrentSubTransaction();
        MemoryContextSwitchTo(caller_context);
        CurrentResourceOwner = caller_owner;
        inserted = true;
    }
    PG_CATCH();
    {
        MemoryContextSwitchTo(caller_context);
        ErrorData *edata = CopyErrorData();
        FlushErrorState();

        RollbackAndReleaseCurrentSubTransaction();
        MemoryContextSwitchTo(caller_context);
        CurrentResourceOwner = caller_owner;

        if (!is_short_code_violation(edata))
            ReThrowError(edata);
        FreeErrorData(edata);
    }
    PG_END_TRY();

    return inserted;
}

bool
insert_link_unless_code_taken(const char *code, Datum url, const LinkLimits *limits)
{
    Datum values[4] = {CStringGetTextDatum(code), url, limits->expires_at, limits->max_clicks};
    const char nulls[4] = {' ', ' ', limits->has_expiry ? ' ' : 'n',
                           limits->has_max_clicks ? ' ' : 'n'};

    if (!store_has_lifecycle && (limits->has_expiry || limits->has_max_clicks))
        elog(ERROR, "url_shortener: link limits need extension version 1.1");
    const bool inserted = insert_unless_code_taken(insert_plan, values, nulls);

    pfree(DatumGetPointer(values[0]));
    return inserted;
}

bool
insert_links_unless_a_code_is_taken(Datum codes, Datum urls)
{
    Datum values[2] = {codes, urls};

    return insert_unless_code_taken(batch_insert_plan, values, NULL);
}

uint64
find_taken_codes(Datum codes)
{
    Datum values[1] = {codes};
    const int rc = SPI_execute_plan(taken_codes_plan, values, NULL, true, 0);

    if (rc != SPI_OK_SELECT)
        elog(ERROR, "url_shortener: taken-code lookup returned %s", SPI_result_code_string(rc));
    return SPI_processed;
}

uint64
insert_links_skipping_taken_codes(Datum codes, Datum urls)
{
    Datum values[2] = {codes, urls};
    const int rc = SPI_execute_plan(batch_insert_skipping_plan, values, NULL, false, 0);

    if (rc != SPI_OK_INSERT_RETURNING)
        elog(ERROR, "url_shortener: batch insert returned %s", SPI_result_code_string(rc));
    return SPI_processed;
}

bool
code_is_visible(const char *code)
{
    Datum values[1] = {CStringGetTextDatum(code)};
    const int rc = SPI_execute_plan(exists_plan, values, NULL, true, 1);

    if (rc != SPI_OK_SELECT)
        elog(ERROR, "url_shortener: lookup returned %s", SPI_result_code_string(rc));
    pfree(DatumGetPointer(values[0]));
    return SPI_processed > 0;
}

text *
count_click_and_fetch_url(text *code)
{
    Datum values[1] = {PointerGetDatum(code)};
    bool isnull;
    const int rc = SPI_execute_plan(click_plan, values, NULL, false, 0);

    if (rc != SPI_OK_UPDATE_RETURNING)
        elog(ERROR, "url_shortener: click update returned %s", SPI_result_code_string(rc));
    if (SPI_processed == 0)
        return NULL;

    const Datum url = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
    if (isnull)
        return NULL;
    return DatumGetTextPP(SPI_datumTransfer(url, false, -1));
}

EditOutcome
replace_link_url(text *code, Datum url, int64 expected_version, int64 *version)
{
    Datum values[3] = {PointerGetDatum(code), url, Int64GetDatum(expected_version)};
    bool isnull;

    if (!store_has_lifecycle)
        elog(ERROR, "url_shortener: update_url needs extension version 1.1");

    int rc = SPI_execute_plan(update_plan, values, NULL, false, 0);
    if (rc != SPI_OK_UPDATE_RETURNING)
        elog(ERROR, "url_shortener: url update returned %s", SPI_result_code_string(rc));
    if (SPI_processed == 1) {
        *version = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
        return EDIT_DONE;
    }

    /*
     * Not updated: no such link, or its version moved on.  Which one?  A new
     * snapshot (read_only false), so that under READ COMMITTED the version
     * a concurrent edit just committed is the one reported.
     */
    rc = SPI_execute_plan(version_plan, values, NULL, false, 1);
    if (rc != SPI_OK_SELECT)
        elog(ERROR, "url_shortener: version lookup returned %s", SPI_result_code_string(rc));
    if (SPI_processed == 0)
        return EDIT_NO_SUCH_LINK;
    *version = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
    return EDIT_VERSION_CHANGED;
}

const bytea *
reuse_key(void)
{
    bool isnull;

    if (reuse_key_value != NULL)
        return reuse_key_value;
    const int rc = SPI_execute_plan(reuse_key_plan, NULL, NULL, true, 1);
    if (rc != SPI_OK_SELECT)
        elog(ERROR, "url_shortener: key lookup returned %s", SPI_result_code_string(rc));
    if (SPI_processed != 1)
        ereport(ERROR,
                (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                 errmsg("the secret key of reusable links is missing"),
                 errhint("Restore the row of the extension's table reuse_key from a backup.")));
    const Datum secret = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
    MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);
    reuse_key_value = DatumGetByteaPCopy(secret);
    MemoryContextSwitchTo(old);
    return reuse_key_value;
}

ReuseOutcome
store_reusable_link(const char *code, Datum url)
{
    Datum values[2] = {CStringGetTextDatum(code), url};
    bool isnull;

    int rc = SPI_execute_plan(reuse_insert_plan, values, NULL, false, 0);
    if (rc != SPI_OK_INSERT_RETURNING)
        elog(ERROR, "url_shortener: reusable insert returned %s", SPI_result_code_string(rc));
    if (SPI_processed == 1)
        return REUSE_CREATED;

    /* A new snapshot, to see the row whose insert ON CONFLICT waited for. */
    rc = SPI_execute_plan(reuse_check_plan, values, NULL, false, 1);
    if (rc != SPI_OK_SELECT)
        elog(ERROR, "url_shortener: reusable lookup returned %s", SPI_result_code_string(rc));
    if (SPI_processed == 0)
        return REUSE_VANISHED;
    const bool same = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
    return same && !isnull ? REUSE_FOUND : REUSE_OCCUPIED;
}

double
estimated_link_count(void)
{
    HeapTuple tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(store_relid));
    double links = 0;

    if (HeapTupleIsValid(tuple)) {
        links = ((Form_pg_class) GETSTRUCT(tuple))->reltuples;
        ReleaseSysCache(tuple);
    }
    return links > 0 ? links : 0;     /* -1: never vacuumed or analyzed */
}
