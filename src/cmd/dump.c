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
#include "cmd/par.h"
#include "keyset/index.h"
#include "keyset/keyset.h"
#include "openpgp/openpgp.h"
#include "util/digest.h"
#include "util/hex.h"
#include "util/limits.h"
#include "util/mem.h"
#include "util/tmpfile.h"

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

#define STATS_BUCKETS	7
static const uint64_t bucket_max[STATS_BUCKETS] = {
	1024, 4096, 16384, 65536, 1 << 20, 16 << 20, UINT64_MAX
};
static const char *const bucket_name[STATS_BUCKETS] = {
	"<1K", "1K-4K", "4K-16K", "16K-64K", "64K-1M", "1M-16M", ">=16M"
};

struct top_entry {
	uint64_t	 len;
	uint64_t	 offset;
	uint32_t	 sigs;
	char		 fpr[2 * PGP_FPR_MAX + 1];
	char		 source[96];
};

struct stats {
	uint64_t	 certs;
	uint64_t	 bytes;
	uint64_t	 packets;
	uint64_t	 sigs;
	uint64_t	 uids;
	uint64_t	 uats;
	uint64_t	 subkeys;
	uint64_t	 bare_revocations;
	uint64_t	 with_trust;
	uint64_t	 with_partial;
	uint64_t	 versions[8];	/* 0: other */
	uint64_t	 algos[256];
	uint64_t	 buckets[STATS_BUCKETS];
	uint64_t	 max_sigs;
	struct top_entry *top;
	size_t		 ntop;
	size_t		 maxtop;
	struct pgp_cert	 cert;
};

static size_t stats_top = 10;

static void *
stats_ws_new(void *arg)
{
	struct stats *s = xcalloc(1, sizeof(*s));

	(void)arg;
	s->maxtop = stats_top;
	s->top = xcalloc(s->maxtop + 1, sizeof(*s->top));
	buf_init(&s->cert.partial, 0);
	return s;
}

/* Keeps the maxtop largest entries, largest first. */
static void
top_add(struct stats *s, const struct top_entry *e)
{
	size_t i;

	if (s->maxtop == 0)
		return;
	if (s->ntop == s->maxtop && e->len <= s->top[s->ntop - 1].len)
		return;
	i = s->ntop < s->maxtop ? s->ntop++ : s->ntop - 1;
	while (i > 0 && s->top[i - 1].len < e->len) {
		s->top[i] = s->top[i - 1];
		i--;
	}
	s->top[i] = *e;
}

static int
stats_one(void *ws, const struct pgp_raw_cert *raw, const char *source,
    struct buf *out, struct pgps_err *err)
{
	struct stats *s = ws;
	struct pgp_cert *c = &s->cert;
	struct top_entry e;
	uint64_t sigs = 0;
	int r;

	(void)out;
	if ((r = pgp_cert_parse(c, raw->p, raw->len, raw->offset, err)) != 0)
		return pgps_err_prefix(err, r, "'%s'", source);
	if ((r = cert_check(c, source, err)) != 0)
		return r;
	s->certs++;
	s->bytes += raw->len;
	s->packets += c->npkts;
	for (size_t i = 0; i < c->npkts; i++) {
		switch (c->pkts[i].tag) {
		case PGP_TAG_SIGNATURE:		sigs++; break;
		case PGP_TAG_USER_ID:		s->uids++; break;
		case PGP_TAG_USER_ATTRIBUTE:	s->uats++; break;
		case PGP_TAG_PUBLIC_SUBKEY:	s->subkeys++; break;
		}
	}
	s->sigs += sigs;
	if (sigs > s->max_sigs)
		s->max_sigs = sigs;
	if (c->flags & PGP_CERT_HAS_TRUST)
		s->with_trust++;
	if (c->flags & PGP_CERT_HAS_PARTIAL)
		s->with_partial++;
	if (c->has_primary) {
		s->versions[c->primary.version < 8 ? c->primary.version : 0]++;
		s->algos[c->primary.algo]++;
	} else
		s->bare_revocations++;
	for (size_t b = 0; b < STATS_BUCKETS; b++)
		if (raw->len < bucket_max[b]) {
			s->buckets[b]++;
			break;
		}
	if (s->maxtop > 0 && (s->ntop < s->maxtop ||
	    raw->len > s->top[s->ntop - 1].len)) {
		memset(&e, 0, sizeof(e));
		e.len = raw->len;
		e.offset = raw->offset;
		e.sigs = (uint32_t)sigs;
		if (c->has_primary)
			pgp_key_fpr_hex(e.fpr, &c->primary);
		else
			memcpy(e.fpr, "-", 2);
		snprintf(e.source, sizeof(e.source), "%s", source);
		top_add(s, &e);
	}
	return 0;
}

