/*
 * direct_insert.cpp
 *    A link's INSERT, written straight to the table and its indexes.
 *
 *    Every SPI statement is a new executor: ExecutorStart builds the plan
 *    state, opens the indexes, compiles the target list and the CHECK
 *    constraints; ExecutorEnd takes it all down again.  For the one row
 *    shorten_url stores that was a third of a call's instructions
 *    (bench/profile), and it is what kept 100,000 calls in one transaction
 *    far from an INSERT ... SELECT, which pays it once.
 *
 *    This file does for that one row (and for the rows of a shorten_urls
 *    round, with the indexes opened once) what ExecInsert does, with the parts
 *    that do not depend on the row prepared once per backend: the defaults
 *    of the columns the INSERT does not name and the CHECK constraints are
 *    planned and compiled once (as ExecRelCheck and the planner would) and
 *    kept until the table changes.  Per row: the defaults are evaluated,
 *    the NOT NULL and CHECK constraints checked, the row put into the heap
 *    (table_tuple_insert) and into every index (ExecOpenIndices and
 *    ExecInsertIndexTuples, the executor's own code, so unique checks,
 *    index expressions, predicates and exclusion constraints behave as in
 *    any INSERT), then the command counter advanced, as SPI does.
 *
 *    It is used only where nothing else would happen in the executor:
 *    - the extension's tables run no user code (the caller knows it: no
 *      trigger, rule, row security, user function in a default or CHECK);
 *    - the table is a plain heap table, not a partition, without generated
 *      columns, columns of a domain type or volatile defaults (a serial
 *      column: its nextval would run again if the executor had to redo
 *      the row), and the five columns the INSERT names have the types the
 *      statement gives them, with no typmod, and are no identity columns;
 *      what the caller knew of user code is checked again under the lock;
 *    - Citus is not installed (there the row belongs on a shard);
 *    - the transaction may write (not read-only, not in recovery, not in
 *      parallel mode), the current user holds INSERT on the whole table,
 *      and no ExecutorCheckPerms_hook (sepgsql, pgaudit) wants to see the
 *      statement.
 *    Otherwise, and whenever the row would fail a NOT NULL or CHECK
 *    constraint, it returns false having done nothing, and the caller runs
 *    its SPI statement, which does the same through the executor and
 *    raises PostgreSQL's own errors.  url_shortener.direct_insert = off
 *    makes every insert take that road.
 *
 *    What a row stored here does not do that the executor's would: it is
 *    not a statement, so pg_stat_statements (with track = all) and
 *    auto_explain do not see it, and no ExecutorStart or ExecutorRun hook
 *    runs for it.
 *
 *    The kept state is rebuilt after any invalidation of the table, read
 *    only after the table is locked: every change to its columns,
 *    defaults or constraints takes a lock that conflicts with
 *    RowExclusiveLock, so nothing can change it while a row goes in.  The
 *    indexes are opened per statement; CREATE INDEX CONCURRENTLY does not
 *    conflict, but its index is written by inserts only once it is ready,
 *    a commit that first waits for this transaction.  An invalidation that
 *    arrives while the plan is being built (its catalog and index locks
 *    process them) makes it be built again (plan_for).
 */
#include "direct_insert.h"

#include "search_path_guard.h"

extern "C" {
#include "access/tableam.h"
#include "access/tupdesc.h"
#include "catalog/pg_am.h"
#include "commands/extension.h"
#include "executor/executor.h"
#include "nodes/execnodes.h"
#include "optimizer/optimizer.h"
#include "rewrite/rewriteHandler.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/inval.h"
}

bool direct_insert_setting = true;

static const char *const supplied_names[DIRECT_INSERT_COLUMNS] = {
    "short_code", "original_url", "expires_at", "max_clicks", "is_alias"};
static const Oid supplied_types[DIRECT_INSERT_COLUMNS] = {
    TEXTOID, TEXTOID, TIMESTAMPTZOID, INT8OID, BOOLOID};

/* What is kept for one table, all of it in context. */
typedef struct DirectInsertPlan {
    MemoryContext context;
    Oid relid;
    const char *refusal;       /* NULL: usable; else why the executor must do it */
    AttrNumber supplied[DIRECT_INSERT_COLUMNS];
    ExprState **defaults;      /* one per attribute; NULL: no default (null) */
    int *supplied_rank;        /* one per attribute: k if supplied[k] is it, else -1 */
    int ncheck;
    ExprState **checks;        /* in the order of the relation's constr->check */
    ExprContext *econtext;     /* evaluates them; its per-tuple memory holds a row */
} DirectInsertPlan;

