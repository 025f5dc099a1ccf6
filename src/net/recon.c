/*
 * net/recon.c: SKS reconciliation over TCP, and a hashquery server.
 *
 * The transport reads and writes in one poll() loop: everything pending is
 * sent before waiting to read, and reading never waits for a write to
 * finish, because a peer that writes a large batch while we write ours
 * would otherwise deadlock with us on full socket buffers.  Time is bounded
 * here, not in the session: the handshake (SKS allows 45 s), the whole
 * session and silence in both directions.  Memory is bounded by the
 * session, which refuses oversized frames before buffering them.
 *
 * The hashquery server answers POST /pks/hashquery in HTTP/1.0 with an
 * identity body, as SKS's client expects (it ignores Content-Length and
 * understands no chunking).  It serves one connection at a time on its own
 * thread; what it serves comes from the caller's lookup function.  It does
 * not implement the rest of HKP.
 */
#include "util/common.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <strings.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "net/recon.h"
#include "util/clock.h"
#include "util/mem.h"
#include "util/span.h"

int
net_recon_parse_peer(char *host, size_t hostlen, unsigned int *port,
    const char *url)
{
	const char *h, *end, *colon;
	unsigned long v = NET_RECON_PORT;
	size_t hl;

	if (strncmp(url, "recon://", 8) != 0)
		return -1;
	h = url + 8;
	if (*h == '[') {
		if ((end = strchr(h, ']')) == NULL)
			return -1;
		hl = (size_t)(end - h - 1);
		h++;
		colon = end[1] == ':' ? end + 1 : NULL;
		if (end[1] != '\0' && colon == NULL)
			return -1;
	} else {
		colon = strchr(h, ':');
		hl = colon != NULL ? (size_t)(colon - h) : strlen(h);
	}
	if (hl == 0 || hl >= hostlen || memchr(h, '/', hl) != NULL)
		return -1;
	if (colon != NULL) {
		char *e;

		if (!isdigit((unsigned char)colon[1]))
			return -1;
		errno = 0;
		v = strtoul(colon + 1, &e, 10);
		if (*e != '\0' || errno != 0 || v == 0 || v > 65535)
			return -1;
	}
	memcpy(host, h, hl);
	host[hl] = '\0';
	*port = (unsigned int)v;
	return 0;
}

void
net_recon_http_url(char *url, size_t len, const char *host,
    unsigned int port)
{
	snprintf(url, len, strchr(host, ':') != NULL ? "hkp://[%s]:%u" :
	    "hkp://%s:%u", host, port);
}

static int
set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -1;
	return 0;
}

static void
addr_str(const struct sockaddr *sa, char *ip, size_t iplen)
{
	if (getnameinfo(sa, sa->sa_family == AF_INET6 ?
	    sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in), ip,
	    (socklen_t)iplen, NULL, 0, NI_NUMERICHOST) != 0)
		snprintf(ip, iplen, "?");
}

int
net_sock_local_ip(int fd, char *ip, size_t iplen)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0)
		return PGPS_ENET;
	addr_str((struct sockaddr *)&ss, ip, iplen);
	return 0;
}

int
net_sock_peer_ip(int fd, char *ip, size_t iplen)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	if (getpeername(fd, (struct sockaddr *)&ss, &sl) != 0)
		return PGPS_ENET;
	addr_str((struct sockaddr *)&ss, ip, iplen);
	return 0;
}

/* Waits for a non-blocking connect; 0 or an errno value. */
static int
connect_wait(int fd, long timeout_ms)
{
	struct pollfd pfd = { fd, POLLOUT, 0 };
	int e = 0, r;
	socklen_t el = sizeof(e);

	do
		r = poll(&pfd, 1, (int)timeout_ms);
	while (r < 0 && errno == EINTR);
	if (r == 0)
		return ETIMEDOUT;
	if (r < 0)
		return errno;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) != 0)
		return errno;
	return e;
}

