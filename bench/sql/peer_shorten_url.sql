-- The PL/pgSQL peer of shorten_url (bench/baselines.sql).
SELECT peer.shorten_url('https://example.com/articles/2024/11/benchmarking-short-links?utm_source=bench');
