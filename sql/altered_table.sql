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
