/*
 * test-net-recon.c: the recon transport and the hashquery server over
 * loopback.  Two sessions reconcile through real sockets (large batches
 * in both directions, which deadlock with blocking writes); a peer that
 * never speaks or closes during the handshake is reported in bounded
 * time; the hashquery server answers what the lookup has, in the wire
 * format SKS reads, and refuses malformed or oversized requests.
 */
#include "util/common.h"

#include <errno.h>
#include <pthread.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "net/recon.h"
#include "util/clock.h"
#include "util/span.h"
#include "tap.h"

#define RNG_SEED	4242
#include "rng.h"

static void
nap(void)
{
	nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
}

static void
random_elem(struct recon_elem *e)
{
	rng_fill16(e->b);
}

struct side {
	struct recon_session	*s;
	struct net_recon_io	 io;
	struct pgps_err		 err;
	int			 rc;
};

static void *
run_side(void *arg)
{
	struct side *d = arg;

	d->rc = net_recon_run(d->s, &d->io, &d->err);
	return NULL;
}

/* The driver's side of a handshake: its Config and the verdict. */
static void
handshake(struct buf *b)
{
	struct recon_config cfg;
	struct recon_msg m = RECON_MSG_INIT;

	recon_config_default(&cfg, 1);
	m.type = RECON_MSG_CONFIG;
	m.config = &cfg;
	recon_msg_encode(b, &m, NULL);
	recon_string_encode(b, "passed", 6);
}

/* A connected pair on the listening socket: *cfd ours, *afd the peer's. */
static void
pair(const struct sockaddr_in *sa, int lfd, int *cfd, int *afd)
{
	struct pgps_err err = PGPS_ERR_INIT;
	char ip[64];

	net_recon_connect(cfd, "127.0.0.1", ntohs(sa->sin_port), 5000, &err);
	net_recon_accept(lfd, afd, ip, sizeof(ip), 5000, &err);
}

/*
 * A peer that spoke and then broke off is no "busy" peer (PGPS_ETRUNC,
 * which --wait retries): a Config cut short, a whole Config and then
 * nothing, a frame cut short after the handshake.
 */
static void
test_protocol_breaks(const struct sockaddr_in *sa, int lfd,
    struct recon_ptree *tr)
{
	static const char *what[] = { "a Config cut short",
	    "a Config, then the end", "a frame cut short" };
	struct recon_session_opts o = { 0 };

	o.role = RECON_ROLE_RESPONDER;
	for (int mode = 0; mode < 3; mode++) {
		struct pgps_err err = PGPS_ERR_INIT;
		struct recon_session *s;
		struct net_recon_io io;
		struct buf b = BUF_INIT;
		size_t len;
		int cfd, afd, r;

		pair(sa, lfd, &cfd, &afd);
		handshake(&b);
		len = mode == 0 ? 10 : mode == 1 ? 4 + load_be32(b.p) : b.len;
		if (mode == 2) {
			buf_add(&b, "\0\0\0\x20\x02\0\0", 7);
			len = b.len;
		}
		if (send(afd, b.p, len, MSG_NOSIGNAL) != (ssize_t)len)
			diag("short send");
		/* The frame: an end of file, not a reset, after it. */
		if (mode == 2)
			shutdown(afd, SHUT_WR);
		else
			close(afd);
		buf_release(&b);
		recon_session_new(&s, tr, &o);
		memset(&io, 0, sizeof(io));
		io.fd = cfd;
		io.timeout_ms = 5000;
		r = net_recon_run(s, &io, &err);
		ok(r != PGPS_ETRUNC && r != 0, "%s: not busy (%d): %s",
		    what[mode], r, err.msg);
		recon_session_free(s);
		close(cfd);
		if (mode == 2)
			close(afd);
	}
}

struct flood {
	int	fd;
	size_t	sent;
};

