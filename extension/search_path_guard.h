/*
 * search_path_guard.h
 *    The name-lookup half of the SECURITY DEFINER boundary.  While a
 *    url_shortener function runs, no name the backend resolves without a
 *    schema (in the SPI statements the module prepares, when a cached plan
 *    is re-analysed after an invalidation, in code a statement runs on the
 *    extension's tables) is looked up in a schema of the caller's
 *    search_path.  The module's own statements name every object with its
 *    schema.  Two ways, chosen per call:
 *
 *    - An override search path of pg_catalog alone (namespace.c), pushed
 *      by call_guarded and popped on return: a few hundred instructions.
 *      It also stops a function that runs inside the call from setting a
 *      search_path of its own (namespace.c does not recompute the path
 *      while an override is in force), so it is used only while the
 *      extension's tables run no code but PostgreSQL's own.
 *    - search_path "pg_catalog, pg_temp" as a GUC setting in a nest level
 *      of the module's own, as a function's SET clause does: a trigger,
 *      CHECK or default function on the tables sees that path, or the one
 *      its own SET clause gives it.  On PostgreSQL 15 it costs about
 *      10,000 instructions a call (AtEOXact_GUC walks every setting, also
 *      at each subtransaction's end while one is changed), so the module
 *      switches to it only when relation_runs_user_code() says one of its
 *      tables needs it.
 *
 *    A normal return restores the caller's path; on ERROR the abort of the
 *    (sub)transaction that catches the error does (AtEOXact_Namespace,
 *    AtEOXact_GUC and their subtransaction forms), so an error needs no
 *    cleanup here but forgetting the guard.
 */
#ifndef URL_SHORTENER_SEARCH_PATH_GUARD_H
#define URL_SHORTENER_SEARCH_PATH_GUARD_H

#include "postgres_headers.h"

/* One call's guard, on call_guarded's frame (trivial: a longjmp may skip it). */
typedef struct SearchPathGuard {
    bool as_setting;                 /* a GUC setting, else the override */
    int nest_level;                  /* the GUC nest level, when as_setting */
    struct SearchPathGuard *outer;   /* the guard of the call this one runs in */
} SearchPathGuard;

/* Pushes the override and makes guard the innermost call's. */
void push_search_path_guard(SearchPathGuard *guard);

/* Restores the caller's path after a normal return. */
void pop_search_path_guard(SearchPathGuard *guard);

/* After an error: guard is no longer the innermost (the abort restores the path). */
void forget_search_path_guard(SearchPathGuard *guard);

/*
 * Makes the innermost call's guard a GUC setting, if it is not one yet:
 * code on the extension's tables is about to run.  Must be called at the
 * transaction nest level of the push, with no call nested inside running.
 */
void guard_search_path_for_user_code(void);

/*
 * Whether statements on relid may run code that is not PostgreSQL's own:
 * a trigger, a rule or row security on it, or a CHECK constraint, a
 * default, an index expression or predicate that calls a function or
 * operator defined after initdb, or a column of such a type.
 */
bool relation_runs_user_code(Oid relid);

#endif
