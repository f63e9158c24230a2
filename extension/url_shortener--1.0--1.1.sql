/*
 * url_shortener 1.0 -> 1.1: link lifecycle.  Custom aliases, reuse,
 * expiry, click limits, edits with optimistic locking, disable/enable,
 * delete and stats.
 * Every existing link, code and click count is kept: the new columns have
 * defaults that leave old links as they were (no expiry, no limit,
 * enabled, version 1), and adding them rewrites nothing.
 *
 * A superuser runs this with the extension's schema, which other roles may
 * be able to create objects in, on the search_path.  So every operator,
 * function, type and collation below is schema-qualified, also inside the
 * DO block and the function bodies, whose expressions are parsed when they
 * run: a planted operator or function that matched an unqualified name
 * more exactly than pg_catalog's would run as that superuser.
 * test/hostile_schema/run checks this.
 */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION url_shortener UPDATE TO '1.1'" to load this file. \quit

ALTER TABLE @extschema@.urls
    ADD COLUMN expires_at pg_catalog.timestamptz,
    ADD COLUMN max_clicks pg_catalog.int8
        CONSTRAINT urls_max_clicks_check CHECK (max_clicks OPERATOR(pg_catalog.>=) 1),
    ADD COLUMN version pg_catalog.int8 NOT NULL DEFAULT 1,
    ADD COLUMN enabled pg_catalog.bool NOT NULL DEFAULT true,
    ADD COLUMN reusable pg_catalog.bool NOT NULL DEFAULT false;

/*
 * The secret key of reusable links' codes (HMAC-SHA256 of the URL), made
 * here from pg_strong_random (gen_random_uuid: 244 random bits), so that
 * nobody without it can compute which code a URL would get.  It never
 * changes, and pg_dump keeps it, so a restored database finds the same
 * reusable links.  On Citus make it a reference table: it is read once per
 * backend.
 */
CREATE TABLE @extschema@.reuse_key (
    only_row pg_catalog.bool PRIMARY KEY DEFAULT true CHECK (only_row),
    secret   pg_catalog.bytea NOT NULL CHECK (pg_catalog.length(secret) OPERATOR(pg_catalog.>=) 16)
);
INSERT INTO @extschema@.reuse_key (secret)
SELECT pg_catalog.decode(pg_catalog.replace(pg_catalog.gen_random_uuid()::pg_catalog.text, '-', '')
                         OPERATOR(pg_catalog.||)
                         pg_catalog.replace(pg_catalog.gen_random_uuid()::pg_catalog.text, '-', ''), 'hex');
REVOKE ALL ON TABLE @extschema@.reuse_key FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('@extschema@.reuse_key', '');

/*
 * shorten_url and shorten_url_locked gain named, defaulted options, so
 * shorten_url(url) keeps working.  A function's arguments cannot change in
 * place, so each is created again beside the old one, takes over what an
 * administrator set on the old one (below), and the old one is dropped.
 */
CREATE FUNCTION @extschema@.shorten_url(url pg_catalog.text, alias pg_catalog.text DEFAULT NULL,
                                        reuse pg_catalog.bool DEFAULT false,
                                        expires_at pg_catalog.timestamptz DEFAULT NULL,
                                        max_clicks pg_catalog.int8 DEFAULT NULL)
RETURNS pg_catalog.text
AS 'MODULE_PATHNAME', 'shorten_url'
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

CREATE FUNCTION @extschema@.shorten_url_locked(url pg_catalog.text, alias pg_catalog.text DEFAULT NULL,
                                               reuse pg_catalog.bool DEFAULT false,
                                               expires_at pg_catalog.timestamptz DEFAULT NULL,
                                               max_clicks pg_catalog.int8 DEFAULT NULL)
RETURNS pg_catalog.text
AS 'MODULE_PATHNAME', 'shorten_url_locked'
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

REVOKE ALL ON FUNCTION @extschema@.shorten_url(pg_catalog.text, pg_catalog.text, pg_catalog.bool,
                                               pg_catalog.timestamptz, pg_catalog.int8) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.shorten_url_locked(pg_catalog.text, pg_catalog.text, pg_catalog.bool,
                                                      pg_catalog.timestamptz, pg_catalog.int8) FROM PUBLIC;

