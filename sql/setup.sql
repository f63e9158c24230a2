--
-- setup: the extension's objects, its privileges and its storage settings
--
CREATE EXTENSION url_shortener;

-- The objects it owns.
SELECT pg_describe_object(classid, objid, objsubid) AS object
FROM pg_depend
WHERE refclassid = 'pg_extension'::regclass
  AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'url_shortener')
  AND deptype = 'e'
ORDER BY 1;

-- Click updates should stay HOT: the table keeps free space on each page.
SELECT reloptions FROM pg_class WHERE oid = 'urls'::regclass;

-- Nobody but the owner reaches the table or the functions until granted.
SELECT has_table_privilege('public', 'urls', 'SELECT') AS public_select,
       has_table_privilege('public', 'urls', 'INSERT') AS public_insert,
       has_function_privilege('public', 'shorten_url(text, text, boolean, timestamptz, bigint, text)', 'EXECUTE') AS public_shorten,
       has_function_privilege('public', 'resolve_url(text)', 'EXECUTE') AS public_resolve;

-- The C functions are SECURITY DEFINER with no SET clause: the module pins
-- their search path itself (extension/search_path_guard.h).  The PL/pgSQL
-- url_shortener_distribute keeps its SET search_path.
SELECT p.proname, p.prosecdef, p.proconfig, p.provolatile, p.proisstrict
FROM pg_proc p
WHERE p.pronamespace = 'public'::regnamespace
  AND p.oid IN (SELECT objid FROM pg_depend
                WHERE classid = 'pg_proc'::regclass AND deptype = 'e'
                  AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'url_shortener'))
ORDER BY p.proname, p.pronargs;
