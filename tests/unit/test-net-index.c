/*
 * test-net-index.c: the machine-readable HKP index parser against what
 * SKS, Hockeypuck and Hagrid really send.
 */
#include "util/common.h"

#include "net/net.h"
#include "util/err.h"

#include "tap.h"

/* Bodies of tests/data/hkp/index-mr.http and index-mr-multi.http (SKS). */
static const char sks_one[] =
    "info:1:1\n"
    "pub:6A5FB769767B24108C75ED6835731295CE9AB83D:22:256:1795433997::\n"
    "uid:Test User 001 <test001@example.org>:1795433997::\n"
    "\r\n";

static const char sks_multi[] =
    "info:1:2\n"
    "pub:E3BA9117DCDF37B182B2F1DB4157ED054116CFEA:1:4096:1411422045::\n"
    "uid:Thomas Schmidt <tschmidt@debian.org>:1411422045::\n"
    "pub:D6E01EC516A5DFCEF71956D3775079E5B850BC93:1:4096:1336564871::\n"
    "uid:Bernhard Schmidt <berni@debian.org>:1447094000::\n"
    "uid:Bernhard Schmidt <berni@birkenwald.de>:1336565033::\n"
    "uid:Bernhard Schmidt <berni+deb@birkenwald.de>:1336565003::\n"
    "\r\n";

static int
parse(struct net_index *ix, const char *s, struct pgps_err *err)
{
	return net_index_parse(ix, (const uint8_t *)s, strlen(s), err);
}

static void
test_sks(void)
{
	struct net_index ix = NET_INDEX_INIT;
	struct pgps_err err = PGPS_ERR_INIT;

	is_int(parse(&ix, sks_one, &err), 0, "SKS index, one key");
	is_int(ix.version, 1, "  version");
	is_int(ix.count, 1, "  count");
	is_int((int)ix.nkeys, 1, "  one key");
	is_str(ix.keys[0].id, "6A5FB769767B24108C75ED6835731295CE9AB83D",
	    "  fingerprint");
	is_int(ix.keys[0].algo, 22, "  algo");
	is_int(ix.keys[0].bits, 256, "  bits");
	is_int(ix.keys[0].created, 1795433997, "  created");
	is_int(ix.keys[0].expires, 0, "  no expiry");
	is_int(ix.keys[0].flags, 0, "  no flags");
	is_int((int)ix.keys[0].nuids, 1, "  one uid");
	is_str(ix.keys[0].uids[0].text, "Test User 001 <test001@example.org>",
	    "  uid text");
	is_int(ix.keys[0].uids[0].created, 1795433997, "  uid created");

	/* The same struct again: the old result is released. */
	is_int(parse(&ix, sks_multi, &err), 0, "SKS index, two keys");
	is_int(ix.count, 2, "  count");
	is_int((int)ix.nkeys, 2, "  two keys");
	is_int((int)ix.keys[0].nuids, 1, "  first has one uid");
	is_int((int)ix.keys[1].nuids, 3, "  second has three");
	is_str(ix.keys[1].uids[2].text,
	    "Bernhard Schmidt <berni+deb@birkenwald.de>", "  last uid");
	is_int(ix.keys[1].uids[0].created, 1447094000, "  uid date");

	/* SKS escapes ':' and 8-bit octets as %XX and '%' as "%%". */
	is_int(parse(&ix, "info:1:1\n"
	    "pub:0123456789ABCDEF:17:1024:946684800:-:r\n"
	    "uid:Caf%C3%A9 100%% %3A) %%3A <x@y>:946684800:978307200:\n"
	    "uat::::\n", &err), 0, "SKS escaping, v3 key");
	is_str(ix.keys[0].id, "0123456789ABCDEF", "  16-digit key ID");
	is_int(ix.keys[0].expires, 0, "  '-' expiry reads as none");
	is_int(ix.keys[0].flags, NET_INDEX_REVOKED, "  revoked");
	is_int((int)ix.keys[0].nuids, 1, "  uat ignored");
	is_str(ix.keys[0].uids[0].text, "Caf\xc3\xa9 100% :) %3A <x@y>",
	    "  %%XX, %%%% and a literal %%3A decoded");
	is_int(ix.keys[0].uids[0].expires, 978307200, "  uid expiry");
	net_index_release(&ix);
	is_int((int)ix.nkeys, 0, "release empties");
}

static void
test_hockeypuck(void)
{
	struct net_index ix = NET_INDEX_INIT;
	struct pgps_err err = PGPS_ERR_INIT;

	is_int(parse(&ix, "info:1:1\n"
	    "pub:0123456789ABCDEF0123456789ABCDEF01234567:1:4096:1600000000:"
	    "1700000000:r\n"
	    "uid:J\xc3\xb6rg %3a Test <j@example.org>:1600000000::r\n",
	    &err), 0, "Hockeypuck index");
	is_int(ix.keys[0].expires, 1700000000, "  expiry");
	is_int(ix.keys[0].flags, NET_INDEX_REVOKED, "  key revoked");
	is_str(ix.keys[0].uids[0].text, "J\xc3\xb6rg : Test <j@example.org>",
	    "  raw UTF-8 kept, lower-case %%3a decoded");
	is_int(ix.keys[0].uids[0].flags, NET_INDEX_REVOKED, "  uid revoked");
	net_index_release(&ix);
}

