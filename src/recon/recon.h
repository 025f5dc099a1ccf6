/*
 * recon.h: set reconciliation with SKS-family peers (the SKS "recon"
 * protocol of SKS 1.1.6 and Hockeypuck).
 *
 * The module knows nothing of OpenPGP or sockets.  Elements are opaque
 * 16-octet digests (for SKS: the MD5 key hash); the caller maps keys to
 * elements and carries the session's bytes over whatever transport it has.
 *
 * Layers, each usable and tested on its own:
 *   zp_*             arithmetic in GF(p), p the 129-bit SKS prime
 *   poly_*           polynomials over GF(p), root finding
 *   recon_solve()    recovery of a small set difference from sample values
 *   recon_prefix_*   prefix bit strings
 *   recon_ptree_*    the prefix tree with per-node sample values, on disk
 *   recon_msg_*      the wire codec
 *   recon_session_*  one reconciliation as a state machine fed with bytes
 *
 * All functions that can fail return 0 or a negative PGPS_E* code.
 */
#ifndef PGPSYNC_RECON_RECON_H
#define PGPSYNC_RECON_RECON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/err.h"

/* Protocol parameters every SKS peer uses; bitquantum and mbar must match. */
#define RECON_BITQUANTUM	2
#define RECON_MBAR		5
#define RECON_NSAMPLES		(RECON_MBAR + 1)
/* Local tree shape, as SKS: split above 50, join at 25 or fewer. */
#define RECON_SPLIT_THRESH	(RECON_MBAR * 10)
#define RECON_JOIN_THRESH	(RECON_SPLIT_THRESH / 2)
/* Nodes smaller than this are exchanged whole (SKS recon_thresh_mult). */
#define RECON_FULL_THRESH	(RECON_MBAR * 30)
/* Requests a driver keeps in flight (SKS client.ml). */
#define RECON_MAX_OUTSTANDING	100
/* Octets of a Poly request on the wire, about (for cost estimates). */
#define RECON_POLY_OCTETS	125

#define RECON_ELEM_LEN		16
#define RECON_MAX_PREFIX_BITS	(RECON_ELEM_LEN * 8)

/* One set element: a 16-octet digest in its natural octet order. */
struct recon_elem {
	uint8_t	b[RECON_ELEM_LEN];
};

/* Orders elements by plain octet comparison, for qsort and bsearch. */
int recon_elem_cmp(const void *a, const void *b);

/*
 * GF(p) with p = 530512889551602322505127520352579437339.
 *
 * A struct zp holds a reduced value in an internal representation; build it
 * with the zp_set_* functions and compare it with zp_eq(), never with
 * memcmp() against values of another origin.  Every out parameter may
 * alias an input.
 */
#define ZP_NBYTES	17

struct zp {
	uint64_t	w[3];
};

void zp_set_u64(struct zp *out, uint64_t v);
/* Sets out to v mod p; negative v gives p - |v|. */
void zp_set_i64(struct zp *out, int64_t v);
/*
 * Reads the 17-octet little-endian wire form.  Returns PGPS_EFORMAT (and
 * leaves *out alone) when the value is not below p.
 */
int zp_set_bytes(struct zp *out, const uint8_t in[ZP_NBYTES]);
void zp_get_bytes(uint8_t out[ZP_NBYTES], const struct zp *a);
/* An element as a field value: its 16 octets read little-endian (SKS). */
void zp_set_elem(struct zp *out, const struct recon_elem *e);
/* The inverse; PGPS_EFORMAT when the value is 2^128 or more. */
int zp_get_elem(struct recon_elem *out, const struct zp *a);
void zp_add(struct zp *out, const struct zp *a, const struct zp *b);
void zp_sub(struct zp *out, const struct zp *a, const struct zp *b);
void zp_neg(struct zp *out, const struct zp *a);
void zp_mul(struct zp *out, const struct zp *a, const struct zp *b);
void zp_sqr(struct zp *out, const struct zp *a);
/* a^e, where e is a 192-bit exponent given as three 64-bit words, low first. */
void zp_pow(struct zp *out, const struct zp *a, const uint64_t e[3]);
/* 1/a; PGPS_EFORMAT when a is zero. */
int zp_inv(struct zp *out, const struct zp *a);
/*
 * Sets inv[i] = 1/a[i] for n values with a single inversion (Montgomery's
 * trick); inv may be a.  tmp has room for n values.  PGPS_EFORMAT if any
 * a[i] is zero.
 */
int zp_inv_batch(struct zp *inv, const struct zp *a, struct zp *tmp,
    size_t n);
