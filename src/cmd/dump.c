/*
 * dump.c: "pgpsync dump": keydumps read, inspected, split, filtered and
 * merged.  (export and import, which talk to GnuPG, are in dump-gpg.c.)
 *
 * Every verb streams: memory is bounded by the largest certificate and the
 * batches in flight, never by the size of the dump, except merge, which
 * keeps a small index entry per certificate (and spills the certificates
 * themselves to a temporary file) because versions of one key may be
 * anywhere in its inputs.  hashes and stats use every CPU.
 *
 * Damaged input is reported with its file and offset and skipped; the
 * verb then finishes and exits 3 so scripts notice.
 */
#include "util/common.h"

#include <sys/stat.h>
#include <errno.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "cmd/out.h"
#include "keyset/dump.h"
#include "keyset/filter.h"
#include "keyset/index.h"
#include "keyset/keyset.h"
#include "keyset/merge.h"
#include "keyset/par.h"
#include "keyset/stats.h"
#include "openpgp/keyid.h"
#include "openpgp/openpgp.h"
#include "util/hex.h"

enum {
	OPT_JSON = OPT_LONG,
	OPT_PREFIX,
	OPT_TOP,
	OPT_FINGERPRINTS,
	OPT_EXCLUDE,
	OPT_ARMOR,
	OPT_MAX_CERT_READ
};

#define JOBS_OPT	{ 'J', "jobs", "n", "use n threads (default: one per CPU)" }
#define JSON_OPT	{ OPT_JSON, "json", NULL, "print JSON" }

const struct opt dump_hashes_opts[] = {
	JOBS_OPT,
	JSON_OPT,
	{ 0, NULL, NULL, NULL }
};

const struct opt dump_stats_opts[] = {
	JOBS_OPT,
	JSON_OPT,
	{ OPT_TOP, "top", "n", "list the n largest certificates (default 10)" },
	{ 0, NULL, NULL, NULL }
};

const struct opt dump_split_opts[] = {
	{ 'n', "keys", "n", "certificates per file (default 15000)" },
	{ 'o', "output", "dir", "directory to write the files to" },
	{ OPT_PREFIX, "prefix", "name", "file name prefix (default sks-dump)" },
	{ 0, NULL, NULL, NULL }
};

const struct opt dump_merge_opts[] = {
	{ OPT_ARMOR, "armor", NULL, "write ASCII armor" },
	JSON_OPT,
	{ 'o', "output", "file", "write to file instead of standard output" },
	LIMIT_OPTS,
	{ 0, NULL, NULL, NULL }
};

const struct opt dump_filter_opts[] = {
	{ OPT_ARMOR, "armor", NULL, "write ASCII armor" },
	{ OPT_EXCLUDE, "exclude", "file",
	    "drop the certificates whose fingerprints file lists" },
	{ OPT_FINGERPRINTS, "fingerprints", "file",
	    "keep only the certificates whose fingerprints file lists" },
	JSON_OPT,
	{ 'o', "output", "file", "write to file instead of standard output" },
	LIMIT_OPTS,
	{ 0, NULL, NULL, NULL }
};

/* Opens the operands (default: standard input) as one key set. */
static struct keyset_iter *
open_sets(int argc, char **argv, int i)
{
	static const char *const stdin_spec[] = { "-" };
	struct pgps_err err = PGPS_ERR_INIT;
	struct keyset_iter *it = NULL;

	if (i >= argc) {
		if (isatty(STDIN_FILENO))
			die("no key set given and standard input is a "
			    "terminal");
		if (keyset_iter_open(&it, stdin_spec, 1, &err) != 0)
			die("%s", err.msg);
	} else if (keyset_iter_open(&it, (const char *const *)(argv + i),
	    (size_t)(argc - i), &err) != 0)
		die("%s", err.msg);
	return it;
}

/*
 * The exit status of a verb: 3 when certificates were skipped (damage) or
 * refused (the limits), each already reported one by one.
 */
static int
finish(struct ctx *ctx, int rc, uint64_t skipped, uint64_t refused)
{
	if (rc != 0)
		return EXIT_ERROR;
	if (skipped > 0 && !ctx->quiet)
		warn("%llu certificate%s or damaged region%s skipped",
		    (unsigned long long)skipped,
		    skipped == 1 ? "" : "s", skipped == 1 ? "" : "s");
	if (refused > 0 && !ctx->quiet)
		warn("%llu certificate%s refused by the limits",
		    (unsigned long long)refused, refused == 1 ? "" : "s");
	return skipped > 0 || refused > 0 ? EXIT_PARTIAL : EXIT_OK;
}

