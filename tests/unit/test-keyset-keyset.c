/*
 * test-keyset-keyset.c: the key-set interface (keyset.h) on every backend:
 * spec parsing, open, lookup, put with its verdicts, commit and close,
 * for a dump file, a directory of dumps, a GnuPG keyring (a temporary
 * GNUPGHOME) and a store.
 *
 * The certificates are tests/data/certs (mkkeys.sh): alice at two points
 * in time, alice's key revocation as keys.openpgp.org serves it, and bob.
 */
#include "util/common.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <dirent.h>
#include <unistd.h>

#include "keyset/gpg.h"
#include "keyset/keyset.h"
#include "openpgp/openpgp.h"
#include "tap.h"
#include "data.h"

struct file {
	uint8_t	*p;
	size_t	 len;
	char	 fpr[KEYSET_FPR_HEX];
};

static struct file alice, later, revonly, bob, bare, forged;

static void
load(struct file *f, const char *name)
{
	char rel[512];
	struct pgp_cert c = PGP_CERT_INIT;

	snprintf(rel, sizeof(rel), "certs/%s", name);
	f->p = data_slurp(rel, &f->len);
	if (pgp_cert_parse(&c, f->p, f->len, 0, NULL) == 0 && c.has_primary)
		pgp_key_fpr_hex(f->fpr, &c.primary);
	pgp_cert_release(&c);
}

/* The key revocation of alice-revocation-only without its key. */
static void
make_bare(void)
{
	struct pgp_cert c = PGP_CERT_INIT;
	struct buf b = BUF_INIT;

	if (pgp_cert_parse(&c, revonly.p, revonly.len, 0, NULL) != 0 ||
	    c.npkts < 2 || pgp_packet_write(&b, &c.pkts[1]) != 0) {
		diag("cannot make the bare revocation");
		exit(1);
	}
	bare.p = buf_detach(&b, &bare.len);
	pgp_cert_release(&c);
	/* The same with its signature value damaged: it no longer verifies. */
	if ((forged.p = malloc(bare.len)) == NULL)
		exit(1);
	memcpy(forged.p, bare.p, bare.len);
	forged.len = bare.len;
	forged.p[forged.len - 2] ^= 0x55;
}

/* Verdicts as they come. */
static struct keyset_verdict got[32];
static size_t ngot;

static void
collect(const struct keyset_verdict *v, void *arg)
{
	(void)arg;
	if (ngot < PGPS_ARRAY_SIZE(got)) {
		got[ngot] = *v;
		got[ngot].source = NULL;
		ngot++;
	}
}

static int
put(struct keyset *ks, const struct file *f)
{
	struct pgps_err err = PGPS_ERR_INIT;
	int r = keyset_put(ks, f->p, f->len, "test", 7, &err);

	if (r != 0)
		diag("put: %s", err.msg);
	return r;
}

static struct keyset *
open_set(const char *spec, unsigned int flags, int *rc)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct keyset *ks = NULL;

	*rc = keyset_open(&ks, spec, flags, NULL, &err);
	if (*rc == 0)
		keyset_on_verdict(ks, collect, NULL);
	else if (err.msg[0] != '\0')
		diag("open '%s': %s", spec, err.msg);
	ngot = 0;
	return ks;
}

static int
commit(struct keyset *ks, struct keyset_commit_info *ci)
{
	struct pgps_err err = PGPS_ERR_INIT;
	int r = keyset_commit(ks, "test", ci, &err);

	if (r != 0)
		diag("commit: %s", err.msg);
	return r;
}

/* Whether the set's copy of f's key holds every packet of want. */
static bool
holds(struct keyset *ks, const char *fpr, const struct file *want)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct pgp_cert a = PGP_CERT_INIT, b = PGP_CERT_INIT;
	struct buf out = BUF_INIT;
	bool yes = false;

	if (keyset_lookup(&out, ks, fpr, &err) == 0 &&
	    pgp_cert_parse(&a, out.p, out.len, 0, NULL) == 0 &&
	    pgp_cert_parse(&b, want->p, want->len, 0, NULL) == 0)
		yes = pgp_cert_contains(&a, &b);
	pgp_cert_release(&a);
	pgp_cert_release(&b);
	buf_release(&out);
	return yes;
}

static bool
has_key(struct keyset *ks, const char *fpr)
{
	struct buf out = BUF_INIT;
	int r = keyset_lookup(&out, ks, fpr, NULL);

	buf_release(&out);
	return r == 0;
}

