/*
 * hkpd.c: a canned stub HTTP server for the error paths of pgpsync's
 * network code (time-outs, 4xx/5xx answers, huge bodies), in the spirit of
 * curl's tests/server/sws.c.  Real keyserver behaviour is tested against a
 * real SKS (tests/sks); this only plays back what it is told to.
 *
 *   hkpd [-d DIR] [-r ROUTE]... [-t SECONDS] PORTFILE
 *
 * It listens on 127.0.0.1 on a port the kernel picks and writes that port
 * to PORTFILE (atomically, via rename).  Each request is answered by the
 * first matching route: those given with -r, then the lines of DIR/routes
 * (DIR defaults to tests/data/hkp).  A route is
 *
 *   METHOD TARGET-PREFIX ACTION...
 *
 * METHOD is GET, POST or '*'; the request target (path and query) must
 * start with TARGET-PREFIX.  Actions:
 *
 *   file NAME        reply with DIR/NAME: a status line, headers, a blank
 *                    line and the body (Content-Length is recomputed)
 *   status CODE      reply with this status (overrides the file's)
 *   retry-after S    add "Retry-After: S"
 *   delay S          wait S seconds (fractions allowed) before answering
 *   dribble S        send the body one byte every S seconds (a slowloris)
 *   times N          the route matches only its first N requests
 *   hang             never answer; hold the connection until the client
 *                    goes away
 *   huge N           200 with an N-byte body, no Content-Length, closed
 *   huge-cl N        the same with Content-Length announced
 *   close            close the connection after the reply
 *
 * Unmatched requests get 404.  When $HKPD_LOG names a file, every request
 * is logged to it as one line:
 *
 *   req conn=C inflight=I conns=N METHOD TARGET ua=AGENT ct=TYPE len=L
 *       body=HEX
 *
 * (on one line; I: requests being answered, this one included; N: open
 * connections; User-Agent and Content-Type with blanks as '_', "-" when
 * absent; the body in hex when at most 64 KiB, else "-"), and every reply
 * as
 *
 *   sent conn=C status=S bytes=B of=T [aborted]
 *
 * It exits after -t seconds (default 30) whatever happens, so it can never
 * outlive a test run.
 */
#include "util/common.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <strings.h>
#include <unistd.h>

#define MAX_ROUTES	128
#define MAX_HEAD	65536
#define MAX_BODY	((size_t)16 << 20)
#define LOG_BODY_MAX	65536
#define IDLE_MS		10000

struct route {
	char		 method[8];
	char		*prefix;
	char		*file;
	int		 status;
	int		 retry_after;
	double		 delay;
	double		 dribble;
	long		 times;		/* -1: unlimited */
	long		 hits;
	bool		 hang;
	bool		 close;
	long long	 huge;		/* -1: none */
	bool		 huge_cl;
};

struct reply {
	int		 status;
	char		*headers;	/* header lines, each ending in CRLF */
	size_t		 hlen;
	uint8_t		*body;
	size_t		 blen;
};

static struct route routes[MAX_ROUTES];
static size_t nroutes;
static const char *datadir = "tests/data/hkp";
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static FILE *logfp;
static long next_conn, inflight, conns;

PGPS_NORETURN static void die(const char *fmt, ...) PGPS_PRINTF(1, 2);
static void logline(const char *fmt, ...) PGPS_PRINTF(1, 2);

static void
die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "hkpd: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(2);
}

static char *
xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = malloc(n);

	if (d == NULL)
		die("out of memory");
	memcpy(d, s, n);
	return d;
}

static void
logline(const char *fmt, ...)
{
	va_list ap;

	if (logfp == NULL)
		return;
	va_start(ap, fmt);
	vfprintf(logfp, fmt, ap);
	va_end(ap);
	fputc('\n', logfp);
	fflush(logfp);
}

static long
num(const char *s, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 0)
		die("bad %s '%s'", what, s);
	return v;
}

