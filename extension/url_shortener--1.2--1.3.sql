/*
 * url_shortener 1.2 -> 1.3: idempotency keys.
 *   - shorten_url and shorten_url_locked take idempotency_key, and
 *     shorten_urls idempotency_keys (one per URL): a request repeated with
 *     the same key returns the same code and stores nothing more, so a
 *     call whose outcome was lost (a connection dropped during COMMIT) can
 *     simply be run again.  The same key with a different request fails
 *     with SQLSTATE US004.
 *   - urls records, in idempotency_digest, two keyed digests per link made
 *     with a key: of the key and of the whole request
 *     (extension/idempotency.h).  No key is stored.  Links made without a
 *     key have none (NULL).
 * Every link, click, limit and grant is kept: the new column is NULL for
 * existing links, and adding it rewrites nothing.
 *
 * A superuser runs this with the extension's schema, which other roles may
 * be able to create objects in, on the search_path: every operator,
 * function, type and cast below is qualified, also inside the DO block,
 * whose expressions are parsed when they run.  test/hostile_schema/run
 * checks this.
 */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION url_shortener UPDATE TO '1.3'" to load this file. \quit

/*
 * One column, no CHECK constraint: a CHECK costs every insert and every
 * click (PostgreSQL prepares each CHECK expression anew for every
 * statement on the table; bench/profile measured 16,567 instructions per
 * call for one more, about a tenth of a call).
 *
 * On Citus, urls is distributed, and the coordinator sends an ALTER TABLE
 * on to the shards as the text of the statement it ran.  In an extension
 * script that text is the whole script, which the workers refuse ("cannot
 * insert multiple commands into a prepared statement", citus#6608); run
 * through EXECUTE, the text is the one statement.  The workers then run
 * this script themselves (Citus propagates ALTER EXTENSION UPDATE after
 * the coordinator's own run) and find the column already made on their
 * copy of urls: so it is added only if missing.
 */
DO $$
BEGIN
    EXECUTE 'ALTER TABLE @extschema@.urls ADD COLUMN IF NOT EXISTS idempotency_digest pg_catalog.bytea';
END $$;

/*
 * A function's arguments cannot change in place, so each of the three is
 * created again beside the old one, takes over what an administrator set
 * on the old one (below), and the old one is dropped.  Without the new
 * argument a call means what it meant in 1.2.
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

CREATE FUNCTION @extschema@.shorten_url_locked(url pg_catalog.text, alias pg_catalog.text DEFAULT NULL,
                                               reuse pg_catalog.bool DEFAULT false,
                                               expires_at pg_catalog.timestamptz DEFAULT NULL,
                                               max_clicks pg_catalog.int8 DEFAULT NULL,
                                               idempotency_key pg_catalog.text DEFAULT NULL)
RETURNS pg_catalog.text
AS 'MODULE_PATHNAME', 'shorten_url_locked'
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
SECURITY DEFINER;

CREATE FUNCTION @extschema@.shorten_urls(urls pg_catalog.text[],
                                         idempotency_keys pg_catalog.text[] DEFAULT NULL)
RETURNS TABLE (url pg_catalog.text, short_code pg_catalog.text)
AS 'MODULE_PATHNAME', 'shorten_urls'
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE ROWS 1000
SECURITY DEFINER;

REVOKE ALL ON FUNCTION @extschema@.shorten_url(pg_catalog.text, pg_catalog.text, pg_catalog.bool,
                                               pg_catalog.timestamptz, pg_catalog.int8, pg_catalog.text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.shorten_url_locked(pg_catalog.text, pg_catalog.text, pg_catalog.bool,
                                                      pg_catalog.timestamptz, pg_catalog.int8, pg_catalog.text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.shorten_urls(pg_catalog.text[], pg_catalog.text[]) FROM PUBLIC;

/*
 * Each new function takes over the old one's owner, its settings (ALTER
 * FUNCTION ... SET) and its privileges exactly, grant options and grantors
 * included, the way the 1.0 -> 1.1 update did for shorten_url: that
 * script explains the method (each grant made again by its grantor, the
 * result compared with the old ACL, pg_init_privs set back to what a fresh
 * installation records).  The block is the same, over three functions.
 */
DO $$
DECLARE
    function_names CONSTANT pg_catalog.text[] :=
        ARRAY['shorten_url', 'shorten_url_locked', 'shorten_urls'];
    old_signatures CONSTANT pg_catalog.text[] :=
        ARRAY['(pg_catalog.text, pg_catalog.text, pg_catalog.bool, pg_catalog.timestamptz, pg_catalog.int8)',
              '(pg_catalog.text, pg_catalog.text, pg_catalog.bool, pg_catalog.timestamptz, pg_catalog.int8)',
              '(pg_catalog.text[])'];
    new_signatures CONSTANT pg_catalog.text[] :=
        ARRAY['(pg_catalog.text, pg_catalog.text, pg_catalog.bool, pg_catalog.timestamptz, pg_catalog.int8, pg_catalog.text)',
              '(pg_catalog.text, pg_catalog.text, pg_catalog.bool, pg_catalog.timestamptz, pg_catalog.int8, pg_catalog.text)',
              '(pg_catalog.text[], pg_catalog.text[])'];
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
    FOR f IN 1 .. pg_catalog.cardinality(function_names) LOOP
        function_name := function_names[f];
        old_function := pg_catalog.format('@extschema@.%I%s', function_name, old_signatures[f])::pg_catalog.regprocedure;
        new_name := pg_catalog.format('@extschema@.%I%s', function_name, new_signatures[f]);
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