static void
test_spec(void)
{
	struct keyset_spec sp;

	ok(keyset_spec_parse(&sp, "gpg:", NULL) == 0 &&
	    sp.kind == KEYSET_GPG && strcmp(sp.arg, "") == 0, "gpg:");
	ok(keyset_spec_parse(&sp, "gpg:/h", NULL) == 0 &&
	    sp.kind == KEYSET_GPG && strcmp(sp.arg, "/h") == 0, "gpg:HOME");
	ok(keyset_spec_parse(&sp, "store:d@HEAD~1", NULL) == 0 &&
	    sp.kind == KEYSET_STORE && sp.rev &&
	    strcmp(sp.arg, "d@HEAD~1") == 0, "store:DIR@REV");
	ok(keyset_spec_parse(&sp, "store:", NULL) == 0 &&
	    sp.kind == KEYSET_STORE && !sp.rev, "store:");
	ok(keyset_spec_parse(&sp, "-", NULL) == 0 && sp.kind == KEYSET_STDIN,
	    "-");
	ok(keyset_spec_parse(&sp, "dump:/no/such", NULL) == 0 &&
	    sp.kind == KEYSET_DUMP && strcmp(sp.arg, "/no/such") == 0,
	    "dump:PATH");
	ok(keyset_spec_parse(&sp, "/tmp", NULL) == 0 && sp.kind == KEYSET_DIR,
	    "a directory");
	ok(keyset_spec_parse(&sp, "dump:", NULL) == PGPS_EFORMAT &&
	    keyset_spec_parse(&sp, "", NULL) == PGPS_EFORMAT, "no path");
}

static void
test_dump(const char *dir)
{
	struct keyset_commit_info ci;
	struct keyset *ks, *k2;
	struct stat st;
	char path[1024], link[1024];
	int rc;

	snprintf(path, sizeof(path), "%s/ring.pgp", dir);
	ks = open_set(path, KEYSET_WRITE, &rc);
	is_int(rc, PGPS_ENOTFOUND, "dump: a missing file is an error");
	ks = open_set(path, 0, &rc);
	is_int(rc, PGPS_ENOTFOUND, "dump: also for reading");
	ks = open_set(path, KEYSET_WRITE | KEYSET_CREATE, &rc);
	ok(rc == 0, "dump: made when asked to");
	ok(put(ks, &alice) == 0 && put(ks, &later) == 0 &&
	    put(ks, &alice) == 0 && put(ks, &bare) == 0, "dump: puts");
	put(ks, &(struct file){ (uint8_t *)"\x99\x01", 2, "" });
	put(ks, &forged);
	is_int(ngot, 6, "dump: a verdict for every put, at once");
	is_int(got[0].result, KEYSET_NEW, "dump: alice is new");
	is_str(got[0].fpr, alice.fpr, "dump: named by fingerprint");
	is_int(got[0].offset, 7, "dump: the offset given");
	is_int(got[1].result, KEYSET_CHANGED, "dump: later adds packets");
	is_int(got[1].merge.new_uids, 1, "dump: one user ID");
	is_int(got[1].merge.new_subkeys, 1, "dump: one subkey");
	is_int(got[2].result, KEYSET_UNCHANGED, "dump: alice again: nothing");
	is_int(got[3].result, KEYSET_CHANGED,
	    "dump: a bare revocation joins its key");
	is_int(got[3].merge.new_revocations, 1, "dump: one revocation");
	is_int(got[4].result, KEYSET_REFUSED, "dump: damage is refused");
	ok(got[4].why[0] != '\0', "dump: with a reason (%s)", got[4].why);
	is_int(got[5].result, KEYSET_REFUSED,
	    "dump: a revocation that does not verify is refused");
	ok(strstr(got[5].why, "verif") != NULL, "dump: saying so (%s)",
	    got[5].why);
	ok(holds(ks, alice.fpr, &later) && holds(ks, alice.fpr, &alice) &&
	    holds(ks, alice.fpr, &revonly), "dump: lookup sees the merge");
	ok(has_key(ks, alice.fpr + 24), "dump: lookup by key ID");
	ok(!has_key(ks, bob.fpr), "dump: lookup of a missing key");
	keyset_close(ks);
	ok(stat(path, &st) != 0, "dump: closed without commit: not written");

	ks = open_set(path, KEYSET_WRITE | KEYSET_CREATE, &rc);
	put(ks, &later);
	ok(commit(ks, &ci) == 0 && ci.committed, "dump: committed");
	ok(stat(path, &st) == 0, "dump: the file is there");
	keyset_close(ks);

	/* Two writers: the second to commit reads the first's work. */
	chmod(path, 0600);
	ks = open_set(path, KEYSET_WRITE, &rc);
	k2 = open_set(path, KEYSET_WRITE, &rc);
	put(ks, &bob);
	put(k2, &revonly);
	ok(commit(k2, &ci) == 0, "dump: the second writer commits first");
	ok(commit(ks, &ci) == 0, "dump: the first writer commits");
	keyset_close(ks);
	keyset_close(k2);
	ks = open_set(path, 0, &rc);
	ok(holds(ks, bob.fpr, &bob) && holds(ks, alice.fpr, &revonly) &&
	    holds(ks, alice.fpr, &later), "dump: neither writer's puts lost");
	keyset_close(ks);
	ok(stat(path, &st) == 0 && (st.st_mode & 07777) == 0600,
	    "dump: a 0600 file stays 0600");

	/* Through a symbolic link: the link stays, its target changes. */
	snprintf(link, sizeof(link), "%s/link.pgp", dir);
	ok(symlink("ring.pgp", link) == 0, "dump: a link to the file");
	ks = open_set(link, KEYSET_WRITE, &rc);
	ok(rc == 0 && put(ks, &alice) == 0 && commit(ks, &ci) == 0,
	    "dump: written through the link");
	keyset_close(ks);
	ok(lstat(link, &st) == 0 && S_ISLNK(st.st_mode),
	    "dump: the link is still a link");
}

