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
#include "keyset/index.h"
#include "keyset/keyset.h"
#include "keyset/merge.h"
#include "keyset/par.h"
#include "keyset/stats.h"
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

/* Explains why c is unusable as a certificate, or returns 0. */
static int
cert_check(const struct pgp_cert *c, const char *source,
    struct pgps_err *err)
{
	if (c->flags & PGP_CERT_SECRET)
		return pgps_err_set(err, PGPS_EFORMAT, "'%s': offset %llu: "
		    "secret key material; skipped", source,
		    (unsigned long long)c->offset);
	return 0;
}

/*
 * The sequential reading loop of split and merge: the next usable
 * certificate of it, parsed into *cert.  Returns 1, 0 at the end, or -1
 * after a fatal error (printed).  Damage and secret keys are reported and
 * counted in *skipped.
 */
static int
next_cert(struct keyset_iter *it, struct pgp_cert *cert, uint64_t *skipped)
{
	for (;;) {
		struct pgps_err err = PGPS_ERR_INIT;
		struct pgp_raw_cert raw;
		int r;

		r = keyset_iter_next(it, &raw, 0, &err);
		if (r == 0)
			return 0;
		if (r < 0) {
			if (keyset_is_fatal(r))
				return error("%s", err.msg);
			warn("%s", err.msg);
			(*skipped)++;
			continue;
		}
		if (pgp_cert_parse(cert, raw.p, raw.len, raw.offset,
		    &err) != 0 || cert_check(cert, keyset_iter_source(it),
		    &err) != 0) {
			warn("'%s': %s", keyset_iter_source(it), err.msg);
			(*skipped)++;
			continue;
		}
		return 1;
	}
}

/* --- hashes ---------------------------------------------------------- */

/* One line per entry of the index, in input order. */
static int
hashes_entry(const struct index_entry *e, const uint8_t *bytes, void *arg)
{
	struct ctx *ctx = arg;
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

static void
hashes_warn(const char *msg, void *arg)
{
	struct ctx *ctx = arg;

	if (!ctx->quiet)
		warn("%s", msg);
}

static struct progress hashes_prog;

static void
hashes_progress(uint64_t done, uint64_t certs, void *arg)
{
	(void)arg;
	progress_update(&hashes_prog, done, certs);
}

int
cmd_dump_hashes(int argc, char **argv, struct ctx *ctx)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct opt_parser op;
	struct index_spec spec = INDEX_SPEC_INIT;
	struct index_sources src = INDEX_SOURCES_INIT;
	struct keyset_par_result res;
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
	spec.sks = true;
	spec.entry = hashes_entry;
	spec.warn = hashes_warn;
	spec.progress = hashes_progress;
	spec.arg = ctx;
	progress_start(&hashes_prog, ctx, "hashing", keyset_iter_total(it));
	rc = index_hash(it, &spec, &src, &res, &err);
	progress_end(&hashes_prog);
	if (rc < 0 && err.code != 0)
		error("%s", err.msg);
	index_sources_release(&src);
	keyset_iter_free(it);
	return finish(ctx, rc, res.skipped, 0);
}

/* --- stats ----------------------------------------------------------- */

/* The counts of "dump stats --json" other than files and skipped. */
static const struct {
	const char	*name;
	size_t		 off;
} stats_json[] = {
	{ "certificates", offsetof(struct pgp_stats, certs) },
	{ "bytes", offsetof(struct pgp_stats, bytes) },
	{ "packets", offsetof(struct pgp_stats, packets) },
	{ "signatures", offsetof(struct pgp_stats, sigs) },
	{ "max_signatures", offsetof(struct pgp_stats, max_sigs) },
	{ "user_ids", offsetof(struct pgp_stats, uids) },
	{ "user_attributes", offsetof(struct pgp_stats, uats) },
	{ "subkeys", offsetof(struct pgp_stats, subkeys) },
	{ "bare_revocations", offsetof(struct pgp_stats, bare_revocations) },
	{ "with_trust_packets", offsetof(struct pgp_stats, with_trust) },
	{ "with_partial_lengths", offsetof(struct pgp_stats, with_partial) }
};

