-- One autocommit shorten_url_locked call.
SELECT shorten_url_locked('https://example.com/articles/2024/11/benchmarking-short-links?utm_source=bench');