static DirectInsertPlan *kept_plan = NULL;
static bool kept_plan_valid = false;
/*
 * How many invalidations of the table (or of every relation) have arrived.
 * Building a plan opens catalogs and indexes, and each lock newly taken
 * processes the invalidations other sessions' commits sent: plan_for
 * compares this count before and after, so that one arriving meanwhile is
 * not overwritten by publishing the plan it may have outdated (as
 * open_link_store does with store_invalidations).
 */
static uint64 plan_invalidations = 0;
static Oid plan_building_relid = InvalidOid;
static bool kept_plan_evaluating = false;       /* left true by an error mid-evaluation */
static MemoryContext plan_being_built = NULL;   /* freed by the next build if one failed */
static bool invalidation_registered = false;

static void
forget_plan(Datum arg, Oid relid) noexcept
{
    (void) arg;
    if (relid == InvalidOid || relid == plan_building_relid ||
        (kept_plan != NULL && relid == kept_plan->relid)) {
        kept_plan_valid = false;
        plan_invalidations++;
    }
}

/* Why rows of rel must go through the executor, or NULL. */
static const char *
refusal_of(Relation rel, AttrNumber *supplied)
{
    const Form_pg_class form = rel->rd_rel;
    const TupleDesc desc = RelationGetDescr(rel);

    if (form->relkind != RELKIND_RELATION)
        return "it is not a plain table";
    if (form->relam != HEAP_TABLE_AM_OID)
        return "it is not a heap table";
    if (form->relispartition)
        return "it is a partition";
    if (desc->constr != NULL && desc->constr->has_generated_stored)
        return "it has generated columns";
    if (OidIsValid(get_extension_oid("citus", true)))
        return "Citus is installed";
    /*
     * Triggers, rules, row security, user functions in defaults or CHECKs.
     * The caller decided before locking the table; this plan is built
     * under the lock, after every change to the table.
     */
    if (relation_runs_user_code(RelationGetRelid(rel)))
        return "it runs user code";

    for (int k = 0; k < DIRECT_INSERT_COLUMNS; k++)
        supplied[k] = InvalidAttrNumber;
    for (int i = 0; i < desc->natts; i++) {
        const Form_pg_attribute att = TupleDescAttr(desc, i);

        if (att->attisdropped)
            continue;
        if (get_typtype(att->atttypid) == TYPTYPE_DOMAIN)
            return "a column has a domain type";
        for (int k = 0; k < DIRECT_INSERT_COLUMNS; k++) {
            if (strcmp(NameStr(att->attname), supplied_names[k]) != 0)
                continue;
            if (att->atttypid != supplied_types[k] || att->atttypmod != -1)
                return "a column the INSERT names has another type";
            /* The rewriter refuses a value for GENERATED ALWAYS. */
            if (att->attidentity != '\0')
                return "a column the INSERT names is an identity column";
            supplied[k] = att->attnum;
        }
    }
    for (int k = 0; k < DIRECT_INSERT_COLUMNS; k++)
        if (supplied[k] == InvalidAttrNumber)
            return "a column the INSERT names is missing";
    return NULL;
}

/*
 * Plans and compiles the defaults and CHECK constraints of rel (locked),
 * as the planner and ExecRelCheck would, into a context of their own.
 * (Not inlined: test/fault/run stops a backend here.)
 */
