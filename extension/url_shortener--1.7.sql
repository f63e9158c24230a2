/*
 * url_shortener 1.7: the links table, the reuse key, the released codes,
 * and every function.  A base script: CREATE EXTENSION runs this alone,
 * not 1.2's base script and the five updates after it.  An installation
 * updated to 1.7 (from 1.2 or from 1.0) ends with the same objects, each
 * with the same definition, owner, privileges, initial privileges and
 * comment: sql/base_script.sql compares the two.  What each version added,
 * and why, is told in its update script (url_shortener--1.2--1.3.sql and
 * on); a column an update added comes last here too, in the same order.
 *
 * It runs as a superuser with the target schema on the search path, which
 * a less privileged role may be able to write: every operator, function,
 * type, collation and cast below is qualified with pg_catalog, so nothing
 * planted there is ever called.  The schema's name is never written into
 * a format() template, so a "%" in it is only a character.
 */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION url_shortener" to load this file. \quit

/*
 * One row per short code.  short_code is the only authority on uniqueness:
 * shorten_url inserts and lets this primary key reject a taken code.
 *
 * A retired link (deleted, or purged once expired or used up) stays as a
 * tombstone: original_url NULL, retired_at set.  It holds its code, so the
 * code can never lead to another URL, unless an administrator frees it
 * with release_code.  is_alias marks codes chosen by the caller rather
 * than drawn.  idempotency_digest holds, for a link made with an
 * idempotency key, two keyed digests: of the key and of the whole request
 * (extension/idempotency.h); no key is stored.  It has no CHECK
 * constraint: a CHECK costs every insert and every click (bench/profile).
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
    original_url pg_catalog.text,
    clicks       pg_catalog.int8 NOT NULL DEFAULT 0,
    created_at   pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
    expires_at   pg_catalog.timestamptz,
    max_clicks   pg_catalog.int8,
    version      pg_catalog.int8 NOT NULL DEFAULT 1,
    enabled      pg_catalog.bool NOT NULL DEFAULT true,
    reusable     pg_catalog.bool NOT NULL DEFAULT false,
    retired_at   pg_catalog.timestamptz,
    is_alias     pg_catalog.bool NOT NULL DEFAULT false,
    idempotency_digest pg_catalog.bytea,
    CONSTRAINT urls_pkey PRIMARY KEY (short_code),
    CONSTRAINT urls_clicks_check CHECK (clicks OPERATOR(pg_catalog.>=) 0),
    CONSTRAINT urls_max_clicks_check CHECK (max_clicks OPERATOR(pg_catalog.>=) 1),
    CONSTRAINT urls_original_url_check CHECK (original_url IS NOT NULL OR retired_at IS NOT NULL)
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

/*
 * The secret key of reusable links' codes (HMAC-SHA256 of the URL), with
 * the code shape (length, alphabet) fixed when the key was made, so that
 * no session setting changes which code a URL gets.  This script inserts
 * no row: the first reuse makes it in C from pg_strong_random.  pg_dump
 * keeps the row, and a restore puts it back without a conflict, so a
 * restored database finds the same reusable links.  On Citus make it a
 * reference table.  The defaults are the shape 1.1 made its key with (6,
 * the 62 letters and digits), which a dump of a 1.1 database leaves out
 * of the row; the module always inserts both values.
 */
CREATE TABLE @extschema@.reuse_key (
    only_row    pg_catalog.bool PRIMARY KEY DEFAULT true CHECK (only_row),
    secret      pg_catalog.bytea NOT NULL
                CHECK (pg_catalog.length(secret) OPERATOR(pg_catalog.>=) 16),
    code_length pg_catalog.int4 NOT NULL DEFAULT 6
                CHECK (code_length OPERATOR(pg_catalog.>=) 1 AND code_length OPERATOR(pg_catalog.<=) 64),
    alphabet    pg_catalog.text NOT NULL
                DEFAULT 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'
);
REVOKE ALL ON TABLE @extschema@.reuse_key FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('@extschema@.reuse_key', '');

