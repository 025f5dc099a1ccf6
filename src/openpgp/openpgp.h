/*
 * openpgp.h: the OpenPGP core of pgpsync (RFC 4880, RFC 9580).
 *
 * Pure code: no I/O beyond the reader's file descriptor, no network, no
 * printing.  Everything that takes untrusted bytes checks lengths before
 * use and reports failures through struct pgps_err with the byte offset.
 *
 * Lifetimes: a struct pgp_packet and a struct pgp_cert borrow the bytes
 * they were parsed from; they stay valid only as long as that input does.
 */
#ifndef PGPSYNC_OPENPGP_OPENPGP_H
#define PGPSYNC_OPENPGP_OPENPGP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/err.h"
#include "util/span.h"

struct digest;

/* Packet tags (RFC 9580 section 5, table 3). */
enum pgp_tag {
	PGP_TAG_SIGNATURE = 2,
	PGP_TAG_SECRET_KEY = 5,
	PGP_TAG_PUBLIC_KEY = 6,
	PGP_TAG_SECRET_SUBKEY = 7,
	PGP_TAG_MARKER = 10,
	PGP_TAG_TRUST = 12,
	PGP_TAG_USER_ID = 13,
	PGP_TAG_PUBLIC_SUBKEY = 14,
	PGP_TAG_USER_ATTRIBUTE = 17,
	PGP_TAG_PADDING = 21
};

enum pgp_packet_flags {
	PGP_PACKET_NEW_FORMAT = 1 << 0,	/* OpenPGP (not legacy) header */
	PGP_PACKET_PARTIAL = 1 << 1	/* body joined from partial chunks */
};

struct pgp_packet {
	uint8_t		 tag;
	uint8_t		 flags;		/* enum pgp_packet_flags */
	const uint8_t	*raw;		/* header and body as on input */
	size_t		 rawlen;
	const uint8_t	*body;		/* the body; for PARTIAL, joined copy */
	size_t		 bodylen;
	uint64_t	 offset;	/* stream offset of the header octet */
};

/*
 * Reads the packet header at the front of *s without consuming anything:
 * sets *tag, *hdrlen and *bodylen.  For partial lengths *bodylen is the total
 * of all chunks and *rawlen the bytes the packet occupies; otherwise
 * *rawlen = *hdrlen + *bodylen.  Returns 0, PGPS_ETRUNC when s ends inside
 * the packet, or PGPS_EFORMAT (bad header octet, indeterminate length,
 * partial chunk rules broken).  Fills err with offset-relative text.
 */
int pgp_packet_peek(const struct span *s, uint64_t offset, uint8_t *tag,
    size_t *hdrlen, size_t *bodylen, size_t *rawlen, struct pgps_err *err);

/*
 * Parses the packet at the front of *s and consumes it.  When the packet
 * uses partial lengths its chunks are joined into *scratch (appended; the
 * packet's body points into scratch, so do not grow scratch while using it)
 * -- scratch may be NULL, in which case partial packets are refused.
 */
int pgp_packet_parse(struct pgp_packet *out, struct span *s, uint64_t offset,
    struct buf *scratch, struct pgps_err *err);

/*
 * Appends the packet to out: its input bytes unchanged when it had a
 * definite length (byte-exact passthrough), else re-framed with a new-format
 * definite length.
 */
int pgp_packet_write(struct buf *out, const struct pgp_packet *p);

/* Appends a header for (tag, bodylen): legacy for tags < 16, as gpg does. */
int pgp_packet_write_header(struct buf *out, uint8_t tag, size_t bodylen);

/*
 * Orders packets by tag, body length, then body bytes; NULL sorts first.
 * A total order for matching packets by content (not the SKS hash order).
 */
int pgp_packet_cmp(const struct pgp_packet *p, const struct pgp_packet *q);

/* Packet tag name for messages ("signature", "user ID", "tag 61"). */
const char *pgp_tag_name(uint8_t tag, char tmp[16]);

/* Public-key algorithm name ("RSA", "EdDSA", "algo 99"). */
const char *pgp_algo_name(uint8_t algo, char tmp[16]);

/* --- keys and fingerprints ------------------------------------------- */

#define PGP_FPR_MAX	32

