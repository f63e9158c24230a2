--
-- direct_insert: a new link written straight to the table and its indexes
-- (url_shortener.direct_insert, on by default) is the row an INSERT would
-- store: the table's defaults as they are now, its NOT NULL and CHECK
-- constraints with PostgreSQL's own errors, every index, visible to the
-- next statement.  At DEBUG1 the module says which way links go in, each
-- time it looks at the table again, and when a row it was to write fails a
-- constraint and goes through the executor instead (which reports it).
-- Autovacuum is off for urls meanwhile: its ANALYZE between two calls
-- would make the second look at the table again and say so once more.
--
TRUNCATE urls;
ALTER TABLE urls SET (autovacuum_enabled = off);
\set VERBOSITY terse

-- The same row both ways, in one transaction: every column but the code
-- and the URL.
BEGIN;
SET LOCAL client_min_messages = debug1;
SELECT shorten_url('https://example.com/direct') AS direct \gset
SET LOCAL url_shortener.direct_insert = off;
SELECT shorten_url('https://example.com/executor') AS executor \gset
COMMIT;
SELECT count(DISTINCT (clicks, created_at, version, enabled, reusable, is_alias, expires_at,
                       max_clicks, retired_at, idempotency_digest)) AS distinct_rows,
       count(*) AS links, bool_and(clicks = 0 AND version = 1 AND enabled AND NOT reusable
                                  AND NOT is_alias AND created_at <= now()) AS as_declared
FROM urls;

-- In one transaction: the next statement sees the link, through the
-- primary key and without it, and a click counts on it.
BEGIN;
SELECT shorten_url('https://example.com/same-transaction') AS fresh \gset
SELECT resolve_url(:'fresh') AS followed;
SET LOCAL enable_seqscan = off;
SELECT count(*) AS through_primary_key FROM urls WHERE short_code = :'fresh';
SET LOCAL enable_seqscan = on;
SET LOCAL enable_indexscan = off;
SET LOCAL enable_bitmapscan = off;
SELECT count(*) AS through_heap FROM urls WHERE short_code = :'fresh';
COMMIT;
SELECT clicks FROM urls WHERE short_code = :'fresh';

-- An administrator's default is the one a new link gets, at the next call.
ALTER TABLE urls ALTER COLUMN created_at SET DEFAULT '2001-02-03 04:05:06+00';
SET client_min_messages = debug1;
SELECT shorten_url('https://example.com/old-default') AS dated \gset
RESET client_min_messages;
SELECT created_at AT TIME ZONE 'UTC' AS created_at FROM urls WHERE short_code = :'dated';
ALTER TABLE urls ALTER COLUMN created_at SET DEFAULT pg_catalog.now();

-- Indexes of the administrator's, partial and on an expression: each finds the link.
CREATE INDEX urls_long_paths ON urls (original_url) WHERE pg_catalog.length(original_url) > 30;
CREATE INDEX urls_lower_url ON urls (pg_catalog.lower(original_url));
SET client_min_messages = debug1;
SELECT shorten_url('https://example.com/A-rather-long-path/for-the-index') AS indexed \gset
RESET client_min_messages;
SET enable_seqscan = off;
SET enable_bitmapscan = off;
EXPLAIN (COSTS OFF)
SELECT count(*) FROM urls WHERE original_url = 'https://example.com/A-rather-long-path/for-the-index'
                            AND pg_catalog.length(original_url) > 30;
SELECT count(*) AS through_partial_index FROM urls
WHERE original_url = 'https://example.com/A-rather-long-path/for-the-index'
  AND pg_catalog.length(original_url) > 30;
EXPLAIN (COSTS OFF)
SELECT count(*) FROM urls WHERE pg_catalog.lower(original_url) = 'https://example.com/a-rather-long-path/for-the-index';
SELECT count(*) AS through_expression_index FROM urls
WHERE pg_catalog.lower(original_url) = 'https://example.com/a-rather-long-path/for-the-index';
RESET enable_seqscan;
RESET enable_bitmapscan;
DROP INDEX urls_long_paths, urls_lower_url;