bool zp_is_zero(const struct zp *a);
bool zp_eq(const struct zp *a, const struct zp *b);
/* Sample point i of the protocol: 0, -1, 1, -2, 2, -3, ... (SKS zZp.ml). */
void zp_point(struct zp *out, unsigned int i);

/*
 * Polynomials over GF(p) of degree at most POLY_MAXDEG, held inline, so
 * that no arithmetic here allocates.  The zero polynomial has degree -1.
 * Results that would exceed POLY_MAXDEG fail with PGPS_ELIMIT.
 */
#define POLY_MAXDEG	63

struct poly {
	int		deg;
	struct zp	c[POLY_MAXDEG + 1];	/* c[i]: coefficient of z^i */
};

void poly_zero(struct poly *out);
void poly_set_zp(struct poly *out, const struct zp *c);
/* Sets out = (z - r[0])(z - r[1])...; PGPS_ELIMIT when n > POLY_MAXDEG. */
int poly_from_roots(struct poly *out, const struct zp *r, size_t n);
void poly_add(struct poly *out, const struct poly *a, const struct poly *b);
void poly_sub(struct poly *out, const struct poly *a, const struct poly *b);
void poly_scale(struct poly *out, const struct poly *a, const struct zp *s);
int poly_mul(struct poly *out, const struct poly *a, const struct poly *b);
/*
 * a = q*b + r with deg r < deg b.  q or r may be NULL.  PGPS_EFORMAT when
 * b is zero.
 */
int poly_divmod(struct poly *q, struct poly *r, const struct poly *a,
    const struct poly *b);
/* out = a*b mod m (deg m >= 1). */
int poly_mulmod(struct poly *out, const struct poly *a, const struct poly *b,
    const struct poly *m);
/* out = a^e mod m, e a 192-bit exponent as in zp_pow(). */
int poly_powmod(struct poly *out, const struct poly *a, const uint64_t e[3],
    const struct poly *m);
/* The monic greatest common divisor; gcd(0, 0) = 0. */
int poly_gcd(struct poly *out, const struct poly *a, const struct poly *b);
/* Divides by the leading coefficient; PGPS_EFORMAT for the zero polynomial. */
int poly_monic(struct poly *out, const struct poly *a);
void poly_eval(struct zp *out, const struct poly *a, const struct zp *x);
bool poly_eq(const struct poly *a, const struct poly *b);
/*
 * Finds the roots of f, which must be a product of distinct linear factors
 * over GF(p) (checked first: z^p = z mod f).  roots must have room for
 * deg f values; *nroots is set to deg f.  The search is randomised
 * (Cantor-Zassenhaus) from seed, so results are reproducible.  Returns
 * PGPS_ELIMIT when f does not split that way, PGPS_EFORMAT for f = 0.
 * Roots come out in no particular order.
 */
int poly_roots(struct zp *roots, size_t *nroots, const struct poly *f,
    uint64_t seed);

/*
 * Recovers the symmetric difference between a remote set R and a local set
 * L from their sizes and sample values at the first nsamples points
 * (zp_point()): sv[i] = prod over e of (point_i - e).  The last sample is
 * used only to verify.  nsamples is 2 .. RECON_SOLVE_MAX_SAMPLES.
 *
 * On success *out holds R\L (remote) and L\R (local), each of at most
 * nsamples - 1 elements, as 16-octet elements.  When the difference is too
 * large, or anything about the result does not check out, the function
 * returns PGPS_ELIMIT: it never returns a wrong difference that the
 * checks could catch, but the caller should still confirm that "local"
 * elements are really its own.
 */
#define RECON_SOLVE_MAX_SAMPLES	32

struct recon_solution {
	size_t			nremote;
	size_t			nlocal;
	struct recon_elem	remote[RECON_SOLVE_MAX_SAMPLES];
	struct recon_elem	local[RECON_SOLVE_MAX_SAMPLES];
};

int recon_solve(struct recon_solution *out, const struct zp *rsv,
    uint64_t rsize, const struct zp *lsv, uint64_t lsize, size_t nsamples,
    uint64_t seed);

/*
 * A prefix of an element: its first nbits bits, most significant bit of
 * octet 0 first.  Bits at and after nbits are always zero.
 */
struct recon_prefix {
	uint32_t	nbits;
	uint8_t		b[RECON_ELEM_LEN];
};

#define RECON_PREFIX_INIT	{ 0, { 0 } }

