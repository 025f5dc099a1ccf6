/*
 * keyset.h: key sets named on the command line: read as one stream of
 * certificates, and written through one interface.
 *
 * A spec is a dump file, a directory of dump files (*.pgp, *.gpg, *.asc,
 * read in name order), "-" for standard input, "dump:PATH", a GnuPG
 * keyring ("gpg:" or "gpg:HOMEDIR") or a certificate store ("store:",
 * "store:DIR", "store:DIR@REV").  keyset_spec_parse() is the one place
 * that tells them apart.
 *
 * Reading: keyset_iter_open() streams the certificates of several specs,
 * one source after the other, each split by the OpenPGP reader.
 *
 * Writing: keyset_open() -> keyset_lookup() -> keyset_put() ->
 * keyset_commit() -> keyset_close().  A put merges the incoming
 * certificate packet by packet with the set's copy of the same key, after
 * the poison limits; nothing is ever removed.  Each put gets a verdict
 * (new, changed and what changed, unchanged, refused and why), delivered
 * in put order to the callback set with keyset_on_verdict().  Nothing is
 * written before the commit, and a set closed without one is left as it
 * was: a dump file is replaced by a temporary file renamed into place, a
 * dump directory gains one new numbered file, a store gets one commit, a
 * GnuPG keyring one import run (per batch of keyset_flush(), which bounds
 * memory on large inputs).
 */
#ifndef PGPSYNC_KEYSET_KEYSET_H
#define PGPSYNC_KEYSET_KEYSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "openpgp/openpgp.h"
#include "util/err.h"

struct keyset_iter;
struct gpg_import_result;

/* --- specs ------------------------------------------------------------- */

enum keyset_kind {
	KEYSET_DUMP,		/* a dump file: PATH or dump:PATH */
	KEYSET_DIR,		/* a directory of dump files */
	KEYSET_STDIN,		/* "-" */
	KEYSET_GPG,		/* gpg:[HOMEDIR] */
	KEYSET_STORE		/* store:[DIR][@REV] */
};

struct keyset_spec {
	enum keyset_kind	 kind;
	const char		*arg;	/* into the spec: the path, the GnuPG
					 * home or the store name; "" for the
					 * default home or store */
	bool			 rev;	/* a store revision (read only) */
};

/*
 * Parses spec.  A plain path (or dump:PATH) is KEYSET_DIR when it is a
 * directory, else KEYSET_DUMP whether or not it exists.  An empty spec or
 * "dump:" alone is PGPS_EFORMAT.
 */
int keyset_spec_parse(struct keyset_spec *out, const char *spec,
    struct pgps_err *err);

/* Resolves every spec (directories listed, files checked to exist). */
int keyset_iter_open(struct keyset_iter **out, const char *const *specs,
    size_t n, struct pgps_err *err);
void keyset_iter_free(struct keyset_iter *it);

/*
 * As pgp_reader_next() over all sources in order: 1 with *out set, 0 at
 * the end of the last source, negative for a skipped bad region (call
 * again) -- unless keyset_is_fatal(rc), after which the iterator stops.
 */
int keyset_iter_next(struct keyset_iter *it, struct pgp_raw_cert *out,
    size_t max_cert, struct pgps_err *err);
bool keyset_is_fatal(int rc);

/*
 * Returns bare revocations from dump files (pgp_reader_keep_bare()), for
 * callers that merge them into their keys.
 */
void keyset_iter_keep_bare(struct keyset_iter *it);

/* Name of the source the last certificate came from. */
const char *keyset_iter_source(const struct keyset_iter *it);
/* Whether certificates stay valid until the current source ends. */
bool keyset_iter_stable(const struct keyset_iter *it);
/* Sum of the sizes of all sources (0 when unknown) and bytes read. */
uint64_t keyset_iter_total(const struct keyset_iter *it);
uint64_t keyset_iter_done(const struct keyset_iter *it);
/* Number of sources (files). */
size_t keyset_iter_nsources(const struct keyset_iter *it);
/* Name of source i (i < keyset_iter_nsources()), in reading order. */
const char *keyset_iter_source_at(const struct keyset_iter *it, size_t i);

