/*
 * test-keyset-refresh.c: what a lookup's answers bring to a key set's
 * copy (keyset/refresh.h): the verdict for no answer, a failed and a
 * mismatched lookup; a new key, an update counted by kind, an answer the
 * set already has; a bare revocation for a key not held; a certificate
 * over the limits; several keys matching an address; and the counting of
 * changes on a flood, which must stay near linear.  And a whole run
 * against the stub server tests/hkpd: verdicts per key, the state
 * recorded, the next run asking by hashquery first.
 *
 * Alice and Bob are tests/data/certs (see mkkeys.sh): alice-later adds a
 * user ID, a subkey and Bob's certification to alice.
 */
#include "util/common.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "keyset/keyset.h"
#include "keyset/refresh.h"
#include "keyset/remote.h"
#include "keyset/state.h"
#include "net/net.h"
#include "openpgp/openpgp.h"
#include "util/clock.h"
#include "util/digest.h"
#include "tap.h"
#include "data.h"

static char dir[] = "/tmp/test-keyset-refresh.XXXXXX";

struct file {
	uint8_t		*p;
	size_t		 len;
};

static struct file alice, later, bob, revonly, bare;

static void
load(struct file *f, const char *rel)
{
	f->p = data_slurp(rel, &f->len);
}

/* f without its first packet: a key revocation without its key. */
static void
bare_of(struct file *out, const struct file *f)
{
	struct pgp_cert c = PGP_CERT_INIT;
	size_t skip;

	if (pgp_cert_parse(&c, f->p, f->len, 0, NULL) != 0 || c.npkts < 2)
		exit(1);
	skip = c.pkts[0].rawlen;
	pgp_cert_release(&c);
	out->p = f->p + skip;
	out->len = f->len - skip;
}

/* A dump file holding what is given, opened read-only. */
static struct keyset *
set_of(const char *name, const struct file *a, const struct file *b)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct keyset *ks = NULL;
	char path[256];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((fp = fopen(path, "wb")) == NULL)
		exit(1);
	if (a != NULL)
		fwrite(a->p, 1, a->len, fp);
	if (b != NULL)
		fwrite(b->p, 1, b->len, fp);
	fclose(fp);
	if (keyset_open(&ks, path, 0, NULL, &err) != 0) {
		diag("%s", err.msg);
		exit(1);
	}
	return ks;
}

static void
fpr_of(char *out, const struct file *f)
{
	struct pgp_cert c = PGP_CERT_INIT;

	if (pgp_cert_parse(&c, f->p, f->len, 0, NULL) != 0)
		exit(1);
	pgp_key_fpr_hex(out, &c.primary);
	pgp_cert_release(&c);
}

/* A lookup of alice by fingerprint, answered with what is given. */
static void
ask(struct remote_key *k, const struct file *answer, bool held)
{
	struct import_query q;
	struct pgp_cert c = PGP_CERT_INIT;

	memset(k, 0, sizeof(*k));
	fpr_of(k->fpr, &alice);
	k->kind = NET_QUERY_FPR;
	k->idlen = strlen(k->fpr) / 2;
	for (size_t i = 0; i < k->idlen; i++)
		sscanf(k->fpr + 2 * i, "%2hhx", &k->id[i]);
	memset(&q, 0, sizeof(q));
	q.kind = IMPORT_BY_FPR;
	memcpy(q.id, k->id, k->idlen);
	q.idlen = k->idlen;
	q.known_primary = held;
	if (held && pgp_cert_parse(&c, alice.p, alice.len, 0, NULL) == 0)
		q.known = &c.pkts[0];
	if (answer != NULL)
		import_set_add_answer(&k->cand, &q, answer->p, answer->len,
		    "https://ks.example");
	import_set_resolve(&k->cand, &q);
	pgp_cert_release(&c);
}

static struct refresh rf;