static json_t *
jint(uint64_t v)
{
	return json_integer((json_int_t)v);
}

static void
stats_print_json(const struct pgp_stats *t, uint64_t skipped,
    size_t nsources)
{
	json_t *root = json_object(), *v = json_object(), *a = json_object();
	json_t *sz = json_object(), *top = json_array();
	char tmp[16], k[8];

	json_object_set_new(root, "files", jint(nsources));
	json_object_set_new(root, "skipped", jint(skipped));
	for (size_t i = 0; i < sizeof(stats_json) / sizeof(stats_json[0]); i++)
		json_object_set_new(root, stats_json[i].name,
		    jint(*(const uint64_t *)(const void *)((const char *)t +
		    stats_json[i].off)));
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
		json_t *e = json_object();

		json_object_set_new(e, "fingerprint", json_string(t->top[i].fpr));
		json_object_set_new(e, "bytes", jint(t->top[i].len));
		json_object_set_new(e, "signatures", jint(t->top[i].sigs));
		json_object_set_new(e, "source", out_json_str(t->top[i].source));
		json_object_set_new(e, "offset", jint(t->top[i].offset));
		json_array_append_new(top, e);
	}
	json_object_set_new(root, "largest", top);
	json_dumpf(root, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
	fputc('\n', stdout);
	json_decref(root);
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
	struct buf cb = BUF_INIT;
	struct progress prog;
	const char *arg, *dir = NULL, *prefix = "sks-dump";
	unsigned long per = 15000, n;
	uint64_t skipped = 0;
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
			if (*arg == '\0' || strchr(arg, '/') != NULL ||
			    strlen(arg) > 128)
				return usage_error(ctx, "--prefix: '%s' is not "
				    "a file name prefix", arg);
			prefix = arg;
			break;
		}
	}
	if (dir == NULL)
		return usage_error(ctx, "-o dir is required");
	if ((r = dump_split_open(&ds, dir, prefix, per, &err)) != 0)
		die("%s%s", err.msg, r > 0 ? "; remove it or choose another "
		    "--prefix" : "");
	it = open_sets(argc, argv, opt_operands(&op));
	opt_release(&op);
	buf_init(&cb, 0);
	progress_start(&prog, ctx, "splitting", keyset_iter_total(it));
	while ((rc = next_cert(it, &cert, &skipped)) > 0) {
		buf_reset(&cb);
		if (pgp_cert_write(&cb, &cert) != 0) {
			rc = error("out of memory");
			break;
		}
		if (dump_split_add(ds, cb.p, cb.len, &err) != 0) {
			rc = error("%s", err.msg);
			break;
		}
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
	buf_release(&cb);
	pgp_cert_release(&cert);
	keyset_iter_free(it);
	return finish(ctx, rc, skipped, 0);
}

/* --- fingerprint lists ---------------------------------------------- */

struct fpr_key {
	uint8_t		 len;
	uint8_t		 b[PGP_FPR_MAX];
};

struct fpr_set {
	struct fpr_key	*v;
	size_t		 n;
};

static int
fpr_key_cmp(const void *a, const void *b)
{
	const struct fpr_key *x = a, *y = b;

	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return memcmp(x->b, y->b, x->len);
}

/* Reads one fingerprint per line (0x optional, spaces ignored, # comments). */
static void
fpr_set_load(struct fpr_set *s, const char *path, struct ctx *ctx)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	char line[512], hex[PGP_FPR_MAX * 2 + 1];
	size_t lineno = 0, alloc = 0;

	if (f == NULL)
		die("cannot open '%s': %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f) != NULL) {
		size_t k = 0;
		char *p = line;

		lineno++;
		if ((p = strchr(line, '#')) != NULL)
			*p = '\0';
		p = line;
		while (*p == ' ' || *p == '\t')
			p++;
		if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
			p += 2;
		for (; *p != '\0' && *p != '\n' && *p != '\r'; p++) {
			if (*p == ' ' || *p == '\t')
				continue;
			if (k == sizeof(hex) - 1)
				break;
			hex[k++] = *p;
		}
		if (k == 0)
			continue;
		if (s->n == alloc) {
			alloc = alloc == 0 ? 256 : alloc * 2;
			s->v = xreallocarray(s->v, alloc, sizeof(*s->v));
		}
		if ((k != 32 && k != 40 && k != 64) ||
		    hex_decode(s->v[s->n].b, k / 2, hex, k) != 0)
			exit(usage_error(ctx, "'%s' line %zu: not a "
			    "fingerprint (32, 40 or 64 hex digits)", path,
			    lineno));
		s->v[s->n].len = (uint8_t)(k / 2);
		s->n++;
	}
	if (f != stdin)
		fclose(f);
	qsort(s->v, s->n, sizeof(*s->v), fpr_key_cmp);
}

