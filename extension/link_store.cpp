/*
 * link_store.cpp
 *    Kept SPI plans over <extension schema>.urls, and the subtransaction
 *    that turns "this code is taken" into a retry instead of an error.
 *
 *    The statements name the extension's schema and pg_catalog's operators
 *    explicitly, so a caller's search_path cannot redirect them.
 */
#include "link_store.h"
#include "sqlstates.h"

#include "citus_node.h"
#include "code_alphabet.h"
#include "code_generator.h"
#include "direct_insert.h"
#include "entry_guard.h"
#include "reserved_codes.h"
#include "search_path_guard.h"
#include "settings.h"

extern "C" {
#include "access/htup_details.h"
#include "access/relation.h"
#include "rewrite/rewriteDefine.h"
#include "catalog/dependency.h"
#include "catalog/pg_class.h"
#include "catalog/pg_namespace.h"
#include "commands/extension.h"
#include "storage/bufmgr.h"
#include "storage/lmgr.h"
#include "utils/inval.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
}

/*
 * Which version's table the plans were made for: 1.0 has two columns,
 * 1.1 adds the lifecycle, 1.2 tombstones (retired_at) and is_alias, 1.3
 * the digests of idempotency keys (idempotency_digest), 1.6 the table
 * released_codes beside it.  The module serves a database whose
 * extension has not been updated yet.
 */
typedef enum StoreVersion { STORE_1_0, STORE_1_1, STORE_1_2, STORE_1_3, STORE_1_6 } StoreVersion;

/*
 * Per-backend state.  Plans live under CacheMemoryContext (SPI_keepplan).
 * store_namespace is only a flag "the plans fit": an invalidation clears
 * it, and the next call prepares afresh; nothing reads it mid-call.
 */
static Oid store_namespace = InvalidOid;
static Oid store_relid = InvalidOid;
static Oid store_released_relid = InvalidOid;
static Oid store_reuse_key_relid = InvalidOid;
/*
 * Whether a statement on the tables may run user code (search_path_guard.h),
 * and whether that is known for the tables as they are now: cleared only by
 * a change to one of them, not by the other invalidations that make the
 * names be looked up again.
 */
static bool store_runs_user_code = false;
static bool store_user_code_known = false;
/*
 * How many invalidations have cleared the state above.  Looking at the
 * tables and preparing the statements take locks, and a lock processes
 * the invalidations that other sessions' commits sent: open_link_store
 * compares this count before and after, so that one arriving meanwhile is
 * not overwritten by what it then publishes.
 */
static uint64 store_invalidations = 0;
/*
 * A kept statement was rewritten by a rule (refuse_spi_result): prepare
 * afresh at the next call.  A plan rewritten to nothing (DO INSTEAD
 * NOTHING) has no query left to depend on the table, so the plan cache
 * does not invalidate it when the rule is dropped: the statement would
 * stay rewritten for the rest of the session.
 */
static bool store_plans_rewritten = false;
/*
 * Whether one of the tables has a rule (a DELETE rule: the others are
 * refused), and whether one had when the kept plans were prepared.  A plan
 * prepared under a rule may have been rewritten to nothing, which dropping
 * the rule does not make the plan cache plan again: after any change to
 * the tables such plans are prepared afresh.
 */
static bool store_tables_have_rules = false;
static bool store_prepared_under_rules = false;
static StoreVersion store_version = STORE_1_0;
static char *store_schema_name = NULL;     /* the name the texts spell, in TopMemoryContext */
static bool invalidation_registered = false;
static SPIPlanPtr insert_plan = NULL;
static SPIPlanPtr insert_unless_taken_plan = NULL;
static SPIPlanPtr update_plan = NULL;
static SPIPlanPtr version_plan = NULL;
static SPIPlanPtr reuse_insert_plan = NULL;
static SPIPlanPtr reuse_check_plan = NULL;
static SPIPlanPtr reuse_key_plan = NULL;
static SPIPlanPtr reuse_key_insert_plan = NULL;
static SPIPlanPtr derived_link_plan = NULL;
static SPIPlanPtr exists_plan = NULL;
static SPIPlanPtr click_plan = NULL;
static SPIPlanPtr batch_insert_plan = NULL;
static SPIPlanPtr batch_insert_skipping_plan = NULL;
static SPIPlanPtr taken_codes_plan = NULL;
static SPIPlanPtr retire_plan = NULL;
static SPIPlanPtr disable_plan = NULL;
static SPIPlanPtr enable_plan = NULL;
static SPIPlanPtr release_plan = NULL;
static SPIPlanPtr retire_at_plan = NULL;
static SPIPlanPtr disable_at_plan = NULL;
static SPIPlanPtr enable_at_plan = NULL;
static SPIPlanPtr stats_plan = NULL;
static SPIPlanPtr purge_plan = NULL;
static SPIPlanPtr capacity_plan = NULL;
static SPIPlanPtr idempotent_insert_plan = NULL;
static SPIPlanPtr idempotent_check_plan = NULL;
static SPIPlanPtr idempotent_batch_plan = NULL;
static SPIPlanPtr released_record_plan = NULL;
static SPIPlanPtr released_check_plan = NULL;
static SPIPlanPtr released_batch_plan = NULL;
static SPIPlanPtr take_back_plan = NULL;

/* Every kept plan, so that re-opening frees them all. */
static SPIPlanPtr *const kept_plans[] = {
    &insert_plan, &insert_unless_taken_plan, &update_plan, &version_plan,
    &reuse_insert_plan, &reuse_check_plan, &reuse_key_plan, &reuse_key_insert_plan, &derived_link_plan,
    &exists_plan, &click_plan, &batch_insert_plan, &batch_insert_skipping_plan,
    &taken_codes_plan, &retire_plan, &disable_plan, &enable_plan, &release_plan,
    &retire_at_plan, &disable_at_plan, &enable_at_plan,
    &stats_plan, &purge_plan, &capacity_plan,
    &idempotent_insert_plan, &idempotent_check_plan, &idempotent_batch_plan,
    &released_record_plan, &released_check_plan, &released_batch_plan, &take_back_plan,
};

/*
 * Plans let go of while a call further up the stack may still be running
 * them (drop_kept_plans), in TopMemoryContext; freed by the next call
 * that is alone on the stack.
 */
static List *superseded_plans = NIL;

/*
 * The outer call's plans and what they were made for, while a call inside
 * it (user code that one of them fired) prepares a new set: if preparing
 * fails, and the user code catches the error, the outer call goes on with
 * its own set, not with a part of the new one (restore_set_aside_store).
 * The plans are also on superseded_plans until then.
 */
static SPIPlanPtr set_aside_plans[lengthof(kept_plans)];
static bool store_set_aside = false;
static Oid set_aside_relid = InvalidOid;
static Oid set_aside_released_relid = InvalidOid;
static StoreVersion set_aside_version = STORE_1_0;
static char *set_aside_schema_name = NULL;

/*
 * What retiring a link sets: the URL goes (vacuum reclaims its space), the
 * row stays as a tombstone holding the code, so the code can never lead
 * anywhere else.  A statement text fragment, shared by delete and purge.
 */
#define RETIRE_SET \
    "SET original_url = NULL, enabled = false, reusable = false, " \
    "retired_at = pg_catalog.now(), version = version OPERATOR(pg_catalog.+) 1 "

/* A link that no longer resolves for good: expired or used up. */
#define FINISHED_LINK \
    "(expires_at OPERATOR(pg_catalog.<=) pg_catalog.now() " \
    "OR (max_clicks IS NOT NULL AND clicks OPERATOR(pg_catalog.>=) max_clicks))"

static SPIPlanPtr
prepare_plan(const char *sql, int nargs, Oid *argtypes, int cursor_options)
{
    SPIPlanPtr plan = SPI_prepare_cursor(sql, nargs, argtypes, cursor_options);

    if (plan == NULL)
        elog(ERROR, "url_shortener: SPI_prepare failed for \"%s\": %s",
             sql, SPI_result_code_string(SPI_result));
    if (SPI_keepplan(plan) != 0)
        elog(ERROR, "url_shortener: SPI_keepplan failed");
    return plan;
}

/*
 * A statement on the rows of one short_code, planned once: every such
 * statement is a primary-key lookup or a single-row insert, so custom
 * plans would only cost planning time.
 */
static SPIPlanPtr
prepare_kept_plan(const char *sql, int nargs, Oid *argtypes)
{
    return prepare_plan(sql, nargs, argtypes, CURSOR_OPT_GENERIC_PLAN);
}

/*
 * A one-row change of the live link of $1, planned twice: as it is
 * (*plan), and only while the link's version is $2 (*plan_at).  set is the
 * UPDATE's SET clause, condition what else the row must be ("AND enabled
 * "), both statement text fragments of this file.
 */
