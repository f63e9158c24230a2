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

/* This node's Citus group: COORDINATOR_GROUP without Citus, or where it has no row. */
static int32
local_group(void)
{
    const Oid relid = get_relname_relid("pg_dist_local_group", PG_CATALOG_NAMESPACE);
    int32 group = COORDINATOR_GROUP;

    if (!OidIsValid(relid))
        return group;
    Relation relation = table_open(relid, AccessShareLock);
    SysScanDesc scan = systable_beginscan(relation, InvalidOid, false, NULL, 0, NULL);
    HeapTuple tuple = systable_getnext(scan);
    if (HeapTupleIsValid(tuple)) {
        bool isnull;
        const Datum value = heap_getattr(tuple, 1, RelationGetDescr(relation), &isnull);

        if (!isnull)
            group = DatumGetInt32(value);
    }
    systable_endscan(scan);
    table_close(relation, AccessShareLock);
    return group;
}

void
refuse_on_citus_worker(const char *what)
{
    /* A read-only transaction (a hot standby too) gets the call's own
     * 25006 first, as everywhere else. */
    if (XactReadOnly)
        return;
    const int32 group = local_group();
    if (group == COORDINATOR_GROUP)
        return;
    ereport(ERROR,
            (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
             errmsg("%s must run on the Citus coordinator", what),
             errdetail("This node is a Citus worker (group %d). The call's locks are taken on the node that runs it, and only calls on the coordinator take them in one place for the whole cluster.",
                       group),
             errhint("Connect to the coordinator for this call.")));
}

bool
citus_partitions(Oid relid)
{
    const Oid catalog = get_relname_relid("pg_dist_partition", PG_CATALOG_NAMESPACE);
    bool found = false;

    if (!OidIsValid(catalog))
        return found;
    Relation relation = table_open(catalog, AccessShareLock);
    SysScanDesc scan = systable_beginscan(relation, InvalidOid, false, NULL, 0, NULL);
    HeapTuple tuple;
    while (!found && HeapTupleIsValid(tuple = systable_getnext(scan))) {
        bool isnull;
        /* logicalrelid, its first column, a regclass */
        const Datum value = heap_getattr(tuple, 1, RelationGetDescr(relation), &isnull);

        found = !isnull && DatumGetObjectId(value) == relid;
    }
    systable_endscan(scan);
    table_close(relation, AccessShareLock);
    return found;
}
