#!/bin/sh
# make lint's include-layer check (tests/lint/layers.sh): every rule it
# states catches a tree that breaks it, its allow-list excuses exactly the
# listed includes and must shrink, and the real tree is clean.
. "$(dirname "$0")/lib.sh"

LAYERS=$SRCDIR/tests/lint/layers.sh

# inc FILE HEADER: FILE (under fake/src) includes HEADER.
inc() {
	mkdir -p "fake/src/$(dirname "$1")" &&
	printf '#include "util/common.h"\n#include %s\n' "$2" >>"fake/src/$1"
}

test_expect_success 'the source tree keeps its layers' '
	sh "$LAYERS" >out &&
	grep -q "^layers ok$" out
'

test_expect_success 'a tree that follows the rules passes' '
	inc util/a.c "\"util/buf.h\"" &&
	inc openpgp/b.c "\"util/buf.h\"" &&
	inc recon/c.c "\"recon/internal.h\"" &&
	inc net/d.c "\"recon/recon.h\"" &&
	inc net/d.c "<curl/curl.h>" &&
	inc keyset/e.c "\"net/net.h\"" &&
	inc keyset/e.c "<gpgme.h>" &&
	inc keyset/state.c "<jansson.h>" &&
	inc cmd/out.c "<jansson.h>" &&
	inc cmd/f.c "\"keyset/keyset.h\"" &&
	inc pgpsync.c "\"cmd/cmd.h\"" &&
	: >empty.allow &&
	LAYERS_ALLOW=empty.allow sh "$LAYERS" "$PWD/fake/src" >out &&
	grep -q "^layers ok$" out
'

# breaks FILE HEADER PATTERN: the rule is broken and the report says so.
breaks() {
	rm -rf fake && inc "$1" "$2" &&
	test_expect_code 1 env LAYERS_ALLOW=empty.allow sh "$LAYERS" \
	    "$PWD/fake/src" >out &&
	grep "^src/$1: includes $2: " out | grep -q "$3"
}

test_expect_success 'a lower layer including a higher one is caught' '
	breaks util/a.c "\"openpgp/openpgp.h\"" "util/ may not include openpgp/" &&
	breaks openpgp/b.c "\"net/net.h\"" "openpgp/ may not include net/" &&
	breaks recon/c.c "\"openpgp/openpgp.h\"" "recon/ may not include openpgp/" &&
	breaks net/d.c "\"keyset/keyset.h\"" "net/ may not include keyset/" &&
	breaks keyset/e.c "\"cmd/cmd.h\"" "keyset/ may not include cmd/"
'

test_expect_success 'another directory internal.h is caught' '
	breaks net/d.c "\"recon/internal.h\"" "for recon/ alone"
'

test_expect_success 'foreign headers outside their directory are caught' '
	breaks cmd/f.c "<curl/curl.h>" "libcurl belongs to net/" &&
	breaks net/d.c "<gpgme.h>" "belong to keyset/" &&
	breaks cmd/f.c "<git2.h>" "belong to keyset/" &&
	breaks keyset/e.c "<openssl/evp.h>" "libcrypto" &&
	breaks cmd/f.c "<jansson.h>" "JSON goes through cmd/out.h" &&
	breaks keyset/e.c "<jansson.h>" "JSON goes through cmd/out.h"
'

test_expect_success 'the allow-list excuses what it names, and must shrink' '
	rm -rf fake && inc cmd/f.c "<jansson.h>" &&
	printf "# why\nsrc/cmd/f.c <jansson.h> its report, for now\n" >a.allow &&
	LAYERS_ALLOW=a.allow sh "$LAYERS" "$PWD/fake/src" >out &&
	grep -q "^layers ok$" out &&
	printf "src/cmd/g.c <jansson.h> gone long ago\n" >>a.allow &&
	test_expect_code 1 env LAYERS_ALLOW=a.allow sh "$LAYERS" \
	    "$PWD/fake/src" >out &&
	grep -q "src/cmd/g.c <jansson.h>.* no longer needed" out &&
	printf "src/cmd/f.c <jansson.h>\n" >b.allow &&
	test_expect_code 1 env LAYERS_ALLOW=b.allow sh "$LAYERS" \
	    "$PWD/fake/src" >out &&
	grep -q "want FILE HEADER REASON" out
'

test_done
