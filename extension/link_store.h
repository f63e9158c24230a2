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
 * function_oid (its schema is the extension's schema).  Cheap after the
 * first call in a backend.
 */
void open_link_store(Oid function_oid);

/* SPI_connect, then open_link_store for the SQL function being called. */
void connect_link_store(FunctionCallInfo fcinfo);

/* The optional limits of a new link; a false has_* means none (NULL). */
typedef struct LinkLimits {
    bool has_expiry;
    Datum expires_at;       /* timestamptz */
    bool has_max_clicks;
    Datum max_clicks;       /* int8 */
} LinkLimits;

/*
 * Inserts (code, url, limits) inside an internal subtransaction.  Returns true if
 * the row was inserted, false if the short-code primary key rejected the
 * code (the subtransaction is rolled back; nothing remains).  Any other
 * error, a unique violation on another constraint included, is re-thrown
 * unchanged.
 */
bool insert_link_unless_code_taken(const char *code, Datum url, const LinkLimits *limits);

/*
 * Inserts the pairs (codes[i], urls[i]) of two text arrays in one statement
 * inside an internal subtransaction: all of them (true), or, if the
 * short-code key rejected any code, none (false).  Other errors re-thrown.
 */
bool insert_links_unless_a_code_is_taken(Datum codes, Datum urls);

/*
 * Which codes of a text array are already visible in the table: left in
 * SPI_tuptable as text in column 1; returns their count.
 */
uint64 find_taken_codes(Datum codes);

/*
 * Inserts the pairs (codes[i], urls[i]) in one statement, skipping every
 * pair whose code is taken (INSERT ... ON CONFLICT (short_code) DO NOTHING:
 * no error, no subtransaction; a concurrent uncommitted insert of the same
 * code is waited for).  The codes inserted are left in SPI_tuptable, one
 * per row, as text in column 1; returns their count.
 */
uint64 insert_links_skipping_taken_codes(Datum codes, Datum urls);

/* Whether a row with this code is visible to the current snapshot. */
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
    EDIT_VERSION_CHANGED    /* *version is the link's current version */
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

/* The extension's secret key for the codes of reusable links (read once). */
const bytea *reuse_key(void);

typedef enum ReuseOutcome {
    REUSE_CREATED,      /* a new reusable link now has code */
    REUSE_FOUND,        /* code is already the reusable link of this URL */
    REUSE_OCCUPIED,     /* another link has code: try the URL's next code */
    REUSE_VANISHED      /* code was taken, then deleted: try it again */
} ReuseOutcome;

/*
 * Inserts (code, url) as a reusable link unless code is taken, and tells
 * what holds code.  One INSERT ... ON CONFLICT DO NOTHING, then, only on a
 * conflict, one lookup.
 */
ReuseOutcome store_reusable_link(const char *code, Datum url);

#endif