static struct stats stats_total;

static void
stats_ws_done(void *ws, void *arg)
{
	struct stats *s = ws, *t = &stats_total;

	(void)arg;
	t->certs += s->certs;
	t->bytes += s->bytes;
	t->packets += s->packets;
	t->sigs += s->sigs;
	t->uids += s->uids;
	t->uats += s->uats;
	t->subkeys += s->subkeys;
	t->bare_revocations += s->bare_revocations;
	t->with_trust += s->with_trust;
	t->with_partial += s->with_partial;
	if (s->max_sigs > t->max_sigs)
		t->max_sigs = s->max_sigs;
	for (size_t i = 0; i < 8; i++)
		t->versions[i] += s->versions[i];
	for (size_t i = 0; i < 256; i++)
		t->algos[i] += s->algos[i];
	for (size_t i = 0; i < STATS_BUCKETS; i++)
		t->buckets[i] += s->buckets[i];
	for (size_t i = 0; i < s->ntop; i++)
		top_add(t, &s->top[i]);
	free(s->top);
	pgp_cert_release(&s->cert);
	free(s);
}

static void
stats_print_json(const struct stats *t, uint64_t skipped, size_t nsources)
{
	json_t *root = json_object(), *v = json_object(), *a = json_object();
	json_t *sz = json_object(), *top = json_array();
	char tmp[16], k[8];

	json_object_set_new(root, "files", json_integer((json_int_t)nsources));
	json_object_set_new(root, "certificates",
	    json_integer((json_int_t)t->certs));
	json_object_set_new(root, "bytes", json_integer((json_int_t)t->bytes));
	json_object_set_new(root, "skipped", json_integer((json_int_t)skipped));
	json_object_set_new(root, "packets",
	    json_integer((json_int_t)t->packets));
	json_object_set_new(root, "signatures",
	    json_integer((json_int_t)t->sigs));
	json_object_set_new(root, "max_signatures",
	    json_integer((json_int_t)t->max_sigs));
	json_object_set_new(root, "user_ids", json_integer((json_int_t)t->uids));
	json_object_set_new(root, "user_attributes",
	    json_integer((json_int_t)t->uats));
	json_object_set_new(root, "subkeys",
	    json_integer((json_int_t)t->subkeys));
	json_object_set_new(root, "bare_revocations",
	    json_integer((json_int_t)t->bare_revocations));
	json_object_set_new(root, "with_trust_packets",
	    json_integer((json_int_t)t->with_trust));
	json_object_set_new(root, "with_partial_lengths",
	    json_integer((json_int_t)t->with_partial));
	for (size_t i = 0; i < 8; i++)
		if (t->versions[i] != 0) {
			snprintf(k, sizeof(k), i == 0 ? "other" : "v%zu", i);
			json_object_set_new(v, k,
			    json_integer((json_int_t)t->versions[i]));
		}
	json_object_set_new(root, "versions", v);
	for (size_t i = 0; i < 256; i++)
		if (t->algos[i] != 0)
			json_object_set_new(a, pgp_algo_name((uint8_t)i, tmp),
			    json_integer((json_int_t)t->algos[i]));
	json_object_set_new(root, "algorithms", a);
	for (size_t i = 0; i < STATS_BUCKETS; i++)
		json_object_set_new(sz, bucket_name[i],
		    json_integer((json_int_t)t->buckets[i]));
	json_object_set_new(root, "sizes", sz);
	for (size_t i = 0; i < t->ntop; i++) {
		json_t *e = json_object();

		json_object_set_new(e, "fingerprint", json_string(t->top[i].fpr));
		json_object_set_new(e, "bytes",
		    json_integer((json_int_t)t->top[i].len));
		json_object_set_new(e, "signatures",
		    json_integer((json_int_t)t->top[i].sigs));
		json_object_set_new(e, "source", json_string(t->top[i].source));
		json_object_set_new(e, "offset",
		    json_integer((json_int_t)t->top[i].offset));
		json_array_append_new(top, e);
	}
	json_object_set_new(root, "largest", top);
	json_dumpf(root, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
	fputc('\n', stdout);
	json_decref(root);
}

static void
stats_print(const struct stats *t, uint64_t skipped, size_t nsources)
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
	for (size_t i = 0; i < STATS_BUCKETS; i++)
		printf(" %s:%llu", bucket_name[i],
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
	struct opt_parser op;
	struct par_spec spec;
	struct par_result res;
	struct progress prog;
	struct keyset_iter *it;
	const char *arg;
	unsigned long n;
	int c, rc;

	memset(&spec, 0, sizeof(spec));
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
			stats_top = n;
			break;
		}
	}
	it = open_sets(argc, argv, opt_operands(&op));
	opt_release(&op);
	memset(&stats_total, 0, sizeof(stats_total));
	stats_total.maxtop = stats_top;
	stats_total.top = xcalloc(stats_top + 1, sizeof(*stats_total.top));
	spec.fn = stats_one;
	spec.wstate_new = stats_ws_new;
	spec.wstate_done = stats_ws_done;
	progress_start(&prog, ctx, "counting", keyset_iter_total(it));
	spec.progress = &prog;
	rc = par_run(it, &spec, ctx, &res);
	progress_end(&prog);
	if (rc == 0) {
		if (ctx->json)
			stats_print_json(&stats_total, res.skipped,
			    keyset_iter_nsources(it));
		else
			stats_print(&stats_total, res.skipped,
			    keyset_iter_nsources(it));
	}
	free(stats_total.top);
	keyset_iter_free(it);
	return finish(ctx, rc, res.skipped, 0);
}