static pg_noinline DirectInsertPlan *
build_plan(Relation rel)
{
    if (plan_being_built != NULL)
        MemoryContextDelete(plan_being_built);
    plan_being_built = AllocSetContextCreate(TopMemoryContext, "url_shortener direct insert",
                                             ALLOCSET_SMALL_SIZES);
    MemoryContext caller_context = MemoryContextSwitchTo(plan_being_built);

    DirectInsertPlan *plan = (DirectInsertPlan *) palloc0(sizeof(DirectInsertPlan));
    plan->context = plan_being_built;
    plan->relid = RelationGetRelid(rel);
    plan->refusal = refusal_of(rel, plan->supplied);

    if (plan->refusal == NULL) {
        const TupleDesc desc = RelationGetDescr(rel);

        plan->defaults = (ExprState **) palloc0(sizeof(ExprState *) * desc->natts);
        plan->supplied_rank = (int *) palloc(sizeof(int) * desc->natts);
        for (int i = 0; i < desc->natts; i++)
            plan->supplied_rank[i] = -1;
        for (int k = 0; k < DIRECT_INSERT_COLUMNS; k++)
            plan->supplied_rank[plan->supplied[k] - 1] = k;
        for (int i = 0; i < desc->natts; i++) {
            const Form_pg_attribute att = TupleDescAttr(desc, i);

            /* Also of the named columns: the batch names only the first two. */
            if (att->attisdropped)
                continue;
            Node *value = build_column_default(rel, att->attnum);
            if (value == NULL)
                continue;
            /*
             * A row a constraint refuses is evaluated again by the SPI
             * statement: a volatile default (nextval, an identity) would
             * then run twice.  now() and constants are not volatile.
             */
            if (contain_volatile_functions(value)) {
                plan->refusal = "a default is volatile";
                break;
            }
            plan->defaults[i] = ExecInitExpr(expression_planner((Expr *) value), NULL);
        }
    }
    if (plan->refusal == NULL) {
        const TupleDesc desc = RelationGetDescr(rel);

        plan->ncheck = desc->constr != NULL ? desc->constr->num_check : 0;
        plan->checks = (ExprState **) palloc0(sizeof(ExprState *) * Max(plan->ncheck, 1));
        for (int i = 0; i < plan->ncheck; i++) {
            Expr *check = (Expr *) stringToNode(desc->constr->check[i].ccbin);
            plan->checks[i] = ExecInitExpr(expression_planner(check), NULL);
        }
        plan->econtext = CreateStandaloneExprContext();
    }

    MemoryContextSwitchTo(caller_context);
    plan_being_built = NULL;
    ereport(DEBUG1,
            (errmsg_internal("url_shortener: links go into \"%s\" %s%s",
                             RelationGetRelationName(rel),
                             plan->refusal == NULL ? "directly" : "through the executor: ",
                             plan->refusal == NULL ? "" : plan->refusal)));
    return plan;
}

/* Most plans plan_for builds in one call; see there. */
static const int MOST_PLAN_BUILDS = 8;

/* What plan_for answers when the table kept changing while it looked. */
static const DirectInsertPlan unsettled_plan = {
    NULL, InvalidOid, "the table changed while its plan was being built", {}, NULL, NULL, 0,
    NULL, NULL};

/*
 * The plan for rel (locked), built afresh if the table changed.  A build
 * that an invalidation of the table interrupted is built again, until one
 * saw none; after MOST_PLAN_BUILDS the call goes through the executor and
 * the next call looks again.
 */
static const DirectInsertPlan *
plan_for(Relation rel)
{
    if (!invalidation_registered) {
        CacheRegisterRelcacheCallback(forget_plan, (Datum) 0);
        invalidation_registered = true;
    }
    if (kept_plan != NULL && kept_plan_valid && !kept_plan_evaluating &&
        kept_plan->relid == RelationGetRelid(rel))
        return kept_plan;

    plan_building_relid = RelationGetRelid(rel);
    for (int build = 1; build <= MOST_PLAN_BUILDS; build++) {
        /* Not in use: no user code runs while a row goes in, so no call nests. */
        if (kept_plan != NULL)
            MemoryContextDelete(kept_plan->context);
        kept_plan = NULL;
        kept_plan_valid = false;
        kept_plan_evaluating = false;

        const uint64 seen = plan_invalidations;
        kept_plan = build_plan(rel);
        if (plan_invalidations == seen) {
            kept_plan_valid = true;
            plan_building_relid = InvalidOid;
            return kept_plan;
        }
    }
    plan_building_relid = InvalidOid;
    ereport(DEBUG1,
            (errmsg_internal("url_shortener: \"%s\" changed during each of %d plans; "
                             "links go through the executor until it holds still",
                             RelationGetRelationName(rel), MOST_PLAN_BUILDS)));
    return &unsettled_plan;
}

/*
 * Whether the row in slot passes the table's NOT NULL and CHECK
 * constraints.  (Not inlined, here and in store_row: bench/profile reads
 * their costs by name.)
 */
static pg_noinline bool
row_meets_constraints(const DirectInsertPlan *plan, TupleDesc desc, TupleTableSlot *slot)
{
    const TupleConstr *constr = desc->constr;

    if (constr == NULL)
        return true;
    if (constr->num_check != plan->ncheck)
        return false;
    if (constr->has_not_null)
        for (int i = 0; i < desc->natts; i++)
            if (TupleDescAttr(desc, i)->attnotnull && slot->tts_isnull[i])
                return false;
    /* Evaluation guarded as in fill_row. */
    bool acceptable = true;
    kept_plan_evaluating = true;
    plan->econtext->ecxt_scantuple = slot;
    for (int i = 0; i < plan->ncheck && acceptable; i++)
        acceptable = ExecCheck(plan->checks[i], plan->econtext);
    kept_plan_evaluating = false;
    return acceptable;
}