/* Sends root Full requests until the other side stops reading. */
static void *
flood_thread(void *arg)
{
	struct flood *fl = arg;
	struct recon_msg m = RECON_MSG_INIT;
	struct buf b = BUF_INIT;
	size_t off = 0;
	double stuck = 0;

	handshake(&b);
	m.type = RECON_MSG_RECON_RQST_FULL;
	for (int i = 0; i < 20000; i++)
		recon_msg_encode(&b, &m, NULL);
	while (off < b.len) {
		ssize_t got = send(fl->fd, b.p + off, b.len - off,
		    MSG_NOSIGNAL | MSG_DONTWAIT);

		if (got > 0) {
			off += (size_t)got;
			stuck = 0;
			continue;
		}
		if (got < 0 && errno != EAGAIN)
			break;
		if (stuck == 0)
			stuck = clock_s();
		else if (clock_s() - stuck > 2.0)
			break;
		nap();
	}
	fl->sent = off;
	buf_release(&b);
	return NULL;
}

/*
 * A driver that asks (20,000 requests of 13 octets, each answered with
 * the 300 elements) and never reads: the answers would take 96 MB; the
 * transport stops reading instead, so what waits stays near its cap.
 */
static void
test_flood(const struct sockaddr_in *sa, int lfd, struct recon_ptree *tr)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct recon_session_opts o = { 0 };
	struct recon_session *s;
	struct recon_session_stats st;
	struct net_recon_io io;
	struct flood fl = { -1, 0 };
	const uint8_t *p;
	pthread_t th;
	size_t n;
	int cfd, r;

	pair(sa, lfd, &cfd, &fl.fd);
	o.role = RECON_ROLE_RESPONDER;
	recon_session_new(&s, tr, &o);
	memset(&io, 0, sizeof(io));
	io.fd = cfd;
	io.idle_ms = 500;
	io.timeout_ms = 20000;
	io.max_pending = 65536;
	pthread_create(&th, NULL, flood_thread, &fl);
	r = net_recon_run(s, &io, &err);
	recon_session_output(s, &p, &n);
	ok(r == PGPS_ENET && n <= 65536 + 300 * 16 + 64,
	    "a peer that never reads: %zu octets wait (%s)", n, err.msg);
	pthread_join(th, NULL);
	recon_session_get_stats(s, &st);
	/* What was read beyond the cap went into the socket buffers. */
	ok(st.requests_full < 5000, "%llu of the 20000 requests read (%zu "
	    "octets sent)", (unsigned long long)st.requests_full,
	    fl.sent);
	recon_session_free(s);
	close(cfd);
	close(fl.fd);
}

