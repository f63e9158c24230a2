/*
 * extension_locks.cpp
 *    Locks only url_shortener's code can take (see extension_locks.h).
 */
#include "extension_locks.h"

extern "C" {
#include "catalog/pg_extension.h"
#include "commands/extension.h"
#include "common/hashfn.h"
#include "storage/lock.h"
#include "tcop/utility.h"
}

/* The lock tag of `which`: an object lock on the extension's own row. */
static void
set_extension_lock_tag(LOCKTAG *tag, ExtensionLock which)
{
    const Oid extension = get_extension_oid("url_shortener", false);

    SET_LOCKTAG_OBJECT(*tag, MyDatabaseId, ExtensionRelationId, extension, (uint16) which);
}

bool
try_extension_lock(ExtensionLock which)
{
    LOCKTAG tag;

    set_extension_lock_tag(&tag, which);
    return LockAcquire(&tag, ExclusiveLock, false, true) != LOCKACQUIRE_NOT_AVAIL;
}

void
wait_for_extension_lock(ExtensionLock which)
{
    LOCKTAG tag;

    set_extension_lock_tag(&tag, which);
    (void) LockAcquire(&tag, ExclusiveLock, false, false);
}

/* The lock tag of one stripe of a kind, or of the whole kind (stripe SEQUENCE_LOCK_STRIPES). */
static void
set_sequence_lock_tag(LOCKTAG *tag, SequenceLock which, uint32 stripe)
{
    SET_LOCKTAG_OBJECT(*tag, MyDatabaseId, ExtensionRelationId, stripe, (uint16) which);
}

void
wait_for_sequence_lock(SequenceLock which, const void *identity, size_t length)
{
    LOCKTAG tag;

    /* Taken only before a write: in a read-only transaction (a hot standby
     * too) the write's own 25006, not the lock manager's 55000 for an
     * exclusive lock during recovery. */
    PreventCommandIfReadOnly("INSERT");
    set_sequence_lock_tag(&tag, which, SEQUENCE_LOCK_STRIPES);
    (void) LockAcquire(&tag, ShareLock, false, false);
    set_sequence_lock_tag(&tag, which,
                          hash_bytes((const unsigned char *) identity, (int) length) % SEQUENCE_LOCK_STRIPES);
    (void) LockAcquire(&tag, ExclusiveLock, false, false);
}

bool
try_sequence_lock(SequenceLock which, const void *identity, size_t length)
{
    LOCKTAG kind;
    LOCKTAG stripe;

    PreventCommandIfReadOnly("INSERT");
    set_sequence_lock_tag(&kind, which, SEQUENCE_LOCK_STRIPES);
    if (LockAcquire(&kind, ShareLock, false, true) == LOCKACQUIRE_NOT_AVAIL)
        return false;
    set_sequence_lock_tag(&stripe, which,
                          hash_bytes((const unsigned char *) identity, (int) length) % SEQUENCE_LOCK_STRIPES);
    if (LockAcquire(&stripe, ExclusiveLock, false, true) == LOCKACQUIRE_NOT_AVAIL) {
        /* One hold of the kind's lock fewer: this call's, not an earlier one. */
        LockRelease(&kind, ShareLock, false);
        return false;
    }
    return true;
}

void
wait_for_every_sequence_lock(SequenceLock which)
{
    LOCKTAG tag;

    PreventCommandIfReadOnly("INSERT");
    set_sequence_lock_tag(&tag, which, SEQUENCE_LOCK_STRIPES);
    (void) LockAcquire(&tag, ExclusiveLock, false, false);
}
