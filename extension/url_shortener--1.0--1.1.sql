/*
 * url_shortener 1.0 -> 1.1: link lifecycle.  Custom aliases, reuse,
 * expiry, click limits, edits with optimistic locking, disable/enable,
 * delete and stats.
 * Every existing link, code and click count is kept: the new columns have
 * defaults that leave old links as they were (no expiry, no limit,
 * enabled, version 1), and adding them rewrites nothing.
 */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION url_shortener UPDATE TO '1.1'" to load this file. \quit

ALTER TABLE @extschema@.urls
    ADD COLUMN expires_at timestamptz,
    ADD COLUMN max_clicks bigint CONSTRAINT urls_max_clicks_check CHECK (max_clicks >= 1),
    ADD COLUMN version bigint NOT NULL DEFAULT 1,
    ADD COLUMN enabled boolean NOT NULL DEFAULT true,
    ADD COLUMN reusable boolean NOT NULL DEFAULT false;

/*
 * The secret key of reusable links' codes (HMAC-SHA256 of the URL), made
 * here from pg_strong_random (gen_random_uuid: 244 random bits), so that
 * nobody without it can compute which code a URL would get.  It never
 * changes, and pg_dump keeps it, so a restored database finds the same
 * reusable links.  On Citus make it a reference table: it is read once per
 * backend.
 */
CREATE TABLE @extschema@.reuse_key (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    secret   bytea NOT NULL CHECK (pg_catalog.length(secret) >= 16)
);
INSERT INTO @extschema@.reuse_key (secret)
SELECT pg_catalog.decode(pg_catalog.replace(pg_catalog.gen_random_uuid()::text, '-', '')
                         OPERATOR(pg_catalog.||)
                         pg_catalog.replace(pg_catalog.gen_random_uuid()::text, '-', ''), 'hex');
REVOKE ALL ON TABLE @extschema@.reuse_key FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('@extschema@.reuse_key', '');

/*
 * shorten_url and shorten_url_locked gain named, defaulted options, so
 * shorten_url(url) keeps working.  A function's arguments cannot change in
 * place, so each is dropped and created again; whatever roles were
 * granted EXECUTE on the old one are granted it on the new one.
 */
DO $$
DECLARE
    grants text[] := '{}';
    g record;
BEGIN
    FOR g IN
        SELECT p.proname,
               CASE WHEN a.grantee = 0 THEN 'PUBLIC'
                    ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(a.grantee)) END AS grantee
        FROM pg_catalog.pg_proc p, pg_catalog.aclexplode(p.proacl) a
        WHERE p.oid IN ('@extschema@.shorten_url(text)'::pg_catalog.regprocedure,
                        '@extschema@.shorten_url_locked(text)'::pg_catalog.regprocedure)
          AND a.privilege_type = 'EXECUTE' AND a.grantee <> p.proowner
    LOOP
        grants := grants || pg_catalog.format(
            'GRANT EXECUTE ON FUNCTION @extschema@.%I(text, text, boolean, timestamptz, bigint) TO %s',
            g.proname, g.grantee);
    END LOOP;

    DROP FUNCTION @extschema@.shorten_url(text);
    DROP FUNCTION @extschema@.shorten_url_locked(text);

    CREATE FUNCTION @extschema@.shorten_url(url text, alias text DEFAULT NULL,
                                            reuse boolean DEFAULT false,
                                            expires_at timestamptz DEFAULT NULL,
                                            max_clicks bigint DEFAULT NULL)
    RETURNS text
    AS 'MODULE_PATHNAME', 'shorten_url'
    LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
    SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

    CREATE FUNCTION @extschema@.shorten_url_locked(url text, alias text DEFAULT NULL,
                                                   reuse boolean DEFAULT false,
                                                   expires_at timestamptz DEFAULT NULL,
                                                   max_clicks bigint DEFAULT NULL)
    RETURNS text
    AS 'MODULE_PATHNAME', 'shorten_url_locked'
    LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
    SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

    REVOKE ALL ON FUNCTION @extschema@.shorten_url(text, text, boolean, timestamptz, bigint) FROM PUBLIC;
    REVOKE ALL ON FUNCTION @extschema@.shorten_url_locked(text, text, boolean, timestamptz, bigint) FROM PUBLIC;

    FOR i IN 1 .. pg_catalog.cardinality(grants) LOOP
        EXECUTE grants[i];
    END LOOP;