/*
 * Each new function takes over the old one's owner, its settings (ALTER
 * FUNCTION ... SET) and its privileges exactly: every grant with its grant
 * option and its grantor (a grant to lead WITH GRANT OPTION from the
 * owner and lead's grant to dev stay exactly that).
 *
 * A grant is made again by its grantor (SET ROLE, local to this
 * transaction), after the grant that gave the grantor its grant option:
 * the loop makes the grants the owner made first, then any whose grantor
 * has the option again, until none is left.  The result is compared with
 * the old ACL; if it differs (a grantor that has since become a superuser
 * grants as the owner), the update stops rather than change who may call
 * the function.  A grantor that has lost USAGE on the schema cannot name
 * the function, and the update stops too, saying so.
 *
 * A GRANT in an extension script also becomes part of the extension's
 * initial privileges (pg_init_privs), which pg_dump leaves out; so the
 * initial privileges are set back to what this script itself gave (the
 * owner's EXECUTE, as after a fresh installation), and pg_dump keeps
 * dumping the administrator's grants.
 *
 * Settings are set again the way pg_dump writes them: one literal per
 * element for a list of identifiers (search_path, temp_tablespaces, the
 * preload lists), one literal otherwise.

 *
 * PL/pgSQL parses each expression here when it first runs, with this
 * script's search_path, hence OPERATOR(pg_catalog.x) throughout.  FOR i IN
 * 1 .. n counts and compares in C, looking up no operator; CASE WHEN,
 * COALESCE, IS NULL and subscripts look up none either.  IN, simple CASE,
 * IS DISTINCT FROM, NULLIF, BETWEEN and LIKE would look up an operator by
 * name, so none is used.
 */
DO $$
DECLARE
    new_signature CONSTANT pg_catalog.text :=
        '(pg_catalog.text, pg_catalog.text, pg_catalog.bool, pg_catalog.timestamptz, pg_catalog.int8)';
    caller_role CONSTANT pg_catalog.text := pg_catalog.current_setting('role');
    function_name pg_catalog.text;
    old_function pg_catalog.oid;
    new_function pg_catalog.oid;
    new_name pg_catalog.text;
    old_owner pg_catalog.oid;
    old_acl pg_catalog.aclitem[];
    old_config pg_catalog.text[];
    script_init_privs pg_catalog.aclitem[];
    acl_grantors pg_catalog.oid[];
    acl_grantees pg_catalog.oid[];
    acl_grantable pg_catalog.bool[];
    acl_done pg_catalog.bool[];
    option_holders pg_catalog.oid[];
    remaining pg_catalog.int4;
    progress pg_catalog.bool;
    setting pg_catalog.text;
    setting_name pg_catalog.text;
    setting_value pg_catalog.text;
    old_state pg_catalog.text;
    new_state pg_catalog.text;
