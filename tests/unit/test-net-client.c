/*
 * test-net-client.c: the HTTP client against the stub server tests/hkpd
 * on 127.0.0.1: answers, errors, retries, fail-over, time-outs, size caps,
 * concurrency bounds, connection reuse, the exact bytes of hashqueries and
 * uploads.  Nothing but the loopback interface is ever contacted (the
 * proxy test names a host that is never resolved).  Run from the top of
 * the source tree, after "make tests/hkpd/hkpd".
 */
#include "util/common.h"

#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <unistd.h>

#include "net/net.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/hex.h"

#include "tap.h"

#define HKPD		"tests/hkpd/hkpd"
#define HKPD_DATA	"tests/data/hkp"

/* tests/data/keys/revoked-ed25519.asc and SKS's "Test User 001". */
#define FPR_REVOKED	"8F604638676DC8EEB6B176FD1BA17B11D6FD2ACB"
#define FPR_T001	"6A5FB769767B24108C75ED6835731295CE9AB83D"
/* Behaviour fingerprints of tests/data/hkp/routes. */
#define FPR_404		"DEAD000000000000000000000000000000000404"
#define FPR_500		"DEAD000000000000000000000000000000000500"
#define FPR_503		"DEAD000000000000000000000000000000000503"
#define FPR_HANG	"DEAD00000000000000000000000000000000A4A6"
#define FPR_HUGE	"DEAD00000000000000000000000000000000B160"
#define FPR_HUGE_CL	"DEAD00000000000000000000000000000000B1C1"
#define FPR_UNKNOWN	"0123456789ABCDEF0123456789ABCDEF01234567"

struct hkpd {
	pid_t		 pid;
	unsigned int	 port;
	char		 log[256];
	char		 hkp[64];	/* hkp://127.0.0.1:PORT */
};

struct got {
	bool		 called;
	int		 code;
	long		 status;
	unsigned int	 flags;
	unsigned int	 attempts;
	int		 server;
	char		 url[600];
	char		 error[256];
	struct buf	 body;
	size_t		 alloc;
	double		 at;		/* when it was called back */
};

static char tmpdir[] = "/tmp/pgps-net.XXXXXX";

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static bool
hkpd_start(struct hkpd *h, const char *name, const char *const *routes)
{
	char portfile[256];
	const char *argv[32];
	size_t argc = 0;
	FILE *f;

	snprintf(h->log, sizeof(h->log), "%s/%s.log", tmpdir, name);
	snprintf(portfile, sizeof(portfile), "%s/%s.port", tmpdir, name);
	argv[argc++] = HKPD;
	argv[argc++] = "-d";
	argv[argc++] = HKPD_DATA;
	argv[argc++] = "-t";
	argv[argc++] = "60";
	for (size_t i = 0; routes != NULL && routes[i] != NULL; i++) {
		argv[argc++] = "-r";
		argv[argc++] = routes[i];
	}
	argv[argc++] = portfile;
	argv[argc] = NULL;
	fflush(stdout);
	if ((h->pid = fork()) < 0)
		return false;
	if (h->pid == 0) {
		setenv("HKPD_LOG", h->log, 1);
		execv(HKPD, (char *const *)argv);
		_exit(127);
	}
	for (int i = 0; i < 500; i++) {
		if ((f = fopen(portfile, "r")) != NULL) {
			bool got = fscanf(f, "%u", &h->port) == 1;

			fclose(f);
			if (got) {
				snprintf(h->hkp, sizeof(h->hkp),
				    "hkp://127.0.0.1:%u", h->port);
				return true;
			}
		}
		if (waitpid(h->pid, NULL, WNOHANG) == h->pid)
			break;
		sleep_ms(10);
	}
	return false;
}

static void
hkpd_stop(struct hkpd *h)
{
	if (h->pid > 0) {
		kill(h->pid, SIGTERM);
		waitpid(h->pid, NULL, 0);
		h->pid = 0;
	}
}

static size_t
log_mark(const struct hkpd *h)
{
	struct stat st;

	return stat(h->log, &st) == 0 ? (size_t)st.st_size : 0;
}

/* The log written since mark, as a string (caller frees). */
static char *
log_since(const struct hkpd *h, size_t mark)
{
	FILE *f = fopen(h->log, "r");
	struct buf b = BUF_INIT;
	char tmp[65536];
	size_t n;

	if (f != NULL) {
		fseek(f, (long)mark, SEEK_SET);
		while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
			buf_add(&b, tmp, n);
		fclose(f);
	}
	return (char *)buf_detach(&b, NULL);
}

/* Request lines ("req ...") of the log that contain needle. */
static int
log_reqs(const char *log, const char *needle, long *max_inflight,
    long *conn_first, int *nconns)
{
	const char *p = log;
	long seen[64];
	int n = 0, ns = 0;

	if (max_inflight != NULL)
		*max_inflight = 0;
	while (p != NULL && *p != '\0') {
		const char *nl = strchr(p, '\n');
		size_t len = nl != NULL ? (size_t)(nl - p) : strlen(p);
		char line[1024];
		long conn, infl;
		bool dup;

		if (len >= sizeof(line))
			len = sizeof(line) - 1;
		memcpy(line, p, len);
		line[len] = '\0';
		p = nl != NULL ? nl + 1 : NULL;
		if (strncmp(line, "req ", 4) != 0 ||
		    strstr(line, needle) == NULL ||
		    sscanf(line, "req conn=%ld inflight=%ld", &conn,
		    &infl) != 2)
			continue;
		n++;
		if (max_inflight != NULL && infl > *max_inflight)
			*max_inflight = infl;
		if (conn_first != NULL && n == 1)
			*conn_first = conn;
		dup = false;
		for (int i = 0; i < ns; i++)
			dup = dup || seen[i] == conn;
		if (!dup && ns < 64)
			seen[ns++] = conn;
	}
	if (nconns != NULL)
		*nconns = ns;
	return n;
}

