/*
 * link_store.h
 *    The SQL that reads and writes url_shortener's table, as SPI plans
 *    prepared once per backend and kept.  Every statement touches the rows
 *    of one short_code, so the table can be distributed by short_code.
 *
 *    All functions here must be called between SPI_connect and SPI_finish.
 */
#ifndef URL_SHORTENER_LINK_STORE_H
#define URL_SHORTENER_LINK_STORE_H

#include "postgres_headers.h"

/*
 * Makes the plans ready for the extension whose SQL function is
 * function_oid (its schema is the extension's schema), after locking its
 * table urls in lockmode, the lock the call's statements take on it
 * (RowExclusiveLock for a call that writes links, AccessShareLock for one
 * that only reads them).  Cheap after the first call in a backend.
 */
void open_link_store(Oid function_oid, LOCKMODE lockmode);

/* SPI_connect, then open_link_store for the SQL function being called. */
void connect_link_store(FunctionCallInfo fcinfo, LOCKMODE lockmode = RowExclusiveLock);

/* The optional limits of a new link; a false has_* means none (NULL). */
typedef struct LinkLimits {
    bool has_expiry;
    Datum expires_at;       /* timestamptz */
    bool has_max_clicks;
    Datum max_clicks;       /* int8 */
} LinkLimits;

/*
 * Inserts (code, url, limits) as one link, an alias's if is_alias.  Returns
 * true if the row was stored, false if code is taken.  The plain INSERT
 * runs inside an internal subtransaction; when it fails with a unique
 * violation, that is rolled back and the same row is offered again with
 * INSERT ... ON CONFLICT (short_code) DO NOTHING: a row back means stored,
 * none means the code is taken, and a unique violation it raises belongs to
 * another constraint and propagates unchanged.  The decision needs no
 * constraint name and no cached state, so it holds when an invalidation
 * arrives mid-call and when the error comes from a remote Citus shard.
 * Raises 09000 if a trigger suppressed the row (nothing was stored).
 */
bool insert_link_unless_code_taken(const char *code, Datum url, const LinkLimits *limits,
                                   bool is_alias);

/*
 * Inserts the npairs pairs (codes[i], urls[i]) of two text arrays in one
 * statement inside an internal subtransaction: all of them (true), or,
 * after any unique violation, none (false).  Fewer rows stored than pairs
 * given (a BEFORE INSERT trigger returned NULL) is 09000, as for one link.
 * Which constraint was violated is not judged here: the caller follows a
 * false with insert_links_skipping_taken_codes, which skips taken codes
 * and raises a violation of any other unique constraint unchanged.  An
 * internal error (XX000) counts as a possible unique violation too: that
 * is how Citus relays a shard's one from this statement.  Other errors are
 * re-thrown.
 */
bool insert_links_unless_a_code_is_taken(Datum codes, Datum urls, int npairs);

/*
 * Which codes of a text array are in the table: left in SPI_tuptable as
 * text in column 1; returns their count.  Reads with a fresh snapshot, so it
 * sees what a lock holder just committed and what this statement inserted.
 */
uint64 find_taken_codes(Datum codes);

/*
 * The most links the table can hold now: its pages times the most rows a
 * heap page can hold (MaxHeapTuplesPerPage), with no statistics involved,
 * so it never errs low.  Usually several times the true count.  -1 if the
 * table is gone (a concurrent DROP EXTENSION): the caller's next
 * statement will say so.
 */
double most_links_now(void);

/*
 * Inserts the pairs (codes[i], urls[i]) in one statement, skipping every
 * pair whose code is taken (INSERT ... ON CONFLICT (short_code) DO NOTHING:
 * no error, no subtransaction; a concurrent uncommitted insert of the same
 * code is waited for).  The codes inserted are left in SPI_tuptable, one
 * per row, as text in column 1; returns their count.
 */
uint64 insert_links_skipping_taken_codes(Datum codes, Datum urls);

/* Whether a row with this code exists, read with a fresh snapshot. */
bool code_is_visible(const char *code);

/*
 * Counts one click on code and returns its URL, copied into the caller's
 * memory context (the one current before SPI_connect); NULL if no such
 * code.  One UPDATE ... RETURNING: concurrent clicks are never lost.
 */
text *count_click_and_fetch_url(text *code);

typedef enum EditOutcome {
    EDIT_DONE,              /* *version is the link's new version */
    EDIT_NO_SUCH_LINK,
    EDIT_VERSION_CHANGED,   /* *version is the link's current version */
    EDIT_NOT_NEEDED         /* the link is at the version, already as asked */
} EditOutcome;

