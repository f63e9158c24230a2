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

-- A rename seen by a call that a statement of another call fired (user
-- code in a trigger on urls): the inner call prepares the statements
-- again, but the old ones, the outer call's INSERT among them, are kept
-- until no call runs (SPI goes on reading that INSERT once the trigger
-- returns); DEBUG1 says so.  Both calls finish, and the next call frees
-- the old plans.  The inner calls include one that fails: the module's
-- count of its calls on the stack stays exact through errors.
CREATE FUNCTION public.rename_and_resolve() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.original_url LIKE '%/reentered' THEN
        BEGIN
            PERFORM links2.shorten_url('not a URL');
        EXCEPTION WHEN invalid_parameter_value THEN
            RAISE NOTICE 'inner call failed: %', SQLERRM;
        END;
        ALTER SCHEMA links2 RENAME TO links3;
        RAISE NOTICE 'inner call: %', links3.resolve_url('before');
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER rename_and_resolve BEFORE INSERT ON links2.urls
    FOR EACH ROW EXECUTE FUNCTION public.rename_and_resolve();
SET client_min_messages = debug1;
SELECT links2.shorten_url('https://example.com/reentered', alias => 'reentered') AS outer_call;
RESET client_min_messages;
SELECT links3.resolve_url('reentered') AS resolved, links3.resolve_url('before') AS before;
SELECT short_code, clicks FROM links3.url_stats('before');
DROP TRIGGER rename_and_resolve ON links3.urls;
DROP FUNCTION public.rename_and_resolve();
-- With no call running, a rename frees the old plans at once: no DEBUG1.
ALTER SCHEMA links3 RENAME TO links4;
SET client_min_messages = debug1;
SELECT links4.resolve_url('reentered') AS resolved;
RESET client_min_messages;

-- A call inside a call whose preparing fails: a trigger renames the schema
-- and a column the statements read, so the inner call prepares again and
-- fails; the trigger catches the error, which takes both renames back, and
-- suppresses the outer update_url's change (returns NULL).  The outer call
-- goes on with its own statements and reports the suppression (09000).
-- Before 2026-12-07 it went on with the part of the new set the inner
-- call had prepared, and none of the rest: here 42P01 for links5.urls, a
-- schema the rollback had named links4 again.
SELECT links4.shorten_url('https://example.com/outer', alias => 'outer') AS outer_link;
CREATE FUNCTION public.rename_fail_and_suppress() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    BEGIN
        ALTER SCHEMA links4 RENAME TO links5;
        ALTER TABLE links5.reuse_key RENAME COLUMN secret TO hidden;
        PERFORM links5.shorten_url('https://example.com/inner');
    EXCEPTION WHEN undefined_column THEN
        RAISE NOTICE 'inner call failed: %', SQLERRM;
    END;
    RETURN NULL;
END
$$;
CREATE TRIGGER rename_fail_and_suppress BEFORE UPDATE ON links4.urls
    FOR EACH ROW EXECUTE FUNCTION public.rename_fail_and_suppress();
SELECT links4.update_url('outer', 'https://example.com/changed', 1) AS new_version;
DROP TRIGGER rename_fail_and_suppress ON links4.urls;
DROP FUNCTION public.rename_fail_and_suppress();
SELECT original_url, version FROM links4.url_stats('outer');
SELECT count(*) AS inner_links FROM links4.urls WHERE original_url LIKE '%/inner';

DROP EXTENSION url_shortener;
DROP SCHEMA links4;
CREATE EXTENSION url_shortener;
