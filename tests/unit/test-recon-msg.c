/*
 * test-recon-msg.c: the recon wire codec against the byte-exact frames of
 * the spec (captured from SKS 1.1.6), round trips of every message type,
 * and rejection of truncated, oversized and malformed frames without
 * allocating what the peer claims.  Also the config check with SKS's
 * accept/reject cases.
 */
#include "util/common.h"

#include "recon/recon.h"
#include "util/buf.h"
#include "util/hex.h"
#include "util/span.h"
#include "tap.h"

#define RNG_SEED	5
#include "rng.h"

#define ELEM_HEX	"2065b3e644ec3731eb87c9ccf1b8b50c"

/* Decodes hex (spaces ignored) into a new buffer. */
static uint8_t *
unhex(const char *h, size_t *n)
{
	char clean[4096];
	size_t k = 0;
	uint8_t *p;

	for (; *h != '\0'; h++)
		if (*h != ' ')
			clean[k++] = *h;
	*n = k / 2;
	p = malloc(*n + 1);
	if (hex_decode(p, *n, clean, k) != 0) {
		fprintf(stderr, "bad hex in test\n");
		exit(99);
	}
	return p;
}

static struct recon_elem
elem_of(const char *h)
{
	struct recon_elem e;

	hex_decode(e.b, sizeof(e.b), h, 32);
	return e;
}

/* Encodes m and compares with the golden frame hex. */
static void
check_encode(const struct recon_msg *m, const char *hex, const char *what)
{
	struct buf b = BUF_INIT;
	uint8_t *want;
	size_t n;
	int r;

	want = unhex(hex, &n);
	r = recon_msg_encode(&b, m, NULL);
	ok(r == 0 && b.len == n && memcmp(b.p, want, n) == 0,
	    "encode %s: golden bytes", what);
	if (b.len != n || memcmp(b.p, want, n) != 0) {
		char got[4096];

		hex_encode_lower(got, b.p, b.len < 2000 ? b.len : 2000);
		diag("got  %s", got);
	}
	free(want);
	buf_release(&b);
}

/* Decodes a golden frame (with its length) into *m. */
static int
decode_frame(struct recon_msg *m, const char *hex, struct pgps_err *err)
{
	uint8_t *p;
	size_t n, need = 0;
	int r;

	p = unhex(hex, &n);
	r = recon_frame_need(p, n, RECON_DEFAULT_MAX_FRAME, &need, err);
	if (r == 0 && need != n)
		r = PGPS_EINTERNAL;
	if (r == 0)
		r = recon_msg_decode(m, p + 4, n - 4, err);
	free(p);
	return r;
}

/* Every proper prefix of the body must fail, and never succeed. */
static void
check_truncations(const char *hex, const char *what)
{
	struct recon_msg m = RECON_MSG_INIT;
	uint8_t *p;
	size_t n;
	int good = 0;

	p = unhex(hex, &n);
	for (size_t cut = 4; cut < n; cut++) {
		uint8_t *copy = malloc(cut);
		int r;

		/* A fresh allocation of exactly cut octets for ASan. */
		memcpy(copy, p, cut);
		r = recon_msg_decode(&m, copy + 4, cut - 4, NULL);
		good += r == PGPS_ETRUNC;
		if (r == 0)
			recon_msg_release(&m);
		free(copy);
	}
	is_int(good, (int)(n - 4), "%s: all %zu truncations give ETRUNC",
	    what, n - 4);
	free(p);
}

static const char config_hex[] =
    "0000007e 0a 00000005"
    " 0000000a 6269747175616e74756d 00000004 00000002"
    " 00000007 66696c74657273 0000001b"
    " 796d696e736b792e64656475702c796d696e736b792e6d65726765"
    " 00000009 6874747020706f7274 00000004 00005b4b"
    " 00000004 6d626172 00000004 00000005"
    " 00000007 76657273696f6e 00000005 312e312e36";

static const char elements_hex[] =
    "00000016 02 00000001 " ELEM_HEX "00";
static const char full00_hex[] =
    "0000001f 01 00000002 00000001 00 00000001 " ELEM_HEX "00";
static const char full0010_hex[] =
    "0000001f 01 00000004 00000001 20 00000001 " ELEM_HEX "00";