/* Bit i (0 or 1) of an element. */
unsigned int recon_elem_bit(const struct recon_elem *e, unsigned int i);
/* Child index (0..3) of e at tree depth d: bits 2d, 2d+1, first one high. */
unsigned int recon_elem_index(const struct recon_elem *e, unsigned int depth);
/* The prefix of e of length nbits (<= 128). */
void recon_prefix_of(struct recon_prefix *out, const struct recon_elem *e,
    unsigned int nbits);
/* out = p extended by child index c (RECON_BITQUANTUM bits). */
int recon_prefix_child(struct recon_prefix *out, const struct recon_prefix *p,
    unsigned int c);
bool recon_prefix_has(const struct recon_prefix *p, const struct recon_elem *e);
bool recon_prefix_eq(const struct recon_prefix *a,
    const struct recon_prefix *b);
/* Lower-case "01" text of the prefix ("" for the root); out needs 129 bytes. */
void recon_prefix_str(char *out, const struct recon_prefix *p);

/*
 * The prefix tree (SKS prefixTree.ml): every node has a count and the
 * RECON_NSAMPLES sample values of its subtree, kept up to date on insert
 * and delete; elements live in leaves; a leaf splits into 4 children when
 * an insert takes it above RECON_SPLIT_THRESH, and an interior node on a
 * delete path falls back to a leaf when its count drops to
 * RECON_JOIN_THRESH or less.
 *
 * A tree must not be modified while a session reads it.  Interior sample
 * values are cached and brought up to date when first read after a change
 * (recon_node_svalues(), recon_ptree_save(), recon_session_new()); do that
 * from one thread at a time.
 */
struct recon_ptree;
struct recon_node;

int recon_ptree_new(struct recon_ptree **out);
void recon_ptree_free(struct recon_ptree *t);
/*
 * Adds e.  *added (may be NULL) tells whether it was new; adding a present
 * element changes nothing.  PGPS_EFORMAT for the three elements that equal
 * a sample point (0, 1 and 2 as little-endian numbers), which SKS refuses
 * too; PGPS_ENOMEM leaves the tree as it was.
 */
int recon_ptree_insert(struct recon_ptree *t, const struct recon_elem *e,
    bool *added);
/* Removes e; *removed (may be NULL) tells whether it was there. */
int recon_ptree_delete(struct recon_ptree *t, const struct recon_elem *e,
    bool *removed);
bool recon_ptree_has(const struct recon_ptree *t, const struct recon_elem *e);
size_t recon_ptree_count(const struct recon_ptree *t);
/* Calls fn for every element in ascending order; stops at nonzero. */
int recon_ptree_foreach(const struct recon_ptree *t,
    int (*fn)(const struct recon_elem *e, void *arg), void *arg);

const struct recon_node *recon_ptree_root(const struct recon_ptree *t);
/* The node at exactly prefix p, or NULL (also when p is not whole levels). */
const struct recon_node *recon_ptree_find(const struct recon_ptree *t,
    const struct recon_prefix *p);
uint32_t recon_node_count(const struct recon_node *n);
/* RECON_NSAMPLES sample values; valid while the tree is unchanged. */
const struct zp *recon_node_svalues(const struct recon_node *n);
bool recon_node_is_leaf(const struct recon_node *n);
/* Child c (0..3) of an interior node; NULL for a leaf. */
const struct recon_node *recon_node_child(const struct recon_node *n,
    unsigned int c);
/*
 * All elements under n, ascending, in a new array (*out, caller frees; NULL
 * when there are none).
 */
int recon_node_elements(const struct recon_node *n, struct recon_elem **out,
    size_t *nout);

/*
 * Writes the tree to path atomically (a temporary file in the same
 * directory, fsync, rename).  The file holds the tree's shape, counts,
 * sample values and elements, and a SHA-256 checksum.
 */
int recon_ptree_save(const struct recon_ptree *t, const char *path,
    struct pgps_err *err);

enum recon_ptree_load_flags {
	/* Also recompute every sample value from the elements and compare. */
	RECON_PTREE_LOAD_VERIFY = 1 << 0
};

/*
 * Reads a tree written by recon_ptree_save().  Every structural property is
 * checked (counts, thresholds, ordering, prefixes, the checksum); a damaged
 * file gives PGPS_EFORMAT or PGPS_ETRUNC with the offset in err, and
 * PGPS_EIO for read errors.
 */
int recon_ptree_load(struct recon_ptree **out, const char *path,
    unsigned int flags, struct pgps_err *err);

