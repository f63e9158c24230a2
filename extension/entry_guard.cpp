/*
 * entry_guard.cpp
 *    The catch-all between PostgreSQL and C++ (see entry_guard.h).
 */
#include "entry_guard.h"

#include <exception>

/*
 * Runs body(fcinfo).  A C++ exception is caught, its text copied to a
 * buffer on this frame, and reported only once the catch handler has ended:
 * a longjmp out of a live handler would leak the exception object and leave
 * the C++ runtime's record of caught exceptions inconsistent.
 *
 * A PostgreSQL error raised inside body longjmps straight through this
 * frame, which holds nothing with a destructor.
 */
Datum
call_guarded(PGFunction body, FunctionCallInfo fcinfo)
{
    char message[256];

    try {
        return body(fcinfo);
    } catch (const std::exception &e) {
        strlcpy(message, e.what(), sizeof(message));
    } catch (...) {
        strlcpy(message, "an exception of unknown type", sizeof(message));
    }

    ereport(ERROR,
            (errcode(ERRCODE_INTERNAL_ERROR),
             errmsg("url_shortener failed with a C++ exception: %s", message)));
    pg_unreachable();
}
