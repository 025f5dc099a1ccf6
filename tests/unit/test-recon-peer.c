/*
 * test-recon-peer.c: whole reconciliations between two in-memory sessions,
 * a driver and a responder over different sets (fixed seeds).  Each side
 * must end knowing exactly the elements it lacks, whether the difference
 * is solved at the root, needs descent through SyncFail, or falls back to
 * full element lists; bytes are passed in random-sized pieces.  Also the
 * config handshake, a scripted misbehaving driver, and replays of
 * conversations with a real SKS 1.1.6 (tests/data/recon/README).
 */
#include "util/common.h"

#include "recon/recon.h"
#include "util/buf.h"
#include "util/hex.h"
#include "util/span.h"
#include "tap.h"
#include "data.h"

#define RNG_SEED	31337
#include "rng.h"

static void
random_elem(struct recon_elem *e)
{
	rng_fill16(e->b);
}

/* Moves up to max octets (at least 1 if any) of a's output into b. */
static int
pass(struct recon_session *a, struct recon_session *b, size_t max,
    struct pgps_err *err, size_t *moved)
{
	const uint8_t *p;
	size_t n, chunk;
	int r = 0;

	recon_session_output(a, &p, &n);
	*moved = 0;
	while (n > 0) {
		chunk = max == 0 ? n : 1 + next64() % max;
		if (chunk > n)
			chunk = n;
		r = recon_session_input(b, p, chunk, err);
		recon_session_consumed(a, chunk);
		*moved += chunk;
		if (r != 0)
			break;
		recon_session_output(a, &p, &n);
	}
	return r;
}

struct result {
	int			 rd, rr;	/* driver, responder codes */
	enum recon_state	 sd, sr;
	struct pgps_err		 ed, er;
	struct recon_session_stats	 std, str;
	int			 want_ok_d, want_ok_r;
	size_t			 nwant_d, nwant_r;
};

static int
same_set(const struct recon_elem *got, size_t ngot, struct recon_elem *want,
    size_t nwant)
{
	if (ngot != nwant)
		return 0;
	qsort(want, nwant, sizeof(*want), recon_elem_cmp);
	return nwant == 0 || memcmp(got, want, nwant * sizeof(*want)) == 0;
}

/*
 * Reconciles D (driver) and R (responder) with common elements and their
 * own; checks the wanted sets.
 */
/* Driver walks every level, as SKS does, instead of skipping. */
static bool no_skip;
/* Responder keeps SKS's threshold whatever the driver's is. */
static bool sks_responder;

static struct result
run(size_t ncommon, size_t nd, size_t nr, uint32_t thresh, size_t chunk)
{
	struct recon_session_opts od = { 0 }, orr = { 0 };
	struct recon_ptree *td, *tr;
	struct recon_session *sd, *sr;
	struct recon_elem e, *donly, *ronly;
	const struct recon_elem *w;
	struct result res;
	size_t n, moved1, moved2;
	int rounds = 0;

	memset(&res, 0, sizeof(res));
	donly = calloc(nd + 1, sizeof(e));
	ronly = calloc(nr + 1, sizeof(e));
	recon_ptree_new(&td);
	recon_ptree_new(&tr);
	for (size_t i = 0; i < ncommon; i++) {
		random_elem(&e);
		recon_ptree_insert(td, &e, NULL);
		recon_ptree_insert(tr, &e, NULL);
	}
	for (size_t i = 0; i < nd; i++) {
		random_elem(&donly[i]);
		recon_ptree_insert(td, &donly[i], NULL);
	}
	for (size_t i = 0; i < nr; i++) {
		random_elem(&ronly[i]);
		recon_ptree_insert(tr, &ronly[i], NULL);
	}
	od.role = RECON_ROLE_DRIVER;
	od.http_port = 11371;
	od.full_thresh = thresh;
	od.seed = next64();
	od.no_skip = no_skip;
	orr.role = RECON_ROLE_RESPONDER;
	orr.http_port = 11381;
	orr.full_thresh = sks_responder ? 0 : thresh;
	orr.seed = next64();
	recon_session_new(&sd, td, &od);
	recon_session_new(&sr, tr, &orr);
	for (;;) {
		res.rd = pass(sr, sd, chunk, &res.ed, &moved1);
		res.rr = pass(sd, sr, chunk, &res.er, &moved2);
		if (res.rd != 0 || res.rr != 0 || (moved1 == 0 && moved2 == 0))
			break;
		if (++rounds > 100000)
			break;
	}
	res.sd = recon_session_state(sd);
	res.sr = recon_session_state(sr);
	recon_session_want(sd, &w, &n);
	res.nwant_d = n;
	res.want_ok_d = same_set(w, n, ronly, nr);
	recon_session_want(sr, &w, &n);
	res.nwant_r = n;
	res.want_ok_r = same_set(w, n, donly, nd);
	recon_session_get_stats(sd, &res.std);
	recon_session_get_stats(sr, &res.str);
	recon_session_free(sd);
	recon_session_free(sr);
	recon_ptree_free(td);
	recon_ptree_free(tr);
	free(donly);
	free(ronly);
	return res;
}

