/*
 * remote.c: the lookup engine of keyset/remote.h (keyservers, WKD,
 * hashquery batches), every answer judged by keyset/import.h.
 *
 * Memory for the small records of requests in flight is taken with
 * r_malloc() and friends, which abort the process when it runs out: a
 * lookup half made cannot be reported sensibly.
 */
#include "util/common.h"

#include <errno.h>
#include <stdarg.h>

#include "keyset/import.h"
#include "keyset/remote.h"
#include "net/net.h"
#include "openpgp/openpgp.h"
#include "openpgp/uid.h"
#include "util/clock.h"
#include "util/digest.h"
#include "util/hex.h"
#include "util/span.h"

/* At most this many addresses of one key are asked by WKD. */
#define WKD_MAX_ADDRS	3

struct remote {
	struct remote_opts	 o;
	struct net_opts		 nopts;
	const char		*proxy;
	const char		*servers[NET_MAX_SERVERS];
	struct net_server	 srv[NET_MAX_SERVERS];
	size_t			 nservers;
	struct net_client	*net;
	bool			 wkd;
	unsigned long		 rate;
	uint64_t		 t_end;		/* clock_ms() deadline; 0 */
	uint32_t		 down;		/* servers failed in this run */
	size_t			 next, limit;	/* keys still to submit */
	size_t			 window, active;	/* keys in flight */
	uint32_t		 hq_off;	/* servers without hashquery */
	bool			 feeding;
	struct digest		*md5;
	FILE			*urandom;
	struct remote_key *const *keys;
	unsigned long		 requests;
	size_t			 done;
};

static void *
r_malloc(size_t n)
{
	void *p = malloc(n == 0 ? 1 : n);

	if (p == NULL)
		abort();
	return p;
}

static void *
r_calloc(size_t n)
{
	void *p = calloc(1, n == 0 ? 1 : n);

	if (p == NULL)
		abort();
	return p;
}

static char *
r_strdup(const char *s)
{
	size_t n = strlen(s) + 1;

	return memcpy(r_malloc(n), s, n);
}

static void
r_set_str(char **dst, const char *s)
{
	free(*dst);
	*dst = r_strdup(s);
}




static bool
deadline_passed(const struct remote *f)
{
	return f->t_end != 0 && clock_ms() >= f->t_end;
}

int
remote_random(struct remote *f, uint64_t *out, struct pgps_err *err)
{
	if (f->urandom == NULL &&
	    (f->urandom = fopen("/dev/urandom", "rb")) == NULL)
		return pgps_err_set(err, PGPS_EIO, "cannot open /dev/urandom: "
		    "%s", strerror(errno));
	if (fread(out, sizeof(*out), 1, f->urandom) != 1)
		return pgps_err_set(err, PGPS_EIO, "cannot read /dev/urandom");
	return 0;
}

/* Random 64 bits for proxy credentials; a guess when there are none. */
static uint64_t
rand64(struct remote *f)
{
	uint64_t v;

	if (remote_random(f, &v, NULL) != 0)
		v = clock_ms() ^ (uint64_t)(uintptr_t)f;
	return v;
}

static void note(struct remote *f, const char *fmt, ...) PGPS_PRINTF(2, 3);

