#!/bin/sh
# Replays every seed corpus through its fuzz target (built as a plain
# program by make), one TAP line per target.
cd "$(dirname "$0")" || exit 1
n=0
fail=0
for t in fuzz-*.c; do
	t=${t%.c}
	n=$((n + 1))
	seeds=seeds/${t#fuzz-}
	if [ ! -x "$t" ]; then
		echo "not ok $n - $t is not built"; fail=1; continue
	fi
	if [ -d "$seeds" ] && ./"$t" "$seeds"/* >/dev/null 2>"$t.err"; then
		echo "ok $n - $t replays $(ls "$seeds" | wc -l) seeds"
	else
		echo "not ok $n - $t on $seeds"; sed 's/^/# /' "$t.err"; fail=1
	fi
	rm -f "$t.err"
done
echo "1..$n"
exit $fail
