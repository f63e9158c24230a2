--
-- collisions: a taken code is retried with a fresh draw; running out of
-- draws fails with SQLSTATE US001 and stores nothing; only the short-code
-- key counts as a collision
--
TRUNCATE urls;

-- url_shortener.test_seed makes draws reproducible.  First learn the
-- sequence's first two codes without keeping them.
BEGIN;
SET LOCAL url_shortener.test_seed = 42;
SELECT shorten_url('https://example.com/probe-1') AS first_draw \gset
SELECT shorten_url('https://example.com/probe-2') AS second_draw \gset
ROLLBACK;
SELECT count(*) AS rows_after_probe FROM urls;

-- Take the first code, then restart the sequence: the next call draws the
-- same code, collides, and retries onto the second.
SET url_shortener.test_seed = 42;
SELECT shorten_url('https://example.com/one') = :'first_draw' AS got_first_code;
SET url_shortener.test_seed = 42;
SELECT shorten_url('https://example.com/two') = :'second_draw' AS retried_onto_second_code;
SELECT original_url, short_code = :'first_draw' AS first, short_code = :'second_draw' AS second
FROM urls ORDER BY original_url;

-- The transaction around the call is not disturbed by the rolled-back attempt:
-- it still sees and commits its own earlier work.
BEGIN;
INSERT INTO urls (short_code, original_url) VALUES ('kept-1', 'https://example.com/kept');
SET LOCAL url_shortener.test_seed = 42;
SELECT shorten_url('https://example.com/three') NOT IN (:'first_draw', :'second_draw') AS third_code;
COMMIT;
SELECT count(*) AS rows_now FROM urls;
RESET url_shortener.test_seed;

-- A tiny code space: alphabet "ab", length 1.
TRUNCATE urls;
SET url_shortener.alphabet = 'ab';
SET url_shortener.code_length = 1;
SET url_shortener.max_attempts = 50;
INSERT INTO urls (short_code, original_url) VALUES ('a', 'https://example.com/a');
-- One code left: retries find it.
SELECT shorten_url('https://example.com/b') AS last_free_code;
-- None left: every attempt collides.
\set VERBOSITY default
SELECT shorten_url('https://example.com/c');
SET url_shortener.max_attempts = 1;
SELECT shorten_url('https://example.com/c');
SELECT short_code, original_url FROM urls ORDER BY 1;

-- The error is catchable by its SQLSTATE; nothing of the failed call remains.
DO $$
BEGIN
    PERFORM shorten_url('https://example.com/d');
EXCEPTION WHEN SQLSTATE 'US001' THEN
    RAISE NOTICE 'caught US001: %', SQLERRM;
END $$;
SELECT count(*) AS rows_after_exhaustion FROM urls;
RESET url_shortener.alphabet;
RESET url_shortener.code_length;
RESET url_shortener.max_attempts;

-- A unique violation on another constraint is not a collision: it is
-- raised unchanged, with its own constraint name, and not retried.
TRUNCATE urls;
CREATE UNIQUE INDEX urls_original_url_key ON urls (original_url);
SELECT length(shorten_url('https://example.com/unique')) AS stored_once;
DO $$
DECLARE
    constraint_name text;
BEGIN
    PERFORM shorten_url('https://example.com/unique');
EXCEPTION WHEN unique_violation THEN
    GET STACKED DIAGNOSTICS constraint_name = CONSTRAINT_NAME;
    RAISE NOTICE 'unique_violation on %', constraint_name;
END $$;
SELECT count(*) AS rows_with_that_url FROM urls WHERE original_url = 'https://example.com/unique';
DROP INDEX urls_original_url_key;

-- The short-code key is recognised by what it is, not by its name.
ALTER INDEX urls_pkey RENAME TO urls_code_key;
SET url_shortener.test_seed = 42;
SELECT shorten_url('https://example.com/renamed-1') = :'first_draw' AS first_again;
SET url_shortener.test_seed = 42;
SELECT shorten_url('https://example.com/renamed-2') = :'second_draw' AS still_retried;
ALTER INDEX urls_code_key RENAME TO urls_pkey;
RESET url_shortener.test_seed;

-- On Citus a shard reports its own names: table "urls_102008", constraint
-- "urls_pkey_102008".  A trigger raises exactly such a unique violation on
-- the first insert attempt (a stand-in for a shard, which plain PostgreSQL
-- cannot make): it counts as a collision and is retried.  Names that only
-- look alike do not, and propagate unchanged.  A sequence counts the
-- attempts, since it is not rolled back with the attempt's subtransaction.
TRUNCATE urls;
CREATE TABLE shard_names (table_name text, constraint_name text);
CREATE SEQUENCE insert_attempts;
-- (Qualified names: the trigger runs under the extension's search_path.)
CREATE FUNCTION raise_as_shard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    r public.shard_names;
BEGIN
    SELECT * INTO r FROM public.shard_names;
    IF pg_catalog.nextval('public.insert_attempts') = 1 THEN
        RAISE unique_violation USING MESSAGE = 'duplicate key value (as a shard reports it)',
            SCHEMA = 'public', TABLE = r.table_name, CONSTRAINT = r.constraint_name;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER raise_as_shard BEFORE INSERT ON urls
    FOR EACH ROW EXECUTE FUNCTION raise_as_shard();
INSERT INTO shard_names VALUES ('urls_102008', 'urls_pkey_102008');
SELECT length(shorten_url('https://example.com/shard')) AS stored_code_length,
       currval('insert_attempts') AS attempts;
SELECT count(*) AS stored FROM urls;
-- Look-alikes: raised unchanged after one attempt.
CREATE FUNCTION try_as(tab text, con text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    UPDATE shard_names SET table_name = tab, constraint_name = con;
    PERFORM setval('insert_attempts', 1, false);
    PERFORM shorten_url('https://example.com/' || tab || '/' || con);
    RETURN 'stored';
EXCEPTION WHEN unique_violation THEN
    RETURN 'raised after ' || currval('insert_attempts') || ' attempt';
END $$;
SELECT tab, con, try_as(tab, con) AS outcome
FROM (VALUES ('urls_102008', 'urls_pkey_x'),
             ('urls_102008', 'urls_pkey_'),
             ('urls_102008', 'urls_pkey_102008x'),
             ('urls_other_102008', 'urls_pkey_102008'),
             ('urls_x', 'urls_pkey_102008'),
             ('urls_102008', 'urls_original_url_key_102008')) AS v(tab, con);
SELECT count(*) AS stored FROM urls;
DROP TRIGGER raise_as_shard ON urls;
DROP FUNCTION raise_as_shard(), try_as(text, text);
DROP TABLE shard_names;
DROP SEQUENCE insert_attempts;
