#!/bin/sh
# pgpsync reconcile against hostile peers, played by small perl stubs:
# a peer that refuses at once is "busy" and leaves nothing next to the
# set; one that breaks the protocol is reported as such and not retried
# by --wait; one that asks and never reads the answers does not make
# pgpsync buffer them.
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

test_done
