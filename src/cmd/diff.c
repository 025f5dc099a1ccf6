/*
 * diff.c: "pgpsync diff": which certificates only one of two key sets
 * holds, and what changed in those both hold, packet by packet.
 *
 * The comparison is keyset/setdiff.h's, a keyserver on the right
 * included; the words for what one version has and the other lacks,
 * openpgp/diff.h's.  Here: options and output.
 */
#include "util/common.h"

#include "cmd/cmd.h"
#include "cmd/out.h"
#include "keyset/setdiff.h"
#include "openpgp/diff.h"
#include "openpgp/openpgp.h"
#include "util/digest.h"
#include "util/hex.h"
#include "util/mem.h"
#include "util/text.h"

enum {
	OPT_HASHES = OPT_LONG,
	OPT_JSON,
	OPT_STAT
};

const struct opt diff_opts[] = {
	{ OPT_HASHES, "hashes", NULL,
	    "list the SKS hashes that only one set has" },
	{ 'J', "jobs", "n", "use n threads (default: one per CPU)" },
	{ OPT_JSON, "json", NULL, "print JSON" },
	{ OPT_STAT, "stat", NULL, "print counts only" },
	{ 0, NULL, NULL, NULL }
};

/* The comparison and its result, as the printers see them. */
struct run {
	struct setdiff		 d;
	struct setdiff_result	 res;
};

static void
pair_init(struct setdiff_pair *p)
{
	if (setdiff_pair_init(p) != 0)
		die("out of memory");
}

/* Reads certificate i of side sd into p->abuf and p->a (side a's slot). */
static void
load_one(struct setdiff_pair *p, struct setdiff_side *sd, size_t i)
{
	struct pgps_err err = PGPS_ERR_INIT;

	if (setdiff_cert(sd, i, &p->abuf, &p->a, p->md5, &err) != 0)
		die("%s", err.msg);
}

/* Reads changed pair k and what each version lacks (counted in res). */
static void
pair_load(struct setdiff_pair *p, struct run *run, size_t k)
{
	struct pgps_err err = PGPS_ERR_INIT;

	if (setdiff_pair_load(p, &run->d, &run->res, k, &err) != 0)
		die("%s", err.msg);
}

/* The first user ID of b's version, else of a's, raw; false if none. */
static bool
pair_uid(const struct setdiff_pair *p, const uint8_t **uid, size_t *len)
{
	return (pgp_cert_first_uid(&p->b, uid, len) && *len > 0) ||
	    pgp_cert_first_uid(&p->a, uid, len);
}

/* Appends raw text (a user ID, a file name) to b for the terminal. */
static void
add_term(struct buf *b, const void *p, size_t len)
{
	if (text_term(b, p, len, 0) != 0)
		die("out of memory");
}

static void
key_text(char *out, size_t n, const struct setdiff_rec *r)
{
	char hex[2 * PGP_FPR_MAX + 1];

	if (r->key[0] == INDEX_KEY_BARE) {
		hex_encode_upper(hex, r->hash, 16);
		snprintf(out, n, "(revocation without key, hash %s)", hex);
	} else {
		hex_encode_upper(hex, r->key + 1, r->key[0]);
		snprintf(out, n, "%s", hex);
	}
}

