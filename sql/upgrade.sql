--
-- upgrade: ALTER EXTENSION url_shortener UPDATE TO '1.1' keeps every link,
-- code and click count, and the grants on the functions it replaces; so
-- do the later updates, on to the default version.
--
DROP EXTENSION url_shortener;
CREATE EXTENSION url_shortener VERSION '1.0';
SELECT extversion FROM pg_extension WHERE extname = 'url_shortener';
CREATE ROLE url_shortener_upgrader;
GRANT EXECUTE ON FUNCTION shorten_url(text), shorten_url_locked(text), resolve_url(text)
    TO url_shortener_upgrader;

-- Links made by 1.0, some clicked; the 1.0 functions work on the new library.
SET url_shortener.test_seed = 7;
SELECT shorten_url('https://example.com/old/' || i) FROM generate_series(1, 3) i;
RESET url_shortener.test_seed;
SELECT count(resolve_url('Hr3scV')) AS clicks_on_first FROM generate_series(1, 5);
CREATE TEMP TABLE before_update AS SELECT short_code, original_url, clicks, created_at FROM urls;

ALTER EXTENSION url_shortener UPDATE TO '1.1';
SELECT extversion FROM pg_extension WHERE extname = 'url_shortener';

-- Every link, code, click count and creation time is as it was.
SELECT count(*) AS links_before,
       count(*) FILTER (WHERE (u.short_code, u.original_url, u.clicks, u.created_at)
                            = (b.short_code, b.original_url, b.clicks, b.created_at)) AS unchanged
FROM before_update b LEFT JOIN urls u USING (short_code);
SELECT count(*) AS links_after FROM urls;
-- Old links have no limits, are enabled, at version 1, and keep working.
SELECT short_code, clicks, expires_at, max_clicks, version, enabled FROM urls ORDER BY short_code;
SELECT resolve_url('Hr3scV') AS still_resolves;

-- The grant on the replaced functions carried over; nobody else got one.
SELECT has_function_privilege('url_shortener_upgrader', 'shorten_url(text, text, boolean, timestamptz, bigint)', 'EXECUTE') AS shorten,
       has_function_privilege('url_shortener_upgrader', 'shorten_url_locked(text, text, boolean, timestamptz, bigint)', 'EXECUTE') AS shorten_locked,
       has_function_privilege('url_shortener_upgrader', 'resolve_url(text)', 'EXECUTE') AS resolve,
       has_function_privilege('url_shortener_upgrader', 'update_url(text, text, bigint)', 'EXECUTE') AS update,
       has_function_privilege('public', 'shorten_url(text, text, boolean, timestamptz, bigint)', 'EXECUTE') AS public_shorten;

-- In the same session, which prepared 1.0's statements: the new columns
-- are used at once (the table change made it prepare them again).
SELECT shorten_url('https://example.com/new', alias => 'new-after-update', max_clicks => 1);
SELECT resolve_url('new-after-update') AS first, resolve_url('new-after-update') AS second;

-- The updated extension has the objects a fresh installation has (setup.out).
SELECT pg_describe_object(classid, objid, 0) AS object
FROM pg_depend
WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
  AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'url_shortener')
ORDER BY 1;
SELECT pg_get_functiondef('shorten_url(text, text, boolean, timestamptz, bigint)'::regprocedure) AS shorten_url;

-- On through every later update to the default version: every link keeps
-- its code, URL, clicks, creation time, limits, version and flag, the
-- grants hold, and the links still resolve and count their clicks.
SELECT resolve_url('Hr3scV') AS clicked_at_1_1;
SELECT shorten_url('https://example.com/reused', reuse => true) AS reused_code \gset
CREATE TEMP TABLE before_later_updates AS
    SELECT short_code, original_url, clicks, created_at, expires_at, max_clicks, version, enabled, reusable
    FROM urls;
ALTER EXTENSION url_shortener UPDATE;
SELECT extversion = (SELECT default_version FROM pg_available_extensions WHERE name = 'url_shortener')
    AS at_default_version
FROM pg_extension WHERE extname = 'url_shortener';
SELECT count(*) AS links_before, count(*) FILTER (WHERE reusable) AS reusable_before
FROM before_later_updates;
SELECT count(*) AS changed_or_gone
FROM (SELECT * FROM before_later_updates
      EXCEPT
      SELECT short_code, original_url, clicks, created_at, expires_at, max_clicks, version, enabled, reusable
      FROM urls) AS differing;
SELECT count(*) AS links_after FROM urls;
SELECT has_function_privilege('url_shortener_upgrader', 'shorten_url(text, text, boolean, timestamptz, bigint, text)', 'EXECUTE') AS shorten,
       has_function_privilege('url_shortener_upgrader', 'shorten_url_locked(text, text, boolean, timestamptz, bigint, text)', 'EXECUTE') AS shorten_locked,
       has_function_privilege('url_shortener_upgrader', 'resolve_url(text)', 'EXECUTE') AS resolve,
       has_function_privilege('public', 'shorten_url(text, text, boolean, timestamptz, bigint, text)', 'EXECUTE') AS public_shorten;
SELECT resolve_url('Hr3scV') AS still_resolves;
SELECT clicks AS clicks_of_first_one_more FROM urls WHERE short_code = 'Hr3scV';
SELECT shorten_url('https://example.com/reused', reuse => true) = :'reused_code' AS reuse_same_code;

DROP TABLE before_later_updates;
DROP TABLE before_update;
REVOKE ALL ON FUNCTION shorten_url(text, text, boolean, timestamptz, bigint, text), shorten_url_locked(text, text, boolean, timestamptz, bigint, text),
    resolve_url(text) FROM url_shortener_upgrader;
DROP ROLE url_shortener_upgrader;
