--
-- hostile_urls: a catalogue of nasty inputs to shorten_url, each with the
-- outcome it must have: 'stored', or the SQLSTATE and message of the
-- refusal.  The rules (url_validation.h): an absolute http or https URL
-- (scheme in any case) with a host, no user information, RFC 3986 syntax,
-- printable ASCII only, a port in 1..65535, at most
-- url_shortener.max_url_length bytes.  A URL is stored exactly as given.
--
-- NUL cannot be inside a text value, and neither can invalid UTF-8, so the
-- binary junk below is valid UTF-8 built with chr().
--
TRUNCATE urls;

CREATE FUNCTION pg_temp.outcome(u text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    PERFORM public.shorten_url(u);
    RETURN 'stored';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

CREATE TEMP TABLE hostile (n serial, label text, url text, outcome text);
INSERT INTO hostile (label, url) VALUES
    -- length: the limit is 2048 bytes (of text, not of characters)
    ('length: 2048 bytes',              'https://example.com/' || repeat('a', 2028)),
    ('length: 2049 bytes',              'https://example.com/' || repeat('a', 2029)),
    ('length: 1 MB',                    'https://example.com/' || repeat('a', 1048576)),
    ('length: 683 three-byte chars',    'https://example.com/' || repeat('€', 683)),
    ('length: 2048 bytes of "/"',       'https:' || repeat('/', 2042)),
    ('length: 2048 bytes of "%41"',     'https://example.com/' || repeat('%41', 676)),
    -- long hosts
    ('host: 63-character label',        'https://' || repeat('a', 63) || '.example/'),
    ('host: 64-character label',        'https://' || repeat('a', 64) || '.example/'),
    ('host: 253 characters',            'https://' || repeat('abcdefghi.', 25) || 'com/'),
    ('host: 2000 characters',           'https://' || repeat('h', 2000) || '/'),
    ('host: 3000 characters',           'https://' || repeat('h', 3000) || '/'),
    ('host: 1000 labels "a."',          'https://' || repeat('a.', 1000) || '/'),
    -- control characters and spaces, anywhere
    ('control: SOH in path',            'https://example.com/' || chr(1)),
    ('control: backspace in host',      'https://exa' || chr(8) || 'mple.com/'),
    ('control: tab in path',            'https://example.com/a' || chr(9) || 'b'),
    ('control: newline in path',        'https://example.com/a' || chr(10) || 'b'),
    ('control: vertical tab',           'https://example.com/' || chr(11)),
    ('control: form feed',              'https://example.com/' || chr(12)),
    ('control: CR LF header injection', 'https://example.com/' || chr(13) || chr(10) || 'Set-Cookie:x=1'),
    ('control: unit separator',         'https://example.com/' || chr(31)),
    ('control: DEL in query',           'https://example.com/?q=' || chr(127)),
    ('control: space in host',          'https://exa mple.com/'),
    ('control: trailing space',         'https://example.com/ '),
    ('control: all of 1..31',           'https://example.com/' || (SELECT string_agg(chr(i), '') FROM generate_series(1, 31) i)),
    -- non-ASCII junk (valid UTF-8)
    ('junk: U+0080 (C1 control)',       'https://example.com/' || chr(128)),
    ('junk: U+0085 next line',          'https://example.com/' || chr(133)),
    ('junk: U+00A0 no-break space',     'https://example.com/a' || chr(160) || 'b'),
    ('junk: U+200B zero-width space',   'https://exam' || chr(8203) || 'ple.com/'),
    ('junk: U+202E right-to-left mark', 'https://example.com/' || chr(8238) || 'fdp.exe'),
    ('junk: U+2028 line separator',     'https://example.com/' || chr(8232)),
    ('junk: U+FEFF byte order mark',    chr(65279) || 'https://example.com/'),
    ('junk: U+FFFD replacement',        'https://example.com/' || chr(65533)),
    ('junk: U+1F600 emoji',             'https://example.com/' || chr(128512)),
    ('junk: Latin-1 range',             'https://example.com/' || (SELECT string_agg(chr(i), '') FROM generate_series(161, 255) i)),
    ('junk: fullwidth colon',           'https' || chr(65306) || '//example.com/'),
    ('junk: fullwidth solidus',         'https:' || chr(65295) || chr(65295) || 'example.com/'),
    -- schemes: http and https in any case, nothing else
    ('scheme: HTTP',                    'HTTP://EXAMPLE.COM/PATH'),
    ('scheme: Https',                   'Https://example.com/'),
    ('scheme: hTtPs',                   'hTtPs://example.com/'),
    ('scheme: httpx',                   'httpx://example.com/'),
    ('scheme: https+ssh',               'https+ssh://example.com/'),
    ('scheme: ws',                      'ws://example.com/'),
    ('scheme: vbscript',                'vbscript:msgbox(1)'),
    ('scheme: data',                    'data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg=='),
    ('scheme: file',                    'file://localhost/etc/passwd'),
    ('scheme: digits first',            '1http://example.com/'),
    ('scheme: empty',                   '://example.com/'),
    -- javascript: in disguise
    ('javascript: plain',               'javascript:alert(1)'),
    ('javascript: jAvAsCrIpT',          'jAvAsCrIpT:alert(1)'),
    ('javascript: JAVASCRIPT',          'JAVASCRIPT:alert(document.cookie)'),
    ('javascript: leading space',       ' javascript:alert(1)'),
    ('javascript: leading SOH',         chr(1) || 'javascript:alert(1)'),
    ('javascript: &colon; entity',      'javascript&colon;alert(1)'),
    ('javascript: &#58; entity',        'javascript&#58;alert(1)'),
    ('javascript: tab in scheme',       'java' || chr(9) || 'script:alert(1)'),
    ('javascript: newline in scheme',   'java' || chr(10) || 'script:alert(1)'),
    ('javascript: %0a in scheme',       'java%0ascript:alert(1)'),
    ('javascript: %3a for colon',       'javascript%3aalert(1)'),
    ('javascript: with slashes',        'javascript://example.com/%0Aalert(1)'),
    ('javascript: as host',             'https://javascript:alert(1)'),
    ('javascript: after https:',        'https:javascript:alert(1)'),
    ('javascript: in path (harmless)',  'https://example.com/javascript:alert(1)'),
    ('javascript: in query (harmless)', 'https://example.com/?next=javascript:alert(1)'),
    -- no host, or no authority
    ('host: https:',                    'https:'),
    ('host: https://',                  'https://'),
    ('host: https:///path',             'https:///path'),
    ('host: one slash',                 'https:/example.com/'),
    ('host: no slashes',                'https:example.com'),
    ('host: scheme-relative',           '//example.com/'),
    ('host: only a port',               'https://:443/'),
    ('host: dot',                       'https://./'),
    ('host: underscore',                'https://_/'),
    ('host: trailing dot',              'https://example.com./'),
    -- RFC 3986 allows percent-encoding in a host, but browsers decode it,
    -- so "%65vil" hides what the host is: refused.
    ('host: percent-encoded',           'https://exa%6Dple.com/'),
    ('host: percent-encoded disguise',  'https://%65vil.example/'),
    ('host: encoded slash',             'https://evil.example%2Fbank.example/'),
    -- IDN: raw Unicode refused, punycode stored
    ('idn: raw German',                 'https://bücher.example/'),
    ('idn: raw Japanese',               'https://例え.jp/'),
    ('idn: Cyrillic homograph',         'https://' || chr(1072) || 'pple.com/'),
    ('idn: fullwidth letters',          'https://' || chr(65349) || 'xample.com/'),
    ('idn: punycode',                   'https://xn--bcher-kva.example/'),
    ('idn: punycode homograph',         'https://xn--pple-43d.com/'),
    -- IPv6 literals
    ('ipv6: loopback',                  'http://[::1]/'),
    ('ipv6: with port',                 'http://[2001:db8::1]:8080/'),
    ('ipv6: IPv4-mapped',               'http://[::ffff:192.0.2.1]/'),
    ('ipv6: full form',                 'http://[2001:0db8:0000:0000:0000:ff00:0042:8329]/'),
    ('ipv6: upper-case hex',            'http://[2001:DB8::ABCD]/'),
    ('ipv6: unbracketed',               'http://2001:db8::1/'),
    ('ipv6: unclosed',                  'http://[2001:db8::1/'),
    ('ipv6: unopened',                  'http://2001:db8::1]/'),
    ('ipv6: empty brackets',            'http://[]/'),
    ('ipv6: two "::"',                  'http://[1::2::3]/'),
    ('ipv6: nine groups',               'http://[1:2:3:4:5:6:7:8:9]/'),
    ('ipv6: five-digit group',          'http://[12345::1]/'),
    ('ipv6: not hex',                   'http://[::g]/'),
    ('ipv6: zone id %25eth0 (RFC 6874)','http://[fe80::1%25eth0]/'),
    ('ipv6: zone id %eth0',             'http://[fe80::1%eth0]/'),
    ('ipv6: IPvFuture',                 'http://[v1.fe]/'),
    ('ipv6: port 0',                    'http://[::1]:0/'),
    -- IPv4 forms (a dotted name that is not an address is still a name)
    ('ipv4: loopback',                  'http://127.0.0.1/'),
    ('ipv4: zeros',                     'http://0.0.0.0/'),
    ('ipv4: broadcast',                 'http://255.255.255.255:8080/'),
    ('ipv4: octet 256',                 'http://256.1.1.1/'),
    ('ipv4: decimal integer',           'http://2130706433/'),
    ('ipv4: hex',                       'http://0x7f.0.0.1/'),
    ('ipv4: octal',                     'http://0177.0.0.1/'),
    ('ipv4: two parts',                 'http://127.1/'),
    ('ipv4: trailing dot',              'http://127.0.0.1./'),
    -- Browsers (WHATWG URL) read a host whose last label is all digits, or
    -- "0x" and hex digits, as IPv4 in any of the BSD inet_aton forms: one to
    -- four parts, each decimal, octal (leading 0) or hex (0x), the last part
    -- filling the remaining bytes.  Anything but four plain decimal octets
    -- hides the address from a reader, so it is refused; so is a numeric
    -- host that browsers cannot parse at all.  Each comment is the host the
    -- browser makes of it.
    ('ipv4: hex, two parts',            'http://0x7f.1/'),              -- 127.0.0.1
    ('ipv4: hex integer',               'http://0x7f000001/'),          -- 127.0.0.1
    ('ipv4: upper-case 0X',             'http://0X7F.0.0.1/'),          -- 127.0.0.1
    ('ipv4: upper-case hex integer',    'http://0X7F000001/'),          -- 127.0.0.1
    ('ipv4: hex with leading zeros',    'http://0x0000007f.1/'),        -- 127.0.0.1
    ('ipv4: bare 0x',                   'http://0x/'),                  -- 0.0.0.0
    ('ipv4: all parts 0x',              'http://0x.0x.0/'),             -- 0.0.0.0
    ('ipv4: octal integer',             'http://017700000001/'),        -- 127.0.0.1
    ('ipv4: octal, two parts',          'http://0177.1/'),              -- 127.0.0.1
    ('ipv4: leading-zero decimal',      'http://010.0.0.1/'),           -- 8.0.0.1
    ('ipv4: leading zero, last part',   'http://127.0.0.01/'),          -- 127.0.0.1
    ('ipv4: leading zeros, 00',         'http://00.0.0.0/'),            -- 0.0.0.0
    ('ipv4: mixed hex, octal, decimal', 'http://0xc0.0250.1/'),         -- 192.168.0.1
    ('ipv4: mixed, four parts',         'http://0xc0.0250.0.1/'),       -- 192.168.0.1
    ('ipv4: one part, 0',               'http://0/'),                   -- 0.0.0.0
    ('ipv4: one part, maximum',         'http://4294967295/'),          -- 255.255.255.255
    ('ipv4: three parts',               'http://127.0.1/'),             -- 127.0.0.1
    ('ipv4: three parts, wide last',    'http://127.0.65535/'),         -- 127.0.255.255
    ('ipv4: with port',                 'http://2130706433:8080/'),     -- 127.0.0.1
    ('ipv4: https and a query',         'https://0x7f.1/?q=1#f'),       -- 127.0.0.1
    ('ipv4: integer, trailing dot',     'http://2130706433./'),         -- 127.0.0.1
    ('ipv4: hex, trailing dot',         'http://0x7f.1./'),             -- 127.0.0.1
    ('ipv4: last label 0x',             'http://1.2.3.0x/'),            -- 1.2.3.0
    ('ipv4: overflow, one part',        'http://4294967296/'),          -- failure
    ('ipv4: overflow, hex',             'http://0x100000000/'),         -- failure
    ('ipv4: overflow, octal octet',     'http://0400.0.0.1/'),          -- failure
    ('ipv4: overflow, wide last',       'http://127.0.65536/'),         -- failure
    ('ipv4: overflow, 20 digits',       'http://99999999999999999999/'),-- failure
    ('ipv4: octal digit 8',             'http://08.0.0.1/'),            -- failure
    ('ipv4: five parts',                'http://1.2.3.4.5/'),           -- failure
    ('ipv4: empty part',                'http://127..1/'),              -- failure
    ('ipv4: leading dot',               'http://.1/'),                  -- failure
    ('ipv4: name, then digits',         'http://example.123/'),         -- failure
    ('ipv4: name, then 0x',             'http://example.0x/'),          -- failure
    ('ipv4: name, then 09',             'http://example.09/'),          -- failure
    -- Names that only look numeric stay names (the browser agrees), and
    -- the canonical form stays an address.
    ('ipv4: canonical 192.0.2.1',       'http://192.0.2.1/'),           -- 192.0.2.1
    ('ipv4: canonical 249.250.199.100', 'http://249.250.199.100/'),     -- 249.250.199.100
    ('ipv4-like: 1.example',            'http://1.example/'),           -- 1.example
    ('ipv4-like: example.123abc',       'http://example.123abc/'),      -- example.123abc
    ('ipv4-like: 0x7f.example',         'http://0x7f.example/'),        -- 0x7f.example
    ('ipv4-like: example.0xg',          'http://example.0xg/'),         -- example.0xg
    ('ipv4-like: 127.0.0.1a',           'http://127.0.0.1a/'),          -- 127.0.0.1a
    ('ipv4-like: 1.2.3.4.example',      'http://1.2.3.4.example/'),     -- 1.2.3.4.example
    ('ipv4-like: two trailing dots',    'http://127.0.0.1../'),         -- 127.0.0.1..
    ('ipv4-like: 1..',                  'http://1../'),                 -- 1..
    -- IPv6 literals are not host names: an IPv4-mapped address is written
    -- in brackets, in RFC 3986's dotted-decimal form only.
    ('ipv6: IPv4-mapped loopback',      'http://[::ffff:127.0.0.1]/'),  -- [::ffff:7f00:1]
    ('ipv6: IPv4-mapped, octal',        'http://[::ffff:0177.0.0.1]/'), -- failure
    ('ipv6: IPv4-mapped, two parts',    'http://[::ffff:127.1]/'),      -- failure
    -- ports
    ('port: 0',                         'http://example.com:0/'),
    ('port: 00000',                     'http://example.com:00000/'),
    ('port: 1',                         'http://example.com:1/'),
    ('port: 0080',                      'http://example.com:0080/'),
    ('port: 65535',                     'http://example.com:65535/'),
    ('port: 65536',                     'http://example.com:65536/'),
    ('port: 2^32 + 80',                 'http://example.com:4294967376/'),
    ('port: 40 digits',                 'http://example.com:' || repeat('9', 40) || '/'),
    ('port: empty',                     'http://example.com:/'),
    ('port: negative',                  'http://example.com:-1/'),
    ('port: plus sign',                 'http://example.com:+80/'),
    ('port: two ports',                 'http://example.com:80:80/'),
    ('port: letters',                   'http://example.com:https/'),
    ('port: hex',                       'http://example.com:0x50/'),
    -- user information: refused however it is spelled
    ('userinfo: bank@evil',             'https://bank.example@evil.example/'),
    ('userinfo: user:password',         'https://user:secret@example.com/'),
    ('userinfo: empty',                 'https://@example.com/'),
    ('userinfo: only ":"',              'https://:@example.com/'),
    ('userinfo: bank:443@evil',         'https://bank.example:443@evil.example/'),
    ('userinfo: two "@"',               'https://a@b@evil.example/'),
    ('userinfo: %40 in host',           'https://bank.example%40evil.example/'),
    ('userinfo: "@" in path (harmless)','https://evil.example/@bank.example'),
    -- percent-encoding
    ('percent: valid upper case',       'https://example.com/caf%C3%A9'),
    ('percent: valid lower case',       'https://example.com/caf%c3%a9'),
    ('percent: %zz',                    'https://example.com/%zz'),
    ('percent: lone %',                 'https://example.com/100%'),
    ('percent: one digit',              'https://example.com/%4'),
    ('percent: %00',                    'https://example.com/%00'),
    ('percent: encoded slash',          'https://example.com/a%2Fb'),
    ('percent: encoded dots',           'https://example.com/%2e%2e/%2E%2E/etc/passwd'),
    ('percent: encoded CR LF',          'https://example.com/%0D%0ASet-Cookie:x=1'),
    ('percent: double-encoded',         'https://example.com/%252F'),
    ('percent: in scheme',              'http%73://example.com/'),
    -- backslashes (browsers read "\" as "/")
    ('backslash: before host',          'https:\\evil.example/'),
    ('backslash: mixed slashes',        'https:/\evil.example/'),
    ('backslash: after host',           'https://example.com\@evil.example/'),
    ('backslash: in path',              'https://example.com/a\b'),
    ('backslash: scheme-relative',      '/\evil.example/'),
    -- characters RFC 3986 does not allow
    ('syntax: angle brackets',          'https://example.com/<script>'),
    ('syntax: double quote',            'https://example.com/"onmouseover="alert(1)'),
    ('syntax: braces',                  'https://example.com/{x}'),
    ('syntax: pipe',                    'https://example.com/a|b'),
    ('syntax: caret',                   'https://example.com/a^b'),
    ('syntax: backtick',                'https://example.com/`'),
    ('syntax: brackets in path',        'https://example.com/[x]'),
    -- Browsers leave "[ ] | { } ^" unencoded in a query or fragment (WHATWG),
    -- so links copied from an address bar are stored as they are.
    ('syntax: brackets in query',       'https://example.com/?a[]=1'),
    ('syntax: brackets, PHP style',     'https://example.com/search?filter[name]=x'),
    ('syntax: pipe in query',           'https://fonts.googleapis.com/css?family=Roboto|Open+Sans'),
    ('syntax: braces, caret in query',  'https://example.com/?q={a^b}'),
    ('syntax: brackets in fragment',    'https://example.com/#[top]'),
    ('syntax: angle bracket in query',  'https://example.com/?q=<script>'),
    ('syntax: backslash in query',      'https://example.com/?q=a\b'),
    ('syntax: bad escape in query',     'https://example.com/?q=%zz'),
    ('syntax: escape cut short',        'https://example.com/?q=%4'),
    -- query strings and fragments
    ('query: empty',                    'https://example.com/?'),
    ('query: two "?"',                  'https://example.com/??a=1?b'),
    ('query: open redirect parameter',  'https://example.com/login?next=https://evil.example/'),
    ('query: sub-delims',               'https://example.com/?a=1&b=2;c=$!''()*+,'),
    ('query: no path',                  'https://example.com?q=1'),
    ('fragment: empty',                 'https://example.com/#'),
    ('fragment: with "/" and "?"',      'https://example.com/#/a?b'),
    ('fragment: two "#"',               'https://example.com/#a#b'),
    ('fragment: no path',               'https://example.com#top'),
    -- paths
    ('path: dot segments',              'https://example.com/a/../../../etc/passwd'),
    ('path: double slashes',            'https://example.com//evil.example/'),
    ('path: colon and at sign',         'https://example.com/a:b@c'),
    ('path: tilde and dash',            'https://example.com/~user/a-b_c.d'),
    ('ipv6: IPvFuture, upper-case V',   'https://[V7.a:b]:8080/x');

UPDATE hostile SET outcome = pg_temp.outcome(url);

SELECT n, label, outcome FROM hostile ORDER BY n;

SELECT count(*) AS inputs,
       count(*) FILTER (WHERE outcome = 'stored') AS stored,
       count(*) FILTER (WHERE outcome <> 'stored') AS refused
FROM hostile;

-- One refusal in full: the detail says why, the hint how to write it.
SELECT shorten_url('http://0x7f.1/');

-- Nothing refused was stored, and every stored URL is kept byte for byte.
SELECT (SELECT count(*) FROM urls) = count(*) AS rows_equal_stored_outcomes
FROM hostile WHERE outcome = 'stored';
SELECT count(*) AS stored_exactly
FROM hostile h JOIN urls u ON u.original_url = h.url
WHERE h.outcome = 'stored';
SELECT count(*) AS refused_but_present
FROM hostile h JOIN urls u ON u.original_url = h.url
WHERE h.outcome <> 'stored';

-- Each stored URL resolves to itself.
SELECT count(*) FILTER (WHERE resolve_url(short_code) = original_url) AS resolving
FROM urls;