static void
test_sessions(void)
{
	struct recon_session_opts od = { 0 }, orr = { 0 };
	struct recon_ptree *td, *tr;
	struct side drv, rsp;
	const struct recon_elem *w;
	struct recon_elem e;
	pthread_t th;
	size_t n;
	int lfd, cfd, afd;
	char ip[64];
	struct pgps_err err = PGPS_ERR_INIT;
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);

	recon_ptree_new(&td);
	recon_ptree_new(&tr);
	/* Empty responder: the driver's 20000 elements come in one frame. */
	for (int i = 0; i < 20000; i++) {
		random_elem(&e);
		recon_ptree_insert(td, &e, NULL);
	}
	for (int i = 0; i < 300; i++) {
		random_elem(&e);
		recon_ptree_insert(tr, &e, NULL);
	}
	ok(net_recon_listen(&lfd, "127.0.0.1", 0, &err) == 0, "listen");
	getsockname(lfd, (struct sockaddr *)&sa, &sl);
	ok(net_recon_connect(&cfd, "127.0.0.1", ntohs(sa.sin_port), 5000,
	    &err) == 0, "connect");
	ok(net_recon_accept(lfd, &afd, ip, sizeof(ip), 5000, &err) == 0 &&
	    strcmp(ip, "127.0.0.1") == 0, "accept from %s", ip);
	od.role = RECON_ROLE_DRIVER;
	orr.role = RECON_ROLE_RESPONDER;
	recon_session_new(&drv.s, td, &od);
	recon_session_new(&rsp.s, tr, &orr);
	memset(&drv.io, 0, sizeof(drv.io));
	memset(&rsp.io, 0, sizeof(rsp.io));
	drv.io.fd = afd;
	rsp.io.fd = cfd;
	drv.io.timeout_ms = rsp.io.timeout_ms = 20000;
	pgps_err_clear(&drv.err);
	pgps_err_clear(&rsp.err);
	pthread_create(&th, NULL, run_side, &drv);
	run_side(&rsp);
	pthread_join(th, NULL);
	if (drv.rc != 0 || rsp.rc != 0)
		diag("driver: %s; responder: %s", drv.err.msg, rsp.err.msg);
	ok(drv.rc == 0 && rsp.rc == 0, "both ends finish");
	recon_session_want(drv.s, &w, &n);
	ok(n == 300, "the driver learns the responder's 300 (%zu)", n);
	recon_session_want(rsp.s, &w, &n);
	ok(n == 20000, "the responder learns the driver's 20000 (%zu)", n);
	recon_session_free(drv.s);
	recon_session_free(rsp.s);
	close(afd);
	close(cfd);

	/* A peer that accepts and says nothing: the handshake limit. */
	ok(net_recon_connect(&cfd, "127.0.0.1", ntohs(sa.sin_port), 5000,
	    &err) == 0, "connect to a silent peer");
	net_recon_accept(lfd, &afd, ip, sizeof(ip), 5000, &err);
	recon_session_new(&rsp.s, tr, &orr);
	memset(&rsp.io, 0, sizeof(rsp.io));
	rsp.io.fd = cfd;
	rsp.io.handshake_ms = 300;
	{
		double t = clock_s();
		int r = net_recon_run(rsp.s, &rsp.io, &err);

		ok(r == PGPS_ENET && clock_s() - t < 3.0 &&
		    strstr(err.msg, "handshake") != NULL,
		    "silent peer: %s", err.msg);
	}
	recon_session_free(rsp.s);
	close(cfd);
	close(afd);

	/* A peer that closes at once: "busy", PGPS_ETRUNC. */
	pgps_err_clear(&err);
	net_recon_connect(&cfd, "127.0.0.1", ntohs(sa.sin_port), 5000, &err);
	net_recon_accept(lfd, &afd, ip, sizeof(ip), 5000, &err);
	close(afd);
	recon_session_new(&rsp.s, tr, &orr);
	rsp.io.fd = cfd;
	pgps_err_clear(&err);
	ok(net_recon_run(rsp.s, &rsp.io, &err) == PGPS_ETRUNC,
	    "peer closing in the handshake: %s", err.msg);
	recon_session_free(rsp.s);
	close(cfd);

	/*
	 * A hostile driver: a correct handshake, then silence (the idle
	 * limit), or a frame announced at 4 GiB (refused before buffering).
	 */
	for (int mode = 0; mode < 2; mode++) {
		struct recon_config cfg;
		struct recon_msg m = RECON_MSG_INIT;
		struct buf b = BUF_INIT;
		double t;
		int r;

		net_recon_connect(&cfd, "127.0.0.1", ntohs(sa.sin_port), 5000,
		    &err);
		net_recon_accept(lfd, &afd, ip, sizeof(ip), 5000, &err);
		recon_config_default(&cfg, 1);
		m.type = RECON_MSG_CONFIG;
		m.config = &cfg;
		recon_msg_encode(&b, &m, NULL);
		recon_string_encode(&b, "passed", 6);
		if (mode == 1)
			buf_add(&b, "\xff\xff\xff\xff\x02", 5);
		if (send(afd, b.p, b.len, MSG_NOSIGNAL) != (ssize_t)b.len)
			diag("short send");
		buf_release(&b);
		recon_session_new(&rsp.s, tr, &orr);
		memset(&rsp.io, 0, sizeof(rsp.io));
		rsp.io.fd = cfd;
		rsp.io.idle_ms = 300;
		pgps_err_clear(&err);
		t = clock_s();
		r = net_recon_run(rsp.s, &rsp.io, &err);
		if (mode == 0)
			ok(r == PGPS_ENET && clock_s() - t < 3.0 &&
			    strstr(err.msg, "silent") != NULL,
			    "silent after the handshake: %s", err.msg);
		else
			ok(r == PGPS_ELIMIT, "a 4 GiB frame: %s", err.msg);
		recon_session_free(rsp.s);
		close(cfd);
		close(afd);
	}

	test_protocol_breaks(&sa, lfd, tr);
	test_flood(&sa, lfd, tr);

	pgps_err_clear(&err);
	ok(net_recon_accept(lfd, &afd, ip, sizeof(ip), 100, &err) ==
	    PGPS_ENET, "accept times out: %s", err.msg);
	close(lfd);
	pgps_err_clear(&err);
	ok(net_recon_connect(&cfd, "127.0.0.1", ntohs(sa.sin_port), 2000,
	    &err) == PGPS_ENET, "connection refused: %s", err.msg);
	recon_ptree_free(td);
	recon_ptree_free(tr);
}