/* Prints a message of keyset/, quiet or not (damage is never quiet). */
static void
say(const char *msg, void *arg)
{
	(void)arg;
	warn("%s", msg);
}

/*
 * The next usable certificate of it for split and merge, parsed into
 * *cert: 1, 0 at the end, or -1 after a fatal error (printed).  Damage
 * and secret keys are reported and counted in *skipped.
 */
static int
next_cert(struct keyset_iter *it, struct pgp_cert *cert, uint64_t *skipped)
{
	struct pgps_err err = PGPS_ERR_INIT;
	int r;

	if ((r = keyset_iter_next_cert(it, cert, say, NULL, skipped,
	    &err)) < 0)
		return error("%s", err.msg);
	return r;
}

/* --- hashes ---------------------------------------------------------- */

/* One line per entry of the index, in input order (arg: the progress). */
static int
hashes_entry(const struct index_entry *e, const uint8_t *bytes, void *arg)
{
	const struct ctx *ctx = ((struct progress *)arg)->ctx;
	char line[160], hex[33], fpr[2 * PGP_FPR_MAX + 1] = "-";
	bool has_fpr = e->key[0] != INDEX_KEY_BARE;
	int n;

	(void)bytes;
	hex_encode_upper(hex, e->hash, 16);
	if (has_fpr)
		hex_encode_upper(fpr, e->key + 1, e->key[0]);
	if (ctx->json)
		n = snprintf(line, sizeof(line), "{\"hash\":\"%s\","
		    "\"fingerprint\":%s%s%s,\"offset\":%llu,\"length\":%llu}\n",
		    hex, has_fpr ? "\"" : "", has_fpr ? fpr : "null",
		    has_fpr ? "\"" : "", (unsigned long long)e->offset,
		    (unsigned long long)e->len);
	else
		n = snprintf(line, sizeof(line), "%s %s\n", hex, fpr);
	if (fwrite(line, 1, (size_t)n, stdout) == (size_t)n)
		return 0;
	/* A reader that went away (head) is no news. */
	if (errno != EPIPE)
		error("write error on standard output: %s", strerror(errno));
	return -1;
}

int
cmd_dump_hashes(int argc, char **argv, struct ctx *ctx)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct opt_parser op;
	struct index_spec spec = INDEX_SPEC_INIT;
	struct index_sources src = INDEX_SOURCES_INIT;
	struct keyset_par_result res;
	struct progress prog;
	struct keyset_iter *it;
	const char *arg;
	int c, rc;

	opt_init(&op, argc, argv, ctx);
	while ((c = opt_next(&op, &arg)) != -1) {
		switch (c) {
		case 'J':
			spec.jobs = jobs_opt(ctx, arg);
			break;
		case OPT_JSON:
			ctx->json = true;
			break;
		}
	}
	it = open_sets(argc, argv, opt_operands(&op));
	opt_release(&op);
	progress_start(&prog, ctx, "hashing", keyset_iter_total(it));
	spec.sks = true;
	spec.entry = hashes_entry;
	spec.warn = progress_warn;
	spec.progress = progress_report;
	spec.arg = &prog;
	rc = index_hash(it, &spec, &src, &res, &err);
	progress_end(&prog);
	if (rc < 0 && err.code != 0)
		error("%s", err.msg);
	index_sources_release(&src);
	keyset_iter_free(it);
	return finish(ctx, rc, res.skipped, 0);
}

/* --- stats ----------------------------------------------------------- */

static json_t *
jint(uint64_t v)
{
	return json_integer((json_int_t)v);
}