END $$;

COMMENT ON FUNCTION @extschema@.shorten_url(text, text, boolean, timestamptz, bigint) IS
    'store url under a fresh random code, or under alias, or return its reusable link (reuse); optionally expiring or limited to max_clicks resolves';
COMMENT ON FUNCTION @extschema@.shorten_url_locked(text, text, boolean, timestamptz, bigint) IS
    'like shorten_url, but code generation is serialized by a transaction-scoped advisory lock';
COMMENT ON FUNCTION @extschema@.resolve_url(text) IS
    'return the target of a short code and count the click; NULL for an unknown, disabled, expired or used-up link';

CREATE FUNCTION @extschema@.update_url(code text, new_url text, expected_version bigint)
RETURNS bigint
AS 'MODULE_PATHNAME', 'update_url'
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION @extschema@.update_url(text, text, bigint) IS
    'change the target of code if its version is still expected_version; returns the new version, NULL for an unknown code';

/*
 * The rest are one statement on one row each, so plain SQL functions.
 * Every name in them is qualified; they touch the row of one short_code.
 * disable_url and enable_url count as edits: they bump the version.
 */
CREATE FUNCTION @extschema@.delete_url(code text)
RETURNS boolean
LANGUAGE sql VOLATILE STRICT PARALLEL UNSAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    WITH deleted AS (
        DELETE FROM @extschema@.urls WHERE short_code OPERATOR(pg_catalog.=) code RETURNING 1
    )
    SELECT count(*) OPERATOR(pg_catalog.>) 0 FROM deleted;
END;

COMMENT ON FUNCTION @extschema@.delete_url(text) IS
    'delete the link; true if there was one';

CREATE FUNCTION @extschema@.disable_url(code text)
RETURNS boolean
LANGUAGE sql VOLATILE STRICT PARALLEL UNSAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    WITH changed AS (
        UPDATE @extschema@.urls SET enabled = false, version = version OPERATOR(pg_catalog.+) 1
        WHERE short_code OPERATOR(pg_catalog.=) code AND enabled
        RETURNING 1
    )
    SELECT count(*) OPERATOR(pg_catalog.>) 0 FROM changed;
END;

COMMENT ON FUNCTION @extschema@.disable_url(text) IS
    'make the link resolve to NULL, uncounted, until enable_url; true if it was enabled';

CREATE FUNCTION @extschema@.enable_url(code text)
RETURNS boolean
LANGUAGE sql VOLATILE STRICT PARALLEL UNSAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    WITH changed AS (
        UPDATE @extschema@.urls SET enabled = true, version = version OPERATOR(pg_catalog.+) 1
        WHERE short_code OPERATOR(pg_catalog.=) code AND NOT enabled
        RETURNING 1
    )
    SELECT count(*) OPERATOR(pg_catalog.>) 0 FROM changed;
END;

COMMENT ON FUNCTION @extschema@.enable_url(text) IS
    'undo disable_url; true if the link was disabled';

CREATE FUNCTION @extschema@.url_stats(code text)
RETURNS TABLE (short_code text, original_url text, clicks bigint, created_at timestamptz,
               expires_at timestamptz, max_clicks bigint, version bigint, enabled boolean)
LANGUAGE sql STABLE STRICT PARALLEL SAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT u.short_code, u.original_url, u.clicks, u.created_at,
           u.expires_at, u.max_clicks, u.version, u.enabled
    FROM @extschema@.urls u
    WHERE u.short_code OPERATOR(pg_catalog.=) url_stats.code;
END;

