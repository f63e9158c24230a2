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
 *    On Citus they are local to the node that takes them, so the calls
 *    that take them run on the coordinator only (citus_node.h refuses
 *    them on a worker).
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

/*
 * The codes an idempotency key or a reusable URL may take come in a fixed
 * sequence, and release_code can free one of them (1.6).  A call about to
 * make a link past a code held by another link, and a call whose link
 * landed on a freed code and looks further along the sequence, hold the
 * sequence's lock: the look then waits for a link being made further on,
 * which its snapshot could not see, instead of keeping a second one.  A
 * repeat that finds its link takes none.  Object locks on pg_extension
 * under sub-ids no SQL command uses.
 *
 * A sequence's lock is one of SEQUENCE_LOCK_STRIPES stripes per kind,
 * chosen by a hash of its identity, taken in ExclusiveLock after the
 * kind's own lock in ShareLock.  A keyed shorten_urls, which may make
 * thousands of such links in one transaction, takes instead the kind's
 * lock in ExclusiveLock, once, at its start (before the batch lock and
 * its first row): every sequence of the kind at once, in one lock, rather
 * than a lock per link (the shared lock table is small) or most stripes
 * one by one (in an order another transaction holding one could cross: a
 * deadlock between keys with nothing in common); taken first, so that a
 * transaction holding a stripe never waits for a row of the batch, or for
 * the batch lock, while the batch waits for it.  Two sequences in one
 * stripe wait for each other while both make a link.
 */
#define SEQUENCE_LOCK_STRIPES 256

typedef enum SequenceLock {
    KEY_SEQUENCE_LOCK = 3,      /* identity: the key's digest */
    REUSE_SEQUENCE_LOCK = 4     /* identity: the URL */
} SequenceLock;

/* Takes the lock of one sequence until the end of the transaction, waiting as above. */
void wait_for_sequence_lock(SequenceLock which, const void *identity, size_t length);

/*
 * Takes the lock of one sequence until the end of the transaction if it is
 * free now, and returns true; returns false at once, holding nothing more,
 * if it is not.
 */
bool try_sequence_lock(SequenceLock which, const void *identity, size_t length);

/* Takes the lock of every sequence of a kind until the end of the transaction. */
void wait_for_every_sequence_lock(SequenceLock which);

#endif
