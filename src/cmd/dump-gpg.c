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

#include "cmd/cmd.h"
#include "cmd/out.h"
#include "keyset/gpg.h"
#include "keyset/keyset.h"
#include "keyset/par.h"
#include "openpgp/keyid.h"
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

/* --- export ----------------------------------------------------------- */

int
cmd_dump_export(int argc, char **argv, struct ctx *ctx)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct opt_parser op;
	struct atomic_file af;
	struct gpg_keyring *kr = NULL;
	size_t nkeys = 0, n = 0, missing = 0;
	char (*fprs)[GPG_FPR_HEX] = NULL, (*keys)[GPG_FPR_HEX] = NULL;
	char what[PGP_KEYID_DESCRIBE_MAX];
	const char **pats = NULL;
	const char *arg, *homedir = NULL, *output = "-";
	unsigned int flags = 0;
	bool *absent = NULL, opened = false;
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
	fprs = xreallocarray(NULL, n + 1, sizeof(*fprs));
	pats = xreallocarray(NULL, n + 1, sizeof(*pats));
	absent = xcalloc(n + 1, sizeof(*absent));
	for (size_t k = 0; k < n; k++) {
		const char *a = argv[i + (int)k];
		struct pgp_keyid id;

		if (pgp_keyid_parse(&id, a, strlen(a), PGP_KEYID_FPR) != 0) {
			rc = usage_error(ctx, "'%s' is not %s", a,
			    pgp_keyid_describe(what, PGP_KEYID_FPR));
			goto cleanup;
		}
		pgp_keyid_hex(fprs[k], &id);
		pats[k] = fprs[k];
	}
	if (gpg_keyring_open(&kr, homedir, &err) != 0) {
		error("%s", err.msg);
		goto cleanup;
	}
	if (n > 0) {
		/* Every key named must be there: a typo is an error. */
		if (gpg_keyring_named(&keys, &nkeys, absent, kr, pats, n,
		    &err) != 0) {
			error("%s", err.msg);
			goto cleanup;
		}
		for (size_t k = 0; k < n; k++)
			if (absent[k]) {
				error("'%s': not in the keyring '%s'", fprs[k],
				    gpg_keyring_home(kr));
				missing++;
			}
		if (missing > 0)
			goto cleanup;
		pats = xreallocarray(pats, nkeys + 1, sizeof(*pats));
		for (size_t j = 0; j < nkeys; j++)
			pats[j] = keys[j];
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
	gpg_keyring_free(kr);
	free(keys);
	free(absent);
	free(pats);
	free(fprs);
	return rc;
}

/* --- import ----------------------------------------------------------- */

/*
 * Into a GnuPG keyring the input goes in batches, one gpg run each
 * (keyset_put_all()); into a store ("--to store:[DIR]") the certificates
 * are prepared (parsed, the limits applied, hashed and packed as git
 * objects) on every CPU, put in input order, and committed as one
 * commit, so an import is all or nothing.
 */
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
 * one certificate after another.  What updates added to a keyring is
 * counted from the packet comparison, in a dry run and a real one alike:
 * gpg's own counters miss what arrives with a key that is new in the same
 * run and count revocations as plain signatures (they are under "gpg" in
 * JSON).
 */
struct importer {
	struct ctx		*ctx;
	struct keyset		*ks;
	struct keyset_iter	*it;		/* the input */
	bool			 store;
	bool			 dry_run;
	bool			 json;
	bool			 list;		/* print every decision */
	struct progress		 pg;
	unsigned long		 v[V_REJECTED + 1];
	unsigned long		 sigs, uids, subkeys, revocations;
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

	im->v[V_REJECTED]++;
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
		json_object_set_new(o, "fingerprint", out_json_str(fpr));
	json_object_set_new(o, "source", out_json_str(source));
	if (offset != UINT64_MAX)
		json_object_set_new(o, "offset",
		    json_integer((json_int_t)offset));
	json_object_set_new(o, "reason", out_json_str(why));
	json_array_append_new(im->jrejected, o);
}

