/*
 * dump-gpg.c: "pgpsync dump export" and "pgpsync dump import", keydumps
 * out of and into a GnuPG keyring.
 *
 * Import does not throw everything at gpg.  It reads the input in
 * batches, asks gpg once per batch for its current copy of those keys,
 * and compares packets: a certificate the keyring already holds in full
 * is skipped without starting gpg; one that adds packets is merged with
 * the keyring's copy first, so an update without user IDs (what
 * keys.openpgp.org serves) still carries the user IDs gpg insists on.
 * What gpg 2.2 cannot take is refused up front, each with its reason,
 * because a single v6 certificate or secret key in a stream makes gpg
 * drop the whole stream.  The rest goes to gpg in one run per batch.
 *
 * Export is gpg's own export of full certificates (not the minimal
 * form), so "pgpsync dump export | gpg --import" is lossless.
 *
 * Neither verb writes gpg.conf or any other file of the GnuPG home.
 */
#include "util/common.h"

#include <errno.h>

#include <jansson.h>

#include "cmd/cmd.h"
#include "cmd/par.h"
#include "keyset/gpg.h"
#include "keyset/keyset.h"
#include "keyset/store.h"
#include "keyset/update.h"
#include "openpgp/openpgp.h"
#include "util/hex.h"
#include "util/limits.h"
#include "util/mem.h"

enum {
	OPT_HOMEDIR = OPT_LONG,
	OPT_JSON,
	OPT_ARMOR,
	OPT_DRY_RUN,
	OPT_TO
};

const struct opt dump_export_opts[] = {
	{ OPT_ARMOR, "armor", NULL, "write one ASCII-armored block" },
	{ OPT_HOMEDIR, "homedir", "dir",
	    "GnuPG home (default: $GNUPGHOME or ~/.gnupg)" },
	{ 'o', "output", "file",
	    "write to file (replaced atomically) instead of standard output" },
	{ 0, NULL, NULL, NULL }
};

const struct opt dump_import_opts[] = {
	{ OPT_DRY_RUN, "dry-run", NULL,
	    "show what would be imported; change nothing" },
	{ OPT_HOMEDIR, "homedir", "dir",
	    "GnuPG home (default: $GNUPGHOME or ~/.gnupg)" },
	{ OPT_JSON, "json", NULL, "print the result as JSON" },
	{ OPT_TO, "to", "set",
	    "import into set: store:[DIR], or gpg:[HOMEDIR] (the default)" },
	LIMIT_OPTS,
	{ 0, NULL, NULL, NULL }
};

/*
 * A batch ends at this many certificates or bytes: large enough that gpg
 * starts rarely, small enough to bound memory and gpg's command line.
 */
#define BATCH_CERTS	1000
#define BATCH_BYTES	((size_t)32 << 20)

/*
 * Normalises a fingerprint argument ("0x" prefix, spaces, lower case
 * allowed) into upper-case hex; -1 unless it is 40 or 64 digits.
 */
static int
parse_fpr(char out[GPG_FPR_HEX], const char *s)
{
	size_t n = 0;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	for (; *s != '\0'; s++) {
		if (*s == ' ')
			continue;
		if (n == GPG_FPR_HEX - 1)
			return -1;
		if (*s >= '0' && *s <= '9')
			out[n++] = *s;
		else if (*s >= 'a' && *s <= 'f')
			out[n++] = (char)(*s - 'a' + 'A');
		else if (*s >= 'A' && *s <= 'F')
			out[n++] = *s;
		else
			return -1;
	}
	out[n] = '\0';
	return n == 40 || n == 64 ? 0 : -1;
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

/* --- export ----------------------------------------------------------- */

int
cmd_dump_export(int argc, char **argv, struct ctx *ctx)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct opt_parser op;
	struct atomic_file af;
	struct gpg_keyring *kr = NULL;
	struct gpg_key *keys = NULL;
	size_t nkeys = 0, n = 0, missing = 0;
	char (*fprs)[GPG_FPR_HEX] = NULL;
	const char **pats = NULL;
	const char *arg, *homedir = NULL, *output = "-";
	unsigned int flags = 0;
	bool opened = false;
	int c, i, rc = EXIT_ERROR;

	opt_init(&op, argc, argv, ctx);
	while ((c = opt_next(&op, &arg)) != -1) {
		switch (c) {
		case OPT_ARMOR:
			flags |= GPG_EXPORT_ARMOR;
			break;
		case 'o':
			output = arg;
			break;
		case OPT_HOMEDIR:
			homedir = arg;
			break;
		default:
			break;
		}
	}
	i = opt_operands(&op);
	opt_release(&op);

	n = (size_t)(argc - i);
	if (n > 0) {
		fprs = xreallocarray(NULL, n, sizeof(*fprs));
		pats = xreallocarray(NULL, n, sizeof(*pats));
		for (size_t k = 0; k < n; k++) {
			if (parse_fpr(fprs[k], argv[i + (int)k]) != 0) {
				rc = usage_error(ctx, "'%s' is not a "
				    "fingerprint (40 or 64 hex digits)",
				    argv[i + (int)k]);
				goto cleanup;
			}
			pats[k] = fprs[k];
		}
	}
	if (gpg_keyring_open(&kr, homedir, &err) != 0) {
		error("%s", err.msg);
		goto cleanup;
	}
	if (n > 0) {
		/* gpg exports nothing for an unknown key and says so only on
		 * its stderr: ask first, so a typo is an error. */
		if (gpg_keyring_list(&keys, &nkeys, kr, pats, n, &err) != 0) {
			error("%s", err.msg);
			goto cleanup;
		}
		for (size_t k = 0; k < n; k++) {
			bool found = false;

			for (size_t j = 0; j < nkeys && !found; j++)
				found = key_has_fpr(&keys[j], fprs[k]);
			if (!found) {
				error("'%s': not in the keyring '%s'", fprs[k],
				    gpg_keyring_home(kr));
				missing++;
			}
		}
		if (missing > 0)
			goto cleanup;
		/*
		 * Export what was found, once each: a key named twice, or by
		 * a subkey and its primary, would otherwise come out twice
		 * when the names take several gpg runs.
		 */
		pats = xreallocarray(pats, nkeys, sizeof(*pats));
		for (size_t j = 0; j < nkeys; j++)
			pats[j] = keys[j].fpr;
		n = nkeys;
	}
	if (atomic_open(&af, output) != 0)
		goto cleanup;
	opened = true;
	if (fflush(af.f) != 0 ||
	    gpg_keyring_export_fd(fileno(af.f), kr, n > 0 ? pats : NULL, n,
	    flags, NULL, &err) != 0) {
		/* A reader that went away (| head) is no news to anyone. */
		if (errno != EPIPE)
			error("%s", err.code != 0 ? err.msg : strerror(errno));
		atomic_abort(&af);
		opened = false;
		goto cleanup;
	}
	opened = false;
	if (atomic_commit(&af) != 0)
		goto cleanup;
	rc = EXIT_OK;
 cleanup:
	if (opened)
		atomic_abort(&af);
	gpg_key_list_free(keys, nkeys);
	gpg_keyring_free(kr);
	free(pats);
	free(fprs);
	return rc;
}