static void
test_hagrid(void)
{
	struct net_index ix = NET_INDEX_INIT;
	struct pgps_err err = PGPS_ERR_INIT;

	is_int(parse(&ix, "info:1:1\r\n"
	    "pub:8F604638676DC8EEB6B176FD1BA17B11D6FD2ACB:22:256:1795433223::"
	    "er\r\n"
	    "uid:Test%20User%20%3Ctest%40example.org%3E:1795433223::\r\n",
	    &err), 0, "Hagrid index, CRLF");
	is_int((int)ix.nkeys, 1, "  one key");
	is_int(ix.keys[0].flags, NET_INDEX_REVOKED | NET_INDEX_EXPIRED,
	    "  flags e and r");
	is_str(ix.keys[0].uids[0].text, "Test User <test@example.org>",
	    "  fully escaped uid decoded, no CR left");
	is_int(ix.keys[0].uids[0].created, 1795433223, "  no CR in the date");
	net_index_release(&ix);
}

static void
test_quirks(void)
{
	struct net_index ix = NET_INDEX_INIT;
	struct pgps_err err = PGPS_ERR_INIT;

	is_int(parse(&ix, "", &err), 0, "empty body");
	is_int((int)ix.nkeys, 0, "  no keys");
	is_int(ix.count, -1, "  no count");

	is_int(parse(&ix, "<html><head><title>No results found</title>"
	    "</head></html>\n", &err), 0, "an HTML page is no error");
	is_int((int)ix.nkeys, 0, "  no keys");

	is_int(parse(&ix, "PUB:0x8f604638676dc8eeb6b176fd1ba17b11d6fd2acb\n"
	    "UID:a%:::\n"
	    "uid:b%4\n"
	    "uid:%zz%00x:12:34:D\n"
	    "foo:bar\n", &err), 0, "no info, short records, odd escapes");
	is_int(ix.version, 1, "  version 1 assumed");
	is_str(ix.keys[0].id, "8F604638676DC8EEB6B176FD1BA17B11D6FD2ACB",
	    "  0x dropped, upper-cased");
	is_int(ix.keys[0].algo, 0, "  missing fields read as unknown");
	is_int((int)ix.keys[0].nuids, 3, "  three uids");
	is_str(ix.keys[0].uids[0].text, "a%", "  lone '%%' kept");
	is_str(ix.keys[0].uids[1].text, "b%4", "  '%%4' at the end kept");
	is_int((int)ix.keys[0].uids[2].len, 5, "  %%00 decoded to a NUL");
	ok(memcmp(ix.keys[0].uids[2].text, "%zz\0x", 5) == 0,
	    "  '%%zz' kept");
	is_int(ix.keys[0].uids[2].flags, NET_INDEX_DISABLED, "  flag D");

	is_int(parse(&ix, "uid:orphan:1::\n"
	    "pub:NOTHEX:1:2:3::\n"
	    "uid:of a bad key:1::\n"
	    "pub:ABCDEF01:1:2048:x1:9999999999999999999999:\n"
	    "uid:ok:1::\n", &err), 0, "bad records skipped");
	is_int((int)ix.nkeys, 1, "  one key left");
	is_int((int)ix.skipped, 1, "  one skipped");
	is_str(ix.keys[0].id, "ABCDEF01", "  8-digit key ID");
	is_int(ix.keys[0].created, 0, "  junk date reads as unknown");
	is_int(ix.keys[0].expires, 0, "  overlong date reads as unknown");
	is_int((int)ix.keys[0].nuids, 1, "  only its own uid");
	is_str(ix.keys[0].uids[0].text, "ok", "  uid");

	pgps_err_clear(&err);
	is_int(parse(&ix, "info:2:1\npub:ABCDEF01::::\n", &err),
	    PGPS_EUNSUPPORTED, "version 2 refused");
	ok(strstr(err.msg, "line 1") != NULL, "  message names the line: %s",
	    err.msg);
	is_int((int)ix.nkeys, 1, "  the earlier result is untouched");
	is_str(ix.keys[0].id, "ABCDEF01", "  still the earlier key");
	net_index_release(&ix);
}

static void
test_many(void)
{
	struct net_index ix = NET_INDEX_INIT;
	struct pgps_err err = PGPS_ERR_INIT;
	char *s = malloc(1000 * 80 + 1), *p = s;

	/* Growth of the arrays: 200 keys with 4 uids each. */
	for (int k = 0; k < 200; k++) {
		p += snprintf(p, 80, "pub:%040d:1:2048:%d::\n", k, k);
		for (int u = 0; u < 4; u++)
			p += snprintf(p, 80, "uid:key %d uid %d:1::\n", k, u);
	}
	if (parse(&ix, s, &err) != 0)
		diag("%s", err.msg);
	is_int((int)ix.nkeys, 200, "200 keys parsed");
	is_int(ix.keys[199].created, 199, "  last key's date");
	is_str(ix.keys[199].uids[3].text, "key 199 uid 3", "  last uid");
	net_index_release(&ix);
	free(s);
}

int
main(void)
{
	test_sks();
	test_hockeypuck();
	test_hagrid();
	test_quirks();
	test_many();
	return done_testing();
}
