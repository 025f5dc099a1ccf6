/*
 * setdiff.h: the difference of two key sets: which certificates only one
 * holds, and which both hold in different versions.
 *
 * Each side becomes a sorted index of (fingerprint, hash, where the bytes
 * are), built with index_hash() (keyset/index.h): a store's from its side
 * index without reading a certificate; any other set is read once, on
 * every CPU or, when both sets are read, each on a thread of its own.
 * The two indexes are then merged like sorted lists, so the comparison is
 * never quadratic, and only the certificates that differ are read again:
 * by offset from a dump file, from the store, or from a temporary copy
 * made on the first pass of input that cannot be read twice (a pipe,
 * armor, a GnuPG keyring).  Memory is the index, about 100 bytes per
 * certificate.
 *
 * Two sets that are not stores are compared by a fast keyed hash of each
 * certificate's bytes (util/fasthash.h), not by the SKS hash: sorting and
 * MD5-hashing every packet would cost more than the rest of the
 * comparison together, and in sets that mostly agree most certificates
 * are byte for byte the same.  Only where the bytes differ are both
 * versions read again and their SKS hashes computed, so that the same
 * packets framed differently still count as unchanged.  Against a store,
 * whose index holds SKS hashes, the other side is SKS-hashed throughout;
 * when it is a dump file or directory its index is cached in
 * $XDG_CACHE_HOME/pgpsync (index_cache_save()), and taken from there
 * while its files keep their stamp (index_stamp()).
 *
 * A set that holds several versions of a key is compared as their merge,
 * as a keyserver would hold it.  Bare revocations (signatures without
 * their key) are items of their own, named by their SKS hash.
 *
 * The right side may instead be a set read by lookup (setdiff_lookup()):
 * each key of the left side is looked up on keyservers, and what the
 * import rules accept as that key is the right side's version of it.
 *
 * Typical use:
 *
 *	struct setdiff d;
 *	struct setdiff_result res;
 *
 *	setdiff_init(&d, "a.pgp", "store:", &cb);
 *	if (setdiff_read(&d, jobs, &err) != 0 ||
 *	    setdiff_join(&res, &d, &err) != 0)
 *		... err.msg ...
 *	for (i = 0; i < res.nchanged; i++)
 *		setdiff_cert(&d.a, res.changed[i][0], &buf, &cert, md5, &err)
 *		...
 *	setdiff_result_release(&res);
 *	setdiff_release(&d);
 */
#ifndef PGPSYNC_KEYSET_SETDIFF_H
#define PGPSYNC_KEYSET_SETDIFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "keyset/index.h"
#include "openpgp/openpgp.h"
#include "util/buf.h"
#include "util/digest.h"
#include "util/err.h"
#include "util/fasthash.h"

struct net_opts;
struct remote_opts;
struct store;
struct store_entry;

/* One certificate of one side. */
struct setdiff_rec {
	uint8_t		 key[INDEX_KEY_LEN];	/* fingerprint length, fpr;
						 * or INDEX_KEY_BARE, hash */
	uint8_t		 hash[16];	/* SKS hash, when has_sks */
	uint8_t		 fast[16];	/* fasthash of its bytes, if has_fast */
	uint8_t		 where;		/* private */
	bool		 has_sks;
	bool		 has_fast;
	uint32_t	 src;
	uint64_t	 off;
	uint64_t	 len;
};

/* Callbacks of a comparison (each may be NULL). */
struct setdiff_cb {
	/* Damaged input, secret keys, a version left out. */
	void		(*warn)(const char *msg, void *arg);
	/* Reading spec starts (total bytes, 0 unknown); spec NULL: ends. */
	void		(*reading)(const char *spec, uint64_t total, void *arg);
	void		(*progress)(uint64_t done, uint64_t certs, void *arg);
	/* Whether the two sets may be read at once, one per thread. */
	bool		 at_once;
	void		*arg;
};

/* One side: records v[0..n) in key order once read. */
struct setdiff_side {
	const char		*spec;
	struct setdiff_rec	*v;
	size_t			 n;
	uint64_t		 skipped;	/* damaged, secret, left out */

	/* private */
	size_t			 alloc;
	struct store		*store;
	const struct store_entry *ents;
	char			**src;		/* file sources, interned */
	size_t			 nsrc;
	FILE			*spill;
	uint64_t		 spilled;
	int			 fd;		/* of src[fdsrc] */
	size_t			 fdsrc;
	bool			 sorted;
	struct setdiff		*d;
};

struct setdiff {
	struct setdiff_side	 a, b;
	bool			 fast;	/* keyed by fasthash, not SKS hash */
	struct fasthash_key	 key;	/* random per run */
	struct setdiff_cb	 cb;
	/* For a keyserver as b (caller's; NULL: net_opts_cli_default()). */
	const struct net_opts	*net;
};

/*
 * Prepares comparing spec a with spec b (borrowed); cb is copied (NULL:
 * none).  No I/O.
 */
void setdiff_init(struct setdiff *d, const char *a, const char *b,
    const struct setdiff_cb *cb);
void setdiff_release(struct setdiff *d);