/* Parses one route line (modified in place); ignores blanks and '#'. */
static void
parse_route(char *line, const char *where)
{
	char *tok[32], *p = line;
	size_t n = 0;
	struct route *rt;

	while (n < PGPS_ARRAY_SIZE(tok)) {
		while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			p++;
		if (*p == '\0' || *p == '#')
			break;
		tok[n++] = p;
		while (*p != '\0' && *p != ' ' && *p != '\t' && *p != '\r' &&
		    *p != '\n')
			p++;
		if (*p != '\0')
			*p++ = '\0';
	}
	if (n == 0)
		return;
	if (n < 3)
		die("%s: route needs METHOD PREFIX ACTION", where);
	if (nroutes == MAX_ROUTES)
		die("too many routes");
	rt = &routes[nroutes++];
	memset(rt, 0, sizeof(*rt));
	rt->times = -1;
	rt->huge = -1;
	if (strlen(tok[0]) >= sizeof(rt->method))
		die("%s: bad method '%s'", where, tok[0]);
	memcpy(rt->method, tok[0], strlen(tok[0]) + 1);
	rt->prefix = xstrdup(tok[1]);
	for (size_t i = 2; i < n; i++) {
		const char *a = tok[i], *v = i + 1 < n ? tok[i + 1] : NULL;

		if (strcmp(a, "hang") == 0) {
			rt->hang = true;
			continue;
		}
		if (strcmp(a, "close") == 0) {
			rt->close = true;
			continue;
		}
		if (v == NULL)
			die("%s: '%s' needs a value", where, a);
		i++;
		if (strcmp(a, "file") == 0)
			rt->file = xstrdup(v);
		else if (strcmp(a, "status") == 0)
			rt->status = (int)num(v, "status");
		else if (strcmp(a, "retry-after") == 0)
			rt->retry_after = (int)num(v, "retry-after");
		else if (strcmp(a, "times") == 0)
			rt->times = num(v, "times");
		else if (strcmp(a, "delay") == 0 ||
		    strcmp(a, "dribble") == 0) {
			double *d = a[0] == 'd' && a[1] == 'e' ? &rt->delay :
			    &rt->dribble;
			char *end;

			*d = strtod(v, &end);
			if (end == v || *end != '\0' || *d < 0)
				die("%s: bad %s '%s'", where, a, v);
		} else if (strcmp(a, "huge") == 0 ||
		    strcmp(a, "huge-cl") == 0) {
			rt->huge = num(v, "size");
			rt->huge_cl = strcmp(a, "huge-cl") == 0;
		} else
			die("%s: unknown action '%s'", where, a);
	}
}

static void
load_routes(void)
{
	char path[4096], line[4096];
	FILE *f;
	int lineno = 0;

	snprintf(path, sizeof(path), "%s/routes", datadir);
	if ((f = fopen(path, "r")) == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		char where[4200];

		lineno++;
		snprintf(where, sizeof(where), "%s:%d", path, lineno);
		parse_route(line, where);
	}
	fclose(f);
}

static const char *
reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 408: return "Request Timeout";
	case 413: return "Payload Too Large";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return "Status";
	}
}

static void
reply_free(struct reply *rp)
{
	free(rp->headers);
	free(rp->body);
}

/* Headers hkpd writes itself, dropped from canned replies. */
static bool
own_header(const char *h)
{
	return strncasecmp(h, "content-length:", 15) == 0 ||
	    strncasecmp(h, "connection:", 11) == 0 ||
	    strncasecmp(h, "transfer-encoding:", 18) == 0;
}