static int
decide(struct keyset *ks, const struct remote_key *k,
    const struct pgp_limits *lim)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct pgp_limits def;
	int r;

	pgp_limits_default(&def);
	r = refresh_decide(&rf, ks, k, lim != NULL ? lim : &def, 0, &err);

	if (r != 0)
		diag("%s", err.msg);
	return r;
}

static void
test_no_answer(void)
{
	struct keyset *ks = set_of("held", &alice, NULL);
	struct remote_key k;

	ask(&k, NULL, true);
	ok(decide(ks, &k, NULL) == 0 && rf.res == REFRESH_NOT_FOUND &&
	    strcmp(rf.why, "not found on any keyserver") == 0,
	    "no answer: not found");
	k.failures = 1;
	ok(decide(ks, &k, NULL) == 0 && rf.res == REFRESH_FAILED &&
	    rf.why[0] == '\0', "a failed server: failed, its reason kept");
	k.mismatches = 1;
	ok(decide(ks, &k, NULL) == 0 && rf.res == REFRESH_REFUSED &&
	    rf.why[0] == '\0', "answers about other keys: refused");
	import_set_release(&k.cand);

	ask(&k, &bob, true);
	ok(decide(ks, &k, NULL) == 0 && rf.res == REFRESH_NOT_FOUND,
	    "only another key's certificate: nothing taken");
	import_set_release(&k.cand);
	keyset_close(ks);
}

static void
test_verdicts(void)
{
	struct keyset *held = set_of("held2", &alice, &bob);
	struct keyset *empty = set_of("empty", NULL, NULL);
	struct keyset *has_later = set_of("later", &later, NULL);
	struct pgp_limits lim;
	struct remote_key k;
	size_t sum = 0;

	ask(&k, &later, true);
	ok(decide(held, &k, NULL) == 0 && rf.res == REFRESH_UPDATED,
	    "a later version updates the copy");
	is_int(rf.changes[PGP_CHANGE_UID], 1, "+1 user ID");
	is_int(rf.changes[PGP_CHANGE_SUBKEY], 1, "+1 subkey");
	is_int(rf.changes[PGP_CHANGE_CERTIFICATION], 1,
	    "+1 certification (Bob's)");
	is_int(rf.changes[PGP_CHANGE_EXPIRY], 1, "+1 expiry change");
	for (size_t i = 0; i < REFRESH_NKINDS; i++)
		sum += rf.changes[i];
	ok(sum == 4 && rf.changes[PGP_CHANGE_SELF_SIG] == 0,
	    "the new user ID's and subkey's own signatures are not counted");
	ok(rf.cert.len >= later.len, "the merged certificate is handed back");

	ok(decide(empty, &k, NULL) == 0 && rf.res == REFRESH_NEW,
	    "a set without the key: new");
	ok(decide(has_later, &k, NULL) == 0 && rf.res == REFRESH_UNCHANGED,
	    "a set that has it all: unchanged");

	pgp_limits_default(&lim);
	lim.max_cert_size = 100;
	ok(decide(empty, &k, &lim) == 0 && rf.res == REFRESH_REFUSED &&
	    strncmp(rf.why, "over the limits: ", 17) == 0,
	    "over the limits: refused, and said so");
	import_set_release(&k.cand);

	/* The revocation without its key, for a lookup of a key the
	 * caller knows: it goes nowhere when the set lacks the key. */
	ask(&k, &bare, true);
	ok(k.cand.n == 1 && k.cand.items[0].verdict == IMPORT_MERGE,
	    "a bare revocation of alice is taken for merging");
	ok(decide(empty, &k, NULL) == 0 && rf.res == REFRESH_REFUSED &&
	    strstr(rf.why, "not in the keyring") != NULL,
	    "only a revocation, for a key the set lacks: refused");
	import_set_release(&k.cand);

	keyset_close(held);
	keyset_close(empty);
	keyset_close(has_later);
}