/*
 * Wire codec.  A frame is a 4-octet big-endian length L and L octets: a
 * type octet and the payload (spec: SKS reconMessages.ml).
 */
enum recon_msg_type {
	RECON_MSG_RECON_RQST_POLY = 0,
	RECON_MSG_RECON_RQST_FULL = 1,
	RECON_MSG_ELEMENTS = 2,
	RECON_MSG_FULL_ELEMENTS = 3,
	RECON_MSG_SYNC_FAIL = 4,
	RECON_MSG_DONE = 5,
	RECON_MSG_FLUSH = 6,
	RECON_MSG_ERROR = 7,
	RECON_MSG_DB_RQST = 8,
	RECON_MSG_DB_REPL = 9,
	RECON_MSG_CONFIG = 10
};

/* Largest frame accepted by default: Hockeypuck's 16 MiB, times four. */
#define RECON_DEFAULT_MAX_FRAME	((size_t)64 << 20)
/* Config limits: entries, key length, value length. */
#define RECON_CONFIG_MAX_ENTRIES	64
#define RECON_CONFIG_MAX_KEY		255
#define RECON_CONFIG_MAX_VALUE		4095
/* Longest Error text or verdict string kept. */
#define RECON_MAX_TEXT		65535

enum recon_config_have {
	RECON_CFG_VERSION = 1 << 0,
	RECON_CFG_FILTERS = 1 << 1,
	RECON_CFG_HTTP_PORT = 1 << 2,
	RECON_CFG_BITQUANTUM = 1 << 3,
	RECON_CFG_MBAR = 1 << 4,
	/* An integer entry was not a 4-octet string (SKS: parse error). */
	RECON_CFG_MALFORMED = 1 << 5
};

struct recon_config {
	unsigned int	have;		/* enum recon_config_have bits */
	uint32_t	bitquantum;
	uint32_t	mbar;
	uint32_t	http_port;
	char		version[RECON_CONFIG_MAX_VALUE + 1];
	char		filters[RECON_CONFIG_MAX_VALUE + 1];
};

/* Our own config: version 1.1.6, bitquantum 2, mbar 5, SKS's filters. */
void recon_config_default(struct recon_config *out, uint32_t http_port);
/*
 * Checks a peer's config as SKS 1.1.6 does (version parses as a.b.c and is
 * at least 0.1.5, filter sets equal, bitquantum and mbar equal, all four
 * present).  Returns 0, or PGPS_EPROTO with the reason (SKS's wording
 * where there is one) in reason, a buffer of reasonlen bytes.
 */
int recon_config_check(const struct recon_config *local,
    const struct recon_config *remote, char *reason, size_t reasonlen);

struct recon_msg {
	enum recon_msg_type	 type;
	struct recon_prefix	 prefix;	/* POLY, FULL */
	uint32_t		 size;		/* POLY: the driver's count */
	struct zp		 samples[RECON_NSAMPLES];	/* POLY */
	struct recon_elem	*elems;		/* FULL, (FULL_)ELEMENTS */
	size_t			 nelems;
	char			*text;		/* ERROR, DB_*; NUL ends it */
	size_t			 textlen;
	struct recon_config	*config;	/* CONFIG */
};

#define RECON_MSG_INIT	{ RECON_MSG_DONE, RECON_PREFIX_INIT, 0, { { { 0 } } }, \
	NULL, 0, NULL, 0, NULL }

/* Frees what a decoded message owns and re-initialises it. */
void recon_msg_release(struct recon_msg *m);
/*
 * Appends m as one frame to out.  elems, text and config are borrowed.
 * PGPS_ELIMIT when the frame would not fit a 32-bit length or out's limit.
 */
int recon_msg_encode(struct buf *out, const struct recon_msg *m,
    struct pgps_err *err);
/*
 * Looks at the start of a byte stream: returns 0 with *need = the total
 * size of the first frame (4 while fewer than 4 octets are there), or
 * PGPS_ELIMIT when the frame is longer than max_frame octets, or
 * PGPS_EFORMAT for an empty frame.
 */
int recon_frame_need(const uint8_t *p, size_t len, size_t max_frame,
    size_t *need, struct pgps_err *err);
/*
 * Decodes one frame body (type octet and payload, without the length) into
 * *out, which owns what it points to afterwards.  Every count and length is
 * checked against the octets present before anything is allocated, so the
 * memory used is bounded by len.  Trailing octets are an error.
 */
int recon_msg_decode(struct recon_msg *out, const uint8_t *body, size_t len,
    struct pgps_err *err);
