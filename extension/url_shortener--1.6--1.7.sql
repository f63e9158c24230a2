/*
 * url_shortener 1.6 -> 1.7: url_shortener_distribute() can be called again.
 *
 * From 1.3 url_shortener_distribute() made the EXECUTE grants of the
 * forwarded functions again on each worker, with run_command_on_workers.
 * That works only while the functions are being distributed, in the call
 * that distributes them.  Once they are, a worker refuses a GRANT on them
 * ("operation is not allowed on this node": Citus accepts it on the
 * coordinator only), so a second call failed with 55000 as soon as any
 * role but the owner held EXECUTE on one: after citus_add_node (whose new
 * worker gets the functions without their grants), after the updates to
 * 1.5 and 1.6 (which it must distribute), or merely again.  Its HINT,
 * "Create the roles on every worker first", could not help.
 *
 * From 1.7 the grants of a function distributed before the call are issued
 * again on the coordinator, and Citus propagates them to every worker; the
 * grants of one the call distributes are still made on each worker.  The
 * HINT of a grant that fails on a worker says what to look at.  Only this
 * function changes.  On Citus, run SELECT url_shortener_distribute() after
 * the update, on the coordinator, if a worker was added or the update to
 * 1.5 or 1.6 left it undone.
 */
\echo Use "ALTER EXTENSION url_shortener UPDATE TO '1.7'" to load this file. \quit

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
    'on a Citus coordinator: distribute urls and released_codes by short_code, make the other side tables reference tables, forward the extension''s calls keyed by a code to the worker holding it, and make their grants on every worker';
