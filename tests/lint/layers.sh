#!/bin/sh
# layers.sh: the include rules of src/ (run by "make lint").
#
# Layers, each may include only itself and those below it:
#
#	util  <-  openpgp  <-  recon, net  <-  keyset  <-  cmd (and pgpsync.c)
#
# recon knows nothing of OpenPGP (its elements are opaque digests), so it
# includes only util; net may include recon (the recon TCP transport).
# A directory's internal.h is for that directory alone.  Foreign headers
# stay where their library is used:
#
#	<curl/*>		net/
#	<gpgme.h> <git2*>	keyset/
#	<openssl/*>		util/ openpgp/ (digests, signature checks)
#	<jansson.h>		cmd/out.[ch], the output module;
#				keyset/state.c (the state file is JSON);
#				net/ (JSON answers of servers: VKS,
#				Hockeypuck's stats, JSON-RPC)
#
# Exceptions are listed, one per line with its reason, in layers.allow
# (next to this script) as "FILE HEADER REASON...".  An exception that is
# no longer needed is an error too, so the list only shrinks.
#
# Usage: layers.sh [SRCDIR]   (default: the src/ of this tree; the list
# can be another with LAYERS_ALLOW=FILE)

set -u
LINT_DIR=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$LINT_DIR/../.." && pwd)
SRC=${1:-$TOP/src}
ALLOW=${LAYERS_ALLOW:-$LINT_DIR/layers.allow}

case $ALLOW in
/*)	;;
*)	ALLOW=$PWD/$ALLOW ;;
esac
[ -r "$ALLOW" ] || { echo "layers.sh: cannot read '$ALLOW'" >&2; exit 2; }
cd "$SRC/.." || exit 2
find src -name '*.[ch]' | LC_ALL=C sort | while read -r f; do
	sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*\([<"][^>"]*[>"]\).*/\1/p' "$f" |
	while read -r inc; do
		printf '%s %s\n' "$f" "$inc"
	done
done | awk -v allow="$ALLOW" '
function layer_ok(dir, target) {
	if (dir == "util")
		return target == "util"
	if (dir == "openpgp")
		return target == "util" || target == "openpgp"
	if (dir == "recon")
		return target == "util" || target == "recon"
	if (dir == "net")
		return target == "util" || target == "openpgp" ||
		    target == "recon" || target == "net"
	if (dir == "keyset")
		return target != "cmd"
	return 1	# cmd, src/pgpsync.c
}
function violation(file, inc, why) {
	key = file " " inc
	if (key in allowed) {
		used[key] = 1
		return
	}
	printf "%s: includes %s: %s\n", file, inc, why
	bad++
}
BEGIN {
	while ((getline line < allow) > 0) {
		if (line ~ /^[[:space:]]*(#|$)/)
			continue
		n = split(line, w, /[[:space:]]+/)
		if (n < 3) {
			printf "%s: \"%s\": want FILE HEADER REASON\n", allow, line
			bad++
			continue
		}
		allowed[w[1] " " w[2]] = 1
	}
}
{
	file = $1
	inc = $2
	n = split(file, p, "/")
	dir = n > 2 ? p[2] : "top"
	name = substr(inc, 2, length(inc) - 2)
	if (substr(inc, 1, 1) == "\"") {
		split(name, q, "/")
		target = q[1]
		if (q[2] == "internal.h" && target != dir)
			violation(file, inc, target "/internal.h is for " \
			    target "/ alone")
		else if (!layer_ok(dir, target))
			violation(file, inc, dir "/ may not include " \
			    target "/ (layers: util <- openpgp <- " \
			    "recon, net <- keyset <- cmd)")
		next
	}
	if (name ~ /^curl\// && dir != "net")
		violation(file, inc, "libcurl belongs to net/")
	else if ((name == "gpgme.h" || name ~ /^git2/) && dir != "keyset")
		violation(file, inc, "GPGME and libgit2 belong to keyset/")
	else if (name ~ /^openssl\// && dir != "util" && dir != "openpgp")
		violation(file, inc, "libcrypto belongs to util/ and openpgp/")
	else if (name == "jansson.h" && file != "src/cmd/out.h" &&
	    file != "src/cmd/out.c" && file != "src/keyset/state.c" &&
	    dir != "net")
		violation(file, inc, "JSON goes through cmd/out.h " \
		    "(or is a server answer, parsed in net/)")
}
END {
	for (key in allowed)
		if (!(key in used)) {
			printf "%s: \"%s\" is allowed but no longer " \
			    "needed: remove it from the list\n", allow, key
			bad++
		}
	if (bad > 0) {
		printf "layers: %d problem%s\n", bad, bad == 1 ? "" : "s"
		exit 1
	}
	print "layers ok"
}'