struct pgp_key_info {
	uint8_t		 version;	/* 2, 3, 4, 5 or 6 */
	uint8_t		 algo;		/* public-key algorithm */
	uint32_t	 created;
	uint32_t	 bits;		/* modulus/prime bits, or curve size */
	uint8_t		 fpr[PGP_FPR_MAX];
	uint8_t		 fprlen;	/* 16 (v2/v3), 20 (v4), 32 (v5/v6) */
	uint8_t		 keyid[8];
	const char	*curve;		/* static curve name, or NULL */
};

/*
 * Parses a public key or subkey packet body (tag 6 or 14; secret-key bodies
 * start the same way) and computes its fingerprint and key ID: v3 MD5 over
 * the RSA MPI bodies, v4 SHA-1 over 0x99|len16|body, v5 SHA-256 over
 * 0x9A|len32|body, v6 SHA-256 over 0x9B|len32|body (RFC 9580 5.5.4).
 * Returns PGPS_EFORMAT or PGPS_EUNSUPPORTED (unknown version).
 */
int pgp_key_info_parse(struct pgp_key_info *out, const uint8_t *body,
    size_t len, struct pgps_err *err);

/* Writes the fingerprint as upper-case hex (2*fprlen+1 bytes). */
void pgp_key_fpr_hex(char *out, const struct pgp_key_info *k);

/* --- certificates ----------------------------------------------------- */

enum pgp_cert_flags {
	PGP_CERT_BARE_REVOCATION = 1 << 0,	/* signature(s) without a key */
	PGP_CERT_SECRET = 1 << 1,		/* starts with a secret key */
	PGP_CERT_HAS_PARTIAL = 1 << 2,		/* a packet had partial lengths */
	PGP_CERT_HAS_TRUST = 1 << 3		/* trust packets present */
};

struct pgp_cert {
	const uint8_t		*data;		/* the cert's input bytes */
	size_t			 len;
	uint64_t		 offset;	/* stream offset of data */
	struct pgp_packet	*pkts;
	size_t			 npkts;
	size_t			 allocpkts;
	unsigned int		 flags;		/* enum pgp_cert_flags */
	bool			 has_primary;
	struct pgp_key_info	 primary;	/* valid when has_primary */
	struct buf		 partial;	/* joined partial bodies */
};

#define PGP_CERT_INIT	{ NULL, 0, 0, NULL, 0, 0, 0, false, { 0 }, BUF_INIT }

/*
 * Parses one certificate: every packet of data[0..len), which must hold
 * exactly one certificate as returned by pgp_reader_next().  Indexes packets
 * (at most PGPS_MAX_CERT_PACKETS) and parses the primary key.  Reuses c's
 * arrays (call pgp_cert_release() once at the end).  Fails with
 * PGPS_EFORMAT/PGPS_ETRUNC naming the packet and offset, PGPS_EUNSUPPORTED
 * for a primary key version it cannot fingerprint, PGPS_ELIMIT.
 */
int pgp_cert_parse(struct pgp_cert *c, const uint8_t *data, size_t len,
    uint64_t offset, struct pgps_err *err);
void pgp_cert_release(struct pgp_cert *c);

/*
 * The SKS key hash (SKS keyHash.ml): MD5 over the packets sorted by (tag,
 * body bytes), each framed as be32 tag, be32 body length, body; trust
 * packets dropped; no de-duplication.  md5 is a DIGEST_MD5 context owned by
 * the caller (reset here), so threads can each keep one.
 */
int pgp_cert_sks_hash(const struct pgp_cert *c, struct digest *md5,
    uint8_t out[16]);

/*
 * Whether SKS 1.1.6 stores c (in its canonical form, see
 * pgp_cert_canonical()): a public primary key of version 2, 3 or 4, then
 * signatures only, then user IDs and attributes each followed by
 * signatures, then (v4 only) subkeys each followed by signatures -- the
 * grammar of SKS's KeyMerge.key_to_pkey; trust packets aside.  Bare
 * revocations, secret keys, v5 and v6 keys (one of which makes SKS drop
 * a whole batch of keys), and certificates with any other packet (marker,
 * padding, secret subkey) or with components out of that order are
 * refused by SKS.
 */
bool pgp_cert_sks_acceptable(const struct pgp_cert *c);

/* Writes the cert's packets (trust packets dropped) to out. */
int pgp_cert_write(struct buf *out, const struct pgp_cert *c);