static json_t *
change_json(const struct pgp_cert *c, const struct pgp_change *ch)
{
	struct pgp_change_desc d;
	json_t *o = json_object();
	char tmp[16], date[32];

	pgp_change_describe(&d, c, ch);
	json_object_set_new(o, "kind",
	    json_string(pgp_change_kind_name(ch->kind)));
	if (d.kind == PGP_CHANGE_UID)
		json_object_set_new(o, "user_id", out_json_text(d.uid,
		    d.uidlen));
	else if (d.kind == PGP_CHANGE_UAT)
		json_object_set_new(o, "bytes",
		    json_integer((json_int_t)d.uat_bytes));
	else if (d.kind == PGP_CHANGE_SUBKEY) {
		if (d.has_key) {
			pgp_date_text(date, d.key_created, true);
			json_object_set_new(o, "fingerprint",
			    json_string(d.subkey));
			json_object_set_new(o, "algorithm",
			    json_string(pgp_algo_name(d.key_algo, tmp)));
			json_object_set_new(o, "created", json_string(date));
		}
	} else if (!d.is_sig)
		json_object_set_new(o, "packet",
		    json_string(pgp_tag_name(d.tag, tmp)));
	if (!d.is_sig)
		return o;
	snprintf(tmp, sizeof(tmp), "0x%02x", d.sig_type);
	json_object_set_new(o, "sig_type", json_string(tmp));
	json_object_set_new(o, "on", json_string(pgp_change_on_name(d.on)));
	if (d.on == PGP_ON_UID)
		json_object_set_new(o, "user_id", out_json_text(d.uid,
		    d.uidlen));
	if (d.on == PGP_ON_SUBKEY)
		json_object_set_new(o, "subkey", json_string(d.subkey));
	if (d.issuer[0] != '\0')
		json_object_set_new(o, "issuer", json_string(d.issuer));
	json_object_set_new(o, "self", json_boolean(d.self));
	if (d.has_created) {
		pgp_date_text(date, d.created, true);
		json_object_set_new(o, "created", json_string(date));
	}
	if (d.kind == PGP_CHANGE_EXPIRY) {
		pgp_date_text(date, d.key_expires, true);
		json_object_set_new(o, "key_expires", d.key_expires != 0 ?
		    json_string(date) : json_null());
	}
	if (d.has_reason)
		json_object_set_new(o, "reason", json_integer(d.reason));
	return o;
}

static const char *const kind_words[][2] = {
	[PGP_CHANGE_UID] = { "user ID", "user IDs" },
	[PGP_CHANGE_UAT] = { "user attribute", "user attributes" },
	[PGP_CHANGE_SUBKEY] = { "subkey", "subkeys" },
	[PGP_CHANGE_SELF_SIG] = { "self-signature", "self-signatures" },
	[PGP_CHANGE_EXPIRY] = { "expiry change", "expiry changes" },
	[PGP_CHANGE_CERTIFICATION] = { "certification", "certifications" },
	[PGP_CHANGE_REVOCATION] = { "revocation", "revocations" },
	[PGP_CHANGE_OTHER] = { "other packet", "other packets" }
};

static void
print_kinds(const char *label, const uint64_t *n)
{
	const char *sep = "";

	printf("%-19s", label);
	for (size_t k = 0; k <= PGP_CHANGE_OTHER; k++) {
		if (n[k] == 0)
			continue;
		printf("%s%llu %s", sep, (unsigned long long)n[k],
		    kind_words[k][n[k] != 1]);
		sep = ", ";
	}
	printf("%s\n", *sep == '\0' ? "none" : "");
}

static json_t *
kinds_json(const uint64_t *n)
{
	json_t *o = json_object();

	for (size_t k = 0; k <= PGP_CHANGE_OTHER; k++)
		json_object_set_new(o, pgp_change_kind_name(k),
		    json_integer((json_int_t)n[k]));
	return o;
}

static json_t *
counts_json(const struct run *run)
{
	const struct setdiff_side *a = &run->d.a, *b = &run->d.b;
	const struct setdiff_result *res = &run->res;
	const struct {
		const char	*name;
		uint64_t	 n;
	} v[] = {
		{ "a", a->n }, { "b", b->n }, { "only_in_a", res->nonly_a },
		{ "only_in_b", res->nonly_b }, { "changed", res->nchanged },
		{ "unchanged", res->same },
		{ "skipped", a->skipped + b->skipped }
	};
	json_t *o = json_object();

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		json_object_set_new(o, v[i].name,
		    json_integer((json_int_t)v[i].n));
	json_object_set_new(o, "packets_added", kinds_json(run->res.added));
	json_object_set_new(o, "packets_removed",
	    kinds_json(run->res.removed));
	return o;
}

/* --- output ----------------------------------------------------------- */

