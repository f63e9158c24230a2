/*
 * shorten_batch.cpp
 *    shorten_urls(urls text[]): many links in one statement, for imports.
 *
 *    Every URL is checked first, so one bad URL stores nothing.  Then in
 *    rounds, each for the URLs still without a code:
 *      1. draw a code for each, distinct within the round;
 *      2. look up which of them are already taken (one query; usually
 *         none), and leave those URLs for the next round;
 *      3. insert the rest with one plain INSERT inside one subtransaction;
 *      4. only if a concurrent writer took one of those codes meanwhile (the
 *         primary key says so), roll that back and insert the same pairs
 *         with INSERT ... ON CONFLICT (short_code) DO NOTHING RETURNING,
 *         keeping the ones that went in.
 *    A collision costs a redraw of the losers only, never a subtransaction
 *    per row; ON CONFLICT's speculative insertion, markedly slower per row,
 *    is paid only in the rare round that races a concurrent writer.  After
 *    url_shortener.max_attempts rounds with URLs left over, the call fails
 *    with SQLSTATE US001 and, being one statement, stores nothing.
 *
 *    The result lists (url, short_code) in the order of the input array.
 */
#include "code_generator.h"
#include "entry_guard.h"
#include "link_store.h"
#include "postgres_headers.h"
#include "settings.h"
#include "sqlstates.h"
#include "url_argument.h"

extern "C" {
#include "funcapi.h"
#include "utils/array.h"
#include "utils/hsearch.h"
}

/* One code drawn in the current round, and the input position it is for. */
typedef struct DrawnCode {
    char code[MAX_CODE_LENGTH + 1];     /* hash key */
    int position;
    bool taken;                         /* already in the table before the insert */
} DrawnCode;

/* Error context: which element of the array a URL error is about. */
typedef struct ElementPosition {
    int position;
    int count;
} ElementPosition;

static void
element_error_context(void *arg)
{
    const ElementPosition *at = (const ElementPosition *) arg;

    errcontext("URL %d of %d in the array", at->position + 1, at->count);
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
        if (nulls[at.position])
            ereport(ERROR,
                    (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
                     errmsg("url must not be null")));
        ensure_valid_url(DatumGetTextPP(urls[at.position]));
    }

    error_context_stack = callback.previous;
}

static HTAB *
create_round_table(int expected)
{
    HASHCTL ctl;

    /* Keys are as long as the codes of this call, not the longest possible. */
    ctl.keysize = code_length_setting + 1;
    ctl.entrysize = sizeof(DrawnCode);
    ctl.hcxt = CurrentMemoryContext;
    return hash_create("url_shortener codes of one round", expected, &ctl,
                       HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
}

/*
 * Draws a code for each position in pending[0..npending) into its slot of
 * codes (stride MAX_CODE_LENGTH + 1), distinct within the round, recording
 * them in round (which must be empty).  A position whose draws keep landing
 * on codes already drawn this round (a code space about as small as the
 * batch) gives up after max_attempts draws and waits for the next round, so
 * a round always ends.  Copies the positions that got a code to drawn[] and
 * returns how many there are.
 */
static int
draw_round(HTAB *round, const int *pending, int npending, char *codes, int *drawn)
{
    int ndrawn = 0;

    for (int i = 0; i < npending; i++) {
        char *code = codes + (size_t) pending[i] * (MAX_CODE_LENGTH + 1);

        for (int draw = 0; draw < max_attempts_setting; draw++) {
            bool found;

            draw_code(code);
            DrawnCode *entry = (DrawnCode *) hash_search(round, code, HASH_ENTER, &found);
            if (!found) {
                entry->position = pending[i];
                entry->taken = false;
                drawn[ndrawn++] = pending[i];
                break;
            }
        }
    }
    return ndrawn;
}

/* The round's entry for the code in column 1 of a row of SPI_tuptable. */
static DrawnCode *
entry_for_returned_code(HTAB *round, uint64 row)
{
    char code[MAX_CODE_LENGTH + 1];
    bool isnull;
    const Datum value = SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, 1, &isnull);

    if (isnull)
        elog(ERROR, "url_shortener: a NULL code came back from the table");
    text_to_cstring_buffer(DatumGetTextPP(value), code, sizeof(code));

    DrawnCode *entry = (DrawnCode *) hash_search(round, code, HASH_FIND, NULL);
    if (entry == NULL)
        elog(ERROR, "url_shortener: a code came back that this round did not draw");
    return entry;
}

/* A text array of the codes, or of the URLs, at the given positions. */
static Datum
array_at_positions(const int *positions, int n, const char *codes, const Datum *urls)
{
    Datum *elements = (Datum *) palloc(sizeof(Datum) * n);

    for (int i = 0; i < n; i++)
        elements[i] = codes != NULL
            ? CStringGetTextDatum(codes + (size_t) positions[i] * (MAX_CODE_LENGTH + 1))
            : urls[positions[i]];
    return PointerGetDatum(construct_array(elements, n, TEXTOID, -1, false, TYPALIGN_INT));
}