/* The whole "req" line containing needle (first one), or "". */
static void
log_line(const char *log, const char *needle, char *out, size_t outlen)
{
	const char *p = strstr(log, needle), *s, *e;

	out[0] = '\0';
	if (p == NULL)
		return;
	for (s = p; s > log && s[-1] != '\n'; s--)
		;
	e = strchr(p, '\n');
	if (e == NULL)
		e = p + strlen(p);
	if ((size_t)(e - s) >= outlen)
		e = s + outlen - 1;
	memcpy(out, s, (size_t)(e - s));
	out[e - s] = '\0';
}

static int
record(struct net_result *res, void *arg)
{
	struct got *g = arg;

	g->called = true;
	g->code = res->code;
	g->status = res->status;
	g->flags = res->flags;
	g->attempts = res->attempts;
	g->server = res->server;
	snprintf(g->url, sizeof(g->url), "%s", res->url);
	snprintf(g->error, sizeof(g->error), "%s", res->error);
	buf_release(&g->body);
	buf_swap(&g->body, res->body);
	g->alloc = g->body.alloc;
	g->at = now_s();
	return 0;
}

static void
got_release(struct got *g)
{
	buf_release(&g->body);
	memset(g, 0, sizeof(*g));
	buf_init(&g->body, 0);
}

static void
test_opts(struct net_opts *o)
{
	net_opts_default(o);
	o->connect_timeout_ms = 3000;
	o->low_speed_time = 5;
	o->retries = 2;
	o->backoff_ms = 50;
	o->backoff_max_ms = 200;
}

static struct net_client *
client(const struct net_opts *o, const char *s1, const char *s2)
{
	struct net_client *c = NULL;
	struct pgps_err err = PGPS_ERR_INIT;

	if (net_client_new(&c, o, &err) != 0) {
		printf("Bail out! net_client_new: %s\n", err.msg);
		exit(1);
	}
	if ((s1 != NULL && net_client_add_server(c, s1, &err) < 0) ||
	    (s2 != NULL && net_client_add_server(c, s2, &err) < 0)) {
		printf("Bail out! add_server: %s\n", err.msg);
		exit(1);
	}
	return c;
}

static void
lookup_req(struct net_request *rq, uint8_t fpr[20], const char *hex,
    struct got *g)
{
	struct net_request init = NET_REQUEST_INIT;

	*rq = init;
	hex_decode(fpr, 20, hex, 40);
	rq->op = NET_OP_LOOKUP;
	rq->query = NET_QUERY_FPR;
	rq->id = fpr;
	rq->idlen = 20;
	rq->done = record;
	rq->arg = g;
}

/* Submits rq, runs the client, returns the seconds it took. */
static double
run1(struct net_client *c, struct net_request *rq)
{
	struct pgps_err err = PGPS_ERR_INIT;
	double t0 = now_s();
	int r;

	if ((r = net_submit(c, rq, &err)) != 0) {
		ok(0, "submit: %s", err.msg);
		return 0;
	}
	r = net_run(c, &err);
	if (r != 0)
		ok(0, "net_run: %s", err.msg);
	return now_s() - t0;
}

static double
lookup(struct net_client *c, const char *hex, struct got *g)
{
	struct net_request rq;
	uint8_t fpr[20];

	got_release(g);
	lookup_req(&rq, fpr, hex, g);
	return run1(c, &rq);
}

static void
test_basic(struct hkpd *a)
{
	struct net_opts o;
	struct net_client *c;
	struct got g = { 0 };
	size_t mark = log_mark(a);
	char *log, line[1024];

	buf_init(&g.body, 0);
	test_opts(&o);
	c = client(&o, a->hkp, NULL);
	lookup(c, FPR_REVOKED, &g);
	ok(g.called, "lookup: called back");
	is_int(g.code, 0, "  success");
	is_int(g.status, 200, "  HTTP 200");
	is_int(g.attempts, 1, "  one attempt");
	is_int(g.server, 0, "  first server");
	is_str(g.error, "", "  no error text");
	ok(g.body.len == 800 && strncmp((char *)g.body.p,
	    "-----BEGIN PGP PUBLIC KEY BLOCK-----\n", 37) == 0,
	    "  the armored key, as bytes (%zu)", g.body.len);
	ok(g.body.len >= 2 && memcmp(g.body.p + g.body.len - 2, "\r\n", 2) ==
	    0, "  SKS's trailing \\r\\n kept");
	log = log_since(a, mark);
	log_line(log, "GET /pks/lookup", line, sizeof(line));
	ok(strstr(line, " GET /pks/lookup?op=get&options=mr&search=0x"
	    FPR_REVOKED " ") != NULL, "  request target as gpg sends it");
	ok(strstr(line, " ua=pgpsync/" PGPSYNC_VERSION " ") != NULL,
	    "  User-Agent pgpsync/" PGPSYNC_VERSION);
	free(log);

	lookup(c, FPR_404, &g);
	is_int(g.code, PGPS_ENOTFOUND, "404: not found");
	is_int(g.status, 404, "  status 404");
	is_int(g.attempts, 1, "  not retried");
	ok(strstr(g.error, "'http://127.0.0.1:") != NULL &&
	    strstr(g.error, FPR_404) != NULL, "  error names the URL: %s",
	    g.error);
	ok(strstr(g.error, "HTTP 404 (No results found)") != NULL,
	    "  and the status with the page's title");
	ok(g.body.len > 0 && strstr((char *)g.body.p, "<html") != NULL,
	    "  the HTML body is passed on");
	lookup(c, FPR_UNKNOWN, &g);
	is_int(g.code, PGPS_ENOTFOUND, "unknown key: not found");
	net_client_free(c);
	got_release(&g);
}