/* --hashes: every SKS hash one set has and the other lacks. */
static void
print_hashes(struct run *run, bool json)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct setdiff_hash *v;
	size_t n;
	char hex[33];

	if (setdiff_hashes(&v, &n, &run->d, &run->res, &err) != 0)
		die("%s", err.msg);
	if (json) {
		/* One array per side, each sorted. */
		for (int side = 0; side < 2; side++) {
			const char sign = side == 0 ? '-' : '+';
			const char *sep = "";

			printf("%s  \"only_in_%c\": [", side == 0 ? "{\n" :
			    ",\n", side == 0 ? 'a' : 'b');
			for (size_t i = 0; i < n; i++) {
				if (v[i].sign != sign)
					continue;
				hex_encode_upper(hex, v[i].hash, 16);
				printf("%s\n    \"%s\"", sep, hex);
				sep = ",";
			}
			printf("%s]", *sep == '\0' ? "" : "\n  ");
		}
		printf("\n}\n");
	} else
		for (size_t i = 0; i < n; i++) {
			hex_encode_upper(hex, v[i].hash, 16);
			printf("%c %s\n", v[i].sign, hex);
		}
	free(v);
}

static void
print_stat(struct run *run, bool json)
{
	const struct setdiff_result *res = &run->res;
	struct setdiff_pair p;

	pair_init(&p);
	for (size_t i = 0; i < res->nchanged; i++)
		pair_load(&p, run, i);
	setdiff_pair_release(&p);
	if (json) {
		json_t *o = counts_json(run);

		json_dumpf(o, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
		fputc('\n', stdout);
		json_decref(o);
		return;
	}
	printf("%-19s%zu\n", "certificates in a", run->d.a.n);
	printf("%-19s%zu\n", "certificates in b", run->d.b.n);
	printf("%-19s%zu\n", "only in a", res->nonly_a);
	printf("%-19s%zu\n", "only in b", res->nonly_b);
	printf("%-19s%zu\n", "changed", res->nchanged);
	printf("%-19s%zu\n", "unchanged", res->same);
	print_kinds("packets added", run->res.added);
	print_kinds("packets removed", run->res.removed);
}

/* Prints one array element of the streamed JSON document. */
static void
json_elem(json_t *o, const char **sep)
{
	char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);

	if (s == NULL)
		die("out of memory");
	printf("%s\n    %s", *sep, s);
	*sep = ",";
	free(s);
	json_decref(o);
}

static json_t *
only_json(struct setdiff_side *sd, size_t i, bool verbose,
    struct setdiff_pair *p)
{
	struct pgps_err err = PGPS_ERR_INIT;
	const struct setdiff_rec *r = &sd->v[i];
	json_t *o = json_object();
	char hex[2 * PGP_FPR_MAX + 1];
	bool uid = verbose && r->key[0] != INDEX_KEY_BARE;
	const uint8_t *u;
	size_t ulen;

	/* One reading gives both the SKS hash and the user ID. */
	if (uid)
		load_one(p, sd, i);
	else if (setdiff_need_sks(sd, i, &err) != 0)
		die("%s", err.msg);
	hex_encode_upper(hex, r->hash, 16);
	json_object_set_new(o, "hash", json_string(hex));
	if (r->key[0] == INDEX_KEY_BARE)
		json_object_set_new(o, "fingerprint", json_null());
	else {
		hex_encode_upper(hex, r->key + 1, r->key[0]);
		json_object_set_new(o, "fingerprint", json_string(hex));
	}
	if (uid) {
		if (!pgp_cert_first_uid(&p->a, &u, &ulen))
			u = (const uint8_t *)"";
		json_object_set_new(o, "user_id", out_json_text(u, ulen));
	}
	return o;
}

/*
 * The whole difference as one JSON document, streamed: the arrays are
 * written an element (one line) at a time.
 */
