/*
 * url_shortener 1.4 -> 1.5: delete, disable and enable at an expected
 * version.
 *
 *   delete_url(code, expected_version), disable_url(code, expected_version)
 *   and enable_url(code, expected_version) change the link only while its
 *   version is still expected_version, in one UPDATE, as update_url does:
 *   true if they changed it, false if it is at that version and already as
 *   asked, NULL for an unknown or retired code, US003 if it is at another
 *   version.  A click leaves the version alone, so a link clicked many
 *   times a second can still be changed at READ COMMITTED; reading the
 *   version and changing the link in one REPEATABLE READ transaction, the
 *   only way before, lost to every click in between (40001).
 *
 * As every function of the extension, they are granted to nobody: a role
 * that calls delete_url(code) needs its own GRANT for the two-argument
 * form.  The script does not copy the one-argument forms' grants: a grant
 * made by an extension script is recorded as an initial privilege, which
 * pg_dump does not dump, so it would be lost on a restore.
 *
 * On Citus, run SELECT url_shortener_distribute() again after the update:
 * it forwards the new functions (and grants their EXECUTE on the workers)
 * as it does the others; until then a call runs on the coordinator, which
 * routes its statement to the link's shard.
 */
\echo Use "ALTER EXTENSION url_shortener UPDATE TO '1.5'" to load this file. \quit

CREATE FUNCTION @extschema@.delete_url(code pg_catalog.text, expected_version pg_catalog.int8)
RETURNS pg_catalog.bool
AS 'MODULE_PATHNAME', 'delete_url_at'
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
SECURITY DEFINER;

COMMENT ON FUNCTION @extschema@.delete_url(pg_catalog.text, pg_catalog.int8) IS
    'retire the link if its version is still expected_version; true if retired, NULL for an unknown or retired code, US003 if the link is at another version';

CREATE FUNCTION @extschema@.disable_url(code pg_catalog.text, expected_version pg_catalog.int8)
RETURNS pg_catalog.bool
AS 'MODULE_PATHNAME', 'disable_url_at'
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
SECURITY DEFINER;

COMMENT ON FUNCTION @extschema@.disable_url(pg_catalog.text, pg_catalog.int8) IS
    'disable the link if its version is still expected_version; true if it was enabled, false if already disabled, NULL for an unknown or retired code, US003 if the link is at another version';

CREATE FUNCTION @extschema@.enable_url(code pg_catalog.text, expected_version pg_catalog.int8)
RETURNS pg_catalog.bool
AS 'MODULE_PATHNAME', 'enable_url_at'
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
SECURITY DEFINER;

COMMENT ON FUNCTION @extschema@.enable_url(pg_catalog.text, pg_catalog.int8) IS
    'enable the link if its version is still expected_version; true if it was disabled, false if already enabled, NULL for an unknown or retired code, US003 if the link is at another version';

REVOKE ALL ON FUNCTION @extschema@.delete_url(pg_catalog.text, pg_catalog.int8) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.disable_url(pg_catalog.text, pg_catalog.int8) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.enable_url(pg_catalog.text, pg_catalog.int8) FROM PUBLIC;

/*
 * Run by another superuser (SET ROLE, or its own login), the update would
 * leave the new functions owned by that role, with an ACL and an initial
 * privilege (pg_init_privs) that name it: the role could not be dropped,
 * and pg_dump would revoke from it on a restore.  So each new function
 * gets the owner of its one-argument form (which an administrator may have
 * changed: a SECURITY DEFINER function runs as it), and the initial
 * privilege a fresh installation records: EXECUTE for the extension's
 * owner alone.  Like its grants, an ALTER FUNCTION ... SET on the
 * one-argument form is not copied: these are new functions.  The schema
 * goes into format() as an argument, not into its template, where a "%"
 * in its name would be read as a placeholder.
 */
DO $$
DECLARE
    forms CONSTANT pg_catalog.text[] := ARRAY['delete_url', 'disable_url', 'enable_url'];
    form pg_catalog.text;
    new_function pg_catalog.oid;
    sibling_owner pg_catalog.oid;
BEGIN
    FOREACH form IN ARRAY forms LOOP
        new_function := pg_catalog.format('%s.%I(pg_catalog.text, pg_catalog.int8)', '@extschema@', form)::pg_catalog.regprocedure;
        SELECT p.proowner INTO sibling_owner FROM pg_catalog.pg_proc p
        WHERE p.oid OPERATOR(pg_catalog.=)
              pg_catalog.format('%s.%I(pg_catalog.text)', '@extschema@', form)::pg_catalog.regprocedure::pg_catalog.oid;
        EXECUTE pg_catalog.format('ALTER FUNCTION %s OWNER TO %I',
                                  new_function::pg_catalog.regprocedure, pg_catalog.pg_get_userbyid(sibling_owner));
        UPDATE pg_catalog.pg_init_privs i
        SET initprivs = ARRAY[pg_catalog.makeaclitem(e.extowner, e.extowner, 'EXECUTE'::pg_catalog.text, false)]
        FROM pg_catalog.pg_extension e
        WHERE e.extname OPERATOR(pg_catalog.=) 'url_shortener'::pg_catalog.name
          AND i.classoid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass
          AND i.objoid OPERATOR(pg_catalog.=) new_function
          AND i.objsubid OPERATOR(pg_catalog.=) 0;
    END LOOP;
END
$$;
