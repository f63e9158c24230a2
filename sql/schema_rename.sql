--
-- schema_rename: the kept statements name the extension's schema, so a
-- renamed schema makes every session prepare them again with the new name
-- (a syscache callback on schemas), in open sessions that have used them
-- and for every function, purge and capacity included.
--
DROP EXTENSION url_shortener;
CREATE SCHEMA links;
CREATE EXTENSION url_shortener SCHEMA links;

-- This session prepares every statement under the old name.
SELECT links.shorten_url('https://example.com/before', alias => 'before') AS before;
SELECT links.resolve_url('before') AS resolved_before;
SELECT links.purge_urls() AS purged_before;
SELECT code_length, links FROM links.url_shortener_capacity();
SELECT short_code, clicks FROM links.url_stats('before');

ALTER SCHEMA links RENAME TO links2;

-- The same session, at once.
SELECT links2.shorten_url('https://example.com/after', alias => 'after') AS after;
SELECT links2.resolve_url('before') AS resolved_after;
SELECT length(links2.shorten_url('https://example.com/drawn')) AS drawn;
SELECT links2.shorten_url('https://example.com/shared', reuse => true) IS NOT NULL AS reused;
SELECT links2.disable_url('after') AS disabled, links2.enable_url('after') AS enabled;
SELECT short_code, clicks, version FROM links2.url_stats('before');
SELECT links2.update_url('after', 'https://example.com/after-2', 3) AS new_version;
SELECT links2.delete_url('after') AS retired, links2.release_code('after') AS released;
SELECT links2.purge_urls() AS purged_after;
SELECT code_length, links FROM links2.url_shortener_capacity();
SELECT count(short_code) AS batch FROM links2.shorten_urls(ARRAY['https://example.com/batch']);
SELECT links2.shorten_url_locked('https://example.com/locked') IS NOT NULL AS locked;

DROP EXTENSION url_shortener;
DROP SCHEMA links2;
CREATE EXTENSION url_shortener;
