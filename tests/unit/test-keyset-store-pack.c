/*
 * test-keyset-store-pack.c: the store's object writer (store-pack.c),
 * read back by git itself (git fsck --strict --full, which checks every
 * object's SHA-1 and the index's CRC-32s; git cat-file; git verify-pack)
 * and by libgit2: loose objects, one pack of many objects, empty and
 * large objects, objects put twice, objects handed in already packed, and
 * nothing left behind by a writer that never finished.
 */
#include "util/common.h"

#include <sys/stat.h>
#include <dirent.h>
#include <stdarg.h>
#include <unistd.h>

#include <git2.h>

#include "keyset/store-int.h"
#include "util/buf.h"
#include "util/digest.h"
#include "util/hex.h"

#include "tap.h"

static char top[1024];

/* Runs a shell command made from fmt; its exit status. */
static int
sh(const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;
	int r;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	r = system(cmd);
	return r == -1 || !WIFEXITED(r) ? -1 : WEXITSTATUS(r);
}

/* A new bare repository top/name; its git directory in dir. */
static git_repository *
new_repo(char *dir, size_t n, const char *name)
{
	git_repository *repo = NULL;

	snprintf(dir, n, "%s/%s", top, name);
	if (git_repository_init(&repo, dir, 1) != 0)
		return NULL;
	snprintf(dir, n, "%s", git_repository_path(repo));
	return repo;
}

/* Deterministic contents: len bytes from seed. */
static void
fill(uint8_t *p, size_t len, uint32_t seed)
{
	uint32_t x = seed * 2654435761u + 1;

	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (uint8_t)x;
	}
}

/* Files in gitdir/objects/pack whose names end in suffix. */
static int
count_files(const char *gitdir, const char *prefix, const char *suffix)
{
	char path[4096];
	struct dirent *e;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "%s/objects/pack", gitdir);
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		size_t l = strlen(e->d_name), sl = strlen(suffix);

		if (strncmp(e->d_name, prefix, strlen(prefix)) == 0 &&
		    l >= sl && strcmp(e->d_name + l - sl, suffix) == 0)
			n++;
	}
	closedir(d);
	return n;
}

/* Reads blob oid with git cat-file into out; 0 on success. */
static int
git_cat(const char *gitdir, const uint8_t oid[OID_LEN], struct buf *out)
{
	char cmd[8192], hex[2 * OID_LEN + 1];
	uint8_t b[65536];
	size_t n;
	FILE *f;

	hex_encode_lower(hex, oid, OID_LEN);
	snprintf(cmd, sizeof(cmd), "git --git-dir='%s' cat-file blob %s",
	    gitdir, hex);
	if ((f = popen(cmd, "r")) == NULL)
		return -1;
	buf_reset(out);
	while ((n = fread(b, 1, sizeof(b), f)) > 0)
		buf_add(out, b, n);
	return pclose(f) == 0 ? 0 : -1;
}

/* True when libgit2 reads object oid back as p[0..len). */
static bool
odb_has(git_odb *odb, const uint8_t oid[OID_LEN], git_object_t type,
    const uint8_t *p, size_t len)
{
	git_odb_object *o;
	git_oid id;
	bool same;

	memcpy(id.id, oid, OID_LEN);
	if (git_odb_read(&o, odb, &id) != 0)
		return false;
	same = git_odb_object_type(o) == type &&
	    git_odb_object_size(o) == len &&
	    (len == 0 || memcmp(git_odb_object_data(o), p, len) == 0);
	git_odb_object_free(o);
	return same;
}