static int
res_ok(const struct result *r)
{
	if (r->rd != 0 || r->rr != 0)
		diag("driver: %s; responder: %s", r->ed.msg, r->er.msg);
	else if (r->sd != RECON_STATE_DONE || r->sr != RECON_STATE_DONE ||
	    !r->want_ok_d || !r->want_ok_r)
		diag("states %d/%d, driver wants %zu (%s), responder %zu (%s)",
		    (int)r->sd, (int)r->sr, r->nwant_d,
		    r->want_ok_d ? "right" : "wrong", r->nwant_r,
		    r->want_ok_r ? "right" : "wrong");
	return r->rd == 0 && r->rr == 0 && r->sd == RECON_STATE_DONE &&
	    r->sr == RECON_STATE_DONE && r->want_ok_d && r->want_ok_r;
}

static void
test_scenarios(void)
{
	struct result r;

	r = run(1000, 0, 0, 0, 0);
	ok(res_ok(&r) && r.nwant_d == 0 && r.nwant_r == 0 &&
	    r.str.solved == 1 && r.std.requests_poly == 1,
	    "equal sets of 1000: one Poly, solved at the root");
	r = run(1000, 2, 1, 0, 0);
	ok(res_ok(&r) && r.str.solved == 1 && r.str.sync_fail == 0,
	    "1000 common, 2 + 1 different: solved at the root");
	r = run(1000, 3, 2, 0, 0);
	ok(res_ok(&r) && r.str.solved == 1, "5 differences, d odd: root");
	r = run(2000, 40, 30, 0, 0);
	ok(res_ok(&r) && r.str.sync_fail >= 1 && r.std.requests_full > 0,
	    "2000 common, 40 + 30 different: SyncFail descent, then Full "
	    "(%llu Poly, %llu Full, %llu SyncFail)",
	    (unsigned long long)r.std.requests_poly,
	    (unsigned long long)r.std.requests_full,
	    (unsigned long long)r.str.sync_fail);
	r = run(8000, 60, 50, 0, 0);
	ok(res_ok(&r) && r.str.sync_fail >= 1 && r.str.solved >= 1,
	    "8000 common, 60 + 50 different: Poly solved below the root "
	    "(%llu solved, %llu SyncFail)", (unsigned long long)r.str.solved,
	    (unsigned long long)r.str.sync_fail);
	r = run(100, 200, 0, 0, 0);
	ok(res_ok(&r) && r.str.full_elements == 1 && r.nwant_r == 200,
	    "driver 300, responder 100 (a subset): FullElements fallback");
	r = run(90, 120, 20, 0, 0);
	ok(res_ok(&r) && r.str.full_elements == 1,
	    "driver 210, responder 110, both with extras: FullElements");
	r = run(0, 0, 500, 0, 0);
	ok(res_ok(&r) && r.nwant_d == 500 && r.std.requests_full == 1,
	    "empty driver: Full(root) brings all 500");
	r = run(0, 500, 0, 0, 0);
	ok(res_ok(&r) && r.nwant_r == 500 && r.str.full_elements == 1,
	    "empty responder: FullElements(none), then Elements(500)");
	r = run(0, 0, 0, 0, 0);
	ok(res_ok(&r) && r.nwant_d == 0 && r.nwant_r == 0, "both empty");
	r = run(3000, 25, 25, 0, 1);
	ok(res_ok(&r), "50 differences passed one octet at a time");
}

