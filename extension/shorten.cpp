/*
 * shorten.cpp
 *    shorten_url(url) and shorten_url_locked(url).
 *
 *    Optimistic: draw a code, insert it, and let the primary key be the only
 *    judge of uniqueness.  A collision rolls back that attempt's
 *    subtransaction and draws again, at most url_shortener.max_attempts
 *    times; then the call fails with SQLSTATE US001 and stores nothing.
 *    A drawn code that is a reserved word or a dot segment counts as taken.
 *
 *    Pessimistic: the same, after taking a transaction-scoped advisory lock
 *    that serializes generation among shorten_url_locked callers, and
 *    skipping codes already visible before trying to insert them.
 */
#include <cmath>

#include "citus_node.h"
#include "code_generator.h"
#include "entry_guard.h"
#include "extension_locks.h"
#include "idempotency.h"
#include "link_store.h"
#include "postgres_headers.h"
#include "settings.h"
#include "sqlstates.h"
#include "link_options.h"
#include "reserved_codes.h"
#include "url_argument.h"

/*
 * The advisory lock key of shorten_url_locked, in the two-int4 key space:
 * pg_advisory_xact_lock(1431456851, 1).  1431456851 is 0x55524C53, "URLS"
 * in ASCII.  Two-int4 keys never collide with bigint keys, so only an
 * application that also uses the class 1431456851 could wait on it.
 */
static const int32 GENERATION_LOCK_CLASS = 1431456851;
static const int32 GENERATION_LOCK_OBJECT = 1;

/*
 * Warn, once per session, when the chance that a call fails with US001
 * passes one in a million: p^max_attempts with p = links / code space, the
 * links estimated by the planner's row count of the table (so only once a
 * VACUUM or ANALYZE has counted them, and only from 1,000 links on: a tiny
 * table is a test, not a capacity problem).  Operators see it in the log
 * long before users see errors.
 */
static const double CAPACITY_WARNING_CHANCE = 1e-6;
static const double CAPACITY_WARNING_MIN_LINKS = 1000;
static bool capacity_warned = false;

static void
warn_if_code_space_filling(void)
{
    if (capacity_warned)
        return;
    const double links = estimated_link_count();
    const double space = pow((double) strlen(alphabet_setting), (double) code_length_setting) -
                         (double) unusable_codes_in(alphabet_setting, code_length_setting);
    const double chance = space > 0 ? pow(links / space, (double) max_attempts_setting) : 1.0;

    if (links >= CAPACITY_WARNING_MIN_LINKS && chance > CAPACITY_WARNING_CHANCE) {
        capacity_warned = true;
        ereport(WARNING,
                (errcode(ERRCODE_WARNING),
                 errmsg("the short-code space is filling up"),
                 errdetail("About %.0f links in a space of %.0f codes: about one call in %.0f will fail with SQLSTATE US001.",
                           links, space, chance < 1 ? 1 / chance : 1),
                 errhint("Increase url_shortener.code_length; url_shortener_capacity() shows the figures.")));
    }
}

static void
take_generation_lock(void)
{
    /* Waits like any heavyweight lock: lock_timeout and cancel apply. */
    DirectFunctionCall2(pg_advisory_xact_lock_int4,
                        Int32GetDatum(GENERATION_LOCK_CLASS),
                        Int32GetDatum(GENERATION_LOCK_OBJECT));
}

/* Stores url under the caller's alias, or raises US002 if it is taken. */
static Datum
store_under_alias(FunctionCallInfo fcinfo, const char *alias, text *url, const LinkLimits *limits)
{
    connect_link_store(fcinfo);

    /* The primary key decides: one attempt, never a retry onto another
     * code.  At REPEATABLE READ or SERIALIZABLE an alias the snapshot
     * shows taken is refused without the insert, whose ON CONFLICT DO
     * NOTHING fails with 40001 on a row changed since the snapshot (a
     * click changes the row). */
    const bool stored = !(IsolationUsesXactSnapshot() && code_is_visible(alias)) &&
                        insert_link_unless_code_taken(alias, PointerGetDatum(url), limits, true);

    SPI_finish();

    if (!stored)
        ereport(ERROR,
                (errcode(ERRCODE_URL_SHORTENER_ALIAS_TAKEN),
                 errmsg("alias \"%s\" is already taken", alias),
                 errhint("Choose another alias, or omit it to get a random code.")));
    PG_RETURN_TEXT_P(cstring_to_text(alias));
}

/*
 * Codes of a URL's reusable-link sequence tried before reuse gives up
 * (US001).  Fixed, not url_shortener.max_attempts: the sequence is the
 * same in every session, and nobody without the key can compute it to
 * squat it, so sixteen held codes mean a full code space, not bad luck.
 */
