--
-- lifecycle (1.1): aliases, expiry, click limits, disable/enable, edits
-- with optimistic locking, delete and stats.  The races are in
-- test/isolation/specs (alias_claim, click_limit, concurrent_edit).
--
TRUNCATE urls;
\set VERBOSITY default
-- Each refusal is followed by its SQLSTATE (psql prints none at this
-- verbosity): the code is the promise, the message its explanation.

-- shorten_url(url) still works; the options are named and default to NULL.
SET url_shortener.test_seed = 7;
SELECT shorten_url('https://example.com/plain') AS plain_code;
RESET url_shortener.test_seed;

-- Custom alias: stored under that code, returned as it is.
SELECT shorten_url('https://example.com/docs', alias => 'docs_v2-final') AS alias;
SELECT resolve_url('docs_v2-final');
-- Taken: US002, never a retry onto another code; nothing stored.
SELECT shorten_url('https://example.com/other', alias => 'docs_v2-final');
\echo :SQLSTATE
SELECT shorten_url_locked('https://example.com/other', alias => 'docs_v2-final');
\echo :SQLSTATE
SELECT count(*) AS links_to_other FROM urls WHERE original_url = 'https://example.com/other';
-- A random code's value is taken the same way.
SELECT shorten_url('https://example.com/x', alias => (SELECT short_code FROM urls WHERE original_url = 'https://example.com/plain'));
\echo :SQLSTATE
-- Case matters, as for every code ("C" collation).
SELECT shorten_url('https://example.com/docs-upper', alias => 'DOCS_V2-FINAL') AS other_case;
-- Bad aliases: 22023, nothing stored.
SELECT shorten_url('https://example.com/x', alias => '');
\echo :SQLSTATE
SELECT shorten_url('https://example.com/x', alias => repeat('a', 65));
\echo :SQLSTATE
SELECT shorten_url('https://example.com/x', alias => 'a/b');
\echo :SQLSTATE
-- Letters outside ASCII are named as such, not by their length in bytes.
SELECT shorten_url('https://example.com/x', alias => repeat('é', 40));
\echo :SQLSTATE
SELECT shorten_url('https://example.com/x', alias => repeat('a', 65) || 'é');
\echo :SQLSTATE
SELECT shorten_url('https://example.com/x', alias => 'caf' || chr(233));
\echo :SQLSTATE
SELECT shorten_url('https://example.com/x', alias => 'Admin');
\echo :SQLSTATE
SELECT shorten_url('https://example.com/x', alias => 'api');
\echo :SQLSTATE
-- readyz too: url-shortener-server's readiness route (it was missing).
SELECT shorten_url('https://example.com/x', alias => 'ReadyZ');
\echo :SQLSTATE
SELECT length(shorten_url('https://example.com/x64', alias => repeat('a', 64))) AS longest_alias;
SELECT count(*) AS links_to_x FROM urls WHERE original_url = 'https://example.com/x';

-- Click limit: resolves exactly max_clicks times, then NULL and uncounted.
SELECT shorten_url('https://example.com/once', alias => 'once', max_clicks => 1);
SELECT resolve_url('once') AS first, resolve_url('once') AS second;
SELECT shorten_url('https://example.com/thrice', alias => 'thrice', max_clicks => 3);
SELECT count(resolve_url('thrice')) AS resolved_of_ten FROM generate_series(1, 10);
SELECT clicks, max_clicks FROM url_stats('thrice');
SELECT shorten_url('https://example.com/x', max_clicks => 0);
SELECT shorten_url('https://example.com/x', max_clicks => -5);

