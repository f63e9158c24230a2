/*
 * shorten_batch_keyed.cpp
 *    shorten_urls with idempotency keys (see shorten_batch_keyed.h).
 *
 *    Memory: the call's arrays (a code slot, two digests and a request per
 *    URL, about 100 bytes) live in one SPI connection and go with it.  The
 *    per-element path frees each statement's result at once.
 */
#include "shorten_batch_keyed.h"

#include "code_generator.h"
#include "idempotency.h"
#include "link_store.h"
#include "reserved_codes.h"

extern "C" {
#include "funcapi.h"
#include "utils/hsearch.h"
}

/* The context of a refused key: the element of idempotency_keys, not of urls. */
static void
key_error_context(void *arg) noexcept
{
    const ElementPosition *at = (const ElementPosition *) arg;

    errcontext("idempotency key of URL %d of %d in the array", at->position + 1, at->count);
}

Datum *
idempotency_keys_argument(ArrayType *keys, int count)
{
    Datum *values;
    bool *nulls;
    int nkeys = 0;

    if (ARR_NDIM(keys) > 1)
        ereport(ERROR,
                (errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
                 errmsg("idempotency_keys must be a one-dimensional array")));
    if (ArrayGetNItems(ARR_NDIM(keys), ARR_DIMS(keys)) != count)
        ereport(ERROR,
                (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                 errmsg("idempotency_keys must have one element per URL"),
                 errdetail("Their lengths are %d (urls) and %d (idempotency_keys).", count,
                           ArrayGetNItems(ARR_NDIM(keys), ARR_DIMS(keys)))));
    deconstruct_array(keys, TEXTOID, -1, false, TYPALIGN_INT, &values, &nulls, &nkeys);

    ElementPosition at = {0, count};
    ErrorContextCallback callback;
    callback.callback = key_error_context;
    callback.arg = &at;
    callback.previous = error_context_stack;
    error_context_stack = &callback;
    for (at.position = 0; at.position < nkeys; at.position++) {
        CHECK_FOR_INTERRUPTS();
        if (nulls[at.position])
            ereport(ERROR,
                    (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
                     errmsg("idempotency key must not be null"),
                     errhint("Pass idempotency_keys => NULL for a batch without keys.")));
        ensure_valid_idempotency_key(DatumGetTextPP(values[at.position]));
    }
    error_context_stack = callback.previous;
    pfree(nulls);
    return values;
}

/*
 * A row the first INSERT stored: its digests, whether an element claimed
 * it, and whether release_code once freed its code (1.6).
 */
typedef struct InsertedRow {
    uint8 digests[2 * IDEMPOTENCY_DIGEST_BYTES];
    bool claimed;
    bool released;
} InsertedRow;

/* Which rows the first INSERT stored, by code (SPI_tuptable of that INSERT). */
static HTAB *
inserted_rows(uint64 ninserted, int code_length)
{
    HASHCTL ctl;

    ctl.keysize = code_length + 1;
    ctl.entrysize = MAXALIGN(code_length + 1) + sizeof(InsertedRow);
    ctl.hcxt = CurrentMemoryContext;
    HTAB *rows = hash_create("url_shortener keyed batch rows", (long) Max(ninserted, 1), &ctl,
                             HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);

    for (uint64 i = 0; i < ninserted; i++) {
        bool isnull;
        bool found;
        CHECK_FOR_INTERRUPTS();
        char *code = TextDatumGetCString(result_value(i, 1, TEXTOID, &isnull));
        const Datum stored = result_value(i, 2, BYTEAOID, &isnull);
        if (isnull)
            ereport(ERROR,
                    (errcode(ERRCODE_TRIGGERED_ACTION_EXCEPTION),
                     errmsg("a trigger on the links table changed the idempotency digest of a link"),
                     errdetail("Link \"%s\" came back from the insert without its digest; nothing was stored.",
                               code),
                     errhint("A BEFORE INSERT trigger on the extension's table urls cleared idempotency_digest; drop or fix it.")));
        bytea *digest = DatumGetByteaPP(stored);
        InsertedRow *row = (InsertedRow *) ((char *) hash_search(rows, code, HASH_ENTER, &found) +
                                            MAXALIGN(code_length + 1));
        if (VARSIZE_ANY_EXHDR(digest) != sizeof(row->digests))
            ereport(ERROR,
                    (errcode(ERRCODE_TRIGGERED_ACTION_EXCEPTION),
                     errmsg("a trigger on the links table changed the idempotency digest of a link"),
                     errdetail("Link \"%s\" came back from the insert with a digest of %d bytes, not %d; nothing was stored.",
                               code, (int) VARSIZE_ANY_EXHDR(digest), (int) sizeof(row->digests)),
                     errhint("A BEFORE INSERT trigger on the extension's table urls changed idempotency_digest; drop or fix it.")));
        memcpy(row->digests, VARDATA_ANY(digest), sizeof(row->digests));
        row->claimed = false;
        row->released = false;
        pfree(code);
    }
    return rows;
}