static void
test_vks_index_url(struct hkpd *a)
{
	struct net_opts o;
	struct net_client *c;
	struct net_request rq = NET_REQUEST_INIT;
	struct net_index ix = NET_INDEX_INIT;
	struct got g = { 0 };
	struct pgps_err err = PGPS_ERR_INIT;
	char base[128], url[256], *log;
	size_t mark = log_mark(a);

	buf_init(&g.body, 0);
	test_opts(&o);
	snprintf(base, sizeof(base), "http://127.0.0.1:%u/", a->port);
	c = client(&o, base, NULL);
	lookup(c, FPR_REVOKED, &g);
	is_int(g.code, 0, "VKS lookup by fingerprint");
	ok(strstr((char *)g.body.p, "BEGIN PGP PUBLIC KEY BLOCK") != NULL,
	    "  armored key");
	net_client_free(c);
	snprintf(base, sizeof(base), "http://127.0.0.1:%u/prefix", a->port);
	c = client(&o, base, NULL);
	lookup(c, FPR_REVOKED, &g);
	is_int(g.code, PGPS_ENOTFOUND, "VKS base path kept (404 here)");
	log = log_since(a, mark);
	is_int(log_reqs(log, " GET /vks/v1/by-fingerprint/" FPR_REVOKED " ",
	    NULL, NULL, NULL), 1, "  /vks/v1/by-fingerprint/FPR requested");
	is_int(log_reqs(log, " GET /prefix/vks/v1/by-fingerprint/"
	    FPR_REVOKED " ", NULL, NULL, NULL), 1, "  under the prefix");
	free(log);
	net_client_free(c);

	/* op=index on an HKP server, parsed. */
	c = client(&o, a->hkp, NULL);
	got_release(&g);
	rq.op = NET_OP_INDEX;
	rq.text = "schmidt";
	rq.done = record;
	rq.arg = &g;
	run1(c, &rq);
	is_int(g.code, 0, "index request");
	ok(strstr(g.url, "/pks/lookup?op=index&options=mr&search=schmidt") !=
	    NULL, "  URL %s", g.url);
	is_int(net_index_parse(&ix, g.body.p, g.body.len, &err), 0,
	    "  parsed");
	is_int((int)ix.nkeys, 2, "  two keys");
	net_index_release(&ix);

	/* An absolute URL, as WKD uses. */
	got_release(&g);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/pks/lookup?op=index&"
	    "options=mr&search=0x" FPR_T001, a->port);
	rq.op = NET_OP_GET_URL;
	rq.text = url;
	run1(c, &rq);
	is_int(g.code, 0, "GET of an absolute URL");
	is_int(g.server, -1, "  no server index");
	ok(strstr((char *)g.body.p, "pub:" FPR_T001) != NULL, "  body");
	net_client_free(c);
	got_release(&g);
}

static void
test_hashquery(struct hkpd *a)
{
	struct net_opts o;
	struct net_client *c;
	struct net_request rq = NET_REQUEST_INIT;
	struct net_hashquery_reader rd;
	struct got g = { 0 };
	struct pgps_err err = PGPS_ERR_INIT;
	struct span cert;
	uint8_t hashes[32];
	size_t mark = log_mark(a);
	char *log, line[1024];

	buf_init(&g.body, 0);
	test_opts(&o);
	c = client(&o, a->hkp, NULL);
	memset(hashes, 0, sizeof(hashes));
	hex_decode(hashes, 16, "80E60D47184F5AE464752E05F5700C81", 32);
	rq.op = NET_OP_HASHQUERY;
	rq.data = hashes;
	rq.datalen = sizeof(hashes);
	rq.done = record;
	rq.arg = &g;
	run1(c, &rq);
	is_int(g.code, 0, "hashquery");
	log = log_since(a, mark);
	log_line(log, "POST /pks/hashquery", line, sizeof(line));
	ok(strstr(line, " len=44 body=000000020000001080e60d47184f5ae464752e05"
	    "f5700c810000001000000000000000000000000000000000") != NULL,
	    "  request bytes exactly as SKS sends them");
	ok(strstr(line, " ct=- ") != NULL, "  no Content-Type, as SKS");
	free(log);
	is_int(net_hashquery_begin(&rd, g.body.p, g.body.len, 2, &err), 0,
	    "  response begins");
	is_int(net_hashquery_next(&rd, &cert, &err), 1, "  one key");
	is_int((int)cert.len, 416, "  of 416 octets");
	is_int(net_hashquery_next(&rd, &cert, &err), 0, "  then the end");
	net_client_free(c);

	/* Hashqueries need an HKP server. */
	c = client(&o, "vks://keys.example.org", NULL);
	is_int(net_submit(c, &rq, &err), PGPS_EUNSUPPORTED,
	    "hashquery without an HKP server refused");
	net_client_free(c);
	got_release(&g);
}

/* The request body logged in hex on a "req" line. */
static void
posted_body(const char *line, struct buf *out)
{
	const char *h = strstr(line, " body=");
	uint8_t v;

	if (h == NULL)
		return;
	for (h += 6; h[0] != '\0' && h[1] != '\0' &&
	    hex_decode(&v, 1, h, 2) == 0; h += 2)
		buf_addch(out, v);
}

/* Reverses application/x-www-form-urlencoded. */
static void
form_decode(struct buf *out, const char *s)
{
	uint8_t v;

	for (; *s != '\0'; s++) {
		if (*s == '+')
			buf_addch(out, ' ');
		else if (*s == '%' && hex_decode(&v, 1, s + 1, 2) == 0) {
			buf_addch(out, v);
			s += 2;
		} else
			buf_addch(out, (uint8_t)*s);
	}
}

