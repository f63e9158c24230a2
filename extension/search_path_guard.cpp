/*
 * search_path_guard.cpp
 *    The search path of a call: an override of pg_catalog alone, or, where
 *    the extension's tables run user code, "pg_catalog, pg_temp" as a GUC
 *    setting (see search_path_guard.h).
 */
#include "search_path_guard.h"

extern "C" {
#include "access/genam.h"
#include "access/relation.h"
#include "access/table.h"
#include "catalog/namespace.h"
#include "nodes/nodeFuncs.h"
#include "utils/guc.h"
#include "utils/rel.h"
#include "utils/relcache.h"
}

/* The guard of the innermost module call running on this backend. */
static SearchPathGuard *innermost = NULL;

/* pg_temp named last: left out of a path, it would be searched first for tables and types. */
static const char SAFE_SEARCH_PATH[] = "pg_catalog, pg_temp";

/*
 * The override: pg_catalog only (the temporary schema is left out, so a
 * caller's temporary table named like one of ours is never found), and no
 * creation namespace.  PushOverrideSearchPath copies the path.
 */
void
push_search_path_guard(SearchPathGuard *guard)
{
    OverrideSearchPath path;

    path.schemas = NIL;
    path.addCatalog = true;
    path.addTemp = false;
    path.generation = 0;
    PushOverrideSearchPath(&path);
    guard->as_setting = false;
    guard->nest_level = 0;
    guard->outer = innermost;
    innermost = guard;
}

/*
 * Must run at the transaction nest level of the push (PopOverrideSearchPath
 * checks it): every function body ends every subtransaction it begins.
 */
void
pop_search_path_guard(SearchPathGuard *guard)
{
    innermost = guard->outer;
    if (guard->as_setting)
        AtEOXact_GUC(true, guard->nest_level);
    else
        PopOverrideSearchPath();
}

void
forget_search_path_guard(SearchPathGuard *guard)
{
    innermost = guard->outer;
}

void
guard_search_path_for_user_code(void)
{
    SearchPathGuard *guard = innermost;

    if (guard == NULL || guard->as_setting)
        return;
    PopOverrideSearchPath();
    guard->nest_level = NewGUCNestLevel();
    guard->as_setting = true;
    (void) set_config_option("search_path", SAFE_SEARCH_PATH, PGC_USERSET, PGC_S_SESSION,
                             GUC_ACTION_SAVE, true, 0, false);
}

/* A function defined after initdb: an extension's or a user's. */
static bool
is_user_function(Oid function, void *context)
{
    (void) context;
    return function >= FirstNormalObjectId;
}

static bool
calls_user_function(Node *node, void *context)
{
    if (node == NULL)
        return false;
    if (check_functions_in_node(node, is_user_function, context))
        return true;
    /* A cast to a user's domain runs the domain's CHECK constraints. */
    if (IsA(node, CoerceToDomain) && ((CoerceToDomain *) node)->resulttype >= FirstNormalObjectId)
        return true;
    /* PostgreSQL 15 declares the walker without its parameters. */
    return expression_tree_walker(node, reinterpret_cast<bool (*)()>(reinterpret_cast<void (*)()>(calls_user_function)), context);
}

/* Whether a stored expression (node string) calls a user function. */
static bool
stored_expression_calls_user_function(const char *text)
{
    if (text == NULL)
        return false;
    /* Read in the call's memory, which goes with it: this runs rarely. */
    return calls_user_function((Node *) stringToNode(text), NULL);
}

static bool
index_runs_user_code(Oid index_oid)
{
    Relation index = index_open(index_oid, AccessShareLock);
    bool runs = calls_user_function((Node *) RelationGetIndexExpressions(index), NULL) ||
                calls_user_function((Node *) RelationGetIndexPredicate(index), NULL);
    /* An operator class of a user's (or an extension's): its support
     * functions and operators, and an exclusion constraint's, are its
     * family's. */
    for (int i = 0; i < IndexRelationGetNumberOfKeyAttributes(index) && !runs; i++)
        runs = index->rd_opfamily[i] >= FirstNormalObjectId;
    index_close(index, AccessShareLock);
    return runs;
}

bool
relation_runs_user_code(Oid relid)
{
    Relation rel = table_open(relid, AccessShareLock);
    const Form_pg_class form = RelationGetForm(rel);
    bool runs = form->relhastriggers || form->relhasrules || form->relrowsecurity;
    const TupleDesc desc = RelationGetDescr(rel);

    for (int i = 0; i < desc->natts && !runs; i++) {
        const Form_pg_attribute column = TupleDescAttr(desc, i);
        runs = !column->attisdropped && column->atttypid >= FirstNormalObjectId;
    }
    if (desc->constr != NULL) {
        for (int i = 0; i < desc->constr->num_defval && !runs; i++)
            runs = stored_expression_calls_user_function(desc->constr->defval[i].adbin);
        for (int i = 0; i < desc->constr->num_check && !runs; i++)
            runs = stored_expression_calls_user_function(desc->constr->check[i].ccbin);
    }
    if (!runs) {
        List *indexes = RelationGetIndexList(rel);
        ListCell *cell;
        foreach (cell, indexes) {
            if (index_runs_user_code(lfirst_oid(cell))) {
                runs = true;
                break;
            }
        }
        list_free(indexes);
    }
    table_close(rel, AccessShareLock);
    return runs;
}