-- Expiry: in the future when made; once passed, NULL and uncounted.
SELECT shorten_url('https://example.com/soon', alias => 'soon', expires_at => now() + interval '1 hour');
SELECT resolve_url('soon') AS before_expiry;
UPDATE urls SET expires_at = now() - interval '1 second' WHERE short_code = 'soon';
SELECT resolve_url('soon') AS after_expiry;
SELECT clicks FROM url_stats('soon');
SELECT shorten_url('https://example.com/x', expires_at => now());
SELECT shorten_url('https://example.com/x', expires_at => '2000-01-01 00:00:00+00');
-- The options combine, also for the locked variant.
SELECT shorten_url_locked('https://example.com/both', alias => 'both', expires_at => now() + interval '1 day', max_clicks => 2);
SELECT count(resolve_url('both')) AS resolved_of_five FROM generate_series(1, 5);

-- Disable and enable: a disabled link resolves to NULL, uncounted.
SELECT disable_url('docs_v2-final') AS disabled, disable_url('docs_v2-final') AS again;
SELECT resolve_url('docs_v2-final') AS while_disabled;
SELECT enable_url('docs_v2-final') AS enabled, enable_url('docs_v2-final') AS again;
SELECT resolve_url('docs_v2-final') AS enabled_again;
SELECT disable_url('nosuch') AS unknown_disable, enable_url('nosuch') AS unknown_enable;

-- Stats: the public facts.  Disable and enable each counted as an edit.
SELECT short_code, original_url, clicks, expires_at, max_clicks, version, enabled,
       created_at <= now() AS created_in_the_past
FROM url_stats('docs_v2-final');
SELECT count(*) AS unknown_rows FROM url_stats('nosuch');

-- Edit with optimistic locking.
SELECT update_url('docs_v2-final', 'https://example.com/docs/v3', 3) AS new_version;
SELECT resolve_url('docs_v2-final') AS edited_target;
-- A stale version: US003, nothing changed.
SELECT update_url('docs_v2-final', 'https://example.com/docs/v4', 3);
\echo :SQLSTATE
SELECT original_url, version FROM url_stats('docs_v2-final');
-- Unknown code: NULL.  Bad input: the URL rules of shorten_url.
SELECT update_url('nosuch', 'https://example.com/', 1) IS NULL AS unknown_is_null;
SELECT update_url(NULL, 'https://example.com/', 1) IS NULL AS null_code_is_null;
SELECT update_url('docs_v2-final', 'javascript:alert(1)', 4);
\echo :SQLSTATE
SELECT update_url('docs_v2-final', NULL, 4);
\echo :SQLSTATE
SELECT update_url('docs_v2-final', 'https://example.com/', NULL);
\echo :SQLSTATE
SELECT original_url, version FROM url_stats('docs_v2-final');

-- Delete retires the link: the row stays as a tombstone that holds the
-- code, without its URL.
SELECT delete_url('once') AS deleted, delete_url('once') AS again, delete_url(NULL) IS NULL AS null_code;
SELECT resolve_url('once') IS NULL AS gone;
SELECT original_url IS NULL AS url_gone, enabled, reusable, retired_at IS NOT NULL AS retired, version
FROM urls WHERE short_code = 'once';
-- Every function passes over a tombstone as over an unknown code.
SELECT count(*) AS stats_rows FROM url_stats('once');
SELECT update_url('once', 'https://evil.example/', 2) IS NULL AS update_is_null,
       update_url('once', 'https://evil.example/', 1) IS NULL AS any_version_is_null,
       enable_url('once') AS enabled, disable_url('once') AS disabled;
