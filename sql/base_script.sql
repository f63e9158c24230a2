--
-- base_script: CREATE EXTENSION runs the base script of the default
-- version; an installation updated to it, from 1.2's base script or from
-- 1.0, must end with the same catalogue: the same members, and each with
-- the same definition, owner, privileges, initial privileges (what pg_dump
-- compares grants with), settings and comments.  Columns are compared by
-- position among the live ones, so a column an update adds must come last
-- in the base script too.
--

-- Everything the extension's objects are, one row per fact.
CREATE TEMP VIEW extension_catalogue (kind, object, fact) AS
WITH ext AS (SELECT e.oid, e.extconfig, e.extcondition FROM pg_extension e
             WHERE e.extname = 'url_shortener'),
     member AS (SELECT d.classid, d.objid FROM pg_depend d, ext
                WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext.oid
                  AND d.deptype = 'e'),
     tab AS (SELECT c.* FROM pg_class c JOIN member m
             ON m.classid = 'pg_class'::regclass AND m.objid = c.oid)
SELECT 'member', pg_describe_object(m.classid, m.objid, 0), ''
FROM member m
UNION ALL
SELECT 'function', p.oid::regprocedure::text,
       format(E'%s\nowner %s, acl %s, comment %s', pg_get_functiondef(p.oid), p.proowner::regrole,
              p.proacl, obj_description(p.oid, 'pg_proc'))
FROM pg_proc p JOIN member m ON m.classid = 'pg_proc'::regclass AND m.objid = p.oid
UNION ALL
SELECT 'table', t.oid::regclass::text,
       format('kind %s, persistence %s, owner %s, acl %s, options %s, comment %s', t.relkind,
              t.relpersistence, t.relowner::regrole, t.relacl, t.reloptions,
              obj_description(t.oid, 'pg_class'))
FROM tab t
UNION ALL
SELECT 'column', format('%s column %s', a.attrelid::regclass,
                        row_number() OVER (PARTITION BY a.attrelid ORDER BY a.attnum)),
       format('%I %s collate %s not null %s default %s identity "%s" generated "%s" comment %s',
              a.attname, format_type(a.atttypid, a.atttypmod), a.attcollation::regcollation,
              a.attnotnull, pg_get_expr(ad.adbin, ad.adrelid), a.attidentity, a.attgenerated,
              col_description(a.attrelid, a.attnum))
FROM pg_attribute a JOIN tab t ON t.oid = a.attrelid
LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
WHERE a.attnum > 0 AND NOT a.attisdropped
UNION ALL
SELECT 'constraint', format('%s %s', c.conrelid::regclass, c.conname),
       format('%s deferrable %s', pg_get_constraintdef(c.oid), c.condeferrable)
FROM pg_constraint c JOIN tab t ON t.oid = c.conrelid
UNION ALL
SELECT 'index', i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
FROM pg_index i JOIN tab t ON t.oid = i.indrelid
UNION ALL
SELECT 'trigger', format('%s %s', g.tgrelid::regclass, g.tgname), pg_get_triggerdef(g.oid)
FROM pg_trigger g JOIN tab t ON t.oid = g.tgrelid
WHERE NOT g.tgisinternal
UNION ALL
SELECT 'initial privileges', pg_describe_object(i.classoid, i.objoid, i.objsubid),
       format('%s %s', i.privtype, i.initprivs)
FROM pg_init_privs i JOIN member m ON m.classid = i.classoid AND m.objid = i.objoid
UNION ALL
SELECT 'dumped table', c.oid::regclass::text, format('where %L', x.condition)
FROM ext, unnest(ext.extconfig, ext.extcondition) x(relid, condition)
JOIN pg_class c ON c.oid = x.relid;

-- The default version, from its base script (made here, whatever the
-- test before left).
DROP EXTENSION IF EXISTS url_shortener;
CREATE EXTENSION url_shortener;
SELECT extversion AS installed FROM pg_extension WHERE extname = 'url_shortener';
CREATE TEMP TABLE fresh AS SELECT * FROM extension_catalogue;
-- What is compared (a view that saw nothing would compare nothing).
SELECT kind, count(*) FROM fresh GROUP BY kind ORDER BY kind;
-- What an updated installation has that the fresh one has not, and back.
CREATE TEMP VIEW difference AS
(SELECT 'only fresh' AS side, * FROM fresh EXCEPT SELECT 'only fresh', * FROM extension_catalogue)
UNION ALL
(SELECT 'only updated', * FROM extension_catalogue EXCEPT SELECT 'only updated', * FROM fresh);

-- From 1.2's base script, through every update.
DROP EXTENSION url_shortener;
CREATE EXTENSION url_shortener VERSION '1.2';
ALTER EXTENSION url_shortener UPDATE;
SELECT extversion AS updated_from_1_2 FROM pg_extension WHERE extname = 'url_shortener';
SELECT * FROM difference ORDER BY kind, object, side;

-- From 1.0, through every update.
DROP EXTENSION url_shortener;
CREATE EXTENSION url_shortener VERSION '1.0';
ALTER EXTENSION url_shortener UPDATE;
SELECT extversion AS updated_from_1_0 FROM pg_extension WHERE extname = 'url_shortener';
SELECT * FROM difference ORDER BY kind, object, side;

DROP VIEW difference;
DROP TABLE fresh;
DROP VIEW extension_catalogue;
DROP EXTENSION url_shortener;

-- A "%" in the schema's name is only a character to the base script.  The
-- released 1.2 -> 1.3 update writes the schema into a format() template,
-- so an installation at an older version in such a schema fails (22023
-- for "%s"; "%%" names another schema, which the update looks in before
-- it fails) and leaves nothing behind.
CREATE SCHEMA "we%sird";
CREATE EXTENSION url_shortener SCHEMA "we%sird" VERSION '1.5';
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS left_behind FROM pg_proc WHERE pronamespace = '"we%sird"'::regnamespace;
CREATE EXTENSION url_shortener SCHEMA "we%sird";
SELECT extversion FROM pg_extension WHERE extname = 'url_shortener';
SELECT "we%sird".resolve_url("we%sird".shorten_url('https://example.com/percent', alias => 'pct')) AS resolved;
DROP EXTENSION url_shortener;
DROP SCHEMA "we%sird";

CREATE EXTENSION url_shortener;