static const char error_hex[] = "00000009 07 00000004 6f6f7073";
/* SKS's root Poly for 408 keys; the first sample as captured. */
static const char poly_hex[] =
    "00000077 00 00000000 00000000 00000198 00000006"
    " d1cefe0941b8d4ab90f473b66448fecb00"
    " 0100000000000000000000000000000000"
    " 0200000000000000000000000000000000"
    " 1a43a530d9851fc9df1f8b87e4101d8f01"
    " 0000000000000000000000000000000001"
    " ffffffffffffffffffffffffffffffff00";

static void
test_golden(void)
{
	struct recon_msg m = RECON_MSG_INIT, d = RECON_MSG_INIT;
	struct recon_config cfg;
	struct recon_elem e = elem_of(ELEM_HEX);
	struct buf b = BUF_INIT;
	uint8_t sb[ZP_NBYTES];
	char hx[64];
	int r;

	recon_config_default(&cfg, 23371);
	m.type = RECON_MSG_CONFIG;
	m.config = &cfg;
	check_encode(&m, config_hex, "Config (SKS, http port 23371)");
	r = decode_frame(&d, config_hex, NULL);
	ok(r == 0 && d.type == RECON_MSG_CONFIG && d.config != NULL &&
	    d.config->bitquantum == 2 && d.config->mbar == 5 &&
	    d.config->http_port == 23371 &&
	    strcmp(d.config->version, "1.1.6") == 0 &&
	    strcmp(d.config->filters, "yminsky.dedup,yminsky.merge") == 0 &&
	    d.config->have == 0x1f, "decode SKS's Config");
	recon_msg_release(&d);

	m = (struct recon_msg)RECON_MSG_INIT;
	m.type = RECON_MSG_SYNC_FAIL;
	check_encode(&m, "00000001 04", "SyncFail");
	m.type = RECON_MSG_DONE;
	check_encode(&m, "00000001 05", "Done");
	m.type = RECON_MSG_FLUSH;
	check_encode(&m, "00000001 06", "Flush");
	m.type = RECON_MSG_ELEMENTS;
	m.elems = &e;
	m.nelems = 1;
	check_encode(&m, elements_hex, "Elements");
	m.type = RECON_MSG_RECON_RQST_FULL;
	m.prefix.nbits = 2;
	check_encode(&m, full00_hex, "ReconRqst_Full \"00\"");
	m.prefix.nbits = 4;
	m.prefix.b[0] = 0x20;
	check_encode(&m, full0010_hex, "ReconRqst_Full \"0010\"");
	m = (struct recon_msg)RECON_MSG_INIT;
	m.type = RECON_MSG_ERROR;
	m.text = "oops";
	m.textlen = 4;
	check_encode(&m, error_hex, "Error");

	r = decode_frame(&d, full0010_hex, NULL);
	ok(r == 0 && d.type == RECON_MSG_RECON_RQST_FULL &&
	    d.prefix.nbits == 4 && d.prefix.b[0] == 0x20 && d.nelems == 1 &&
	    memcmp(d.elems[0].b, e.b, 16) == 0, "decode Full \"0010\"");
	recon_msg_release(&d);
	r = decode_frame(&d, error_hex, NULL);
	ok(r == 0 && d.type == RECON_MSG_ERROR && d.textlen == 4 &&
	    strcmp(d.text, "oops") == 0, "decode Error \"oops\"");
	recon_msg_release(&d);
	r = decode_frame(&d, poly_hex, NULL);
	ok(r == 0 && d.type == RECON_MSG_RECON_RQST_POLY &&
	    d.prefix.nbits == 0 && d.size == 408, "decode SKS's root Poly");
	zp_get_bytes(sb, &d.samples[0]);
	hex_encode_lower(hx, sb, sizeof(sb));
	is_str(hx, "d1cefe0941b8d4ab90f473b66448fecb00", "first sample");
	/* And back to the same bytes. */
	m = d;
	check_encode(&m, poly_hex, "ReconRqst_Poly round trip");
	recon_msg_release(&d);

	is_int(recon_string_encode(&b, "passed", 6), 0, "verdict");
	hex_encode_lower(hx, b.p, b.len);
	is_str(hx, "00000006706173736564", "\"passed\" is a bare string");
	buf_release(&b);

	check_truncations(config_hex, "Config");
	check_truncations(poly_hex, "Poly");
	check_truncations(full0010_hex, "Full");
	check_truncations(elements_hex, "Elements");
	check_truncations(error_hex, "Error");
}

