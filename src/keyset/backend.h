/*
 * backend.h: what the backends of a key set provide to keyset.c.
 * Internal to src/keyset.
 *
 * Reading: a backend source other than plain dump files ("gpg:HOMEDIR",
 * "store:DIR", ...) is opened when the iterator is opened (so libraries
 * that must be initialised before threads start, like GPGME, are), and
 * read with next() like a dump file.
 *
 * Writing: struct keyset_wops, one per kind of set, behind keyset_open().
 * The shared steps (naming a certificate, the limits, bare revocations,
 * reporting) are helpers here.
 */
#ifndef PGPSYNC_KEYSET_BACKEND_H
#define PGPSYNC_KEYSET_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keyset/keyset.h"
#include "keyset/update.h"
#include "openpgp/openpgp.h"
#include "util/buf.h"
#include "util/err.h"

struct keyset_backend {
	const char	*scheme;	/* "gpg": matches "gpg:" and "gpg:ARG" */
	/* Opens the source named by arg ("" for the default). */
	int		(*open)(void **state, const char *arg,
			    struct pgps_err *err);
	/* As pgp_reader_next(). */
	int		(*next)(void *state, struct pgp_raw_cert *out,
			    size_t max_cert, struct pgps_err *err);
	void		(*close)(void *state);
};

extern const struct keyset_backend keyset_gpg_backend;
extern const struct keyset_backend keyset_store_backend;

/* --- writing ----------------------------------------------------------- */

struct keyset_wops {
	int	(*open)(struct keyset *ks, struct pgps_err *err);
	int	(*lookup)(struct buf *out, struct keyset *ks, const char *fpr,
		    struct pgps_err *err);
	int	(*put)(struct keyset *ks, const uint8_t *p, size_t len,
		    const char *source, uint64_t offset,
		    struct pgps_err *err);
	int	(*flush)(struct keyset *ks, struct pgps_err *err);
	int	(*commit)(struct keyset *ks, const char *note,
		    struct keyset_commit_info *info, struct pgps_err *err);
	void	(*close)(struct keyset *ks);
	/* Optional: the two-step put (keyset_prepare()). */
	int	(*prep_new)(void **out, struct keyset *ks,
		    struct pgps_err *err);
	void	(*prep_free)(void *w);
	int	(*prepare)(struct buf *out, void *w, const uint8_t *p,
		    size_t len, const char *source, uint64_t offset,
		    struct pgps_err *err);
	int	(*put_prepared)(struct keyset *ks, const uint8_t *rec,
		    size_t len, size_t *used, struct pgps_err *err);
	int	(*join)(struct keyset *ks, const char *spec,
		    enum keyset_join_result *res, struct pgps_err *err);
	int	(*list)(char (**out)[KEYSET_FPR_HEX], size_t *n,
		    struct keyset *ks, struct pgps_err *err);
	/* Optional. */
	int	(*preload)(struct keyset *ks, const char *const *pats,
		    size_t n, struct pgps_err *err);
};

struct keyset {
	const struct keyset_wops *ops;
	struct keyset_spec	 spec;
	char			*specstr;	/* spec.arg points into it */
	char			*path;		/* keyset_path() */
	unsigned int		 flags;
	struct pgp_limits	 lim;
	keyset_verdict_fn	 fn;
	void			*fnarg;
	char			*origin;
	size_t			 seq;		/* puts so far */
	size_t			 npending;	/* since the last flush */
	size_t			 pending_bytes;
	void			*be;		/* the backend's state */
};

extern const struct keyset_wops keyset_dump_wops;	/* files and dirs */
extern const struct keyset_wops keyset_gpg_wops;
extern const struct keyset_wops keyset_store_wops;

/* Hands v to the caller's callback. */
void keyset_report(struct keyset *ks, struct keyset_verdict *v);

/*
 * One incoming certificate, prepared for a keyring: parsed and named,
 * update_prepare() applied with the set's limits, or kept as a run of key
 * revocations naming their issuer (bare).
 */
struct keyset_in {
	struct buf		 data;
	bool			 bare;
	char			 pattern[KEYSET_FPR_HEX]; /* a bare one's issuer */
	struct pgp_sig_info	 sig;		/* a bare one's first signature */
	char			*source;
	struct keyset_verdict	 v;
};

/*
 * Fills x from p[0..len): 0 when taken, 1 when refused (x->v says why),
 * or a fatal error.  uflags as for update_prepare().
 */
int keyset_in_take(struct keyset *ks, struct keyset_in *x, const uint8_t *p,
    size_t len, const char *source, uint64_t offset, unsigned int uflags,
    struct pgps_err *err);
/*
 * Turns a bare revocation into an update of cur (the set's copy of its
 * issuer, NULL if none): 0, 1 when refused, or a fatal error.
 */
int keyset_in_resolve_bare(struct keyset_in *x, const struct pgp_cert *cur,
    struct pgps_err *err);
/* Whether a bare revocation's issuer pattern names cur. */
bool keyset_in_bare_matches(const struct keyset_in *x,
    const struct pgp_cert *cur);
void keyset_in_release(struct keyset_in *x);
/* Marks x refused with why. */
void keyset_in_refuse(struct keyset_in *x, const char *fmt, ...)
    PGPS_PRINTF(2, 3);
/*
 * Decides x against the set's copy *work (empty when the set lacks the
 * key) with update_merge(); fills x->v: its result, and what it added.
 * Returns 0 (refusals included) or a fatal error.
 */
int keyset_in_decide(struct keyset_in *x, struct buf *work,
    unsigned int uflags, struct pgps_err *err);

/*
 * Appends fpr to the list *out of *n fingerprints (*alloc allocated);
 * keyset_list_finish() sorts it and drops duplicates.
 */
int keyset_list_add(char (**out)[KEYSET_FPR_HEX], size_t *n, size_t *alloc,
    const char *fpr, struct pgps_err *err);
void keyset_list_finish(char (*l)[KEYSET_FPR_HEX], size_t *n);

/*
 * 0 when the directory path would be made in exists ("" names a
 * default place: 0), else PGPS_ENOTFOUND naming it.
 */
int keyset_parent_exists(const char *path, struct pgps_err *err);

/* Whether a file name is a dump's in a directory: *.pgp, *.gpg, *.asc. */
bool keyset_is_dump_name(const char *n);

/* Whether fpr (upper-case hex) answers to pattern (a fingerprint, or a
 * 16-digit key ID). */
bool keyset_fpr_matches(const char *fpr, const char *pattern);

#endif