static void
test_random(void)
{
	int bad = 0, n = 0;

	/* Many shapes: small thresholds force Poly into leaves. */
	for (int rep = 0; rep < 60; rep++) {
		size_t nc = next64() % 3000, nd = next64() % 60;
		size_t nr = next64() % 60;
		uint32_t th = (uint32_t)(rep % 3 == 0 ? 1 + next64() % 60 : 0);
		struct result r;

		if (rep % 4 == 0) {
			nd = next64() % 6;
			nr = next64() % 6;
		}
		r = run(nc, nd, nr, th, next64() % 3 == 0 ? 0 : 1 +
		    next64() % 200);
		n++;
		if (!res_ok(&r)) {
			bad++;
			diag("case %d: %zu common, %zu/%zu own, thresh %u: "
			    "driver wants %zu, responder %zu", rep, nc, nd, nr,
			    th, r.nwant_d, r.nwant_r);
		}
	}
	is_int(bad, 0, "%d random reconciliations learn exactly the "
	    "symmetric difference", n);
}

/*
 * The driver's level skipping: the same differences for fewer requests
 * and octets than walking every level, and never a request for a node the
 * responder lacks (our responder, like SKS, fails the session on one),
 * even when the two sets differ in size by far.  The responder keeps
 * SKS's rule (SyncFail only for nodes of 150 or more), which skipping
 * relies on; the driver's threshold is --listen's (1) or SKS's.
 */
static void
test_skip(void)
{
	struct result a, b;
	static const size_t shapes[][3] = {
		{ 1000, 19000, 0 },	/* responder holds 5% of ours */
		{ 1000, 0, 19000 },	/* we hold 5% of the responder's */
		{ 5000, 3000, 3000 },	/* more different than common */
		{ 12000, 13000, 0 },	/* the responder's small nodes leaves */
		{ 12000, 0, 13000 },
		{ 30000, 6, 0 },	/* just above what the root solves */
		{ 30000, 3, 3 },
	};

	sks_responder = true;
	/* The same sets both ways. */
	rng = 4242;
	a = run(40000, 600, 600, 1, 0);
	rng = 4242;
	no_skip = true;
	b = run(40000, 600, 600, 1, 0);
	no_skip = false;
	ok(res_ok(&a) && res_ok(&b) && b.std.probe_level == 0 &&
	    a.std.probe_level >= 3 &&
	    a.std.requests_poly + 40 < b.std.requests_poly &&
	    a.std.bytes_out + a.std.bytes_in < b.std.bytes_out + b.std.bytes_in,
	    "40000 common, 600 + 600 different: skipping to level %u asks "
	    "%llu Poly for %llu octets, every level %llu for %llu",
	    (unsigned int)a.std.probe_level,
	    (unsigned long long)a.std.requests_poly,
	    (unsigned long long)(a.std.bytes_out + a.std.bytes_in),
	    (unsigned long long)b.std.requests_poly,
	    (unsigned long long)(b.std.bytes_out + b.std.bytes_in));
	/* Dense differences: small nodes are cheaper asked by children. */
	rng = 4243;
	a = run(25000, 650, 650, 1, 0);
	rng = 4243;
	no_skip = true;
	b = run(25000, 650, 650, 1, 0);
	no_skip = false;
	ok(res_ok(&a) && res_ok(&b) && a.std.split_small > 0 &&
	    a.std.bytes_out + a.std.bytes_in <
	    (b.std.bytes_out + b.std.bytes_in) * 9 / 10,
	    "25000 common, 650 + 650 different: %u small nodes asked by "
	    "their children, %llu octets against %llu",
	    (unsigned int)a.std.split_small,
	    (unsigned long long)(a.std.bytes_out + a.std.bytes_in),
	    (unsigned long long)(b.std.bytes_out + b.std.bytes_in));
	for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
		for (int th = 0; th < 2; th++) {
			a = run(shapes[i][0], shapes[i][1], shapes[i][2],
			    th == 0 ? 1 : 0, 0);
			ok(res_ok(&a), "%zu common, %zu + %zu different, "
			    "threshold %s: exact, probed to level %u",
			    shapes[i][0], shapes[i][1], shapes[i][2],
			    th == 0 ? "1" : "150",
			    (unsigned int)a.std.probe_level);
		}
	}
	sks_responder = false;
}