/*
 * Secret key material in a certificate: a secret key or subkey packet
 * (tag 5 or 7) in any place, after any packet.  The one rule of what goes
 * with it, used by every writer (pgp_cert_drop_secret(), the merge and so
 * the store, fetch, dump merge and filter): the secret key and every
 * packet under it up to the next component (user ID, user attribute,
 * public or secret subkey) -- its binding signatures and trust packets.
 *
 * pgp_cert_has_secret() tells whether c holds any (a scan of the tags).
 * pgp_cert_secret_mask() sets drop[i] (c->npkts entries, caller-allocated)
 * for each packet that goes, clears the rest, and returns how many secret
 * keys there are.  pgp_cert_drop_secret() appends c without them (and
 * without trust packets) to out and sets *dropped (may be NULL) to their
 * number; a secret primary key is refused (PGPS_EFORMAT): without it
 * there is no certificate.
 */
bool pgp_cert_has_secret(const struct pgp_cert *c);
size_t pgp_cert_secret_mask(uint8_t *drop, const struct pgp_cert *c);
int pgp_cert_drop_secret(struct buf *out, const struct pgp_cert *c,
    size_t *dropped, struct pgps_err *err);

/* --- splitting streams into certificates ------------------------------ */

struct pgp_reader;

struct pgp_raw_cert {
	const uint8_t	*p;
	size_t		 len;
	uint64_t	 offset;	/* of p[0] in the (decoded) stream */
};

/*
 * Opens path ("-" is standard input) for splitting.  Regular files are
 * mapped; pipes are read through a bounded buffer.  ASCII armor is found
 * after any text (pgp_armor_find(); on a pipe within the first MiB) and
 * decoded one block at a time (a block up to PGPS_MAX_BUF); certificates
 * do not run from one block into the next.  A damaged block, and a block
 * whose checksum does not match, are reported by pgp_reader_next() like
 * other damage; only the damaged block is skipped.
 */
int pgp_reader_open_path(struct pgp_reader **out, const char *path,
    struct pgps_err *err);
/* As above over caller memory, which must outlive the reader. */
int pgp_reader_open_mem(struct pgp_reader **out, const uint8_t *p, size_t len,
    const char *name, struct pgps_err *err);
void pgp_reader_free(struct pgp_reader *r);
const char *pgp_reader_name(const struct pgp_reader *r);
/*
 * True when certs returned stay valid until pgp_reader_free() (caller
 * memory, decoded armor); otherwise only until the next pgp_reader_next().
 */
bool pgp_reader_is_stable(const struct pgp_reader *r);
/* Bytes consumed so far and total (0 when unknown), for progress. */
uint64_t pgp_reader_pos(const struct pgp_reader *r);
uint64_t pgp_reader_size(const struct pgp_reader *r);

/*
 * Makes r return a run of key revocations outside any certificate (a bare
 * revocation, as Hockeypuck answers for a hard-revoked key) as a
 * certificate of its own, for callers that merge it into its key.
 * Otherwise such a run is reported and skipped like other signatures
 * outside any certificate.
 */
void pgp_reader_keep_bare(struct pgp_reader *r);

/*
 * Returns the next certificate: every packet from a public-key packet up to
 * the next one (or, with pgp_reader_keep_bare(), a bare revocation).  1 and
 * *out set (borrowed: valid until the next call unless the reader is
 * stable, see above); 0 at the end; a negative code when a bad region was found: err
 * names the offset, the region has been skipped up to the next plausible
 * certificate, and the caller may call again to go on.  PGPS_EIO is final.
 * A certificate longer than max_cert (0: PGPS_MAX_CERT) is skipped with
 * PGPS_ELIMIT without being held in memory whole when streaming.
 */
int pgp_reader_next(struct pgp_reader *r, struct pgp_raw_cert *out,
    size_t max_cert, struct pgps_err *err);

/* --- ASCII armor (armor.c) -------------------------------------------- */

enum pgp_armor_type {
	PGP_ARMOR_PUBLIC_KEY,		/* PGP PUBLIC KEY BLOCK */
	PGP_ARMOR_SIGNATURE,		/* PGP SIGNATURE */
	PGP_ARMOR_MESSAGE		/* PGP MESSAGE */
};

/* CRC-24 of RFC 9580 6.1 (init 0xB704CE, generator 0x864CFB). */
uint32_t pgp_crc24(const uint8_t *p, size_t len);

/* True when p starts (after white space) with "-----BEGIN PGP ". */
bool pgp_armor_detect(const uint8_t *p, size_t len);