static const int REUSE_ATTEMPTS = 16;

/*
 * Returns the code of url's reusable link, making one if there is none.
 * The URL's codes come in a fixed order (derive_code, in the shape stored
 * with the key); the first that is free or already this URL's reusable
 * link is the answer, so two sessions reusing the same new URL at once
 * agree on it, and the primary key lets only one of them insert it.  A
 * code that vanished between the insert and the look (a rolled-back racer)
 * is tried again, at most REUSE_ATTEMPTS extra times in all.
 */
/*
 * For url's reusable link just made on code, number attempt of its
 * sequence, where release_code once freed another link's code (1.6): if
 * url's reusable link already exists further on (made while that other
 * link held code), the new row is taken back and code becomes that one.
 */
/*
 * At REPEATABLE READ or SERIALIZABLE, for a code the transaction's
 * snapshot shows without url's reusable link: 40001 if the newest
 * snapshot shows it, made by a transaction that committed since (as
 * refuse_key_link_since_snapshot, idempotency.cpp).
 */
static void
refuse_reusable_link_since_snapshot(text *url, const char *code)
{
    if (IsolationUsesXactSnapshot() && is_reusable_link_of(code, PointerGetDatum(url), true))
        ereport(ERROR,
                (errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
                 errmsg("could not serialize access due to concurrent update"),
                 errdetail("The URL's reusable link was made by a transaction that committed after this transaction's snapshot."),
                 errhint("Run the transaction again: it will answer that link.")));
}

/* Takes the lock of url's code sequence (extension_locks.h), named by the URL. */
static void
lock_reuse_sequence(text *url)
{
    wait_for_sequence_lock(REUSE_SEQUENCE_LOCK, VARDATA_ANY(url), VARSIZE_ANY_EXHDR(url));
}

static void
keep_reusable_link_beyond(const ReuseKey *key, text *url, int attempt, char *code)
{
    char later[MAX_CODE_LENGTH + 1];

    /* A reuse of url that went past a held code holds this lock until it
     * ends: wait, so that the look below (a new snapshot at READ
     * COMMITTED) sees the link it made further on. */
    lock_reuse_sequence(url);
    for (int next = attempt + 1; next < REUSE_ATTEMPTS; next++) {
        CHECK_FOR_INTERRUPTS();
        derive_code((const uint8 *) VARDATA_ANY(key->secret), VARSIZE_ANY_EXHDR(key->secret),
                    VARDATA_ANY(url), VARSIZE_ANY_EXHDR(url), (uint32) next,
                    key->code_length, key->alphabet, later);
        if (is_unusable_code(later))
            continue;
        if (is_reusable_link_of(later, PointerGetDatum(url))) {
            take_back_new_link(code);
            memcpy(code, later, strlen(later) + 1);
            return;
        }
        refuse_reusable_link_since_snapshot(url, later);
    }
}

/*
 * At REPEATABLE READ or SERIALIZABLE, what holds code for url, read in the
 * transaction's snapshot and in the newest, as snapshot_lookup
 * (idempotency.cpp): REUSE_FOUND or REUSE_OCCUPIED where both agree,
 * REUSE_VANISHED (the insert decides) where the snapshot shows none or
 * another link the newest does not, 40001 where the snapshot shows url's
 * link and the newest does not.
 */
static ReuseOutcome
snapshot_holder(const char *code, text *url)
{
    const ReuseOutcome in_snapshot = reusable_code_holder_of(code, PointerGetDatum(url), false);

    if (in_snapshot == REUSE_VANISHED)
        return REUSE_VANISHED;
    const ReuseOutcome newest = reusable_code_holder_of(code, PointerGetDatum(url), true);
    if (in_snapshot == REUSE_OCCUPIED)
        return newest == REUSE_OCCUPIED ? REUSE_OCCUPIED : REUSE_VANISHED;
    if (newest != REUSE_FOUND)
        ereport(ERROR,
                (errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
                 errmsg("could not serialize access due to concurrent update"),
                 errdetail("The URL's reusable link was changed by a transaction that committed after this transaction's snapshot."),
                 errhint("Run the transaction again.")));
    return REUSE_FOUND;
}

/*
 * Whether one of the codes before attempt in url's sequence is url's
 * reusable link (code becomes it), looked at with a new snapshot (at READ
 * COMMITTED).
 */
