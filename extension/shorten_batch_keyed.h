/*
 * shorten_batch_keyed.h
 *    shorten_urls(urls, idempotency_keys) (1.3): a batch in which every URL
 *    has an idempotency key, so that the whole call may be repeated.
 */
#ifndef URL_SHORTENER_SHORTEN_BATCH_KEYED_H
#define URL_SHORTENER_SHORTEN_BATCH_KEYED_H

#include "postgres_headers.h"

extern "C" {
#include "utils/array.h"
}

/*
 * Error context of both batch paths: which element of the arrays an error
 * is about ("URL 3 of 10 in the array").  Push it with arg pointing to an
 * ElementPosition whose position the loop advances.
 */
typedef struct ElementPosition {
    int position;
    int count;
} ElementPosition;

void element_error_context(void *arg) noexcept;

/*
 * The elements of keys, one per URL, each checked (idempotency.h); raises
 * 2202E if keys has more than one dimension, 22023 if it has not count
 * elements, 22004 for a NULL element.  Allocated in the current memory context.
 */
Datum *idempotency_keys_argument(ArrayType *keys, int count);

/*
 * Stores urls[i] as the link of keys[i] for every i, or finds the links the
 * same requests stored before, and appends (url, code) in input order to
 * fcinfo's materialized result.  The URLs are already checked and the
 * batch lock is held.  One INSERT ... ON CONFLICT DO NOTHING for all of
 * them; only an element whose first code was taken (a repeated call, a
 * key repeated in the array, another link on the code) is then settled on
 * its own, the way shorten_url settles a key.  Any error stores nothing.
 */
void store_keyed_batch(FunctionCallInfo fcinfo, const Datum *urls, const Datum *keys, int count);

#endif
