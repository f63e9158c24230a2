/*
 * statements.h
 *    The SQL the client sends, each under the name it is prepared as.
 *    This is the only place that knows the extension's SQL interface.
 */
#ifndef URL_SHORTENER_CLIENT_STATEMENTS_H
#define URL_SHORTENER_CLIENT_STATEMENTS_H

namespace url_shortener::statements {

struct Statement {
    const char *name;
    const char *sql;
};

inline constexpr Statement shorten{"url_shortener_shorten", "SELECT shorten_url($1)"};

inline constexpr Statement shorten_locked{"url_shortener_shorten_locked",
                                          "SELECT shorten_url_locked($1)"};

inline constexpr Statement resolve{"url_shortener_resolve", "SELECT resolve_url($1)"};

/*
 * One chunk of shorten_many: $1 is a text[] of URLs; returns one column of
 * codes, one row per URL, in array order.  When the extension gains
 * shorten_urls(text[]), this becomes
 * "SELECT short_code FROM shorten_urls($1::text[])".
 */
inline constexpr Statement shorten_chunk{
    "url_shortener_shorten_chunk",
    "SELECT s.code FROM unnest($1::text[]) WITH ORDINALITY AS u(url, ord) "
    "CROSS JOIN LATERAL shorten_url(u.url) AS s(code) ORDER BY u.ord"};

inline constexpr Statement all[] = {shorten, shorten_locked, resolve, shorten_chunk};

} // namespace url_shortener::statements

#endif