static int
msg_equal(const struct recon_msg *a, const struct recon_msg *b)
{
	if (a->type != b->type)
		return 0;
	switch (a->type) {
	case RECON_MSG_RECON_RQST_POLY:
		if (a->size != b->size)
			return 0;
		for (int i = 0; i < RECON_NSAMPLES; i++)
			if (!zp_eq(&a->samples[i], &b->samples[i]))
				return 0;
		/* FALLTHROUGH */
	case RECON_MSG_RECON_RQST_FULL:
		if (!recon_prefix_eq(&a->prefix, &b->prefix))
			return 0;
		if (a->type == RECON_MSG_RECON_RQST_POLY)
			return 1;
		/* FALLTHROUGH */
	case RECON_MSG_ELEMENTS:
	case RECON_MSG_FULL_ELEMENTS:
		return a->nelems == b->nelems && (a->nelems == 0 ||
		    memcmp(a->elems, b->elems, a->nelems * 16) == 0);
	case RECON_MSG_ERROR:
	case RECON_MSG_DB_RQST:
	case RECON_MSG_DB_REPL:
		return a->textlen == b->textlen &&
		    memcmp(a->text, b->text, a->textlen) == 0;
	case RECON_MSG_CONFIG:
		return a->config->have == b->config->have &&
		    a->config->http_port == b->config->http_port &&
		    strcmp(a->config->version, b->config->version) == 0;
	default:
		return 1;
	}
}

static void
test_round_trips(void)
{
	struct recon_elem el[300];
	struct recon_config cfg;
	char text[100];
	int bad = 0;

	for (size_t i = 0; i < PGPS_ARRAY_SIZE(el); i++)
		for (int j = 0; j < 16; j++)
			el[i].b[j] = (uint8_t)next64();
	recon_config_default(&cfg, 11371);
	for (int rep = 0; rep < 300; rep++) {
		struct recon_msg m = RECON_MSG_INIT, d = RECON_MSG_INIT;
		struct buf b = BUF_INIT;
		struct recon_elem pe;
		size_t need;

		m.type = (enum recon_msg_type)(rep % 11);
		for (int j = 0; j < 16; j++)
			pe.b[j] = (uint8_t)next64();
		recon_prefix_of(&m.prefix, &pe,
		    (unsigned int)(next64() % 65) * 2);
		m.size = (uint32_t)next64();
		for (int i = 0; i < RECON_NSAMPLES; i++)
			zp_set_elem(&m.samples[i], &el[next64() % 300]);
		m.elems = el;
		m.nelems = next64() % 300;
		for (size_t i = 0; i < sizeof(text); i++)
			text[i] = (char)next64();
		m.text = text;
		m.textlen = next64() % sizeof(text);
		m.config = &cfg;
		if (recon_msg_encode(&b, &m, NULL) != 0 ||
		    recon_frame_need(b.p, b.len, RECON_DEFAULT_MAX_FRAME,
		    &need, NULL) != 0 || need != b.len ||
		    recon_msg_decode(&d, b.p + 4, b.len - 4, NULL) != 0 ||
		    !msg_equal(&m, &d))
			bad++;
		recon_msg_release(&d);
		buf_release(&b);
	}
	is_int(bad, 0, "300 random messages of all types round-trip");
}

static void
expect_reject(const char *hex, int code, const char *what)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct recon_msg m = RECON_MSG_INIT;
	uint8_t *p;
	size_t n;
	int r;

	p = unhex(hex, &n);
	r = recon_msg_decode(&m, p, n, &err);
	is_int(r, code, "%s: %s", what, err.msg);
	if (r == 0)
		recon_msg_release(&m);
	free(p);
}