static void
test_kept(void)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct buf a = BUF_INIT, b = BUF_INIT, junk = BUF_INIT;
	size_t n[REFRESH_NKINDS], sum = 0;

	buf_add(&a, alice.p, alice.len);
	buf_add(&b, later.p, later.len);
	buf_add(&junk, "\xff\xff", 2);
	ok(refresh_kept(n, &a, &b, &err) == 0 && n[PGP_CHANGE_UID] == 1 &&
	    n[PGP_CHANGE_SUBKEY] == 1, "what was kept, counted by kind");
	ok(refresh_kept(n, &b, &b, &err) == 0, "the same twice");
	for (size_t i = 0; i < REFRESH_NKINDS; i++)
		sum += n[i];
	is_int(sum, 0, "kept nothing");
	ok(refresh_kept(n, &a, &junk, &err) != 0 && err.msg[0] != '\0',
	    "an unreadable copy is an error");
	buf_release(&a);
	buf_release(&b);
	buf_release(&junk);
}

static void
test_count_flood(void)
{
	size_t nch = 200000, n[REFRESH_NKINDS];
	struct pgp_change *ch = calloc(nch, sizeof(*ch));
	double t;

	/* 100000 new user IDs, each with one self-signature. */
	for (size_t i = 0; i < nch; i += 2) {
		ch[i].kind = PGP_CHANGE_UID;
		ch[i].pkt = ch[i].comp = i + 1;
		ch[i + 1].kind = PGP_CHANGE_SELF_SIG;
		ch[i + 1].pkt = i + 2;
		ch[i + 1].comp = i + 1;
	}
	t = clock_s();
	ok(refresh_count_changes(n, ch, nch) == 0, "a flood of changes");
	is_int(n[PGP_CHANGE_UID], nch / 2, "each user ID counted");
	is_int(n[PGP_CHANGE_SELF_SIG], 0, "their signatures folded in");
	/* Quadratic counting would take minutes; this is generous. */
	ok(clock_s() - t < 10, "in bounded time");
	/* A signature on an old component, or on the primary key, counts. */
	ch[1].comp = 999999999;
	ch[3].comp = SIZE_MAX;
	ok(refresh_count_changes(n, ch, 4) == 0 &&
	    n[PGP_CHANGE_SELF_SIG] == 2, "signatures on old components count");
	ok(refresh_count_changes(n, NULL, 0) == 0 && n[PGP_CHANGE_UID] == 0,
	    "no change");
	free(ch);
}

/* --- a run against tests/hkpd ----------------------------------------- */

#define HKPD	"tests/hkpd/hkpd"

static pid_t hkpd_pid;
static char hkpd_url[64], hkpd_log[300];

