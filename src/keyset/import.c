/*
 * import.c: the trust rules for certificates from strangers (import.h
 * lists them; the numbers below refer to that list).
 */
#include "util/common.h"

#include "keyset/import.h"
#include "openpgp/openpgp.h"
#include "util/digest.h"
#include "util/hex.h"
#include "util/mem.h"

static const char *const reason_texts[] = {
	[IMPORT_R_OK] = "accepted",
	[IMPORT_R_UNREADABLE] = "unreadable",
	[IMPORT_R_SECRET] = "a secret key",
	[IMPORT_R_OTHER_KEY] = "a certificate of another key",
	[IMPORT_R_NOT_PRIMARY] = "carries the key asked for only as a subkey",
	[IMPORT_R_UNBOUND] = "carries the key asked for as a subkey whose "
	    "binding does not verify",
	[IMPORT_R_PRIMARY_WINS] = "carries the key asked for as a subkey, "
	    "while another certificate has it as its primary key",
	[IMPORT_R_V3_KEY_ID] = "a v3 key, whose key ID anyone can forge",
	[IMPORT_R_REVOCATION] = "a revocation that is not for the key asked "
	    "for",
	[IMPORT_R_AMBIGUOUS] = "one of several keys that match",
	[IMPORT_R_NOT_ASKED] = "not one of the hashes asked for"
};

const char *
import_reason_text(enum import_reason r)
{
	if ((size_t)r >= PGPS_ARRAY_SIZE(reason_texts))
		return "refused";
	return reason_texts[r];
}

static void
item_init(struct import_item *it)
{
	memset(it, 0, sizeof(*it));
	buf_init(&it->data, 0);
	it->verdict = IMPORT_REFUSE;
}

static enum import_verdict
refuse(struct import_item *it, enum import_reason r)
{
	it->verdict = IMPORT_REFUSE;
	it->reason = r;
	if (it->why[0] == '\0')
		snprintf(it->why, sizeof(it->why), "%s", import_reason_text(r));
	return IMPORT_REFUSE;
}

/* Rule 7: the address of a user ID, between its last '<' and '>'. */
static bool
uid_has_address(const uint8_t *p, size_t len, const char *email)
{
	size_t lo = 0, hi = len, n = strlen(email);

	for (size_t i = len; i > 0; i--)
		if (p[i - 1] == '<') {
			lo = i;
			for (hi = lo; hi < len && p[hi] != '>'; hi++)
				;
			break;
		}
	if (hi - lo != n)
		return false;
	for (size_t i = 0; i < n; i++) {
		uint8_t a = p[lo + i], b = (uint8_t)email[i];

		if (a >= 'A' && a <= 'Z')
			a = (uint8_t)(a - 'A' + 'a');
		if (b >= 'A' && b <= 'Z')
			b = (uint8_t)(b - 'A' + 'a');
		if (a != b)
			return false;
	}
	return true;
}

static bool
key_matches(const struct pgp_key_info *ki, const struct import_query *q)
{
	if (q->kind == IMPORT_BY_KEY_ID)
		return q->idlen == 8 && memcmp(ki->keyid, q->id, 8) == 0;
	return ki->fprlen == q->idlen && memcmp(ki->fpr, q->id, q->idlen) == 0;
}

enum import_verdict
import_judge(struct import_item *out, const struct import_query *q,
    const struct pgp_cert *c)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct pgp_key_info ki;
	enum pgp_verify v;
	bool subkey_seen = false;

	out->match = IMPORT_MATCH_NONE;
	if ((c->flags & PGP_CERT_SECRET) != 0)
		return refuse(out, IMPORT_R_SECRET);
	if (!c->has_primary)
		return refuse(out, IMPORT_R_OTHER_KEY);
	pgp_key_fpr_hex(out->fpr, &c->primary);
	if (q->kind == IMPORT_BY_EMAIL) {
		for (size_t i = 0; i < c->npkts; i++)
			if (c->pkts[i].tag == PGP_TAG_USER_ID &&
			    uid_has_address(c->pkts[i].body,
			    c->pkts[i].bodylen, q->email)) {
				out->match = IMPORT_MATCH_ADDRESS;
				out->verdict = IMPORT_ACCEPT;
				out->reason = IMPORT_R_OK;
				return IMPORT_ACCEPT;
			}
		return refuse(out, IMPORT_R_OTHER_KEY);
	}
	/* Rule 3, with rule 6 for key IDs. */
	if (key_matches(&c->primary, q)) {
		if (q->kind == IMPORT_BY_KEY_ID && c->primary.version < 4)
			return refuse(out, IMPORT_R_V3_KEY_ID);
		out->match = IMPORT_MATCH_PRIMARY;
		out->verdict = IMPORT_ACCEPT;
		out->reason = IMPORT_R_OK;
		return IMPORT_ACCEPT;
	}
	/* Rule 4: a subkey, only for a lookup by subkey, only if bound. */
	for (size_t i = 0; i < c->npkts; i++) {
		const struct pgp_packet *p = &c->pkts[i];

		if (p->tag != PGP_TAG_PUBLIC_SUBKEY ||
		    pgp_key_info_parse(&ki, p->body, p->bodylen, NULL) != 0 ||
		    !key_matches(&ki, q))
			continue;
		subkey_seen = true;
		if (q->known_primary)
			break;
		pgps_err_clear(&err);
		if ((v = pgp_cert_subkey_bound(c, i, true, &err)) ==
		    PGP_VERIFY_GOOD) {
			out->match = IMPORT_MATCH_SUBKEY;
			out->verdict = IMPORT_ACCEPT;
			out->reason = IMPORT_R_OK;
			return IMPORT_ACCEPT;
		}
		snprintf(out->why, sizeof(out->why), "%s (%s%s)",
		    import_reason_text(IMPORT_R_UNBOUND),
		    v == PGP_VERIFY_UNKNOWN ? "not verified: " : "", err.msg);
	}
	if (!subkey_seen)
		return refuse(out, IMPORT_R_OTHER_KEY);
	return refuse(out, q->known_primary ? IMPORT_R_NOT_PRIMARY :
	    IMPORT_R_UNBOUND);
}

