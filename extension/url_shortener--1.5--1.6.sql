/*
 * url_shortener 1.5 -> 1.6: a released code cannot give an idempotency key
 * or a reusable URL a second link.
 *
 * An idempotency key's link, and a URL's reusable link, take the first
 * code of a fixed sequence that is free when the link is made; a code held
 * by another link is passed over.  If an administrator later frees a
 * passed-over code with release_code, a repeat of the key (or a reuse of
 * the URL) found that code free and made a second link there.  From 1.6
 * release_code records the code it frees in released_codes, and a link
 * made with a key or for reuse on a code found there first looks further
 * along its sequence: if the key's (the URL's) link is there, the new row
 * is taken back and that link is the answer.  Codes released before the
 * update are not recorded.
 *
 * released_codes is keyed by short_code: on Citus it is distributed by
 * short_code and colocated with urls, so release_code, forwarded to the
 * code's worker, writes it there, and each statement on it names one code.
 * Run SELECT url_shortener_distribute() again after the update, as for
 * 1.5; until then the table stays on the coordinator.
 */
\echo Use "ALTER EXTENSION url_shortener UPDATE TO '1.6'" to load this file. \quit

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
 * The functions that write and read the table run as their owner
 * (SECURITY DEFINER), who owns urls.  Run by another superuser, the update
 * would leave the table owned by that role, with an initial privilege that
 * names it; so it gets the owner of urls, and the initial privilege a
 * fresh installation would record for it: all for that owner alone.
 */
DO $$
DECLARE
    urls_owner pg_catalog.oid;
BEGIN
    SELECT c.relowner INTO urls_owner FROM pg_catalog.pg_class c
    WHERE c.oid OPERATOR(pg_catalog.=) '@extschema@.urls'::pg_catalog.regclass::pg_catalog.oid;
    EXECUTE pg_catalog.format('ALTER TABLE %s OWNER TO %I',
                              '@extschema@.released_codes'::pg_catalog.regclass,
                              pg_catalog.pg_get_userbyid(urls_owner));
    UPDATE pg_catalog.pg_init_privs i
    SET initprivs = c.relacl
    FROM pg_catalog.pg_class c
    WHERE c.oid OPERATOR(pg_catalog.=) '@extschema@.released_codes'::pg_catalog.regclass::pg_catalog.oid
      AND i.classoid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
      AND i.objoid OPERATOR(pg_catalog.=) c.oid
      AND i.objsubid OPERATOR(pg_catalog.=) 0;
END
$$;

/*
 * url_shortener_distribute() distributes released_codes by short_code,
 * colocated with urls, instead of making it a reference table as the other
 * side tables: release_code runs on the worker of its code.  The function
 * is 1.4's otherwise (only the extension's own functions are forwarded and
 * granted).
 *
 * Replaced in place: its owner and grants stay.  CREATE OR REPLACE sets
 * the function's settings to its SET clause alone, so an administrator's
 * ALTER FUNCTION ... SET is given back after it (the settings as stored,
 * "name=value"; search_path is the function's own and is not given back).
 */
DO $do$
DECLARE
    saved pg_catalog.text[];
BEGIN
    SELECT p.proconfig INTO saved FROM pg_catalog.pg_proc p
    WHERE p.oid OPERATOR(pg_catalog.=) '@extschema@.url_shortener_distribute()'::pg_catalog.regprocedure;

    EXECUTE $replace$CREATE OR REPLACE FUNCTION @extschema@.url_shortener_distribute()
RETURNS pg_catalog.void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    extension_oid pg_catalog.oid;
    forwarded pg_catalog.oid[];
    side_table pg_catalog.regclass;
    keyed_call pg_catalog.oid;
    grant_command pg_catalog.text;
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
        WHERE p.oid OPERATOR(pg_catalog.=) ANY (forwarded)
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
$$$replace$;

    UPDATE pg_catalog.pg_proc p
    SET proconfig = p.proconfig OPERATOR(pg_catalog.||)
                    ARRAY(SELECT c.setting
                          FROM pg_catalog.unnest(saved) WITH ORDINALITY c(setting, ord)
                          WHERE NOT pg_catalog.starts_with(pg_catalog.lower(c.setting), 'search_path=')
                          ORDER BY c.ord)
    WHERE p.oid OPERATOR(pg_catalog.=) '@extschema@.url_shortener_distribute()'::pg_catalog.regprocedure
      AND saved IS NOT NULL;
END
$do$;

COMMENT ON FUNCTION @extschema@.url_shortener_distribute() IS
    'on a Citus coordinator: distribute urls and released_codes by short_code, make the other side tables reference tables, forward the extension''s calls keyed by a code to the worker holding it, and make their grants on the workers';
