# lib.sh: the end-to-end test harness (a small subset of git's test-lib.sh).
#
# A test script sources this file, runs test_expect_success blocks and ends
# with test_done; the output is TAP for prove.  Each script gets its own
# trash directory (also $HOME) and a private GNUPGHOME, and nothing in the
# user's environment (config, proxies, locale) leaks in.

set -u

TEST_NAME=$(basename "$0" .sh)
TEST_DIR=$(cd "$(dirname "$0")" && pwd)
SRCDIR=$(cd "$TEST_DIR/../.." && pwd)
TRASH=$SRCDIR/tests/trash/$TEST_NAME
export SRCDIR TRASH

rm -rf "$TRASH"
mkdir -p "$TRASH" || exit 1
cd "$TRASH" || exit 1

export HOME=$TRASH
export LC_ALL=C TZ=UTC PGPSYNC_CONFIG=/dev/null
export XDG_DATA_HOME=$TRASH/.local/share XDG_STATE_HOME=$TRASH/.local/state
export XDG_CONFIG_HOME=$TRASH/.config XDG_CACHE_HOME=$TRASH/.cache
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy NO_PROXY no_proxy
PATH=$SRCDIR/bin:$PATH
export PATH
# gpg-agent's socket path must stay short: keep GNUPGHOME in /tmp.
GNUPGHOME=$(mktemp -d /tmp/pgps-gpg.XXXXXX)
chmod 700 "$GNUPGHOME"
export GNUPGHOME

test_count=0
test_failed=0
test_cleanup_cmds=

test_at_exit() {
	test_cleanup_cmds="$test_cleanup_cmds
$1"
}

test_exit_trap() {
	eval "$test_cleanup_cmds"
	if command -v gpgconf >/dev/null 2>&1; then
		gpgconf --kill all >/dev/null 2>&1
	fi
	rm -rf "$GNUPGHOME"
}
trap test_exit_trap EXIT

# test_expect_success 'description' 'shell code'
test_expect_success() {
	test_count=$((test_count + 1))
	if (eval "$2") >"$TRASH/.out.$test_count" 2>&1; then
		echo "ok $test_count - $1"
	else
		test_failed=$((test_failed + 1))
		echo "not ok $test_count - $1"
		sed 's/^/#   /' "$TRASH/.out.$test_count"
		printf '#   %s\n' "$2" | head -40
	fi
}

# test_skip 'description' 'reason'
test_skip() {
	test_count=$((test_count + 1))
	echo "ok $test_count # skip $1 ($2)"
}

# test_expect_code N command...: the command must exit with status N.
test_expect_code() {
	want=$1
	shift
	"$@"
	got=$?
	if [ "$got" != "$want" ]; then
		echo "test_expect_code: '$*' exited $got, want $want" >&2
		return 1
	fi
	return 0
}

# test_must_fail command...: fails in an orderly way (status 1..125).
test_must_fail() {
	"$@"
	got=$?
	if [ "$got" -eq 0 ]; then
		echo "test_must_fail: '$*' succeeded" >&2
		return 1
	elif [ "$got" -gt 125 ]; then
		echo "test_must_fail: '$*' died with status $got" >&2
		return 1
	fi
	return 0
}

test_cmp() {
	diff -u "$1" "$2"
}

# test_have_prereq NAME: optional tools, as git's test_lazy_prereq.
test_have_prereq() {
	case $1 in
	GPG) command -v gpg >/dev/null 2>&1 ;;
	SKS) [ -x "${SKS_BIN:-/usr/sbin/sks}" ] ;;
	ZSH) command -v zsh >/dev/null 2>&1 ;;
	FISH) command -v fish >/dev/null 2>&1 ;;
	DEBIAN_KEYRING) [ -r /usr/share/keyrings/debian-keyring.gpg ] ;;
	*) return 1 ;;
	esac
}

test_done() {
	echo "1..$test_count"
	if [ "$test_failed" -eq 0 ]; then
		rm -rf "$TRASH"
		exit 0
	fi
	exit 1
}
