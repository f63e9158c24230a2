/*
 * citus_node.cpp
 *    Which node of a Citus cluster a call runs on (see citus_node.h).
 *
 *    The group is read from Citus's catalog pg_dist_local_group (one row,
 *    its groupid; 0 on the coordinator and on a node no coordinator has
 *    added), with a catalog scan, as Citus reads it: no statement, no
 *    plan.  It is read at each call that needs it, not kept: citus_add_node
 *    gives a node its group while sessions on it are open.  Where the
 *    table does not exist (no Citus: CREATE EXTENSION citus makes it) the
 *    check ends at one syscache lookup of its name, as shorten_url_locked
 *    makes it on every call; only a superuser can create a table in
 *    pg_catalog.
 */
#include "citus_node.h"

extern "C" {
#include "access/genam.h"
#include "access/htup_details.h"
#include "catalog/pg_namespace.h"
}

/* Citus's COORDINATOR_GROUP_ID. */
static const int32 COORDINATOR_GROUP = 0;

/*
 * Calls visit with the first column of each row of Citus's catalog table
 * pg_catalog.<name> whose value is not null, until visit returns false: a
 * catalog scan, no statement.  Returns whether the table exists (without
 * Citus it does not, and nothing is visited).
 */
static bool
scan_citus_catalog(const char *name, bool (*visit)(Datum value, void *arg), void *arg)
{
    const Oid relid = get_relname_relid(name, PG_CATALOG_NAMESPACE);

    if (!OidIsValid(relid))
        return false;
    Relation relation = table_open(relid, AccessShareLock);
    SysScanDesc scan = systable_beginscan(relation, InvalidOid, false, NULL, 0, NULL);
    HeapTuple tuple;
    bool more = true;
    while (more && HeapTupleIsValid(tuple = systable_getnext(scan))) {
        bool isnull;
        const Datum value = heap_getattr(tuple, 1, RelationGetDescr(relation), &isnull);

        if (!isnull)
            more = visit(value, arg);
    }
    systable_endscan(scan);
    table_close(relation, AccessShareLock);
    return true;
}

/* pg_dist_local_group's one row: its groupid, kept; stop. */
static bool
keep_group(Datum value, void *arg)
{
    *static_cast<int32 *>(arg) = DatumGetInt32(value);
    return false;
}

/* This node's Citus group: COORDINATOR_GROUP without Citus, or where it has no row. */
static int32
local_group(void)
{
    int32 group = COORDINATOR_GROUP;

    scan_citus_catalog("pg_dist_local_group", keep_group, &group);
    return group;
}

/* The refusal's DETAIL, the same for every call. */
static int
errdetail_worker(int32 group)
{
    return errdetail("This node is a Citus worker (group %d). The call's locks are taken on the node that runs it, and only calls on the coordinator take them in one place for the whole cluster.",
                     group);
}

/*
 * Each refused call's message, whole, so that each can be translated; in
 * the order of CoordinatorOnlyCall.
 */
static const char *const refusal_messages[] = {
    gettext_noop("shorten_url with an idempotency key must run on the Citus coordinator"),
    gettext_noop("shorten_url_locked with an idempotency key must run on the Citus coordinator"),
    gettext_noop("shorten_url with reuse must run on the Citus coordinator"),
    gettext_noop("shorten_url_locked with reuse must run on the Citus coordinator"),
    gettext_noop("shorten_url_locked must run on the Citus coordinator"),
    gettext_noop("shorten_urls must run on the Citus coordinator"),
    gettext_noop("purge_urls must run on the Citus coordinator"),
};
static_assert(lengthof(refusal_messages) == static_cast<int>(CoordinatorOnlyCall::purge_urls) + 1,
              "one message per CoordinatorOnlyCall");

void
refuse_on_citus_worker(CoordinatorOnlyCall call)
{
    /* A read-only transaction (a hot standby too) gets the call's own
     * 25006 first, as everywhere else. */
    if (XactReadOnly)
        return;
    const int32 group = local_group();
    if (group == COORDINATOR_GROUP)
        return;

    const char *const message = refusal_messages[static_cast<int>(call)];
    ereport(ERROR,
            (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
             errmsg("%s", _(message)),
             errdetail_worker(group),
             errhint("Connect to the coordinator for this call.")));
}

/* A pg_dist_partition row's logicalrelid (a regclass): go on unless it is
 * the relation sought, *arg, which is then set to InvalidOid. */
static bool
unless_sought(Datum value, void *arg)
{
    Oid *sought = static_cast<Oid *>(arg);

    if (DatumGetObjectId(value) != *sought)
        return true;
    *sought = InvalidOid;
    return false;
}

bool
citus_partitions(Oid relid)
{
    Oid sought = relid;

    scan_citus_catalog("pg_dist_partition", unless_sought, &sought);
    return OidIsValid(relid) && !OidIsValid(sought);
}
