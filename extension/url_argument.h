/*
 * url_argument.h
 *    URL arguments of the SQL functions: checked by url_validation, refused
 *    with a precise SQLSTATE and a message a person can act on.
 */
#ifndef URL_SHORTENER_URL_ARGUMENT_H
#define URL_SHORTENER_URL_ARGUMENT_H

#include "postgres_headers.h"

/*
 * Returns argument argno as a URL that may be stored, or raises the error
 * for it, whose message names the argument as name ("url", "new_url").  An
 * over-long value is refused before it is detoasted.
 */
text *valid_url_argument(FunctionCallInfo fcinfo, int argno, const char *name);

/* Raises the error for url unless it may be stored; name as above. */
void ensure_valid_url(text *url, const char *name);

#endif