int
net_recon_connect(int *fd, const char *host, unsigned int port,
    long timeout_ms, struct pgps_err *err)
{
	struct addrinfo hints, *res = NULL, *ai;
	char portstr[16];
	int r, s = -1, e = 0;

	*fd = -1;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(portstr, sizeof(portstr), "%u", port);
	if ((r = getaddrinfo(host, portstr, &hints, &res)) != 0)
		return pgps_err_set(err, PGPS_ENET, "'%s': %s", host,
		    gai_strerror(r));
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if ((s = socket(ai->ai_family, ai->ai_socktype,
		    ai->ai_protocol)) < 0) {
			e = errno;
			continue;
		}
		if (set_nonblock(s) != 0) {
			e = errno;
			close(s);
			s = -1;
			continue;
		}
		if (connect(s, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		e = errno == EINPROGRESS ? connect_wait(s, timeout_ms) : errno;
		if (e == 0)
			break;
		close(s);
		s = -1;
	}
	freeaddrinfo(res);
	if (s < 0)
		return pgps_err_set(err, PGPS_ENET, "'%s' port %u: %s", host,
		    port, strerror(e));
	*fd = s;
	return 0;
}

int
net_recon_listen(int *fd, const char *host, unsigned int port,
    struct pgps_err *err)
{
	struct addrinfo hints, *res = NULL, *ai;
	char portstr[16];
	int r, s = -1, e = 0, one = 1;

	*fd = -1;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	snprintf(portstr, sizeof(portstr), "%u", port);
	if ((r = getaddrinfo(host, portstr, &hints, &res)) != 0)
		return pgps_err_set(err, PGPS_ENET, "'%s': %s",
		    host == NULL ? "*" : host, gai_strerror(r));
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if ((s = socket(ai->ai_family, ai->ai_socktype,
		    ai->ai_protocol)) < 0) {
			e = errno;
			continue;
		}
		setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(s, ai->ai_addr, ai->ai_addrlen) == 0 &&
		    listen(s, 16) == 0 && set_nonblock(s) == 0)
			break;
		e = errno;
		close(s);
		s = -1;
	}
	freeaddrinfo(res);
	if (s < 0)
		return pgps_err_set(err, PGPS_ENET, "cannot listen on '%s' "
		    "port %u: %s", host == NULL ? "*" : host, port,
		    strerror(e));
	*fd = s;
	return 0;
}

/*
 * Waits up to timeout_ms (negative: for ever) for one connection; sets
 * *timed_out, and returns 0, when none came.
 */
static int
accept_one(int lfd, int *fd, char *ip, size_t iplen, long timeout_ms,
    bool *timed_out, struct pgps_err *err)
{
	struct pollfd pfd = { lfd, POLLIN, 0 };
	struct sockaddr_storage ss;
	socklen_t sl;
	int r, s;

	*fd = -1;
	*timed_out = false;
	for (;;) {
		r = poll(&pfd, 1, timeout_ms < 0 ? -1 : (int)timeout_ms);
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0) {
			*timed_out = true;
			return 0;
		}
		if (r < 0)
			return pgps_err_set(err, PGPS_ENET, "poll: %s",
			    strerror(errno));
		sl = sizeof(ss);
		s = accept(lfd, (struct sockaddr *)&ss, &sl);
		if (s < 0) {
			if (errno == EAGAIN || errno == EINTR ||
			    errno == ECONNABORTED)
				continue;
			return pgps_err_set(err, PGPS_ENET, "accept: %s",
			    strerror(errno));
		}
		break;
	}
	if (set_nonblock(s) != 0) {
		close(s);
		return pgps_err_set(err, PGPS_ENET, "fcntl: %s",
		    strerror(errno));
	}
	addr_str((struct sockaddr *)&ss, ip, iplen);
	*fd = s;
	return 0;
}

int
net_recon_accept(int lfd, int *fd, char *ip, size_t iplen, long timeout_ms,
    struct pgps_err *err)
{
	bool timed_out;
	int r;

	if ((r = accept_one(lfd, fd, ip, iplen, timeout_ms, &timed_out,
	    err)) != 0)
		return r;
	if (timed_out)
		return pgps_err_set(err, PGPS_ENET, "no peer connected "
		    "within %.1f s", timeout_ms / 1000.0);
	return 0;
}

/* Milliseconds until deadline (0 or less: none), at least 0. */
static long
left_ms(double deadline, double now)
{
	double d;

	if (deadline <= 0)
		return -1;
	d = (deadline - now) * 1000.0;
	return d <= 0 ? 0 : (long)d + 1;
}

static long
min_wait(long a, long b)
{
	if (a < 0)
		return b;
	if (b < 0)
		return a;
	return a < b ? a : b;
}

