--
-- upgrade_grants: ALTER EXTENSION url_shortener UPDATE TO '1.1' replaces
-- shorten_url(text) and shorten_url_locked(text) by functions with more
-- arguments.  The new ones keep exactly what an administrator set on the
-- old ones: the owner, every grant with its grant option and its grantor,
-- and every ALTER FUNCTION ... SET; and the grants stay the
-- administrator's (outside pg_init_privs), so pg_dump keeps dumping them.
--
DROP EXTENSION url_shortener;
CREATE EXTENSION url_shortener VERSION '1.0';
CREATE ROLE url_shortener_lead;
CREATE ROLE url_shortener_dev;
CREATE ROLE url_shortener_owner;

-- shorten_url: a grant with grant option, and a grant by its holder.
GRANT EXECUTE ON FUNCTION shorten_url(text) TO url_shortener_lead WITH GRANT OPTION;
SET ROLE url_shortener_lead;
GRANT EXECUTE ON FUNCTION shorten_url(text) TO url_shortener_dev;
RESET ROLE;
ALTER FUNCTION shorten_url(text) SET work_mem = '8MB';

-- shorten_url_locked: another owner, a chain of two grantors, PUBLIC, and
-- a search_path whose elements need quoting.
ALTER FUNCTION shorten_url_locked(text) OWNER TO url_shortener_owner;
GRANT EXECUTE ON FUNCTION shorten_url_locked(text) TO url_shortener_dev WITH GRANT OPTION;
SET ROLE url_shortener_dev;
GRANT EXECUTE ON FUNCTION shorten_url_locked(text) TO url_shortener_lead WITH GRANT OPTION;
RESET ROLE;
SET ROLE url_shortener_lead;
GRANT EXECUTE ON FUNCTION shorten_url_locked(text) TO PUBLIC;
RESET ROLE;
ALTER FUNCTION shorten_url_locked(text) SET search_path = pg_catalog, "$user", "odd "" name, here", pg_temp;
ALTER FUNCTION shorten_url_locked(text) SET DateStyle = 'ISO, DMY';

CREATE TEMP TABLE before_update AS
SELECT p.proname, p.proowner::regrole AS owner, p.proacl::text AS acl, p.proconfig
FROM pg_proc p
WHERE p.oid IN ('shorten_url(text)'::regprocedure, 'shorten_url_locked(text)'::regprocedure);
SELECT * FROM before_update ORDER BY proname;

ALTER EXTENSION url_shortener UPDATE TO '1.1';

CREATE TEMP TABLE after_update AS
SELECT p.proname, p.proowner::regrole AS owner, p.proacl::text AS acl, p.proconfig
FROM pg_proc p
WHERE p.oid IN ('shorten_url(text, text, boolean, timestamptz, bigint)'::regprocedure,
                'shorten_url_locked(text, text, boolean, timestamptz, bigint)'::regprocedure);
SELECT * FROM after_update ORDER BY proname;

-- Exactly as they were: the ACL strings, entry by entry and in order.
SELECT b.proname, a.owner = b.owner AS same_owner, a.acl = b.acl AS same_acl,
       a.proconfig = b.proconfig AS same_settings
FROM before_update b JOIN after_update a USING (proname)
ORDER BY proname;

