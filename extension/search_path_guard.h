/*
 * search_path_guard.h
 *    The name-lookup half of the SECURITY DEFINER boundary.  While a
 *    url_shortener function runs, its search_path is "pg_catalog, pg_temp":
 *    every name the backend resolves without a schema (in the SPI
 *    statements the module prepares, when a cached plan is re-analysed
 *    after an invalidation, in a trigger or CHECK function on urls that has
 *    no search_path of its own) is looked up in pg_catalog, then, for
 *    tables and types only, in the caller's temporary schema, never in a
 *    schema of the caller's search_path.  The module's statements name
 *    every object with its schema, so the temporary schema never matters
 *    to them.
 *
 *    It is what a function's "SET search_path = pg_catalog, pg_temp"
 *    clause does (a GUC nest level, the setting saved and restored), done
 *    by the module around each call, without the clause's detour through
 *    fmgr_security_definer.  A GUC setting rather than an override search
 *    path (namespace.c): a function that sets its own search_path (a
 *    trigger's "SET search_path = audit") gets it, where an override
 *    search path would hide it.  A normal return restores the caller's
 *    value; on ERROR the abort of the (sub)transaction that catches the
 *    error does (AtEOXact_GUC, AtEOSubXact_GUC), so an error needs no
 *    cleanup here.
 */
#ifndef URL_SHORTENER_SEARCH_PATH_GUARD_H
#define URL_SHORTENER_SEARCH_PATH_GUARD_H

#include "postgres_headers.h"

/* Sets the call's search_path; returns the GUC nest level to pass back. */
int push_safe_search_path(void);

/* Restores the search_path of before the matching push. */
void pop_safe_search_path(int nest_level);

#endif
