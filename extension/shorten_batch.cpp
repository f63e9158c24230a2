/*
 * shorten_batch.cpp
 *    shorten_urls(urls text[]): many links in one statement, for imports.
 *    With idempotency_keys (1.3) the batch goes to shorten_batch_keyed.cpp.
 *
 *    An array of more than MAX_BATCH_URLS elements is refused (54000) from
 *    its header, before its elements are deconstructed, checked or copied.
 *    Every URL is checked next, so one bad URL stores nothing.  Then the call takes the batch lock (see
 *    take_batch_lock) and works in rounds, each for the URLs still without
 *    a code:
 *      1. draw a code for each, distinct within the round;
 *      2. look up which of them are already taken (one query per 10,000
 *         codes; usually none), and leave those URLs for the next round;
 *         skipped while the table is so small against the code space that
 *         a taken code is improbable (lookup_before_insert);
 *      3. insert the rest with one plain INSERT inside one subtransaction;
 *      4. only if one of those codes was taken after all (a concurrent
 *         writer took it meanwhile, or the lookup was skipped; the primary
 *         key says so), roll that back and insert the same pairs with
 *         INSERT ... ON CONFLICT (short_code) DO NOTHING RETURNING,
 *         keeping the ones that went in.
 *    A collision costs a redraw of the losers only, never a subtransaction
 *    per row; ON CONFLICT's speculative insertion, markedly slower per row,
 *    is paid only in the rare round that meets a taken code.  After
 *    url_shortener.max_attempts rounds with URLs left over, the call fails
 *    with SQLSTATE US001 and, being one statement, stores nothing.
 *
 *    Memory: what lives for the whole call is the input and about 20 bytes
 *    per URL plus its code (whether it is stored, its place in the pending
 *    lists); each round's arrays, hash table and SPI results live in that
 *    round's SPI connection and go with it, so a call needs the memory of
 *    one round at a time, however many rounds it takes.  Every loop over
 *    the elements or over draws checks for interrupts, and no statement
 *    gets more than 10,000 codes to look up: cancel and statement_timeout
 *    act within a fraction of a second, at any batch size.
 *
 *    The result lists (url, short_code) in the order of the input array.
 */
#include <cmath>

#include "citus_node.h"
#include "code_generator.h"
#include "entry_guard.h"
#include "extension_locks.h"
#include "link_store.h"
#include "postgres_headers.h"
#include "reserved_codes.h"
#include "settings.h"
#include "shorten_batch_keyed.h"
#include "sqlstates.h"
#include "url_argument.h"

extern "C" {
#include "tcop/utility.h"
#include "commands/extension.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/hsearch.h"
}

/*
 * The most URLs one call takes.  A fixed limit, not a setting: it is what
 * keeps one call's memory and its hold on the batch lock bounded, so it is
 * not the caller's to raise.  At a million URLs the per-call arrays take
 * about 30 MB plus the input, a round's hash table and arrays about 100
 * bytes per URL more plus a copy of its URLs, every single allocation stays
 * far below PostgreSQL's 1 GB limit (whatever code_length), and the call
 * runs for seconds, not minutes, while other batches wait for it (17 s for
 * a million in one run on the shared 2-core test machine).  Imports of more URLs call once
 * per million.
 */
static const int MAX_BATCH_URLS = 1000000;

/*
 * What the round's hash table holds for a code drawn in the round: the input
 * position it is for.  In an entry it follows the key, the code itself,
 * which takes code_length + 1 bytes (MAXALIGNed), not MAX_CODE_LENGTH + 1.
 */
typedef struct DrawnCode {
    int position;
    bool taken;                         /* already in the table before the insert */
} DrawnCode;

/*
 * The state of one call, in the call's memory.  The settings are read once:
 * codes has a slot of code_length + 1 bytes per URL.
 */
typedef struct Batch {
    const Datum *urls;          /* the input, count elements */
    int count;
    int code_length;
    int max_attempts;
    char *codes;                /* count slots of code_length + 1 bytes */
    bool *stored;               /* per position: its code is in the table */
    int *pending;               /* positions still without a code ... */
    int npending;               /* ... and how many */
    int *drawn;                 /* positions that got a code this round */
} Batch;


