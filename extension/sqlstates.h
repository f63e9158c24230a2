/*
 * sqlstates.h
 *    SQLSTATEs that belong to url_shortener.  Class "US" is ours alone: no
 *    PostgreSQL error and no client library's mapping uses it, so a client
 *    can branch on these without parsing messages.
 *
 *    Invalid input uses PostgreSQL's own class 22 codes (see shorten.cpp).
 */
#ifndef URL_SHORTENER_SQLSTATES_H
#define URL_SHORTENER_SQLSTATES_H

/* US001: max_attempts draws in a row hit taken codes; nothing was stored. */
#define ERRCODE_URL_SHORTENER_CODE_SPACE_EXHAUSTED MAKE_SQLSTATE('U', 'S', '0', '0', '1')

/* US002: shorten_url's alias is the code of an existing link; nothing was stored. */
#define ERRCODE_URL_SHORTENER_ALIAS_TAKEN MAKE_SQLSTATE('U', 'S', '0', '0', '2')

/* US003: update_url's expected_version is not the link's version; nothing was changed. */
#define ERRCODE_URL_SHORTENER_VERSION_CONFLICT MAKE_SQLSTATE('U', 'S', '0', '0', '3')

/*
 * US004: an idempotency key already made a link for a different request
 * (another URL, expires_at or max_clicks); nothing was stored.
 */
#define ERRCODE_URL_SHORTENER_IDEMPOTENCY_MISMATCH MAKE_SQLSTATE('U', 'S', '0', '0', '4')

#endif
