/*
 * gpg.c: the GnuPG keyring backend, the only place that talks to GPGME.
 *
 * It lists, exports and imports certificates in one GnuPG home and
 * translates GPGME's errors into struct pgps_err.  It does not decide
 * what to import: comparing and merging certificates is the caller's job,
 * done on packets with the openpgp module.  What it does know is what
 * gpg 2.2 can parse, because one packet gpg cannot read makes it abandon
 * the rest of an import stream; gpg_cert_prepare() and the retry in
 * gpg_keyring_import() keep one bad certificate from costing the others.
 *
 * It never writes a gpg.conf: GPGME 1.18 has no context flags for
 * import options or for skipping the trustdb check, and a user's own
 * configuration is theirs.
 */
#include "util/common.h"

#include <errno.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <gpgme.h>

#include "keyset/gpg.h"
#include "openpgp/openpgp.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/limits.h"
#include "util/mem.h"

/*
 * GPGME hands patterns to gpg on its command line; keep each run well
 * below ARG_MAX (41 bytes per fingerprint).
 */
#define PATTERN_CHUNK	1024

/* gpg's MAX_KEY_PACKET_LENGTH (GnuPG g10/packet.h). */
#define GPG_MAX_KEY_PACKET	((size_t)256 * 1024)

struct gpg_keyring {
	gpgme_ctx_t	 ctx;
	char		*home;
};

static int
gpg_fail(struct pgps_err *err, gpgme_error_t e, const char *what,
    const struct gpg_keyring *kr)
{
	char msg[128];

	if (gpgme_strerror_r(e, msg, sizeof(msg)) != 0)
		snprintf(msg, sizeof(msg), "error %u", (unsigned int)e);
	if (kr != NULL && kr->home != NULL)
		return pgps_err_set(err, PGPS_EGPG, "gpg %s in '%s': %s", what,
		    kr->home, msg);
	return pgps_err_set(err, PGPS_EGPG, "gpg %s: %s", what, msg);
}

int
gpg_keyring_open(struct gpg_keyring **out, const char *homedir,
    struct pgps_err *err)
{
	struct gpg_keyring *kr = NULL;
	const char *home;
	struct stat st;
	gpgme_error_t e;
	int r = PGPS_EINTERNAL;

	if (homedir != NULL && stat(homedir, &st) != 0) {
		r = pgps_err_set(err, PGPS_ENOTFOUND, "GnuPG home '%s': %s",
		    homedir, strerror(errno));
		goto cleanup;
	}
	if (homedir != NULL && !S_ISDIR(st.st_mode)) {
		r = pgps_err_set(err, PGPS_ENOTFOUND, "GnuPG home '%s': not a "
		    "directory", homedir);
		goto cleanup;
	}
	/* Initialises GPGME (locks, engine table); idempotent. */
	gpgme_check_version(NULL);
	if ((e = gpgme_engine_check_version(GPGME_PROTOCOL_OpenPGP)) != 0) {
		r = gpg_fail(err, e, "engine check", NULL);
		goto cleanup;
	}
	if ((kr = calloc(1, sizeof(*kr))) == NULL) {
		r = pgps_err_set(err, PGPS_ENOMEM, "out of memory");
		goto cleanup;
	}
	if ((e = gpgme_new(&kr->ctx)) != 0 ||
	    (e = gpgme_set_protocol(kr->ctx, GPGME_PROTOCOL_OpenPGP)) != 0 ||
	    (e = gpgme_ctx_set_engine_info(kr->ctx, GPGME_PROTOCOL_OpenPGP,
	    NULL, homedir)) != 0 ||
	    (e = gpgme_set_keylist_mode(kr->ctx,
	    GPGME_KEYLIST_MODE_LOCAL)) != 0) {
		r = gpg_fail(err, e, "setup", NULL);
		goto cleanup;
	}
	gpgme_set_armor(kr->ctx, 0);
	home = homedir;
	if (home == NULL)
		home = gpgme_get_dirinfo("homedir");
	if ((kr->home = strdup(home != NULL ? home : "~/.gnupg")) == NULL) {
		r = pgps_err_set(err, PGPS_ENOMEM, "out of memory");
		goto cleanup;
	}
	*out = kr;
	kr = NULL;
	r = 0;
 cleanup:
	gpg_keyring_free(kr);
	return r;
}

