/*
 * idempotency.cpp
 *    The digests and the code sequence of idempotency keys, and the loop
 *    that stores a key's link or finds it again (see idempotency.h).
 */
#include "idempotency.h"

#include "code_generator.h"
#include "extension_locks.h"
#include "keyed_mac.h"
#include "link_options.h"
#include "reserved_codes.h"
#include "sqlstates.h"

/*
 * Bytes kept of each HMAC-SHA256 (IDEMPOTENCY_DIGEST_BYTES): 128 bits make
 * a chance match of two different keys or requests negligible, and keep
 * the row small.
 */
static const int DIGEST_BYTES = IDEMPOTENCY_DIGEST_BYTES;

/*
 * Codes of a key's sequence tried before giving up (US001).  As for reuse,
 * a fixed number: sixteen codes held by other links mean a full code space.
 */
static const uint32 KEY_ATTEMPTS = 16;

/*
 * Domain separation: what is hashed for a digest or a code starts with a
 * NUL and a label.  No URL (the input of a reusable link's code) contains
 * a NUL, so no key's code sequence can equal a URL's.
 */
static const char KEY_LABEL[] = "\0url_shortener idempotency key";
static const char REQUEST_LABEL[] = "\0url_shortener idempotent request";
static const char CODE_LABEL[] = "\0url_shortener idempotency code";

text *
idempotency_key_argument(FunctionCallInfo fcinfo, int argno)
{
    if (PG_ARGISNULL(argno))
        return NULL;
    text *key = PG_GETARG_TEXT_PP(argno);
    ensure_valid_idempotency_key(key);
    return key;
}

void
ensure_valid_idempotency_key(const text *key)
{
    const int length = VARSIZE_ANY_EXHDR(key);

    if (length < 1 || length > MAX_IDEMPOTENCY_KEY_BYTES)
        ereport(ERROR,
                (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                 errmsg("idempotency key must be 1 to %d bytes long", MAX_IDEMPOTENCY_KEY_BYTES),
                 errdetail("The key has %d bytes.", length)));
}

/* A 64-bit value as 8 bytes, most significant first. */
static void
put_int64(uint8 *out, int64 value)
{
    for (int i = 0; i < 8; i++)
        out[i] = (uint8) ((uint64) value >> (56 - 8 * i));
}

/* A length as 4 bytes, most significant first, so that no concatenation is ambiguous. */
static void
put_length(uint8 *out, size_t length)
{
    for (int i = 0; i < 4; i++)
        out[i] = (uint8) ((uint32) length >> (24 - 8 * i));
}

/* Writes the first DIGEST_BYTES of HMAC-SHA256(secret, parts...) to out. */
static void
keyed_digest(const ReuseKey *secret, const MacPart *parts, int nparts, uint8 *out)
{
    uint8 full[KEYED_MAC_BYTES];

    if (!keyed_mac((const uint8 *) VARDATA_ANY(secret->secret), VARSIZE_ANY_EXHDR(secret->secret),
                   parts, nparts, full))
        ereport(ERROR,
                (errcode(ERRCODE_INTERNAL_ERROR),
                 errmsg("could not compute the digest of an idempotency key")));

    memcpy(out, full, DIGEST_BYTES);
}

DigestMatch
match_digests(const IdempotentRequest *request, const bytea *stored)
{
    const bytea *mine = (const bytea *) DatumGetPointer(request->digests);

    if (stored == NULL || VARSIZE_ANY_EXHDR(stored) != 2 * DIGEST_BYTES ||
        memcmp(VARDATA_ANY(stored), VARDATA_ANY(mine), DIGEST_BYTES) != 0)
        return DIGEST_OTHER_KEY;
    if (memcmp(VARDATA_ANY(stored) + DIGEST_BYTES, VARDATA_ANY(mine) + DIGEST_BYTES, DIGEST_BYTES) != 0)
        return DIGEST_OTHER_REQUEST;
    return DIGEST_SAME_REQUEST;
}

