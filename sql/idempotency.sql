--
-- idempotency (1.3): shorten_url(..., idempotency_key => k) and
-- shorten_urls(urls, idempotency_keys) may be repeated without making a
-- second link.  Concurrent repeats: test/isolation/specs/idempotency_race.spec.
--
TRUNCATE urls;
\set VERBOSITY default
-- The SQLSTATE and message of a statement's error, and the array element
-- it names; its detail with the code (random per installation) masked.
CREATE FUNCTION pg_temp.outcome(statement text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    detail text;
    context text;
BEGIN
    EXECUTE statement;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL, context = PG_EXCEPTION_CONTEXT;
    RETURN SQLSTATE || ': ' || SQLERRM
        || CASE WHEN detail <> '' THEN ' | ' || regexp_replace(detail, '"[^"]*"', '"<code>"') ELSE '' END
        || CASE WHEN context LIKE 'URL %' OR context LIKE 'idempotency key of URL %' THEN ' | ' || split_part(context, E'\n', 1) ELSE '' END;
END $$;

-- The same key and request: the same code, one row, however often.
SELECT shorten_url('https://example.com/order/1', idempotency_key => 'order-1') AS first_code \gset
SELECT shorten_url('https://example.com/order/1', idempotency_key => 'order-1') = :'first_code' AS same_again,
       shorten_url('https://example.com/order/1', idempotency_key => 'order-1') = :'first_code' AS same_third,
       shorten_url_locked('https://example.com/order/1', idempotency_key => 'order-1') = :'first_code' AS same_locked;
SELECT count(*) AS rows_for_order_1 FROM urls WHERE original_url = 'https://example.com/order/1';
SELECT resolve_url(:'first_code') AS resolves;
-- The code has the default shape, and no key is stored, only digests.
SELECT length(short_code) AS code_length, length(idempotency_digest) AS digest_bytes,
       position('order-1'::bytea IN idempotency_digest) AS key_in_digest
FROM urls WHERE short_code = :'first_code';

-- Another key makes another link, even for the same URL; no key, a fresh one each time.
SELECT shorten_url('https://example.com/order/1', idempotency_key => 'order-1b') <> :'first_code' AS other_key_other_code;
SELECT shorten_url('https://example.com/order/1') <> shorten_url('https://example.com/order/1') AS no_key_two_codes;
SELECT count(*) AS rows_now FROM urls WHERE original_url = 'https://example.com/order/1';

-- The digests are HMAC-SHA256 under reuse_key.secret, as pgcrypto's hmac()
-- computes it: 16 bytes of the key's (a NUL, a label and a NUL, the key),
-- then 16 of the request's (the label; the key and the URL, each after its
-- length in 4 bytes; 18 bytes of limits, here none).  Of the session's
-- first keyed link and of one made after other keyed calls, which reuse
-- the module's HMAC context keyed at the first.
SELECT shorten_url('https://example.com/order/1', idempotency_key => 'order-1b') AS code_1b \gset
CREATE SCHEMA hmac_check;
CREATE EXTENSION pgcrypto SCHEMA hmac_check;
SELECT k AS key,
       substr(u.idempotency_digest, 1, 16)
           = substr(hmac_check.hmac('\x00'::bytea || convert_to('url_shortener idempotency key', 'UTF8')
                                    || '\x00'::bytea || convert_to(k, 'UTF8'), r.secret, 'sha256'), 1, 16)
           AS key_digest_is_hmac,
       substr(u.idempotency_digest, 17, 16)
           = substr(hmac_check.hmac('\x00'::bytea || convert_to('url_shortener idempotent request', 'UTF8')
                                    || '\x00'::bytea || int4send(octet_length(k)) || convert_to(k, 'UTF8')
                                    || int4send(octet_length(u.original_url)) || convert_to(u.original_url, 'UTF8')
                                    || '\x000000000000000000000000000000000000'::bytea, r.secret, 'sha256'), 1, 16)
           AS request_digest_is_hmac