/*
 * Rule 8: a bare revocation merges into the key asked for by fingerprint
 * when every signature is a key revocation by it that verifies.
 */
static enum import_verdict
judge_bare(struct import_item *out, const struct import_query *q,
    const struct pgp_cert *c)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct pgp_key_info ki;
	struct pgp_sig_info s;
	enum pgp_verify v;
	size_t nsigs = 0;

	out->match = IMPORT_MATCH_NONE;
	if ((c->flags & PGP_CERT_BARE_REVOCATION) == 0 ||
	    q->kind != IMPORT_BY_FPR)
		return refuse(out, IMPORT_R_REVOCATION);
	memset(&ki, 0, sizeof(ki));
	ki.fprlen = (uint8_t)q->idlen;
	memcpy(ki.fpr, q->id, q->idlen);
	/* v4: the low 64 bits; v6: the high ones (RFC 9580 5.5.4) */
	memcpy(ki.keyid, q->idlen == 20 ? q->id + 12 : q->id, 8);
	for (size_t i = 0; i < c->npkts; i++) {
		const struct pgp_packet *p = &c->pkts[i];

		if (p->tag == PGP_TAG_TRUST || p->tag == PGP_TAG_MARKER)
			continue;
		if (p->tag != PGP_TAG_SIGNATURE ||
		    pgp_sig_parse(&s, p->body, p->bodylen, NULL) != 0 ||
		    s.type != PGP_SIG_KEY_REVOCATION || !pgp_sig_is_by(&s, &ki))
			return refuse(out, IMPORT_R_REVOCATION);
		if (q->known == NULL) {
			snprintf(out->why, sizeof(out->why), "a revocation "
			    "for a key that is not in the keyring");
			return refuse(out, IMPORT_R_REVOCATION);
		}
		pgps_err_clear(&err);
		if ((v = pgp_sig_verify(p->body, p->bodylen, q->known,
		    q->known, NULL, &err)) != PGP_VERIFY_GOOD) {
			snprintf(out->why, sizeof(out->why), "a revocation "
			    "that does not verify (%s%s)",
			    v == PGP_VERIFY_UNKNOWN ? "not verified: " : "",
			    err.msg);
			return refuse(out, IMPORT_R_REVOCATION);
		}
		nsigs++;
	}
	if (nsigs == 0)
		return refuse(out, IMPORT_R_REVOCATION);
	out->match = IMPORT_MATCH_REVOCATION;
	out->verdict = IMPORT_MERGE;
	out->reason = IMPORT_R_OK;
	return IMPORT_MERGE;
}

static void
refuse_item(struct import_item *it, enum import_reason r)
{
	it->why[0] = '\0';
	refuse(it, r);
	buf_release(&it->data);
}

static struct import_item *
set_add(struct import_set *s)
{
	struct import_item *it;
	size_t alloc;

	if (s->n == s->alloc) {
		alloc = s->alloc == 0 ? 4 : 2 * s->alloc;
		if ((it = mem_reallocarray(s->items, alloc,
		    sizeof(*s->items))) == NULL)
			return NULL;
		s->items = it;
		s->alloc = alloc;
	}
	it = &s->items[s->n++];
	item_init(it);
	return it;
}

static void
note_unreadable(struct import_set *s, const char *source, const char *msg)
{
	if (s->unreadable++ == 0)
		snprintf(s->first_error, sizeof(s->first_error), "%.120s: %s",
		    source, msg);
}