/*
 * Serves "cert-<first octet>" for hashes whose first octet is even, and
 * 1 MiB of zeros when the second octet is 0xbb.
 */
static int
lookup(const uint8_t h[16], struct buf *out, void *arg)
{
	(void)arg;
	if (h[0] % 2 != 0)
		return 0;
	if (h[1] == 0xbb) {
		static const uint8_t zero[1 << 20];

		return buf_add(out, zero, sizeof(zero)) == 0 ? 1 :
		    PGPS_ENOMEM;
	}
	return buf_addf(out, "cert-%u", h[0]) == 0 ? 1 : PGPS_ENOMEM;
}

/* Sends req over a new connection to port and reads the whole answer. */
static void
http(unsigned int port, const void *req, size_t len, struct buf *ans)
{
	struct pgps_err err = PGPS_ERR_INIT;
	uint8_t b[4096];
	ssize_t got;
	int fd;

	buf_reset(ans);
	if (net_recon_connect(&fd, "127.0.0.1", port, 2000, &err) != 0)
		return;
	for (size_t off = 0; off < len; ) {
		got = send(fd, (const uint8_t *)req + off, len - off,
		    MSG_NOSIGNAL);
		if (got < 0 && errno == EAGAIN) {
			nap();
			continue;
		}
		if (got <= 0)
			break;
		off += (size_t)got;
	}
	for (int spins = 0; spins < 5000; ) {
		got = recv(fd, b, sizeof(b), 0);
		if (got > 0)
			buf_add(ans, b, (size_t)got);
		else if (got == 0)
			break;
		else {
			spins++;
			nap();
		}
	}
	close(fd);
}

/* A hashquery request for n hashes, the i-th made by fn. */
static void
hq_request(struct buf *req, uint32_t n, void (*fn)(uint8_t *, uint32_t))
{
	uint8_t h[16];

	buf_reset(req);
	buf_addf(req, "POST /pks/hashquery HTTP/1.0\r\ncontent-length: "
	    "%zu\r\n\r\n", 4 + (size_t)n * 20);
	buf_add_be32(req, n);
	for (uint32_t i = 0; i < n; i++) {
		fn(h, i);
		buf_add_be32(req, 16);
		buf_add(req, h, 16);
	}
}

static void
same_hash(uint8_t *h, uint32_t i)
{
	(void)i;
	memset(h, 2, 16);
}

static void
big_hash(uint8_t *h, uint32_t i)
{
	memset(h, 0, 16);
	h[0] = 2;
	h[1] = 0xbb;
	h[2] = (uint8_t)i;
}

/* The count of an answer and the octets of its body; 0 without one. */
static uint32_t
answer_count(const struct buf *ans, size_t *bodylen)
{
	const char *b = ans->len > 0 ? strstr((char *)ans->p, "\r\n\r\n") :
	    NULL;

	*bodylen = 0;
	if (b == NULL || memcmp(ans->p, "HTTP/1.0 200 ", 13) != 0)
		return 0;
	*bodylen = ans->len - (size_t)(b + 4 - (char *)ans->p);
	return load_be32((const uint8_t *)b + 4);
}

/*
 * One request naming one hash 262,000 times (5 MiB) gets one certificate,
 * and an answer stops taking certificates at 32 MiB.
 */
static void
test_server_bounds(void)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct net_hq_server *srv;
	struct buf req = BUF_INIT, ans = BUF_INIT;
	uint64_t rq, asked, sent;
	double last;
	size_t len;
	uint32_t n;

	net_hq_server_start(&srv, "127.0.0.1", 0, NULL, lookup, NULL, &err);
	hq_request(&req, 262000, same_hash);
	http(net_hq_server_port(srv), req.p, req.len, &ans);
	n = answer_count(&ans, &len);
	ok(n == 1 && len == 4 + 4 + 6 + 2, "one hash 262,000 times: %u "
	    "certificate, %zu octets", n, len);
	hq_request(&req, 64, big_hash);
	http(net_hq_server_port(srv), req.p, req.len, &ans);
	n = answer_count(&ans, &len);
	ok(n > 0 && n < 64 && len <= ((size_t)33 << 20) + 64,
	    "64 certificates of 1 MiB: %u sent, %zu octets", n, len);
	net_hq_server_counts(srv, &rq, &asked, &sent, &last);
	ok(rq == 2 && asked == 65 && sent == 1 + n, "counted: %llu "
	    "requests, %llu distinct hashes asked, %llu sent",
	    (unsigned long long)rq, (unsigned long long)asked,
	    (unsigned long long)sent);
	net_hq_server_stop(srv);
	buf_release(&req);
	buf_release(&ans);
}