COMMENT ON FUNCTION @extschema@.url_stats(text) IS
    'the public facts of one link; no row for an unknown code';

REVOKE ALL ON FUNCTION @extschema@.update_url(text, text, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.delete_url(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.disable_url(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.enable_url(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.url_stats(text) FROM PUBLIC;

/*
 * purge_urls: deletes expired and used-up links, batch_size rows per
 * statement, taken with FOR UPDATE SKIP LOCKED so that a purge never waits
 * on a link being clicked.  Guarded by pg_try_advisory_xact_lock(1431456851,
 * 2) ("URLS", object 2): a second purge running at the same time returns 0
 * at once instead of doing the same work.  Returns the links deleted.
 */
CREATE FUNCTION @extschema@.purge_urls(batch_size integer DEFAULT 1000)
RETURNS bigint
LANGUAGE plpgsql VOLATILE STRICT PARALLEL UNSAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    purged bigint := 0;
    batch bigint;
BEGIN
    IF batch_size < 1 THEN
        RAISE EXCEPTION 'batch_size must be at least 1'
            USING ERRCODE = 'invalid_parameter_value', DETAIL = pg_catalog.format('It is %s.', batch_size);
    END IF;
    IF NOT pg_catalog.pg_try_advisory_xact_lock(1431456851, 2) THEN
        RETURN 0;
    END IF;
    LOOP
        WITH doomed AS (
            SELECT u.short_code FROM @extschema@.urls u
            WHERE u.expires_at <= pg_catalog.now()
               OR (u.max_clicks IS NOT NULL AND u.clicks >= u.max_clicks)
            LIMIT batch_size
            FOR UPDATE SKIP LOCKED
        )
        DELETE FROM @extschema@.urls u USING doomed d WHERE u.short_code = d.short_code;
        GET DIAGNOSTICS batch = ROW_COUNT;
        purged := purged + batch;
        EXIT WHEN batch < batch_size;
    END LOOP;
    RETURN purged;
END
$$;

COMMENT ON FUNCTION @extschema@.purge_urls(integer) IS
    'delete expired and used-up links in batches; returns how many (0 when another purge is running)';

/*
 * url_shortener_capacity: how full the code space is, per code length in
 * the table, under the current url_shortener.alphabet and max_attempts.
 * A draw of length L collides with chance p = links / alphabet^L, so a
 * call needs 1 / (1 - p) attempts on average and fails (US001) with chance
 * p^max_attempts.  Counts every row: an administrator's query, not for the
 * per-call path.
 */
CREATE FUNCTION @extschema@.url_shortener_capacity()
RETURNS TABLE (code_length integer, links bigint, code_space numeric, fullness double precision,
               expected_attempts double precision, exhaustion_chance double precision)
LANGUAGE sql STABLE PARALLEL SAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    WITH settings AS (
        SELECT length(current_setting('url_shortener.alphabet'))::numeric AS alphabet_size,
               current_setting('url_shortener.max_attempts')::integer AS max_attempts
    ), counts AS (
        SELECT length(u.short_code) AS code_length, count(*) AS links
        FROM @extschema@.urls u GROUP BY 1
    )
    SELECT c.code_length, c.links, round(s.alphabet_size ^ c.code_length),
           (c.links / s.alphabet_size ^ c.code_length)::double precision,
           CASE WHEN c.links < s.alphabet_size ^ c.code_length
                THEN (1 / (1 - c.links / s.alphabet_size ^ c.code_length))::double precision
                ELSE 'Infinity' END,
           least(1, power((c.links / s.alphabet_size ^ c.code_length)::double precision, s.max_attempts))
    FROM counts c, settings s
    ORDER BY c.code_length
$$;

COMMENT ON FUNCTION @extschema@.url_shortener_capacity() IS
    'links per code length, the size and fullness of each code space, expected attempts and the chance of US001 per call';

REVOKE ALL ON FUNCTION @extschema@.purge_urls(integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.url_shortener_capacity() FROM PUBLIC;