-- A unique index of the administrator's is no taken code: its own error,
-- after one attempt, and nothing more stored.  The attempts are counted
-- by the table's own statistics of this transaction (n_tup_ins counts an
-- insert a subtransaction rolled back): one code, offered twice (the plain
-- insert, then ON CONFLICT on the short code, which raises the same
-- violation); a code drawn again would add two more.
CREATE UNIQUE INDEX urls_one_link_per_url ON urls (original_url);
BEGIN;
SELECT n_tup_ins AS inserts_before FROM pg_stat_xact_user_tables WHERE relid = 'urls'::regclass \gset
SAVEPOINT before_call;
SET client_min_messages = debug1;
SELECT shorten_url('https://example.com/direct');
ROLLBACK TO SAVEPOINT before_call;
SELECT n_tup_ins OPERATOR(pg_catalog.-) :inserts_before AS heap_inserts_tried
FROM pg_stat_xact_user_tables WHERE relid = 'urls'::regclass;
COMMIT;
DROP INDEX urls_one_link_per_url;

-- A row a constraint refuses gets PostgreSQL's own error, and nothing is stored.
SELECT count(*) AS links_before FROM urls \gset
ALTER TABLE urls ADD CONSTRAINT no_forbidden CHECK (original_url NOT LIKE '%forbidden%');
SET client_min_messages = debug1;
SELECT shorten_url('https://example.com/allowed') IS NOT NULL AS stored;
SELECT shorten_url('https://example.com/forbidden');
RESET client_min_messages;
ALTER TABLE urls DROP CONSTRAINT no_forbidden;
ALTER TABLE urls ADD COLUMN note text;
UPDATE urls SET note = 'old';
ALTER TABLE urls ALTER COLUMN note SET NOT NULL;
SET client_min_messages = debug1;
SELECT shorten_url('https://example.com/no-note');
ALTER TABLE urls ALTER COLUMN note SET DEFAULT 'new';
SELECT shorten_url('https://example.com/noted') AS noted \gset
RESET client_min_messages;
SELECT note FROM urls WHERE short_code = :'noted';
SELECT count(*) OPERATOR(pg_catalog.-) :links_before AS stored_since FROM urls;
-- A dropped column is left empty: the row goes in directly, and its slot
-- for the dropped column is NULL (read from the page with pageinspect).
ALTER TABLE urls DROP COLUMN note;
SET client_min_messages = debug1;
SELECT shorten_url('https://example.com/after-drop') AS after_drop \gset
RESET client_min_messages;
CREATE EXTENSION pageinspect;
SELECT count(*) AS dropped_columns,
       bool_and(item.t_attrs[dropped.attnum] IS NULL) AS dropped_slots_empty,
       bool_and(item.t_attrs[1] IS NOT NULL) AS code_slot_filled
FROM urls AS u,
     LATERAL heap_page_item_attrs(get_raw_page('urls', (u.ctid::text::point)[0]::int), 'urls'::regclass) AS item,
     pg_attribute AS dropped
WHERE u.short_code = :'after_drop' AND item.t_ctid = u.ctid
  AND dropped.attrelid = 'urls'::regclass AND dropped.attisdropped;
DROP EXTENSION pageinspect;

