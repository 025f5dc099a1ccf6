/*
 * refresh.h: what the answers to one lookup (keyset/remote.h) bring to a
 * key set's copy of the key -- the deciding half of "pgpsync fetch".
 *
 * The answers have been judged one by one by the import rules
 * (keyset/import.h) as they came.  refresh_resolve() applies the rules
 * across them: which primary key they are for, and whether anything is
 * left.  refresh_decide() then merges every version taken into one
 * certificate, prepares it for the set (update_prepare(): what GnuPG can
 * read, the poison limits) and merges it with the set's copy
 * (update_merge()), counting what it adds by kind.
 *
 * A refresh run (refresh_run_new()) does it all for a list of keys, in
 * batches: the lookups (keyset/remote.h; keys whose last answer is in
 * the state go by hashquery first), the rules, the decisions, the puts
 * into the set -- for a GnuPG keyring one import per batch, after which
 * what gpg really kept is read back -- and the record of every answer in
 * the state (keyset/state.h).  Nothing here prints: the caller reports
 * each key as it completes.
 */
#ifndef PGPSYNC_KEYSET_REFRESH_H
#define PGPSYNC_KEYSET_REFRESH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keyset/keyset.h"
#include "keyset/remote.h"
#include "openpgp/openpgp.h"
#include "util/buf.h"
#include "util/digest.h"
#include "util/err.h"

struct state;

/* The kinds of change counted (enum pgp_change_kind). */
#define REFRESH_NKINDS	(PGP_CHANGE_OTHER + 1)

enum refresh_result {
	REFRESH_PENDING,	/* not decided yet */
	REFRESH_NOT_DUE,	/* set aside by the caller (state_is_due()) */
	REFRESH_UNCHANGED,	/* the set's copy has all of it */
	REFRESH_UPDATED,	/* it adds packets to the set's copy */
	REFRESH_NEW,		/* the set lacks the key */
	REFRESH_NOT_FOUND,	/* no server had a copy */
	REFRESH_FAILED,		/* servers failed; k->why says why */
	REFRESH_REFUSED		/* nothing taken, or what came cannot go in */
};

struct refresh {
	enum refresh_result	 res;
	char			 why[400];	/* REFRESH_REFUSED, _NOT_FOUND */
	size_t			 changes[REFRESH_NKINDS];	/* _UPDATED */
	struct buf		 cert;	/* _NEW, _UPDATED, _UNCHANGED: the
					 * set's copy with what the answers
					 * add, for the set */
};

void refresh_init(struct refresh *rf);
void refresh_release(struct refresh *rf);

/*
 * Applies the import rules across k's answers (import_set_resolve()),
 * with the query remote_query() makes of k.  When something is left,
 * sets k->fpr to the primary key taken, k->server (when unset) to the
 * source of the first answer taken and, for an accepted certificate
 * without a hashquery hash, k->hash to its SKS hash (md5 is the digest
 * to use), and returns true.  Else returns false; why is then "" when
 * nothing was taken to begin with, or says why what was taken was
 * refused (several keys match; only a revocation came).
 */
bool refresh_resolve(const struct remote *r, struct remote_key *k,
    struct digest *md5, char *why, size_t whylen);

/*
 * Decides what k's answers bring to ks, the set k->fpr is looked up in
 * (for a GnuPG keyring pass uflags UPDATE_GPG), after refresh_resolve():
 * a full certificate taken first, every other answer taken (versions of
 * it, bare revocations) merged into it in one pass, or into the set's
 * copy when only revocations came; lim are the poison limits (not
 * NULL).  Fills *out (refresh_init() first).
 * Returns 0, or the error of a failing set lookup (err); every refusal
 * is a result, not an error.
 */
int refresh_decide(struct refresh *out, struct keyset *ks,
    const struct remote_key *k, const struct pgp_limits *lim,
    unsigned int uflags, struct pgps_err *err);

/*
 * What k's answers taken amount to, after refresh_resolve(), into out
 * (replaced): the first certificate accepted with every other answer
 * taken merged into it in one pass, or the set's copy (copy; NULL: none)
 * with them when only revocations came (PGPS_ENOTFOUND without a copy).
 * No limits applied: the server's version, for comparing (diff).
 */
int refresh_answers(struct buf *out, const struct remote_key *k,
    const struct buf *copy, struct pgps_err *err);

/*
 * Counts the changes ch[0..nch) (pgp_cert_diff() order) by kind into
 * n[0..REFRESH_NKINDS).  The signatures of a new user ID, user attribute
 * or subkey are part of it: "+1 user ID", not "+1 user ID,
 * +1 self-signature".  Returns 0, or PGPS_ENOMEM.
 */
int refresh_count_changes(size_t *n, const struct pgp_change *ch,
    size_t nch);

