/*
 * peer.c: one reconciliation as a state machine (SKS reconCS.ml, client.ml,
 * server.ml; spec 3 and 6).
 *
 * The session owns no socket: the caller feeds it the peer's octets and
 * sends what it produces, so the same code runs over TCP and, in tests,
 * between two sessions in memory.  Both roles are here: the driver (the
 * accepting side) walks its tree and asks, skipping levels where it can
 * (see probe_start() and pilot_start()), the responder (the connecting
 * side) answers, interpolating where it can.
 *
 * Every frame's length is capped before it is buffered, the wanted set is
 * capped, and each request is answered from the tree without recursion
 * driven by the peer, so a hostile peer can make a session fail but not
 * grow without bound.  The session never decides what to fetch: it reports
 * the elements the peer has and the tree lacks, filtered against the tree.
 */
#include "util/common.h"

#include <limits.h>

#include "recon/internal.h"
#include "recon/recon.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/mem.h"
#include "util/span.h"

/* Room for the most a valid Config can hold (msg.c's limits). */
#define RECON_MAX_CONFIG_FRAME	(5 + RECON_CONFIG_MAX_ENTRIES * \
	(8 + RECON_CONFIG_MAX_KEY + RECON_CONFIG_MAX_VALUE))

enum phase {
	PH_CONFIG,	/* waiting for the peer's Config */
	PH_VERDICT,	/* waiting for "passed" or "failed" */
	PH_REASON,	/* the peer said "failed"; waiting for why */
	PH_RUN
};

/* A node the driver asked about, or will. */
struct job {
	const struct recon_node	*node;
	struct recon_prefix	 prefix;
	bool			 poly;	/* asked with ReconRqst_Poly */
	bool			 pilot;	/* tells how often small nodes fail */
	int			 path;	/* probe path, or -1 */
	unsigned int		 level;
};

/*
 * Probe paths: after the root fails, the driver follows RECON_NCHILDREN
 * random paths down, one node per level, to find the level at which the
 * differences become few enough to interpolate (see probe_decide()).
 */
#define PROBE_LEVELS	(RECON_MAX_PREFIX_BITS / RECON_BITQUANTUM + 1)
#define PROBE_NODES	(RECON_NCHILDREN * PROBE_LEVELS + 1)

struct probed {
	const struct recon_node	*node;
	bool			 failed;	/* SyncFail: descend further */
};

struct jobq {
	struct job	*v;
	size_t		 head, len, cap;
};

struct recon_session {
	const struct recon_ptree	*tree;
	enum recon_role			 role;
	size_t				 max_frame;
	size_t				 max_want;
	uint32_t			 full_thresh;
	uint32_t			 max_outstanding;
	uint64_t			 seed;

	enum recon_state		 state;
	enum phase			 phase;
	int				 fail_code;
	struct recon_config		 local;
	struct recon_config		*peer;

	struct buf			 in;	/* one incomplete unit */
	struct buf			 out;
	size_t				 out_off;

	struct jobq			 todo;	/* driver: not yet asked */
	struct jobq			 asked;	/* driver: awaiting replies */
	bool				 adaptive;
	unsigned int			 path_fails[RECON_NCHILDREN];
	bool				 path_open[RECON_NCHILDREN];
	struct probed			 probed[PROBE_NODES];
	size_t				 nprobed;
	struct jobq			 deferred;	/* see pilot_start() */
	unsigned int			 pilot_pending;
	unsigned int			 pilot_asked;
	unsigned int			 pilot_failed;
	bool				 pilot_unsafe;

	struct recon_elem		*want;
	size_t				 nwant, capwant;
	bool				 want_clean;
	struct recon_session_stats	 stats;
};

static int
jobq_push(struct jobq *q, const struct job *j)
{
	if (q->head + q->len == q->cap) {
		if (q->head > 0) {
			memmove(q->v, q->v + q->head, q->len * sizeof(*q->v));
			q->head = 0;
		} else {
			size_t ncap = q->cap < 16 ? 16 : q->cap * 2;
			struct job *nv;

			if (ncap < q->cap ||
			    (nv = mem_reallocarray(q->v, ncap,
			    sizeof(*nv))) == NULL)
				return PGPS_ENOMEM;
			q->v = nv;
			q->cap = ncap;
		}
	}
	q->v[q->head + q->len++] = *j;
	return 0;
}

static void
jobq_pop(struct jobq *q, struct job *out)
{
	*out = q->v[q->head++];
	if (--q->len == 0)
		q->head = 0;
}

/*
 * Makes peer-supplied text safe to show on a terminal: one line, no
 * control or 8-bit octets.
 */
static void
sanitize(char *t)
{
	for (; *t != '\0'; t++) {
		unsigned char c = (unsigned char)*t;

		if (c == '\n' || c == '\t')
			*t = ' ';
		else if (c < 0x20 || c >= 0x7f)
			*t = '?';
	}
}

static int
session_fail(struct recon_session *s, int code)
{
	s->state = RECON_STATE_FAILED;
	s->fail_code = code;
	return code;
}

static int
send_msg(struct recon_session *s, const struct recon_msg *m,
    struct pgps_err *err)
{
	size_t before = s->out.len, len;
	int r;

	if ((r = recon_msg_encode(&s->out, m, err)) != 0)
		return r;
	/* Our frames obey the same cap we impose on the peer's. */
	if ((len = s->out.len - before - 4) > s->max_frame) {
		buf_setlen(&s->out, before);
		return pgps_err_set(err, PGPS_ELIMIT,
		    "%s reply of %zu octets exceeds the frame limit %zu",
		    recon_msg_type_name(m->type), len, s->max_frame);
	}
	s->stats.bytes_out += s->out.len - before;
	return 0;
}