void
describe_idempotent_request(const ReuseKey *secret, const text *key, const text *url,
                            const LinkLimits *limits, IdempotentRequest *request)
{
    const size_t key_length = VARSIZE_ANY_EXHDR(key);
    const size_t url_length = VARSIZE_ANY_EXHDR(url);
    uint8 key_size[4];
    uint8 url_size[4];
    uint8 options[18];

    put_length(key_size, key_length);
    put_length(url_size, url_length);
    options[0] = limits->has_expiry ? 1 : 0;
    put_int64(options + 1, limits->has_expiry ? DatumGetInt64(limits->expires_at) : 0);
    options[9] = limits->has_max_clicks ? 1 : 0;
    put_int64(options + 10, limits->has_max_clicks ? DatumGetInt64(limits->max_clicks) : 0);

    const MacPart key_parts[2] = {
        {KEY_LABEL, sizeof(KEY_LABEL)},
        {VARDATA_ANY(key), key_length},
    };
    const MacPart request_parts[6] = {
        {REQUEST_LABEL, sizeof(REQUEST_LABEL)},
        {key_size, sizeof(key_size)},
        {VARDATA_ANY(key), key_length},
        {url_size, sizeof(url_size)},
        {VARDATA_ANY(url), url_length},
        {options, sizeof(options)},
    };

    bytea *digests = (bytea *) palloc(VARHDRSZ + 2 * DIGEST_BYTES);
    SET_VARSIZE(digests, VARHDRSZ + 2 * DIGEST_BYTES);
    keyed_digest(secret, key_parts, 2, (uint8 *) VARDATA(digests));
    keyed_digest(secret, request_parts, 6, (uint8 *) VARDATA(digests) + DIGEST_BYTES);
    request->key = key;
    request->digests = PointerGetDatum(digests);
    request->in_batch = false;
}

void
idempotent_code(const ReuseKey *secret, const text *key, uint32 attempt, char *code)
{
    const size_t key_length = VARSIZE_ANY_EXHDR(key);
    char *message = (char *) palloc(sizeof(CODE_LABEL) + key_length);

    memcpy(message, CODE_LABEL, sizeof(CODE_LABEL));
    memcpy(message + sizeof(CODE_LABEL), VARDATA_ANY(key), key_length);
    derive_code((const uint8 *) VARDATA_ANY(secret->secret), VARSIZE_ANY_EXHDR(secret->secret),
                message, sizeof(CODE_LABEL) + key_length, attempt,
                secret->code_length, secret->alphabet, code);
    pfree(message);
}

static void
report_other_request(void) pg_attribute_noreturn();

/* US004: the key's link holds another URL or other limits. */
static void
report_other_request(void)
{
    ereport(ERROR,
            (errcode(ERRCODE_URL_SHORTENER_IDEMPOTENCY_MISMATCH),
             errmsg("idempotency key was already used for a different request"),
             /* Not the link's code: a caller who guessed another's key
              * would learn it. */
             errdetail("The key was first used with another URL, expires_at or max_clicks."),
             errhint("Send a new key with a new request; repeat a key only to repeat its request exactly.")));
}

/* Takes the lock of the key's code sequence (extension_locks.h), named by the key's digest. */
static void
lock_key_sequence(const IdempotentRequest *request)
{
    if (request->in_batch)
        wait_for_every_sequence_lock(KEY_SEQUENCE_LOCK);
    else
        wait_for_sequence_lock(KEY_SEQUENCE_LOCK, VARDATA_ANY(DatumGetPointer(request->digests)),
                               DIGEST_BYTES);
}

/*
 * At REPEATABLE READ or SERIALIZABLE, for a code the transaction's
 * snapshot shows without the link of request: 40001 if the newest
 * snapshot shows that link, stored by a transaction that committed since.
 * This transaction can neither answer it nor make a second one; run
 * again, it answers it.
 */
