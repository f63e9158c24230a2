--
-- bad_input: every refused URL gets a precise SQLSTATE and stores nothing
--
TRUNCATE urls;

-- Reports SQLSTATE and message of shorten_url(u), or 'stored'.
CREATE FUNCTION pg_temp.outcome(u text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    PERFORM public.shorten_url(u);
    RETURN 'stored';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

SELECT label, pg_temp.outcome(u) AS outcome
FROM (VALUES
    ('null',                  NULL),
    ('empty',                 ''),
    ('space only',            ' '),
    ('leading space',         ' https://example.com/'),
    ('inner space',           'https://example.com/a b'),
    ('trailing newline',      'https://example.com/' || chr(10)),
    ('tab',                   'https://exa' || chr(9) || 'mple.com/'),
    ('carriage return',       'https://example.com/' || chr(13)),
    ('escape',                'https://example.com/' || chr(27)),
    ('delete',                'https://example.com/' || chr(127)),
    ('non-ascii path',        'https://example.com/café'),
    ('non-ascii host',        'https://bücher.example/'),
    ('relative path',         '/just/a/path'),
    ('relative name',         'example.com/page'),
    ('scheme-relative',       '//example.com/page'),
    ('javascript',            'javascript:alert(1)'),
    ('javascript uppercase',  'JavaScript:alert(1)'),
    ('javascript slashes',    'javascript://example.com/%0Aalert(1)'),
    ('data',                  'data:text/plain,hello'),
    ('data with markup',      'data:text/html,<script>alert(1)</script>'),
    ('file',                  'file:///etc/passwd'),
    ('ftp',                   'ftp://example.com/file'),
    ('mailto',                'mailto:someone@example.com'),
    ('no host',               'http://'),
    ('empty host',            'http:///path'),
    ('no authority',          'http:example.com'),
    ('userinfo',              'https://bank.example@evil.example/'),
    ('user and password',     'https://user:secret@example.com/'),
    ('port zero',             'http://example.com:0/'),
    ('port too large',        'http://example.com:65536/'),
    ('port not a number',     'http://example.com:http/'),
    ('bad percent',           'https://example.com/%zz'),
    ('unclosed ipv6',         'http://[2001:db8::1/'),
    ('bad character',         'https://example.com/<tag>'),
    ('backslash',             'https://example.com\evil.example')
) v(label, u);

SELECT count(*) AS stored_rows FROM urls;

-- The full report of a few of them.
\set VERBOSITY default
SELECT shorten_url(NULL);
SELECT shorten_url('https://example.com/a b');
SELECT shorten_url('javascript:alert(1)');
SELECT shorten_url('https://bank.example@evil.example/');
SELECT shorten_url('https://example.com/%zz');

-- Length: the limit is in bytes (checked before the value is detoasted,
-- which no result here shows: the outcome would be the same after).
SELECT pg_temp.outcome('https://example.com/' || repeat('a', 2048 - 20)) AS at_limit;
SELECT pg_temp.outcome('https://example.com/' || repeat('a', 2048 - 19)) AS one_over;
SELECT pg_temp.outcome('https://example.com/' || repeat('a', 10000000)) AS ten_megabytes;
SELECT shorten_url('https://example.com/' || repeat('a', 5000));
SET url_shortener.max_url_length = 32;
SELECT pg_temp.outcome('https://example.com/123456789012') AS thirty_two_bytes,
       pg_temp.outcome('https://example.com/1234567890123') AS thirty_three_bytes;
RESET url_shortener.max_url_length;

-- The locked variant applies the same rules.
SELECT shorten_url_locked('ftp://example.com/');
SELECT shorten_url_locked(NULL);

SELECT count(*) AS stored_rows FROM urls;