/* --- who may connect ---------------------------------------------------- */

/* One network: an IPv6 address (IPv4 as ::ffff:a.b.c.d) and its bits. */
struct net_allow_net {
	uint8_t		 a[16];
	unsigned int	 bits;
};

struct net_allow {
	struct net_allow_net	*v;
	size_t			 n, cap;
};

struct net_allow *
net_allow_new(void)
{
	return calloc(1, sizeof(struct net_allow));
}

void
net_allow_free(struct net_allow *a)
{
	if (a == NULL)
		return;
	free(a->v);
	free(a);
}

size_t
net_allow_count(const struct net_allow *a)
{
	return a == NULL ? 0 : a->n;
}

static int
allow_push(struct net_allow *a, const uint8_t addr[16], unsigned int bits)
{
	struct net_allow_net *e;

	if (a->n == a->cap) {
		size_t cap = a->cap == 0 ? 8 : a->cap * 2;
		void *v = mem_reallocarray(a->v, cap, sizeof(*a->v));

		if (v == NULL)
			return PGPS_ENOMEM;
		a->v = v;
		a->cap = cap;
	}
	e = &a->v[a->n++];
	memcpy(e->a, addr, 16);
	e->bits = bits;
	/* Host bits off, so that matching compares the network only. */
	for (unsigned int i = bits; i < 128; i++)
		e->a[i / 8] &= (uint8_t)~(0x80u >> (i % 8));
	return 0;
}

/* A numeric address as 16 octets (IPv4 mapped); false if not numeric. */
static bool
addr_parse(const char *s, uint8_t out[16], bool *v4)
{
	struct in_addr a4;

	*v4 = false;
	if (inet_pton(AF_INET6, s, out) == 1)
		return true;
	if (inet_pton(AF_INET, s, &a4) != 1)
		return false;
	memset(out, 0, 10);
	out[10] = out[11] = 0xff;
	memcpy(out + 12, &a4, 4);
	*v4 = true;
	return true;
}

int
net_allow_add(struct net_allow *a, const char *entry, struct pgps_err *err)
{
	struct addrinfo hints, *res = NULL, *ai;
	char host[256];
	const char *slash = strchr(entry, '/');
	uint8_t addr[16];
	unsigned long bits;
	size_t hl = slash != NULL ? (size_t)(slash - entry) : strlen(entry);
	bool v4;
	int r;

	if (hl == 0 || hl >= sizeof(host))
		return pgps_err_set(err, PGPS_EFORMAT, "'%s' is not an "
		    "address, a network or a host name", entry);
	memcpy(host, entry, hl);
	host[hl] = '\0';
	if (addr_parse(host, addr, &v4)) {
		bits = v4 ? 32 : 128;
		if (slash != NULL) {
			char *end;

			errno = 0;
			bits = strtoul(slash + 1, &end, 10);
			if (errno != 0 || end == slash + 1 || *end != '\0' ||
			    !isdigit((unsigned char)slash[1]) ||
			    bits > (v4 ? 32u : 128u))
				return pgps_err_set(err, PGPS_EFORMAT,
				    "'%s': the prefix length must be 0 to %u",
				    entry, v4 ? 32 : 128);
		}
		if (allow_push(a, addr, (unsigned int)bits +
		    (v4 ? 96 : 0)) != 0)
			return pgps_err_set(err, PGPS_ENOMEM, "out of memory");
		return 0;
	}
	if (slash != NULL)
		return pgps_err_set(err, PGPS_EFORMAT, "'%s': a network needs "
		    "a numeric address", entry);
	/* A host name: every address it has now, as SKS does. */
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((r = getaddrinfo(host, NULL, &hints, &res)) != 0)
		return pgps_err_set(err, PGPS_ENET, "'%s': %s", host,
		    gai_strerror(r));
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		char ip[64];

		addr_str(ai->ai_addr, ip, sizeof(ip));
		if (addr_parse(ip, addr, &v4) &&
		    allow_push(a, addr, 128) != 0) {
			freeaddrinfo(res);
			return pgps_err_set(err, PGPS_ENOMEM, "out of memory");
		}
	}
	freeaddrinfo(res);
	return 0;
}

