--
-- check_constraints: the functions check the CHECK constraints urls has
-- now, whether url_shortener.parse_checks_once lets the module read them
-- once per session (the default) or PostgreSQL reads them per statement.
-- At DEBUG1 the module says when it reads them: once, and again after
-- every change, never for a statement that is not its own.
--
TRUNCATE urls;
\set VERBOSITY terse
-- The cache serves the module's SPI statements: links go in through one
-- here (direct_insert.sql has the inserts that bypass the executor).
SET url_shortener.direct_insert = off;

-- The first call reads the table's three constraints; later calls,
-- inserts and clicks alike, use what it read.
SET client_min_messages = debug1;
SELECT shorten_url('https://example.com/warm') AS code \gset
SELECT shorten_url('https://example.com/warm/2') IS NOT NULL AS stored;
SELECT resolve_url(:'code') AS clicked;
SHOW url_shortener.parse_checks_once;

-- A constraint added in this session is read and enforced at the next
-- call, by each function that writes a row, and nothing is stored.
ALTER TABLE urls ADD CONSTRAINT no_forbidden CHECK (original_url NOT LIKE '%forbidden%');
SELECT shorten_url('https://example.com/forbidden');
SELECT shorten_url('https://example.com/forbidden', alias => 'forbidden');
SELECT shorten_url('https://example.com/forbidden', reuse => true);
SELECT shorten_url('https://example.com/forbidden', idempotency_key => 'forbidden-key');
SELECT shorten_urls(ARRAY['https://example.com/fine', 'https://example.com/forbidden']);
SELECT update_url(:'code', 'https://example.com/forbidden', 1);
RESET client_min_messages;
SELECT count(*) AS rows_after_refusals FROM urls;
SELECT original_url FROM urls WHERE short_code = :'code';

-- Replaced under the same name and count in one transaction: the texts
-- differ, so the new one is read and counts.
BEGIN;
ALTER TABLE urls DROP CONSTRAINT no_forbidden;
ALTER TABLE urls ADD CONSTRAINT no_forbidden CHECK (original_url NOT LIKE '%banned%');
COMMIT;
SET client_min_messages = debug1;
SELECT shorten_url('https://example.com/forbidden') IS NOT NULL AS forbidden_now_stored;
SELECT shorten_url('https://example.com/banned');

-- Dropped: read again, nothing is refused any more.
ALTER TABLE urls DROP CONSTRAINT no_forbidden;
SELECT shorten_url('https://example.com/banned') IS NOT NULL AS banned_now_stored;

-- The click's UPDATE checks the row it writes; a click on an unknown code
-- writes no row and fails no constraint.
SELECT shorten_url('https://example.com/capped') AS capped \gset
ALTER TABLE urls ADD CONSTRAINT clicks_cap CHECK (clicks < 2);
SELECT resolve_url(:'capped') AS first_click;
SELECT resolve_url(:'capped') AS second_click;
SELECT resolve_url('unknown') AS unknown_code;
RESET client_min_messages;
SELECT clicks FROM urls WHERE short_code = :'capped';

-- A statement that is not the module's reads nothing through it;
-- PostgreSQL checks the row itself.
SET client_min_messages = debug1;
INSERT INTO urls (short_code, original_url) VALUES ('direct', 'https://example.com/direct');
UPDATE urls SET clicks = 5 WHERE short_code = 'direct';
RESET client_min_messages;

-- A constraint is planned at the first row it checks, as PostgreSQL does:
-- one whose planning fails (the division is folded) fails a click that
-- writes a row, not one on an unknown code.
ALTER TABLE urls ADD CONSTRAINT fails_when_planned CHECK (clicks <> 1 / 0) NOT VALID;
SELECT resolve_url('unknown') AS unknown_code;
SELECT resolve_url(:'code') AS clicked;
SET url_shortener.parse_checks_once = off;
SELECT resolve_url('unknown') AS unknown_code;
SELECT resolve_url(:'code') AS clicked;
RESET url_shortener.parse_checks_once;
ALTER TABLE urls DROP CONSTRAINT fails_when_planned;

-- The same outcomes with the setting off, and nothing read by the module.
SET url_shortener.parse_checks_once = off;
SET client_min_messages = debug1;
SELECT resolve_url(:'capped') AS second_click;
ALTER TABLE urls DROP CONSTRAINT clicks_cap;
SELECT resolve_url(:'capped') AS second_click;
ALTER TABLE urls ADD CONSTRAINT no_refused CHECK (original_url NOT LIKE '%refused%');
SELECT shorten_url('https://example.com/refused');
RESET url_shortener.parse_checks_once;
SELECT shorten_url('https://example.com/refused');
ALTER TABLE urls DROP CONSTRAINT no_refused;
RESET client_min_messages;
SELECT count(*) AS refused_rows FROM urls WHERE original_url LIKE '%refused%';

-- Only superusers change the setting.
CREATE ROLE url_shortener_checks_user;
SET ROLE url_shortener_checks_user;
SET url_shortener.parse_checks_once = off;
RESET ROLE;
DROP ROLE url_shortener_checks_user;
RESET url_shortener.direct_insert;
