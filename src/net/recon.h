/*
 * net/recon.h: the TCP side of SKS set reconciliation and the small HTTP
 * server that answers a peer's POST /pks/hashquery.
 *
 * The protocol itself (handshake, requests, interpolation) is the session
 * of recon/recon.h; this layer only moves its bytes over a socket with
 * poll(), under time limits, and serves certificates by SKS hash while a
 * peer fetches what it lacks.
 */
#ifndef PGPSYNC_NET_RECON_H
#define PGPSYNC_NET_RECON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "recon/recon.h"
#include "util/buf.h"
#include "util/err.h"

#define NET_RECON_PORT		11370
/* SKS gives a peer 45 s for the config handshake (settings.ml). */
#define NET_RECON_HANDSHAKE_MS	45000L
/*
 * Reading stops while more than this much output waits to be sent (a
 * peer that asks and never reads the answers), and resumes as it drains.
 */
#define NET_RECON_MAX_PENDING	((size_t)8 << 20)

/*
 * Parses a peer given as recon://HOST[:PORT], HOST a name, an address or
 * an IPv6 address in brackets, PORT from 1 to 65535 (NET_RECON_PORT when
 * left out): HOST without brackets into host[0..hostlen), the port into
 * *port.  0, or -1 when url is not of that form or HOST does not fit.
 */
int net_recon_parse_peer(char *host, size_t hostlen, unsigned int *port,
    const char *url);

/*
 * The HKP server of a peer at host (as net_recon_parse_peer() leaves it)
 * and HTTP port: "hkp://HOST:PORT", an IPv6 address in brackets.
 */
void net_recon_http_url(char *url, size_t len, const char *host,
    unsigned int port);

/*
 * Connects to host:port (a name or a numeric address) within timeout_ms.
 * *fd is a non-blocking socket.  PGPS_ENET with the reason in err.
 */
int net_recon_connect(int *fd, const char *host, unsigned int port,
    long timeout_ms, struct pgps_err *err);

/* Listens on host:port (host NULL: every address); *fd non-blocking. */
int net_recon_listen(int *fd, const char *host, unsigned int port,
    struct pgps_err *err);

/*
 * Waits up to timeout_ms (negative: for ever) for a connection on lfd.
 * *fd is non-blocking; ip (at least 64 bytes) gets the peer's numeric
 * address.  PGPS_ENET on time-out or failure.
 */
int net_recon_accept(int lfd, int *fd, char *ip, size_t iplen,
    long timeout_ms, struct pgps_err *err);

/*
 * The addresses a listener accepts peers from: IPv4 and IPv6 addresses,
 * networks (ADDR/BITS) and host names, taken as the addresses they
 * resolve to when added (as SKS reads its membership file).  An IPv4 peer
 * on an IPv6 socket (::ffff:a.b.c.d) counts as its IPv4 address.
 */
struct net_allow;

/* An empty list (nobody), or NULL when out of memory. */
struct net_allow *net_allow_new(void);
void net_allow_free(struct net_allow *a);
/*
 * Adds ADDR, ADDR/BITS or a host name: PGPS_EFORMAT for a malformed entry,
 * PGPS_ENET for a name that does not resolve, with the entry in err.
 */
int net_allow_add(struct net_allow *a, const char *entry,
    struct pgps_err *err);
/*
 * Adds the first word of every line of the file at path ('#' starts a
 * comment), so the "host port" lines of an SKS membership file serve as
 * they are.  Errors name the file and line.
 */
int net_allow_load(struct net_allow *a, const char *path,
    struct pgps_err *err);
size_t net_allow_count(const struct net_allow *a);
/* Whether the numeric address ip is in a (a NULL: none is). */
bool net_allow_has(const struct net_allow *a, const char *ip);

/* Told the address of each connection that was refused. */
typedef void (*net_refused_fn)(const char *ip, void *arg);

/*
 * As net_recon_accept(), but every connection from an address that allow
 * does not hold is closed at once, before anything is read or written,
 * and handed to refused (may be NULL); then it waits on for an allowed
 * peer until timeout_ms (negative: for ever) have passed in all.
 */
int net_recon_accept_from(int lfd, const struct net_allow *allow,
    net_refused_fn refused, void *arg, int *fd, char *ip, size_t iplen,
    long timeout_ms, struct pgps_err *err);

/* The local numeric address of a connected socket (ip: 64 bytes). */
int net_sock_local_ip(int fd, char *ip, size_t iplen);

/* Observes the session's bytes as they are written or read. */
typedef void (*net_recon_tap_fn)(const uint8_t *p, size_t len, void *arg);

struct net_recon_io {
	int		 fd;
	long		 handshake_ms;	/* 0: 45 s */
	long		 timeout_ms;	/* whole session; 0: none */
	long		 idle_ms;	/* silence both ways; 0: none */
	size_t		 max_pending;	/* 0: NET_RECON_MAX_PENDING */
	net_recon_tap_fn tap_in;	/* may be NULL */
	net_recon_tap_fn tap_out;	/* may be NULL */
	void		*tap_arg;
};

/*
 * Runs session s over io->fd until the session is done or failed, reading
 * and writing at the same time, so that neither side can block the other
 * on full socket buffers.  The session gets the peer's octets one unit at
 * a time, and none while more than io->max_pending octets of its output
 * wait to be sent, so its output is bounded by that plus one answer.
 * Pending output (a last verdict or Error) is written before returning.
 * Returns 0 when the session ended with Done, else the session's error,
 * PGPS_ENET (time-out, connection lost), PGPS_EPROTO (the peer broke the
 * protocol, or closed after it had started to speak) or PGPS_ETRUNC (the
 * peer closed or reset the connection before it sent anything: busy or
 * not a member, as SKS does).  The socket is left open.
 */
int net_recon_run(struct recon_session *s, const struct net_recon_io *io,
    struct pgps_err *err);

/*
 * The hashquery server.  lookup appends to out, for the SKS hash h, the
 * binary certificate (no length) and returns 1, or returns 0 when it has
 * none, or a negative code.  It runs on the server's thread.
 */
typedef int (*net_hq_lookup_fn)(const uint8_t h[16], struct buf *out,
    void *arg);

struct net_hq_server;

/*
 * Starts serving POST /pks/hashquery on host:port (port 0: any free port)
 * on a thread of its own, one connection at a time, each bounded in size
 * (5 MiB request, as SKS) and time (30 s).  Each hash is looked up once
 * however often a request repeats it, and an answer takes no more
 * certificates once it holds 32 MiB.  Other requests get 404.  Only
 * connections from addresses in allow are served (NULL: any; the caller
 * keeps it until the server stops); others are closed unread.
 */
int net_hq_server_start(struct net_hq_server **out, const char *host,
    unsigned int port, const struct net_allow *allow, net_hq_lookup_fn lookup,
    void *arg, struct pgps_err *err);
/* The numeric address of a connected socket's peer (ip: 64 bytes). */
int net_sock_peer_ip(int fd, char *ip, size_t iplen);
unsigned int net_hq_server_port(const struct net_hq_server *srv);
/* Requests answered, hashes asked for, certificates sent. */
void net_hq_server_counts(struct net_hq_server *srv, uint64_t *requests,
    uint64_t *asked, uint64_t *sent, double *last_request);
/* Stops the thread, closes the socket and frees srv. */
void net_hq_server_stop(struct net_hq_server *srv);

#endif
