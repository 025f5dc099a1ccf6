/*
 * test-keyset-index.c: the index of a key set (keyset/index.h) and the
 * parallel map under it (keyset/par.h): entries in input order on any
 * number of threads, the same as on the calling thread alone; SKS hashes
 * equal to hashing each certificate by itself; damage and secret keys
 * skipped with a warning while the certificates around them are kept;
 * bytes of sources that cannot be read again travel with their entries;
 * a callback can stop the run.
 */
#include "util/common.h"

#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

#include "tap.h"
#include "data.h"
#include "keyset/index.h"
#include "util/buf.h"

#define MAX_ENTRIES	4096

struct got {
	struct index_entry	 e[MAX_ENTRIES];
	size_t			 n;
	size_t			 warnings;
	size_t			 progress;
	size_t			 bytes_ok;	/* entries, bytes matching */
	size_t			 stop_at;	/* 0: never */
	const uint8_t		*file;		/* the input, for bytes */
};

static int
take(const struct index_entry *e, const uint8_t *bytes, void *arg)
{
	struct got *g = arg;

	if (g->n < MAX_ENTRIES)
		g->e[g->n++] = *e;
	if (bytes != NULL && g->file != NULL &&
	    memcmp(bytes, g->file + e->offset, (size_t)e->len) == 0)
		g->bytes_ok++;
	return g->stop_at != 0 && g->n == g->stop_at ? 42 : 0;
}

static void
warned(const char *msg, void *arg)
{
	struct got *g = arg;

	(void)msg;
	g->warnings++;
}

static void
progressed(uint64_t done, uint64_t certs, void *arg)
{
	struct got *g = arg;

	(void)done;
	(void)certs;
	g->progress++;
}

static bool
always(const char *source, void *arg)
{
	(void)source;
	(void)arg;
	return true;
}

/* Writes p[0..len) to a new temporary file; its path in path. */
static void
write_tmp(char path[64], const uint8_t *p, size_t len)
{
	FILE *f;
	int fd;

	snprintf(path, 64, "/tmp/test-keyset-index.XXXXXX");
	if ((fd = mkstemp(path)) < 0 || (f = fdopen(fd, "wb")) == NULL ||
	    fwrite(p, 1, len, f) != len || fclose(f) != 0)
		exit(1);
}

/* Indexes path with spec (jobs threads, or index_read() when jobs < 0). */
static int
run(struct got *g, const char *path, struct index_spec *spec, int jobs,
    struct keyset_par_result *res)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct index_sources src = INDEX_SOURCES_INIT;
	const char *specs[1] = { path };
	struct keyset_iter *it;
	int rc;

	g->n = g->warnings = g->progress = g->bytes_ok = 0;
	spec->entry = take;
	spec->warn = warned;
	spec->progress = progressed;
	spec->arg = g;
	spec->jobs = jobs < 0 ? 0 : jobs;
	if (keyset_iter_open(&it, specs, 1, &err) != 0) {
		diag("%s", err.msg);
		return -1;
	}
	rc = jobs < 0 ? index_read(it, spec, &src, res, &err) :
	    index_hash(it, spec, &src, res, &err);
	if (rc == 0 && (src.n != 1 || strcmp(src.name[0], path) != 0))
		rc = -2;
	index_sources_release(&src);
	keyset_iter_free(it);
	return rc;
}

static bool
same_entries(const struct got *a, const struct got *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (memcmp(&a->e[i], &b->e[i], sizeof(a->e[i])) != 0)
			return false;
	return true;
}

/* Whether the cache kept what index_cache_save() was given. */
static bool
same_cached(const struct index_entry *a, const struct index_entry *b,
    size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (memcmp(a[i].key, b[i].key, INDEX_KEY_LEN) != 0 ||
		    memcmp(a[i].hash, b[i].hash, 16) != 0 ||
		    a[i].version != b[i].version ||
		    a[i].has_sks != b[i].has_sks || a[i].src != b[i].src ||
		    a[i].offset != b[i].offset || a[i].len != b[i].len)
			return false;
	return true;
}

