# 005_hot_standby.pl: the functions on a hot standby.  Those that only
# read (url_stats, url_shortener_capacity) answer there; every function
# that writes (but url_shortener_distribute, which is for Citus and
# refuses to run without it) fails with 25006, read-only transaction, as PostgreSQL
# refuses a write there, so that a client or a pooler that routes on it
# sees a read-only server: shorten_urls and purge_urls too, which take a
# lock of their own first (before, the lock manager's 55000 about lock
# modes during recovery).
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
$primary->start;
$primary->safe_psql('postgres', 'CREATE EXTENSION url_shortener');
my $code = $primary->safe_psql('postgres', "SELECT shorten_url('https://standby.example/')");
$primary->backup('backup');

my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'backup', has_streaming => 1);
$standby->start;
$primary->wait_for_catchup($standby);
is($standby->safe_psql('postgres', 'SELECT pg_is_in_recovery()'), 't', 'the standby is in recovery');

is($standby->safe_psql('postgres', "SELECT original_url FROM url_stats('$code')"),
    'https://standby.example/', 'url_stats answers on the standby');
is($standby->safe_psql('postgres', 'SELECT count(*) > 0 FROM url_shortener_capacity()'),
    't', 'so does url_shortener_capacity');

foreach my $call (
    "shorten_url('https://standby.example/new')",
    "shorten_url_locked('https://standby.example/new')",
    "shorten_url('https://standby.example/new', reuse => true)",
    "shorten_url('https://standby.example/new', idempotency_key => 'k')",
    "shorten_urls(ARRAY['https://standby.example/new'])",
    "shorten_urls(ARRAY['https://standby.example/new'], ARRAY['k'])",
    "resolve_url('$code')",
    "update_url('$code', 'https://standby.example/other', 1)",
    "disable_url('$code')",
    "disable_url('$code', 1)",
    "enable_url('$code')",
    "enable_url('$code', 1)",
    "delete_url('$code')",
    "delete_url('$code', 1)",
    "release_code('$code')",
    "purge_urls()")
{
    my ($rc, $out, $err) = $standby->psql('postgres',
        "\\set VERBOSITY sqlstate\nSELECT * FROM $call");
    is($err, 'psql:<stdin>:2: ERROR:  25006', "$call: 25006 on the standby");
}

$standby->stop;
$primary->stop;
done_testing();
