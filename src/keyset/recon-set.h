/*
 * keyset/recon-set.h: the local side of a reconciliation: a key set seen
 * as the SKS hashes of its certificates and the prefix tree over them,
 * the certificate of a hash read back for the peer, and what the peer
 * gave written into the set.
 *
 * The set is a dump file, a directory of dump files, a certificate store
 * or a GnuPG keyring (keyset_spec_parse()).  Its elements are the SKS
 * hashes of the certificates SKS itself would store
 * (pgp_cert_sks_acceptable()); the others are counted as excluded.
 *
 *   dump file or directory: hashed with index_hash() (keyset/index.h);
 *	the hashes (an index cache, index_cache_save()) and the prefix tree
 *	are cached next to the set, FILE.index and FILE.ptree, or
 *	DIR/.pgpsync-index and DIR/.pgpsync-ptree, and used again while
 *	index_stamp() of the set's files is the same.  What the peer gives
 *	is appended: the file rewritten (locked, replaced whole), or a new
 *	file pgpsync-YYYYmmddTHHMMSS[-N].pgp in the directory.
 *   store:[DIR]: the elements come from the store's own index, so
 *	nothing is hashed; the tree is cached in DIR/pgpsync/ptree for the
 *	commit named in DIR/pgpsync/ptree-commit.  The store is opened as a
 *	key set (keyset_open()) for the whole session, so its lock is taken
 *	once; what the peer gives is put and committed through it.
 *   gpg:[HOME]: exported whole and kept in memory; nothing is cached.
 *	What the peer gives is put through keyset_open() in batches; what
 *	gpg then holds of those keys is hashed again.
 *
 * Typical use:
 *
 *	keyset_rset_open(&s, spec, dry_run, &hooks, &err);
 *	... keyset_recon_run() over keyset_rset_tree(s) ...
 *	keyset_rset_cache(s);			// the session went through
 *	keyset_rset_serving(s);			// before reading from threads
 *	... keyset_rset_read() answers the peer (net_hq_lookup_fn) ...
 *	keyset_rset_fetch(s, url, want, nwant, phase_ms, &kf, &err);
 *	keyset_rset_add(s, note, &added, &err);	// after serving stopped
 *	keyset_rset_free(s);
 */
#ifndef PGPSYNC_KEYSET_RECON_SET_H
#define PGPSYNC_KEYSET_RECON_SET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keyset/keyset.h"
#include "keyset/recon.h"
#include "recon/recon.h"
#include "util/buf.h"
#include "util/err.h"

struct keyset_rset;

struct keyset_rset_hooks {
	int	  jobs;		/* hashing threads; 0: one per CPU */
	/* Damaged input, certificates refused; may be NULL. */
	void	(*warn)(const char *msg, void *arg);
	/* Hashing: octets read of total (0: unknown), certificates read;
	 * may be NULL. */
	void	(*progress)(uint64_t done, uint64_t certs, uint64_t total,
		    void *arg);
	void	 *arg;
};

/*
 * Opens the set named by spec (for writing unless dry_run; a store
 * revision only with dry_run) and builds or loads its elements and
 * tree.  Damaged certificates and regions are passed to hooks->warn
 * and counted (keyset_rset_skipped()).  Returns 0, or a negative code
 * with err naming the set; *out is to be freed either way.
 */
int keyset_rset_open(struct keyset_rset **out, const char *spec,
    bool dry_run, const struct keyset_rset_hooks *hooks,
    struct pgps_err *err);
void keyset_rset_free(struct keyset_rset *s);

/* The set's kind, and its path for messages: the file, directory, store
 * directory or GnuPG home. */
enum keyset_kind keyset_rset_kind(const struct keyset_rset *s);
const char *keyset_rset_path(const struct keyset_rset *s);
const struct recon_ptree *keyset_rset_tree(const struct keyset_rset *s);
/* Elements; certificates SKS would not store; damaged ones left out. */
size_t keyset_rset_count(const struct keyset_rset *s);
uint64_t keyset_rset_excluded(const struct keyset_rset *s);
uint64_t keyset_rset_skipped(const struct keyset_rset *s);
/* Whether the tree came from the cache. */
bool keyset_rset_cached(const struct keyset_rset *s);

/*
 * Caches the tree and hashes that were built, once a reconciliation has
 * completed (a run that failed writes nothing next to the set).  Not
 * being able to write the cache is passed to hooks->warn.
 */
void keyset_rset_cache(struct keyset_rset *s);

/*
 * Makes keyset_rset_read() safe to call from one other thread while the
 * set is fetched into (the certificates of armored files, whose offsets
 * point into their decoded form, are read into memory).
 */
void keyset_rset_serving(struct keyset_rset *s);

/*
 * A net_hq_lookup_fn with arg the set: appends the certificate whose SKS
 * hash is h, without trust packets (which make SKS refuse a key).
 * 1 found, 0 not held or not readable.
 */
int keyset_rset_read(const uint8_t h[16], struct buf *out, void *arg);

/*
 * Fetches want[0..nwant) from the peer's HTTP server at url
 * (keyset_recon_fetch(), its counts in *kf) and writes what comes: a dump
 * file is rewritten and a directory gains a new file at once (so an
 * interrupted run leaves the set as it was), a store or keyring keeps it
 * aside for keyset_rset_add().  What came by phase_ms is kept.
 */
int keyset_rset_fetch(struct keyset_rset *s, const char *url,
    const struct recon_elem *want, size_t nwant, long phase_ms,
    struct keyset_recon_fetch *kf, struct pgps_err *err);

/* The file keyset_rset_fetch() wrote into a dump set, or NULL. */
const char *keyset_rset_written(const struct keyset_rset *s);

/* What keyset_rset_add() made of the fetched certificates. */
struct keyset_rset_added {
	bool		 committed;	/* a store's */
	char		 commit[41];
	uint64_t	 put_new;	/* the set lacked the key */
	uint64_t	 put_merged;	/* merged into the set's version */
	uint64_t	 put_unchanged;	/* nothing new in it */
	uint64_t	 refused;	/* each also told to hooks->warn */
	/* Fetched, but held under an SKS hash other than the peer's. */
	uint64_t	 other_hash;
};

/*
 * After the fetching (and any serving) ended: a dump set's cache is
 * brought up to date; a store gets what was fetched as one commit (note
 * in its message) merged by fingerprint with what it holds; a GnuPG
 * keyring imports it merged with its copies, GPG_BATCH keys per gpg run.
 * Returns 0 with *out filled, or a negative code with err set.
 */
int keyset_rset_add(struct keyset_rset *s, const char *note,
    struct keyset_rset_added *out, struct pgps_err *err);

#endif
