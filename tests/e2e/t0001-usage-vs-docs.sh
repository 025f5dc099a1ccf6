#!/bin/sh
# The code, the man pages and the completions must agree: every command,
# verb and option the binary knows is documented, summaries equal the man
# pages' descriptions, and the completion scripts parse.
. "$(dirname "$0")/lib.sh"

MAN=$SRCDIR/man

test_expect_success 'every test script is executable (prove runs them)' '
	for t in "$SRCDIR"/tests/e2e/t[0-9]*.sh; do
		test -x "$t" || { echo "$t is not executable"; exit 1; }
	done
'

test_expect_success 'the command table is sorted' '
	pgpsync __complete commands | grep -v "^help$" >cmds &&
	grep -qx diff cmds &&
	sort cmds >sorted &&
	test_cmp sorted cmds
'

test_expect_success 'every verb table is sorted' '
	for c in $(cat cmds); do
		pgpsync __complete verbs $c >verbs &&
		sort verbs >sorted &&
		test_cmp sorted verbs || exit 1
	done
'

test_expect_success 'pgpsync(1) names every command' '
	for c in $(cat cmds); do
		grep -q "^\.It Cm $c\$" "$MAN/pgpsync.1" ||
		{ echo "pgpsync.1 lacks $c"; exit 1; }
	done
'

test_expect_success 'every built command has a page whose .Nd is its summary' '
	pgpsync --help | sed -n "/^commands:/,/^$/s/^  \([a-z]*\)  *\(.*\)/\1 \2/p" >summaries &&
	cut -d" " -f1 summaries >names &&
	test_cmp cmds names &&
	while read -r c summary; do
		page="$MAN/pgpsync-$c.1"
		test -f "$page" || { echo "no page for $c"; exit 1; }
		nd=$(sed -n "s/^\.Nd //p" "$page")
		test "$nd" = "$summary" ||
		{ echo "$c: .Nd \"$nd\" vs summary \"$summary\""; exit 1; }
	done <summaries
'

test_expect_success 'every option of every verb is in its man page' '
	for c in $(cat cmds); do
		page="$MAN/pgpsync-$c.1"
		test -f "$page" || continue
		verbs=$(pgpsync __complete verbs $c)
		for v in ${verbs:-""}; do
			test -z "$v" || grep -q "^\.Cm $v\$" "$page" ||
			{ echo "$page: no synopsis for verb $v"; exit 1; }
			for o in $(pgpsync __complete options $c $v); do
				test "$o" = "--help" && continue
				n=${o#--}
				grep -q "^\.It Fl.*\\\\-$n\\( \\|\$\\)" "$page" ||
				grep -q "^\.It Fl $n\\( \\|\$\\)" "$page" ||
				{ echo "$page: option $o of $v not described"; exit 1; }
			done
		done
	done
'

test_expect_success 'every verb -h shows the usage in the table' '
	for v in $(pgpsync __complete verbs dump); do
		pgpsync dump $v -h >help &&
		head -n 1 help | grep -q "^usage: pgpsync dump $v " || exit 1
	done
'

test_expect_success 'global options are documented in pgpsync(1)' '
	pgpsync __complete global >globals &&
	grep -qx -- --json globals &&
	for o in $(cat globals); do
		n=${o#--}
		grep -q "^\.It Fl .*\\\\-$n\$" "$MAN/pgpsync.1" ||
		{ echo "pgpsync.1 lacks $o"; exit 1; }
	done
'

test_expect_success 'man pages are clean for mandoc -Tlint' '
	if command -v mandoc >/dev/null 2>&1; then
		mandoc -Tlint -W warning "$MAN"/*.1
	else
		for m in "$MAN"/*.1; do groff -mdoc -ww -z "$m" || exit 1; done
	fi
'

test_expect_success 'bash completion parses and completes commands and verbs' '
	bash -n "$SRCDIR/completions/pgpsync.bash" &&
	bash -c ". \"$SRCDIR/completions/pgpsync.bash\"
		COMP_WORDS=(pgpsync dump ha); COMP_CWORD=2; _pgpsync
		echo \"\${COMPREPLY[*]}\"" >out &&
	grep -qx hashes out &&
	bash -c ". \"$SRCDIR/completions/pgpsync.bash\"
		COMP_WORDS=(pgpsync dump stats --t); COMP_CWORD=3; _pgpsync
		echo \"\${COMPREPLY[*]}\"" >out &&
	grep -qx -- --top out
'

if test_have_prereq ZSH; then
	test_expect_success 'zsh completion parses' '
		zsh -n "$SRCDIR/completions/_pgpsync"
	'
else
	test_skip 'zsh completion parses' 'no zsh'
fi

if test_have_prereq FISH; then
	test_expect_success 'fish completion parses' '
		fish --no-execute "$SRCDIR/completions/pgpsync.fish"
	'
else
	test_skip 'fish completion parses' 'no fish'
fi

test_done
