/*
 * entry_guard.h
 *    Every SQL-callable function of url_shortener enters through
 *    call_guarded(), which makes sure no C++ exception ever unwinds into
 *    PostgreSQL (anything thrown becomes an ereport(ERROR) raised after the
 *    C++ handler has finished), and runs the body under the module's
 *    search path (search_path_guard.h).
 *
 *    The bodies themselves are C-style code with trivial locals, so an
 *    ereport(ERROR) longjmp out of them skips no destructor.
 */
#ifndef URL_SHORTENER_ENTRY_GUARD_H
#define URL_SHORTENER_ENTRY_GUARD_H

#include "postgres_headers.h"

Datum call_guarded(PGFunction body, FunctionCallInfo fcinfo);

/*
 * How many calls of the module's SQL functions are on this backend's
 * stack, the current one included: more than one when a statement of the
 * module fired user code (a trigger, a CHECK function) that called the
 * module again.  Kept exact through errors.
 */
int module_calls_running(void);

/* Declares the SQL-callable symbol `name`, running `body` under the guard. */
#define URL_SHORTENER_SQL_FUNCTION(name, body) \
    extern "C" { \
    PG_FUNCTION_INFO_V1(name); \
    } \
    extern "C" Datum name(PG_FUNCTION_ARGS) \
    { \
        return call_guarded(body, fcinfo); \
    }

#endif
