-- The PL/pgSQL advisory-lock twin of shorten_url_locked (bench/baselines.sql).
SELECT peer.shorten_url_locked('https://example.com/articles/2024/11/benchmarking-short-links?utm_source=bench');