/*
 * Reads both sides (jobs threads per set, 0: one per CPU), merges the
 * versions of each key, and sorts.  Damaged input is skipped, counted
 * in the side's skipped and passed to cb.warn.  When b is a keyserver
 * (setdiff_is_remote()), it is read by setdiff_lookup() with d->net and
 * that server alone; a keyserver as a is PGPS_EUNSUPPORTED.  Returns 0,
 * or a negative code with err set: a set that cannot be read.
 */
int setdiff_read(struct setdiff *d, int jobs, struct pgps_err *err);

/*
 * Whether spec is a keyserver URL, as fetch takes them: hkp://, hkps://,
 * vks://, https://, http:// (net_server_parse() then checks the rest).
 */
bool setdiff_is_remote(const char *spec);

/*
 * Reads side a as setdiff_read() does, then makes side b by looking up
 * every key of a (bare revocations aside) with the lookup engine of
 * keyset/remote.h and o's servers, each answer judged by the import
 * rules (keyset/import.h) as a refresh would: only a certificate whose
 * primary key is the one asked for answers; revocations alone for a key
 * are merged into a's copy; several answers are merged.  A key no server
 * holds is missing from b.  A key for which nothing was taken while a
 * server failed (unreachable, an error answer, out of time) fails the
 * whole comparison (PGPS_EIO, err naming the server, the key and why):
 * "nothing differs" must not stand for "nothing could be asked".  Each
 * answer refused though it looked like the key (a forgery, an unbound
 * subkey match) goes to cb.warn and counts in b.skipped.  o->held and
 * o->arg are set here.
 */
int setdiff_lookup(struct setdiff *d, const struct remote_opts *o,
    int jobs, struct pgps_err *err);

/*
 * The steps of setdiff_lookup(), for a right side made by the caller:
 * setdiff_read_one() reads side a alone as setdiff_read() does;
 * setdiff_side_put() adds one certificate p[0..len) (copied) to a side,
 * whose records must then be sorted by setdiff_side_done().
 */
int setdiff_read_one(struct setdiff *d, int jobs, struct pgps_err *err);
int setdiff_side_put(struct setdiff_side *sd, const uint8_t *p, size_t len,
    struct pgps_err *err);
int setdiff_side_done(struct setdiff_side *sd, struct pgps_err *err);

struct setdiff_result {
	size_t		*only_a;	/* indexes into a.v */
	size_t		 nonly_a;
	size_t		*only_b;	/* into b.v */
	size_t		 nonly_b;
	size_t		(*changed)[2];	/* a.v, b.v */
	size_t		 nchanged;
	size_t		 same;
	/* Packets by kind, over the pairs setdiff_pair_load() read. */
	uint64_t	 added[PGP_CHANGE_OTHER + 1];	/* b has, a lacks */
	uint64_t	 removed[PGP_CHANGE_OTHER + 1];	/* a has, b lacks */
};

/*
 * Pairs the two sorted sides into res.  Certificates of one key with the
 * same bytes are unchanged; any others are compared by SKS hash, computed
 * now if the first pass did not.  Release res either way.
 */
int setdiff_join(struct setdiff_result *res, struct setdiff *d,
    struct pgps_err *err);
void setdiff_result_release(struct setdiff_result *res);

/*
 * Replaces out's contents with the bytes of sd->v[i] and parses them into
 * c, checking that they are still what the first pass saw (else
 * PGPS_EIO, "changed while it was being compared");
 * gives the record its SKS hash (computed with md5) if it had none.
 */
int setdiff_cert(struct setdiff_side *sd, size_t i, struct buf *out,
    struct pgp_cert *c, struct digest *md5, struct pgps_err *err);

/* Gives sd->v[i] its SKS hash, reading it again if need be. */
int setdiff_need_sks(struct setdiff_side *sd, size_t i, struct pgps_err *err);

/* Passes a message about sd to its comparison's cb.warn, if any. */
void setdiff_warnf(struct setdiff_side *sd, const char *fmt, ...)
    PGPS_PRINTF(2, 3);

/* Both versions of a changed certificate and what each lacks. */
struct setdiff_pair {
	struct pgp_cert		 a;
	struct pgp_cert		 b;
	struct buf		 abuf;
	struct buf		 bbuf;
	struct pgp_change	*add;	/* in b, not in a */
	size_t			 nadd;
	struct pgp_change	*del;	/* in a, not in b */
	size_t			 ndel;
	struct digest		*md5;
};

/* 0 or PGPS_ENOMEM; release it either way. */
int setdiff_pair_init(struct setdiff_pair *p);
void setdiff_pair_release(struct setdiff_pair *p);

/*
 * Reads changed pair k of res (both versions, parsed) into p, lists what
 * each has that the other lacks (pgp_cert_diff() both ways) and counts
 * them by kind in res.
 */
int setdiff_pair_load(struct setdiff_pair *p, struct setdiff *d,
    struct setdiff_result *res, size_t k, struct pgps_err *err);

/* An SKS hash one side has and the other lacks. */
struct setdiff_hash {
	uint8_t		 hash[16];
	char		 sign;		/* '-': only in a, '+': only in b */
};

/*
 * Every SKS hash only one side has (both versions of a changed key
 * included), sorted by hash then sign, into *out (malloc'd, *n entries);
 * the certificates only one side has are read again for theirs if need
 * be.
 */
int setdiff_hashes(struct setdiff_hash **out, size_t *n, struct setdiff *d,
    const struct setdiff_result *res, struct pgps_err *err);

#endif
