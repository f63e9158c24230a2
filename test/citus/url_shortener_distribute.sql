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