/* A bare string (verdicts): u32 length + octets. */
int recon_string_encode(struct buf *out, const char *s, size_t len);
/*
 * Decodes a bare string at the start of p: PGPS_ETRUNC while incomplete
 * (then *used is the total needed if known, else 4), PGPS_ELIMIT above max.
 * On success *used is the octets consumed and out receives a
 * NUL-terminated copy (caller frees).
 */
int recon_string_decode(char **out, size_t *outlen, size_t *used,
    const uint8_t *p, size_t len, size_t max, struct pgps_err *err);
const char *recon_msg_type_name(unsigned int type);

/*
 * One reconciliation, as a state machine that takes the peer's bytes and
 * produces bytes to send; the caller owns the transport.  Both ends send
 * their Config first, so the caller must send output before it blocks
 * reading, and should read and write concurrently (poll()) so that neither
 * side can block the other on full socket buffers.
 *
 * The driver is the side that accepted the connection: it walks its tree
 * and asks.  The responder is the side that connected: it answers, doing
 * the interpolation.  Afterwards recon_session_want() lists the elements
 * this side lacks; the peer learns what it lacks on its own.
 */
enum recon_role {
	RECON_ROLE_DRIVER,
	RECON_ROLE_RESPONDER
};

enum recon_state {
	RECON_STATE_HANDSHAKE,
	RECON_STATE_RUNNING,
	RECON_STATE_DONE,
	RECON_STATE_FAILED
};

struct recon_session_opts {
	enum recon_role	 role;
	uint32_t	 http_port;	/* advertised in our Config */
	const char	*version;	/* NULL: "1.1.6" */
	/* NULL: "yminsky.dedup,yminsky.merge" */
	const char	*filters;
	size_t		 max_frame;	/* 0: RECON_DEFAULT_MAX_FRAME */
	size_t		 max_want;	/* 0: RECON_DEFAULT_MAX_WANT */
	uint32_t	 full_thresh;	/* 0: RECON_FULL_THRESH */
	uint32_t	 max_outstanding;	/* 0: RECON_MAX_OUTSTANDING */
	uint64_t	 seed;		/* root-finding randomness */
	/* Driver: walk every level as SKS does (no probe paths). */
	bool		 no_skip;
};

/* Most wanted elements collected before the session fails. */
#define RECON_DEFAULT_MAX_WANT	((size_t)1 << 24)

struct recon_session_stats {
	uint64_t	requests_poly;	/* sent (driver) or answered */
	uint64_t	requests_full;
	uint64_t	solved;		/* Poly answered by interpolation */
	uint64_t	sync_fail;
	uint64_t	full_elements;
	/* Driver: the level asked after probing; 0 if it did not probe. */
	uint32_t	probe_level;
	/* Driver: small nodes there replaced by their children. */
	uint32_t	split_small;
	uint64_t	bytes_in;
	uint64_t	bytes_out;
};

struct recon_session;

/*
 * Starts a session over tree (borrowed, read-only until the session is
 * freed).  Our Config frame is ready as output at once.
 */
int recon_session_new(struct recon_session **out,
    const struct recon_ptree *tree, const struct recon_session_opts *opts);
void recon_session_free(struct recon_session *s);
/*
 * Feeds octets received from the peer.  Returns 0, or an error that also
 * moves the session to RECON_STATE_FAILED; the output may then still hold
 * a last message for the peer (a "failed" verdict, an Error).  Octets after
 * the end of the session are ignored.
 */
int recon_session_input(struct recon_session *s, const uint8_t *p, size_t len,
    struct pgps_err *err);
/* Tells the session the peer closed; an error unless the session is over. */
int recon_session_eof(struct recon_session *s, struct pgps_err *err);
/* Octets waiting to be sent (borrowed until the next call on s). */
void recon_session_output(const struct recon_session *s, const uint8_t **p,
    size_t *len);
/* Drops the first n output octets once they are written. */
void recon_session_consumed(struct recon_session *s, size_t n);
enum recon_state recon_session_state(const struct recon_session *s);
/*
 * The peer's Config once received, else NULL.  Its strings are the peer's
 * octets: escape them before showing them.
 */
const struct recon_config *recon_session_peer_config(
    const struct recon_session *s);
/*
 * The elements the peer has and we lack, learned so far: ascending, no
 * duplicates, none in our tree.  Borrowed until the next call on s.
 */
int recon_session_want(struct recon_session *s, const struct recon_elem **out,
    size_t *n);
void recon_session_get_stats(const struct recon_session *s,
    struct recon_session_stats *out);

#endif