static void
prepare_change_plans(const char *table, const char *set, const char *condition,
                     SPIPlanPtr *plan, SPIPlanPtr *plan_at)
{
    Oid code_and_version[2] = {TEXTOID, INT8OID};

    *plan = prepare_kept_plan(
        psprintf("UPDATE %s %sWHERE short_code OPERATOR(pg_catalog.=) $1 %sAND retired_at IS NULL",
                 table, set, condition),
        1, code_and_version);
    *plan_at = prepare_kept_plan(
        psprintf("UPDATE %s %sWHERE short_code OPERATOR(pg_catalog.=) $1 "
                 "AND version OPERATOR(pg_catalog.=) $2 %sAND retired_at IS NULL",
                 table, set, condition),
        2, code_and_version);
}

/*
 * A statement over many short_codes (batches, purge): planned with its
 * parameters' values each time.  Citus cannot plan a multi-shard statement
 * whose parameters are still unbound in a generic plan ("could not create
 * distributed plan"); given the values, it can.
 */
static SPIPlanPtr
prepare_kept_multi_shard_plan(const char *sql, int nargs, Oid *argtypes)
{
    return prepare_plan(sql, nargs, argtypes, CURSOR_OPT_CUSTOM_PLAN);
}

static void
free_plan(SPIPlanPtr *plan)
{
    if (*plan != NULL)
        SPI_freeplan(*plan);
    *plan = NULL;
}

/*
 * Lets go of every kept plan, before new ones are prepared.  When this
 * call was made by user code that a statement of an outer call fired (a
 * trigger on urls, a CHECK function), that statement is one of the plans,
 * and SPI goes on reading it once this call returns: such plans are only
 * set aside, to be freed by free_superseded_plans.
 */
static void
drop_kept_plans(void)
{
    if (module_calls_running() <= 1) {
        for (SPIPlanPtr *plan : kept_plans)
            free_plan(plan);
        return;
    }
    /* Preparing runs no user code, so no third call can set a set aside. */
    Assert(!store_set_aside);
    for (size_t i = 0; i < lengthof(kept_plans); i++) {
        SPIPlanPtr *plan = kept_plans[i];
        set_aside_plans[i] = *plan;
        if (*plan == NULL)
            continue;
        const MemoryContext old_context = MemoryContextSwitchTo(TopMemoryContext);
        superseded_plans = lappend(superseded_plans, *plan);
        MemoryContextSwitchTo(old_context);
        *plan = NULL;
    }
    store_set_aside = true;
    set_aside_relid = store_relid;
    set_aside_released_relid = store_released_relid;
    set_aside_version = store_version;
    set_aside_schema_name = store_schema_name;
    store_schema_name = NULL;
    ereport(DEBUG1,
            (errmsg_internal("url_shortener prepares its statements again under a call that may be running them: the old ones are freed later")));
}

/*
 * After a failed preparing under a call: puts back the set that was kept
 * before it (the outer call's, or one a pass before this one prepared
 * whole) and lets the part of the new one go, to be freed later, so that
 * the outer call goes on as if this preparing had not begun.  The next
 * call alone on the stack looks at the tables afresh (store_namespace
 * stays unset).  A preparing that succeeded is kept even if user code then
 * rolls back what made it necessary (a rename in a subtransaction): README,
 * What is left.
 */
static void
restore_set_aside_store(void)
{
    const MemoryContext old_context = MemoryContextSwitchTo(TopMemoryContext);
    for (size_t i = 0; i < lengthof(kept_plans); i++) {
        SPIPlanPtr *plan = kept_plans[i];
        if (*plan != NULL)
            superseded_plans = lappend(superseded_plans, *plan);
        if (set_aside_plans[i] != NULL)
            superseded_plans = list_delete_ptr(superseded_plans, set_aside_plans[i]);
        *plan = set_aside_plans[i];
        set_aside_plans[i] = NULL;
    }
    MemoryContextSwitchTo(old_context);
    store_relid = set_aside_relid;
    store_released_relid = set_aside_released_relid;
    store_version = set_aside_version;
    if (store_schema_name != NULL)
        pfree(store_schema_name);
    store_schema_name = set_aside_schema_name;
    set_aside_schema_name = NULL;
    store_set_aside = false;
}

/* Preparing was whole: what was set aside is no longer needed. */
static void
forget_set_aside_store(void)
{
    for (size_t i = 0; i < lengthof(kept_plans); i++)
        set_aside_plans[i] = NULL;
    if (set_aside_schema_name != NULL)
        pfree(set_aside_schema_name);
    set_aside_schema_name = NULL;
    store_set_aside = false;
}

/* Frees what drop_kept_plans set aside; only when no other call runs. */
static void
free_superseded_plans(void)
{
    ListCell *cell;

    foreach (cell, superseded_plans)
        SPI_freeplan((SPIPlanPtr) lfirst(cell));
    list_free(superseded_plans);
    superseded_plans = NIL;
}

bool
link_store_owns_statement(const char *source_text)
{
    if (source_text == NULL)
        return false;
    for (SPIPlanPtr *const plan : kept_plans) {
        if (*plan == NULL)
            continue;
        ListCell *cell;
        foreach (cell, SPI_plan_get_plan_sources(*plan)) {
            const CachedPlanSource *source = (const CachedPlanSource *) lfirst(cell);
            if (source->query_string == source_text)
                return true;
        }
    }
    return false;
}

/*
 * A change to the table (ALTER EXTENSION UPDATE adding columns, DROP and
 * CREATE EXTENSION) makes the next call prepare the statements afresh: the
 * plan cache would re-plan the old texts, but which texts fit the table is
 * this file's business.  Only a flag is cleared here; nothing is freed
 * inside an invalidation callback.
 */
/*
 * Refuses a table of the module that has an INSERT or UPDATE rule: the
 * module's ON CONFLICT statements cannot run under one (PostgreSQL refuses
 * them, naming a statement the caller never wrote), and a DO INSTEAD rule
 * would rewrite its writes.  Every call stops, reads too, since a
 * session's first call prepares every statement.  (A DELETE rule is
 * refused when it rewrites a statement: refuse_spi_result.)  Returns
 * whether the table has a rule left (a DELETE rule).
 */
static bool
refuse_write_rules(Oid relid)
{
    Relation rel = relation_open(relid, AccessShareLock);
    const char *event = NULL;
    const bool has_rules = rel->rd_rules != NULL && rel->rd_rules->numLocks > 0;

    for (int i = 0; rel->rd_rules != NULL && i < rel->rd_rules->numLocks && event == NULL; i++) {
        const RewriteRule *rule = rel->rd_rules->rules[i];
        const CmdType on = rule->event;
        /* PostgreSQL lets ON CONFLICT run under a disabled INSERT rule, not
         * under any UPDATE rule, disabled or not (matchLocks).  ALTER TABLE
         * ... DISABLE RULE invalidates the table: looked at again. */
        if (on == CMD_INSERT && rule->enabled == RULE_DISABLED)
            continue;
        if (on == CMD_INSERT || on == CMD_UPDATE)
            event = on == CMD_INSERT ? "INSERT" : "UPDATE";
    }
    char *name = event != NULL ? pstrdup(RelationGetRelationName(rel)) : NULL;
    relation_close(rel, AccessShareLock);
    if (event != NULL)
        ereport(ERROR,
                (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                 errmsg("url_shortener does not support rules on its tables"),
                 errdetail("Table \"%s\" has a rule ON %s, under which the module's statements cannot run.",
                           name, event),
                 errhint("Drop the rule; a trigger can do the same work.")));
    return has_rules;
}

static void
forget_store(Datum arg, Oid relid) noexcept
{
    (void) arg;
    if (relid == InvalidOid || relid == store_relid || relid == store_released_relid ||
        relid == store_reuse_key_relid) {
        store_namespace = InvalidOid;
        store_user_code_known = false;
        store_invalidations++;
    }
    /*
     * Before 1.6, any relation's change may be the update's CREATE TABLE
     * released_codes, which touches nothing of urls: look again (a few
     * syscache lookups; the plans stay unless the version changed).
     */
    else if (store_version < STORE_1_6) {
        store_namespace = InvalidOid;
        store_invalidations++;
    }
}

/*
 * The statements name the schema; a renamed schema (ALTER SCHEMA ...
 * RENAME) would leave them naming one that no longer exists, so any change
 * to a schema makes the next call prepare them with the current name.
 */
static void
forget_store_names(Datum arg, int cacheid, uint32 hashvalue) noexcept
{
    (void) arg;
    (void) cacheid;
    (void) hashvalue;
    store_namespace = InvalidOid;
    store_invalidations++;
}

void
connect_link_store(FunctionCallInfo fcinfo, LOCKMODE lockmode)
{
    if (SPI_connect() != SPI_OK_CONNECT)
        elog(ERROR, "url_shortener: SPI_connect failed");
    open_link_store(fcinfo->flinfo->fn_oid, lockmode);
}

static void prepare_link_store(Oid nsp, LOCKMODE lockmode);

/* Most passes of open_link_store in one call; see there. */
static const int MOST_STORE_PASSES = 8;

/*
 * The function being called was dropped since the call began: DROP
 * EXTENSION committed while the call waited for a lock of its own (the
 * generation or batch lock) before it opened the tables.
 */