static void
test_dir(const char *dir)
{
	struct keyset_commit_info ci;
	struct keyset *ks, *k2;
	char d[1024], path[1400], f1[sizeof(ci.file)];
	struct stat st;
	FILE *f;
	int rc;

	snprintf(d, sizeof(d), "%s/dumps", dir);
	mkdir(d, 0755);
	snprintf(path, sizeof(path), "%s/part-0007.pgp", d);
	if ((f = fopen(path, "wb")) == NULL ||
	    fwrite(bob.p, 1, bob.len, f) != bob.len || fclose(f) != 0)
		diag("cannot write %s", path);
	ks = open_set(d, KEYSET_WRITE, &rc);
	ok(rc == 0 && keyset_kind(ks) == KEYSET_DIR, "dir: opened");
	put(ks, &bob);
	put(ks, &alice);
	is_int(got[0].result, KEYSET_UNCHANGED, "dir: bob is there");
	is_int(got[1].result, KEYSET_NEW, "dir: alice is new");
	ok(commit(ks, &ci) == 0 && ci.committed, "dir: committed");
	is_str(ci.file, "part-0008.pgp", "dir: the next numbered file");
	keyset_close(ks);
	snprintf(path, sizeof(path), "%s/part-0008.pgp", d);
	ok(stat(path, &st) == 0 && (size_t)st.st_size == alice.len,
	    "dir: it holds only what changed");
	ks = open_set(d, 0, &rc);
	ok(has_key(ks, alice.fpr) && has_key(ks, bob.fpr), "dir: both read");
	keyset_close(ks);

	/* Two writers that both listed the directory: each keeps its file. */
	ks = open_set(d, KEYSET_WRITE, &rc);
	k2 = open_set(d, KEYSET_WRITE, &rc);
	put(ks, &later);
	put(k2, &revonly);
	ok(commit(ks, &ci) == 0 && ci.committed, "dir: the first commits");
	snprintf(f1, sizeof(f1), "%s", ci.file);
	ok(commit(k2, &ci) == 0 && ci.committed, "dir: so does the second");
	ok(strcmp(f1, ci.file) != 0, "dir: into another file (%s, %s)", f1,
	    ci.file);
	keyset_close(ks);
	keyset_close(k2);
	snprintf(path, sizeof(path), "%s/%s", d, f1);
	ks = open_set(path, 0, &rc);
	ok(rc == 0 && holds(ks, alice.fpr, &later),
	    "dir: the first writer's file holds its key");
	keyset_close(ks);
	snprintf(path, sizeof(path), "%s/%s", d, ci.file);
	ks = open_set(path, 0, &rc);
	ok(rc == 0 && holds(ks, alice.fpr, &revonly),
	    "dir: so does the second's");
	keyset_close(ks);
}