/* --- import ----------------------------------------------------------- */

enum verdict {
	V_NONE,
	V_NEW,		/* not in the keyring */
	V_UPDATED,	/* adds packets to the keyring's copy */
	V_UNCHANGED,	/* the keyring has all of it */
	V_REJECTED
};

static const char *const verdict_name[] = {
	"pending", "new", "updated", "unchanged", "rejected"
};

/* One input certificate of the batch. */
struct incoming {
	struct buf	 data;		/* what gpg may take, limits applied */
	char		 fpr[GPG_FPR_HEX];
	bool		 bare;		/* revocation signatures without key */
	char		 pattern[GPG_FPR_HEX];	/* a bare one's issuer */
	struct pgp_sig_info sig;	/* a bare one's first signature */
	char		*source;
	uint64_t	 offset;
	enum verdict	 v;
	struct pgp_cert_merge_report rep;
	size_t		 key;		/* index into batch.keys */
};

/* One distinct key of the batch. */
struct bkey {
	char		 fpr[GPG_FPR_HEX];
	struct buf	 work;		/* keyring copy merged with the input */
	bool		 changed;
	size_t		 item;		/* into batch.items, or SIZE_MAX */
};

/* A fingerprint and an index, sorted to find things by fingerprint. */
struct ord {
	const char	*fpr;
	size_t		 i;
};

struct batch {
	struct incoming	*in;
	size_t		 nin, allocin;
	size_t		 bytes;
	struct buf	 cur;		/* gpg's export of the batch's keys */
	struct pgp_cert	*certs;		/* parsed from cur */
	char		(*certfpr)[GPG_FPR_HEX];
	size_t		 ncerts, alloccerts;
	struct ord	*byfpr;		/* certs by fingerprint */
	struct bkey	*keys;
	size_t		 nkeys;
	struct gpg_import_item *items;
	size_t		 nitems;
};

/*
 * Each input certificate is counted once, as if the input were imported
 * one certificate after another.  What updates added is counted from the
 * packet comparison, in a dry run and a real one alike: gpg's own
 * counters miss what arrives with a key that is new in the same run and
 * count revocations as plain signatures (they are under "gpg" in JSON).
 */
struct totals {
	unsigned long	 v[V_REJECTED + 1];
	unsigned long	 sigs, uids, subkeys, revocations;
};

struct importer {
	struct ctx		*ctx;
	struct gpg_keyring	*kr;
	struct pgp_limits	 lim;
	bool			 dry_run;
	bool			 list;		/* print every decision */
	struct totals		 t;
	struct gpg_import_result gres;
	json_t			*jcerts;	/* decisions, when listed */
	json_t			*jrejected;
};

static int
cmp_ord(const void *a, const void *b)
{
	const struct ord *x = a, *y = b;
	int c = strcmp(x->fpr, y->fpr);

	if (c != 0)
		return c;
	return x->i < y->i ? -1 : x->i > y->i;
}

static int
cmp_ord_fpr(const void *a, const void *b)
{
	return strcmp(((const struct ord *)a)->fpr,
	    ((const struct ord *)b)->fpr);
}

static void
batch_reset(struct batch *b)
{
	for (size_t i = 0; i < b->nin; i++) {
		buf_release(&b->in[i].data);
		free(b->in[i].source);
	}
	b->nin = 0;
	b->bytes = 0;
	for (size_t i = 0; i < b->ncerts; i++)
		pgp_cert_release(&b->certs[i]);
	b->ncerts = 0;
	buf_release(&b->cur);
	for (size_t i = 0; i < b->nkeys; i++)
		buf_release(&b->keys[i].work);
	free(b->keys);
	b->keys = NULL;
	b->nkeys = 0;
	free(b->byfpr);
	b->byfpr = NULL;
	free(b->items);
	b->items = NULL;
	b->nitems = 0;
}

static void
batch_release(struct batch *b)
{
	batch_reset(b);
	free(b->in);
	free(b->certs);
	free(b->certfpr);
	memset(b, 0, sizeof(*b));
}

/*
 * Counts a rejection and says why on stderr (and in the JSON list).
 * offset is UINT64_MAX for a damaged region the reader skipped (why
 * names the offset then).
 */
