# 004_connection_options.pl: a url_shortener setting in a connection's
# options (PGOPTIONS, options=) from a role that may not set it.  Until
# the module loads, the setting is a placeholder that keeps one value, so
# the connection's value replaces the administrator's (ALTER SYSTEM,
# ALTER DATABASE ... SET) there; PostgreSQL then refuses it when the
# module defines the setting, and the session would go on with the
# built-in default: a role with only EXECUTE could undo the
# administrator's limit.  The module ends such a session (FATAL, as
# PostgreSQL does when the module is preloaded); the same options from a
# superuser are applied.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('options');
$node->init;
$node->start;
$node->safe_psql('postgres', q{
    CREATE EXTENSION url_shortener;
    CREATE ROLE app LOGIN;
    GRANT EXECUTE ON FUNCTION shorten_url(text, text, boolean, timestamptz, bigint, text) TO app;
    ALTER SYSTEM SET url_shortener.max_url_length = 100;
    ALTER DATABASE postgres SET url_shortener.code_length = 9;
});
$node->reload;

my $long = "'https://options.example/' || repeat('x', 500)";
my $call = "SELECT current_setting('url_shortener.max_url_length'), " .
    "length(shorten_url('https://options.example/short'))";

# As app, without options: the administrator's values.
my ($rc, $out, $err) = $node->psql('postgres', $call, extra_params => ['-U', 'app']);
is($out, '100|9', "without options, app's calls take the administrator's values");
($rc, $out, $err) = $node->psql('postgres', "SELECT shorten_url($long)",
    extra_params => ['-U', 'app']);
like($err, qr/url is too long/, 'and a 525-byte URL is refused');

# As app, asking for values it may not set.
{
    local $ENV{PGOPTIONS} = '-c url_shortener.max_url_length=2000 -c url_shortener.code_length=1';
    ($rc, $out, $err) = $node->psql('postgres', "SELECT shorten_url($long)",
        extra_params => ['-U', 'app']);
}
isnt($rc, 0, 'with url_shortener settings in its options, the call of app fails');
like($err, qr/FATAL:  permission denied to set parameter "url_shortener\.(code_length|max_url_length)"/,
    'the session ends: permission denied to set the parameter');
is($node->safe_psql('postgres',
    "SELECT count(*) FROM urls WHERE original_url LIKE 'https://options.example/x%'"),
    '0', 'and the long URL was not stored');

# Through the connection string, the same.
($rc, $out, $err) = $node->psql('postgres', "SELECT shorten_url($long)",
    connstr => $node->connstr('postgres') .
        " user=app options='-c url_shortener.max_url_length=2000'");
like($err, qr/FATAL:  permission denied to set parameter "url_shortener\.max_url_length"/,
    'options= in the connection string: the same');

# A superuser's options are applied.
{
    local $ENV{PGOPTIONS} = '-c url_shortener.max_url_length=2000 -c url_shortener.code_length=7';
    ($rc, $out, $err) = $node->psql('postgres', $call);
}
is($out, '2000|7', "a superuser's options are applied");

# A role granted SET on the parameter: its options are applied.
$node->safe_psql('postgres', 'GRANT SET ON PARAMETER url_shortener.max_url_length TO app');
{
    local $ENV{PGOPTIONS} = '-c url_shortener.max_url_length=2000';
    ($rc, $out, $err) = $node->psql('postgres', "SELECT length(shorten_url($long))",
        extra_params => ['-U', 'app']);
}
is($out, '9', 'a role granted SET on the parameter has its option applied (the long URL is stored)');
$node->safe_psql('postgres', 'REVOKE SET ON PARAMETER url_shortener.max_url_length FROM app');

# A value no role may set ends the session too (the administrator's would be lost).
{
    local $ENV{PGOPTIONS} = '-c url_shortener.code_length=99';
    ($rc, $out, $err) = $node->psql('postgres', $call);
}
like($err, qr/FATAL:  invalid value for parameter "url_shortener\.code_length" in the connection's options/,
    'an invalid value in the options ends the session');

# Another role's session meanwhile keeps the administrator's values.
($rc, $out, $err) = $node->psql('postgres', $call, extra_params => ['-U', 'app']);
is($out, '100|9', 'later sessions of app still take the administrator\'s values');

$node->stop;
done_testing();
