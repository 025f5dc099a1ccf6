/*
 * cert.c: one certificate (transferable public key) as a list of packets,
 * its primary key, and the SKS key hash.
 *
 * A certificate here is whatever the reader split off: it is indexed, not
 * judged.  Grammar checks that would refuse real-world keys (SKS accepts
 * v2/v3 keys, odd orders, duplicate packets) are left to the filters; only
 * framing errors and an unidentifiable primary key fail.
 */
#include "util/common.h"

#include "openpgp/openpgp.h"
#include "util/digest.h"
#include "util/limits.h"
#include "util/mem.h"

void
pgp_cert_release(struct pgp_cert *c)
{
	free(c->pkts);
	buf_release(&c->partial);
	memset(c, 0, sizeof(*c));
	buf_init(&c->partial, 0);
}

int
pgp_cert_parse(struct pgp_cert *c, const uint8_t *data, size_t len,
    uint64_t offset, struct pgps_err *err)
{
	struct span s = span_make(data, len);
	bool partial = false;
	char tmp[16];
	int r;

	c->data = data;
	c->len = len;
	c->offset = offset;
	c->npkts = 0;
	c->flags = 0;
	c->has_primary = false;
	buf_reset(&c->partial);
	while (s.len > 0) {
		struct pgp_packet *p;
		uint64_t off = offset + (uint64_t)(s.p - data);

		if (c->npkts == c->allocpkts) {
			size_t n = c->allocpkts == 0 ? 16 : c->allocpkts * 2;
			struct pgp_packet *np;

			if (c->npkts >= PGPS_MAX_CERT_PACKETS)
				return pgps_err_set(err, PGPS_ELIMIT,
				    "certificate at offset %llu has more than "
				    "%d packets", (unsigned long long)offset,
				    PGPS_MAX_CERT_PACKETS);
			np = mem_reallocarray(c->pkts, n, sizeof(*np));
			if (np == NULL)
				return pgps_err_set(err, PGPS_ENOMEM,
				    "out of memory");
			c->pkts = np;
			c->allocpkts = n;
		}
		p = &c->pkts[c->npkts];
		if ((r = pgp_packet_parse(p, &s, off, &c->partial, err)) != 0)
			return pgps_err_prefix(err, r, "certificate at offset "
			    "%llu, packet %zu", (unsigned long long)offset,
			    c->npkts + 1);
		if (p->flags & PGP_PACKET_PARTIAL) {
			/* Remember where in c->partial; fixed up below. */
			p->body = (const uint8_t *)(uintptr_t)
			    (p->body - c->partial.p);
			partial = true;
		}
		if (p->tag == PGP_TAG_TRUST)
			c->flags |= PGP_CERT_HAS_TRUST;
		c->npkts++;
	}
	if (partial) {
		c->flags |= PGP_CERT_HAS_PARTIAL;
		for (size_t i = 0; i < c->npkts; i++)
			if (c->pkts[i].flags & PGP_PACKET_PARTIAL)
				c->pkts[i].body = c->partial.p +
				    (uintptr_t)c->pkts[i].body;
	}
	if (c->npkts == 0)
		return pgps_err_set(err, PGPS_EFORMAT, "empty certificate at "
		    "offset %llu", (unsigned long long)offset);
	switch (c->pkts[0].tag) {
	case PGP_TAG_SECRET_KEY:
		c->flags |= PGP_CERT_SECRET;
		/* FALLTHROUGH */
	case PGP_TAG_PUBLIC_KEY:
		if ((r = pgp_key_info_parse(&c->primary, c->pkts[0].body,
		    c->pkts[0].bodylen, err)) != 0)
			return pgps_err_prefix(err, r, "certificate at offset "
			    "%llu", (unsigned long long)offset);
		c->has_primary = true;
		break;
	case PGP_TAG_SIGNATURE:
		c->flags |= PGP_CERT_BARE_REVOCATION;
		break;
	default:
		return pgps_err_set(err, PGPS_EFORMAT, "offset %llu: "
		    "certificate starts with a %s packet",
		    (unsigned long long)offset,
		    pgp_tag_name(c->pkts[0].tag, tmp));
	}
	return 0;
}

/* OCaml's compare on (int, string): tag, then bytes, shorter first. */
static int
sks_packet_cmp(const void *a, const void *b)
{
	const struct pgp_packet *p = *(const struct pgp_packet *const *)a;
	const struct pgp_packet *q = *(const struct pgp_packet *const *)b;
	size_t n = p->bodylen < q->bodylen ? p->bodylen : q->bodylen;
	int c;

	if (p->tag != q->tag)
		return p->tag < q->tag ? -1 : 1;
	if (n != 0 && (c = memcmp(p->body, q->body, n)) != 0)
		return c;
	if (p->bodylen != q->bodylen)
		return p->bodylen < q->bodylen ? -1 : 1;
	return 0;
}

int
pgp_cert_sks_hash(const struct pgp_cert *c, struct digest *md5,
    uint8_t out[16])
{
	const struct pgp_packet *small[64], **v = small;
	size_t n = 0;
	uint8_t fr[8];

	if (c->npkts > PGPS_ARRAY_SIZE(small) &&
	    (v = mem_reallocarray(NULL, c->npkts, sizeof(*v))) == NULL)
		return PGPS_ENOMEM;
	for (size_t i = 0; i < c->npkts; i++)
		if (c->pkts[i].tag != PGP_TAG_TRUST)
			v[n++] = &c->pkts[i];
	qsort(v, n, sizeof(*v), sks_packet_cmp);
	digest_reset(md5);
	for (size_t i = 0; i < n; i++) {
		store_be32(fr, v[i]->tag);
		store_be32(fr + 4, (uint32_t)v[i]->bodylen);
		digest_update(md5, fr, 8);
		digest_update(md5, v[i]->body, v[i]->bodylen);
	}
	digest_final(md5, out);
	if (v != small)
		free(v);
	return 0;
}

int
pgp_cert_write(struct buf *out, const struct pgp_cert *c)
{
	int r;

	if ((c->flags & (PGP_CERT_HAS_TRUST | PGP_CERT_HAS_PARTIAL)) == 0)
		return buf_add(out, c->data, c->len);
	for (size_t i = 0; i < c->npkts; i++) {
		if (c->pkts[i].tag == PGP_TAG_TRUST)
			continue;
		if ((r = pgp_packet_write(out, &c->pkts[i])) != 0)
			return r;
	}
	return 0;
}