static void
reject(struct importer *im, const char *fpr, const char *source,
    uint64_t offset, const char *why)
{
	json_t *o;

	im->t.v[V_REJECTED]++;
	if (offset == UINT64_MAX)
		warn("skipped: %s", why);	/* the reader names the place */
	else if (fpr != NULL && fpr[0] != '\0')
		warn("rejected '%s' ('%s', offset %llu): %s", fpr, source,
		    (unsigned long long)offset, why);
	else
		warn("rejected the certificate at offset %llu of '%s': %s",
		    (unsigned long long)offset, source, why);
	if (im->jrejected == NULL)
		return;
	o = json_object();
	if (fpr != NULL && fpr[0] != '\0')
		json_object_set_new(o, "fingerprint", json_string(fpr));
	json_object_set_new(o, "source", json_string(source));
	if (offset != UINT64_MAX)
		json_object_set_new(o, "offset",
		    json_integer((json_int_t)offset));
	json_object_set_new(o, "reason", json_string(why));
	json_array_append_new(im->jrejected, o);
}

static void
reject_in(struct importer *im, struct incoming *x, const char *why)
{
	x->v = V_REJECTED;
	reject(im, x->fpr, x->source, x->offset, why);
}

static struct incoming *
batch_add(struct batch *b)
{
	struct incoming *x;

	if (b->nin == b->allocin) {
		b->allocin = b->allocin == 0 ? 64 : b->allocin * 2;
		b->in = xreallocarray(b->in, b->allocin, sizeof(*b->in));
	}
	x = &b->in[b->nin];
	memset(x, 0, sizeof(*x));
	buf_init(&x->data, 0);
	x->key = SIZE_MAX;
	return x;
}

/*
 * A run of signatures without a key: kept when they are key revocations
 * naming their issuer, to be matched with the keyring's copy of that key.
 */
static int
take_bare(struct incoming *x, const struct pgp_cert *c, const char **why)
{
	struct pgp_sig_info s;
	struct pgps_err err = PGPS_ERR_INIT;

	for (size_t i = 0; i < c->npkts; i++) {
		const struct pgp_packet *p = &c->pkts[i];

		if (p->tag == PGP_TAG_TRUST || p->tag == PGP_TAG_MARKER)
			continue;
		if (p->tag != PGP_TAG_SIGNATURE ||
		    pgp_sig_parse(&s, p->body, p->bodylen, &err) != 0 ||
		    s.type != PGP_SIG_KEY_REVOCATION) {
			*why = "signatures without a key";
			return -1;
		}
		if (!x->bare) {
			x->sig = s;
			x->bare = true;
		}
		if (pgp_packet_write(&x->data, p) != 0) {
			*why = "out of memory";
			return -1;
		}
	}
	if (!x->bare) {
		*why = "no packets";
		return -1;
	}
	if (x->sig.issuer_fprlen == 20 || x->sig.issuer_fprlen == 32)
		hex_encode_upper(x->pattern, x->sig.issuer_fpr,
		    x->sig.issuer_fprlen);
	else if (x->sig.has_issuer)
		hex_encode_upper(x->pattern, x->sig.issuer, 8);
	else {
		*why = "key revocation without an issuer";
		return -1;
	}
	return 0;
}

/*
 * Reads one certificate into the batch: parses it, refuses what gpg
 * cannot take, applies the limits.  A refusal is reported and counted.
 */
static void
take_cert(struct importer *im, struct batch *b, const struct pgp_raw_cert *raw,
    const char *source)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct pgp_cert c = PGP_CERT_INIT;
	struct update_prep_report prep;
	struct incoming *x = batch_add(b);
	const char *why = NULL;
	char msg[300];
	int r;

	x->source = xstrdup(source);
	x->offset = raw->offset;
	if (pgp_cert_parse(&c, raw->p, raw->len, raw->offset, &err) != 0) {
		snprintf(msg, sizeof(msg), "malformed: %s", err.msg);
		reject_in(im, x, msg);
		goto cleanup;
	}
	/* A secret key's fingerprint covers only its public part, which
	 * the parser does not separate: name such a key by its offset. */
	if (c.has_primary && (c.flags & PGP_CERT_SECRET) == 0)
		pgp_key_fpr_hex(x->fpr, &c.primary);
	if (c.flags & PGP_CERT_BARE_REVOCATION) {
		if (take_bare(x, &c, &why) != 0)
			reject_in(im, x, why);
		goto cleanup;
	}
	r = update_prepare(&x->data, &c, &im->lim, UPDATE_GPG, &prep, &err);
	/* The limits come after gpg's form: that step was done then. */
	if ((r == 0 || err.code == PGPS_ELIMIT) &&
	    (prep.compat.dropped_sigs > 0 ||
	    prep.compat.dropped_subkeys > 0) && !im->ctx->quiet)
		warn("'%s': left out %zu signature%s and %zu subkey%s that "
		    "gpg 2.2 cannot read", x->fpr, prep.compat.dropped_sigs,
		    prep.compat.dropped_sigs == 1 ? "" : "s",
		    prep.compat.dropped_subkeys,
		    prep.compat.dropped_subkeys == 1 ? "" : "s");
	if (r != 0) {
		if (err.code == PGPS_ELIMIT)
			snprintf(msg, sizeof(msg), "over the limits: %s",
			    err.msg);
		else
			snprintf(msg, sizeof(msg), "%s", err.msg);
		reject_in(im, x, msg);
		goto cleanup;
	}
 cleanup:
	pgp_cert_release(&c);
	if (x->v == V_REJECTED) {
		buf_release(&x->data);
		free(x->source);
		return;		/* not kept: nin stays */
	}
	b->bytes += x->data.len;
	b->nin++;
}

/*
 * Asks gpg once for its copy of every key the batch names and indexes
 * the answer by fingerprint.
 */
