/*
 * sig.c: reads the fields of a signature packet that certificate handling
 * needs: version, type, algorithms, creation and expiry times, issuer and
 * revocation reason.
 *
 * It does not verify signatures, does not hash anything and does not look
 * at the signature values themselves (beyond the v6 salt, whose length is
 * checked).  Times and the revocation reason are taken from the hashed area
 * only, because nothing vouches for the unhashed one; the issuer is taken
 * from either, as gpg has long written it unhashed.
 */
#include "util/common.h"

#include "openpgp/openpgp.h"
#include "util/span.h"

/* Signature subpacket types (RFC 9580 5.2.3.7). */
enum {
	SUBPKT_CREATED = 2,
	SUBPKT_SIG_EXPIRY = 3,
	SUBPKT_KEY_EXPIRY = 9,
	SUBPKT_ISSUER = 16,
	SUBPKT_REASON = 29,
	SUBPKT_ISSUER_FPR = 33
};

#define SUBPKT_CRITICAL	0x80

/*
 * Reads one subpacket length (RFC 9580 5.2.3.7: 1, 2 or 5 octets; the
 * 5-octet form starts with 255).  The length covers the type octet.
 */
static int
subpkt_len(struct span *s, size_t *out)
{
	uint8_t o1, o2;
	uint32_t v;
	int r;

	if ((r = span_u8(s, &o1)) != 0)
		return r;
	if (o1 < 192) {
		*out = o1;
		return 0;
	}
	if (o1 < 255) {
		if ((r = span_u8(s, &o2)) != 0)
			return r;
		*out = ((size_t)(o1 - 192) << 8) + o2 + 192;
		return 0;
	}
	if ((r = span_be32(s, &v)) != 0)
		return r;
	*out = v;
	return 0;
}

/*
 * Takes what we need from one subpacket.  A known subpacket with the wrong
 * size is a format error: a parser that guessed would report times or
 * issuers nobody wrote.
 */
static int
subpkt_take(struct pgp_sig_info *out, uint8_t type, const uint8_t *p,
    size_t n, bool hashed, size_t at, struct pgps_err *err)
{
	size_t want = 0;

	switch (type) {
	case SUBPKT_CREATED:
	case SUBPKT_SIG_EXPIRY:
	case SUBPKT_KEY_EXPIRY:
		want = 4;
		break;
	case SUBPKT_ISSUER:
		want = 8;
		break;
	case SUBPKT_REASON:
		if (n < 1)
			goto bad;
		break;
	case SUBPKT_ISSUER_FPR:
		if (n < 1)
			goto bad;
		/* Version 4: SHA-1 (20); versions 5 and 6: SHA-256 (32). */
		if (p[0] == 4)
			want = 21;
		else if (p[0] == 5 || p[0] == 6)
			want = 33;
		else
			return 0;	/* a key version we cannot size */
		break;
	default:
		return 0;
	}
	if (want != 0 && n != want)
		goto bad;

	/* The first occurrence wins; times and reasons count only if hashed. */
	switch (type) {
	case SUBPKT_CREATED:
		if (hashed && !out->has_created) {
			out->has_created = true;
			out->created = load_be32(p);
		}
		break;
	case SUBPKT_SIG_EXPIRY:
		if (hashed && !out->has_sig_expiry) {
			out->has_sig_expiry = true;
			out->sig_expiry = load_be32(p);
		}
		break;
	case SUBPKT_KEY_EXPIRY:
		if (hashed && !out->has_key_expiry) {
			out->has_key_expiry = true;
			out->key_expiry = load_be32(p);
		}
		break;
	case SUBPKT_REASON:
		if (hashed && !out->has_reason) {
			out->has_reason = true;
			out->reason = p[0];
		}
		break;
	case SUBPKT_ISSUER:
		if (!out->has_issuer) {
			out->has_issuer = true;
			memcpy(out->issuer, p, 8);
		}
		break;
	case SUBPKT_ISSUER_FPR:
		if (out->issuer_fprlen == 0) {
			out->issuer_fprlen = (uint8_t)(n - 1);
			memcpy(out->issuer_fpr, p + 1, n - 1);
		}
		break;
	}
	return 0;
 bad:
	return pgps_err_set(err, PGPS_EFORMAT,
	    "signature octet %zu: subpacket type %u has %zu octets of data",
	    at, type, n);
}

/* Walks one subpacket area; base is the area's offset in the body. */
static int
subpkt_area(struct pgp_sig_info *out, struct span area, bool hashed,
    size_t base, struct pgps_err *err)
{
	const uint8_t *start = area.p, *data;
	size_t len, at;
	uint8_t type;
	int r;

	while (area.len > 0) {
		at = base + (size_t)(area.p - start);
		if (subpkt_len(&area, &len) != 0)
			return pgps_err_set(err, PGPS_EFORMAT,
			    "signature octet %zu: subpacket length cut off",
			    at);
		if (len == 0)
			return pgps_err_set(err, PGPS_EFORMAT,
			    "signature octet %zu: empty subpacket", at);
		if (len > area.len)
			return pgps_err_set(err, PGPS_EFORMAT,
			    "signature octet %zu: subpacket length %zu "
			    "exceeds the %zu octets left in its area",
			    at, len, area.len);
		type = area.p[0];
		data = area.p + 1;
		area.p += len;
		area.len -= len;
		if ((r = subpkt_take(out, type & (uint8_t)~SUBPKT_CRITICAL,
		    data, len - 1, hashed, at, err)) != 0)
			return r;
	}
	return 0;
}

