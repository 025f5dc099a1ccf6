# lib-hkpd.sh: stub keyservers (tests/hkpd/hkpd) for the end-to-end tests.
# Source after lib.sh.  Replies live in ./hkp, a copy of tests/data/hkp.

HKPD=$SRCDIR/tests/hkpd/hkpd
mkdir -p hkp && cp "$SRCDIR"/tests/data/hkp/* hkp/ || exit 1

# hkpd_reply NAME FILE: hkp/NAME answers 200 with FILE armored, as
# keyservers send it.
hkpd_reply() {
	printf 'HTTP/1.1 200 OK\r\nContent-Type: application/pgp-keys\r\n\r\n' \
	    >"hkp/$1" &&
	gpg --enarmor <"$2" | sed 's/ARMORED FILE/PUBLIC KEY BLOCK/' |
	    grep -v "^Comment:" >>"hkp/$1"
}

# hkpd_start NAME [ROUTE...]: a stub in the background, stopped at exit;
# its address (127.0.0.1:PORT) in $NAME.
hkpd_start() {
	_n=$1
	shift
	_args=
	for _r in "$@"; do
		_args="$_args -r '$_r'"
	done
	eval "\"$HKPD\" -d hkp -t 120 $_args \"$TRASH/$_n.port\" &"
	_pid=$!
	test_at_exit "kill $_pid 2>/dev/null"
	_i=0
	while [ ! -s "$TRASH/$_n.port" ] && [ $_i -lt 100 ]; do
		sleep 0.05
		_i=$((_i + 1))
	done
	eval "$_n=127.0.0.1:$(cat "$TRASH/$_n.port")"
}