/* Only addresses the allow list holds get an answer. */
static void
test_server_allow(void)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct net_hq_server *srv;
	struct net_allow *a = net_allow_new();
	struct buf req = BUF_INIT, ans = BUF_INIT;
	size_t len;

	net_allow_add(a, "10.0.0.0/8", &err);
	net_hq_server_start(&srv, "127.0.0.1", 0, a, lookup, NULL, &err);
	hq_request(&req, 1, same_hash);
	http(net_hq_server_port(srv), req.p, req.len, &ans);
	ok(ans.len == 0, "a stranger gets nothing (%zu octets)", ans.len);
	net_hq_server_stop(srv);
	net_allow_add(a, "127.0.0.1", &err);
	net_hq_server_start(&srv, "127.0.0.1", 0, a, lookup, NULL, &err);
	http(net_hq_server_port(srv), req.p, req.len, &ans);
	ok(answer_count(&ans, &len) == 1, "the peer gets its answer");
	net_hq_server_stop(srv);
	net_allow_free(a);
	buf_release(&req);
	buf_release(&ans);
}

static void
test_allow(void)
{
	static const char *bad[] = { "10.0.0.0/33", "10.0.0.0/", "/8",
	    "10.0.0.0/-1", "10.0.0.0/8x", "2001:db8::/129",
	    "no.such.host.invalid/8", "" };
	static const struct {
		const char	*ip;
		bool		 in;
	} cases[] = {
		{ "10.1.2.3", true }, { "11.0.0.1", false },
		{ "192.168.1.7", true }, { "192.168.1.8", false },
		{ "2001:db8:ffff::1", true }, { "2001:db9::1", false },
		{ "::1", true }, { "::2", false },
		{ "::ffff:10.9.9.9", true }, { "::ffff:11.9.9.9", false },
		{ "172.16.5.5", true }, { "172.32.0.1", false },
		{ "fe80::1%lo", false }, { "garbage", false }, { "", false }
	};
	struct pgps_err err = PGPS_ERR_INIT;
	struct net_allow *a = net_allow_new(), *all = net_allow_new();
	FILE *f;
	char path[] = "/tmp/test-net-recon.XXXXXX";
	int fd, r, good = 0;

	r = net_allow_add(a, "10.0.0.0/8", &err) |
	    net_allow_add(a, "192.168.1.7", &err) |
	    net_allow_add(a, "2001:db8::/32", &err) |
	    net_allow_add(a, "::1", &err) |
	    net_allow_add(a, "172.16.0.1/12", &err);
	ok(r == 0 && net_allow_count(a) == 5, "five entries: %s", err.msg);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (net_allow_has(a, cases[i].ip) == cases[i].in)
			good++;
		else
			diag("'%s' should%s be allowed", cases[i].ip,
			    cases[i].in ? "" : " not");
	}
	ok(good == (int)(sizeof(cases) / sizeof(cases[0])),
	    "addresses and networks match as they should");
	net_allow_add(all, "0.0.0.0/0", &err);
	ok(net_allow_has(all, "203.0.113.9") &&
	    !net_allow_has(all, "2001:db8::1"), "0.0.0.0/0: every IPv4 "
	    "address, no IPv6 one");
	ok(!net_allow_has(NULL, "127.0.0.1"), "no list: nobody");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		pgps_err_clear(&err);
		r = net_allow_add(all, bad[i], &err);
		ok(r != 0 && strstr(err.msg, bad[i]) != NULL,
		    "refused '%s': %s", bad[i], err.msg);
	}
	net_allow_free(all);
	net_allow_free(a);

	a = net_allow_new();
	fd = mkstemp(path);
	f = fdopen(fd, "w");
	fputs("# SKS membership\n10.0.0.0/8 11370\n\n  ::1\t# here\n",
	    f);
	fclose(f);
	pgps_err_clear(&err);
	ok(net_allow_load(a, path, &err) == 0 && net_allow_count(a) == 2 &&
	    net_allow_has(a, "10.3.3.3") && net_allow_has(a, "::1"),
	    "a membership file: %s", err.msg);
	f = fopen(path, "a");
	fputs("300.1.1.1/8 11370\n", f);
	fclose(f);
	pgps_err_clear(&err);
	ok(net_allow_load(a, path, &err) == PGPS_EFORMAT &&
	    strstr(err.msg, "line 5") != NULL, "a bad line: %s", err.msg);
	unlink(path);
	pgps_err_clear(&err);
	ok(net_allow_load(a, path, &err) == PGPS_EIO, "no file: %s",
	    err.msg);
	net_allow_free(a);
}