static char *
code_slot(const Batch *batch, int position)
{
    return batch->codes + (size_t) position * (size_t) (batch->code_length + 1);
}

void
element_error_context(void *arg) noexcept
{
    const ElementPosition *at = (const ElementPosition *) arg;

    errcontext("URL %d of %d in the array", at->position + 1, at->count);
}

/*
 * The number of elements of urls, or the error for an array that is not
 * one-dimensional or too large.  Reads the array's header only, so an
 * over-large batch is refused before its elements are deconstructed.
 */
static int
batch_size(ArrayType *urls)
{
    if (ARR_NDIM(urls) > 1)
        ereport(ERROR,
                (errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
                 errmsg("urls must be a one-dimensional array")));
    const int count = ArrayGetNItems(ARR_NDIM(urls), ARR_DIMS(urls));
    if (count > MAX_BATCH_URLS)
        ereport(ERROR,
                (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                 errmsg("cannot shorten more than %d URLs in one call", MAX_BATCH_URLS),
                 errdetail("The array has %d elements.", count),
                 errhint("Split the URLs into batches of at most %d and call shorten_urls once per batch.",
                         MAX_BATCH_URLS)));
    return count;
}

/* Checks every element; raises the first error, naming the element. */
static void
ensure_valid_urls(const Datum *urls, const bool *nulls, int count)
{
    ElementPosition at = {0, count};
    ErrorContextCallback callback;

    callback.callback = element_error_context;
    callback.arg = &at;
    callback.previous = error_context_stack;
    error_context_stack = &callback;

    for (at.position = 0; at.position < count; at.position++) {
        CHECK_FOR_INTERRUPTS();
        if (nulls[at.position])
            ereport(ERROR,
                    (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
                     errmsg("url must not be null")));
        ensure_valid_url(DatumGetTextPP(urls[at.position]), "url");
    }

    error_context_stack = callback.previous;
}

/*
 * Makes concurrent shorten_urls calls wait for each other: the first takes
 * the batch lock (extension_locks.h) and keeps it until its transaction
 * ends; the others wait for it before they draw a single code.
 *
 * Why this is deadlock-free among batches: a deadlock needs two
 * transactions each waiting for a row the other inserted.  A batch waits
 * for a row only while it holds the batch lock, so at most one batch at a
 * time waits for rows, and only for rows of transactions that are not
 * running a batch.  A transaction that waits for the lock has not run a
 * batch yet (the lock is held to the end of the transaction, so a second
 * batch in the same transaction finds it already held), so it holds no row
 * a batch inserted.  Ordering the codes instead would not do: a later
 * round's codes can sort below codes another batch took in an earlier
 * round, and its waits cross again.
 *
 * Nor can a single autocommit shorten_url deadlock with a batch: it holds
 * no row but the one it is inserting.  What remains possible is what any
 * two transactions inserting the same keys in opposite orders risk: a
 * transaction that made links by other means (shorten_url, an INSERT)
 * before its shorten_urls, or after one in a transaction that stays open.
 *
 * The cost: batches run one at a time, each until its transaction ends,
 * so a long transaction after a shorten_urls holds up every other batch
 * (lock_timeout, statement_timeout and cancel apply to the wait).  Single
 * shorten_url and shorten_url_locked calls never take the lock and are not
 * held up by it.  On Citus the lock is local to the node that takes it, so
 * batches run on the coordinator only (citus_node.h).
 */
static void
take_batch_lock(void)
{
    /* Read-only (a hot standby too): 25006 as every writing function
     * gives, not the lock manager's 55000 for an exclusive lock during
     * recovery. */
    PreventCommandIfReadOnly("shorten_urls()");
    wait_for_extension_lock(BATCH_LOCK);
}

