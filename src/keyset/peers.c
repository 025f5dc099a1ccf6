/*
 * peers.c: crawling the gossip graph of SKS-family keyservers, and
 * surveying one certificate across it (peers.h).
 *
 * A server is a node named by host and HKP port; a peer listed by its
 * recon port only (SKS's membership file) is asked on the recon port
 * plus one, the convention of the network (11370/11371) that SKS's own
 * spider.ml follows.  Nodes are told apart by host name as listed and
 * port, so each name is asked once; two names of one machine stay two
 * nodes.  A level is read whole before the next is looked at, so the
 * graph does not depend on which answer came first.
 *
 * The survey takes a copy only as fetch would (keyset/import.h): a
 * certificate whose primary key is the fingerprint asked; a forged one
 * carrying it as a subkey is refused and reported, never counted as the
 * key's version.
 */
#include "util/common.h"

#include <sys/types.h>
#include <stdarg.h>

#include "keyset/import.h"
#include "keyset/peers.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/digest.h"
#include "util/err.h"
#include "util/mem.h"

const char *
peers_node_name(const struct peers_node *nd, char *buf, size_t len)
{
	snprintf(buf, len, "%s:%u", nd->host, nd->hkp_port);
	return buf;
}

bool
peers_lists(const struct peers_node *b, size_t a)
{
	for (size_t i = 0; i < b->nout; i++)
		if (b->out[i] == a)
			return true;
	return false;
}

bool
peers_one_way(const struct peers_graph *g, size_t a, size_t b)
{
	return g->nodes[a].state == PEERS_OK &&
	    g->nodes[b].state == PEERS_OK && !peers_lists(&g->nodes[b], a);
}

static bool
has_keys(const struct peers_node *nd)
{
	return nd->state == PEERS_OK && nd->st.keys >= 0;
}

/*
 * Key counts compared: a node's count reaches those it lists and those
 * listing it; it is behind when more than 1% below the largest of them.
 */
static void
compare_counts(struct peers_graph *g)
{
	g->largest = -1;
	for (size_t i = 0; i < g->n; i++)
		g->nodes[i].peer_max = -1;
	for (size_t i = 0; i < g->n; i++) {
		struct peers_node *nd = &g->nodes[i];

		if (!has_keys(nd))
			continue;
		if (nd->st.keys > g->largest)
			g->largest = nd->st.keys;
		for (size_t k = 0; k < nd->nout; k++) {
			struct peers_node *p = &g->nodes[nd->out[k]];

			if (nd->st.keys > p->peer_max)
				p->peer_max = nd->st.keys;
			if (has_keys(p) && p->st.keys > nd->peer_max)
				nd->peer_max = p->st.keys;
		}
	}
	for (size_t i = 0; i < g->n; i++) {
		struct peers_node *nd = &g->nodes[i];

		nd->behind = has_keys(nd) && nd->peer_max > nd->st.keys &&
		    nd->peer_max - nd->st.keys > nd->peer_max / 100;
	}
}

void
peers_graph_release(struct peers_graph *g)
{
	for (size_t i = 0; i < g->n; i++) {
		net_stats_release(&g->nodes[i].st);
		free(g->nodes[i].out);
	}
	free(g->nodes);
	*g = (struct peers_graph)PEERS_GRAPH_INIT;
}

int
peers_seed_parse(struct peers_node *out, const char *s, struct pgps_err *err)
{
	struct net_server srv;
	char hp[NET_HOSTPORT_MAX];
	bool tls = false;
	unsigned int port = 0;
	int r;

	memset(out, 0, sizeof(*out));
	if (strncmp(s, "hkp://", 6) == 0 || strncmp(s, "hkps://", 7) == 0) {
		if ((r = net_server_parse(&srv, s, err)) != 0)
			return r;
		memcpy(out->host, srv.host, sizeof(out->host));
		out->hkp_port = srv.port;
		out->tls = srv.tls;
		return 0;
	}
	if (strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0) {
		if ((r = net_url_hostport(hp, &tls, s, err)) != 0)
			return r;
		s = hp;
	}
	if (net_stats_addr(out->host, &port, s, strlen(s)) != 0 ||
	    out->host[0] == '\0')
		return pgps_err_set(err, PGPS_EFORMAT,
		    "'%s': not a host, host:port or hkp:// URL", s);
	out->hkp_port = port != 0 ? port : tls ? 443 : NET_HKP_PORT;
	out->tls = tls;
	return 0;
}

