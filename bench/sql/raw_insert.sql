-- The limit for shorten_url: one INSERT of a code the client drew.
-- pgbench draws numbers, not strings, so the code is a 15-digit decimal
-- string: a space of 9e14, where a collision within one run (under 1e5
-- rows) has odds below 1e-5, so no ON CONFLICT clause is needed.
\set code random(100000000000000, 999999999999999)
INSERT INTO urls (short_code, original_url)
VALUES (:code, 'https://example.com/articles/2024/11/benchmarking-short-links?utm_source=bench');