/* --- writing ---------------------------------------------------------- */

struct keyset;

enum keyset_open_flags {
	/*
	 * Open for put and commit.  Without it a key set is read only
	 * (keyset_lookup()).  Either way a set that does not exist or
	 * cannot be read is an error (PGPS_ENOTFOUND, PGPS_EIO, ...)
	 * unless KEYSET_CREATE is given too.
	 */
	KEYSET_WRITE = 1 << 0,
	/* With KEYSET_WRITE: a missing dump file or store is made (its
	 * directory must exist). */
	KEYSET_CREATE = 1 << 1,
	/*
	 * Decide every put as for writing; commit writes nothing, and no
	 * lock is taken.  A store that KEYSET_CREATE would make is then an
	 * empty set to look up in (not to put into).
	 */
	KEYSET_DRY_RUN = 1 << 2
};

/* Room for a fingerprint in hex and its NUL. */
#define KEYSET_FPR_HEX	(2 * PGP_FPR_MAX + 1)

enum keyset_result {
	KEYSET_NEW,		/* the set lacked the key */
	KEYSET_CHANGED,		/* it added packets to the set's copy */
	KEYSET_UNCHANGED,	/* the set had all of it */
	KEYSET_REFUSED		/* not taken: why says why */
};

/* What became of one put. */
struct keyset_verdict {
	enum keyset_result	 result;
	size_t			 seq;		/* puts before it */
	char			 fpr[KEYSET_FPR_HEX];	/* "" if unknown */
	const char		*source;	/* as given to the put */
	uint64_t		 offset;
	/* KEYSET_CHANGED: what it added, by packets and by kind. */
	struct pgp_cert_merge_report	 merge;
	uint32_t		 added[PGP_CHANGE_OTHER + 1];
	/* Left out because a GnuPG keyring cannot read them. */
	size_t			 dropped_sigs;
	size_t			 dropped_subkeys;
	/* Secret subkeys dropped: never stored (a store's puts). */
	size_t			 secret_dropped;
	char			 why[300];	/* KEYSET_REFUSED */
};

typedef void (*keyset_verdict_fn)(const struct keyset_verdict *v,
    void *arg);

/*
 * Opens the key set named by spec with flags (enum keyset_open_flags).
 * lim (copied; NULL: none) applies to every put.  Standard input cannot
 * be opened here (PGPS_EUNSUPPORTED), nor can a store revision be opened
 * for writing.  *out is owned by the caller.
 */
int keyset_open(struct keyset **out, const char *spec, unsigned int flags,
    const struct pgp_limits *lim, struct pgps_err *err);
/* Discards whatever was put and not committed (or flushed, for gpg). */
void keyset_close(struct keyset *ks);

enum keyset_kind keyset_kind(const struct keyset *ks);
/* The set for messages: the dump's path, the GnuPG home, the store's
 * directory (borrowed). */
const char *keyset_path(const struct keyset *ks);

/* Where verdicts go (may be NULL: nowhere). */
void keyset_on_verdict(struct keyset *ks, keyset_verdict_fn fn, void *arg);
/* gpg's --key-origin for keys new to a GnuPG keyring ("file", "ks"). */
void keyset_set_origin(struct keyset *ks, const char *origin);

/*
 * The set's copy of the key with this primary fingerprint or key ID
 * (upper-case hex; 16 digits for a key ID) replaces out's contents:
 * a dump's as it is with what was put since it was opened, a store's and
 * a GnuPG keyring's as last written.  PGPS_ENOTFOUND when the set lacks
 * it.
 */
int keyset_lookup(struct buf *out, struct keyset *ks, const char *fpr,
    struct pgps_err *err);

/*
 * The primary fingerprints of every key of the set, each once, sorted:
 * *out is a malloc'd array of *n entries.
 */
int keyset_list(char (**out)[KEYSET_FPR_HEX], size_t *n, struct keyset *ks,
    struct pgps_err *err);

