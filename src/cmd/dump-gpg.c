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
#include "openpgp/openpgp.h"
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
	V_NEW,		/* not in the keyring */
	V_UPDATED,	/* adds packets to the keyring's copy */
	V_UNCHANGED,	/* the keyring has all of it */
	V_REJECTED
};

static const char *const verdict_name[] = {
	"new", "updated", "unchanged", "rejected"
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
	struct keyset		*ks;
	struct pgp_limits	 lim;
	bool			 dry_run;
	bool			 list;		/* print every decision */
	struct totals		 t;
	json_t			*jcerts;	/* decisions, when listed */
	json_t			*jrejected;
};

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
plural(struct buf *b, unsigned long n, const char *one, const char *many)
{
	if (buf_addf(b, "%lu %s", n, n == 1 ? one : many) != 0)
		die("out of memory");
}

static void
list_decision(struct importer *im, const struct keyset_verdict *x,
    enum verdict v)
{
	struct buf line = BUF_INIT;
	json_t *o;

	if (!im->list)
		return;
	if (im->jcerts != NULL) {
		o = json_object();
		json_object_set_new(o, "fingerprint", json_string(x->fpr));
		json_object_set_new(o, "source", json_string(x->source));
		json_object_set_new(o, "offset",
		    json_integer((json_int_t)x->offset));
		json_object_set_new(o, "result",
		    json_string(verdict_name[v]));
		json_array_append_new(im->jcerts, o);
		return;
	}
	if (buf_addf(&line, "%-9s %s", verdict_name[v], x->fpr) != 0)
		die("out of memory");
	if (v == V_UPDATED) {
		buf_addstr(&line, " (+");
		plural(&line, x->merge.new_sigs, "signature", "signatures");
		buf_addstr(&line, ", +");
		plural(&line, x->merge.new_uids, "user ID", "user IDs");
		buf_addstr(&line, ", +");
		plural(&line, x->merge.new_subkeys, "subkey", "subkeys");
		buf_addstr(&line, ", +");
		plural(&line, x->merge.new_revocations, "revocation",
		    "revocations");
		buf_addstr(&line, ")");
	}
	printf("%s\n", (const char *)line.p);
	buf_release(&line);
}

/* What became of one certificate: counted, listed, or rejected. */
static void
on_verdict(const struct keyset_verdict *x, void *arg)
{
	struct importer *im = arg;
	enum verdict v;

	if ((x->dropped_sigs > 0 || x->dropped_subkeys > 0) &&
	    !im->ctx->quiet)
		warn("'%s': left out %zu signature%s and %zu subkey%s that "
		    "gpg 2.2 cannot read", x->fpr, x->dropped_sigs,
		    x->dropped_sigs == 1 ? "" : "s", x->dropped_subkeys,
		    x->dropped_subkeys == 1 ? "" : "s");
	switch (x->result) {
	case KEYSET_REFUSED:
		reject(im, x->fpr, x->source, x->offset, x->why);
		return;
	case KEYSET_NEW:
		v = V_NEW;
		break;
	case KEYSET_CHANGED:
		v = V_UPDATED;
		im->t.sigs += x->merge.new_sigs;
		im->t.uids += x->merge.new_uids;
		im->t.subkeys += x->merge.new_subkeys;
		im->t.revocations += x->merge.new_revocations;
		break;
	default:
		v = V_UNCHANGED;
		break;
	}
	im->t.v[v]++;
	list_decision(im, x, v);
}

static void
print_summary(struct importer *im)
{
	const struct gpg_import_result *g = keyset_gpg_totals(im->ks);
	const char *home = keyset_path(im->ks);
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
struct store_import {
	struct keyset		*ks;
	struct ctx		*ctx;
	unsigned long		 n[KEYSET_UNCHANGED + 1];
	unsigned long		 rejected;
	unsigned long		 added[PGP_CHANGE_OTHER + 1];
};

static void *
store_ws_new(void *arg)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct keyset_prep *w;

	if (keyset_prep_new(&w, ((struct store_import *)arg)->ks, &err) != 0)
		die("%s", err.msg);
	return w;
}

static void
store_ws_done(void *ws, void *arg)
{
	(void)arg;
	keyset_prep_free(ws);
}

static int
store_prep_one(void *ws, const struct pgp_raw_cert *raw, const char *source,
    struct buf *out, struct pgps_err *err)
{
	return keyset_prepare(out, ws, raw->p, raw->len, source, raw->offset,
	    err);
}