void
gpg_keyring_free(struct gpg_keyring *kr)
{
	if (kr == NULL)
		return;
	if (kr->ctx != NULL)
		gpgme_release(kr->ctx);
	free(kr->home);
	free(kr);
}

const char *
gpg_keyring_home(const struct gpg_keyring *kr)
{
	return kr->home;
}

/*
 * Fills arr with patterns[off..off+k) and a NULL, k = min(n - off,
 * PATTERN_CHUNK); returns k.
 */
static size_t
chunk_patterns(const char **arr, const char *const *patterns, size_t n,
    size_t off)
{
	size_t k = n - off;

	if (k > PATTERN_CHUNK)
		k = PATTERN_CHUNK;
	for (size_t i = 0; i < k; i++)
		arr[i] = patterns[off + i];
	arr[k] = NULL;
	return k;
}

/* --- listing ---------------------------------------------------------- */

static void
copy_fpr(char dst[GPG_FPR_HEX], const char *src)
{
	size_t i;

	for (i = 0; src != NULL && src[i] != '\0' && i < GPG_FPR_HEX - 1; i++)
		dst[i] = src[i] >= 'a' && src[i] <= 'f' ?
		    (char)(src[i] - 'a' + 'A') : src[i];
	dst[i] = '\0';
}

static int
key_from_gpgme(struct gpg_key *k, gpgme_key_t key)
{
	gpgme_subkey_t sk;
	size_t n = 0;

	memset(k, 0, sizeof(*k));
	if (key->subkeys == NULL)
		return PGPS_EFORMAT;
	copy_fpr(k->fpr, key->fpr != NULL ? key->fpr : key->subkeys->fpr);
	k->revoked = key->revoked != 0;
	k->expired = key->expired != 0;
	k->disabled = key->disabled != 0;
	k->invalid = key->invalid != 0;
	k->last_update = (int64_t)key->last_update;
	for (sk = key->subkeys->next; sk != NULL; sk = sk->next)
		n++;
	if (n == 0)
		return 0;
	if ((k->subkeys = mem_reallocarray(NULL, n, sizeof(*k->subkeys))) ==
	    NULL)
		return PGPS_ENOMEM;
	for (sk = key->subkeys->next; sk != NULL; sk = sk->next)
		copy_fpr(k->subkeys[k->nsubkeys++], sk->fpr);
	return 0;
}

static int
cmp_key_fpr(const void *a, const void *b)
{
	return strcmp(((const struct gpg_key *)a)->fpr,
	    ((const struct gpg_key *)b)->fpr);
}