/*
 * Stores what it can of the codes drawn for drawn[0..ndrawn) and marks the
 * positions stored.  Runs inside SPI: what it allocates goes with the SPI
 * procedure context.
 */
static void
insert_round(HTAB *round, const int *drawn, int ndrawn, const char *codes, const Datum *urls,
             bool *stored)
{
    Datum code_array = array_at_positions(drawn, ndrawn, codes, NULL);
    Datum url_array = array_at_positions(drawn, ndrawn, NULL, urls);
    const int *positions = drawn;
    int npositions = ndrawn;

    /* Codes already taken wait for the next round. */
    const uint64 taken = find_taken_codes(code_array);
    if (taken > 0) {
        for (uint64 row = 0; row < taken; row++)
            entry_for_returned_code(round, row)->taken = true;
        int *untaken = (int *) palloc(sizeof(int) * ndrawn);
        npositions = 0;
        for (int i = 0; i < ndrawn; i++) {
            const char *code = codes + (size_t) drawn[i] * (MAX_CODE_LENGTH + 1);
            const DrawnCode *entry = (const DrawnCode *) hash_search(round, code, HASH_FIND, NULL);

            if (!entry->taken)
                untaken[npositions++] = drawn[i];
        }
        positions = untaken;
        code_array = array_at_positions(positions, npositions, codes, NULL);
        url_array = array_at_positions(positions, npositions, NULL, urls);
    }
    SPI_freetuptable(SPI_tuptable);

    if (npositions > 0) {
        if (insert_links_unless_a_code_is_taken(code_array, url_array)) {
            for (int i = 0; i < npositions; i++)
                stored[positions[i]] = true;
        } else {
            const uint64 inserted = insert_links_skipping_taken_codes(code_array, url_array);

            for (uint64 row = 0; row < inserted; row++)
                stored[entry_for_returned_code(round, row)->position] = true;
            SPI_freetuptable(SPI_tuptable);
        }
    }
}

static Datum
shorten_many(PG_FUNCTION_ARGS)
{
    Datum *urls;
    bool *nulls;
    int count;

    if (PG_ARGISNULL(0))
        ereport(ERROR,
                (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
                 errmsg("urls must not be null")));
    ArrayType *array = PG_GETARG_ARRAYTYPE_P(0);
    if (ARR_NDIM(array) > 1)
        ereport(ERROR,
                (errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
                 errmsg("urls must be a one-dimensional array")));
    deconstruct_array(array, TEXTOID, -1, false, TYPALIGN_INT, &urls, &nulls, &count);
    ensure_valid_urls(urls, nulls, count);

    InitMaterializedSRF(fcinfo, 0);
    if (count == 0)
        return (Datum) 0;

    /*
     * Working memory of this call, allocated before SPI_connect so that it
     * outlives SPI_finish: the drawn codes, one slot of MAX_CODE_LENGTH + 1
     * bytes per URL, and who is stored and who still waits for a code.
     */
    char *codes = (char *) palloc(sizeof(char) * (MAX_CODE_LENGTH + 1) * (size_t) count);
    bool *stored = (bool *) palloc0(sizeof(bool) * count);
    int *pending = (int *) palloc(sizeof(int) * count);
    int *drawn = (int *) palloc(sizeof(int) * count);
    int npending = count;
    for (int i = 0; i < count; i++)
        pending[i] = i;

    connect_link_store(fcinfo);

    for (int round_number = 1; round_number <= max_attempts_setting && npending > 0; round_number++) {
        HTAB *round = create_round_table(npending);

        CHECK_FOR_INTERRUPTS();
        const int ndrawn = draw_round(round, pending, npending, codes, drawn);
        if (ndrawn > 0)
            insert_round(round, drawn, ndrawn, codes, urls, stored);
        hash_destroy(round);

        int remaining = 0;
        for (int i = 0; i < npending; i++)
            if (!stored[pending[i]])
                pending[remaining++] = pending[i];
        npending = remaining;
    }

    SPI_finish();

    if (npending > 0)
        ereport(ERROR,
                (errcode(ERRCODE_URL_SHORTENER_CODE_SPACE_EXHAUSTED),
                 errmsg_plural("could not find free short codes after %d attempt",
                               "could not find free short codes after %d attempts",
                               max_attempts_setting, max_attempts_setting),
                 errdetail("%d of %d URLs were left without a free code; nothing was stored.",
                           npending, count),
                 errhint("Increase url_shortener.code_length to enlarge the code space.")));

    ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
    for (int i = 0; i < count; i++) {
        Datum values[2] = {urls[i],
                           CStringGetTextDatum(codes + (size_t) i * (MAX_CODE_LENGTH + 1))};
        bool row_nulls[2] = {false, false};

        tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, row_nulls);
    }
    return (Datum) 0;
}

URL_SHORTENER_SQL_FUNCTION(shorten_urls, shorten_many)