static int
load_current(struct importer *im, struct batch *b)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct pgp_reader *rd = NULL;
	struct pgp_raw_cert raw;
	const char **pats;
	size_t np = 0;
	int r, rc = -1;

	pats = xreallocarray(NULL, b->nin + 1, sizeof(*pats));
	for (size_t i = 0; i < b->nin; i++)
		pats[np++] = b->in[i].bare ? b->in[i].pattern : b->in[i].fpr;
	if (np > 0 && gpg_keyring_export(&b->cur, im->kr, pats, np, &err) !=
	    0) {
		error("%s", err.msg);
		goto cleanup;
	}
	if (b->cur.len > 0 && pgp_reader_open_mem(&rd, b->cur.p, b->cur.len,
	    "gpg export", &err) != 0) {
		error("%s", err.msg);
		goto cleanup;
	}
	while (rd != NULL) {
		struct pgp_cert *c;

		pgps_err_clear(&err);
		if ((r = pgp_reader_next(rd, &raw, 0, &err)) == 0)
			break;
		if (r < 0) {
			/* The keyring's own copy: unlikely, but not fatal. */
			warn("keyring '%s': %s", gpg_keyring_home(im->kr),
			    err.msg);
			if (r == PGPS_EIO)
				break;
			continue;
		}
		if (b->ncerts == b->alloccerts) {
			b->alloccerts = b->alloccerts == 0 ? 64 :
			    b->alloccerts * 2;
			b->certs = xreallocarray(b->certs, b->alloccerts,
			    sizeof(*b->certs));
			b->certfpr = xreallocarray(b->certfpr, b->alloccerts,
			    sizeof(*b->certfpr));
		}
		c = &b->certs[b->ncerts];
		*c = (struct pgp_cert)PGP_CERT_INIT;
		if (pgp_cert_parse(c, raw.p, raw.len, raw.offset, &err) != 0 ||
		    !c->has_primary) {
			warn("keyring '%s': %s", gpg_keyring_home(im->kr),
			    err.code != 0 ? err.msg : "signatures without key");
			pgp_cert_release(c);
			continue;
		}
		pgp_key_fpr_hex(b->certfpr[b->ncerts], &c->primary);
		b->ncerts++;
	}
	b->byfpr = xreallocarray(NULL, b->ncerts + 1, sizeof(*b->byfpr));
	for (size_t i = 0; i < b->ncerts; i++) {
		b->byfpr[i].fpr = b->certfpr[i];
		b->byfpr[i].i = i;
	}
	qsort(b->byfpr, b->ncerts, sizeof(*b->byfpr), cmp_ord);
	rc = 0;
 cleanup:
	pgp_reader_free(rd);
	free(pats);
	return rc;
}

static const struct pgp_cert *
find_current(const struct batch *b, const char *fpr)
{
	struct ord key = { fpr, 0 }, *o;

	o = bsearch(&key, b->byfpr, b->ncerts, sizeof(*b->byfpr),
	    cmp_ord_fpr);
	return o != NULL ? &b->certs[o->i] : NULL;
}

/*
 * A bare key revocation becomes an update of the key that issued it: the
 * keyring's primary key packet followed by the signatures.
 */
static void
resolve_bare(struct importer *im, struct batch *b, struct incoming *x)
{
	const struct pgp_cert *cur = NULL;
	struct buf data = BUF_INIT;

	if (strlen(x->pattern) != 16)
		cur = find_current(b, x->pattern);
	else
		for (size_t i = 0; i < b->ncerts && cur == NULL; i++)
			if (pgp_sig_is_by(&x->sig, &b->certs[i].primary))
				cur = &b->certs[i];
	if (cur == NULL || !pgp_sig_is_by(&x->sig, &cur->primary)) {
		reject_in(im, x, "revocation for a key that is not in the "
		    "keyring");
		return;
	}
	if (pgp_packet_write(&data, &cur->pkts[0]) != 0 ||
	    buf_add(&data, x->data.p, x->data.len) != 0)
		die("out of memory");
	buf_swap(&data, &x->data);
	buf_release(&data);
	pgp_key_fpr_hex(x->fpr, &cur->primary);
	x->bare = false;
}

/*
 * Decides for x against its key's working copy, updating the copy
 * (update_merge()).
 */
static void
decide(struct importer *im, struct bkey *k, struct incoming *x)
{
	struct pgps_err err = PGPS_ERR_INIT;
	enum update_result res;

	if (update_merge(&k->work, &res, x->data.p, x->data.len, x->offset,
	    UPDATE_GPG, &x->rep, NULL, NULL, &err) != 0) {
		reject_in(im, x, err.msg);
		return;
	}
	switch (res) {
	case UPDATE_NEW:
		x->v = V_NEW;
		k->changed = true;
		break;
	case UPDATE_CHANGED:
		x->v = V_UPDATED;
		k->changed = true;
		break;
	case UPDATE_UNCHANGED:
		x->v = V_UNCHANGED;
		break;
	}
}

static void
plural(struct buf *b, unsigned long n, const char *one, const char *many)
{
	if (buf_addf(b, "%lu %s", n, n == 1 ? one : many) != 0)
		die("out of memory");
}

