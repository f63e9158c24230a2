/*
 * extension_locks.h
 *    Transaction-scoped locks that only url_shortener's own C code can take.
 *
 *    pg_advisory_lock is open to every role, so a lock built on it can be
 *    held by anyone who wants to stall the work it guards.  These locks are
 *    heavyweight locks on the extension's pg_extension row under object
 *    sub-ids that no SQL command uses (DDL on the extension locks sub-id
 *    0), so no role can take them through SQL, whatever it is granted.
 *    They show in pg_locks as locktype "object", classid pg_extension.
 *
 *    On Citus they are local to the node that runs the call (the
 *    coordinator).
 */
#ifndef URL_SHORTENER_EXTENSION_LOCKS_H
#define URL_SHORTENER_EXTENSION_LOCKS_H

#include "postgres_headers.h"

typedef enum ExtensionLock {
    PURGE_LOCK = 1,             /* one purge_urls at a time */
    BATCH_LOCK = 2              /* one shorten_urls at a time */
} ExtensionLock;

/*
 * Takes the lock until the end of the transaction if nobody holds it and
 * returns true; returns false at once if another transaction holds it.
 */
bool try_extension_lock(ExtensionLock which);

/*
 * Takes the lock until the end of the transaction, waiting like any
 * heavyweight lock: lock_timeout, statement_timeout, cancel and the
 * deadlock detector all apply.
 */
void wait_for_extension_lock(ExtensionLock which);

#endif
