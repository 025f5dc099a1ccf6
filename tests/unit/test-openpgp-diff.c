/*
 * test-openpgp-diff.c: what the packets one version of a certificate has
 * and another lacks are, in words (openpgp/diff.h): each kind of change
 * described by its fields and by its line for a terminal; a hostile user
 * ID cut and made safe; dates; the first user ID.
 */
#include "util/common.h"

#include "openpgp/diff.h"
#include "openpgp/openpgp.h"
#include "tap.h"
#include "data.h"

struct cert {
	uint8_t		*p;
	size_t		 len;
	struct pgp_cert	 c;
};

static void
cert_load(struct cert *x, const char *name)
{
	struct pgps_err err = PGPS_ERR_INIT;
	char rel[256];

	snprintf(rel, sizeof(rel), "certs/%s", name);
	x->p = data_slurp(rel, &x->len);
	x->c = (struct pgp_cert)PGP_CERT_INIT;
	if (pgp_cert_parse(&x->c, x->p, x->len, 0, &err) != 0) {
		diag("%s: %s", name, err.msg);
		exit(1);
	}
}

static void
cert_free(struct cert *x)
{
	pgp_cert_release(&x->c);
	free(x->p);
}

/* The lines of what b has that a lacks, joined by newlines. */
static void
lines(struct buf *out, const struct pgp_cert *a, const struct pgp_cert *b)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct pgp_change *ch = NULL;
	size_t n = 0;

	buf_reset(out);
	if (pgp_cert_diff(&ch, &n, a, b, &err) != 0) {
		diag("diff: %s", err.msg);
		exit(1);
	}
	for (size_t i = 0; i < n; i++) {
		ok(pgp_change_text(out, b, &ch[i]) == 0, "line %zu", i);
		buf_addstr(out, "\n");
	}
	free(ch);
}

static void
test_lines(void)
{
	struct cert alice, revoked;
	struct buf b = BUF_INIT;

	cert_load(&alice, "alice.pgp");
	cert_load(&revoked, "alice-revoked.pgp");
	lines(&b, &alice.c, &revoked.c);
	is_str((const char *)b.p,
	    "revocation 0x20 on the primary key, 2024-09-01, reason 3 "
	    "(key retired)\n"
	    "self-signature 0x13 on user ID \"Alice <alice@example.org>\", "
	    "2024-06-02, changes expiry: key expires 2044-05-28\n"
	    "certification 0x10 on user ID \"Alice <alice@example.org>\" by "
	    "995A12A7CCB418DEC325ECDBC80EC7B8C9978959, 2024-06-01\n"
	    "user ID \"Alice <alice@example.net>\"\n"
	    "revocation 0x30 on user ID \"Alice <alice@example.net>\", "
	    "2024-09-01, reason 32 (user ID no longer valid)\n"
	    "self-signature 0x13 on user ID \"Alice <alice@example.net>\", "
	    "2024-06-02\n"
	    "subkey A708452DE26A2C056C3D86D81E349D8E979503CF (EdDSA, "
	    "2024-06-01)\n"
	    "revocation 0x28 on subkey "
	    "A708452DE26A2C056C3D86D81E349D8E979503CF, 2024-09-01, reason 0 "
	    "(no reason specified)\n"
	    "self-signature 0x18 on subkey "
	    "A708452DE26A2C056C3D86D81E349D8E979503CF, 2024-06-01\n",
	    "every kind of change in words");
	lines(&b, &revoked.c, &alice.c);
	is_str((const char *)b.p, "self-signature 0x13 on user ID \"Alice "
	    "<alice@example.org>\", 2024-01-01\n", "and the other way");
	lines(&b, &alice.c, &alice.c);
	is_int(b.len, 0, "nothing between equal versions");
	buf_release(&b);
	cert_free(&alice);
	cert_free(&revoked);
}