void
gpg_key_list_free(struct gpg_key *keys, size_t n)
{
	if (keys == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(keys[i].subkeys);
	free(keys);
}

static bool
key_has_fpr(const struct gpg_key *k, const char *fpr)
{
	if (strcmp(k->fpr, fpr) == 0)
		return true;
	for (size_t i = 0; i < k->nsubkeys; i++)
		if (strcmp(k->subkeys[i], fpr) == 0)
			return true;
	return false;
}

int
gpg_keyring_named(char (**out)[GPG_FPR_HEX], size_t *nout, bool *missing,
    struct gpg_keyring *kr, const char *const *fprs, size_t n,
    struct pgps_err *err)
{
	struct gpg_key *keys = NULL;
	size_t nkeys = 0;
	int r;

	*out = NULL;
	*nout = 0;
	if ((r = gpg_keyring_list(&keys, &nkeys, kr, fprs, n, err)) != 0)
		return r;
	for (size_t k = 0; k < n; k++) {
		missing[k] = true;
		for (size_t j = 0; j < nkeys && missing[k]; j++)
			missing[k] = !key_has_fpr(&keys[j], fprs[k]);
	}
	/*
	 * gpg lists a key once however many names matched it: a key named
	 * twice, or by a subkey and its primary, is exported once.
	 */
	if (nkeys > 0 && (*out = calloc(nkeys, sizeof(**out))) == NULL) {
		gpg_key_list_free(keys, nkeys);
		return pgps_err_set(err, PGPS_ENOMEM, "out of memory");
	}
	for (size_t j = 0; j < nkeys; j++)
		memcpy((*out)[j], keys[j].fpr, GPG_FPR_HEX);
	*nout = nkeys;
	gpg_key_list_free(keys, nkeys);
	return 0;
}

int
gpg_keyring_list(struct gpg_key **out, size_t *nout, struct gpg_keyring *kr,
    const char *const *patterns, size_t n, struct pgps_err *err)
{
	struct gpg_key *keys = NULL, *nk;
	const char **arr = NULL;
	size_t nkeys = 0, alloc = 0, off = 0, k, chunks = 0;
	gpgme_key_t key = NULL;
	gpgme_error_t e;
	bool started = false;
	int r = PGPS_EINTERNAL;

	if (patterns != NULL && n == 0)
		goto done;
	if (patterns != NULL &&
	    (arr = mem_reallocarray(NULL, (n < PATTERN_CHUNK ? n :
	    PATTERN_CHUNK) + 1, sizeof(*arr))) == NULL) {
		r = pgps_err_set(err, PGPS_ENOMEM, "out of memory");
		goto cleanup;
	}
	do {
		k = 0;
		if (patterns != NULL)
			k = chunk_patterns(arr, patterns, n, off);
		if ((e = gpgme_op_keylist_ext_start(kr->ctx, arr, 0, 0)) != 0) {
			r = gpg_fail(err, e, "key listing", kr);
			goto cleanup;
		}
		started = true;
		chunks++;
		for (;;) {
			e = gpgme_op_keylist_next(kr->ctx, &key);
			if (gpg_err_code(e) == GPG_ERR_EOF)
				break;
			if (e != 0) {
				r = gpg_fail(err, e, "key listing", kr);
				goto cleanup;
			}
			if (nkeys == alloc) {
				alloc = alloc == 0 ? 64 : alloc * 2;
				nk = mem_reallocarray(keys, alloc,
				    sizeof(*keys));
				if (nk == NULL) {
					r = pgps_err_set(err, PGPS_ENOMEM,
					    "out of memory");
					goto cleanup;
				}
				keys = nk;
			}
			if ((r = key_from_gpgme(&keys[nkeys], key)) != 0) {
				r = pgps_err_set(err, r, "gpg listed a key "
				    "without a fingerprint");
				goto cleanup;
			}
			nkeys++;
			gpgme_key_unref(key);
			key = NULL;
		}
		started = false;
		if ((e = gpgme_op_keylist_end(kr->ctx)) != 0) {
			r = gpg_fail(err, e, "key listing", kr);
			goto cleanup;
		}
		off += k;
	} while (patterns != NULL && off < n);
	/* A key matched from two chunks would be listed twice. */
	if (chunks > 1 && nkeys > 1) {
		size_t w = 1;

		qsort(keys, nkeys, sizeof(*keys), cmp_key_fpr);
		for (size_t i = 1; i < nkeys; i++) {
			if (strcmp(keys[i].fpr, keys[w - 1].fpr) == 0)
				free(keys[i].subkeys);
			else
				keys[w++] = keys[i];
		}
		nkeys = w;
	}
 done:
	*out = keys;
	*nout = nkeys;
	keys = NULL;
	nkeys = 0;
	r = 0;
 cleanup:
	if (key != NULL)
		gpgme_key_unref(key);
	if (started)
		gpgme_op_keylist_end(kr->ctx);
	gpg_key_list_free(keys, nkeys);
	free(arr);
	return r;
}

/* --- export ----------------------------------------------------------- */

/* Where GPGME's output goes: a buf, or a file descriptor. */
struct sink {
	struct buf	*buf;
	int		 fd;
	uint64_t	 written;
	int		 code;		/* PGPS_E* of the first failure */
	int		 errnum;
};

static ssize_t
sink_write(void *handle, const void *p, size_t len)
{
	struct sink *s = handle;
	const uint8_t *q = p;
	size_t left = len;
	ssize_t w;
	int r;

	if (s->buf != NULL) {
		if ((r = buf_add(s->buf, p, len)) != 0) {
			s->code = r;
			errno = r == PGPS_ELIMIT ? EFBIG : ENOMEM;
			return -1;
		}
		s->written += len;
		return (ssize_t)len;
	}
	while (left > 0) {
		w = write(s->fd, q, left);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			s->code = PGPS_EIO;
			s->errnum = errno;
			return -1;
		}
		q += w;
		left -= (size_t)w;
	}
	s->written += len;
	return (ssize_t)len;
}