BEGIN
    FOREACH function_name IN ARRAY ARRAY['shorten_url', 'shorten_url_locked']::pg_catalog.text[] LOOP
        old_function := pg_catalog.format('@extschema@.%I(pg_catalog.text)', function_name)::pg_catalog.regprocedure;
        new_name := pg_catalog.format('@extschema@.%I%s', function_name, new_signature);
        new_function := new_name::pg_catalog.regprocedure;

        SELECT p.proowner, COALESCE(p.proacl, pg_catalog.acldefault('f'::pg_catalog."char", p.proowner)),
               p.proconfig
        INTO old_owner, old_acl, old_config
        FROM pg_catalog.pg_proc p
        WHERE p.oid OPERATOR(pg_catalog.=) old_function;

        SELECT i.initprivs INTO script_init_privs
        FROM pg_catalog.pg_init_privs i
        WHERE i.objoid OPERATOR(pg_catalog.=) new_function
          AND i.classoid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass::pg_catalog.oid
          AND i.objsubid OPERATOR(pg_catalog.=) 0;

        -- The owner, then an empty ACL to fill from the old one.
        EXECUTE pg_catalog.format('ALTER FUNCTION %s OWNER TO %I', new_name, pg_catalog.pg_get_userbyid(old_owner));
        EXECUTE pg_catalog.format('REVOKE ALL ON FUNCTION %s FROM %I', new_name, pg_catalog.pg_get_userbyid(old_owner));

        SELECT COALESCE(pg_catalog.array_agg(a.grantor ORDER BY a.ord), '{}'),
               COALESCE(pg_catalog.array_agg(a.grantee ORDER BY a.ord), '{}'),
               COALESCE(pg_catalog.array_agg(a.is_grantable ORDER BY a.ord), '{}')
        INTO acl_grantors, acl_grantees, acl_grantable
        FROM pg_catalog.aclexplode(old_acl) WITH ORDINALITY a(grantor, grantee, privilege_type, is_grantable, ord);

        acl_done := pg_catalog.array_fill(false, ARRAY[pg_catalog.cardinality(acl_grantors)]);
        option_holders := ARRAY[old_owner];
        remaining := pg_catalog.cardinality(acl_grantors);
        WHILE remaining OPERATOR(pg_catalog.>) 0 LOOP
            progress := false;
            FOR i IN 1 .. pg_catalog.cardinality(acl_grantors) LOOP
                CONTINUE WHEN acl_done[i]
                           OR NOT acl_grantors[i] OPERATOR(pg_catalog.=) ANY (option_holders);
                IF acl_grantors[i] OPERATOR(pg_catalog.<>) old_owner THEN
                    PERFORM pg_catalog.set_config('role', pg_catalog.pg_get_userbyid(acl_grantors[i])::pg_catalog.text, true);
                END IF;
                BEGIN
                    EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION %s TO %s%s', new_name,
                        CASE WHEN acl_grantees[i] OPERATOR(pg_catalog.=) 0::pg_catalog.oid THEN 'PUBLIC'
                             ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(acl_grantees[i])::pg_catalog.text) END,
                        CASE WHEN acl_grantable[i] THEN ' WITH GRANT OPTION' ELSE '' END);
                EXCEPTION WHEN insufficient_privilege THEN
                    RAISE EXCEPTION 'cannot grant EXECUTE on % again as %, who granted it',
                                    new_function::pg_catalog.regprocedure, pg_catalog.pg_get_userbyid(acl_grantors[i])
                        USING ERRCODE = 'insufficient_privilege',
                              DETAIL = pg_catalog.format('As %s: %s.', pg_catalog.pg_get_userbyid(acl_grantors[i]), SQLERRM),
                              HINT = 'A grant is made again by its grantor, who needs USAGE on the extension''s schema. Grant it for the update, or revoke the grant.';
                END;
                IF acl_grantors[i] OPERATOR(pg_catalog.<>) old_owner THEN
                    PERFORM pg_catalog.set_config('role', caller_role, true);
                END IF;
                IF acl_grantable[i] THEN
                    option_holders := pg_catalog.array_append(option_holders, acl_grantees[i]);
                END IF;
                acl_done[i] := true;
                remaining := remaining OPERATOR(pg_catalog.-) 1;
                progress := true;
            END LOOP;
            IF NOT progress THEN
                RAISE EXCEPTION 'cannot grant EXECUTE on % again as it was granted',
                                new_function::pg_catalog.regprocedure
                    USING ERRCODE = 'object_not_in_prerequisite_state',
                          DETAIL = pg_catalog.format('A grantor in its ACL %s does not hold the grant option.', old_acl);
            END IF;
        END LOOP;

        EXECUTE pg_catalog.format('ALTER FUNCTION %s RESET ALL', new_name);
        FOREACH setting IN ARRAY COALESCE(old_config, '{}') LOOP
            setting_name := pg_catalog.split_part(setting, '=', 1);
            setting_value := pg_catalog.substr(setting, pg_catalog.length(setting_name) OPERATOR(pg_catalog.+) 2);
            IF pg_catalog.lower(setting_name) OPERATOR(pg_catalog.=) ANY (ARRAY['search_path', 'temp_tablespaces',
                    'local_preload_libraries', 'session_preload_libraries']::pg_catalog.text[]) THEN
                SELECT COALESCE(pg_catalog.string_agg(pg_catalog.quote_literal(
                           CASE WHEN pg_catalog.left(m.element[1], 1) OPERATOR(pg_catalog.=) '"'
                                THEN pg_catalog.replace(pg_catalog.substr(m.element[1], 2,
                                         pg_catalog.length(m.element[1]) OPERATOR(pg_catalog.-) 2), '""', '"')
                                ELSE m.element[1] END), ', ' ORDER BY m.ord),
                                '''''')   -- an empty list: SET ... TO ''
                INTO setting_value
                FROM pg_catalog.regexp_matches(setting_value, '"(?:[^"]|"")*"|[^", ]+', 'g')
                     WITH ORDINALITY m(element, ord);
            ELSE
                setting_value := pg_catalog.quote_literal(setting_value);
            END IF;
            EXECUTE pg_catalog.format('ALTER FUNCTION %s SET %I TO %s', new_name, setting_name, setting_value);
        END LOOP;

        -- What a fresh installation records, so that pg_dump dumps the grants.
        UPDATE pg_catalog.pg_init_privs i SET initprivs = script_init_privs
        WHERE i.objoid OPERATOR(pg_catalog.=) new_function
          AND i.classoid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass::pg_catalog.oid
          AND i.objsubid OPERATOR(pg_catalog.=) 0;

        -- Owner, settings and the set of ACL entries must be as they were.
        SELECT pg_catalog.format('owner %s, settings %s, ACL %s', p.proowner::pg_catalog.regrole,
                                 COALESCE(p.proconfig, '{}'),
                                 (SELECT pg_catalog.array_agg(x ORDER BY x)
                                  FROM pg_catalog.unnest(COALESCE(p.proacl, pg_catalog.acldefault('f'::pg_catalog."char", p.proowner)))
                                       a(item), LATERAL (SELECT a.item::pg_catalog.text) t(x)))
        INTO new_state FROM pg_catalog.pg_proc p WHERE p.oid OPERATOR(pg_catalog.=) new_function;
        old_state := pg_catalog.format('owner %s, settings %s, ACL %s', old_owner::pg_catalog.regrole, COALESCE(old_config, '{}'),
                                       (SELECT pg_catalog.array_agg(x ORDER BY x)
                                        FROM pg_catalog.unnest(old_acl) a(item),
                                             LATERAL (SELECT a.item::pg_catalog.text) t(x)));
        IF NOT new_state OPERATOR(pg_catalog.=) old_state THEN
            RAISE EXCEPTION 'cannot carry over the owner, settings and privileges of %',
                            old_function::pg_catalog.regprocedure
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      DETAIL = pg_catalog.format('They were %s; the new function would have %s.', old_state, new_state),
                      HINT = 'A grant made by a role that has since become a superuser cannot be made again as that role. Revoke it and grant it again as the owner, then update.';
        END IF;
    END LOOP;