/* --- the graph ---------------------------------------------------------- */

static ssize_t
node_find(const struct peers_graph *g, const char *host, unsigned int hkp,
    unsigned int recon)
{
	for (size_t i = 0; i < g->n; i++) {
		const struct peers_node *nd = &g->nodes[i];

		if (strcmp(nd->host, host) != 0)
			continue;
		if ((hkp != 0 && nd->hkp_port == hkp) ||
		    (recon != 0 && nd->recon_port == recon))
			return (ssize_t)i;
	}
	return -1;
}

static int
node_add(struct peers_graph *g, const struct peers_node *nd)
{
	if (g->n == g->alloc) {
		size_t na = g->alloc == 0 ? 16 : 2 * g->alloc;
		struct peers_node *p = mem_reallocarray(g->nodes, na,
		    sizeof(*p));

		if (p == NULL)
			return PGPS_ENOMEM;
		g->nodes = p;
		g->alloc = na;
	}
	g->nodes[g->n] = *nd;
	g->nodes[g->n].st = (struct net_stats)NET_STATS_INIT;
	g->n++;
	return 0;
}

static int
edge_add(struct peers_graph *g, size_t from, size_t to)
{
	struct peers_node *nd = &g->nodes[from];

	if (from == to) {
		nd->self_links++;
		return 0;
	}
	if (peers_lists(nd, to))
		return 0;
	if (nd->nout == nd->allocout) {
		size_t na = nd->allocout == 0 ? 8 : 2 * nd->allocout;
		size_t *p = mem_reallocarray(nd->out, na, sizeof(*p));

		if (p == NULL)
			return PGPS_ENOMEM;
		nd->out = p;
		nd->allocout = na;
	}
	nd->out[nd->nout++] = to;
	g->nodes[to].nin++;
	return 0;
}

/* Adds the peers node i lists, new ones at the next depth. */
static int
node_links(struct peers_graph *g, size_t i, const struct peers_opts *o)
{
	int r;

	for (size_t k = 0; k < g->nodes[i].st.npeers; k++) {
		const struct net_stats_peer *p = &g->nodes[i].st.peers[k];
		unsigned int hkp = p->hkp_port;
		ssize_t j;

		if (hkp == 0 && p->recon_port < 65535)
			hkp = p->recon_port + 1;
		if (hkp == 0) {
			g->nodes[i].st.peers_skipped++;
			continue;
		}
		j = node_find(g, p->host, p->hkp_port, p->recon_port);
		if (j < 0 && p->hkp_port == 0)
			j = node_find(g, p->host, hkp, 0);
		if (j < 0) {
			struct peers_node nd;

			if (g->n >= o->max_servers) {
				g->nodes[i].dropped++;
				g->dropped++;
				continue;
			}
			memset(&nd, 0, sizeof(nd));
			memcpy(nd.host, p->host, sizeof(nd.host));
			nd.hkp_port = hkp;
			nd.recon_port = p->recon_port;
			nd.depth = g->nodes[i].depth + 1;
			if ((r = node_add(g, &nd)) != 0)
				return r;
			j = (ssize_t)(g->n - 1);
		} else if (g->nodes[j].recon_port == 0) {
			g->nodes[j].recon_port = p->recon_port;
		}
		if ((r = edge_add(g, i, (size_t)j)) != 0)
			return r;
	}
	return 0;
}

/* --- fetching pages ------------------------------------------------------ */

struct crawl {
	struct peers_graph	*g;
	const struct peers_opts	*o;
	int			 err;
};

