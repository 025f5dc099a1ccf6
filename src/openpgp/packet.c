/*
 * packet.c: OpenPGP packet framing (RFC 9580 4.2, RFC 4880 4.2).
 *
 * Reads legacy and OpenPGP headers with every length form, joins partial
 * body chunks, and writes packets back.  It looks at nothing inside a body:
 * keys, signatures and certificates are other files' business.  Legacy
 * "indeterminate" lengths are refused: inside a keyring they can only be
 * damage (SKS refuses them too), and honouring them would swallow every
 * certificate that follows.
 */
#include "util/common.h"

#include "openpgp/openpgp.h"
#include "util/limits.h"
#include "util/mem.h"

/* Reads a new-format length at s[*pos]; sets *len and *partial. */
static int
new_length(const uint8_t *p, size_t avail, size_t *pos, size_t *len,
    bool *partial)
{
	uint8_t o1;

	if (*pos >= avail)
		return PGPS_ETRUNC;
	o1 = p[*pos];
	*partial = false;
	if (o1 < 192) {
		*len = o1;
		*pos += 1;
	} else if (o1 < 224) {
		if (avail - *pos < 2)
			return PGPS_ETRUNC;
		*len = ((size_t)(o1 - 192) << 8) + p[*pos + 1] + 192;
		*pos += 2;
	} else if (o1 == 255) {
		if (avail - *pos < 5)
			return PGPS_ETRUNC;
		*len = load_be32(p + *pos + 1);
		*pos += 5;
	} else {
		*len = (size_t)1 << (o1 & 0x1f);
		*partial = true;
		*pos += 1;
	}
	return 0;
}

int
pgp_packet_peek(const struct span *s, uint64_t offset, uint8_t *tag,
    size_t *hdrlen, size_t *bodylen, size_t *rawlen, struct pgps_err *err)
{
	const uint8_t *p = s->p;
	size_t avail = s->len, pos, len, total;
	bool partial;
	uint8_t o;
	int r;

	if (avail == 0)
		return pgps_err_set(err, PGPS_ETRUNC,
		    "offset %llu: expected a packet, found end of input",
		    (unsigned long long)offset);
	o = p[0];
	if ((o & 0x80) == 0)
		return pgps_err_set(err, PGPS_EFORMAT,
		    "offset %llu: byte 0x%02x is not a packet header "
		    "(bit 7 clear)", (unsigned long long)offset, o);
	if (o & 0x40) {
		*tag = o & 0x3f;
		pos = 1;
		if ((r = new_length(p, avail, &pos, &len, &partial)) != 0)
			goto trunc_hdr;
		*hdrlen = pos;
		total = len;
		while (partial) {
			/* Skip this chunk, then read the next length. */
			if (avail - pos < len)
				goto trunc_body;
			pos += len;
			if ((r = new_length(p, avail, &pos, &len,
			    &partial)) != 0)
				goto trunc_hdr;
			if (!mem_add(&total, total, len))
				goto toolong;
		}
		if (avail - pos < len)
			goto trunc_body;
		*bodylen = total;
		*rawlen = pos + len;
	} else {
		static const size_t lsz[3] = { 1, 2, 4 };
		uint8_t lt = o & 3;

		*tag = (o >> 2) & 0x0f;
		if (lt == 3)
			return pgps_err_set(err, PGPS_EFORMAT,
			    "offset %llu: legacy packet with indeterminate "
			    "length", (unsigned long long)offset);
		if (avail < 1 + lsz[lt]) {
			r = PGPS_ETRUNC;
			goto trunc_hdr;
		}
		if (lt == 0)
			len = p[1];
		else if (lt == 1)
			len = (size_t)p[1] << 8 | p[2];
		else
			len = load_be32(p + 1);
		*hdrlen = 1 + lsz[lt];
		pos = *hdrlen;
		if (avail - pos < len)
			goto trunc_body;
		*bodylen = len;
		*rawlen = pos + len;
	}
	if (*tag == 0)
		return pgps_err_set(err, PGPS_EFORMAT,
		    "offset %llu: packet with reserved tag 0",
		    (unsigned long long)offset);
	return 0;

 trunc_hdr:
	return pgps_err_set(err, r, "offset %llu: packet header cut short "
	    "by the end of input", (unsigned long long)offset);
 trunc_body:
	return pgps_err_set(err, PGPS_ETRUNC, "offset %llu: %s packet "
	    "claims %zu body bytes but only %zu remain",
	    (unsigned long long)offset, (o & 0x40) ? "new-format" : "legacy",
	    len, avail - pos);
 toolong:
	return pgps_err_set(err, PGPS_ELIMIT, "offset %llu: partial packet "
	    "too long", (unsigned long long)offset);
}

int
pgp_packet_parse(struct pgp_packet *out, struct span *s, uint64_t offset,
    struct buf *scratch, struct pgps_err *err)
{
	size_t hdrlen, bodylen, rawlen;
	uint8_t tag;
	int r;