static bool
reusable_link_among_passed(const ReuseKey *key, text *url, int attempt, char *code)
{
    char earlier[MAX_CODE_LENGTH + 1];

    for (int before = 0; before < attempt; before++) {
        CHECK_FOR_INTERRUPTS();
        derive_code((const uint8 *) VARDATA_ANY(key->secret), VARSIZE_ANY_EXHDR(key->secret),
                    VARDATA_ANY(url), VARSIZE_ANY_EXHDR(url), (uint32) before,
                    key->code_length, key->alphabet, earlier);
        if (is_unusable_code(earlier))
            continue;
        if (is_reusable_link_of(earlier, PointerGetDatum(url))) {
            memcpy(code, earlier, strlen(earlier) + 1);
            return true;
        }
        refuse_reusable_link_since_snapshot(url, earlier);
    }
    return false;
}

static Datum
reuse_or_store(FunctionCallInfo fcinfo, text *url)
{
    char code[MAX_CODE_LENGTH + 1];
    ReuseKey key;
    bool done = false;
    bool passed_held = false;       /* went past a code another link holds */
    bool sequence_locked = false;
    const bool snapshot_isolation = IsolationUsesXactSnapshot();
    int attempt = 0;
    int retries = 0;

    connect_link_store(fcinfo);
    read_reuse_key(&key);

    while (attempt < REUSE_ATTEMPTS && retries <= REUSE_ATTEMPTS && !done) {
        CHECK_FOR_INTERRUPTS();
        derive_code((const uint8 *) VARDATA_ANY(key.secret), VARSIZE_ANY_EXHDR(key.secret),
                    VARDATA_ANY(url), VARSIZE_ANY_EXHDR(url), (uint32) attempt,
                    key.code_length, key.alphabet, code);
        if (is_unusable_code(code)) {
            attempt++;
            continue;
        }
        /* A look before the insert, as store_idempotently's
         * (idempotency.cpp): at REPEATABLE READ or SERIALIZABLE what the
         * snapshot and the newest one both show is the answer, without
         * the insert's 40001 on a row a click changed since; at READ
         * COMMITTED, once past a held code, the URL's link is found
         * without the sequence lock and another link is passed over. */
        if (snapshot_isolation || (passed_held && !sequence_locked)) {
            const ReuseOutcome holder = snapshot_isolation
                ? snapshot_holder(code, url)
                : reusable_code_holder_of(code, PointerGetDatum(url), false);
            if (holder == REUSE_FOUND) {
                done = true;
                continue;
            }
            if (holder == REUSE_OCCUPIED) {
                passed_held = true;
                attempt++;
                continue;
            }
        }
        if (passed_held && !sequence_locked) {
            /* About to make the URL's reusable link past a held code:
             * the sequence's lock, then a new look at the codes passed
             * (as store_idempotently does). */
            lock_reuse_sequence(url);
            sequence_locked = true;
            if (reusable_link_among_passed(&key, url, attempt, code)) {
                done = true;
                continue;
            }
        }
        switch (store_reusable_link(code, PointerGetDatum(url))) {
            case REUSE_CREATED:
                if (code_was_released(code))
                    keep_reusable_link_beyond(&key, url, attempt, code);
                done = true;
                break;
            case REUSE_FOUND:
                done = true;
                break;
            case REUSE_OCCUPIED:
                passed_held = true;
                attempt++;
                break;
            case REUSE_VANISHED:
                retries++;
                break;      /* the same code again */
        }
    }

    if (!done && retries > REUSE_ATTEMPTS)
        refuse_code_never_stored(code, retries);
    SPI_finish();

    if (!done)
        ereport(ERROR,
                (errcode(ERRCODE_URL_SHORTENER_CODE_SPACE_EXHAUSTED),
                 errmsg_plural("could not find a free short code after %d attempt",
                               "could not find a free short code after %d attempts",
                               attempt + retries, attempt + retries),
                 errdetail("Each of the %d codes this URL's reusable link may take is held by another link.",
                           REUSE_ATTEMPTS),
                 errhint("Codes of reusable links take the shape stored in the table reuse_key, not url_shortener.code_length: raise reuse_key.code_length to lengthen them.")));
    PG_RETURN_TEXT_P(cstring_to_text(code));
}

/*
 * Returns the code of the link of idempotency_key, storing url under it
 * unless the same request did before (idempotency.h).
 */
static Datum
store_with_key(FunctionCallInfo fcinfo, text *idempotency_key, text *url, const LinkLimits *limits)
{
    char code[MAX_CODE_LENGTH + 1];
    ReuseKey secret;
    IdempotentRequest request;

    connect_link_store(fcinfo);
    read_reuse_key(&secret);
    describe_idempotent_request(&secret, idempotency_key, url, limits, &request);
    store_idempotently(&secret, &request, PointerGetDatum(url), limits, code);
    SPI_finish();

    PG_RETURN_TEXT_P(cstring_to_text(code));
}