static bool
fpr_set_has(const struct fpr_set *s, const struct pgp_key_info *k)
{
	struct fpr_key key;

	key.len = k->fprlen;
	memcpy(key.b, k->fpr, k->fprlen);
	return bsearch(&key, s->v, s->n, sizeof(*s->v), fpr_key_cmp) != NULL;
}

/* --- filter ---------------------------------------------------------- */

struct filter_conf {
	struct fpr_set		 keep;
	struct fpr_set		 drop;
	bool			 has_keep;
	bool			 has_drop;
	struct pgp_limits	 lim;
};

struct filter_counts {
	uint64_t		 kept;
	uint64_t		 unselected;
	uint64_t		 rejected;	/* by the limits */
	uint64_t		 trimmed;	/* kept, with packets dropped */
	uint64_t		 third_party;
	uint64_t		 excess_sigs;
	uint64_t		 big_packets;
	uint64_t		 other;
};

struct filter_ws {
	const struct filter_conf *conf;
	struct pgp_cert		 cert;
	struct filter_counts	 n;
};

static struct filter_conf filter_conf;
static struct filter_counts filter_total;

static void *
filter_ws_new(void *arg)
{
	struct filter_ws *w = xcalloc(1, sizeof(*w));

	w->conf = arg;
	buf_init(&w->cert.partial, 0);
	return w;
}

static void
filter_counts_add(struct filter_counts *t, const struct filter_counts *n)
{
	t->kept += n->kept;
	t->unselected += n->unselected;
	t->rejected += n->rejected;
	t->trimmed += n->trimmed;
	t->third_party += n->third_party;
	t->excess_sigs += n->excess_sigs;
	t->big_packets += n->big_packets;
	t->other += n->other;
}

static void
filter_ws_done(void *ws, void *arg)
{
	struct filter_ws *w = ws;

	(void)arg;
	filter_counts_add(&filter_total, &w->n);
	pgp_cert_release(&w->cert);
	free(w);
}

/*
 * Applies the limits to one parsed certificate, appending the result to
 * out and counting into *n.  Returns 0, 1 when the certificate was refused
 * by the limits (err says why), or a negative code.
 */
static int
apply_limits(const struct pgp_cert *c, const struct pgp_limits *lim,
    const char *source, struct buf *out, struct filter_counts *n,
    struct pgps_err *err)
{
	struct pgp_filter_report rep;
	char fpr[2 * PGP_FPR_MAX + 1] = "-";
	size_t start = out->len;
	int r;

	memset(&rep, 0, sizeof(rep));
	r = pgp_cert_filter(out, c, lim, &rep, err);
	n->third_party += rep.dropped_third_party;
	n->excess_sigs += rep.dropped_excess_sigs;
	n->big_packets += rep.dropped_big_packets;
	n->other += rep.dropped_other;
	if (c->has_primary)
		pgp_key_fpr_hex(fpr, &c->primary);
	if (r == PGPS_ELIMIT) {
		buf_setlen(out, start);
		n->rejected++;
		pgps_err_clear(err);
		pgps_err_set(err, PGPS_ELIMIT, "'%s': offset %llu: %s: "
		    "refused by the limits (see --max-cert-size, "
		    "--max-packet-size)", source,
		    (unsigned long long)c->offset, fpr);
		return 1;
	}
	if (r != 0) {
		buf_setlen(out, start);
		return pgps_err_prefix(err, r, "'%s': %s", source, fpr);
	}
	if (rep.dropped_third_party + rep.dropped_excess_sigs +
	    rep.dropped_big_packets > 0)
		n->trimmed++;
	n->kept++;
	return 0;
}