/* Puts a batch of prepared certificates, in input order. */
static int
store_put_batch(const uint8_t *p, size_t len, void *arg)
{
	struct store_import *si = arg;

	while (len > 0) {
		struct pgps_err err = PGPS_ERR_INIT;
		size_t used;

		if (keyset_put_prepared(si->ks, p, len, &used, &err) != 0)
			return error("%s", err.msg);
		p += used;
		len -= used;
	}
	return 0;
}

static void
store_verdict(const struct keyset_verdict *v, void *arg)
{
	struct store_import *si = arg;

	if (v->result == KEYSET_REFUSED) {
		if (!si->ctx->quiet)
			warn("%s%s%s", v->fpr, v->fpr[0] != '\0' ? ": " : "",
			    v->why);
		si->rejected++;
		return;
	}
	if (v->secret_dropped > 0 && !si->ctx->quiet)
		warn("%s: %zu secret subkey%s dropped: secret key material "
		    "is never stored", v->fpr, v->secret_dropped,
		    v->secret_dropped == 1 ? "" : "s");
	si->n[v->result]++;
	for (size_t k = 0; k <= PGP_CHANGE_OTHER; k++)
		si->added[k] += v->added[k];
	if (si->ctx->verbose > 0 && v->result != KEYSET_UNCHANGED)
		info(si->ctx, "%s: %s", v->fpr,
		    v->result == KEYSET_NEW ? "new" : "updated");
}

static void
store_summary(const struct store_import *si,
    const struct keyset_commit_info *ci, bool dry_run, bool json)
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
		    json_string(keyset_path(si->ks)));
		json_object_set_new(root, "dry_run", json_boolean(dry_run));
		json_object_set_new(root, "new",
		    json_integer((json_int_t)si->n[KEYSET_NEW]));
		json_object_set_new(root, "updated",
		    json_integer((json_int_t)si->n[KEYSET_CHANGED]));
		json_object_set_new(root, "unchanged",
		    json_integer((json_int_t)si->n[KEYSET_UNCHANGED]));
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
	if (buf_addf(&line, "%lu new, %lu updated (", si->n[KEYSET_NEW],
	    si->n[KEYSET_CHANGED]) != 0)
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
	    si->n[KEYSET_UNCHANGED], si->rejected);
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
	struct keyset_commit_info ci;
	struct keyset_iter *it = NULL;
	struct par_spec spec;
	struct par_result res;
	struct progress pg;
	struct buf note = BUF_INIT;
	enum keyset_join_result join = KEYSET_JOIN_NONE;
	int rc = EXIT_ERROR;

	memset(&si, 0, sizeof(si));
	memset(&ci, 0, sizeof(ci));
	si.ctx = ctx;
	/* Locked before the input is read, so a busy store fails early. */
	if (keyset_open(&si.ks, to, KEYSET_WRITE | KEYSET_CREATE, lim,
	    &err) != 0) {
		error("%s", err.msg);
		goto cleanup;
	}
	keyset_on_verdict(si.ks, store_verdict, &si);
	/* A revision of the same store: join the histories, as git would. */
	if (nspecs == 1 && !dry_run) {
		if (keyset_join(si.ks, specs[0], &join, &err) != 0) {
			error("%s", err.msg);
			goto cleanup;
		}
		if (keyset_join_why(si.ks)[0] != '\0')
			warn("'%s': %s; merging certificate by certificate",
			    specs[0], keyset_join_why(si.ks));
		if (join == KEYSET_JOIN_FAST_FORWARD) {
			if (json)
				printf("{\n  \"commit\": \"%s\",\n  "
				    "\"fast_forward\": true\n}\n",
				    keyset_head(si.ks));
			else
				printf("fast-forward to '%s'; commit %.12s\n",
				    specs[0], keyset_head(si.ks));
			rc = EXIT_OK;
			goto cleanup;
		}
	}
	if (keyset_iter_open(&it, specs, nspecs, &err) != 0) {
		error("%s", err.msg);
		goto cleanup;
	}
	keyset_iter_keep_bare(it);
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
	if (!dry_run && keyset_commit(si.ks, (const char *)note.p, &ci,
	    &err) != 0) {
		error("%s", err.msg);
		goto cleanup;
	}
	store_summary(&si, &ci, dry_run, json);
	rc = si.rejected > 0 ? EXIT_PARTIAL : EXIT_OK;
 cleanup:
	buf_release(&note);
	keyset_iter_free(it);
	keyset_close(si.ks);
	return rc;
}

