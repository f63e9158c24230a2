/*
 * url_shortener 1.1 -> 1.2: hardening.
 *   - Tombstones: a deleted or purged link keeps its row (original_url
 *     NULL, retired_at set), so its code never leads to another URL;
 *     release_code frees one.  is_alias marks chosen codes.
 *   - The reuse key records the code shape it derives (length, alphabet):
 *     1.1 derived at the defaults, 6 characters of A-Z a-z 0-9, so the
 *     existing row gets those and every reusable link is found again.
 *   - delete_url, disable_url, enable_url, url_stats, purge_urls and
 *     url_shortener_capacity become C functions over kept plans.
 * Every link, click, limit and grant is kept: the functions are replaced
 * in place (CREATE OR REPLACE keeps their owner, grants and comments'
 * objects), and the new columns' defaults leave old links as they were.
 *
 * Every operator, function, type and cast is qualified: the schema on the
 * search path may be writable by a less privileged role.
 */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION url_shortener UPDATE TO '1.2'" to load this file. \quit

ALTER TABLE @extschema@.urls
    ADD COLUMN retired_at pg_catalog.timestamptz,
    ADD COLUMN is_alias pg_catalog.bool NOT NULL DEFAULT false,
    ALTER COLUMN original_url DROP NOT NULL,
    ADD CONSTRAINT urls_original_url_check CHECK (original_url IS NOT NULL OR retired_at IS NOT NULL);

ALTER TABLE @extschema@.reuse_key
    ADD COLUMN code_length pg_catalog.int4 NOT NULL DEFAULT 6
        CHECK (code_length OPERATOR(pg_catalog.>=) 1 AND code_length OPERATOR(pg_catalog.<=) 64),
    ADD COLUMN alphabet pg_catalog.text NOT NULL
        DEFAULT 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
-- Only the existing row takes the defaults; a new key records the settings of its day.
ALTER TABLE @extschema@.reuse_key
    ALTER COLUMN code_length DROP DEFAULT,
    ALTER COLUMN alphabet DROP DEFAULT;

/*
 * The SQL and PL/pgSQL bodies of 1.1 become C: same arguments and result,
 * so each is replaced in place, SECURITY DEFINER as in 1.1.  None keeps
 * "SET search_path": from 1.2 the module makes pg_catalog the whole search
 * path for the duration of each call of a C function
 * (extension/search_path_guard.h), without the GUC nest level the SET
 * clause cost every call.
 *
 * CREATE OR REPLACE keeps a function's owner and grants, but replaces its
 * settings with the statement's SET clauses (none).  So each function's
 * settings are read first and given back after its replacement, all but
 * search_path: whatever an administrator set with ALTER FUNCTION ... SET
 * (work_mem, statement_timeout, ...) stays.  They are written back to
 * pg_proc.proconfig as they were, element for element, which no
 * re-quoting through ALTER FUNCTION could guarantee.  One DO block, so
 * that the saved settings need no table.  PL/pgSQL parses its
 * expressions with this script's search_path, hence OPERATOR(pg_catalog.x)
 * and no operator looked up by name (see the 1.0 -> 1.1 update).
 */
DO $$
DECLARE
    signatures CONSTANT pg_catalog.text[] := ARRAY[
        'delete_url(pg_catalog.text)',
        'disable_url(pg_catalog.text)',
        'enable_url(pg_catalog.text)',
        'url_stats(pg_catalog.text)',
        'purge_urls(pg_catalog.int4)',
        'url_shortener_capacity()'];
    definitions CONSTANT pg_catalog.text[] := ARRAY[
        $definition$CREATE OR REPLACE FUNCTION @extschema@.delete_url(code pg_catalog.text)
        RETURNS pg_catalog.bool
        AS 'MODULE_PATHNAME', 'delete_url'
        LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE
        SECURITY DEFINER$definition$,
        $definition$CREATE OR REPLACE FUNCTION @extschema@.disable_url(code pg_catalog.text)
        RETURNS pg_catalog.bool
        AS 'MODULE_PATHNAME', 'disable_url'
        LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE
        SECURITY DEFINER$definition$,
        $definition$CREATE OR REPLACE FUNCTION @extschema@.enable_url(code pg_catalog.text)
        RETURNS pg_catalog.bool
        AS 'MODULE_PATHNAME', 'enable_url'
        LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE
        SECURITY DEFINER$definition$,
        $definition$CREATE OR REPLACE FUNCTION @extschema@.url_stats(code pg_catalog.text)
        RETURNS TABLE (short_code pg_catalog.text, original_url pg_catalog.text, clicks pg_catalog.int8,
                       created_at pg_catalog.timestamptz, expires_at pg_catalog.timestamptz,
                       max_clicks pg_catalog.int8, version pg_catalog.int8, enabled pg_catalog.bool)
        AS 'MODULE_PATHNAME', 'url_stats'
        LANGUAGE C STABLE STRICT PARALLEL UNSAFE ROWS 1
        SECURITY DEFINER$definition$,
        $definition$CREATE OR REPLACE FUNCTION @extschema@.purge_urls(batch_size pg_catalog.int4 DEFAULT 1000)
        RETURNS pg_catalog.int8
        AS 'MODULE_PATHNAME', 'purge_urls'
        LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE
        SECURITY DEFINER$definition$,
        $definition$CREATE OR REPLACE FUNCTION @extschema@.url_shortener_capacity()
        RETURNS TABLE (code_length pg_catalog.int4, links pg_catalog.int8, code_space pg_catalog.numeric,
                       fullness pg_catalog.float8, expected_attempts pg_catalog.float8,
                       exhaustion_chance pg_catalog.float8)
        AS 'MODULE_PATHNAME', 'url_shortener_capacity'
        LANGUAGE C STABLE PARALLEL UNSAFE
        SECURITY DEFINER$definition$];
    replaced pg_catalog.regprocedure;
    kept_settings pg_catalog.text[];
