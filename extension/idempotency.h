/*
 * idempotency.h
 *    Idempotency keys (1.3): shorten_url(..., idempotency_key => k) and
 *    shorten_urls(urls, idempotency_keys) may be repeated, after a lost
 *    COMMIT or any other uncertainty, without making a second link.
 *
 *    The link of a key gets a code derived from the key (HMAC-SHA256 under
 *    the installation's secret, the reuse key, in the code shape stored
 *    with it), so every statement stays keyed by short_code and the
 *    primary key alone arbitrates concurrent requests with the same key,
 *    on one node or on Citus.  The row records, in one 32-byte column
 *    (idempotency_digest), two 16-byte keyed digests: of the key (whose
 *    link is this?) and of the whole request (key, URL, expires_at,
 *    max_clicks: was it made by the same request?).  One column and no
 *    CHECK constraint: a CHECK costs every insert and every click of every
 *    link, as PostgreSQL prepares it anew for each statement.  Neither the
 *    key nor anything from which it could be recovered is stored.
 */
#ifndef URL_SHORTENER_IDEMPOTENCY_H
#define URL_SHORTENER_IDEMPOTENCY_H

#include "link_store.h"
#include "postgres_headers.h"

#define MAX_IDEMPOTENCY_KEY_BYTES 255

/*
 * Argument argno as an idempotency key, or NULL if the argument is NULL
 * (no key).  Raises 22023 for an empty or over-long key.
 */
text *idempotency_key_argument(FunctionCallInfo fcinfo, int argno);

/* Raises 22023 unless key is 1 to MAX_IDEMPOTENCY_KEY_BYTES bytes long. */
void ensure_valid_idempotency_key(const text *key);

/* Bytes of each digest; the stored value is the key's then the request's. */
#define IDEMPOTENCY_DIGEST_BYTES 16

/*
 * What identifies a request with a key: digests, a bytea Datum of
 * 2 * IDEMPOTENCY_DIGEST_BYTES, the key's digest then the request's, as
 * stored in urls.idempotency_digest.
 */
typedef struct IdempotentRequest {
    const text *key;
    Datum digests;
    bool in_batch;          /* of a keyed shorten_urls: locks every key's sequence at once */
} IdempotentRequest;

/* What a stored idempotency_digest says of a request. */
typedef enum DigestMatch {
    DIGEST_NONE,            /* no link holds the code */
    DIGEST_OTHER_KEY,       /* another key's link, or a link made without one */
    DIGEST_OTHER_REQUEST,   /* this key's link, made by a different request */
    DIGEST_SAME_REQUEST     /* this key's link, made by this request */
} DigestMatch;

/* Compares a stored idempotency_digest (NULL: no key) with request's. */
DigestMatch match_digests(const IdempotentRequest *request, const bytea *stored);

/* Computes the digests of a request (palloc'd in the current context). */
void describe_idempotent_request(const ReuseKey *secret, const text *key, const text *url,
                                 const LinkLimits *limits, IdempotentRequest *request);

/*
 * Writes code number attempt (0, 1, ...) of key's fixed sequence, in the
 * shape stored with the secret, to code (MAX_CODE_LENGTH + 1 bytes).
 */
void idempotent_code(const ReuseKey *secret, const text *key, uint32 attempt, char *code);

/*
 * Stores url as the link of request, or finds the link that the same
 * request stored before, and writes its code to code.  The key's codes
 * are tried in order; the first that is free or already the key's link is
 * the answer.  Raises US004 if the key's link was made by a different
 * request, US001 if each of the key's first codes is held by another link.
 * Between SPI_connect and SPI_finish (link_store.h).
 */
void store_idempotently(const ReuseKey *secret, const IdempotentRequest *request, Datum url,
                        const LinkLimits *limits, char *code);

/*
 * For a link of request just made on code, number attempt of its key's
 * sequence, where release_code once freed another link's code (1.6): the
 * key's link may already exist further on, made while that other link
 * held code.  If a later code holds the link of the same request, the new
 * row is taken back, code becomes that code, and the answer is true;
 * US004 if it holds the key's link of another request; false if none does.
 */
bool keep_key_link_beyond(const ReuseKey *secret, const IdempotentRequest *request, uint32 attempt,
                          char *code);

#endif