static void
test_config_mismatch(void)
{
	struct recon_session_opts od = { 0 }, orr = { 0 };
	struct pgps_err ed = PGPS_ERR_INIT, er = PGPS_ERR_INIT;
	struct recon_ptree *t;
	struct recon_session *sd, *sr;
	const uint8_t *p;
	size_t n, m1, m2;
	int r1, r2;

	recon_ptree_new(&t);
	od.role = RECON_ROLE_DRIVER;
	orr.role = RECON_ROLE_RESPONDER;
	orr.version = "0.1.4";
	recon_session_new(&sd, t, &od);
	recon_session_new(&sr, t, &orr);
	r1 = pass(sd, sr, 0, &er, &m1);
	r2 = pass(sr, sd, 0, &ed, &m2);
	ok(r1 == 0 && r2 == PGPS_EPROTO &&
	    recon_session_state(sd) == RECON_STATE_FAILED,
	    "driver rejects the responder's version: %s", ed.msg);
	recon_session_output(sd, &p, &n);
	ok(n > 10 && memcmp(p, "\0\0\0\6failed", 10) == 0,
	    "and tells it \"failed\" with a reason");
	r1 = pass(sd, sr, 0, &er, &m1);
	ok(r1 == PGPS_EPROTO && strstr(er.msg, "rejected our configuration: "
	    "Requires version at least 0.1.5.  0.1.4 provided") != NULL,
	    "responder learns why: %s", er.msg);
	ok(recon_session_peer_config(sd) != NULL &&
	    strcmp(recon_session_peer_config(sd)->version, "0.1.4") == 0,
	    "peer config kept");
	recon_session_free(sd);
	recon_session_free(sr);

	/* Filter sets differ both ways: each side refuses the other. */
	orr.version = NULL;
	orr.filters = "yminsky.dedup";
	recon_session_new(&sd, t, &od);
	recon_session_new(&sr, t, &orr);
	pgps_err_clear(&ed);
	pgps_err_clear(&er);
	r1 = pass(sd, sr, 0, &er, &m1);
	r2 = pass(sr, sd, 0, &ed, &m2);
	ok(r1 == PGPS_EPROTO && r2 == PGPS_EPROTO &&
	    strstr(ed.msg, "filters do not match") != NULL &&
	    strstr(er.msg, "filters do not match") != NULL,
	    "different filter sets: both refuse");
	recon_session_free(sd);
	recon_session_free(sr);

	recon_session_new(&sr, t, &orr);
	pgps_err_clear(&er);
	ok(recon_session_eof(sr, &er) == PGPS_ETRUNC,
	    "EOF during the handshake: %s", er.msg);
	recon_session_free(sr);
	recon_ptree_free(t);
}

/* A scripted driver: handshake by hand, then raw frames. */
static struct recon_session *
scripted_responder(struct recon_ptree *t, struct pgps_err *err)
{
	struct recon_session_opts o = { 0 };
	struct recon_session *s;
	struct recon_config cfg;
	struct recon_msg m = RECON_MSG_INIT;
	struct buf b = BUF_INIT;
	const uint8_t *p;
	size_t n;

	o.role = RECON_ROLE_RESPONDER;
	o.max_frame = 4096;
	o.max_want = 10;
	recon_session_new(&s, t, &o);
	recon_session_output(s, &p, &n);
	recon_session_consumed(s, n);
	recon_config_default(&cfg, 1);
	m.type = RECON_MSG_CONFIG;
	m.config = &cfg;
	recon_msg_encode(&b, &m, NULL);
	recon_string_encode(&b, "passed", 6);
	recon_session_input(s, b.p, b.len, err);
	buf_release(&b);
	recon_session_output(s, &p, &n);
	if (n != 10 || memcmp(p, "\0\0\0\6passed", 10) != 0)
		diag("unexpected verdict");
	recon_session_consumed(s, n);
	return s;
}