static void
note(struct remote *f, const char *fmt, ...)
{
	char msg[600];
	va_list ap;

	if (f->o.note == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	f->o.note(msg, f->o.arg);
}

/*
 * What k asks, for the import rules (keyset/import.h).  A fingerprint or
 * key ID the target holds as a primary key is "known": no subkey match
 * counts, and a bare revocation is checked against the target's copy of
 * the key, parsed into *c (released by the caller).
 */
void
remote_query(const struct remote *f, const struct remote_key *k,
    struct import_query *q, struct pgp_cert *c, struct buf *copy)
{
	char hex[2 * PGP_FPR_MAX + 1];

	memset(q, 0, sizeof(*q));
	q->kind = k->kind == NET_QUERY_EMAIL ? IMPORT_BY_EMAIL :
	    k->kind == NET_QUERY_KEYID ? IMPORT_BY_KEY_ID : IMPORT_BY_FPR;
	memcpy(q->id, k->id, k->idlen);
	q->idlen = k->idlen;
	q->email = k->email;
	if (f->o.held == NULL || (k->kind != NET_QUERY_FPR &&
	    k->kind != NET_QUERY_KEYID) || k->idlen == 0)
		return;
	if (k->kind == NET_QUERY_KEYID) {
		/* The set looks up key IDs too; the answer must be primary. */
		hex_encode_upper(hex, k->id, k->idlen);
		if (!f->o.held(hex, copy, f->o.arg) ||
		    pgp_cert_parse(c, copy->p, copy->len, 0, NULL) != 0 ||
		    !c->has_primary ||
		    memcmp(c->primary.keyid, k->id, sizeof(c->primary.keyid)) !=
		    0)
			return;
		q->known_primary = true;
		q->known = &c->pkts[0];
	} else if (f->o.held(k->fpr, copy, f->o.arg)) {
		q->known_primary = true;
		if (pgp_cert_parse(c, copy->p, copy->len, 0, NULL) == 0 &&
		    c->has_primary)
			q->known = &c->pkts[0];
	}
}

/*
 * Judges the certificates of an answer for k (keyset/import.h) and keeps
 * them among k's candidates.  Returns how many were taken; why says what
 * else the answer held when none was.
 */
static size_t
take_answer(struct remote *f, struct remote_key *k, const uint8_t *p, size_t len,
    const char *src, char *why, size_t whylen)
{
	struct import_query q;
	struct pgp_cert known = PGP_CERT_INIT;
	struct buf copy = BUF_INIT;
	const struct import_item *other = NULL;
	size_t kept, others = 0, first = k->cand.n, bad = k->cand.unreadable;

	why[0] = '\0';
	remote_query(f, k, &q, &known, &copy);
	kept = import_set_add_answer(&k->cand, &q, p, len, src);
	pgp_cert_release(&known);
	buf_release(&copy);
	for (size_t i = first; i < k->cand.n; i++)
		if (k->cand.items[i].verdict == IMPORT_REFUSE &&
		    others++ == 0)
			other = &k->cand.items[i];
	if (kept == 0 && others > 0)
		snprintf(why, whylen, "'%s' sent %zu certificate%s for other "
		    "keys (%s) and none for this one%s%s", src, others,
		    others == 1 ? "" : "s", other->fpr[0] != '\0' ?
		    other->fpr : "signatures only",
		    other->reason == IMPORT_R_OTHER_KEY ? "" : ": ",
		    other->reason == IMPORT_R_OTHER_KEY ? "" : other->why);
	else if (kept == 0 && k->cand.unreadable > bad)
		snprintf(why, whylen, "'%s' sent an unreadable answer: %s",
		    src, k->cand.first_error);
	else if (kept == 0)
		snprintf(why, whylen, "'%s' answered without a certificate",
		    src);
	return kept;
}

/* --- lookups ---------------------------------------------------------- */

struct lookup {
	struct remote	*f;
	size_t		 key;
	int		 server;	/* as submitted; -1: fail-over */
	char		*email;		/* WKD: the address; NULL: keyserver */
	bool		 direct;	/* WKD direct method */
};

static int lookup_done(struct net_result *res, void *arg);

static void
note_why(struct remote_key *k, const char *why)
{
	if (why != NULL && why[0] != '\0')
		r_set_str(&k->why, why);
}

/* Asks keyserver server (-1: the first that works) for k. */
static void
submit_ks(struct remote *f, size_t ki, int server)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct net_request rq = NET_REQUEST_INIT;
	struct remote_key *k = f->keys[ki];
	struct lookup *l = r_calloc(sizeof(*l));

	l->f = f;
	l->key = ki;
	l->server = server;
	rq.op = NET_OP_LOOKUP;
	rq.query = k->kind;
	rq.id = k->id;
	rq.idlen = k->idlen;
	rq.text = k->email;
	rq.server = server;
	rq.done = lookup_done;
	rq.arg = l;
	if (net_submit(f->net, &rq, &err) != 0) {
		free(l);
		k->failures++;
		k->late = deadline_passed(f);
		note_why(k, err.msg);
		return;
	}
	k->pending++;
}