/*
 * True when p holds armor, perhaps after other text (an e-mail, a web
 * page): its first octet (after a UTF-8 byte order mark) is not a packet
 * header, and "-----BEGIN PGP " occurs in it.
 */
bool pgp_armor_find(const uint8_t *p, size_t len);

/*
 * Decodes every armor block in in[0..len) and appends their binary contents
 * to out.  Tolerates CRLF, text or HTML around blocks, armor headers, and a
 * missing CRC line; a CRC line that does not match is an error
 * (PGPS_EFORMAT) unless PGP_ARMOR_IGNORE_CRC is given.  Any damaged block
 * fails the whole input, and so does no block at all.  Errors name the
 * line number.
 */
enum pgp_armor_flags { PGP_ARMOR_IGNORE_CRC = 1 << 0, PGP_ARMOR_NO_CRC = 1 << 1 };
int pgp_armor_decode(struct buf *out, const uint8_t *in, size_t len,
    unsigned int flags, struct pgps_err *err);

/* Position of pgp_armor_next() in its input, kept between calls. */
struct pgp_armor_state {
	uint64_t	 offset;	/* input bytes consumed */
	size_t		 line;		/* input lines consumed */
	uint64_t	 block_offset;	/* BEGIN line of the last block */
	size_t		 block_line;
	bool		 crc_mismatch;	/* its checksum line did not match */
	size_t		 crc_line;
	char		 crc_got[5];	/* the line's and the data's CRC */
	char		 crc_want[5];
};

#define PGP_ARMOR_STATE_INIT	{ 0, 0, 0, 0, false, 0, "", "" }

/*
 * Decodes the next armor block, one block at a time, for input that may
 * hold damaged blocks among good ones or arrive in pieces.  in[0..len) is
 * the input from st->offset on; eof says that nothing follows it.  Sets
 * *used to the bytes consumed and returns:
 * 1 when a block was decoded and appended to out (st->crc_mismatch tells
 *   that its checksum did not match; that rejects the block only without
 *   PGP_ARMOR_IGNORE_CRC);
 * 0 when no whole block is in in: at eof there is none left; otherwise
 *   more input is needed (text before a BEGIN line has been consumed);
 * a negative code for a damaged block (bad base64, no END line, a BEGIN
 *   line inside it, a limit of out): err names the block's line and
 *   offset and the damage, out is as it was, and the block is consumed,
 *   so that calling again goes on after it.
 */
int pgp_armor_next(struct pgp_armor_state *st, struct buf *out,
    const uint8_t *in, size_t len, bool eof, unsigned int flags,
    size_t *used, struct pgps_err *err);

/*
 * Appends one armor block of type holding p[0..len): header line, blank
 * line, base64 in 64-column lines, then the "=XXXX" CRC-24 line (which SKS
 * requires) unless flags has PGP_ARMOR_NO_CRC, then the tail line.  LF line
 * ends.
 */
int pgp_armor_encode(struct buf *out, const uint8_t *p, size_t len,
    enum pgp_armor_type type, unsigned int flags);

/* --- signatures (sig.c) ---------------------------------------------- */

enum pgp_sig_type {
	PGP_SIG_BINARY = 0x00,
	PGP_SIG_TEXT = 0x01,
	PGP_SIG_STANDALONE = 0x02,
	PGP_SIG_CERT_GENERIC = 0x10,
	PGP_SIG_CERT_PERSONA = 0x11,
	PGP_SIG_CERT_CASUAL = 0x12,
	PGP_SIG_CERT_POSITIVE = 0x13,
	PGP_SIG_SUBKEY_BINDING = 0x18,
	PGP_SIG_PRIMARY_BINDING = 0x19,
	PGP_SIG_DIRECT_KEY = 0x1f,
	PGP_SIG_KEY_REVOCATION = 0x20,
	PGP_SIG_SUBKEY_REVOCATION = 0x28,
	PGP_SIG_CERT_REVOCATION = 0x30,
	PGP_SIG_TIMESTAMP = 0x40,
	PGP_SIG_THIRD_PARTY = 0x50
};