static void
test_reject(void)
{
	struct pgps_err err = PGPS_ERR_INIT;
	uint8_t hdr[4];
	size_t need;

	/* Bodies (type octet onwards), without the frame length. */
	expect_reject("02 ffffffff 00", PGPS_ETRUNC,
	    "4 billion elements claimed, none sent: no allocation");
	expect_reject("02 00000002 " ELEM_HEX "00", PGPS_ETRUNC,
	    "two elements claimed, one sent");
	expect_reject("02 00000001 " ELEM_HEX "01", PGPS_EFORMAT,
	    "element with a nonzero 17th octet");
	expect_reject("02 00000001 " ELEM_HEX "00 00", PGPS_EFORMAT,
	    "trailing octet");
	expect_reject("04 00", PGPS_EFORMAT, "SyncFail with a payload");
	expect_reject("0b", PGPS_EFORMAT, "message type 11");
	expect_reject("", PGPS_ETRUNC, "empty body");
	expect_reject("01 00000081 00000011 00000000000000000000000000000000"
	    "00 00000000", PGPS_EFORMAT, "prefix of 129 bits");
	expect_reject("01 00000004 00000002 2000 00000000", PGPS_EFORMAT,
	    "prefix of 4 bits in 2 octets");
	expect_reject("01 00000004 ffffffff", PGPS_ELIMIT,
	    "prefix string of 4 GiB");
	expect_reject("00 00000000 00000000 00000198 00000005"
	    " 0100000000000000000000000000000000"
	    " 0100000000000000000000000000000000"
	    " 0100000000000000000000000000000000"
	    " 0100000000000000000000000000000000"
	    " 0100000000000000000000000000000000", PGPS_EPROTO,
	    "Poly with 5 samples");
	expect_reject("00 00000000 00000000 00000198 00000006"
	    " 1b43a530d9851fc9df1f8b87e4101d8f01"
	    " 0100000000000000000000000000000000"
	    " 0100000000000000000000000000000000"
	    " 0100000000000000000000000000000000"
	    " 0100000000000000000000000000000000"
	    " 0100000000000000000000000000000000", PGPS_EFORMAT,
	    "Poly sample equal to p");
	expect_reject("07 7fffffff 6f6f", PGPS_ELIMIT, "Error text of 2 GiB");
	expect_reject("07 00000004 6f6f", PGPS_ETRUNC, "Error text cut");
	expect_reject("0a 00000041", PGPS_ELIMIT, "Config with 65 entries");
	expect_reject("0a 00000001 00000100", PGPS_ELIMIT,
	    "Config key of 256 octets");
	expect_reject("0a 00000001 00000001 61 00001000", PGPS_ELIMIT,
	    "Config value of 4096 octets");
	expect_reject("0a 00000002 00000001 61 00000000", PGPS_ETRUNC,
	    "Config with a missing entry");

	store_be32(hdr, 0);
	is_int(recon_frame_need(hdr, 4, 1000, &need, &err), PGPS_EFORMAT,
	    "frame length 0 refused");
	store_be32(hdr, 1001);
	is_int(recon_frame_need(hdr, 4, 1000, &need, &err), PGPS_ELIMIT,
	    "frame above the cap refused before reading it");
	store_be32(hdr, 1000);
	ok(recon_frame_need(hdr, 4, 1000, &need, &err) == 0 && need == 1004,
	    "frame at the cap accepted");
	ok(recon_frame_need(hdr, 3, 1000, &need, &err) == 0 && need == 4,
	    "partial length: need 4");
	{
		char *s = NULL;
		size_t sl, used;
		uint8_t v[] = { 0, 0, 0, 6, 'f', 'a', 'i', 'l', 'e', 'd' };

		ok(recon_string_decode(&s, &sl, &used, v, 7, 100, &err) ==
		    PGPS_ETRUNC && used == 10, "verdict cut: need 10");
		ok(recon_string_decode(&s, &sl, &used, v, 10, 100, &err) ==
		    0 && used == 10 && strcmp(s, "failed") == 0,
		    "verdict \"failed\"");
		free(s);
		ok(recon_string_decode(&s, &sl, &used, v, 10, 5, &err) ==
		    PGPS_ELIMIT, "verdict above the cap refused");
	}
}

