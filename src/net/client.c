/*
 * client.c: a queue of HTTP requests to keyservers, run over libcurl's
 * multi interface.
 *
 * The client schedules transfers itself, one FIFO per host:port, so that
 * both bounds (transfers in total, transfers per host) hold whatever libcurl
 * does with connections; libcurl's own per-host and total connection limits
 * are set to the same values as a second fence.  Connections live in the
 * multi handle's cache and are reused across requests; over HTTPS a new
 * transfer waits for an existing connection to say whether it multiplexes
 * (CURLOPT_PIPEWAIT), so HTTP/2 servers get one connection with several
 * streams.  Plain hkp:// is HTTP/1.1, one request per connection at a time.
 *
 * Every attempt has a fresh easy handle.  Its body goes into a capped buf:
 * CURLOPT_MAXFILESIZE_LARGE refuses an announced length over the cap, and
 * the write callback stops a body without one as soon as it passes the cap,
 * so memory per transfer is bounded by the cap (curl's getinmemory.c
 * example checks neither).
 *
 * Deliberately not here: decoding armor, splitting or checking
 * certificates (the caller knows what it asked for), building or reading
 * the JSON of the VKS upload API (the caller passes and gets bytes), DNS
 * SRV lookups, pool host selection, HKPv2, and anything that retries a
 * request the server answered with a definite error.
 */
#include "util/common.h"

#include <sys/socket.h>

#include <netinet/in.h>

#include <arpa/inet.h>
#include <pthread.h>
#include <stdarg.h>
#include <unistd.h>

#include <curl/curl.h>

#include "net/net.h"
#include "net/opts.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/err.h"
#include "util/mem.h"

/* Longest wait in one poll: keeps delayed requests prompt. */
#define NET_POLL_MAX_MS		1000
/* Redirects followed by GET requests (WKD servers may redirect). */
#define NET_MAX_REDIRS		5

enum attempt_class {
	ATTEMPT_DONE,		/* a definite answer (or a local failure) */
	ATTEMPT_RETRY,		/* transient: next server, later this one */
	ATTEMPT_FAILOVER	/* this server will not do: next server only */
};

struct net_req;

struct net_host {
	struct net_host	*next;
	char		 key[NET_HOSTPORT_MAX];
	unsigned int	 active;
	uint64_t	 not_before;	/* Retry-After asked for by the host */
	struct net_req	*head;		/* ready requests, FIFO */
	struct net_req	*tail;
};

struct net_req {
	struct net_req	*next;		/* host FIFO, delayed or in-flight */
	enum net_op	 op;
	enum net_query_kind query;
	uint8_t		 id[32];
	size_t		 idlen;
	char		*text;
	char		 hostport[NET_HOSTPORT_MAX];	/* NET_OP_GET_URL */
	bool		 url_tls;
	struct buf	 post;
	size_t		 nhashes;
	size_t		 max_body;
	net_done_fn	 done;
	void		*arg;

	uint32_t	 usable;	/* servers that can serve the request */
	uint32_t	 dead;		/* servers that failed for good */
	uint32_t	 tried;		/* servers tried in this round */
	int		 server;
	unsigned int	 round;
	unsigned int	 attempts;
	uint64_t	 ready_at;
	uint64_t	 retry_after;	/* longest Retry-After this round, ms */
	struct net_host	*host;

	CURL		*easy;
	struct curl_slist *headers;
	struct buf	 url;
	struct buf	 body;
	bool		 oversize;
	bool		 nomem;
	bool		 cut;		/* time-out cut to the deadline */
	long		 status;
	unsigned int	 flags;
	unsigned int	 rflags;	/* enum net_request_flags */
	char		 refused[INET6_ADDRSTRLEN + 32];	/* PUBLIC_ONLY */
	char		 curlerr[CURL_ERROR_SIZE];
	struct pgps_err	 err;
};

struct net_client {
	struct net_opts	 o;
	char		*ca_file;
	char		*proxy;
	char		*user_agent;
	CURLM		*multi;
	struct net_server servers[NET_MAX_SERVERS];
	char		 hostports[NET_MAX_SERVERS][NET_HOSTPORT_MAX];
	size_t		 nservers;
	struct net_host	*hosts;
	struct net_req	*delayed;	/* waiting for ready_at (unsorted) */
	struct net_req	*inflight;
	size_t		 active;
	size_t		 queued;	/* submitted, not yet called back */
	bool		 running;
	int		 stop;		/* a callback's non-zero return */
	uint64_t	 rng;
	uint64_t	 deadline;	/* clock_ms() time; 0: none */
};

static pthread_once_t net_curl_once = PTHREAD_ONCE_INIT;
static CURLcode net_curl_init_rc = CURLE_FAILED_INIT;

