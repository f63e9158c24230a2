--
-- collisions: a taken code is retried with a fresh draw; running out of
-- draws fails with SQLSTATE US001 and stores nothing; only the short-code
-- key counts as a collision.  The race with an invalidation arriving
-- mid-call is test/isolation/specs/collision_after_invalidation.spec.
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
-- One code left: retries find it.  Seed 1 draws the taken "a" three times
-- first, and a trigger names every code an insert tries (with a trigger on
-- urls, links go in through the executor): each "a" by the plain insert,
-- which fails, and again by ON CONFLICT, which skips it; then "b".
CREATE FUNCTION collisions_tried_code() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE NOTICE 'insert tried %', NEW.short_code;
    RETURN NEW;
END $$;
CREATE TRIGGER collisions_tried_code BEFORE INSERT ON urls
    FOR EACH ROW EXECUTE FUNCTION collisions_tried_code();
SET url_shortener.test_seed = 1;
SELECT shorten_url('https://example.com/b') AS last_free_code;
RESET url_shortener.test_seed;
DROP TRIGGER collisions_tried_code ON urls;
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
-- raised unchanged, with its own constraint name, and not retried (the
-- trigger names the one code tried: by the plain insert, and again by ON
-- CONFLICT, which raises the other index's violation; no second code).
TRUNCATE urls;
CREATE UNIQUE INDEX urls_original_url_key ON urls (original_url);
SELECT length(shorten_url('https://example.com/unique')) AS stored_once;
CREATE TRIGGER collisions_tried_code BEFORE INSERT ON urls
    FOR EACH ROW EXECUTE FUNCTION collisions_tried_code();
SET url_shortener.test_seed = 42;
DO $$
DECLARE
    constraint_name text;
BEGIN
    PERFORM shorten_url('https://example.com/unique');
EXCEPTION WHEN unique_violation THEN
    GET STACKED DIAGNOSTICS constraint_name = CONSTRAINT_NAME;
    RAISE NOTICE 'unique_violation on %', constraint_name;
END $$;
RESET url_shortener.test_seed;
DROP TRIGGER collisions_tried_code ON urls;
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

-- The decision needs no constraint name (a unique violation relayed from a
-- remote Citus shard carries none): after a violation the same row is
-- offered again with ON CONFLICT (short_code) DO NOTHING.  An alias that
-- collides with a taken code is US002; a violation of another unique
-- constraint is raised from that statement, unchanged, after one attempt.
TRUNCATE urls;
CREATE UNIQUE INDEX urls_original_url_key ON urls (original_url);
SELECT shorten_url('https://example.com/taken', alias => 'taken');
CREATE TRIGGER collisions_tried_code BEFORE INSERT ON urls
    FOR EACH ROW EXECUTE FUNCTION collisions_tried_code();
SELECT shorten_url('https://example.com/elsewhere', alias => 'taken');
SELECT shorten_url('https://example.com/taken', alias => 'fresh');
DROP TRIGGER collisions_tried_code ON urls;
DROP FUNCTION collisions_tried_code();
SELECT short_code, original_url FROM urls ORDER BY 1;
DROP INDEX urls_original_url_key;

-- A BEFORE INSERT trigger that returns NULL stores nothing: no code is
-- handed out for a row that does not exist (SQLSTATE 09000), for a drawn
-- code, an alias and the locked variant alike.
CREATE FUNCTION swallow_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RETURN NULL;
END $$;
CREATE TRIGGER swallow_row BEFORE INSERT ON urls FOR EACH ROW EXECUTE FUNCTION swallow_row();
TRUNCATE urls;
SELECT shorten_url('https://example.com/swallowed');
SELECT shorten_url('https://example.com/swallowed', alias => 'swallowed');
SELECT shorten_url_locked('https://example.com/swallowed');
-- Reuse, an idempotency key and a keyed batch too (they were US001 on an
-- empty table, retrying a code no link held).
\set VERBOSITY sqlstate
SELECT shorten_url('https://example.com/swallowed', reuse => true);
SELECT shorten_url('https://example.com/swallowed', idempotency_key => 'swallowed');
SELECT * FROM shorten_urls(ARRAY['https://example.com/swallowed'], ARRAY['swallowed-batch']);
\set VERBOSITY default
DO $$
BEGIN
    PERFORM shorten_url('https://example.com/swallowed');
EXCEPTION WHEN triggered_action_exception THEN
    RAISE NOTICE 'caught %', SQLSTATE;
END $$;
SELECT count(*) AS stored FROM urls;
DROP TRIGGER swallow_row ON urls;
DROP FUNCTION swallow_row();