/* The reuse argument: false unless given true; NULL is refused. */
static bool
reuse_argument(FunctionCallInfo fcinfo, int argno)
{
    if (PG_ARGISNULL(argno))
        ereport(ERROR,
                (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
                 errmsg("reuse must not be null")));
    return PG_GETARG_BOOL(argno);
}

/*
 * The shared body of both variants; serialize selects the locked one.
 * Version 1.0's functions have the URL only; 1.1's also alias, reuse,
 * expires_at and max_clicks (arguments 1 to 4); 1.3's also
 * idempotency_key (argument 5).
 */
static Datum
shorten(FunctionCallInfo fcinfo, bool serialize)
{
    char code[Max(MAX_CODE_LENGTH, MAX_ALIAS_LENGTH) + 1];
    const int max_attempts = max_attempts_setting;
    bool stored = false;
    LinkLimits limits = {false, (Datum) 0, false, (Datum) 0};
    bool has_alias = false;
    bool reuse = false;
    text *idempotency_key = NULL;

    text *url = valid_url_argument(fcinfo, 0, "url");
    if (PG_NARGS() >= 5) {
        has_alias = alias_argument(fcinfo, 1, code);
        reuse = reuse_argument(fcinfo, 2);
        /* With a key, only a new link's expiry is checked (store_idempotently). */
        limits_arguments(fcinfo, 3, 4, PG_NARGS() < 6 || PG_ARGISNULL(5), &limits);
    }
    if (PG_NARGS() >= 6)
        idempotency_key = idempotency_key_argument(fcinfo, 5);
    if (reuse && (has_alias || limits.has_expiry || limits.has_max_clicks))
        ereport(ERROR,
                (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                 errmsg("reuse cannot be combined with alias, expires_at or max_clicks"),
                 errdetail("Only a link with a random code and no limits is shared by reuse.")));
    if (idempotency_key != NULL && (has_alias || reuse))
        ereport(ERROR,
                (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                 errmsg("idempotency_key cannot be combined with alias or reuse"),
                 errdetail("An alias is already the identity of its link, and reuse already returns the same link for the same URL.")));

    if (idempotency_key != NULL)
        refuse_on_citus_worker(serialize ? CoordinatorOnlyCall::shorten_url_locked_with_key
                                         : CoordinatorOnlyCall::shorten_url_with_key);
    else if (reuse)
        refuse_on_citus_worker(serialize ? CoordinatorOnlyCall::shorten_url_locked_with_reuse
                                         : CoordinatorOnlyCall::shorten_url_with_reuse);
    else if (serialize)
        refuse_on_citus_worker(CoordinatorOnlyCall::shorten_url_locked);

    if (serialize)
        take_generation_lock();

    if (idempotency_key != NULL)
        return store_with_key(fcinfo, idempotency_key, url, &limits);
    if (has_alias)
        return store_under_alias(fcinfo, code, url, &limits);
    if (reuse)
        return reuse_or_store(fcinfo, url);

    connect_link_store(fcinfo);

    for (int attempt = 1; attempt <= max_attempts && !stored; attempt++) {
        draw_code(code);
        /* A reserved word or dot segment counts as a taken code. */
        if (is_unusable_code(code) || (serialize && code_is_visible(code)))
            continue;
        stored = insert_link_unless_code_taken(code, PointerGetDatum(url), &limits, false);
    }

    SPI_finish();

    if (!stored)
        ereport(ERROR,
                (errcode(ERRCODE_URL_SHORTENER_CODE_SPACE_EXHAUSTED),
                 errmsg_plural("could not find a free short code after %d attempt",
                               "could not find a free short code after %d attempts",
                               max_attempts, max_attempts),
                 errdetail("Every code drawn from the %d-character alphabet at length %d was already taken.",
                           (int) strlen(alphabet_setting), code_length_setting),
                 errhint("Increase url_shortener.code_length to enlarge the code space.")));

    warn_if_code_space_filling();
    PG_RETURN_TEXT_P(cstring_to_text(code));
}

static Datum
shorten_optimistic(PG_FUNCTION_ARGS)
{
    return shorten(fcinfo, false);
}

static Datum
shorten_serialized(PG_FUNCTION_ARGS)
{
    return shorten(fcinfo, true);
}

URL_SHORTENER_SQL_FUNCTION(shorten_url, shorten_optimistic)
URL_SHORTENER_SQL_FUNCTION(shorten_url_locked, shorten_serialized)