/* --- output of certificates ---------------------------------------- */

/*
 * Where certificates go: a file written atomically, or standard output;
 * binary as they come, or collected and armored at the end (armor's CRC
 * covers the whole block).
 */
struct cert_out {
	struct atomic_file	 af;
	bool			 armor;
	struct buf		 all;
	uint64_t		 written;
};

static int
cert_out_open(struct cert_out *o, const char *path, bool armor)
{
	memset(o, 0, sizeof(*o));
	buf_init(&o->all, PGPS_MAX_BUF);
	o->armor = armor;
	if (strcmp(path, "-") == 0 && !armor && isatty(STDOUT_FILENO))
		die("refusing to write binary certificates to a terminal; "
		    "use --armor or -o file");
	return atomic_open(&o->af, path);
}

static int
cert_out_write(const uint8_t *p, size_t len, void *arg)
{
	struct cert_out *o = arg;

	o->written += len;
	if (o->armor) {
		if (buf_add(&o->all, p, len) != 0)
			return error("armored output larger than %zu bytes; "
			    "write binary instead", (size_t)PGPS_MAX_BUF);
		return 0;
	}
	if (fwrite(p, 1, len, o->af.f) != len)
		return error("write error: %s", strerror(errno));
	return 0;
}

static int
cert_out_close(struct cert_out *o, bool ok)
{
	struct buf arm = BUF_INIT;
	int r = 0;

	if (ok && o->armor) {
		buf_init(&arm, PGPS_MAX_BUF);
		if (pgp_armor_encode(&arm, o->all.p, o->all.len,
		    PGP_ARMOR_PUBLIC_KEY, 0) != 0 ||
		    fwrite(arm.p, 1, arm.len, o->af.f) != arm.len)
			r = error("cannot write armored output");
		buf_release(&arm);
	}
	buf_release(&o->all);
	if (!ok || r != 0) {
		atomic_abort(&o->af);
		return -1;
	}
	return atomic_commit(&o->af);
}

/* --- split ----------------------------------------------------------- */

static bool
dir_has_dump(const char *dir, const char *prefix, char *found, size_t n)
{
	char path[4096];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s-0000.pgp", dir, prefix);
	if (stat(path, &st) == 0) {
		snprintf(found, n, "%s", path);
		return true;
	}
	snprintf(path, sizeof(path), "%s/metadata-%s.txt", dir, prefix);
	if (stat(path, &st) == 0) {
		snprintf(found, n, "%s", path);
		return true;
	}
	return false;
}

struct split_file {
	char		 name[256];
	char		 md5[33];
};

