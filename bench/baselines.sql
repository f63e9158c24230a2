/*
 * baselines.sql
 *    The peers: the PL/pgSQL functions a user would write instead of the
 *    extension, in schema "peer" so they read peer.shorten_url(...).  Same
 *    alphabet and length as the extension's defaults, bytes from
 *    pgcrypto's gen_random_bytes (pg_strong_random, like the extension),
 *    and an EXCEPTION block per attempt to retry a taken code.  No URL
 *    validation: the extension's RFC 3986 check is extra work it pays.
 */
CREATE EXTENSION IF NOT EXISTS pgcrypto;
CREATE SCHEMA peer;

CREATE FUNCTION peer.shorten_url(url text) RETURNS text
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    alphabet constant text := 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
    bytes bytea;
    code text;
BEGIN
    FOR attempt IN 1..5 LOOP
        bytes := gen_random_bytes(6);
        code := '';
        FOR i IN 0..5 LOOP
            code := code || substr(alphabet, get_byte(bytes, i) % 62 + 1, 1);
        END LOOP;
        BEGIN
            INSERT INTO public.urls (short_code, original_url) VALUES (code, url);
            RETURN code;
        EXCEPTION WHEN unique_violation THEN
            NULL;   -- taken: draw again
        END;
    END LOOP;
    RAISE EXCEPTION 'could not find a free short code after 5 attempts';
END
$$;

/*
 * The advisory-lock twin.  The body is repeated rather than calling
 * peer.shorten_url, so the twin does not pay a second function call that
 * shorten_url_locked does not pay either.  Its own lock key (object 1000,
 * none of the extension's), so it never waits on the extension's locks.
 */
CREATE FUNCTION peer.shorten_url_locked(url text) RETURNS text
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    alphabet constant text := 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
    bytes bytea;
    code text;
BEGIN
    PERFORM pg_advisory_xact_lock(1431456851, 1000);
    FOR attempt IN 1..5 LOOP
        bytes := gen_random_bytes(6);
        code := '';
        FOR i IN 0..5 LOOP
            code := code || substr(alphabet, get_byte(bytes, i) % 62 + 1, 1);
        END LOOP;
        BEGIN
            INSERT INTO public.urls (short_code, original_url) VALUES (code, url);
            RETURN code;
        EXCEPTION WHEN unique_violation THEN
            NULL;   -- taken: draw again
        END;
    END LOOP;
    RAISE EXCEPTION 'could not find a free short code after 5 attempts';
END
$$;