/* Loads a canned reply file: status line, headers, blank line, body. */
static bool
load_file(struct reply *rp, const char *name)
{
	char path[4096];
	FILE *f;
	uint8_t *d = NULL;
	size_t n = 0, cap = 0, i, lstart, hend = 0, bstart = 0;
	bool found = false;

	snprintf(path, sizeof(path), "%s/%s", datadir, name);
	if ((f = fopen(path, "rb")) == NULL)
		return false;
	for (;;) {
		size_t got;

		if (n == cap) {
			cap = cap == 0 ? 65536 : cap * 2;
			if ((d = realloc(d, cap)) == NULL)
				die("out of memory");
		}
		got = fread(d + n, 1, cap - n, f);
		if (got == 0)
			break;
		n += got;
	}
	fclose(f);
	/* The header block ends at the first empty line (CRLF or LF). */
	for (i = 0, lstart = 0; i < n; i++) {
		if (d[i] != '\n')
			continue;
		if (i == lstart || (i == lstart + 1 && d[lstart] == '\r')) {
			hend = lstart;
			bstart = i + 1;
			found = true;
			break;
		}
		lstart = i + 1;
	}
	if (!found || n < 12 || memcmp(d, "HTTP/", 5) != 0)
		die("%s: not an HTTP reply", path);
	{
		const char *sp = memchr(d, ' ', hend);
		char *hdr = malloc(hend + 1);
		size_t o = 0, ls;

		if (sp == NULL)
			die("%s: bad status line", path);
		rp->status = (int)strtol(sp + 1, NULL, 10);
		if (hdr == NULL)
			die("out of memory");
		/* Keep the headers but the ones hkpd sets itself. */
		ls = (size_t)((const uint8_t *)memchr(d, '\n', hend + 1) -
		    d) + 1;
		while (ls < hend) {
			const uint8_t *nl = memchr(d + ls, '\n', hend - ls);
			size_t le = nl != NULL ? (size_t)(nl - d) : hend, len;

			len = le - ls;
			if (len > 0 && d[ls + len - 1] == '\r')
				len--;
			if (len > 0 && !own_header((char *)d + ls)) {
				hdr = realloc(hdr, o + len + 3);
				if (hdr == NULL)
					die("out of memory");
				memcpy(hdr + o, d + ls, len);
				o += len;
				hdr[o++] = '\r';
				hdr[o++] = '\n';
			}
			ls = le + 1;
		}
		hdr[o] = '\0';
		rp->headers = hdr;
		rp->hlen = o;
	}
	rp->blen = n - bstart;
	if ((rp->body = malloc(rp->blen + 1)) == NULL)
		die("out of memory");
	memcpy(rp->body, d + bstart, rp->blen);
	free(d);
	return true;
}

