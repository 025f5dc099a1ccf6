/*
 * fuzz-import.c: the import rules (keyset/import.c), with signature
 * verification, on a keyserver's answer for a lookup.
 *
 * The first octet chooses the lookup, made from the first certificate of
 * the answer so that the answer can hold what was asked for: bits 0-1,
 * by the fingerprint of its primary key, of its first subkey, by the key
 * ID of its primary key, or by the address of its first user ID; bit 2,
 * the key set holds that fingerprint as a primary key; bit 3, it holds
 * that primary key (for bare revocations); bit 4, the answer comes in two
 * parts, split where the second octet says.  The rest is the answer.
 * Besides memory errors it checks what the rules promise: a refused
 * certificate brings nothing; an accepted one is the key asked for
 * (its primary key, or a subkey only for a subkey lookup of a key not
 * held as a primary key), readable and free of secret key material and
 * trust packets; a primary match is never outdone by a subkey match;
 * one key at most is accepted.
 */
#include "util/common.h"

#include "keyset/import.h"
#include "openpgp/openpgp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fail(const char *what, const struct import_item *it)
{
	fprintf(stderr, "fuzz-import: %s (item at offset %llu: %s)\n", what,
	    it != NULL ? (unsigned long long)it->offset : 0ULL,
	    it != NULL ? it->why : "");
	abort();
}

/* The address of a user ID: between the last '<' and the next '>'. */
static size_t
address(char *out, size_t cap, const uint8_t *p, size_t n)
{
	size_t a = 0, b = n;

	for (size_t i = 0; i < n; i++)
		if (p[i] == '<')
			a = i + 1;
	for (size_t i = a; i < n; i++)
		if (p[i] == '>') {
			b = i;
			break;
		}
	if (a == 0)
		b = n;
	if (b - a + 1 > cap || memchr(p + a, '\0', b - a) != NULL)
		return 0;
	memcpy(out, p + a, b - a);
	out[b - a] = '\0';
	return b - a;
}

/* The lookup, from the first certificate with a primary key. */
static bool
make_query(struct import_query *q, char *email, size_t ecap,
    struct pgp_packet *known, uint8_t mode, const uint8_t *p, size_t n)
{
	struct pgp_reader *rd = NULL;
	struct pgp_raw_cert raw;
	struct pgp_cert c = PGP_CERT_INIT;
	struct pgp_key_info sk;
	bool ok = false;
	int r;

	memset(q, 0, sizeof(*q));
	if (pgp_reader_open_mem(&rd, p, n, "fuzz", NULL) != 0)
		return false;
	while (!ok && (r = pgp_reader_next(rd, &raw, 0, NULL)) != 0) {
		if (r < 0 || pgp_cert_parse(&c, raw.p, raw.len, 0,
		    NULL) != 0 || !c.has_primary)
			continue;
		switch (mode & 3) {
		case 0:
			q->kind = IMPORT_BY_FPR;
			memcpy(q->id, c.primary.fpr, c.primary.fprlen);
			q->idlen = c.primary.fprlen;
			ok = true;
			break;
		case 1:
			for (size_t i = 1; i < c.npkts && !ok; i++)
				if (c.pkts[i].tag == PGP_TAG_PUBLIC_SUBKEY &&
				    pgp_key_info_parse(&sk, c.pkts[i].body,
				    c.pkts[i].bodylen, NULL) == 0) {
					q->kind = IMPORT_BY_FPR;
					memcpy(q->id, sk.fpr, sk.fprlen);
					q->idlen = sk.fprlen;
					ok = true;
				}
			break;
		case 2:
			q->kind = IMPORT_BY_KEY_ID;
			memcpy(q->id, c.primary.keyid, 8);
			q->idlen = 8;
			ok = true;
			break;
		default:
			for (size_t i = 1; i < c.npkts && !ok; i++)
				if (c.pkts[i].tag == PGP_TAG_USER_ID &&
				    address(email, ecap, c.pkts[i].body,
				    c.pkts[i].bodylen) > 0) {
					q->kind = IMPORT_BY_EMAIL;
					q->email = email;
					ok = true;
				}
			break;
		}
		if (ok && (mode & 8) != 0 && q->kind == IMPORT_BY_FPR) {
			/* Held: a copy that outlives the reader. */
			const struct pgp_packet *k = &c.pkts[0];
			uint8_t *b = malloc(k->rawlen + k->bodylen + 1);

			if (b != NULL) {
				memcpy(b, k->raw, k->rawlen);
				memcpy(b + k->rawlen, k->body, k->bodylen);
				*known = *k;
				known->raw = b;
				known->body = b + k->rawlen;
				q->known = known;
			}
		}
	}
	q->known_primary = (mode & 4) != 0 && q->kind != IMPORT_BY_EMAIL;
	pgp_cert_release(&c);
	pgp_reader_free(rd);
	return ok;
}

