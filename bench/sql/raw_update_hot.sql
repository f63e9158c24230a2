-- Hot link through the raw UPDATE: the row-lock queue without the extension.
\set code 100000000000000 + 48271
UPDATE urls SET clicks = clicks + 1 WHERE short_code = :code RETURNING original_url;