static void
net_curl_init(void)
{
	net_curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* xorshift64*: jitter only, nothing secret depends on it. */
static uint64_t
rng_next(struct net_client *c)
{
	c->rng ^= c->rng >> 12;
	c->rng ^= c->rng << 25;
	c->rng ^= c->rng >> 27;
	return c->rng * 2685821657736338717ULL;
}

static void
trace(struct net_client *c, const char *fmt, ...) PGPS_PRINTF(2, 3);

static void
trace(struct net_client *c, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (c->o.trace == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	c->o.trace(msg, c->o.trace_arg);
}

int
net_client_new(struct net_client **out, const struct net_opts *opts,
    struct pgps_err *err)
{
	struct net_client *c = NULL;
	struct timespec ts;
	int r = PGPS_EINTERNAL;

	pthread_once(&net_curl_once, net_curl_init);
	if (net_curl_init_rc != CURLE_OK) {
		r = pgps_err_set(err, PGPS_ENET,
		    "cannot initialise libcurl: %s",
		    curl_easy_strerror(net_curl_init_rc));
		goto cleanup;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		r = pgps_err_set(err, PGPS_ENOMEM, "out of memory");
		goto cleanup;
	}
	if (opts != NULL)
		c->o = *opts;
	else
		net_opts_default(&c->o);
	if (c->o.max_total == 0)
		c->o.max_total = 1;
	if (c->o.max_per_host == 0)
		c->o.max_per_host = 1;
	if (c->o.max_body == 0)
		c->o.max_body = NET_DEFAULT_MAX_BODY;
	if ((c->o.ca_file != NULL &&
	    (c->ca_file = strdup(c->o.ca_file)) == NULL) ||
	    (c->o.proxy != NULL && (c->proxy = strdup(c->o.proxy)) == NULL) ||
	    (c->user_agent = strdup(c->o.user_agent != NULL ?
	    c->o.user_agent : "pgpsync/" PGPSYNC_VERSION)) == NULL) {
		r = pgps_err_set(err, PGPS_ENOMEM, "out of memory");
		goto cleanup;
	}
	if ((c->multi = curl_multi_init()) == NULL) {
		r = pgps_err_set(err, PGPS_ENET, "cannot create a curl multi "
		    "handle");
		goto cleanup;
	}
	if (curl_multi_setopt(c->multi, CURLMOPT_PIPELINING,
	    (long)CURLPIPE_MULTIPLEX) != CURLM_OK ||
	    curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
	    (long)c->o.max_per_host) != CURLM_OK ||
	    curl_multi_setopt(c->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS,
	    (long)c->o.max_total) != CURLM_OK ||
	    curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS,
	    (long)c->o.max_total) != CURLM_OK) {
		r = pgps_err_set(err, PGPS_ENET, "cannot configure libcurl");
		goto cleanup;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	c->rng = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^
	    ((uint64_t)getpid() << 40) ^ (uint64_t)(uintptr_t)c;
	if (c->rng == 0)
		c->rng = 0x9e3779b97f4a7c15ULL;
	*out = c;
	c = NULL;
	r = 0;
 cleanup:
	net_client_free(c);
	return r;
}

static void
req_free(struct net_client *c, struct net_req *q)
{
	if (q == NULL)
		return;
	if (q->easy != NULL) {
		curl_multi_remove_handle(c->multi, q->easy);
		curl_easy_cleanup(q->easy);
	}
	curl_slist_free_all(q->headers);
	buf_release(&q->url);
	buf_release(&q->body);
	buf_release(&q->post);
	free(q->text);
	free(q);
}

static void
req_list_free(struct net_client *c, struct net_req **list)
{
	struct net_req *q, *next;

	for (q = *list; q != NULL; q = next) {
		next = q->next;
		req_free(c, q);
	}
	*list = NULL;
}

/* Drops every queued and in-flight request without calling it back. */
static void
drop_all(struct net_client *c)
{
	req_list_free(c, &c->inflight);
	req_list_free(c, &c->delayed);
	for (struct net_host *h = c->hosts; h != NULL; h = h->next) {
		req_list_free(c, &h->head);
		h->tail = NULL;
		h->active = 0;
	}
	c->active = 0;
	c->queued = 0;
}

void
net_client_free(struct net_client *c)
{
	struct net_host *h, *next;

	if (c == NULL)
		return;
	drop_all(c);
	for (h = c->hosts; h != NULL; h = next) {
		next = h->next;
		free(h);
	}
	if (c->multi != NULL)
		curl_multi_cleanup(c->multi);
	free(c->ca_file);
	free(c->proxy);
	free(c->user_agent);
	free(c);
}

int
net_client_add_server(struct net_client *c, const char *url,
    struct pgps_err *err)
{
	struct net_server *s;
	char hp[NET_HOSTPORT_MAX];
	int r;

	if (c->nservers == NET_MAX_SERVERS)
		return pgps_err_set(err, PGPS_ELIMIT,
		    "more than %d keyservers", NET_MAX_SERVERS);
	s = &c->servers[c->nservers];
	if ((r = net_server_parse(s, url, err)) != 0)
		return r;
	snprintf(hp, sizeof(hp), "%s:%u", s->host, s->port);
	memcpy(c->hostports[c->nservers], hp, sizeof(hp));
	return (int)c->nservers++;
}

static struct net_host *
host_get(struct net_client *c, const char *key)
{
	struct net_host *h;

	for (h = c->hosts; h != NULL; h = h->next)
		if (strcmp(h->key, key) == 0)
			return h;
	if ((h = calloc(1, sizeof(*h))) == NULL)
		return NULL;
	snprintf(h->key, sizeof(h->key), "%s", key);
	h->next = c->hosts;
	c->hosts = h;
	return h;
}

/* Lowest server index in mask, or -1. */
static int
lowest(uint32_t mask)
{
	for (int i = 0; i < 32; i++)
		if ((mask & ((uint32_t)1 << i)) != 0)
			return i;
	return -1;
}

static bool
op_needs_hkp(enum net_op op)
{
	return op == NET_OP_INDEX || op == NET_OP_HASHQUERY;
}

static bool
op_is_vks(enum net_op op)
{
	return op == NET_OP_VKS_UPLOAD || op == NET_OP_VKS_VERIFY;
}

/* Finds a needle in possibly binary bytes (memmem is not POSIX). */
static const uint8_t *
find_bytes(const uint8_t *p, size_t len, const char *needle)
{
	size_t n = strlen(needle);

	if (n == 0 || len < n)
		return NULL;
	for (size_t i = 0; i + n <= len; i++)
		if (p[i] == (uint8_t)needle[0] && memcmp(p + i, needle, n) == 0)
			return p + i;
	return NULL;
}

/*
 * Copies printable text from p (at most len octets) to out, stopping at
 * stop characters, folding white space; never more than outlen - 1.
 */
static void
copy_text(char *out, size_t outlen, const uint8_t *p, size_t len,
    const char *stop)
{
	size_t o = 0;
	bool space = false;

	for (size_t i = 0; i < len && o + 1 < outlen; i++) {
		if (p[i] == '\0' || strchr(stop, p[i]) != NULL)
			break;
		if (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' ||
		    p[i] == '\n') {
			space = o > 0;
			continue;
		}
		if (space && o + 2 < outlen)
			out[o++] = ' ';
		space = false;
		out[o++] = p[i] >= 0x20 && p[i] < 0x7f ? (char)p[i] : '?';
	}
	out[o] = '\0';
}

/* A short human hint from an error body: its HTML title or first line. */
static void
body_hint(char *out, size_t outlen, const struct buf *b)
{
	const uint8_t *t, *p = b->p;
	size_t len = b->len, i = 0;

	out[0] = '\0';
	if ((t = find_bytes(p, len > 4096 ? 4096 : len, "<title>")) != NULL) {
		t += 7;
		copy_text(out, outlen, t, len - (size_t)(t - p), "<");
		return;
	}
	while (i < len && (p[i] == ' ' || p[i] == '\r' || p[i] == '\n' ||
	    p[i] == '\t'))
		i++;
	if (i < len && p[i] != '<')
		copy_text(out, outlen, p + i, len - i, "\n");
}

/* Builds the URL of q's next attempt into q->url. */
static int
build_url(struct net_client *c, struct net_req *q)
{
	const struct net_server *s;
	const char *path;
	int r;

	buf_reset(&q->url);
	if (q->op == NET_OP_GET_URL)
		return buf_addstr(&q->url, q->text);
	s = &c->servers[q->server];
	switch (q->op) {
	case NET_OP_LOOKUP:
		return net_url_lookup(&q->url, s, q->query, q->id, q->idlen,
		    q->text, &q->err);
	case NET_OP_INDEX:
		return net_url_index(&q->url, s, q->text);
	case NET_OP_ADD:
		path = "/pks/add";
		break;
	case NET_OP_HASHQUERY:
		path = "/pks/hashquery";
		break;
	case NET_OP_VKS_UPLOAD:
		path = "/vks/v1/upload";
		break;
	case NET_OP_VKS_VERIFY:
		path = "/vks/v1/request-verify";
		break;
	default:
		return PGPS_EINTERNAL;
	}
	if ((r = buf_addstr(&q->url, s->base)) != 0)
		return r;
	return buf_addstr(&q->url, path);
}

/* Puts q in its host's FIFO, or on the delayed list until ready_at. */
static int
enqueue(struct net_client *c, struct net_req *q, uint64_t now)
{
	const char *key = q->op == NET_OP_GET_URL ? q->hostport :
	    c->hostports[q->server];

	if ((q->host = host_get(c, key)) == NULL)
		return PGPS_ENOMEM;
	q->next = NULL;
	if (q->ready_at > now) {
		q->next = c->delayed;
		c->delayed = q;
		return 0;
	}
	if (q->host->tail != NULL)
		q->host->tail->next = q;
	else
		q->host->head = q;
	q->host->tail = q;
	return 0;
}

/*
 * Checks what rq asks for by its kind and makes q's request body from
 * it: a lookup's ID, the form of an upload, the hashes of a hashquery, the
 * JSON of a VKS request, the host of a plain GET.  0, or the error (err).
 */
static int
req_prepare(struct net_req *q, const struct net_request *rq,
    struct pgps_err *err)
{
	int r;

	switch (rq->op) {
	case NET_OP_LOOKUP:
		if (rq->query != NET_QUERY_EMAIL) {
			if (rq->id == NULL || rq->idlen > sizeof(q->id) ||
			    (rq->query == NET_QUERY_FPR && rq->idlen != 20 &&
			    rq->idlen != 32) || (rq->query == NET_QUERY_KEYID &&
			    rq->idlen != 8)) {
				return pgps_err_set(err, PGPS_EFORMAT,
				    "lookup ID of %zu octets", rq->idlen);
			}
			memcpy(q->id, rq->id, rq->idlen);
			q->idlen = rq->idlen;
		} else if (q->text == NULL) {
			return pgps_err_set(err, PGPS_EFORMAT,
			    "e-mail lookup without an address");
		}
		break;
	case NET_OP_INDEX:
		if (q->text == NULL || q->text[0] == '\0') {
			return pgps_err_set(err, PGPS_EFORMAT,
			    "index request without a search");
		}
		break;
	case NET_OP_ADD:
		/* Only a light check: the armor is the caller's business. */
		if (rq->data == NULL || rq->datalen < 15 ||
		    find_bytes(rq->data, rq->datalen > 256 ? 256 :
		    rq->datalen, "-----BEGIN PGP ") == NULL) {
			return pgps_err_set(err, PGPS_EFORMAT,
			    "upload is not ASCII-armored");
		}
		if ((r = net_add_body(&q->post, (const char *)rq->data,
		    rq->datalen)) != 0) {
			pgps_err_set(err, r, "upload body: %s",
			    pgps_strerror(r));
			return r;
		}
		break;
	case NET_OP_HASHQUERY:
		if ((rq->datalen % 16) != 0 || (rq->data == NULL &&
		    rq->datalen != 0)) {
			return pgps_err_set(err, PGPS_EFORMAT,
			    "hashquery of %zu octets is not a list of 16-octet "
			    "hashes", rq->datalen);
		}
		q->nhashes = rq->datalen / 16;
		if ((r = net_hashquery_body(&q->post, rq->data,
		    q->nhashes)) != 0) {
			pgps_err_set(err, r, "hashquery of %zu hashes: %s",
			    q->nhashes, pgps_strerror(r));
			return r;
		}
		break;
	case NET_OP_VKS_UPLOAD:
	case NET_OP_VKS_VERIFY:
		/* The JSON is the caller's; only its outer shape is checked. */
		if (rq->data == NULL || rq->datalen < 2 || rq->data[0] != '{' ||
		    rq->data[rq->datalen - 1] != '}') {
			return pgps_err_set(err, PGPS_EFORMAT,
			    "VKS request is not a JSON object");
		}
		if ((r = buf_add(&q->post, rq->data, rq->datalen)) != 0) {
			pgps_err_set(err, r, "VKS request body: %s",
			    pgps_strerror(r));
			return r;
		}
		break;
	case NET_OP_GET_URL:
		if (q->text == NULL) {
			return pgps_err_set(err, PGPS_EFORMAT,
			    "GET without a URL");
		}
		if ((r = net_url_hostport(q->hostport, &q->url_tls, q->text,
		    err)) != 0)
			return r;
		break;
	default:
		return pgps_err_set(err, PGPS_EINTERNAL, "unknown request type");
	}
	return 0;
}

/*
 * Chooses the servers q may go to: every configured one that speaks its
 * protocol, or rq->server alone; q starts with the first of them.  A
 * lookup is tried on it now, so a bad query fails here and not in a
 * callback later.  0, or the error (err).
 */
static int
req_route(struct net_client *c, struct net_req *q,
    const struct net_request *rq, struct pgps_err *err)
{
	struct buf probe = BUF_INIT;
	int r = 0;

	if (rq->op == NET_OP_GET_URL) {
		q->usable = 1;
		q->server = 0;
		return 0;
	}
	if (rq->server >= 0 && (size_t)rq->server >= c->nservers)
		return pgps_err_set(err, PGPS_EINTERNAL,
		    "no keyserver number %d", rq->server);
	for (size_t i = 0; i < c->nservers; i++) {
		if (rq->server >= 0 && (size_t)rq->server != i)
			continue;
		if (op_needs_hkp(rq->op) &&
		    c->servers[i].kind != NET_SERVER_HKP)
			continue;
		if (op_is_vks(rq->op) && c->servers[i].kind != NET_SERVER_VKS)
			continue;
		q->usable |= (uint32_t)1 << i;
	}
	if (q->usable == 0)
		return pgps_err_set(err, PGPS_EUNSUPPORTED,
		    c->nservers == 0 ? "no keyserver configured" :
		    op_is_vks(rq->op) ? "no configured keyserver speaks VKS" :
		    "no configured keyserver speaks HKP");
	q->server = lowest(q->usable);
	if (rq->op == NET_OP_LOOKUP)
		r = net_url_lookup(&probe, &c->servers[q->server], q->query,
		    q->id, q->idlen, q->text, err);
	buf_release(&probe);
	return r;
}

int
net_submit(struct net_client *c, const struct net_request *rq,
    struct pgps_err *err)
{
	struct net_req *q = NULL;
	int r = PGPS_EINTERNAL;

	if (c->deadline != 0 && clock_ms() >= c->deadline)
		return pgps_err_set(err, PGPS_ENET, "the deadline has passed");
	if ((q = calloc(1, sizeof(*q))) == NULL) {
		r = pgps_err_set(err, PGPS_ENOMEM, "out of memory");
		goto cleanup;
	}
	buf_init(&q->url, 0);
	buf_init(&q->body, 0);
	buf_init(&q->post, 0);
	q->op = rq->op;
	q->query = rq->query;
	q->done = rq->done;
	q->arg = rq->arg;
	q->max_body = rq->max_body != 0 ? rq->max_body : c->o.max_body;
	q->rflags = rq->flags;
	q->server = -1;
	if (rq->text != NULL && (q->text = strdup(rq->text)) == NULL) {
		r = pgps_err_set(err, PGPS_ENOMEM, "out of memory");
		goto cleanup;
	}
	if ((r = req_prepare(q, rq, err)) != 0 ||
	    (r = req_route(c, q, rq, err)) != 0)
		goto cleanup;
	if ((r = enqueue(c, q, 0)) != 0) {
		pgps_err_set(err, r, "out of memory");
		goto cleanup;
	}
	c->queued++;
	q = NULL;
	r = 0;
 cleanup:
	req_free(c, q);
	return r;
}

static size_t
write_cb(char *p, size_t size, size_t nmemb, void *arg)
{
	struct net_req *q = arg;
	size_t n;
	int r;

	/* size is always 1 (CURLOPT_WRITEFUNCTION(3)); check anyway. */
	if (!mem_mul(&n, size, nmemb))
		return 0;
	if (n == 0)
		return 0;
	if (n > q->max_body - q->body.len) {
		q->oversize = true;
		return 0;
	}
	if ((r = buf_add(&q->body, p, n)) != 0) {
		if (r == PGPS_ELIMIT)
			q->oversize = true;
		else
			q->nomem = true;
		return 0;
	}
	return n;
}

/* --- addresses not to ask on a stranger's word -------------------------- */

static const char *
addr4_kind(const uint8_t a[4])
{
	if (a[0] == 127)
		return "loopback";
	if (a[0] == 10 || (a[0] == 172 && (a[1] & 0xf0) == 16) ||
	    (a[0] == 192 && a[1] == 168) ||
	    (a[0] == 100 && (a[1] & 0xc0) == 64))
		return "private";
	if (a[0] == 169 && a[1] == 254)
		return "link-local";
	if (a[0] == 0)
		return "unspecified";
	if ((a[0] & 0xf0) == 224)
		return "multicast";
	if ((a[0] & 0xf0) == 240)
		return "reserved";
	return NULL;
}

static const char *
addr6_kind(const uint8_t a[16])
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0xff, 0xff };
	static const uint8_t zero[15];

	if (memcmp(a, mapped, sizeof(mapped)) == 0)
		return addr4_kind(a + 12);
	if (memcmp(a, zero, sizeof(zero)) == 0)
		return a[15] == 1 ? "loopback" : a[15] == 0 ?
		    "unspecified" : "reserved";
	if ((a[0] & 0xfe) == 0xfc)
		return "unique local";
	if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)
		return "link-local";
	if (a[0] == 0xff)
		return "multicast";
	return NULL;
}

