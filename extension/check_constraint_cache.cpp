/*
 * check_constraint_cache.cpp
 *    The CHECK constraints of the tables the module's own statements write,
 *    parsed once per backend instead of once per statement.
 *
 *    PostgreSQL builds a result relation's CHECK expressions the first time
 *    a statement checks a row (ExecRelCheck in execMain.c): it reads each
 *    stored constraint text (pg_constraint.conbin) back into a tree with
 *    stringToNode, then plans and compiles the tree in the statement's
 *    memory.  Every statement of shorten_url and resolve_url writes one row,
 *    so it pays the reading for that one row; bench/profile measured it as
 *    a third of the backend's instructions per call.
 *
 *    An ExecutorStart hook does what ExecRelCheck would do, for the
 *    module's own kept statements only (link_store_owns_statement): it fills
 *    in ri_ConstraintExprs from a copy of trees read once.  Planning and
 *    compiling still happen per statement, exactly as in ExecRelCheck; only
 *    the reading of the text is saved.
 *
 *    Why it stays right: every use compares the relation's current
 *    constraint texts, from its relcache entry after the statement's locks
 *    have taken in any invalidation, byte for byte with the texts the trees
 *    were read from, and their number with pg_class.relchecks.  A mismatch
 *    reads them again; a count PostgreSQL itself would complain about is
 *    left to ExecRelCheck.  The cache is only written and read inside the
 *    hook, never by an invalidation callback, so nothing can change it while
 *    it is being read.  It holds at most MAX_CACHED_RELATIONS relations.
 *
 *    From PostgreSQL 18 on, ExecRelCheck's lazy initialisation changed
 *    (NOT ENFORCED constraints); the hook is only installed for 15 to 17.
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
 * What ExecRelCheck does on its first row, with copyObject of a cached tree
 * where it has stringToNode of the text.  Leaves the result relation alone
 * when ExecRelCheck would not build anything or would raise an error.
 * Not inlined, so that bench/profile can attribute its cost.
 */
static pg_noinline void
prepare_constraint_exprs(ResultRelInfo *result_rel, EState *estate)
{
    const Relation rel = result_rel->ri_RelationDesc;
    const TupleConstr *constr = rel->rd_att->constr;
    const CachedChecks *entry;
    MemoryContext old_context;
    ExprState **exprs;

    if (result_rel->ri_ConstraintExprs != NULL || constr == NULL ||
        constr->num_check == 0 || constr->num_check != rel->rd_rel->relchecks)
        return;
    entry = checks_of(rel);

    old_context = MemoryContextSwitchTo(estate->es_query_cxt);
    exprs = (ExprState **) palloc(entry->ncheck * sizeof(ExprState *));
    for (int i = 0; i < entry->ncheck; i++)
        exprs[i] = ExecPrepareExpr((Expr *) copyObjectImpl(entry->trees[i]), estate);
    MemoryContextSwitchTo(old_context);
    result_rel->ri_ConstraintExprs = exprs;
}

static void
executor_start(QueryDesc *query_desc, int eflags)
{
    ListCell *cell;

    if (previous_executor_start != NULL)
        previous_executor_start(query_desc, eflags);
    else
        standard_ExecutorStart(query_desc, eflags);

    if (!parse_checks_once_setting || (eflags & EXEC_FLAG_EXPLAIN_ONLY) != 0 ||
        !link_store_owns_statement(query_desc->sourceText))
        return;
    foreach (cell, query_desc->estate->es_opened_result_relations)
        prepare_constraint_exprs((ResultRelInfo *) lfirst(cell), query_desc->estate);
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
