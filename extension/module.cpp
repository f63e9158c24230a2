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

void
_PG_init(void)
{
    define_settings();
    install_check_constraint_cache();
}