const char *
net_addr_private(const char *ip)
{
	uint8_t a[16];

	if (inet_pton(AF_INET, ip, a) == 1)
		return addr4_kind(a);
	if (inet_pton(AF_INET6, ip, a) == 1)
		return addr6_kind(a);
	return "not an address";
}

/* CURLOPT_OPENSOCKETFUNCTION for NET_REQ_PUBLIC_ONLY. */
static curl_socket_t
open_public(void *arg, curlsocktype purpose, struct curl_sockaddr *sa)
{
	struct net_req *q = arg;
	const char *kind = "not an address";
	char ip[INET6_ADDRSTRLEN] = "?";

	(void)purpose;
	if (sa->family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)&sa->addr;

		kind = addr4_kind((const uint8_t *)&s4->sin_addr);
		inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof(ip));
	} else if (sa->family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)&sa->addr;

		kind = addr6_kind(s6->sin6_addr.s6_addr);
		inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof(ip));
	}
	if (kind != NULL) {
		snprintf(q->refused, sizeof(q->refused), "%s is a %s address",
		    ip, kind);
		return CURL_SOCKET_BAD;
	}
	return socket(sa->family, sa->socktype, sa->protocol);
}

/* Sets up q's easy handle and hands it to the multi handle. */
static int
start(struct net_client *c, struct net_req *q)
{
	const struct net_opts *o = &c->o;
	bool tls, get = q->op == NET_OP_LOOKUP || q->op == NET_OP_INDEX ||
	    q->op == NET_OP_GET_URL;
	struct curl_slist *h;
	long timeout = o->timeout_ms, ctimeout = o->connect_timeout_ms;
	uint64_t now;
	CURL *e;
	int r;

	pgps_err_clear(&q->err);
	q->status = 0;
	q->flags = 0;
	q->oversize = false;
	q->nomem = false;
	q->cut = false;
	q->refused[0] = '\0';
	q->curlerr[0] = '\0';
	buf_release(&q->body);
	buf_init(&q->body, q->max_body);
	if ((r = build_url(c, q)) != 0)
		return pgps_err_set(&q->err, r, "building the request URL: %s",
		    pgps_strerror(r));
	if (c->deadline != 0) {
		if ((now = clock_ms()) >= c->deadline) {
			q->flags |= NET_RESULT_DEADLINE;
			return pgps_err_set(&q->err, PGPS_ENET, "'%s': the "
			    "deadline passed before it was asked",
			    (char *)q->url.p);
		}
		/* At least 1 ms: 0 would mean no time-out at all. */
		if (timeout == 0 || (uint64_t)timeout > c->deadline - now) {
			timeout = (long)(c->deadline - now);
			q->cut = true;
		}
		if (ctimeout > timeout)
			ctimeout = timeout;
	}
	tls = q->op == NET_OP_GET_URL ? q->url_tls : c->servers[q->server].tls;
	curl_slist_free_all(q->headers);
	q->headers = NULL;
	/* No "Expect: 100-continue": SKS (HTTP/1.0) would never answer it. */
	if ((h = curl_slist_append(NULL, "Expect:")) == NULL)
		return pgps_err_set(&q->err, PGPS_ENOMEM, "out of memory");
	q->headers = h;
	/* SKS sends hashqueries without a Content-Type; so do we. */
	if (q->op == NET_OP_HASHQUERY)
		h = curl_slist_append(q->headers, "Content-Type:");
	else if (op_is_vks(q->op))
		/* Hagrid refuses anything else with 400 (vks_api.rs). */
		h = curl_slist_append(q->headers,
		    "Content-Type: application/json");
	else if (get)
		h = curl_slist_append(q->headers, "Cache-Control: no-cache");
	if (h == NULL)
		return pgps_err_set(&q->err, PGPS_ENOMEM, "out of memory");
	if ((e = q->easy = curl_easy_init()) == NULL)
		return pgps_err_set(&q->err, PGPS_ENOMEM,
		    "cannot create a curl handle");
	if (curl_easy_setopt(e, CURLOPT_URL, (char *)q->url.p) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_PRIVATE, q) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, q->curlerr) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_WRITEDATA, q) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_USERAGENT, c->user_agent) !=
	    CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_HTTPHEADER, q->headers) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") !=
	    CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "") != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, ctimeout) !=
	    CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, o->low_speed_limit) !=
	    CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, o->low_speed_time) !=
	    CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE,
	    (curl_off_t)q->max_body) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK)
		goto setopt_failed;
	if (c->ca_file != NULL &&
	    curl_easy_setopt(e, CURLOPT_CAINFO, c->ca_file) != CURLE_OK)
		goto setopt_failed;
	if (c->proxy != NULL &&
	    curl_easy_setopt(e, CURLOPT_PROXY, c->proxy) != CURLE_OK)
		goto setopt_failed;
	if (tls && (curl_easy_setopt(e, CURLOPT_HTTP_VERSION,
	    (long)CURL_HTTP_VERSION_2TLS) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L) != CURLE_OK))
		goto setopt_failed;
	if ((q->rflags & NET_REQ_PUBLIC_ONLY) != 0 &&
	    (curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, open_public) !=
	    CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, q) != CURLE_OK))
		goto setopt_failed;
	if (get && (q->rflags & NET_REQ_NO_REDIRECT) == 0) {
		/* Never from https down to http. */
		if (curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L) !=
		    CURLE_OK ||
		    curl_easy_setopt(e, CURLOPT_MAXREDIRS,
		    (long)NET_MAX_REDIRS) != CURLE_OK ||
		    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR,
		    tls ? "https" : "http,https") != CURLE_OK)
			goto setopt_failed;
	} else if (!get) {
		if (curl_easy_setopt(e, CURLOPT_POSTFIELDS, q->post.p) !=
		    CURLE_OK ||
		    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)q->post.len) != CURLE_OK)
			goto setopt_failed;
	}
	if (curl_multi_add_handle(c->multi, e) != CURLM_OK)
		return pgps_err_set(&q->err, PGPS_ENET,
		    "'%s': cannot start the transfer", (char *)q->url.p);
	q->attempts++;
	q->host->active++;
	c->active++;
	q->next = c->inflight;
	c->inflight = q;
	return 0;
 setopt_failed:
	return pgps_err_set(&q->err, PGPS_ENET,
	    "'%s': libcurl refused an option", (char *)q->url.p);
}