FROM (VALUES ('order-1', :'first_code'), ('order-1b', :'code_1b')) AS c(k, code)
JOIN urls u ON u.short_code = c.code, reuse_key r
ORDER BY k;
-- And the codes: attempt 0 of a key's sequence and of a reusable URL's is
-- the HMAC of 8 zero bytes (attempt and block, 4 bytes each) and, for a
-- key, a NUL, a label and a NUL before it; each byte under the alphabet's
-- acceptance limit (256 less 256 modulo its size) gives a letter, in order.
CREATE FUNCTION pg_temp.code_of(mac bytea, shape reuse_key) RETURNS text
LANGUAGE sql AS $$
    SELECT string_agg(substr(shape.alphabet, get_byte(mac, i) % length(shape.alphabet) + 1, 1), '' ORDER BY i)
    FROM (SELECT i FROM generate_series(0, length(mac) - 1) AS i
          WHERE get_byte(mac, i) < 256 - 256 % length(shape.alphabet)
          ORDER BY i LIMIT shape.code_length) AS accepted
$$;
SELECT shorten_url('https://example.com/hmac/reused', reuse => true) AS reused_code \gset
SELECT :'first_code' = pg_temp.code_of(hmac_check.hmac('\x0000000000000000'::bytea
           || '\x00'::bytea || convert_to('url_shortener idempotency code', 'UTF8') || '\x00'::bytea
           || convert_to('order-1', 'UTF8'), r.secret, 'sha256'), r) AS key_code_is_hmac,
       :'reused_code' = pg_temp.code_of(hmac_check.hmac('\x0000000000000000'::bytea
           || convert_to('https://example.com/hmac/reused', 'UTF8'), r.secret, 'sha256'), r) AS reuse_code_is_hmac
FROM reuse_key r;
DROP EXTENSION pgcrypto;
DROP SCHEMA hmac_check;

-- The same key with another request: US004, nothing stored.
SELECT pg_temp.outcome($$SELECT shorten_url('https://example.com/order/2', idempotency_key => 'order-1')$$);
SELECT pg_temp.outcome($$SELECT shorten_url('https://example.com/order/1', idempotency_key => 'order-1', max_clicks => 3)$$);
SELECT pg_temp.outcome($$SELECT shorten_url('https://example.com/order/1', idempotency_key => 'order-1', expires_at => '2100-01-01')$$);
SELECT count(*) AS rows_for_order_2 FROM urls WHERE original_url = 'https://example.com/order/2';
-- Limits are part of the request: repeated exactly, they match.
SELECT shorten_url('https://example.com/limited', idempotency_key => 'lim', max_clicks => 2,
                   expires_at => '2100-01-01 00:00:00+00') AS limited_code \gset
SELECT shorten_url('https://example.com/limited', idempotency_key => 'lim', max_clicks => 2,
                   expires_at => '2100-01-01 00:00:00+00') = :'limited_code' AS limited_same;
SELECT max_clicks, expires_at FROM urls WHERE short_code = :'limited_code';

-- Bad keys: 22023; a key with alias or reuse: 22023.  Nothing stored.
SELECT pg_temp.outcome($$SELECT shorten_url('https://example.com/k', idempotency_key => '')$$);
SELECT pg_temp.outcome($$SELECT shorten_url('https://example.com/k', idempotency_key => repeat('k', 256))$$);
SELECT pg_temp.outcome($$SELECT shorten_url('https://example.com/k', idempotency_key => repeat('k', 255))$$);
SELECT pg_temp.outcome($$SELECT shorten_url('https://example.com/k', alias => 'kk', idempotency_key => 'k')$$);
SELECT pg_temp.outcome($$SELECT shorten_url('https://example.com/k', reuse => true, idempotency_key => 'k')$$);
SELECT count(*) AS rows_for_k FROM urls WHERE original_url = 'https://example.com/k';