static void
test_cache(const char *set, const struct got *g)
{
	struct pgps_err err = PGPS_ERR_INIT;
	const char *files[1] = { set };
	struct index_entry *v = NULL;
	struct timespec ts[2];
	uint8_t stamp[32], again[32], other[32];
	char cache[80];
	uint64_t extra = 0;
	size_t n = 0;
	struct stat st;
	FILE *f;

	snprintf(cache, sizeof(cache), "%s.index", set);
	is_int(index_stamp(stamp, files, 1, &err), 0, "cache: a stamp");
	index_stamp(again, files, 1, &err);
	ok(memcmp(stamp, again, 32) == 0, "cache: the same files, the same");
	is_int(index_cache_save(cache, stamp, 1, g->e, g->n, 7, &err), 0,
	    "cache: saved");
	is_int(index_cache_load(cache, stamp, 1, &v, &n, &extra, &err), 0,
	    "cache: loaded");
	ok(n == g->n && same_cached(v, g->e, n), "cache: the same entries");
	is_int(extra, 7, "cache: the caller's value");
	free(v);
	v = NULL;

	is_int(index_cache_load(cache, stamp, 2, &v, &n, &extra, &err), 1,
	    "cache: not for another number of sources");
	memset(other, 0, sizeof(other));
	is_int(index_cache_load(cache, other, 1, &v, &n, &extra, &err), 1,
	    "cache: not for another stamp");
	is_int(index_cache_load("/nonexistent/x.index", stamp, 1, &v, &n,
	    &extra, &err), 1, "cache: none there");

	/* A changed file (same size, other time) has another stamp. */
	stat(set, &st);
	ts[0] = st.st_atim;
	ts[1] = st.st_mtim;
	ts[1].tv_sec -= 10;
	utimensat(AT_FDCWD, set, ts, 0);
	index_stamp(again, files, 1, &err);
	ok(memcmp(stamp, again, 32) != 0, "cache: a rewritten file, no longer");

	/* Cut short, and a source out of range: rebuild, do not trust. */
	truncate(cache, (off_t)(8 + 32 + 24 + 71 * 2 + 5));
	is_int(index_cache_load(cache, stamp, 1, &v, &n, &extra, &err), 1,
	    "cache: a truncated cache is not used");
	index_cache_save(cache, stamp, 1, g->e, 2, 0, &err);
	if ((f = fopen(cache, "r+b")) != NULL) {
		/* entry 1's source: after head, key, hash, version, flags */
		fseek(f, 8 + 32 + 24 + 71 + 33 + 16 + 2, SEEK_SET);
		fputc(9, f);
		fclose(f);
	}
	is_int(index_cache_load(cache, stamp, 1, &v, &n, &extra, &err), 1,
	    "cache: an entry of an unknown source is not used");

	files[0] = "/nonexistent/set.pgp";
	ok(index_stamp(again, files, 1, &err) < 0 &&
	    strstr(err.msg, "/nonexistent/set.pgp") != NULL,
	    "cache: a missing file is an error naming it");
	pgps_err_clear(&err);
	ok(index_cache_save("/nonexistent/x.index", stamp, 1, g->e, 1, 0,
	    &err) < 0 && strstr(err.msg, "/nonexistent/x.index") != NULL,
	    "cache: an unwritable place is an error naming it");
	unlink(cache);
}

