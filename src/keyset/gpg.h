/*
 * gpg.h: a GnuPG keyring through GPGME: list, export and import
 * certificates.
 *
 * The handle is opaque and no GPGME type crosses this header.  Errors
 * from GPGME are translated into struct pgps_err text with PGPS_EGPG.
 * One handle is one GPGME context: use it from one thread at a time.
 *
 * Fingerprints and key IDs are passed as upper-case hex strings (40 digits
 * for v4, 64 for v5, 16 for a key ID), which is also what gpg takes as a
 * search pattern.
 */
#ifndef PGPSYNC_KEYSET_GPG_H
#define PGPSYNC_KEYSET_GPG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "openpgp/openpgp.h"
#include "util/buf.h"
#include "util/err.h"

/* Room for a fingerprint in hex and its NUL. */
#define GPG_FPR_HEX	(2 * PGP_FPR_MAX + 1)

struct gpg_keyring;

/*
 * Opens the keyring of homedir, or of GPGME's default home ($GNUPGHOME or
 * ~/.gnupg) when homedir is NULL.  A homedir that is not a directory is
 * PGPS_ENOTFOUND.  Checks that a gpg engine is installed (PGPS_EGPG).
 * The first call also initialises GPGME, which must happen before the
 * program starts threads.  *out is owned by the caller.
 */
int gpg_keyring_open(struct gpg_keyring **out, const char *homedir,
    struct pgps_err *err);
void gpg_keyring_free(struct gpg_keyring *kr);

/* The home directory in use (borrowed, valid until gpg_keyring_free()). */
const char *gpg_keyring_home(const struct gpg_keyring *kr);

/* --- listing ---------------------------------------------------------- */

struct gpg_key {
	char		 fpr[GPG_FPR_HEX];	/* primary key */
	bool		 revoked;
	bool		 expired;
	bool		 disabled;
	bool		 invalid;
	int64_t		 last_update;	/* seconds; 0 when gpg does not know */
	size_t		 nsubkeys;
	char		(*subkeys)[GPG_FPR_HEX];	/* their fingerprints */
};

/*
 * Lists the keys matching patterns[0..n) (fingerprints or key IDs; NULL
 * lists the whole keyring) from the local keyring only, without
 * signatures, so it stays cheap on flooded keys.  *out is a malloc'd
 * array of *nout entries (free with gpg_key_list_free()), in gpg's order.
 */
int gpg_keyring_list(struct gpg_key **out, size_t *nout,
    struct gpg_keyring *kr, const char *const *patterns, size_t n,
    struct pgps_err *err);
void gpg_key_list_free(struct gpg_key *keys, size_t n);

/*
 * The keys of kr that the fingerprints fprs[0..n) (upper-case hex, of
 * primary keys or subkeys) name, each once, for an export: gpg exports
 * nothing for an unknown key and says so only on its stderr, so a typo
 * is found by asking first.  *out is a malloc'd array of the *nout
 * primary fingerprints, in gpg's order; missing[k] (n entries, the
 * caller's) is set for each fingerprint no key of kr has.
 */
int gpg_keyring_named(char (**out)[GPG_FPR_HEX], size_t *nout,
    bool *missing, struct gpg_keyring *kr, const char *const *fprs,
    size_t n, struct pgps_err *err);

/* --- export ----------------------------------------------------------- */

enum gpg_export_flags {
	GPG_EXPORT_ARMOR = 1 << 0	/* one ASCII-armored block */
};

/*
 * Appends the full certificates (not the minimal export) matching
 * patterns[0..n) to out as binary packets; patterns NULL exports the whole
 * keyring.  Patterns gpg does not know export nothing, which is not an
 * error: compare what came back.  A pattern may also match a subkey, in
 * which case the whole certificate holding it is exported.  Growth beyond
 * out->max fails with PGPS_ELIMIT.  On failure out is left as it was.
 */
int gpg_keyring_export(struct buf *out, struct gpg_keyring *kr,
    const char *const *patterns, size_t n, struct pgps_err *err);

/*
 * The same, written to the file descriptor fd (not closed), with flags
 * from enum gpg_export_flags.  With GPG_EXPORT_ARMOR the output is one
 * armor block however many patterns there are.  Sets *written to the
 * number of bytes written (may be NULL).  A failed write is PGPS_EIO with
 * errno set, so a caller can tell a closed pipe (EPIPE) from a full disk.
 */
int gpg_keyring_export_fd(int fd, struct gpg_keyring *kr,
    const char *const *patterns, size_t n, unsigned int flags,
    uint64_t *written, struct pgps_err *err);