static void
print_json(struct run *run, bool verbose)
{
	struct setdiff_side *a = &run->d.a, *b = &run->d.b;
	const struct setdiff_result *res = &run->res;
	struct setdiff_pair p;
	char hex[2 * PGP_FPR_MAX + 1];
	const uint8_t *u;
	size_t ulen;
	const char *sep;
	json_t *o;
	char *s;

	pair_init(&p);
	printf("{\n  \"a\": ");
	out_json_print_str(a->spec);
	printf(",\n  \"b\": ");
	out_json_print_str(b->spec);
	printf(",\n  \"only_in_a\": [");
	sep = "";
	for (size_t i = 0; i < res->nonly_a; i++)
		json_elem(only_json(a, res->only_a[i], verbose, &p), &sep);
	printf("%s],\n  \"only_in_b\": [", *sep == '\0' ? "" : "\n  ");
	sep = "";
	for (size_t i = 0; i < res->nonly_b; i++)
		json_elem(only_json(b, res->only_b[i], verbose, &p), &sep);
	printf("%s],\n  \"changed\": [", *sep == '\0' ? "" : "\n  ");
	sep = "";
	for (size_t i = 0; i < res->nchanged; i++) {
		const struct setdiff_rec *ra = &a->v[res->changed[i][0]];
		const struct setdiff_rec *rb = &b->v[res->changed[i][1]];
		json_t *add = json_array(), *del = json_array();

		pair_load(&p, run, i);
		o = json_object();
		hex_encode_upper(hex, ra->key + 1, ra->key[0]);
		json_object_set_new(o, "fingerprint", json_string(hex));
		hex_encode_upper(hex, ra->hash, 16);
		json_object_set_new(o, "hash_a", json_string(hex));
		hex_encode_upper(hex, rb->hash, 16);
		json_object_set_new(o, "hash_b", json_string(hex));
		json_object_set_new(o, "user_id", pair_uid(&p, &u, &ulen) &&
		    ulen > 0 ? out_json_text(u, ulen) : json_null());
		for (size_t k = 0; k < p.nadd; k++)
			json_array_append_new(add, change_json(&p.b,
			    &p.add[k]));
		for (size_t k = 0; k < p.ndel; k++)
			json_array_append_new(del, change_json(&p.a,
			    &p.del[k]));
		json_object_set_new(o, "added", add);
		json_object_set_new(o, "removed", del);
		json_elem(o, &sep);
	}
	printf("%s],\n  \"counts\": ", *sep == '\0' ? "" : "\n  ");
	o = counts_json(run);
	s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	printf("%s\n}\n", s != NULL ? s : "null");
	free(s);
	json_decref(o);
	setdiff_pair_release(&p);
}

static void
print_only(char sign, struct setdiff_side *sd, size_t i, bool verbose,
    struct setdiff_pair *p)
{
	const struct setdiff_rec *r = &sd->v[i];
	struct buf line = BUF_INIT;
	char key[128];
	const uint8_t *u;
	size_t ulen;

	key_text(key, sizeof(key), r);
	printf("%c %s", sign, key);
	if (verbose && r->key[0] != INDEX_KEY_BARE) {
		load_one(p, sd, i);
		if (pgp_cert_first_uid(&p->a, &u, &ulen) && ulen > 0) {
			buf_init(&line, 0);
			add_term(&line, u, ulen);
			printf(" %s", (const char *)line.p);
			buf_release(&line);
		}
	}
	printf("\n");
}

/* Prints the changes chs[0..n) of c, one a line, with sign. */
static void
print_changes(char sign, const struct pgp_cert *c,
    const struct pgp_change *chs, size_t n, struct buf *line)
{
	for (size_t k = 0; k < n; k++) {
		buf_reset(line);
		if (pgp_change_text(line, c, &chs[k]) != 0)
			die("out of memory");
		printf("    %c %s\n", sign, (const char *)line->p);
	}
}

/*
 * The human form, in diff(1)'s spirit: "-" for a certificate only in a,
 * "+" only in b, "~" changed, followed by its packets that b adds ("+")
 * and a has but b lacks ("-"), indented.
 */
static void
print_text(struct run *run, bool verbose)
{
	struct setdiff_side *a = &run->d.a, *b = &run->d.b;
	const struct setdiff_result *res = &run->res;
	struct setdiff_pair p;
	struct buf line = BUF_INIT;
	char key[128];
	const uint8_t *u;
	size_t ulen;

	if (res->nonly_a + res->nonly_b + res->nchanged == 0)
		return;
	pair_init(&p);
	buf_init(&line, 0);
	add_term(&line, a->spec, strlen(a->spec));
	printf("--- %s\n+++ ", (const char *)line.p);
	buf_reset(&line);
	add_term(&line, b->spec, strlen(b->spec));
	printf("%s\n", (const char *)line.p);
	for (size_t i = 0; i < res->nonly_a; i++)
		print_only('-', a, res->only_a[i], verbose, &p);
	for (size_t i = 0; i < res->nonly_b; i++)
		print_only('+', b, res->only_b[i], verbose, &p);
	for (size_t i = 0; i < res->nchanged; i++) {
		pair_load(&p, run, i);
		key_text(key, sizeof(key), &a->v[res->changed[i][0]]);
		buf_reset(&line);
		if (pair_uid(&p, &u, &ulen))
			add_term(&line, u, ulen);
		printf("~ %s%s%s\n", key, line.len > 0 ? " " : "",
		    (const char *)line.p);
		print_changes('+', &p.b, p.add, p.nadd, &line);
		print_changes('-', &p.a, p.del, p.ndel, &line);
	}
	buf_release(&line);
	setdiff_pair_release(&p);
}