static bool
send_all(int fd, const void *p, size_t n, size_t *sent)
{
	const uint8_t *b = p;

	while (n > 0) {
		ssize_t w = send(fd, b, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		b += w;
		n -= (size_t)w;
		if (sent != NULL)
			*sent += (size_t)w;
	}
	return true;
}

static void
sleep_s(double s)
{
	struct timespec ts;

	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Waits until the peer closes the connection. */
static void
wait_for_close(int fd)
{
	struct pollfd pfd = { fd, POLLIN, 0 };
	uint8_t junk[4096];

	for (;;) {
		if (poll(&pfd, 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		if (recv(fd, junk, sizeof(junk), 0) <= 0)
			return;
	}
}

static struct route *
match(const char *method, const char *target)
{
	struct route *found = NULL;

	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < nroutes; i++) {
		struct route *rt = &routes[i];

		if (strcmp(rt->method, "*") != 0 &&
		    strcmp(rt->method, method) != 0)
			continue;
		if (strncmp(target, rt->prefix, strlen(rt->prefix)) != 0)
			continue;
		if (rt->times >= 0 && rt->hits >= rt->times)
			continue;
		rt->hits++;
		found = rt;
		break;
	}
	pthread_mutex_unlock(&lock);
	return found;
}

/* Finds a header's value in the request head (case-insensitive name). */
static bool
header(const char *head, const char *name, char *out, size_t outlen)
{
	size_t nl = strlen(name);
	const char *p = strchr(head, '\n');

	while (p != NULL) {
		p++;
		if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
			const char *v = p + nl + 1, *e;
			size_t n;

			while (*v == ' ' || *v == '\t')
				v++;
			e = v;
			while (*e != '\0' && *e != '\r' && *e != '\n')
				e++;
			n = (size_t)(e - v);
			if (n >= outlen)
				n = outlen - 1;
			memcpy(out, v, n);
			out[n] = '\0';
			return true;
		}
		p = strchr(p, '\n');
	}
	return false;
}

/* Answers one request; returns whether the connection may be kept. */
static bool
answer(int fd, long id, const char *method, const char *target,
    bool keep)
{
	struct route *rt = match(method, target);
	struct reply rp = { 404, NULL, 0, NULL, 0 };
	char head[1024];
	size_t sent = 0, total;
	bool ok = true;
	int n;

	if (rt != NULL && rt->delay > 0)
		sleep_s(rt->delay);
	if (rt != NULL && rt->hang) {
		wait_for_close(fd);
		logline("sent conn=%ld status=0 bytes=0 of=0 aborted", id);
		return false;
	}
	if (rt != NULL && rt->huge >= 0) {
		static uint8_t chunk[65536];
		long long left = rt->huge;

		memset(chunk, 'A', sizeof(chunk));
		for (size_t i = 63; i < sizeof(chunk); i += 64)
			chunk[i] = '\n';
		if (rt->huge_cl)
			n = snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\n"
			    "Content-Type: application/pgp-keys\r\n"
			    "Content-Length: %lld\r\nConnection: close\r\n\r\n",
			    rt->huge);
		else
			n = snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\n"
			    "Content-Type: application/pgp-keys\r\n"
			    "Connection: close\r\n\r\n");
		ok = send_all(fd, head, (size_t)n, NULL);
		while (ok && left > 0) {
			size_t c = left > (long long)sizeof(chunk) ?
			    sizeof(chunk) : (size_t)left;

			ok = send_all(fd, chunk, c, &sent);
			left -= (long long)c;
		}
		logline("sent conn=%ld status=200 bytes=%zu of=%lld%s", id,
		    sent, rt->huge, ok ? "" : " aborted");
		return false;
	}
	if (rt != NULL && rt->file != NULL && !load_file(&rp, rt->file)) {
		rp.status = 500;
		rt = NULL;
	}
	if (rt != NULL && rt->status != 0)
		rp.status = rt->status;
	if (rp.body == NULL) {
		char text[64];

		n = snprintf(text, sizeof(text), "hkpd: %d %s\n", rp.status,
		    reason(rp.status));
		rp.body = (uint8_t *)xstrdup(text);
		rp.blen = (size_t)n;
		rp.headers = xstrdup("Content-Type: text/plain\r\n");
		rp.hlen = strlen(rp.headers);
	}
	if (rt != NULL && rt->close)
		keep = false;
	n = snprintf(head, sizeof(head), "HTTP/1.1 %d %s\r\n"
	    "Content-Length: %zu\r\nConnection: %s\r\n",
	    rp.status, reason(rp.status), rp.blen,
	    keep ? "keep-alive" : "close");
	if (rt != NULL && rt->retry_after > 0)
		n += snprintf(head + n, sizeof(head) - (size_t)n,
		    "Retry-After: %d\r\n", rt->retry_after);
	total = rp.blen;
	ok = send_all(fd, head, (size_t)n, NULL) &&
	    send_all(fd, rp.headers, rp.hlen, NULL) &&
	    send_all(fd, "\r\n", 2, NULL);
	if (rt != NULL && rt->dribble > 0)
		for (size_t i = 0; ok && i < rp.blen; i++) {
			sleep_s(rt->dribble);
			ok = send_all(fd, rp.body + i, 1, &sent);
		}
	else if (ok)
		ok = send_all(fd, rp.body, rp.blen, &sent);
	logline("sent conn=%ld status=%d bytes=%zu of=%zu%s", id, rp.status,
	    sent, total, ok ? "" : " aborted");
	reply_free(&rp);
	return ok && keep;
}