/* Version 2 and 3 (RFC 9580 5.2.2): fixed fields, no subpackets. */
static int
sig_parse_v3(struct pgp_sig_info *out, const uint8_t *body, struct span *s,
    struct pgps_err *err)
{
	const uint8_t *issuer;
	uint8_t hlen;
	uint32_t created;

	if (span_u8(s, &hlen) != 0)
		goto trunc;
	if (hlen != 5)
		return pgps_err_set(err, PGPS_EFORMAT,
		    "v%u signature: hashed material length %u, not 5",
		    out->version, hlen);
	if (span_u8(s, &out->type) != 0 || span_be32(s, &created) != 0 ||
	    span_bytes(s, 8, &issuer) != 0 ||
	    span_u8(s, &out->pubalgo) != 0 ||
	    span_u8(s, &out->hashalgo) != 0 || span_skip(s, 2) != 0)
		goto trunc;
	out->has_created = true;
	out->created = created;
	out->has_issuer = true;
	memcpy(out->issuer, issuer, 8);
	return 0;
 trunc:
	return pgps_err_set(err, PGPS_EFORMAT,
	    "v%u signature cut off at octet %zu", out->version,
	    (size_t)(s->p - body));
}

/*
 * Versions 4 and 5 (two-octet area counts) and 6 (four-octet counts, then
 * a salt after the hash prefix), RFC 9580 5.2.3.
 */
static int
sig_parse_v4(struct pgp_sig_info *out, const uint8_t *body, struct span *s,
    struct pgps_err *err)
{
	struct span area;
	size_t alen, off;
	uint16_t n16;
	uint32_t n32;
	uint8_t saltlen;
	int pass, r;

	if (span_u8(s, &out->type) != 0 || span_u8(s, &out->pubalgo) != 0 ||
	    span_u8(s, &out->hashalgo) != 0)
		goto trunc;
	for (pass = 0; pass < 2; pass++) {
		off = (size_t)(s->p - body);
		if (out->version == 6) {
			if (span_be32(s, &n32) != 0)
				goto trunc;
			alen = n32;
		} else {
			if (span_be16(s, &n16) != 0)
				goto trunc;
			alen = n16;
		}
		if (span_sub(s, alen, &area) != 0)
			return pgps_err_set(err, PGPS_EFORMAT,
			    "signature octet %zu: %s subpacket area of %zu "
			    "octets exceeds the %zu left", off,
			    pass == 0 ? "hashed" : "unhashed", alen, s->len);
		off = (size_t)(area.p - body);
		if ((r = subpkt_area(out, area, pass == 0, off, err)) != 0)
			return r;
	}
	if (span_skip(s, 2) != 0)
		goto trunc;
	if (out->version == 6) {
		off = (size_t)(s->p - body);
		if (span_u8(s, &saltlen) != 0)
			goto trunc;
		if (span_skip(s, saltlen) != 0)
			return pgps_err_set(err, PGPS_EFORMAT,
			    "signature octet %zu: salt of %u octets exceeds "
			    "the %zu left", off, saltlen, s->len);
	}
	return 0;
 trunc:
	return pgps_err_set(err, PGPS_EFORMAT,
	    "v%u signature cut off at octet %zu", out->version,
	    (size_t)(s->p - body));
}

int
pgp_sig_parse(struct pgp_sig_info *out, const uint8_t *body, size_t len,
    struct pgps_err *err)
{
	struct pgp_sig_info si;
	struct span s = span_make(body, len);
	int r = PGPS_EINTERNAL;

	memset(&si, 0, sizeof(si));
	if (span_u8(&s, &si.version) != 0)
		return pgps_err_set(err, PGPS_EFORMAT, "empty signature");
	switch (si.version) {
	case 2:
	case 3:
		r = sig_parse_v3(&si, body, &s, err);
		break;
	case 4:
	case 5:
	case 6:
		r = sig_parse_v4(&si, body, &s, err);
		break;
	default:
		return pgps_err_set(err, PGPS_EUNSUPPORTED,
		    "signature version %u", si.version);
	}
	if (r != 0)
		return r;
	/*
	 * Without an issuer key ID subpacket (v6 signatures never carry one)
	 * the key ID follows from the issuer fingerprint: its last 8 octets
	 * for a v4 key, its first 8 for v5 and v6 (RFC 9580 5.5.4).
	 */
	if (!si.has_issuer && si.issuer_fprlen == 20) {
		si.has_issuer = true;
		memcpy(si.issuer, si.issuer_fpr + 12, 8);
	} else if (!si.has_issuer && si.issuer_fprlen == 32) {
		si.has_issuer = true;
		memcpy(si.issuer, si.issuer_fpr, 8);
	}
	*out = si;
	return 0;
}

bool
pgp_sig_is_by(const struct pgp_sig_info *s, const struct pgp_key_info *k)
{
	/* A fingerprint decides when both sides have one of the same size. */
	if (s->issuer_fprlen != 0 && s->issuer_fprlen == k->fprlen)
		return memcmp(s->issuer_fpr, k->fpr, k->fprlen) == 0;
	if (s->has_issuer)
		return memcmp(s->issuer, k->keyid, 8) == 0;
	return false;
}