SELECT resolve_url('once') IS NULL AS still_gone;
-- The code is never handed out again: an alias claim is US002, with
-- either variant, and a random draw treats it as taken (below).
SELECT shorten_url('https://example.com/once-more', alias => 'once') AS reused_alias;
\echo :SQLSTATE
SELECT shorten_url_locked('https://example.com/once-more', alias => 'once') AS reused_alias;
\echo :SQLSTATE
-- A draw: seed 7 draws Hr3scV, then ctb4Tl.  Hr3scV is a live link of
-- the tests above, so the first draw passes over it; once it is retired,
-- each function drawing from seed 7 again passes over the tombstone too.
SET url_shortener.test_seed = 7;
SELECT shorten_url('https://example.com/drawn') AS first_draw;
SELECT delete_url('Hr3scV') AS retired;
SET url_shortener.test_seed = 7;
SELECT shorten_url('https://example.com/drawn-again') AS passes_over_tombstone;
SET url_shortener.test_seed = 7;
SELECT shorten_url_locked('https://example.com/drawn-locked') <> 'Hr3scV' AS locked_passes_over;
SET url_shortener.test_seed = 7;
SELECT bool_and(short_code <> 'Hr3scV') AS batch_passes_over
FROM shorten_urls(ARRAY['https://example.com/drawn-batch']);
RESET url_shortener.test_seed;
SELECT count(*) AS rows_on_code, bool_and(original_url IS NULL) AS still_a_tombstone
FROM urls WHERE short_code = 'Hr3scV';
-- Only release_code, an administrator's function, frees it; it deletes
-- nothing but a tombstone.
SELECT release_code('docs_v2-final') AS live_link_not_released, release_code('nosuch') AS unknown;
SELECT release_code('once') AS released, release_code('once') AS again;
SELECT shorten_url('https://example.com/once-more', alias => 'once') AS alias_after_release;

-- Reuse: the same URL gets the same code, in any session, until edited.
TRUNCATE urls;
SELECT shorten_url('https://example.com/shared', reuse => true) AS first \gset
SELECT shorten_url('https://example.com/shared', reuse => true) = :'first' AS same_code,
       shorten_url_locked('https://example.com/shared', reuse => true) = :'first' AS same_locked;
SELECT count(*) AS rows_for_shared FROM urls WHERE original_url = 'https://example.com/shared';
SELECT length(:'first') AS code_length, :'first' ~ '^[A-Za-z0-9]+$' AS in_alphabet;
-- A link made without reuse is not reused, and does not reuse.
SELECT shorten_url('https://example.com/shared') <> :'first' AS plain_is_new;
SELECT shorten_url('https://example.com/plain-first') AS plain \gset
SELECT shorten_url('https://example.com/plain-first', reuse => true) <> :'plain' AS reuse_is_new;
-- Nor are aliases and limited links; reuse cannot be combined with them.
SELECT shorten_url('https://example.com/x', alias => 'x', reuse => true);
\echo :SQLSTATE
SELECT shorten_url('https://example.com/x', reuse => true, max_clicks => 5);
\echo :SQLSTATE
SELECT shorten_url('https://example.com/x', reuse => true, expires_at => now() + interval '1 day');
\echo :SQLSTATE
SELECT shorten_url('https://example.com/x', reuse => NULL);
\echo :SQLSTATE
-- The code is the URL's, not the session's: forget it, and it comes back.
DELETE FROM urls WHERE short_code = :'first';
SELECT shorten_url('https://example.com/shared', reuse => true) = :'first' AS same_after_delete;
-- Its code held by another link (here taken by an alias): the URL's next
-- code is used, and found again next time.
DELETE FROM urls WHERE short_code = :'first';
SELECT shorten_url('https://example.com/squatter', alias => :'first') = :'first' AS squatted;
SELECT shorten_url('https://example.com/shared', reuse => true) AS second \gset
SELECT :'second' <> :'first' AS moved_on,
       shorten_url('https://example.com/shared', reuse => true) = :'second' AS found_again;
-- An edited link no longer stands for its old URL, nor its new one.
SELECT version FROM url_stats(:'second') \gset
SELECT update_url(:'second', 'https://example.com/edited', :version) AS edited_version;
SELECT shorten_url('https://example.com/shared', reuse => true) NOT IN (:'first', :'second') AS old_url_gets_new_link;
SELECT count(*) AS reusable_rows FROM urls WHERE reusable;
-- A disabled link is not reused (disable_url clears reusable, and reuse
-- checks enabled): reuse makes another link, which resolves.
TRUNCATE urls;
SELECT shorten_url('https://example.com/shared', reuse => true) AS before_disable \gset
SELECT disable_url(:'before_disable') AS disabled;
SELECT shorten_url('https://example.com/shared', reuse => true) AS after_disable \gset
SELECT :'after_disable' <> :'before_disable' AS new_code,
       resolve_url(:'after_disable') AS resolves;
