--
-- maintenance (1.1): purge_urls, url_shortener_capacity() and the warning
-- shorten_url raises when the code space fills up.  The race of two purges
-- is in test/isolation/specs/purge_race.spec.
--
TRUNCATE urls;
\set VERBOSITY default

-- purge_urls retires expired and used-up links, in batches, and counts them.
SELECT shorten_url('https://example.com/live/' || i) IS NOT NULL FROM generate_series(1, 3) i;
SELECT count(shorten_url('https://example.com/used/' || i, max_clicks => 1)) FROM generate_series(1, 5) i;
SELECT count(resolve_url(short_code)) AS used_up FROM urls WHERE max_clicks = 1;
SELECT count(shorten_url('https://example.com/expiring/' || i, expires_at => now() + interval '1 hour'))
FROM generate_series(1, 4) i;
SELECT shorten_url('https://example.com/limited-unused', max_clicks => 2) IS NOT NULL AS limited_unused;
UPDATE urls SET expires_at = now() - interval '1 minute' WHERE original_url LIKE '%/expiring/%';
-- (In batches of two: the count is the same whatever the batch size.)
SELECT purge_urls(2) AS purged;
SELECT count(*) AS left_alive,
       count(*) FILTER (WHERE original_url LIKE '%/live/%' OR original_url LIKE '%limited-unused') AS the_live_ones
FROM urls WHERE retired_at IS NULL;
-- The purged rows stay as tombstones without their URLs: their codes are
-- never handed out again, and the URLs' space is vacuum's to reclaim.
SELECT count(*) AS tombstones, count(original_url) AS urls_kept, bool_and(NOT enabled) AS all_disabled
FROM urls WHERE retired_at IS NOT NULL;
SELECT min(short_code) AS tombstone_code FROM urls WHERE retired_at IS NOT NULL \gset
\set VERBOSITY sqlstate
SELECT shorten_url('https://example.com/phish', alias => :'tombstone_code');
\set VERBOSITY default
SELECT purge_urls() AS nothing_left_to_purge;
SELECT purge_urls(0);
SELECT purge_urls(NULL) IS NULL AS null_batch;

-- Capacity in a fresh session, before anything else loaded the module: it
-- is a C function, so calling it loads the module and its settings.
\c
SELECT code_length, links FROM url_shortener_capacity();
-- A placeholder set before the module loads is checked when it loads: an
-- alphabet the module refuses is not used, capacity reports the default's.
\c
SET url_shortener.alphabet = 'aa';
SELECT code_length, code_space FROM url_shortener_capacity();
SHOW url_shortener.alphabet;
RESET url_shortener.alphabet;

-- Capacity: per code length in the table, under the current alphabet.
-- Autovacuum is off for urls until the tiny spaces below are done: its
-- ANALYZE of the 1,922 new links would, at random, make the next call give
-- the once-per-session warning that the code space is filling up.
TRUNCATE urls;
ALTER TABLE urls SET (autovacuum_enabled = off);
SET url_shortener.code_length = 2;
SET url_shortener.test_seed = 11;
SET url_shortener.max_attempts = 100;
SELECT count(shorten_url('https://example.com/fill/' || i)) AS filled FROM generate_series(1, 1922) i;
RESET url_shortener.max_attempts;
RESET url_shortener.test_seed;
SELECT * FROM url_shortener_capacity();
RESET url_shortener.code_length;
-- Codes a draw discards (dot segments, reserved words in any case) are not
-- in the space it searches: over '.~' at length 1 only '~' can be drawn (the
-- space is 1, full after one link; it was counted as 2, half free, while
-- every call failed with US001), and over 'apAP' at length 3 the eight
-- spellings of "app" are out (64 - 8). Half the draws over '.~' are discarded,
-- so the default five attempts would miss '~' once in 32 runs: give them 64.
SET url_shortener.max_attempts = 64;
SET url_shortener.alphabet = '.~';
SET url_shortener.code_length = 1;
SELECT shorten_url('https://example.com/tiny') AS only_code;
SELECT code_length, links, code_space, fullness, expected_attempts, exhaustion_chance
FROM url_shortener_capacity() WHERE code_length = 1;
\set VERBOSITY sqlstate
SELECT shorten_url('https://example.com/tiny-2');
\set VERBOSITY default
SET url_shortener.alphabet = 'apAP';
SET url_shortener.code_length = 3;
SELECT length(shorten_url('https://example.com/app')) AS drawn;
SELECT code_length, links, code_space FROM url_shortener_capacity() WHERE code_length = 3;
-- After an alphabet change, a code with a character the new alphabet
-- lacks is not in the space draws search: of '~', 'x' and 'y', only 'x' is
-- spelled in 'xz' (all three were counted, fullness 1.5, until 2026-12-07).
SET url_shortener.alphabet = 'xy';
SET url_shortener.code_length = 1;
SELECT count(shorten_url('https://example.com/xy/' || i)) AS drawn FROM generate_series(1, 2) i;
SET url_shortener.alphabet = 'xz';
SELECT code_length, links, code_space, fullness, expected_attempts
FROM url_shortener_capacity() WHERE code_length = 1;
DELETE FROM urls WHERE pg_catalog.length(short_code) IN (1, 3);
RESET url_shortener.max_attempts;
RESET url_shortener.code_length;
RESET url_shortener.alphabet;
ALTER TABLE urls RESET (autovacuum_enabled);
-- Aliases are not drawn, so they do not count; tombstones hold codes, so they do.
SELECT shorten_url('https://example.com/alias-' || i, alias => 'al' || i) IS NOT NULL
FROM generate_series(1, 3) i;
SELECT delete_url(min(short_code)) AS retired_one FROM urls WHERE NOT is_alias;
SELECT code_length, links FROM url_shortener_capacity();
DELETE FROM urls WHERE is_alias;

-- The warning: once the planner has counted the links (ANALYZE), a call in
-- a half-full 2-character space (p = 0.5, one call in 32 would fail)
-- warns, once per session.
ANALYZE urls;
-- (Seeded, so that both calls find a free code within 5 draws.)
\c
SET url_shortener.code_length = 2;
SET url_shortener.test_seed = 12;
SELECT length(shorten_url('https://example.com/warned')) AS warned_once;
SELECT length(shorten_url('https://example.com/quiet')) AS then_quiet;
RESET url_shortener.code_length;
RESET url_shortener.test_seed;
-- At the default length the same table is nowhere near full: no warning.
\c
SELECT length(shorten_url('https://example.com/roomy')) AS roomy;
TRUNCATE urls;
