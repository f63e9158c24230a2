-- tools/demo.sql: a short tour of url_shortener, run by tools/demo.
\set ON_ERROR_STOP on
\pset footer off
CREATE EXTENSION url_shortener;

\echo
\echo '== shorten_url: a random code per URL, drawn from pg_strong_random'
CREATE TEMP TABLE demo AS
SELECT url, shorten_url(url) AS code
FROM (VALUES ('https://www.postgresql.org/docs/15/xfunc-c.html'),
             ('https://www.postgresql.org/docs/15/spi.html'),
             ('https://github.com/jtv/libpqxx')) v(url);
TABLE demo;

\echo '== shorten_url_locked: the same, serialized by a transaction-scoped advisory lock'
SELECT shorten_url_locked('https://uriparser.github.io/') AS code;

\echo '== shorten_urls: many links in one statement, in input order, all or nothing'
SELECT * FROM shorten_urls(ARRAY['https://www.debian.org/', 'https://cmake.org/']);

\echo '== resolve_url: the target, with the click counted in the same UPDATE'
SELECT code, resolve_url(code) AS resolves_to FROM demo;
SELECT count(resolve_url(code)) AS more_clicks
FROM demo, generate_series(1, 3) n WHERE url LIKE '%spi%';
SELECT resolve_url('nosuch') AS unknown_code;

\echo '== 1.1: an alias, a one-time link, an edit checked against the version'
SELECT shorten_url('https://www.debian.org/releases/bookworm/', alias => 'bookworm') AS alias;
SELECT shorten_url('https://example.com/invite', alias => 'invite', max_clicks => 1) AS one_time;
SELECT resolve_url('invite') AS first_use, resolve_url('invite') AS second_use;
SELECT update_url('bookworm', 'https://www.debian.org/releases/stable/', 1) AS new_version;
SELECT short_code, original_url, clicks, max_clicks, version FROM url_stats('bookworm');

\echo '== click counts'
SELECT short_code, clicks, original_url FROM urls ORDER BY clicks DESC, original_url;

\echo '== bad input is refused with a precise SQLSTATE and stores nothing'
\set ON_ERROR_STOP off
\set VERBOSITY default
SELECT shorten_url('javascript:alert(document.cookie)');
SELECT shorten_url('https://bank.example@evil.example/login');
SELECT count(*) AS links FROM urls;