static int
check_cfg(void (*tweak)(struct recon_config *), const char *want_reason,
    const char *what)
{
	struct recon_config local, remote;
	char reason[512] = "";
	int r;

	recon_config_default(&local, 11371);
	recon_config_default(&remote, 11381);
	tweak(&remote);
	r = recon_config_check(&local, &remote, reason, sizeof(reason));
	if (want_reason == NULL) {
		is_int(r, 0, "config accepted: %s", what);
	} else {
		is_int(r, PGPS_EPROTO, "config rejected: %s", what);
		is_str(reason, want_reason, "reason for %s", what);
	}
	return r;
}

/* Changes to SKS's own config, one per case. */
static void
t_mbar6(struct recon_config *c)
{
	c->mbar = 6;
}

static void
t_bq3(struct recon_config *c)
{
	c->bitquantum = 3;
}

static void
t_dedup(struct recon_config *c)
{
	memcpy(c->filters, "yminsky.dedup", 14);
}

static void
t_v014(struct recon_config *c)
{
	memcpy(c->version, "0.1.4", 6);
}

static void
t_vplus(struct recon_config *c)
{
	memcpy(c->version, "1.1.6+", 7);
}

static void
t_v11(struct recon_config *c)
{
	memcpy(c->version, "1.1", 4);
}

static void
t_nombar(struct recon_config *c)
{
	c->have &= ~RECON_CFG_MBAR;
}

static void
t_bad(struct recon_config *c)
{
	c->have |= RECON_CFG_MALFORMED;
}

static void
t_v115(struct recon_config *c)
{
	memcpy(c->version, "1.1.5", 6);
}

static void
t_v210(struct recon_config *c)
{
	memcpy(c->version, "2.1.0", 6);
}

static void
t_rev(struct recon_config *c)
{
	memcpy(c->filters, "yminsky.merge,yminsky.dedup", 28);
}

static void
t_commas(struct recon_config *c)
{
	memcpy(c->filters, ",yminsky.merge,,yminsky.dedup,", 31);
}

static void
t_noport(struct recon_config *c)
{
	c->have &= ~RECON_CFG_HTTP_PORT;
}

static void
test_config_check(void)
{
	check_cfg(t_mbar6, "mbar values do not match", "mbar 6");
	check_cfg(t_bq3, "bitquantum values do not match", "bitquantum 3");
	check_cfg(t_dedup, "filters do not match.\n\tlocal filters: "
	    "[ yminsky.dedup yminsky.merge ]\n\tremote filters: "
	    "[ yminsky.dedup ]", "filters yminsky.dedup");
	check_cfg(t_v014, "Requires version at least 0.1.5.  0.1.4 provided ",
	    "version 0.1.4");
	check_cfg(t_vplus, "Error parsing configdata: version '1.1.6+'",
	    "version 1.1.6+");
	check_cfg(t_v11, "Error parsing configdata: version '1.1'",
	    "version 1.1");
	check_cfg(t_nombar, "Missing entry in configdata", "no mbar");
	check_cfg(t_bad, "Error parsing configdata: malformed entry",
	    "mbar as ASCII");
	check_cfg(t_v115, NULL, "version 1.1.5");
	check_cfg(t_v210, NULL, "version 2.1.0");
	check_cfg(t_rev, NULL, "filters reversed");
	check_cfg(t_commas, NULL, "empty filter pieces dropped");
	check_cfg(t_noport, NULL, "no http port (SKS passes it too)");
}

static void
test_config_decode(void)
{
	struct recon_msg m = RECON_MSG_INIT;
	int r;

	/* mbar as the ASCII string "5" and an extra key. */
	r = decode_frame(&m, "00000028 0a 00000002"
	    " 00000004 6d626172 00000001 35"
	    " 00000006 637573746f6d 00000008 0102030405060708", NULL);
	ok(r == 0 && (m.config->have & RECON_CFG_MALFORMED) &&
	    (m.config->have & RECON_CFG_MBAR),
	    "ASCII mbar decodes but is marked malformed");
	recon_msg_release(&m);
	r = decode_frame(&m, "00000015 0a 00000001"
	    " 00000007 76657273696f6e 00000001 00", NULL);
	ok(r == 0 && (m.config->have & RECON_CFG_MALFORMED),
	    "NUL in the version is malformed");
	recon_msg_release(&m);
}

int
main(void)
{
	test_golden();
	test_round_trips();
	test_reject();
	test_config_check();
	test_config_decode();
	return done_testing();
}