END $$;

DROP FUNCTION @extschema@.shorten_url(pg_catalog.text);
DROP FUNCTION @extschema@.shorten_url_locked(pg_catalog.text);

COMMENT ON FUNCTION @extschema@.shorten_url(pg_catalog.text, pg_catalog.text, pg_catalog.bool, pg_catalog.timestamptz, pg_catalog.int8) IS
    'store url under a fresh random code, or under alias, or return its reusable link (reuse); optionally expiring or limited to max_clicks resolves';
COMMENT ON FUNCTION @extschema@.shorten_url_locked(pg_catalog.text, pg_catalog.text, pg_catalog.bool, pg_catalog.timestamptz, pg_catalog.int8) IS
    'like shorten_url, but code generation is serialized by a transaction-scoped advisory lock';
COMMENT ON FUNCTION @extschema@.resolve_url(pg_catalog.text) IS
    'return the target of a short code and count the click; NULL for an unknown, disabled, expired or used-up link';

CREATE FUNCTION @extschema@.update_url(code pg_catalog.text, new_url pg_catalog.text, expected_version pg_catalog.int8)
RETURNS pg_catalog.int8
AS 'MODULE_PATHNAME', 'update_url'
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION @extschema@.update_url(pg_catalog.text, pg_catalog.text, pg_catalog.int8) IS
    'change the target of code if its version is still expected_version; returns the new version, NULL for an unknown code';