static int
send_simple(struct recon_session *s, enum recon_msg_type type,
    struct pgps_err *err)
{
	struct recon_msg m = RECON_MSG_INIT;

	m.type = type;
	return send_msg(s, &m, err);
}

static int
send_elems(struct recon_session *s, enum recon_msg_type type,
    const struct recon_elem *e, size_t n, struct pgps_err *err)
{
	struct recon_msg m = RECON_MSG_INIT;

	m.type = type;
	m.elems = (struct recon_elem *)e;
	m.nelems = n;
	return send_msg(s, &m, err);
}

static int
want_add(struct recon_session *s, const struct recon_elem *e, size_t n,
    struct pgps_err *err)
{
	if (n == 0)
		return 0;
	if (n > s->max_want || s->nwant > s->max_want - n)
		return pgps_err_set(err, PGPS_ELIMIT,
		    "more than %zu wanted elements", s->max_want);
	if (s->nwant + n > s->capwant) {
		size_t ncap = s->capwant < 64 ? 64 : s->capwant;
		struct recon_elem *nv;

		while (ncap < s->nwant + n && ncap <= SIZE_MAX / 2)
			ncap *= 2;
		if (ncap < s->nwant + n)
			ncap = s->nwant + n;
		if (ncap > s->max_want)
			ncap = s->max_want;
		if ((nv = mem_reallocarray(s->want, ncap, sizeof(*nv))) ==
		    NULL)
			return pgps_err_set(err, PGPS_ENOMEM, "out of memory");
		s->want = nv;
		s->capwant = ncap;
	}
	memcpy(s->want + s->nwant, e, n * sizeof(*e));
	s->nwant += n;
	s->want_clean = false;
	return 0;
}

/* Sorts v and drops duplicates; returns the new length. */
static size_t
sort_unique(struct recon_elem *v, size_t n)
{
	size_t k = 0;

	if (n == 0)
		return 0;
	qsort(v, n, sizeof(*v), recon_elem_cmp);
	for (size_t i = 1; i < n; i++)
		if (recon_elem_cmp(&v[k], &v[i]) != 0)
			v[++k] = v[i];
	return k + 1;
}

/*
 * Given our elements mine and the peer's theirs, both sorted and unique,
 * sends Elements(mine \ theirs) and adds theirs \ mine to want.
 */
static int
exchange_sets(struct recon_session *s, const struct recon_elem *mine,
    size_t nmine, const struct recon_elem *theirs, size_t ntheirs,
    struct pgps_err *err)
{
	struct recon_elem *only_mine = NULL, *only_theirs = NULL;
	size_t i = 0, j = 0, km = 0, kt = 0;
	int r;

	if (nmine != 0 && (only_mine = mem_reallocarray(NULL, nmine,
	    sizeof(*only_mine))) == NULL)
		return pgps_err_set(err, PGPS_ENOMEM, "out of memory");
	if (ntheirs != 0 && (only_theirs = mem_reallocarray(NULL, ntheirs,
	    sizeof(*only_theirs))) == NULL) {
		free(only_mine);
		return pgps_err_set(err, PGPS_ENOMEM, "out of memory");
	}
	while (i < nmine || j < ntheirs) {
		int c = i == nmine ? 1 : j == ntheirs ? -1 :
		    recon_elem_cmp(&mine[i], &theirs[j]);

		if (c < 0) {
			only_mine[km++] = mine[i++];
		} else if (c > 0) {
			only_theirs[kt++] = theirs[j++];
		} else {
			i++;
			j++;
		}
	}
	if ((r = send_elems(s, RECON_MSG_ELEMENTS, only_mine, km, err)) == 0)
		r = want_add(s, only_theirs, kt, err);
	free(only_mine);
	free(only_theirs);
	return r;
}

/* Both halves of a set exchange at node: theirs is sorted here. */
static int
reconcile_sets(struct recon_session *s, const struct recon_node *node,
    struct recon_elem *theirs, size_t ntheirs, struct pgps_err *err)
{
	struct recon_elem *mine = NULL;
	size_t nmine = 0;
	int r;

	if ((r = recon_node_elements(node, &mine, &nmine)) != 0)
		return pgps_err_set(err, r, "out of memory");
	ntheirs = sort_unique(theirs, ntheirs);
	r = exchange_sets(s, mine, nmine, theirs, ntheirs, err);
	free(mine);
	return r;
}

/* Driver. */

static int
send_request(struct recon_session *s, const struct job *j,
    struct pgps_err *err)
{
	struct recon_msg m = RECON_MSG_INIT;
	struct recon_elem *el = NULL;
	size_t n = 0;
	int r;

	m.prefix = j->prefix;
	if (j->poly) {
		m.type = RECON_MSG_RECON_RQST_POLY;
		m.size = j->node->count;
		memcpy(m.samples, j->node->sv, sizeof(m.samples));
		s->stats.requests_poly++;
		return send_msg(s, &m, err);
	}
	if ((r = recon_node_elements(j->node, &el, &n)) != 0)
		return pgps_err_set(err, r, "out of memory");
	m.type = RECON_MSG_RECON_RQST_FULL;
	m.elems = el;
	m.nelems = n;
	r = send_msg(s, &m, err);
	free(el);
	s->stats.requests_full++;
	return r;
}