/* A damaged region of the input (keyset_put_all()'s warning). */
static void
on_damage(const char *msg, void *arg)
{
	struct importer *im = arg;

	progress_end(&im->pg);
	if (!im->store)
		reject(im, NULL, keyset_iter_source(im->it), UINT64_MAX, msg);
	else if (!im->ctx->quiet)
		warn("%s", msg);	/* counted from the result */
}

static void
on_progress(uint64_t done, uint64_t certs, void *arg)
{
	progress_update(&((struct importer *)arg)->pg, done, certs);
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
		json_object_set_new(o, "fingerprint", out_json_str(x->fpr));
		json_object_set_new(o, "source", out_json_str(x->source));
		json_object_set_new(o, "offset",
		    json_integer((json_int_t)x->offset));
		json_object_set_new(o, "result",
		    json_string(verdict_name[v]));
		json_array_append_new(im->jcerts, o);
		return;
	}
	progress_end(&im->pg);
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

/* What became of one certificate put into a GnuPG keyring. */
static void
gpg_verdict(const struct keyset_verdict *x, void *arg)
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
		im->sigs += x->merge.new_sigs;
		im->uids += x->merge.new_uids;
		im->subkeys += x->merge.new_subkeys;
		im->revocations += x->merge.new_revocations;
		break;
	default:
		v = V_UNCHANGED;
		break;
	}
	im->v[v]++;
	list_decision(im, x, v);
}

/* What became of one certificate put into a store. */
static void
store_verdict(const struct keyset_verdict *x, void *arg)
{
	struct importer *im = arg;
	const uint32_t *a = x->added;

	if (x->result == KEYSET_REFUSED) {
		if (!im->ctx->quiet)
			warn("%s%s%s", x->fpr, x->fpr[0] != '\0' ? ": " : "",
			    x->why);
		im->v[V_REJECTED]++;
		return;
	}
	if (x->secret_dropped > 0 && !im->ctx->quiet)
		warn("%s: %zu secret subkey%s dropped: secret key material "
		    "is never stored", x->fpr, x->secret_dropped,
		    x->secret_dropped == 1 ? "" : "s");
	im->v[x->result == KEYSET_NEW ? V_NEW : x->result == KEYSET_CHANGED ?
	    V_UPDATED : V_UNCHANGED]++;
	im->sigs += a[PGP_CHANGE_SELF_SIG] + a[PGP_CHANGE_EXPIRY] +
	    a[PGP_CHANGE_CERTIFICATION] + a[PGP_CHANGE_OTHER];
	im->uids += a[PGP_CHANGE_UID] + a[PGP_CHANGE_UAT];
	im->subkeys += a[PGP_CHANGE_SUBKEY];
	im->revocations += a[PGP_CHANGE_REVOCATION];
	if (im->ctx->verbose > 0 && x->result != KEYSET_UNCHANGED)
		info(im->ctx, "%s: %s", x->fpr,
		    x->result == KEYSET_NEW ? "new" : "updated");
}

static void
summary_json(struct importer *im, const struct keyset_commit_info *ci)
{
	const struct gpg_import_result *g = keyset_gpg_totals(im->ks);
	const struct out_count c[] = {
		{ "new", im->v[V_NEW] }, { "updated", im->v[V_UPDATED] },
		{ "unchanged", im->v[V_UNCHANGED] },
		{ "rejected", im->v[V_REJECTED] },
		{ "new_signatures", im->sigs }, { "new_user_ids", im->uids },
		{ "new_subkeys", im->subkeys },
		{ "revocations", im->revocations }
	};
	json_t *root = json_object(), *jg;

	out_json_counts(root, c, PGPS_ARRAY_SIZE(c));
	json_object_set_new(root, im->store ? "store" : "homedir",
	    out_json_str(keyset_path(im->ks)));
	json_object_set_new(root, "dry_run", json_boolean(im->dry_run));
	if (im->store)
		json_object_set_new(root, "commit", ci->committed ?
		    json_string(ci->commit) : json_null());
	if (g != NULL) {
		/* gpg's own counts. */
		const struct out_count gc[] = {
			{ "runs", g->gpg_runs }, { "considered", g->considered },
			{ "imported", g->imported },
			{ "unchanged", g->unchanged },
			{ "new_user_ids", g->new_user_ids },
			{ "new_subkeys", g->new_sub_keys },
			{ "new_signatures", g->new_signatures },
			{ "new_revocations", g->new_revocations },
			{ "not_imported", g->not_imported },
			{ "no_user_id", g->no_user_id },
			{ "skipped_v3_keys", g->skipped_v3_keys },
			{ "secret_read", g->secret_read },
			{ "secret_imported", g->secret_imported },
			{ "secret_unchanged", g->secret_unchanged }
		};

		jg = json_object();
		out_json_counts(jg, gc, PGPS_ARRAY_SIZE(gc));
		json_object_set_new(root, "gpg", jg);
	}
	if (im->jrejected != NULL)
		json_object_set_new(root, "rejected_certificates",
		    json_incref(im->jrejected));
	if (im->jcerts != NULL)
		json_object_set_new(root, "certificates",
		    json_incref(im->jcerts));
	out_json_print(stdout, root);
}

