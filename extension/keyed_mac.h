/*
 * keyed_mac.h
 *    HMAC-SHA256 under the extension's secret key (reuse_key.secret), the
 *    digests and codes of reusable links and idempotency keys.  OpenSSL's
 *    HMAC is keyed once per session and secret, then only reset for each
 *    message.  Keying it afresh for each (fetching the digest, hashing the
 *    padded key twice, allocating three digest contexts) cost about 12,900
 *    of the 20,700 instructions of each HMAC: three in a call with a new
 *    idempotency key, one in a reuse call (bench/profile, 2026-12-07).
 *    The reset needs OpenSSL 3.0.3 or later; with an older one the module
 *    notices (a probe, once per session) and keys every message afresh.
 */
#ifndef URL_SHORTENER_KEYED_MAC_H
#define URL_SHORTENER_KEYED_MAC_H

#include "postgres_headers.h"

#define KEYED_MAC_BYTES 32

/* One piece of the message, which is the pieces' bytes in order. */
typedef struct MacPart {
    const void *data;
    size_t length;
} MacPart;

/*
 * Writes HMAC-SHA256(secret, parts[0] || ... || parts[nparts - 1]), 32
 * bytes, to out.  Returns false if OpenSSL failed (the caller reports it);
 * never raises an error and keeps nothing per call: one OpenSSL context
 * lives for the session, keyed again only when the secret differs from
 * the last one's (OpenSSL mallocs and frees its digest state within each
 * call, outside PostgreSQL's memory contexts).
 */
bool keyed_mac(const uint8 *secret, size_t secret_length, const MacPart *parts, int nparts,
               uint8 *out);

#endif
