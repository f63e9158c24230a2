/*
 * module.cpp
 *    The loadable module: its magic block and its initialization.
 */
#include "check_constraint_cache.h"
#include "postgres_headers.h"
#include "settings.h"

extern "C" {
PG_MODULE_MAGIC;

void _PG_init(void);
}

/* An extern "C" entry like the SQL functions: no C++ exception leaves it. */
void
_PG_init(void)
{
    bool failed = false;

    try {
        define_settings();
        install_check_constraint_cache();
    } catch (...) {
        failed = true;
    }
    if (failed)
        ereport(ERROR,
                (errcode(ERRCODE_INTERNAL_ERROR),
                 errmsg("url_shortener failed to load with a C++ exception")));
}
