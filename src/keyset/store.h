/*
 * store.h: pgpsync's certificate store, a git repository that holds one
 * binary file per certificate, read and written through libgit2.
 *
 * Layout of every commit's tree: AB/CD/ABCD...EF.pgp, the upper-case hex
 * fingerprint of the primary key sharded by its first two octets, plus a
 * README.  Every write operation is one commit whose message lists what
 * changed.  A side index ($GIT_DIR/pgpsync/index) maps fingerprints to
 * SKS hashes and blob ids for one tree, so set operations never re-read
 * every certificate; it is a cache, brought up to date from git's trees.
 *
 * A store is named like a key set without the "store:" scheme: "" (the
 * default, $XDG_DATA_HOME/pgpsync/store), "DIR", "DIR@REV" or "@REV"
 * (a git revision, read only).  No git type crosses this header; git
 * errors come back as PGPS_EGIT with libgit2's message.  A store handle
 * is used from one thread at a time.
 */
#ifndef PGPSYNC_KEYSET_STORE_H
#define PGPSYNC_KEYSET_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "openpgp/openpgp.h"
#include "util/buf.h"
#include "util/err.h"

#define STORE_OID_LEN	20	/* a git object id (SHA-1) */

struct store;

enum store_open_flags {
	/*
	 * Open for writing: create the store (a bare repository) when it
	 * does not exist, and take its lock, waiting up to
	 * $PGPSYNC_LOCK_TIMEOUT seconds (default 10) for another writer.
	 */
	STORE_WRITE = 1 << 0
};

/*
 * Opens the store named by name (see above).  Without STORE_WRITE a
 * missing store is PGPS_ENOTFOUND and a store without commits is empty.
 * A revision cannot be opened for writing (PGPS_EUNSUPPORTED), nor can a
 * repository with a work tree.  *out is owned by the caller.
 */
int store_open(struct store **out, const char *name, unsigned int flags,
    struct pgps_err *err);
/* Discards whatever was put and not committed, and unlocks. */
void store_free(struct store *s);

/* The directory of the repository (borrowed). */
const char *store_dir(const struct store *s);
/* The commit read or last written, in hex; "" for an empty store. */
const char *store_head(const struct store *s);

struct keyset;
/*
 * The store behind a key set opened on one (keyset_open()), to read its
 * index under the lock the key set holds; NULL for other sets.
 */
struct store *keyset_store(struct keyset *ks);

/* --- reading ------------------------------------------------------- */

/* One certificate of the store's tree. */
struct store_entry {
	uint8_t		 fprlen;
	uint8_t		 fpr[PGP_FPR_MAX];
	uint8_t		 hash[16];		/* SKS hash */
	uint8_t		 oid[STORE_OID_LEN];	/* the file's blob */
};

/*
 * The certificates of the tree, sorted by fingerprint (the order of their
 * paths).  The first call loads the side index and brings it up to date
 * with the tree (reading only the files that differ from the tree it
 * describes), or builds it by reading every file.  Files that are not a
 * single certificate named by its fingerprint are left out and counted
 * in *damaged (may be NULL).  *out is borrowed until store_free() or the
 * next store_commit().
 */
int store_entries(const struct store_entry **out, size_t *n,
    size_t *damaged, struct store *s, struct pgps_err *err);

/* Replaces out's contents with the bytes of the blob oid. */
int store_read(struct buf *out, struct store *s,
    const uint8_t oid[STORE_OID_LEN], struct pgps_err *err);

/* --- writing ------------------------------------------------------- */

enum store_put_status {
	STORE_PUT_NEW,		/* the store did not have it */
	STORE_PUT_UPDATED,	/* merged: the store's copy (or the copy put
				 * before) gained packets */
	STORE_PUT_UNCHANGED,	/* the store's copy has it all */
	STORE_PUT_PENDING	/* to be merged by store_flush() */
};

struct store_put_info {
	enum store_put_status	 status;
	char			 fpr[2 * PGP_FPR_MAX + 1];
	/* Packets added to the store's copy, by enum pgp_change_kind. */
	uint32_t		 added[PGP_CHANGE_OTHER + 1];
	/*
	 * Secret subkeys (tag 7) dropped with their binding signatures,
	 * from what was put or from the copy stored: never stored.
	 */
	uint32_t		 secret_dropped;
};

/*
 * Puts one certificate (p[0..len), binary) into the next commit: merged
 * packet by packet with the version already stored or put before, with
 * lim applied (NULL: none) to what is stored.  A bare revocation joins
 * the stored certificate of its issuer.  Secret subkeys are dropped
 * (counted in info).  Returns 0 with *info filled (info may be NULL); a
 * certificate that cannot be stored (damaged, a secret key, refused by
 * the limits, a revocation of a key the store lacks) is an error for
 * which store_is_fatal() is false, and leaves the store as it was.
 */