-- What happens to the link later does not change the answer: edited,
-- disabled, even deleted, the key still names that link.
SELECT update_url(:'first_code', 'https://example.com/order/1-moved', 1) AS new_version;
SELECT disable_url(:'first_code') AS disabled;
SELECT shorten_url('https://example.com/order/1', idempotency_key => 'order-1') = :'first_code' AS same_after_edits;
SELECT delete_url(:'first_code') AS deleted;
SELECT shorten_url('https://example.com/order/1', idempotency_key => 'order-1') = :'first_code' AS same_after_delete,
       resolve_url(:'first_code') IS NULL AS still_retired;
-- Only release_code frees the key with the code.
SELECT release_code(:'first_code') AS released;
SELECT shorten_url('https://example.com/order/1', idempotency_key => 'order-1') = :'first_code' AS made_again_at_same_code;

-- The key's first code held by another link: its next code, every time.
SELECT delete_url(:'first_code'), release_code(:'first_code');
SELECT shorten_url('https://squatter.example/', alias => :'first_code') = :'first_code' AS squatted;
SELECT shorten_url('https://example.com/order/1', idempotency_key => 'order-1') AS second_code \gset
SELECT :'second_code' <> :'first_code' AS moved_on,
       shorten_url('https://example.com/order/1', idempotency_key => 'order-1') = :'second_code' AS second_again,
       resolve_url(:'first_code') AS squatter_untouched;

-- The code shape is the one stored with the installation's key, not the
-- session's settings: a repeat under other settings finds the same link.
SET url_shortener.code_length = 12;
SELECT shorten_url('https://example.com/order/1', idempotency_key => 'order-1') = :'second_code' AS same_under_other_length;
RESET url_shortener.code_length;

-- shorten_urls with one key per URL: the same codes on a repeat, one row each.
TRUNCATE urls;
CREATE TEMP TABLE batch1 AS
SELECT * FROM shorten_urls(ARRAY(SELECT 'https://batch.example/' || i FROM generate_series(1, 2000) i),
                           ARRAY(SELECT 'line-' || i FROM generate_series(1, 2000) i)) WITH ORDINALITY;
CREATE TEMP TABLE batch2 AS
SELECT * FROM shorten_urls(ARRAY(SELECT 'https://batch.example/' || i FROM generate_series(1, 2000) i),
                           ARRAY(SELECT 'line-' || i FROM generate_series(1, 2000) i)) WITH ORDINALITY;
SELECT count(*) AS returned,
       count(*) FILTER (WHERE b1.url = 'https://batch.example/' || b1.ordinality) AS in_order,
       count(*) FILTER (WHERE b1.short_code = b2.short_code) AS same_codes,
       (SELECT count(*) FROM urls) AS rows_stored,
       (SELECT count(DISTINCT short_code) FROM batch1) AS distinct_codes
FROM batch1 b1 JOIN batch2 b2 USING (ordinality);
-- A batch key is the same key as shorten_url's.
SELECT shorten_url('https://batch.example/7', idempotency_key => 'line-7') = short_code AS same_as_single
FROM batch1 WHERE ordinality = 7;
-- Half old, half new: the old keep their codes, the new get links.
CREATE TEMP TABLE batch3 AS
SELECT * FROM shorten_urls(ARRAY(SELECT 'https://batch.example/' || i FROM generate_series(1001, 3000) i),
                           ARRAY(SELECT 'line-' || i FROM generate_series(1001, 3000) i)) WITH ORDINALITY;
SELECT count(*) FILTER (WHERE b.short_code = b1.short_code) AS old_same,
       count(*) FILTER (WHERE b1.short_code IS NULL) AS new_links,
       (SELECT count(*) FROM urls) AS rows_stored,
       (SELECT count(*) FROM urls u JOIN batch3 b USING (short_code) WHERE u.original_url = b.url) AS stored_with_their_url