static void
list_decision(struct importer *im, const struct incoming *x)
{
	struct buf line = BUF_INIT;
	json_t *o;

	if (!im->list || x->v == V_REJECTED || x->v == V_NONE)
		return;
	if (im->jcerts != NULL) {
		o = json_object();
		json_object_set_new(o, "fingerprint", json_string(x->fpr));
		json_object_set_new(o, "source", json_string(x->source));
		json_object_set_new(o, "offset",
		    json_integer((json_int_t)x->offset));
		json_object_set_new(o, "result",
		    json_string(verdict_name[x->v]));
		json_array_append_new(im->jcerts, o);
		return;
	}
	if (buf_addf(&line, "%-9s %s", verdict_name[x->v], x->fpr) != 0)
		die("out of memory");
	if (x->v == V_UPDATED) {
		buf_addstr(&line, " (+");
		plural(&line, x->rep.new_sigs, "signature", "signatures");
		buf_addstr(&line, ", +");
		plural(&line, x->rep.new_uids, "user ID", "user IDs");
		buf_addstr(&line, ", +");
		plural(&line, x->rep.new_subkeys, "subkey", "subkeys");
		buf_addstr(&line, ", +");
		plural(&line, x->rep.new_revocations, "revocation",
		    "revocations");
		buf_addstr(&line, ")");
	}
	printf("%s\n", (const char *)line.p);
	buf_release(&line);
}

/* Applies gpg's report on one key to the input certificates behind it. */
static void
apply_result(struct importer *im, struct batch *b, size_t *ord, size_t lo,
    size_t hi, const struct bkey *k)
{
	const struct gpg_import_item *it = &b->items[k->item];
	char why[300];

	why[0] = '\0';
	if (it->failed)
		snprintf(why, sizeof(why), "%s", it->why);
	else if (!it->seen)
		snprintf(why, sizeof(why), "gpg did not import it (no valid "
		    "self-signed user ID?)");
	for (size_t j = lo; j < hi; j++) {
		struct incoming *x = &b->in[ord[j]];

		if (x->v != V_NEW && x->v != V_UPDATED)
			continue;
		if (why[0] != '\0')
			reject_in(im, x, why);
		else if (it->status == 0)
			x->v = V_UNCHANGED;	/* gpg had it all */
	}
}

/* Decides, imports and reports one batch; -1 when gpg failed. */
static int
run_batch(struct importer *im, struct batch *b)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct ord *o = NULL;
	size_t *ord = NULL, *start = NULL, n = 0;
	int rc = -1;

	if (b->nin == 0)
		return 0;
	if (load_current(im, b) != 0)
		goto cleanup;
	for (size_t i = 0; i < b->nin; i++)
		if (b->in[i].bare)
			resolve_bare(im, b, &b->in[i]);

	/* Group the input by key, keeping input order within a key. */
	o = xreallocarray(NULL, b->nin + 1, sizeof(*o));
	for (size_t i = 0; i < b->nin; i++) {
		if (b->in[i].v == V_REJECTED)
			continue;
		o[n].fpr = b->in[i].fpr;
		o[n].i = i;
		n++;
	}
	qsort(o, n, sizeof(*o), cmp_ord);
	ord = xreallocarray(NULL, n + 1, sizeof(*ord));
	start = xreallocarray(NULL, n + 1, sizeof(*start));
	b->keys = xreallocarray(NULL, n + 1, sizeof(*b->keys));
	b->items = xreallocarray(NULL, n + 1, sizeof(*b->items));
	for (size_t j = 0; j < n; j++) {
		struct bkey *k;
		const struct pgp_cert *cur;

		ord[j] = o[j].i;
		if (j > 0 && strcmp(o[j].fpr, o[j - 1].fpr) == 0) {
			b->in[ord[j]].key = b->nkeys - 1;
			continue;
		}
		start[b->nkeys] = j;
		k = &b->keys[b->nkeys++];
		memset(k, 0, sizeof(*k));
		buf_init(&k->work, 0);
		k->item = SIZE_MAX;
		memcpy(k->fpr, o[j].fpr, sizeof(k->fpr));
		if ((cur = find_current(b, k->fpr)) != NULL &&
		    pgp_cert_write(&k->work, cur) != 0)
			die("out of memory");
		b->in[ord[j]].key = b->nkeys - 1;
	}
	start[b->nkeys] = n;
	for (size_t j = 0; j < n; j++) {
		struct incoming *x = &b->in[ord[j]];

		decide(im, &b->keys[x->key], x);
	}
	for (size_t ki = 0; ki < b->nkeys; ki++) {
		struct bkey *k = &b->keys[ki];
		struct gpg_import_item *it;

		if (!k->changed)
			continue;
		k->item = b->nitems;
		it = &b->items[b->nitems++];
		memset(it, 0, sizeof(*it));
		it->p = k->work.p;
		it->len = k->work.len;
		memcpy(it->fpr, k->fpr, sizeof(it->fpr));
	}
	if (!im->dry_run && b->nitems > 0) {
		if (gpg_keyring_import(b->items, b->nitems, &im->gres, im->kr,
		    "file", &err) != 0) {
			error("%s", err.msg);
			goto cleanup;
		}
		for (size_t ki = 0; ki < b->nkeys; ki++)
			if (b->keys[ki].item != SIZE_MAX)
				apply_result(im, b, ord, start[ki],
				    start[ki + 1], &b->keys[ki]);
	}
	/* Totals and listing, in input order. */
	for (size_t i = 0; i < b->nin; i++) {
		struct incoming *x = &b->in[i];

		if (x->v == V_REJECTED)
			continue;	/* counted when rejected */
		im->t.v[x->v]++;
		if (x->v == V_UPDATED) {
			im->t.sigs += x->rep.new_sigs;
			im->t.uids += x->rep.new_uids;
			im->t.subkeys += x->rep.new_subkeys;
			im->t.revocations += x->rep.new_revocations;
		}
		list_decision(im, x);
	}
	rc = 0;
 cleanup:
	free(o);
	free(ord);
	free(start);
	return rc;
}

