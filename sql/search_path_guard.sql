--
-- search_path_guard: the C functions carry no "SET search_path"; the module
-- sets search_path to "pg_catalog, pg_temp" for the duration of each call
-- (extension/search_path_guard.h).  A caller whose search_path starts with
-- a schema of planted look-alikes (an "=" on text, a "+" on bigint, and
-- functions named like those the statements use), with a temporary table
-- "urls" ahead of the extension's schema, calls every function from a new
-- session, so every statement is prepared under that path: nothing planted
-- runs (each plant raises an error naming itself) and nothing lands in the
-- planted tables.  Then the setting is shown to be restored after an
-- error, at the subtransaction level of a PL/pgSQL EXCEPTION block and at
-- the top level: the caller's path is back and the next call works.  Last,
-- a trigger function with a search_path of its own gets it.
--
-- Only the PL/pgSQL function keeps a SET clause.
SELECT p.proname, p.proconfig
FROM pg_proc p
WHERE p.oid IN (SELECT objid FROM pg_depend
                WHERE classid = 'pg_proc'::regclass AND deptype = 'e'
                  AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'url_shortener'))
ORDER BY p.proname, p.pronargs;

CREATE SCHEMA attacker;
CREATE FUNCTION attacker.planted(what text) RETURNS void LANGUAGE plpgsql AS
$$BEGIN RAISE EXCEPTION 'planted % ran', what; END$$;
CREATE FUNCTION attacker.text_eq(text, text) RETURNS boolean LANGUAGE plpgsql AS
$$BEGIN PERFORM attacker.planted('= (text, text)'); RETURN true; END$$;
CREATE OPERATOR attacker.= (LEFTARG = text, RIGHTARG = text, FUNCTION = attacker.text_eq);
CREATE FUNCTION attacker.bigint_plus(bigint, integer) RETURNS bigint LANGUAGE plpgsql AS
$$BEGIN PERFORM attacker.planted('+ (bigint, integer)'); RETURN 0; END$$;
CREATE OPERATOR attacker.+ (LEFTARG = bigint, RIGHTARG = integer, FUNCTION = attacker.bigint_plus);
CREATE FUNCTION attacker.now() RETURNS timestamptz LANGUAGE plpgsql AS
$$BEGIN PERFORM attacker.planted('now()'); RETURN NULL; END$$;
CREATE FUNCTION attacker.length(text) RETURNS integer LANGUAGE plpgsql AS
$$BEGIN PERFORM attacker.planted('length(text)'); RETURN 0; END$$;
CREATE FUNCTION attacker.lower(text) RETURNS text LANGUAGE plpgsql AS
$$BEGIN PERFORM attacker.planted('lower(text)'); RETURN NULL; END$$;
CREATE FUNCTION attacker.unnest(text[]) RETURNS SETOF text LANGUAGE plpgsql AS
$$BEGIN PERFORM attacker.planted('unnest(text[])'); END$$;
CREATE FUNCTION attacker.pg_advisory_xact_lock(bigint) RETURNS void LANGUAGE plpgsql AS
$$BEGIN PERFORM attacker.planted('pg_advisory_xact_lock(bigint)'); END$$;
CREATE FUNCTION attacker.pg_advisory_xact_lock(integer, integer) RETURNS void LANGUAGE plpgsql AS
$$BEGIN PERFORM attacker.planted('pg_advisory_xact_lock(integer, integer)'); END$$;
CREATE TABLE attacker.urls (LIKE public.urls);
CREATE TABLE attacker.reuse_key (LIKE public.reuse_key);