static void
stats_print_json(const struct pgp_stats *t, uint64_t skipped,
    size_t nsources)
{
	const struct out_count c[] = {
		{ "files", nsources }, { "skipped", skipped },
		{ "certificates", t->certs }, { "bytes", t->bytes },
		{ "packets", t->packets }, { "signatures", t->sigs },
		{ "max_signatures", t->max_sigs }, { "user_ids", t->uids },
		{ "user_attributes", t->uats }, { "subkeys", t->subkeys },
		{ "bare_revocations", t->bare_revocations },
		{ "with_trust_packets", t->with_trust },
		{ "with_partial_lengths", t->with_partial }
	};
	json_t *root = json_object(), *v = json_object(), *a = json_object();
	json_t *sz = json_object(), *top = json_array();
	char tmp[16], k[8];

	out_json_counts(root, c, PGPS_ARRAY_SIZE(c));
	for (size_t i = 0; i < 8; i++)
		if (t->versions[i] != 0) {
			snprintf(k, sizeof(k), i == 0 ? "other" : "v%zu", i);
			json_object_set_new(v, k, jint(t->versions[i]));
		}
	json_object_set_new(root, "versions", v);
	for (size_t i = 0; i < 256; i++)
		if (t->algos[i] != 0)
			json_object_set_new(a, pgp_algo_name((uint8_t)i, tmp),
			    jint(t->algos[i]));
	json_object_set_new(root, "algorithms", a);
	for (size_t i = 0; i < PGP_STATS_BUCKETS; i++)
		json_object_set_new(sz, pgp_stats_bucket_name[i],
		    jint(t->buckets[i]));
	json_object_set_new(root, "sizes", sz);
	for (size_t i = 0; i < t->ntop; i++) {
		const struct out_count e[] = {
			{ "bytes", t->top[i].len },
			{ "signatures", t->top[i].sigs },
			{ "offset", t->top[i].offset }
		};
		json_t *o = json_object();

		out_json_counts(o, e, PGPS_ARRAY_SIZE(e));
		json_object_set_new(o, "fingerprint", json_string(t->top[i].fpr));
		json_object_set_new(o, "source", out_json_str(t->top[i].source));
		json_array_append_new(top, o);
	}
	json_object_set_new(root, "largest", top);
	out_json_print(stdout, root);
}

static void
stats_print(const struct pgp_stats *t, uint64_t skipped, size_t nsources)
{
	char tmp[16];

	printf("files             %zu\n", nsources);
	printf("certificates      %llu\n", (unsigned long long)t->certs);
	printf("bytes             %llu\n", (unsigned long long)t->bytes);
	printf("skipped           %llu\n", (unsigned long long)skipped);
	printf("packets           %llu\n", (unsigned long long)t->packets);
	printf("signatures        %llu (at most %llu on one certificate)\n",
	    (unsigned long long)t->sigs, (unsigned long long)t->max_sigs);
	printf("user IDs          %llu\n", (unsigned long long)t->uids);
	printf("user attributes   %llu\n", (unsigned long long)t->uats);
	printf("subkeys           %llu\n", (unsigned long long)t->subkeys);
	printf("bare revocations  %llu\n",
	    (unsigned long long)t->bare_revocations);
	if (t->with_trust > 0)
		printf("with trust packets %llu\n",
		    (unsigned long long)t->with_trust);
	if (t->with_partial > 0)
		printf("with partial lengths %llu\n",
		    (unsigned long long)t->with_partial);
	printf("versions         ");
	for (size_t i = 1; i < 8; i++)
		if (t->versions[i] != 0)
			printf(" v%zu:%llu", i,
			    (unsigned long long)t->versions[i]);
	if (t->versions[0] != 0)
		printf(" other:%llu", (unsigned long long)t->versions[0]);
	printf("\nalgorithms       ");
	for (size_t i = 0; i < 256; i++)
		if (t->algos[i] != 0)
			printf(" %s:%llu", pgp_algo_name((uint8_t)i, tmp),
			    (unsigned long long)t->algos[i]);
	printf("\nsizes            ");
	for (size_t i = 0; i < PGP_STATS_BUCKETS; i++)
		printf(" %s:%llu", pgp_stats_bucket_name[i],
		    (unsigned long long)t->buckets[i]);
	printf("\n");
	if (t->ntop > 0)
		printf("largest:\n");
	for (size_t i = 0; i < t->ntop; i++)
		printf("  %10llu bytes %7u sigs  %s  %s@%llu\n",
		    (unsigned long long)t->top[i].len, t->top[i].sigs,
		    t->top[i].fpr, t->top[i].source,
		    (unsigned long long)t->top[i].offset);
}