static bool
has_subkey(const struct pgp_cert *c, const struct import_query *q)
{
	struct pgp_key_info sk;

	for (size_t i = 1; i < c->npkts; i++)
		if (c->pkts[i].tag == PGP_TAG_PUBLIC_SUBKEY &&
		    pgp_key_info_parse(&sk, c->pkts[i].body, c->pkts[i].bodylen,
		    NULL) == 0 && (q->kind == IMPORT_BY_FPR ?
		    sk.fprlen == q->idlen && memcmp(sk.fpr, q->id,
		    q->idlen) == 0 : memcmp(sk.keyid, q->id, 8) == 0))
			return true;
	return false;
}

static void
check_item(const struct import_item *it, const struct import_query *q,
    bool *primary, bool *subkey, uint8_t *fpr, size_t *fprlen)
{
	struct pgp_cert c = PGP_CERT_INIT;

	if (it->verdict == IMPORT_REFUSE) {
		if (it->data.len != 0)
			fail("a refused certificate brings bytes", it);
		return;
	}
	if (it->verdict == IMPORT_MERGE) {
		if (q->kind != IMPORT_BY_FPR || q->known == NULL)
			fail("a revocation merged for a key not held", it);
		return;
	}
	if (pgp_cert_parse(&c, it->data.p, it->data.len, 0, NULL) != 0 ||
	    !c.has_primary)
		fail("an accepted certificate does not parse", it);
	for (size_t i = 0; i < c.npkts; i++)
		if (c.pkts[i].tag == PGP_TAG_SECRET_KEY ||
		    c.pkts[i].tag == PGP_TAG_SECRET_SUBKEY ||
		    c.pkts[i].tag == PGP_TAG_TRUST)
			fail("secret key material or trust taken", it);
	switch (it->match) {
	case IMPORT_MATCH_PRIMARY:
		if (q->kind == IMPORT_BY_FPR ? c.primary.fprlen != q->idlen ||
		    memcmp(c.primary.fpr, q->id, q->idlen) != 0 :
		    q->kind != IMPORT_BY_KEY_ID ||
		    memcmp(c.primary.keyid, q->id, 8) != 0)
			fail("a primary match of another key", it);
		if (q->kind == IMPORT_BY_KEY_ID && c.primary.version < 4)
			fail("a v3 key taken for a key ID", it);
		*primary = true;
		break;
	case IMPORT_MATCH_SUBKEY:
		if (q->known_primary || q->kind == IMPORT_BY_EMAIL ||
		    !has_subkey(&c, q))
			fail("a subkey match not allowed", it);
		*subkey = true;
		break;
	case IMPORT_MATCH_ADDRESS:
		if (q->kind != IMPORT_BY_EMAIL)
			fail("an address match for a key lookup", it);
		break;
	default:
		fail("accepted without a match", it);
	}
	if (*fprlen == 0) {
		memcpy(fpr, c.primary.fpr, c.primary.fprlen);
		*fprlen = c.primary.fprlen;
	} else if (*fprlen != c.primary.fprlen ||
	    memcmp(fpr, c.primary.fpr, *fprlen) != 0)
		fail("two keys accepted for one lookup", it);
	pgp_cert_release(&c);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct import_set s = IMPORT_SET_INIT;
	struct import_query q;
	struct pgp_packet known;
	uint8_t fpr[PGP_FPR_MAX];
	char email[256];
	size_t fprlen = 0, cut;
	bool primary = false, subkey = false;
	uint8_t mode;

	if (size < 2 || size > (1 << 20))
		return 0;
	mode = data[0];
	cut = data[1];
	data += 2;
	size -= 2;
	memset(&known, 0, sizeof(known));
	if (!make_query(&q, email, sizeof(email), &known, mode, data, size))
		goto out;
	if ((mode & 16) != 0 && size > 0) {
		cut = cut * size / 256;
		import_set_add_answer(&s, &q, data, cut, "part 1");
		import_set_add_answer(&s, &q, data + cut, size - cut, "part 2");
	} else
		import_set_add_answer(&s, &q, data, size, "answer");
	import_set_resolve(&s, &q);
	for (size_t i = 0; i < s.n; i++)
		check_item(&s.items[i], &q, &primary, &subkey, fpr, &fprlen);
	if (primary && subkey)
		fail("a subkey match next to a primary match", NULL);
	(void)import_set_primary(&s);
 out:
	free((void *)known.raw);
	import_set_release(&s);
	return 0;
}
