/*
 * wkd.c: Web Key Directory URLs (draft-koch-openpgp-webkey-service,
 * section 3.1 "Key Discovery").
 *
 * Only the URL rules live here: the hash of the local part and the two URL
 * forms.  Whether to fall back from the advanced to the direct method is
 * the caller's decision (only when the openpgpkey host does not exist, not
 * when it answers badly), and so is keeping at most a handful of the
 * certificates a WKD server returns.  SRV records are not consulted.
 */
#include "util/common.h"

#include "net/net.h"
#include "util/buf.h"
#include "util/digest.h"
#include "util/err.h"

/* Longest local part hashed (RFC 5321 allows 64 octets; be generous). */
#define WKD_LOCAL_MAX	256

/* z-base-32 (RFC 6189 section 5.1.6 alphabet), as the draft requires. */
static const char zb32[] = "ybndrfg8ejkmcpqxot1uwisza345h769";

void
net_wkd_hash(char out[33], const char *local, size_t len)
{
	struct digest *d;
	uint8_t md[DIGEST_MAX];
	unsigned int acc = 0, bits = 0;
	size_t o = 0;

	/* The draft lower-cases ASCII only; other bytes pass unchanged. */
	d = digest_new(DIGEST_SHA1);
	if (d == NULL)
		PGPS_BUG("no memory for a SHA-1 context");
	for (size_t i = 0; i < len; i++) {
		uint8_t c = (uint8_t)local[i];

		if (c >= 'A' && c <= 'Z')
			c = (uint8_t)(c - 'A' + 'a');
		digest_update(d, &c, 1);
	}
	digest_final(d, md);
	digest_free(d);
	/* 20 octets are 160 bits: exactly 32 five-bit groups, no padding. */
	for (size_t i = 0; i < 20; i++) {
		acc = (acc << 8) | md[i];
		bits += 8;
		while (bits >= 5) {
			out[o++] = zb32[(acc >> (bits - 5)) & 31];
			bits -= 5;
		}
	}
	out[o] = '\0';
}

int
net_wkd_url(struct buf *out, const char *email, enum net_wkd_method method,
    struct pgps_err *err)
{
	struct buf dom = BUF_INIT;
	const char *at;
	char hash[33];
	size_t llen;
	int r = PGPS_EINTERNAL;

	at = email != NULL ? strrchr(email, '@') : NULL;
	if (at == NULL || at == email || at[1] == '\0') {
		r = pgps_err_set(err, PGPS_EFORMAT,
		    "'%.100s': not an e-mail address",
		    email != NULL ? email : "");
		goto cleanup;
	}
	llen = (size_t)(at - email);
	if (llen > WKD_LOCAL_MAX) {
		r = pgps_err_set(err, PGPS_ELIMIT,
		    "local part of %zu octets is too long", llen);
		goto cleanup;
	}
	for (size_t i = 0; i < llen; i++) {
		if ((unsigned char)email[i] < 0x20 || email[i] == 0x7f) {
			r = pgps_err_set(err, PGPS_EFORMAT,
			    "e-mail address with a control character");
			goto cleanup;
		}
	}
	for (const char *c = at + 1; *c != '\0'; c++) {
		char ch = *c;

		if (ch >= 'A' && ch <= 'Z')
			ch = (char)(ch - 'A' + 'a');
		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		    ch == '-' || (ch == '.' && c != at + 1 && c[1] != '\0' &&
		    c[1] != '.'))) {
			r = pgps_err_set(err, PGPS_EFORMAT,
			    "'%.100s': the domain is not an ASCII host name",
			    email);
			goto cleanup;
		}
		if ((r = buf_addch(&dom, (uint8_t)ch)) != 0)
			goto cleanup;
	}
	net_wkd_hash(hash, email, llen);
	if (method == NET_WKD_ADVANCED)
		r = buf_addf(out, "https://openpgpkey.%s/.well-known/"
		    "openpgpkey/%s/hu/%s?l=", (char *)dom.p, (char *)dom.p,
		    hash);
	else
		r = buf_addf(out, "https://%s/.well-known/openpgpkey/hu/%s?l=",
		    (char *)dom.p, hash);
	if (r != 0)
		goto cleanup;
	r = net_url_escape(out, (const uint8_t *)email, llen);
 cleanup:
	buf_release(&dom);
	return r;
}