-- The initial privileges are what a fresh installation records (the
-- owner's EXECUTE only), so pg_dump dumps the grants above.
SELECT objoid::regprocedure AS function, initprivs
FROM pg_init_privs
WHERE classoid = 'pg_proc'::regclass
  AND objoid IN ('shorten_url(text, text, boolean, timestamptz, bigint)'::regprocedure,
                 'shorten_url_locked(text, text, boolean, timestamptz, bigint)'::regprocedure)
ORDER BY 1;

-- The grants work as grants: the dev may call, and the lead may pass it on.
SELECT has_function_privilege('url_shortener_dev', 'shorten_url(text, text, boolean, timestamptz, bigint)', 'EXECUTE') AS dev_may_shorten,
       has_function_privilege('url_shortener_lead', 'shorten_url(text, text, boolean, timestamptz, bigint)', 'EXECUTE WITH GRANT OPTION') AS lead_may_grant,
       has_function_privilege('url_shortener_dev', 'shorten_url(text, text, boolean, timestamptz, bigint)', 'EXECUTE WITH GRANT OPTION') AS dev_may_grant;

-- Revoking the lead's grant option still cascades to what the lead granted.
REVOKE GRANT OPTION FOR EXECUTE ON FUNCTION shorten_url(text, text, boolean, timestamptz, bigint)
    FROM url_shortener_lead CASCADE;
SELECT proacl FROM pg_proc WHERE oid = 'shorten_url(text, text, boolean, timestamptz, bigint)'::regprocedure;

-- 1.1 -> 1.2 replaces six functions in place (CREATE OR REPLACE, SQL and
-- PL/pgSQL bodies becoming C), which would drop an administrator's
-- ALTER FUNCTION ... SET; the update gives the settings back.  And 1.2 ->
-- 1.3 replaces shorten_urls(text[]) by shorten_urls(text[], text[]), with
-- the same care as shorten_url: a grant chain and a setting on it here.
ALTER FUNCTION delete_url(text) SET work_mem = '2MB';
ALTER FUNCTION url_stats(text) SET statement_timeout = '5s';
ALTER FUNCTION url_stats(text) SET lock_timeout = '1s';
ALTER FUNCTION purge_urls(integer) SET "DateStyle" = 'ISO, DMY';
ALTER FUNCTION disable_url(text) SET lock_timeout = '2s';
ALTER FUNCTION enable_url(text) SET lock_timeout = '3s';
ALTER FUNCTION url_shortener_capacity() SET work_mem = '4MB';
GRANT EXECUTE ON FUNCTION shorten_urls(text[]) TO url_shortener_lead WITH GRANT OPTION;
SET ROLE url_shortener_lead;
GRANT EXECUTE ON FUNCTION shorten_urls(text[]) TO url_shortener_dev;
RESET ROLE;
ALTER FUNCTION shorten_urls(text[]) SET work_mem = '16MB';
SELECT proname, proconfig FROM pg_proc
WHERE oid IN ('delete_url(text)'::regprocedure, 'url_stats(text)'::regprocedure,
              'purge_urls(integer)'::regprocedure, 'shorten_urls(text[])'::regprocedure,
              'disable_url(text)'::regprocedure, 'enable_url(text)'::regprocedure,
              'url_shortener_capacity()'::regprocedure)
ORDER BY proname;
CREATE TEMP TABLE batch_before AS
SELECT p.proowner::regrole AS owner, p.proacl::text AS acl, p.proconfig
FROM pg_proc p WHERE p.oid = 'shorten_urls(text[])'::regprocedure;

-- Updating on to the default version (through 1.2 to 1.3) keeps them too,
-- and every setting but search_path: from 1.2 the module itself makes
-- pg_catalog the whole search path of the C functions
-- (extension/search_path_guard.h), so 1.1 -> 1.2 resets that one entry,
-- shipped or an administrator's (it could no longer take effect), and
-- keeps the rest.
ALTER EXTENSION url_shortener UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'url_shortener';
SELECT p.proname, p.proowner::regrole AS owner, p.proacl::text AS acl, p.proconfig
FROM pg_proc p
WHERE p.oid IN ('shorten_url(text, text, boolean, timestamptz, bigint, text)'::regprocedure,
                'shorten_url_locked(text, text, boolean, timestamptz, bigint, text)'::regprocedure)
ORDER BY proname;
SELECT proname, (SELECT lanname FROM pg_language l WHERE l.oid = prolang) AS language, proconfig
FROM pg_proc
WHERE oid IN ('delete_url(text)'::regprocedure, 'url_stats(text)'::regprocedure,
              'purge_urls(integer)'::regprocedure, 'disable_url(text)'::regprocedure,
              'enable_url(text)'::regprocedure, 'url_shortener_capacity()'::regprocedure)
ORDER BY proname;
SELECT a.owner = b.owner AS same_owner, a.acl = b.acl AS same_acl, a.proconfig,
       a.acl
FROM batch_before b,
     LATERAL (SELECT p.proowner::regrole AS owner, p.proacl::text AS acl, p.proconfig
              FROM pg_proc p WHERE p.oid = 'shorten_urls(text[], text[])'::regprocedure) a;
SELECT to_regprocedure('shorten_urls(text[])') IS NULL AS old_batch_gone;
DROP TABLE batch_before;

-- A grant that cannot be made again as it was stops the update, which
-- changes nothing: here the grantor has become a superuser since, and a
-- superuser's grant is recorded as the owner's.
DROP EXTENSION url_shortener;
CREATE EXTENSION url_shortener VERSION '1.0';
GRANT EXECUTE ON FUNCTION shorten_url(text) TO url_shortener_lead WITH GRANT OPTION;
SET ROLE url_shortener_lead;
GRANT EXECUTE ON FUNCTION shorten_url(text) TO url_shortener_dev;
RESET ROLE;
ALTER ROLE url_shortener_lead SUPERUSER;
ALTER EXTENSION url_shortener UPDATE TO '1.1';
SELECT extversion FROM pg_extension WHERE extname = 'url_shortener';
SELECT proacl FROM pg_proc WHERE oid = 'shorten_url(text)'::regprocedure;
ALTER ROLE url_shortener_lead NOSUPERUSER;

-- So does a grantor that can no longer reach the schema to name the
-- function; the error says who and what to do.
DROP EXTENSION url_shortener;
CREATE SCHEMA url_shortener_links;
GRANT USAGE ON SCHEMA url_shortener_links TO url_shortener_lead;
CREATE EXTENSION url_shortener SCHEMA url_shortener_links VERSION '1.0';
GRANT EXECUTE ON FUNCTION url_shortener_links.shorten_url(text) TO url_shortener_lead WITH GRANT OPTION;
SET ROLE url_shortener_lead;
GRANT EXECUTE ON FUNCTION url_shortener_links.shorten_url(text) TO url_shortener_dev;
RESET ROLE;
REVOKE USAGE ON SCHEMA url_shortener_links FROM url_shortener_lead;
ALTER EXTENSION url_shortener UPDATE TO '1.1';
SELECT extversion FROM pg_extension WHERE extname = 'url_shortener';
-- With USAGE back, the update goes through and keeps the grants.
GRANT USAGE ON SCHEMA url_shortener_links TO url_shortener_lead;
ALTER EXTENSION url_shortener UPDATE TO '1.1';
SELECT proacl FROM pg_proc
WHERE oid = 'url_shortener_links.shorten_url(text, text, boolean, timestamptz, bigint)'::regprocedure;
DROP EXTENSION url_shortener;
DROP SCHEMA url_shortener_links;

-- An update run by another superuser: 1.2 -> 1.3 recorded that role, not
-- the installer, as the initial privileges of the functions it replaced
-- (so pg_dump revoked from it and dropped later grants); 1.3 -> 1.4
-- records the installer's (the extension owner's) EXECUTE alone, as a
-- fresh installation does, and leaves alone the record of a function whose
-- owner an administrator changed (PostgreSQL 15 keeps the installer's
-- there).  test/dump/run restores a dump of such a database.
CREATE EXTENSION url_shortener VERSION '1.2';
CREATE ROLE url_shortener_admin SUPERUSER;
ALTER FUNCTION resolve_url(text) OWNER TO url_shortener_owner;
CREATE TEMP VIEW init_privs_of_replaced AS
SELECT p.proname,
       i.initprivs = ARRAY[makeaclitem(e.extowner, e.extowner, 'EXECUTE', false)] AS installer_only,
       (SELECT pg_get_userbyid(a.grantee) FROM aclexplode(i.initprivs) a) = 'url_shortener_admin' AS admin_only