/* Starts hkpd on dir, answering a lookup of fpr with alice-later. */
static bool
hkpd_start(const char *fpr)
{
	char portfile[300], route[200], path[300];
	struct buf arm = BUF_INIT;
	unsigned int port;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/routes", dir);
	if ((fp = fopen(path, "w")) == NULL)
		return false;
	fclose(fp);
	snprintf(path, sizeof(path), "%s/later.http", dir);
	if (pgp_armor_encode(&arm, later.p, later.len, PGP_ARMOR_PUBLIC_KEY,
	    0) != 0 || (fp = fopen(path, "w")) == NULL)
		return false;
	fprintf(fp, "HTTP/1.1 200 OK\r\nContent-Type: application/pgp-keys"
	    "\r\n\r\n%s", (const char *)arm.p);
	fclose(fp);
	buf_release(&arm);
	snprintf(route, sizeof(route), "GET /pks/lookup?op=get&options=mr&"
	    "search=0x%s file later.http", fpr);
	snprintf(portfile, sizeof(portfile), "%s/port", dir);
	snprintf(hkpd_log, sizeof(hkpd_log), "%s/log", dir);
	fflush(stdout);
	if ((hkpd_pid = fork()) < 0)
		return false;
	if (hkpd_pid == 0) {
		setenv("HKPD_LOG", hkpd_log, 1);
		execl(HKPD, HKPD, "-d", dir, "-t", "60", "-r", route,
		    "-r", "POST /pks/hashquery status 500", "-r",
		    "GET /pks/lookup status 404", portfile, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 500; i++) {
		if ((fp = fopen(portfile, "r")) != NULL) {
			bool got = fscanf(fp, "%u", &port) == 1;

			fclose(fp);
			if (got) {
				snprintf(hkpd_url, sizeof(hkpd_url),
				    "hkp://127.0.0.1:%u", port);
				return true;
			}
		}
		clock_sleep_s(0.01);
	}
	return false;
}

static void
hkpd_stop(void)
{
	char path[300];

	if (hkpd_pid > 0) {
		kill(hkpd_pid, SIGTERM);
		waitpid(hkpd_pid, NULL, 0);
	}
	for (const char *const *f = (const char *const[]){ "routes",
	    "later.http", "port", "log", NULL }; *f != NULL; f++) {
		snprintf(path, sizeof(path), "%s/%s", dir, *f);
		unlink(path);
	}
}

/* How many lines of the stub's log hold s. */
static int
log_count(const char *s)
{
	char line[4096];
	int n = 0;
	FILE *fp = fopen(hkpd_log, "r");

	while (fp != NULL && fgets(line, sizeof(line), fp) != NULL)
		n += strncmp(line, "req ", 4) == 0 && strstr(line, s) != NULL;
	if (fp != NULL)
		fclose(fp);
	return n;
}

static struct refresh_key *done_keys[4];
static size_t ndone, nresolved, nbatches;

static int
on_batch(void *arg)
{
	(void)arg;
	nbatches++;
	return 0;
}

static void
on_done(struct refresh_key *k, void *arg)
{
	(void)arg;
	if (ndone < 4)
		done_keys[ndone] = k;
	ndone++;
}

static void
on_resolved(struct refresh_key *k, void *arg)
{
	(void)k;
	(void)arg;
	nresolved++;
}

/*
 * One run over alice and a key no server has, with the state st; all at
 * once with refresh_run_all() when delay >= 0.
 */
static int
run_with(struct keyset *ks, struct state *st, struct refresh_key *keys,
    double delay, long deadline_ms)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct refresh_run *r = NULL;
	struct refresh_opts o;
	uint8_t fpr[20];
	char hex[41];
	int rc;

	memset(&o, 0, sizeof(o));
	net_opts_default(&o.remote.net);
	o.remote.net.retries = 0;
	o.remote.servers[0] = hkpd_url;
	o.remote.nservers = 1;
	pgp_limits_default(&o.lim);
	o.st = st;
	o.record = true;
	o.now = 1000;
	o.resolved = on_resolved;
	o.done = on_done;
	o.batch_done = on_batch;
	o.delay = delay > 0 ? delay : 0;
	o.deadline_ms = deadline_ms;
	fpr_of(hex, &alice);
	for (size_t i = 0; i < 20; i++)
		sscanf(hex + 2 * i, "%2hhx", &fpr[i]);
	refresh_key_init(&keys[0]);
	refresh_key_set_fpr(&keys[0], fpr, 20);
	memset(fpr, 0x42, sizeof(fpr));
	refresh_key_init(&keys[1]);
	refresh_key_set_fpr(&keys[1], fpr, 20);
	ndone = nresolved = nbatches = 0;
	if ((rc = refresh_run_new(&r, ks, &o, &err)) == 0 &&
	    (rc = delay < 0 ? refresh_run_keys(r, keys, 0, 2, &err) :
	    refresh_run_all(r, keys, 2, &err)) != 0)
		diag("%s", err.msg);
	refresh_run_free(r);
	return rc;
}

static int
run(struct keyset *ks, struct state *st, struct refresh_key *keys)
{
	return run_with(ks, st, keys, -1, 0);
}