FROM batch3 b LEFT JOIN batch1 b1 ON b1.ordinality = b.ordinality + 1000;
DROP TABLE batch1, batch2, batch3;
-- A key twice in one array with the same URL: one link at both positions.
SELECT url, short_code = first_value(short_code) OVER () AS same_code
FROM shorten_urls(ARRAY['https://twice.example/', 'https://twice.example/'], ARRAY['tw', 'tw']);
SELECT count(*) AS rows_for_twice FROM urls WHERE original_url = 'https://twice.example/';
-- ... with another URL: US004, naming the element; nothing of the batch stored.
SELECT pg_temp.outcome($$SELECT * FROM shorten_urls(ARRAY['https://new.example/', 'https://twice2.example/', 'https://other.example/'],
                                                    ARRAY['new-1', 'tw2', 'tw2'])$$);
SELECT count(*) AS rows_for_new FROM urls WHERE original_url = 'https://new.example/';
-- Against a key used before: the same.
SELECT pg_temp.outcome($$SELECT * FROM shorten_urls(ARRAY['https://new.example/', 'https://changed.example/'], ARRAY['new-1', 'line-5'])$$);
SELECT count(*) AS rows_for_new FROM urls WHERE original_url = 'https://new.example/';
-- Bad key arrays: refused before anything is stored.
SELECT pg_temp.outcome($$SELECT * FROM shorten_urls(ARRAY['https://a.example/'], ARRAY['a', 'b'])$$);
SELECT pg_temp.outcome($$SELECT * FROM shorten_urls(ARRAY['https://a.example/'], ARRAY[NULL]::text[])$$);
SELECT pg_temp.outcome($$SELECT * FROM shorten_urls(ARRAY['https://a.example/'], ARRAY[''])$$);
SELECT pg_temp.outcome($$SELECT * FROM shorten_urls(ARRAY['https://a.example/'], ARRAY[['a']])$$);
SELECT count(*) AS rows_for_a FROM urls WHERE original_url = 'https://a.example/';
-- NULL keys: a plain batch; empty arrays: nothing.
SELECT count(*) AS plain FROM shorten_urls(ARRAY['https://plain.example/'], NULL);
SELECT count(*) AS none FROM shorten_urls('{}', '{}');
-- Every stored link of a key has its digests (32 bytes), every other link none.
SELECT count(*) FILTER (WHERE idempotency_digest IS NULL) AS without_key,
       count(*) FILTER (WHERE length(idempotency_digest) = 32) AS with_key
FROM urls;
TRUNCATE urls;
-- A BEFORE INSERT trigger that clears the digest: the keyed batch refuses
-- with 09000 and stores nothing (it used to read the missing digest and
-- end the backend).  Qualified names: the trigger runs under the
-- extension's search_path.
CREATE FUNCTION public.clear_digest() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.idempotency_digest := NULL;
    RETURN NEW;
