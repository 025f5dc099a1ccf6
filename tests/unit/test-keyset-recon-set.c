/*
 * test-keyset-recon-set.c: the local side of a reconciliation
 * (keyset/recon-set.h): the elements of a dump (each SKS hash once, what
 * SKS would not store counted apart), the cache of hashes and prefix tree
 * taken only while the files are unchanged and whole, certificates read
 * back by hash (armored ones once serving), and certificates fetched from
 * a peer written into a directory as a new file and into the cache, or
 * into a store as one commit under the lock the set holds for the run.
 */
#include "util/common.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <dirent.h>
#include <unistd.h>

#include "tap.h"
#include "data.h"
#include "keyset/recon-set.h"
#include "net/recon.h"
#include "util/digest.h"

static char dir[64];

static size_t warnings;

static void
warned(const char *msg, void *arg)
{
	(void)arg;
	diag("warning: %s", msg);
	warnings++;
}

static const struct keyset_rset_hooks hooks = { 0, warned, NULL, NULL };

/* The SKS hash of the certificate of tests/data file rel. */
static void
hash_of(uint8_t h[16], const char *rel)
{
	struct pgp_cert c = PGP_CERT_INIT;
	struct digest *md5 = digest_new(DIGEST_MD5);
	struct buf bin = BUF_INIT;
	size_t len;
	uint8_t *p = data_slurp(rel, &len);

	if (pgp_armor_detect(p, len) ? pgp_armor_decode(&bin, p, len, 0,
	    NULL) != 0 : buf_add(&bin, p, len) != 0)
		exit(1);
	if (md5 == NULL || pgp_cert_parse(&c, bin.p, bin.len, 0, NULL) != 0 ||
	    pgp_cert_sks_hash(&c, md5, h) != 0)
		exit(1);
	pgp_cert_release(&c);
	digest_free(md5);
	buf_release(&bin);
	free(p);
}

/* Writes the tests/data files rels (NULL-ended) one after the other. */
static void
write_set(const char *path, const char *const *rels)
{
	FILE *f = fopen(path, "wb");

	if (f == NULL)
		exit(1);
	for (size_t i = 0; rels[i] != NULL; i++) {
		size_t len;
		uint8_t *p = data_slurp(rels[i], &len);

		if (fwrite(p, 1, len, f) != len)
			exit(1);
		free(p);
	}
	if (fclose(f) != 0)
		exit(1);
}

static const char *
in_dir(const char *name)
{
	static char path[2][256];
	static int k;

	k ^= 1;
	snprintf(path[k], sizeof(path[k]), "%s/%s", dir, name);
	return path[k];
}

static struct keyset_rset *
open_set(const char *spec)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct keyset_rset *s = NULL;

	if (keyset_rset_open(&s, spec, false, &hooks, &err) != 0) {
		diag("%s: %s", spec, err.msg);
		keyset_rset_free(s);
		return NULL;
	}
	return s;
}

/* Whether the set gives the certificate of hash h back, and as that. */
static bool
reads_back(struct keyset_rset *s, const uint8_t h[16])
{
	struct pgp_cert c = PGP_CERT_INIT;
	struct digest *md5 = digest_new(DIGEST_MD5);
	struct buf b = BUF_INIT;
	uint8_t got[16];
	bool ok;

	ok = keyset_rset_read(h, &b, s) == 1 &&
	    pgp_cert_parse(&c, b.p, b.len, 0, NULL) == 0 &&
	    pgp_cert_sks_hash(&c, md5, got) == 0 && memcmp(got, h, 16) == 0;
	pgp_cert_release(&c);
	digest_free(md5);
	buf_release(&b);
	return ok;
}