static void
test_fields(void)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct cert alice, revoked;
	struct pgp_change *ch = NULL;
	struct pgp_change_desc d;
	size_t n = 0;

	cert_load(&alice, "alice.pgp");
	cert_load(&revoked, "alice-revoked.pgp");
	if (pgp_cert_diff(&ch, &n, &alice.c, &revoked.c, &err) != 0 ||
	    n != 9) {
		diag("diff: %zu changes, %s", n, err.msg);
		exit(1);
	}
	pgp_change_describe(&d, &revoked.c, &ch[0]);
	ok(d.is_sig && d.self && d.on == PGP_ON_KEY, "key revocation: self, "
	    "on the key");
	is_int(d.kind, PGP_CHANGE_REVOCATION, "its kind");
	ok(d.has_reason && d.reason == 3, "its reason");
	is_str(pgp_revocation_reason_text(d.reason), "key retired",
	    "in words");
	is_str(d.issuer, "FE1CCB7B72A1234A35C8A49781CE7FEFFDAB8B83",
	    "issuer by fingerprint");
	pgp_change_describe(&d, &revoked.c, &ch[1]);
	is_int(d.kind, PGP_CHANGE_EXPIRY, "an expiry change");
	ok(d.on == PGP_ON_UID && d.uidlen == 25 &&
	    memcmp(d.uid, "Alice <alice@example.org>", 25) == 0,
	    "on its user ID");
	ok(d.key_expires == d.key_created + (uint64_t)ch[1].sig.key_expiry &&
	    d.key_expires > d.created, "expiry counted from the key");
	pgp_change_describe(&d, &revoked.c, &ch[2]);
	ok(!d.self && d.kind == PGP_CHANGE_CERTIFICATION, "a certification "
	    "by another key");
	pgp_change_describe(&d, &revoked.c, &ch[6]);
	ok(!d.is_sig && d.has_key && d.kind == PGP_CHANGE_SUBKEY &&
	    strcmp(d.subkey, "A708452DE26A2C056C3D86D81E349D8E979503CF") == 0,
	    "a subkey, with its fingerprint");
	pgp_change_describe(&d, &revoked.c, &ch[7]);
	ok(d.on == PGP_ON_SUBKEY && strcmp(d.subkey,
	    "A708452DE26A2C056C3D86D81E349D8E979503CF") == 0,
	    "a signature on the subkey names it");
	is_str(pgp_change_on_name(d.on), "subkey", "on's name");
	free(ch);
	cert_free(&alice);
	cert_free(&revoked);
}

/* A user ID with terminal controls and more than the cut. */
static void
test_hostile_uid(void)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct cert alice;
	struct pgp_cert c = PGP_CERT_INIT;
	struct pgp_change *ch = NULL;
	struct buf b = BUF_INIT, line = BUF_INIT;
	uint8_t uid[400];
	const uint8_t *u;
	size_t n = 0, ulen, i;

	cert_load(&alice, "alice.pgp");
	memset(uid, 'x', sizeof(uid));
	memcpy(uid, "\033]0;owned\007\xc2\x9b" "2J\xe2\x80\xae", 14);
	/* alice's primary key, then a user ID packet (new format). */
	buf_add(&b, alice.c.pkts[0].raw, alice.c.pkts[0].rawlen);
	buf_add(&b, "\xcd\xc0\xd0", 3);		/* tag 13, 400 octets */
	buf_add(&b, uid, sizeof(uid));
	if (pgp_cert_parse(&c, b.p, b.len, 0, &err) != 0 ||
	    pgp_cert_diff(&ch, &n, &alice.c, &c, &err) != 0 || n != 1) {
		diag("%s", err.msg);
		exit(1);
	}
	ok(pgp_change_text(&line, &c, &ch[0]) == 0, "a line");
	for (i = 0; i < line.len; i++)
		if (line.p[i] < 0x20 || line.p[i] == 0x7f)
			break;
	is_int(i, line.len, "no control character reaches the terminal");
	ok(strstr((const char *)line.p, "\xc2\x9b") == NULL &&
	    strstr((const char *)line.p, "\xe2\x80\xae") == NULL,
	    "nor C1 controls or bidi overrides");
	ok(line.len <= strlen("user ID \"\"") + PGP_CHANGE_UID_MAX &&
	    line.len > PGP_CHANGE_UID_MAX - 10 && line.p[line.len - 2] == 'x',
	    "at most PGP_CHANGE_UID_MAX octets shown");
	ok(pgp_cert_first_uid(&c, &u, &ulen) && ulen == PGP_CHANGE_UID_MAX,
	    "the first user ID, cut");
	pgp_cert_release(&c);
	c = (struct pgp_cert)PGP_CERT_INIT;
	ok(pgp_cert_parse(&c, alice.c.pkts[0].raw, alice.c.pkts[0].rawlen, 0,
	    &err) == 0 && !pgp_cert_first_uid(&c, &u, &ulen) && ulen == 0,
	    "no user ID: none");
	free(ch);
	pgp_cert_release(&c);
	buf_release(&b);
	buf_release(&line);
	cert_free(&alice);
}

static void
test_dates(void)
{
	char d[32];

	pgp_date_text(d, 0, false);
	is_str(d, "1970-01-01", "epoch");
	pgp_date_text(d, 1717243200, true);
	is_str(d, "2024-06-01T12:00:00Z", "ISO form");
	pgp_date_text(d, 4294967295u + 1717243200ull, false);
	is_str(d, "2160-07-08", "past 32 bits");
}

int
main(int argc, char **argv)
{
	(void)argc;
	data_dir_set(argv[0]);
	test_lines();
	test_fields();
	test_hostile_uid();
	test_dates();
	return done_testing();
}
