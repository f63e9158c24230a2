--
-- settings: defaults, validation and who may change what
--

-- Before the module is loaded, a session's SET makes an unchecked
-- placeholder; loading the module checks it, warns, and keeps the default.
SET url_shortener.alphabet = 'aa';
SELECT length(shorten_url('https://example.com/placeholder')) AS default_length;
SHOW url_shortener.alphabet;

SELECT name, setting, unit, context, vartype, min_val, max_val
FROM pg_settings WHERE name LIKE 'url_shortener.%' ORDER BY name;

-- Alphabets that would give ambiguous, unsafe or degenerate codes.
SET url_shortener.alphabet = '';
SET url_shortener.alphabet = 'a';
SET url_shortener.alphabet = 'abca';
SET url_shortener.alphabet = 'ab/';
SET url_shortener.alphabet = 'ab c';
SET url_shortener.alphabet = 'ab%';
SET url_shortener.alphabet = 'abé';
SET url_shortener.alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~';
SHOW url_shortener.alphabet;
RESET url_shortener.alphabet;

-- Ranges.
SET url_shortener.code_length = 0;
SET url_shortener.code_length = 65;
SET url_shortener.code_length = 64;
SELECT length(shorten_url('https://example.com/sixty-four')) AS length_64;
RESET url_shortener.code_length;
SET url_shortener.max_attempts = 0;
SET url_shortener.max_attempts = 1001;
SET url_shortener.max_url_length = 15;
SET url_shortener.max_url_length = '4kB';
SHOW url_shortener.max_url_length;
RESET url_shortener.max_url_length;
SET url_shortener.test_seed = -2;

-- The prefix is reserved: a misspelt setting is an error, not a silent placeholder.
SET url_shortener.code_lenght = 8;

-- An ordinary role may change none of them: the code shape and the number
-- of attempts decide what the SECURITY DEFINER functions do (SUSET, like
-- the URL limit and the predictable seed).
CREATE ROLE url_shortener_settings_user;
SET ROLE url_shortener_settings_user;
SET url_shortener.code_length = 8;
SET url_shortener.alphabet = 'abcdef';
SET url_shortener.max_attempts = 10;
SET url_shortener.max_url_length = 100000;
SET url_shortener.test_seed = 1;
RESET ROLE;
RESET url_shortener.code_length;
RESET url_shortener.alphabet;
RESET url_shortener.max_attempts;
DROP ROLE url_shortener_settings_user;

-- A random code that is a reserved word (in any case) or a dot segment is
-- never handed out, whatever the alphabet: it counts as a taken code.  In
-- the 27-code space of alphabet "Api" at length 3, "Api" and "App" (the
-- reserved "api" and "app") are never handed out: 25 codes are, and the
-- 26th call fails.
TRUNCATE urls;
SET url_shortener.alphabet = 'Api';
SET url_shortener.code_length = 3;
SET url_shortener.max_attempts = 1000;
SET url_shortener.test_seed = 3;
SELECT count(DISTINCT shorten_url('https://example.com/api/' || i)) AS handed_out
FROM generate_series(1, 25) i;
SELECT shorten_url('https://example.com/api/26');
SELECT count(*) FILTER (WHERE lower(short_code) IN ('api', 'app')) AS reserved_codes, count(*) AS links FROM urls;
-- "." and "..": alphabet ".x" at length 1 gives only "x"; at length 2 not "..".
TRUNCATE urls;
SET url_shortener.alphabet = '.x';
SET url_shortener.code_length = 1;
SELECT shorten_url('https://example.com/dot/1') AS only_code;
SELECT shorten_url('https://example.com/dot/2');
SET url_shortener.code_length = 2;
SELECT count(shorten_url('https://example.com/dots/' || i)) AS handed_out FROM generate_series(1, 3) i;
SELECT shorten_url('https://example.com/dots/4');
SELECT shorten_url_locked('https://example.com/dots/4');
SELECT short_code FROM urls ORDER BY 1;
-- shorten_urls the same: its draws discard these like taken codes.
TRUNCATE urls;
SELECT count(short_code) AS batch_handed_out
FROM shorten_urls(ARRAY['https://example.com/b/1', 'https://example.com/b/2', 'https://example.com/b/3']);
SELECT * FROM shorten_urls(ARRAY['https://example.com/b/4']);
SET url_shortener.alphabet = 'Api';
SET url_shortener.code_length = 3;
SELECT count(short_code) AS batch_handed_out
FROM shorten_urls(ARRAY(SELECT 'https://example.com/api-batch/' || i FROM generate_series(1, 25) i));
SELECT short_code FROM urls WHERE lower(short_code) IN ('api', 'app', '..');
TRUNCATE urls;
RESET url_shortener.alphabet;
RESET url_shortener.code_length;
RESET url_shortener.max_attempts;
RESET url_shortener.test_seed;