int
net_allow_load(struct net_allow *a, const char *path, struct pgps_err *err)
{
	FILE *f = fopen(path, "r");
	char line[1024];
	unsigned long lineno = 0;
	int r = 0;

	if (f == NULL)
		return pgps_err_set(err, PGPS_EIO, "cannot read '%s': %s",
		    path, strerror(errno));
	while (fgets(line, sizeof(line), f) != NULL) {
		char *p = line, *end;

		lineno++;
		if (strchr(line, '\n') == NULL && !feof(f)) {
			r = pgps_err_set(err, PGPS_EFORMAT, "'%s' line %lu: "
			    "too long", path, lineno);
			break;
		}
		line[strcspn(line, "#")] = '\0';
		p += strspn(p, " \t\r\n");
		end = p + strcspn(p, " \t\r\n");
		if (end == p)
			continue;
		*end = '\0';
		if ((r = net_allow_add(a, p, err)) != 0) {
			r = pgps_err_prefix(err, r, "'%s' line %lu", path,
			    lineno);
			break;
		}
	}
	if (r == 0 && ferror(f))
		r = pgps_err_set(err, PGPS_EIO, "cannot read '%s': %s", path,
		    strerror(errno));
	fclose(f);
	return r;
}

bool
net_allow_has(const struct net_allow *a, const char *ip)
{
	uint8_t addr[16];
	bool v4;

	if (a == NULL || !addr_parse(ip, addr, &v4))
		return false;
	for (size_t i = 0; i < a->n; i++) {
		const struct net_allow_net *e = &a->v[i];
		unsigned int full = e->bits / 8, rest = e->bits % 8;

		if (memcmp(addr, e->a, full) != 0)
			continue;
		if (rest != 0 && ((addr[full] ^ e->a[full]) &
		    (uint8_t)(0xff00u >> rest)) != 0)
			continue;
		return true;
	}
	return false;
}

int
net_recon_accept_from(int lfd, const struct net_allow *allow,
    net_refused_fn refused, void *arg, int *fd, char *ip, size_t iplen,
    long timeout_ms, struct pgps_err *err)
{
	double deadline = clock_s() + timeout_ms / 1000.0;
	bool timed_out;
	int r;

	for (;;) {
		long w = timeout_ms < 0 ? -1 : left_ms(deadline, clock_s());

		if ((r = accept_one(lfd, fd, ip, iplen, w, &timed_out,
		    err)) != 0)
			return r;
		if (timed_out)
			return pgps_err_set(err, PGPS_ENET, "no allowed peer "
			    "connected within %.1f s", timeout_ms / 1000.0);
		if (net_allow_has(allow, ip))
			return 0;
		/* Nothing read, nothing written. */
		close(*fd);
		*fd = -1;
		if (refused != NULL)
			refused(ip, arg);
	}
}

/*
 * The peer's octets as they arrived, handed to the session one unit (a
 * be32 length and that many octets: the Config frame, the verdict, then
 * frames) at a time, so that reading can stop between two units.
 */
struct carry {
	uint8_t		 in[65536];
	size_t		 off, len;
	uint8_t		 hdr[4];
	size_t		 hdrhave;
	size_t		 left;		/* of the unit's body */
};

/* The octets of c->in from c->off that belong to the current unit. */
static size_t
unit_span(struct carry *c)
{
	size_t i = c->off;

	while (i < c->len) {
		size_t k;

		if (c->hdrhave < 4) {
			c->hdr[c->hdrhave++] = c->in[i++];
			if (c->hdrhave == 4 &&
			    (c->left = load_be32(c->hdr)) == 0)
				break;
			continue;
		}
		k = c->len - i < c->left ? c->len - i : c->left;
		i += k;
		if ((c->left -= k) == 0)
			break;
	}
	if (c->hdrhave == 4 && c->left == 0)
		c->hdrhave = 0;
	return i - c->off;
}

/*
 * Feeds what is carried to the session while less than max_pending octets
 * of its output wait to be sent: a peer that asks and never reads makes us
 * stop reading instead of buffering the answers.
 */
static int
feed(struct recon_session *s, struct carry *c, size_t max_pending,
    struct pgps_err *err)
{
	const uint8_t *p;
	size_t n, k;
	int r;

	while (c->off < c->len) {
		recon_session_output(s, &p, &n);
		if (n > max_pending)
			return 0;
		k = unit_span(c);
		if ((r = recon_session_input(s, c->in + c->off, k, err)) != 0)
			return r;
		c->off += k;
	}
	c->off = c->len = 0;
	return 0;
}

