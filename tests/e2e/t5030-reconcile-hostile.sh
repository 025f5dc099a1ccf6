#!/bin/sh
# pgpsync reconcile against hostile peers, played by small perl stubs:
# a peer that refuses at once is "busy" and leaves nothing next to the
# set; one that breaks the protocol is reported as such and not retried
# by --wait; one that asks and never reads the answers does not make
# pgpsync buffer them; --listen refuses peers that are not allowed
# before the handshake.
. "$(dirname "$0")/lib.sh"

GENCERTS=$SRCDIR/tests/bench/gencerts

if ! command -v perl >/dev/null 2>&1 ||
    ! perl -MIO::Socket::INET -e 1 2>/dev/null || ! [ -x "$GENCERTS" ]; then
	test_skip 'reconcile with hostile peers' \
	    'needs perl with IO::Socket::INET and tests/bench/gencerts'
	test_done
fi

cat >peer.pl <<'PERL'
# peer.pl MODE: a hostile recon peer on 127.0.0.1; writes its port to
# peer.port and a line to peer.log for every connection.
#   close  closes every connection at once (SKS when busy)
#   cut    completes the handshake, sends a frame cut short and closes
#   flood  completes the handshake, then sends 50,000 requests for all
#          of our set and never reads the answers
use strict;
use IO::Socket::INET;
my $mode = shift;
my $s = IO::Socket::INET->new(Listen => 5, LocalAddr => '127.0.0.1',
    LocalPort => 0, ReuseAddr => 1) or die "listen: $!";
open(my $f, '>', 'peer.port.tmp') or die; print $f $s->sockport, "\n";
close($f); rename('peer.port.tmp', 'peer.port');
$SIG{ALRM} = sub { exit 0 };
alarm 60;
while (my $c = $s->accept) {
	open(my $l, '>>', 'peer.log'); print $l "$mode\n"; close($l);
	if ($mode eq 'close') { close($c); next; }
	# Our Config back (it matches ours), then the verdict.
	my ($len, $cfg) = ('', '');
	read($c, $len, 4) == 4 or next;
	read($c, $cfg, unpack('N', $len)) or next;
	print $c $len, $cfg, pack('N', 6), 'passed';
	if ($mode eq 'cut') {
		print $c pack('N', 32), "\x02\0\0";
		$c->flush; shutdown($c, 1);
		1 while sysread($c, my $junk, 65536);
	} else {
		# ReconRequestFull for the root with no elements, 17 octets.
		print $c pack('H*', '0000000d01' . '00' x 12) x 50000;
		$c->flush; sleep 30;
	}
	close($c);
}
PERL

# start_peer MODE: starts peer.pl in the background; $PEER is its port.
start_peer() {
	rm -f peer.port peer.log
	perl peer.pl "$1" &
	echo $! >peer.pid
	_i=0
	while ! test -s peer.port && test $_i -lt 50; do
		sleep 0.1; _i=$((_i + 1))
	done
	PEER=$(cat peer.port)
}

stop_peer() {
	kill "$(cat peer.pid)" 2>/dev/null
	wait "$(cat peer.pid)" 2>/dev/null
	true
}
test_at_exit 'test -f peer.pid && kill "$(cat peer.pid)" 2>/dev/null'

test_expect_success 'setup' '
	"$GENCERTS" -n 300 -s 5301 -o A.pgp
'

test_expect_success 'a peer that closes at once: busy, nothing cached' '
	start_peer close &&
	test_expect_code 2 pgpsync reconcile --dry-run \
	    "recon://127.0.0.1:$PEER" A.pgp 2>busy.err &&
	grep -q "busy or does not list this host" busy.err &&
	test_expect_code 2 pgpsync reconcile "recon://127.0.0.1:$PEER" \
	    A.pgp 2>busy2.err &&
	stop_peer &&
	! test -e A.pgp.ptree && ! test -e A.pgp.index
'

test_expect_success 'a peer that breaks off mid-session: an error, no retry' '
	start_peer cut &&
	start=$(date +%s) &&
	test_expect_code 2 pgpsync reconcile --wait 20 --dry-run \
	    "recon://127.0.0.1:$PEER" A.pgp 2>cut.err &&
	test $(($(date +%s) - start)) -le 5 &&
	stop_peer &&
	cat cut.err &&
	test $(wc -l <peer.log) -eq 1 &&
	grep -q "reconciliation failed: the peer closed the connection before the end" cut.err &&
	! grep -q busy cut.err