/*
 * The codes release_code freed.  An idempotency key's link, and a URL's
 * reusable link, take the first code of a fixed sequence that is free when
 * the link is made; a link made with a key or for reuse on a code found
 * here first looks further along its sequence, so that freeing a
 * passed-over code cannot give the key (the URL) a second link.  Keyed by
 * short_code: on Citus it is distributed by short_code and colocated with
 * urls (url_shortener_distribute).
 */
CREATE TABLE @extschema@.released_codes (
    short_code  pg_catalog.text COLLATE pg_catalog."C" NOT NULL,
    released_at pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT released_codes_pkey PRIMARY KEY (short_code)
);

COMMENT ON TABLE @extschema@.released_codes IS
    'codes that release_code freed: a link made with an idempotency key or for reuse on one of them first looks further along its sequence';

REVOKE ALL ON TABLE @extschema@.released_codes FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('@extschema@.released_codes', '');

/*
 * The C functions are SECURITY DEFINER without "SET search_path": the
 * module itself makes pg_catalog the whole search path for the duration of
 * each call (extension/search_path_guard.h), so no schema of the caller's
 * search_path and no temporary table takes part in their statements, and
 * a call pays no GUC nest level.  The PL/pgSQL function below keeps its
 * SET clause.
 */
CREATE FUNCTION @extschema@.shorten_url(url pg_catalog.text, alias pg_catalog.text DEFAULT NULL,
                                        reuse pg_catalog.bool DEFAULT false,
                                        expires_at pg_catalog.timestamptz DEFAULT NULL,
                                        max_clicks pg_catalog.int8 DEFAULT NULL,
                                        idempotency_key pg_catalog.text DEFAULT NULL)
RETURNS pg_catalog.text
AS 'MODULE_PATHNAME', 'shorten_url'
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
SECURITY DEFINER;

COMMENT ON FUNCTION @extschema@.shorten_url(pg_catalog.text, pg_catalog.text, pg_catalog.bool, pg_catalog.timestamptz, pg_catalog.int8, pg_catalog.text) IS
    'store url under a fresh random code, or under alias, or return its reusable link (reuse); optionally expiring or limited to max_clicks resolves; repeated with the same idempotency_key, return the same link';

CREATE FUNCTION @extschema@.shorten_url_locked(url pg_catalog.text, alias pg_catalog.text DEFAULT NULL,
                                               reuse pg_catalog.bool DEFAULT false,
                                               expires_at pg_catalog.timestamptz DEFAULT NULL,
                                               max_clicks pg_catalog.int8 DEFAULT NULL,
                                               idempotency_key pg_catalog.text DEFAULT NULL)
RETURNS pg_catalog.text
AS 'MODULE_PATHNAME', 'shorten_url_locked'
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
SECURITY DEFINER;

COMMENT ON FUNCTION @extschema@.shorten_url_locked(pg_catalog.text, pg_catalog.text, pg_catalog.bool, pg_catalog.timestamptz, pg_catalog.int8, pg_catalog.text) IS
    'like shorten_url, but code generation is serialized by a transaction-scoped advisory lock';

CREATE FUNCTION @extschema@.shorten_urls(urls pg_catalog.text[],
                                         idempotency_keys pg_catalog.text[] DEFAULT NULL)
RETURNS TABLE (url pg_catalog.text, short_code pg_catalog.text)
AS 'MODULE_PATHNAME', 'shorten_urls'
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE ROWS 1000
SECURITY DEFINER;

COMMENT ON FUNCTION @extschema@.shorten_urls(pg_catalog.text[], pg_catalog.text[]) IS
    'store many urls in one statement; returns (url, short_code) in input order; with idempotency_keys (one per URL), repeating the call returns the same links';

CREATE FUNCTION @extschema@.resolve_url(code pg_catalog.text)
RETURNS pg_catalog.text
AS 'MODULE_PATHNAME', 'resolve_url'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE
SECURITY DEFINER;

COMMENT ON FUNCTION @extschema@.resolve_url(pg_catalog.text) IS
    'return the target of a short code and count the click; NULL for an unknown, disabled, expired, used-up or retired link';

CREATE FUNCTION @extschema@.update_url(code pg_catalog.text, new_url pg_catalog.text,
                                       expected_version pg_catalog.int8)