BEGIN
    FOR i IN 1 .. pg_catalog.cardinality(signatures) LOOP
        replaced := pg_catalog.format('@extschema@.%s', signatures[i])::pg_catalog.regprocedure;
        SELECT pg_catalog.array_agg(s.setting ORDER BY s.ord)
        INTO kept_settings
        FROM pg_catalog.pg_proc p,
             pg_catalog.unnest(p.proconfig) WITH ORDINALITY s(setting, ord)
        WHERE p.oid OPERATOR(pg_catalog.=) replaced
          AND NOT pg_catalog.starts_with(pg_catalog.lower(s.setting), 'search_path=');
        EXECUTE definitions[i];
        UPDATE pg_catalog.pg_proc SET proconfig = kept_settings
        WHERE oid OPERATOR(pg_catalog.=) replaced;
    END LOOP;
END $$;

COMMENT ON FUNCTION @extschema@.delete_url(pg_catalog.text) IS
    'retire the link: it resolves to NULL for good and its code is never handed out again; true if there was a live link';

COMMENT ON FUNCTION @extschema@.disable_url(pg_catalog.text) IS
    'make the link resolve to NULL, uncounted, until enable_url, and no longer reused; true if it was enabled';

COMMENT ON FUNCTION @extschema@.url_stats(pg_catalog.text) IS
    'the public facts of one link; no row for an unknown or retired code';

COMMENT ON FUNCTION @extschema@.purge_urls(pg_catalog.int4) IS
    'retire expired and used-up links in batches, keeping their codes; returns how many (0 when another purge is running)';

COMMENT ON FUNCTION @extschema@.url_shortener_capacity() IS
    'drawn codes per code length (tombstones included, aliases not), the size and fullness of each code space, expected attempts and the chance of US001 per call';

COMMENT ON FUNCTION @extschema@.resolve_url(pg_catalog.text) IS
    'return the target of a short code and count the click; NULL for an unknown, disabled, expired, used-up or retired link';
COMMENT ON FUNCTION @extschema@.update_url(pg_catalog.text, pg_catalog.text, pg_catalog.int8) IS
    'change the target of code if its version is still expected_version; returns the new version, NULL for an unknown or retired code';

/*
 * The C functions 1.1 already had lose only their search_path entry; any
 * other setting an administrator gave them with ALTER FUNCTION ... SET
 * stays.
 */
ALTER FUNCTION @extschema@.shorten_url(pg_catalog.text, pg_catalog.text, pg_catalog.bool,
                                       pg_catalog.timestamptz, pg_catalog.int8)
    RESET search_path;
ALTER FUNCTION @extschema@.shorten_url_locked(pg_catalog.text, pg_catalog.text, pg_catalog.bool,
                                              pg_catalog.timestamptz, pg_catalog.int8)
    RESET search_path;
ALTER FUNCTION @extschema@.shorten_urls(pg_catalog.text[]) RESET search_path;
ALTER FUNCTION @extschema@.resolve_url(pg_catalog.text) RESET search_path;
ALTER FUNCTION @extschema@.update_url(pg_catalog.text, pg_catalog.text, pg_catalog.int8) RESET search_path;

CREATE FUNCTION @extschema@.release_code(code pg_catalog.text)
RETURNS pg_catalog.bool
AS 'MODULE_PATHNAME', 'release_code'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE
SECURITY DEFINER;

COMMENT ON FUNCTION @extschema@.release_code(pg_catalog.text) IS
    'delete the tombstone of a retired link so that its code may be used again; true if there was one';

REVOKE ALL ON FUNCTION @extschema@.release_code(pg_catalog.text) FROM PUBLIC;