struct pgp_sig_info {
	uint8_t		 version;	/* 3, 4, 5 or 6 */
	uint8_t		 type;		/* enum pgp_sig_type */
	uint8_t		 pubalgo;
	uint8_t		 hashalgo;
	bool		 has_created;
	uint32_t	 created;
	bool		 has_key_expiry;	/* key expiration subpacket (9) */
	uint32_t	 key_expiry;		/* seconds after key creation */
	bool		 has_sig_expiry;	/* signature expiration (3) */
	uint32_t	 sig_expiry;
	bool		 has_issuer;		/* issuer key ID (16), or derived */
	uint8_t		 issuer[8];
	uint8_t		 issuer_fprlen;		/* issuer fingerprint (33), 0 if none */
	uint8_t		 issuer_fpr[PGP_FPR_MAX];
	bool		 has_reason;		/* reason for revocation (29) */
	uint8_t		 reason;
};

/*
 * Parses a signature packet body far enough for the fields above (hashed
 * and unhashed subpackets; v3 fixed fields).  Does not verify anything.
 */
int pgp_sig_parse(struct pgp_sig_info *out, const uint8_t *body, size_t len,
    struct pgps_err *err);

/* True when the signature was issued by key k (key ID or fingerprint). */
bool pgp_sig_is_by(const struct pgp_sig_info *s, const struct pgp_key_info *k);

/* --- signature verification (verify.c) --------------------------------- */

/*
 * What a verification found.  UNKNOWN ("not verified") is never to be
 * taken as GOOD: it is what an algorithm, hash or signature version that
 * pgpsync does not check gives.  RSA, DSA, ECDSA (NIST P-256/384/521,
 * Brainpool), Ed25519 (algorithms 22 and 27) and Ed448 signatures of
 * version 4 and 6 with SHA-1, SHA-2 or SHA-3 are checked.
 */
enum pgp_verify {
	PGP_VERIFY_BAD,
	PGP_VERIFY_GOOD,
	PGP_VERIFY_UNKNOWN
};

/*
 * Verifies the signature body sig[0..siglen) made by the key packet
 * signer over primary (a key packet) and comp: NULL for a signature on
 * the key itself (0x1f, 0x20), a user ID or attribute for a
 * certification (0x10-0x13, 0x30), a subkey for a binding (0x18, 0x28)
 * or, signed by that subkey, a primary key binding (0x19).  The hash
 * input is that of RFC 9580 5.2.4.  err says why when not GOOD.
 */
enum pgp_verify pgp_sig_verify(const uint8_t *sig, size_t siglen,
    const struct pgp_packet *signer, const struct pgp_packet *primary,
    const struct pgp_packet *comp, struct pgps_err *err);

/*
 * Whether the subkey packet c->pkts[pkt] is bound to c's primary key: a
 * binding signature (0x18) among the signatures that follow it verifies
 * by the primary key and, when that binding makes the subkey
 * signing-capable (key flags, or without them a signing algorithm), the
 * primary key binding (0x19) embedded in it verifies by the subkey.
 * With owned, the 0x19 is demanded whatever the binding says, so that
 * the subkey's owner is shown to have consented to the binding; a subkey
 * whose algorithm cannot sign is then never bound.
 * GOOD when one binding does; else UNKNOWN when one could not be checked;
 * else BAD (err names the first failure).  At most 32 public-key
 * operations are made (bindings refused before one do not count).
 */
enum pgp_verify pgp_cert_subkey_bound(const struct pgp_cert *c, size_t pkt,
    bool owned, struct pgps_err *err);

/* --- merge, difference, filters (merge.c, diff.c, filter.c) ----------- */

/*
 * Structure of a certificate: the primary key with its direct signatures,
 * then components (user IDs, user attributes, subkeys), each with the
 * signatures that follow it.  Indices are into c->pkts.  The "signatures"
 * of a component are all packets up to the next component: trust, marker
 * or padding packets among them are counted too (check the tag).
 */
struct pgp_component {
	size_t	 pkt;		/* index of the UID/UAT/subkey packet */
	size_t	 first_sig;	/* index of its first signature (pkt + 1) */
	size_t	 nsigs;		/* packets following it */
};

struct pgp_cert_merge_report {
	size_t	 new_uids;
	size_t	 new_subkeys;
	size_t	 new_sigs;	/* all new signatures, revocations included */
	size_t	 new_revocations;
	size_t	 new_versions;	/* versions after the first that added */
	size_t	 dropped_secret; /* secret keys (with their signatures) */
	size_t	 dropped_repeats; /* packets equal to one written */
};