static void
test_object_id(void)
{
	struct digest *sha1 = digest_new(DIGEST_SHA1);
	uint8_t oid[OID_LEN];
	char hex[2 * OID_LEN + 1];

	/* What "git hash-object" prints for these. */
	objw_object_id(sha1, OBJ_BLOB, (const uint8_t *)"", 0, oid);
	hex_encode_lower(hex, oid, OID_LEN);
	is_str(hex, "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391",
	    "the empty blob's id");
	objw_object_id(sha1, OBJ_BLOB, (const uint8_t *)"hello\n", 6, oid);
	hex_encode_lower(hex, oid, OID_LEN);
	is_str(hex, "ce013625030ba8dba906f756967f9e9ca394464a",
	    "a blob's id");
	objw_object_id(sha1, OBJ_TREE, (const uint8_t *)"", 0, oid);
	hex_encode_lower(hex, oid, OID_LEN);
	is_str(hex, "4b825dc642cb6eb9a060e54bf8d69288fbee4904",
	    "the empty tree's id");
	digest_free(sha1);
}

static void
test_pack_object(void)
{
	static const size_t sizes[] = { 0, 1, 15, 16, 65534, 65535, 65536,
	    131071, 200000 };
	struct buf pk = BUF_INIT, back = BUF_INIT;
	uint8_t *p = malloc(200000);
	bool all = true;

	buf_init(&pk, 0);
	buf_init(&back, 0);
	for (size_t i = 0; i < PGPS_ARRAY_SIZE(sizes); i++) {
		uint32_t crc;
		size_t h;

		fill(p, sizes[i], (uint32_t)i);
		buf_reset(&pk);
		if (objw_pack_object(&pk, OBJ_BLOB, p, sizes[i], &crc,
		    &h) != 0 || objw_unpack_stored(&back, pk.p + h,
		    pk.len - h, sizes[i]) != 0 || back.len != sizes[i] ||
		    (sizes[i] > 0 && memcmp(back.p, p, sizes[i]) != 0)) {
			diag("size %zu", sizes[i]);
			all = false;
		}
	}
	ok(all, "packed objects of every block boundary unpack as they were");
	free(p);
	buf_release(&pk);
	buf_release(&back);
}

static void
test_nothing(void)
{
	git_repository *repo;
	git_odb *odb = NULL;
	struct objw w;
	struct pgps_err err = PGPS_ERR_INIT;
	char dir[4096];

	repo = new_repo(dir, sizeof(dir), "empty");
	git_repository_odb(&odb, repo);
	objw_init(&w);
	is_int(objw_finish(&w, odb, dir, &err), 0, "no objects: nothing to do");
	is_int(count_files(dir, "", ".pack"), 0, "and no pack written");
	objw_release(&w);
	git_odb_free(odb);
	git_repository_free(repo);
}

static void
test_loose(void)
{
	git_repository *repo;
	git_odb *odb = NULL;
	struct objw w;
	struct pgps_err err = PGPS_ERR_INIT;
	struct buf got = BUF_INIT;
	uint8_t oid[3][OID_LEN], p[3000];
	size_t k, k2;
	char dir[4096];

	buf_init(&got, 0);
	repo = new_repo(dir, sizeof(dir), "loose");
	git_repository_odb(&odb, repo);
	objw_init(&w);
	fill(p, sizeof(p), 7);
	ok(objw_add(&w, dir, OBJ_BLOB, p, 0, oid[0], &k, &err) == 0 &&
	    objw_add(&w, dir, OBJ_BLOB, p, 1000, oid[1], &k, &err) == 0 &&
	    objw_add(&w, dir, OBJ_BLOB, p, 3000, oid[2], &k, &err) == 0,
	    "three blobs added");
	ok(objw_add(&w, dir, OBJ_BLOB, p, 1000, oid[1], &k2, &err) == 0 &&
	    k2 == 1 && w.n == 3, "the same blob again is not added twice");
	ok(objw_read(&w, 2, &got, &err) == 0 && got.len == 3000 &&
	    memcmp(got.p, p, 3000) == 0, "read back before it is written");
	is_int(objw_finish(&w, odb, dir, &err), 0, "written");
	is_int(count_files(dir, "", ".pack"), 0, "as loose objects");
	ok(odb_has(odb, oid[0], GIT_OBJECT_BLOB, p, 0) &&
	    odb_has(odb, oid[1], GIT_OBJECT_BLOB, p, 1000) &&
	    odb_has(odb, oid[2], GIT_OBJECT_BLOB, p, 3000),
	    "libgit2 reads them");
	ok(git_cat(dir, oid[2], &got) == 0 && got.len == 3000 &&
	    memcmp(got.p, p, 3000) == 0, "git cat-file reads them");
	is_int(sh("git --git-dir='%s' fsck --strict --full --no-dangling "
	    ">/dev/null 2>&1", dir), 0, "git fsck finds them sound");
	objw_release(&w);
	buf_release(&got);
	git_odb_free(odb);
	git_repository_free(repo);
}