static void
summary(struct importer *im, const struct keyset_commit_info *ci)
{
	struct buf line = BUF_INIT;

	if (im->json) {
		summary_json(im, ci);
		return;
	}
	if (buf_addf(&line, "%lu new, %lu updated (", im->v[V_NEW],
	    im->v[V_UPDATED]) != 0)
		die("out of memory");
	plural(&line, im->sigs, "new signature", "new signatures");
	buf_addstr(&line, ", ");
	plural(&line, im->uids, "new user ID", "new user IDs");
	buf_addstr(&line, ", ");
	plural(&line, im->subkeys, "new subkey", "new subkeys");
	buf_addstr(&line, ", ");
	plural(&line, im->revocations, "revocation", "revocations");
	buf_addf(&line, "), %lu unchanged, %lu rejected",
	    im->v[V_UNCHANGED], im->v[V_REJECTED]);
	if (im->dry_run)
		buf_addstr(&line, " (dry run: nothing imported)");
	else if (im->store && ci->committed)
		buf_addf(&line, "; commit %.12s", ci->commit);
	printf("%s\n", (const char *)line.p);
	buf_release(&line);
}

/*
 * A store revision into the same store: joins the histories as git
 * would.  1 when that was all (a fast-forward, said), 0 to go on putting,
 * -1 after an error.
 */
static int
join(struct importer *im, const char *spec)
{
	struct pgps_err err = PGPS_ERR_INIT;
	enum keyset_join_result j = KEYSET_JOIN_NONE;

	if (keyset_join(im->ks, spec, &j, &err) != 0)
		return error("%s", err.msg);
	if (keyset_join_why(im->ks)[0] != '\0')
		warn("'%s': %s; merging certificate by certificate", spec,
		    keyset_join_why(im->ks));
	if (j != KEYSET_JOIN_FAST_FORWARD)
		return 0;
	if (im->json)
		printf("{\n  \"commit\": \"%s\",\n  \"fast_forward\": true\n}\n",
		    keyset_head(im->ks));
	else
		printf("fast-forward to '%s'; commit %.12s\n", spec,
		    keyset_head(im->ks));
	return 1;
}