/* --- reading ---------------------------------------------------------- */

struct progress_arg {
	struct ctx		*ctx;
	struct progress		 prog;
	bool			 on;
};

static void
diff_warn(const char *msg, void *arg)
{
	struct progress_arg *pa = arg;

	if (!pa->ctx->quiet)
		warn("%s", msg);
}

static void
diff_reading(const char *spec, uint64_t total, void *arg)
{
	struct progress_arg *pa = arg;

	if (pa->on)
		progress_end(&pa->prog);
	pa->on = spec != NULL;
	if (pa->on)
		progress_start(&pa->prog, pa->ctx, "reading", total);
}

static void
diff_progress(uint64_t done, uint64_t certs, void *arg)
{
	struct progress_arg *pa = arg;

	if (pa->on)
		progress_update(&pa->prog, done, certs);
}

int
cmd_diff(int argc, char **argv, struct ctx *ctx)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct opt_parser op;
	struct progress_arg pa;
	struct setdiff_cb cb;
	struct run run;
	const char *arg;
	bool hashes = false, stat = false;
	int c, i, jobs = 0, rc;
	uint64_t skipped;

	opt_init(&op, argc, argv, ctx);
	while ((c = opt_next(&op, &arg)) != -1) {
		switch (c) {
		case OPT_HASHES:
			hashes = true;
			break;
		case 'J':
			jobs = jobs_opt(ctx, arg);
			break;
		case OPT_JSON:
			ctx->json = true;
			break;
		case OPT_STAT:
			stat = true;
			break;
		}
	}
	i = opt_operands(&op);
	opt_release(&op);
	if (argc - i != 2)
		return usage_error(ctx, "two key sets are needed, not %d",
		    argc - i);
	if (hashes && stat)
		return usage_error(ctx, "--hashes and --stat exclude each "
		    "other");
	if (strcmp(argv[i], "-") == 0 && strcmp(argv[i + 1], "-") == 0)
		return usage_error(ctx, "standard input can be only one of "
		    "the sets");
	memset(&pa, 0, sizeof(pa));
	memset(&cb, 0, sizeof(cb));
	memset(&run, 0, sizeof(run));
	pa.ctx = ctx;
	cb.warn = diff_warn;
	cb.reading = diff_reading;
	cb.progress = diff_progress;
	/* Not with a progress meter, which follows one reader. */
	cb.at_once = !ctx->progress;
	cb.arg = &pa;
	setdiff_init(&run.d, argv[i], argv[i + 1], &cb);
	if (setdiff_read(&run.d, jobs, &err) != 0 ||
	    setdiff_join(&run.res, &run.d, &err) != 0) {
		error("%s", err.msg);
		rc = EXIT_ERROR;
		goto cleanup;
	}
	if (hashes)
		print_hashes(&run, ctx->json);
	else if (stat)
		print_stat(&run, ctx->json);
	else if (ctx->json)
		print_json(&run, ctx->verbose > 0);
	else
		print_text(&run, ctx->verbose > 0);
	skipped = run.d.a.skipped + run.d.b.skipped;
	if (skipped > 0) {
		if (!ctx->quiet)
			warn("%llu certificate%s or damaged region%s skipped; "
			    "the comparison leaves them out",
			    (unsigned long long)skipped, skipped == 1 ? "" :
			    "s", skipped == 1 ? "" : "s");
		rc = EXIT_PARTIAL;
	} else
		rc = run.res.nonly_a + run.res.nonly_b + run.res.nchanged >
		    0 ? EXIT_DIFFER : EXIT_OK;
 cleanup:
	setdiff_result_release(&run.res);
	setdiff_release(&run.d);
	return rc;
}