static void
refuse_key_link_since_snapshot(const IdempotentRequest *request, const char *code)
{
    bytea *holder_digest;

    if (!IsolationUsesXactSnapshot() || !find_idempotency_digest(code, &holder_digest, true))
        return;
    const DigestMatch match = match_digests(request, holder_digest);
    if (holder_digest != NULL)
        pfree(holder_digest);
    if (match != DIGEST_OTHER_KEY)
        ereport(ERROR,
                (errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
                 errmsg("could not serialize access due to concurrent update"),
                 errdetail("The link of this idempotency key was stored by a transaction that committed after this transaction's snapshot."),
                 errhint("Run the transaction again: it will answer that link.")));
}

/*
 * At REPEATABLE READ or SERIALIZABLE, what holds code for request, read in
 * the transaction's snapshot and in the newest: DIGEST_SAME_REQUEST or
 * DIGEST_OTHER_REQUEST where both show the key's link; DIGEST_OTHER_KEY
 * where both show another link; DIGEST_NONE where the snapshot shows
 * none, or another link the newest does not (freed since: the insert
 * decides, with 40001 if the key's link took the code meanwhile); 40001
 * where the snapshot shows the key's link and the newest does not (it was
 * retired, and the code freed and taken since: answering it would give a
 * code that leads elsewhere).
 */
static DigestMatch
snapshot_lookup(const IdempotentRequest *request, const char *code)
{
    bytea *digest;
    bytea *newest_digest;

    if (!find_idempotency_digest(code, &digest))
        return DIGEST_NONE;
    const DigestMatch in_snapshot = match_digests(request, digest);
    if (digest != NULL)
        pfree(digest);
    const DigestMatch newest = find_idempotency_digest(code, &newest_digest, true)
        ? match_digests(request, newest_digest)
        : DIGEST_NONE;
    if (newest_digest != NULL)
        pfree(newest_digest);
    if (in_snapshot == DIGEST_OTHER_KEY)
        return newest == DIGEST_OTHER_KEY ? DIGEST_OTHER_KEY : DIGEST_NONE;
    if (newest != in_snapshot)
        ereport(ERROR,
                (errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
                 errmsg("could not serialize access due to concurrent update"),
                 errdetail("The link of this idempotency key was changed by a transaction that committed after this transaction's snapshot."),
                 errhint("Run the transaction again.")));
    return in_snapshot;
}

/*
 * Whether one of the codes before attempt in the key's sequence holds the
 * link of the same request (code becomes it; US004 for another request of
 * the key), looked at with a new snapshot (at READ COMMITTED).
 */
static bool
key_link_among_passed(const ReuseKey *secret, const IdempotentRequest *request, uint32 attempt,
                      char *code)
{
    char earlier[MAX_CODE_LENGTH + 1];

    for (uint32 before = 0; before < attempt; before++) {
        CHECK_FOR_INTERRUPTS();
        idempotent_code(secret, request->key, before, earlier);
        bytea *holder_digest;
        if (is_unusable_code(earlier))
            continue;
        if (!find_idempotency_digest(earlier, &holder_digest)) {
            refuse_key_link_since_snapshot(request, earlier);
            continue;
        }
        const DigestMatch match = match_digests(request, holder_digest);
        if (holder_digest != NULL)
            pfree(holder_digest);
        if (match == DIGEST_OTHER_REQUEST)
            report_other_request();
        if (match == DIGEST_SAME_REQUEST) {
            memcpy(code, earlier, strlen(earlier) + 1);
            return true;
        }
        refuse_key_link_since_snapshot(request, earlier);
    }
    return false;
}

