--
-- shorten_urls: many links in one statement, in input order, all or nothing
--
TRUNCATE urls;

SELECT url, short_code ~ '^[A-Za-z0-9]{6}$' AS default_shape, ordinality
FROM shorten_urls(ARRAY['https://a.example/', 'https://b.example/', 'https://a.example/'])
     WITH ORDINALITY;
-- The same URL twice makes two links, as with shorten_url.
SELECT count(*) AS links, count(DISTINCT short_code) AS codes FROM urls;

-- Input order is kept, and every returned code resolves to its URL.
TRUNCATE urls;
CREATE TEMP TABLE batch AS
SELECT * FROM shorten_urls(ARRAY(SELECT 'https://order.example/' || i FROM generate_series(1, 5000) i))
     WITH ORDINALITY;
SELECT count(*) AS returned,
       count(*) FILTER (WHERE url = 'https://order.example/' || ordinality) AS in_order,
       count(DISTINCT short_code) AS distinct_codes
FROM batch;
SELECT count(*) AS stored_with_their_url
FROM batch b JOIN urls u ON u.short_code = b.short_code AND u.original_url = b.url;
DROP TABLE batch;

-- Empty input, empty output.
SELECT count(*) AS none FROM shorten_urls('{}');

-- One bad URL refuses the whole batch, naming the element; nothing is stored.
TRUNCATE urls;
\set VERBOSITY default
SELECT * FROM shorten_urls(NULL);
SELECT * FROM shorten_urls(ARRAY['https://ok.example/', NULL]);
SELECT * FROM shorten_urls(ARRAY['https://ok.example/', 'https://ok.example/2', 'javascript:alert(1)']);
SELECT * FROM shorten_urls(ARRAY['https://ok.example/', 'https://ok.example/' || repeat('x', 3000)]);
SELECT * FROM shorten_urls(ARRAY[['https://a.example/'], ['https://b.example/']]);
SELECT count(*) AS stored_rows FROM urls;

-- Collisions: in a code space of 3,844 codes (2 characters) with 62 taken,
-- one call stores 3,000 more; codes taken in the table and codes drawn twice
-- within the batch are redrawn.  (Seeded, so the outcome is reproducible.)
SET url_shortener.code_length = 2;
SET url_shortener.max_attempts = 100;
SET url_shortener.test_seed = 99;
INSERT INTO urls (short_code, original_url) SELECT 'A' || c, 'https://pre.example/' || c
FROM regexp_split_to_table('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', '') c;
SELECT count(*) AS returned, count(DISTINCT short_code) AS distinct_codes,
       count(*) FILTER (WHERE short_code LIKE 'A_') AS reused_taken_codes
FROM shorten_urls(ARRAY(SELECT 'https://fill.example/' || i FROM generate_series(1, 3000) i));
SELECT count(*) AS stored_rows FROM urls;
RESET url_shortener.test_seed;

-- Not enough codes for the batch: US001, and nothing of it is stored.
TRUNCATE urls;
SET url_shortener.alphabet = 'ab';
SET url_shortener.code_length = 1;
SELECT * FROM shorten_urls(ARRAY['https://x.example/1', 'https://x.example/2', 'https://x.example/3']);
SELECT count(*) AS stored_rows FROM urls;
-- A batch that fits the codes left still succeeds.
SELECT string_agg(short_code, ',' ORDER BY short_code) AS codes, count(DISTINCT url) AS urls
FROM shorten_urls(ARRAY['https://x.example/1', 'https://x.example/2']);
RESET url_shortener.alphabet;
RESET url_shortener.code_length;
RESET url_shortener.max_attempts;

-- A unique violation on another constraint is raised unchanged.
TRUNCATE urls;
CREATE UNIQUE INDEX urls_original_url_key ON urls (original_url);
SELECT count(*) FROM shorten_urls(ARRAY['https://same.example/', 'https://same.example/']);
SELECT count(*) AS stored_rows FROM urls;
DROP INDEX urls_original_url_key;