/*
 * Marks the rows whose code release_code once freed (1.6): one lookup of
 * all the first codes stored, so that only those elements look further
 * along their key's sequence.
 */
static void
mark_released_rows(HTAB *rows, Datum stored_codes, int code_length)
{
    const uint64 nreleased = find_released_codes(stored_codes);

    for (uint64 i = 0; i < nreleased; i++) {
        bool isnull;
        CHECK_FOR_INTERRUPTS();
        char *code = TextDatumGetCString(result_value(i, 1, TEXTOID, &isnull));
        char *entry = (char *) hash_search(rows, code, HASH_FIND, NULL);
        if (entry != NULL)
            ((InsertedRow *) (entry + MAXALIGN(code_length + 1)))->released = true;
        pfree(code);
    }
    if (nreleased > 0)
        SPI_freetuptable(SPI_tuptable);
}

/* The row the first INSERT stored on code for this request, now claimed; NULL if none. */
static const InsertedRow *
claim_inserted_row(HTAB *rows, const char *code, int code_length, Datum digests)
{
    char *entry = (char *) hash_search(rows, code, HASH_FIND, NULL);
    if (entry == NULL)
        return NULL;
    InsertedRow *row = (InsertedRow *) (entry + MAXALIGN(code_length + 1));
    if (row->claimed ||
        memcmp(row->digests, VARDATA_ANY(DatumGetPointer(digests)), sizeof(row->digests)) != 0)
        return NULL;
    row->claimed = true;
    return row;
}

/*
 * Marks as not usable in the first INSERT each first code (codes, slot
 * bytes apart) that a row holds in the transaction's snapshot.
 */
