--
-- locked: shorten_url_locked serializes generation with a transaction-scoped
-- advisory lock, pg_advisory_xact_lock(1431456851, 1)
--
TRUNCATE urls;

SELECT shorten_url_locked('https://example.com/locked') AS code \gset
SELECT :'code' ~ '^[A-Za-z0-9]{6}$' AS default_shape, resolve_url(:'code') AS resolved;

-- The lock is held until the end of the transaction, then released.
CREATE VIEW generation_lock AS
    SELECT mode, granted FROM pg_locks
    WHERE locktype = 'advisory' AND classid = 1431456851 AND objid = 1 AND objsubid = 2
      AND pid = pg_backend_pid();
BEGIN;
SELECT count(*) AS held_before FROM generation_lock;
SELECT length(shorten_url_locked('https://example.com/in-transaction')) AS code_length;
SELECT * FROM generation_lock;
COMMIT;
SELECT count(*) AS held_after_commit FROM generation_lock;
BEGIN;
SELECT length(shorten_url_locked('https://example.com/rolled-back')) AS code_length;
ROLLBACK;
SELECT count(*) AS held_after_rollback FROM generation_lock;
SELECT count(*) AS rows_kept FROM urls;

-- A code already visible is skipped without an insert attempt, and a code
-- taken by a concurrent writer is still caught by the duplicate-key net
-- (see the isolation tests); with the seeded sequence:
BEGIN;
SET LOCAL url_shortener.test_seed = 7;
SELECT shorten_url_locked('https://example.com/probe-1') AS first_draw \gset
SELECT shorten_url_locked('https://example.com/probe-2') AS second_draw \gset
ROLLBACK;
SET url_shortener.test_seed = 7;
SELECT shorten_url('https://example.com/optimistic') = :'first_draw' AS optimistic_took_first;
-- A trigger names every code an insert tries: the locked call tries only
-- the second code (the optimistic one tried the first, and failed).
CREATE FUNCTION locked_tried_code() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE NOTICE 'insert tried %', NEW.short_code;
    RETURN NEW;
END $$;
CREATE TRIGGER locked_tried_code BEFORE INSERT ON urls
    FOR EACH ROW EXECUTE FUNCTION locked_tried_code();
SET url_shortener.test_seed = 7;
SELECT shorten_url_locked('https://example.com/pessimistic') = :'second_draw' AS locked_skipped_to_second;
RESET url_shortener.test_seed;
DROP TRIGGER locked_tried_code ON urls;
DROP FUNCTION locked_tried_code();

-- Exhaustion ends the same way as for shorten_url.
SET url_shortener.alphabet = 'ab';
SET url_shortener.code_length = 1;
INSERT INTO urls (short_code, original_url) VALUES ('a', 'https://example.com/a'), ('b', 'https://example.com/b');
\set VERBOSITY default
SELECT shorten_url_locked('https://example.com/c');
RESET url_shortener.alphabet;
RESET url_shortener.code_length;
SELECT count(*) AS rows_now FROM urls;
DROP VIEW generation_lock;
