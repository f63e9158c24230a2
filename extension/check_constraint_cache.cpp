/*
 * check_constraint_cache.cpp
 *    The CHECK constraints of the tables the module's own statements write,
 *    read from their stored text once per backend instead of once per
 *    statement.
 *
 *    PostgreSQL builds a result relation's CHECK expressions when a
 *    statement checks its first row (ExecRelCheck in execMain.c): it reads
 *    each stored constraint text (pg_constraint.conbin) back into a tree
 *    with stringToNode, then plans and compiles the tree in the statement's
 *    memory.  shorten_url and resolve_url write one row per statement, so
 *    they pay the reading for every row; bench/profile measured it as a
 *    third of a call's instructions in the backend.
 *
 *    An ExecutorStart hook fills in ri_ConstraintExprs for the INSERT and
 *    UPDATE statements the module runs with SPI_execute_plan from its kept
 *    plans (link_store_owns_statement; the batch statements it runs through
 *    a cursor are not among them).  Each entry is a DeferredCheck holding a
 *    copy of a tree read once per backend; at its first evaluation, which
 *    is ExecRelCheck's first row, it plans and compiles the copy exactly as
 *    ExecRelCheck would.  So the one difference from PostgreSQL's own path
 *    is where the tree comes from: a statement that checks no row (a click
 *    on an unknown code) still prepares nothing, and what a constraint's
 *    planning may raise is raised at the same row as without the module.
 *
 *    Why the trees are the right ones: every use compares the relation's
 *    current constraint texts, from its relcache entry after the statement's
 *    locks have taken in any invalidation, byte for byte with the texts the
 *    trees were read from, and their number with pg_class.relchecks.  A
 *    mismatch reads them again (with a DEBUG1 message, which the tests
 *    watch); a count PostgreSQL itself would complain about is left to
 *    ExecRelCheck.  Equal texts give equal trees: reading a node string
 *    looks nothing up.  The cache is only read and written inside the hook,
 *    and the trees are copied into the statement's memory there, so no
 *    later change to the cache can reach a running statement.  It holds at
 *    most MAX_CACHED_RELATIONS relations.
 *
 *    On Citus the rows are written by statements on shards, whose text is
 *    not the module's, so the hook does nothing there.  From PostgreSQL 18
 *    on, ExecRelCheck's lazy initialisation changed (NOT ENFORCED
 *    constraints); the hook is only installed for 15 to 17.
 */
#include "check_constraint_cache.h"

#include "link_store.h"
#include "postgres_headers.h"

extern "C" {
#include "executor/executor.h"
#include "nodes/execnodes.h"
#include "nodes/nodes.h"
#include "utils/memutils.h"
}

bool parse_checks_once_setting = true;

#if PG_VERSION_NUM < 180000

/* One relation's constraint trees, as read from texts[]. */
typedef struct CachedChecks {
    Oid relid;              /* InvalidOid: the slot is free */
    int ncheck;
    char **texts;           /* the ccbin strings the trees were read from */
    Node **trees;
    MemoryContext context;  /* owns texts and trees; NULL if none yet */
} CachedChecks;

#define MAX_CACHED_RELATIONS 8

struct DeferredChecks;

/*
 * One entry of ri_ConstraintExprs: what ExecCheck evaluates (state, whose
 * evalfunc is evaluate_deferred_check), the tree to prepare, the prepared
 * expression once there is one, and the relation's other entries, which
 * are prepared together.  All in the statement's memory.
 */
typedef struct DeferredCheck {
    ExprState state;
    Expr *tree;
    ExprState *prepared;
    struct DeferredChecks *all;
} DeferredCheck;

/* The entries of one result relation. */
typedef struct DeferredChecks {
    EState *estate;
    int count;
    DeferredCheck **checks;
} DeferredChecks;

static CachedChecks cached_checks[MAX_CACHED_RELATIONS];
static int next_slot_to_reuse = 0;
static ExecutorStart_hook_type previous_executor_start = NULL;

/* Whether entry was read from exactly the texts the relation has now. */
static bool
texts_match(const CachedChecks *entry, const ConstrCheck *check, int ncheck)
{
    if (entry->ncheck != ncheck)
        return false;
    for (int i = 0; i < ncheck; i++)
        if (strcmp(entry->texts[i], check[i].ccbin) != 0)
            return false;
    return true;
}

/*
 * Reads the relation's constraint texts into slot.  The slot is marked free
 * first and claimed last, so an error half-way leaves no entry that claims
 * to be complete; the context is recorded before anything is allocated in
 * it, so the next rebuild frees it.
 */
static CachedChecks *
read_checks_into(CachedChecks *slot, Relation rel)
{
    const ConstrCheck *check = rel->rd_att->constr->check;
    const int ncheck = rel->rd_att->constr->num_check;
    MemoryContext old_context;

    slot->relid = InvalidOid;
    if (slot->context != NULL)
        MemoryContextDelete(slot->context);
    slot->context = NULL;
    slot->context = AllocSetContextCreate(CacheMemoryContext,
                                          "url_shortener CHECK constraints",
                                          ALLOCSET_SMALL_SIZES);
    old_context = MemoryContextSwitchTo(slot->context);
    slot->texts = (char **) palloc(ncheck * sizeof(char *));
    slot->trees = (Node **) palloc(ncheck * sizeof(Node *));
    for (int i = 0; i < ncheck; i++) {
        slot->texts[i] = pstrdup(check[i].ccbin);
        slot->trees[i] = (Node *) stringToNode(check[i].ccbin);
    }
    MemoryContextSwitchTo(old_context);
    slot->ncheck = ncheck;
    slot->relid = RelationGetRelid(rel);
    ereport(DEBUG1,
            (errmsg_internal("url_shortener read %d CHECK constraints of relation \"%s\"",
                             ncheck, RelationGetRelationName(rel))));
    return slot;
}

