/*
 * direct_insert.h
 *    The INSERT of one link written straight to the table and its indexes,
 *    without starting an executor for it.
 */
#ifndef URL_SHORTENER_DIRECT_INSERT_H
#define URL_SHORTENER_DIRECT_INSERT_H

#include "postgres_headers.h"

/* url_shortener.direct_insert: whether insert_link_directly may act. */
extern bool direct_insert_setting;

/* The columns a link's INSERT names, in this order (1.2 and later). */
#define DIRECT_INSERT_COLUMNS 5

/*
 * Inserts the row INSERT INTO urls (short_code, original_url, expires_at,
 * max_clicks, is_alias) VALUES (values) would insert (nulls as SPI's: 'n'
 * for a null), with the table's defaults for the other columns, its NOT
 * NULL and CHECK constraints checked, into the heap and every index, as
 * the current command; then advances the command counter, as SPI does
 * after a statement.  A duplicate key raises the index's own error.
 *
 * Returns false, having done nothing, where the executor must do it: the
 * row would fail a NOT NULL or CHECK constraint (the caller's statement
 * then raises PostgreSQL's own error), or the table is not one this path
 * is the same as the executor for (see direct_insert.cpp).  Call it with
 * the extension's tables known to run no user code.
 */
bool insert_link_directly(Oid relid, Datum *values, const char *nulls);

/*
 * The same for INSERT INTO urls (short_code, original_url) SELECT
 * unnest(codes), unnest(urls): every row, or none (false) if one would
 * fail a constraint or the arrays are not two of equal length without
 * nulls.  A duplicate key raises the index's error after some rows went
 * in: call it in a subtransaction.
 */
bool insert_links_directly(Oid relid, Datum codes, Datum urls);

#endif