static void
submit_wkd(struct remote *f, size_t ki, const char *email, bool direct)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct net_request rq = NET_REQUEST_INIT;
	struct buf url = BUF_INIT;
	struct lookup *l;

	if (net_wkd_url(&url, email, direct ? NET_WKD_DIRECT :
	    NET_WKD_ADVANCED, &err) != 0) {
		note(f, "'%s': no WKD lookup: %s", f->keys[ki]->name,
		    err.msg);
		buf_release(&url);
		return;
	}
	l = r_calloc(sizeof(*l));
	l->f = f;
	l->key = ki;
	l->server = -1;
	l->email = r_strdup(email);
	l->direct = direct;
	rq.op = NET_OP_GET_URL;
	rq.text = (const char *)url.p;
	rq.done = lookup_done;
	rq.arg = l;
	if (net_submit(f->net, &rq, &err) != 0) {
		note(f, "'%s': no WKD lookup: %s", f->keys[ki]->name,
		    err.msg);
		free(l->email);
		free(l);
	} else
		f->keys[ki]->pending++;
	buf_release(&url);
}

static void
show_progress(struct remote *f)
{
	if (f->o.progress != NULL)
		f->o.progress(f->done, f->o.arg);
}

/* The first keyserver after after that has not failed in this run. */
static int
pick_server(const struct remote *f, int after)
{
	for (int i = after + 1; i < (int)f->nservers; i++)
		if ((f->down & (1u << i)) == 0)
			return i;
	return -1;
}

/*
 * Learns from an answer which keyservers fail: a lookup that had to move
 * on from the first servers, or that failed on the one it was sent to,
 * marks them, and later keys start at the first good one instead of
 * trying a failing server first.  (Keys already queued for a server that
 * asked for a pause are moved on by the network client itself.)
 */
static void
note_health(struct remote *f, const struct lookup *l,
    const struct net_result *res)
{
	bool answered = res->code == 0 || res->code == PGPS_ENOTFOUND;

	if (res->server < 0)
		return;
	if (l->server == -1 && answered)
		for (int i = 0; i < res->server; i++)
			f->down |= 1u << i;
	if (l->server >= 0 && !answered && res->code != PGPS_ELIMIT)
		f->down |= 1u << l->server;
}

static void submit_key(struct remote *f, size_t ki);

/* Keeps the window of keys in flight full (--rate aside). */
static void
feed(struct remote *f)
{
	size_t ki;

	while (f->feeding && f->next < f->limit && f->active < f->window) {
		ki = f->next++;
		/* A key in a hashquery is looked up only if that fails. */
		if (!f->keys[ki]->batched)
			submit_key(f, ki);
	}
}

static void
key_done(struct remote *f)
{
	f->active--;
	f->done++;
	show_progress(f);
	feed(f);
}

/* Whether k has an answer so far that is not a subkey match. */
static bool
primary_match(const struct remote_key *k)
{
	for (size_t i = 0; i < k->cand.n; i++)
		if (k->cand.items[i].verdict != IMPORT_REFUSE &&
		    k->cand.items[i].match != IMPORT_MATCH_SUBKEY)
			return true;
	return false;
}

static int
lookup_done(struct net_result *res, void *arg)
{
	struct lookup *l = arg;
	struct remote *f = l->f;
	struct remote_key *k = f->keys[l->key];
	const char *src;
	char why[600];
	bool next = false;
	size_t kept;
	int server;

	f->requests += res->attempts;
	if ((res->flags & NET_RESULT_DEADLINE) != 0)
		k->late = true;
	src = l->email != NULL ? res->url : f->srv[res->server].base;
	if (l->email == NULL)
		r_set_str(&k->last_server, src);
	if (res->code == 0) {
		if ((kept = take_answer(f, k, res->body->p, res->body->len, src,
		    why, sizeof(why))) > 0 && l->email == NULL &&
		    !primary_match(k))
			/* A primary match on a later server wins (rule 5). */
			next = true;
		else if (kept == 0) {
			if (l->email == NULL) {
				k->mismatches++;
				note_why(k, why);
				next = true;
			} else
				note(f, "'%s': %s", k->name, why);
		}
	} else if (res->code == PGPS_ENOTFOUND) {
		if (l->email == NULL) {
			k->notfound++;
			next = true;
		}
	} else if (l->email != NULL) {
		/* The direct method only when the host does not exist. */
		if (!l->direct && (res->flags & NET_RESULT_NO_HOST) != 0)
			submit_wkd(f, l->key, l->email, true);
		else
			note(f, "'%s': WKD: %s", k->name, res->error);
	} else {
		k->failures++;
		note_why(k, res->error);
		next = true;
	}
	if (l->email == NULL) {
		note_health(f, l, res);
	}
	/* 404 and lies are definite answers: the next server may know. */
	if (next && l->email == NULL && res->server >= 0 &&
	    (server = pick_server(f, res->server)) >= 0)
		submit_ks(f, l->key, server);
	if (--k->pending == 0)
		key_done(f);
	free(l->email);
	free(l);
	return 0;
}