int
cmd_dump_stats(int argc, char **argv, struct ctx *ctx)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct keyset_stats_spec spec = KEYSET_STATS_SPEC_INIT;
	struct opt_parser op;
	struct keyset_par_result res;
	struct pgp_stats st;
	struct progress prog;
	struct keyset_iter *it;
	const char *arg;
	unsigned long n;
	int c, rc;

	spec.top = 10;
	opt_init(&op, argc, argv, ctx);
	while ((c = opt_next(&op, &arg)) != -1) {
		switch (c) {
		case 'J':
			spec.jobs = jobs_opt(ctx, arg);
			break;
		case OPT_JSON:
			ctx->json = true;
			break;
		case OPT_TOP:
			if (parse_ulong(arg, &n) != 0 || n > 10000)
				return usage_error(ctx, "--top: '%s' is not "
				    "a number up to 10000", arg);
			spec.top = n;
			break;
		}
	}
	it = open_sets(argc, argv, opt_operands(&op));
	opt_release(&op);
	progress_start(&prog, ctx, "counting", keyset_iter_total(it));
	spec.warn = progress_warn;
	spec.progress = progress_report;
	spec.arg = &prog;
	rc = keyset_stats(&st, it, &spec, &res, &err);
	progress_end(&prog);
	if (rc != 0)
		error("%s", err.msg);
	else if (ctx->json)
		stats_print_json(&st, res.skipped, keyset_iter_nsources(it));
	else
		stats_print(&st, res.skipped, keyset_iter_nsources(it));
	pgp_stats_release(&st);
	keyset_iter_free(it);
	return finish(ctx, rc, res.skipped, 0);
}

/* --- output of certificates ---------------------------------------- */

/* Opens the output of filter and merge (keyset/dump.h), or says why not. */
static int
out_open(struct dump_out *o, const char *path, bool armor)
{
	struct pgps_err err = PGPS_ERR_INIT;

	if (strcmp(path, "-") == 0 && !armor && isatty(STDOUT_FILENO))
		die("refusing to write binary certificates to a terminal; "
		    "use --armor or -o file");
	if (dump_out_open(o, path, armor, &err) != 0)
		return error("%s", err.msg);
	return 0;
}

static int
out_write(const uint8_t *p, size_t len, void *o)
{
	struct pgps_err err = PGPS_ERR_INIT;

	if (dump_out_write(o, p, len, &err) != 0)
		return error("%s", err.msg);
	return 0;
}

/* Puts the output in place when ok, else leaves things as they were. */
static int
out_close(struct dump_out *o, bool ok)
{
	struct pgps_err err = PGPS_ERR_INIT;

	if (!ok) {
		dump_out_abort(o);
		return -1;
	}
	if (dump_out_commit(o, &err) != 0)
		return error("%s", err.msg);
	return 0;
}

/* --- split ----------------------------------------------------------- */

int
cmd_dump_split(int argc, char **argv, struct ctx *ctx)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct opt_parser op;
	struct keyset_iter *it;
	struct pgp_cert cert = PGP_CERT_INIT;
	struct dump_split *ds = NULL;
	struct progress prog;
	const char *arg, *dir = NULL, *prefix = "sks-dump";
	unsigned long per = 15000, n;
	uint64_t skipped = 0;
	size_t dropped = 0;
	int c, r, rc = 0;

	opt_init(&op, argc, argv, ctx);
	while ((c = opt_next(&op, &arg)) != -1) {
		switch (c) {
		case 'n':
			if (parse_ulong(arg, &n) != 0 || n == 0)
				return usage_error(ctx, "-n: '%s' is not a "
				    "positive number", arg);
			per = n;
			break;
		case 'o':
			dir = arg;
			break;
		case OPT_PREFIX:
			prefix = arg;
			break;
		}
	}
	if (dir == NULL)
		return usage_error(ctx, "-o dir is required");
	if ((r = dump_split_open(&ds, dir, prefix, per, &err)) == PGPS_EFORMAT)
		return usage_error(ctx, "--prefix: %s", err.msg);
	if (r != 0)
		die("%s%s", err.msg, r > 0 ? "; remove it or choose another "
		    "--prefix" : "");
	it = open_sets(argc, argv, opt_operands(&op));
	opt_release(&op);
	progress_start(&prog, ctx, "splitting", keyset_iter_total(it));
	while ((rc = next_cert(it, &cert, &skipped)) > 0) {
		if (dump_split_add(ds, &cert, &dropped, &err) != 0) {
			rc = error("%s", err.msg);
			break;
		}
		if (dropped > 0)
			warn("'%s': %zu secret key%s dropped, with the "
			    "signatures under %s", keyset_iter_source(it),
			    dropped, dropped == 1 ? "" : "s",
			    dropped == 1 ? "it" : "them");
		progress_update(&prog, keyset_iter_done(it),
		    dump_split_certs(ds));
	}
	progress_end(&prog);
	if (rc == 0 && dump_split_finish(ds, &err) != 0)
		rc = error("%s", err.msg);
	if (rc == 0)
		info(ctx, "%llu certificates in %zu files in '%s'",
		    (unsigned long long)dump_split_certs(ds),
		    dump_split_files(ds), dir);
	dump_split_free(ds);
	pgp_cert_release(&cert);
	keyset_iter_free(it);
	return finish(ctx, rc, skipped, 0);
}