static void
note(const struct peers_opts *o, const char *fmt, ...) PGPS_PRINTF(2, 3);

static void
note(const struct peers_opts *o, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (o->note == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	o->note(msg, o->arg);
}

struct page_arg {
	struct crawl	*cr;
	size_t		 node;
};

static int
page_done(struct net_result *res, void *arg)
{
	struct page_arg *pa = arg;
	struct crawl *cr = pa->cr;
	struct peers_node *nd = &cr->g->nodes[pa->node];
	struct pgps_err e = PGPS_ERR_INIT;
	int r;

	if (res->code != 0) {
		nd->state = (res->flags & NET_RESULT_DEADLINE) != 0 ?
		    PEERS_NOT_ASKED : (res->flags & NET_RESULT_REFUSED) != 0 ?
		    PEERS_REFUSED : PEERS_UNREACHABLE;
		snprintf(nd->why, sizeof(nd->why), "%s",
		    (res->flags & NET_RESULT_DEADLINE) != 0 ?
		    "the deadline passed" : res->error);
		if (res->code == PGPS_ELIMIT)
			snprintf(nd->why, sizeof(nd->why), "'%s': page larger "
			    "than %zu octets", res->url, cr->o->max_page);
		note(cr->o, "%s", nd->why);
		return 0;
	}
	r = net_stats_parse(&nd->st, res->body->p, res->body->len, &e);
	if (r == PGPS_ENOMEM)
		return cr->err = r;
	if (r != 0) {
		nd->state = PEERS_UNREACHABLE;
		snprintf(nd->why, sizeof(nd->why), "'%s': %s", res->url,
		    e.msg);
		note(cr->o, "%s", nd->why);
		return 0;
	}
	nd->state = PEERS_OK;
	if (nd->recon_port == 0)
		nd->recon_port = nd->st.recon_port;
	note(cr->o, "'%s': %s, %zu peers", res->url,
	    net_stats_kind_name(nd->st.kind), nd->st.npeers);
	return 0;
}

/* Peers learned from pages are asked only at public addresses. */
static unsigned int
req_flags(const struct peers_node *nd, const struct peers_opts *o)
{
	return NET_REQ_NO_REDIRECT | (nd->seed || o->allow_private ? 0 :
	    NET_REQ_PUBLIC_ONLY);
}

static int
stats_url(struct buf *b, const struct peers_node *nd)
{
	buf_reset(b);
	return buf_addf(b, "%s://%s:%u/pks/lookup?op=stats&options=mr",
	    nd->tls ? "https" : "http", nd->host, nd->hkp_port);
}

/* Asks for the pages of nodes[lo..hi) still pending, at most rate a second. */
static int
fetch_level(struct net_client *c, struct crawl *cr, size_t lo, size_t hi,
    struct pgps_err *err)
{
	struct net_request rq = NET_REQUEST_INIT;
	struct buf url = BUF_INIT;
	struct page_arg *args;
	size_t i = lo, wave;
	double t0;
	int r = 0;

	if ((args = calloc(hi - lo, sizeof(*args))) == NULL)
		return PGPS_ENOMEM;
	while (i < hi) {
		t0 = clock_s();
		wave = 0;
		for (; i < hi && (cr->o->rate == 0 || wave < cr->o->rate);
		    i++) {
			struct peers_node *nd = &cr->g->nodes[i];

			if (nd->state != PEERS_PENDING)
				continue;
			if ((r = stats_url(&url, nd)) != 0)
				goto cleanup;
			args[i - lo].cr = cr;
			args[i - lo].node = i;
			rq.op = NET_OP_GET_URL;
			rq.text = (const char *)url.p;
			rq.max_body = cr->o->max_page;
			rq.done = page_done;
			rq.arg = &args[i - lo];
			rq.flags = req_flags(nd, cr->o);
			if (net_submit(c, &rq, NULL) != 0) {
				nd->state = PEERS_NOT_ASKED;
				snprintf(nd->why, sizeof(nd->why),
				    "the deadline passed");
				continue;
			}
			cr->g->requests++;
			wave++;
		}
		if ((r = net_run(c, err)) != 0)
			goto cleanup;
		if (cr->err != 0) {
			r = cr->err;
			goto cleanup;
		}
		if (cr->o->rate > 0 && i < hi && clock_s() - t0 < 1.0)
			clock_sleep_s(1.0 - (clock_s() - t0));
	}
 cleanup:
	free(args);
	buf_release(&url);
	return r;
}

static int
client_new(struct net_client **c, const struct peers_opts *o,
    uint64_t t_end, struct pgps_err *err)
{
	int r;

	if ((r = net_client_new(c, &o->net, err)) != 0)
		return r;
	if (t_end != 0) {
		uint64_t now = clock_ms();

		net_client_set_deadline(*c, now < t_end ?
		    (long)(t_end - now) : 1);
	}
	return 0;
}

int
peers_crawl(struct peers_graph *g, const struct peers_opts *o,
    const char *const *seeds, size_t n, struct pgps_err *err)
{
	struct net_client *c = NULL;
	struct crawl cr = { g, o, 0 };
	struct peers_node nd;
	uint64_t t_end = o->deadline_ms > 0 ? clock_ms() +
	    (uint64_t)o->deadline_ms : 0;
	size_t lo = 0, hi;
	int r;

	for (size_t i = 0; i < n; i++) {
		if ((r = peers_seed_parse(&nd, seeds[i], err)) != 0)
			goto cleanup;
		if (node_find(g, nd.host, nd.hkp_port, 0) >= 0)
			continue;
		nd.seed = true;
		if (g->n >= o->max_servers) {
			g->dropped++;
			continue;
		}
		if ((r = node_add(g, &nd)) != 0)
			goto cleanup;
	}
	if ((r = client_new(&c, o, t_end, err)) != 0)
		goto cleanup;
	while (lo < g->n) {
		hi = g->n;
		if (g->nodes[lo].depth > o->depth) {
			for (size_t i = lo; i < hi; i++) {
				g->nodes[i].state = PEERS_NOT_ASKED;
				snprintf(g->nodes[i].why,
				    sizeof(g->nodes[i].why),
				    "beyond --depth %u", o->depth);
			}
			break;
		}
		if ((r = fetch_level(c, &cr, lo, hi, err)) != 0)
			goto cleanup;
		for (size_t i = lo; i < hi; i++) {
			if (g->nodes[i].state == PEERS_OK &&
			    (r = node_links(g, i, o)) != 0)
				goto cleanup;
			/*
			 * Linked (node_links() may move g->nodes): the list
			 * goes, as 200 of them would take 50 MB.
			 */
			free(g->nodes[i].st.peers);
			g->nodes[i].st.peers = NULL;
		}
		lo = hi;
	}
	compare_counts(g);
	r = 0;
 cleanup:
	net_client_free(c);
	return r;
}

/* --- the survey ---------------------------------------------------------- */

struct survey {
	struct peers_graph	*g;
	struct import_query	 q;
	struct import_set	*sets;	/* per node */
	bool			*done;
	int			 err;
};

struct survey_arg {
	struct survey	*sv;
	size_t		 node;
};

static int
key_done(struct net_result *res, void *arg)
{
	struct survey_arg *sa = arg;
	struct peers_key *k = &sa->sv->g->nodes[sa->node].key;
	struct import_set *s = &sa->sv->sets[sa->node];

	if (res->code == PGPS_ENOTFOUND) {
		k->result = PEERS_KEY_ABSENT;
		return 0;
	}
	if (res->code != 0) {
		k->result = PEERS_KEY_FAILED;
		snprintf(k->why, sizeof(k->why), "%s",
		    (res->flags & NET_RESULT_DEADLINE) != 0 ?
		    "the deadline passed" : res->error);
		return 0;
	}
	import_set_add_answer(s, &sa->sv->q, res->body->p, res->body->len,
	    res->url);
	if (import_set_resolve(s, &sa->sv->q) > 0 &&
	    import_set_primary(s) != NULL) {
		k->result = PEERS_KEY_PRESENT;
		return 0;
	}
	if (s->n == 0) {
		k->result = PEERS_KEY_ABSENT;
		return 0;
	}
	k->result = PEERS_KEY_REFUSED;
	for (size_t i = 0; i < s->n; i++)
		if (s->items[i].verdict == IMPORT_REFUSE) {
			snprintf(k->why, sizeof(k->why), "%s",
			    s->items[i].why[0] != '\0' ? s->items[i].why :
			    import_reason_text(s->items[i].reason));
			break;
		}
	return 0;
}

/* The accepted version of node i's answer, or NULL. */
static const struct import_item *
accepted(const struct import_set *s)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->items[i].verdict == IMPORT_ACCEPT)
			return &s->items[i];
	return NULL;
}