/*
 * Up to max distinct addresses of the user IDs of cert data
 * (pgp_cert_addresses()), into out.
 */
static size_t
cert_addresses(char **out, size_t max, const struct buf *data)
{
	struct pgp_cert c = PGP_CERT_INIT;
	char **v = NULL;
	size_t n = 0;

	if (pgp_cert_parse(&c, data->p, data->len, 0, NULL) == 0 &&
	    pgp_cert_addresses(&v, &n, &c, max) != 0)
		abort();	/* out of memory, as r_malloc() */
	for (size_t i = 0; i < n; i++)
		out[i] = v[i];
	free(v);
	pgp_cert_release(&c);
	return n;
}

/* Submits the lookups of k: the keyservers, and WKD with --wkd. */
static void
submit_key(struct remote *f, size_t ki)
{
	struct remote_key *k = f->keys[ki];
	struct buf cur = BUF_INIT;
	char *addrs[WKD_MAX_ADDRS];
	size_t n = 0;
	int server = -1;

	f->active++;
	/* Once a server failed, keys go to the next good one directly. */
	if (f->down != 0 && (server = pick_server(f, -1)) < 0)
		server = -1;
	submit_ks(f, ki, server);
	if (f->wkd) {
		if (k->kind == NET_QUERY_EMAIL)
			addrs[n++] = r_strdup(k->email);
		else if (k->kind == NET_QUERY_FPR && f->o.held != NULL &&
		    f->o.held(k->fpr, &cur, f->o.arg))
			n = cert_addresses(addrs, WKD_MAX_ADDRS, &cur);
		buf_release(&cur);
		for (size_t i = 0; i < n; i++) {
			submit_wkd(f, ki, addrs[i], false);
			free(addrs[i]);
		}
	}
	if (k->pending == 0)
		key_done(f);
}

/* A new client: per key with --delay, so that each key gets a fresh
 * connection, and through Tor a fresh circuit (below). */
static int
client_new(struct remote *f, struct pgps_err *err)
{
	struct net_opts o = f->nopts;
	char proxy[1024];
	const char *sep;
	int r;

	net_client_free(f->net);
	f->net = NULL;
	/*
	 * Tor puts streams with different SOCKS credentials on different
	 * circuits (IsolateSOCKSAuth, on by default): with --delay each key
	 * gets its own, so the exit cannot link the keys of one keyring.
	 */
	if (f->o.fresh && f->proxy != NULL &&
	    strncmp(f->proxy, "socks5", 6) == 0 &&
	    (sep = strstr(f->proxy, "://")) != NULL &&
	    strchr(sep + 3, '@') == NULL) {
		snprintf(proxy, sizeof(proxy), "%.*s%016llx:%016llx@%s",
		    (int)(sep + 3 - f->proxy), f->proxy,
		    (unsigned long long)rand64(f),
		    (unsigned long long)rand64(f), sep + 3);
		o.proxy = proxy;
	}
	if ((r = net_client_new(&f->net, &o, err)) != 0)
		return r;
	if (f->t_end != 0)
		net_client_set_deadline(f->net, f->t_end > clock_ms() ?
		    (long)(f->t_end - clock_ms()) : 1);
	for (size_t i = 0; i < f->nservers; i++)
		if ((r = net_client_add_server(f->net, f->servers[i], err)) <
		    0)
			return r;
	return 0;
}

/* --- batched lookups: /pks/hashquery --------------------------------- */

/*
 * SKS and Hockeypuck answer POST /pks/hashquery (the request of SKS
 * reconciliation) with every certificate whose SKS hash they are given.
 * A key whose last answer from a server is in the state file is asked
 * that way first, a hundred keys in one request: the server sends back
 * the certificates it still holds unchanged, and only the keys whose
 * certificate changed, or that it no longer has, are looked up one by
 * one.  What comes back is checked like any answer: its hash must be one
 * asked for and its fingerprint the key's.  A server that does not take
 * hashqueries gets none for the rest of the run.
 */
#define HQ_BATCH	100	/* hashes per request, as SKS sends them */
#define HQ_MIN		8	/* fewer keys are not worth a request */