DROP FUNCTION @extschema@.shorten_url(pg_catalog.text, pg_catalog.text, pg_catalog.bool,
                                      pg_catalog.timestamptz, pg_catalog.int8);
DROP FUNCTION @extschema@.shorten_url_locked(pg_catalog.text, pg_catalog.text, pg_catalog.bool,
                                             pg_catalog.timestamptz, pg_catalog.int8);
DROP FUNCTION @extschema@.shorten_urls(pg_catalog.text[]);

COMMENT ON FUNCTION @extschema@.shorten_url(pg_catalog.text, pg_catalog.text, pg_catalog.bool, pg_catalog.timestamptz, pg_catalog.int8, pg_catalog.text) IS
    'store url under a fresh random code, or under alias, or return its reusable link (reuse); optionally expiring or limited to max_clicks resolves; repeated with the same idempotency_key, return the same link';
COMMENT ON FUNCTION @extschema@.shorten_url_locked(pg_catalog.text, pg_catalog.text, pg_catalog.bool, pg_catalog.timestamptz, pg_catalog.int8, pg_catalog.text) IS
    'like shorten_url, but code generation is serialized by a transaction-scoped advisory lock';
COMMENT ON FUNCTION @extschema@.shorten_urls(pg_catalog.text[], pg_catalog.text[]) IS
    'store many urls in one statement; returns (url, short_code) in input order; with idempotency_keys (one per URL), repeating the call returns the same links';

/*
 * url_shortener_distribute() also makes the EXECUTE grants of the forwarded
 * functions again on every worker (Citus distributes an extension's
 * function without its grants).  Replaced in place: its owner and grants
 * stay; it keeps its SET search_path.
 */
CREATE OR REPLACE FUNCTION @extschema@.url_shortener_distribute()
RETURNS pg_catalog.void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    side_table pg_catalog.regclass;
    keyed_call pg_catalog.regprocedure;
    grant_command pg_catalog.text;
    failures pg_catalog.text;
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

    /*
     * Citus distributes a function of an extension without its grants: a
     * role granted EXECUTE on the coordinator would be refused on the
     * worker a forwarded call runs on.  So every EXECUTE grant of the
     * forwarded functions (but the owner's) is made again on each worker.
     * Grants made after this call are propagated by Citus itself.
     */
    FOR grant_command IN
        SELECT pg_catalog.format('GRANT EXECUTE ON FUNCTION %s TO %s%s', p.oid::pg_catalog.regprocedure,
                                 CASE WHEN a.grantee OPERATOR(pg_catalog.=) 0::pg_catalog.oid THEN 'PUBLIC'
                                      ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(a.grantee)::pg_catalog.text) END,
                                 CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END)
        FROM pg_catalog.pg_proc p,
             LATERAL pg_catalog.aclexplode(p.proacl) a
        WHERE p.pronamespace OPERATOR(pg_catalog.=) '@extschema@'::pg_catalog.regnamespace
          AND p.proname OPERATOR(pg_catalog.=) ANY (ARRAY['resolve_url', 'url_stats', 'update_url',
                                                          'disable_url', 'enable_url', 'delete_url',
                                                          'release_code']::pg_catalog.name[])
          AND a.privilege_type OPERATOR(pg_catalog.=) 'EXECUTE'::pg_catalog.text
          AND a.grantee OPERATOR(pg_catalog.<>) p.proowner
    LOOP
        SELECT pg_catalog.string_agg(pg_catalog.format('%s:%s: %s', w.nodename, w.nodeport, w.result), '; ')
        INTO failures
        FROM pg_catalog.run_command_on_workers(grant_command) w
        WHERE NOT w.success;
        IF failures IS NOT NULL THEN
            RAISE EXCEPTION 'could not grant on the workers what the coordinator grants'
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      DETAIL = pg_catalog.format('%s failed on %s.', grant_command, failures),
                      HINT = 'Create the roles on every worker first, then call url_shortener_distribute() again.';
        END IF;
    END LOOP;
END
$$;


COMMENT ON FUNCTION @extschema@.url_shortener_distribute() IS
    'on a Citus coordinator: distribute urls by short_code, make side tables reference tables, forward the calls keyed by a code to the worker holding it, and make their grants on the workers';
