# lib-sks.sh: helpers for the tests that run one real SKS keyserver and
# build their certificates from the packets of the test keys; sourced
# after lib.sh.  They expect $FIXTURE (tests/sks/sks-fixture).

# dearmor FILE: the binary form of an armored test key.
dearmor() {
	gpg --batch --quiet --no-options --dearmor <"$1"
}

# bytes FILE OFFSET COUNT: COUNT bytes of FILE from 0-based OFFSET.
bytes() {
	tail -c +"$(($2 + 1))" "$1" | head -c "$3"
}

# sks_need WHAT: ends the test (skipping WHAT) unless SKS and curl are
# here; else sets $SKS, the directory of the instance, and removes it at
# exit.  SKS's Unix sockets live under it, so its path must stay short.
sks_need() {
	if ! test_have_prereq SKS; then
		test_skip "$1" 'missing SKS (apt-get install sks)'
		test_done
	fi
	if ! command -v curl >/dev/null 2>&1; then
		test_skip "$1" 'missing curl'
		test_done
	fi
	SKS=$TRASH/sks
	if [ ${#SKS} -gt 80 ]; then
		SKS=$(mktemp -d /tmp/pgps-sks.XXXXXX)/sks
	fi
	test_at_exit 'cd / && "$FIXTURE" destroy "$SKS"'
	if [ "$SKS" != "$TRASH/sks" ]; then
		test_at_exit 'rmdir "${SKS%/sks}"'
	fi
}

# sks_index FPRS OUT: "<hash> <fingerprint>" for each fingerprint of FPRS
# as SKS's HTML index lists it with hash=on (the hash SKS computes),
# sorted by fingerprint.
sks_index() {
	sks_hkp=$("$FIXTURE" port "$SKS" hkp) || return 1
	awk -v base="http://127.0.0.1:$sks_hkp/pks/lookup?op=index" '{
		printf "url = \"%s&fingerprint=on&hash=on&search=0x%s\"\n",
		    base, $1
	}' "$1" >urls &&
	curl -sS --noproxy '*' --max-time 50 -K urls >index.html &&
	awk '
	/^[ \t]*Hash=/ {
		h = $0
		sub(/<\/a>.*/, "", h)
		sub(/.*>/, "", h)
	}
	/^[ \t]*Fingerprint=/ {
		f = $0
		sub(/.*Fingerprint=/, "", f)
		gsub(/[^0-9A-F]/, "", f)
		print h, f
	}' index.html | sort -k2 >"$2"
}
