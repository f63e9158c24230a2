/*
 * link_options.h
 *    The optional arguments of shorten_url and shorten_url_locked (1.1):
 *    a custom alias and the link's limits, checked and refused with a
 *    precise SQLSTATE the way URLs are.
 */
#ifndef URL_SHORTENER_LINK_OPTIONS_H
#define URL_SHORTENER_LINK_OPTIONS_H

#include "link_store.h"
#include "postgres_headers.h"

#define MAX_ALIAS_LENGTH 64

/*
 * Copies argument argno, a custom alias, into alias (MAX_ALIAS_LENGTH + 1
 * bytes) and returns true; returns false if the argument is NULL (no
 * alias).  Raises 22023 for an alias that is empty, too long, has a
 * character outside A-Z a-z 0-9 "_" "-", or is a reserved word.
 */
bool alias_argument(FunctionCallInfo fcinfo, int argno, char *alias);

/*
 * Reads expires_at (argument expires_argno) and max_clicks
 * (max_clicks_argno) into limits; NULL means none.  Raises 22023 for a
 * limit below 1 and, if check_expiry, for an expiry not in the future.
 * Without check_expiry the caller checks it (ensure_expiry_in_future) when
 * a link is to be made: a request repeated under its idempotency key
 * returns its link also after the expiry it asked for has passed.
 */
void limits_arguments(FunctionCallInfo fcinfo, int expires_argno, int max_clicks_argno,
                      bool check_expiry, LinkLimits *limits);

/* Raises 22023 for an expiry not after the transaction's start. */
void ensure_expiry_in_future(const LinkLimits *limits);

#endif
