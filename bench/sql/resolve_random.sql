-- resolve_url of a random one of the 100,000 preloaded codes.  The code
-- of row id is computed here exactly as bench/preload.sql stored it, so
-- no lookup table dilutes the comparison.
\set id random(1, 100000)
\set code 100000000000000 + (:id * 48271) % 2147483647
SELECT resolve_url(:code);