/* The cached trees of rel's current constraints, read now if need be. */
static const CachedChecks *
checks_of(Relation rel)
{
    const ConstrCheck *check = rel->rd_att->constr->check;
    const int ncheck = rel->rd_att->constr->num_check;
    const Oid relid = RelationGetRelid(rel);
    CachedChecks *free_slot = NULL;

    for (int i = 0; i < MAX_CACHED_RELATIONS; i++) {
        CachedChecks *entry = &cached_checks[i];

        if (entry->relid == relid) {
            if (texts_match(entry, check, ncheck))
                return entry;
            return read_checks_into(entry, rel);
        }
        if (entry->relid == InvalidOid && free_slot == NULL)
            free_slot = entry;
    }
    if (free_slot == NULL) {
        free_slot = &cached_checks[next_slot_to_reuse];
        next_slot_to_reuse = (next_slot_to_reuse + 1) % MAX_CACHED_RELATIONS;
    }
    return read_checks_into(free_slot, rel);
}

/*
 * ExecRelCheck's first row: plans and compiles every tree of the relation,
 * in order, in the statement's memory (ExecPrepareExpr switches to
 * es_query_cxt), before evaluating any; then, and for every later row,
 * evaluates this one.
 */
static Datum
evaluate_deferred_check(ExprState *state, ExprContext *econtext, bool *isnull) noexcept
{
    DeferredCheck *check = (DeferredCheck *) state;

    if (check->prepared == NULL) {
        DeferredChecks *all = check->all;

        for (int i = 0; i < all->count; i++)
            all->checks[i]->prepared = ExecPrepareExpr(all->checks[i]->tree, all->estate);
    }
    return ExecEvalExpr(check->prepared, econtext, isnull);
}

/*
 * Fills in result_rel's ri_ConstraintExprs with deferred copies of the
 * cached trees.  Leaves the result relation alone when ExecRelCheck would
 * build nothing or would raise an error.  The trees are all copied before
 * the entry is set, so an error half-way leaves PostgreSQL's own path.
 * Not inlined, so that bench/profile can attribute its cost.
 */
static pg_noinline void
defer_constraint_exprs(ResultRelInfo *result_rel, EState *estate)
{
    const Relation rel = result_rel->ri_RelationDesc;
    const TupleConstr *constr = rel->rd_att->constr;
    const CachedChecks *entry;
    MemoryContext old_context;
    ExprState **exprs;
    DeferredChecks *all;

    if (result_rel->ri_ConstraintExprs != NULL || constr == NULL ||
        constr->num_check == 0 || constr->num_check != rel->rd_rel->relchecks)
        return;
    entry = checks_of(rel);

    old_context = MemoryContextSwitchTo(estate->es_query_cxt);
    exprs = (ExprState **) palloc(entry->ncheck * sizeof(ExprState *));
    all = (DeferredChecks *) palloc(sizeof(DeferredChecks));
    all->estate = estate;
    all->count = entry->ncheck;
    all->checks = (DeferredCheck **) palloc(entry->ncheck * sizeof(DeferredCheck *));
    for (int i = 0; i < entry->ncheck; i++) {
        DeferredCheck *check = (DeferredCheck *) palloc0(sizeof(DeferredCheck));

        check->state.type = T_ExprState;
        check->state.evalfunc = evaluate_deferred_check;
        check->tree = (Expr *) copyObjectImpl(entry->trees[i]);
        check->state.expr = check->tree;
        check->all = all;
        all->checks[i] = check;
        exprs[i] = &check->state;
    }
    MemoryContextSwitchTo(old_context);
    result_rel->ri_ConstraintExprs = exprs;
}

static void
executor_start(QueryDesc *query_desc, int eflags) noexcept
{
    ListCell *cell;

    if (previous_executor_start != NULL)
        previous_executor_start(query_desc, eflags);
    else
        standard_ExecutorStart(query_desc, eflags);

    if (!parse_checks_once_setting || (eflags & EXEC_FLAG_EXPLAIN_ONLY) != 0 ||
        (query_desc->operation != CMD_INSERT && query_desc->operation != CMD_UPDATE) ||
        query_desc->estate == NULL ||   /* another hook that set none up */
        query_desc->estate->es_opened_result_relations == NIL ||
        !link_store_owns_statement(query_desc->sourceText))
        return;
    foreach (cell, query_desc->estate->es_opened_result_relations)
        defer_constraint_exprs((ResultRelInfo *) lfirst(cell), query_desc->estate);
}

void
install_check_constraint_cache(void)
{
    previous_executor_start = ExecutorStart_hook;
    ExecutorStart_hook = executor_start;
}

#else

void
install_check_constraint_cache(void)
{
}

#endif