static int
sink_fail(struct pgps_err *err, const struct sink *s)
{
	if (s->code == PGPS_ELIMIT)
		return pgps_err_set(err, PGPS_ELIMIT,
		    "export larger than %zu bytes", s->buf->max != 0 ?
		    s->buf->max : PGPS_MAX_BUF);
	if (s->code == PGPS_EIO)
		return pgps_err_set(err, PGPS_EIO, "write: %s",
		    strerror(s->errnum));
	return pgps_err_set(err, s->code, "%s", pgps_strerror(s->code));
}

static int
export_sink(struct sink *s, struct gpg_keyring *kr,
    const char *const *patterns, size_t n, bool armor, struct pgps_err *err)
{
	struct gpgme_data_cbs cbs = { NULL, sink_write, NULL, NULL };
	gpgme_data_t d = NULL;
	const char **arr = NULL;
	size_t off = 0;
	gpgme_error_t e;
	int r = PGPS_EINTERNAL;

	if (patterns != NULL && n == 0)
		return 0;
	if ((e = gpgme_data_new_from_cbs(&d, &cbs, s)) != 0) {
		r = gpg_fail(err, e, "export", kr);
		goto cleanup;
	}
	if (patterns != NULL &&
	    (arr = mem_reallocarray(NULL, (n < PATTERN_CHUNK ? n :
	    PATTERN_CHUNK) + 1, sizeof(*arr))) == NULL) {
		r = pgps_err_set(err, PGPS_ENOMEM, "out of memory");
		goto cleanup;
	}
	gpgme_set_armor(kr->ctx, armor);
	do {
		if (patterns != NULL) {
			off += chunk_patterns(arr, patterns, n, off);
			e = gpgme_op_export_ext(kr->ctx, arr, 0, d);
		} else
			e = gpgme_op_export(kr->ctx, NULL, 0, d);
		if (s->code != 0) {
			r = sink_fail(err, s);
			goto cleanup;
		}
		if (e != 0) {
			r = gpg_fail(err, e, "export", kr);
			goto cleanup;
		}
	} while (patterns != NULL && off < n);
	r = 0;
 cleanup:
	gpgme_set_armor(kr->ctx, 0);
	gpgme_data_release(d);
	free(arr);
	return r;
}

int
gpg_keyring_export(struct buf *out, struct gpg_keyring *kr,
    const char *const *patterns, size_t n, struct pgps_err *err)
{
	struct sink s = { out, -1, 0, 0, 0 };
	size_t start = out->len;
	int r;

	if ((r = export_sink(&s, kr, patterns, n, false, err)) != 0)
		buf_setlen(out, start);
	return r;
}

int
gpg_keyring_export_fd(int fd, struct gpg_keyring *kr,
    const char *const *patterns, size_t n, unsigned int flags,
    uint64_t *written, struct pgps_err *err)
{
	struct buf bin = BUF_INIT, arm = BUF_INIT;
	struct sink s = { NULL, fd, 0, 0, 0 };
	int r = PGPS_EINTERNAL;

	/*
	 * gpg armors each run on its own, so more patterns than one run
	 * takes would give several blocks: armor those here instead.
	 */
	if ((flags & GPG_EXPORT_ARMOR) == 0 || patterns == NULL ||
	    n <= PATTERN_CHUNK) {
		r = export_sink(&s, kr, patterns, n,
		    (flags & GPG_EXPORT_ARMOR) != 0, err);
		goto cleanup;
	}
	if ((r = gpg_keyring_export(&bin, kr, patterns, n, err)) != 0)
		goto cleanup;
	if (bin.len > 0 && (r = pgp_armor_encode(&arm, bin.p, bin.len,
	    PGP_ARMOR_PUBLIC_KEY, 0)) != 0) {
		r = pgps_err_set(err, r, "armoring the export: %s",
		    pgps_strerror(r));
		goto cleanup;
	}
	if (arm.len > 0 && sink_write(&s, arm.p, arm.len) < 0) {
		r = sink_fail(err, &s);
		goto cleanup;
	}
	r = 0;
 cleanup:
	if (written != NULL)
		*written = s.written;
	buf_release(&bin);
	buf_release(&arm);
	if (r == PGPS_EIO)
		errno = s.errnum;
	return r;
}

/* --- import ----------------------------------------------------------- */

/* Feeds the certificates of one gpg run to GPGME without copying them. */
struct feed {
	struct gpg_import_item	*items;
	const size_t		*idx;	/* items of this run */
	size_t			 n;
	size_t			 cur;
	size_t			 off;
};