size_t
import_set_add_answer(struct import_set *s, const struct import_query *q,
    const uint8_t *p, size_t len, const char *source)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct pgp_reader *rd = NULL;
	struct pgp_raw_cert raw;
	struct pgp_cert c = PGP_CERT_INIT;
	struct import_item *it;
	size_t kept = 0, dropped;
	int r;

	if (pgp_reader_open_mem(&rd, p, len, source, &err) != 0) {
		note_unreadable(s, source, err.msg);
		return 0;
	}
	pgp_reader_keep_bare(rd);
	for (;;) {
		pgps_err_clear(&err);
		if ((r = pgp_reader_next(rd, &raw, 0, &err)) == 0)
			break;
		if (r < 0 || pgp_cert_parse(&c, raw.p, raw.len, raw.offset,
		    &err) != 0) {
			note_unreadable(s, source, err.msg);
			if (r == PGPS_EIO)
				break;
			continue;
		}
		if ((it = set_add(s)) == NULL) {
			note_unreadable(s, source, "out of memory");
			break;
		}
		it->offset = raw.offset;
		if ((it->source = malloc(strlen(source) + 1)) != NULL)
			memcpy(it->source, source, strlen(source) + 1);
		if ((c.flags & PGP_CERT_SECRET) != 0)
			refuse(it, IMPORT_R_SECRET);
		else if (!c.has_primary)
			judge_bare(it, q, &c);
		else
			import_judge(it, q, &c);
		if (it->verdict == IMPORT_REFUSE)
			continue;
		/* Rule 2: secret key material is never taken. */
		if (pgp_cert_drop_secret(&it->data, &c, &dropped, &err) != 0) {
			refuse_item(it, IMPORT_R_UNREADABLE);
			snprintf(it->why, sizeof(it->why), "%s", err.msg);
			continue;
		}
		kept++;
		if (dropped > 0)
			snprintf(it->why, sizeof(it->why), "dropped %zu secret "
			    "key%s", dropped, dropped == 1 ? "" : "s");
	}
	pgp_cert_release(&c);
	pgp_reader_free(rd);
	return kept;
}

size_t
import_set_resolve(struct import_set *s, const struct import_query *q)
{
	const char *prim = NULL;
	bool primary_match = false, several = false, full = false;
	size_t left = 0;

	for (size_t i = 0; i < s->n; i++)
		if (s->items[i].verdict == IMPORT_ACCEPT &&
		    s->items[i].match == IMPORT_MATCH_PRIMARY)
			primary_match = true;
	/* Rule 5. */
	for (size_t i = 0; i < s->n; i++) {
		struct import_item *it = &s->items[i];

		if (primary_match && it->verdict == IMPORT_ACCEPT &&
		    it->match == IMPORT_MATCH_SUBKEY)
			refuse_item(it, IMPORT_R_PRIMARY_WINS);
		if (it->verdict != IMPORT_ACCEPT)
			continue;
		full = true;
		if (prim == NULL)
			prim = it->fpr;
		else if (strcmp(prim, it->fpr) != 0)
			several = true;
	}
	/* Rule 9. */
	for (size_t i = 0; i < s->n; i++) {
		struct import_item *it = &s->items[i];

		if (it->verdict == IMPORT_ACCEPT && several)
			refuse_item(it, IMPORT_R_AMBIGUOUS);
		else if (it->verdict == IMPORT_MERGE && !full &&
		    q->kind != IMPORT_BY_FPR)
			refuse_item(it, IMPORT_R_REVOCATION);
		if (it->verdict != IMPORT_REFUSE)
			left++;
	}
	return left;
}

const char *
import_set_primary(const struct import_set *s)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->items[i].verdict == IMPORT_ACCEPT)
			return s->items[i].fpr;
	return NULL;
}

void
import_set_release(struct import_set *s)
{
	for (size_t i = 0; i < s->n; i++) {
		buf_release(&s->items[i].data);
		free(s->items[i].source);
	}
	free(s->items);
	s->items = NULL;
	s->n = s->alloc = 0;
	s->unreadable = 0;
	s->first_error[0] = '\0';
}

enum import_verdict
import_hashquery(struct import_item *out, struct pgp_cert *c,
    const uint8_t *p, size_t len, struct digest *md5, import_want_fn want,
    void *arg)
{
	item_init(out);
	out->match = IMPORT_MATCH_HASH;
	if (pgp_cert_parse(c, p, len, 0, NULL) != 0)
		return refuse(out, IMPORT_R_UNREADABLE);
	if ((c->flags & PGP_CERT_SECRET) != 0)
		return refuse(out, IMPORT_R_SECRET);
	if (!c->has_primary || pgp_cert_sks_hash(c, md5, out->hash) != 0)
		return refuse(out, IMPORT_R_UNREADABLE);
	pgp_key_fpr_hex(out->fpr, &c->primary);
	for (size_t i = 0; i < c->npkts; i++)
		if (c->pkts[i].tag == PGP_TAG_SECRET_SUBKEY)
			return refuse(out, IMPORT_R_SECRET);
	if (!want(out->hash, c, arg))
		return refuse(out, IMPORT_R_NOT_ASKED);
	out->verdict = IMPORT_ACCEPT;
	out->reason = IMPORT_R_OK;
	return IMPORT_ACCEPT;
}