static HTAB *
create_round_table(int expected, int code_length)
{
    HASHCTL ctl;

    /* Keys are as long as the codes of this call, not the longest possible. */
    ctl.keysize = code_length + 1;
    ctl.entrysize = MAXALIGN(code_length + 1) + sizeof(DrawnCode);
    ctl.hcxt = CurrentMemoryContext;
    return hash_create("url_shortener codes of one round", expected, &ctl,
                       HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
}

/* hash_search in a round's table; the DrawnCode of the entry, or NULL. */
static DrawnCode *
search_round(const Batch *batch, HTAB *round, const char *code, HASHACTION action, bool *found)
{
    char *entry = (char *) hash_search(round, code, action, found);

    return entry == NULL ? NULL : (DrawnCode *) (entry + MAXALIGN(batch->code_length + 1));
}

/*
 * Draws a code for each pending position into its slot, distinct within the
 * round, recording them in round (which must be empty).  A drawn code that
 * may never be handed out (reserved_codes.h) is drawn again at once, like
 * one already drawn this round: checked here in C, not in the lookup
 * statement, where it cost about a tenth of a batch's time per URL
 * (bench/profile).  A position whose
 * draws keep landing on codes already drawn this round (a code space about
 * as small as the batch) gives up after max_attempts draws and waits for
 * the next round, so a round always ends.  Once the round holds every code
 * a draw can give, no position draws again: in a code space smaller than
 * the batch, the rest would each spend max_attempts draws on codes the
 * round already has, max_attempts times over (100 URLs in a space of 4 at
 * max_attempts 1,000 took 10.7 s).  The codes a draw can give are counted
 * under the alphabet of this round: no user code runs during the draws,
 * but a trigger that ran in an earlier round's insert may have set another.
 * Lists the positions that got a code in batch->drawn and returns how many
 * there are.
 */
static int
draw_round(Batch *batch, HTAB *round)
{
    char code[MAX_CODE_LENGTH + 1];
    int ndrawn = 0;
    const double drawable = pow((double) strlen(alphabet_setting), (double) batch->code_length) -
                            (double) unusable_codes_in(alphabet_setting, batch->code_length);

    for (int i = 0; i < batch->npending && (double) ndrawn < drawable; i++) {
        const int position = batch->pending[i];

        for (int draw = 0; draw < batch->max_attempts; draw++) {
            bool found;

            /* One check per draw: a tiny code space can need millions. */
            CHECK_FOR_INTERRUPTS();
            if (draw_code(code) != batch->code_length)
                ereport(ERROR,
                        (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                         errmsg("url_shortener.code_length changed during shorten_urls"),
                         errdetail("A trigger or function that the batch ran set it; one batch draws codes of one length."),
                         errhint("Set url_shortener.code_length before the call, not in a trigger on the links table.")));
            if (is_unusable_code(code))
                continue;
            DrawnCode *entry = search_round(batch, round, code, HASH_ENTER, &found);
            if (!found) {
                entry->position = position;
                entry->taken = false;
                memcpy(code_slot(batch, position), code, batch->code_length + 1);
                batch->drawn[ndrawn++] = position;
                break;
            }
        }
    }
    return ndrawn;
}

/* The round's entry for the code in column 1 of a row of SPI_tuptable. */
static DrawnCode *
entry_for_returned_code(const Batch *batch, HTAB *round, uint64 row)
{
    char code[MAX_CODE_LENGTH + 1];
    bool isnull;
    const Datum value = result_value(row, 1, TEXTOID, &isnull);

    if (isnull)
        elog(ERROR, "url_shortener: a NULL code came back from the table");
    text_to_cstring_buffer(DatumGetTextPP(value), code, sizeof(code));

    /* Of another length, the key comparison would only see its prefix. */
    DrawnCode *entry = (int) strlen(code) == batch->code_length
        ? search_round(batch, round, code, HASH_FIND, NULL)
        : NULL;
    if (entry == NULL)
        ereport(ERROR,
                (errcode(ERRCODE_TRIGGERED_ACTION_EXCEPTION),
                 errmsg("a trigger on the links table changed the code of a link"),
                 errdetail("Code \"%s\" came back from the insert, but shorten_urls did not draw it; nothing was stored.",
                           code)));
    return entry;
}

/*
 * A text array of the codes, or of the URLs, at the given positions.  The
 * code values are built in one buffer, and the buffer and the element list
 * are freed once construct_array has copied them.
 */
static Datum
array_at_positions(const Batch *batch, const int *positions, int n, bool of_codes)
{
    Datum *elements = (Datum *) palloc(sizeof(Datum) * (size_t) Max(n, 1));
    const size_t code_size = INTALIGN(VARHDRSZ + batch->code_length);
    char *code_values = of_codes ? (char *) palloc(code_size * (size_t) Max(n, 1)) : NULL;

    for (int i = 0; i < n; i++) {
        CHECK_FOR_INTERRUPTS();
        if (of_codes) {
            char *value = code_values + code_size * (size_t) i;

            SET_VARSIZE(value, VARHDRSZ + batch->code_length);
            memcpy(VARDATA(value), code_slot(batch, positions[i]), batch->code_length);
            elements[i] = PointerGetDatum(value);
        } else {
            elements[i] = batch->urls[positions[i]];
        }
    }
    ArrayType *array = construct_array(elements, n, TEXTOID, -1, false, TYPALIGN_INT);

    pfree(elements);
    if (code_values != NULL)
        pfree(code_values);
    return PointerGetDatum(array);
}

/*
 * Codes looked up per statement by mark_taken_codes.  The lookup's index
 * scan sorts its array of codes before it reads a row, without checking
 * for interrupts: a million codes in one statement kept a cancel waiting
 * for 2 s.  10,000 take a few milliseconds, and a round of a million
 * makes 100 lookups, each a fraction of the round's time.
 */
static const int TAKEN_LOOKUP_CODES = 10000;

/*
 * Marks in round the codes drawn for batch->drawn[0..ndrawn) that are
 * already taken, and returns how many are.
 */
static int
mark_taken_codes(Batch *batch, HTAB *round, int ndrawn)
{
    int ntaken = 0;

    for (int start = 0; start < ndrawn; start += TAKEN_LOOKUP_CODES) {
        const int n = Min(TAKEN_LOOKUP_CODES, ndrawn - start);
        Datum codes = array_at_positions(batch, batch->drawn + start, n, true);
        const uint64 taken = find_taken_codes(codes);

        for (uint64 row = 0; row < taken; row++)
            entry_for_returned_code(batch, round, row)->taken = true;
        ntaken += (int) taken;
        SPI_freetuptable(SPI_tuptable);
        pfree(DatumGetPointer(codes));
    }
    return ntaken;
}

/*
 * The expected number of taken codes among a round's draws above which the
 * round looks them up before inserting.  At or below it, one round in
 * twenty or fewer meets a taken code, which costs that round a rolled-back
 * insert and the same pairs again with ON CONFLICT; the lookup costs every
 * round about an eighth of its instructions and a twentieth of its time
 * (bench/README.md, "Where the time goes").
 */
static const double LOOKUP_ABOVE_EXPECTED_TAKEN = 0.05;

/*
 * Whether a round of ndrawn codes looks them up before inserting them.
 * Always where Citus is installed: there the table on this node may be a
 * coordinator's, with the rows on the shards, and its size says nothing.
 * Elsewhere when the most links the table can hold now (most_links_now, a
 * bound that never errs low) make more than LOOKUP_ABOVE_EXPECTED_TAKEN of
 * the drawn codes expected to be taken; and when the table cannot be
 * opened.  Links of other code lengths count as if they could collide,
 * which only makes the lookup likelier.
 */
static bool
lookup_before_insert(const Batch *batch, int ndrawn)
{
    if (OidIsValid(get_extension_oid("citus", true)))
        return true;
    const double links = most_links_now();
    if (links < 0)
        return true;
    const double space = pow((double) strlen(alphabet_setting), (double) batch->code_length);
    const double expected_taken = ndrawn * links / space;

    if (expected_taken > LOOKUP_ABOVE_EXPECTED_TAKEN)
        return true;
    ereport(DEBUG1,
            (errmsg_internal("shorten_urls inserts %d codes without looking them up: at most %.3g expected taken",
                             ndrawn, expected_taken)));
    return false;
}

/*
 * Stores what it can of the codes drawn for batch->drawn[0..ndrawn) and
 * marks the positions stored.  Runs inside the round's SPI connection:
 * what it allocates goes with it.
 */
static void
insert_round(Batch *batch, HTAB *round, int ndrawn)
{
    const int *positions = batch->drawn;
    int npositions = ndrawn;

    /* Codes already taken wait for the next round. */
    if (lookup_before_insert(batch, ndrawn) && mark_taken_codes(batch, round, ndrawn) > 0) {
        int *untaken = (int *) palloc(sizeof(int) * (size_t) ndrawn);

        npositions = 0;
        for (int i = 0; i < ndrawn; i++) {
            const DrawnCode *entry = search_round(batch, round, code_slot(batch, batch->drawn[i]),
                                                  HASH_FIND, NULL);

            if (!entry->taken)
                untaken[npositions++] = batch->drawn[i];
        }
        positions = untaken;
    }
    if (npositions == 0)
        return;

    Datum code_array = array_at_positions(batch, positions, npositions, true);
    Datum url_array = array_at_positions(batch, positions, npositions, false);
    if (insert_links_unless_a_code_is_taken(code_array, url_array, npositions)) {
        for (int i = 0; i < npositions; i++)
            batch->stored[positions[i]] = true;
    } else {
        /*
         * Only the pairs that come back are stored.  A pair a trigger
         * suppressed does not come back either: it counts as not stored,
         * is redrawn, and the next round's plain insert reports the trigger.
         */
        const uint64 inserted = insert_links_skipping_taken_codes(code_array, url_array);

        for (uint64 row = 0; row < inserted; row++)
            batch->stored[entry_for_returned_code(batch, round, row)->position] = true;
        SPI_freetuptable(SPI_tuptable);
    }
}

/*
 * One round: draws codes for the pending positions and stores what it can,
 * then drops the stored positions from the pending list.  The round has its
 * own SPI connection, and SPI_finish deletes its memory context with every
 * array, hash table and result the round made.
 */
static void
run_round(FunctionCallInfo fcinfo, Batch *batch, int round_number)
{
    connect_link_store(fcinfo);

    HTAB *round = create_round_table(batch->npending, batch->code_length);
    const int ndrawn = draw_round(batch, round);
    if (ndrawn > 0)
        insert_round(batch, round, ndrawn);

    /* For tests of the memory bound: the backend's memory at its peak in the round. */
    if (message_level_is_interesting(DEBUG1))
        ereport(DEBUG1,
                (errmsg_internal("shorten_urls round %d: %d URLs pending, %d drawn, %zu bytes of backend memory",
                                 round_number, batch->npending, ndrawn,
                                 MemoryContextMemAllocated(TopMemoryContext, true))));

    SPI_finish();

    int remaining = 0;
    for (int i = 0; i < batch->npending; i++) {
        CHECK_FOR_INTERRUPTS();
        if (!batch->stored[batch->pending[i]])
            batch->pending[remaining++] = batch->pending[i];
    }
    batch->npending = remaining;
}

/* Appends (url, code) for every position, in input order, to the result. */
static void
return_links(FunctionCallInfo fcinfo, const Batch *batch)
{
    ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
    /* One text value reused for every code: tuplestore_putvalues copies it. */
    union {
        int32 align;
        char bytes[VARHDRSZ + MAX_CODE_LENGTH];
    } code;

    SET_VARSIZE(code.bytes, VARHDRSZ + batch->code_length);
    for (int i = 0; i < batch->count; i++) {
        Datum values[2] = {batch->urls[i], PointerGetDatum(code.bytes)};
        bool row_nulls[2] = {false, false};

        CHECK_FOR_INTERRUPTS();
        memcpy(VARDATA(code.bytes), code_slot(batch, i), batch->code_length);
        tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, row_nulls);
    }
}

