-- One autocommit shorten_url call.
SELECT shorten_url('https://example.com/articles/2024/11/benchmarking-short-links?utm_source=bench');