static void
report_extension_dropped(void)
{
    ereport(ERROR,
            (errcode(ERRCODE_UNDEFINED_OBJECT),
             errmsg("extension url_shortener was dropped during this call"),
             errdetail("DROP EXTENSION url_shortener committed while the call waited for a lock."),
             errhint("Run CREATE EXTENSION url_shortener again, or call it where it is installed.")));
}

void
open_link_store(Oid function_oid, LOCKMODE lockmode)
{
    const Oid nsp = get_func_namespace(function_oid);

    if (!OidIsValid(nsp))
        report_extension_dropped();

    if (superseded_plans != NIL && module_calls_running() <= 1)
        free_superseded_plans();
    if (nsp == store_namespace && insert_plan != NULL) {
        /*
         * Whether the table runs user code is decided under the lock the
         * call's statements take on it anyway: a CREATE TRIGGER (or rule,
         * or policy) in progress makes this wait, and once it commits its
         * invalidation arrives here, before the decision, not in the
         * middle of the call, where the trigger would run under the
         * pg_catalog-only path (42P01 for its function's own tables;
         * trigger_created_while_preparing.spec, a warm session).
         */
        LockRelationOid(store_relid, lockmode);
        if (nsp == store_namespace) {
            if (store_runs_user_code)
                guard_search_path_for_user_code();
            return;
        }
    }

    if (!invalidation_registered) {
        CacheRegisterRelcacheCallback(forget_store, (Datum) 0);
        CacheRegisterSyscacheCallback(NAMESPACEOID, forget_store_names, (Datum) 0);
        invalidation_registered = true;
    }

    /*
     * An invalidation that arrives during a pass (the locks that preparing
     * takes, of reuse_key or released_codes, or of anything before 1.6)
     * may announce a change the pass had already looked at, and the pass
     * would publish store_namespace over it: so look again until a whole
     * pass saw none (a second pass finds its plans fitting and prepares
     * nothing).  At most MOST_STORE_PASSES: under a stream of unrelated
     * invalidations (before 1.6 any table's counts), the state is left
     * unpublished and the next call looks again.
     */
    for (int pass = 1;; pass++) {
        const uint64 seen = store_invalidations;
        PG_TRY();
        {
            prepare_link_store(nsp, lockmode);
        }
        PG_CATCH();
        {
            if (store_set_aside)
                restore_set_aside_store();
            PG_RE_THROW();
        }
        PG_END_TRY();
        if (store_invalidations == seen)
            break;
        store_namespace = InvalidOid;
        if (pass == MOST_STORE_PASSES)
            break;
    }
}

/*
 * relid if it is a table of extension (made by its scripts), else
 * InvalidOid.  The schema may be one where others can create: before the
 * update that adds reuse_key (1.1) or released_codes (1.6), a role could
 * put a relation of that name there, which the functions, running as their
 * owner, would read and write, running that role's code (a view's
 * functions, a table's triggers) with the owner's rights.  Such a relation
 * is not the extension's table and is not used; the update then fails on
 * the name, as PostgreSQL's CREATE TABLE does.
 */
static Oid
extension_table(Oid relid, Oid extension)
{
    if (!OidIsValid(relid) || !OidIsValid(extension) ||
        getExtensionOfObject(RelationRelationId, relid) != extension ||
        get_rel_relkind(relid) != RELKIND_RELATION)
        return InvalidOid;
    return relid;
}

/*
 * One pass of open_link_store: reads the tables of schema nsp, whether
 * they run user code, and prepares the statements unless the kept ones
 * fit; sets store_namespace to nsp when done.
 */