static void
leave_out_codes_held(const char *codes, int slot, int count, bool *usable)
{
    Datum *candidates = (Datum *) palloc(sizeof(Datum) * (size_t) Max(count, 1));
    int ncandidates = 0;

    for (int i = 0; i < count; i++)
        if (usable[i])
            candidates[ncandidates++] = CStringGetTextDatum(codes + (size_t) i * (size_t) slot);
    if (ncandidates == 0)
        return;
    const uint64 nheld = find_taken_codes(
        PointerGetDatum(construct_array(candidates, ncandidates, TEXTOID, -1, false, TYPALIGN_INT)));
    if (nheld == 0)
        return;

    HASHCTL ctl;
    ctl.keysize = slot;
    ctl.entrysize = slot;
    ctl.hcxt = CurrentMemoryContext;
    HTAB *held = hash_create("url_shortener keyed batch codes held", (long) nheld, &ctl,
                             HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
    for (uint64 i = 0; i < nheld; i++) {
        bool isnull;
        CHECK_FOR_INTERRUPTS();
        char *code = TextDatumGetCString(result_value(i, 1, TEXTOID, &isnull));
        if ((int) strlen(code) < slot)
            (void) hash_search(held, code, HASH_ENTER, NULL);
        pfree(code);
    }
    SPI_freetuptable(SPI_tuptable);
    for (int i = 0; i < count; i++)
        if (usable[i] && hash_search(held, codes + (size_t) i * (size_t) slot, HASH_FIND, NULL) != NULL)
            usable[i] = false;
    hash_destroy(held);
}

void
store_keyed_batch(FunctionCallInfo fcinfo, const Datum *urls, const Datum *keys, int count)
{
    ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
    const LinkLimits no_limits = {false, (Datum) 0, false, (Datum) 0};
    ReuseKey secret;

    connect_link_store(fcinfo);
    read_reuse_key(&secret);

    const int slot = secret.code_length + 1;
    char *codes = (char *) palloc((size_t) slot * (size_t) count);
    IdempotentRequest *requests = (IdempotentRequest *) palloc(sizeof(IdempotentRequest) * (size_t) count);
    bool *first_code_usable = (bool *) palloc(sizeof(bool) * (size_t) count);
    Datum *first_codes = (Datum *) palloc(sizeof(Datum) * (size_t) count);
    Datum *first_urls = (Datum *) palloc(sizeof(Datum) * (size_t) count);
    Datum *digests = (Datum *) palloc(sizeof(Datum) * (size_t) count);
    int nfirst = 0;

    /* Every element's digests and first code. */
    for (int i = 0; i < count; i++) {
        char *code = codes + (size_t) i * (size_t) slot;
        CHECK_FOR_INTERRUPTS();
        describe_idempotent_request(&secret, DatumGetTextPP(keys[i]), DatumGetTextPP(urls[i]),
                                    &no_limits, &requests[i]);
        requests[i].in_batch = true;
        idempotent_code(&secret, requests[i].key, 0, code);
        first_code_usable[i] = !is_unusable_code(code);
    }
    /* At REPEATABLE READ or SERIALIZABLE the INSERT's ON CONFLICT DO
     * NOTHING fails with 40001 on a row changed since the snapshot (a
     * click changes the row), even one it would only answer: the first
     * codes the snapshot shows held go one at a time instead, where
     * store_idempotently answers what both the snapshot and the newest
     * one show without an insert. */
    if (IsolationUsesXactSnapshot())
        leave_out_codes_held(codes, slot, count, first_code_usable);
    /* The usable first codes go into one INSERT. */
    for (int i = 0; i < count; i++) {
        char *code = codes + (size_t) i * (size_t) slot;
        if (first_code_usable[i]) {
            first_codes[nfirst] = CStringGetTextDatum(code);
            first_urls[nfirst] = urls[i];
            digests[nfirst] = requests[i].digests;
            nfirst++;
        }
    }

    HTAB *rows = NULL;
    if (nfirst > 0) {
        const Datum stored_codes =
            PointerGetDatum(construct_array(first_codes, nfirst, TEXTOID, -1, false, TYPALIGN_INT));
        const uint64 ninserted = insert_idempotent_links_skipping_taken_codes(
            stored_codes,
            PointerGetDatum(construct_array(first_urls, nfirst, TEXTOID, -1, false, TYPALIGN_INT)),
            PointerGetDatum(construct_array(digests, nfirst, BYTEAOID, -1, false, TYPALIGN_INT)));
        rows = inserted_rows(ninserted, secret.code_length);
        SPI_freetuptable(SPI_tuptable);
        if (ninserted > 0)
            mark_released_rows(rows, stored_codes, secret.code_length);
    }

    /* The elements the INSERT did not settle, one at a time, in input order. */
    ElementPosition at = {0, count};
    ErrorContextCallback callback;
    callback.callback = element_error_context;
    callback.arg = &at;
    callback.previous = error_context_stack;
    error_context_stack = &callback;
    for (at.position = 0; at.position < count; at.position++) {
        const int i = at.position;
        char *code = codes + (size_t) i * (size_t) slot;
        CHECK_FOR_INTERRUPTS();
        const InsertedRow *row = first_code_usable[i] && rows != NULL
            ? claim_inserted_row(rows, code, secret.code_length, requests[i].digests)
            : NULL;
        if (row != NULL) {
            /* On a code release_code freed, the key's link may be further on. */
            if (row->released)
                keep_key_link_beyond(&secret, &requests[i], 0, code);
            continue;
        }
        store_idempotently(&secret, &requests[i], urls[i], &no_limits, code);
    }
    error_context_stack = callback.previous;

    for (int i = 0; i < count; i++) {
        Datum values[2] = {urls[i], CStringGetTextDatum(codes + (size_t) i * (size_t) slot)};
        bool row_nulls[2] = {false, false};

        CHECK_FOR_INTERRUPTS();
        tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, row_nulls);
        pfree(DatumGetPointer(values[1]));
    }

    SPI_finish();
}