/* Reads one request head and body; false on close, time-out or junk. */
static bool
read_request(int fd, char *buf, size_t *used, char *head, uint8_t **body,
    size_t *blen)
{
	struct pollfd pfd = { fd, POLLIN, 0 };
	char *e;
	char cl[32];
	size_t need;
	long long v;

	for (;;) {
		buf[*used] = '\0';
		if ((e = strstr(buf, "\r\n\r\n")) != NULL) {
			e += 4;
			break;
		}
		if (*used >= MAX_HEAD)
			return false;
		if (poll(&pfd, 1, IDLE_MS) <= 0)
			return false;
		{
			ssize_t r = recv(fd, buf + *used, MAX_HEAD - *used, 0);

			if (r <= 0)
				return false;
			*used += (size_t)r;
		}
	}
	/* The head is copied out: buf is reused for what follows it. */
	memcpy(head, buf, (size_t)(e - buf) - 2);
	head[e - buf - 2] = '\0';
	v = 0;
	if (header(head, "Content-Length", cl, sizeof(cl)))
		v = strtoll(cl, NULL, 10);
	if (v < 0 || (unsigned long long)v > MAX_BODY)
		return false;
	need = (size_t)v;
	if ((*body = malloc(need + 1)) == NULL)
		die("out of memory");
	*blen = 0;
	{
		size_t have = *used - (size_t)(e - buf);

		if (have > need)
			have = need;
		memcpy(*body, e, have);
		*blen = have;
		/* Keep what follows (a pipelined request) for the next turn. */
		memmove(buf, e + have, *used - (size_t)(e - buf) - have);
		*used -= (size_t)(e - buf) + have;
	}
	while (*blen < need) {
		ssize_t r;

		if (poll(&pfd, 1, IDLE_MS) <= 0)
			return false;
		if ((r = recv(fd, *body + *blen, need - *blen, 0)) <= 0)
			return false;
		*blen += (size_t)r;
	}
	return true;
}

/* Keeps a logged header value one word long. */
static void
blank_to_underscore(char *s)
{
	for (; *s != '\0'; s++)
		if (*s == ' ' || *s == '\t')
			*s = '_';
}

struct conn {
	int	 fd;
	long	 id;
};

static void *
serve(void *arg)
{
	struct conn *cn = arg;
	char *buf = malloc(MAX_HEAD + 1), *head = malloc(MAX_HEAD + 1);
	uint8_t *body = NULL;
	size_t used = 0, blen;
	bool keep = true;

	if (buf == NULL || head == NULL)
		die("out of memory");
	while (keep) {
		char method[16], target[8192], version[16], ua[256], ct[256];
		char cbuf[64];
		char *hex = NULL;
		const char *path;
		long fl;

		body = NULL;
		if (!read_request(cn->fd, buf, &used, head, &body, &blen))
			break;
		if (sscanf(head, "%15s %8191s %15s", method, target,
		    version) != 3) {
			free(body);
			break;
		}
		if (!header(head, "User-Agent", ua, sizeof(ua)))
			snprintf(ua, sizeof(ua), "-");
		if (!header(head, "Content-Type", ct, sizeof(ct)))
			snprintf(ct, sizeof(ct), "-");
		blank_to_underscore(ua);
		blank_to_underscore(ct);
		keep = strcmp(version, "HTTP/1.1") == 0 &&
		    !(header(head, "Connection", cbuf, sizeof(cbuf)) &&
		    strcasecmp(cbuf, "close") == 0);
		/* An absolute-form target comes through a proxy: route on
		 * its path, log it whole. */
		path = target;
		if (strncmp(target, "http://", 7) == 0) {
			path = strchr(target + 7, '/');
			if (path == NULL)
				path = "/";
		}
		if (blen <= LOG_BODY_MAX) {
			static const char hd[] = "0123456789abcdef";

			if ((hex = malloc(2 * blen + 2)) == NULL)
				die("out of memory");
			for (size_t i = 0; i < blen; i++) {
				hex[2 * i] = hd[body[i] >> 4];
				hex[2 * i + 1] = hd[body[i] & 15];
			}
			hex[2 * blen] = '\0';
			if (blen == 0)
				memcpy(hex, "-", 2);
		}
		pthread_mutex_lock(&lock);
		fl = ++inflight;
		logline("req conn=%ld inflight=%ld conns=%ld %s %s ua=%s ct=%s "
		    "len=%zu body=%s", cn->id, fl, conns, method, target, ua,
		    ct, blen, hex != NULL ? hex : "-");
		pthread_mutex_unlock(&lock);
		free(hex);
		keep = answer(cn->fd, cn->id, method, path, keep);
		pthread_mutex_lock(&lock);
		inflight--;
		pthread_mutex_unlock(&lock);
		free(body);
		body = NULL;
	}
	free(buf);
	free(head);
	close(cn->fd);
	pthread_mutex_lock(&lock);
	conns--;
	pthread_mutex_unlock(&lock);
	free(cn);
	return NULL;
}

