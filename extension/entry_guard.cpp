/*
 * entry_guard.cpp
 *    The catch-all between PostgreSQL and C++ (see entry_guard.h).
 */
#include "entry_guard.h"
#include "search_path_guard.h"

#include <exception>

/* Calls of the module's SQL functions on this backend's stack. */
static int calls_running = 0;

int
module_calls_running(void)
{
    return calls_running;
}

/*
 * Runs body(fcinfo) under the module's search path (search_path_guard.h):
 * an override of pg_catalog alone, which the body turns into the GUC
 * setting "pg_catalog, pg_temp" where the extension's tables run user code
 * (open_link_store).  A C++
 * exception is caught, its text copied to a buffer on this frame, and
 * reported only once the catch handler has ended: a longjmp out of a live
 * handler would leak the exception object and leave the C++ runtime's
 * record of caught exceptions inconsistent.
 *
 * A PostgreSQL error raised inside body longjmps through this frame,
 * which holds nothing with a destructor: PG_CATCH only counts the call as
 * ended and throws the error on; the abort that follows restores the
 * search path, as it does after the ereport below.  The guard lives on
 * this frame and is trivial: the longjmp skips nothing.
 */
Datum
call_guarded(PGFunction body, FunctionCallInfo fcinfo)
{
    char message[256];
    /* Set inside PG_TRY and read after it (only when no error longjmp'd:
     * PG_CATCH throws on), volatile all the same, as the rule is. */
    volatile bool failed = false;
    volatile Datum result = (Datum) 0;

    SearchPathGuard guard;

    push_search_path_guard(&guard);
    calls_running++;
    PG_TRY();
    {
        try {
            result = body(fcinfo);
        } catch (const std::exception &e) {
            strlcpy(message, e.what(), sizeof(message));
            failed = true;
        } catch (...) {
            strlcpy(message, "an exception of unknown type", sizeof(message));
            failed = true;
        }
    }
    PG_CATCH();
    {
        calls_running--;
        forget_search_path_guard(&guard);
        PG_RE_THROW();
    }
    PG_END_TRY();
    calls_running--;

    if (failed) {
        forget_search_path_guard(&guard);
        ereport(ERROR,
                (errcode(ERRCODE_INTERNAL_ERROR),
                 errmsg("url_shortener failed with a C++ exception: %s", message)));
    }

    pop_search_path_guard(&guard);
    return result;
}