static void
test_run(void)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct refresh_key keys[2];
	struct keyset *ks;
	struct state *st = NULL;
	struct state_key sk;
	char fa[41];
	double t;

	if (access(HKPD, X_OK) != 0) {
		ok(1, "# SKIP no " HKPD " (make tests/hkpd/hkpd)");
		return;
	}
	fpr_of(fa, &alice);
	ok(hkpd_start(fa), "the stub server is up");
	ks = set_of("run", &alice, NULL);
	ok(state_open(&st, "/nonexistent/pgpsync-test/state.json",
	    STATE_READ_ONLY, &err) == 0, "a state in memory");
	is_int(run(ks, st, keys), 0, "a run of two keys");
	is_int(ndone, 2, "each key reported once");
	is_int(nresolved, 1, "the one with answers resolved");
	is_int(keys[0].res, REFRESH_UPDATED, "alice updated");
	is_int(keys[0].changes[PGP_CHANGE_SUBKEY], 1, "+1 subkey");
	ok(keys[0].work.len > 0, "her certificate for the set");
	is_int(keys[1].res, REFRESH_NOT_FOUND, "the other not found");
	ok(state_get(st, fa, &sk) && sk.checked == 1000 && sk.has_hash &&
	    sk.server != NULL && strstr(hkpd_url + 3, sk.server + 4) != NULL,
	    "the state has alice's answer: time, server, hash");
	ok(state_get(st, keys[1].rk.fpr, &sk) && sk.checked == 1000 &&
	    !sk.has_hash, "and that the other had no copy");
	is_int(log_count("POST /pks/hashquery"), 0, "no hashquery at first");
	refresh_key_release(&keys[0]);
	refresh_key_release(&keys[1]);

	is_int(run(ks, st, keys), 0, "a second run");
	ok(state_get(st, fa, &sk) && keys[0].rk.hq_server == 0 &&
	    memcmp(keys[0].rk.hq_hash, sk.hash, 16) == 0,
	    "alice is known by the hash her server sent: a hashquery hint");
	is_int(keys[1].rk.hq_server, -1, "the other is not");
	is_int(log_count("POST /pks/hashquery"), 0,
	    "(one key is too few for a hashquery)");
	is_int(keys[0].res, REFRESH_UPDATED, "alice updated again");
	refresh_key_release(&keys[0]);
	refresh_key_release(&keys[1]);

	is_int(run_with(ks, st, keys, 0, 0), 0, "refresh_run_all()");
	ok(ndone == 2 && nbatches == 1, "two keys in one batch");
	refresh_key_release(&keys[0]);
	refresh_key_release(&keys[1]);
	t = clock_s();
	is_int(run_with(ks, st, keys, 30, 1000), 0,
	    "with a delay of 30 s and a deadline of 1 s");
	ok(ndone == 2 && nbatches == 2, "one key per batch");
	ok(clock_s() - t < 10, "the pause is cut short by the deadline");
	ok(keys[0].res != REFRESH_PENDING && keys[1].res != REFRESH_PENDING,
	    "each decided (the second may be cut short by the deadline)");
	refresh_key_release(&keys[0]);
	refresh_key_release(&keys[1]);
	state_free(st);
	keyset_close(ks);
	hkpd_stop();
}

int
main(int argc, char **argv)
{
	char path[300];

	(void)argc;
	data_dir_set(argv[0]);
	if (mkdtemp(dir) == NULL)
		return 1;
	load(&alice, "certs/alice.pgp");
	load(&later, "certs/alice-later.pgp");
	load(&bob, "certs/bob.pgp");
	load(&revonly, "certs/alice-revocation-only.pgp");
	bare_of(&bare, &revonly);
	refresh_init(&rf);
	test_no_answer();
	test_verdicts();
	test_kept();
	test_count_flood();
	test_run();
	refresh_release(&rf);
	free(alice.p);
	free(later.p);
	free(bob.p);
	free(revonly.p);
	for (const char *const *f = (const char *const[]){ "held", "held2",
	    "empty", "later", "run", NULL }; *f != NULL; f++) {
		snprintf(path, sizeof(path), "%s/%s", dir, *f);
		unlink(path);
	}
	rmdir(dir);
	return done_testing();
}