static Datum
shorten_many(PG_FUNCTION_ARGS)
{
    Datum *urls;
    bool *nulls;
    int count;
    Batch batch;

    if (PG_ARGISNULL(0))
        ereport(ERROR,
                (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
                 errmsg("urls must not be null")));

    /*
     * The call's own memory, deleted when it returns (and with the
     * statement's memory if it fails): the input, the per-URL arrays.
     */
    MemoryContext call_memory = AllocSetContextCreate(CurrentMemoryContext,
                                                      "url_shortener batch",
                                                      ALLOCSET_DEFAULT_SIZES);
    MemoryContext caller_memory = MemoryContextSwitchTo(call_memory);

    ArrayType *array = PG_GETARG_ARRAYTYPE_P(0);
    count = batch_size(array);
    deconstruct_array(array, TEXTOID, -1, false, TYPALIGN_INT, &urls, &nulls, &count);
    ensure_valid_urls(urls, nulls, count);
    /* 1.3: idempotency_keys, NULL for none. */
    const Datum *keys = PG_NARGS() >= 2 && !PG_ARGISNULL(1)
        ? idempotency_keys_argument(PG_GETARG_ARRAYTYPE_P(1), count)
        : NULL;

    MemoryContextSwitchTo(caller_memory);
    InitMaterializedSRF(fcinfo, 0);
    if (count == 0) {
        MemoryContextDelete(call_memory);
        return (Datum) 0;
    }
    MemoryContextSwitchTo(call_memory);

    /* On Citus the batch lock, and the keys' sequence locks, hold across
     * the cluster only if every batch takes them on the coordinator. */
    refuse_on_citus_worker(CoordinatorOnlyCall::shorten_urls);

    if (keys != NULL) {
        /* Every key's sequence lock (extension_locks.h), before the batch
         * lock and before any row: a transaction holding one sequence's
         * lock then never waits for a row of this batch while the batch
         * waits for it, nor for the batch lock this one holds. */
        PreventCommandIfReadOnly("shorten_urls()");
        wait_for_every_sequence_lock(KEY_SEQUENCE_LOCK);
        take_batch_lock();
        store_keyed_batch(fcinfo, urls, keys, count);
        MemoryContextSwitchTo(caller_memory);
        MemoryContextDelete(call_memory);
        return (Datum) 0;
    }

    batch.urls = urls;
    batch.count = count;
    batch.code_length = code_length_setting;
    batch.max_attempts = max_attempts_setting;
    batch.codes = (char *) palloc((size_t) (batch.code_length + 1) * (size_t) count);
    batch.stored = (bool *) palloc0(sizeof(bool) * (size_t) count);
    batch.pending = (int *) palloc(sizeof(int) * (size_t) count);
    batch.drawn = (int *) palloc(sizeof(int) * (size_t) count);
    batch.npending = count;
    for (int i = 0; i < count; i++)
        batch.pending[i] = i;

    take_batch_lock();

    for (int round_number = 1; round_number <= batch.max_attempts && batch.npending > 0; round_number++)
        run_round(fcinfo, &batch, round_number);

    if (batch.npending > 0)
        ereport(ERROR,
                (errcode(ERRCODE_URL_SHORTENER_CODE_SPACE_EXHAUSTED),
                 errmsg_plural("could not find free short codes after %d attempt",
                               "could not find free short codes after %d attempts",
                               batch.max_attempts, batch.max_attempts),
                 errdetail("%d of %d URLs were left without a free code; nothing was stored.",
                           batch.npending, count),
                 errhint("Increase url_shortener.code_length to enlarge the code space.")));

    return_links(fcinfo, &batch);

    MemoryContextSwitchTo(caller_memory);
    MemoryContextDelete(call_memory);
    return (Datum) 0;
}

URL_SHORTENER_SQL_FUNCTION(shorten_urls, shorten_many)