static void
count_refused(const char *ip, void *arg)
{
	int *n = arg;

	if (strcmp(ip, "127.0.0.1") == 0)
		(*n)++;
}

/* A refused peer is closed unread; the wait goes on for an allowed one. */
static void
test_accept_from(void)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct net_allow *a = net_allow_new();
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	char ip[64], b[16];
	int lfd, cfd, afd = -1, n = 0, r;
	ssize_t got;
	double t;

	net_allow_add(a, "10.0.0.0/8", &err);
	net_recon_listen(&lfd, "127.0.0.1", 0, &err);
	getsockname(lfd, (struct sockaddr *)&sa, &sl);
	net_recon_connect(&cfd, "127.0.0.1", ntohs(sa.sin_port), 2000, &err);
	t = clock_s();
	r = net_recon_accept_from(lfd, a, count_refused, &n, &afd, ip,
	    sizeof(ip), 300, &err);
	ok(r == PGPS_ENET && afd < 0 && n == 1 && clock_s() - t < 2.0,
	    "a stranger is refused and the wait ends: %s", err.msg);
	for (int spins = 0; spins < 1000; spins++) {
		got = recv(cfd, b, sizeof(b), 0);
		if (got >= 0 || errno != EAGAIN)
			break;
		nap();
	}
	ok(got <= 0, "it was closed without a word (%zd)", got);
	close(cfd);
	net_allow_add(a, "127.0.0.1", &err);
	net_recon_connect(&cfd, "127.0.0.1", ntohs(sa.sin_port), 2000, &err);
	pgps_err_clear(&err);
	ok(net_recon_accept_from(lfd, a, count_refused, &n, &afd, ip,
	    sizeof(ip), 2000, &err) == 0 && afd >= 0 && n == 1,
	    "an allowed peer is accepted: %s", err.msg);
	close(afd);
	close(cfd);
	close(lfd);
	net_allow_free(a);
}

