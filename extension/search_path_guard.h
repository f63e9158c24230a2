/*
 * search_path_guard.h
 *    The name-lookup half of the SECURITY DEFINER boundary.  While a
 *    url_shortener function runs, every name the backend resolves without a
 *    schema (in the SPI statements the module prepares, and when a cached
 *    plan is re-analysed after an invalidation) is looked up in pg_catalog
 *    alone: never in a schema of the caller's search_path, never in the
 *    caller's temporary schema.
 *
 *    It is an override search path (namespace.c), pushed and popped by the
 *    module around each call: no GUC nest level, no parsing of a path
 *    string.  A normal return pops it; on ERROR the abort of the
 *    (sub)transaction that catches the error pops it (AtEOXact_Namespace,
 *    AtEOSubXact_Namespace), so an error needs no cleanup here.
 */
#ifndef URL_SHORTENER_SEARCH_PATH_GUARD_H
#define URL_SHORTENER_SEARCH_PATH_GUARD_H

#include "postgres_headers.h"

void push_catalog_search_path(void);
void pop_catalog_search_path(void);

#endif