/*
 * Reads the set's copies of the keys pats[0..n) (fingerprints or key IDs;
 * NULL: every key) at once, so the keyset_lookup() calls that follow cost
 * nothing more.  Only a GnuPG keyring needs it; other sets return 0.  A
 * GnuPG keyring's copies of the keys imported by a flush are read again
 * after it, so lookups show what gpg kept.
 */
int keyset_preload(struct keyset *ks, const char *const *pats, size_t n,
    struct pgps_err *err);

/*
 * Puts one binary certificate p[0..len) (source and offset name it in
 * verdicts; source is copied).  A run of key revocation signatures
 * without their key joins the set's copy of the key that issued them.
 * Returns 0, or a fatal error after which the set is left as it was at
 * the last commit; the verdict comes through the callback, for a GnuPG
 * keyring only when the batch is decided (keyset_flush(),
 * keyset_commit()), and so for a store's put of a key put before since
 * the last commit (all its versions are merged then, in one pass).
 */
int keyset_put(struct keyset *ks, const uint8_t *p, size_t len,
    const char *source, uint64_t offset, struct pgps_err *err);
/*
 * Decides what was put and, for a GnuPG keyring, imports it as one batch:
 * every pending verdict is delivered.  A no-op for the other sets.
 */
int keyset_flush(struct keyset *ks, struct pgps_err *err);
/* Bytes and certificates put since the last flush. */
size_t keyset_pending(const struct keyset *ks, size_t *bytes);

/*
 * The same work as keyset_put() in two steps, so that what needs no set
 * (parsing, the limits, hashing) runs on many threads:
 * keyset_prepare() appends a record for p[0..len) to out and may run on
 * any thread with its own struct keyset_prep; keyset_put_prepared() puts
 * the record at rec[0..len) (*used: its size) on the set's thread.  A
 * certificate keyset_prepare() cannot take fails it (not fatal: report it
 * and go on).  Do not commit while preparing threads run.
 */
struct keyset_prep;
int keyset_prep_new(struct keyset_prep **out, struct keyset *ks,
    struct pgps_err *err);
void keyset_prep_free(struct keyset_prep *w);
int keyset_prepare(struct buf *out, struct keyset_prep *w, const uint8_t *p,
    size_t len, const char *source, uint64_t offset, struct pgps_err *err);
int keyset_put_prepared(struct keyset *ks, const uint8_t *rec, size_t len,
    size_t *used, struct pgps_err *err);

enum keyset_join_result {
	KEYSET_JOIN_NONE,	/* spec is not a revision of this store */
	KEYSET_JOIN_HAVE,	/* the store already contains it */
	KEYSET_JOIN_FAST_FORWARD,	/* the store moved to it: done */
	KEYSET_JOIN_MERGE	/* the commit will join the histories */
};

/*
 * Before putting what is read from spec: when this set is a store and
 * spec a revision of the same repository, joins the histories as git
 * would (store_join()).  KEYSET_JOIN_NONE for every other pair.
 */
int keyset_join(struct keyset *ks, const char *spec,
    enum keyset_join_result *res, struct pgps_err *err);
/*
 * After a join that could not fast-forward: why, naming the first file
 * of each kind of problem ("" when there was none, and for other sets).
 */
const char *keyset_join_why(const struct keyset *ks);

struct keyset_commit_info {
	bool		 committed;	/* false: nothing changed (or dry run) */
	char		 commit[41];	/* a store's new commit, hex */
	char		 file[256];	/* a directory's new file name */
};

/*
 * Writes what was put (see the top of this file); note (may be NULL)
 * names the source in a store's commit message.  After a
 * failure nothing was written (a GnuPG keyring keeps the batches flushed
 * before).  The set stays open: more puts and commits may follow.
 */
int keyset_commit(struct keyset *ks, const char *note,
    struct keyset_commit_info *info, struct pgps_err *err);

/* A store's commit in hex ("" for an empty store or another set). */
const char *keyset_head(const struct keyset *ks);

/* gpg's own totals for a GnuPG keyring, NULL for the other sets. */
const struct gpg_import_result *keyset_gpg_totals(const struct keyset *ks);

#endif