SELECT enable_url(:'before_disable') AS enabled_again,
       shorten_url('https://example.com/shared', reuse => true) = :'after_disable' AS still_the_new_one;
-- A retired reusable link is not reused either.
SELECT delete_url(:'after_disable') AS retired;
SELECT shorten_url('https://example.com/shared', reuse => true) NOT IN (:'before_disable', :'after_disable') AS another_code;

-- The code shape is the key's, not the session's: whatever code_length,
-- alphabet and max_attempts say, the same URL gets the same code.
TRUNCATE urls;
SELECT shorten_url('https://example.com/shape', reuse => true) AS shaped \gset
SET url_shortener.code_length = 9;
SET url_shortener.alphabet = 'abc';
SET url_shortener.max_attempts = 1;
SELECT shorten_url('https://example.com/shape', reuse => true) = :'shaped' AS same_code,
       length(shorten_url('https://example.com/new-shape', reuse => true)) AS new_link_length,
       length(shorten_url('https://example.com/drawn')) AS drawn_length;
RESET url_shortener.code_length;
RESET url_shortener.alphabet;
RESET url_shortener.max_attempts;
SELECT code_length, alphabet FROM reuse_key;
-- The key is read on every reuse call, not cached: a replaced key (say, a
-- restore) takes effect at once in this session, and putting the old one
-- back brings the old code back.
CREATE TEMP TABLE old_key AS SELECT secret FROM reuse_key;
UPDATE reuse_key SET secret = sha256(secret);
SELECT shorten_url('https://example.com/shape', reuse => true) <> :'shaped' AS new_key_new_code;
UPDATE reuse_key SET secret = (SELECT secret FROM old_key);
SELECT shorten_url('https://example.com/shape', reuse => true) = :'shaped' AS old_key_old_code;
DROP TABLE old_key;
-- A squatter who learns a URL's code (here: in a rolled-back transaction)
-- and claims it as an alias does not make reuse fail: the URL's next code.
BEGIN;
SELECT shorten_url('https://example.com/target', reuse => true) AS derived \gset
ROLLBACK;
SELECT shorten_url('https://example.com/squat', alias => :'derived') = :'derived' AS squatted;
SELECT shorten_url('https://example.com/target', reuse => true) AS target_code \gset
SELECT :'target_code' <> :'derived' AS moved_on, resolve_url(:'target_code') AS resolves;

-- With all 16 codes of the URL held by others: US001.
TRUNCATE urls;
DO $$
DECLARE
    code text;
BEGIN
    FOR i IN 1 .. 16 LOOP
        code := shorten_url('https://example.com/shared', reuse => true);
        UPDATE urls SET reusable = false WHERE short_code = code;
    END LOOP;
END $$;
SELECT count(*) AS held_codes FROM urls;
SELECT shorten_url('https://example.com/shared', reuse => true);
\echo :SQLSTATE
-- The remedy its hint names: a longer shape in reuse_key.  The URL then
-- derives other codes, a second reusable link; the 16 old ones still resolve.
UPDATE reuse_key SET code_length = 7;
SELECT length(shorten_url('https://example.com/shared', reuse => true)) AS lengthened;
SELECT length(short_code) AS code_length, count(*) AS links,
       count(*) FILTER (WHERE resolve_url(short_code) IS NOT NULL) AS resolving
FROM urls GROUP BY 1 ORDER BY 1;
UPDATE reuse_key SET code_length = 6;