/* --- import ----------------------------------------------------------- */

/* What gpg did to one key (gpgme's import status bits). */
enum gpg_import_status {
	GPG_IMPORT_NEW = 1 << 0,	/* the key was not there before */
	GPG_IMPORT_UID = 1 << 1,	/* new user IDs */
	GPG_IMPORT_SIG = 1 << 2,	/* new signatures */
	GPG_IMPORT_SUBKEY = 1 << 3,	/* new subkeys */
	GPG_IMPORT_SECRET = 1 << 4	/* secret key material */
};

/*
 * One certificate handed to gpg_keyring_import().  The caller fills p,
 * len and fpr (the primary fingerprint, upper-case hex); the import fills
 * the rest.
 */
struct gpg_import_item {
	const uint8_t	*p;		/* one binary certificate (borrowed) */
	size_t		 len;
	char		 fpr[GPG_FPR_HEX];
	bool		 seen;		/* gpg reported on this key */
	bool		 failed;	/* gpg refused it: why says why */
	unsigned int	 status;	/* gpg_import_status; 0: unchanged */
	char		 why[160];
};

/* gpg's totals (gpgme_import_result), summed over the gpg runs. */
struct gpg_import_result {
	unsigned long	 considered;
	unsigned long	 imported;
	unsigned long	 unchanged;
	unsigned long	 new_user_ids;
	unsigned long	 new_sub_keys;
	unsigned long	 new_signatures;
	unsigned long	 new_revocations;	/* stand-alone revocations */
	unsigned long	 not_imported;
	unsigned long	 no_user_id;
	unsigned long	 skipped_v3_keys;
	unsigned long	 secret_read;
	unsigned long	 secret_imported;
	unsigned long	 secret_unchanged;
	unsigned int	 gpg_runs;	/* gpg processes started */
};

/*
 * Imports items[0..n) in one gpg run.  gpg stops reading the stream at the
 * first packet it cannot parse (a v6 signature, a malformed packet), which
 * would lose every certificate after it and the one it is in; when the
 * run processed fewer certificates than it was given, the ones gpg did not
 * report on are imported again one per gpg run, so a bad certificate only
 * fails itself.  Items are marked seen/failed/status; those gpg silently
 * skipped (a new key without a valid user ID) are left with seen false.
 * Totals are added to *res (which the caller zeroes first).  origin, when
 * not NULL, is gpg's --key-origin for new keys ("file", "url,URL").
 * Fails only when gpg could not be run at all.
 */
int gpg_keyring_import(struct gpg_import_item *items, size_t n,
    struct gpg_import_result *res, struct gpg_keyring *kr,
    const char *origin, struct pgps_err *err);

/* --- what gpg 2.2 can take -------------------------------------------- */

struct gpg_compat_report {
	size_t	 dropped_sigs;		/* versions gpg cannot parse */
	size_t	 dropped_subkeys;	/* subkeys (with their signatures) */
	size_t	 superseded;		/* older subkey bindings/revocations */
	size_t	 misplaced;		/* signatures where gpg drops them */
};

/*
 * Prepares a parsed certificate for gpg (GnuPG 2.2): appends to out the
 * packets gpg can read, dropping those that would make it abort the
 * whole import stream (v5/v6 signatures, subkeys that are not v4 or are
 * larger than gpg's 256 KiB key packet limit), and refuses with
 * PGPS_EUNSUPPORTED, err naming why, what gpg cannot store at all: a
 * secret key, a primary key that is not v4 (v3 is skipped by gpg, v5/v6
 * abort the stream), an oversized primary key, signatures without a key.
 * Trust packets are dropped too, and so are signatures gpg deletes for
 * their place alone (a key revocation after a user ID, a subkey signature
 * before any subkey, a user ID certification under a subkey).  On failure
 * out is left as it was.  rep may be NULL.
 */
int gpg_cert_prepare(struct buf *out, const struct pgp_cert *c,
    struct gpg_compat_report *rep, struct pgps_err *err);

/*
 * The form of c to compare with the keyring's copy cur (NULL if none):
 * as gpg_cert_prepare(), and also without the subkey bindings and subkey
 * revocations that gpg would not keep because a newer one of the same
 * subkey is in c or in cur.  Otherwise they would look new on every
 * comparison.  Only for comparing: signatures are not verified here, and
 * a forged newer binding must not cost gpg the valid older one, so import
 * the gpg_cert_prepare() form.
 */
int gpg_cert_comparable(struct buf *out, const struct pgp_cert *c,
    const struct pgp_cert *cur, struct pgps_err *err);

#endif