void
net_client_set_deadline(struct net_client *c, long ms)
{
	c->deadline = ms > 0 ? clock_ms() + (uint64_t)ms : 0;
}

/* Calls q back with its result and frees it. */
static void
complete(struct net_client *c, struct net_req *q)
{
	struct net_result res;
	int r;

	if (q->easy != NULL) {
		curl_multi_remove_handle(c->multi, q->easy);
		curl_easy_cleanup(q->easy);
		q->easy = NULL;
	}
	res.code = q->err.code;
	res.status = q->status;
	res.flags = q->flags;
	res.attempts = q->attempts;
	res.server = q->op == NET_OP_GET_URL ? -1 : q->server;
	res.url = (const char *)q->url.p;
	res.error = q->err.msg;
	res.body = &q->body;
	c->queued--;
	if (q->done != NULL && (r = q->done(&res, q->arg)) != 0 &&
	    c->stop == 0)
		c->stop = r;
	req_free(c, q);
}

/* Classifies a finished transfer and fills q->err for failures. */
static enum attempt_class
classify(struct net_req *q, CURLcode cc)
{
	const char *url = (const char *)q->url.p, *what;
	char hint[96];
	const uint8_t *af;

	if (q->nomem) {
		pgps_err_set(&q->err, PGPS_ENOMEM, "'%s': out of memory", url);
		return ATTEMPT_DONE;
	}
	if (cc != CURLE_OK && q->refused[0] != '\0') {
		pgps_err_set(&q->err, PGPS_ENET, "'%s': not asked: %s", url,
		    q->refused);
		q->flags |= NET_RESULT_REFUSED;
		return ATTEMPT_DONE;
	}
	if (q->oversize || cc == CURLE_FILESIZE_EXCEEDED) {
		pgps_err_set(&q->err, PGPS_ELIMIT,
		    "'%s': response larger than %zu bytes, transfer stopped",
		    url, q->max_body);
		return ATTEMPT_DONE;
	}
	if (cc != CURLE_OK) {
		what = q->curlerr[0] != '\0' ? q->curlerr :
		    curl_easy_strerror(cc);
		pgps_err_set(&q->err, cc == CURLE_OUT_OF_MEMORY ? PGPS_ENOMEM :
		    PGPS_ENET, "'%s': %s", url, what);
		switch (cc) {
		case CURLE_OPERATION_TIMEDOUT:
			q->flags |= NET_RESULT_TIMEOUT;
			return ATTEMPT_RETRY;
		case CURLE_COULDNT_RESOLVE_HOST:
			q->flags |= NET_RESULT_NO_HOST;
			return ATTEMPT_FAILOVER;
		case CURLE_PEER_FAILED_VERIFICATION:
		case CURLE_TOO_MANY_REDIRECTS:
		case CURLE_UNSUPPORTED_PROTOCOL:
		case CURLE_WEIRD_SERVER_REPLY:
			return ATTEMPT_FAILOVER;
		case CURLE_OUT_OF_MEMORY:
		case CURLE_SSL_CACERT_BADFILE:
		case CURLE_URL_MALFORMAT:
		case CURLE_FAILED_INIT:
		case CURLE_BAD_FUNCTION_ARGUMENT:
			return ATTEMPT_DONE;
		default:
			/* connect, send, receive, TLS handshake, proxy, h2 */
			return ATTEMPT_RETRY;
		}
	}
	if (q->status >= 200 && q->status < 300) {
		/*
		 * SKS answers /pks/add with HTTP 200 even when keys were
		 * refused, writing "Add failed..." into the page (dbserver.ml).
		 */
		if (q->op == NET_OP_ADD && (af = find_bytes(q->body.p,
		    q->body.len, "Add failed")) != NULL) {
			copy_text(hint, sizeof(hint), af,
			    q->body.len - (size_t)(af - q->body.p), "<\n");
			pgps_err_set(&q->err, PGPS_EHTTP,
			    "'%s': server refused the upload: %s", url, hint);
		}
		return ATTEMPT_DONE;
	}
	body_hint(hint, sizeof(hint), &q->body);
	pgps_err_set(&q->err, q->status == 404 || q->status == 410 ?
	    PGPS_ENOTFOUND : PGPS_EHTTP, "'%s': HTTP %ld%s%s%s", url,
	    q->status, hint[0] != '\0' ? " (" : "", hint,
	    hint[0] != '\0' ? ")" : "");
	switch (q->status) {
	case 408:
	case 429:
	case 502:
	case 503:
	case 504:
		return ATTEMPT_RETRY;
	default:
		return q->status >= 500 ? ATTEMPT_FAILOVER : ATTEMPT_DONE;
	}
}