int
cmd_dump_split(int argc, char **argv, struct ctx *ctx)
{
	struct opt_parser op;
	struct keyset_iter *it;
	struct pgp_cert cert = PGP_CERT_INIT;
	struct digest *md5 = NULL;
	struct atomic_file af, meta;
	struct split_file *files = NULL;
	struct buf certbuf = BUF_INIT;
	struct progress prog;
	const char *arg, *dir = NULL, *prefix = "sks-dump";
	char path[4096], found[4096], host[256], started[32], ended[32];
	unsigned long per = 15000, n;
	uint64_t skipped = 0, keys = 0, infile = 0;
	size_t nfiles = 0;
	uint8_t h[16];
	time_t t;
	struct tm tm;
	int c, r, rc = 0;

	memset(&af, 0, sizeof(af));
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
	if (mkdir(dir, 0755) != 0 && errno != EEXIST)
		die("cannot create '%s': %s", dir, strerror(errno));
	if (dir_has_dump(dir, prefix, found, sizeof(found)))
		die("'%s' exists: '%s' already holds a dump with prefix '%s'; "
		    "remove it or choose another --prefix", found, dir, prefix);
	it = open_sets(argc, argv, opt_operands(&op));
	opt_release(&op);
	if ((md5 = digest_new(DIGEST_MD5)) == NULL)
		die("out of memory");
	buf_init(&certbuf, 0);
	t = time(NULL);
	localtime_r(&t, &tm);
	strftime(started, sizeof(started), "%Y-%m-%d %H:%M:%S", &tm);
	progress_start(&prog, ctx, "splitting", keyset_iter_total(it));
	for (;;) {
		if ((r = next_cert(it, &cert, &skipped)) <= 0) {
			rc = r;
			break;
		}
		if (af.f == NULL) {
			files = xreallocarray(files, nfiles + 1,
			    sizeof(*files));
			snprintf(files[nfiles].name, sizeof(files[nfiles].name),
			    "%s-%04zu.pgp", prefix, nfiles);
			snprintf(path, sizeof(path), "%s/%s", dir,
			    files[nfiles].name);
			if (atomic_open(&af, path) != 0) {
				rc = -1;
				break;
			}
			digest_reset(md5);
			infile = 0;
		}
		buf_reset(&certbuf);
		if (pgp_cert_write(&certbuf, &cert) != 0) {
			rc = error("out of memory");
			break;
		}
		digest_update(md5, certbuf.p, certbuf.len);
		if (fwrite(certbuf.p, 1, certbuf.len, af.f) != certbuf.len) {
			rc = error("cannot write '%s': %s", path,
			    strerror(errno));
			break;
		}
		keys++;
		if (++infile == per) {
			digest_final(md5, h);
			hex_encode_lower(files[nfiles].md5, h, 16);
			if (atomic_commit(&af) != 0) {
				rc = -1;
				break;
			}
			nfiles++;
		}
		progress_update(&prog, keyset_iter_done(it), keys);
	}
	progress_end(&prog);
	if (rc == 0 && af.f != NULL) {
		digest_final(md5, h);
		hex_encode_lower(files[nfiles].md5, h, 16);
		if (atomic_commit(&af) != 0)
			rc = -1;
		else
			nfiles++;
	} else if (af.f != NULL)
		atomic_abort(&af);
	if (rc == 0) {
		/* The metadata file SKS writes, so md5sum -c works on it. */
		if (gethostname(host, sizeof(host)) != 0)
			snprintf(host, sizeof(host), "localhost");
		host[sizeof(host) - 1] = '\0';
		t = time(NULL);
		localtime_r(&t, &tm);
		strftime(ended, sizeof(ended), "%Y-%m-%d %H:%M:%S", &tm);
		snprintf(path, sizeof(path), "%s/metadata-%s.txt", dir, prefix);
		if (atomic_open(&meta, path) != 0)
			rc = -1;
		else {
			fprintf(meta.f, "#Metadata-for: %s\n", host);
			fprintf(meta.f, "#Dump-started: %s\n", started);
			fprintf(meta.f, "#Files-Count: %zu\n", nfiles);
			fprintf(meta.f, "#Key-Count: %llu\n",
			    (unsigned long long)keys);
			fprintf(meta.f, "#Digest-algo: md5\n");
			for (size_t i = 0; i < nfiles; i++)
				fprintf(meta.f, "%s  %s\n", files[i].md5,
				    files[i].name);
			fprintf(meta.f, "#Dump-ended: %s\n", ended);
			if (atomic_commit(&meta) != 0)
				rc = -1;
		}
	}
	if (rc == 0)
		info(ctx, "%llu certificates in %zu files in '%s'",
		    (unsigned long long)keys, nfiles, dir);
	free(files);
	buf_release(&certbuf);
	pgp_cert_release(&cert);
	digest_free(md5);
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
	struct opt_parser op;
	struct par_spec spec;
	struct par_result res;
	struct cert_out out;
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
	if (cert_out_open(&out, path, armor) != 0) {
		keyset_iter_free(it);
		return EXIT_ERROR;
	}
	spec.fn = filter_one;
	spec.wstate_new = filter_ws_new;
	spec.wstate_done = filter_ws_done;
	spec.arg = &filter_conf;
	spec.sink = cert_out_write;
	spec.sink_arg = &out;
	rc = par_run(it, &spec, ctx, &res);
	if (cert_out_close(&out, rc == 0) != 0)
		rc = -1;
	if (rc == 0)
		filter_report(ctx, &filter_total, res.skipped);
	free(filter_conf.keep.v);
	free(filter_conf.drop.v);
	keyset_iter_free(it);
	return finish(ctx, rc, res.skipped, filter_total.rejected);
}