/* --- filter ---------------------------------------------------------- */

/* Reads the fingerprints of the list file path ("-": standard input). */
static void
fpr_list_load(struct pgp_keyid_list *l, const char *path, struct ctx *ctx)
{
	struct pgps_err err = PGPS_ERR_INIT;
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");

	if (f == NULL)
		die("cannot open '%s': %s", path, strerror(errno));
	if (pgp_keyid_list_read(l, f, path, PGP_KEYID_V3 | PGP_KEYID_V4 |
	    PGP_KEYID_V6, &err) != 0)
		exit(usage_error(ctx, "%s", err.msg));
	if (f != stdin)
		fclose(f);
	pgp_keyid_list_sort(l);
}

static void
filter_report(struct ctx *ctx, const struct keyset_filter_counts *n,
    uint64_t skipped)
{
	const struct out_count c[] = {
		{ "kept", n->kept }, { "not_selected", n->unselected },
		{ "refused", n->refused }, { "trimmed", n->trimmed },
		{ "skipped", skipped },
		{ "dropped_third_party_signatures", n->third_party },
		{ "dropped_excess_signatures", n->excess_sigs },
		{ "dropped_large_packets", n->big_packets },
		{ "dropped_other_packets", n->other }
	};
	json_t *o;

	if (ctx->json) {
		o = json_object();
		out_json_counts(o, c, PGPS_ARRAY_SIZE(c));
		out_json_print(stderr, o);
		return;
	}
	info(ctx, "%llu kept (%llu trimmed), %llu not selected, %llu refused "
	    "by the limits, %llu skipped; dropped %llu third-party "
	    "signatures, %llu over --max-sigs, %llu large packets",
	    (unsigned long long)n->kept, (unsigned long long)n->trimmed,
	    (unsigned long long)n->unselected,
	    (unsigned long long)n->refused, (unsigned long long)skipped,
	    (unsigned long long)n->third_party,
	    (unsigned long long)n->excess_sigs,
	    (unsigned long long)n->big_packets);
}

int
cmd_dump_filter(int argc, char **argv, struct ctx *ctx)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct opt_parser op;
	struct keyset_filter_spec spec;
	struct keyset_filter_counts n;
	struct keyset_par_result res;
	struct pgp_keyid_list keep = PGP_KEYID_LIST_INIT;
	struct pgp_keyid_list drop = PGP_KEYID_LIST_INIT;
	struct dump_out out;
	struct progress prog;
	struct keyset_iter *it;
	const char *arg, *path = "-";
	bool armor = false;
	int c, rc;

	memset(&spec, 0, sizeof(spec));
	pgp_limits_default(&spec.lim);
	opt_init(&op, argc, argv, ctx);
	while ((c = opt_next(&op, &arg)) != -1) {
		if (limit_opt(ctx, &spec.lim, c, arg))
			continue;
		switch (c) {
		case OPT_ARMOR:
			armor = true;
			break;
		case OPT_FINGERPRINTS:
			fpr_list_load(&keep, arg, ctx);
			spec.keep = &keep;
			break;
		case OPT_EXCLUDE:
			fpr_list_load(&drop, arg, ctx);
			spec.drop = &drop;
			break;
		case OPT_JSON:
			ctx->json = true;
			break;
		case 'o':
			path = arg;
			break;
		}
	}
	it = open_sets(argc, argv, opt_operands(&op));
	opt_release(&op);
	if (out_open(&out, path, armor) != 0) {
		keyset_iter_free(it);
		return EXIT_ERROR;
	}
	progress_start(&prog, ctx, "filtering", keyset_iter_total(it));
	spec.sink = out_write;
	spec.sink_arg = &out;
	spec.warn = progress_warn;
	spec.progress = progress_report;
	spec.arg = &prog;
	rc = keyset_filter(it, &spec, &n, &res, &err);
	progress_end(&prog);
	if (rc < 0 && err.code != 0)
		error("%s", err.msg);
	if (out_close(&out, rc == 0) != 0)
		rc = -1;
	if (rc == 0)
		filter_report(ctx, &n, res.skipped);
	pgp_keyid_list_release(&keep);
	pgp_keyid_list_release(&drop);
	keyset_iter_free(it);
	return finish(ctx, rc, res.skipped, n.refused);
}