static int
filter_one(void *ws, const struct pgp_raw_cert *raw, const char *source,
    struct buf *out, struct pgps_err *err)
{
	struct filter_ws *w = ws;
	const struct filter_conf *f = w->conf;
	int r;

	if ((r = pgp_cert_parse(&w->cert, raw->p, raw->len, raw->offset,
	    err)) != 0)
		return pgps_err_prefix(err, r, "'%s'", source);
	if ((r = cert_check(&w->cert, source, err)) != 0)
		return r;
	if (f->has_keep || f->has_drop) {
		bool sel = w->cert.has_primary &&
		    (!f->has_keep || fpr_set_has(&f->keep,
		    &w->cert.primary)) &&
		    (!f->has_drop || !fpr_set_has(&f->drop,
		    &w->cert.primary));

		/* A bare revocation has no fingerprint to select by. */
		if (!sel) {
			w->n.unselected++;
			return 0;
		}
	}
	return apply_limits(&w->cert, &f->lim, source, out, &w->n, err);
}

static void
filter_report(struct ctx *ctx, const struct filter_counts *n,
    uint64_t skipped)
{
	json_t *o;

	if (ctx->json) {
		o = json_object();
		json_object_set_new(o, "kept", json_integer((json_int_t)n->kept));
		json_object_set_new(o, "not_selected",
		    json_integer((json_int_t)n->unselected));
		json_object_set_new(o, "refused",
		    json_integer((json_int_t)n->rejected));
		json_object_set_new(o, "trimmed",
		    json_integer((json_int_t)n->trimmed));
		json_object_set_new(o, "skipped",
		    json_integer((json_int_t)skipped));
		json_object_set_new(o, "dropped_third_party_signatures",
		    json_integer((json_int_t)n->third_party));
		json_object_set_new(o, "dropped_excess_signatures",
		    json_integer((json_int_t)n->excess_sigs));
		json_object_set_new(o, "dropped_large_packets",
		    json_integer((json_int_t)n->big_packets));
		json_object_set_new(o, "dropped_other_packets",
		    json_integer((json_int_t)n->other));
		json_dumpf(o, stderr, JSON_INDENT(2) | JSON_SORT_KEYS);
		fputc('\n', stderr);
		json_decref(o);
		return;
	}
	info(ctx, "%llu kept (%llu trimmed), %llu not selected, %llu refused "
	    "by the limits, %llu skipped; dropped %llu third-party "
	    "signatures, %llu over --max-sigs, %llu large packets",
	    (unsigned long long)n->kept, (unsigned long long)n->trimmed,
	    (unsigned long long)n->unselected,
	    (unsigned long long)n->rejected, (unsigned long long)skipped,
	    (unsigned long long)n->third_party,
	    (unsigned long long)n->excess_sigs,
	    (unsigned long long)n->big_packets);
}