static uint64_t
backoff(struct net_client *c, unsigned int round)
{
	uint64_t d = (uint64_t)(c->o.backoff_ms > 0 ? c->o.backoff_ms : 0);
	uint64_t cap = (uint64_t)(c->o.backoff_max_ms > 0 ?
	    c->o.backoff_max_ms : 0);

	for (unsigned int i = 1; i < round && d < cap; i++)
		d *= 2;
	if (d > cap)
		d = cap;
	/* "Equal jitter": half fixed, half random, so peers spread out. */
	if (d >= 2)
		d = d / 2 + rng_next(c) % (d / 2 + 1);
	return d;
}

/* Decides what happens to q after an attempt; completes it if that's all. */
static void
after_attempt(struct net_client *c, struct net_req *q, enum attempt_class k,
    uint64_t ra_ms, uint64_t now)
{
	uint32_t bit = (uint32_t)1 << q->server, alive, fresh;
	uint64_t d;
	int next;

	if (k == ATTEMPT_DONE)
		goto done;
	if (c->deadline != 0 && (now >= c->deadline ||
	    (q->cut && (q->flags & NET_RESULT_TIMEOUT) != 0))) {
		q->flags |= NET_RESULT_DEADLINE;
		goto done;
	}
	q->tried |= bit;
	if (k == ATTEMPT_FAILOVER)
		q->dead |= bit;
	if (ra_ms > q->retry_after)
		q->retry_after = ra_ms;
	alive = q->usable & ~q->dead;
	if (alive == 0)
		goto done;
	fresh = alive & ~q->tried;
	if (fresh != 0) {
		next = lowest(fresh);
		trace(c, "%s; trying '%s'", q->err.msg,
		    c->servers[next].base);
		q->server = next;
		q->ready_at = now;
	} else {
		if (q->round >= c->o.retries)
			goto done;
		q->round++;
		q->tried = 0;
		q->server = lowest(alive);
		d = backoff(c, q->round);
		if (q->retry_after > d)
			d = q->retry_after;
		q->retry_after = 0;
		q->ready_at = now + d;
		if (c->deadline != 0 && q->ready_at >= c->deadline) {
			q->flags |= NET_RESULT_DEADLINE;
			goto done;
		}
		trace(c, "%s; retrying in %.1f s", q->err.msg,
		    (double)d / 1000);
	}
	if (enqueue(c, q, now) == 0)
		return;
	pgps_err_clear(&q->err);
	pgps_err_set(&q->err, PGPS_ENOMEM, "out of memory");
 done:
	if (q->err.code != 0 && q->attempts > 1) {
		char msg[sizeof(q->err.msg)];

		snprintf(msg, sizeof(msg), "%.230s (%u attempts)",
		    q->err.msg, q->attempts);
		memcpy(q->err.msg, msg, sizeof(msg));
	}
	complete(c, q);
}