/*
 * The rest are one statement on one row each, so plain SQL functions.
 * Every name in them is qualified; they touch the row of one short_code.
 * disable_url and enable_url count as edits: they bump the version.
 */
CREATE FUNCTION @extschema@.delete_url(code pg_catalog.text)
RETURNS pg_catalog.bool
LANGUAGE sql VOLATILE STRICT PARALLEL UNSAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    WITH deleted AS (
        DELETE FROM @extschema@.urls WHERE short_code OPERATOR(pg_catalog.=) code RETURNING 1
    )
    SELECT pg_catalog.count(*) OPERATOR(pg_catalog.>) 0 FROM deleted;
END;

COMMENT ON FUNCTION @extschema@.delete_url(pg_catalog.text) IS
    'delete the link; true if there was one';

CREATE FUNCTION @extschema@.disable_url(code pg_catalog.text)
RETURNS pg_catalog.bool
LANGUAGE sql VOLATILE STRICT PARALLEL UNSAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    WITH changed AS (
        UPDATE @extschema@.urls SET enabled = false, version = version OPERATOR(pg_catalog.+) 1
        WHERE short_code OPERATOR(pg_catalog.=) code AND enabled
        RETURNING 1
    )
    SELECT pg_catalog.count(*) OPERATOR(pg_catalog.>) 0 FROM changed;
END;

COMMENT ON FUNCTION @extschema@.disable_url(pg_catalog.text) IS
    'make the link resolve to NULL, uncounted, until enable_url; true if it was enabled';

CREATE FUNCTION @extschema@.enable_url(code pg_catalog.text)
RETURNS pg_catalog.bool
LANGUAGE sql VOLATILE STRICT PARALLEL UNSAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    WITH changed AS (
        UPDATE @extschema@.urls SET enabled = true, version = version OPERATOR(pg_catalog.+) 1
        WHERE short_code OPERATOR(pg_catalog.=) code AND NOT enabled
        RETURNING 1
    )
    SELECT pg_catalog.count(*) OPERATOR(pg_catalog.>) 0 FROM changed;
END;

COMMENT ON FUNCTION @extschema@.enable_url(pg_catalog.text) IS
    'undo disable_url; true if the link was disabled';

CREATE FUNCTION @extschema@.url_stats(code pg_catalog.text)
RETURNS TABLE (short_code pg_catalog.text, original_url pg_catalog.text, clicks pg_catalog.int8,
               created_at pg_catalog.timestamptz, expires_at pg_catalog.timestamptz,
               max_clicks pg_catalog.int8, version pg_catalog.int8, enabled pg_catalog.bool)
LANGUAGE sql STABLE STRICT PARALLEL SAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT u.short_code, u.original_url, u.clicks, u.created_at,
           u.expires_at, u.max_clicks, u.version, u.enabled
    FROM @extschema@.urls u
    WHERE u.short_code OPERATOR(pg_catalog.=) url_stats.code;
END;

COMMENT ON FUNCTION @extschema@.url_stats(pg_catalog.text) IS
    'the public facts of one link; no row for an unknown code';