RETURNS pg_catalog.int8
AS 'MODULE_PATHNAME', 'update_url'
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
SECURITY DEFINER;

COMMENT ON FUNCTION @extschema@.update_url(pg_catalog.text, pg_catalog.text, pg_catalog.int8) IS
    'change the target of code if its version is still expected_version; returns the new version, NULL for an unknown or retired code';

CREATE FUNCTION @extschema@.delete_url(code pg_catalog.text)
RETURNS pg_catalog.bool
AS 'MODULE_PATHNAME', 'delete_url'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE
SECURITY DEFINER;

COMMENT ON FUNCTION @extschema@.delete_url(pg_catalog.text) IS
    'retire the link: it resolves to NULL for good and its code is never handed out again; true if there was a live link';

CREATE FUNCTION @extschema@.delete_url(code pg_catalog.text, expected_version pg_catalog.int8)
RETURNS pg_catalog.bool
AS 'MODULE_PATHNAME', 'delete_url_at'
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
SECURITY DEFINER;

COMMENT ON FUNCTION @extschema@.delete_url(pg_catalog.text, pg_catalog.int8) IS
    'retire the link if its version is still expected_version; true if retired, NULL for an unknown or retired code, US003 if the link is at another version';

CREATE FUNCTION @extschema@.disable_url(code pg_catalog.text)
RETURNS pg_catalog.bool
AS 'MODULE_PATHNAME', 'disable_url'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE
SECURITY DEFINER;

COMMENT ON FUNCTION @extschema@.disable_url(pg_catalog.text) IS
    'make the link resolve to NULL, uncounted, until enable_url, and no longer reused; true if it was enabled';

CREATE FUNCTION @extschema@.disable_url(code pg_catalog.text, expected_version pg_catalog.int8)
RETURNS pg_catalog.bool
AS 'MODULE_PATHNAME', 'disable_url_at'
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
SECURITY DEFINER;

COMMENT ON FUNCTION @extschema@.disable_url(pg_catalog.text, pg_catalog.int8) IS
    'disable the link if its version is still expected_version; true if it was enabled, false if already disabled, NULL for an unknown or retired code, US003 if the link is at another version';

CREATE FUNCTION @extschema@.enable_url(code pg_catalog.text)
RETURNS pg_catalog.bool
AS 'MODULE_PATHNAME', 'enable_url'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE
SECURITY DEFINER;

COMMENT ON FUNCTION @extschema@.enable_url(pg_catalog.text) IS
    'undo disable_url; true if the link was disabled';

CREATE FUNCTION @extschema@.enable_url(code pg_catalog.text, expected_version pg_catalog.int8)
RETURNS pg_catalog.bool
AS 'MODULE_PATHNAME', 'enable_url_at'
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
SECURITY DEFINER;

COMMENT ON FUNCTION @extschema@.enable_url(pg_catalog.text, pg_catalog.int8) IS
    'enable the link if its version is still expected_version; true if it was disabled, false if already enabled, NULL for an unknown or retired code, US003 if the link is at another version';

CREATE FUNCTION @extschema@.url_stats(code pg_catalog.text)
RETURNS TABLE (short_code pg_catalog.text, original_url pg_catalog.text, clicks pg_catalog.int8,
               created_at pg_catalog.timestamptz, expires_at pg_catalog.timestamptz,
               max_clicks pg_catalog.int8, version pg_catalog.int8, enabled pg_catalog.bool)
AS 'MODULE_PATHNAME', 'url_stats'
LANGUAGE C STABLE STRICT PARALLEL UNSAFE ROWS 1
SECURITY DEFINER;

COMMENT ON FUNCTION @extschema@.url_stats(pg_catalog.text) IS
    'the public facts of one link; no row for an unknown or retired code';

CREATE FUNCTION @extschema@.purge_urls(batch_size pg_catalog.int4 DEFAULT 1000)
RETURNS pg_catalog.int8
AS 'MODULE_PATHNAME', 'purge_urls'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE
SECURITY DEFINER;