/*
 * Fills slot with a row: the defaults, then the first nvalues of the named
 * columns (a link's five, or the batch's short_code and original_url).
 * Run in the plan's per-tuple memory.
 */
static void
fill_row(Relation rel, const DirectInsertPlan *plan, TupleTableSlot *slot, const Datum *values,
         const bool *isnull, int nvalues)
{
    const TupleDesc desc = RelationGetDescr(rel);

    ExecClearTuple(slot);
    /*
     * Kept expression states are reused only if their last evaluation
     * returned: one an error interrupted may hold half-built state (the
     * hash table of an IN list, say), so the plan is then built afresh.
     */
    kept_plan_evaluating = true;
    for (int i = 0; i < desc->natts; i++) {
        slot->tts_values[i] = (Datum) 0;
        slot->tts_isnull[i] = true;
        /* As the rewriter: a column the INSERT names gets no default. */
        const bool named = plan->supplied_rank[i] >= 0 && plan->supplied_rank[i] < nvalues;

        if (plan->defaults[i] != NULL && !named)
            slot->tts_values[i] =
                ExecEvalExpr(plan->defaults[i], plan->econtext, &slot->tts_isnull[i]);
    }
    for (int k = 0; k < nvalues; k++) {
        const int i = plan->supplied[k] - 1;
        slot->tts_isnull[i] = isnull[k];
        slot->tts_values[i] = isnull[k] ? (Datum) 0 : values[k];
    }
    ExecStoreVirtualTuple(slot);
    /* As ExecInsert: a CHECK may read tableoid. */
    slot->tts_tableOid = RelationGetRelid(rel);
    kept_plan_evaluating = false;
}

/* Where rows go: rel's indexes, opened once for one statement's worth. */
typedef struct RowSink {
    EState *estate;
    ResultRelInfo *result_rel;
} RowSink;

static void
open_sink(Relation rel, RowSink *sink)
{
    sink->estate = CreateExecutorState();
    sink->result_rel = makeNode(ResultRelInfo);
    InitResultRelInfo(sink->result_rel, rel, 1, NULL, 0);
    ExecOpenIndices(sink->result_rel, false);
}

static void
close_sink(RowSink *sink)
{
    ExecCloseIndices(sink->result_rel);
    FreeExecutorState(sink->estate);
}

/* The row in slot into the heap and every index, as ExecInsert does. */
static void
put_row(Relation rel, RowSink *sink, TupleTableSlot *slot)
{
    table_tuple_insert(rel, slot, GetCurrentCommandId(true), 0, NULL);
    /* A deferrable unique constraint has a trigger: not on this path. */
    if (ExecInsertIndexTuples(sink->result_rel, slot, sink->estate, false, false, NULL, NIL) != NIL)
        elog(ERROR, "url_shortener: a unique check was deferred on a table without triggers");
    ResetPerTupleExprContext(sink->estate);
}

/* The row of values, with the defaults, into rel's heap and indexes. */
static pg_noinline bool
store_row(Relation rel, const DirectInsertPlan *plan, Datum *values, const char *nulls)
{
    ExprContext *econtext = plan->econtext;
    bool isnull[DIRECT_INSERT_COLUMNS];

    for (int k = 0; k < DIRECT_INSERT_COLUMNS; k++)
        isnull[k] = nulls[k] == 'n';
    ResetExprContext(econtext);
    MemoryContext caller_context = MemoryContextSwitchTo(econtext->ecxt_per_tuple_memory);

    TupleTableSlot *slot = MakeSingleTupleTableSlot(RelationGetDescr(rel), &TTSOpsVirtual);
    fill_row(rel, plan, slot, values, isnull, DIRECT_INSERT_COLUMNS);
    const bool acceptable = row_meets_constraints(plan, RelationGetDescr(rel), slot);
    if (acceptable) {
        RowSink sink;

        /* The executor state in the caller's (the call's) memory, not the
         * kept plan's: a unique violation skips close_sink, and the error's
         * cleanup then frees it with the call. */
        MemoryContextSwitchTo(caller_context);
        open_sink(rel, &sink);
        MemoryContextSwitchTo(econtext->ecxt_per_tuple_memory);
        put_row(rel, &sink, slot);
        close_sink(&sink);
    }
    ExecDropSingleTupleTableSlot(slot);

    MemoryContextSwitchTo(caller_context);
    ResetExprContext(econtext);
    return acceptable;
}

