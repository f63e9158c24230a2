/*
 * search_path_guard.cpp
 *    Name lookup in pg_catalog alone for the duration of a call (see
 *    search_path_guard.h).
 */
#include "search_path_guard.h"

/*
 * Makes pg_catalog the whole search path, until the matching pop or the
 * end of the current (sub)transaction.  The temporary schema is left out
 * (addTemp = false), so a caller's temporary table named like one of ours
 * is never found; the creation namespace is none, so nothing the module
 * runs can create an object without naming its schema.
 * PushOverrideSearchPath copies the path, so it may live on this frame.
 */
void
push_catalog_search_path(void)
{
    OverrideSearchPath path;

    path.schemas = NIL;
    path.addCatalog = true;
    path.addTemp = false;
    path.generation = 0;
    PushOverrideSearchPath(&path);
}

/*
 * Restores the caller's search path after a normal return.  Must run at
 * the transaction nest level of the push (PopOverrideSearchPath checks it):
 * every function body ends every subtransaction it begins.
 */
void
pop_catalog_search_path(void)
{
    PopOverrideSearchPath();
}