/* --- merge ----------------------------------------------------------- */

/*
 * One certificate seen by merge: its key (the primary fingerprint, or for
 * a bare revocation its SKS hash) and where its bytes were spilled.
 */
struct merge_entry {
	uint8_t		 key[PGP_FPR_MAX + 1];	/* [0]: kind/length */
	uint64_t	 seq;
	uint64_t	 off;
	size_t		 len;
	uint64_t	 offset;		/* in its source */
	size_t		 src;			/* index into the sources */
};

static int
merge_entry_cmp(const void *a, const void *b)
{
	const struct merge_entry *x = a, *y = b;
	int c = memcmp(x->key, y->key, sizeof(x->key));

	if (c != 0)
		return c;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

struct merge_group {
	size_t		 first;		/* index into the sorted entries */
	size_t		 n;
	uint64_t	 seq;		/* of the first appearance */
};

static int
merge_group_cmp(const void *a, const void *b)
{
	const struct merge_group *x = a, *y = b;

	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Parsed versions of one certificate, reused from group to group. */
struct versions {
	struct pgp_cert		 *c;
	const struct pgp_cert	**v;
	uint8_t			 *apart;	/* per version: left out */
	size_t			  alloc;
	struct buf		  bytes;
};

/*
 * Merges the n versions e[0..n) of one certificate into out, all at once
 * (one pass, whatever n is).  A version whose primary key packet differs
 * from the first one's (a v3 key shares its fingerprint with any key of
 * the same RSA numbers) does not merge: vs->apart is set for it.  Returns
 * 0, or an error code with err set.
 */
static int
merge_versions(FILE *spill, const struct merge_entry *e, size_t n,
    struct versions *vs, struct buf *out, struct pgp_cert_merge_report *rep,
    struct pgps_err *err)
{
	size_t at = 0, nv = 0;

	if (n > vs->alloc) {
		vs->c = xreallocarray(vs->c, n, sizeof(*vs->c));
		vs->v = xreallocarray(vs->v, n, sizeof(*vs->v));
		vs->apart = xreallocarray(vs->apart, n, sizeof(*vs->apart));
		for (size_t k = vs->alloc; k < n; k++)
			vs->c[k] = (struct pgp_cert)PGP_CERT_INIT;
		vs->alloc = n;
	}
	buf_reset(&vs->bytes);
	for (size_t k = 0; k < n; k++) {
		if (buf_grow(&vs->bytes, e[k].len) != 0)
			die("out of memory");
		if (fseeko(spill, (off_t)e[k].off, SEEK_SET) != 0 ||
		    fread(vs->bytes.p + vs->bytes.len, 1, e[k].len, spill) !=
		    e[k].len)
			die("cannot read the temporary file: %s",
			    strerror(errno));
		vs->bytes.len += e[k].len;
	}
	for (size_t k = 0; k < n; k++) {
		const struct pgp_cert *c = &vs->c[k];

		if (pgp_cert_parse(&vs->c[k], vs->bytes.p + at, e[k].len,
		    e[k].offset, err) != 0)
			die("cannot re-read a spilled certificate: %s",
			    err->msg);
		at += e[k].len;
		vs->apart[k] = k > 0 && c->has_primary &&
		    vs->c[0].has_primary &&
		    pgp_packet_cmp(&c->pkts[0], &vs->c[0].pkts[0]) != 0;
		if (!vs->apart[k])
			vs->v[nv++] = c;
	}
	buf_reset(out);
	return pgp_cert_merge_many(out, vs->v, nv, rep, err);
}

int
cmd_dump_merge(int argc, char **argv, struct ctx *ctx)
{
	struct opt_parser op;
	struct keyset_iter *it;
	struct pgp_cert cert = PGP_CERT_INIT;
	struct pgp_limits lim;
	struct filter_counts fc;
	struct merge_entry *ents = NULL;
	struct merge_group *groups = NULL;
	struct buf cb = BUF_INIT, ob = BUF_INIT, mb = BUF_INIT, lb = BUF_INIT;
	struct versions vs = { NULL, NULL, NULL, 0, BUF_INIT };
	struct digest *md5 = NULL;
	struct cert_out out;
	struct progress prog;
	struct pgps_err terr = PGPS_ERR_INIT;
	const char *arg, *path = "-";
	char **srcs = NULL;
	size_t nents = 0, alloc = 0, ngroups = 0, nsrcs = 0;
	uint64_t skipped = 0, refused = 0, merged = 0, dups = 0, spilled = 0;
	bool armor = false, limits = false;
	FILE *spill = NULL;
	int c, r, rc = 0;

	memset(&lim, 0, sizeof(lim));
	memset(&fc, 0, sizeof(fc));
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
	if ((spill = tmp_file(&terr)) == NULL)
		die("%s", terr.msg);
	if ((md5 = digest_new(DIGEST_MD5)) == NULL)
		die("out of memory");
	buf_init(&cb, 0);
	buf_init(&ob, 0);
	buf_init(&mb, 0);
	buf_init(&lb, 0);

	/* Pass 1: index every certificate, spilling its bytes. */
	progress_start(&prog, ctx, "reading", keyset_iter_total(it));
	for (;;) {
		struct merge_entry *e;

		if ((r = next_cert(it, &cert, &skipped)) <= 0) {
			rc = r;
			break;
		}
		if (nents == alloc) {
			alloc = alloc == 0 ? 1024 : alloc * 2;
			ents = xreallocarray(ents, alloc, sizeof(*ents));
		}
		if (nsrcs == 0 || strcmp(srcs[nsrcs - 1],
		    keyset_iter_source(it)) != 0) {
			srcs = xreallocarray(srcs, nsrcs + 1, sizeof(*srcs));
			srcs[nsrcs++] = xstrdup(keyset_iter_source(it));
		}
		e = &ents[nents];
		memset(e->key, 0, sizeof(e->key));
		e->offset = cert.offset;
		e->src = nsrcs - 1;
		if (cert.has_primary) {
			e->key[0] = cert.primary.fprlen;
			memcpy(e->key + 1, cert.primary.fpr,
			    cert.primary.fprlen);
		} else {
			/* Bare revocations merge only with identical ones. */
			e->key[0] = 0xff;
			pgp_cert_sks_hash(&cert, md5, e->key + 1);
		}
		buf_reset(&cb);
		if (pgp_cert_write(&cb, &cert) != 0)
			die("out of memory");
		e->seq = nents;
		e->off = spilled;
		e->len = cb.len;
		if (fwrite(cb.p, 1, cb.len, spill) != cb.len)
			die("cannot write the temporary file: %s",
			    strerror(errno));
		spilled += cb.len;
		nents++;
		progress_update(&prog, keyset_iter_done(it), nents);
	}
	progress_end(&prog);
	keyset_iter_free(it);
	if (rc == 0 && fflush(spill) != 0)
		rc = error("cannot write the temporary file: %s",
		    strerror(errno));
	if (rc != 0)
		goto cleanup;

	/*
	 * Group versions of one certificate; keep first-appearance order.
	 * (qsort's array may not be NULL, even for no elements.)
	 */
	if (nents > 0)
		qsort(ents, nents, sizeof(*ents), merge_entry_cmp);
	groups = xcalloc(nents + 1, sizeof(*groups));
	for (size_t i = 0; i < nents; i++) {
		if (i == 0 || memcmp(ents[i].key, ents[i - 1].key,
		    sizeof(ents[i].key)) != 0) {
			groups[ngroups].first = i;
			groups[ngroups].seq = ents[i].seq;
			ngroups++;
		}
		groups[ngroups - 1].n++;
	}
	if (ngroups > 0)
		qsort(groups, ngroups, sizeof(*groups), merge_group_cmp);

	if (cert_out_open(&out, path, armor) != 0) {
		rc = -1;
		goto cleanup;
	}
	for (size_t g = 0; g < ngroups && rc == 0; g++) {
		struct merge_entry *e = &ents[groups[g].first];
		struct pgps_err err = PGPS_ERR_INIT;
		struct pgp_cert_merge_report rep;
		size_t n = groups[g].n, apart = 0;

		if (merge_versions(spill, e, n, &vs, &mb, &rep, &err) != 0) {
			warn("'%s': offset %llu: %s; the certificate is left "
			    "out", srcs[e[0].src],
			    (unsigned long long)e[0].offset, err.msg);
			skipped += n;
			continue;
		}
		for (size_t k = 1; k < n; k++) {
			if (!vs.apart[k])
				continue;
			warn("'%s': offset %llu: a different primary key with "
			    "the fingerprint of the certificate first seen in "
			    "'%s' at offset %llu; this version is left out",
			    srcs[e[k].src], (unsigned long long)e[k].offset,
			    srcs[e[0].src], (unsigned long long)e[0].offset);
			skipped++;
			apart++;
		}
		merged += rep.new_versions;
		dups += n - apart - 1 - rep.new_versions;
		if (rep.dropped_secret > 0)
			warn("'%s': offset %llu: %zu secret key%s dropped, with "
			    "the signatures under %s", srcs[e[0].src],
			    (unsigned long long)e[0].offset, rep.dropped_secret,
			    rep.dropped_secret == 1 ? "" : "s",
			    rep.dropped_secret == 1 ? "it" : "them");
		if (limits) {
			/* Name where the certificate was first seen. */
			if (pgp_cert_parse(&cert, mb.p, mb.len, e[0].offset,
			    &err) != 0)
				die("cannot re-read a merged certificate: %s",
				    err.msg);
			buf_reset(&lb);
			r = apply_limits(&cert, &lim, srcs[e[0].src], &lb, &fc,
			    &err);
			if (r == 1) {
				warn("%s", err.msg);
				refused++;
				continue;
			}
			if (r < 0) {
				warn("%s", err.msg);
				skipped++;
				continue;
			}
			buf_swap(&lb, &mb);
		}
		if (cert_out_write(mb.p, mb.len, &out) != 0)
			rc = -1;
	}
	if (cert_out_close(&out, rc == 0) != 0)
		rc = -1;
	if (rc == 0) {
		if (ctx->json) {
			json_t *o = json_object();

			json_object_set_new(o, "read", json_integer(
			    (json_int_t)nents));
			json_object_set_new(o, "written", json_integer(
			    (json_int_t)(ngroups - refused)));
			json_object_set_new(o, "merged", json_integer(
			    (json_int_t)merged));
			json_object_set_new(o, "duplicates", json_integer(
			    (json_int_t)dups));
			json_object_set_new(o, "refused", json_integer(
			    (json_int_t)refused));
			json_object_set_new(o, "skipped", json_integer(
			    (json_int_t)skipped));
			json_dumpf(o, stderr, JSON_INDENT(2) | JSON_SORT_KEYS);
			fputc('\n', stderr);
			json_decref(o);
		} else
			info(ctx, "%zu certificates read, %llu written, %llu "
			    "versions merged in, %llu duplicates dropped, "
			    "%llu refused by the limits, %llu skipped", nents,
			    (unsigned long long)(ngroups - refused),
			    (unsigned long long)merged,
			    (unsigned long long)dups,
			    (unsigned long long)refused,
			    (unsigned long long)skipped);
	}
 cleanup:
	if (spill != NULL)
		fclose(spill);
	for (size_t i = 0; i < nsrcs; i++)
		free(srcs[i]);
	free(srcs);
	free(ents);
	free(groups);
	buf_release(&cb);
	buf_release(&ob);
	buf_release(&mb);
	buf_release(&lb);
	pgp_cert_release(&cert);
	for (size_t k = 0; k < vs.alloc; k++)
		pgp_cert_release(&vs.c[k]);
	free(vs.c);
	free(vs.v);
	free(vs.apart);
	buf_release(&vs.bytes);
	digest_free(md5);
	return finish(ctx, rc, skipped, refused);
}