-- What the functions' statements run under: a trigger on urls notes the
-- search path it sees (pg_catalog, then the temporary schema; without the
-- guard it would be the caller's).
CREATE SCHEMA observer;
CREATE TABLE observer.paths_seen (path text);
CREATE FUNCTION observer.note_path() RETURNS trigger LANGUAGE plpgsql AS
$$BEGIN
    INSERT INTO observer.paths_seen
    VALUES (pg_catalog.array_to_string(pg_catalog.current_schemas(true), ', '));
    RETURN NEW;
END$$;
CREATE TRIGGER note_path BEFORE INSERT OR UPDATE ON public.urls
    FOR EACH ROW EXECUTE FUNCTION observer.note_path();

-- A new session: every statement of the extension is prepared in it.
\c
CREATE TEMP TABLE urls (LIKE public.urls);
-- The caller's search path as current_schemas(true) shows it, with the
-- number of the temporary schema masked.
CREATE FUNCTION pg_temp.caller_path() RETURNS text LANGUAGE sql AS
$$SELECT pg_catalog.regexp_replace(pg_catalog.array_to_string(pg_catalog.current_schemas(true), ', '),
                                   'pg_temp_[0-9]+', 'pg_temp_N')$$;
SET search_path = attacker, pg_temp, public, pg_catalog;
-- The plants are live in the caller's own statements:
SELECT 'a' = 'b';
SELECT now();

SELECT public.shorten_url('https://guarded.example/a', alias => 'guarded-a') AS alias_code;
SELECT public.shorten_url('https://guarded.example/drawn') IS NOT NULL AS drawn;
SELECT public.shorten_url('https://guarded.example/reused', reuse => true) IS NOT NULL AS reused;
SELECT public.shorten_url('https://guarded.example/limited', alias => 'guarded-b',
                          expires_at => '2999-01-01', max_clicks => 5) AS limited_code;
SELECT public.shorten_url_locked('https://guarded.example/locked', alias => 'guarded-c') AS locked_code;
SELECT count(short_code) AS batch FROM public.shorten_urls(ARRAY['https://guarded.example/batch/1',
                                                                 'https://guarded.example/batch/2']);
SELECT public.resolve_url('guarded-a') AS resolved, public.resolve_url('guarded-a') AS again;
SELECT public.update_url('guarded-a', 'https://guarded.example/a2', 1) AS new_version;
SELECT public.disable_url('guarded-b') AS disabled, public.enable_url('guarded-b') AS enabled;
SELECT public.disable_url('guarded-b', 3) AS disabled_at, public.enable_url('guarded-b', 4) AS enabled_at;
SELECT short_code, original_url, clicks, version FROM public.url_stats('guarded-a');
SELECT public.delete_url('guarded-c') AS retired, public.release_code('guarded-c') AS released;
SELECT public.shorten_url('https://guarded.example/d', alias => 'guarded-d') AS versioned_code;
SELECT public.delete_url('guarded-d', 1) AS retired_at_version;
SELECT public.purge_urls() AS purged;
SELECT count(*) > 0 AS capacity_rows FROM public.url_shortener_capacity();
-- The caller's path is the caller's again after each call.
SELECT pg_temp.caller_path();

RESET search_path;
SELECT (SELECT count(*) FROM attacker.urls) AS planted_urls,
       (SELECT count(*) FROM attacker.reuse_key) AS planted_reuse_key,
       (SELECT count(*) FROM pg_temp.urls) AS temp_urls;
SELECT pg_catalog.regexp_replace(path, 'pg_temp_[0-9]+', 'pg_temp_N') AS path, count(*) > 0 AS seen
FROM observer.paths_seen GROUP BY path;
SELECT original_url, clicks, created_at OPERATOR(pg_catalog.>) 'epoch' AS real_now
FROM public.urls WHERE original_url LIKE 'https://guarded.example/%' ORDER BY original_url;

-- An error inside a call, caught by a PL/pgSQL EXCEPTION block: the
-- block's subtransaction abort restores the setting; the path inside the
-- handler and after it is the caller's, and the next call works.
SET search_path = attacker, pg_temp, public, pg_catalog;
BEGIN;
DO $$
BEGIN
    BEGIN
        PERFORM public.shorten_url('not a url');
    EXCEPTION WHEN OTHERS THEN
        RAISE NOTICE 'caught %, path inside the handler: %', SQLSTATE, pg_temp.caller_path();
    END;
    RAISE NOTICE 'next call stored: %', public.shorten_url('https://guarded.example/after-error') IS NOT NULL;
    RAISE NOTICE 'path after: %', pg_temp.caller_path();
END
$$;
COMMIT;
-- An error at the top level: the transaction abort restores it.
SELECT public.shorten_url('https://guarded.example/a', alias => 'guarded-a');
SELECT pg_temp.caller_path();
SELECT public.shorten_url('https://guarded.example/after-top-error') IS NOT NULL AS stored;

RESET search_path;
\c
DROP TRIGGER note_path ON urls;

-- A trigger function that sets its own search_path (the usual way to write
-- one safely) gets that path during the module's calls, as it does for a
-- plain INSERT: the module's setting is a GUC setting, which the
-- function's SET clause overrides in turn.  (An override search path, the
-- guard before, hid it: "relation "log" does not exist".)
CREATE SCHEMA audit;
CREATE TABLE audit.log (code text, path text);
CREATE FUNCTION audit.note() RETURNS trigger LANGUAGE plpgsql SET search_path = audit AS
$$BEGIN
    INSERT INTO log VALUES (NEW.short_code, pg_catalog.array_to_string(pg_catalog.current_schemas(false), ', '));
    RETURN NEW;