static void
test_gpg(const char *dir)
{
	struct keyset_commit_info ci;
	struct keyset *ks;
	char home[1024], spec[1100];
	int rc;

	snprintf(home, sizeof(home), "%s/gnupg", dir);
	mkdir(home, 0700);
	snprintf(spec, sizeof(spec), "gpg:%s", home);
	ks = open_set(spec, KEYSET_WRITE, &rc);
	ok(rc == 0, "gpg: opened");
	if (rc != 0)
		return;
	keyset_set_origin(ks, "file");
	put(ks, &alice);
	put(ks, &bare);
	is_int(ngot, 0, "gpg: verdicts wait for the batch");
	ok(commit(ks, &ci) == 0, "gpg: committed");
	is_int(ngot, 2, "gpg: then they come");
	is_int(got[0].result, KEYSET_NEW, "gpg: alice is new");
	is_int(got[1].result, KEYSET_REFUSED,
	    "gpg: a revocation of a key gpg did not have yet is refused");
	ok(holds(ks, alice.fpr, &alice), "gpg: lookup finds it");
	ngot = 0;
	put(ks, &forged);
	ok(commit(ks, &ci) == 0 && ngot == 1 &&
	    got[0].result == KEYSET_REFUSED,
	    "gpg: a revocation that does not verify is refused");
	ngot = 0;
	put(ks, &bare);
	ok(commit(ks, &ci) == 0 && ngot == 1 &&
	    got[0].result == KEYSET_CHANGED,
	    "gpg: the genuine one joins its key");
	ngot = 0;
	put(ks, &later);
	put(ks, &later);
	ok(commit(ks, &ci) == 0, "gpg: committed again");
	is_int(got[0].result, KEYSET_CHANGED, "gpg: later adds packets");
	is_int(got[1].result, KEYSET_UNCHANGED,
	    "gpg: the same again in one batch adds nothing");
	ok(keyset_gpg_totals(ks) != NULL &&
	    keyset_gpg_totals(ks)->gpg_runs >= 2, "gpg: gpg's totals");
	keyset_close(ks);

	/* A dry run decides alike and imports nothing. */
	ks = open_set(spec, KEYSET_WRITE | KEYSET_DRY_RUN, &rc);
	put(ks, &bob);
	ok(commit(ks, &ci) == 0 && ngot == 1 && got[0].result == KEYSET_NEW,
	    "gpg: dry run: bob would be new");
	ok(!has_key(ks, bob.fpr), "gpg: dry run: but is not there");
	keyset_close(ks);
}

static void
test_store(const char *dir)
{
	struct keyset_commit_info ci;
	struct keyset *ks;
	char spec[1100];
	int rc;

	snprintf(spec, sizeof(spec), "store:%s/st", dir);
	ks = open_set(spec, KEYSET_WRITE, &rc);
	is_int(rc, PGPS_ENOTFOUND, "store: a missing store is an error");
	ks = open_set(spec, 0, &rc);
	is_int(rc, PGPS_ENOTFOUND, "store: also for reading");
	ks = open_set(spec, KEYSET_WRITE | KEYSET_CREATE, &rc);
	ok(rc == 0, "store: made when asked to");
	if (rc != 0)
		return;
	put(ks, &alice);
	put(ks, &later);
	put(ks, &forged);
	put(ks, &bare);
	/* The versions of a key put before wait for the flush. */
	is_int(ngot, 1, "store: the later versions of alice wait");
	ok(keyset_flush(ks, NULL) == 0, "store: flushed");
	is_int(ngot, 4, "store: a verdict for every put");
	is_int(got[0].result, KEYSET_NEW, "store: new");
	is_int(got[1].result, KEYSET_CHANGED, "store: changed");
	is_int(got[2].result, KEYSET_REFUSED,
	    "store: a revocation that does not verify is refused");
	is_int(got[3].result, KEYSET_CHANGED, "store: the revocation joins");
	ok(commit(ks, &ci) == 0 && ci.committed && strlen(ci.commit) == 40,
	    "store: one commit");
	keyset_close(ks);
	ks = open_set(spec, 0, &rc);
	ok(rc == 0 && holds(ks, alice.fpr, &later) &&
	    holds(ks, alice.fpr, &revonly), "store: lookup after the commit");
	is_str(keyset_head(ks), ci.commit, "store: at that commit");
	keyset_close(ks);
	snprintf(spec, sizeof(spec), "store:%s/st@HEAD", dir);
	ks = open_set(spec, KEYSET_WRITE, &rc);
	ok(rc != 0 && ks == NULL, "store: a revision cannot be written");
}

int
main(int argc, char **argv)
{
	char tmpl[] = "/tmp/test-keyset.XXXXXX", cmd[256];
	const char *dir;

	(void)argc;
	data_dir_set(argv[0]);
	load(&alice, "alice.pgp");
	load(&later, "alice-later.pgp");
	load(&revonly, "alice-revocation-only.pgp");
	load(&bob, "bob.pgp");
	make_bare();
	if ((dir = mkdtemp(tmpl)) == NULL) {
		diag("mkdtemp failed");
		return 1;
	}
	setenv("XDG_DATA_HOME", dir, 1);
	test_spec();
	test_dump(dir);
	test_dir(dir);
	test_gpg(dir);
	test_store(dir);
	snprintf(cmd, sizeof(cmd), "gpgconf --homedir %s/gnupg --kill all "
	    ">/dev/null 2>&1; rm -rf %s", dir, dir);
	if (system(cmd) != 0)
		diag("cannot remove %s", dir);
	free(alice.p);
	free(later.p);
	free(revonly.p);
	free(bob.p);
	free(bare.p);
	free(forged.p);
	return done_testing();
}