COMMENT ON FUNCTION @extschema@.purge_urls(pg_catalog.int4) IS
    'retire expired and used-up links in batches, keeping their codes; returns how many (0 when another purge is running)';

CREATE FUNCTION @extschema@.url_shortener_capacity()
RETURNS TABLE (code_length pg_catalog.int4, links pg_catalog.int8, code_space pg_catalog.numeric,
               fullness pg_catalog.float8, expected_attempts pg_catalog.float8,
               exhaustion_chance pg_catalog.float8)
AS 'MODULE_PATHNAME', 'url_shortener_capacity'
LANGUAGE C STABLE PARALLEL UNSAFE
SECURITY DEFINER;

COMMENT ON FUNCTION @extschema@.url_shortener_capacity() IS
    'drawn codes per code length (tombstones included, aliases not), the size and fullness of each code space, expected attempts and the chance of US001 per call';

CREATE FUNCTION @extschema@.release_code(code pg_catalog.text)
RETURNS pg_catalog.bool
AS 'MODULE_PATHNAME', 'release_code'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE
SECURITY DEFINER;

COMMENT ON FUNCTION @extschema@.release_code(pg_catalog.text) IS
    'delete the tombstone of a retired link so that its code may be used again; true if there was one';

-- Least privilege: a DBA grants EXECUTE to the roles that need it.
REVOKE ALL ON FUNCTION @extschema@.shorten_url(pg_catalog.text, pg_catalog.text, pg_catalog.bool, pg_catalog.timestamptz, pg_catalog.int8, pg_catalog.text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.shorten_url_locked(pg_catalog.text, pg_catalog.text, pg_catalog.bool, pg_catalog.timestamptz, pg_catalog.int8, pg_catalog.text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.shorten_urls(pg_catalog.text[], pg_catalog.text[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.resolve_url(pg_catalog.text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.update_url(pg_catalog.text, pg_catalog.text, pg_catalog.int8) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.delete_url(pg_catalog.text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.delete_url(pg_catalog.text, pg_catalog.int8) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.disable_url(pg_catalog.text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.disable_url(pg_catalog.text, pg_catalog.int8) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.enable_url(pg_catalog.text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.enable_url(pg_catalog.text, pg_catalog.int8) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.url_stats(pg_catalog.text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.purge_urls(pg_catalog.int4) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.url_shortener_capacity() FROM PUBLIC;
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
 *   - distributes released_codes by short_code too, colocated with urls:
 *     release_code runs on the worker of its code;
 *   - makes every other side table (reuse_key) a reference table: each
 *     node then holds a full copy, read locally;
 *   - distributes the extension's calls keyed by a code
 *     (create_distributed_function, distribution argument "code",
 *     colocated with urls), so that a top-level SELECT f('code', ...)
 *     outside a transaction block is forwarded whole to the worker holding
 *     the code's shard: one round trip from the coordinator instead of one
 *     per statement; and makes their EXECUTE grants again on every worker
 *     (Citus distributes an extension's function without its grants): on
 *     each worker for a function this call distributes, and on the
 *     coordinator, which Citus propagates to every worker, for one
 *     distributed before (1.7).
 * Idempotent: what is already distributed is left as it is, so it can be
 * called again after citus_add_node or an update.  Citus is needed only when this runs (the body is PL/pgSQL, resolved at call
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
    extension_oid pg_catalog.oid;
    forwarded pg_catalog.oid[];
    side_table pg_catalog.regclass;
    already_forwarded pg_catalog.oid[];
    keyed_call pg_catalog.oid;
    grant_command pg_catalog.text;
    on_coordinator pg_catalog.bool;
    made_by pg_catalog.oid;
    function_owner pg_catalog.oid;
    failures pg_catalog.text;
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_extension e
                   WHERE e.extname OPERATOR(pg_catalog.=) 'citus'::pg_catalog.name) THEN
        RAISE EXCEPTION 'url_shortener_distribute needs the citus extension'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Run CREATE EXTENSION citus and citus_add_node for each worker first, on the coordinator.';
    END IF;

    SELECT e.oid INTO extension_oid FROM pg_catalog.pg_extension e
    WHERE e.extname OPERATOR(pg_catalog.=) 'url_shortener'::pg_catalog.name;

    /* The calls keyed by a code: the extension's own functions of these
     * names, not one of the same name someone else made in its schema. */
    SELECT COALESCE(pg_catalog.array_agg(p.oid), '{}') INTO forwarded
    FROM pg_catalog.pg_proc p
    JOIN pg_catalog.pg_depend m ON m.objid OPERATOR(pg_catalog.=) p.oid
    WHERE m.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass
      AND m.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_extension'::pg_catalog.regclass
      AND m.refobjid OPERATOR(pg_catalog.=) extension_oid
      AND m.deptype OPERATOR(pg_catalog.=) 'e'::pg_catalog."char"
      AND p.proname OPERATOR(pg_catalog.=) ANY (ARRAY['resolve_url', 'url_stats', 'update_url',
                                                      'disable_url', 'enable_url', 'delete_url',
                                                      'release_code']::pg_catalog.name[]);

    IF NOT EXISTS (SELECT FROM pg_catalog.pg_dist_partition p
                   WHERE p.logicalrelid OPERATOR(pg_catalog.=) '@extschema@.urls'::pg_catalog.regclass) THEN
        PERFORM pg_catalog.create_distributed_table('@extschema@.urls'::pg_catalog.regclass,
                                                    'short_code'::pg_catalog.text);
        PERFORM pg_catalog.truncate_local_data_after_distributing_table(
            '@extschema@.urls'::pg_catalog.regclass);
    END IF;

    /* Keyed by the code: distributed as urls, on the same workers (1.6). */
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_dist_partition p
                   WHERE p.logicalrelid OPERATOR(pg_catalog.=) '@extschema@.released_codes'::pg_catalog.regclass) THEN
        PERFORM pg_catalog.create_distributed_table('@extschema@.released_codes'::pg_catalog.regclass,
                                                    'short_code'::pg_catalog.text,
                                                    colocate_with => '@extschema@.urls'::pg_catalog.text);
        PERFORM pg_catalog.truncate_local_data_after_distributing_table(
            '@extschema@.released_codes'::pg_catalog.regclass);
    END IF;

    FOR side_table IN
        SELECT c.oid::pg_catalog.regclass
        FROM pg_catalog.pg_depend d
        JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) d.objid
        WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
          AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_extension'::pg_catalog.regclass
          AND d.refobjid OPERATOR(pg_catalog.=) extension_oid
          AND d.deptype OPERATOR(pg_catalog.=) 'e'::pg_catalog."char"
          AND c.relkind OPERATOR(pg_catalog.=) 'r'::pg_catalog."char"
          AND c.oid OPERATOR(pg_catalog.<>) '@extschema@.urls'::pg_catalog.regclass
          AND c.oid OPERATOR(pg_catalog.<>) '@extschema@.released_codes'::pg_catalog.regclass
          AND NOT EXISTS (SELECT FROM pg_catalog.pg_dist_partition p
                          WHERE p.logicalrelid OPERATOR(pg_catalog.=) c.oid)
    LOOP
        PERFORM pg_catalog.create_reference_table(side_table);
        PERFORM pg_catalog.truncate_local_data_after_distributing_table(side_table);
    END LOOP;

    /* Those already forwarded when this call started (a second call, or
     * one after ALTER EXTENSION UPDATE or citus_add_node). */
    SELECT COALESCE(pg_catalog.array_agg(o.objid), '{}') INTO already_forwarded
    FROM pg_catalog.pg_dist_object o
    WHERE o.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass
      AND o.objid OPERATOR(pg_catalog.=) ANY (forwarded)
      AND o.distribution_argument_index IS NOT NULL;

    FOREACH keyed_call IN ARRAY forwarded LOOP
        CONTINUE WHEN EXISTS (SELECT FROM pg_catalog.pg_dist_object o
                              WHERE o.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass
                                AND o.objid OPERATOR(pg_catalog.=) keyed_call
                                AND o.distribution_argument_index IS NOT NULL);
        PERFORM pg_catalog.create_distributed_function(keyed_call::pg_catalog.regprocedure,
                                                       'code'::pg_catalog.text,
                                                       colocate_with => '@extschema@.urls'::pg_catalog.text);
    END LOOP;

    /*
     * Citus distributes a function of an extension without its grants: a
     * role granted EXECUTE on the coordinator would be refused on the
     * worker a forwarded call runs on.  So every EXECUTE grant of the
     * forwarded functions (but the owner's) is made again on the workers:
     *   - of a function this call distributes, on each worker with
     *     run_command_on_workers, as 1.3 to 1.6 did, which works in
     *     that call (presumably as the workers' own connections do not see
     *     it distributed before this transaction commits);
     *   - of a function that was distributed before, on the coordinator:
     *     a worker refuses a GRANT on a distributed function ("operation is
     *     not allowed on this node"), and Citus propagates the
     *     coordinator's to every worker, one added since included.  On the
     *     coordinator it changes nothing: the owner's grant, made again by
     *     the owner or a superuser (recorded as the owner's), is the same
     *     entry.  One that another role made (holding the grant option) is
     *     not made again: as the caller it would be a second entry, the
     *     owner's, that a REVOKE ... CASCADE from that role would leave
     *     (found in review); a WARNING names it instead.
     * Grants made after this call are propagated by Citus itself, to the
     * workers there are then.
     */
    FOR grant_command, on_coordinator, made_by, function_owner IN
        SELECT pg_catalog.format('GRANT EXECUTE ON FUNCTION %s TO %s%s', p.oid::pg_catalog.regprocedure,
                                 CASE WHEN a.grantee OPERATOR(pg_catalog.=) 0::pg_catalog.oid THEN 'PUBLIC'
                                      ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(a.grantee)::pg_catalog.text) END,
                                 CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END),
               p.oid OPERATOR(pg_catalog.=) ANY (already_forwarded), a.grantor, p.proowner
        FROM pg_catalog.pg_proc p,
             LATERAL pg_catalog.aclexplode(p.proacl) a
        WHERE p.oid OPERATOR(pg_catalog.=) ANY (forwarded)
          AND a.privilege_type OPERATOR(pg_catalog.=) 'EXECUTE'::pg_catalog.text
          AND a.grantee OPERATOR(pg_catalog.<>) p.proowner
    LOOP
        IF on_coordinator AND made_by OPERATOR(pg_catalog.<>) function_owner THEN
            RAISE WARNING 'a grant made by role % was not made again on the workers', pg_catalog.pg_get_userbyid(made_by)
                USING DETAIL = pg_catalog.format('%s, granted by %s; made again by the caller, it would be recorded as the owner''s on the coordinator, and outlive a REVOKE ... CASCADE from %s.',
                                                 grant_command, pg_catalog.pg_get_userbyid(made_by), pg_catalog.pg_get_userbyid(made_by)),
                      HINT = pg_catalog.format('On the coordinator, as %s, run it again: Citus propagates it to every worker.',
                                               pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(made_by)::pg_catalog.text));
            CONTINUE;
        END IF;
        IF on_coordinator THEN
            EXECUTE grant_command;
            CONTINUE;
        END IF;
        SELECT pg_catalog.string_agg(pg_catalog.format('%s:%s: %s', w.nodename, w.nodeport, w.result), '; ')
        INTO failures
        FROM pg_catalog.run_command_on_workers(grant_command) w
        WHERE NOT w.success;
        IF failures IS NOT NULL THEN
            RAISE EXCEPTION 'could not grant on the workers what the coordinator grants'
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      DETAIL = pg_catalog.format('%s failed on %s.', grant_command, failures),
                      HINT = 'Nothing was distributed.  Remove the cause each worker gives (a role missing there, a worker not answering), then call url_shortener_distribute() again on the coordinator.';
        END IF;
    END LOOP;
END
$$;

REVOKE ALL ON FUNCTION @extschema@.url_shortener_distribute() FROM PUBLIC;

COMMENT ON FUNCTION @extschema@.url_shortener_distribute() IS
    'on a Citus coordinator: distribute urls and released_codes by short_code, make the other side tables reference tables, forward the extension''s calls keyed by a code to the worker holding it, and make their grants on every worker';
