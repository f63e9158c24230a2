# 002_killed_lock_holder.pl: a session killed while it holds the generation
# lock of shorten_url_locked releases it, and so does one whose
# transaction ends while the session stays open.  One session takes the lock
# (BEGIN; shorten_url_locked) and stays idle in its transaction; a second
# session's shorten_url_locked waits on the advisory lock; the first is
# terminated with pg_terminate_backend; the second then proceeds and
# stores its link, and the killed session's link is not stored.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('killed');
$node->init;
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION url_shortener');

my $holder = $node->background_psql('postgres');
my $holder_pid = $holder->query_safe('SELECT pg_backend_pid()');
$holder->query_safe('BEGIN');
like($holder->query_safe("SELECT shorten_url_locked('https://killed.example/')"),
    qr/^[A-Za-z0-9]{6}$/, 'the holder drew a code inside its open transaction');
is($node->safe_psql('postgres',
    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = $holder_pid " .
    "AND classid = 1431456851 AND objid = 1 AND objsubid = 2 AND granted"),
    '1', 'the holder has the generation lock');

my $waiter = $node->background_psql('postgres');
my $waiter_pid = $waiter->query_safe('SELECT pg_backend_pid()');
$waiter->query_until(qr/waiting/,
    "\\echo waiting\nSELECT 'stored ' || shorten_url_locked('https://waiter.example/');\n");
ok($node->poll_query_until('postgres',
    "SELECT wait_event_type = 'Lock' AND wait_event = 'advisory' " .
    "FROM pg_stat_activity WHERE pid = $waiter_pid"),
    'the waiter waits on the advisory lock');

is($node->safe_psql('postgres', "SELECT pg_terminate_backend($holder_pid)"), 't',
    'the holder is terminated');
my $result = $waiter->query_until(qr/stored \S+\n/, '');
like($result, qr/^stored [A-Za-z0-9]{6}$/m, 'the waiter then proceeds and gets a code');
$waiter->quit;
$holder->quit;

is($node->safe_psql('postgres', 'SELECT original_url FROM urls ORDER BY 1'),
    'https://waiter.example/', "the waiter's link is stored, the killed session's is not");
is($node->safe_psql('postgres', "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"),
    '0', 'no advisory lock is left behind');
like($node->safe_psql('postgres', "SELECT shorten_url_locked('https://after.example/')"),
    qr/^[A-Za-z0-9]{6}$/, 'the lock is free for the next caller');

# The lock is the transaction's, not the session's (a session-level lock
# would pass the test above, as a terminated backend gives up every lock):
# a holder whose transaction ends, its session still open, releases it.
my $open = $node->background_psql('postgres');
my $open_pid = $open->query_safe('SELECT pg_backend_pid()');
$open->query_safe('BEGIN');
$open->query_safe("SELECT shorten_url_locked('https://committed.example/')");
my $next = $node->background_psql('postgres');
my $next_pid = $next->query_safe('SELECT pg_backend_pid()');
$next->query_until(qr/waiting/,
    "\\echo waiting\nSELECT 'stored ' || shorten_url_locked('https://next.example/');\n");
ok($node->poll_query_until('postgres',
    "SELECT wait_event_type = 'Lock' AND wait_event = 'advisory' " .
    "FROM pg_stat_activity WHERE pid = $next_pid"),
    'a second waiter waits on a holder that is still open');
$open->query_safe('COMMIT');
like($next->query_until(qr/stored \S+\n/, ''), qr/^stored [A-Za-z0-9]{6}$/m,
    "the holder's COMMIT, its session open, lets the waiter go on");
$next->quit;
is($node->safe_psql('postgres',
    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = $open_pid"),
    '0', 'the open session holds no advisory lock after its COMMIT');

$open->query_safe('BEGIN');
$open->query_safe("SELECT shorten_url_locked('https://rolled-back.example/')");
$open->query_safe('ROLLBACK');
is($node->safe_psql('postgres',
    "SET lock_timeout = '5s'; SELECT length(shorten_url_locked('https://after-rollback.example/'))"),
    '6', "nor after a ROLLBACK: another session's call does not wait");
$open->quit;

$node->stop;
done_testing();