static ssize_t
feed_read(void *handle, void *p, size_t len)
{
	struct feed *f = handle;
	const struct gpg_import_item *it;
	size_t k;

	while (f->cur < f->n) {
		it = &f->items[f->idx[f->cur]];
		if (f->off < it->len) {
			k = it->len - f->off;
			if (k > len)
				k = len;
			memcpy(p, it->p + f->off, k);
			f->off += k;
			return (ssize_t)k;
		}
		f->cur++;
		f->off = 0;
	}
	return 0;
}

/*
 * Sorts idx[0..n) by the items' fingerprints, a merge sort through tmp
 * (qsort has no argument for the items).
 */
static void
sort_idx(size_t *idx, size_t *tmp, size_t n,
    const struct gpg_import_item *items)
{
	size_t h, i, j, k;

	if (n < 2)
		return;
	h = n / 2;
	sort_idx(idx, tmp, h, items);
	sort_idx(idx + h, tmp, n - h, items);
	for (i = 0, j = h, k = 0; i < h || j < n; k++) {
		if (j == n || (i < h && strcmp(items[idx[i]].fpr,
		    items[idx[j]].fpr) <= 0))
			tmp[k] = idx[i++];
		else
			tmp[k] = idx[j++];
	}
	memcpy(idx, tmp, n * sizeof(*idx));
}

