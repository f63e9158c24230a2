--
-- altered_table: the kept plans are not fixed to their result types.
-- After ALTER TABLE ... ALTER COLUMN ... TYPE on the extension's table the
-- plan cache re-plans them with the new type; a call that reads a changed
-- column refuses it with 42804 instead of misreading it (a by-value
-- Datum read as a pointer crashed the backend; a pointer read as a bigint
-- came back as a number), and works again once the type is restored.
--
TRUNCATE urls;
\set VERBOSITY default
SELECT shorten_url('https://altered.example/', alias => 'altered') AS code;
-- Every statement below prepared and run once before the change.
SELECT resolve_url('altered') AS resolved, clicks, version FROM url_stats('altered');
SELECT update_url('altered', 'https://altered.example/2', 1) AS new_version;

ALTER TABLE urls ALTER COLUMN clicks TYPE numeric;
SELECT clicks FROM url_stats('altered');
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE urls ALTER COLUMN clicks TYPE bigint;
SELECT clicks FROM url_stats('altered');

ALTER TABLE urls ALTER COLUMN original_url TYPE bigint USING 12345;
SELECT resolve_url('altered');
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE urls ALTER COLUMN original_url TYPE text USING 'https://altered.example/3';
SELECT resolve_url('altered');

ALTER TABLE urls ALTER COLUMN version TYPE numeric;
SELECT update_url('altered', 'https://altered.example/4', 3);
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE urls ALTER COLUMN version TYPE bigint;
SELECT update_url('altered', 'https://altered.example/4', 2) AS new_version;
SELECT original_url, clicks, version FROM url_stats('altered');

-- A rule on the table rewrites the module's statements: 0A000 saying so,
-- as PostgreSQL's own refusal of INSERT ... RETURNING under such a rule
-- is, and nothing done (it was XX000, "insert returned SPI_OK_REWRITTEN").
TRUNCATE urls;
SELECT shorten_url('https://ruled.example/', alias => 'ruled') AS code;
CREATE RULE no_inserts AS ON INSERT TO urls DO INSTEAD NOTHING;
CREATE RULE no_updates AS ON UPDATE TO urls DO INSTEAD NOTHING;
CREATE RULE no_deletes AS ON DELETE TO urls DO INSTEAD NOTHING;
SELECT shorten_url('https://ruled.example/2');
\set VERBOSITY sqlstate
SELECT * FROM shorten_urls(ARRAY['https://ruled.example/3']);
SELECT shorten_url('https://ruled.example/4', alias => 'ruled4');
SELECT shorten_url_locked('https://ruled.example/7');
SELECT resolve_url('ruled');
SELECT update_url('ruled', 'https://ruled.example/8', 1);
SELECT disable_url('ruled');
SELECT disable_url('ruled', 1);
SELECT enable_url('ruled');
SELECT enable_url('ruled', 1);
SELECT delete_url('ruled');
SELECT delete_url('ruled', 1);
SELECT purge_urls();
SELECT release_code('ruled');
SELECT * FROM url_stats('ruled');
SELECT count(*) FROM url_shortener_capacity();
\set VERBOSITY default
SELECT original_url, enabled, version FROM urls WHERE short_code = 'ruled';
DROP RULE no_inserts ON urls;
DROP RULE no_updates ON urls;
DROP RULE no_deletes ON urls;
-- A DO ALSO rule (an audit log) stops every call too, with the module's
-- message, not PostgreSQL's about an ON CONFLICT statement the caller
-- never wrote; a session's first call prepares every statement, so reads
-- stop as well.
CREATE TABLE click_log (code text);
CREATE RULE log_clicks AS ON UPDATE TO urls WHERE new.clicks OPERATOR(pg_catalog.<>) old.clicks
    DO ALSO INSERT INTO click_log VALUES (new.short_code);
\c
SELECT resolve_url('ruled');
SELECT * FROM url_stats('ruled');
-- Disabled, it still stops them: PostgreSQL refuses ON CONFLICT under any
-- UPDATE rule, disabled or not.
ALTER TABLE urls DISABLE RULE log_clicks;
\set VERBOSITY sqlstate
SELECT resolve_url('ruled');
\set VERBOSITY default
DROP RULE log_clicks ON urls;
SELECT resolve_url('ruled');
-- A disabled INSERT rule does not: PostgreSQL runs ON CONFLICT under it.
CREATE RULE log_links AS ON INSERT TO urls DO ALSO INSERT INTO click_log VALUES (new.short_code);
ALTER TABLE urls DISABLE RULE log_links;
SELECT shorten_url('https://ruled.example/5', alias => 'ruled5') AS with_the_rule_disabled;
ALTER TABLE urls ENABLE RULE log_links;
\set VERBOSITY sqlstate
SELECT shorten_url('https://ruled.example/6', alias => 'ruled6');
\set VERBOSITY default
DROP RULE log_links ON urls;
DELETE FROM urls WHERE short_code = 'ruled5';
DROP TABLE click_log;
-- (VACUUM clears relhasrules, which a dropped rule leaves set.)
VACUUM public.urls;
SELECT short_code, enabled, retired_at IS NULL AS live FROM urls ORDER BY short_code;

-- Rules on the module's other two tables are refused the same way, each
-- named in the DETAIL; nothing is stored.
CREATE RULE no_key_inserts AS ON INSERT TO reuse_key DO INSTEAD NOTHING;
SELECT shorten_url('https://ruled.example/reused', reuse => true);
\echo :SQLSTATE
DROP RULE no_key_inserts ON reuse_key;
CREATE RULE no_release_inserts AS ON INSERT TO released_codes DO INSTEAD NOTHING;
SELECT shorten_url('https://ruled.example/released');
\echo :SQLSTATE
DROP RULE no_release_inserts ON released_codes;
SELECT count(*) AS stored_rows FROM urls WHERE original_url LIKE 'https://ruled.example/re%';
-- A DELETE rule alone is not refused when the tables are opened: the
-- statement it rewrites is, when it runs (releasing a tombstone deletes
-- it), and the tombstone stays.
SELECT delete_url('ruled') AS deleted;
CREATE RULE no_deletes AS ON DELETE TO urls DO INSTEAD NOTHING;
SELECT resolve_url('ruled') IS NULL AS deleted_link_resolves_to_nothing;
SELECT release_code('ruled');
\echo :SQLSTATE
DROP RULE no_deletes ON urls;
SELECT short_code, original_url IS NULL AS tombstone FROM urls WHERE short_code = 'ruled';
SELECT count(*) AS released FROM released_codes WHERE short_code = 'ruled';
SELECT release_code('ruled') AS released_without_the_rule;
-- The same where the session prepared its statements while the rule
-- existed (its first call after \c): once the rule is dropped, the first
-- release_code already works.
SELECT shorten_url('https://ruled.example/9', alias => 'ruled9') AS code;
SELECT delete_url('ruled9') AS deleted;
CREATE RULE no_deletes AS ON DELETE TO urls DO INSTEAD NOTHING;
\c
SELECT resolve_url('ruled9') IS NULL AS prepared_under_the_rule;
DROP RULE no_deletes ON urls;
SELECT release_code('ruled9') AS released_at_once, release_code('ruled9') AS again;
-- (VACUUM clears relhasrules again, for the tests that follow.)
VACUUM public.urls, public.reuse_key, public.released_codes;