END $$;
CREATE TRIGGER clear_digest BEFORE INSERT ON urls FOR EACH ROW EXECUTE FUNCTION public.clear_digest();
SELECT pg_temp.outcome($$SELECT * FROM shorten_urls(ARRAY['https://cleared.example/'], ARRAY['cleared'])$$);
SELECT count(*) AS rows_for_cleared FROM urls WHERE original_url = 'https://cleared.example/';
DROP TRIGGER clear_digest ON urls;
DROP FUNCTION public.clear_digest();
-- A keyed request repeated after the expiry it asked for has passed
-- returns its link (the expiry is checked only when a link is made); a
-- new key with a past expiry is refused, and stores nothing.
SELECT e AS soon, shorten_url('https://expiring.example/', idempotency_key => 'expiring', expires_at => e) AS expiring
FROM (SELECT clock_timestamp() + interval '1 second' AS e) AS s \gset
SELECT pg_sleep(1.1);
SELECT shorten_url('https://expiring.example/', idempotency_key => 'expiring', expires_at => :'soon') = :'expiring' AS same_code_after_expiry;
SELECT count(*) AS rows_for_expiring FROM urls WHERE original_url = 'https://expiring.example/';
SELECT pg_temp.outcome($$SELECT shorten_url('https://past.example/', idempotency_key => 'past', expires_at => now() - interval '1 day')$$);
SELECT count(*) AS rows_for_past FROM urls WHERE original_url = 'https://past.example/';
-- Every code a key may take held by others: US001, whose hint names the
-- remedy, since url_shortener.code_length does not shape keyed codes.  A
-- one-letter shape over 'ab' has two codes; with both taken, a new key
-- fails and stores nothing.  Raising reuse_key.code_length lengthens the
-- next keyed codes at once; a key used before then derives other codes.
CREATE TEMP TABLE shape_before AS SELECT code_length, alphabet FROM reuse_key;
UPDATE reuse_key SET code_length = 1, alphabet = 'ab';
SELECT shorten_url('https://a.example/', alias => 'a') AS a, shorten_url('https://b.example/', alias => 'b') AS b;
SET url_shortener.code_length = 12;
SELECT shorten_url('https://crowded.example/', idempotency_key => 'crowded');
SELECT pg_temp.outcome($$SELECT shorten_url('https://crowded.example/', idempotency_key => 'crowded')$$);
SELECT count(*) AS rows_for_crowded FROM urls WHERE original_url = 'https://crowded.example/';
RESET url_shortener.code_length;
UPDATE reuse_key SET code_length = 3;
SELECT length(shorten_url('https://crowded.example/', idempotency_key => 'crowded')) AS lengthened;
SELECT count(*) AS rows_for_crowded FROM urls WHERE original_url = 'https://crowded.example/';
-- A shape no code can be drawn from (a one-letter alphabet; its
-- code_length has a CHECK) is the administrator's to fix: 55000 naming
-- it, for keys and reuse alike, nothing stored.
UPDATE reuse_key SET alphabet = 'a';
SELECT shorten_url('https://shape.example/', idempotency_key => 'shape');
SELECT pg_temp.outcome($$SELECT shorten_url('https://shape.example/', idempotency_key => 'shape')$$);
SELECT pg_temp.outcome($$SELECT shorten_url('https://shape.example/', reuse => true)$$);
SELECT count(*) AS rows_for_shape FROM urls WHERE original_url = 'https://shape.example/';
UPDATE reuse_key SET code_length = s.code_length, alphabet = s.alphabet FROM shape_before AS s;
DROP TABLE shape_before;
-- The key's row lost while links made from it remain (a DELETE, a restore
-- without it): 55000 for keys and reuse alike, no new key made, nothing
-- stored (before, a new key was made and a repeated key got a second
-- link).  With the row back, the key answers its link again.  With no
-- such link left, a new key is made, as in a new database.
SELECT shorten_url('https://lost-key.example/', idempotency_key => 'lost-key') AS lost_key_code \gset
SELECT shorten_url('https://lost-key.example/reused', reuse => true) AS reused_code \gset
CREATE TEMP TABLE saved_key AS SELECT * FROM reuse_key;
DELETE FROM reuse_key;
SELECT pg_temp.outcome($$SELECT shorten_url('https://lost-key.example/', idempotency_key => 'lost-key')$$);
SELECT pg_temp.outcome($$SELECT shorten_url('https://lost-key.example/reused', reuse => true)$$);
SELECT pg_temp.outcome($$SELECT shorten_urls(ARRAY['https://lost-key.example/'], ARRAY['lost-key'])$$);
SELECT count(*) AS key_rows, (SELECT count(*) FROM urls WHERE original_url LIKE 'https://lost-key.example/%') AS lost_key_links
FROM reuse_key;
INSERT INTO reuse_key SELECT * FROM saved_key;
SELECT shorten_url('https://lost-key.example/', idempotency_key => 'lost-key') = :'lost_key_code' AS same_code_with_the_row_back,
       shorten_url('https://lost-key.example/reused', reuse => true) = :'reused_code' AS same_reused_code;
BEGIN;
TRUNCATE urls;
DELETE FROM reuse_key;
SELECT length(shorten_url('https://lost-key.example/', idempotency_key => 'lost-key')) AS keyed_code_length;
SELECT count(*) AS key_rows_made FROM reuse_key;
ROLLBACK;
DROP TABLE saved_key;
