--
-- upgrade_1_3: 1.2 -> 1.3 keeps every link, click, tombstone and grant, and
-- the same session can use idempotency keys at once.  (Settings and grant
-- chains carried over: upgrade_grants.)
--
DROP EXTENSION url_shortener;
CREATE EXTENSION url_shortener VERSION '1.2';
CREATE ROLE url_shortener_upgrader_13;
GRANT EXECUTE ON FUNCTION shorten_url(text, text, boolean, timestamptz, bigint),
                          shorten_urls(text[]), resolve_url(text) TO url_shortener_upgrader_13;
SET url_shortener.test_seed = 13;
SELECT shorten_url('https://example.com/12/' || i) FROM generate_series(1, 3) i;
RESET url_shortener.test_seed;
SELECT shorten_url('https://example.com/12/alias', alias => 'old-alias') AS alias;
SELECT shorten_url('https://example.com/12/reused', reuse => true) AS reused_12 \gset
SELECT delete_url('old-alias') AS retired;
SELECT count(*) FROM shorten_urls(ARRAY['https://example.com/12/batch']);
SELECT count(resolve_url(short_code)) AS clicked FROM urls WHERE original_url LIKE 'https://example.com/12/%';
-- A 1.2 function called through the new module before the update.
SELECT shorten_url('https://example.com/12/before') IS NOT NULL AS works_before_update;
CREATE TEMP TABLE before_update AS SELECT * FROM urls;

ALTER EXTENSION url_shortener UPDATE TO '1.3';
SELECT extversion FROM pg_extension WHERE extname = 'url_shortener';

-- Every row as it was, in every 1.2 column; no link has a key.
SELECT count(*) AS links_before,
       count(*) FILTER (WHERE (u.short_code, u.original_url, u.clicks, u.created_at, u.expires_at,
                               u.max_clicks, u.version, u.enabled, u.reusable, u.retired_at, u.is_alias)
                            IS NOT DISTINCT FROM
                              (b.short_code, b.original_url, b.clicks, b.created_at, b.expires_at,
                               b.max_clicks, b.version, b.enabled, b.reusable, b.retired_at, b.is_alias)) AS unchanged,
       count(*) FILTER (WHERE u.idempotency_digest IS NULL) AS without_key
FROM before_update b LEFT JOIN urls u USING (short_code);

-- The grants moved to the new signatures, to nobody else.
SELECT has_function_privilege('url_shortener_upgrader_13', 'shorten_url(text, text, boolean, timestamptz, bigint, text)', 'EXECUTE') AS shorten,
       has_function_privilege('url_shortener_upgrader_13', 'shorten_urls(text[], text[])', 'EXECUTE') AS shorten_many,
       has_function_privilege('url_shortener_upgrader_13', 'shorten_url_locked(text, text, boolean, timestamptz, bigint, text)', 'EXECUTE') AS shorten_locked,
       has_function_privilege('public', 'shorten_url(text, text, boolean, timestamptz, bigint, text)', 'EXECUTE') AS public_shorten,
       has_function_privilege('public', 'shorten_urls(text[], text[])', 'EXECUTE') AS public_shorten_many;

-- In this same session: old calls as before, keyed calls, the reused link.
SET ROLE url_shortener_upgrader_13;
SELECT shorten_url('https://example.com/13/k', idempotency_key => 'after-update') AS keyed \gset
SELECT shorten_url('https://example.com/13/k', idempotency_key => 'after-update') = :'keyed' AS keyed_same;
SELECT count(*) AS batch FROM shorten_urls(ARRAY['https://example.com/13/b'], ARRAY['after-update-b']);
SELECT shorten_url('https://example.com/12/alias', alias => 'old-alias');
RESET ROLE;
SELECT shorten_url('https://example.com/12/reused', reuse => true) = :'reused_12' AS same_reused_code;
SELECT count(*) AS keyed_rows FROM urls WHERE idempotency_digest IS NOT NULL;

-- The updated extension has the objects a fresh installation has (setup.out).
SELECT pg_describe_object(classid, objid, 0) AS object
FROM pg_depend
WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
  AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'url_shortener')
ORDER BY 1;
SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnotnull
FROM pg_attribute a WHERE a.attrelid = 'urls'::regclass AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum;
SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint
WHERE conrelid = 'urls'::regclass ORDER BY conname;
SELECT p.oid::regprocedure AS function, obj_description(p.oid, 'pg_proc') IS NOT NULL AS commented,
       p.prosecdef AS security_definer, p.proconfig
FROM pg_proc p
WHERE p.proname IN ('shorten_url', 'shorten_url_locked', 'shorten_urls')
  AND p.pronamespace = 'public'::regnamespace
ORDER BY 1;

DROP TABLE before_update;
DROP EXTENSION url_shortener;
DROP ROLE url_shortener_upgrader_13;
CREATE EXTENSION url_shortener;
