/*
 * test-keyset-outgoing.c: what push sends of a certificate
 * (keyset/outgoing.h): a good one with its hash and addresses, and the
 * refusals -- damage, secret key material, signatures without a key,
 * over the limits -- each named.
 */
#include "util/common.h"

#include "keyset/outgoing.h"
#include "tap.h"
#include "data.h"

static struct digest *md5;
static struct pgp_limits lim;
static struct outgoing o;

static int
prep(const uint8_t *p, size_t len)
{
	struct pgp_raw_cert raw = { p, len, 7 };

	return outgoing_prepare(&o, &raw, "in.pgp", &lim, md5);
}

int
main(int argc, char **argv)
{
	struct pgp_cert c = PGP_CERT_INIT;
	uint8_t *later, *secret, h[16];
	size_t nlater, nsecret, skip;
	char fpr[2 * PGP_FPR_MAX + 1];

	(void)argc;
	data_dir_set(argv[0]);
	md5 = digest_new(DIGEST_MD5);
	pgp_limits_default(&lim);
	outgoing_init(&o);
	later = data_slurp("certs/alice-later.pgp", &nlater);
	secret = data_slurp("packets/secret-key.bin", &nsecret);

	is_int(prep(later, nlater), 0, "alice goes out");
	ok(pgp_cert_parse(&c, later, nlater, 0, NULL) == 0 &&
	    pgp_cert_sks_hash(&c, md5, h) == 0, "(her SKS hash)");
	pgp_key_fpr_hex(fpr, &c.primary);
	is_str(o.fpr, fpr, "by her fingerprint");
	ok(memcmp(o.hash, h, 16) == 0, "with her SKS hash");
	ok(o.cert.len == nlater && memcmp(o.cert.p, later, nlater) == 0,
	    "all of her, within the limits");
	ok(o.naddrs == 2 && strcmp(o.addrs[0], "alice@example.net") == 0 &&
	    strcmp(o.addrs[1], "alice@example.org") == 0,
	    "her two addresses, in packet order");
	is_int(o.armor.len, 0, "no armor until asked");
	ok(outgoing_armor(&o) == 0 && strncmp((char *)o.armor.p,
	    "-----BEGIN PGP PUBLIC KEY BLOCK-----", 36) == 0, "armored");
	ok(outgoing_armor(&o) == 0, "asked again: the same");

	is_int(prep(secret, nsecret), 1, "a secret key is refused");
	is_str(o.why, "a secret key is never uploaded", "said so");
	ok(o.naddrs == 0 && o.armor.len == 0, "nothing kept of alice");

	skip = c.pkts[0].rawlen;
	is_int(prep(later + skip, nlater - skip), 1,
	    "no primary key: refused");
	ok(strcmp(o.why, "signatures without a key") == 0 ||
	    strncmp(o.why, "malformed: ", 11) == 0, "said so: %s", o.why);
	is_str(o.fpr, "offset 7 of in.pgp", "named by its place");

	is_int(prep((const uint8_t *)"\xc6\x05\x04", 3), 1, "damage: refused");
	ok(strncmp(o.why, "malformed: ", 11) == 0, "said so");

	lim.max_cert_size = 200;
	is_int(prep(later, nlater), 1, "over the limits: refused");
	ok(strncmp(o.why, "over the limits: ", 17) == 0, "said so");
	is_str(o.fpr, fpr, "named by its fingerprint");

	pgp_cert_release(&c);
	outgoing_release(&o);
	digest_free(md5);
	free(later);
	free(secret);
	return done_testing();
}