static void
test_file(void)
{
	static const char *const set[] = { "certs/alice.pgp", "certs/bob.pgp",
	    "certs/alice-later.pgp", "certs/bob.pgp",
	    "certs/alice-revocation-only.pgp", NULL };
	static const char *const more[] = { "certs/alice.pgp",
	    "certs/bob.pgp", "certs/alice-later.pgp", "certs/bob.pgp",
	    "certs/alice-revocation-only.pgp", "certs/alice-nouid.pgp",
	    NULL };
	struct keyset_rset *s;
	char path[256];
	uint8_t ha[16], hb[16], none[16];
	struct stat st;
	FILE *f;

	hash_of(ha, "certs/alice.pgp");
	hash_of(hb, "certs/bob.pgp");
	memset(none, 0x5a, sizeof(none));
	snprintf(path, sizeof(path), "%s", in_dir("set.pgp"));
	write_set(path, set);
	if ((s = open_set(path)) == NULL)
		exit(1);
	is_int(keyset_rset_count(s), 4, "a dump: each SKS hash once");
	is_int(keyset_rset_excluded(s), 0, "none excluded");
	is_int(keyset_rset_skipped(s), 0, "nothing damaged");
	ok(!keyset_rset_cached(s), "first open: built");
	is_int(recon_ptree_count(keyset_rset_tree(s)), 4, "the tree holds "
	    "every element");
	ok(reads_back(s, ha) && reads_back(s, hb), "certificates read back "
	    "by hash");
	ok(keyset_rset_read(none, &(struct buf)BUF_INIT, s) == 0,
	    "an unknown hash is not found");
	ok(stat(in_dir("set.pgp.index"), &st) != 0, "nothing cached before "
	    "a reconciliation went through");
	keyset_rset_cache(s);
	keyset_rset_free(s);
	ok(stat(in_dir("set.pgp.index"), &st) == 0 &&
	    stat(in_dir("set.pgp.ptree"), &st) == 0, "hashes and tree cached");

	s = open_set(path);
	ok(s != NULL && keyset_rset_cached(s), "unchanged: the cache is used");
	ok(s != NULL && keyset_rset_count(s) == 4,
	    "with the elements it was saved with");
	ok(s != NULL && reads_back(s, hb), "a cached set reads back too");
	keyset_rset_free(s);

	/* A rewrite, even to the same size, changes the stamp. */
	sleep(1);
	write_set(path, more);
	s = open_set(path);
	ok(s != NULL && !keyset_rset_cached(s) && keyset_rset_count(s) == 5,
	    "a changed file is hashed again: %zu",
	    s != NULL ? keyset_rset_count(s) : 0);
	keyset_rset_cache(s);
	keyset_rset_free(s);

	/* A damaged cache is not used. */
	if (truncate(in_dir("set.pgp.index"), 100) != 0)
		exit(1);
	s = open_set(path);
	ok(s != NULL && !keyset_rset_cached(s) && keyset_rset_count(s) == 5,
	    "a truncated index is not used");
	keyset_rset_cache(s);
	keyset_rset_free(s);
	/* A tree with more elements than the hashes cannot be theirs. */
	if ((f = fopen(in_dir("set.pgp.ptree"), "wb")) == NULL ||
	    fclose(f) != 0)
		exit(1);
	s = open_set(path);
	ok(s != NULL && !keyset_rset_cached(s) && keyset_rset_count(s) == 5,
	    "a damaged tree is not used");
	keyset_rset_free(s);
}

/* The number of pgpsync-*.pgp files in the directory set. */
static int
new_files(const char *d)
{
	struct dirent *de;
	DIR *dd = opendir(d);
	int n = 0;

	if (dd == NULL)
		return -1;
	while ((de = readdir(dd)) != NULL)
		n += strncmp(de->d_name, "pgpsync-", 8) == 0;
	closedir(dd);
	return n;
}

/* Starts a hashquery server on 127.0.0.1 answering from the set p. */
static struct net_hq_server *
serve(struct keyset_rset *p, struct net_allow *allow, char *url, size_t n)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct net_hq_server *srv = NULL;

	if (net_allow_add(allow, "127.0.0.1", &err) != 0 ||
	    net_hq_server_start(&srv, "127.0.0.1", 0, allow, keyset_rset_read,
	    p, &err) != 0) {
		diag("%s", err.msg);
		exit(1);
	}
	net_recon_http_url(url, n, "127.0.0.1", net_hq_server_port(srv));
	return srv;
}