static void
test_server(void)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct net_hq_server *srv;
	struct buf req = BUF_INIT, ans = BUF_INIT;
	uint8_t body[4 + 3 * 20];
	const char *bodyp;
	uint64_t rq, asked, sent;
	double last;
	unsigned int port;

	ok(net_hq_server_start(&srv, "127.0.0.1", 0, NULL, lookup, NULL,
	    &err) == 0, "server starts: %s", err.msg);
	port = net_hq_server_port(srv);
	ok(port > 0, "on port %u", port);
	store_be32(body, 3);
	for (int i = 0; i < 3; i++) {
		store_be32(body + 4 + 20 * i, 16);
		memset(body + 8 + 20 * i, 2 + i, 16);	/* 2, 3, 4 */
	}
	buf_addf(&req, "POST /pks/hashquery HTTP/1.0\r\ncontent-length: "
	    "%zu\r\n\r\n", sizeof(body));
	buf_add(&req, body, sizeof(body));
	http(port, req.p, req.len, &ans);
	ok(ans.len > 12 && memcmp(ans.p, "HTTP/1.0 200 ", 13) == 0,
	    "200 answer");
	bodyp = strstr((char *)ans.p, "\r\n\r\n");
	ok(bodyp != NULL && load_be32((const uint8_t *)bodyp + 4) == 2 &&
	    load_be32((const uint8_t *)bodyp + 8) == 6 &&
	    memcmp(bodyp + 12, "cert-2", 6) == 0 &&
	    load_be32((const uint8_t *)bodyp + 18) == 6 &&
	    memcmp(bodyp + 22, "cert-4\r\n", 8) == 0 &&
	    (size_t)(bodyp + 30 - (char *)ans.p) == ans.len,
	    "two of three found, each length-prefixed, CRLF at the end");

	buf_reset(&req);
	buf_addstr(&req, "POST /pks/hashquery HTTP/1.0\r\ncontent-length: "
	    "8\r\n\r\n");
	buf_add(&req, "\0\0\0\x09zzzz", 8);
	http(port, req.p, req.len, &ans);
	ok(ans.len > 12 && memcmp(ans.p, "HTTP/1.0 400", 12) == 0,
	    "a count the body cannot hold: 400");
	buf_reset(&req);
	buf_addstr(&req, "POST /pks/hashquery HTTP/1.0\r\ncontent-length: "
	    "99999999\r\n\r\n");
	http(port, req.p, req.len, &ans);
	ok(ans.len > 12 && memcmp(ans.p, "HTTP/1.0 413", 12) == 0,
	    "a body above 5 MiB: 413");
	buf_reset(&req);
	buf_addstr(&req, "GET /pks/lookup?op=stats HTTP/1.0\r\n\r\n");
	http(port, req.p, req.len, &ans);
	ok(ans.len > 12 && memcmp(ans.p, "HTTP/1.0 404", 12) == 0,
	    "anything else: 404");
	net_hq_server_counts(srv, &rq, &asked, &sent, &last);
	ok(rq == 1 && asked == 3 && sent == 2 && last > 0,
	    "counted: %llu request, %llu asked, %llu sent",
	    (unsigned long long)rq, (unsigned long long)asked,
	    (unsigned long long)sent);
	net_hq_server_stop(srv);
	buf_release(&req);
	buf_release(&ans);
}

/* recon://HOST[:PORT] and the peer's HKP URL. */
static void
test_parse_peer(void)
{
	static const struct {
		const char	*url;
		const char	*host;		/* NULL: refused */
		unsigned int	 port;
	} t[] = {
		{ "recon://keys.example.org", "keys.example.org", 11370 },
		{ "recon://127.0.0.1:11380", "127.0.0.1", 11380 },
		{ "recon://[::1]", "::1", 11370 },
		{ "recon://[2001:db8::7]:1", "2001:db8::7", 1 },
		{ "recon://host:65535", "host", 65535 },
		{ "hkp://host", NULL, 0 },
		{ "recon://", NULL, 0 },
		{ "recon://:11370", NULL, 0 },
		{ "recon://host:", NULL, 0 },
		{ "recon://host:0", NULL, 0 },
		{ "recon://host:65536", NULL, 0 },
		{ "recon://host:+1", NULL, 0 },
		{ "recon://host:1x", NULL, 0 },
		{ "recon://host/path", NULL, 0 },
		{ "recon://[::1", NULL, 0 },
		{ "recon://[::1]x", NULL, 0 },
		{ "recon://[]:1", NULL, 0 },
	};
	char host[20], url[64];
	unsigned int port;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int r;

		port = 0;
		memset(host, 0, sizeof(host));
		r = net_recon_parse_peer(host, sizeof(host), &port, t[i].url);
		if (t[i].host == NULL)
			ok(r == -1, "'%s' refused", t[i].url);
		else
			ok(r == 0 && strcmp(host, t[i].host) == 0 &&
			    port == t[i].port, "'%s': '%s' port %u", t[i].url,
			    host, port);
	}
	ok(net_recon_parse_peer(host, sizeof(host), &port,
	    "recon://a-host-name-too-long.example.org") == -1,
	    "a host longer than the room for it is refused");
	net_recon_http_url(url, sizeof(url), "2001:db8::7", 11371);
	ok(strcmp(url, "hkp://[2001:db8::7]:11371") == 0, "%s", url);
	net_recon_http_url(url, sizeof(url), "127.0.0.1", 8080);
	ok(strcmp(url, "hkp://127.0.0.1:8080") == 0, "%s", url);
}

int
main(void)
{
	test_parse_peer();
	test_sessions();
	test_allow();
	test_accept_from();
	test_server();
	test_server_bounds();
	test_server_allow();
	return done_testing();
}