/* Many blobs of many sizes, some put twice, one handed in packed. */
static void
test_pack_many(void)
{
	enum { N = 3000 };
	git_repository *repo;
	git_odb *odb = NULL;
	struct objw w;
	struct pgps_err err = PGPS_ERR_INIT;
	struct buf got = BUF_INIT, pk = BUF_INIT;
	uint8_t (*oid)[OID_LEN] = calloc(N + 1, OID_LEN), *p = malloc(5000);
	size_t k, bad = 0, h;
	uint32_t crc;
	char dir[4096];
	bool added = true;

	buf_init(&got, 0);
	buf_init(&pk, 0);
	repo = new_repo(dir, sizeof(dir), "many");
	git_repository_odb(&odb, repo);
	objw_init(&w);
	for (uint32_t i = 0; i < N && added; i++) {
		fill(p, i % 5000, i);
		added = objw_add(&w, dir, OBJ_BLOB, p, i % 5000, oid[i], &k,
		    &err) == 0 && k == i;
		if (i % 100 == 0)
			added = added && objw_add(&w, dir, OBJ_BLOB, p,
			    i % 5000, oid[i], &k, &err) == 0 && k == i;
	}
	ok(added && w.n == N, "%d objects added, each once", N);
	ok(w.fd >= 0 && count_files(dir, "tmp_pgpsync_", "") == 1,
	    "they went to a temporary pack");
	/* One more, packed by the caller (as store_prepare() does). */
	fill(p, 4321, 99999);
	objw_object_id(w.sha1, OBJ_BLOB, p, 4321, oid[N]);
	ok(objw_pack_object(&pk, OBJ_BLOB, p, 4321, &crc, &h) == 0 &&
	    objw_put(&w, dir, OBJ_BLOB, oid[N], NULL, 4321, pk.p, pk.len, h,
	    crc, &k, &err) == 0 && k == N, "an object handed in packed");
	ok(objw_read(&w, 1234, &got, &err) == 0 && got.len == 1234,
	    "read back from the unfinished pack");
	is_int(objw_presum(&w, N + 1, &err), 0, "the checksum starts early");
	is_int(objw_finish(&w, odb, dir, &err), 0, "written: %s", err.msg);
	is_int(count_files(dir, "pack-", ".pack"), 1, "one pack");
	is_int(count_files(dir, "pack-", ".idx"), 1, "with its index");
	is_int(count_files(dir, "tmp_", ""), 0, "no temporary file left");
	for (uint32_t i = 0; i < N; i++) {
		fill(p, i % 5000, i);
		bad += !odb_has(odb, oid[i], GIT_OBJECT_BLOB, p, i % 5000);
	}
	fill(p, 4321, 99999);
	bad += !odb_has(odb, oid[N], GIT_OBJECT_BLOB, p, 4321);
	is_int(bad, 0, "libgit2 reads every object back");
	ok(git_cat(dir, oid[4999 % N], &got) == 0,
	    "git cat-file reads one");
	is_int(sh("test \"$(git --git-dir='%s' cat-file --batch-all-objects "
	    "--batch-check | wc -l)\" = %d", dir, N + 1), 0,
	    "git counts every object");
	is_int(sh("git --git-dir='%s' verify-pack '%s'/objects/pack/*.idx",
	    dir, dir), 0, "git verify-pack accepts the pack and index");
	is_int(sh("git --git-dir='%s' index-pack -o '%s/check.idx' "
	    "'%s'/objects/pack/pack-*.pack >/dev/null && "
	    "cmp '%s/check.idx' '%s'/objects/pack/pack-*.idx", dir, top, dir,
	    top, dir), 0, "git index-pack writes the very same index");
	is_int(sh("git --git-dir='%s' fsck --strict --full --no-dangling "
	    ">/dev/null 2>&1", dir), 0,
	    "git fsck finds every object sound (CRC-32, SHA-1)");
	objw_release(&w);
	buf_release(&got);
	buf_release(&pk);
	free(oid);
	free(p);
	git_odb_free(odb);
	git_repository_free(repo);
}

