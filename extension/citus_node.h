/*
 * citus_node.h
 *    Which node of a Citus cluster a call runs on, for the calls whose
 *    locks only hold across the cluster when every such call takes them on
 *    one node.
 *
 *    The module's locks are local to the node that takes them: the
 *    sequence locks of idempotency keys and reusable URLs, the batch and
 *    purge locks (extension_locks.h) and shorten_url_locked's advisory
 *    lock.  Every call made through the coordinator takes them there.  A
 *    call made on a worker directly (Citus 11 and later accept queries on
 *    any node) would take them on the worker, where no call through the
 *    coordinator waits for them: a key or a URL could get a second link
 *    (seen in a black-box test, 2026-12-06), purges on two nodes deadlock
 *    each other, and generation is not serialized.  The calls that take
 *    them are refused on a worker; plain shorten_url and the calls keyed
 *    by a code (which the coordinator forwards to a worker) take none.
 */
#ifndef URL_SHORTENER_CITUS_NODE_H
#define URL_SHORTENER_CITUS_NODE_H

#include "postgres_headers.h"

/* The calls refused on a worker, each named whole in its message
 * (citus_node.cpp's refusal_messages, in this order; purge_urls last). */
enum class CoordinatorOnlyCall {
    shorten_url_with_key,
    shorten_url_locked_with_key,
    shorten_url_with_reuse,
    shorten_url_locked_with_reuse,
    shorten_url_locked,
    shorten_urls,
    purge_urls,
};

/*
 * Raises 0A000 if this node is a Citus worker
 * (its pg_dist_local_group is not the coordinator's group 0), naming the
 * call.  Without Citus, on the coordinator, or in a read-only transaction
 * (where the call fails with its own 25006 instead), it returns at once.
 */
void refuse_on_citus_worker(CoordinatorOnlyCall call);

/*
 * Whether Citus's catalog pg_dist_partition has a row for relid (a
 * distributed or reference table), read with a catalog scan, no plan;
 * false without Citus.
 */
bool citus_partitions(Oid relid);

#endif