/*
 * Whether the driver asks n by Poly rather than sending it whole.  Small
 * nodes go whole (SKS client.ml: leaf or count < 150).  With a lower
 * threshold a leaf is asked by Poly too, unless sending its elements (17
 * octets each) costs less than a Poly (about 125).
 */
static bool
asks_poly(const struct recon_session *s, const struct recon_node *n)
{
	return n->count >= s->full_thresh && (n->child != NULL ||
	    (s->full_thresh < RECON_FULL_THRESH &&
	    n->count > RECON_POLY_OCTETS / ZP_NBYTES));
}

/* Queues the node at prefix, level levels deep, for a request. */
static int
driver_queue_job(struct recon_session *s, const struct recon_node *n,
    const struct recon_prefix *prefix, unsigned int level, int path,
    struct pgps_err *err)
{
	struct job j;

	j.node = n;
	j.prefix = *prefix;
	j.level = level;
	j.path = path;
	j.pilot = false;
	j.poly = asks_poly(s, n);
	if (jobq_push(&s->todo, &j) != 0)
		return pgps_err_set(err, PGPS_ENOMEM, "out of memory");
	return 0;
}

static int
driver_queue(struct recon_session *s, const struct recon_node *n,
    const struct recon_prefix *prefix, unsigned int level,
    struct pgps_err *err)
{
	return driver_queue_job(s, n, prefix, level, -1, err);
}

/* Queues the children of the interior node n at prefix, level deep. */
static int
driver_queue_children(struct recon_session *s, const struct recon_node *n,
    const struct recon_prefix *prefix, unsigned int level,
    struct pgps_err *err)
{
	struct recon_prefix cp;
	int r;

	for (unsigned int c = 0; c < RECON_NCHILDREN; c++) {
		if (recon_prefix_child(&cp, prefix, c) != 0)
			return pgps_err_set(err, PGPS_EINTERNAL,
			    "prefix overflow");
		if ((r = driver_queue(s, &n->child[c], &cp, level + 1,
		    err)) != 0)
			return r;
	}
	return 0;
}

/*
 * Level skipping.  SKS's driver asks every node from the root down until
 * the peer can interpolate, so with d differences it pays a failed Poly
 * (about 125 octets) for every node of every level above the one where
 * d / 4^level drops to a few: a third again on top of that level's own
 * requests.  Instead, once the root fails, we follow one random path below
 * each of its children, a level per round trip, until the peer solves or
 * answers whole, and then ask the whole level at which the first path
 * ended, skipping the levels above it.  The shallowest path is taken
 * because asking too high costs at most one failed request per node,
 * asking too low four requests where one would do.
 *
 * Skipping a node is only safe if the peer's tree has its children: SKS
 * answers Error for a node it does not have, ending the session.  Every
 * node on the paths above that level got SyncFail, which SKS sends only
 * for an interior node of 150 elements or more; a node of ours is skipped
 * only if it holds that many too.  Sets whose sizes differ a lot show up
 * on the paths as whole answers high up, and then little is skipped.
 */
static struct probed *
probed_find(struct recon_session *s, const struct recon_node *n)
{
	for (size_t i = 0; i < s->nprobed; i++)
		if (s->probed[i].node == n)
			return &s->probed[i];
	return NULL;
}

static int
probed_add(struct recon_session *s, const struct recon_node *n, bool failed,
    struct pgps_err *err)
{
	if (s->nprobed == PROBE_NODES)
		return pgps_err_set(err, PGPS_EINTERNAL,
		    "too many probed nodes");
	s->probed[s->nprobed].node = n;
	s->probed[s->nprobed].failed = failed;
	s->nprobed++;
	return 0;
}

/* Which child the probe path takes below a node (seeded, not the peer's). */
static unsigned int
probe_child(const struct recon_session *s, int path, unsigned int level)
{
	uint64_t x = s->seed ^ ((uint64_t)path << 32) ^ level;

	x ^= x >> 33;
	x *= UINT64_C(0xff51afd7ed558ccd);
	x ^= x >> 33;
	return (unsigned int)(x & (RECON_NCHILDREN - 1));
}

static int
probe_start(struct recon_session *s, const struct job *root,
    struct pgps_err *err)
{
	struct recon_prefix cp;
	int r;

	if ((r = probed_add(s, root->node, true, err)) != 0)
		return r;
	for (unsigned int c = 0; c < RECON_NCHILDREN; c++) {
		if (recon_prefix_child(&cp, &root->prefix, c) != 0)
			return pgps_err_set(err, PGPS_EINTERNAL,
			    "prefix overflow");
		s->path_fails[c] = 0;
		s->path_open[c] = true;
		if ((r = driver_queue_job(s, &root->node->child[c], &cp, 1,
		    (int)c, err)) != 0)
			return r;
	}
	return 0;
}

/*
 * Small nodes at the target level.  A node of fewer than 150 elements whose
 * Poly fails costs all its elements (SKS answers FullElements), so where
 * failures are frequent its four children are cheaper to ask.  How
 * frequent is learnt from a pilot, the first of these nodes (see
 * pilot_start()); the rest, held back until the pilot's replies are in,
 * are asked or replaced by their children, whichever is expected to cost
 * less if the differences are spread evenly.  Nodes are only replaced when no
 * FullElements of the pilot showed the peer's node much smaller than ours
 * (its node must have children: SKS splits above 50).
 */
#define PILOT_NODES	64
#define PILOT_MIN_NODES	16
#define PILOT_MIN_COUNT	70