/*
 * Replaces the URL of code if its version is still expected_version, and
 * increments the version, in one UPDATE: of two concurrent edits from the
 * same version, the second re-checks the version after the first commits
 * and finds it changed.
 */
EditOutcome replace_link_url(text *code, Datum url, int64 expected_version, int64 *version);

/*
 * The planner's estimate of the rows in the table (pg_class.reltuples, as
 * the last VACUUM or ANALYZE left it; 0 if never).  A syscache lookup:
 * cheap enough for every call.
 */
double estimated_link_count(void);

/* How the codes of reusable links are made: fixed when the key is made. */
typedef struct ReuseKey {
    const bytea *secret;
    int code_length;
    const char *alphabet;
} ReuseKey;

/*
 * Reads the extension's reuse key (one row of table reuse_key), making it
 * on first use: 32 bytes from pg_strong_random and the current code_length
 * and alphabet, inserted with ON CONFLICT DO NOTHING and read back, so two
 * first callers agree and a restored dump's row is simply used.  Read on
 * every call, never cached: a restored or replaced key takes effect at
 * once.  The result lives in SPI's memory.
 */
void read_reuse_key(ReuseKey *key);

/*
 * Raises 09000 for a code whose insert (ON CONFLICT DO NOTHING) stored no
 * row tries times while no link held it: a BEFORE INSERT trigger that
 * returns NULL, not a racer that rolled back again and again.
 */
void refuse_code_never_stored(const char *code, int tries);

typedef enum ReuseOutcome {
    REUSE_CREATED,      /* a new reusable link now has code */
    REUSE_FOUND,        /* code is already the reusable link of this URL */
    REUSE_OCCUPIED,     /* another link has code: try the URL's next code */
    REUSE_VANISHED      /* code was held by an insert that rolled back, or released: try it again */
} ReuseOutcome;

/*
 * Inserts (code, url) as a reusable link unless code is taken, and tells
 * what holds code.  One INSERT ... ON CONFLICT DO NOTHING, then, only on a
 * conflict, one lookup.
 */
ReuseOutcome store_reusable_link(const char *code, Datum url);

/* What became of the insert of a link made with an idempotency key (1.3). */
typedef enum IdempotentInsert {
    IDEMPOTENT_CREATED,     /* the link is new and has code */
    IDEMPOTENT_HELD,        /* a link holds code; *holder_digest says whose */
    IDEMPOTENT_VANISHED     /* code was held by an insert that rolled back, or released: try it again */
} IdempotentInsert;

/*
 * Inserts (code, url, limits) as the link of an idempotency key, recording
 * digests (bytea, urls.idempotency_digest), unless code is taken.  One
 * INSERT ... ON CONFLICT (short_code) DO NOTHING (which waits for a
 * concurrent insert of the same code), then, only on a conflict, one
 * lookup by code, which leaves the holder's idempotency_digest in
 * *holder_digest (NULL if it has none; palloc'd).  No subtransaction.
 */
IdempotentInsert store_idempotent_link(const char *code, Datum url, const LinkLimits *limits,
                                       Datum digests, bytea **holder_digest);

/*
 * Inserts the rows (codes[i], urls[i], digests[i]) of three arrays in one
 * statement, skipping every row whose code is taken (ON CONFLICT
 * (short_code) DO NOTHING, which also skips a later row of the same
 * statement with an earlier row's code).  The rows inserted are left in
 * SPI_tuptable, their code (text) in column 1 and their digests (bytea)
 * in column 2; returns their count.
 */
uint64 insert_idempotent_links_skipping_taken_codes(Datum codes, Datum urls, Datum digests);

/* The outcome of a one-row change to a link (retire, disable, enable, release). */
typedef enum LinkChange {
    RETIRE_LINK,        /* a live link becomes a tombstone */
    DISABLE_LINK,       /* an enabled live link is disabled and no longer reusable */
    ENABLE_LINK,        /* a disabled live link is enabled */
    RELEASE_CODE        /* a tombstone is deleted, freeing its code */
} LinkChange;

/*
 * Applies change to the row of code; true if a row was changed.  From 1.6
 * a code that RELEASE_CODE frees is also recorded in released_codes.
 */
bool change_link(LinkChange change, text *code);