static void
test_add(struct hkpd *a)
{
	static const char armor[] =
	    "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n"
	    "mDMEawQnBxYJKwYBBAHaRw8BAQdAiI/RC6LQP85pV9wEWmiki5qzFxzbTXmnbp4F\n"
	    "=ZFLv\n-----END PGP PUBLIC KEY BLOCK-----\n";
	struct net_opts o;
	struct net_client *c;
	struct net_request rq = NET_REQUEST_INIT;
	struct got g = { 0 };
	struct pgps_err err = PGPS_ERR_INIT;
	struct buf posted = BUF_INIT, decoded = BUF_INIT;
	size_t mark = log_mark(a);
	char *log, line[2048];

	buf_init(&g.body, 0);
	test_opts(&o);
	c = client(&o, a->hkp, NULL);
	rq.op = NET_OP_ADD;
	rq.data = (const uint8_t *)armor;
	rq.datalen = strlen(armor);
	rq.done = record;
	rq.arg = &g;
	/* hkpd answers add-failed.http, then add-error.http, then add-ok. */
	run1(c, &rq);
	is_int(g.code, PGPS_EHTTP, "\"Add failed\" in HTTP 200 is a failure");
	is_int(g.status, 200, "  status 200");
	ok(strstr(g.error, "Add failed: Malformed Key") != NULL &&
	    strstr(g.error, "/pks/add'") != NULL, "  error: %s", g.error);
	is_int(g.attempts, 1, "  not retried");
	got_release(&g);
	run1(c, &rq);
	is_int(g.code, PGPS_EHTTP, "add answered with 500");
	is_int(g.status, 500, "  status 500");
	ok(strstr(g.error, "HTTP 500 (Error handling request)") != NULL,
	    "  error: %s", g.error);
	got_release(&g);
	run1(c, &rq);
	is_int(g.code, 0, "add accepted");
	ok(strstr((char *)g.body.p, "1 key(s) added successfully") != NULL,
	    "  SKS's page passed on");
	log = log_since(a, mark);
	is_int(log_reqs(log, "POST /pks/add", NULL, NULL, NULL), 3,
	    "  three POSTs");
	log_line(log, "POST /pks/add", line, sizeof(line));
	ok(strstr(line, " ct=application/x-www-form-urlencoded ") != NULL,
	    "  form content type");
	posted_body(line, &posted);
	ok(posted.len > 8 && memcmp(posted.p, "keytext=", 8) == 0,
	    "  body starts with keytext=");
	ok(memchr(posted.p, ' ', posted.len) == NULL &&
	    memchr(posted.p, '\n', posted.len) == NULL,
	    "  no raw blank or line end in it");
	form_decode(&decoded, (const char *)posted.p + 8);
	ok(decoded.len == strlen(armor) && memcmp(decoded.p, armor,
	    decoded.len) == 0, "  form-decoded, it is the armor given");
	buf_release(&posted);
	buf_release(&decoded);
	free(log);
	net_client_free(c);

	rq.data = (const uint8_t *)"\x99\x01\x0d binary";
	rq.datalen = 10;
	c = client(&o, a->hkp, NULL);
	is_int(net_submit(c, &rq, &err), PGPS_EFORMAT,
	    "binary upload refused (the caller armors)");
	net_client_free(c);
	got_release(&g);
}

