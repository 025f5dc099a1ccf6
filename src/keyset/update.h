/*
 * update.h: what an incoming certificate adds to a keyring's copy of the
 * same key, and the form in which it goes in.
 *
 * Every command that writes certificates into a keyring (dump import,
 * fetch) takes the same steps: prepare the incoming certificate for the
 * keyring (what GnuPG 2.2 can read, then the poison limits), compare it
 * with the keyring's copy, and merge the two when it adds packets.  The
 * merge is what lets an update without user IDs (keys.openpgp.org
 * serves revocations so) reach a key the keyring already has: the
 * keyring receives the complete certificate.
 */
#ifndef PGPSYNC_KEYSET_UPDATE_H
#define PGPSYNC_KEYSET_UPDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keyset/gpg.h"
#include "openpgp/openpgp.h"
#include "util/buf.h"
#include "util/err.h"

enum update_flags {
	/*
	 * The keyring is GnuPG's: gpg_cert_prepare() and
	 * gpg_cert_comparable() apply, and a new key needs a user ID.
	 */
	UPDATE_GPG = 1 << 0
};

struct update_prep_report {
	struct gpg_compat_report	 compat;	/* UPDATE_GPG only */
	struct pgp_filter_report	 filter;
};

/*
 * Appends to out the form of c the keyring takes: with UPDATE_GPG what gpg
 * can read (gpg_cert_prepare()), then c with the limits applied
 * (pgp_cert_filter()).  Fails as those do: PGPS_EUNSUPPORTED for what gpg
 * cannot store, PGPS_ELIMIT over the limits, PGPS_EFORMAT; out is then
 * unchanged.  rep (may be NULL) says what was left out.
 */
int update_prepare(struct buf *out, const struct pgp_cert *c,
    const struct pgp_limits *lim, unsigned int flags,
    struct update_prep_report *rep, struct pgps_err *err);

enum update_result {
	UPDATE_NEW,		/* the keyring lacks the key */
	UPDATE_CHANGED,		/* it adds packets to the keyring's copy */
	UPDATE_UNCHANGED	/* the keyring has all of it */
};

/*
 * Compares the prepared certificate in[0..len) (offset names it in
 * messages) with the keyring's copy *work, which is empty when the
 * keyring lacks the key, and sets *res.  For UPDATE_NEW *work becomes a
 * copy of in; for UPDATE_CHANGED the merge of *work and in
 * (pgp_cert_merge()).  With UPDATE_GPG, "nothing new" leaves out what gpg
 * would not add anyway (gpg_cert_comparable()), and the counts in rep and
 * the list in *changes describe what gpg will keep, while the merge keeps
 * everything and lets gpg choose.  rep (may be NULL) counts what in adds;
 * changes (may be NULL) receives pgp_cert_diff()'s list for
 * UPDATE_CHANGED (a malloc'd array of *nchanges entries, else NULL and
 * 0).  Refusals, with err saying why: PGPS_EUNSUPPORTED for a new key
 * without a user ID under UPDATE_GPG, PGPS_EFORMAT for a certificate
 * that cannot be read or merged.  *work is unchanged on failure.
 */
int update_merge(struct buf *work, enum update_result *res,
    const uint8_t *in, size_t len, uint64_t offset, unsigned int flags,
    struct pgp_cert_merge_report *rep, struct pgp_change **changes,
    size_t *nchanges, struct pgps_err *err);

/* True when c holds a user ID packet. */
bool update_has_uid(const struct pgp_cert *c);

#endif