/* Why the session ran out of time. */
static int
time_error(const struct net_recon_io *io, enum recon_state st, double now,
    double start, double hs_deadline, double deadline, struct pgps_err *err)
{
	if (st == RECON_STATE_HANDSHAKE && now >= hs_deadline)
		return pgps_err_set(err, PGPS_ENET, "no handshake within "
		    "%.1f s", hs_deadline - start);
	if (deadline > 0 && now >= deadline)
		return pgps_err_set(err, PGPS_ENET, "reconciliation not "
		    "finished within %.1f s", io->timeout_ms / 1000.0);
	return pgps_err_set(err, PGPS_ENET, "the peer was silent for %.1f s",
	    io->idle_ms / 1000.0);
}

/*
 * The connection ended (closed or reset) before the session did.  Only a
 * peer that said nothing at all is "busy" (PGPS_ETRUNC): SKS closes at
 * once when it is still fetching or does not know us.  A peer that spoke
 * and then stopped broke the protocol.
 */
static int
lost_error(bool heard, enum recon_state st, const char *what, int e,
    struct pgps_err *err)
{
	if (!heard && st == RECON_STATE_HANDSHAKE)
		return pgps_err_set(err, PGPS_ETRUNC, "the peer closed the "
		    "connection before the handshake%s%s", e != 0 ? ": " : "",
		    e != 0 ? strerror(e) : "");
	if (e == 0)
		return pgps_err_set(err, PGPS_EPROTO, "the peer closed the "
		    "connection %s", st == RECON_STATE_HANDSHAKE ?
		    "in the middle of the handshake" : "before the end of "
		    "the reconciliation");
	return pgps_err_set(err, PGPS_ENET, "%s: %s", what, strerror(e));
}

int
net_recon_run(struct recon_session *s, const struct net_recon_io *io,
    struct pgps_err *err)
{
	struct carry *c;
	const uint8_t *p;
	size_t n, max_pending = io->max_pending > 0 ? io->max_pending :
	    NET_RECON_MAX_PENDING;
	ssize_t got;
	double start = clock_s(), last = start, now, hs_deadline, deadline;
	long wait;
	int r = 0;
	bool eof = false, heard = false, over;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return pgps_err_set(err, PGPS_ENOMEM, "out of memory");
	hs_deadline = start + (double)(io->handshake_ms > 0 ?
	    io->handshake_ms : NET_RECON_HANDSHAKE_MS) / 1000.0;
	deadline = io->timeout_ms > 0 ? start + io->timeout_ms / 1000.0 : 0;
	for (;;) {
		struct pollfd pfd = { io->fd, 0, 0 };
		enum recon_state st;

		if ((r = feed(s, c, max_pending, err)) != 0) {
			/* Still send a last verdict/Error. */
			recon_session_output(s, &p, &n);
			if (n > 0)
				(void)send(io->fd, p, n, MSG_NOSIGNAL |
				    MSG_DONTWAIT);
			break;
		}
		st = recon_session_state(s);
		recon_session_output(s, &p, &n);
		over = st == RECON_STATE_DONE || st == RECON_STATE_FAILED ||
		    eof;
		if (over && n == 0)
			break;
		/* Read only when nothing read waits and the output is small. */
		pfd.events = over || c->off < c->len ? 0 : POLLIN;
		if (n > 0)
			pfd.events |= POLLOUT;
		now = clock_s();
		wait = left_ms(deadline, now);
		if (st == RECON_STATE_HANDSHAKE)
			wait = min_wait(wait, left_ms(hs_deadline, now));
		if (io->idle_ms > 0)
			wait = min_wait(wait, left_ms(last +
			    io->idle_ms / 1000.0, now));
		if (wait == 0) {
			r = time_error(io, st, now, start, hs_deadline,
			    deadline, err);
			break;
		}
		got = poll(&pfd, 1, (int)wait);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			r = pgps_err_set(err, PGPS_ENET, "poll: %s",
			    strerror(errno));
			break;
		}
		if (got == 0)
			continue;
		if ((pfd.revents & (POLLOUT | POLLERR | POLLHUP)) && n > 0) {
			got = send(io->fd, p, n, MSG_NOSIGNAL);
			if (got < 0 && errno != EAGAIN && errno != EINTR) {
				if (st == RECON_STATE_DONE ||
				    st == RECON_STATE_FAILED)
					break;
				r = lost_error(heard, st, "send", errno, err);
				break;
			}
			if (got > 0) {
				if (io->tap_out != NULL)
					io->tap_out(p, (size_t)got,
					    io->tap_arg);
				recon_session_consumed(s, (size_t)got);
				last = clock_s();
			}
		}
		if ((pfd.revents & (POLLIN | POLLERR | POLLHUP)) &&
		    (pfd.events & POLLIN)) {
			got = recv(io->fd, c->in, sizeof(c->in), 0);
			if (got < 0 && errno != EAGAIN && errno != EINTR) {
				r = lost_error(heard, st, "recv", errno, err);
				break;
			}
			if (got == 0) {
				eof = true;
				if (st != RECON_STATE_DONE &&
				    st != RECON_STATE_FAILED) {
					(void)recon_session_eof(s, NULL);
					r = lost_error(heard, st, "recv", 0,
					    err);
					break;
				}
				continue;
			}
			if (got > 0) {
				last = clock_s();
				heard = true;
				if (io->tap_in != NULL)
					io->tap_in(c->in, (size_t)got,
					    io->tap_arg);
				c->off = 0;
				c->len = (size_t)got;
			}
		}
	}
	free(c);
	if (r == 0 && recon_session_state(s) != RECON_STATE_DONE)
		r = pgps_err_set(err, PGPS_EPROTO, "the session did not end");
	/* A frame cut short after the handshake is no "busy" peer either. */
	if (r == PGPS_ETRUNC && heard)
		r = PGPS_EPROTO;
	return r;
}