/*
 * The share of nodes holding Poisson(i / 8) differences that fail to
 * interpolate (more than 5 differences, or 5 with an even size difference,
 * counted half), in units of 1/10000.
 */
static const uint16_t fail_rate[] = {
	0, 0, 0, 0, 1, 3, 6, 12, 21, 35, 55, 81, 115, 158, 210, 273,
	346, 431, 527, 635, 754, 885, 1027, 1180, 1343, 1516, 1698, 1888,
	2085, 2288, 2498, 2712, 2930, 3151, 3375, 3599, 3825, 4050, 4274,
	4497, 4718, 4936, 5150, 5361, 5568, 5770, 5967, 6160, 6346, 6528,
	6703, 6873, 7036, 7194, 7346, 7492, 7632, 7765, 7893, 8016, 8133,
	8244, 8350, 8450, 8546, 8636, 8722, 8803, 8880, 8953, 9021, 9086,
	9147, 9204, 9258, 9309, 9356, 9401, 9442, 9482, 9518, 9553, 9585,
	9615, 9643, 9669, 9693, 9716, 9737, 9757, 9775, 9792, 9808, 9822,
	9836, 9849, 9860, 9871, 9881, 9891, 9899, 9907, 9915, 9921, 9928,
	9933, 9939, 9944, 9948, 9953, 9956, 9960, 9963, 9966, 9969, 9972,
	9974, 9976, 9978, 9980, 9982, 9983, 9985, 9986, 9987, 9988, 9989,
	9990, 9991
};
#define NFAIL_RATE	(sizeof(fail_rate) / sizeof(fail_rate[0]))

/* Expected octets (times 10^4) to settle n as queued, failing at rate f. */
static uint64_t
node_cost(const struct recon_session *s, const struct recon_node *n,
    unsigned int f)
{
	/* A failed Poly of a small node brings FullElements. */
	if (asks_poly(s, n))
		return 10000 * (uint64_t)(RECON_POLY_OCTETS + 9) +
		    (uint64_t)f * (ZP_NBYTES * (uint64_t)n->count + 9);
	return 10000 * (ZP_NBYTES * (uint64_t)n->count + 22);
}

static int
pilot_decide(struct recon_session *s, struct pgps_err *err)
{
	struct job j;
	unsigned int f, fc, i;
	int r;

	f = s->pilot_failed * 10000 / s->pilot_asked;
	for (i = 0; i + 1 < NFAIL_RATE && fail_rate[i] < f; i++)
		;
	/* A child holds a quarter of the differences. */
	fc = fail_rate[i / 4];
	while (s->deferred.len > 0) {
		uint64_t split = 0;

		jobq_pop(&s->deferred, &j);
		for (unsigned int c = 0; c < RECON_NCHILDREN; c++)
			split += node_cost(s, &j.node->child[c], fc);
		if (s->pilot_unsafe || node_cost(s, j.node, f) <= split) {
			if (jobq_push(&s->todo, &j) != 0)
				return pgps_err_set(err, PGPS_ENOMEM,
				    "out of memory");
			continue;
		}
		s->stats.split_small++;
		if ((r = driver_queue_children(s, j.node, &j.prefix, j.level,
		    err)) != 0)
			return r;
	}
	return 0;
}

/*
 * Asks the pilot: a quarter of the nodes held back, at least
 * PILOT_MIN_NODES and at most PILOT_NODES; all of them when there are
 * fewer than four times the least.
 */
static int
pilot_start(struct recon_session *s, struct pgps_err *err)
{
	struct job j;
	size_t n = s->deferred.len / 4;
	bool pilot = n >= PILOT_MIN_NODES;

	if (n > PILOT_NODES)
		n = PILOT_NODES;
	if (!pilot)
		n = s->deferred.len;
	for (size_t k = 0; k < n; k++) {
		jobq_pop(&s->deferred, &j);
		j.pilot = pilot;
		if (jobq_push(&s->todo, &j) != 0)
			return pgps_err_set(err, PGPS_ENOMEM, "out of memory");
	}
	if (pilot)
		s->pilot_pending = (unsigned int)n;
	return 0;
}

/* Takes the reply to a pilot request; peer_count is the peer's, or -1. */
static int
pilot_reply(struct recon_session *s, const struct job *j, bool failed,
    long peer_count, struct pgps_err *err)
{
	s->pilot_asked++;
	if (failed)
		s->pilot_failed++;
	if (peer_count >= 0 && (peer_count <= RECON_SPLIT_THRESH ||
	    (uint64_t)peer_count * 5 < (uint64_t)j->node->count * 4))
		s->pilot_unsafe = true;
	if (--s->pilot_pending > 0)
		return 0;
	return pilot_decide(s, err);
}

