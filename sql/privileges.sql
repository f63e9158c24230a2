--
-- privileges: the role model.  The extension grants nothing to PUBLIC; an
-- application role needs USAGE on the extension's schema and EXECUTE on the
-- functions it calls, and with those it reaches the links only through the
-- functions.  The functions are SECURITY DEFINER and run with pg_catalog as
-- their whole search path (extension/search_path_guard.h), so objects an
-- unprivileged caller plants in its own search_path (tables, functions,
-- operators) are never used.
--
-- The extension is installed afresh in its own schema here, as an
-- administrator would, and put back in public at the end.
--
DROP EXTENSION url_shortener;
CREATE SCHEMA links;
CREATE EXTENSION url_shortener SCHEMA links;

-- PUBLIC has no access of any kind.
SELECT has_schema_privilege('public', 'links', 'USAGE') AS schema_usage,
       has_table_privilege('public', 'links.urls', 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER') AS table_any,
       has_function_privilege('public', 'links.shorten_url(text, text, boolean, timestamptz, bigint, text)', 'EXECUTE') AS shorten,
       has_function_privilege('public', 'links.shorten_url_locked(text, text, boolean, timestamptz, bigint, text)', 'EXECUTE') AS shorten_locked,
       has_function_privilege('public', 'links.shorten_urls(text[], text[])', 'EXECUTE') AS shorten_many,
       has_function_privilege('public', 'links.resolve_url(text)', 'EXECUTE') AS resolve;
SELECT c.relname, c.relacl FROM pg_class c
WHERE c.relnamespace = 'links'::regnamespace ORDER BY c.relname;
SELECT p.proname, p.proacl FROM pg_proc p
WHERE p.pronamespace = 'links'::regnamespace ORDER BY p.proname, p.pronargs;

-- The application role: schema usage, and EXECUTE on the two functions.
CREATE ROLE url_shortener_app;
CREATE ROLE url_shortener_nobody;
GRANT USAGE ON SCHEMA links TO url_shortener_app;
GRANT EXECUTE ON FUNCTION links.shorten_url(text, text, boolean, timestamptz, bigint, text), links.resolve_url(text) TO url_shortener_app;

\set VERBOSITY terse
SET ROLE url_shortener_app;
SELECT links.shorten_url('https://example.com/app') AS app_code \gset
SELECT links.resolve_url(:'app_code') AS resolved;
SELECT links.resolve_url('no-such-code') AS unknown;
-- The rows themselves are out of reach, whatever the statement.
SELECT * FROM links.urls;
INSERT INTO links.urls (short_code, original_url) VALUES ('mine', 'javascript:alert(1)');
UPDATE links.urls SET original_url = 'https://evil.example/';
UPDATE links.urls SET clicks = 0;
DELETE FROM links.urls;
TRUNCATE links.urls;
COPY links.urls TO STDOUT;
-- So are the functions it was not granted, and the schema's namespace.
SELECT links.shorten_url_locked('https://example.com/locked');
SELECT * FROM links.shorten_urls(ARRAY['https://example.com/many']);
CREATE TABLE links.planted (x int);
CREATE FUNCTION links.resolve_url(code text, extra int) RETURNS text LANGUAGE sql AS 'SELECT 1::text';
RESET ROLE;

-- shorten_url_locked once granted.
GRANT EXECUTE ON FUNCTION links.shorten_url_locked(text, text, boolean, timestamptz, bigint, text) TO url_shortener_app;
SET ROLE url_shortener_app;
SELECT links.shorten_url_locked('https://example.com/locked') IS NOT NULL AS locked_granted;
RESET ROLE;
REVOKE EXECUTE ON FUNCTION links.shorten_url_locked(text, text, boolean, timestamptz, bigint, text) FROM url_shortener_app;

-- A role without grants reaches nothing: not the schema, and with only the
-- schema, not one function.
SET ROLE url_shortener_nobody;
SELECT links.shorten_url('https://example.com/nobody');
SELECT links.resolve_url(:'app_code');
SELECT count(*) FROM links.urls;
RESET ROLE;
GRANT USAGE ON SCHEMA links TO url_shortener_nobody;
SET ROLE url_shortener_nobody;
SELECT links.shorten_url('https://example.com/nobody');
SELECT links.shorten_url_locked('https://example.com/nobody');
SELECT * FROM links.shorten_urls(ARRAY['https://example.com/nobody']);
SELECT links.resolve_url(:'app_code');
SELECT count(*) FROM links.urls;
RESET ROLE;
\set VERBOSITY default

-- Nothing but the two granted calls' links was stored, and one click counted.
SELECT original_url, clicks FROM links.urls ORDER BY original_url;

--
-- A hostile search_path.  The application role owns a schema it puts first
-- in its search_path and plants there everything the extension's statements
-- could resolve by name: a table "urls", functions now(), unnest() and
-- pg_advisory_xact_lock(), an always-true "=" on text, a "+" on bigint that
-- adds a thousand (the click update is "clicks + 1", bigint + integer), and
-- a temporary table "urls" (which the functions' search path leaves out).  A new
-- session makes the extension prepare its statements under that path.
--
CREATE SCHEMA attacker AUTHORIZATION url_shortener_app;
GRANT EXECUTE ON FUNCTION links.shorten_url_locked(text, text, boolean, timestamptz, bigint, text), links.shorten_urls(text[], text[]) TO url_shortener_app;
\c
SET ROLE url_shortener_app;
CREATE TABLE attacker.urls (short_code text, original_url text, clicks bigint DEFAULT 0, created_at timestamptz DEFAULT now());
CREATE TEMP TABLE urls (short_code text, original_url text, clicks bigint DEFAULT 0, created_at timestamptz DEFAULT now());
CREATE FUNCTION attacker.now() RETURNS timestamptz LANGUAGE sql AS $$SELECT 'epoch'::timestamptz$$;
CREATE FUNCTION attacker.unnest(anyarray) RETURNS SETOF anyelement LANGUAGE sql AS 'SELECT NULL::text';
-- (a planted lock function that ran would stop the call: its error would show)
CREATE FUNCTION attacker.pg_advisory_xact_lock(integer, integer) RETURNS void LANGUAGE plpgsql
    AS $$BEGIN RAISE EXCEPTION 'planted pg_advisory_xact_lock(integer, integer) ran'; END$$;
CREATE FUNCTION attacker.pg_advisory_xact_lock(bigint) RETURNS void LANGUAGE plpgsql
    AS $$BEGIN RAISE EXCEPTION 'planted pg_advisory_xact_lock(bigint) ran'; END$$;
CREATE FUNCTION attacker.text_always_equal(text, text) RETURNS boolean LANGUAGE sql AS 'SELECT true';
CREATE OPERATOR attacker.= (LEFTARG = text, RIGHTARG = text, FUNCTION = attacker.text_always_equal);
CREATE FUNCTION attacker.plus_thousand(bigint, integer) RETURNS bigint LANGUAGE sql AS 'SELECT $1 OPERATOR(pg_catalog.+) 1000';
CREATE OPERATOR attacker.+ (LEFTARG = bigint, RIGHTARG = integer, FUNCTION = attacker.plus_thousand);
CREATE FUNCTION attacker.plus_thousand(bigint, bigint) RETURNS bigint LANGUAGE sql AS 'SELECT $1 OPERATOR(pg_catalog.+) 1000';
CREATE OPERATOR attacker.+ (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = attacker.plus_thousand);
SET search_path = attacker, links, pg_temp, pg_catalog;
-- The planted operators are live in this session's own queries:
SELECT 'a' = 'b' AS planted_equal, 1::bigint + 1 AS planted_plus, now() = 'epoch' AS planted_now;

SELECT links.shorten_url('https://hostile-path.example/') AS path_code \gset
SELECT links.resolve_url(:'path_code') AS first, links.resolve_url(:'path_code') AS second,
       links.resolve_url(:'path_code') AS third;
SELECT links.resolve_url('no-such-code') AS unknown;
SELECT links.shorten_url_locked('https://hostile-path.example/locked') IS NOT NULL AS locked_stored;
SELECT count(short_code) AS batch_stored
FROM links.shorten_urls(ARRAY['https://hostile-path.example/batch/1', 'https://hostile-path.example/batch/2']);
SELECT count(*) AS rows_in_planted_table FROM attacker.urls;
SELECT count(*) AS rows_in_temp_table FROM pg_temp.urls;
DROP TABLE pg_temp.urls;
RESET search_path;
RESET ROLE;

-- The real table got the links, with real timestamps and exact click counts.
SELECT original_url, clicks, created_at > 'epoch' AS real_now
FROM links.urls WHERE original_url LIKE 'https://hostile-path.example/%' ORDER BY original_url;
SELECT count(*) AS links FROM links.urls;

-- The code space is the administrator's: a role with EXECUTE cannot change
-- what the SECURITY DEFINER functions draw or how often they try, neither
-- by SET nor by ALTER ROLE ... SET (all three settings are SUSET).
SET ROLE url_shortener_app;
SET url_shortener.code_length = 1;
SET url_shortener.alphabet = 'adminx';
SET url_shortener.max_attempts = 1000;
ALTER ROLE url_shortener_app SET url_shortener.max_attempts = 1000;
SHOW url_shortener.max_attempts;
RESET ROLE;

-- No recycling: a code once handed out never points elsewhere.  The
-- application retires its link; claiming the code as an alias is then
-- US002, for it as for anyone, and it cannot free the code: release_code
-- is granted to nobody (an administrator's decision).
GRANT EXECUTE ON FUNCTION links.delete_url(text) TO url_shortener_app;
\set VERBOSITY default
SET ROLE url_shortener_app;
SELECT links.shorten_url('https://example.com/campaign', alias => 'campaign') AS campaign;
SELECT links.delete_url('campaign') AS retired;
SELECT links.shorten_url('https://phish.example/', alias => 'campaign');
SELECT links.release_code('campaign');
SELECT links.resolve_url('campaign') IS NULL AS still_nothing;
RESET ROLE;
SELECT has_function_privilege('public', 'links.release_code(text)', 'EXECUTE') AS public_release;
SELECT links.release_code('campaign') AS released_by_administrator;
SET ROLE url_shortener_app;
SELECT links.shorten_url('https://example.com/campaign-2', alias => 'campaign') AS reclaimed_after_release;
RESET ROLE;
REVOKE EXECUTE ON FUNCTION links.delete_url(text) FROM url_shortener_app;
-- (That an ordinary role holding pg_advisory_lock(1431456851, 2) no longer
-- stalls purge_urls needs two sessions: test/isolation/specs/purge_not_stalled.spec.)

-- A trigger on urls runs as the extension's owner, for every caller: it
-- must be written like a SECURITY DEFINER function.  Declared with
-- SET search_path = audit, it writes the caller's temporary table of the
-- same name (PostgreSQL looks in pg_temp first when the path does not name
-- it), and that table's trigger would run as the owner; with pg_temp named
-- last, it writes audit.log.  The caller only has EXECUTE and TEMPORARY.
CREATE SCHEMA audit;
CREATE TABLE audit.log (code text, writer name);
CREATE FUNCTION audit.unsafe_note() RETURNS trigger LANGUAGE plpgsql SET search_path = audit AS
$$BEGIN INSERT INTO log VALUES (NEW.short_code, current_user); RETURN NULL; END$$;
CREATE FUNCTION audit.safe_note() RETURNS trigger LANGUAGE plpgsql SET search_path = audit, pg_temp AS
$$BEGIN INSERT INTO log VALUES (NEW.short_code, current_user); RETURN NULL; END$$;
CREATE TRIGGER note AFTER INSERT ON links.urls FOR EACH ROW EXECUTE FUNCTION audit.unsafe_note();
SET ROLE url_shortener_app;
CREATE TEMP TABLE log (code text, writer name);
SELECT links.shorten_url('https://example.com/noted') AS noted \gset
SELECT code = :'noted' AS planted_table_written, writer = session_user AS as_owner FROM pg_temp.log;
RESET ROLE;
SELECT count(*) AS audit_rows FROM audit.log;
DROP TRIGGER note ON links.urls;
CREATE TRIGGER note AFTER INSERT ON links.urls FOR EACH ROW EXECUTE FUNCTION audit.safe_note();
SET ROLE url_shortener_app;
TRUNCATE pg_temp.log;
SELECT links.shorten_url('https://example.com/noted-safely') AS noted \gset
SELECT count(*) AS planted_rows FROM pg_temp.log;
DISCARD TEMP;
RESET ROLE;
SELECT code = :'noted' AS audit_written, writer = session_user AS as_owner FROM audit.log;
DROP TRIGGER note ON links.urls;
DROP SCHEMA audit CASCADE;

-- Clean up: the roles, their schema, and the extension back in public.
SET client_min_messages = warning;
DROP SCHEMA attacker CASCADE;
DROP EXTENSION url_shortener;
DROP SCHEMA links;
DROP ROLE url_shortener_app;
DROP ROLE url_shortener_nobody;
CREATE EXTENSION url_shortener;
RESET client_min_messages;