static void
usage(void)
{
	fprintf(stderr, "usage: hkpd [-d dir] [-r route]... [-t seconds] "
	    "portfile\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct sockaddr_in sa;
	socklen_t slen = sizeof(sa);
	char tmp[4096];
	const char *logpath;
	long timeout = 30;
	FILE *pf;
	int ls, one = 1, ch;
	char *cmdroutes[MAX_ROUTES];
	size_t ncmd = 0;

	while ((ch = getopt(argc, argv, "d:r:t:")) != -1) {
		switch (ch) {
		case 'd':
			datadir = optarg;
			break;
		case 'r':
			if (ncmd == MAX_ROUTES)
				die("too many routes");
			cmdroutes[ncmd++] = xstrdup(optarg);
			break;
		case 't':
			timeout = num(optarg, "timeout");
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 1)
		usage();
	for (size_t i = 0; i < ncmd; i++)
		parse_route(cmdroutes[i], "-r");
	load_routes();
	signal(SIGPIPE, SIG_IGN);
	/* Whatever happens, do not outlive the test that started us. */
	alarm((unsigned int)(timeout > 0 ? timeout : 30));
	if ((logpath = getenv("HKPD_LOG")) != NULL && logpath[0] != '\0' &&
	    (logfp = fopen(logpath, "a")) == NULL)
		die("cannot open '%s'", logpath);
	if ((ls = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		die("socket: %s", strerror(errno));
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = 0;
	if (bind(ls, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(ls, 64) != 0 ||
	    getsockname(ls, (struct sockaddr *)&sa, &slen) != 0)
		die("bind/listen: %s", strerror(errno));
	snprintf(tmp, sizeof(tmp), "%s.tmp", argv[optind]);
	if ((pf = fopen(tmp, "w")) == NULL)
		die("cannot write '%s'", tmp);
	fprintf(pf, "%u\n", (unsigned int)ntohs(sa.sin_port));
	if (fclose(pf) != 0 || rename(tmp, argv[optind]) != 0)
		die("cannot write '%s'", argv[optind]);
	for (;;) {
		struct conn *cn;
		pthread_t t;
		int fd = accept(ls, NULL, NULL);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			die("accept: %s", strerror(errno));
		}
		if ((cn = malloc(sizeof(*cn))) == NULL)
			die("out of memory");
		cn->fd = fd;
		pthread_mutex_lock(&lock);
		cn->id = ++next_conn;
		conns++;
		pthread_mutex_unlock(&lock);
		if (pthread_create(&t, NULL, serve, cn) != 0)
			die("pthread_create failed");
		pthread_detach(t);
	}
}
