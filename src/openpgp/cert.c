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
		/*
		 * Refused by every caller; its body holds secret material
		 * after the public part, so no fingerprint is computed.
		 */
		c->flags |= PGP_CERT_SECRET;
		break;
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

/*
 * A packet to sort for the SKS hash, with prefix keys: the tag and the
 * first fifteen body octets, so most comparisons never touch the bodies
 * (signatures agree in their first six octets and differ soon after).
 */
struct sks_item {
	uint64_t			 key;	/* tag, body[0..7) */
	uint64_t			 key2;	/* body[7..15) */
	const struct pgp_packet		*p;
};

static void
sks_key(struct sks_item *it, const struct pgp_packet *p)
{
	uint64_t k = (uint64_t)p->tag << 56, k2 = 0;
	size_t n = p->bodylen < 15 ? p->bodylen : 15;

	if (n == 15) {
		uint64_t a, b;

		memcpy(&a, p->body, 8);
		memcpy(&b, p->body + 7, 8);
		it->key = k | (__builtin_bswap64(a) >> 8);
		it->key2 = __builtin_bswap64(b);
		it->p = p;
		return;
	}
	for (size_t i = 0; i < n && i < 7; i++)
		k |= (uint64_t)p->body[i] << (48 - 8 * i);
	for (size_t i = 7; i < n; i++)
		k2 |= (uint64_t)p->body[i] << (56 - 8 * (i - 7));
	it->key = k;
	it->key2 = k2;
	it->p = p;
}

/* OCaml's compare on (int, string): tag, then bytes, shorter first. */
static int
sks_item_cmp(const void *a, const void *b)
{
	const struct sks_item *x = a, *y = b;
	const struct pgp_packet *p = x->p, *q = y->p;
	size_t n;
	int c;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	if (x->key2 != y->key2)
		return x->key2 < y->key2 ? -1 : 1;
	n = p->bodylen < q->bodylen ? p->bodylen : q->bodylen;
	if (n > 15 && (c = memcmp(p->body + 15, q->body + 15, n - 15)) != 0)
		return c;
	if (p->bodylen != q->bodylen)
		return p->bodylen < q->bodylen ? -1 : 1;
	return 0;
}

static inline bool
sks_item_less(const struct sks_item *x, const struct sks_item *y)
{
	if (x->key != y->key)
		return x->key < y->key;
	if (x->key2 != y->key2)
		return x->key2 < y->key2;
	return sks_item_cmp(x, y) < 0;
}

/*
 * Sorts v: insertion sort on runs of 16, then bottom-up merges.  The
 * comparison is inline and almost always decided by the prefix key, which
 * is what makes this several times cheaper than qsort() here.
 */
static int
sks_sort(struct sks_item *v, size_t n)
{
	struct sks_item small[64], *tmp = small, *a = v, *b;
	const size_t run = 16;

	for (size_t lo = 0; lo < n; lo += run) {
		size_t hi = lo + run < n ? lo + run : n;

		for (size_t i = lo + 1; i < hi; i++) {
			struct sks_item t = v[i];
			size_t j = i;

			while (j > lo && sks_item_less(&t, &v[j - 1])) {
				v[j] = v[j - 1];
				j--;
			}
			v[j] = t;
		}
	}
	if (n <= run)
		return 0;
	if (n > PGPS_ARRAY_SIZE(small) &&
	    (tmp = mem_reallocarray(NULL, n, sizeof(*tmp))) == NULL)
		return PGPS_ENOMEM;
	b = tmp;
	for (size_t w = run; w < n; w *= 2) {
		for (size_t lo = 0; lo < n; lo += 2 * w) {
			size_t mid = lo + w < n ? lo + w : n;
			size_t hi = lo + 2 * w < n ? lo + 2 * w : n;
			size_t i = lo, j = mid, k = lo;

			while (i < mid && j < hi)
				b[k++] = sks_item_less(&a[j], &a[i]) ?
				    a[j++] : a[i++];
			while (i < mid)
				b[k++] = a[i++];
			while (j < hi)
				b[k++] = a[j++];
		}
		a = b;
		b = a == v ? tmp : v;
	}
	if (a != v)
		memcpy(v, a, n * sizeof(*v));
	if (tmp != small)
		free(tmp);
	return 0;
}