int store_put(struct store *s, const uint8_t *p, size_t len,
    const struct pgp_limits *lim, struct store_put_info *info,
    struct pgps_err *err);
bool store_is_fatal(int rc);

/*
 * The same in two steps, so that the work that needs no store (parsing,
 * the limits, the SKS hash, the git object) runs on many threads:
 * store_prepare() appends a record for p[0..len) to out, and may run on
 * any thread with its own struct store_prep; store_put_prepared() puts
 * the record at rec[0..len) (*used: its size), on the store's thread,
 * with the same lim.  Records stay in one process.  Each step fails as
 * store_put() does.  s may be NULL; otherwise store_prepare() skips the
 * git object of a certificate the last commit already has, which it
 * reads from s's index: load it (store_entries()) before the threads
 * start, and do not commit while they run.
 */
struct store_prep;
struct store_prep *store_prep_new(void);	/* NULL: out of memory */
void store_prep_free(struct store_prep *w);
int store_prepare(struct buf *out, struct store_prep *w,
    const struct store *s, const uint8_t *p, size_t len,
    const struct pgp_limits *lim, struct pgps_err *err);
int store_put_prepared(struct store *s, const uint8_t *rec, size_t len,
    size_t *used, const struct pgp_limits *lim, struct store_put_info *info,
    struct pgps_err *err);

/*
 * After store_defer_merges(), a certificate put again before the commit
 * (a dump holding many versions of one key) is not merged with the copy
 * put before at once, which costs O(n^2) in the versions: the put says
 * STORE_PUT_PENDING, and store_flush() (which store_commit() calls)
 * merges all versions of each certificate in one pass, calling fn (may be
 * NULL) once for each such put with what became of it: info as
 * store_put() fills it in, r and err as it returns them.  What a
 * certificate gained is told with the last version that added to it.
 * Fails only for errors store_is_fatal() is true for.
 */
typedef void (*store_verdict_fn)(const struct store_put_info *info, int r,
    const struct pgps_err *err, void *arg);
int store_defer_merges(struct store *s, store_verdict_fn fn, void *arg);
int store_flush(struct store *s, struct pgps_err *err);

enum store_join_result {
	STORE_JOIN_NONE,	/* name is not a revision of this store */
	STORE_JOIN_HAVE,	/* HEAD already contains that revision */
	STORE_JOIN_FAST_FORWARD,	/* HEAD was moved to it: done */
	STORE_JOIN_MERGE	/* the next commit will be a merge */
};

/*
 * Call before putting anything read from name (a store name as for
 * store_open()).  When name is a revision of this same repository (what
 * "git fetch" brought, say), the histories are joined as git would, but
 * a revision is never taken on trust.  If HEAD is an ancestor of it and
 * its tree is exactly what merging it certificate by certificate would
 * give (nothing removed, every file a plain file in its shard directory
 * holding just the certificate its name says, within lim (NULL: none),
 * without secret key material, with every packet HEAD's version has,
 * nothing else but the README), HEAD moves to it (a fast-forward, with
 * a reflog entry; nothing is left to import).  Otherwise the next commit
 * gets it as another parent, made even when nothing changes, so that
 * "git push" accepts the result; put every certificate read from name
 * before committing.  store_join() applies the default limits.
 */
int store_join(struct store *s, const char *name,
    enum store_join_result *res, struct pgps_err *err);
int store_join_limits(struct store *s, const char *name,
    const struct pgp_limits *lim, enum store_join_result *res,
    struct pgps_err *err);
/*
 * After a join that could not fast-forward: why, naming the first file
 * of each kind of problem ("" when there was none); borrowed.
 */
const char *store_join_why(const struct store *s);

struct store_commit_info {
	bool		 committed;	/* false: nothing had changed */
	char		 commit[2 * STORE_OID_LEN + 1];
	size_t		 new_certs;
	size_t		 updated_certs;
};

/*
 * Writes what was put as one commit on HEAD, whose message lists the new
 * and updated certificates, ending with note (may be NULL) as a
 * "Source:" line.  Nothing put, or nothing changed: no commit.  The
 * objects are written first (one pack when there are many, loose
 * otherwise, as git's transfer.unpackLimit), then the commit moves HEAD
 * atomically, so an interrupted run leaves the last commit as it was.
 */
int store_commit(struct store *s, const char *note,
    struct store_commit_info *info, struct pgps_err *err);

#endif
