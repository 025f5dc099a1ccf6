/*
 * import.h: which certificates from a stranger are taken, and as what.
 *
 * Every path that accepts certificates nobody vouches for -- a keyserver's
 * or WKD's answer to a lookup, a hashquery answer after reconciliation --
 * passes them through here, and gets a verdict per certificate: accept
 * (as the certificate asked for), merge (a bare revocation, into the key
 * asked for) or refuse (with the reason, for the report).  Nothing here
 * writes anywhere; the caller merges what is accepted into its key set.
 *
 * The rules, one per IMPORT_R_* reason below:
 *
 *  1. A certificate that cannot be read is refused (UNREADABLE).
 *  2. Secret keys are never taken: a certificate whose primary key is
 *     secret is refused (SECRET); secret keys inside a public certificate
 *     are dropped with the packets under them (pgp_cert_drop_secret()),
 *     and the rest judged as usual (the item says so in why).  Trust
 *     packets are never taken.
 *  3. A lookup by fingerprint or key ID is answered by a certificate
 *     whose PRIMARY key has that fingerprint or key ID.
 *  4. A certificate that carries the fingerprint or key ID asked for only
 *     on a subkey answers only a lookup by subkey: one whose fingerprint
 *     is not a primary key the caller holds (known_primary false, e.g. a
 *     fingerprint named by the user that is not in the keyring); else it
 *     is refused (NOT_PRIMARY).  Even then the subkey's binding signature
 *     must verify by the primary key AND carry a primary key binding
 *     (0x19) made by the matched subkey, whatever key flags the binding
 *     claims (pgp_cert_subkey_bound() with owned): only the subkey's
 *     owner can show that the subkey belongs to this certificate, since
 *     anyone can bind anyone's key to their own.  A subkey whose
 *     algorithm cannot sign (ECDH, ElGamal, X25519, ...) therefore never
 *     answers a lookup by subkey: ask for its primary key instead.  "Not
 *     verified" counts as not bound (UNBOUND).
 *  5. A primary match always wins over a subkey match: once any
 *     certificate answers with its primary key, those that answered with
 *     a subkey are refused (PRIMARY_WINS).  So a server that holds both
 *     a victim's certificate and an attacker's certificate carrying the
 *     victim's primary key as a subkey yields the victim's.
 *  6. Key-ID lookups: a v2/v3 key is refused (V3_KEY_ID): its key ID is
 *     the low 64 bits of an RSA modulus, which anyone can choose, so a
 *     forged key sharing it costs nothing (a v4 key ID is part of a
 *     SHA-1 fingerprint).
 *  7. E-mail lookups (WKD, or a keyserver asked for an address) take a
 *     certificate with a user ID whose address (between the last '<' and
 *     '>', or the whole ID) is the one asked for, ignoring ASCII case;
 *     else OTHER_KEY.
 *  8. A bare revocation (signatures without a key: what Hockeypuck serves
 *     for a hard-revoked key) is merged only into the key asked for by
 *     fingerprint, only when the caller holds that key (known) and every
 *     signature is a key revocation by it that verifies; else refused
 *     (REVOCATION).
 *  9. Several different keys accepted for one lookup (key-ID collision,
 *     subkey of several certificates, an address in several) are all
 *     refused (AMBIGUOUS): the caller cannot know which is meant.  Only
 *     revocations without their key for a lookup that is not by
 *     fingerprint are refused too (REVOCATION).
 * 10. A hashquery answer: a certificate is taken only if its SKS hash,
 *     computed here, is one that was asked for and not yet answered, it
 *     is public and readable (NOT_ASKED, SECRET, UNREADABLE).
 */
#ifndef PGPSYNC_KEYSET_IMPORT_H
#define PGPSYNC_KEYSET_IMPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "openpgp/openpgp.h"
#include "util/buf.h"

struct digest;

enum import_kind {
	IMPORT_BY_FPR,
	IMPORT_BY_KEY_ID,
	IMPORT_BY_EMAIL
};

