--
-- lifecycle_at_version (1.5): delete_url, disable_url and enable_url at an
-- expected version.  One UPDATE each, as update_url: true if it applied,
-- false if the link is at that version and already as asked, NULL for an
-- unknown or retired code, US003 if the link is at another version.  A
-- click leaves the version alone.  The race with a click in flight:
-- test/isolation/specs/change_at_version_vs_click.spec.
--
TRUNCATE urls;
\set VERBOSITY default

SELECT shorten_url('https://example.com/at/1', alias => 'at-one') AS alias;
SELECT version, enabled FROM url_stats('at-one');

-- Disable at version 1: applies, and the version moves on.
SELECT disable_url('at-one', 1) AS disabled;
SELECT version, enabled FROM url_stats('at-one');
SELECT resolve_url('at-one') AS while_disabled;
-- At the new version, already disabled: false, nothing changed.
SELECT disable_url('at-one', 2) AS disabled_again;
SELECT version FROM url_stats('at-one');
-- At a version it no longer has: US003, with both versions; nothing changed.
SELECT enable_url('at-one', 1);
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT version, enabled FROM url_stats('at-one');
SELECT enable_url('at-one', 2) AS enabled, enable_url('at-one', 3) AS enabled_again;
SELECT resolve_url('at-one') AS enabled_again;

-- A click is no edit: the version it was read at still holds.
SELECT version AS before_clicks FROM url_stats('at-one');
SELECT count(resolve_url('at-one')) AS clicked FROM generate_series(1, 3);
SELECT disable_url('at-one', 3) AS disabled_after_clicks;
SELECT clicks, version, enabled FROM url_stats('at-one');

-- Delete at a stale version: US003, the link stays.
SELECT delete_url('at-one', 3);
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT count(*) AS still_live FROM url_stats('at-one');
-- At its version: retired, a tombstone that holds the code.
SELECT delete_url('at-one', 4) AS retired;
SELECT count(*) AS live FROM url_stats('at-one');
SELECT original_url, retired_at IS NOT NULL AS tombstone FROM urls WHERE short_code = 'at-one';

-- A retired or unknown code is NULL for each, at any version.
SELECT delete_url('at-one', 5) IS NULL AS retired_is_null,
       disable_url('at-one', 5) IS NULL AS retired_disable_is_null,
       enable_url('nosuch', 1) IS NULL AS unknown_is_null;
SELECT disable_url(NULL, 1) IS NULL AS null_code;
-- No version: 22004, not a silent change.
SELECT disable_url('at-one', NULL);
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT shorten_url('https://example.com/at/2', alias => 'at-two') AS alias;
SELECT delete_url('at-two', NULL);
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT count(*) AS live FROM url_stats('at-two');

-- A role needs EXECUTE on the two-argument form itself: the one-argument
-- form's grant is not enough.
CREATE ROLE url_shortener_at_version;
GRANT EXECUTE ON FUNCTION disable_url(text) TO url_shortener_at_version;
SET ROLE url_shortener_at_version;
SELECT disable_url('at-two') AS disabled_without_version;
SELECT disable_url('at-two', 2);
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
RESET ROLE;
GRANT EXECUTE ON FUNCTION enable_url(text, bigint) TO url_shortener_at_version;
SET ROLE url_shortener_at_version;
SELECT enable_url('at-two', 2) AS enabled_at_version;
RESET ROLE;
REVOKE ALL ON FUNCTION disable_url(text), enable_url(text, bigint) FROM url_shortener_at_version;
DROP ROLE url_shortener_at_version;

-- A BEFORE UPDATE trigger that returns NULL keeps the row as it was:
-- 09000, not a false "already as asked".  A change that is not needed is
-- still false.
CREATE FUNCTION keep_row() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NULL; END$$;
CREATE TRIGGER keep_row BEFORE UPDATE ON urls FOR EACH ROW EXECUTE FUNCTION keep_row();
SELECT shorten_url('https://example.com/at/3', alias => 'at-three') AS alias;
SELECT disable_url('at-three', 1);
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT delete_url('at-three', 1);
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT enable_url('at-three', 1) AS enabled_already;
-- The same for update_url and the one-argument forms (until 2026-12-07
-- update_url said US003 with the link "at version 1" it expected, and
-- disable_url and delete_url returned false as for no link to change,
-- found in a black-box review); enable_url of an enabled link is still
-- false, and so is a change of an unknown code.
SELECT update_url('at-three', 'https://example.com/at/3b', 1);
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT disable_url('at-three');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT delete_url('at-three');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT enable_url('at-three') AS enabled_already, disable_url('no-such-link') AS unknown_disabled,
       delete_url('no-such-link') AS unknown_deleted;
DROP TRIGGER keep_row ON urls;
DROP FUNCTION keep_row();
SELECT version, enabled FROM url_stats('at-three');

-- 1.4 -> 1.5: the functions come with the update, for links made before
-- it, granted to nobody but the owner.  Run by another superuser, since
-- dropped, the update leaves nothing that names it: each new function
-- has its one-argument form's owner (which an administrator changed for
-- enable_url) and ACL, and a fresh installation's initial privilege.
DROP EXTENSION url_shortener;
CREATE EXTENSION url_shortener VERSION '1.4';
CREATE ROLE url_shortener_at_owner;
CREATE ROLE url_shortener_at_admin SUPERUSER;
ALTER FUNCTION enable_url(text) OWNER TO url_shortener_at_owner;
SELECT shorten_url('https://example.com/at/14', alias => 'from-1-4') AS alias;
SELECT disable_url('from-1-4', 1);
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SET ROLE url_shortener_at_admin;
ALTER EXTENSION url_shortener UPDATE TO '1.5';
RESET ROLE;
DROP ROLE url_shortener_at_admin;
SELECT disable_url('from-1-4', 1) AS disabled_after_update;
SELECT version, enabled FROM url_stats('from-1-4');
SELECT p.oid::regprocedure AS function, p.proowner::regrole AS owner, p.proacl, i.initprivs,
       p.prosecdef AS security_definer, p.proisstrict AS strict,
       obj_description(p.oid, 'pg_proc') IS NOT NULL AS commented
FROM pg_proc p
LEFT JOIN pg_init_privs i ON i.objoid = p.oid AND i.classoid = 'pg_proc'::regclass AND i.objsubid = 0
WHERE p.proname IN ('delete_url', 'disable_url', 'enable_url')
  AND p.pronamespace = 'public'::regnamespace
ORDER BY p.oid::regprocedure::text COLLATE "C";
DROP EXTENSION url_shortener;
DROP ROLE url_shortener_at_owner;
CREATE EXTENSION url_shortener;