	if ((r = pgp_packet_peek(s, offset, &tag, &hdrlen, &bodylen, &rawlen,
	    err)) != 0)
		return r;
	out->tag = tag;
	out->flags = (s->p[0] & 0x40) ? PGP_PACKET_NEW_FORMAT : 0;
	out->raw = s->p;
	out->rawlen = rawlen;
	out->offset = offset;
	if (hdrlen + bodylen == rawlen) {
		out->body = s->p + hdrlen;
		out->bodylen = bodylen;
	} else {
		/* Partial lengths: join the chunks into scratch. */
		size_t pos = 1, len, start;
		bool partial = true;

		if (scratch == NULL)
			return pgps_err_set(err, PGPS_EUNSUPPORTED,
			    "offset %llu: partial-length packet not allowed "
			    "here", (unsigned long long)offset);
		start = scratch->len;
		if ((r = buf_grow(scratch, bodylen)) != 0)
			return pgps_err_set(err, r, "offset %llu: partial "
			    "packet of %zu bytes too large",
			    (unsigned long long)offset, bodylen);
		while (partial) {
			new_length(s->p, rawlen, &pos, &len, &partial);
			buf_add(scratch, s->p + pos, len);
			pos += len;
		}
		out->flags |= PGP_PACKET_PARTIAL;
		out->body = scratch->p + start;
		out->bodylen = bodylen;
	}
	s->p += rawlen;
	s->len -= rawlen;
	return 0;
}

static int
write_header(struct buf *out, uint8_t tag, size_t bodylen, bool newfmt)
{
	uint8_t h[6];
	size_t n;

	if (bodylen > UINT32_MAX)
		return PGPS_ELIMIT;
	if (tag < 16 && !newfmt) {
		/* Legacy framing, smallest length type, as gpg and SKS write. */
		if (bodylen < 256) {
			h[0] = (uint8_t)(0x80 | tag << 2);
			h[1] = (uint8_t)bodylen;
			n = 2;
		} else if (bodylen < 65536) {
			h[0] = (uint8_t)(0x80 | tag << 2 | 1);
			h[1] = (uint8_t)(bodylen >> 8);
			h[2] = (uint8_t)bodylen;
			n = 3;
		} else {
			h[0] = (uint8_t)(0x80 | tag << 2 | 2);
			store_be32(h + 1, (uint32_t)bodylen);
			n = 5;
		}
	} else {
		h[0] = (uint8_t)(0xc0 | tag);
		if (bodylen < 192) {
			h[1] = (uint8_t)bodylen;
			n = 2;
		} else if (bodylen < 8384) {
			h[1] = (uint8_t)(((bodylen - 192) >> 8) + 192);
			h[2] = (uint8_t)(bodylen - 192);
			n = 3;
		} else {
			h[1] = 255;
			store_be32(h + 2, (uint32_t)bodylen);
			n = 6;
		}
	}
	return buf_add(out, h, n);
}

int
pgp_packet_write_header(struct buf *out, uint8_t tag, size_t bodylen)
{
	return write_header(out, tag, bodylen, false);
}

int
pgp_packet_write(struct buf *out, const struct pgp_packet *p)
{
	int r;

	if ((p->flags & PGP_PACKET_PARTIAL) == 0)
		return buf_add(out, p->raw, p->rawlen);
	/* Partial lengths are for data packets only: re-frame definitely. */
	if ((r = write_header(out, p->tag, p->bodylen,
	    (p->flags & PGP_PACKET_NEW_FORMAT) != 0)) != 0)
		return r;
	return buf_add(out, p->body, p->bodylen);
}

int
pgp_packet_cmp(const struct pgp_packet *p, const struct pgp_packet *q)
{
	if (p == q)
		return 0;
	if (p == NULL || q == NULL)
		return p == NULL ? -1 : 1;
	if (p->tag != q->tag)
		return p->tag < q->tag ? -1 : 1;
	if (p->bodylen != q->bodylen)
		return p->bodylen < q->bodylen ? -1 : 1;
	return p->bodylen == 0 ? 0 : memcmp(p->body, q->body, p->bodylen);
}

const char *
pgp_tag_name(uint8_t tag, char tmp[16])
{
	switch (tag) {
	case PGP_TAG_SIGNATURE:		return "signature";
	case PGP_TAG_SECRET_KEY:	return "secret key";
	case PGP_TAG_PUBLIC_KEY:	return "public key";
	case PGP_TAG_SECRET_SUBKEY:	return "secret subkey";
	case PGP_TAG_MARKER:		return "marker";
	case PGP_TAG_TRUST:		return "trust";
	case PGP_TAG_USER_ID:		return "user ID";
	case PGP_TAG_PUBLIC_SUBKEY:	return "public subkey";
	case PGP_TAG_USER_ATTRIBUTE:	return "user attribute";
	case PGP_TAG_PADDING:		return "padding";
	default:
		snprintf(tmp, 16, "tag %u", tag);
		return tmp;
	}
}

const char *
pgp_algo_name(uint8_t algo, char tmp[16])
{
	switch (algo) {
	case 1: case 2: case 3:	return "RSA";
	case 16:		return "ElGamal";
	case 17:		return "DSA";
	case 18:		return "ECDH";
	case 19:		return "ECDSA";
	case 20:		return "ElGamal-sign";
	case 22:		return "EdDSA";
	case 25:		return "X25519";
	case 26:		return "X448";
	case 27:		return "Ed25519";
	case 28:		return "Ed448";
	default:
		snprintf(tmp, 16, "algo %u", algo);
		return tmp;
	}
}