/* What was asked, and what the caller already knows about it. */
struct import_query {
	enum import_kind	 kind;
	uint8_t			 id[PGP_FPR_MAX];	/* FPR, KEY_ID (8) */
	size_t			 idlen;
	const char		*email;			/* BY_EMAIL */
	/*
	 * The fingerprint (or key ID) is a primary key of the caller's key
	 * set: then no subkey match counts (rule 4).
	 */
	bool			 known_primary;
	/*
	 * The caller's copy of that primary key (a key packet), for
	 * checking bare revocations (rule 8); NULL when not held.
	 */
	const struct pgp_packet	*known;
};

enum import_verdict {
	IMPORT_ACCEPT,		/* the certificate asked for */
	IMPORT_MERGE,		/* a revocation for the key asked for */
	IMPORT_REFUSE
};

enum import_match {
	IMPORT_MATCH_NONE,
	IMPORT_MATCH_PRIMARY,
	IMPORT_MATCH_SUBKEY,
	IMPORT_MATCH_ADDRESS,
	IMPORT_MATCH_REVOCATION,
	IMPORT_MATCH_HASH
};

enum import_reason {
	IMPORT_R_OK,
	IMPORT_R_UNREADABLE,
	IMPORT_R_SECRET,
	IMPORT_R_OTHER_KEY,
	IMPORT_R_NOT_PRIMARY,
	IMPORT_R_UNBOUND,
	IMPORT_R_PRIMARY_WINS,
	IMPORT_R_V3_KEY_ID,
	IMPORT_R_REVOCATION,
	IMPORT_R_AMBIGUOUS,
	IMPORT_R_NOT_ASKED
};

/* One candidate certificate and its verdict. */
struct import_item {
	enum import_verdict	 verdict;
	enum import_reason	 reason;
	enum import_match	 match;
	char			 fpr[2 * PGP_FPR_MAX + 1];	/* primary;
						 * "" without one */
	uint8_t			 hash[16];	/* SKS hash (hashquery) */
	uint64_t		 offset;	/* in the answer */
	struct buf		 data;		/* accepted, merged: its bytes
						 * (secret subkeys dropped) */
	char			*source;	/* the answer's source (copy) */
	char			 why[400];	/* refusal, or what was dropped */
};

/* The candidates for one query, from any number of answers. */
struct import_set {
	struct import_item	*items;
	size_t			 n, alloc;
	size_t			 unreadable;	/* regions of no certificate */
	char			 first_error[400];
};

#define IMPORT_SET_INIT	{ NULL, 0, 0, 0, { 0 } }

void import_set_release(struct import_set *s);

/*
 * Splits the answer p[0..len) from source (a URL or server, copied)
 * into certificates and judges each against q by
 * rules 1-8, adding one item per certificate.  Returns how many were
 * accepted or merged.  Damage between certificates is counted in
 * s->unreadable and does not stop the rest.
 */
size_t import_set_add_answer(struct import_set *s, const struct import_query *q,
    const uint8_t *p, size_t len, const char *source);

/*
 * Applies the rules across all answers (5 and 9), turning items into
 * refusals; call once every answer is in.  Returns the number of items
 * still accepted or merged.
 */
size_t import_set_resolve(struct import_set *s, const struct import_query *q);

/* The primary fingerprint accepted, or NULL (only merges, or none). */
const char *import_set_primary(const struct import_set *s);

/* A short English text for a reason ("a subkey match lost to ..."). */
const char *import_reason_text(enum import_reason r);

/*
 * Decides whether the certificate query id (fingerprint or key ID, by
 * length) answers a lookup, by rules 3, 4 and 6, on a parsed certificate.
 */
enum import_verdict import_judge(struct import_item *out,
    const struct import_query *q, const struct pgp_cert *c);

/*
 * Rule 10: whether cert p[0..len) of a hashquery answer is one asked
 * for.  Parses it into *c (the caller's, reused, released by the caller)
 * and computes its SKS hash into out->hash with md5 (a DIGEST_MD5
 * context); want(hash, c, arg) says whether that hash was asked for and
 * not yet answered (and may look at c, e.g. its primary key).  Returns
 * out->verdict, IMPORT_ACCEPT or IMPORT_REFUSE.  out->data is not
 * filled.
 */
typedef bool (*import_want_fn)(const uint8_t hash[16],
    const struct pgp_cert *c, void *arg);
enum import_verdict import_hashquery(struct import_item *out,
    struct pgp_cert *c, const uint8_t *p, size_t len, struct digest *md5,
    import_want_fn want, void *arg);

#endif
