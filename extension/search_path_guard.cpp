/*
 * search_path_guard.cpp
 *    search_path "pg_catalog, pg_temp" for the duration of a call (see
 *    search_path_guard.h).
 */
#include "search_path_guard.h"

extern "C" {
#include "utils/guc.h"
}

/*
 * pg_temp named last: left out, it would be searched first for tables and
 * types.
 */
static const char SAFE_SEARCH_PATH[] = "pg_catalog, pg_temp";

int
push_safe_search_path(void)
{
    const int nest_level = NewGUCNestLevel();

    (void) set_config_option("search_path", SAFE_SEARCH_PATH, PGC_USERSET, PGC_S_SESSION,
                             GUC_ACTION_SAVE, true, 0, false);
    return nest_level;
}

/*
 * Restores the caller's search_path after a normal return.  Must run at
 * the transaction nest level of the push: every function body ends every
 * subtransaction it begins.
 */
void
pop_safe_search_path(int nest_level)
{
    AtEOXact_GUC(true, nest_level);
}