static void
print_summary(struct importer *im, const char *home)
{
	const struct gpg_import_result *g = &im->gres;
	struct buf line = BUF_INIT;
	json_t *root, *jg;

	if (im->jrejected != NULL) {
		root = json_object();
		json_object_set_new(root, "homedir", json_string(home));
		json_object_set_new(root, "dry_run", json_boolean(im->dry_run));
		for (int v = V_NEW; v <= V_REJECTED; v++)
			json_object_set_new(root, verdict_name[v],
			    json_integer((json_int_t)im->t.v[v]));
		json_object_set_new(root, "new_signatures",
		    json_integer((json_int_t)im->t.sigs));
		json_object_set_new(root, "new_user_ids",
		    json_integer((json_int_t)im->t.uids));
		json_object_set_new(root, "new_subkeys",
		    json_integer((json_int_t)im->t.subkeys));
		json_object_set_new(root, "revocations",
		    json_integer((json_int_t)im->t.revocations));
		jg = json_object();
		json_object_set_new(jg, "runs", json_integer(g->gpg_runs));
		json_object_set_new(jg, "considered",
		    json_integer((json_int_t)g->considered));
		json_object_set_new(jg, "imported",
		    json_integer((json_int_t)g->imported));
		json_object_set_new(jg, "unchanged",
		    json_integer((json_int_t)g->unchanged));
		json_object_set_new(jg, "new_user_ids",
		    json_integer((json_int_t)g->new_user_ids));
		json_object_set_new(jg, "new_subkeys",
		    json_integer((json_int_t)g->new_sub_keys));
		json_object_set_new(jg, "new_signatures",
		    json_integer((json_int_t)g->new_signatures));
		json_object_set_new(jg, "new_revocations",
		    json_integer((json_int_t)g->new_revocations));
		json_object_set_new(jg, "not_imported",
		    json_integer((json_int_t)g->not_imported));
		json_object_set_new(jg, "no_user_id",
		    json_integer((json_int_t)g->no_user_id));
		json_object_set_new(jg, "skipped_v3_keys",
		    json_integer((json_int_t)g->skipped_v3_keys));
		json_object_set_new(jg, "secret_read",
		    json_integer((json_int_t)g->secret_read));
		json_object_set_new(jg, "secret_imported",
		    json_integer((json_int_t)g->secret_imported));
		json_object_set_new(jg, "secret_unchanged",
		    json_integer((json_int_t)g->secret_unchanged));
		json_object_set_new(root, "gpg", jg);
		json_object_set_new(root, "rejected_certificates",
		    json_incref(im->jrejected));
		if (im->jcerts != NULL)
			json_object_set_new(root, "certificates",
			    json_incref(im->jcerts));
		json_dumpf(root, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
		fputc('\n', stdout);
		json_decref(root);
		return;
	}
	if (buf_addf(&line, "%lu new, %lu updated (", im->t.v[V_NEW],
	    im->t.v[V_UPDATED]) != 0)
		die("out of memory");
	plural(&line, im->t.sigs, "new signature", "new signatures");
	buf_addstr(&line, ", ");
	plural(&line, im->t.uids, "new user ID", "new user IDs");
	buf_addstr(&line, ", ");
	plural(&line, im->t.subkeys, "new subkey", "new subkeys");
	buf_addstr(&line, ", ");
	plural(&line, im->t.revocations, "revocation", "revocations");
	buf_addf(&line, "), %lu unchanged, %lu rejected",
	    im->t.v[V_UNCHANGED], im->t.v[V_REJECTED]);
	if (im->dry_run)
		buf_addstr(&line, " (dry run: nothing imported)");
	printf("%s\n", (const char *)line.p);
	buf_release(&line);
}

/* --- import into a store ---------------------------------------------- */

/*
 * "import --to store:[DIR]": the certificates are prepared (parsed, the
 * limits applied, hashed and packed as git objects) on every CPU, put
 * into the store in input order, and committed as one commit, so an
 * import is all or nothing.
 */
struct store_ws {
	struct store_prep	*prep;
	const struct store	*s;
	const struct pgp_limits	*lim;
};

struct store_import {
	struct store		*s;
	const struct pgp_limits	*lim;
	struct ctx		*ctx;
	unsigned long		 n[STORE_PUT_UNCHANGED + 1];
	unsigned long		 rejected;
	unsigned long		 added[PGP_CHANGE_OTHER + 1];
};

static void *
store_ws_new(void *arg)
{
	struct store_ws *w = xcalloc(1, sizeof(*w));

	w->lim = ((const struct store_import *)arg)->lim;
	w->s = ((const struct store_import *)arg)->s;
	if ((w->prep = store_prep_new()) == NULL)
		die("out of memory");
	return w;
}

static void
store_ws_done(void *ws, void *arg)
{
	struct store_ws *w = ws;

	(void)arg;
	store_prep_free(w->prep);
	free(w);
}

static int
store_prep_one(void *ws, const struct pgp_raw_cert *raw, const char *source,
    struct buf *out, struct pgps_err *err)
{
	struct store_ws *w = ws;
	int r;

	if ((r = store_prepare(out, w->prep, w->s, raw->p, raw->len, w->lim,
	    err)) != 0)
		return pgps_err_prefix(err, r, "'%s': offset %llu", source,
		    (unsigned long long)raw->offset);
	return 0;
}

/* Puts a batch of prepared certificates, in input order. */
static int
store_put_batch(const uint8_t *p, size_t len, void *arg)
{
	struct store_import *si = arg;

	while (len > 0) {
		struct pgps_err err = PGPS_ERR_INIT;
		struct store_put_info pi;
		size_t used;
		int r;

		r = store_put_prepared(si->s, p, len, &used, si->lim, &pi,
		    &err);
		p += used;
		len -= used;
		if (r != 0 && store_is_fatal(r))
			return error("%s", err.msg);
		if (r != 0) {
			if (!si->ctx->quiet)
				warn("%s%s%s", pi.fpr, pi.fpr[0] != '\0' ?
				    ": " : "", err.msg);
			si->rejected++;
			continue;
		}
		if (pi.secret_dropped > 0 && !si->ctx->quiet)
			warn("%s: %u secret subkey%s dropped: secret key "
			    "material is never stored", pi.fpr,
			    pi.secret_dropped, pi.secret_dropped == 1 ? "" :
			    "s");
		si->n[pi.status]++;
		for (size_t k = 0; k <= PGP_CHANGE_OTHER; k++)
			si->added[k] += pi.added[k];
		if (si->ctx->verbose > 0 && pi.status != STORE_PUT_UNCHANGED)
			info(si->ctx, "%s: %s", pi.fpr,
			    pi.status == STORE_PUT_NEW ? "new" : "updated");
	}
	return 0;
}

static void
store_summary(const struct store_import *si, const struct store_commit_info *ci,
    bool dry_run, bool json)
{
	unsigned long sigs = si->added[PGP_CHANGE_SELF_SIG] +
	    si->added[PGP_CHANGE_EXPIRY] + si->added[PGP_CHANGE_CERTIFICATION] +
	    si->added[PGP_CHANGE_OTHER];
	unsigned long uids = si->added[PGP_CHANGE_UID] +
	    si->added[PGP_CHANGE_UAT];
	struct buf line = BUF_INIT;
	json_t *root;

	if (json) {
		root = json_object();
		json_object_set_new(root, "store",
		    json_string(store_dir(si->s)));
		json_object_set_new(root, "dry_run", json_boolean(dry_run));
		json_object_set_new(root, "new",
		    json_integer((json_int_t)si->n[STORE_PUT_NEW]));
		json_object_set_new(root, "updated",
		    json_integer((json_int_t)si->n[STORE_PUT_UPDATED]));
		json_object_set_new(root, "unchanged",
		    json_integer((json_int_t)si->n[STORE_PUT_UNCHANGED]));
		json_object_set_new(root, "rejected",
		    json_integer((json_int_t)si->rejected));
		json_object_set_new(root, "new_signatures",
		    json_integer((json_int_t)sigs));
		json_object_set_new(root, "new_user_ids",
		    json_integer((json_int_t)uids));
		json_object_set_new(root, "new_subkeys", json_integer(
		    (json_int_t)si->added[PGP_CHANGE_SUBKEY]));
		json_object_set_new(root, "revocations", json_integer(
		    (json_int_t)si->added[PGP_CHANGE_REVOCATION]));
		json_object_set_new(root, "commit", ci->committed ?
		    json_string(ci->commit) : json_null());
		json_dumpf(root, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
		fputc('\n', stdout);
		json_decref(root);
		return;
	}
	if (buf_addf(&line, "%lu new, %lu updated (", si->n[STORE_PUT_NEW],
	    si->n[STORE_PUT_UPDATED]) != 0)
		die("out of memory");
	plural(&line, sigs, "new signature", "new signatures");
	buf_addstr(&line, ", ");
	plural(&line, uids, "new user ID", "new user IDs");
	buf_addstr(&line, ", ");
	plural(&line, si->added[PGP_CHANGE_SUBKEY], "new subkey",
	    "new subkeys");
	buf_addstr(&line, ", ");
	plural(&line, si->added[PGP_CHANGE_REVOCATION], "revocation",
	    "revocations");
	buf_addf(&line, "), %lu unchanged, %lu rejected",
	    si->n[STORE_PUT_UNCHANGED], si->rejected);
	if (dry_run)
		buf_addstr(&line, " (dry run: nothing imported)");
	else if (ci->committed)
		buf_addf(&line, "; commit %.12s", ci->commit);
	printf("%s\n", (const char *)line.p);
	buf_release(&line);
}

static int
import_to_store(const char *to, const char *const *specs, size_t nspecs,
    const struct pgp_limits *lim, bool dry_run, bool json, struct ctx *ctx)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct store_import si;
	struct store_commit_info ci;
	struct keyset_iter *it = NULL;
	struct par_spec spec;
	struct par_result res;
	struct progress pg;
	struct buf note = BUF_INIT;
	enum store_join_result join = STORE_JOIN_NONE;
	const struct store_entry *ents;
	size_t nents;
	int rc = EXIT_ERROR;

	memset(&si, 0, sizeof(si));
	memset(&ci, 0, sizeof(ci));
	si.lim = lim;
	si.ctx = ctx;
	/* Locked before the input is read, so a busy store fails early. */
	if (store_open(&si.s, to + strlen("store:"), STORE_WRITE,
	    &err) != 0) {
		error("%s", err.msg);
		goto cleanup;
	}
	/* A revision of the same store: join the histories, as git would. */
	if (nspecs == 1 && strncmp(specs[0], "store:", 6) == 0 && !dry_run) {
		if (store_join_limits(si.s, specs[0] + 6, lim, &join,
		    &err) != 0) {
			error("%s", err.msg);
			goto cleanup;
		}
		if (store_join_why(si.s)[0] != '\0')
			warn("'%s': %s; merging certificate by certificate",
			    specs[0], store_join_why(si.s));
		if (join == STORE_JOIN_FAST_FORWARD) {
			if (json)
				printf("{\n  \"commit\": \"%s\",\n  "
				    "\"fast_forward\": true\n}\n",
				    store_head(si.s));
			else
				printf("fast-forward to '%s'; commit %.12s\n",
				    specs[0], store_head(si.s));
			rc = EXIT_OK;
			goto cleanup;
		}
	}
	/* The index, loaded before the threads that read it start. */
	if (store_entries(&ents, &nents, NULL, si.s, &err) != 0 ||
	    keyset_iter_open(&it, specs, nspecs, &err) != 0) {
		error("%s", err.msg);
		goto cleanup;
	}
	memset(&spec, 0, sizeof(spec));
	spec.fn = store_prep_one;
	spec.wstate_new = store_ws_new;
	spec.wstate_done = store_ws_done;
	spec.arg = &si;
	spec.sink = store_put_batch;
	spec.sink_arg = &si;
	progress_start(&pg, ctx, "importing", keyset_iter_total(it));
	spec.progress = &pg;
	if (par_run(it, &spec, ctx, &res) != 0) {
		progress_end(&pg);
		goto cleanup;	/* nothing is committed */
	}
	progress_end(&pg);
	si.rejected += res.skipped;
	buf_init(&note, 0);
	buf_addstr(&note, "pgpsync dump import");
	for (size_t k = 0; k < nspecs; k++)
		buf_addf(&note, " %s", specs[k]);
	if (!dry_run && store_commit(si.s, (const char *)note.p, &ci,
	    &err) != 0) {
		error("%s", err.msg);
		goto cleanup;
	}
	store_summary(&si, &ci, dry_run, json);
	rc = si.rejected > 0 ? EXIT_PARTIAL : EXIT_OK;
 cleanup:
	buf_release(&note);
	keyset_iter_free(it);
	store_free(si.s);
	return rc;
}

int
cmd_dump_import(int argc, char **argv, struct ctx *ctx)
{
	static const char *const stdin_spec[] = { "-" };
	struct pgps_err err = PGPS_ERR_INIT;
	struct importer im;
	struct batch b;
	struct opt_parser op;
	struct keyset_iter *it = NULL;
	struct pgp_raw_cert raw;
	struct progress pg;
	const char *const *specs;
	const char *arg, *homedir = NULL, *to = NULL;
	size_t nspecs;
	uint64_t ncerts = 0;
	bool json = ctx->json;
	int c, i, r, rc = EXIT_ERROR;

	memset(&im, 0, sizeof(im));
	memset(&b, 0, sizeof(b));
	im.ctx = ctx;
	pgp_limits_default(&im.lim);
	opt_init(&op, argc, argv, ctx);
	while ((c = opt_next(&op, &arg)) != -1) {
		if (limit_opt(ctx, &im.lim, c, arg))
			continue;
		switch (c) {
		case OPT_DRY_RUN:
			im.dry_run = true;
			break;
		case OPT_HOMEDIR:
			homedir = arg;
			break;
		case OPT_JSON:
			json = true;
			break;
		case OPT_TO:
			to = arg;
			break;
		default:
			break;
		}
	}
	i = opt_operands(&op);
	opt_release(&op);
	if (to != NULL && strncmp(to, "store:", 6) == 0) {
		if (homedir != NULL)
			return usage_error(ctx, "--homedir is for a GnuPG "
			    "keyring, not --to '%s'", to);
		if (i < argc)
			return import_to_store(to,
			    (const char *const *)&argv[i], (size_t)(argc - i),
			    &im.lim, im.dry_run, json, ctx);
		return import_to_store(to, stdin_spec, 1, &im.lim,
		    im.dry_run, json, ctx);
	}
	if (to != NULL) {
		if (strncmp(to, "gpg:", 4) != 0)
			return usage_error(ctx, "--to: '%s' is not store:[DIR] "
			    "or gpg:[HOMEDIR]", to);
		if (homedir != NULL)
			return usage_error(ctx, "--to and --homedir both name "
			    "the keyring");
		if (to[4] != '\0')
			homedir = to + 4;
	}
	im.list = im.dry_run || ctx->verbose > 0;
	if (json) {
		im.jrejected = json_array();
		if (im.list)
			im.jcerts = json_array();
	}
	if (i < argc) {
		specs = (const char *const *)&argv[i];
		nspecs = (size_t)(argc - i);
	} else {
		specs = stdin_spec;
		nspecs = 1;
	}

	if (gpg_keyring_open(&im.kr, homedir, &err) != 0) {
		error("%s", err.msg);
		goto cleanup;
	}
	if (keyset_iter_open(&it, specs, nspecs, &err) != 0) {
		error("%s", err.msg);
		goto cleanup;
	}
	progress_start(&pg, ctx, "importing", keyset_iter_total(it));
	for (;;) {
		pgps_err_clear(&err);
		r = keyset_iter_next(it, &raw, 0, &err);
		if (r < 0 && keyset_is_fatal(r)) {
			progress_end(&pg);
			error("%s", err.msg);
			/* What was read before the failure still goes in. */
			if (run_batch(&im, &b) == 0)
				print_summary(&im, gpg_keyring_home(im.kr));
			goto cleanup;
		}
		if (r < 0) {
			progress_end(&pg);
			reject(&im, NULL, keyset_iter_source(it), UINT64_MAX,
			    err.msg);
			continue;
		}
		if (r > 0) {
			take_cert(&im, &b, &raw, keyset_iter_source(it));
			ncerts++;
			progress_update(&pg, keyset_iter_done(it), ncerts);
		}
		if (r == 0 || b.nin >= BATCH_CERTS || b.bytes >= BATCH_BYTES) {
			if (im.list)
				progress_end(&pg);
			if (run_batch(&im, &b) != 0) {
				progress_end(&pg);
				goto cleanup;
			}
			batch_reset(&b);
		}
		if (r == 0)
			break;
	}
	progress_end(&pg);
	print_summary(&im, gpg_keyring_home(im.kr));
	rc = im.t.v[V_REJECTED] > 0 ? EXIT_PARTIAL : EXIT_OK;
 cleanup:
	batch_release(&b);
	keyset_iter_free(it);
	gpg_keyring_free(im.kr);
	json_decref(im.jrejected);
	json_decref(im.jcerts);
	return rc;
}