-- Where the executor would do more, links go in through it: a column of
-- a domain type (its constraint is the executor's to check).
ALTER TABLE urls ADD COLUMN rank information_schema.cardinal_number;
SET client_min_messages = debug1;
SELECT shorten_url('https://example.com/domain') IS NOT NULL AS stored;
RESET client_min_messages;
ALTER TABLE urls ALTER COLUMN rank SET DEFAULT -1;
SELECT shorten_url('https://example.com/negative-rank');
ALTER TABLE urls DROP COLUMN rank;
SET client_min_messages = debug1;
SELECT shorten_url('https://example.com/without-rank') IS NOT NULL AS stored;
RESET client_min_messages;

-- A volatile default would run again if the executor had to redo the
-- row: such a table goes through the executor.
ALTER TABLE urls ADD COLUMN serial_no bigserial;
SET client_min_messages = debug1;
SELECT shorten_url('https://example.com/serial') AS serial \gset
RESET client_min_messages;
SELECT serial_no OPERATOR(pg_catalog.=) (SELECT pg_catalog.max(serial_no) FROM urls) AS numbered
FROM urls WHERE short_code = :'serial';
ALTER TABLE urls DROP COLUMN serial_no;

-- A CHECK may read tableoid, as in the executor.
ALTER TABLE urls ADD CONSTRAINT in_urls CHECK (tableoid OPERATOR(pg_catalog.=) 'urls'::regclass);
SET client_min_messages = debug1;
SELECT shorten_url('https://example.com/tableoid') IS NOT NULL AS stored;
RESET client_min_messages;
ALTER TABLE urls DROP CONSTRAINT in_urls;

-- A read-only transaction refuses the insert as any INSERT would.
BEGIN READ ONLY;
SELECT shorten_url('https://example.com/read-only');
ROLLBACK;

-- Aliases and limits go in the same way.
SELECT shorten_url('https://example.com/aliased', alias => 'direct-alias') AS alias;
SELECT shorten_url('https://example.com/aliased-again', alias => 'direct-alias');
SELECT shorten_url('https://example.com/limited', max_clicks => 2,
                   expires_at => '2999-01-01 00:00:00+00') AS limited \gset
SELECT is_alias, max_clicks, expires_at AT TIME ZONE 'UTC' AS expires_at
FROM urls WHERE short_code IN ('direct-alias', :'limited') ORDER BY is_alias;

-- shorten_urls writes its rows the same way, with the indexes opened once:
-- the defaults of every column its INSERT does not name (max_clicks among
-- them, which shorten_url names), the same rows with the setting off, all
-- rows or none.
ALTER TABLE urls ALTER COLUMN max_clicks SET DEFAULT 9;
SELECT count(*) AS stored FROM shorten_urls(ARRAY['https://example.com/batch/1', 'https://example.com/batch/2']);
SET url_shortener.direct_insert = off;
SELECT count(*) AS stored FROM shorten_urls(ARRAY['https://example.com/batch/3']);
RESET url_shortener.direct_insert;
SELECT original_url, max_clicks, clicks, enabled, version FROM urls
WHERE original_url LIKE 'https://example.com/batch/%' ORDER BY original_url;
ALTER TABLE urls ALTER COLUMN max_clicks DROP DEFAULT;
SET enable_seqscan = off;
SET enable_bitmapscan = off;
SELECT count(*) AS through_primary_key FROM pg_catalog.unnest(ARRAY(
    SELECT short_code FROM urls WHERE original_url LIKE 'https://example.com/batch/%')) AS c
WHERE EXISTS (SELECT FROM urls WHERE short_code OPERATOR(pg_catalog.=) c);
RESET enable_seqscan;
RESET enable_bitmapscan;
ALTER TABLE urls ADD CONSTRAINT no_forbidden CHECK (original_url NOT LIKE '%forbidden%');
SELECT * FROM shorten_urls(ARRAY['https://example.com/batch/ok', 'https://example.com/batch/forbidden']);
ALTER TABLE urls DROP CONSTRAINT no_forbidden;
SELECT count(*) AS batch_stored FROM urls WHERE original_url LIKE 'https://example.com/batch/%';

-- An identity column among the columns the INSERT names: the executor
-- refuses the value, as for any INSERT.
TRUNCATE urls;
ALTER TABLE urls ALTER COLUMN max_clicks SET NOT NULL;
ALTER TABLE urls ALTER COLUMN max_clicks ADD GENERATED ALWAYS AS IDENTITY;
SET client_min_messages = debug1;
SELECT shorten_url('https://example.com/identity', max_clicks => 5);
RESET client_min_messages;
ALTER TABLE urls ALTER COLUMN max_clicks DROP IDENTITY;
ALTER TABLE urls ALTER COLUMN max_clicks DROP NOT NULL;
SELECT count(*) AS links FROM urls;
TRUNCATE urls;
ALTER TABLE urls RESET (autovacuum_enabled);
