--
-- released_codes (1.6): release_code records the code it frees, and a link
-- made with an idempotency key or for reuse on such a code first looks
-- further along its sequence, so freeing a code another link held when
-- the key (the URL) was first used cannot give it a second link.
--
TRUNCATE urls;
TRUNCATE released_codes;
\set VERBOSITY terse

-- Reuse.  The URL's first code, retired, is passed over by the next reuse.
SELECT shorten_url('https://example.com/released/reused', reuse => true) AS first_code \gset
SELECT delete_url(:'first_code') AS retired;
SELECT shorten_url('https://example.com/released/reused', reuse => true) AS second_code \gset
SELECT :'second_code' <> :'first_code' AS passed_over;
-- The administrator frees the first code: it is recorded.
SELECT release_code(:'first_code') AS released;
SELECT short_code = :'first_code' AS recorded, released_at > now() - interval '1 hour' AS released_now FROM released_codes;
-- Reuse still answers the link it has, and stores nothing more.
SELECT shorten_url('https://example.com/released/reused', reuse => true) = :'second_code' AS same_link;
SELECT count(*) AS live_links, count(*) FILTER (WHERE short_code = :'first_code') AS on_freed_code
FROM urls WHERE original_url = 'https://example.com/released/reused';
SELECT shorten_url_locked('https://example.com/released/reused', reuse => true) = :'second_code' AS same_link_locked;
-- Once that link is disabled (no longer reusable), reuse makes a new one,
-- and the freed code is the first free one of the sequence.
SELECT disable_url(:'second_code') AS disabled;
SELECT shorten_url('https://example.com/released/reused', reuse => true) = :'first_code' AS new_link_on_freed_code;

-- An idempotency key.  Its first link is retired and its code freed, so
-- the key is free again; an alias then holds that code.
SELECT shorten_url('https://example.com/released/k/0', idempotency_key => 'released-key') AS key_code \gset
SELECT delete_url(:'key_code') AS retired, release_code(:'key_code') AS released;
SELECT shorten_url('https://example.com/released/alias', alias => :'key_code') = :'key_code' AS alias_holds_it;
-- The key's next use passes over the alias.
SELECT shorten_url('https://example.com/released/k/1', idempotency_key => 'released-key') AS key_later_code \gset
SELECT :'key_later_code' <> :'key_code' AS passed_over;
-- The alias goes and its code is freed: a repeat still answers the key's link.
SELECT delete_url(:'key_code') AS retired, release_code(:'key_code') AS released;
SELECT shorten_url('https://example.com/released/k/1', idempotency_key => 'released-key') = :'key_later_code' AS same_link;
SELECT shorten_url_locked('https://example.com/released/k/1', idempotency_key => 'released-key') = :'key_later_code' AS same_link_locked;
SELECT count(*) AS links, count(*) FILTER (WHERE short_code = :'key_code') AS on_freed_code
FROM urls WHERE original_url = 'https://example.com/released/k/1';
-- The same key with another request is US004, and stores nothing.
SELECT shorten_url('https://example.com/released/k/2', idempotency_key => 'released-key');
SELECT count(*) AS stored FROM urls WHERE original_url = 'https://example.com/released/k/2';
-- The batch: the key's element answers the same link; another key beside it is new.
SELECT url, short_code = :'key_later_code' AS same_link
FROM shorten_urls(ARRAY['https://example.com/released/k/1', 'https://example.com/released/k/3'],
                  ARRAY['released-key', 'released-key-3']);
SELECT short_code = :'key_later_code' AS same_link_twice
FROM shorten_urls(ARRAY['https://example.com/released/k/1', 'https://example.com/released/k/1'],
                  ARRAY['released-key', 'released-key']);
SELECT count(*) AS links, count(*) FILTER (WHERE short_code = :'key_code') AS on_freed_code
FROM urls WHERE original_url = 'https://example.com/released/k/1';
SELECT url FROM shorten_urls(ARRAY['https://example.com/released/k/2'], ARRAY['released-key']);
SELECT count(*) AS stored FROM urls WHERE original_url = 'https://example.com/released/k/2';
SELECT count(*) AS recorded FROM released_codes;

-- Only a freed tombstone is recorded: a live or unknown code is not.
SELECT release_code(:'key_later_code') AS live, release_code('no-such-code') AS unknown;
SELECT count(*) AS recorded FROM released_codes;

-- The record belongs to the release's transaction.
SELECT shorten_url('https://example.com/released/rolled-back', alias => 'released-rb') AS rb \gset
SELECT delete_url('released-rb') AS retired;
BEGIN;
SELECT release_code('released-rb') AS released;
ROLLBACK;
SELECT count(*) AS recorded, (SELECT count(*) FROM urls WHERE short_code = 'released-rb') AS tombstone_kept
FROM released_codes;

-- Nobody reaches the table but through the functions.
SELECT has_table_privilege('public', 'released_codes', 'SELECT') AS public_select,
       (SELECT relowner = (SELECT relowner FROM pg_class WHERE oid = 'urls'::regclass)
        FROM pg_class WHERE oid = 'released_codes'::regclass) AS owned_like_urls;

-- A session that used 1.5 records releases as soon as it updates to 1.6;
-- a code released before the update is not recorded.
DROP EXTENSION url_shortener;
CREATE EXTENSION url_shortener VERSION '1.5';
SELECT shorten_url('https://example.com/released/15', alias => 'released-15') AS c15,
       shorten_url('https://example.com/released/16', alias => 'released-16') AS c16 \gset
SELECT delete_url('released-15') AS retired, release_code('released-15') AS released_at_15;
SELECT to_regclass('released_codes') IS NULL AS no_table_at_15;
ALTER EXTENSION url_shortener UPDATE TO '1.6';
SELECT count(*) AS recorded_from_15 FROM released_codes;
SELECT delete_url('released-16') AS retired, release_code('released-16') AS released_at_16;
SELECT short_code FROM released_codes;
DROP EXTENSION url_shortener;
CREATE EXTENSION url_shortener;