END$$;
CREATE TRIGGER note AFTER INSERT OR UPDATE ON public.urls FOR EACH ROW EXECUTE FUNCTION audit.note();
SET search_path = attacker, pg_temp, public, pg_catalog;
SELECT public.shorten_url('https://guarded.example/audited', alias => 'guarded-audit') AS audited;
SELECT count(*) AS batch FROM public.shorten_urls(ARRAY['https://guarded.example/audited/1']);
SELECT public.resolve_url('guarded-audit') AS resolved;
SELECT public.disable_url('guarded-audit', 1) AS disabled_at_version;
SELECT public.enable_url('guarded-audit') AS enabled;
SELECT public.update_url('guarded-audit', 'https://guarded.example/audited/2', 3) AS updated;
SELECT public.delete_url('guarded-audit') AS retired;
SELECT public.shorten_url('https://guarded.example/audited/once', alias => 'guarded-audit-once',
                          max_clicks => 1) AS once;
SELECT public.resolve_url('guarded-audit-once') AS used_up;
SELECT public.purge_urls() AS purged;
RESET search_path;
SELECT path, count(*) AS rows_logged FROM audit.log GROUP BY path;
DROP TRIGGER note ON urls;
DROP SCHEMA audit CASCADE;

-- The same for a CHECK constraint that calls a function with its own
-- search_path.  (The module keeps its cheaper override search path only
-- while its tables run no such code: no trigger, rule or row security,
-- no user function in a CHECK, a default or an index.)
-- (VACUUM clears relhastriggers, which a dropped trigger leaves set.)
VACUUM public.urls;
SELECT relhastriggers FROM pg_class WHERE oid = 'public.urls'::regclass;

-- Every call again with no user code on the tables (no trigger now), so
-- under the module's cheaper override search path rather than the GUC
-- setting the calls above ran under (their trigger was user code), from a
-- new session whose statements are all prepared under the hostile path:
-- nothing planted runs, nothing lands in the planted tables.
\c
CREATE TEMP TABLE urls (LIKE public.urls);
SET search_path = attacker, pg_temp, public, pg_catalog;
SELECT public.shorten_url('https://override.example/a', alias => 'override-a') AS alias_code;
SELECT public.shorten_url('https://override.example/drawn') IS NOT NULL AS drawn;
SELECT public.shorten_url('https://override.example/reused', reuse => true) IS NOT NULL AS reused;
SELECT public.shorten_url('https://override.example/keyed', idempotency_key => 'override-key') IS NOT NULL AS keyed;
SELECT public.shorten_url('https://override.example/limited', alias => 'override-b',
                          expires_at => '2999-01-01', max_clicks => 5) AS limited_code;
SELECT public.shorten_url_locked('https://override.example/locked', alias => 'override-c') AS locked_code;
SELECT count(short_code) AS batch FROM public.shorten_urls(ARRAY['https://override.example/batch/1',
                                                                 'https://override.example/batch/2']);
SELECT count(short_code) AS keyed_batch FROM public.shorten_urls(ARRAY['https://override.example/batch/3'],
                                                                 ARRAY['override-batch-key']);
SELECT public.resolve_url('override-a') AS resolved;
SELECT public.update_url('override-a', 'https://override.example/a2', 1) AS new_version;
SELECT public.disable_url('override-b') AS disabled, public.enable_url('override-b') AS enabled;
SELECT public.disable_url('override-b', 3) AS disabled_at, public.enable_url('override-b', 4) AS enabled_at;
SELECT short_code, original_url, clicks, version FROM public.url_stats('override-a');
SELECT public.delete_url('override-c') AS retired, public.release_code('override-c') AS released;
SELECT public.shorten_url('https://override.example/d', alias => 'override-d') AS versioned_code;
SELECT public.delete_url('override-d', 1) AS retired_at_version;
SELECT public.shorten_url('https://override.example/once', alias => 'override-e', max_clicks => 1) AS once_code;
SELECT public.resolve_url('override-e') AS used_up;
SELECT public.purge_urls() AS purged;
SELECT count(*) > 0 AS capacity_rows FROM public.url_shortener_capacity();
RESET search_path;
SELECT (SELECT count(*) FROM attacker.urls) AS planted_urls,
       (SELECT count(*) FROM attacker.reuse_key) AS planted_reuse_key,
       (SELECT count(*) FROM pg_temp.urls) AS temp_urls;
