/*
 * url_shortener 1.0: the links table and the three public functions.
 *
 * A superuser runs this with the extension's schema, which other roles may
 * be able to create objects in, on the search_path, so every operator,
 * function, type and collation is schema-qualified
 * (test/hostile_schema/run).
 */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION url_shortener" to load this file. \quit

/*
 * One row per short link.  short_code is the only authority on uniqueness:
 * shorten_url inserts and lets this primary key reject a taken code.
 *
 * fillfactor 75: resolve_url rewrites a row on every click, changing only
 * "clicks", which no index covers.  Such an update is HOT (no index
 * insertion) only if the new version fits on the same heap page; keeping a
 * quarter of each page free leaves room for about fifteen new versions of a
 * typical row between two page prunes, so click traffic stays HOT without
 * vacuum having to keep up with it.
 */
CREATE TABLE @extschema@.urls (
    short_code   pg_catalog.text COLLATE pg_catalog."C" NOT NULL,
    original_url pg_catalog.text NOT NULL,
    clicks       pg_catalog.int8 NOT NULL DEFAULT 0,
    created_at   pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT urls_pkey PRIMARY KEY (short_code),
    CONSTRAINT urls_clicks_check CHECK (clicks OPERATOR(pg_catalog.>=) 0)
) WITH (fillfactor = 75);

COMMENT ON TABLE @extschema@.urls IS
    'short links made by url_shortener; write through shorten_url and resolve_url';

-- Nobody reaches the rows directly; the functions below are the interface.
REVOKE ALL ON TABLE @extschema@.urls FROM PUBLIC;

/*
 * Keep the links when the database is dumped: the table belongs to the
 * extension, so pg_dump would otherwise skip its rows.
 */
SELECT pg_catalog.pg_extension_config_dump('@extschema@.urls', '');

CREATE FUNCTION @extschema@.shorten_url(url pg_catalog.text)
RETURNS pg_catalog.text
AS 'MODULE_PATHNAME', 'shorten_url'
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION @extschema@.shorten_url(pg_catalog.text) IS
    'store url under a fresh random short code and return the code';

CREATE FUNCTION @extschema@.shorten_url_locked(url pg_catalog.text)
RETURNS pg_catalog.text
AS 'MODULE_PATHNAME', 'shorten_url_locked'
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION @extschema@.shorten_url_locked(pg_catalog.text) IS
    'like shorten_url, but code generation is serialized by a transaction-scoped advisory lock';

CREATE FUNCTION @extschema@.shorten_urls(urls pg_catalog.text[])
RETURNS TABLE (url pg_catalog.text, short_code pg_catalog.text)
AS 'MODULE_PATHNAME', 'shorten_urls'
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE ROWS 1000
SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION @extschema@.shorten_urls(pg_catalog.text[]) IS
    'store many urls in one statement; returns (url, short_code) in input order';

CREATE FUNCTION @extschema@.resolve_url(code pg_catalog.text)
RETURNS pg_catalog.text
AS 'MODULE_PATHNAME', 'resolve_url'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION @extschema@.resolve_url(pg_catalog.text) IS
    'return the target of a short code and count the click; NULL for an unknown code';

-- Least privilege: a DBA grants EXECUTE to the roles that need it.
REVOKE ALL ON FUNCTION @extschema@.shorten_url(pg_catalog.text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.shorten_url_locked(pg_catalog.text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.shorten_urls(pg_catalog.text[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.resolve_url(pg_catalog.text) FROM PUBLIC;
