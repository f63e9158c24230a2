/*
 * preload.sql
 *    100,000 links for the resolve workloads.  Row id g gets the code
 *    100000000000000 + (g * 48271) mod 2147483647: a bijection on
 *    1..2^31-2 (48271 is a primitive root of that prime), so the codes are
 *    distinct and scattered over the index, and the pgbench scripts in
 *    sql/ compute the code of a random id without a lookup.
 */
TRUNCATE urls;
INSERT INTO urls (short_code, original_url)
SELECT (100000000000000 + (g::bigint * 48271) % 2147483647)::text,
       'https://example.com/articles/' || g
FROM generate_series(1, 100000) AS g;
VACUUM (ANALYZE) urls;
