/*
 * outgoing.c: what push sends of a certificate (outgoing.h).
 */
#include "util/common.h"

#include "keyset/outgoing.h"
#include "openpgp/uid.h"

void
outgoing_init(struct outgoing *o)
{
	memset(o, 0, sizeof(*o));
	buf_init(&o->cert, 0);
	buf_init(&o->armor, 0);
}

void
outgoing_release(struct outgoing *o)
{
	buf_release(&o->cert);
	buf_release(&o->armor);
	pgp_addresses_free(o->addrs, o->naddrs);
	o->addrs = NULL;
	o->naddrs = 0;
}

int
outgoing_prepare(struct outgoing *o, const struct pgp_raw_cert *raw,
    const char *source, const struct pgp_limits *lim, struct digest *md5)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct pgp_cert c = PGP_CERT_INIT, fc = PGP_CERT_INIT;
	int r = 1;

	outgoing_release(o);
	buf_reset(&o->cert);
	buf_reset(&o->armor);
	o->why[0] = '\0';
	snprintf(o->fpr, sizeof(o->fpr), "offset %llu of %s",
	    (unsigned long long)raw->offset, source);
	if (pgp_cert_parse(&c, raw->p, raw->len, raw->offset, &err) != 0)
		snprintf(o->why, sizeof(o->why), "malformed: %s", err.msg);
	else if ((c.flags & PGP_CERT_SECRET) != 0)
		snprintf(o->why, sizeof(o->why), "a secret key is never "
		    "uploaded");
	else if (!c.has_primary)
		snprintf(o->why, sizeof(o->why), "signatures without a key");
	if (o->why[0] != '\0')
		goto cleanup;
	pgp_key_fpr_hex(o->fpr, &c.primary);
	if (pgp_cert_filter(&o->cert, &c, lim, NULL, &err) != 0) {
		snprintf(o->why, sizeof(o->why), "%s%s", err.code ==
		    PGPS_ELIMIT ? "over the limits: " : "", err.msg);
		goto cleanup;
	}
	if (pgp_cert_parse(&fc, o->cert.p, o->cert.len, 0, &err) != 0 ||
	    pgp_cert_sks_hash(&fc, md5, o->hash) != 0) {
		snprintf(o->why, sizeof(o->why), "%s", err.code != 0 ?
		    err.msg : "out of memory");
		goto cleanup;
	}
	r = pgp_cert_addresses(&o->addrs, &o->naddrs, &fc, 0);
 cleanup:
	pgp_cert_release(&c);
	pgp_cert_release(&fc);
	return r;
}

int
outgoing_armor(struct outgoing *o)
{
	if (o->armor.len > 0)
		return 0;
	return pgp_armor_encode(&o->armor, o->cert.p, o->cert.len,
	    PGP_ARMOR_PUBLIC_KEY, 0);
}