FROM pg_init_privs i JOIN pg_proc p ON p.oid = i.objoid, pg_extension e
WHERE i.classoid = 'pg_proc'::regclass AND e.extname = 'url_shortener'
  AND p.proname IN ('shorten_url', 'shorten_url_locked', 'shorten_urls', 'resolve_url');
SET ROLE url_shortener_admin;
ALTER EXTENSION url_shortener UPDATE TO '1.3';
SELECT * FROM init_privs_of_replaced ORDER BY proname;
-- Settings of url_shortener_distribute(), which 1.3 -> 1.4 replaces in
-- place: an administrator's come back, its own search_path stays.  (1.2 ->
-- 1.3 dropped them.)
ALTER FUNCTION url_shortener_distribute() SET work_mem = '3MB';
ALTER FUNCTION url_shortener_distribute() SET search_path = public;
ALTER EXTENSION url_shortener UPDATE TO '1.4';
RESET ROLE;
SELECT * FROM init_privs_of_replaced ORDER BY proname;
SELECT proconfig FROM pg_proc WHERE oid = 'url_shortener_distribute()'::regprocedure;
-- 1.5 -> 1.6 and 1.6 -> 1.7 replace it in place again, the same way; the table 1.6 makes
-- is owned as urls is, with the initial privilege a fresh installation
-- records, though another superuser ran the update.
SET ROLE url_shortener_admin;
ALTER EXTENSION url_shortener UPDATE;
RESET ROLE;
SELECT proconfig FROM pg_proc WHERE oid = 'url_shortener_distribute()'::regprocedure;
SELECT c.relname, c.relowner::regrole AS owner, c.relacl::text AS acl, i.initprivs::text AS initprivs
FROM pg_class c LEFT JOIN pg_init_privs i ON i.classoid = 'pg_class'::regclass AND i.objoid = c.oid AND i.objsubid = 0
WHERE c.oid IN ('urls'::regclass, 'released_codes'::regclass) ORDER BY c.relname;
-- Every function of the extension: the installer's EXECUTE alone.
SELECT bool_and(i.initprivs = ARRAY[makeaclitem(e.extowner, e.extowner, 'EXECUTE', false)]) AS all_installer_only,
       count(*) AS functions
FROM pg_init_privs i JOIN pg_proc p ON p.oid = i.objoid
JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'url_shortener'
WHERE i.classoid = 'pg_proc'::regclass;
DROP VIEW init_privs_of_replaced;
DROP EXTENSION url_shortener;
DROP ROLE url_shortener_admin;

CREATE EXTENSION url_shortener;
DROP ROLE url_shortener_lead, url_shortener_dev, url_shortener_owner;