/* Imports specs[0..n) into the set to (opened by the caller). */
static int
import(struct importer *im, const char *const *specs, size_t n)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct keyset_put_spec spec = KEYSET_PUT_SPEC_INIT;
	struct keyset_commit_info ci;
	struct keyset_par_result res;
	struct buf note = BUF_INIT;
	bool read_failed = false;
	int r, rc = EXIT_ERROR;

	memset(&ci, 0, sizeof(ci));
	keyset_on_verdict(im->ks, im->store ? store_verdict : gpg_verdict, im);
	if (!im->store)
		keyset_set_origin(im->ks, "file");
	if (im->store && n == 1 && !im->dry_run &&
	    (r = join(im, specs[0])) != 0)
		return r > 0 ? EXIT_OK : EXIT_ERROR;
	if (keyset_iter_open(&im->it, specs, n, &err) != 0) {
		error("%s", err.msg);
		goto cleanup;
	}
	spec.warn = on_damage;
	spec.progress = on_progress;
	spec.arg = im;
	progress_start(&im->pg, im->ctx, "importing",
	    keyset_iter_total(im->it));
	r = keyset_put_all(im->ks, im->it, &spec, &res, &read_failed, &err);
	progress_end(&im->pg);
	if (im->store)
		im->v[V_REJECTED] += res.skipped;
	if (r != 0) {
		error("%s", err.msg);
		/* Into a keyring, what was read before still goes in. */
		pgps_err_clear(&err);
		if (!im->store && read_failed &&
		    keyset_commit(im->ks, NULL, &ci, &err) == 0)
			summary(im, &ci);
		else if (!im->store && read_failed)
			error("%s", err.msg);
		goto cleanup;
	}
	buf_addstr(&note, "pgpsync dump import");
	for (size_t k = 0; k < n; k++)
		buf_addf(&note, " %s", specs[k]);
	if (!(im->store && im->dry_run) && keyset_commit(im->ks,
	    im->store ? (const char *)note.p : NULL, &ci, &err) != 0) {
		error("%s", err.msg);
		goto cleanup;
	}
	summary(im, &ci);
	rc = im->v[V_REJECTED] > 0 ? EXIT_PARTIAL : EXIT_OK;
 cleanup:
	buf_release(&note);
	keyset_iter_free(im->it);
	return rc;
}

int
cmd_dump_import(int argc, char **argv, struct ctx *ctx)
{
	static const char *const stdin_spec[] = { "-" };
	struct pgps_err err = PGPS_ERR_INIT;
	struct importer im;
	struct opt_parser op;
	struct keyset_spec to_spec;
	struct pgp_limits lim;
	struct buf home = BUF_INIT;
	const char *const *specs = stdin_spec;
	const char *arg, *homedir = NULL, *to = NULL;
	size_t nspecs = 1;
	unsigned int flags = KEYSET_WRITE;
	int c, i, rc = EXIT_ERROR;

	memset(&im, 0, sizeof(im));
	im.ctx = ctx;
	im.json = ctx->json;
	pgp_limits_default(&lim);
	opt_init(&op, argc, argv, ctx);
	while ((c = opt_next(&op, &arg)) != -1) {
		if (limit_opt(ctx, &lim, c, arg))
			continue;
		switch (c) {
		case OPT_DRY_RUN:
			im.dry_run = true;
			break;
		case OPT_HOMEDIR:
			homedir = arg;
			break;
		case OPT_JSON:
			im.json = true;
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
	}
	if (to != NULL && (keyset_spec_parse(&to_spec, to, &err) != 0 ||
	    (to_spec.kind != KEYSET_STORE && to_spec.kind != KEYSET_GPG)))
		return usage_error(ctx, "--to: '%s' is not store:[DIR] "
		    "or gpg:[HOMEDIR]", to);
	im.store = to != NULL && to_spec.kind == KEYSET_STORE;
	if (im.store && homedir != NULL)
		return usage_error(ctx, "--homedir is for a GnuPG keyring, "
		    "not --to '%s'", to);
	if (!im.store && to != NULL && homedir != NULL)
		return usage_error(ctx, "--to and --homedir both name the "
		    "keyring");
	if (to == NULL && buf_addf(&home, "gpg:%s", homedir != NULL ?
	    homedir : "") != 0)
		die("out of memory");
	if (im.store) {
		/* Locked before the input is read: a busy store fails early. */
		flags |= KEYSET_CREATE;
	} else {
		flags |= im.dry_run ? KEYSET_DRY_RUN : 0;
		im.list = im.dry_run || ctx->verbose > 0;
		if (im.json)
			im.jrejected = json_array();
		if (im.json && im.list)
			im.jcerts = json_array();
	}
	if (keyset_open(&im.ks, to != NULL ? to : (const char *)home.p, flags,
	    &lim, &err) != 0)
		error("%s", err.msg);
	else
		rc = import(&im, specs, nspecs);
	buf_release(&home);
	keyset_close(im.ks);
	json_decref(im.jrejected);
	json_decref(im.jcerts);
	return rc;
}
