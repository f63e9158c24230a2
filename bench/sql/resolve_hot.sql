-- Hot link: every client resolves the code of row id 1.
\set code 100000000000000 + 48271
SELECT resolve_url(:code);