static void
test_retries(struct hkpd *a, struct hkpd *b)
{
	struct net_opts o;
	struct net_client *c;
	struct net_request rq;
	struct got g = { 0 }, g2 = { 0 };
	size_t mark;
	uint8_t fpr[20];
	char *log;
	double t;

	buf_init(&g.body, 0);
	buf_init(&g2.body, 0);
	test_opts(&o);

	/* hkpd answers this one 429 with Retry-After: 1 once. */
	c = client(&o, a->hkp, NULL);
	mark = log_mark(a);
	t = lookup(c, FPR_T001, &g);
	is_int(g.code, 0, "429 + Retry-After: retried, then success");
	is_int(g.attempts, 2, "  two attempts");
	ok(t >= 0.9 && t < 3.0, "  Retry-After 1 s honoured (%.2f s)", t);
	log = log_since(a, mark);
	is_int(log_reqs(log, "search=0x" FPR_T001, NULL, NULL, NULL), 2,
	    "  hkpd saw two requests");
	free(log);
	net_client_free(c);

	/* B answers 503 to everything: fail over to A, no waiting. */
	c = client(&o, b->hkp, a->hkp);
	mark = log_mark(b);
	t = lookup(c, FPR_REVOKED, &g);
	is_int(g.code, 0, "503: fail-over to the second server");
	is_int(g.server, 1, "  answered by the second");
	is_int(g.attempts, 2, "  two attempts");
	ok(t < 0.9, "  without back-off (%.2f s)", t);
	log = log_since(b, mark);
	is_int(log_reqs(log, "search=0x" FPR_REVOKED, NULL, NULL, NULL), 1,
	    "  first server tried once");
	free(log);

	/* Pinned to B: no fail-over. */
	got_release(&g);
	lookup_req(&rq, fpr, FPR_REVOKED, &g);
	rq.server = 0;
	o.retries = 0;
	net_client_free(c);
	c = client(&o, b->hkp, a->hkp);
	run1(c, &rq);
	is_int(g.code, PGPS_EHTTP, "pinned to the 503 server: fails");
	is_int(g.status, 503, "  status 503");
	is_int(g.server, 0, "  on that server");
	ok(strstr(g.error, "HTTP 503") != NULL, "  error: %s", g.error);
	net_client_free(c);

	/* 500 is definite for that server: not retried on it. */
	test_opts(&o);
	c = client(&o, a->hkp, NULL);
	lookup(c, FPR_500, &g);
	is_int(g.code, PGPS_EHTTP, "500: failure");
	is_int(g.attempts, 1, "  not retried on the same server");
	net_client_free(c);

	/* A 429 with Retry-After holds back other requests to that host. */
	o.max_total = 1;
	c = client(&o, a->hkp, NULL);
	got_release(&g);
	got_release(&g2);
	lookup_req(&rq, fpr, "2200000000000000000000000000000000000000", &g);
	net_submit(c, &rq, NULL);
	lookup_req(&rq, fpr, FPR_REVOKED, &g2);
	net_submit(c, &rq, NULL);
	t = now_s();
	is_int(net_run(c, NULL), 0, "429 on one request of two");
	ok(g.code == 0 && g2.code == 0, "  both answered in the end");
	ok(g2.at - t >= 0.9, "  the other one waited for the host "
	    "(%.2f s)", g2.at - t);
	net_client_free(c);

	/*
	 * The same with a second server (the same hkpd under another host
	 * name): the request queued behind the pause goes there instead of
	 * waiting.
	 */
	{
		char other[80];

		snprintf(other, sizeof(other), "hkp://localhost:%s",
		    strrchr(a->hkp, ':') + 1);
		c = client(&o, a->hkp, other);
	}
	got_release(&g);
	got_release(&g2);
	lookup_req(&rq, fpr, "3300000000000000000000000000000000000000", &g);
	net_submit(c, &rq, NULL);
	lookup_req(&rq, fpr, FPR_REVOKED, &g2);
	net_submit(c, &rq, NULL);
	t = now_s();
	is_int(net_run(c, NULL), 0, "429 with a second server to go to");
	ok(g.code == 0 && g2.code == 0 && g.server == 1 && g2.server == 1,
	    "  both answered by the second server (%d, %d)", g.server,
	    g2.server);
	ok(g2.at - t < 0.9, "  the queued one did not wait for the pause "
	    "(%.2f s)", g2.at - t);
	net_client_free(c);
	o.max_total = 8;

	/* Retry-After (1 s) capped at 0.2 s: three quick attempts. */
	o.retry_after_max_ms = 200;
	c = client(&o, a->hkp, NULL);
	t = lookup(c, FPR_503, &g);
	is_int(g.code, PGPS_EHTTP, "503 every time: gives up");
	is_int(g.attempts, 3, "  after 1 + 2 retries");
	ok(t >= 0.35 && t < 1.5, "  Retry-After capped (%.2f s)", t);
	ok(strstr(g.error, "(3 attempts)") != NULL, "  error: %s", g.error);
	net_client_free(c);
	got_release(&g);
	got_release(&g2);
}

