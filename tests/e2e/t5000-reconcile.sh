#!/bin/sh
# pgpsync reconcile against a real SKS 1.1.6: a set A and SKS's set B,
# overlapping and each with certificates the other lacks, end up both
# holding exactly A and B together, checked key by key by SKS hash.
# Covered: the tree descent (SyncFail, then Full requests), the
# FullElements fallback (a small set against a large one), upload with
# /pks/add, SKS fetching from --serve, SKS starting the reconciliation
# against --listen, the prefix-tree cache, --dry-run, and a peer that
# never answers.
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/e2e/lib-recon.sh"

FIXTURE=$SRCDIR/tests/sks/sks-fixture
GENCERTS=$SRCDIR/tests/bench/gencerts

if ! test_have_prereq SKS || ! command -v curl >/dev/null 2>&1 ||
    ! [ -x "$GENCERTS" ]; then
	test_skip 'reconcile against SKS' \
	    'needs sks (apt-get install sks), curl and tests/bench/gencerts'
	test_done
fi

# SKS's sockets need a short path.
TMPD=$(mktemp -d /tmp/pgps-t5000.XXXXXX) || exit 1
S1=$TMPD/s1
S2=$TMPD/s2
test_at_exit 'cd / && "$FIXTURE" destroy "$S1" >/dev/null 2>&1
"$FIXTURE" destroy "$S2" >/dev/null 2>&1
rm -rf "$TMPD"'

test_expect_success 'setup: A and B share 400 certificates, 200 and 150 own' '
	"$GENCERTS" -n 400 -s 5001 -o common.pgp &&
	"$GENCERTS" -n 200 -s 5002 -o aonly.pgp &&
	"$GENCERTS" -n 150 -s 5003 -o bonly.pgp &&
	cat common.pgp aonly.pgp >A.pgp &&
	cat common.pgp bonly.pgp >B.pgp &&
	hashes aonly.pgp >aonly.h &&
	hashes bonly.pgp >bonly.h &&
	hashes A.pgp B.pgp >union.h &&
	test $(wc -l <union.h) -eq 750 &&
	"$FIXTURE" start "$S1" --no-gossip --owner $$ --keys B.pgp &&
	R1=$("$FIXTURE" port "$S1" recon) &&
	echo "$R1" >r1
'
R1=$(cat r1 2>/dev/null)

test_expect_success 'dry run: the exact difference both ways, exit 1' '
	cp A.pgp A0.pgp &&
	test_expect_code 1 pgpsync reconcile --dry-run --json \
	    "recon://127.0.0.1:$R1" A0.pgp >dry.json &&
	jlist dry.json we_lack_hashes >lack.h &&
	jlist dry.json peer_lacks_hashes >give.h &&
	test_cmp bonly.h lack.h &&
	test_cmp aonly.h give.h &&
	test "$(jnum dry.json rounds)" -ge 2 &&
	test "$(jnum dry.json requests_full)" -ge 4 &&
	test "$(jnum dry.json bytes_sent)" -gt 0 &&
	test "$(jnum dry.json bytes_received)" -gt 0 &&
	cmp A.pgp A0.pgp
'

test_expect_success 'reconcile: A gets B'"'"'s certificates, SKS gets A'"'"'s' '
	pgpsync reconcile --wait 40 --json "recon://127.0.0.1:$R1" \
	    A.pgp >run.json &&
	test "$(jnum run.json fetched)" -eq 150 &&
	test "$(jnum run.json pushed)" -eq 200 &&
	hashes A.pgp >a.h &&
	test_cmp union.h a.h &&
	test -s A.pgp.ptree && test -s A.pgp.index &&
	"$FIXTURE" wait "$S1" --count 750 --timeout 20 &&
	sks_hashes "$S1" >s1.h &&
	test_cmp union.h s1.h
'

test_expect_success 'a second reconcile finds no difference (cached tree)' '
	pgpsync reconcile --dry-run --wait 40 --json \
	    "recon://127.0.0.1:$R1" A.pgp >again.json &&
	test "$(jnum again.json we_lack)" -eq 0 &&
	test "$(jnum again.json peer_lacks)" -eq 0 &&
	grep -q "\"cache\": \"used\"" again.json