/* Takes q out of the in-flight list. */
static void
inflight_remove(struct net_client *c, struct net_req *q)
{
	struct net_req **pp;

	for (pp = &c->inflight; *pp != NULL; pp = &(*pp)->next)
		if (*pp == q) {
			*pp = q->next;
			break;
		}
	q->next = NULL;
}

/* Handles finished transfers; returns how many finished. */
static size_t
drain(struct net_client *c)
{
	CURLMsg *m;
	struct net_req *q;
	char *priv;
	enum attempt_class k;
	curl_off_t ra = 0;
	uint64_t ra_ms = 0, now;
	long status = 0;
	int left;
	size_t n = 0;

	while (c->stop == 0 &&
	    (m = curl_multi_info_read(c->multi, &left)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		priv = NULL;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv);
		if ((q = (struct net_req *)priv) == NULL)
			continue;
		status = 0;
		ra = 0;
		curl_easy_getinfo(q->easy, CURLINFO_RESPONSE_CODE, &status);
		curl_easy_getinfo(q->easy, CURLINFO_RETRY_AFTER, &ra);
		q->status = status;
		k = classify(q, m->data.result);
		/* m is invalid once its handle is removed. */
		curl_multi_remove_handle(c->multi, q->easy);
		curl_easy_cleanup(q->easy);
		q->easy = NULL;
		inflight_remove(c, q);
		q->host->active--;
		c->active--;
		n++;
		now = clock_ms();
		ra_ms = 0;
		if (k == ATTEMPT_RETRY && ra > 0) {
			/* Capped: a server must not park us for a day. */
			if (ra > 86400)
				ra = 86400;
			ra_ms = (uint64_t)ra * 1000;
			if (c->o.retry_after_max_ms >= 0 &&
			    ra_ms > (uint64_t)c->o.retry_after_max_ms)
				ra_ms = (uint64_t)c->o.retry_after_max_ms;
			if (q->host->not_before < now + ra_ms)
				q->host->not_before = now + ra_ms;
		}
		after_attempt(c, q, k, ra_ms, now);
	}
	return n;
}