'

test_expect_success 'a peer that asks and never reads: memory stays bounded' '
	start_peer flood &&
	test_expect_code 2 /usr/bin/time -f %M -o rss pgpsync reconcile \
	    --timeout 3 --dry-run "recon://127.0.0.1:$PEER" A.pgp \
	    2>flood.err &&
	stop_peer &&
	cat flood.err rss &&
	grep -q "within 3.0 s" flood.err &&
	test "$(tail -n 1 rss)" -lt 100000
'

# knock PORT: connects to 127.0.0.1:PORT (retrying for 5 s until it
# listens) and writes how many octets came within 2 s to knock.out.
cat >knock.pl <<'PERL'
use strict;
use IO::Socket::INET;
my $c;
for (1 .. 50) {
	$c = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
	    PeerPort => $ARGV[0]) and last;
	select(undef, undef, undef, 0.1);
}
die "cannot connect" unless $c;
my ($n, $b) = (0, '');
eval {
	local $SIG{ALRM} = sub { die "alarm\n" };
	alarm 2;
	while (my $k = sysread($c, $b, 65536)) { $n += $k; }
	alarm 0;
};
open(my $f, '>', 'knock.out'); print $f "$n\n"; close($f);
PERL

# free_port: a TCP port on 127.0.0.1 that nothing listens on.
free_port() {
	perl -MIO::Socket::INET -e 'print IO::Socket::INET->new(Listen => 1,
	    LocalAddr => q(127.0.0.1), LocalPort => 0)->sockport'
}

# listen_bg ERR ARGS...: pgpsync reconcile --listen ARGS in the background,
# its standard error to ERR; listen_wait then gives its exit status.
listen_bg() {
	_err=$1
	shift
	pgpsync reconcile --listen "$@" 2>"$_err" &
	echo $! >listen.pid
}

listen_wait() {
	wait "$(cat listen.pid)"
}

test_expect_success 'listen: a peer not allowed is refused before the handshake' '
	P=$(free_port) &&
	listen_bg refused.err --timeout 3 --allow 10.0.0.0/8 \
	    --allow 2001:db8::/32 --dry-run "recon://127.0.0.1:$P" A.pgp &&
	perl knock.pl "$P" &&
	test_expect_code 2 listen_wait &&
	cat refused.err &&
	test "$(cat knock.out)" = 0 &&
	grep -q "refused a connection from 127.0.0.1" refused.err &&
	grep -q "no allowed peer connected within 3.0 s" refused.err
'

test_expect_success 'listen: loopback peers by default, an allowed one from a file' '
	P=$(free_port) &&
	listen_bg default.err --timeout 3 --dry-run "recon://127.0.0.1:$P" \
	    A.pgp &&
	perl knock.pl "$P" &&
	test_expect_code 2 listen_wait &&
	test "$(cat knock.out)" -gt 0 &&
	! grep -q refused default.err &&
	printf "# members\n10.1.1.1 11370\n127.0.0.1 11370\n" >members &&
	listen_bg file.err --timeout 3 --dry-run --allow-file members \
	    "recon://127.0.0.1:$P" A.pgp &&
	perl knock.pl "$P" &&
	test_expect_code 2 listen_wait &&
	test "$(cat knock.out)" -gt 0 &&
	! grep -q refused file.err
'

test_expect_success 'allow lists: usage and file errors' '
	test_expect_code 2 pgpsync reconcile --listen --dry-run \
	    "recon://0.0.0.0:11370" A.pgp 2>any.err &&
	grep -q "needs --allow or --allow-file" any.err &&
	test_expect_code 2 pgpsync reconcile --allow 10.0.0.1 \
	    "recon://127.0.0.1:1" A.pgp &&
	test_expect_code 2 pgpsync reconcile --listen --allow 10.0.0.0/33 \
	    "recon://127.0.0.1:1" A.pgp &&
	printf "10.0.0.0/8\n::1/200\n" >bad-members &&
	test_expect_code 2 pgpsync reconcile --listen \
	    --allow-file bad-members "recon://127.0.0.1:1" A.pgp 2>bad.err &&
	grep -q "bad-members. line 2" bad.err &&
	test_expect_code 2 pgpsync reconcile --listen --allow-file nosuch \
	    "recon://127.0.0.1:1" A.pgp
'

test_done
