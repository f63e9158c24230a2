--
-- check_constraints: the functions check the CHECK constraints urls has
-- now, whether url_shortener.parse_checks_once lets the module read them
-- once per session (the default) or PostgreSQL reads them per statement
--
TRUNCATE urls;
\set VERBOSITY terse

-- A call first, so that the session holds the table's three constraints.
SELECT shorten_url('https://example.com/warm') IS NOT NULL AS stored;
SHOW url_shortener.parse_checks_once;

-- A constraint added in this session is enforced on the next call, by each
-- function that writes a row, and nothing is stored.
ALTER TABLE urls ADD CONSTRAINT no_forbidden CHECK (original_url NOT LIKE '%forbidden%');
SELECT shorten_url('https://example.com/forbidden');
SELECT shorten_url('https://example.com/forbidden', alias => 'forbidden');
SELECT shorten_url('https://example.com/forbidden', reuse => true);
SELECT shorten_urls(ARRAY['https://example.com/fine', 'https://example.com/forbidden']);
SELECT count(*) AS rows_after_refusals FROM urls;

-- Replaced under the same name in one transaction: the new text counts.
BEGIN;
ALTER TABLE urls DROP CONSTRAINT no_forbidden;
ALTER TABLE urls ADD CONSTRAINT no_forbidden CHECK (original_url NOT LIKE '%banned%');
COMMIT;
SELECT shorten_url('https://example.com/forbidden') IS NOT NULL AS forbidden_now_stored;
SELECT shorten_url('https://example.com/banned');

-- Dropped: nothing is refused any more.
ALTER TABLE urls DROP CONSTRAINT no_forbidden;
SELECT shorten_url('https://example.com/banned') IS NOT NULL AS banned_now_stored;

-- The click's UPDATE checks the row it writes.
SELECT shorten_url('https://example.com/capped') AS code \gset
ALTER TABLE urls ADD CONSTRAINT clicks_cap CHECK (clicks < 2);
SELECT resolve_url(:'code') AS first_click;
SELECT resolve_url(:'code') AS second_click;
SELECT clicks FROM urls WHERE short_code = :'code';

-- The same outcomes with the setting off: PostgreSQL reads them itself.
SET url_shortener.parse_checks_once = off;
SELECT resolve_url(:'code') AS second_click;
ALTER TABLE urls DROP CONSTRAINT clicks_cap;
SELECT resolve_url(:'code') AS second_click;
ALTER TABLE urls ADD CONSTRAINT no_refused CHECK (original_url NOT LIKE '%refused%');
SELECT shorten_url('https://example.com/refused');
RESET url_shortener.parse_checks_once;
SELECT shorten_url('https://example.com/refused');
ALTER TABLE urls DROP CONSTRAINT no_refused;
SELECT count(*) AS refused_rows FROM urls WHERE original_url LIKE '%refused%';

-- Only superusers change the setting.
CREATE ROLE url_shortener_checks_user;
SET ROLE url_shortener_checks_user;
SET url_shortener.parse_checks_once = off;
RESET ROLE;
DROP ROLE url_shortener_checks_user;