/* Objects past 64 KiB blocks and past the loose limit by size alone. */
static void
test_large(void)
{
	static const size_t sizes[] = { 0, 65535, 65536, 2 * 65535 + 1,
	    LOOSE_MAX_BYTES + 1 };
	git_repository *repo;
	git_odb *odb = NULL;
	struct objw w;
	struct pgps_err err = PGPS_ERR_INIT;
	uint8_t oid[PGPS_ARRAY_SIZE(sizes)][OID_LEN];
	uint8_t *p = malloc(LOOSE_MAX_BYTES + 1);
	size_t k, bad = 0;
	char dir[4096];
	bool added = true;

	repo = new_repo(dir, sizeof(dir), "large");
	git_repository_odb(&odb, repo);
	objw_init(&w);
	for (size_t i = 0; i < PGPS_ARRAY_SIZE(sizes) && added; i++) {
		fill(p, sizes[i], (uint32_t)i);
		added = objw_add(&w, dir, OBJ_BLOB, p, sizes[i], oid[i], &k,
		    &err) == 0;
	}
	ok(added && w.fd >= 0, "a 16 MiB blob sends every object to a pack");
	is_int(objw_finish(&w, odb, dir, &err), 0, "written: %s", err.msg);
	for (size_t i = 0; i < PGPS_ARRAY_SIZE(sizes); i++) {
		fill(p, sizes[i], (uint32_t)i);
		bad += !odb_has(odb, oid[i], GIT_OBJECT_BLOB, p, sizes[i]);
	}
	is_int(bad, 0, "libgit2 reads them back");
	is_int(sh("git --git-dir='%s' fsck --strict --full --no-dangling "
	    ">/dev/null 2>&1", dir), 0, "git fsck --strict finds them sound");
	is_int(sh("git --git-dir='%s' verify-pack '%s'/objects/pack/*.idx",
	    dir, dir), 0, "git verify-pack accepts them");
	objw_release(&w);
	free(p);
	git_odb_free(odb);
	git_repository_free(repo);
}

static void
test_abandoned(void)
{
	git_repository *repo;
	struct objw w;
	struct pgps_err err = PGPS_ERR_INIT;
	uint8_t oid[OID_LEN], p[100];
	size_t k;
	char dir[4096];
	bool added = true;

	repo = new_repo(dir, sizeof(dir), "abandoned");
	objw_init(&w);
	for (uint32_t i = 0; i < 2 * LOOSE_MAX_OBJECTS && added; i++) {
		fill(p, sizeof(p), i);
		added = objw_add(&w, dir, OBJ_BLOB, p, sizeof(p), oid, &k,
		    &err) == 0;
	}
	ok(added && count_files(dir, "tmp_pgpsync_", "") == 1,
	    "a pack under way");
	objw_release(&w);
	is_int(count_files(dir, "", ""), 2, "released: nothing but . and ..");
	git_repository_free(repo);
}

int
main(void)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(top, sizeof(top), "%s/pgps-pack.XXXXXX",
	    tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
	if (mkdtemp(top) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
	setenv("GIT_CONFIG_GLOBAL", "/dev/null", 1);
	git_libgit2_init();
	test_object_id();
	test_pack_object();
	test_nothing();
	test_loose();
	test_pack_many();
	test_large();
	test_abandoned();
	git_libgit2_shutdown();
	sh("rm -rf '%s'", top);
	return done_testing();
}
