/*
 * index.h: the index of a key set: for every certificate its fingerprint,
 * SKS hash and location (source, offset, length), built on every CPU.
 *
 * This is the one place that SKS-hashes every certificate of a set:
 * "dump hashes" prints the index, "diff" compares two, "reconcile" builds
 * its prefix tree from one.  index_hash() reads the set once with
 * keyset_par_run() (keyset/par.h) and hands the entries to a callback on
 * the calling thread, in input order.
 *
 * Typical use:
 *
 *	static int
 *	take(const struct index_entry *e, const uint8_t *bytes, void *arg)
 *	{
 *		... e->key, e->hash, e->src, e->offset, e->len ...
 *		return 0;
 *	}
 *
 *	struct index_spec spec = INDEX_SPEC_INIT;
 *	struct index_sources src = INDEX_SOURCES_INIT;
 *
 *	spec.sks = true;
 *	spec.entry = take;
 *	spec.warn = print_warning;	// damaged input, secret keys
 *	if (index_hash(it, &spec, &src, &res, &err) != 0)
 *		... err.msg ...
 *	... src.name[e->src] for the file of an entry ...
 *	index_sources_release(&src);
 */
#ifndef PGPSYNC_KEYSET_INDEX_H
#define PGPSYNC_KEYSET_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keyset/keyset.h"
#include "keyset/par.h"
#include "openpgp/openpgp.h"
#include "util/digest.h"
#include "util/err.h"
#include "util/fasthash.h"

#define INDEX_KEY_LEN	(1 + PGP_FPR_MAX)
/* key[0] of a bare revocation (no key): key[1..16] is its SKS hash. */
#define INDEX_KEY_BARE	0xff

/* One certificate of a set. */
struct index_entry {
	/* Fingerprint length then fingerprint, zero-padded; or BARE. */
	uint8_t		 key[INDEX_KEY_LEN];
	uint8_t		 hash[16];	/* SKS hash, when has_sks */
	uint8_t		 fast[16];	/* fasthash of the bytes, if has_fast */
	uint8_t		 version;	/* of the primary key; 0 if bare */
	bool		 has_sks;
	bool		 sks_ok;	/* SKS would store it
					 * (pgp_cert_sks_acceptable()) */
	bool		 has_fast;
	bool		 has_bytes;	/* its bytes came with it (see below) */
	uint32_t	 src;		/* index into struct index_sources */
	uint64_t	 offset;	/* in its source (reader's count) */
	uint64_t	 len;
};

/*
 * Makes the entry of one certificate from its bytes, parsed into *scratch
 * (reused between calls; release it with pgp_cert_release()).  With sks,
 * or for a bare revocation, the SKS hash is computed with md5; with fast,
 * the fasthash of the bytes.  src is left 0.  Returns 0, or a negative
 * code with err naming source and offset: damage, or secret key material
 * (never indexed: a secret key is not a certificate to compare or send).
 */
int index_entry_make(struct index_entry *e, struct pgp_cert *scratch,
    struct digest *md5, const struct pgp_raw_cert *raw, const char *source,
    bool sks, const struct fasthash_key *fast, struct pgps_err *err);

/*
 * The key of a parsed certificate c into *e (cleared first), and its SKS
 * hash with md5 when sks or when c is a bare revocation.  0 or
 * PGPS_ENOMEM.
 */
int index_entry_of_cert(struct index_entry *e, const struct pgp_cert *c,
    struct digest *md5, bool sks);

/* Whether two entries name the same certificate (key and SKS hash). */
int index_entry_cmp(const struct index_entry *a, const struct index_entry *b);

/* The sources of an index, in the order first seen. */
struct index_sources {
	char		**name;
	bool		 *kept;		/* keep_bytes() said so */
	size_t		  n;
};
#define INDEX_SOURCES_INIT	{ NULL, NULL, 0 }
void index_sources_release(struct index_sources *s);