int
pgp_cert_sks_hash(const struct pgp_cert *c, struct digest *md5,
    uint8_t out[16])
{
	struct sks_item small[64], *v = small;
	uint8_t stack[16384], *buf = stack;
	size_t n = 0, total = 0, pos = 0;

	if (c->npkts > PGPS_ARRAY_SIZE(small) &&
	    (v = mem_reallocarray(NULL, c->npkts, sizeof(*v))) == NULL)
		return PGPS_ENOMEM;
	for (size_t i = 0; i < c->npkts; i++) {
		if (c->pkts[i].tag == PGP_TAG_TRUST)
			continue;
		sks_key(&v[n], &c->pkts[i]);
		total += 8 + c->pkts[i].bodylen;
		n++;
	}
	if (sks_sort(v, n) != 0) {
		if (v != small)
			free(v);
		return PGPS_ENOMEM;
	}
	/*
	 * One contiguous buffer and one update: MD5 then runs straight over
	 * whole blocks instead of buffering 8-octet headers between bodies.
	 */
	if (total > sizeof(stack) && (buf = malloc(total)) == NULL) {
		if (v != small)
			free(v);
		return PGPS_ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		store_be32(buf + pos, v[i].p->tag);
		store_be32(buf + pos + 4, (uint32_t)v[i].p->bodylen);
		memcpy(buf + pos + 8, v[i].p->body, v[i].p->bodylen);
		pos += 8 + v[i].p->bodylen;
	}
	digest_reset(md5);
	digest_update(md5, buf, pos);
	digest_final(md5, out);
	if (buf != stack)
		free(buf);
	if (v != small)
		free(v);
	return 0;
}

bool
pgp_cert_sks_acceptable(const struct pgp_cert *c)
{
	int part = 0;	/* 0: direct signatures, 1: user IDs, 2: subkeys */

	if (!c->has_primary || (c->flags & (PGP_CERT_SECRET |
	    PGP_CERT_BARE_REVOCATION)) != 0 ||
	    c->pkts[0].tag != PGP_TAG_PUBLIC_KEY ||
	    c->primary.version < 2 || c->primary.version > 4)
		return false;
	for (size_t i = 1; i < c->npkts; i++) {
		switch (c->pkts[i].tag) {
		case PGP_TAG_SIGNATURE:
		case PGP_TAG_TRUST:
			break;
		case PGP_TAG_USER_ID:
		case PGP_TAG_USER_ATTRIBUTE:
			if (part > 1)
				return false;
			part = 1;
			break;
		case PGP_TAG_PUBLIC_SUBKEY:
			/* A v3 key has user IDs only. */
			if (c->primary.version != 4)
				return false;
			part = 2;
			break;
		default:
			return false;
		}
	}
	return true;
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

static bool
is_secret_key(uint8_t tag)
{
	return tag == PGP_TAG_SECRET_KEY || tag == PGP_TAG_SECRET_SUBKEY;
}

bool
pgp_cert_has_secret(const struct pgp_cert *c)
{
	for (size_t i = 0; i < c->npkts; i++)
		if (is_secret_key(c->pkts[i].tag))
			return true;
	return false;
}

size_t
pgp_cert_secret_mask(uint8_t *drop, const struct pgp_cert *c)
{
	size_t n = 0, i = 0;
	bool in = false;

	if (c->has_primary && c->npkts > 0) {
		in = is_secret_key(c->pkts[0].tag);
		n += in;
		drop[0] = in;
		i = 1;
	}
	for (; i < c->npkts; i++) {
		uint8_t t = c->pkts[i].tag;

		/* A component starts; a secret key is one, in any place. */
		if (t == PGP_TAG_USER_ID || t == PGP_TAG_USER_ATTRIBUTE ||
		    t == PGP_TAG_PUBLIC_SUBKEY || is_secret_key(t)) {
			in = is_secret_key(t);
			n += in;
		}
		drop[i] = in;
	}
	return n;
}

int
pgp_cert_drop_secret(struct buf *out, const struct pgp_cert *c,
    size_t *dropped, struct pgps_err *err)
{
	uint8_t *drop;
	size_t oldlen = out->len, n;
	int r = 0;

	if (dropped != NULL)
		*dropped = 0;
	if (c->flags & PGP_CERT_SECRET)
		return pgps_err_set(err, PGPS_EFORMAT, "certificate at offset "
		    "%llu is a secret key", (unsigned long long)c->offset);
	if ((drop = calloc(c->npkts + 1, 1)) == NULL)
		return pgps_err_set(err, PGPS_ENOMEM, "out of memory");
	n = pgp_cert_secret_mask(drop, c);
	for (size_t i = 0; i < c->npkts && r == 0; i++)
		if (!drop[i] && c->pkts[i].tag != PGP_TAG_TRUST)
			r = pgp_packet_write(out, &c->pkts[i]);
	free(drop);
	if (r != 0) {
		buf_setlen(out, oldlen);
		return pgps_err_set(err, r, "certificate at offset %llu: %s",
		    (unsigned long long)c->offset, pgps_strerror(r));
	}
	if (dropped != NULL)
		*dropped = n;
	return 0;
}
