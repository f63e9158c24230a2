--
-- resolve: the target of a code, with every resolve counted
--
TRUNCATE urls;
SELECT shorten_url('https://example.com/resolve') AS code \gset

SELECT resolve_url(:'code') AS first;
SELECT resolve_url(:'code') AS second;
SELECT count(resolve_url(:'code')) FROM generate_series(1, 98);
SELECT clicks FROM urls WHERE short_code = :'code';

-- Unknown, empty, NULL and odd codes resolve to NULL and count nothing.
SELECT resolve_url('zzzzzz') IS NULL AS unknown,
       resolve_url('') IS NULL AS empty,
       resolve_url(NULL) IS NULL AS null_code,
       resolve_url(repeat('x', 100000)) IS NULL AS huge;
SELECT sum(clicks) AS total_clicks FROM urls;

-- Codes are case-sensitive: a code that differs only in case is another
-- code (a fixed mixed-case code, so the check never depends on a draw).
INSERT INTO urls (short_code, original_url) VALUES ('CaseCode', 'https://example.com/case');
SELECT resolve_url('casecode') IS NULL AS lower_is_unknown,
       resolve_url('CASECODE') IS NULL AS upper_is_unknown,
       resolve_url('CaseCode') AS exact;
SELECT short_code, clicks FROM urls WHERE lower(short_code) = 'casecode';

-- A resolve inside a rolled-back transaction counts nothing.
BEGIN;
SELECT resolve_url(:'code') IS NOT NULL AS resolved;
ROLLBACK;
SELECT clicks FROM urls WHERE short_code = :'code';

-- Resolving is a write: a read-only transaction refuses it cleanly.
BEGIN READ ONLY;
SELECT resolve_url(:'code');
ROLLBACK;

-- A long URL is stored compressed (a row over about 2 kB) or, longer
-- still, out of line: each resolve returns its own link's URL whole, also
-- two in one statement, in a new session (nothing cached).
TRUNCATE urls;
SELECT shorten_url('https://example.com/' || repeat('abcdefgh', 250)) AS long_a \gset
SELECT shorten_url('https://example.com/' || repeat('zyxwvuts', 250)) AS long_b \gset
SET url_shortener.max_url_length = 1048576;
SELECT shorten_url('https://example.com/' || string_agg(md5(i::text), '')) AS huge_a
FROM generate_series(1, 20000) AS i \gset
SELECT shorten_url('https://example.com/' || string_agg(md5((-i)::text), '')) AS huge_b
FROM generate_series(1, 20000) AS i \gset
RESET url_shortener.max_url_length;
SELECT short_code = :'long_a' AS first, octet_length(original_url) AS length,
       pg_column_size(original_url) < octet_length(original_url) AS compressed_or_out_of_line
FROM urls ORDER BY length, first DESC;
-- The two huge ones (640,020 bytes each, not compressible enough to fit a
-- page) are out of line: the TOAST table holds at least both.
SELECT pg_relation_size(reltoastrelid) >= 2 * 640020 AS huge_urls_out_of_line
FROM pg_class WHERE oid = 'urls'::regclass;
\c
SELECT a = 'https://example.com/' || repeat('abcdefgh', 250) AS a_is_a,
       b = 'https://example.com/' || repeat('zyxwvuts', 250) AS b_is_b
FROM (SELECT resolve_url(:'long_a') AS a, resolve_url(:'long_b') AS b OFFSET 0) AS s;
\c
SELECT md5(a) = (SELECT md5('https://example.com/' || string_agg(md5(i::text), ''))
                 FROM generate_series(1, 20000) AS i) AS huge_a_is_a,
       md5(b) = (SELECT md5('https://example.com/' || string_agg(md5((-i)::text), ''))
                 FROM generate_series(1, 20000) AS i) AS huge_b_is_b
FROM (SELECT resolve_url(:'huge_a') AS a, resolve_url(:'huge_b') AS b OFFSET 0) AS s;
SELECT short_code = :'long_a' AS first, clicks FROM urls ORDER BY octet_length(original_url), first DESC;
