--
-- upgrade_1_2: 1.0 -> 1.1 -> 1.2 keeps every link, click, limit, flag,
-- grant and reusable code; deleted links become tombstones from then on.
-- (CREATE EXTENSION at 1.2 runs the base script, see setup.)
--
DROP EXTENSION url_shortener;
CREATE EXTENSION url_shortener VERSION '1.0';
CREATE ROLE url_shortener_upgrader_12;
GRANT EXECUTE ON FUNCTION shorten_url(text), resolve_url(text) TO url_shortener_upgrader_12;
SET url_shortener.test_seed = 7;
SELECT shorten_url('https://example.com/old/' || i) FROM generate_series(1, 2) i;
RESET url_shortener.test_seed;
SELECT count(resolve_url('Hr3scV')) AS clicks_on_first FROM generate_series(1, 3);

ALTER EXTENSION url_shortener UPDATE TO '1.1';
GRANT EXECUTE ON FUNCTION delete_url(text), url_stats(text), purge_urls(integer) TO url_shortener_upgrader_12;
SELECT shorten_url('https://example.com/limited', alias => 'limited', max_clicks => 5,
                   expires_at => '2100-01-01 00:00:00+00') AS limited;
SELECT shorten_url('https://example.com/reused', reuse => true) AS reused_11 \gset
SELECT shorten_url('https://example.com/off', alias => 'off') AS off;
SELECT disable_url('off') AS disabled;
SELECT resolve_url('limited') AS clicked;
CREATE TEMP TABLE before_update AS SELECT * FROM urls;
CREATE TEMP TABLE key_before AS SELECT secret FROM reuse_key;

ALTER EXTENSION url_shortener UPDATE TO '1.2';
SELECT extversion FROM pg_extension WHERE extname = 'url_shortener';

-- Every row as it was, in every 1.1 column; the new columns say live, drawn.
SELECT count(*) AS links_before,
       count(*) FILTER (WHERE (u.short_code, u.original_url, u.clicks, u.created_at, u.expires_at,
                               u.max_clicks, u.version, u.enabled, u.reusable)
                            IS NOT DISTINCT FROM
                              (b.short_code, b.original_url, b.clicks, b.created_at, b.expires_at,
                               b.max_clicks, b.version, b.enabled, b.reusable)) AS unchanged,
       count(*) FILTER (WHERE u.retired_at IS NULL AND NOT u.is_alias) AS live_and_drawn
FROM before_update b LEFT JOIN urls u USING (short_code);
-- The key is kept, with the shape 1.1 derived codes in: the URL's reusable
-- link is found again, even with other session settings.
SELECT secret = (SELECT secret FROM key_before) AS same_secret, code_length, alphabet FROM reuse_key;
SET url_shortener.code_length = 8;
SELECT shorten_url('https://example.com/reused', reuse => true) = :'reused_11' AS same_reused_code;
RESET url_shortener.code_length;
SELECT count(*) AS rows_for_reused FROM urls WHERE original_url = 'https://example.com/reused';

-- Grants on the replaced functions are kept; release_code is granted to nobody.
SELECT has_function_privilege('url_shortener_upgrader_12', 'shorten_url(text, text, boolean, timestamptz, bigint)', 'EXECUTE') AS shorten,
       has_function_privilege('url_shortener_upgrader_12', 'resolve_url(text)', 'EXECUTE') AS resolve,
       has_function_privilege('url_shortener_upgrader_12', 'delete_url(text)', 'EXECUTE') AS delete,
       has_function_privilege('url_shortener_upgrader_12', 'url_stats(text)', 'EXECUTE') AS stats,
       has_function_privilege('url_shortener_upgrader_12', 'purge_urls(integer)', 'EXECUTE') AS purge,
       has_function_privilege('url_shortener_upgrader_12', 'disable_url(text)', 'EXECUTE') AS disable,
       has_function_privilege('public', 'release_code(text)', 'EXECUTE') AS public_release;

-- The replaced functions are C now, and work on the old rows in this session.
SELECT proname, (SELECT lanname FROM pg_language l WHERE l.oid = prolang) AS language FROM pg_proc
WHERE proname IN ('delete_url', 'disable_url', 'enable_url', 'url_stats', 'purge_urls',
                  'url_shortener_capacity', 'release_code')
ORDER BY proname;
SELECT short_code, clicks, max_clicks, enabled FROM url_stats('limited');
SELECT resolve_url('off') IS NULL AS still_disabled, enable_url('off') AS enabled;
SET ROLE url_shortener_upgrader_12;
SELECT delete_url('Hr3scV') AS retired;
SELECT shorten_url('https://phish.example/', alias => 'Hr3scV');
RESET ROLE;
SELECT original_url IS NULL AS url_gone, retired_at IS NOT NULL AS retired FROM urls WHERE short_code = 'Hr3scV';

-- The updated extension has the objects a fresh installation has (setup.out).
SELECT pg_describe_object(classid, objid, 0) AS object
FROM pg_depend
WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
  AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'url_shortener')
ORDER BY 1;
-- And the same table and key definitions.
SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnotnull
FROM pg_attribute a WHERE a.attrelid = 'urls'::regclass AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum;
SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint
WHERE conrelid IN ('urls'::regclass, 'reuse_key'::regclass) ORDER BY conname;

DROP TABLE before_update, key_before;
DROP EXTENSION url_shortener;
DROP ROLE url_shortener_upgrader_12;
CREATE EXTENSION url_shortener;