struct hq {
	struct remote	*f;
	int		 server;
	size_t		 n;
	size_t		 keys[HQ_BATCH];
	uint8_t		 hashes[HQ_BATCH * 16];
	bool		 got[HQ_BATCH];
};

/* The key a hashquery asked this hash for, with this primary key. */
struct hq_want {
	struct hq	*q;
	size_t		 j;
};

static bool
hq_wants_hash(const uint8_t hash[16], const struct pgp_cert *c, void *arg)
{
	struct hq_want *w = arg;
	struct hq *q = w->q;
	const struct remote_key *k;

	for (size_t j = 0; j < q->n; j++) {
		k = q->f->keys[q->keys[j]];
		if (!q->got[j] && memcmp(hash, q->hashes + 16 * j, 16) == 0 &&
		    c->primary.fprlen == k->idlen &&
		    memcmp(c->primary.fpr, k->id, k->idlen) == 0) {
			w->j = j;
			return true;
		}
	}
	return false;
}

/*
 * Takes one certificate of a hashquery answer if it is one asked for
 * (keyset/import.h, rule 10), then as the answer to its key's lookup.
 */
static void
hq_take(struct hq *q, const struct span *cert)
{
	struct remote *f = q->f;
	struct pgp_cert c = PGP_CERT_INIT;
	struct import_item it;
	struct hq_want w = { q, 0 };
	struct remote_key *k;
	char why[600];

	if (import_hashquery(&it, &c, cert->p, cert->len, f->md5,
	    hq_wants_hash, &w) != IMPORT_ACCEPT) {
		note(f, "'%s': hashquery answer: %s %s",
		    f->srv[q->server].base, it.fpr[0] != '\0' ?
		    it.fpr : "a certificate", it.why);
		goto cleanup;
	}
	k = f->keys[q->keys[w.j]];
	if (take_answer(f, k, cert->p, cert->len, f->srv[q->server].base,
	    why, sizeof(why)) == 0)
		goto cleanup;
	memcpy(k->hash, it.hash, 16);
	k->has_hash = true;
	r_set_str(&k->server, f->srv[q->server].base);
	r_set_str(&k->last_server, f->srv[q->server].base);
	q->got[w.j] = true;
 cleanup:
	pgp_cert_release(&c);
}

static int
hq_done(struct net_result *res, void *arg)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct hq *q = arg;
	struct remote *f = q->f;
	struct net_hashquery_reader rd;
	struct span cert;
	int r = -1;

	f->requests += res->attempts;
	if (res->code == 0 && net_hashquery_begin(&rd, res->body->p,
	    res->body->len, q->n, &err) == 0)
		while ((r = net_hashquery_next(&rd, &cert, &err)) == 1)
			hq_take(q, &cert);
	if (r < 0) {
		f->hq_off |= 1u << q->server;
		note(f, "'%s': no batched lookups: %s",
		    f->srv[q->server].base, res->code != 0 ?
		    res->error : err.msg);
	}
	/* What did not come back is looked up by fingerprint. */
	for (size_t j = 0; j < q->n; j++) {
		f->keys[q->keys[j]]->batched = false;
		if (!q->got[j])
			submit_key(f, q->keys[j]);
		else {
			f->done++;
			show_progress(f);
		}
	}
	free(q);
	return 0;
}

static void
hq_send(struct remote *f, struct hq *q)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct net_request rq = NET_REQUEST_INIT;

	rq.op = NET_OP_HASHQUERY;
	rq.data = q->hashes;
	rq.datalen = 16 * q->n;
	rq.server = q->server;
	rq.done = hq_done;
	rq.arg = q;
	if (net_submit(f->net, &rq, &err) != 0) {
		free(q);	/* the keys are still not batched */
		return;
	}
	for (size_t j = 0; j < q->n; j++)
		f->keys[q->keys[j]]->batched = true;
}

/* Whether the last answer for k came from server s, with its SKS hash. */
static bool
hq_wants(const struct remote_key *k, size_t s)
{
	return k->kind == NET_QUERY_FPR && k->hq_server == (int)s;
}

/*
 * Batches the keys of keys[lo..hi) whose last answer came from an HKP
 * server that is still in good standing.  Not with --wkd (every key asks
 * WKD too) nor --delay (one key at a time is the point there).
 */