/* Hashes, numbers and compares the versions present with their union. */
static int
survey_compare(struct survey *sv, struct pgps_err *err)
{
	struct peers_graph *g = sv->g;
	struct pgp_cert *certs = NULL, uc = PGP_CERT_INIT;
	const struct pgp_cert **vp = NULL;
	size_t *who = NULL, nv = 0;
	struct buf uni = BUF_INIT;
	struct digest *md5 = NULL;
	struct pgp_change *ch = NULL;
	size_t nch;
	int r = PGPS_ENOMEM;

	if ((certs = calloc(g->n + 1, sizeof(*certs))) == NULL ||
	    (vp = calloc(g->n + 1, sizeof(*vp))) == NULL ||
	    (who = calloc(g->n + 1, sizeof(*who))) == NULL ||
	    (md5 = digest_new(DIGEST_MD5)) == NULL)
		goto cleanup;
	for (size_t i = 0; i < g->n; i++) {
		const struct import_item *it;
		struct peers_key *k = &g->nodes[i].key;

		if (k->result != PEERS_KEY_PRESENT ||
		    (it = accepted(&sv->sets[i])) == NULL)
			continue;
		certs[nv] = (struct pgp_cert)PGP_CERT_INIT;
		if (pgp_cert_parse(&certs[nv], it->data.p, it->data.len, 0,
		    NULL) != 0 || pgp_cert_sks_hash_canonical(&certs[nv], md5,
		    k->hash) != 0) {
			pgp_cert_release(&certs[nv]);
			k->result = PEERS_KEY_REFUSED;
			snprintf(k->why, sizeof(k->why), "cannot be read");
			continue;
		}
		k->version = 0;
		for (size_t j = 0; j < nv; j++)
			if (memcmp(g->nodes[who[j]].key.hash, k->hash, 16) ==
			    0) {
				k->version = g->nodes[who[j]].key.version;
				break;
			}
		if (k->version == 0)
			k->version = ++g->versions;
		vp[nv] = &certs[nv];
		who[nv++] = i;
	}
	g->present = nv;
	if (nv == 0) {
		r = 0;
		goto cleanup;
	}
	/* No union (the versions do not merge): the versions still stand. */
	if ((r = pgp_cert_merge_many(&uni, vp, nv, NULL, NULL)) != 0 ||
	    (r = pgp_cert_parse(&uc, uni.p, uni.len, 0, NULL)) != 0 ||
	    (r = pgp_cert_sks_hash_canonical(&uc, md5, g->union_hash)) != 0) {
		if (r != PGPS_ENOMEM)
			r = 0;
		goto cleanup;
	}
	g->has_union = true;
	g->union_pkts = uc.npkts;
	for (size_t j = 0; j < nv; j++) {
		struct peers_key *k = &g->nodes[who[j]].key;

		if ((r = pgp_cert_diff(&ch, &nch, vp[j], &uc, err)) != 0)
			goto cleanup;
		for (size_t m = 0; m < nch; m++)
			k->lacks[ch[m].kind]++;
		k->nlacks = nch;
		free(ch);
		ch = NULL;
	}
	r = 0;
 cleanup:
	free(ch);
	for (size_t j = 0; j < nv; j++)
		pgp_cert_release(&certs[j]);
	pgp_cert_release(&uc);
	buf_release(&uni);
	digest_free(md5);
	free(certs);
	free(vp);
	free(who);
	return r;
}