/* ---------------------------------------------------------------------------
 * Citus (issue 10): one call to distribute.  Kept at the end of this script
 * as its own block; test/citus/run proves it on a coordinator and two
 * workers.
 * ------------------------------------------------------------------------- */

/*
 * url_shortener_distribute(): the one call that spreads url_shortener over
 * a Citus cluster.  Run it once, as the extension's owner, on the
 * coordinator, after CREATE EXTENSION citus and citus_add_node for the
 * workers.  It
 *   - distributes urls by short_code (create_distributed_table): every
 *     per-call statement names one short_code, so it routes to one shard;
 *   - makes every side table (reuse_key, when it exists) a reference table:
 *     each node then holds a full copy, read locally;
 *   - distributes the calls keyed by a code (create_distributed_function,
 *     distribution argument "code", colocated with urls), so that a
 *     top-level SELECT f('code', ...) outside a transaction block is
 *     forwarded whole to the worker holding the code's shard: one round
 *     trip from the coordinator instead of one per statement.
 * Idempotent: what is already distributed is left as it is.  Citus is
 * needed only when this runs (the body is PL/pgSQL, resolved at call
 * time), so the extension itself installs without Citus; without it the
 * call fails with 55000.  It runs with the caller's rights (Citus requires
 * the tables' owner) and is not granted to PUBLIC.  Every name is
 * schema-qualified: Citus installs its functions and catalogs in
 * pg_catalog.
 */
CREATE FUNCTION @extschema@.url_shortener_distribute()
RETURNS pg_catalog.void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    side_table pg_catalog.regclass;
    keyed_call pg_catalog.regprocedure;
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_extension e
                   WHERE e.extname OPERATOR(pg_catalog.=) 'citus'::pg_catalog.name) THEN
        RAISE EXCEPTION 'url_shortener_distribute needs the citus extension'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Run CREATE EXTENSION citus and citus_add_node for each worker first, on the coordinator.';
    END IF;

    IF NOT EXISTS (SELECT FROM pg_catalog.pg_dist_partition p
                   WHERE p.logicalrelid OPERATOR(pg_catalog.=) '@extschema@.urls'::pg_catalog.regclass) THEN
        PERFORM pg_catalog.create_distributed_table('@extschema@.urls'::pg_catalog.regclass,
                                                    'short_code'::pg_catalog.text);
        PERFORM pg_catalog.truncate_local_data_after_distributing_table(
            '@extschema@.urls'::pg_catalog.regclass);
    END IF;

    FOR side_table IN
        SELECT c.oid::pg_catalog.regclass
        FROM pg_catalog.pg_depend d
        JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) d.objid
        WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
          AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_extension'::pg_catalog.regclass
          AND d.refobjid OPERATOR(pg_catalog.=)
              (SELECT e.oid FROM pg_catalog.pg_extension e
               WHERE e.extname OPERATOR(pg_catalog.=) 'url_shortener'::pg_catalog.name)
          AND d.deptype OPERATOR(pg_catalog.=) 'e'::pg_catalog."char"
          AND c.relkind OPERATOR(pg_catalog.=) 'r'::pg_catalog."char"
          AND c.oid OPERATOR(pg_catalog.<>) '@extschema@.urls'::pg_catalog.regclass
          AND NOT EXISTS (SELECT FROM pg_catalog.pg_dist_partition p
                          WHERE p.logicalrelid OPERATOR(pg_catalog.=) c.oid)
    LOOP
        PERFORM pg_catalog.create_reference_table(side_table);
        PERFORM pg_catalog.truncate_local_data_after_distributing_table(side_table);
    END LOOP;

    FOR keyed_call IN
        SELECT p.oid::pg_catalog.regprocedure
        FROM pg_catalog.pg_proc p
        WHERE p.pronamespace OPERATOR(pg_catalog.=) '@extschema@'::pg_catalog.regnamespace
          AND p.proname OPERATOR(pg_catalog.=) ANY (ARRAY['resolve_url', 'url_stats', 'update_url',
                                                          'disable_url', 'enable_url', 'delete_url',
                                                          'release_code']::pg_catalog.name[])
          AND NOT EXISTS (SELECT FROM pg_catalog.pg_dist_object o
                          WHERE o.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass
                            AND o.objid OPERATOR(pg_catalog.=) p.oid
                            AND o.distribution_argument_index IS NOT NULL)
    LOOP
        PERFORM pg_catalog.create_distributed_function(keyed_call, 'code'::pg_catalog.text,
                                                       colocate_with => '@extschema@.urls'::pg_catalog.text);
    END LOOP;
END
$$;

REVOKE ALL ON FUNCTION @extschema@.url_shortener_distribute() FROM PUBLIC;

COMMENT ON FUNCTION @extschema@.url_shortener_distribute() IS
    'on a Citus coordinator: distribute urls by short_code, make side tables reference tables, and forward the calls keyed by a code to the worker holding it';
