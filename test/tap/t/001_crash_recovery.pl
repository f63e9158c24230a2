# 001_crash_recovery.pl: links survive a crash exactly as acknowledged.
#
# Shorten and resolve clients run against a fresh cluster, each a psql
# session working through a long script and printing every result it
# receives.  psql prints a result only once the server has reported the
# statement complete, which in autocommit mode is after the commit, so every
# printed line is an acknowledged write.  The server is stopped in
# immediate mode (no shutdown checkpoint; recovery replays WAL) while they
# run, restarted, and then:
#   - every acknowledged code resolves to its URL;
#   - no code is stored twice (the primary key index is checked against
#     the heap with amcheck, and the heap is scanned without the index);
#   - each link's clicks are at least its acknowledged resolves, and at most
#     one unacknowledged (in-flight) call per client has taken effect.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;

my $shorten_clients = 3;     # two shorten_url, one shorten_url_locked
my $resolve_clients = 2;
my $preloaded = 50;          # links the resolvers click
my $calls = 100000;          # statements per client script: more than run before the crash
my $crash_after_rows = 600;  # links committed before the crash ...
my $crash_after_clicks = 600;    # ... and clicks

my $node = PostgreSQL::Test::Cluster->new('crash');
$node->init;
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION url_shortener; CREATE EXTENSION amcheck');

# Links for the resolvers, committed before any client starts.
my %preloaded_url;
for my $line (split /\n/, $node->safe_psql('postgres',
    "SELECT shorten_url(u) || ' ' || u FROM (SELECT 'https://preloaded.example/' || i AS u " .
    "FROM generate_series(1, $preloaded) i) s"))
{
    my ($code, $url) = split / /, $line;
    $preloaded_url{$code} = $url;
}
my @preloaded_codes = sort keys %preloaded_url;
is(scalar @preloaded_codes, $preloaded, 'preloaded links');

# Writes a client script and starts psql on it; its output goes to a file.
my $dir = PostgreSQL::Test::Utils::tempdir;
my @clients;
sub start_client
{
    my ($name, $make_statement) = @_;
    my $script = "$dir/$name.sql";
    open my $fh, '>', $script or die "$script: $!";
    print $fh $make_statement->($_), "\n" for 1 .. $calls;
    close $fh;
    my $out = "$dir/$name.out";
    my $h = IPC::Run::start(
        [ 'psql', '-X', '-At', '-d', $node->connstr('postgres'), '-f', $script ],
        '<', \undef, '>', $out, '2>', "$dir/$name.err");
    push @clients, { name => $name, handle => $h, out => $out };
}

for my $c (1 .. $shorten_clients)
{
    my $function = $c == $shorten_clients ? 'shorten_url_locked' : 'shorten_url';
    start_client("shorten$c", sub {
        my $url = "https://crash.example/$c/$_[0]";
        "SELECT 'S ' || $function('$url') || ' $url';";
    });
}
for my $c (1 .. $resolve_clients)
{
    start_client("resolve$c", sub {
        my $code = $preloaded_codes[ ($_[0] * 7 + $c) % $preloaded ];
        "SELECT 'R $code ' || resolve_url('$code');";
    });
}

# Crash once enough work is committed (counted by the server, not by time).
$node->poll_query_until('postgres',
    "SELECT (SELECT count(*) FROM urls) >= $preloaded + $crash_after_rows " .
    "AND (SELECT sum(clicks) FROM urls) >= $crash_after_clicks")
  or die 'the clients did not get going';
$node->stop('immediate');

# Each psql exits when its connection is lost; its output is then complete.
for my $client (@clients)
{
    $client->{handle}->finish;
}

my (%acknowledged_url, %acknowledged_clicks);
my ($shortens, $resolves, $duplicates, $wrong_targets) = (0, 0, 0, 0);
for my $client (@clients)
{
    for my $line (split /\n/, slurp_file($client->{out}))
    {
        my ($kind, $code, $url) = split / /, $line;
        if ($kind eq 'S')
        {
            $duplicates++ if exists $acknowledged_url{$code};
            $acknowledged_url{$code} = $url;
            $shortens++;
        }
        elsif ($kind eq 'R')
        {
            $wrong_targets++ if ($url // '') ne $preloaded_url{$code};
            $acknowledged_clicks{$code}++;
            $resolves++;
        }
        else
        {
            die "unexpected output line from $client->{name}: $line";
        }
    }
}
note "acknowledged before the crash: $shortens shortens, $resolves resolves";
cmp_ok($shortens, '>=', $crash_after_rows - $shorten_clients, 'shortens were acknowledged before the crash');
cmp_ok($resolves, '>=', $crash_after_clicks - $resolve_clients, 'resolves were acknowledged before the crash');
is($duplicates, 0, 'no code was returned twice');
is($wrong_targets, 0, 'every acknowledged resolve returned its link');

$node->start;
ok($node->log_contains('database system was interrupted|was not properly shut down'),
    'the restart ran crash recovery');

# The links and clicks after recovery, read without calling resolve_url.
my %stored_url;
for my $line (split /\n/, $node->safe_psql('postgres',
    'SELECT short_code, original_url, clicks FROM urls'))
{
    my ($code, $url, $clicks) = split /\|/, $line;
    $stored_url{$code} = [ $url, $clicks ];
}

my $missing = grep { !exists $stored_url{$_} || $stored_url{$_}[0] ne $acknowledged_url{$_} }
  keys %acknowledged_url;
is($missing, 0, "all $shortens acknowledged codes are stored with their URL");

my $stored_by_clients = (keys %stored_url) - $preloaded;
cmp_ok($stored_by_clients - $shortens, '<=', $shorten_clients,
    'at most one unacknowledged shorten per client was kept');

my ($under_counted, $extra_clicks) = (0, 0);
for my $code (@preloaded_codes)
{
    my $acked = $acknowledged_clicks{$code} // 0;
    $under_counted++ if $stored_url{$code}[1] < $acked;
    $extra_clicks += $stored_url{$code}[1] - $acked;
}
is($under_counted, 0, "no link has fewer clicks than its acknowledged resolves ($resolves in all)");
cmp_ok($extra_clicks, '<=', $resolve_clients, 'at most one unacknowledged resolve per client was counted');

is($node->safe_psql('postgres',
    'SET enable_indexscan = off; SET enable_indexonlyscan = off; SET enable_bitmapscan = off; ' .
    'SELECT count(*) FROM (SELECT short_code FROM urls GROUP BY short_code HAVING count(*) > 1) d'),
    '0', 'no code exists twice in the heap');
is($node->safe_psql('postgres', "SELECT bt_index_check('urls_pkey', true)"), '',
    'the primary key index matches the heap (amcheck)');

# Acknowledged codes resolve through the function too.
my $values = join ',', map { "('$_', '$acknowledged_url{$_}')" } sort keys %acknowledged_url;
is($node->safe_psql('postgres',
    "SELECT count(*) FROM (VALUES $values) a(code, url) WHERE resolve_url(a.code) IS DISTINCT FROM a.url"),
    '0', 'every acknowledged code resolves to its URL');

# And the server takes new links after recovery.
like($node->safe_psql('postgres', "SELECT shorten_url('https://after-recovery.example/')"),
    qr/^[A-Za-z0-9]{6}$/, 'shorten_url works after recovery');

$node->stop;
done_testing();
