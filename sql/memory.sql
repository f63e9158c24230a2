--
-- memory: calls leave nothing behind in the backend.  After a warm-up (which
-- loads the module, fills the catalog caches and keeps the plans), 100,000
-- shorten_url calls, 100,000 resolve_url calls and 10,000
-- shorten_url_locked calls leave the backend's total memory where it was.
-- MessageContext is left out: it holds the client message being executed
-- (here the measuring query itself) and is reset for every message.
--
TRUNCATE urls;
SELECT count(shorten_url('https://example.com/w/' || i)) FROM generate_series(1, 1000) i;
SELECT count(resolve_url(short_code)) FROM urls;
SELECT count(shorten_url_locked('https://example.com/wl/' || i)) FROM generate_series(1, 1000) i;

SELECT sum(total_bytes) AS bytes_before FROM pg_backend_memory_contexts WHERE name <> 'MessageContext' \gset

SELECT count(shorten_url('https://example.com/m/' || i)) FROM generate_series(1, 100000) i;
SELECT count(resolve_url(short_code)) FROM urls;
SELECT count(shorten_url_locked('https://example.com/l/' || i)) FROM generate_series(1, 10000) i;

SELECT sum(total_bytes) AS bytes_after FROM pg_backend_memory_contexts WHERE name <> 'MessageContext' \gset

SELECT abs(:bytes_after - :bytes_before) < 8192 AS flat_within_8kB;
SELECT count(*) AS links, sum(clicks) AS clicks FROM urls;
