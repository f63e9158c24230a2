/*
 * url_shortener 1.3 -> 1.4: repairs for dumps, restores and Citus.
 *
 *   - reuse_key's code_length and alphabet get back the defaults 1.1's key
 *     was made with (6, the 62 letters and digits).  A dump of a 1.1
 *     database holds the key without them, and pg_restore creates the
 *     extension at its default version: without the defaults the key's
 *     row was refused (or, without --exit-on-error, lost, and every
 *     reusable link made again under a new key).  The module always
 *     inserts both values, so a new key still records the settings of its
 *     day.
 *   - The 1.0 -> 1.1 and 1.2 -> 1.3 updates recorded, as a replaced
 *     function's initial privileges (pg_init_privs), the role that ran the
 *     update rather than the function's owner.  Run by another superuser,
 *     pg_dump then revoked from that role (perhaps since dropped: the
 *     restore failed) and the grants made after it were lost.  Each such
 *     record is set to what a fresh installation records: EXECUTE for the
 *     installing role (the extension's owner) alone.
 *   - url_shortener_distribute() forwards and grants only the extension's
 *     own functions: a function of the same name that someone else
 *     created in the extension's schema is left alone.
 */
\echo Use "ALTER EXTENSION url_shortener UPDATE TO '1.4'" to load this file. \quit

/*
 * Through EXECUTE: on Citus, where reuse_key is a reference table, an
 * ALTER TABLE written in the script is passed on to the table's shards as
 * the text of the whole script, which the workers refuse (42601: more
 * than one command; citus#6608, as in 1.2 -> 1.3); run from PL/pgSQL it
 * is passed on as itself.  The workers run this script again on their
 * copy: a default set twice is the same default.
 */
DO $$
BEGIN
    EXECUTE $alter$ALTER TABLE @extschema@.reuse_key
        ALTER COLUMN code_length SET DEFAULT 6,
        ALTER COLUMN alphabet SET DEFAULT 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'$alter$;
END
$$;

UPDATE pg_catalog.pg_init_privs i
SET initprivs = ARRAY[pg_catalog.makeaclitem(e.extowner, e.extowner, 'EXECUTE'::pg_catalog.text, false)]
FROM pg_catalog.pg_extension e, pg_catalog.pg_depend d
WHERE e.extname OPERATOR(pg_catalog.=) 'url_shortener'::pg_catalog.name
  AND d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass
  AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_extension'::pg_catalog.regclass
  AND d.refobjid OPERATOR(pg_catalog.=) e.oid
  AND d.deptype OPERATOR(pg_catalog.=) 'e'::pg_catalog."char"
  AND i.classoid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass
  AND i.objoid OPERATOR(pg_catalog.=) d.objid
  AND i.objsubid OPERATOR(pg_catalog.=) 0
  -- The updates' mark: EXECUTE alone, for and by one role other than the
  -- extension's owner, who installed it (a fresh installation records that
  -- role: not the function's owner, which an administrator may have
  -- changed since, leaving pg_init_privs as it was).
  AND pg_catalog.cardinality(i.initprivs) OPERATOR(pg_catalog.=) 1
  AND (SELECT a.grantee OPERATOR(pg_catalog.=) a.grantor
              AND a.grantee OPERATOR(pg_catalog.<>) e.extowner
              AND a.privilege_type OPERATOR(pg_catalog.=) 'EXECUTE'::pg_catalog.text
              AND NOT a.is_grantable
       FROM pg_catalog.aclexplode(i.initprivs) a);

/*
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
    'on a Citus coordinator: distribute urls by short_code, make side tables reference tables, forward the calls keyed by a code to the worker holding it, and make their grants on the workers';