/* --- hashquery server --------------------------------------------------- */

#define HQ_MAX_REQUEST	(5u << 20)
#define HQ_CONN_MS	30000L
#define HQ_MAX_HEADER	16384
/*
 * Certificates stop being added to an answer once it holds this much (at
 * least one is sent): the peer asks again for the rest.
 */
#define HQ_MAX_ANSWER	((size_t)32 << 20)

struct net_hq_server {
	int			 fd;
	int			 wake[2];
	unsigned int		 port;
	pthread_t		 thread;
	pthread_mutex_t		 mu;
	const struct net_allow	*allow;
	net_hq_lookup_fn	 lookup;
	void			*arg;
	uint64_t		 requests, asked, sent;
	double			 last;
};

/* Writes all of p, waiting at most until deadline; 0 or -1. */
static int
write_all(int fd, const uint8_t *p, size_t n, double deadline)
{
	while (n > 0) {
		struct pollfd pfd = { fd, POLLOUT, 0 };
		long w = left_ms(deadline, clock_s());
		ssize_t got;

		if (w == 0 || poll(&pfd, 1, (int)w) <= 0)
			return -1;
		got = send(fd, p, n, MSG_NOSIGNAL);
		if (got < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			return -1;
		}
		p += got;
		n -= (size_t)got;
	}
	return 0;
}

static int
reply_status(int fd, const char *status, double deadline)
{
	char head[256];
	int n = snprintf(head, sizeof(head), "HTTP/1.0 %s\r\n"
	    "Server: pgpsync\r\nContent-Length: 0\r\n"
	    "Connection: close\r\n\r\n", status);

	return write_all(fd, (const uint8_t *)head, (size_t)n, deadline);
}