static void
record_status(struct gpg_import_item *items, const size_t *sorted, size_t n,
    gpgme_import_status_t st)
{
	char fpr[GPG_FPR_HEX];
	size_t lo = 0, hi = n, mid;

	if (st->fpr == NULL)
		return;
	copy_fpr(fpr, st->fpr);
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (strcmp(items[sorted[mid]].fpr, fpr) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* Every item of the run with that fingerprint gets the report. */
	for (; lo < n && strcmp(items[sorted[lo]].fpr, fpr) == 0; lo++) {
		struct gpg_import_item *it = &items[sorted[lo]];

		it->seen = true;
		if (st->result != 0) {
			char msg[128];

			it->failed = true;
			if (gpgme_strerror_r(st->result, msg, sizeof(msg)) != 0)
				snprintf(msg, sizeof(msg), "error %u",
				    (unsigned int)st->result);
			snprintf(it->why, sizeof(it->why), "gpg: %s", msg);
			continue;
		}
		if ((st->status & GPGME_IMPORT_NEW) != 0)
			it->status |= GPG_IMPORT_NEW;
		if ((st->status & GPGME_IMPORT_UID) != 0)
			it->status |= GPG_IMPORT_UID;
		if ((st->status & GPGME_IMPORT_SIG) != 0)
			it->status |= GPG_IMPORT_SIG;
		if ((st->status & GPGME_IMPORT_SUBKEY) != 0)
			it->status |= GPG_IMPORT_SUBKEY;
		if ((st->status & GPGME_IMPORT_SECRET) != 0)
			it->status |= GPG_IMPORT_SECRET;
	}
}

static void
add_result(struct gpg_import_result *res, gpgme_import_result_t g)
{
	res->considered += (unsigned long)g->considered;
	res->imported += (unsigned long)g->imported;
	res->unchanged += (unsigned long)g->unchanged;
	res->new_user_ids += (unsigned long)g->new_user_ids;
	res->new_sub_keys += (unsigned long)g->new_sub_keys;
	res->new_signatures += (unsigned long)g->new_signatures;
	res->new_revocations += (unsigned long)g->new_revocations;
	res->not_imported += (unsigned long)g->not_imported;
	res->no_user_id += (unsigned long)g->no_user_id;
	res->skipped_v3_keys += (unsigned long)g->skipped_v3_keys;
	res->secret_read += (unsigned long)g->secret_read;
	res->secret_imported += (unsigned long)g->secret_imported;
	res->secret_unchanged += (unsigned long)g->secret_unchanged;
}

/*
 * One gpg run over items idx[0..n); *considered is how many certificates
 * gpg got through.
 */
static int
import_run(struct gpg_import_item *items, size_t *idx, size_t *tmp,
    size_t n, struct gpg_import_result *res, unsigned long *considered,
    struct gpg_keyring *kr, struct pgps_err *err)
{
	struct gpgme_data_cbs cbs = { feed_read, NULL, NULL, NULL };
	struct feed f = { items, idx, n, 0, 0 };
	gpgme_import_result_t g;
	gpgme_import_status_t st;
	gpgme_data_t d = NULL;
	gpgme_error_t e;
	int r = PGPS_EINTERNAL;

	*considered = 0;
	if ((e = gpgme_data_new_from_cbs(&d, &cbs, &f)) != 0) {
		r = gpg_fail(err, e, "import", kr);
		goto cleanup;
	}
	gpgme_data_set_encoding(d, GPGME_DATA_ENCODING_BINARY);
	res->gpg_runs++;
	if ((e = gpgme_op_import(kr->ctx, d)) != 0) {
		r = gpg_fail(err, e, "import", kr);
		goto cleanup;
	}
	if ((g = gpgme_op_import_result(kr->ctx)) == NULL) {
		r = pgps_err_set(err, PGPS_EGPG, "gpg import in '%s': no "
		    "result", kr->home);
		goto cleanup;
	}
	add_result(res, g);
	*considered = g->considered < 0 ? 0 : (unsigned long)g->considered;
	/* idx is only read by the feed, which is done: sort it for lookup. */
	sort_idx(idx, tmp, n, items);
	for (st = g->imports; st != NULL; st = st->next)
		record_status(items, idx, n, st);
	r = 0;
 cleanup:
	gpgme_data_release(d);
	return r;
}

int
gpg_keyring_import(struct gpg_import_item *items, size_t n,
    struct gpg_import_result *res, struct gpg_keyring *kr,
    const char *origin, struct pgps_err *err)
{
	size_t *idx = NULL, *tmp = NULL, nleft = 0;
	unsigned long considered;
	gpgme_error_t e;
	int r = PGPS_EINTERNAL;

	if (n == 0)
		return 0;
	if (origin != NULL &&
	    (e = gpgme_set_ctx_flag(kr->ctx, "key-origin", origin)) != 0) {
		r = gpg_fail(err, e, "key origin", kr);
		goto cleanup;
	}
	if ((idx = mem_reallocarray(NULL, n, sizeof(*idx))) == NULL ||
	    (tmp = mem_reallocarray(NULL, n, sizeof(*tmp))) == NULL) {
		r = pgps_err_set(err, PGPS_ENOMEM, "out of memory");
		goto cleanup;
	}
	for (size_t i = 0; i < n; i++) {
		items[i].seen = items[i].failed = false;
		items[i].status = 0;
		items[i].why[0] = '\0';
		idx[i] = i;
	}
	if ((r = import_run(items, idx, tmp, n, res, &considered, kr,
	    err)) != 0)
		goto cleanup;
	if (considered >= n)
		goto done;
	/*
	 * gpg gave up part way (read_block: "Invalid keyring"): what it did
	 * not report on may never have been read.  One run each now, so the
	 * certificate that stopped it fails alone.
	 */
	for (size_t i = 0; i < n; i++)
		if (!items[i].seen && !items[i].failed)
			idx[nleft++] = i;
	for (size_t i = 0; i < nleft; i++) {
		size_t one = idx[i], t;

		if ((r = import_run(items, &one, &t, 1, res, &considered, kr,
		    err)) != 0)
			goto cleanup;
		if (considered == 0 && !items[one].seen) {
			items[one].failed = true;
			snprintf(items[one].why, sizeof(items[one].why),
			    "gpg cannot parse a packet of it");
		}
	}
 done:
	r = 0;
 cleanup:
	free(idx);
	free(tmp);
	return r;
}

/* --- what gpg 2.2 can take -------------------------------------------- */

static const char *
version_why(uint8_t version)
{
	switch (version) {
	case 2:
	case 3:
		return "gpg skips v3 keys";
	case 5:
		return "gpg 2.2 cannot import v5 keys";
	case 6:
		return "gpg 2.2 cannot import v6 keys";
	default:
		return "unknown key version";
	}
}

/* The newest binding (0x18) and subkey revocation (0x28) of one subkey. */
struct newest {
	size_t		 bind, rev;	/* packet index, SIZE_MAX if none */
	uint32_t	 tbind, trev;
};

/*
 * Finds the newest binding and revocation the primary key made among the
 * signatures pkts[first..end) of one subkey; on equal times the later
 * one, as gpg decides.
 */
static void
find_newest(struct newest *nw, const struct pgp_cert *c, size_t first,
    size_t end)
{
	struct pgp_sig_info s;

	nw->bind = nw->rev = SIZE_MAX;
	nw->tbind = nw->trev = 0;
	for (size_t j = first; j < end; j++) {
		const struct pgp_packet *p = &c->pkts[j];

		if (p->tag != PGP_TAG_SIGNATURE ||
		    pgp_sig_parse(&s, p->body, p->bodylen, NULL) != 0 ||
		    !pgp_sig_is_by(&s, &c->primary))
			continue;
		if (s.type == PGP_SIG_SUBKEY_BINDING &&
		    (nw->bind == SIZE_MAX || s.created >= nw->tbind)) {
			nw->bind = j;
			nw->tbind = s.created;
		} else if (s.type == PGP_SIG_SUBKEY_REVOCATION &&
		    (nw->rev == SIZE_MAX || s.created >= nw->trev)) {
			nw->rev = j;
			nw->trev = s.created;
		}
	}
}

/* The end of the signatures that follow pkts[i]. */
static size_t
sigs_end(const struct pgp_cert *c, size_t i)
{
	size_t end = i + 1;

	while (end < c->npkts && (c->pkts[end].tag == PGP_TAG_SIGNATURE ||
	    c->pkts[end].tag == PGP_TAG_TRUST))
		end++;
	return end;
}

/* The same subkey (same packet body) in cur, found as in cur's copy. */
static bool
find_subkey(struct newest *nw, const struct pgp_cert *cur,
    const struct pgp_packet *sub)
{
	for (size_t i = 0; cur != NULL && i < cur->npkts; i++) {
		const struct pgp_packet *p = &cur->pkts[i];

		if (p->tag == PGP_TAG_PUBLIC_SUBKEY &&
		    p->bodylen == sub->bodylen &&
		    memcmp(p->body, sub->body, p->bodylen) == 0) {
			find_newest(nw, cur, i + 1, sigs_end(cur, i));
			return true;
		}
	}
	return false;
}

/*
 * Whether the binding or subkey revocation s (packet index j) gives way to
 * a newer one: of those on one subkey, gpg keeps the newest valid one from
 * each import (GnuPG g10/import.c chk_self_sigs, "removed multiple subkey
 * binding") and does not add one older than what the keyring holds.
 */
static bool
is_superseded(const struct pgp_sig_info *s, size_t j,
    const struct newest *in, const struct newest *cur, bool have_cur)
{
	if (s->type == PGP_SIG_SUBKEY_BINDING)
		return j != in->bind || (have_cur && cur->bind != SIZE_MAX &&
		    s->created < cur->tbind);
	if (s->type == PGP_SIG_SUBKEY_REVOCATION)
		return j != in->rev || (have_cur && cur->rev != SIZE_MAX &&
		    s->created < cur->trev);
	return false;
}

/* Where a signature sits in a certificate, as gpg's import tracks it. */
struct place {
	bool	 uid_seen;	/* a user ID came before */
	bool	 subkey_seen;	/* a subkey came before */
	bool	 in_subkey;	/* the last component was a subkey */
};

/*
 * Signatures gpg deletes for their place (GnuPG g10/import.c
 * delete_inv_parts: "revocation certificate at wrong place", "subkey
 * signature in wrong place"), and user ID certifications under a subkey,
 * which gpg does not keep either.
 */
static bool
is_misplaced(const struct pgp_sig_info *s, const struct place *pl)
{
	switch (s->type) {
	case PGP_SIG_KEY_REVOCATION:
		return pl->uid_seen;
	case PGP_SIG_SUBKEY_BINDING:
	case PGP_SIG_SUBKEY_REVOCATION:
		return !pl->subkey_seen;
	case PGP_SIG_CERT_GENERIC:
	case PGP_SIG_CERT_PERSONA:
	case PGP_SIG_CERT_CASUAL:
	case PGP_SIG_CERT_POSITIVE:
	case PGP_SIG_CERT_REVOCATION:
		return pl->in_subkey;
	default:
		return false;
	}
}

static int
check_primary(const struct pgp_cert *c, struct pgps_err *err)
{
	if ((c->flags & PGP_CERT_SECRET) != 0)
		return pgps_err_set(err, PGPS_EUNSUPPORTED, "secret key");
	if (!c->has_primary || c->npkts == 0 ||
	    c->pkts[0].tag != PGP_TAG_PUBLIC_KEY)
		return pgps_err_set(err, PGPS_EUNSUPPORTED,
		    "signatures without a key");
	if (c->primary.version != 4)
		return pgps_err_set(err, PGPS_EUNSUPPORTED, "v%u key: %s",
		    c->primary.version, version_why(c->primary.version));
	if (c->pkts[0].bodylen > GPG_MAX_KEY_PACKET)
		return pgps_err_set(err, PGPS_EUNSUPPORTED, "primary key "
		    "packet of %zu bytes is over gpg's limit of %zu",
		    c->pkts[0].bodylen, GPG_MAX_KEY_PACKET);
	return 0;
}

/*
 * Both forms: what gpg can read (compare false), and in addition without
 * what gpg would not add to cur (compare true).
 */
static int
prepare(struct buf *out, const struct pgp_cert *c, const struct pgp_cert *cur,
    bool compare, struct gpg_compat_report *rep, struct pgps_err *err)
{
	struct gpg_compat_report local = { 0, 0, 0, 0 };
	struct place pl = { false, false, false };
	struct newest nin, ncur;
	struct pgp_sig_info s;
	const struct pgp_packet *p;
	size_t start = out->len;
	bool skipping = false, have_cur = false;
	int r = PGPS_EINTERNAL;

	if (rep == NULL)
		rep = &local;
	memset(rep, 0, sizeof(*rep));
	nin.bind = nin.rev = SIZE_MAX;
	if ((r = check_primary(c, err)) != 0)
		goto cleanup;
	for (size_t i = 0; i < c->npkts; i++) {
		p = &c->pkts[i];
		switch (p->tag) {
		case PGP_TAG_SECRET_KEY:
		case PGP_TAG_SECRET_SUBKEY:
			r = pgps_err_set(err, PGPS_EUNSUPPORTED,
			    "secret key material");
			goto cleanup;
		case PGP_TAG_PUBLIC_SUBKEY:
			/* gpg fails on a subkey it cannot parse. */
			skipping = p->bodylen == 0 || p->body[0] != 4 ||
			    p->bodylen > GPG_MAX_KEY_PACKET;
			pl.in_subkey = true;
			if (skipping) {
				rep->dropped_subkeys++;
				continue;
			}
			pl.subkey_seen = true;
			if (compare) {
				find_newest(&nin, c, i + 1, sigs_end(c, i));
				have_cur = find_subkey(&ncur, cur, p);
			}
			break;
		case PGP_TAG_USER_ID:
			pl.uid_seen = true;
			/* FALLTHROUGH */
		case PGP_TAG_USER_ATTRIBUTE:
			skipping = pl.in_subkey = false;
			break;
		case PGP_TAG_SIGNATURE:
			if (skipping)
				continue;
			/* GnuPG 2.2 parses signature versions 2 to 4. */
			if (p->bodylen == 0 || p->body[0] < 2 ||
			    p->body[0] > 4) {
				rep->dropped_sigs++;
				continue;
			}
			/* One gpg cannot parse fails on its own later. */
			if (pgp_sig_parse(&s, p->body, p->bodylen, NULL) != 0)
				break;
			if (is_misplaced(&s, &pl)) {
				rep->misplaced++;
				continue;
			}
			if (compare && pl.in_subkey &&
			    pgp_sig_is_by(&s, &c->primary) &&
			    is_superseded(&s, i, &nin, &ncur, have_cur)) {
				rep->superseded++;
				continue;
			}
			break;
		case PGP_TAG_TRUST:
			continue;
		default:
			if (skipping)
				continue;
			break;
		}
		if ((r = pgp_packet_write(out, p)) != 0) {
			r = pgps_err_set(err, r, "%s", pgps_strerror(r));
			goto cleanup;
		}
	}
	r = 0;
 cleanup:
	if (r != 0)
		buf_setlen(out, start);
	return r;
}

int
gpg_cert_prepare(struct buf *out, const struct pgp_cert *c,
    struct gpg_compat_report *rep, struct pgps_err *err)
{
	return prepare(out, c, NULL, false, rep, err);
}

int
gpg_cert_comparable(struct buf *out, const struct pgp_cert *c,
    const struct pgp_cert *cur, struct pgps_err *err)
{
	return prepare(out, c, cur, true, NULL, err);
}