int
main(int argc, char **argv)
{
	static struct got g1, g3, gs, gb;
	static const char *certs[] = { "certs/alice.pgp", "certs/bob.pgp",
	    "certs/alice-later.pgp" };
	struct pgp_cert c = PGP_CERT_INIT;
	struct keyset_par_result res;
	struct index_spec spec = INDEX_SPEC_INIT;
	struct digest *md5 = digest_new(DIGEST_MD5);
	struct buf all = BUF_INIT, one[3];
	uint8_t want[3][16], *p;
	char path[64], path2[64];
	size_t len, rounds = 400, ok_hash = 0;
	bool ordered = true;

	(void)argc;
	data_dir_set(argv[0]);
	buf_init(&all, 0);
	for (size_t k = 0; k < 3; k++) {
		p = data_slurp(certs[k], &len);
		buf_init(&one[k], 0);
		buf_add(&one[k], p, len);
		free(p);
		if (pgp_cert_parse(&c, one[k].p, one[k].len, 0, NULL) != 0 ||
		    pgp_cert_sks_hash(&c, md5, want[k]) != 0)
			return 1;
	}
	/* 1,200 certificates: more than one batch of 1,024. */
	for (size_t i = 0; i < rounds; i++)
		for (size_t k = 0; k < 3; k++)
			buf_add(&all, one[k].p, one[k].len);
	write_tmp(path, all.p, all.len);

	spec.sks = true;
	is_int(run(&g1, path, &spec, 1, &res), 0, "one thread: indexed");
	is_int(g1.n, 3 * rounds, "one entry per certificate");
	is_int(res.certs, 3 * rounds, "all counted");
	is_int(res.skipped, 0, "none skipped");
	ok(g1.progress > 0, "progress was reported");
	for (size_t i = 0; i < g1.n; i++) {
		if (i > 0 && g1.e[i].offset <= g1.e[i - 1].offset)
			ordered = false;
		if (g1.e[i].has_sks && memcmp(g1.e[i].hash, want[i % 3],
		    16) == 0)
			ok_hash++;
	}
	ok(ordered, "entries in input order");
	is_int(ok_hash, g1.n, "every SKS hash as for the certificate alone");
	is_int(g1.e[0].key[0], 20, "a v4 fingerprint has 20 octets");
	is_int(g1.e[0].version, 4, "and its key version");
	is_int(g1.e[1].offset, one[0].len, "offsets are file offsets");
	is_int(g1.e[1].len, one[1].len, "lengths are certificate lengths");

	test_cache(path, &g1);
	is_int(run(&g3, path, &spec, 3, &res), 0, "three threads: indexed");
	ok(same_entries(&g1, &g3), "the same entries as one thread");
	is_int(run(&gs, path, &spec, -1, &res), 0, "calling thread alone");
	ok(same_entries(&g1, &gs), "the same entries as the workers");

	spec.sks = false;
	is_int(run(&gb, path, &spec, 2, &res), 0, "without SKS hashes");
	ok(gb.n == g1.n && !gb.e[0].has_sks && !gb.e[1].has_sks,
	    "no SKS hashes then");
	ok(memcmp(gb.e[2].key, g1.e[2].key, INDEX_KEY_LEN) == 0,
	    "but the same keys");

	spec.sks = true;
	spec.keep_bytes = always;
	gb.file = all.p;
	is_int(run(&gb, path, &spec, 2, &res), 0, "bytes kept: indexed");
	is_int(gb.bytes_ok, gb.n, "every entry came with its own bytes");
	gb.bytes_ok = 0;
	is_int(run(&gb, path, &spec, -1, &res), 0, "alone, bytes kept");
	is_int(gb.bytes_ok, gb.n, "every entry came with its own bytes");
	spec.keep_bytes = NULL;
	gb.file = NULL;

	gb.stop_at = 5;
	is_int(run(&gb, path, &spec, 2, &res), 42,
	    "the entry callback stops the run with its code");
	is_int(run(&gb, path, &spec, -1, &res), 42, "alone too");
	ok(gb.n == 5, "no entry after the stop");
	gb.stop_at = 0;

	/* alice, garbage, a secret key, bob: two kept, two warnings. */
	buf_reset(&all);
	buf_add(&all, one[0].p, one[0].len);
	buf_addstr(&all, "\x01\x02\x03 this is not OpenPGP");
	p = data_slurp("packets/secret-key.bin", &len);
	buf_add(&all, p, len);
	free(p);
	buf_add(&all, one[1].p, one[1].len);
	write_tmp(path2, all.p, all.len);
	is_int(run(&gb, path2, &spec, 2, &res), 0, "damaged input: indexed");
	is_int(gb.n, 2, "the certificates around the damage are kept");
	ok(gb.n == 2 && memcmp(gb.e[1].hash, want[1], 16) == 0,
	    "the one after it is whole");
	is_int(res.skipped, 2, "the damage and the secret key are skipped");
	is_int(gb.warnings, 2, "each with a warning");
	is_int(run(&gb, path2, &spec, -1, &res), 0, "alone: the same");
	ok(gb.n == 2 && res.skipped == 2 && gb.warnings == 2,
	    "two kept, two skipped, two warnings");

	unlink(path);
	unlink(path2);
	for (size_t k = 0; k < 3; k++)
		buf_release(&one[k]);
	buf_release(&all);
	pgp_cert_release(&c);
	digest_free(md5);
	return done_testing();
}