/* Moves delayed requests whose time has come to their host FIFOs. */
static void
promote(struct net_client *c, uint64_t now)
{
	struct net_req *q, *next, *keep = NULL;

	q = c->delayed;
	c->delayed = NULL;
	for (; q != NULL; q = next) {
		next = q->next;
		if (q->ready_at > now) {
			q->next = keep;
			keep = q;
			continue;
		}
		q->next = NULL;
		if (q->host->tail != NULL)
			q->host->tail->next = q;
		else
			q->host->head = q;
		q->host->tail = q;
	}
	c->delayed = keep;
}

/* Whether server i's host has asked for a pause that is still running. */
static bool
server_paused(struct net_client *c, int i, uint64_t now)
{
	struct net_host *h = host_get(c, c->hostports[i]);

	return h != NULL && h->not_before > now;
}

/*
 * Moves the requests queued on a paused host (Retry-After) that another
 * server could answer to that server, so one host asking for a pause
 * does not hold back work the others can do.  Requests pinned to one
 * server, or whose other servers are paused or dead too, stay and wait.
 */
static void
reroute_paused(struct net_client *c, uint64_t now)
{
	for (struct net_host *h = c->hosts; h != NULL; h = h->next) {
		struct net_req *q, *keep = NULL, **tail = &keep;

		if (h->head == NULL || h->not_before <= now)
			continue;
		q = h->head;
		h->head = h->tail = NULL;
		while (q != NULL) {
			struct net_req *next = q->next;
			uint32_t alt = 0;

			q->next = NULL;
			if (q->op != NET_OP_GET_URL) {
				alt = q->usable & ~q->dead & ~q->tried &
				    ~((uint32_t)1 << q->server);
				for (int i = 0; i < 32; i++)
					if ((alt & ((uint32_t)1 << i)) &&
					    server_paused(c, i, now))
						alt &= ~((uint32_t)1 << i);
			}
			if (alt != 0) {
				int was = q->server;

				q->tried |= (uint32_t)1 << was;
				q->server = lowest(alt);
				if (enqueue(c, q, now) == 0) {
					trace(c, "'%s' asked for a pause; "
					    "trying '%s'", c->servers[was].base,
					    c->servers[q->server].base);
					q = next;
					continue;
				}
				q->tried &= ~((uint32_t)1 << was);
				q->server = was;
				q->host = h;
			}
			*tail = q;
			tail = &q->next;
			q = next;
		}
		h->head = keep;
		for (q = keep; q != NULL; q = q->next)
			h->tail = q;
	}
}