int
peers_survey(struct peers_graph *g, const struct peers_opts *o,
    const struct pgp_keyid *fpr, struct pgps_err *err)
{
	struct net_client *c = NULL;
	struct survey sv;
	struct survey_arg *args = NULL;
	struct net_request rq = NET_REQUEST_INIT;
	struct net_server srv;
	struct buf url = BUF_INIT, base = BUF_INIT;
	size_t wave = 0;
	double t0;
	int r;

	memset(&sv, 0, sizeof(sv));
	sv.g = g;
	if (!pgp_keyid_is_fpr(fpr) || fpr->len < 20)
		return pgps_err_set(err, PGPS_EFORMAT,
		    "a v4 or v6 fingerprint is needed");
	sv.q.kind = IMPORT_BY_FPR;
	/* Only a certificate whose primary key is fpr is the key's copy. */
	sv.q.known_primary = true;
	sv.q.idlen = fpr->len;
	memcpy(sv.q.id, fpr->b, fpr->len);
	pgp_keyid_hex(g->fpr, fpr);
	g->surveyed = true;
	r = PGPS_ENOMEM;
	if ((sv.sets = calloc(g->n + 1, sizeof(*sv.sets))) == NULL ||
	    (args = calloc(g->n + 1, sizeof(*args))) == NULL)
		goto cleanup;
	if ((r = client_new(&c, o, o->deadline_ms > 0 ? clock_ms() +
	    (uint64_t)o->deadline_ms : 0, err)) != 0)
		goto cleanup;
	for (size_t i = 0; i < g->n; i++)
		sv.sets[i] = (struct import_set)IMPORT_SET_INIT;
	t0 = clock_s();
	for (size_t i = 0; i < g->n; i++) {
		struct peers_node *nd = &g->nodes[i];

		if (nd->state != PEERS_OK)
			continue;
		buf_reset(&base);
		if ((r = buf_addf(&base, "%s://%s:%u", nd->tls ? "hkps" :
		    "hkp", nd->host, nd->hkp_port)) != 0)
			goto cleanup;
		buf_reset(&url);
		if (net_server_parse(&srv, (const char *)base.p, NULL) != 0 ||
		    net_url_lookup(&url, &srv, NET_QUERY_FPR, sv.q.id,
		    sv.q.idlen, NULL, NULL) != 0) {
			nd->key.result = PEERS_KEY_FAILED;
			snprintf(nd->key.why, sizeof(nd->key.why),
			    "no lookup URL for '%s'", (const char *)base.p);
			continue;
		}
		args[i].sv = &sv;
		args[i].node = i;
		rq.op = NET_OP_GET_URL;
		rq.text = (const char *)url.p;
		rq.done = key_done;
		rq.arg = &args[i];
		rq.flags = req_flags(nd, o);
		if (net_submit(c, &rq, NULL) != 0) {
			nd->key.result = PEERS_KEY_FAILED;
			snprintf(nd->key.why, sizeof(nd->key.why),
			    "not asked: the deadline passed");
			continue;
		}
		g->requests++;
		/* With --rate, a wave of that many a second. */
		if (o->rate > 0 && ++wave == o->rate) {
			if ((r = net_run(c, err)) != 0)
				goto cleanup;
			if (clock_s() - t0 < 1.0)
				clock_sleep_s(1.0 - (clock_s() - t0));
			wave = 0;
			t0 = clock_s();
		}
	}
	if ((r = net_run(c, err)) != 0)
		goto cleanup;
	r = survey_compare(&sv, err);
 cleanup:
	net_client_free(c);
	if (sv.sets != NULL)
		for (size_t i = 0; i < g->n; i++)
			import_set_release(&sv.sets[i]);
	free(sv.sets);
	free(args);
	buf_release(&url);
	buf_release(&base);
	return r;
}
