/*
 * diff.h: what a packet that one version of a certificate has and another
 * lacks (pgp_cert_diff() in openpgp.h) is, in the words a user reads a key
 * update in: its kind, what a signature is on, by whom, when, and what it
 * does to the key's expiry.  Nothing is verified: a "self-signature" is
 * one that claims the primary key as issuer.
 *
 *	struct pgp_change_desc d;
 *
 *	pgp_change_describe(&d, c, &ch[i]);	// fields, e.g. for JSON
 *	pgp_change_text(&line, c, &ch[i]);	// one line for a terminal
 */
#ifndef PGPSYNC_OPENPGP_DIFF_H
#define PGPSYNC_OPENPGP_DIFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "openpgp/openpgp.h"
#include "util/buf.h"

/*
 * User IDs are whatever the key's owner (or a forger) wrote: at most this
 * many octets of one are shown.
 */
#define PGP_CHANGE_UID_MAX	256

/* Room for a fingerprint or key ID in hex and its NUL. */
#define PGP_CHANGE_HEX		(2 * PGP_FPR_MAX + 1)

enum pgp_change_on {
	PGP_ON_KEY,		/* the primary key (direct signatures) */
	PGP_ON_UID,
	PGP_ON_UAT,
	PGP_ON_SUBKEY,
	PGP_ON_OTHER		/* an unknown packet */
};

/* The described packet: fields point into the certificate. */
struct pgp_change_desc {
	enum pgp_change_kind	 kind;
	bool			 is_sig;	/* a signature (else a
						 * component or other packet) */
	/* PGP_CHANGE_UID: the user ID; a signature on a user ID: that one.
	 * Raw octets, at most PGP_CHANGE_UID_MAX. */
	const uint8_t		*uid;
	size_t			 uidlen;
	size_t			 uat_bytes;	/* PGP_CHANGE_UAT */
	/* PGP_CHANGE_SUBKEY, or a signature on a subkey ("" unreadable) */
	char			 subkey[PGP_CHANGE_HEX];
	bool			 has_key;	/* key_algo, key_created */
	uint8_t			 key_algo;	/* PGP_CHANGE_SUBKEY */
	uint32_t		 key_created;
	/* Neither a signature nor a component: its tag. */
	uint8_t			 tag;

	/* Signatures */
	enum pgp_change_on	 on;
	uint8_t			 sig_type;
	bool			 self;		/* claims the primary key */
	char			 issuer[PGP_CHANGE_HEX];	/* fingerprint,
						 * else key ID; "" */
	bool			 has_created;
	uint64_t		 created;
	/* PGP_CHANGE_EXPIRY: when the key expires, 0 for never. */
	uint64_t		 key_expires;
	bool			 has_reason;	/* PGP_CHANGE_REVOCATION */
	uint8_t			 reason;
};

/* Describes ch, a change of c (from pgp_cert_diff()), into *d. */
void pgp_change_describe(struct pgp_change_desc *d, const struct pgp_cert *c,
    const struct pgp_change *ch);

/* "uid", "uat", "subkey", "key" or "other". */
const char *pgp_change_on_name(enum pgp_change_on on);

/* The English text of a revocation reason ("key compromised"). */
const char *pgp_revocation_reason_text(uint8_t reason);

/*
 * Appends one line (no newline) saying what ch is, for a terminal: text
 * from the certificate goes through text_term().  For example
 *	user ID "Alice <alice@example.org>"
 *	subkey 0123...CDEF (ed25519, 2024-01-31)
 *	self-signature 0x13 on user ID "Alice", 2024-01-31, changes expiry:
 *	    key expires 2026-01-30
 *	revocation 0x20 on the primary key, 2025-03-01, reason 2 (key
 *	    compromised)
 * Returns 0 or PGPS_ENOMEM.
 */
int pgp_change_text(struct buf *out, const struct pgp_cert *c,
    const struct pgp_change *ch);

/*
 * Appends a date (UTC) to out[32]: "2024-01-31", or with iso
 * "2024-01-31T12:00:00Z"; the number of seconds if it has no date.
 */
void pgp_date_text(char out[32], uint64_t t, bool iso);

/*
 * The first user ID of c (raw, at most PGP_CHANGE_UID_MAX octets) into
 * *p and *len, for naming a certificate; false (and *len 0) if none.
 */
bool pgp_cert_first_uid(const struct pgp_cert *c, const uint8_t **p,
    size_t *len);

#endif
