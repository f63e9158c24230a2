# 003_batch_rounds.pl: shorten_urls needs the memory of one round, however
# many rounds it takes, and a cancel stops it.
#
# Memory: a 2^18-code space (alphabet "ab", 18 characters) is filled but
# for 1,024 codes, so a batch of 100,000 URLs finds almost every code it
# draws taken and goes through all of its max_attempts rounds with about
# 100,000 URLs each (then fails with US001).  At DEBUG1 each round reports
# the backend's allocated memory (MemoryContextMemAllocated of
# TopMemoryContext, every context) at the end of the round, before its
# memory is released.  Before each round had its own memory, every round
# added its arrays, hash table and results to the call's (about 12 MB per
# round at this size); now the last round must end within 4 MB of the first.
# What this proves: nothing of a round outlives it.  It does not measure the
# process's resident size.
#
# Cancel: a batch of 70,000 URLs into a 2^16-code space ("ab", 16
# characters) with max_attempts 1,000 fills the space in its first round
# and then goes through 999 more for the 4,000 or so URLs left over (about
# 11 s here).  Once the session holds the batch lock (taken after
# validation, just before the first draw), pg_cancel_backend must end the
# call with 57014, store nothing and release the lock, and another
# session's batch must run.  Where in the call the cancel lands is not
# controlled here; test/fault/run stops a batch at a draw (gdb) and shows
# that a cancel lands in the middle of the draws.  No duration is asserted.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('batch');
$node->init;
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION url_shortener');

my $space = 2**18;
my $free = 1024;
my $urls = 100000;
my $rounds = 6;
$node->safe_psql('postgres',
    "INSERT INTO urls (short_code, original_url) " .
    "SELECT translate(i::bit(18)::text, '01', 'ab'), 'https://prefill.example/' " .
    "FROM generate_series(0, $space - 1) i WHERE i % " . ($space / $free) . " <> 0");

my ($status, $stdout, $stderr) = $node->psql('postgres', qq{
    SET url_shortener.alphabet = 'ab';
    SET url_shortener.code_length = 18;
    SET url_shortener.max_attempts = $rounds;
    SET client_min_messages = debug1;
    SELECT count(*) FROM shorten_urls(ARRAY(
        SELECT 'https://round.example/' || i FROM generate_series(1, $urls) i));
});
like($stderr, qr/ERROR:  could not find free short codes after $rounds attempts/,
    'the batch ran out of attempts, as planned');

my @rounds;
while ($stderr =~ /shorten_urls round (\d+): (\d+) URLs pending, (\d+) drawn, (\d+) bytes of backend memory/g)
{
    push @rounds, { round => $1, pending => $2, drawn => $3, bytes => $4 };
}
is(scalar @rounds, $rounds, "every round reported its memory");
ok((grep { $_->{drawn} >= 0.9 * $urls } @rounds) == $rounds,
    'every round drew codes for at least 90% of the URLs');
my $first = $rounds[0]{bytes};
my ($highest) = sort { $b <=> $a } map { $_->{bytes} } @rounds;
note join ', ', map { "round $_->{round}: $_->{drawn} drawn, $_->{bytes} bytes" } @rounds;
cmp_ok($highest - $first, '<', 4 * 1024 * 1024,
    'no round ends with more than 4 MB more backend memory than the first');
is($node->safe_psql('postgres', 'SELECT count(*) FROM urls'), $space - $free,
    'the failed batch stored nothing');

# Cancel.
$node->safe_psql('postgres', 'TRUNCATE urls');
my $batch = $node->background_psql('postgres', on_error_stop => 0);
my $pid = $batch->query_safe('SELECT pg_backend_pid()');
$batch->query_safe(q{SET url_shortener.alphabet = 'ab'; SET url_shortener.code_length = 16;
    SET url_shortener.max_attempts = 1000});
$batch->query_until(qr/started/, "\\echo started\n" .
    "SELECT count(*) FROM shorten_urls(ARRAY(" .
    "SELECT 'https://cancel.example/' || i FROM generate_series(1, 70000) i));\n");
ok($node->poll_query_until('postgres',
    "SELECT count(*) = 1 FROM pg_locks WHERE pid = $pid AND locktype = 'object' " .
    "AND classid = 'pg_extension'::regclass AND objsubid = 2 AND granted"),
    'the batch holds the batch lock: it is running');
is($node->safe_psql('postgres', "SELECT pg_cancel_backend($pid)"), 't', 'the batch is cancelled');
my $after = $batch->query("SELECT 'session usable'");
like($batch->{stderr}, qr/canceling statement due to user request/,
    'the batch ended with the cancel error');
is($after, 'session usable', 'the session goes on');
# While the cancelled session is still open (its end would release any
# lock it kept): the lock is gone, and another session's batch runs (under
# a statement timeout, so a lock still held fails the test, not hangs it).
is($node->safe_psql('postgres', 'SELECT count(*) FROM urls'), '0', 'the cancelled batch stored nothing');
is($node->safe_psql('postgres',
    "SELECT count(*) FROM pg_locks WHERE pid = $pid AND locktype = 'object' " .
    "AND classid = 'pg_extension'::regclass"),
    '0', 'the cancelled session holds no batch lock');
is($node->safe_psql('postgres',
    "SET statement_timeout = '60s'; " .
    "SELECT count(*) FROM shorten_urls(ARRAY['https://next.example/1', 'https://next.example/2'])"),
    '2', 'the next batch runs, beside the cancelled session');
$batch->quit;

$node->stop;
done_testing();