static void
test_misbehaving_driver(void)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct recon_ptree *t;
	struct recon_session *s;
	struct recon_msg m = RECON_MSG_INIT;
	struct recon_msg got = RECON_MSG_INIT;
	struct recon_elem el[11];
	struct buf b = BUF_INIT;
	const uint8_t *p;
	size_t n;
	int r;

	recon_ptree_new(&t);
	for (int i = 0; i < 11; i++)
		random_elem(&el[i]);
	for (int i = 0; i < 100; i++) {
		struct recon_elem e;

		random_elem(&e);
		recon_ptree_insert(t, &e, NULL);
	}
	/* The root is interior; prefix "0101 01" is no node. */
	s = scripted_responder(t, &err);
	ok(recon_session_state(s) == RECON_STATE_RUNNING, "handshake done");
	m.type = RECON_MSG_RECON_RQST_FULL;
	m.prefix.nbits = 6;
	m.prefix.b[0] = 0x54;
	recon_msg_encode(&b, &m, NULL);
	r = recon_session_input(s, b.p, b.len, &err);
	ok(r == PGPS_EPROTO && recon_session_state(s) == RECON_STATE_FAILED,
	    "Full for a missing node fails: %s", err.msg);
	recon_session_output(s, &p, &n);
	ok(n > 5 && recon_msg_decode(&got, p + 4, n - 4, NULL) == 0 &&
	    got.type == RECON_MSG_ERROR &&
	    strstr(got.text, "non-existant node") != NULL,
	    "and answers with SKS's Error text");
	recon_msg_release(&got);
	recon_session_free(s);
	buf_reset(&b);

	pgps_err_clear(&err);
	s = scripted_responder(t, &err);
	m.prefix.nbits = 3;
	recon_msg_encode(&b, &m, NULL);
	r = recon_session_input(s, b.p, b.len, &err);
	ok(r == PGPS_EPROTO, "prefix of 3 bits refused: %s", err.msg);
	recon_session_free(s);
	buf_reset(&b);

	pgps_err_clear(&err);
	s = scripted_responder(t, &err);
	m = (struct recon_msg)RECON_MSG_INIT;
	m.type = RECON_MSG_ELEMENTS;
	m.elems = el;
	m.nelems = 11;
	recon_msg_encode(&b, &m, NULL);
	r = recon_session_input(s, b.p, b.len, &err);
	ok(r == PGPS_ELIMIT, "more wanted elements than allowed: %s",
	    err.msg);
	recon_session_free(s);
	buf_reset(&b);

	pgps_err_clear(&err);
	s = scripted_responder(t, &err);
	store_be32((uint8_t *)&n, 5000);
	r = recon_session_input(s, (const uint8_t *)"\0\0\x13\x88\2", 5, &err);
	ok(r == PGPS_ELIMIT, "frame above max_frame refused before "
	    "buffering: %s", err.msg);
	recon_session_free(s);

	pgps_err_clear(&err);
	s = scripted_responder(t, &err);
	m = (struct recon_msg)RECON_MSG_INIT;
	m.type = RECON_MSG_SYNC_FAIL;
	recon_msg_encode(&b, &m, NULL);
	r = recon_session_input(s, b.p, b.len, &err);
	ok(r == PGPS_EPROTO, "SyncFail sent to a responder: %s", err.msg);
	recon_session_free(s);
	buf_reset(&b);

	pgps_err_clear(&err);
	s = scripted_responder(t, &err);
	m.type = RECON_MSG_DONE;
	recon_msg_encode(&b, &m, NULL);
	r = recon_session_input(s, b.p, b.len, &err);
	ok(r == 0 && recon_session_state(s) == RECON_STATE_DONE &&
	    recon_session_eof(s, &err) == 0, "Done ends it cleanly");
	recon_session_free(s);
	buf_release(&b);
	recon_ptree_free(t);
}