static void
hq_submit(struct remote *f, size_t lo, size_t hi)
{
	struct hq *q;
	size_t n;

	if (!f->o.hashquery || f->wkd || f->o.fresh)
		return;
	for (size_t s = 0; s < f->nservers; s++) {
		if (f->srv[s].kind != NET_SERVER_HKP ||
		    ((f->hq_off | f->down) & (1u << s)) != 0)
			continue;
		n = 0;
		for (size_t i = lo; i < hi; i++)
			if (hq_wants(f->keys[i], s))
				n++;
		if (n < HQ_MIN)
			continue;
		q = NULL;
		for (size_t i = lo; i < hi; i++) {
			struct remote_key *k = f->keys[i];

			if (k->batched || !hq_wants(k, s))
				continue;
			if (q == NULL) {
				q = r_calloc(sizeof(*q));
				q->f = f;
				q->server = (int)s;
			}
			memcpy(q->hashes + 16 * q->n, k->hq_hash, 16);
			q->keys[q->n++] = i;
			if (q->n == HQ_BATCH) {
				hq_send(f, q);
				q = NULL;
			}
		}
		if (q != NULL)
			hq_send(f, q);
	}
}

/*
 * Looks up keys[lo..hi): a window of keys in flight, refilled as keys
 * complete; with --rate, waves of that many keys a second instead.
 */
static int
run_lookups(struct remote *f, size_t lo, size_t hi, struct pgps_err *err)
{
	double t0;
	int r;

	f->next = lo;
	f->limit = hi;
	f->window = f->rate > 0 ? f->rate :
	    4 * (size_t)f->nopts.max_total + 16;
	hq_submit(f, lo, hi);
	while (f->next < hi) {
		t0 = clock_s();
		f->feeding = true;
		feed(f);
		f->feeding = f->rate == 0;
		if ((r = net_run(f->net, err)) != 0)
			return r;
		if (f->rate > 0 && f->next < hi)
			clock_sleep_s(1.0 - (clock_s() - t0));
	}
	return 0;
}


/* --- the interface ---------------------------------------------------- */

int
remote_new(struct remote **out, const struct remote_opts *o,
    struct pgps_err *err)
{
	struct remote *f;
	int r;

	if (o->nservers == 0 || o->nservers > NET_MAX_SERVERS)
		return pgps_err_set(err, PGPS_EINTERNAL, "%zu keyservers",
		    o->nservers);
	f = r_calloc(sizeof(*f));
	f->o = *o;
	f->nopts = o->net;
	f->proxy = o->net.proxy;
	f->wkd = o->wkd;
	f->rate = o->rate;
	f->nservers = o->nservers;
	for (size_t i = 0; i < o->nservers; i++) {
		f->servers[i] = o->servers[i];
		if ((r = net_server_parse(&f->srv[i], o->servers[i], err)) !=
		    0) {
			free(f);
			return r;
		}
	}
	if ((f->md5 = digest_new(DIGEST_MD5)) == NULL) {
		free(f);
		return pgps_err_set(err, PGPS_ENOMEM, "out of memory");
	}
	*out = f;
	return 0;
}

void
remote_free(struct remote *f)
{
	if (f == NULL)
		return;
	net_client_free(f->net);
	digest_free(f->md5);
	if (f->urandom != NULL)
		fclose(f->urandom);
	free(f);
}

void
remote_set_deadline(struct remote *f, long ms)
{
	f->t_end = ms > 0 ? clock_ms() + (uint64_t)ms : 0;
	if (f->net != NULL)
		net_client_set_deadline(f->net, ms);
}

int
remote_lookup(struct remote *f, struct remote_key *const *keys, size_t n,
    struct pgps_err *err)
{
	int r;

	if (f->o.fresh || f->net == NULL)
		if ((r = client_new(f, err)) != 0)
			return r;
	f->keys = keys;
	f->done = 0;
	f->active = 0;
	r = run_lookups(f, 0, n, err);
	f->keys = NULL;
	return r;
}

unsigned long
remote_requests(const struct remote *f)
{
	return f->requests;
}

const char *
remote_server_base(const struct remote *f, size_t i)
{
	return i < f->nservers ? f->srv[i].base : NULL;
}

void
remote_key_release(struct remote_key *k)
{
	import_set_release(&k->cand);
	free(k->server);
	free(k->last_server);
	free(k->why);
	k->server = k->last_server = k->why = NULL;
}