/*
 * Merges n versions of one certificate (the same primary key packet; else
 * PGPS_EFORMAT) into their union in SKS's canonical form, appended to out
 * (unchanged on failure), in one pass: O(p log p) in all their packets p.
 * The first version's packets come first in its order and framing; the
 * later versions' new signatures follow under the component they belong
 * to, their new components (with their signatures) after the first
 * version's last one of the same kind (user IDs and attributes after its
 * last one, subkeys after its last subkey), in input order.  Components
 * are matched by tag and body, signatures by tag, body and the component
 * they sit under.  As SKS (KeyMerge.dedup_key, then merge_pkeys on each
 * further version): a direct signature is written once; a component that
 * occurs more than once in all versions together is written once, at its
 * first place, with one copy of each of its signatures; a component that
 * occurs once keeps its signatures as they are, repeats included; a
 * version identical packet for packet to an earlier one adds nothing.
 * Trust packets are dropped; so are secret keys (tag 7, or tag 5 after the
 * first packet) with the signatures under them, counted in dropped_secret.
 * dropped_repeats counts the other packets not written because an equal
 * one is (versions that are copies of an earlier one aside).
 * A version may be a bare revocation (no primary key) if all its packets
 * are signatures claiming the primary key as issuer; they join the direct
 * signatures.  A secret primary key is refused (PGPS_EFORMAT).  rep (may
 * be NULL) counts what the versions after the first added; user
 * attributes count as user IDs.
 */
int pgp_cert_merge_many(struct buf *out, const struct pgp_cert *const *v,
    size_t n, struct pgp_cert_merge_report *rep, struct pgps_err *err);
/*
 * The same, and adds[s] (n entries, may be NULL) tells for each version
 * after the first whether it added a packet to the ones before it (false
 * for the first).
 */
int pgp_cert_merge_versions(struct buf *out, const struct pgp_cert *const *v,
    size_t n, struct pgp_cert_merge_report *rep, bool *adds,
    struct pgps_err *err);

/*
 * pgp_cert_merge_many() of a and b.  merge(a, a) is the canonical form of
 * a, which is pgp_cert_write(a) byte for byte for a certificate without
 * repeats or secret keys.
 */
int pgp_cert_merge(struct buf *out, const struct pgp_cert *a,
    const struct pgp_cert *b, struct pgp_cert_merge_report *rep,
    struct pgps_err *err);

/*
 * The one-version merge: c as SKS stores it (see pgp_cert_merge_many()),
 * appended to out.  Its SKS hash (pgp_cert_sks_hash() of the result) is
 * the one SKS reports for c.
 */
int pgp_cert_canonical(struct buf *out, const struct pgp_cert *c,
    struct pgp_cert_merge_report *rep, struct pgps_err *err);

/*
 * Whether c is its own canonical form, trust packets aside: no component
 * (user ID, attribute, subkey) twice, no direct signature twice, no
 * secret key.  Cheap: a sort of the hashes of its components and direct
 * signatures, no allocation for up to 64 of them.  True for a
 * certificate without a primary key.
 */
bool pgp_cert_is_canonical(const struct pgp_cert *c);

/*
 * The SKS hash of c in its canonical form (pgp_cert_canonical()), as SKS
 * reports it for c: pgp_cert_sks_hash() of c itself when c is canonical
 * (the common case costs one pass over its components), else of the
 * merged copy.  0, PGPS_ENOMEM, or what merging c fails with.
 */
int pgp_cert_sks_hash_canonical(const struct pgp_cert *c, struct digest *md5,
    uint8_t out[16]);

/*
 * True when every packet of b (trust aside) is in a at the same place,
 * i.e. merging b into a would add nothing.  False for different primary
 * keys, and when memory runs out.
 */
bool pgp_cert_contains(const struct pgp_cert *a, const struct pgp_cert *b);

/*
 * Sets is_new[i] (for i < b->npkts; caller-allocated) for each packet of b
 * that pgp_cert_merge(a, b) would add, and clears the rest.  Fails like
 * pgp_cert_merge.
 */
int pgp_cert_mark_new(bool *is_new, const struct pgp_cert *a,
    const struct pgp_cert *b, struct pgps_err *err);

enum pgp_change_kind {
	PGP_CHANGE_UID,			/* a user ID */
	PGP_CHANGE_UAT,			/* a user attribute (photo) */
	PGP_CHANGE_SUBKEY,
	PGP_CHANGE_SELF_SIG,		/* self-signature (no expiry change) */
	PGP_CHANGE_EXPIRY,		/* self-signature changing key expiry */
	PGP_CHANGE_CERTIFICATION,	/* third-party certification */
	PGP_CHANGE_REVOCATION,		/* key, subkey or UID revocation */
	PGP_CHANGE_OTHER
};