/* Row r of the batch into slot, in the plan's per-tuple memory (current). */
static void
fill_batch_row(Relation rel, const DirectInsertPlan *plan, TupleTableSlot *slot,
               const Datum *codes, const Datum *urls, int r)
{
    const bool isnull[2] = {false, false};
    const Datum values[2] = {codes[r], urls[r]};

    CHECK_FOR_INTERRUPTS();
    ResetExprContext(plan->econtext);
    fill_row(rel, plan, slot, values, isnull, 2);
}

/*
 * The batch's rows, (codes[i], urls[i]) with the defaults: all of them, or
 * none if one fails a constraint (every row is checked before the first
 * goes in; the defaults are not volatile, so evaluating them twice gives
 * the same row).  The indexes are opened once.
 */
static pg_noinline bool
store_rows(Relation rel, const DirectInsertPlan *plan, const Datum *codes, const Datum *urls, int n)
{
    const TupleDesc desc = RelationGetDescr(rel);
    bool acceptable = true;
    RowSink sink;

    TupleTableSlot *slot = MakeSingleTupleTableSlot(desc, &TTSOpsVirtual);
    open_sink(rel, &sink);
    MemoryContext caller_context = MemoryContextSwitchTo(plan->econtext->ecxt_per_tuple_memory);
    for (int r = 0; r < n && acceptable; r++) {
        fill_batch_row(rel, plan, slot, codes, urls, r);
        acceptable = row_meets_constraints(plan, desc, slot);
    }
    for (int r = 0; r < n && acceptable; r++) {
        fill_batch_row(rel, plan, slot, codes, urls, r);
        put_row(rel, &sink, slot);
    }
    MemoryContextSwitchTo(caller_context);
    close_sink(&sink);
    ExecDropSingleTupleTableSlot(slot);
    ResetExprContext(plan->econtext);
    return acceptable;
}

/* Whether this transaction and user may write rows without the executor. */
static bool
may_insert_directly(Oid relid)
{
    return direct_insert_setting && !XactReadOnly && !IsInParallelMode() &&
           ExecutorCheckPerms_hook == NULL &&
           pg_class_aclcheck(relid, GetUserId(), ACL_INSERT) == ACLCHECK_OK;
}

static void
report_fallback(void)
{
    ereport(DEBUG1,
            (errmsg_internal("url_shortener: a new row fails a NOT NULL or CHECK constraint; "
                             "it goes through the executor, which reports it")));
}

bool
insert_link_directly(Oid relid, Datum *values, const char *nulls)
{
    if (!may_insert_directly(relid))
        return false;

    Relation rel = table_open(relid, RowExclusiveLock);
    const DirectInsertPlan *plan = plan_for(rel);
    const bool stored = plan->refusal == NULL && store_row(rel, plan, values, nulls);
    table_close(rel, NoLock);

    if (stored)
        CommandCounterIncrement();
    else if (plan->refusal == NULL)
        report_fallback();
    return stored;
}

bool
insert_links_directly(Oid relid, Datum codes, Datum urls)
{
    if (!may_insert_directly(relid))
        return false;

    Datum *code_values;
    Datum *url_values;
    bool *code_nulls;
    bool *url_nulls;
    int ncodes;
    int nurls;
    deconstruct_array(DatumGetArrayTypeP(codes), TEXTOID, -1, false, TYPALIGN_INT,
                      &code_values, &code_nulls, &ncodes);
    deconstruct_array(DatumGetArrayTypeP(urls), TEXTOID, -1, false, TYPALIGN_INT,
                      &url_values, &url_nulls, &nurls);
    bool usable = ncodes == nurls;
    for (int i = 0; i < ncodes && usable; i++)
        usable = !code_nulls[i] && !url_nulls[i];

    bool stored = false;
    if (usable) {
        Relation rel = table_open(relid, RowExclusiveLock);
        const DirectInsertPlan *plan = plan_for(rel);
        stored = plan->refusal == NULL && store_rows(rel, plan, code_values, url_values, ncodes);
        table_close(rel, NoLock);
        if (stored)
            CommandCounterIncrement();
        else if (plan->refusal == NULL)
            report_fallback();
    }
    pfree(code_values);
    pfree(code_nulls);
    pfree(url_values);
    pfree(url_nulls);
    return stored;
}
