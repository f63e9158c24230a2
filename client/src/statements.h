/*
 * statements.h
 *    The SQL the client sends, each under the name it is prepared as.
 *    This is the only place that knows the extension's SQL interface.
 *
 *    Every function is called by its schema-qualified name: the schema the
 *    extension was created in, looked up when the connection opens.  So the
 *    client works whatever the connection's search_path, and a function of
 *    the same name placed earlier on that path is never called instead.
 */
#ifndef URL_SHORTENER_CLIENT_STATEMENTS_H
#define URL_SHORTENER_CLIENT_STATEMENTS_H

#include <string>

namespace url_shortener::statements {

/*
 * The schema and version of the installed extension, as text; no row if it
 * is not installed.
 */
inline constexpr const char *extension_schema =
    "SELECT n.nspname, e.extversion FROM pg_catalog.pg_extension e "
    "JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace "
    "WHERE e.extname = 'url_shortener'";

struct Statement {
    const char *name;
    const char *before_schema;   /* SQL up to the schema name */
    const char *after_schema;    /* SQL after it, starting with "." */

    /* The statement's SQL with quoted_schema (already quoted) in place. */
    std::string sql(const std::string &quoted_schema) const
    {
        return before_schema + quoted_schema + after_schema;
    }
};

inline constexpr Statement shorten{"url_shortener_shorten", "SELECT ", ".shorten_url($1)"};

inline constexpr Statement shorten_locked{"url_shortener_shorten_locked", "SELECT ",
                                          ".shorten_url_locked($1)"};

inline constexpr Statement resolve{"url_shortener_resolve", "SELECT ", ".resolve_url($1)"};

/*
 * One chunk of shorten_many: $1 is a text[] of URLs; returns one column of
 * codes, one row per URL, in array order (shorten_urls keeps the order of
 * its input, and stores all of the chunk or none of it).
 */
inline constexpr Statement shorten_chunk{"url_shortener_shorten_chunk", "SELECT short_code FROM ",
                                         ".shorten_urls($1::pg_catalog.text[])"};

/* The statements every extension version serves. */
inline constexpr Statement all[] = {shorten, shorten_locked, resolve, shorten_chunk};

/*
 * Version 1.1's lifecycle calls.  Parameters travel as text: the options of
 * shorten_url ($2 alias, $3 reuse, $4 expires_at as an ISO 8601 time in
 * UTC, $5 max_clicks; NULL when not given), and times come back as Unix
 * microseconds (stats).
 */
inline constexpr Statement shorten_with_options{
    "url_shortener_shorten_with_options", "SELECT ",
    ".shorten_url($1, alias => $2, reuse => $3::pg_catalog.bool, "
    "expires_at => $4::pg_catalog.timestamptz, max_clicks => $5::pg_catalog.int8)"};

inline constexpr Statement shorten_locked_with_options{
    "url_shortener_shorten_locked_with_options", "SELECT ",
    ".shorten_url_locked($1, alias => $2, reuse => $3::pg_catalog.bool, "
    "expires_at => $4::pg_catalog.timestamptz, max_clicks => $5::pg_catalog.int8)"};

inline constexpr Statement update{"url_shortener_update", "SELECT ",
                                  ".update_url($1, $2, $3::pg_catalog.int8)"};

inline constexpr Statement remove{"url_shortener_remove", "SELECT ", ".delete_url($1)"};

inline constexpr Statement disable{"url_shortener_disable", "SELECT ", ".disable_url($1)"};

inline constexpr Statement enable{"url_shortener_enable", "SELECT ", ".enable_url($1)"};

/*
 * Times come back as Unix microseconds in an int8, exact: PostgreSQL
 * stores them to the microsecond, EXTRACT returns an exact numeric (since
 * PostgreSQL 14), and a float8 of about 1.8e9 seconds holds only 15 or 16
 * digits, so a time read through it came back a microsecond early about
 * half the time, and an idempotent request repeated with stats()'s
 * expires_at was another request.  A time beyond int8 microseconds (to
 * 294276 AD, 'infinity', and their negatives) is clamped to +-9e18, far
 * outside the client's clock, which reads it as time_point::max() or
 * min() (from_unix_microseconds); the parentheses make -9e18 one constant,
 * not an unqualified unary minus a hostile search_path could answer.
 * (LEAST and GREATEST skip a NULL,
 * hence the CASE for a link without expiry.)
 */
#define URL_SHORTENER_UNIX_MICROSECONDS(column)                                                    \
    "CASE WHEN " column " IS NOT NULL THEN (LEAST(GREATEST(EXTRACT(epoch FROM " column ") "        \
    "OPERATOR(pg_catalog.*) 1000000::pg_catalog.numeric, (-9e18)::pg_catalog.numeric), "           \
    "9e18::pg_catalog.numeric))::pg_catalog.int8 END"

inline constexpr Statement stats{
    "url_shortener_stats",
    "SELECT short_code, original_url, clicks, " URL_SHORTENER_UNIX_MICROSECONDS("created_at") ", "
    URL_SHORTENER_UNIX_MICROSECONDS("expires_at") ", max_clicks, version, enabled FROM ",
    ".url_stats($1)"};

#undef URL_SHORTENER_UNIX_MICROSECONDS

/*
 * The URL resolve_url would go to now, counting no click: NULL for no such
 * link, or one resolve_url would not follow.  The same test as resolve_url's
 * UPDATE (link_store.cpp), judged by the database's clock.
 */
inline constexpr Statement resolve_without_click{
    "url_shortener_resolve_without_click", "SELECT (SELECT original_url FROM ",
    ".url_stats($1) WHERE enabled "
    "AND (expires_at IS NULL OR expires_at OPERATOR(pg_catalog.>) pg_catalog.now()) "
    "AND (max_clicks IS NULL OR clicks OPERATOR(pg_catalog.<) max_clicks))"};

inline constexpr Statement purge{"url_shortener_purge", "SELECT ",
                                 ".purge_urls($1::pg_catalog.int4)"};

inline constexpr Statement lifecycle[] = {shorten_with_options,
                                          shorten_locked_with_options,
                                          update,
                                          remove,
                                          disable,
                                          enable,
                                          stats,
                                          resolve_without_click,
                                          purge};

/*
 * Version 1.5's changes at an expected version ($2): one UPDATE that
 * re-checks the version on the row a click leaves.  True if applied, false
 * if already as asked at that version, NULL for no such link, US003 if the
 * link is at another version.
 */
inline constexpr Statement remove_at{"url_shortener_remove_at", "SELECT ",
                                     ".delete_url($1, $2::pg_catalog.int8)"};

inline constexpr Statement disable_at{"url_shortener_disable_at", "SELECT ",
                                      ".disable_url($1, $2::pg_catalog.int8)"};

inline constexpr Statement enable_at{"url_shortener_enable_at", "SELECT ",
                                     ".enable_url($1, $2::pg_catalog.int8)"};

inline constexpr Statement versioned[] = {remove_at, disable_at, enable_at};

/*
 * Whether the session's role may execute each of them ($1 the schema's
 * name, unquoted), in the order of versioned[]: 1.5 grants them to nobody,
 * and a role granted only the one-argument forms keeps the way of 1.4, as
 * does one whose administrator dropped a two-argument form (false, not
 * an error).
 */
inline constexpr const char *versioned_privileges =
    "SELECT COALESCE(pg_catalog.has_function_privilege(pg_catalog.to_regprocedure(pg_catalog.format("
    "'%I.delete_url(pg_catalog.text, pg_catalog.int8)', $1::pg_catalog.text)), 'EXECUTE'), false), "
    "COALESCE(pg_catalog.has_function_privilege(pg_catalog.to_regprocedure(pg_catalog.format("
    "'%I.disable_url(pg_catalog.text, pg_catalog.int8)', $1::pg_catalog.text)), 'EXECUTE'), false), "
    "COALESCE(pg_catalog.has_function_privilege(pg_catalog.to_regprocedure(pg_catalog.format("
    "'%I.enable_url(pg_catalog.text, pg_catalog.int8)', $1::pg_catalog.text)), 'EXECUTE'), false)";

/*
 * Version 1.3's idempotency keys: the same calls with the key as the last
 * parameter (shorten_urls: a text[] of keys parallel to the URLs).
 */
inline constexpr Statement shorten_keyed{"url_shortener_shorten_keyed", "SELECT ",
                                         ".shorten_url($1, idempotency_key => $2)"};

inline constexpr Statement shorten_locked_keyed{"url_shortener_shorten_locked_keyed", "SELECT ",
                                                ".shorten_url_locked($1, idempotency_key => $2)"};

inline constexpr Statement shorten_chunk_keyed{
    "url_shortener_shorten_chunk_keyed", "SELECT short_code FROM ",
    ".shorten_urls($1::pg_catalog.text[], idempotency_keys => $2::pg_catalog.text[])"};

inline constexpr Statement shorten_with_options_keyed{
    "url_shortener_shorten_with_options_keyed", "SELECT ",
    ".shorten_url($1, alias => $2, reuse => $3::pg_catalog.bool, "
    "expires_at => $4::pg_catalog.timestamptz, max_clicks => $5::pg_catalog.int8, "
    "idempotency_key => $6)"};

inline constexpr Statement shorten_locked_with_options_keyed{
    "url_shortener_shorten_locked_with_options_keyed", "SELECT ",
    ".shorten_url_locked($1, alias => $2, reuse => $3::pg_catalog.bool, "
    "expires_at => $4::pg_catalog.timestamptz, max_clicks => $5::pg_catalog.int8, "
    "idempotency_key => $6)"};

inline constexpr Statement keyed[] = {shorten_keyed, shorten_locked_keyed, shorten_chunk_keyed,
                                      shorten_with_options_keyed,
                                      shorten_locked_with_options_keyed};

} // namespace url_shortener::statements

#endif