bool
keep_key_link_beyond(const ReuseKey *secret, const IdempotentRequest *request, uint32 attempt,
                     char *code)
{
    char later[MAX_CODE_LENGTH + 1];

    /* A call of the same key that went past a held code holds this lock
     * until it ends: wait, so that the look below (a new snapshot at READ
     * COMMITTED) sees the link it made further on. */
    lock_key_sequence(request);
    for (uint32 next = attempt + 1; next < KEY_ATTEMPTS; next++) {
        CHECK_FOR_INTERRUPTS();
        idempotent_code(secret, request->key, next, later);
        if (is_unusable_code(later))
            continue;
        bytea *holder_digest;
        if (!find_idempotency_digest(later, &holder_digest)) {
            refuse_key_link_since_snapshot(request, later);
            continue;       /* free now: a hole another release left */
        }
        const DigestMatch match = match_digests(request, holder_digest);
        if (holder_digest != NULL)
            pfree(holder_digest);
        if (match == DIGEST_OTHER_KEY) {
            refuse_key_link_since_snapshot(request, later);
            continue;
        }
        if (match == DIGEST_OTHER_REQUEST)
            report_other_request();     /* the error takes the new row back */
        take_back_new_link(code);
        memcpy(code, later, strlen(later) + 1);
        return true;
    }
    return false;
}

/* What store_unless_lock_busy hands its subtransaction. */
typedef struct KeyedInsert {
    const IdempotentRequest *request;
    const char *code;
    Datum url;
    const LinkLimits *limits;
    IdempotentInsert *insert;
    bytea **holder_digest;
    bool *released;
} KeyedInsert;

static bool
insert_unless_lock_busy(void *arg)
{
    const KeyedInsert *r = (const KeyedInsert *) arg;

    *r->insert = store_idempotent_link(r->code, r->url, r->limits, r->request->digests, r->holder_digest);
    *r->released = *r->insert == IDEMPOTENT_CREATED && code_was_released(r->code);
    return !*r->released ||
           try_sequence_lock(KEY_SEQUENCE_LOCK, VARDATA_ANY(DatumGetPointer(r->request->digests)),
                             DIGEST_BYTES);
}

/*
 * store_idempotent_link in a subtransaction, for a call that does not
 * hold the key's sequence lock: kept when the insert made no row (the
 * code is held), or made the link on a code release_code never freed
 * (*released false), or made it on a freed code and the lock was free at
 * once (*released true; the lock is then held to the end of the
 * transaction).  Rolled back, returning false, when the lock was not
 * free.  Whether the code was freed is looked at after the insert, so
 * that a release committed while the insert waited on the code's
 * tombstone is seen.  Errors roll it back and propagate.
 */
static bool
store_unless_lock_busy(const IdempotentRequest *request, const char *code, Datum url,
                       const LinkLimits *limits, IdempotentInsert *insert, bytea **holder_digest,
                       bool *released)
{
    KeyedInsert r = {request, code, url, limits, insert, holder_digest, released};

    return run_in_subtransaction(insert_unless_lock_busy, &r, NULL);
}

