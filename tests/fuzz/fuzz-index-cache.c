/*
 * fuzz-index-cache.c: the on-disk cache of an index (index_cache_load())
 * on arbitrary bytes.
 *
 * The input is written to a file and loaded with the stamp and number of
 * sources its own header names, so that mutations get past the header to
 * the entries.  Besides memory errors it checks what the loader promises:
 * it answers 0 (loaded), 1 (rebuild) or an error; what it loads names
 * only sources that exist and keys of a possible length, is saved again
 * by index_cache_save() and then loads the same.
 */
#include "util/common.h"

#include <unistd.h>

#include "keyset/index.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[256];

static void
fail(const char *what)
{
	fprintf(stderr, "fuzz-index-cache: %s\n", what);
	abort();
}

static uint64_t
le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static int
write_file(const char *path, const uint8_t *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	int r = 0;

	if (f == NULL)
		return -1;
	if (n > 0 && fwrite(p, 1, n, f) != n)
		r = -1;
	if (fclose(f) != 0)
		r = -1;
	return r;
}

/* The scratch directory goes when the run ends. */
static void
cleanup(void)
{
	char p[300];

	snprintf(p, sizeof(p), "%s/cache", dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/cache2", dir);
	unlink(p);
	rmdir(dir);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct index_entry *v = NULL, *w = NULL;
	uint8_t stamp[32];
	uint64_t nsources = 1, extra = 0, extra2 = 0;
	size_t n = 0, m = 0;
	char path[300], path2[300];
	int r;

	if (size > (1 << 20))
		return 0;
	if (dir[0] == '\0') {
		const char *t = getenv("TMPDIR");

		snprintf(dir, sizeof(dir), "%s/fuzz-index-cache.XXXXXX",
		    t != NULL && *t != '\0' ? t : "/tmp");
		if (mkdtemp(dir) == NULL)
			fail("no temporary directory");
		atexit(cleanup);
	}
	snprintf(path, sizeof(path), "%s/cache", dir);
	snprintf(path2, sizeof(path2), "%s/cache2", dir);
	memset(stamp, 0, sizeof(stamp));
	if (size >= 48) {
		memcpy(stamp, data + 8, 32);
		nsources = le64(data + 40);
	}
	if (write_file(path, data, size) != 0)
		fail("cannot write the input");
	r = index_cache_load(path, stamp, nsources, &v, &n, &extra, &err);
	if (r < 0 && r != PGPS_ENOMEM)
		fail("an error other than out of memory");
	if (r == 1 && v != NULL)
		fail("nothing loaded, yet entries");
	if (r == 0) {
		for (size_t i = 0; i < n; i++)
			if (v[i].src >= nsources ||
			    (v[i].key[0] != INDEX_KEY_BARE &&
			    v[i].key[0] > PGP_FPR_MAX))
				fail("an entry out of bounds loaded");
		if (index_cache_save(path2, stamp, nsources, v, n, extra,
		    &err) != 0)
			fail(err.msg);
		if (index_cache_load(path2, stamp, nsources, &w, &m, &extra2,
		    &err) != 0 || m != n || extra2 != extra)
			fail("a saved cache does not load again");
		for (size_t i = 0; i < n; i++)
			if (index_entry_cmp(&v[i], &w[i]) != 0 ||
			    v[i].src != w[i].src || v[i].offset != w[i].offset ||
			    v[i].len != w[i].len)
				fail("a saved cache loads otherwise");
	}
	free(v);
	free(w);
	unlink(path);
	unlink(path2);
	return 0;
}