static void
test_dir_and_fetch(void)
{
	static const char *const bin[] = { "certs/alice.pgp", NULL };
	static const char *const asc[] = { "keys/erin-ed25519.asc",
	    "keys/v6-rfc9580.asc", NULL };
	static const char *const peer[] = { "certs/alice.pgp",
	    "certs/bob.pgp", NULL };
	struct pgps_err err = PGPS_ERR_INIT;
	struct keyset_recon_fetch kf;
	struct keyset_rset_added added;
	struct keyset_rset *s, *p;
	struct net_hq_server *srv;
	struct net_allow *allow = net_allow_new();
	struct recon_elem want[2];
	char d[300], url[128];
	uint8_t he[16];

	snprintf(d, sizeof(d), "%s/d", dir);
	if (mkdir(d, 0700) != 0)
		exit(1);
	write_set(in_dir("d/a.pgp"), bin);
	write_set(in_dir("d/b.asc"), asc);
	write_set(in_dir("peer.pgp"), peer);
	hash_of(he, "keys/erin-ed25519.asc");
	if ((s = open_set(d)) == NULL || (p = open_set(in_dir("peer.pgp"))) ==
	    NULL)
		exit(1);
	is_int(keyset_rset_count(s), 2, "a directory: binary and armored");
	is_int(keyset_rset_excluded(s), 1, "a v6 key is excluded");
	ok(keyset_rset_read(he, &(struct buf)BUF_INIT, s) == 0,
	    "an armored certificate is not read before serving");
	keyset_rset_serving(s);
	ok(reads_back(s, he), "an armored certificate is read once serving");
	keyset_rset_cache(s);

	/* What the peer has and we lack: bob, and one it does not have. */
	hash_of(want[0].b, "certs/bob.pgp");
	memset(want[1].b, 0xee, 16);
	if (want[1].b[0] < want[0].b[0]) {
		struct recon_elem t = want[0];

		want[0] = want[1];
		want[1] = t;
	}
	srv = serve(p, allow, url, sizeof(url));
	ok(keyset_rset_fetch(s, url, want, 2, 10000, &kf, &err) == 0 &&
	    kf.fetched == 1, "fetched the one the peer has: %s", err.msg);
	net_hq_server_stop(srv);
	net_allow_free(allow);
	ok(keyset_rset_written(s) != NULL && new_files(d) == 1,
	    "into one new file: %s", keyset_rset_written(s) != NULL ?
	    keyset_rset_written(s) : "none");
	ok(keyset_rset_add(s, "test", &added, &err) == 0 &&
	    keyset_rset_count(s) == 3, "the new file joins the elements");
	keyset_rset_free(s);
	keyset_rset_free(p);
	s = open_set(d);
	ok(s != NULL && keyset_rset_cached(s) && keyset_rset_count(s) == 3 &&
	    reads_back(s, want[0].b[0] == 0xee ? want[1].b : want[0].b),
	    "the cache was brought up to date with the new file");
	keyset_rset_free(s);
}

/*
 * Whether another process fails to open the store at spec for writing
 * (locks are per process).
 */
static bool
other_cannot_lock(const char *spec)
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		struct pgps_err err = PGPS_ERR_INIT;
		struct keyset *ks = NULL;

		setenv("PGPSYNC_LOCK_TIMEOUT", "0", 1);
		_exit(keyset_open(&ks, spec, KEYSET_WRITE, NULL, &err) != 0 &&
		    strstr(err.msg, "another pgpsync") != NULL ? 0 : 1);
	}
	return pid > 0 && waitpid(pid, &status, 0) == pid &&
	    WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static void