void
store_idempotently(const ReuseKey *secret, const IdempotentRequest *request, Datum url,
                   const LinkLimits *limits, char *code)
{
    uint32 attempt = 0;
    uint32 retries = 0;
    bool passed_held = false;       /* went past a code another key's link holds */
    bool sequence_locked = false;
    bool looked_back = false;       /* at the codes passed, holding the lock */
    const bool snapshot_isolation = IsolationUsesXactSnapshot();

    while (attempt < KEY_ATTEMPTS && retries <= KEY_ATTEMPTS) {
        CHECK_FOR_INTERRUPTS();
        idempotent_code(secret, request->key, attempt, code);
        if (is_unusable_code(code)) {
            attempt++;
            continue;
        }
        bytea *holder_digest = NULL;
        /*
         * A look before the insert.  At REPEATABLE READ or SERIALIZABLE
         * always: the key's link the snapshot shows is the answer, without
         * the insert, whose ON CONFLICT DO NOTHING fails with 40001 on a
         * row changed since the snapshot (a click changes it), once the
         * newest snapshot confirms it (see snapshot_lookup); another link
         * the newest snapshot still shows there is passed over; anything
         * else the insert decides.  At READ COMMITTED once past a held
         * code: a repeat finds its link there without the sequence lock
         * (a new snapshot), and another key's link is passed over.
         */
        if (snapshot_isolation || (passed_held && !looked_back)) {
            const DigestMatch match = snapshot_isolation
                ? snapshot_lookup(request, code)
                : (find_idempotency_digest(code, &holder_digest) ? match_digests(request, holder_digest)
                                                                 : DIGEST_NONE);
            if (holder_digest != NULL)
                pfree(holder_digest);
            holder_digest = NULL;
            if (match == DIGEST_SAME_REQUEST)
                return;
            if (match == DIGEST_OTHER_REQUEST)
                report_other_request();
            if (match == DIGEST_OTHER_KEY) {
                passed_held = true;
                attempt++;
                continue;
            }
        }
        if (passed_held && !looked_back) {
            /* About to make the key's link past a held code: first the
             * sequence's lock (a call that lands on a freed code of the
             * sequence waits for it, then finds this link: see
             * keep_key_link_beyond), then a new look at the codes passed,
             * where another call of the key may have landed once
             * release_code freed one, and kept it meanwhile.  Only looks,
             * never an insert here, so the two never wait for each other. */
            if (!sequence_locked)
                lock_key_sequence(request);
            sequence_locked = true;
            looked_back = true;
            if (key_link_among_passed(secret, request, attempt, code))
                return;
        }
        /*
         * On a code release_code once freed, a new link must look further
         * along the sequence (keep_key_link_beyond), which needs the
         * sequence's lock; and a call must not wait for that lock holding
         * its new row: a keyed shorten_urls holds the kind's lock from its
         * start and may be inserting that very code (it would wait for the
         * row, this call for its lock: keyed_batch_vs_single_on_released_
         * code.spec).  So the insert runs in a subtransaction, kept if the
         * code was never freed or the lock is free at once; else rolled
         * back, and the call waits for the lock holding no row of its own,
         * then tries the code again.  The code is looked up after the
         * insert, which may have waited for a release to commit (test/
         * fault/run).  A batch holds the lock's kind already.
         */
        IdempotentInsert insert;
        bool released = false;
        if (!sequence_locked && !request->in_batch) {
            if (!store_unless_lock_busy(request, code, url, limits, &insert, &holder_digest, &released)) {
                lock_key_sequence(request);
                sequence_locked = true;
                continue;       /* the same code again, holding the lock */
            }
            if (released)
                sequence_locked = true;
        } else {
            insert = store_idempotent_link(code, url, limits, request->digests, &holder_digest);
            released = insert == IDEMPOTENT_CREATED && code_was_released(code);
        }
        if (insert == IDEMPOTENT_CREATED) {
            /* On a code release_code freed, the key's link may be further on. */
            if (released && keep_key_link_beyond(secret, request, attempt, code))
                return;
            /* A new link: its expiry must still be ahead (the error takes
             * the insert back with it).  A repeat returned above. */
            ensure_expiry_in_future(limits);
            return;
        }
        if (insert == IDEMPOTENT_VANISHED) {
            retries++;
            continue;       /* the same code again */
        }
        const DigestMatch match = match_digests(request, holder_digest);
        if (holder_digest != NULL)
            pfree(holder_digest);
        if (match == DIGEST_SAME_REQUEST)
            return;
        if (match == DIGEST_OTHER_REQUEST)
            report_other_request();
        passed_held = true;     /* another key's link */
        attempt++;
    }

    if (retries > KEY_ATTEMPTS)
        refuse_code_never_stored(code, (int) retries);
    ereport(ERROR,
            (errcode(ERRCODE_URL_SHORTENER_CODE_SPACE_EXHAUSTED),
             errmsg_plural("could not find a free short code after %d attempt",
                           "could not find a free short code after %d attempts",
                           (int) (attempt + retries), (int) (attempt + retries)),
             errdetail("Each of the %d codes this idempotency key may take is held by another link.",
                       (int) KEY_ATTEMPTS),
             errhint("Codes of links made with an idempotency key take the shape stored in the table reuse_key (length %d), not url_shortener.code_length: raise reuse_key.code_length to lengthen them.",
                     secret->code_length)));
}