/* Reads a file of hex elements, one a line. */
static struct recon_elem *
read_set(const char *path, size_t *n)
{
	FILE *f = fopen(path, "r");
	struct recon_elem *v = calloc(4096, sizeof(*v));
	char line[128];

	*n = 0;
	if (f == NULL)
		return v;
	while (*n < 4096 && fgets(line, sizeof(line), f) != NULL)
		if (strlen(line) >= 32 &&
		    hex_decode(v[*n].b, 16, line, 32) == 0)
			(*n)++;
	fclose(f);
	return v;
}

/*
 * Replays what SKS sent in a recorded conversation into a session over the
 * same set, in pieces of at most chunk octets (0: all at once), and checks
 * that our side says exactly what it said to SKS.
 */
static void
replay(const char *name, enum recon_role role, size_t chunk)
{
	struct recon_session_opts o = { 0 };
	struct pgps_err err = PGPS_ERR_INIT;
	struct recon_ptree *t;
	struct recon_session *s;
	struct recon_elem *mine, *sks, *expect;
	const struct recon_elem *w;
	struct buf said = BUF_INIT;
	char path[256];
	uint8_t *in, *out;
	const uint8_t *p;
	size_t nin, nout, nmine, nsks, nexp = 0, n, off = 0;
	int r = 0;

	snprintf(path, sizeof(path), "recon/%s.set", name);
	mine = read_set(data_path(path), &nmine);
	sks = read_set(data_path("recon/sks-set.txt"), &nsks);
	snprintf(path, sizeof(path), "recon/%s.from-sks", name);
	in = data_slurp(path, &nin);
	snprintf(path, sizeof(path), "recon/%s.to-sks", name);
	out = data_slurp(path, &nout);
	if (nmine == 0 || nsks != 200) {
		ok(0, "%s: recorded sets missing or short", name);
		goto done;
	}
	recon_ptree_new(&t);
	for (size_t i = 0; i < nmine; i++)
		recon_ptree_insert(t, &mine[i], NULL);
	/* What the recording used: our http port 24399, seed 42. */
	o.role = role;
	o.http_port = 24399;
	o.seed = 42;
	recon_session_new(&s, t, &o);
	while (r == 0 && off < nin) {
		size_t k = chunk == 0 ? nin - off : 1 + next64() % chunk;

		if (k > nin - off)
			k = nin - off;
		recon_session_output(s, &p, &n);
		buf_add(&said, p, n);
		recon_session_consumed(s, n);
		r = recon_session_input(s, in + off, k, &err);
		off += k;
	}
	recon_session_output(s, &p, &n);
	buf_add(&said, p, n);
	ok(r == 0 && recon_session_state(s) == RECON_STATE_DONE,
	    "%s (pieces of %zu): the session completes %s", name, chunk,
	    err.msg);
	ok(said.len == nout && memcmp(said.p, out, nout) == 0,
	    "%s: we say to SKS exactly what was recorded (%zu octets)", name,
	    nout);
	/* We lack what SKS has and we do not. */
	expect = calloc(nsks, sizeof(*expect));
	for (size_t i = 0; i < nsks; i++)
		if (!recon_ptree_has(t, &sks[i]))
			expect[nexp++] = sks[i];
	recon_session_want(s, &w, &n);
	ok(same_set(w, n, expect, nexp), "%s: we want the %zu we lack", name,
	    nexp);
	free(expect);
	recon_session_free(s);
	recon_ptree_free(t);
 done:
	buf_release(&said);
	free(in);
	free(out);
	free(mine);
	free(sks);
}

static void
test_transcripts(void)
{
	replay("responder-root-solved", RECON_ROLE_RESPONDER, 0);
	replay("responder-root-solved", RECON_ROLE_RESPONDER, 7);
	replay("responder-syncfail", RECON_ROLE_RESPONDER, 0);
	replay("responder-syncfail", RECON_ROLE_RESPONDER, 100);
	replay("driver-root-solved", RECON_ROLE_DRIVER, 0);
	replay("driver-fullelements", RECON_ROLE_DRIVER, 0);
	replay("driver-fullelements", RECON_ROLE_DRIVER, 300);
}

int
main(int argc, char **argv)
{
	(void)argc;
	data_dir_set(argv[0]);
	test_transcripts();
	test_scenarios();
	test_random();
	test_skip();
	test_config_mismatch();
	test_misbehaving_driver();
	return done_testing();
}