/* Queues what the paths left uncovered under n, down to level target. */
static int
probe_walk(struct recon_session *s, const struct recon_node *n,
    const struct recon_prefix *prefix, unsigned int level,
    unsigned int target, struct pgps_err *err)
{
	const struct probed *p = probed_find(s, n);
	struct recon_prefix cp;
	struct job j;
	int r;

	if (p != NULL && !p->failed)
		return 0;		/* answered on a path */
	if (p == NULL && level == target && n->child != NULL &&
	    n->count < RECON_FULL_THRESH && n->count >= PILOT_MIN_COUNT &&
	    s->full_thresh < RECON_FULL_THRESH) {
		/* Held back for pilot_start(). */
		memset(&j, 0, sizeof(j));
		j.node = n;
		j.prefix = *prefix;
		j.level = level;
		j.path = -1;
		j.poly = true;
		if (jobq_push(&s->deferred, &j) != 0)
			return pgps_err_set(err, PGPS_ENOMEM, "out of memory");
		return 0;
	}
	if (p == NULL && (level >= target || n->child == NULL ||
	    n->count < RECON_FULL_THRESH))
		return driver_queue(s, n, prefix, level, err);
	if (n->child == NULL)
		return pgps_err_set(err, PGPS_EINTERNAL, "probed leaf failed");
	for (unsigned int c = 0; c < RECON_NCHILDREN; c++) {
		if (recon_prefix_child(&cp, prefix, c) != 0)
			return pgps_err_set(err, PGPS_EINTERNAL,
			    "prefix overflow");
		if ((r = probe_walk(s, &n->child[c], &cp, level + 1, target,
		    err)) != 0)
			return r;
	}
	return 0;
}

/* Takes the reply to a request on probe path j->path. */
static int
probe_reply(struct recon_session *s, const struct job *j, bool failed,
    struct pgps_err *err)
{
	struct recon_prefix root = RECON_PREFIX_INIT, cp;
	unsigned int c, target;
	int r;

	if ((r = probed_add(s, j->node, failed, err)) != 0)
		return r;
	if (failed) {
		s->path_fails[j->path]++;
		c = probe_child(s, j->path, j->level);
		if (recon_prefix_child(&cp, &j->prefix, c) != 0)
			return pgps_err_set(err, PGPS_EINTERNAL,
			    "prefix overflow");
		return driver_queue_job(s, &j->node->child[c], &cp,
		    j->level + 1, j->path, err);
	}
	s->path_open[j->path] = false;
	for (c = 0; c < RECON_NCHILDREN; c++)
		if (s->path_open[c])
			return 0;
	target = UINT_MAX;
	for (c = 0; c < RECON_NCHILDREN; c++)
		if (s->path_fails[c] + 1 < target)
			target = s->path_fails[c] + 1;
	s->stats.probe_level = target;
	if ((r = probe_walk(s, recon_ptree_root(s->tree), &root, 0, target,
	    err)) != 0)
		return r;
	return pilot_start(s, err);
}

/*
 * Once every reply is in, sends the next batch of queued requests (at
 * most the outstanding limit) and a Flush after them, or Done when
 * nothing is left.  Waiting for the whole batch costs a round trip per
 * batch but makes our output depend only on the two sets, not on how the
 * peer's octets happen to arrive.
 */
static int
driver_pump(struct recon_session *s, struct pgps_err *err)
{
	struct job j;
	bool sent = false;
	int r;

	if (s->asked.len > 0)
		return 0;
	while (s->todo.len > 0 && s->asked.len < s->max_outstanding) {
		jobq_pop(&s->todo, &j);
		if ((r = send_request(s, &j, err)) != 0)
			return r;
		if (jobq_push(&s->asked, &j) != 0)
			return pgps_err_set(err, PGPS_ENOMEM, "out of memory");
		sent = true;
	}
	/* The responder writes its replies only when told to (spec 2.4). */
	if (sent)
		return send_simple(s, RECON_MSG_FLUSH, err);
	if (s->todo.len == 0 && s->asked.len == 0) {
		if ((r = send_simple(s, RECON_MSG_DONE, err)) != 0)
			return r;
		s->state = RECON_STATE_DONE;
	}
	return 0;
}

static int
driver_reply(struct recon_session *s, struct recon_msg *m,
    struct pgps_err *err)
{
	char pstr[RECON_MAX_PREFIX_BITS + 1];
	struct job j;
	int r;

	if (m->type == RECON_MSG_ERROR) {
		sanitize(m->text);
		return pgps_err_set(err, PGPS_EPROTO, "peer sent Error: %.200s",
		    m->text);
	}
	if (s->asked.len == 0)
		return pgps_err_set(err, PGPS_EPROTO,
		    "unexpected %s with no request outstanding",
		    recon_msg_type_name(m->type));
	jobq_pop(&s->asked, &j);
	recon_prefix_str(pstr, &j.prefix);
	switch (m->type) {
	case RECON_MSG_SYNC_FAIL:
		/* Only a Poly may fail. */
		if (!j.poly)
			return pgps_err_set(err, PGPS_EPROTO,
			    "SyncFail for prefix '%s' that was not asked by "
			    "Poly", pstr);
		s->stats.sync_fail++;
		if (j.pilot && (r = pilot_reply(s, &j, true, -1, err)) != 0)
			return r;
		if (j.node->child == NULL) {
			/* A leaf of ours: nothing below, send it whole. */
			j.poly = false;
			if (jobq_push(&s->todo, &j) != 0)
				return pgps_err_set(err, PGPS_ENOMEM,
				    "out of memory");
			return 0;
		}
		if (j.path >= 0)
			return probe_reply(s, &j, true, err);
		if (j.level == 0 && s->adaptive)
			return probe_start(s, &j, err);
		return driver_queue_children(s, j.node, &j.prefix, j.level,
		    err);
	case RECON_MSG_ELEMENTS:
		if (j.poly)
			s->stats.solved++;
		if ((r = want_add(s, m->elems, m->nelems, err)) != 0)
			return r;
		if (j.pilot && (r = pilot_reply(s, &j, false, -1, err)) != 0)
			return r;
		return j.path >= 0 ? probe_reply(s, &j, false, err) : 0;
	case RECON_MSG_FULL_ELEMENTS:
		if (!j.poly)
			return pgps_err_set(err, PGPS_EPROTO,
			    "FullElements in reply to ReconRqst_Full for "
			    "prefix '%s'", pstr);
		s->stats.full_elements++;
		if ((r = reconcile_sets(s, j.node, m->elems, m->nelems,
		    err)) != 0)
			return r;
		if (j.pilot && (r = pilot_reply(s, &j, true,
		    (long)m->nelems, err)) != 0)
			return r;
		return j.path >= 0 ? probe_reply(s, &j, false, err) : 0;
	default:
		return pgps_err_set(err, PGPS_EPROTO,
		    "unexpected %s in reply to a request for prefix '%s'",
		    recon_msg_type_name(m->type), pstr);
	}
}

