--
-- shorten: codes are drawn from the configured alphabet and stored with the URL
--
TRUNCATE urls;

SELECT shorten_url('https://example.com/a/long/path?with=query#and-fragment') AS code \gset
SELECT :'code' ~ '^[A-Za-z0-9]{6}$' AS default_shape;
SELECT original_url, clicks, created_at <= now() AS created_in_the_past
FROM urls WHERE short_code = :'code';

-- Accepted forms of URL: mixed-case scheme and host, IP literals, ports,
-- percent-encoding, an empty port.
SELECT count(shorten_url(u)) AS accepted
FROM (VALUES ('HTTPS://Example.COM/'),
             ('http://127.0.0.1:8080/x'),
             ('http://[2001:db8::1]/'),
             ('https://xn--bcher-kva.example/'),
             ('https://example.com/caf%C3%A9?q=%20'),
             ('http://example.com:/'),
             ('https://example.com')) v(u);
SELECT count(*) FROM urls;

-- The same URL twice makes two links (reuse is not the default).
SELECT shorten_url('https://twice.example/') <> shorten_url('https://twice.example/') AS distinct_codes;

-- Code length and alphabet follow the settings.
SET url_shortener.code_length = 12;
SELECT length(shorten_url('https://example.com/12')) AS length_12;
SET url_shortener.alphabet = '0123456789';
SET url_shortener.code_length = 9;
SELECT shorten_url('https://example.com/digits') ~ '^[0-9]{9}$' AS digits_only;
SET url_shortener.alphabet = '-._~';
SELECT shorten_url('https://example.com/marks') ~ '^[-._~]{9}$' AS unreserved_marks;
RESET url_shortener.alphabet;
RESET url_shortener.code_length;

-- No modulo bias: with a seeded sequence (reproducible), 3,200 codes of 64
-- characters give 204,800 characters; their counts over the 62-character
-- alphabet pass a chi-square test for uniformity.  (Mapping a byte with
-- "% 62" would give 8 characters a 25% excess: a statistic near 1,300.)
BEGIN;
SET LOCAL url_shortener.test_seed = 20261122;
SET LOCAL url_shortener.code_length = 64;
CREATE TEMP TABLE drawn ON COMMIT DROP AS
    SELECT shorten_url('https://uniform.example/' || i) AS code
    FROM generate_series(1, 3200) i;
WITH chars AS (
    SELECT c FROM drawn, regexp_split_to_table(code, '') c
), counts AS (
    SELECT c, count(*) AS n FROM chars GROUP BY c
), expected AS (
    SELECT (SELECT count(*) FROM chars)::float8 / 62 AS e
)
SELECT count(*) AS characters_seen,
       sum((n - e) ^ 2 / e) < 111 AS uniform_at_p_0_0001
FROM counts, expected;
ROLLBACK;

-- The generator production uses (pg_strong_random, no seed), through
-- shorten_url and shorten_urls: 3,200 codes of 64 characters each.  Each
-- position is uniform on its own (a chi-square per position, 61 degrees
-- of freedom, each below 155: p < 1e-9, so this never fails by chance;
-- every one of the 62 characters seen there, 51.6 times on average),
-- all characters together too, and positions are independent of their
-- neighbours: two adjacent characters are equal 1 time in 62 (3,252 of
-- 201,600 pairs expected, the bound is 7 standard deviations).  A code
-- of one repeated character, or a position drawn from part of the
-- alphabet, fails.
BEGIN;
SET LOCAL url_shortener.code_length = 64;
CREATE TEMP TABLE strong ON COMMIT DROP AS
    SELECT 'shorten_url' AS path, shorten_url('https://strong.example/' || i) AS code
    FROM generate_series(1, 3200) i;
INSERT INTO strong
    SELECT 'shorten_urls', short_code
    FROM shorten_urls(ARRAY(SELECT 'https://strong.example/batch/' || i FROM generate_series(1, 3200) i));
WITH chars AS (
    SELECT path, position, substr(code, position, 1) AS c
    FROM strong, generate_series(1, 64) position
), per_position AS (
    SELECT path, position, count(*) AS seen, sum((n - 3200 / 62.0) ^ 2 / (3200 / 62.0)) AS chi2
    FROM (SELECT path, position, c, count(*) AS n FROM chars GROUP BY 1, 2, 3) counts
    GROUP BY 1, 2
), overall AS (
    SELECT path, count(*) AS seen, sum((n - 204800 / 62.0) ^ 2 / (204800 / 62.0)) AS chi2
    FROM (SELECT path, c, count(*) AS n FROM chars GROUP BY 1, 2) counts
    GROUP BY 1
)
SELECT p.path,
       count(*) AS positions,
       count(DISTINCT p.position) FILTER (WHERE p.chi2 < 155 AND p.seen = 62) AS uniform_positions,
       min(o.chi2) < 155 AND min(o.seen) = 62 AS uniform_overall
FROM per_position p JOIN overall o USING (path)
GROUP BY 1 ORDER BY 1;
SELECT path,
       abs(count(*) FILTER (WHERE substr(code, k, 1) = substr(code, k + 1, 1)) - 201600 / 62.0) < 400
           AS neighbours_independent
FROM strong, generate_series(1, 63) k
GROUP BY 1 ORDER BY 1;
ROLLBACK;

-- A hostile search_path cannot redirect the extension: a shadowing table,
-- a shadowing = operator and functions in a schema searched first are ignored,
-- also by a new session whose first call prepares the plans under that path.
-- pg_catalog is named last, so that it is not searched first (as it is when
-- a path leaves it out): the shadows win for the caller's own SQL.
\c
CREATE SCHEMA hostile;
CREATE TABLE hostile.urls (short_code text, original_url text, clicks bigint, created_at timestamptz);
CREATE FUNCTION hostile.texteq_always(text, text) RETURNS boolean
    LANGUAGE sql AS 'SELECT true';
CREATE OPERATOR hostile.= (LEFTARG = text, RIGHTARG = text, FUNCTION = hostile.texteq_always);
CREATE FUNCTION hostile.now() RETURNS timestamptz LANGUAGE sql AS $$SELECT 'epoch'::timestamptz$$;
SET search_path = hostile, public, pg_catalog;
SELECT 'a'::text = 'b'::text AS shadow_equal, now() = 'epoch' AS shadow_now;
SELECT public.shorten_url('https://path.example/') AS path_code \gset
SELECT public.resolve_url(:'path_code') AS resolved, public.resolve_url('no-such-code') AS unknown;
RESET search_path;
SELECT count(*) AS rows_in_hostile_table FROM hostile.urls;
SELECT original_url, created_at > 'epoch' AS real_now, clicks FROM public.urls WHERE short_code = :'path_code';
DROP SCHEMA hostile CASCADE;