'

test_expect_success 'a changed set is hashed again, not taken from the cache' '
	cp A.pgp A2.pgp &&
	pgpsync reconcile --dry-run --wait 40 --json \
	    "recon://127.0.0.1:$R1" A2.pgp >c1.json &&
	cat bonly.pgp >>A2.pgp &&
	pgpsync reconcile --dry-run --wait 40 --json \
	    "recon://127.0.0.1:$R1" A2.pgp >c2.json &&
	grep -q "\"cache\": \"built\"" c2.json &&
	test "$(jnum c2.json local_certificates)" -eq 750
'

test_expect_success 'a failed fetch leaves the set as it was, exit 3' '
	cp A.pgp A3.pgp &&
	cat bonly.pgp >>A3.pgp &&
	"$GENCERTS" -n 5 -s 5005 -o five.pgp &&
	"$FIXTURE" add "$S1" five.pgp &&
	cp A3.pgp A3.orig &&
	chmod 600 A3.pgp &&
	i=0 &&
	until pgpsync reconcile --dry-run --json "recon://127.0.0.1:$R1" \
	    A3.pgp >f0.json; test $? -eq 1 || test $i -ge 30; do
		sleep 1; i=$((i + 1))
	done &&
	test "$(jnum f0.json we_lack)" -eq 5 &&
	test_expect_code 3 pgpsync reconcile --wait 40 --no-push \
	    --http-port 1 "recon://127.0.0.1:$R1" A3.pgp &&
	cmp A3.pgp A3.orig &&
	pgpsync reconcile --wait 40 --no-push "recon://127.0.0.1:$R1" A3.pgp &&
	test "$(stat -c %a A3.pgp)" = 600 &&
	cat five.pgp >>A3.orig &&
	hashes A3.pgp >a3.h &&
	hashes A3.orig >a3o.h &&
	test_cmp a3o.h a3.h
'

if command -v perl >/dev/null 2>&1 &&
    perl -MIO::Socket::INET -e 1 2>/dev/null; then
	# An HTTP port that answers with a header and then one octet a
	# second: the fetch ends at --timeout, keeps the set, exit 3.
	test_expect_success 'a peer that dribbles its hashquery answer: --timeout' '
		perl -MIO::Socket::INET -e "
		    my \$s = IO::Socket::INET->new(Listen => 5,
			LocalAddr => q(127.0.0.1), LocalPort => 0) or die;
		    open my \$f, q(>), q(drip.port); print \$f \$s->sockport;
		    close \$f; alarm 60; \$SIG{PIPE} = q(IGNORE);
		    while (my \$c = \$s->accept) {
			my \$h = q(); sysread(\$c, \$h, 65536);
			syswrite(\$c, qq(HTTP/1.0 200 OK\\r\\n) .
			    qq(Content-Length: 100000\\r\\n\\r\\n));
			for (1 .. 60) { syswrite(\$c, q(x)) or last; sleep 1; }
		    }" &
		echo $! >drip.pid &&
		cp A.pgp A4.pgp &&
		i=0 &&
		while ! test -s drip.port && test $i -lt 50; do
			sleep 0.1; i=$((i + 1))
		done &&
		test_expect_code 3 pgpsync reconcile --wait 40 --no-push \
		    --timeout 4 --http-port "$(cat drip.port)" --json \
		    "recon://127.0.0.1:$R1" A4.pgp >drip.json 2>drip.err &&
		kill $(cat drip.pid) &&
		cat drip.err &&
		grep -q "fetching not finished within 4.0 s" drip.err &&
		test "$(jnum drip.json we_lack)" -eq 5 &&
		test "$(jnum drip.json fetched)" -eq 0 &&
		secs=$(sed -n "s/^  \"seconds_fetching\": \([0-9]*\).*/\1/p" \
		    drip.json) &&
		test "$secs" -le 9 &&
		cmp A.pgp A4.pgp
	'