/* Responder. */

/* The node a request is about, or an error (and an Error to the peer). */
static int
responder_node(struct recon_session *s, const struct recon_msg *m,
    const struct recon_node **out, struct pgps_err *err)
{
	const struct recon_node *n;
	struct recon_msg e = RECON_MSG_INIT;
	char pstr[RECON_MAX_PREFIX_BITS + 1];
	char text[160];

	recon_prefix_str(pstr, &m->prefix);
	if (m->prefix.nbits % RECON_BITQUANTUM != 0)
		return pgps_err_set(err, PGPS_EPROTO,
		    "%s for prefix '%s' not on a tree level",
		    recon_msg_type_name(m->type), pstr);
	if ((n = recon_ptree_find(s->tree, &m->prefix)) != NULL) {
		*out = n;
		return 0;
	}
	/* SKS server.ml: an Error, and the reconciliation ends. */
	snprintf(text, sizeof(text), "server should never receive request "
	    "for non-existant node (%s)", recon_msg_type_name(m->type));
	e.type = RECON_MSG_ERROR;
	e.text = text;
	e.textlen = strlen(text);
	send_msg(s, &e, NULL);
	return pgps_err_set(err, PGPS_EPROTO, "%s for prefix '%s', which we "
	    "do not have", recon_msg_type_name(m->type), pstr);
}

/*
 * Checks a solution against the tree: what it calls local must be ours and
 * under the prefix, what it calls remote must not be ours and be under it.
 */
static bool
solution_plausible(const struct recon_session *s,
    const struct recon_prefix *prefix, const struct recon_solution *sol)
{
	for (size_t i = 0; i < sol->nlocal; i++)
		if (!recon_prefix_has(prefix, &sol->local[i]) ||
		    !recon_ptree_has(s->tree, &sol->local[i]))
			return false;
	for (size_t i = 0; i < sol->nremote; i++)
		if (!recon_prefix_has(prefix, &sol->remote[i]) ||
		    recon_ptree_has(s->tree, &sol->remote[i]))
			return false;
	return true;
}

static int
responder_poly(struct recon_session *s, struct recon_msg *m,
    struct pgps_err *err)
{
	const struct recon_node *n;
	struct recon_solution sol;
	struct recon_elem *all = NULL;
	size_t nall = 0;
	int r;

	s->stats.requests_poly++;
	if ((r = responder_node(s, m, &n, err)) != 0)
		return r;
	r = recon_solve(&sol, m->samples, m->size, n->sv, n->count,
	    RECON_NSAMPLES, s->seed + s->stats.requests_poly);
	if (r == 0 && solution_plausible(s, &m->prefix, &sol)) {
		s->stats.solved++;
		if ((r = send_elems(s, RECON_MSG_ELEMENTS, sol.local,
		    sol.nlocal, err)) != 0)
			return r;
		return want_add(s, sol.remote, sol.nremote, err);
	}
	if (r == PGPS_EINTERNAL)
		return pgps_err_set(err, r, "interpolation failed internally");
	/* Too many differences here: all of them, or descend (server.ml). */
	if (n->child == NULL || n->count < s->full_thresh) {
		s->stats.full_elements++;
		if ((r = recon_node_elements(n, &all, &nall)) != 0)
			return pgps_err_set(err, r, "out of memory");
		r = send_elems(s, RECON_MSG_FULL_ELEMENTS, all, nall, err);
		free(all);
		return r;
	}
	s->stats.sync_fail++;
	return send_simple(s, RECON_MSG_SYNC_FAIL, err);
}

static int
responder_msg(struct recon_session *s, struct recon_msg *m,
    struct pgps_err *err)
{
	const struct recon_node *n;
	int r;

	switch (m->type) {
	case RECON_MSG_RECON_RQST_POLY:
		return responder_poly(s, m, err);
	case RECON_MSG_RECON_RQST_FULL:
		s->stats.requests_full++;
		if ((r = responder_node(s, m, &n, err)) != 0)
			return r;
		return reconcile_sets(s, n, m->elems, m->nelems, err);
	case RECON_MSG_ELEMENTS:
		/* Unsolicited, after our FullElements. */
		return want_add(s, m->elems, m->nelems, err);
	case RECON_MSG_FLUSH:
		/* Our output is always available to the caller. */
		return 0;
	case RECON_MSG_DONE:
		s->state = RECON_STATE_DONE;
		return 0;
	case RECON_MSG_ERROR:
		sanitize(m->text);
		return pgps_err_set(err, PGPS_EPROTO, "peer sent Error: %.200s",
		    m->text);
	default:
		return pgps_err_set(err, PGPS_EPROTO, "unexpected %s from the "
		    "driver", recon_msg_type_name(m->type));
	}
}

