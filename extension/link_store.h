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

/*
 * Inserts (code, url) inside an internal subtransaction.  Returns true if
 * the row was inserted, false if the short-code primary key rejected the
 * code (the subtransaction is rolled back; nothing remains).  Any other
 * error, a unique violation on another constraint included, is re-thrown
 * unchanged.
 */
bool insert_link_unless_code_taken(const char *code, Datum url);

/* Whether a row with this code is visible to the current snapshot. */
bool code_is_visible(const char *code);

/*
 * Counts one click on code and returns its URL, copied into the caller's
 * memory context (the one current before SPI_connect); NULL if no such
 * code.  One UPDATE ... RETURNING: concurrent clicks are never lost.
 */
text *count_click_and_fetch_url(text *code);

#endif