fi

test_expect_success 'a directory of 80 against 750: FullElements, --serve' '
	pgpsync -q dump split -n 50 -o split common.pgp &&
	mkdir small &&
	cp split/sks-dump-0000.pgp small/c.pgp &&
	"$GENCERTS" -n 30 -s 5004 -o new.pgp &&
	pgpsync dump merge --armor -o small/new.asc new.pgp &&
	hashes new.pgp >new.h &&
	hashes small/new.asc >newasc.h &&
	test_cmp new.h newasc.h &&
	hashes five.pgp >five.h &&
	sort -u union.h new.h five.h >union2.h &&
	pgpsync reconcile --serve --wait 40 --json \
	    "recon://127.0.0.1:$R1" small >small.json &&
	test "$(jnum small.json peer_may_lack)" -gt 0 &&
	test "$(jnum small.json served)" -eq 30 &&
	test "$(jnum small.json fetched)" -eq 705 &&
	ls small/pgpsync-*.pgp >written &&
	test $(wc -l <written) -eq 1 &&
	hashes small >d.h &&
	test_cmp union2.h d.h &&
	"$FIXTURE" wait "$S1" --count 785 --timeout 20 &&
	sks_hashes "$S1" >s1b.h &&
	test_cmp union2.h s1b.h
'

test_expect_success 'SKS starts the reconciliation against --listen' '
	P=$("$FIXTURE" ports 1) &&
	"$FIXTURE" start "$S2" --peer "$P" --gossip-interval 60 \
	    --owner $$ --keys B.pgp &&
	cat common.pgp aonly.pgp >L.pgp &&
	{ pgpsync reconcile --listen --timeout 40 --json \
	    "recon://127.0.0.1:$P" L.pgp >listen.json 2>listen.err &
	  echo $! >listen.pid; } &&
	wait_listening "$P" &&
	"$FIXTURE" sync "$S2" &&
	wait $(cat listen.pid) &&
	test "$(jnum listen.json fetched)" -eq 150 &&
	test "$(jnum listen.json served)" -eq 200 &&
	grep -q "\"role\": \"driver\"" listen.json &&
	hashes L.pgp >l.h &&
	test_cmp union.h l.h &&
	"$FIXTURE" wait "$S2" --count 750 --timeout 20 &&
	sks_hashes "$S2" >s2.h &&
	test_cmp union.h s2.h
'

test_expect_success 'usage errors' '
	test_expect_code 2 pgpsync reconcile "recon://127.0.0.1:1" &&
	test_expect_code 2 pgpsync reconcile "hkp://127.0.0.1" A.pgp &&
	test_expect_code 2 pgpsync reconcile "recon://127.0.0.1:99999" A.pgp &&
	test_expect_code 2 pgpsync reconcile "recon://127.0.0.1:$R1" nosuch
'

if command -v perl >/dev/null 2>&1 &&
    perl -MIO::Socket::INET -e 1 2>/dev/null; then
	test_expect_success 'a peer that accepts and never answers: time-out' '
		perl -MIO::Socket::INET -e "
		    my \$s = IO::Socket::INET->new(Listen => 1,
			LocalAddr => q(127.0.0.1), LocalPort => 0) or die;
		    open my \$f, q(>), q(silent.port); print \$f \$s->sockport;
		    close \$f; my \$c = \$s->accept; sleep 20;" &
		echo $! >silent.pid &&
		i=0 &&
		while ! test -s silent.port && test $i -lt 50; do
			sleep 0.1; i=$((i + 1))
		done &&
		start=$(date +%s) &&
		test_expect_code 2 pgpsync reconcile --timeout 2 \
		    "recon://127.0.0.1:$(cat silent.port)" A.pgp 2>silent.err &&
		test $(($(date +%s) - start)) -le 6 &&
		grep -q "no handshake within" silent.err &&
		kill $(cat silent.pid)
	'
fi

"$FIXTURE" stop "$S1" >/dev/null 2>&1
"$FIXTURE" stop "$S2" >/dev/null 2>&1
test_done