/* Handshake. */

static int
start_running(struct recon_session *s, struct pgps_err *err)
{
	struct recon_prefix root = RECON_PREFIX_INIT;
	int r;

	s->phase = PH_RUN;
	s->state = RECON_STATE_RUNNING;
	if (s->role != RECON_ROLE_DRIVER)
		return 0;
	if ((r = driver_queue(s, &((const struct recon_node *)
	    recon_ptree_root(s->tree))[0], &root, 0, err)) != 0)
		return r;
	return driver_pump(s, err);
}

static int
handle_config(struct recon_session *s, struct recon_msg *m,
    struct pgps_err *err)
{
	char reason[600];
	size_t before;
	int r;

	if (m->type != RECON_MSG_CONFIG)
		return pgps_err_set(err, PGPS_EPROTO,
		    "peer began with %s instead of Config",
		    recon_msg_type_name(m->type));
	s->peer = m->config;
	m->config = NULL;
	before = s->out.len;
	if (recon_config_check(&s->local, s->peer, reason,
	    sizeof(reason)) != 0) {
		/* Tell the peer why, as SKS does, then give up. */
		if ((r = recon_string_encode(&s->out, "failed", 6)) != 0 ||
		    (r = recon_string_encode(&s->out, reason,
		    strlen(reason))) != 0)
			return pgps_err_set(err, r, "out of memory");
		s->stats.bytes_out += s->out.len - before;
		return pgps_err_set(err, PGPS_EPROTO,
		    "peer's configuration rejected: %s", reason);
	}
	if ((r = recon_string_encode(&s->out, "passed", 6)) != 0)
		return pgps_err_set(err, r, "out of memory");
	s->stats.bytes_out += s->out.len - before;
	s->phase = PH_VERDICT;
	return 0;
}

static int
handle_verdict(struct recon_session *s, char *v, size_t len,
    struct pgps_err *err)
{
	if (s->phase == PH_REASON) {
		sanitize(v);
		return pgps_err_set(err, PGPS_EPROTO,
		    "peer rejected our configuration: %.200s", v);
	}
	if (len == 6 && memcmp(v, "passed", 6) == 0)
		return start_running(s, err);
	if (len == 6 && memcmp(v, "failed", 6) == 0) {
		s->phase = PH_REASON;
		return 0;
	}
	sanitize(v);
	return pgps_err_set(err, PGPS_EPROTO,
	    "unexpected configuration verdict '%.40s'", v);
}

/*
 * Octets needed for the next unit (a frame, or a bare string during the
 * verdict) given the first len octets of it.
 */
static int
unit_need(const struct recon_session *s, const uint8_t *p, size_t len,
    size_t *need, struct pgps_err *err)
{
	uint32_t n;

	if (s->phase == PH_VERDICT || s->phase == PH_REASON) {
		if (len < 4) {
			*need = 4;
			return 0;
		}
		n = load_be32(p);
		if (n > RECON_MAX_TEXT)
			return pgps_err_set(err, PGPS_ELIMIT,
			    "verdict string of %u octets", n);
		*need = (size_t)n + 4;
		return 0;
	}
	/* A Config is small: do not buffer a huge frame from a stranger. */
	return recon_frame_need(p, len, s->phase == PH_CONFIG &&
	    s->max_frame > RECON_MAX_CONFIG_FRAME ? RECON_MAX_CONFIG_FRAME :
	    s->max_frame, need, err);
}

/* Handles one complete unit of n octets at p. */
static int
handle_unit(struct recon_session *s, const uint8_t *p, size_t n,
    struct pgps_err *err)
{
	struct recon_msg m = RECON_MSG_INIT;
	char *str = NULL;
	size_t slen, used;
	int r;

	s->stats.bytes_in += n;
	if (s->phase == PH_VERDICT || s->phase == PH_REASON) {
		if ((r = recon_string_decode(&str, &slen, &used, p, n,
		    RECON_MAX_TEXT, err)) != 0)
			return r;
		r = handle_verdict(s, str, slen, err);
		free(str);
		return r;
	}
	if ((r = recon_msg_decode(&m, p + 4, n - 4, err)) != 0)
		return r;
	if (s->phase == PH_CONFIG)
		r = handle_config(s, &m, err);
	else if (s->role == RECON_ROLE_DRIVER) {
		/* The last reply of a batch releases the next one. */
		if ((r = driver_reply(s, &m, err)) == 0)
			r = driver_pump(s, err);
	} else
		r = responder_msg(s, &m, err);
	recon_msg_release(&m);
	return r;
}