/* --- merge ----------------------------------------------------------- */

static void
merge_report(struct ctx *ctx, const struct keyset_merge_counts *n,
    uint64_t written, uint64_t skipped)
{
	const struct out_count c[] = {
		{ "read", n->read }, { "written", written },
		{ "merged", n->merged }, { "duplicates", n->duplicates },
		{ "refused", n->refused }, { "skipped", skipped }
	};
	json_t *o;

	if (ctx->json) {
		o = json_object();
		out_json_counts(o, c, PGPS_ARRAY_SIZE(c));
		out_json_print(stderr, o);
		return;
	}
	info(ctx, "%llu certificates read, %llu written, %llu versions merged "
	    "in, %llu duplicates dropped, %llu refused by the limits, %llu "
	    "skipped", (unsigned long long)n->read,
	    (unsigned long long)written, (unsigned long long)n->merged,
	    (unsigned long long)n->duplicates, (unsigned long long)n->refused,
	    (unsigned long long)skipped);
}

int
cmd_dump_merge(int argc, char **argv, struct ctx *ctx)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct opt_parser op;
	struct keyset_iter *it;
	struct keyset_merge *m = NULL;
	struct pgp_cert cert = PGP_CERT_INIT;
	struct pgp_limits lim;
	struct buf mb = BUF_INIT;
	struct dump_out out;
	struct progress prog;
	const char *arg, *path = "-", *src;
	uint64_t skipped = 0, refused = 0, written = 0, off;
	bool armor = false, limits = false;
	int c, r = 0, rc = 0;

	memset(&lim, 0, sizeof(lim));
	opt_init(&op, argc, argv, ctx);
	while ((c = opt_next(&op, &arg)) != -1) {
		if (!limits && c >= OPT_MAX_CERT_SIZE && c <= OPT_NO_LIMITS) {
			/* Limits apply only when asked for. */
			pgp_limits_default(&lim);
			limits = true;
		}
		if (limit_opt(ctx, &lim, c, arg))
			continue;
		switch (c) {
		case OPT_ARMOR:
			armor = true;
			break;
		case OPT_JSON:
			ctx->json = true;
			break;
		case 'o':
			path = arg;
			break;
		}
	}
	it = open_sets(argc, argv, opt_operands(&op));
	opt_release(&op);
	if (keyset_merge_new(&m, limits ? &lim : NULL, say, NULL,
	    &err) != 0)
		die("%s", err.msg);
	buf_init(&mb, 0);

	/* Every version first: those of one key may be anywhere. */
	progress_start(&prog, ctx, "reading", keyset_iter_total(it));
	while ((rc = next_cert(it, &cert, &skipped)) > 0) {
		if (keyset_merge_add(m, &cert, keyset_iter_source(it),
		    &err) != 0)
			die("%s", err.msg);
		progress_update(&prog, keyset_iter_done(it),
		    keyset_merge_counts(m)->read);
	}
	progress_end(&prog);
	keyset_iter_free(it);
	if (rc != 0 || out_open(&out, path, armor) != 0) {
		rc = -1;
		goto cleanup;
	}
	while (rc == 0 &&
	    (r = keyset_merge_next(m, &mb, &src, &off, &err)) > 0) {
		rc = out_write(mb.p, mb.len, &out);
		written++;
	}
	if (r < 0)
		rc = error("%s", err.msg);
	if (out_close(&out, rc == 0) != 0)
		rc = -1;
	skipped += keyset_merge_counts(m)->skipped;
	refused = keyset_merge_counts(m)->refused;
	if (rc == 0)
		merge_report(ctx, keyset_merge_counts(m), written, skipped);
 cleanup:
	keyset_merge_free(m);
	buf_release(&mb);
	pgp_cert_release(&cert);
	return finish(ctx, rc, skipped, refused);
}