static void
prepare_link_store(Oid nsp, LOCKMODE lockmode)
{
    const char *schema = get_namespace_name(nsp);
    if (schema == NULL)
        report_extension_dropped();
    const char *table = quote_qualified_identifier(schema, "urls");
    const Oid relid = get_relname_relid("urls", nsp);
    if (!OidIsValid(relid))
        ereport(ERROR,
                (errcode(ERRCODE_UNDEFINED_TABLE),
                 errmsg("table \"%s\" of extension url_shortener does not exist", table)));
    /* Before looking at it, as in open_link_store's shortcut. */
    LockRelationOid(relid, lockmode);
    StoreVersion version = STORE_1_0;
    if (get_attnum(relid, "idempotency_digest") != InvalidAttrNumber)
        version = STORE_1_3;
    else if (get_attnum(relid, "retired_at") != InvalidAttrNumber)
        version = STORE_1_2;
    else if (get_attnum(relid, "expires_at") != InvalidAttrNumber)
        version = STORE_1_1;
    const Oid extension = getExtensionOfObject(RelationRelationId, relid);
    const Oid released_relid = extension_table(get_relname_relid("released_codes", nsp), extension);
    if (version == STORE_1_3 && OidIsValid(released_relid))
        version = STORE_1_6;

    /*
     * Most invalidations (ANALYZE, autovacuum, a GRANT) change nothing the
     * statement texts depend on; the plan cache re-plans them by itself.
     * Prepare afresh only if the table, its version or the schema's name
     * (the one the texts spell) is not what the plans were made for.
     */
    /*
     * Whether the tables run user code (a trigger, say): is read again on
     * any change to them, as a CREATE TRIGGER invalidates the relation.
     */
    const Oid reuse_key_relid = extension_table(get_relname_relid("reuse_key", nsp), extension);
    if (!store_user_code_known || relid != store_relid || released_relid != store_released_relid ||
        reuse_key_relid != store_reuse_key_relid) {
        bool has_rules = refuse_write_rules(relid);
        if (OidIsValid(reuse_key_relid))
            has_rules = refuse_write_rules(reuse_key_relid) || has_rules;
        if (OidIsValid(released_relid))
            has_rules = refuse_write_rules(released_relid) || has_rules;
        if (store_prepared_under_rules)
            store_plans_rewritten = true;
        store_tables_have_rules = has_rules;
        store_runs_user_code =
            relation_runs_user_code(relid) ||
            (OidIsValid(reuse_key_relid) && relation_runs_user_code(reuse_key_relid)) ||
            (OidIsValid(released_relid) && relation_runs_user_code(released_relid));
        store_reuse_key_relid = reuse_key_relid;
        store_user_code_known = true;
    }
    if (store_runs_user_code)
        guard_search_path_for_user_code();

    if (insert_plan != NULL && !store_plans_rewritten && relid == store_relid &&
        version == store_version && released_relid == store_released_relid &&
        store_schema_name != NULL && strcmp(schema, store_schema_name) == 0) {
        store_namespace = nsp;
        return;
    }

    drop_kept_plans();
    store_namespace = InvalidOid;
    if (store_schema_name != NULL)
        pfree(store_schema_name);
    store_schema_name = NULL;
    store_relid = relid;
    store_released_relid = released_relid;
    store_version = version;
    const char *key_table = quote_qualified_identifier(schema, "reuse_key");

    Oid one_text[1] = {TEXTOID};
    Oid two_texts[2] = {TEXTOID, TEXTOID};
    Oid one_int[1] = {INT4OID};
    Oid one_text_array[1] = {TEXTARRAYOID};
    Oid two_text_arrays[2] = {TEXTARRAYOID, TEXTARRAYOID};
    Oid link_columns[5] = {TEXTOID, TEXTOID, TIMESTAMPTZOID, INT8OID, BOOLOID};
    Oid edit_columns[3] = {TEXTOID, TEXTOID, INT8OID};
    Oid key_columns[3] = {BYTEAOID, INT4OID, TEXTOID};

    /* A tombstone is no link: edits and lookups pass over it (1.2). */
    const char *live = store_version >= STORE_1_2 ? " AND retired_at IS NULL" : "";

    if (store_version == STORE_1_0) {
        /* Version 1.0 of the extension, not yet updated: its two columns. */
        const char *insert = psprintf("INSERT INTO %s (short_code, original_url) VALUES ($1, $2)", table);
        insert_plan = prepare_kept_plan(insert, 2, two_texts);
        insert_unless_taken_plan = prepare_kept_plan(
            psprintf("%s ON CONFLICT (short_code) DO NOTHING RETURNING short_code", insert),
            2, two_texts);
        click_plan = prepare_kept_plan(
            psprintf("UPDATE %s SET clicks = clicks OPERATOR(pg_catalog.+) 1 "
                     "WHERE short_code OPERATOR(pg_catalog.=) $1 RETURNING original_url",
                     table),
            1, one_text);
    } else {
        const char *insert = store_version >= STORE_1_2
            ? psprintf("INSERT INTO %s (short_code, original_url, expires_at, max_clicks, is_alias) "
                       "VALUES ($1, $2, $3, $4, $5)", table)
            : psprintf("INSERT INTO %s (short_code, original_url, expires_at, max_clicks) "
                       "VALUES ($1, $2, $3, $4)", table);
        const int insert_args = store_version >= STORE_1_2 ? 5 : 4;

        insert_plan = prepare_kept_plan(insert, insert_args, link_columns);
        insert_unless_taken_plan = prepare_kept_plan(
            psprintf("%s ON CONFLICT (short_code) DO NOTHING RETURNING short_code", insert),
            insert_args, link_columns);
        /*
         * A click counts only on a link that is enabled, not expired and not
         * used up (a tombstone is never enabled).  Concurrent clicks queue on
         * the row lock, and each re-checks this WHERE against the row as the
         * previous click left it, so a limited link resolves exactly
         * max_clicks times.
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
                     "WHERE short_code OPERATOR(pg_catalog.=) $1 AND version OPERATOR(pg_catalog.=) $3%s "
                     "RETURNING version",
                     table, live),
            3, edit_columns);
        version_plan = prepare_kept_plan(
            psprintf("SELECT version FROM %s WHERE short_code OPERATOR(pg_catalog.=) $1%s", table, live),
            1, one_text);
        /*
         * Reuse: the code is derived from the URL, so the primary key alone
         * arbitrates two sessions reusing the same new URL; ON CONFLICT DO
         * NOTHING waits for the other's insert and then lets the re-read
         * find it.  No subtransaction.  Only an enabled reusable link is
         * reused (disable_url, update_url and retiring clear reusable).
         */
        reuse_insert_plan = prepare_kept_plan(
            psprintf("INSERT INTO %s (short_code, original_url, reusable) VALUES ($1, $2, true) "
                     "ON CONFLICT (short_code) DO NOTHING RETURNING short_code",
                     table),
            2, two_texts);
        reuse_check_plan = prepare_kept_plan(
            psprintf("SELECT reusable AND enabled AND original_url OPERATOR(pg_catalog.=) $2 FROM %s "
                     "WHERE short_code OPERATOR(pg_catalog.=) $1",
                     table),
            2, two_texts);
    }
    if (store_version == STORE_1_1) {
        /* 1.1's key row has no code shape: 1.1 derived codes at the defaults. */
        reuse_key_plan = prepare_kept_plan(
            psprintf("SELECT secret, 6, "
                     "'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'::pg_catalog.text "
                     "FROM %s", key_table),
            0, NULL);
    }
    if (store_version >= STORE_1_2) {
        reuse_key_plan = prepare_kept_plan(
            psprintf("SELECT secret, code_length, alphabet FROM %s", key_table), 0, NULL);
        reuse_key_insert_plan = prepare_kept_plan(
            psprintf("INSERT INTO %s (secret, code_length, alphabet) VALUES ($1, $2, $3) "
                     "ON CONFLICT DO NOTHING", key_table),
            3, key_columns);
        /*
         * Whether a link was made from the key: then its row was lost (a
         * DELETE, a restore without it), and a new key would give every
         * repeated key or reused URL a second link.  Read only when the
         * key row is missing, so once per database: a scan of urls.
         */
        derived_link_plan = prepare_kept_plan(
            psprintf("SELECT 1 FROM %s WHERE reusable%s LIMIT 1", table,
                     store_version >= STORE_1_3 ? " OR idempotency_digest IS NOT NULL" : ""),
            0, NULL);
        /*
         * Retire, disable and enable; each also only while the link is at
         * version $2 (the two-argument forms, 1.5).  At READ COMMITTED a
         * click that holds the row makes that UPDATE wait and then re-check
         * its WHERE on the row the click left: clicks leave the version
         * alone, so the change still applies, where a read of the version
         * and a change in one REPEATABLE READ transaction would fail with
         * 40001.
         */
        prepare_change_plans(table, RETIRE_SET, "", &retire_plan, &retire_at_plan);
        prepare_change_plans(table,
                             "SET enabled = false, reusable = false, "
                             "version = version OPERATOR(pg_catalog.+) 1 ",
                             "AND enabled ", &disable_plan, &disable_at_plan);
        prepare_change_plans(table, "SET enabled = true, version = version OPERATOR(pg_catalog.+) 1 ",
                             "AND NOT enabled ", &enable_plan, &enable_at_plan);
        release_plan = prepare_kept_plan(
            psprintf("DELETE FROM %s WHERE short_code OPERATOR(pg_catalog.=) $1 AND retired_at IS NOT NULL",
                     table),
            1, one_text);
        stats_plan = prepare_kept_plan(
            psprintf("SELECT short_code, original_url, clicks, created_at, expires_at, max_clicks, "
                     "version, enabled FROM %s "
                     "WHERE short_code OPERATOR(pg_catalog.=) $1 AND retired_at IS NULL",
                     table),
            1, one_text);
        /*
         * Purge: which links are finished is a multi-shard question, so the
         * subquery picks up to $1 of them without locking ahead (no FOR
         * UPDATE, which Citus refuses across shards) and the UPDATE re-checks
         * the condition on each row it locks: a link clicked or edited
         * meanwhile is retired only if it is still finished.
         */
        purge_plan = prepare_kept_multi_shard_plan(
            psprintf("UPDATE %s " RETIRE_SET
                     "WHERE short_code OPERATOR(pg_catalog.=) ANY (SELECT short_code FROM %s "
                     "WHERE retired_at IS NULL AND " FINISHED_LINK " LIMIT $1) "
                     "AND retired_at IS NULL AND " FINISHED_LINK,
                     table, table),
            1, one_int);
        /* Codes with a character outside the alphabet ($1) were drawn
         * under another one: no draw can meet them.  A parameter of a
         * multi-shard statement: custom plans, as for purge_plan. */
        capacity_plan = prepare_kept_multi_shard_plan(
            psprintf("SELECT pg_catalog.length(short_code), pg_catalog.count(*) FROM %s "
                     "WHERE NOT is_alias "
                     "AND pg_catalog.ltrim(short_code, $1) OPERATOR(pg_catalog.=) '' "
                     "GROUP BY 1 ORDER BY 1",
                     table),
            1, one_text);
    }
    if (store_version >= STORE_1_3) {
        Oid idempotent_columns[5] = {TEXTOID, TEXTOID, TIMESTAMPTZOID, INT8OID, BYTEAOID};
        Oid batch_columns[3] = {TEXTARRAYOID, TEXTARRAYOID, BYTEAARRAYOID};

        /*
         * Idempotency keys: the code is derived from the key, so, as for
         * reuse, the primary key alone arbitrates two sessions sending the
         * same key; ON CONFLICT DO NOTHING waits for the other's insert,
         * and the lookup that follows tells whose link holds the code.
         */
        idempotent_insert_plan = prepare_kept_plan(
            psprintf("INSERT INTO %s (short_code, original_url, expires_at, max_clicks, "
                     "idempotency_digest) VALUES ($1, $2, $3, $4, $5) "
                     "ON CONFLICT (short_code) DO NOTHING RETURNING short_code",
                     table),
            5, idempotent_columns);
        idempotent_check_plan = prepare_kept_plan(
            psprintf("SELECT idempotency_digest FROM %s WHERE short_code OPERATOR(pg_catalog.=) $1",
                     table),
            1, one_text);
        idempotent_batch_plan = prepare_kept_multi_shard_plan(
            psprintf("INSERT INTO %s (short_code, original_url, idempotency_digest) "
                     "SELECT pg_catalog.unnest($1), pg_catalog.unnest($2), pg_catalog.unnest($3) "
                     "ON CONFLICT (short_code) DO NOTHING RETURNING short_code, idempotency_digest",
                     table),
            3, batch_columns);
    }
    if (store_version >= STORE_1_6) {
        const char *released = quote_qualified_identifier(schema, "released_codes");

        /*
         * Released codes (1.6): release_code records the code it frees, so
         * that a link made with a key or for reuse on it first looks further
         * along its sequence (idempotency.h, shorten.cpp).  Keyed by the
         * code, as urls: on Citus each statement goes to the code's shard.
         */
        released_record_plan = prepare_kept_plan(
            psprintf("INSERT INTO %s (short_code) VALUES ($1) ON CONFLICT (short_code) "
                     "DO UPDATE SET released_at = EXCLUDED.released_at",
                     released),
            1, one_text);
        released_check_plan = prepare_kept_plan(
            psprintf("SELECT 1 FROM %s WHERE short_code OPERATOR(pg_catalog.=) $1", released),
            1, one_text);
        released_batch_plan = prepare_kept_multi_shard_plan(
            psprintf("SELECT short_code FROM %s WHERE short_code OPERATOR(pg_catalog.=) ANY ($1)",
                     released),
            1, one_text_array);
        take_back_plan = prepare_kept_plan(
            psprintf("DELETE FROM %s WHERE short_code OPERATOR(pg_catalog.=) $1 AND retired_at IS NULL",
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
    batch_insert_plan = prepare_kept_multi_shard_plan(
        psprintf("INSERT INTO %s (short_code, original_url) "
                 "SELECT pg_catalog.unnest($1), pg_catalog.unnest($2)",
                 table),
        2, two_text_arrays);
    batch_insert_skipping_plan = prepare_kept_multi_shard_plan(
        psprintf("INSERT INTO %s (short_code, original_url) "
                 "SELECT pg_catalog.unnest($1), pg_catalog.unnest($2) "
                 "ON CONFLICT (short_code) DO NOTHING RETURNING short_code",
                 table),
        2, two_text_arrays);
    /*
     * Which drawn codes are taken.  (Codes that may never be handed out,
     * reserved_codes.h, never get here: the batch draws again for them.)
     * The lookup is an uncorrelated IN, which Citus plans as a subquery of
     * its own (it refuses a correlated EXISTS here).
     */
    taken_codes_plan = prepare_kept_multi_shard_plan(
        psprintf("SELECT c FROM pg_catalog.unnest($1) AS c "
                 "WHERE c OPERATOR(pg_catalog.=) ANY (SELECT short_code FROM %s "
                 "WHERE short_code OPERATOR(pg_catalog.=) ANY ($1))",
                 table),
        1, one_text_array);
    store_schema_name = MemoryContextStrdup(TopMemoryContext, schema);
    store_namespace = nsp;
    store_plans_rewritten = false;
    store_prepared_under_rules = store_tables_have_rules;
    if (store_set_aside)
        forget_set_aside_store();
}

/* Bytes of a new reuse key's secret (HMAC-SHA256's block is 64, its output 32). */
static const int REUSE_SECRET_BYTES = 32;

/*
 * Ends a call whose SPI statement did not do what it was written to do.  A
 * rule on the table (DO INSTEAD) rewrites it: a user's object, so a
 * feature-not-supported error that says so; anything else is the module's
 * own fault.
 */
static void pg_attribute_noreturn()
refuse_spi_result(const char *statement, int rc)
{
    if (rc == SPI_OK_REWRITTEN) {
        /* The next call goes past open_link_store's fast path. */
        store_plans_rewritten = true;
        store_namespace = InvalidOid;
        ereport(ERROR,
                (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                 errmsg("url_shortener does not support rules on its tables"),
                 errdetail("A rule rewrote this statement of the module: %s.", statement),
                 errhint("Drop the rule; a trigger can do the same work.")));
    }
    elog(ERROR, "url_shortener: %s returned %s", statement, SPI_result_code_string(rc));
}

/*
 * Refuses an insert that stored fewer rows than it was given: a BEFORE
 * INSERT trigger returned NULL.  Handing out a code whose row does not
 * exist would give the caller a link that resolves to nothing.
 */
static void
ensure_rows_stored(uint64 stored, uint64 expected)
{
    ereport(ERROR,
            (errcode(ERRCODE_TRIGGERED_ACTION_EXCEPTION),
             errmsg("a trigger on the links table suppressed the insert of a link"),
             errdetail("The insert stored " UINT64_FORMAT " of " UINT64_FORMAT " rows, so no code was handed out.",
                       stored, expected),
             errhint("A BEFORE INSERT trigger on the extension's table urls returned NULL; drop or fix it.")));
}

void
report_version_conflict(text *code, int64 expected_version, int64 version, const char *hint)
{
    ereport(ERROR,
            (errcode(ERRCODE_URL_SHORTENER_VERSION_CONFLICT),
             errmsg("link \"%s\" was changed by someone else", text_to_cstring(code)),
             errdetail("Expected version " INT64_FORMAT "; the link is at version " INT64_FORMAT ".",
                       expected_version, version),
             errhint("%s", hint)));
}

void
refuse_code_never_stored(const char *code, int tries)
{
    ereport(ERROR,
            (errcode(ERRCODE_TRIGGERED_ACTION_EXCEPTION),
             errmsg("a trigger on the links table suppressed the insert of a link"),
             errdetail("The insert of code \"%s\" stored no row %d times, and no link held that code, so no code was handed out.",
                       code, tries),
             errhint("A BEFORE INSERT trigger on the extension's table urls returned NULL; drop or fix it.")));
}

bool
run_in_subtransaction(bool (*work)(void *arg), void *arg, bool (*caught)(const ErrorData *error))
{
    MemoryContext volatile caller_context = CurrentMemoryContext;
    ResourceOwner volatile caller_owner = CurrentResourceOwner;
    volatile bool kept = false;
    volatile bool failed = false;
    volatile bool threw = false;

    BeginInternalSubTransaction(NULL);
    MemoryContextSwitchTo(caller_context);

    PG_TRY();
    {
        /* A C++ exception (none is thrown today) must not leave the
         * subtransaction open for call_guarded's error: rolled back below,
         * then reported. */
        try {
            kept = work(arg);
        } catch (...) {
            threw = true;
        }
        /* Committed, the subtransaction's locks pass to the transaction. */
        if (kept) {
            ReleaseCurrentSubTransaction();
            MemoryContextSwitchTo(caller_context);
            CurrentResourceOwner = caller_owner;
        }
    }
    PG_CATCH();
    {
        MemoryContextSwitchTo(caller_context);
        ErrorData *edata = CopyErrorData();
        FlushErrorState();

        RollbackAndReleaseCurrentSubTransaction();
        MemoryContextSwitchTo(caller_context);
        CurrentResourceOwner = caller_owner;

        if (caught == NULL || !caught(edata))
            ReThrowError(edata);
        FreeErrorData(edata);
        kept = false;
        failed = true;
    }
    PG_END_TRY();

    /* Outside PG_TRY, as in PL/pgSQL: a rollback is never tried twice. */
    if (!kept && !failed) {
        RollbackAndReleaseCurrentSubTransaction();
        MemoryContextSwitchTo(caller_context);
        CurrentResourceOwner = caller_owner;
    }
    if (threw)
        ereport(ERROR,
                (errcode(ERRCODE_INTERNAL_ERROR),
                 errmsg("url_shortener failed with a C++ exception in a subtransaction")));
    return kept;
}

/* An INSERT of insert_in_subtransaction: its statement and what it must store. */
typedef struct SubtransactionInsert {
    SPIPlanPtr plan;
    Datum *values;
    const char *nulls;
    uint64 expected_rows;
    bool (*direct)(Datum *values, const char *nulls);
} SubtransactionInsert;

static bool
run_insert(void *arg)
{
    const SubtransactionInsert *insert = (const SubtransactionInsert *) arg;

    if (insert->direct == NULL || !insert->direct(insert->values, insert->nulls)) {
        const int rc = SPI_execute_plan(insert->plan, insert->values, insert->nulls, false, 0);

        if (rc != SPI_OK_INSERT)
            refuse_spi_result("insert", rc);
        if (insert->expected_rows > 0 && SPI_processed != insert->expected_rows)
            ensure_rows_stored(SPI_processed, insert->expected_rows);
    }
    return true;
}

static bool
is_unique_violation(const ErrorData *error)
{
    return error->sqlerrcode == ERRCODE_UNIQUE_VIOLATION;
}

/* Read only after the error, and only on Citus: an internal error elsewhere is raised. */
static bool
is_unique_violation_or_citus_internal_error(const ErrorData *error)
{
    return is_unique_violation(error) ||
           (error->sqlerrcode == ERRCODE_INTERNAL_ERROR && OidIsValid(get_extension_oid("citus", true)));
}

/*
 * Runs an INSERT plan inside an internal subtransaction.  Returns true if
 * it stored its rows, false if it raised a unique violation (rolled back:
 * nothing of the statement remains).  Which unique constraint that was is
 * the caller's question, answered by a statement, not by the error's names.
 * Any other error is re-thrown unchanged.  expected_rows > 0: the count of
 * rows the statement must store; fewer means a trigger suppressed some,
 * and the call fails with 09000 (the subtransaction is rolled back too).
 * direct: writes the statement's rows without the executor, or returns
 * false having written none (direct_insert.h); the statement runs only then.
 */
static bool
insert_in_subtransaction(SPIPlanPtr plan, Datum *values, const char *nulls, uint64 expected_rows,
                         bool internal_error_may_be_conflict,
                         bool (*direct)(Datum *values, const char *nulls))
{
    SubtransactionInsert insert = {plan, values, nulls, expected_rows, direct};

    return run_in_subtransaction(run_insert, &insert,
                                 internal_error_may_be_conflict ? is_unique_violation_or_citus_internal_error
                                                                : is_unique_violation);
}

/* insert_plan's row (1.2 and later: five columns), without the executor. */
static bool
insert_link_without_executor(Datum *values, const char *nulls)
{
    return insert_link_directly(store_relid, values, nulls);
}

/* batch_insert_plan's rows, without the executor. */
static bool
insert_links_without_executor(Datum *values, const char *nulls)
{
    (void) nulls;
    return insert_links_directly(store_relid, values[0], values[1]);
}

bool
insert_link_unless_code_taken(const char *code, Datum url, const LinkLimits *limits, bool is_alias)
{
    Datum values[5] = {CStringGetTextDatum(code), url, limits->expires_at, limits->max_clicks,
                       BoolGetDatum(is_alias)};
    const char nulls[5] = {' ', ' ', limits->has_expiry ? ' ' : 'n',
                           limits->has_max_clicks ? ' ' : 'n', ' '};

    if (store_version == STORE_1_0 && (limits->has_expiry || limits->has_max_clicks))
        elog(ERROR, "url_shortener: link limits need extension version 1.1");

    /* The five columns of 1.2's INSERT; none of user code on the tables. */
    const bool direct = store_version >= STORE_1_2 && !store_runs_user_code;
    bool stored = insert_in_subtransaction(insert_plan, values, nulls, 1, false,
                                           direct ? insert_link_without_executor : NULL);
    if (!stored) {
        /*
         * A unique violation.  Offer the same row again, skipping only a
         * taken code: no row back means the primary key holds the code (a
         * live link, a tombstone, or a concurrent insert that committed
         * meanwhile); a unique violation from this statement is another
         * constraint's and propagates as it is.  It needs no
         * subtransaction: an error here ends the call anyway.
         */
        const int rc = SPI_execute_plan(insert_unless_taken_plan, values, nulls, false, 0);

        if (rc != SPI_OK_INSERT_RETURNING)
            refuse_spi_result("insert", rc);
        stored = SPI_processed == 1;
    }

    pfree(DatumGetPointer(values[0]));
    return stored;
}

bool
insert_links_unless_a_code_is_taken(Datum codes, Datum urls, int npairs)
{
    Datum values[2] = {codes, urls};

    /*
     * On Citus an INSERT ... SELECT into a distributed table is sent to the
     * shards with COPY, and a shard's unique violation comes back without
     * its SQLSTATE, as XX000 (ReportCopyError).  So an internal error here
     * also sends the caller to the ON CONFLICT form, which skips a taken
     * code and raises any other error again, then with its own SQLSTATE
     * where it has one; a cancel or a timeout (57014) still ends the call.
     * Only where Citus is installed: elsewhere an internal error is raised
     * as it is, not run again by another route.
     */
    return insert_in_subtransaction(batch_insert_plan, values, NULL, (uint64) npairs, true,
                                    store_runs_user_code ? NULL : insert_links_without_executor);
}

uint64
find_taken_codes(Datum codes)
{
    Datum values[1] = {codes};
    /* read_only false: a fresh snapshot (see link_store.h). */
    const int rc = SPI_execute_plan(taken_codes_plan, values, NULL, false, 0);

    if (rc != SPI_OK_SELECT)
        refuse_spi_result("taken-code lookup", rc);
    return SPI_processed;
}

/*
 * Runs an INSERT ... SELECT ... ON CONFLICT DO NOTHING RETURNING plan
 * through a cursor, fetching every row it returns into SPI_tuptable, and
 * returns their count.  Not SPI_execute_plan: on Citus, an INSERT ...
 * SELECT into a distributed table reports as processed the rows it sent
 * to the shards, not the rows they stored, and when ON CONFLICT skipped
 * one, SPI's check of its tuple count against the rows returned fails
 * ("consistency check on SPI tuple count failed").  A cursor runs the
 * statement to completion into the portal's store and counts the rows it
 * fetches, which are the rows stored.
 */
static uint64
insert_returning_through_cursor(SPIPlanPtr plan, Datum *values)
{
    /*
     * SPI_execute_plan refuses a NULL plan (SPI_ERROR_ARGUMENT), but
     * SPI_cursor_open would follow it.  A plan is NULL here only if a
     * nested call began preparing them all afresh and failed half-way
     * (under a PL/pgSQL EXCEPTION block that caught it).
     */
    if (plan == NULL)
        ereport(ERROR,
                (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                 errmsg("a statement of this url_shortener call was dropped by a nested call"),
                 errdetail("A call made inside this one failed while preparing the module's statements again, and its error was caught."),
                 errhint("Run the statement again.")));
    Portal portal = SPI_cursor_open(NULL, plan, values, NULL, false);

    SPI_cursor_fetch(portal, true, FETCH_ALL);
    const uint64 returned = SPI_processed;
    SPI_cursor_close(portal);
    return returned;
}

double
most_links_now(void)
{
    Relation rel = try_table_open(store_relid, AccessShareLock);

    if (rel == NULL)
        return -1;
    const double pages = (double) RelationGetNumberOfBlocks(rel);
    table_close(rel, NoLock);
    return (double) MaxHeapTuplesPerPage * pages;
}

uint64
insert_links_skipping_taken_codes(Datum codes, Datum urls)
{
    Datum values[2] = {codes, urls};

    return insert_returning_through_cursor(batch_insert_skipping_plan, values);
}

bool
code_is_visible(const char *code)
{
    Datum values[1] = {CStringGetTextDatum(code)};
    /*
     * read_only false: a fresh snapshot, so that the locked variant sees the
     * codes that the lock holder it waited for has just committed.
     */
    const int rc = SPI_execute_plan(exists_plan, values, NULL, false, 1);

    if (rc != SPI_OK_SELECT)
        refuse_spi_result("lookup", rc);
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
        refuse_spi_result("click update", rc);
    if (SPI_processed == 0)
        return NULL;

    const Datum url = result_value(0, 1, TEXTOID, &isnull);
    if (isnull)
        return NULL;
    /*
     * Detoasted here, inside SPI, and then copied out whole: a URL stored
     * compressed or out of line would otherwise be detoasted after the
     * transfer into SPI's own memory, which SPI_finish frees.
     */
    text *flat = DatumGetTextPP(url);
    return (text *) DatumGetPointer(SPI_datumTransfer(PointerGetDatum(flat), false, -1));
}

/* A BEFORE UPDATE trigger returned NULL: the live link at version was not changed. */
static void report_suppressed_change(text *code, int64 version) pg_attribute_noreturn();

static void
report_suppressed_change(text *code, int64 version)
{
    ereport(ERROR,
            (errcode(ERRCODE_TRIGGERED_ACTION_EXCEPTION),
             errmsg("a trigger on the links table suppressed the change of link \"%s\"",
                    text_to_cstring(code)),
             errdetail("The link is at version " INT64_FORMAT " and was not changed.", version),
             errhint("A BEFORE UPDATE trigger on the extension's table urls returned NULL; drop or fix it.")));
}

/*
 * After an UPDATE of a change that changed no row: the live link's version
 * by plan (in column), in a new snapshot (read_only false), so that under
 * READ COMMITTED the version a concurrent change just committed is the one
 * read; false if there is no live link.  The row stays in SPI_tuptable.
 */
static bool
read_live_version(SPIPlanPtr plan, Datum *values, int column, int64 *version)
{
    bool isnull;
    const int rc = SPI_execute_plan(plan, values, NULL, false, 1);

    if (rc != SPI_OK_SELECT)
        refuse_spi_result("version lookup", rc);
    if (SPI_processed == 0)
        return false;
    *version = DatumGetInt64(result_value(0, column, INT8OID, &isnull));
    return true;
}

EditOutcome
replace_link_url(text *code, Datum url, int64 expected_version, int64 *version)
{
    Datum values[3] = {PointerGetDatum(code), url, Int64GetDatum(expected_version)};
    bool isnull;

    if (update_plan == NULL)
        elog(ERROR, "url_shortener: update_url needs extension version 1.1");

    /*
     * Not updated: no such link, or its version moved on.  Which one?  A new
     * snapshot (read_only false), so that under READ COMMITTED the version
     * a concurrent edit just committed is the one reported.  A link found
     * at the expected version was not in the UPDATE's snapshot (made by a
     * transaction that committed between the two: the UPDATE is run
     * again), or a BEFORE UPDATE trigger returned NULL (then again, and
     * the second time it is the trigger's).
     */
    for (int tries = 1;; tries++) {
        const int rc = SPI_execute_plan(update_plan, values, NULL, false, 0);
        if (rc != SPI_OK_UPDATE_RETURNING)
            refuse_spi_result("url update", rc);
        if (SPI_processed == 1) {
            *version = DatumGetInt64(result_value(0, 1, INT8OID, &isnull));
            return EDIT_DONE;
        }
        if (!read_live_version(version_plan, values, 1, version))
            return EDIT_NO_SUCH_LINK;
        if (*version != expected_version)
            return EDIT_VERSION_CHANGED;
        if (tries == 2)
            report_suppressed_change(code, expected_version);
    }
}

/*
 * Before the call's first statement that writes relid, one of the
 * extension's tables besides urls: the call decided its search-path guard
 * under the lock of urls only (open_link_store), so a trigger created on
 * relid since, whose CREATE TRIGGER this lock now waits for, must make the
 * guard a setting before the statement fires it (relation_runs_user_code
 * reads the table as that invalidation left it).
 */
static void
lock_table_for_write(Oid relid)
{
    LockRelationOid(relid, RowExclusiveLock);
    if (relation_runs_user_code(relid))
        guard_search_path_for_user_code();
}

void
read_reuse_key(ReuseKey *key)
{
    bool isnull;

    if (reuse_key_plan == NULL)
        elog(ERROR, "url_shortener: reuse needs extension version 1.1");
    int rc = SPI_execute_plan(reuse_key_plan, NULL, NULL, false, 2);
    if (rc != SPI_OK_SELECT)
        refuse_spi_result("key lookup", rc);

    if (SPI_processed == 0 && reuse_key_insert_plan != NULL) {
        rc = SPI_execute_plan(derived_link_plan, NULL, NULL, false, 1);
        if (rc != SPI_OK_SELECT)
            refuse_spi_result("derived link lookup", rc);
        if (SPI_processed != 0) {
            /*
             * A link made from a key.  Its key committed with it or before:
             * read once more, in a snapshot taken after the scan's, so
             * that another session's first reuse, committed between the
             * two reads, is not taken for a lost row.
             */
            rc = SPI_execute_plan(reuse_key_plan, NULL, NULL, false, 2);
            if (rc != SPI_OK_SELECT)
                refuse_spi_result("key lookup", rc);
            if (SPI_processed == 0)
                ereport(ERROR,
                        (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                         errmsg("the secret key of reusable links is missing"),
                         errdetail("Links made with reuse or an idempotency key were derived from it; a "
                                   "new key would give each of them a second link."),
                         errhint("Restore the row of the extension's table reuse_key from a backup.")));
        } else {
            /* The first reuse in this database: make the key, or find a racer's. */
            bytea *secret = (bytea *) palloc(VARHDRSZ + REUSE_SECRET_BYTES);
            SET_VARSIZE(secret, VARHDRSZ + REUSE_SECRET_BYTES);
            if (!pg_strong_random(VARDATA(secret), REUSE_SECRET_BYTES))
                ereport(ERROR,
                        (errcode(ERRCODE_INTERNAL_ERROR),
                         errmsg("could not generate random bytes for the reuse key")));
            Datum values[3] = {PointerGetDatum(secret), Int32GetDatum(code_length_setting),
                               CStringGetTextDatum(alphabet_setting)};

            if (OidIsValid(store_reuse_key_relid))
                lock_table_for_write(store_reuse_key_relid);
            rc = SPI_execute_plan(reuse_key_insert_plan, values, NULL, false, 0);
            if (rc != SPI_OK_INSERT)
                refuse_spi_result("key insert", rc);
            /* A fresh snapshot: the row this statement or a racer inserted. */
            rc = SPI_execute_plan(reuse_key_plan, NULL, NULL, false, 2);
            if (rc != SPI_OK_SELECT)
                refuse_spi_result("key lookup", rc);
        }
    }
    if (SPI_processed != 1)
        ereport(ERROR,
                (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                 errmsg("the secret key of reusable links is missing"),
                 errhint("Restore the row of the extension's table reuse_key from a backup.")));

    key->secret = DatumGetByteaPCopy(result_value(0, 1, BYTEAOID, &isnull));
    key->code_length = DatumGetInt32(result_value(0, 2, INT4OID, &isnull));
    key->alphabet = TextDatumGetCString(result_value(0, 3, TEXTOID, &isnull));
    if (key->code_length < 1 || key->code_length > MAX_CODE_LENGTH ||
        url_shortener::check_alphabet(key->alphabet).problem != url_shortener::AlphabetProblem::none)
        ereport(ERROR,
                (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                 errmsg("the reuse key's code shape is not valid"),
                 errdetail("Its code length is %d and its alphabet is \"%s\".", key->code_length,
                           key->alphabet),
                 errhint("Set code_length of the extension's table reuse_key to 1 to %d and its "
                         "alphabet to one that url_shortener.alphabet would take.",
                         MAX_CODE_LENGTH)));
}

/*
 * What holds code, in a new snapshot: url's enabled reusable link
 * (REUSE_FOUND), another link (REUSE_OCCUPIED) or nothing (REUSE_VANISHED).
 */
static ReuseOutcome
reusable_code_holder(Datum *code_and_url, bool latest = false)
{
    bool isnull;
    const int rc = latest
        ? SPI_execute_snapshot(reuse_check_plan, code_and_url, NULL, GetLatestSnapshot(), InvalidSnapshot,
                               false, false, 1)
        : SPI_execute_plan(reuse_check_plan, code_and_url, NULL, false, 1);

    if (rc != SPI_OK_SELECT)
        refuse_spi_result("reusable lookup", rc);
    ReuseOutcome holder = REUSE_VANISHED;
    if (SPI_processed == 1) {
        const bool same = DatumGetBool(result_value(0, 1, BOOLOID, &isnull));
        holder = same && !isnull ? REUSE_FOUND : REUSE_OCCUPIED;
    }
    SPI_freetuptable(SPI_tuptable);
    return holder;
}

ReuseOutcome
store_reusable_link(const char *code, Datum url)
{
    Datum values[2] = {CStringGetTextDatum(code), url};

    const int rc = SPI_execute_plan(reuse_insert_plan, values, NULL, false, 0);
    if (rc != SPI_OK_INSERT_RETURNING)
        refuse_spi_result("reusable insert", rc);
    const ReuseOutcome outcome = SPI_processed == 1 ? REUSE_CREATED : reusable_code_holder(values);
    pfree(DatumGetPointer(values[0]));
    return outcome;
}

static SPIPlanPtr plan_of_1_3(SPIPlanPtr plan);

IdempotentInsert
store_idempotent_link(const char *code, Datum url, const LinkLimits *limits, Datum digests,
                      bytea **holder_digest)
{
    Datum values[5] = {CStringGetTextDatum(code), url, limits->expires_at, limits->max_clicks, digests};
    const char nulls[5] = {' ', ' ', limits->has_expiry ? ' ' : 'n',
                           limits->has_max_clicks ? ' ' : 'n', ' '};

    const int rc = SPI_execute_plan(plan_of_1_3(idempotent_insert_plan), values, nulls, false, 0);
    if (rc != SPI_OK_INSERT_RETURNING)
        refuse_spi_result("idempotent insert", rc);
    const bool inserted = SPI_processed == 1;
    /* Results are freed at once: a batch may call this once per element. */
    SPI_freetuptable(SPI_tuptable);
    if (inserted) {
        pfree(DatumGetPointer(values[0]));
        return IDEMPOTENT_CREATED;
    }

    pfree(DatumGetPointer(values[0]));
    /* A new snapshot, to see the row whose insert ON CONFLICT waited for. */
    return find_idempotency_digest(code, holder_digest) ? IDEMPOTENT_HELD : IDEMPOTENT_VANISHED;
}

uint64
insert_idempotent_links_skipping_taken_codes(Datum codes, Datum urls, Datum digests)
{
    Datum values[3] = {codes, urls, digests};

    return insert_returning_through_cursor(plan_of_1_3(idempotent_batch_plan), values);
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

/* The plan of a 1.2 statement, or an error on an older table. */
static SPIPlanPtr
plan_of_1_2(SPIPlanPtr plan)
{
    if (plan == NULL)
        ereport(ERROR,
                (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                 errmsg("this function needs extension version 1.2 of url_shortener"),
                 errhint("Run ALTER EXTENSION url_shortener UPDATE.")));
    return plan;
}

/* The plan of a 1.3 statement, or an error on an older table. */
static SPIPlanPtr
plan_of_1_3(SPIPlanPtr plan)
{
    if (plan == NULL)
        ereport(ERROR,
                (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                 errmsg("idempotency keys need extension version 1.3 of url_shortener"),
                 errhint("Run ALTER EXTENSION url_shortener UPDATE.")));
    return plan;
}

/* The plan of change; at_version: its two-argument form (not RELEASE_CODE). */
static SPIPlanPtr
change_plan(LinkChange change, bool at_version)
{
    switch (change) {
        case RETIRE_LINK:
            return plan_of_1_2(at_version ? retire_at_plan : retire_plan);
        case DISABLE_LINK:
            return plan_of_1_2(at_version ? disable_at_plan : disable_plan);
        case ENABLE_LINK:
            return plan_of_1_2(at_version ? enable_at_plan : enable_plan);
        case RELEASE_CODE:
            break;
    }
    if (at_version)
        elog(ERROR, "url_shortener: release_code has no version");
    return plan_of_1_2(release_plan);
}

/*
 * On a Citus cluster whose urls is distributed, released_codes must be
 * distributed too (url_shortener_distribute() after the update to 1.6):
 * a forwarded release_code would otherwise record its code in the
 * worker's own copy of the table, which no call reads, and the code would
 * be freed unrecorded.  Without Citus there is nothing to check.  Only on
 * release_code, an administrator's call; a catalog scan, as citus_node
 * reads Citus's catalog, not a statement planned on every call.
 */
static void
ensure_releases_recorded_where_read(void)
{
    /* Scans of Citus's catalog (citus_node.h), no statement: where Citus
     * is not installed, one syscache lookup of its name. */
    const bool stranded =
        citus_partitions(store_relid) && !citus_partitions(store_released_relid);
    if (stranded)
        ereport(ERROR,
                (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                 errmsg("table released_codes of extension url_shortener is not distributed like urls"),
                 errdetail("The freed code would be recorded where no call reads it."),
                 errhint("Run SELECT url_shortener_distribute() on the coordinator, as after every update of the extension on Citus.")));
}

bool
change_link(LinkChange change, text *code)
{
    Datum values[1] = {PointerGetDatum(code)};
    if (change == RELEASE_CODE && released_record_plan != NULL)
        ensure_releases_recorded_where_read();
    int rc = SPI_execute_plan(change_plan(change, false), values, NULL, false, 0);

    if (rc != (change == RELEASE_CODE ? SPI_OK_DELETE : SPI_OK_UPDATE))
        refuse_spi_result("link change", rc);
    bool changed = SPI_processed > 0;

    /*
     * Nothing changed: no live link, or it is already as asked, or a
     * BEFORE UPDATE trigger returned NULL, which false would hide.  A live
     * link not as asked (in a new snapshot) is changed at the version read,
     * which tells a trigger (09000) from a change that came in between.
     */
    if (!changed && change != RELEASE_CODE && stats_plan != NULL) {
        for (int tries = 0; tries < 8; tries++) {
            rc = SPI_execute_plan(stats_plan, values, NULL, false, 1);
            if (rc != SPI_OK_SELECT)
                refuse_spi_result("version lookup", rc);
            if (SPI_processed == 0)
                break;
            bool isnull;
            const int64 at = DatumGetInt64(result_value(0, 7, INT8OID, &isnull));
            const bool enabled = DatumGetBool(result_value(0, 8, BOOLOID, &isnull));
            if ((change == DISABLE_LINK && !enabled) || (change == ENABLE_LINK && enabled))
                break;
            int64 version;
            const EditOutcome outcome = change_link_at(change, code, at, &version);
            if (outcome != EDIT_VERSION_CHANGED) {
                changed = outcome == EDIT_DONE;
                break;
            }
        }
    }

    /* A freed code is recorded (1.6), in the same transaction as the delete. */
    if (change == RELEASE_CODE && changed && released_record_plan != NULL) {
        lock_table_for_write(store_released_relid);
        rc = SPI_execute_plan(released_record_plan, values, NULL, false, 0);
        if (rc != SPI_OK_INSERT)
            refuse_spi_result("recording a released code", rc);
    }
    return changed;
}

/* Refuses a result column whose type is not the one the module reads. */
static void
ensure_result_type(TupleDesc desc, int column, Oid type)
{
    const Oid actual = SPI_gettypeid(desc, column);

    if (actual != type)
        ereport(ERROR,
                (errcode(ERRCODE_DATATYPE_MISMATCH),
                 errmsg("column %d of a url_shortener statement has type %s, not %s",
                        column, format_type_be(actual), format_type_be(type)),
                 errdetail("A column of the extension's tables was changed after the statement was prepared."),
                 errhint("Undo the ALTER TABLE on the extension's table, or drop and create the extension again.")));
}

Datum
result_value(uint64 row, int column, Oid type, bool *isnull)
{
    ensure_result_type(SPI_tuptable->tupdesc, column, type);
    return SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, column, isnull);
}

void
ensure_result_types(TupleDesc desc)
{
    if (SPI_tuptable->tupdesc->natts != desc->natts)
        elog(ERROR, "url_shortener: a statement returned %d columns for %d",
             SPI_tuptable->tupdesc->natts, desc->natts);
    for (int i = 0; i < desc->natts; i++)
        ensure_result_type(SPI_tuptable->tupdesc, i + 1, TupleDescAttr(desc, i)->atttypid);
}

bool
code_was_released(const char *code)
{
    if (released_check_plan == NULL)
        return false;       /* before 1.6 nothing is recorded */

    Datum values[1] = {CStringGetTextDatum(code)};
    const int rc = SPI_execute_plan(released_check_plan, values, NULL, false, 1);
    if (rc != SPI_OK_SELECT)
        refuse_spi_result("released code lookup", rc);
    const bool released = SPI_processed > 0;
    SPI_freetuptable(SPI_tuptable);
    pfree(DatumGetPointer(values[0]));
    return released;
}

uint64
find_released_codes(Datum codes)
{
    if (released_batch_plan == NULL)
        return 0;

    Datum values[1] = {codes};
    const int rc = SPI_execute_plan(released_batch_plan, values, NULL, false, 0);
    if (rc != SPI_OK_SELECT)
        refuse_spi_result("released codes lookup", rc);
    return SPI_processed;
}

void
take_back_new_link(const char *code)
{
    Datum values[1] = {CStringGetTextDatum(code)};
    const int rc = SPI_execute_plan(take_back_plan, values, NULL, false, 0);

    if (rc != SPI_OK_DELETE)
        refuse_spi_result("taking back a new link", rc);
    if (SPI_processed != 1)
        ereport(ERROR,
                (errcode(ERRCODE_TRIGGERED_ACTION_EXCEPTION),
                 errmsg("a trigger on the links table kept a new link from being taken back"),
                 errdetail("Link \"%s\" was made on a released code while its request's link has a later code; nothing was stored.",
                           code),
                 errhint("A BEFORE DELETE trigger on the extension's table urls returned NULL; drop or fix it.")));
    pfree(DatumGetPointer(values[0]));
}

ReuseOutcome
reusable_code_holder_of(const char *code, Datum url, bool latest)
{
    Datum values[2] = {CStringGetTextDatum(code), url};
    const ReuseOutcome holder = reusable_code_holder(values, latest);

    pfree(DatumGetPointer(values[0]));
    return holder;
}

bool
is_reusable_link_of(const char *code, Datum url, bool latest)
{
    Datum values[2] = {CStringGetTextDatum(code), url};
    const bool same = reusable_code_holder(values, latest) == REUSE_FOUND;

    pfree(DatumGetPointer(values[0]));
    return same;
}

bool
find_idempotency_digest(const char *code, bytea **holder_digest, bool latest)
{
    Datum values[1] = {CStringGetTextDatum(code)};
    bool isnull;

    *holder_digest = NULL;
    const int rc = latest
        ? SPI_execute_snapshot(plan_of_1_3(idempotent_check_plan), values, NULL, GetLatestSnapshot(),
                               InvalidSnapshot, false, false, 1)
        : SPI_execute_plan(plan_of_1_3(idempotent_check_plan), values, NULL, false, 1);
    if (rc != SPI_OK_SELECT)
        refuse_spi_result("idempotent lookup", rc);
    const bool held = SPI_processed == 1;
    if (held) {
        const Datum digest = result_value(0, 1, BYTEAOID, &isnull);
        if (!isnull)
            *holder_digest = DatumGetByteaPCopy(digest);
    }
    SPI_freetuptable(SPI_tuptable);
    pfree(DatumGetPointer(values[0]));
    return held;
}

EditOutcome
change_link_at(LinkChange change, text *code, int64 expected_version, int64 *version)
{
    Datum values[2] = {PointerGetDatum(code), Int64GetDatum(expected_version)};
    bool isnull;

    /*
     * Not changed: no such link, its version moved on, or it is already
     * in the state asked for.  A new snapshot, as in replace_link_url, so
     * that under READ COMMITTED a version just committed is the one
     * reported.  The stats row (version in column 7, enabled in 8) tells
     * "already as asked" from an UPDATE that changed nothing: a link the
     * UPDATE did not see (its code freed and taken again while the UPDATE
     * waited: the UPDATE is run again), or a BEFORE UPDATE trigger that
     * returned NULL (then again, and the second time it is the trigger's).
     */
    for (int tries = 1;; tries++) {
        const int rc = SPI_execute_plan(change_plan(change, true), values, NULL, false, 0);
        if (rc != SPI_OK_UPDATE)
            refuse_spi_result("link change", rc);
        if (SPI_processed > 0) {
            *version = expected_version + 1;
            return EDIT_DONE;
        }
        if (!read_live_version(stats_plan, values, 7, version))
            return EDIT_NO_SUCH_LINK;
        if (*version != expected_version)
            return EDIT_VERSION_CHANGED;
        const bool enabled = DatumGetBool(result_value(0, 8, BOOLOID, &isnull));
        if ((change == DISABLE_LINK && !enabled) || (change == ENABLE_LINK && enabled))
            return EDIT_NOT_NEEDED;
        /* Live, at the version, and not as asked: the UPDATE changed no row. */
        if (tries == 2)
            report_suppressed_change(code, expected_version);
    }
}

bool
find_link_stats(text *code)
{
    Datum values[1] = {PointerGetDatum(code)};
    const int rc = SPI_execute_plan(plan_of_1_2(stats_plan), values, NULL, true, 1);

    if (rc != SPI_OK_SELECT)
        refuse_spi_result("stats lookup", rc);
    return SPI_processed == 1;
}

uint64
retire_finished_links(int32 batch_size)
{
    Datum values[1] = {Int32GetDatum(batch_size)};
    const int rc = SPI_execute_plan(plan_of_1_2(purge_plan), values, NULL, false, 0);

    if (rc != SPI_OK_UPDATE)
        refuse_spi_result("purge", rc);
    return SPI_processed;
}

uint64
count_drawn_codes(const char *alphabet)
{
    Datum values[1] = {CStringGetTextDatum(alphabet)};
    const int rc = SPI_execute_plan(plan_of_1_2(capacity_plan), values, NULL, true, 0);

    if (rc != SPI_OK_SELECT)
        refuse_spi_result("capacity count", rc);
    return SPI_processed;
}