int
cmd_dump_import(int argc, char **argv, struct ctx *ctx)
{
	static const char *const stdin_spec[] = { "-" };
	struct pgps_err err = PGPS_ERR_INIT;
	struct importer im;
	struct opt_parser op;
	struct keyset_iter *it = NULL;
	struct keyset_spec to_spec;
	struct pgp_raw_cert raw;
	struct progress pg;
	struct buf home = BUF_INIT;
	const char *const *specs;
	const char *arg, *homedir = NULL, *to = NULL;
	size_t nspecs, pending, bytes;
	uint64_t ncerts = 0;
	bool json = ctx->json;
	int c, i, r, rc = EXIT_ERROR;

	memset(&im, 0, sizeof(im));
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
	if (i < argc) {
		specs = (const char *const *)&argv[i];
		nspecs = (size_t)(argc - i);
	} else {
		specs = stdin_spec;
		nspecs = 1;
	}
	if (to != NULL && (keyset_spec_parse(&to_spec, to, &err) != 0 ||
	    (to_spec.kind != KEYSET_STORE && to_spec.kind != KEYSET_GPG)))
		return usage_error(ctx, "--to: '%s' is not store:[DIR] "
		    "or gpg:[HOMEDIR]", to);
	if (to != NULL && to_spec.kind == KEYSET_STORE) {
		if (homedir != NULL)
			return usage_error(ctx, "--homedir is for a GnuPG "
			    "keyring, not --to '%s'", to);
		return import_to_store(to, specs, nspecs, &im.lim,
		    im.dry_run, json, ctx);
	}
	if (to != NULL && homedir != NULL)
		return usage_error(ctx, "--to and --homedir both name the "
		    "keyring");
	if (to == NULL && buf_addf(&home, "gpg:%s", homedir != NULL ?
	    homedir : "") != 0)
		die("out of memory");
	im.list = im.dry_run || ctx->verbose > 0;
	if (json) {
		im.jrejected = json_array();
		if (im.list)
			im.jcerts = json_array();
	}

	if (keyset_open(&im.ks, to != NULL ? to : (const char *)home.p,
	    KEYSET_WRITE | (im.dry_run ? KEYSET_DRY_RUN : 0), &im.lim,
	    &err) != 0) {
		error("%s", err.msg);
		goto cleanup;
	}
	keyset_on_verdict(im.ks, on_verdict, &im);
	keyset_set_origin(im.ks, "file");
	if (keyset_iter_open(&it, specs, nspecs, &err) != 0) {
		error("%s", err.msg);
		goto cleanup;
	}
	keyset_iter_keep_bare(it);
	progress_start(&pg, ctx, "importing", keyset_iter_total(it));
	for (;;) {
		pgps_err_clear(&err);
		r = keyset_iter_next(it, &raw, 0, &err);
		if (r < 0 && keyset_is_fatal(r)) {
			progress_end(&pg);
			error("%s", err.msg);
			/* What was read before the failure still goes in. */
			pgps_err_clear(&err);
			if (keyset_commit(im.ks, NULL, NULL, &err) == 0)
				print_summary(&im);
			else
				error("%s", err.msg);
			goto cleanup;
		}
		if (r < 0) {
			progress_end(&pg);
			reject(&im, NULL, keyset_iter_source(it), UINT64_MAX,
			    err.msg);
			continue;
		}
		if (r > 0) {
			if (keyset_put(im.ks, raw.p, raw.len,
			    keyset_iter_source(it), raw.offset, &err) != 0) {
				progress_end(&pg);
				error("%s", err.msg);
				goto cleanup;
			}
			ncerts++;
			progress_update(&pg, keyset_iter_done(it), ncerts);
		}
		pending = keyset_pending(im.ks, &bytes);
		if (r == 0 || pending >= BATCH_CERTS || bytes >= BATCH_BYTES) {
			if (im.list)
				progress_end(&pg);
			if (keyset_flush(im.ks, &err) != 0) {
				progress_end(&pg);
				error("%s", err.msg);
				goto cleanup;
			}
		}
		if (r == 0)
			break;
	}
	progress_end(&pg);
	if (keyset_commit(im.ks, NULL, NULL, &err) != 0) {
		error("%s", err.msg);
		goto cleanup;
	}
	print_summary(&im);
	rc = im.t.v[V_REJECTED] > 0 ? EXIT_PARTIAL : EXIT_OK;
 cleanup:
	buf_release(&home);
	keyset_iter_free(it);
	keyset_close(im.ks);
	json_decref(im.jrejected);
	json_decref(im.jcerts);
	return rc;
}
