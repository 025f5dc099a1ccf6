/*
 * merge.h: every version of each certificate of a key set merged into
 * one, whatever order the versions come in ("pgpsync dump merge").
 *
 * The versions are gathered first: each certificate added is spilled to a
 * temporary file (in TMPDIR) and indexed by its key, the primary
 * fingerprint (a bare revocation by its SKS hash, so it merges only with
 * identical ones).  Then the versions of each key are merged in one pass
 * (pgp_cert_merge_many(): SKS's canonical form, secret keys dropped),
 * keys in the order they first appeared.  Memory is an index entry per
 * certificate and the versions of one key, not the set.
 *
 * A version whose primary key packet differs from the first one's (a v3
 * key shares its fingerprint with any key of the same RSA numbers) is
 * left out; so is a key whose versions do not merge.  Each is passed to
 * the warn callback naming its source and offset, and counted.  With
 * limits, each merged key goes through them (keyset_filter_limits()),
 * and one they refuse is left out, said and counted the same way.
 *
 *	keyset_merge_new(&m, NULL, warn, arg, &err);
 *	for (each parsed certificate c of source)
 *		keyset_merge_add(m, &c, source, &err);
 *	while ((r = keyset_merge_next(m, &out, &src, &off, &err)) == 1)
 *		... write out ...
 *	keyset_merge_free(m);
 */
#ifndef PGPSYNC_KEYSET_MERGE_H
#define PGPSYNC_KEYSET_MERGE_H

#include <stdint.h>

#include "openpgp/openpgp.h"
#include "util/buf.h"
#include "util/err.h"

struct keyset_merge;

struct keyset_merge_counts {
	uint64_t	 read;		/* certificates added */
	uint64_t	 keys;		/* distinct keys among them */
	uint64_t	 merged;	/* versions that added packets */
	uint64_t	 duplicates;	/* versions that added nothing */
	uint64_t	 skipped;	/* versions left out (warned) */
	uint64_t	 refused;	/* keys the limits refused (warned) */
};

/*
 * lim (copied; NULL: none) applies to every merged key; warn (may be
 * NULL) receives each message with arg.
 */
int keyset_merge_new(struct keyset_merge **out, const struct pgp_limits *lim,
    void (*warn)(const char *msg, void *arg), void *arg,
    struct pgps_err *err);

/* Adds the parsed certificate c, read from source (copied). */
int keyset_merge_add(struct keyset_merge *m, const struct pgp_cert *c,
    const char *source, struct pgps_err *err);

/*
 * The next key merged, replacing out's contents; *source and *offset
 * (borrowed until the next call) name its first version.  Returns 1, 0
 * after the last, or a negative code with err set (the temporary file
 * failed, no memory).  No certificate may be added once it was called.
 */
int keyset_merge_next(struct keyset_merge *m, struct buf *out,
    const char **source, uint64_t *offset, struct pgps_err *err);

const struct keyset_merge_counts *keyset_merge_counts(
    const struct keyset_merge *m);

void keyset_merge_free(struct keyset_merge *m);

#endif