/*
 * Column column (from 1) of row row of SPI_tuptable, which must be of type
 * type.  The kept plans are not fixed to their result types: after an
 * ALTER TABLE ... ALTER COLUMN ... TYPE on the extension's table the plan
 * cache re-plans them with the new types, which are refused here (42804)
 * rather than misread.
 */
Datum result_value(uint64 row, int column, Oid type, bool *isnull);

/* The same check for every column of SPI_tuptable against desc. */
void ensure_result_types(TupleDesc desc);

/*
 * Whether release_code ever freed code (1.6; always false before): a link
 * just made there with a key or for reuse must first look further along
 * its sequence, where the key's or URL's link may have gone while another
 * link held code.  One lookup by code, in a new snapshot.
 */
/*
 * Runs work(arg) in an internal subtransaction, as PL/pgSQL's EXCEPTION
 * block does (exec_stmt_block: remember the memory context and resource
 * owner, begin, run, and on error copy the error out, roll back, restore
 * both, then decide).  Kept, its locks passing to the transaction, when
 * work returns true; rolled back when it returns false.  An error rolls it
 * back and is re-thrown unchanged, unless caught (may be NULL) says it is
 * one to return false for.  work must own no C++ object (it may ereport).
 */
bool run_in_subtransaction(bool (*work)(void *arg), void *arg, bool (*caught)(const ErrorData *error));

bool code_was_released(const char *code);

/*
 * Leaves in SPI_tuptable which of codes (text[]) release_code ever freed,
 * their code (text) in column 1, and returns their count (the caller
 * frees the tuptable when it is not 0); 0 before 1.6.  One multi-shard
 * statement, for a batch.
 */
uint64 find_released_codes(Datum codes);

/*
 * Deletes the live link code that this transaction has just inserted,
 * because the link it was made for already exists under a later code of
 * its sequence.
 */
void take_back_new_link(const char *code);

/*
 * Whether code is url's enabled reusable link (a lookup by code).  latest:
 * read with the newest snapshot, not the transaction's (at REPEATABLE
 * READ, to see a link committed since the snapshot).
 */
bool is_reusable_link_of(const char *code, Datum url, bool latest = false);

/*
 * What holds code for url: REUSE_FOUND (url's enabled reusable link),
 * REUSE_OCCUPIED (another link) or REUSE_VANISHED (none); latest as above.
 */
ReuseOutcome reusable_code_holder_of(const char *code, Datum url, bool latest);

/*
 * Whether a row holds code; if so *holder_digest is its idempotency_digest
 * (palloc'd), or NULL if it has none.  A lookup by code, in a new snapshot
 * (latest: the newest, also at REPEATABLE READ, as is_reusable_link_of).
 */
bool find_idempotency_digest(const char *code, bytea **holder_digest, bool latest = false);

/*
 * Applies change (not RELEASE_CODE) to the live link code only if its
 * version is still expected_version, in one UPDATE that increments it.
 * EDIT_DONE: *version is the new version.  EDIT_NOT_NEEDED: the link is at
 * expected_version and already retired, disabled or enabled as asked.
 * EDIT_VERSION_CHANGED: *version is the link's current version.
 */
EditOutcome change_link_at(LinkChange change, text *code, int64 expected_version, int64 *version);

/*
 * Raises US003 for the link code, at version where expected_version was
 * expected; hint says what to do.
 */
void report_version_conflict(text *code, int64 expected_version, int64 version, const char *hint)
    pg_attribute_noreturn();

/*
 * Leaves the public facts of the live link code in SPI_tuptable (one row,
 * the columns of url_stats) and returns true; false if there is none.
 */
bool find_link_stats(text *code);

/*
 * Retires up to batch_size expired or used-up links in one statement;
 * returns how many.  Not keyed by one code: a multi-shard UPDATE without
 * row locks taken ahead, which Citus can run.
 */
uint64 retire_finished_links(int32 batch_size);

/*
 * Leaves (code length, drawn codes) in SPI_tuptable, one row per length,
 * ascending: every row that is not an alias, tombstones included, whose
 * code is spelled in alphabet (a code drawn under an earlier alphabet with
 * another character in it is not in the space draws now search).
 */
uint64 count_drawn_codes(const char *alphabet);

/*
 * Whether source_text is the text of one of the plans kept here, compared
 * by address: SPI_execute_plan hands the executor the kept plan's own copy
 * (SPI_cursor_open makes a new one, so a statement run through a cursor is
 * not recognised).  Callable outside SPI, from an executor hook.
 */
bool link_store_owns_statement(const char *source_text);

#endif
