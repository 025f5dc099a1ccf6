/*
 * test-net-hashquery.c: the /pks/hashquery request and response formats,
 * checked against the bytes a live SKS 1.1.6 exchanged.
 */
#include "util/common.h"

#include "net/net.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/hex.h"

#include "tap.h"

/* Request for 80E60D47... (Test User 001) and an unknown all-zero hash. */
static const char sks_request_hex[] =
    "00000002" "00000010" "80e60d47184f5ae464752e05f5700c81"
    "00000010" "00000000000000000000000000000000";

static void
test_request(void)
{
	uint8_t hashes[32], want[44];
	struct buf b = BUF_INIT;

	memset(hashes, 0, sizeof(hashes));
	hex_decode(hashes, 16, "80E60D47184F5AE464752E05F5700C81", 32);
	hex_decode(want, sizeof(want), sks_request_hex, 88);
	is_int(net_hashquery_body(&b, hashes, 2), 0, "request for 2 hashes");
	is_int((int)b.len, 44, "  44 octets");
	ok(b.len == 44 && memcmp(b.p, want, 44) == 0,
	    "  byte for byte what SKS sends");
	buf_reset(&b);
	is_int(net_hashquery_body(&b, NULL, 0), 0, "request for none");
	ok(b.len == 4 && memcmp(b.p, "\0\0\0\0", 4) == 0,
	    "  just a zero count");
	is_int(net_hashquery_body(&b, NULL, NET_HASHQUERY_MAX + 1),
	    PGPS_ELIMIT, "more than fits SKS's 5 MiB POST limit");
	ok(4 + 20 * (size_t)NET_HASHQUERY_MAX <= (size_t)5 << 20,
	    "  the limit keeps the body within 5 MiB");
	buf_release(&b);
}

/* Loads the body of tests/data/hkp/hashquery.http (a captured reply). */
static bool
load_capture(struct buf *out)
{
	FILE *f = fopen("tests/data/hkp/hashquery.http", "rb");
	uint8_t tmp[4096];
	size_t n;
	const char *sep;

	if (f == NULL)
		return false;
	n = fread(tmp, 1, sizeof(tmp), f);
	fclose(f);
	sep = NULL;
	for (size_t i = 0; i + 4 <= n; i++)
		if (memcmp(tmp + i, "\r\n\r\n", 4) == 0) {
			sep = (const char *)tmp + i + 4;
			break;
		}
	if (sep == NULL)
		return false;
	buf_add(out, sep, n - (size_t)(sep - (const char *)tmp));
	return true;
}

static int
read_all(const uint8_t *p, size_t len, size_t max, size_t *count,
    struct pgps_err *err)
{
	struct net_hashquery_reader rd;
	struct span cert;
	int r;

	*count = 0;
	if ((r = net_hashquery_begin(&rd, p, len, max, err)) != 0)
		return r;
	while ((r = net_hashquery_next(&rd, &cert, err)) == 1)
		(*count)++;
	return r;
}

static void
test_response(void)
{
	struct net_hashquery_reader rd;
	struct buf body = BUF_INIT, b = BUF_INIT;
	struct pgps_err err = PGPS_ERR_INIT;
	struct span cert;
	size_t n;
	static const uint8_t two[] = {
		0, 0, 0, 2, 0, 0, 0, 3, 'a', 'b', 'c', 0, 0, 0, 1, 'd'
	};

	if (!ok(load_capture(&body), "captured SKS response loaded")) {
		diag("run from the top of the source tree");
		return;
	}
	is_int((int)body.len, 426, "  426 octets");
	is_int(net_hashquery_begin(&rd, body.p, body.len, 2, &err), 0,
	    "begin");
	is_int((int)rd.count, 1, "  one key for two hashes");
	is_int(net_hashquery_next(&rd, &cert, &err), 1, "  a key");
	is_int((int)cert.len, 416, "  of 416 octets");
	ok(cert.p == body.p + 8, "  borrowed from the body");
	ok(cert.p[0] == 0x98 && cert.p[1] == 0x33 && cert.p[2] == 0x04,
	    "  starting with a v4 public-key packet");
	is_int(net_hashquery_next(&rd, &cert, &err), 0,
	    "  then the end, SKS's \\r\\n tolerated");

	/* Trailers: none, LF and CRLF are fine, anything else is not. */
	is_int(read_all(two, sizeof(two), 2, &n, &err), 0, "no trailer");
	is_int((int)n, 2, "  two keys");
	buf_add(&b, two, sizeof(two));
	buf_addstr(&b, "\n");
	is_int(read_all(b.p, b.len, 2, &n, &err), 0, "LF trailer");
	buf_setlen(&b, sizeof(two));
	buf_addstr(&b, "\r\nX");
	pgps_err_clear(&err);
	is_int(read_all(b.p, b.len, 2, &n, &err), PGPS_EPROTO,
	    "garbage after the keys");
	ok(strstr(err.msg, "offset 16") != NULL, "  offset named: %s",
	    err.msg);

	pgps_err_clear(&err);
	is_int(read_all(two, sizeof(two), 1, &n, &err), PGPS_EPROTO,
	    "more keys than hashes asked for");
	is_int(read_all((const uint8_t *)"\xff\xff\xff\xff", 4, 100000, &n,
	    &err), PGPS_EPROTO, "a count that cannot fit");
	is_int(read_all(two, 3, 2, &n, &err), PGPS_EPROTO, "no count");
	pgps_err_clear(&err);
	is_int(read_all(two, sizeof(two) - 1, 2, &n, &err), PGPS_EPROTO,
	    "truncated key");
	ok(strstr(err.msg, "key 2") != NULL, "  names the key: %s", err.msg);
	is_int((int)n, 1, "  after the first");
	is_int(read_all(two, 10, 2, &n, &err), PGPS_EPROTO,
	    "length beyond the body");
	is_int(read_all((const uint8_t *)"\0\0\0\0\r\n", 6, 0, &n, &err), 0,
	    "zero keys");
	buf_release(&b);
	buf_release(&body);
}

int
main(void)
{
	test_request();
	test_response();
	return done_testing();
}