DROP TABLE pg_temp.urls;
SELECT original_url, clicks, version, enabled, created_at OPERATOR(pg_catalog.>) 'epoch' AS real_now
FROM public.urls WHERE original_url LIKE 'https://override.example/%' ORDER BY original_url;
CREATE SCHEMA rules;
CREATE TABLE rules.banned (host text);
INSERT INTO rules.banned VALUES ('banned.example');
CREATE FUNCTION rules.allowed(url text) RETURNS boolean LANGUAGE plpgsql SET search_path = rules AS
$$BEGIN RETURN url IS NULL OR NOT EXISTS (SELECT FROM banned WHERE url LIKE 'https://' || host || '/%'); END$$;
ALTER TABLE public.urls ADD CONSTRAINT urls_allowed CHECK (rules.allowed(original_url));
SET search_path = attacker, pg_temp, public, pg_catalog;
SELECT public.shorten_url('https://fine.example/x', alias => 'guarded-check') AS allowed;
DO $$
BEGIN
    PERFORM public.shorten_url('https://banned.example/x');
EXCEPTION WHEN check_violation THEN
    RAISE NOTICE 'refused: %', SQLSTATE;
END $$;
RESET search_path;
ALTER TABLE public.urls DROP CONSTRAINT urls_allowed;

-- The same function reached through a cast to a domain whose CHECK calls
-- it (a domain's constraints run at run time, not as a call the stored
-- expression names), and a btree operator class whose support function
-- has its own search_path: both are user code on the table, so the calls
-- run under the GUC search path (they failed with 42P01 and 42883 when
-- the module saw neither).
CREATE DOMAIN rules.safe_url AS text CHECK (rules.allowed(VALUE));
ALTER TABLE public.urls ADD CONSTRAINT urls_safe
    CHECK (original_url IS NULL OR original_url::rules.safe_url IS NOT NULL);
SELECT length(public.shorten_url('https://fine.example/domain')) AS through_domain;
SELECT count(*) AS batch_through_domain FROM public.shorten_urls(ARRAY['https://fine.example/domain2']);
DO $$
BEGIN
    PERFORM public.shorten_url('https://banned.example/domain');
EXCEPTION WHEN check_violation THEN
    RAISE NOTICE 'refused: %', SQLSTATE;
END $$;
ALTER TABLE public.urls DROP CONSTRAINT urls_safe;
CREATE FUNCTION rules.folded(text) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT pg_catalog.lower($1) $$;
CREATE FUNCTION rules.folded_cmp(text, text) RETURNS int LANGUAGE sql IMMUTABLE
    SET search_path = rules, pg_temp AS $$ SELECT pg_catalog.bttextcmp(folded($1), folded($2)) $$;
CREATE OPERATOR CLASS rules.folded_ops FOR TYPE text USING btree AS
    OPERATOR 1 pg_catalog.<, OPERATOR 2 pg_catalog.<=, OPERATOR 3 pg_catalog.=,
    OPERATOR 4 pg_catalog.>=, OPERATOR 5 pg_catalog.>, FUNCTION 1 rules.folded_cmp(text, text);
CREATE INDEX urls_folded ON public.urls (original_url rules.folded_ops);
SELECT length(public.shorten_url('https://fine.example/opclass')) AS through_opclass;
SELECT count(*) AS batch_through_opclass FROM public.shorten_urls(ARRAY['https://fine.example/opclass2']);
SELECT public.update_url('guarded-check', 'https://fine.example/opclass3', 1) AS updated_through_opclass;
DROP INDEX public.urls_folded;
DROP SCHEMA rules CASCADE;
DROP SCHEMA observer CASCADE;
DROP SCHEMA attacker CASCADE;
TRUNCATE urls;