struct index_spec {
	int		  jobs;		/* threads; 0: one per CPU */
	bool		  sks;		/* SKS-hash every certificate */
	const struct fasthash_key *fast; /* also fasthash them; NULL: no */
	/*
	 * Whether the bytes of the certificates of source must travel with
	 * their entries (a pipe, ASCII armor: input that cannot be read again
	 * at an offset).  Asked once per source, on a worker thread; NULL:
	 * never.
	 */
	bool		(*keep_bytes)(const char *source, void *arg);
	/*
	 * Each entry, in input order, on the calling thread; bytes is the
	 * certificate when has_bytes, else NULL.  A non-zero return stops
	 * the run and is index_hash()'s return.
	 */
	int		(*entry)(const struct index_entry *e,
			    const uint8_t *bytes, void *arg);
	void		(*warn)(const char *msg, void *arg);	/* or NULL */
	void		(*progress)(uint64_t done, uint64_t certs, void *arg);
	void		 *arg;		/* of all the callbacks */
};
#define INDEX_SPEC_INIT	{ 0, false, NULL, NULL, NULL, NULL, NULL, NULL }

/*
 * Indexes every certificate of it (see above), filling *sources and *res
 * (res->skipped counts damaged regions and secret keys, each also passed
 * to spec->warn).  Returns 0, the entry callback's non-zero return, or a
 * negative code with err set (fatal input error, no memory).  *sources
 * must be released either way.
 */
int index_hash(struct keyset_iter *it, const struct index_spec *spec,
    struct index_sources *sources, struct keyset_par_result *res,
    struct pgps_err *err);

/*
 * index_hash() on the calling thread alone (spec->jobs is ignored), bytes
 * passed without a copy: for a caller that reads two sets at once, one per
 * thread, when handing certificates to workers would cost more than the
 * work per certificate (fasthash only).
 */
int index_read(struct keyset_iter *it, const struct index_spec *spec,
    struct index_sources *sources, struct keyset_par_result *res,
    struct pgps_err *err);

/*
 * The on-disk cache of an index, so that a set of files whose files have
 * not changed is not read again.
 *
 * index_stamp() stamps the files: SHA-256 over each file's name (without
 * its directory), size, modification time in nanoseconds, inode and
 * device.  Any rewrite changes the time or, after a rename, the inode;
 * hashing the contents would cost as much as the indexing the cache
 * saves.  A cache is taken only with the stamp it was saved with.
 *
 * The file: "PGPSIDX1", the stamp (32 octets), the number of sources, of
 * entries and a value of the caller's (for example certificates left
 * out), each 8 octets little-endian; then 71 octets per entry: its key
 * (33), SKS hash (16), key version (1), flags (1: has_sks, 2: sks_ok),
 * source (4), offset (8) and length (8), integers little-endian.  fast
 * is not kept (its key is per run).  A cache whose size, counts or
 * sources do not add up is not used.
 */
#define INDEX_CACHE_MAGIC	"PGPSIDX1"

/*
 * Stamps files[0..n) into out.  Returns 0, or a negative code with err
 * naming a file that cannot be stat()ed.
 */
int index_stamp(uint8_t out[32], const char *const *files, size_t n,
    struct pgps_err *err);

/*
 * Writes v[0..n) (sources numbered below nsources) with stamp and extra to
 * path, atomically: a temporary file next to it renamed into place.
 * Returns 0, or a negative code with err naming path.
 */
int index_cache_save(const char *path, const uint8_t stamp[32],
    uint64_t nsources, const struct index_entry *v, size_t n, uint64_t extra,
    struct pgps_err *err);

/*
 * Reads the cache at path when it holds stamp and nsources: *out (owned
 * by the caller, free()), *n and *extra are set and 0 is returned.
 * Returns 1 when there is no usable cache (missing, other stamp, other
 * number of sources, damaged: rebuild it), or a negative code with err
 * set when out of memory.
 */
int index_cache_load(const char *path, const uint8_t stamp[32],
    uint64_t nsources, struct index_entry **out, size_t *n, uint64_t *extra,
    struct pgps_err *err);

#endif