/* Starts ready requests, one per host in turn, while the bounds allow. */
static void
start_ready(struct net_client *c, uint64_t now)
{
	struct net_req *q;
	bool progress = true;

	reroute_paused(c, now);

	while (progress && c->stop == 0 && c->active < c->o.max_total) {
		progress = false;
		for (struct net_host *h = c->hosts; h != NULL &&
		    c->stop == 0 && c->active < c->o.max_total; h = h->next) {
			if (h->head == NULL || h->active >= c->o.max_per_host ||
			    h->not_before > now)
				continue;
			q = h->head;
			h->head = q->next;
			if (h->head == NULL)
				h->tail = NULL;
			q->next = NULL;
			progress = true;
			if (start(c, q) != 0) {
				/* A local failure: report it, do not retry. */
				if (q->easy != NULL) {
					curl_easy_cleanup(q->easy);
					q->easy = NULL;
				}
				complete(c, q);
			}
		}
	}
}

/* How long the loop may sleep before a delayed request becomes due. */
static long
wait_ms(const struct net_client *c, uint64_t now)
{
	uint64_t w = NET_POLL_MAX_MS;

	if (c->deadline != 0 && c->queued > c->active) {
		if (c->deadline <= now)
			return 0;
		if (c->deadline - now < w)
			w = c->deadline - now;
	}
	for (const struct net_req *q = c->delayed; q != NULL; q = q->next)
		if (q->ready_at <= now)
			return 0;
		else if (q->ready_at - now < w)
			w = q->ready_at - now;
	for (const struct net_host *h = c->hosts; h != NULL; h = h->next)
		if (h->head != NULL && h->not_before > now &&
		    h->not_before - now < w)
			w = h->not_before - now;
	return (long)w;
}

/*
 * Once the deadline has passed, completes every request that is not in
 * flight (those end by their own time-out, cut to the deadline).
 */
static void
expire(struct net_client *c, uint64_t now)
{
	struct net_req *q, *list;

	if (c->deadline == 0 || now < c->deadline)
		return;
	for (;;) {
		list = c->delayed;
		c->delayed = NULL;
		for (struct net_host *h = c->hosts; h != NULL; h = h->next)
			if (h->head != NULL) {
				h->tail->next = list;
				list = h->head;
				h->head = h->tail = NULL;
			}
		if (list == NULL)
			break;
		/* Callbacks may queue more (net_submit() refuses them). */
		for (q = list; q != NULL; q = list) {
			list = q->next;
			q->next = NULL;
			q->flags |= NET_RESULT_DEADLINE;
			if (q->err.code == 0)
				pgps_err_set(&q->err, PGPS_ENET, "the deadline "
				    "passed before it was asked");
			complete(c, q);
		}
	}
}

int
net_run(struct net_client *c, struct pgps_err *err)
{
	CURLMcode mc;
	uint64_t now;
	int running, r = PGPS_EINTERNAL;

	if (c->running)
		return pgps_err_set(err, PGPS_EINTERNAL,
		    "net_run called from a callback");
	c->running = true;
	c->stop = 0;
	for (;;) {
		now = clock_ms();
		expire(c, now);
		promote(c, now);
		start_ready(c, now);
		if (c->stop != 0 || c->queued == 0)
			break;
		if ((mc = curl_multi_perform(c->multi, &running)) !=
		    CURLM_OK) {
			r = pgps_err_set(err, mc == CURLM_OUT_OF_MEMORY ?
			    PGPS_ENOMEM : PGPS_ENET, "transfer engine: %s",
			    curl_multi_strerror(mc));
			goto cleanup;
		}
		if (drain(c) > 0 || c->stop != 0)
			continue;
		mc = curl_multi_poll(c->multi, NULL, 0, (int)wait_ms(c,
		    clock_ms()), NULL);
		if (mc != CURLM_OK) {
			r = pgps_err_set(err, PGPS_ENET, "transfer engine: %s",
			    curl_multi_strerror(mc));
			goto cleanup;
		}
	}
	r = c->stop;
	if (r != 0)
		pgps_err_set(err, r, "stopped by a request callback");
 cleanup:
	if (r != 0)
		drop_all(c);
	c->running = false;
	return r;
}