/* The end of the header block (after the empty line), or 0. */
static size_t
header_end(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i + 1 < len; i++) {
		if (p[i] != '\n')
			continue;
		if (p[i + 1] == '\n')
			return i + 2;
		if (i + 2 < len && p[i + 1] == '\r' && p[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

/* Case-insensitive search for a header's value; -1 when absent. */
static long
header_length(const char *head)
{
	const char *p = head;

	while ((p = strchr(p, '\n')) != NULL) {
		unsigned long v;
		char *end;

		p++;
		if (strncasecmp(p, "content-length:", 15) != 0)
			continue;
		errno = 0;
		v = strtoul(p + 15, &end, 10);
		if (errno != 0 || end == p + 15 || v > HQ_MAX_REQUEST)
			return -2;
		return (long)v;
	}
	return -1;
}

static int
hash_cmp(const void *a, const void *b)
{
	return memcmp(a, b, 16);
}

/*
 * The answer to the request body s: each hash asked for once however
 * often it is repeated (a 5 MiB request naming one hash 262,000 times
 * gets one certificate), and no more certificates once HQ_MAX_ANSWER is
 * reached.  *count is the number of distinct hashes.  PGPS_EFORMAT for a
 * malformed body.
 */
static int
hq_answer(struct net_hq_server *srv, struct span *s, struct buf *body,
    uint32_t *count, uint32_t *found)
{
	uint8_t *hs;
	uint32_t n, hl, j = 0;
	int r = 0;

	if (span_be32(s, &n) != 0 || n > s->len / 20)
		return PGPS_EFORMAT;
	if ((hs = malloc((size_t)n * 16 + 1)) == NULL)
		return PGPS_ENOMEM;
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *h;

		if (span_be32(s, &hl) != 0 || hl != 16 ||
		    span_bytes(s, 16, &h) != 0) {
			free(hs);
			return PGPS_EFORMAT;
		}
		memcpy(hs + (size_t)i * 16, h, 16);
	}
	if (n > 0)
		qsort(hs, n, 16, hash_cmp);
	for (uint32_t i = 0; i < n; i++)
		if (j == 0 || memcmp(hs + (size_t)(j - 1) * 16,
		    hs + (size_t)i * 16, 16) != 0)
			memmove(hs + (size_t)j++ * 16, hs + (size_t)i * 16, 16);
	*count = j;
	*found = 0;
	if (buf_add_be32(body, 0) != 0)
		r = PGPS_ENOMEM;
	for (uint32_t i = 0; i < j && r == 0; i++) {
		size_t at = body->len;

		if (*found > 0 && body->len >= HQ_MAX_ANSWER)
			break;
		if (buf_add_be32(body, 0) != 0) {
			r = PGPS_ENOMEM;
			break;
		}
		if (srv->lookup(hs + (size_t)i * 16, body, srv->arg) == 1 &&
		    body->len - at - 4 <= UINT32_MAX) {
			store_be32(body->p + at, (uint32_t)(body->len - at - 4));
			(*found)++;
		} else
			buf_setlen(body, at);
	}
	free(hs);
	if (r == 0)
		store_be32(body->p, *found);
	return r;
}

static void
serve_one(struct net_hq_server *srv, int fd)
{
	struct buf req = BUF_INIT, out = BUF_INIT, body = BUF_INIT;
	double deadline = clock_s() + HQ_CONN_MS / 1000.0;
	size_t hlen = 0;
	long clen = -1;
	uint32_t count = 0, found = 0;
	struct span s;
	char head[256];
	int hn, r;

	/* Read the header, then exactly Content-Length octets of body. */
	for (;;) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		long w = left_ms(deadline, clock_s());
		ssize_t got;

		if (hlen > 0 && req.len >= hlen + (size_t)clen)
			break;
		if (w == 0 || poll(&pfd, 1, (int)w) <= 0)
			goto cleanup;
		if (buf_grow(&req, 65536) != 0)
			goto cleanup;
		got = recv(fd, req.p + req.len, 65536, 0);
		if (got < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (got <= 0)
			goto cleanup;
		req.len += (size_t)got;
		req.p[req.len] = '\0';
		if (hlen == 0) {
			if ((hlen = header_end(req.p, req.len)) != 0)
				;
			else if (req.len > HQ_MAX_HEADER) {
				reply_status(fd, "431 Too Large", deadline);
				goto cleanup;
			} else
				continue;
			if (strncmp((char *)req.p, "POST /pks/hashquery ",
			    20) != 0) {
				reply_status(fd, "404 Not Found", deadline);
				goto cleanup;
			}
			req.p[hlen - 1] = '\0';
			clen = header_length((char *)req.p);
			if (clen < 0) {
				reply_status(fd, clen == -1 ?
				    "411 Length Required" :
				    "413 Too Large", deadline);
				goto cleanup;
			}
		}
		if (req.len > hlen + HQ_MAX_REQUEST)
			goto cleanup;
	}
	s = span_make(req.p + hlen, (size_t)clen);
	if ((r = hq_answer(srv, &s, &body, &count, &found)) != 0) {
		if (r != PGPS_ENOMEM)
			reply_status(fd, "400 Bad Request", deadline);
		goto cleanup;
	}
	buf_add(&body, "\r\n", 2);
	hn = snprintf(head, sizeof(head), "HTTP/1.0 200 OK\r\n"
	    "Server: pgpsync\r\nContent-Length: %zu\r\n"
	    "X-HKP-Results-Count: %u\r\nContent-Type: pgp/keys\r\n"
	    "Connection: close\r\n\r\n", body.len, found);
	if (write_all(fd, (const uint8_t *)head, (size_t)hn, deadline) == 0)
		(void)write_all(fd, body.p, body.len, deadline);
	pthread_mutex_lock(&srv->mu);
	srv->requests++;
	srv->asked += count;
	srv->sent += found;
	srv->last = clock_s();
	pthread_mutex_unlock(&srv->mu);
 cleanup:
	buf_release(&req);
	buf_release(&out);
	buf_release(&body);
}

static void *
hq_thread(void *arg)
{
	struct net_hq_server *srv = arg;
	struct sockaddr_storage ss;
	socklen_t sl;
	char ip[64];

	for (;;) {
		struct pollfd pfd[2] = {
			{ srv->fd, POLLIN, 0 }, { srv->wake[0], POLLIN, 0 }
		};
		int c;

		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[1].revents != 0)
			break;
		sl = sizeof(ss);
		if ((c = accept(srv->fd, (struct sockaddr *)&ss, &sl)) < 0)
			continue;
		addr_str((struct sockaddr *)&ss, ip, sizeof(ip));
		/* Only the peer: closed before anything is read. */
		if ((srv->allow == NULL || net_allow_has(srv->allow, ip)) &&
		    set_nonblock(c) == 0)
			serve_one(srv, c);
		close(c);
	}
	return NULL;
}

int
net_hq_server_start(struct net_hq_server **out, const char *host,
    unsigned int port, const struct net_allow *allow, net_hq_lookup_fn lookup,
    void *arg, struct pgps_err *err)
{
	struct net_hq_server *srv;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int r;

	*out = NULL;
	if ((srv = calloc(1, sizeof(*srv))) == NULL)
		return pgps_err_set(err, PGPS_ENOMEM, "out of memory");
	srv->allow = allow;
	srv->lookup = lookup;
	srv->arg = arg;
	srv->wake[0] = srv->wake[1] = -1;
	if ((r = net_recon_listen(&srv->fd, host, port, err)) != 0) {
		free(srv);
		return r;
	}
	if (getsockname(srv->fd, (struct sockaddr *)&ss, &sl) == 0)
		srv->port = ntohs(ss.ss_family == AF_INET6 ?
		    ((struct sockaddr_in6 *)&ss)->sin6_port :
		    ((struct sockaddr_in *)&ss)->sin_port);
	pthread_mutex_init(&srv->mu, NULL);
	if (pipe(srv->wake) != 0 ||
	    pthread_create(&srv->thread, NULL, hq_thread, srv) != 0) {
		r = pgps_err_set(err, PGPS_ENET, "cannot start the "
		    "hashquery server: %s", strerror(errno));
		if (srv->wake[0] >= 0) {
			close(srv->wake[0]);
			close(srv->wake[1]);
		}
		close(srv->fd);
		pthread_mutex_destroy(&srv->mu);
		free(srv);
		return r;
	}
	*out = srv;
	return 0;
}

unsigned int
net_hq_server_port(const struct net_hq_server *srv)
{
	return srv->port;
}

void
net_hq_server_counts(struct net_hq_server *srv, uint64_t *requests,
    uint64_t *asked, uint64_t *sent, double *last_request)
{
	pthread_mutex_lock(&srv->mu);
	*requests = srv->requests;
	*asked = srv->asked;
	*sent = srv->sent;
	*last_request = srv->last;
	pthread_mutex_unlock(&srv->mu);
}

void
net_hq_server_stop(struct net_hq_server *srv)
{
	if (srv == NULL)
		return;
	if (write(srv->wake[1], "x", 1) < 0)
		PGPS_BUG("cannot wake the hashquery server");
	pthread_join(srv->thread, NULL);
	close(srv->wake[0]);
	close(srv->wake[1]);
	close(srv->fd);
	pthread_mutex_destroy(&srv->mu);
	free(srv);
}