struct pgp_change {
	enum pgp_change_kind	 kind;
	size_t			 pkt;	/* index of the packet in its cert */
	size_t			 comp;	/* index of its component packet, or
					 * SIZE_MAX for the primary key */
	struct pgp_sig_info	 sig;	/* for signature changes */
};

/*
 * Lists what b has that a lacks (a packet-level difference; call again with
 * the arguments swapped for what was removed), in b's packet order: exactly
 * the packets pgp_cert_mark_new() marks.  For a new component, comp is its
 * own index.  A self-signature is one naming the primary key as issuer
 * (nothing is verified); it is PGP_CHANGE_EXPIRY when its key expiry
 * (present or not, and value) differs from that of the latest earlier
 * self-signature on the same component in a or b.  Revocations (0x20,
 * 0x28, 0x30) are PGP_CHANGE_REVOCATION whoever issued them.  Unparsable
 * signatures, other packets, and the primary key that b brings to a bare
 * revocation a are PGP_CHANGE_OTHER.  *out is a malloc'd array of *n
 * entries, owned by the caller.
 */
int pgp_cert_diff(struct pgp_change **out, size_t *n,
    const struct pgp_cert *a, const struct pgp_cert *b, struct pgps_err *err);

const char *pgp_change_kind_name(enum pgp_change_kind k);

/* Limits protecting a keyring against flooded ("poisoned") certificates. */
struct pgp_limits {
	size_t	 max_cert_size;		/* 0: no limit */
	size_t	 max_sigs_per_uid;	/* 0: no limit */
	size_t	 max_packet_size;	/* 0: no limit */
	bool	 strip_third_party;	/* drop certifications by other keys */
};

struct pgp_filter_report {
	size_t	 dropped_third_party;
	size_t	 dropped_excess_sigs;
	size_t	 dropped_big_packets;
	size_t	 dropped_other;		/* trust, marker, padding */
	size_t	 dropped_secret;	/* secret keys, with their signatures */
	size_t	 dropped_repeats;	/* repeats SKS does not store */
	bool	 too_big;		/* over max_cert_size after filtering */
};

/* The defaults: PGPS_DEFAULT_* from util/limits.h, keep third parties. */
void pgp_limits_default(struct pgp_limits *lim);

/*
 * Appends c in SKS's canonical form (pgp_cert_canonical(): repeats merged,
 * secret keys dropped, counted in dropped_repeats and dropped_secret) with
 * the limits applied to out (unchanged on failure).  Under a
 * user ID or attribute every signature not claiming the primary key as
 * issuer is a third-party certification: all are dropped with
 * strip_third_party, else beyond max_sigs_per_uid the newest are kept.
 * Self-signatures are always kept.  A packet whose body exceeds
 * max_packet_size is dropped (a user ID, attribute or subkey together with
 * its signatures, all counted in dropped_big_packets); only an oversized
 * primary key fails the cert (PGPS_ELIMIT).  Trust, marker and padding
 * packets are dropped.  A result over max_cert_size fails with PGPS_ELIMIT
 * and too_big set.  *rep (may be NULL) is filled in either case.
 */
int pgp_cert_filter(struct buf *out, const struct pgp_cert *c,
    const struct pgp_limits *lim, struct pgp_filter_report *rep,
    struct pgps_err *err);

/*
 * pgp_cert_filter() of c, a merge into held (may be NULL): every packet
 * held has is kept whatever the limits say, and under each user ID the
 * new third-party certifications compete for the room the held ones leave
 * below max_sigs_per_uid.  Claimed signature times are no reason to drop
 * what a keyring already holds.
 */
int pgp_cert_filter_held(struct buf *out, const struct pgp_cert *c,
    const struct pgp_cert *held, const struct pgp_limits *lim,
    struct pgp_filter_report *rep, struct pgps_err *err);

/*
 * Finds the components of c: *out is a malloc'd array of *n entries.
 * *direct_sigs is the number of packets before the first component,
 * starting after the primary key (at index 0 for a bare revocation).
 */
int pgp_cert_components(struct pgp_component **out, size_t *n,
    size_t *direct_sigs, const struct pgp_cert *c, struct pgps_err *err);

#endif
