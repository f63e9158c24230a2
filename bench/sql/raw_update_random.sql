-- The limit for resolve_url: the same UPDATE, sent by the client.
\set id random(1, 100000)
\set code 100000000000000 + (:id * 48271) % 2147483647
UPDATE urls SET clicks = clicks + 1 WHERE short_code = :code RETURNING original_url;
