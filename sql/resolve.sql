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
       resolve_url(repeat('x', 100000)) IS NULL AS huge,
       resolve_url(lower(:'code')) IS NULL OR lower(:'code') = :'code' AS case_sensitive;
SELECT sum(clicks) AS total_clicks FROM urls;

-- A resolve inside a rolled-back transaction counts nothing.
BEGIN;
SELECT resolve_url(:'code') IS NOT NULL AS resolved;
ROLLBACK;
SELECT clicks FROM urls WHERE short_code = :'code';

-- Resolving is a write: a read-only transaction refuses it cleanly.
BEGIN READ ONLY;
SELECT resolve_url(:'code');
ROLLBACK;