int
cmd_dump_filter(int argc, char **argv, struct ctx *ctx)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct opt_parser op;
	struct keyset_par_spec spec;
	struct keyset_par_result res;
	struct dump_out out;
	struct progress prog;
	struct keyset_iter *it;
	const char *arg, *path = "-";
	bool armor = false;
	int c, rc;

	memset(&spec, 0, sizeof(spec));
	memset(&filter_conf, 0, sizeof(filter_conf));
	memset(&filter_total, 0, sizeof(filter_total));
	pgp_limits_default(&filter_conf.lim);
	opt_init(&op, argc, argv, ctx);
	while ((c = opt_next(&op, &arg)) != -1) {
		if (limit_opt(ctx, &filter_conf.lim, c, arg))
			continue;
		switch (c) {
		case OPT_ARMOR:
			armor = true;
			break;
		case OPT_FINGERPRINTS:
			fpr_set_load(&filter_conf.keep, arg, ctx);
			filter_conf.has_keep = true;
			break;
		case OPT_EXCLUDE:
			fpr_set_load(&filter_conf.drop, arg, ctx);
			filter_conf.has_drop = true;
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
	spec.fn = filter_one;
	spec.wstate_new = filter_ws_new;
	spec.wstate_done = filter_ws_done;
	spec.arg = &filter_conf;
	spec.sink = out_write;
	spec.sink_arg = &out;
	spec.warn = progress_warn;
	spec.progress = progress_report;
	spec.report_arg = &prog;
	rc = keyset_par_run(it, &spec, &res, &err);
	progress_end(&prog);
	if (rc < 0 && err.code != 0)
		error("%s", err.msg);
	if (out_close(&out, rc == 0) != 0)
		rc = -1;
	if (rc == 0)
		filter_report(ctx, &filter_total, res.skipped);
	free(filter_conf.keep.v);
	free(filter_conf.drop.v);
	keyset_iter_free(it);
	return finish(ctx, rc, res.skipped, filter_total.rejected);
}

/* --- merge ----------------------------------------------------------- */

static void
merge_warn(const char *msg, void *arg)
{
	(void)arg;
	warn("%s", msg);
}

static void
merge_report(struct ctx *ctx, const struct keyset_merge_counts *n,
    uint64_t written, uint64_t refused, uint64_t skipped)
{
	json_t *o;

	if (!ctx->json) {
		info(ctx, "%llu certificates read, %llu written, %llu versions "
		    "merged in, %llu duplicates dropped, %llu refused by the "
		    "limits, %llu skipped", (unsigned long long)n->read,
		    (unsigned long long)written, (unsigned long long)n->merged,
		    (unsigned long long)n->duplicates,
		    (unsigned long long)refused, (unsigned long long)skipped);
		return;
	}
	o = json_object();
	json_object_set_new(o, "read", jint(n->read));
	json_object_set_new(o, "written", jint(written));
	json_object_set_new(o, "merged", jint(n->merged));
	json_object_set_new(o, "duplicates", jint(n->duplicates));
	json_object_set_new(o, "refused", jint(refused));
	json_object_set_new(o, "skipped", jint(skipped));
	json_dumpf(o, stderr, JSON_INDENT(2) | JSON_SORT_KEYS);
	fputc('\n', stderr);
	json_decref(o);
}

/*
 * The merged key in *mb through the limits, when asked for: 0 to write
 * it, 1 when left out (said and counted).
 */
static int
merge_limits(struct buf *mb, struct buf *lb, struct pgp_cert *cert,
    const struct pgp_limits *lim, const char *source, uint64_t offset,
    uint64_t *refused, uint64_t *skipped)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct filter_counts fc;
	int r;

	memset(&fc, 0, sizeof(fc));
	if (pgp_cert_parse(cert, mb->p, mb->len, offset, &err) != 0)
		die("cannot re-read a merged certificate: %s", err.msg);
	buf_reset(lb);
	/* Name where the certificate was first seen. */
	if ((r = apply_limits(cert, lim, source, lb, &fc, &err)) != 0) {
		warn("%s", err.msg);
		(*(r == 1 ? refused : skipped))++;
		return 1;
	}
	buf_swap(lb, mb);
	return 0;
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
	struct buf mb = BUF_INIT, lb = BUF_INIT;
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
	if (keyset_merge_new(&m, merge_warn, NULL, &err) != 0)
		die("%s", err.msg);
	buf_init(&mb, 0);
	buf_init(&lb, 0);

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
		if (limits && merge_limits(&mb, &lb, &cert, &lim, src, off,
		    &refused, &skipped) != 0)
			continue;
		if (out_write(mb.p, mb.len, &out) != 0)
			rc = -1;
		written++;
	}
	if (r < 0)
		rc = error("%s", err.msg);
	if (out_close(&out, rc == 0) != 0)
		rc = -1;
	skipped += keyset_merge_counts(m)->skipped;
	if (rc == 0)
		merge_report(ctx, keyset_merge_counts(m), written, refused,
		    skipped);
 cleanup:
	keyset_merge_free(m);
	buf_release(&mb);
	buf_release(&lb);
	pgp_cert_release(&cert);
	return finish(ctx, rc, skipped, refused);
}