int
recon_session_new(struct recon_session **out, const struct recon_ptree *tree,
    const struct recon_session_opts *opts)
{
	struct recon_session *s;
	struct recon_msg m = RECON_MSG_INIT;
	size_t n;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return PGPS_ENOMEM;
	s->tree = tree;
	/* Fill the tree's cached sample values once, before any reading. */
	recon_node_settle((struct recon_node *)recon_ptree_root(tree));
	s->role = opts->role;
	s->max_frame = opts->max_frame != 0 ? opts->max_frame :
	    RECON_DEFAULT_MAX_FRAME;
	s->max_want = opts->max_want != 0 ? opts->max_want :
	    RECON_DEFAULT_MAX_WANT;
	s->full_thresh = opts->full_thresh != 0 ? opts->full_thresh :
	    RECON_FULL_THRESH;
	s->max_outstanding = opts->max_outstanding != 0 ?
	    opts->max_outstanding : RECON_MAX_OUTSTANDING;
	s->seed = opts->seed;
	s->adaptive = !opts->no_skip;
	s->state = RECON_STATE_HANDSHAKE;
	s->phase = PH_CONFIG;
	buf_init(&s->in, 0);
	buf_init(&s->out, 0);
	recon_config_default(&s->local, opts->http_port);
	if (opts->version != NULL) {
		n = strlen(opts->version);
		if (n >= sizeof(s->local.version))
			n = sizeof(s->local.version) - 1;
		memcpy(s->local.version, opts->version, n);
		s->local.version[n] = '\0';
	}
	if (opts->filters != NULL) {
		n = strlen(opts->filters);
		if (n >= sizeof(s->local.filters))
			n = sizeof(s->local.filters) - 1;
		memcpy(s->local.filters, opts->filters, n);
		s->local.filters[n] = '\0';
	}
	/* Both sides write their Config before reading (spec 3.2). */
	m.type = RECON_MSG_CONFIG;
	m.config = &s->local;
	if (send_msg(s, &m, NULL) != 0) {
		recon_session_free(s);
		return PGPS_ENOMEM;
	}
	*out = s;
	return 0;
}

void
recon_session_free(struct recon_session *s)
{
	if (s == NULL)
		return;
	buf_release(&s->in);
	buf_release(&s->out);
	free(s->todo.v);
	free(s->asked.v);
	free(s->deferred.v);
	free(s->want);
	free(s->peer);
	free(s);
}

int
recon_session_input(struct recon_session *s, const uint8_t *p, size_t len,
    struct pgps_err *err)
{
	size_t need, take;
	int r;

	if (s->state == RECON_STATE_FAILED)
		return s->fail_code;
	while (len > 0 && s->state != RECON_STATE_DONE &&
	    s->state != RECON_STATE_FAILED) {
		if (s->in.len == 0 && len >= 4) {
			/* Whole units straight from the caller's octets. */
			if ((r = unit_need(s, p, len, &need, err)) != 0)
				return session_fail(s, r);
			if (len >= need) {
				if ((r = handle_unit(s, p, need, err)) != 0)
					return session_fail(s, r);
				p += need;
				len -= need;
				continue;
			}
		}
		/* Buffer a partial unit: at most one frame's worth. */
		if ((r = unit_need(s, s->in.p, s->in.len, &need, err)) != 0)
			return session_fail(s, r);
		take = need - s->in.len;
		if (take > len)
			take = len;
		if ((r = buf_add(&s->in, p, take)) != 0)
			return session_fail(s, pgps_err_set(err, r,
			    "out of memory"));
		p += take;
		len -= take;
		if ((r = unit_need(s, s->in.p, s->in.len, &need, err)) != 0)
			return session_fail(s, r);
		if (s->in.len < need)
			continue;
		r = handle_unit(s, s->in.p, s->in.len, err);
		buf_reset(&s->in);
		if (r != 0)
			return session_fail(s, r);
	}
	return 0;
}

int
recon_session_eof(struct recon_session *s, struct pgps_err *err)
{
	switch (s->state) {
	case RECON_STATE_DONE:
		return 0;
	case RECON_STATE_FAILED:
		return s->fail_code;
	case RECON_STATE_HANDSHAKE:
		/* SKS closes at once when busy or when we are no member. */
		return session_fail(s, pgps_err_set(err, PGPS_ETRUNC,
		    "peer closed the connection during the handshake "
		    "(busy, or not a configured peer)"));
	default:
		return session_fail(s, pgps_err_set(err, PGPS_ETRUNC,
		    "peer closed the connection before the end of the "
		    "reconciliation"));
	}
}

void
recon_session_output(const struct recon_session *s, const uint8_t **p,
    size_t *len)
{
	*p = s->out.p + s->out_off;
	*len = s->out.len - s->out_off;
}

void
recon_session_consumed(struct recon_session *s, size_t n)
{
	if (n > s->out.len - s->out_off)
		PGPS_BUG("consumed more output than there was");
	s->out_off += n;
	if (s->out_off == s->out.len) {
		buf_reset(&s->out);
		s->out_off = 0;
	} else if (s->out_off >= 65536 && s->out_off >= s->out.len / 2) {
		/*
		 * A peer that keeps asking while it reads never lets the
		 * output drain: move what is left to the front, so the buffer
		 * holds what waits, not all that was ever sent.
		 */
		memmove(s->out.p, s->out.p + s->out_off,
		    s->out.len - s->out_off);
		buf_setlen(&s->out, s->out.len - s->out_off);
		s->out_off = 0;
	}
}

enum recon_state
recon_session_state(const struct recon_session *s)
{
	return s->state;
}

const struct recon_config *
recon_session_peer_config(const struct recon_session *s)
{
	return s->peer;
}

int
recon_session_want(struct recon_session *s, const struct recon_elem **out,
    size_t *n)
{
	if (!s->want_clean) {
		size_t k = 0;

		s->nwant = sort_unique(s->want, s->nwant);
		/* A peer may send what we have (Hockeypuck's superset). */
		for (size_t i = 0; i < s->nwant; i++)
			if (!recon_ptree_has(s->tree, &s->want[i]))
				s->want[k++] = s->want[i];
		s->nwant = k;
		s->want_clean = true;
	}
	*out = s->want;
	*n = s->nwant;
	return 0;
}

void
recon_session_get_stats(const struct recon_session *s,
    struct recon_session_stats *out)
{
	*out = s->stats;
}