/*
 * What a keyring really kept: counts into n what after adds to before
 * (both binary certificates of one key) and returns 0, or a pgps error
 * when either cannot be read.  For a GnuPG keyring, read back after the
 * import, since gpg drops what does not verify.
 */
int refresh_kept(size_t *n, const struct buf *before, const struct buf *after,
    struct pgps_err *err);

/* --- a refresh run ---------------------------------------------------- */

/* One key of a run: what is asked, answered, then decided. */
struct refresh_key {
	struct remote_key rk;		/* rk.name and rk.email point into
					 * name and email */
	char		*email;		/* asked by address (malloc'd) */
	char		*name;		/* as asked: hex or the address
					 * (malloc'd) */
	bool		 named;		/* the caller's mark */
	enum refresh_result res;	/* REFRESH_PENDING until decided */
	size_t		 changes[REFRESH_NKINDS];	/* _UPDATED */
	struct buf	 work;		/* the certificate for the set */
};

/* Empties k (buf_init() of its work; the rest zero). */
void refresh_key_init(struct refresh_key *k);
/* Frees what k holds (answers, strings, work) and leaves it released. */
void refresh_key_release(struct refresh_key *k);
/* Sets k to a lookup of the binary fingerprint fpr[0..len) (20 or 32). */
void refresh_key_set_fpr(struct refresh_key *k, const uint8_t *fpr,
    size_t len);

struct refresh_opts {
	struct remote_opts remote;	/* servers, client, wkd, rate; its
					 * callbacks are the run's */
	long		 deadline_ms;	/* for every lookup; 0: none */
	/*
	 * refresh_run_all(): one key at a time, in random order, each after
	 * a random pause of up to delay seconds, on a fresh connection (the
	 * lookups must not be tied to each other by whoever watches them);
	 * 0: batches of REFRESH_BATCH keys.
	 */
	double		 delay;
	struct pgp_limits lim;		/* poison limits */
	bool		 writing;	/* put what is new into the set */
	/*
	 * The state (keyset/state.h), NULL for none: a key whose last
	 * answer came from one of the servers, with its SKS hash, is asked
	 * by hashquery first; with record, every answer and failure is
	 * recorded in it.
	 */
	struct state	*st;
	bool		 record;
	int64_t		 now;		/* for the state */
	/* Keys completed so far in the run (may be NULL). */
	void		(*progress)(size_t done, void *arg);
	/* Notes worth a message in verbose mode (may be NULL). */
	void		(*note)(const char *msg, void *arg);
	/* The answers of k resolved, before any decision (may be NULL). */
	void		(*resolved)(struct refresh_key *k, void *arg);
	/* k decided (and, for a GnuPG keyring, imported and read back). */
	void		(*done)(struct refresh_key *k, void *arg);
	/* After each batch of refresh_run_all(); non-zero stops it. */
	int		(*batch_done)(void *arg);
	void		*arg;
};

struct refresh_run;

/*
 * A run that refreshes keys of ks (open for writing unless o->writing is
 * false) from o->remote's servers.  It sets ks's verdict callback: a
 * refusal of a put refuses the key (fails it, for a GnuPG keyring), and
 * a certificate gpg had in full leaves the key unchanged.  *out is the
 * caller's (refresh_run_free()).  PGPS_EFORMAT for a bad server URL.
 */
int refresh_run_new(struct refresh_run **out, struct keyset *ks,
    const struct refresh_opts *o, struct pgps_err *err);
void refresh_run_free(struct refresh_run *r);

/*
 * Runs keys[lo..hi) of the caller's array keys, which must stay where it
 * is while the run and ks are open: the lookups, the rules across each
 * key's answers, the decisions, the puts into the set and, for a GnuPG
 * keyring, one import and the read-back of what gpg kept.  Then, per
 * key, the state is recorded and o->done called.  Keys not
 * REFRESH_PENDING are only reported.  Fails only when the transfer
 * engine or the set does (err); each key's outcome is in the key.
 */
int refresh_run_keys(struct refresh_run *r, struct refresh_key *keys,
    size_t lo, size_t hi, struct pgps_err *err);

/*
 * Keys per batch of refresh_run_all(): one gpg export and one gpg import
 * per batch; the answers of a batch are held in memory until it is
 * imported.
 */
#define REFRESH_BATCH	1000

/*
 * Runs keys[0..n) (which it may reorder) in batches with
 * refresh_run_keys(), or one at a time with o->delay, within the
 * deadline.  Returns 0, the error of a batch, or the non-zero return of
 * o->batch_done (err untouched).
 */
int refresh_run_all(struct refresh_run *r, struct refresh_key *keys,
    size_t n, struct pgps_err *err);

/* HTTP requests made so far, retries included. */
unsigned long refresh_run_requests(const struct refresh_run *r);

#endif