REVOKE ALL ON FUNCTION @extschema@.update_url(pg_catalog.text, pg_catalog.text, pg_catalog.int8) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.delete_url(pg_catalog.text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.disable_url(pg_catalog.text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.enable_url(pg_catalog.text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.url_stats(pg_catalog.text) FROM PUBLIC;

/*
 * purge_urls: deletes expired and used-up links, batch_size rows per
 * statement, taken with FOR UPDATE SKIP LOCKED so that a purge never waits
 * on a link being clicked.  Guarded by pg_try_advisory_xact_lock(1431456851,
 * 2) ("URLS", object 2): a second purge running at the same time returns 0
 * at once instead of doing the same work.  Returns the links deleted.
 */
CREATE FUNCTION @extschema@.purge_urls(batch_size pg_catalog.int4 DEFAULT 1000)
RETURNS pg_catalog.int8
LANGUAGE plpgsql VOLATILE STRICT PARALLEL UNSAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    purged pg_catalog.int8 := 0;
    batch pg_catalog.int8;
BEGIN
    IF batch_size OPERATOR(pg_catalog.<) 1 THEN
        RAISE EXCEPTION 'batch_size must be at least 1'
            USING ERRCODE = 'invalid_parameter_value', DETAIL = pg_catalog.format('It is %s.', batch_size);
    END IF;
    IF NOT pg_catalog.pg_try_advisory_xact_lock(1431456851, 2) THEN
        RETURN 0;
    END IF;
    LOOP
        WITH doomed AS (
            SELECT u.short_code FROM @extschema@.urls u
            WHERE u.expires_at OPERATOR(pg_catalog.<=) pg_catalog.now()
               OR (u.max_clicks IS NOT NULL AND u.clicks OPERATOR(pg_catalog.>=) u.max_clicks)
            LIMIT batch_size
            FOR UPDATE SKIP LOCKED
        )
        DELETE FROM @extschema@.urls u USING doomed d WHERE u.short_code OPERATOR(pg_catalog.=) d.short_code;
        GET DIAGNOSTICS batch = ROW_COUNT;
        purged := purged OPERATOR(pg_catalog.+) batch;
        EXIT WHEN batch OPERATOR(pg_catalog.<) batch_size;
    END LOOP;
    RETURN purged;
END
$$;

COMMENT ON FUNCTION @extschema@.purge_urls(pg_catalog.int4) IS
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
RETURNS TABLE (code_length pg_catalog.int4, links pg_catalog.int8, code_space pg_catalog.numeric,
               fullness pg_catalog.float8, expected_attempts pg_catalog.float8,
               exhaustion_chance pg_catalog.float8)
LANGUAGE sql STABLE PARALLEL SAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    WITH settings AS (
        SELECT pg_catalog.length(pg_catalog.current_setting('url_shortener.alphabet'))::pg_catalog.numeric
                   AS alphabet_size,
               pg_catalog.current_setting('url_shortener.max_attempts')::pg_catalog.int4 AS max_attempts
    ), counts AS (
        SELECT pg_catalog.length(u.short_code) AS code_length, pg_catalog.count(*) AS links
        FROM @extschema@.urls u GROUP BY 1
    ), spaces AS (
        SELECT c.code_length, c.links,
               s.alphabet_size OPERATOR(pg_catalog.^) c.code_length::pg_catalog.numeric AS code_space,
               s.max_attempts
        FROM counts c, settings s
    )
    SELECT p.code_length, p.links, pg_catalog.round(p.code_space),
           (p.links::pg_catalog.numeric OPERATOR(pg_catalog./) p.code_space)::pg_catalog.float8,
           CASE WHEN p.links::pg_catalog.numeric OPERATOR(pg_catalog.<) p.code_space
                THEN (1::pg_catalog.numeric OPERATOR(pg_catalog./)
                      (1::pg_catalog.numeric OPERATOR(pg_catalog.-)
                       p.links::pg_catalog.numeric OPERATOR(pg_catalog./) p.code_space))::pg_catalog.float8
                ELSE 'Infinity'::pg_catalog.float8 END,
           LEAST(1::pg_catalog.float8,
                 pg_catalog.power((p.links::pg_catalog.numeric OPERATOR(pg_catalog./) p.code_space)::pg_catalog.float8,
                                  p.max_attempts::pg_catalog.float8))
    FROM spaces p
    ORDER BY p.code_length
$$;

COMMENT ON FUNCTION @extschema@.url_shortener_capacity() IS
    'links per code length, the size and fullness of each code space, expected attempts and the chance of US001 per call';

REVOKE ALL ON FUNCTION @extschema@.purge_urls(pg_catalog.int4) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.url_shortener_capacity() FROM PUBLIC;