test_store(void)
{
	static const char *const peer[] = { "certs/alice.pgp",
	    "certs/bob.pgp", "certs/alice-later.pgp", NULL };
	struct pgps_err err = PGPS_ERR_INIT;
	struct keyset_commit_info ci;
	struct keyset_recon_fetch kf;
	struct keyset_rset_added added;
	struct keyset_rset *s, *p;
	struct keyset *ks = NULL;
	struct net_allow *allow = net_allow_new();
	struct net_hq_server *srv;
	struct recon_elem want[2];
	struct stat st;
	char spec[300], url[128];
	size_t len;
	uint8_t *cert = data_slurp("certs/alice.pgp", &len);

	/* A store holding alice. */
	snprintf(spec, sizeof(spec), "store:%s/st", dir);
	if (keyset_open(&ks, spec, KEYSET_WRITE | KEYSET_CREATE, NULL,
	    &err) != 0 || keyset_put(ks, cert, len, "alice", 0, &err) != 0 ||
	    keyset_commit(ks, "test", &ci, &err) != 0) {
		diag("%s", err.msg);
		exit(1);
	}
	keyset_close(ks);
	free(cert);
	if ((s = open_set(spec)) == NULL)
		exit(1);
	is_int(keyset_rset_count(s), 1, "a store: its index's hashes");
	ok(!keyset_rset_cached(s), "a store: tree built");
	ok(other_cannot_lock(spec), "the set holds the store's lock for the "
	    "session");
	keyset_rset_cache(s);
	ok(stat(in_dir("st/pgpsync/ptree-commit"), &st) == 0,
	    "the tree cached for the commit");

	/* What the peer has and the store lacks: bob and alice-later. */
	write_set(in_dir("speer.pgp"), peer);
	if ((p = open_set(in_dir("speer.pgp"))) == NULL)
		exit(1);
	hash_of(want[0].b, "certs/bob.pgp");
	hash_of(want[1].b, "certs/alice-later.pgp");
	qsort(want, 2, sizeof(want[0]), recon_elem_cmp);
	srv = serve(p, allow, url, sizeof(url));
	ok(keyset_rset_fetch(s, url, want, 2, 10000, &kf, &err) == 0 &&
	    kf.fetched == 2 && keyset_rset_written(s) == NULL,
	    "a store: fetched aside: %s", err.msg);
	net_hq_server_stop(srv);
	net_allow_free(allow);
	ok(keyset_rset_add(s, "test", &added, &err) == 0 && added.committed,
	    "a store: one commit through the set's own lock: %s", err.msg);
	is_int(added.put_new, 1, "bob is new");
	is_int(added.put_merged, 1, "alice-later merged into alice");
	is_int(added.other_hash, 1, "merged alice held under its own hash");
	is_int(keyset_rset_count(s), 2, "the elements follow the commit");
	keyset_rset_free(s);
	keyset_rset_free(p);
	s = open_set(spec);
	ok(s != NULL && keyset_rset_cached(s) && keyset_rset_count(s) == 2,
	    "the tree cached for the new commit");
	keyset_rset_free(s);
}

static void
test_errors(void)
{
	static const char *const sec[] = { "keys/dana-ed25519-secret.asc",
	    NULL };
	struct pgps_err err = PGPS_ERR_INIT;
	struct keyset_rset *s = NULL;
	char d[300];

	snprintf(d, sizeof(d), "%s/sec", dir);
	if (mkdir(d, 0700) != 0)
		exit(1);
	write_set(in_dir("sec/a.pgp"), (const char *const []){
	    "certs/alice.pgp", NULL });
	write_set(in_dir("sec/s.asc"), sec);
	warnings = 0;
	s = open_set(d);
	ok(s != NULL && keyset_rset_count(s) == 1 &&
	    keyset_rset_skipped(s) == 1 && warnings == 1,
	    "a secret key is reported and left out, the others kept");
	keyset_rset_free(s);
	s = NULL;
	warnings = 0;

	ok(keyset_rset_open(&s, in_dir("missing.pgp"), false, &hooks,
	    &err) != 0 && strstr(err.msg, "missing.pgp") != NULL,
	    "a missing set is an error naming it: %s", err.msg);
	keyset_rset_free(s);
	s = NULL;
	pgps_err_clear(&err);
	ok(keyset_rset_open(&s, "-", false, &hooks, &err) != 0,
	    "standard input cannot be reconciled");
	keyset_rset_free(s);
}

int
main(int argc, char **argv)
{
	char cmd[128];

	(void)argc;
	data_dir_set(argv[0]);
	snprintf(dir, sizeof(dir), "/tmp/test-keyset-recon-set.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return 1;
	test_file();
	test_dir_and_fetch();
	test_store();
	test_errors();
	is_int(warnings, 0, "no warnings");
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		diag("cannot remove %s", dir);
	return done_testing();
}