static unsigned int
free_port(void)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	unsigned int port = 0;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
		port = ntohs(sa.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

static void
test_unreachable(void)
{
	struct net_opts o;
	struct net_client *c;
	struct got g = { 0 };
	char url[64], hp[32];
	double t;
	unsigned int port = free_port();

	buf_init(&g.body, 0);
	test_opts(&o);
	snprintf(url, sizeof(url), "hkp://127.0.0.1:%u", port);
	snprintf(hp, sizeof(hp), "127.0.0.1:%u", port);
	c = client(&o, url, NULL);
	t = lookup(c, FPR_REVOKED, &g);
	is_int(g.code, PGPS_ENET, "connection refused: network error");
	is_int(g.status, 0, "  no status");
	is_int(g.attempts, 3, "  retried twice");
	ok(t >= 0.05 && t < 2.0, "  with short back-off (%.2f s)", t);
	ok(strstr(g.error, hp) != NULL, "  error names the URL: %s", g.error);
	net_client_free(c);
	got_release(&g);
}

static void
test_timeouts(struct hkpd *a)
{
	struct net_opts o;
	struct net_client *c;
	struct got g = { 0 };
	double t;

	buf_init(&g.body, 0);
	test_opts(&o);
	o.low_speed_time = 1;
	o.retries = 0;
	c = client(&o, a->hkp, NULL);
	t = lookup(c, FPR_HANG, &g);
	is_int(g.code, PGPS_ENET, "silent server: network error");
	ok((g.flags & NET_RESULT_TIMEOUT) != 0, "  flagged as a time-out");
	ok(t >= 0.9 && t < 3.5, "  within the 1 s low-speed bound (%.2f s)",
	    t);
	ok(strstr(g.error, FPR_HANG) != NULL, "  error names the URL: %s",
	    g.error);
	net_client_free(c);

	o.low_speed_time = 30;
	o.timeout_ms = 400;
	c = client(&o, a->hkp, NULL);
	t = lookup(c, FPR_HANG, &g);
	is_int(g.code, PGPS_ENET, "whole-attempt time-out");
	ok(t >= 0.35 && t < 1.5, "  within 0.4 s (%.2f s)", t);
	net_client_free(c);
	got_release(&g);
}

static void
test_tls(struct hkpd *a)
{
	struct net_opts o;
	struct net_client *c;
	struct got g = { 0 };
	char url[64];
	double t;

	buf_init(&g.body, 0);
	test_opts(&o);
	o.connect_timeout_ms = 500;
	o.retries = 0;
	/* hkpd speaks no TLS: the handshake never completes. */
	snprintf(url, sizeof(url), "https://127.0.0.1:%u", a->port);
	c = client(&o, url, NULL);
	t = lookup(c, FPR_REVOKED, &g);
	is_int(g.code, PGPS_ENET, "HTTPS to a plain HTTP server fails");
	ok(t < 2.0, "  within the connect time-out (%.2f s)", t);
	net_client_free(c);

	o.retries = 2;
	o.ca_file = "/nonexistent/ca.pem";
	c = client(&o, url, NULL);
	lookup(c, FPR_REVOKED, &g);
	is_int(g.code, PGPS_ENET, "unreadable CA file: failure");
	is_int(g.attempts, 1, "  not retried (%s)", g.error);
	net_client_free(c);
	got_release(&g);
}

static long
maxrss_kb(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

static void
test_oversize(struct hkpd *a)
{
	struct net_opts o;
	struct net_client *c;
	struct net_request rq;
	struct got g = { 0 };
	uint8_t fpr[20];
	size_t mark = log_mark(a), cap = (size_t)1 << 20;
	long rss0 = maxrss_kb(), sent = -1;
	char *log, line[512];
	double t;

	buf_init(&g.body, 0);
	test_opts(&o);
	o.max_body = cap;
	c = client(&o, a->hkp, NULL);
	t = lookup(c, FPR_HUGE, &g);
	is_int(g.code, PGPS_ELIMIT, "256 MiB body without length: refused");
	ok(g.body.len <= cap, "  at most the cap kept (%zu)", g.body.len);
	ok(g.alloc <= cap + 1, "  memory bounded by the cap (%zu)", g.alloc);
	ok(strstr(g.error, "larger than 1048576 bytes") != NULL,
	    "  error: %s", g.error);
	is_int(g.attempts, 1, "  not retried");
	ok(t < 5.0, "  promptly (%.2f s)", t);
	/* hkpd logs how much it could send before the client hung up. */
	for (int i = 0; i < 300 && sent < 0; i++) {
		log = log_since(a, mark);
		log_line(log, "of=268435456", line, sizeof(line));
		if (strstr(line, "sent ") == line)
			sscanf(strstr(line, "bytes="), "bytes=%ld", &sent);
		free(log);
		if (sent < 0)
			sleep_ms(10);
	}
	ok(sent >= 0 && sent < (64L << 20), "  transfer stopped early "
	    "(%ld of 268435456 bytes sent)", sent);
	ok(maxrss_kb() - rss0 < 64 * 1024, "  RSS grew by %ld KiB",
	    maxrss_kb() - rss0);

	lookup(c, FPR_HUGE_CL, &g);
	is_int(g.code, PGPS_ELIMIT, "announced 256 MiB: refused");
	is_int((int)g.body.len, 0, "  before any body byte");
	net_client_free(c);

	/* A per-request cap below the client's. */
	test_opts(&o);
	c = client(&o, a->hkp, NULL);
	got_release(&g);
	lookup_req(&rq, fpr, FPR_REVOKED, &g);
	rq.max_body = 100;
	run1(c, &rq);
	is_int(g.code, PGPS_ELIMIT, "per-request cap of 100 bytes");
	net_client_free(c);
	got_release(&g);
}

/* Starts n lookups of fingerprints 11...nn (hkpd delays them 0.3 s). */
static double
run_slow(struct net_client *c, int n, int pin_split, struct got *gs)
{
	struct net_request rq;
	struct pgps_err err = PGPS_ERR_INIT;
	uint8_t fprs[16][20];
	char hex[41];
	double t0 = now_s();
	int r;

	for (int i = 0; i < n; i++) {
		got_release(&gs[i]);
		snprintf(hex, sizeof(hex), "11%038d", i);
		lookup_req(&rq, fprs[i], hex, &gs[i]);
		if (pin_split > 0)
			rq.server = i < pin_split ? 0 : 1;
		if (net_submit(c, &rq, &err) != 0)
			ok(0, "submit: %s", err.msg);
	}
	if ((r = net_run(c, &err)) != 0)
		ok(0, "net_run: %s", err.msg);
	return now_s() - t0;
}

static void
test_concurrency(struct hkpd *a)
{
	struct net_opts o;
	struct net_client *c;
	struct got gs[16];
	char lh[64], *log;
	size_t mark;
	long maxin;
	int n, all;
	double t;

	memset(gs, 0, sizeof(gs));
	for (int i = 0; i < 16; i++)
		buf_init(&gs[i].body, 0);

	test_opts(&o);
	o.max_total = 8;
	o.max_per_host = 2;
	c = client(&o, a->hkp, NULL);
	mark = log_mark(a);
	t = run_slow(c, 6, 0, gs);
	log = log_since(a, mark);
	n = log_reqs(log, "search=0x11", &maxin, NULL, NULL);
	all = 0;
	for (int i = 0; i < 6; i++)
		all += gs[i].code == 0;
	is_int(all, 6, "per-host bound 2: all six answered");
	is_int(n, 6, "  six requests");
	is_int(maxin, 2, "  never more than 2 at once, and 2 reached");
	ok(t >= 0.85 && t < 3.0, "  in three waves (%.2f s)", t);
	free(log);
	net_client_free(c);

	o.max_total = 3;
	o.max_per_host = 8;
	c = client(&o, a->hkp, NULL);
	mark = log_mark(a);
	t = run_slow(c, 6, 0, gs);
	log = log_since(a, mark);
	n = log_reqs(log, "search=0x11", &maxin, NULL, NULL);
	is_int(n, 6, "total bound 3: six requests");
	is_int(maxin, 3, "  never more than 3 at once, and 3 reached");
	ok(t >= 0.55 && t < 2.5, "  in two waves (%.2f s)", t);
	free(log);
	net_client_free(c);

	/* Two host names for one server: the total bound spans hosts. */
	o.max_total = 3;
	o.max_per_host = 2;
	snprintf(lh, sizeof(lh), "hkp://localhost:%u", a->port);
	c = client(&o, a->hkp, lh);
	mark = log_mark(a);
	t = run_slow(c, 8, 4, gs);
	log = log_since(a, mark);
	n = log_reqs(log, "search=0x11", &maxin, NULL, NULL);
	all = 0;
	for (int i = 0; i < 8; i++)
		all += gs[i].code == 0 && gs[i].server == (i < 4 ? 0 : 1);
	is_int(all, 8, "two hosts: each request on its pinned server");
	is_int(n, 8, "  eight requests");
	is_int(maxin, 3, "  total bound 3 across hosts, and reached");
	free(log);
	net_client_free(c);
	for (int i = 0; i < 16; i++)
		got_release(&gs[i]);
}

static void
test_reuse(struct hkpd *a)
{
	struct net_opts o;
	struct net_client *c;
	struct net_request rq = NET_REQUEST_INIT;
	struct pgps_err err = PGPS_ERR_INIT;
	struct got gs[4];
	uint8_t keyid[8];
	size_t mark = log_mark(a);
	char *log;
	int n, nconns;

	memset(gs, 0, sizeof(gs));
	test_opts(&o);
	o.max_total = 1;
	c = client(&o, a->hkp, NULL);
	hex_decode(keyid, 8, "1BA17B11D6FD2ACB", 16);
	rq.op = NET_OP_LOOKUP;
	rq.query = NET_QUERY_KEYID;
	rq.id = keyid;
	rq.idlen = 8;
	rq.done = record;
	for (int i = 0; i < 4; i++) {
		buf_init(&gs[i].body, 0);
		rq.arg = &gs[i];
		net_submit(c, &rq, &err);
	}
	is_int(net_run(c, &err), 0, "four lookups by key ID");
	for (int i = 0; i < 4; i++)
		is_int(gs[i].code, 0, "  lookup %d answered", i);
	log = log_since(a, mark);
	n = log_reqs(log, "search=0x1BA17B11D6FD2ACB", NULL, NULL, &nconns);
	is_int(n, 4, "  four requests");
	is_int(nconns, 1, "  over one reused connection");
	free(log);
	net_client_free(c);
	for (int i = 0; i < 4; i++)
		got_release(&gs[i]);
}

static void
test_proxy(struct hkpd *a)
{
	struct net_opts o;
	struct net_client *c;
	struct got g = { 0 };
	char proxy[64], *log;
	size_t mark = log_mark(a);

	buf_init(&g.body, 0);
	test_opts(&o);
	snprintf(proxy, sizeof(proxy), "http://127.0.0.1:%u", a->port);
	o.proxy = proxy;
	/* .invalid never resolves (RFC 2606); an HTTP proxy gets the name. */
	c = client(&o, "hkp://keys.example.invalid", NULL);
	lookup(c, FPR_REVOKED, &g);
	is_int(g.code, 0, "through an HTTP proxy");
	log = log_since(a, mark);
	is_int(log_reqs(log, " GET http://keys.example.invalid:11371/pks/"
	    "lookup?op=get&options=mr&search=0x" FPR_REVOKED " ", NULL, NULL,
	    NULL), 1, "  the proxy got the absolute URL");
	free(log);
	net_client_free(c);
	got_release(&g);
}

struct chain {
	struct net_client	*c;
	struct got		 first;
	struct got		 second;
	uint8_t			 fpr[20];
	int			 ret;
	int			 calls;
};

static int
chain_cb(struct net_result *res, void *arg)
{
	struct chain *ch = arg;
	struct net_request rq;
	struct pgps_err err = PGPS_ERR_INIT;

	record(res, &ch->first);
	lookup_req(&rq, ch->fpr, FPR_T001, &ch->second);
	if (net_submit(ch->c, &rq, &err) != 0)
		return PGPS_EINTERNAL;
	/* Running the client from its own callback is refused. */
	if (net_run(ch->c, &err) != PGPS_EINTERNAL)
		return PGPS_EINTERNAL;
	return 0;
}

static int
stop_cb(struct net_result *res, void *arg)
{
	struct chain *ch = arg;

	(void)res;
	ch->calls++;
	return ch->ret;
}

static void
test_callbacks(struct hkpd *a)
{
	struct net_opts o;
	struct net_request rq;
	struct pgps_err err = PGPS_ERR_INIT;
	struct chain ch;
	uint8_t fpr[20];

	memset(&ch, 0, sizeof(ch));
	buf_init(&ch.first.body, 0);
	buf_init(&ch.second.body, 0);
	test_opts(&o);
	ch.c = client(&o, a->hkp, NULL);
	lookup_req(&rq, fpr, FPR_REVOKED, NULL);
	rq.done = chain_cb;
	rq.arg = &ch;
	net_submit(ch.c, &rq, &err);
	is_int(net_run(ch.c, &err), 0, "a callback submits a request");
	is_int(ch.first.code, 0, "  first answered");
	ok(ch.second.called && ch.second.code == 0, "  the follow-up too");
	net_client_free(ch.c);
	got_release(&ch.first);
	got_release(&ch.second);

	o.max_total = 1;
	ch.c = client(&o, a->hkp, NULL);
	ch.ret = -42;
	rq.done = stop_cb;
	for (int i = 0; i < 3; i++)
		net_submit(ch.c, &rq, &err);
	pgps_err_clear(&err);
	is_int(net_run(ch.c, &err), -42, "a callback's non-zero stops the run");
	is_int(ch.calls, 1, "  the others are dropped");
	ch.ret = 0;
	net_submit(ch.c, &rq, &err);
	is_int(net_run(ch.c, &err), 0, "  the client still works");
	is_int(ch.calls, 2, "  and calls back");
	net_client_free(ch.c);
}

static void
test_submit_errors(void)
{
	struct net_client *c;
	struct net_request rq;
	struct pgps_err err = PGPS_ERR_INIT;
	struct got g = { 0 };
	uint8_t fpr[20];
	char url[64];

	buf_init(&g.body, 0);
	c = client(NULL, NULL, NULL);
	lookup_req(&rq, fpr, FPR_REVOKED, &g);
	is_int(net_submit(c, &rq, &err), PGPS_EUNSUPPORTED,
	    "no server configured");
	is_int(net_client_add_server(c, "gopher://x", &err),
	    PGPS_EUNSUPPORTED, "bad server URL refused");
	for (int i = 0; i < NET_MAX_SERVERS; i++) {
		snprintf(url, sizeof(url), "hkp://127.0.0.1:%d", 20000 + i);
		net_client_add_server(c, url, NULL);
	}
	is_int(net_client_add_server(c, "hkp://127.0.0.1:1", &err),
	    PGPS_ELIMIT, "at most %d servers", NET_MAX_SERVERS);
	rq.idlen = 19;
	is_int(net_submit(c, &rq, &err), PGPS_EFORMAT, "19-octet fingerprint");
	rq.idlen = 20;
	rq.server = NET_MAX_SERVERS;
	is_int(net_submit(c, &rq, &err), PGPS_EINTERNAL, "server out of range");
	rq.server = -1;
	rq.op = NET_OP_GET_URL;
	rq.text = "hkp://127.0.0.1:1/";
	is_int(net_submit(c, &rq, &err), PGPS_EUNSUPPORTED,
	    "GET of a non-http URL");
	rq.op = NET_OP_HASHQUERY;
	rq.data = fpr;
	rq.datalen = 20;
	is_int(net_submit(c, &rq, &err), PGPS_EFORMAT,
	    "hashes not a multiple of 16 octets");
	net_client_free(c);
	net_client_free(NULL);
}

static void
test_addr_private(void)
{
	static const struct {
		const char	*ip;
		const char	*want;
	} t[] = {
		{ "127.0.0.1", "loopback" }, { "127.255.0.2", "loopback" },
		{ "10.1.2.3", "private" }, { "172.16.0.1", "private" },
		{ "172.31.255.255", "private" }, { "192.168.1.1", "private" },
		{ "100.64.0.1", "private" }, { "100.127.255.255", "private" },
		{ "169.254.169.254", "link-local" },
		{ "0.0.0.0", "unspecified" }, { "224.0.0.1", "multicast" },
		{ "255.255.255.255", "reserved" }, { "::1", "loopback" },
		{ "::", "unspecified" }, { "fe80::1", "link-local" },
		{ "fd12::1", "unique local" }, { "ff02::1", "multicast" },
		{ "::ffff:127.0.0.1", "loopback" },
		{ "::ffff:10.0.0.1", "private" },
		{ "localhost", "not an address" },
		{ "8.8.8.8", NULL }, { "172.32.0.1", NULL },
		{ "100.128.0.1", NULL }, { "11.0.0.1", NULL },
		{ "2001:db8::1", NULL }, { "::ffff:8.8.8.8", NULL }
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		const char *got = net_addr_private(t[i].ip);

		if (t[i].want == NULL)
			ok(got == NULL, "%s: public", t[i].ip);
		else
			is_str(got != NULL ? got : "(public)", t[i].want,
			    "%s: %s", t[i].ip, t[i].want);
	}
}

int
main(void)
{
	static const char *const a_routes[] = {
		"GET /pks/lookup?op=get&options=mr&search=0x" FPR_T001
		    " status 429 retry-after 1 times 1",
		"GET /pks/lookup?op=get&options=mr&search=0x11 delay 0.3 "
		    "file get-revoked.http",
		"GET /pks/lookup?op=get&options=mr&search=0x22 status 429 "
		    "retry-after 1 times 1",
		"GET /pks/lookup?op=get&options=mr&search=0x22 "
		    "file get-revoked.http",
		"GET /pks/lookup?op=get&options=mr&search=0x33 status 429 "
		    "retry-after 2 times 1",
		"GET /pks/lookup?op=get&options=mr&search=0x33 "
		    "file get-revoked.http",
		"POST /pks/add file add-failed.http times 1",
		"POST /pks/add file add-error.http times 1",
		NULL
	};
	static const char *const b_routes[] = {
		"* / status 503 retry-after 1",
		NULL
	};
	static const char *const proxies[] = {
		"http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY",
		"ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy"
	};
	struct hkpd a = { 0 }, b = { 0 };
	char cmd[64];

	if (access(HKPD, X_OK) != 0) {
		printf("Bail out! %s is not built (make %s)\n", HKPD, HKPD);
		return 1;
	}
	/* Only hkpd is ever talked to: no proxy from the environment. */
	for (size_t i = 0; i < PGPS_ARRAY_SIZE(proxies); i++)
		unsetenv(proxies[i]);
	if (mkdtemp(tmpdir) == NULL) {
		printf("Bail out! mkdtemp failed\n");
		return 1;
	}
	if (!hkpd_start(&a, "a", a_routes) || !hkpd_start(&b, "b", b_routes)) {
		printf("Bail out! cannot start %s\n", HKPD);
		hkpd_stop(&a);
		hkpd_stop(&b);
		return 1;
	}
	test_addr_private();
	test_submit_errors();
	test_basic(&a);
	test_vks_index_url(&a);
	test_hashquery(&a);
	test_add(&a);
	test_retries(&a, &b);
	test_unreachable();
	test_concurrency(&a);
	test_reuse(&a);
	test_proxy(&a);
	test_callbacks(&a);
	test_timeouts(&a);
	test_tls(&a);
	test_oversize(&a);
	hkpd_stop(&a);
	hkpd_stop(&b);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		diag("could not remove %s", tmpdir);
	return done_testing();
}
