/*
 * keyset/recon.h: one reconciliation of a key set's prefix tree with an
 * SKS peer.  It makes the connection (connecting makes us the responder;
 * listening accepts an allowed peer and makes us the driver), retries a
 * peer that is busy, runs the session over it (recon/recon.h, through
 * net/recon.h) and tells what each side lacks; then it fetches what we
 * lack, checked certificate by certificate, and gives the peer its part
 * (uploading it, or serving the peer's own fetches).  Writing what came
 * into the set is the caller's.
 */
#ifndef PGPSYNC_KEYSET_RECON_H
#define PGPSYNC_KEYSET_RECON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/net.h"
#include "net/recon.h"
#include "openpgp/openpgp.h"
#include "recon/recon.h"
#include "util/err.h"

/* Requests per round trip when we drive (SKS's own driver: 100). */
#define KEYSET_RECON_BATCH	1000
/* A peer silent for this long is dropped (also bounded by the timeout). */
#define KEYSET_RECON_IDLE_MS	120000L

struct keyset_recon_opts {
	const char		*host;		/* to connect to, or listen on */
	unsigned int		 port;
	bool			 listen;	/* accept, and drive */
	const struct net_allow	*allow;		/* listen: who may connect */
	long			 timeout_ms;	/* the session; listen: also the
						 * wait for a connection */
	double			 busy_wait_s;	/* retry a busy peer this long */
	/*
	 * Called once connected, before the session: returns the HTTP port
	 * to announce (0: 11371) or a negative code with err set, which
	 * ends the run.  May be NULL.
	 */
	int	(*connected)(int fd, void *arg, struct pgps_err *err);
	/* Progress notes; detail ones only matter to --verbose. */
	void	(*note)(const char *msg, bool detail, void *arg);
	net_refused_fn refused;			/* listen: who was refused */
	void			*arg;
};

struct keyset_recon {
	struct recon_elem	*want;		/* we lack these, ascending */
	size_t			 nwant;
	/*
	 * What the peer lacks: the elements we sent it in Elements (surely)
	 * and FullElements (some of them), those of our tree only, ascending
	 * and once each; the first kind are counted in npeer_lacks.
	 */
	struct recon_elem	*give;
	size_t			 ngive;
	size_t			 npeer_lacks;
	struct recon_session_stats stats;
	uint64_t		 rounds;	/* Flush messages */
	uint32_t		 peer_http_port; /* 0: none announced */
	char			 peer_ip[64];
	double			 t_start;	/* of the session that counted */
	double			 t_end;
};

/*
 * Reconciles tree with the peer.  Returns 0 with *out filled, or an error
 * whose message in err is ready to print: PGPS_ETRUNC when the peer kept
 * closing before the handshake (busy, or we are not in its membership
 * file), PGPS_ENET, PGPS_EPROTO or the session's code otherwise, or the
 * code of o->connected.  *out is to be released either way.
 */
int keyset_recon_run(struct keyset_recon *out, const struct recon_ptree *tree,
    const struct keyset_recon_opts *o, struct pgps_err *err);
void keyset_recon_release(struct keyset_recon *r);

/* --- fetching what we lack ---------------------------------------------- */

/* Hashes per hashquery (SKS asks for 100 at a time). */
#define KEYSET_RECON_FETCH_BATCH	100
/*
 * A transfer slower than KEYSET_RECON_MIN_RATE octets a second for
 * KEYSET_RECON_SLOW_S seconds is given up (a peer that dribbles).
 */
#define KEYSET_RECON_MIN_RATE	1024L
#define KEYSET_RECON_SLOW_S	30L

/*
 * Whether SKS would store c: pgp_cert_sks_acceptable(), SKS's key
 * grammar; such certificates stay out of a set.
 */
bool keyset_sks_acceptable(const struct pgp_cert *c);

/*
 * The transfer limits of a phase that may last phase_ms: no request
 * longer, none slower than KEYSET_RECON_MIN_RATE for KEYSET_RECON_SLOW_S.
 * (The phase itself ends with net_client_set_deadline().)
 */
void keyset_recon_phase_opts(struct net_opts *no, long phase_ms);

/*
 * Given each certificate fetched: its octets and SKS hash.  Returns 0, or
 * a negative code that stops the fetching (and is returned).
 */
typedef int (*keyset_recon_take_fn)(const uint8_t *p, size_t len,
    const uint8_t hash[16], void *arg);

struct keyset_recon_fetch {
	uint64_t	 fetched;	/* given to take */
	uint64_t	 unasked;	/* not asked for, or twice */
	uint64_t	 bad;		/* unreadable, secret, not for SKS */
	uint64_t	 failed_batches;
	uint64_t	 bytes;		/* of the answers */
	bool		 late;		/* stopped at the deadline */
};

/*
 * Fetches want[0..nwant) (ascending) from the HKP server at url with POST
 * /pks/hashquery, KEYSET_RECON_FETCH_BATCH hashes a request, two at once.
 * Every certificate of an answer goes through import_hashquery() (its SKS
 * hash must be one asked for and not yet answered) and must be one SKS
 * would store; those are handed to take.  Fetching stops after phase_ms
 * and keeps what came (out->late); a batch that fails is counted, and
 * told to warn (may be NULL).  Returns 0, or an error of the client or
 * of take.
 */
int keyset_recon_fetch(struct keyset_recon_fetch *out, const char *url,
    const struct recon_elem *want, size_t nwant, long phase_ms,
    keyset_recon_take_fn take, void (*warn)(const char *msg, void *arg),
    void *arg, struct pgps_err *err);

/* --- giving the peer what it lacks --------------------------------------- */

/* Certificates and octets per /pks/add. */
#define KEYSET_RECON_PUSH_BATCH	100
#define KEYSET_RECON_PUSH_BYTES	((size_t)1 << 20)
/*
 * SKS waits 10 s after a reconciliation it accepted before it fetches; one
 * it started (we listen) fetches at once.  keyset_recon_serve() waits
 * until its requests stop, at most *_FIRST_* for the first one: as the
 * driver we cannot tell whether it lacks anything at all.
 */
#define KEYSET_RECON_SERVE_FIRST_S		25.0
#define KEYSET_RECON_SERVE_FIRST_DRIVER_S	10.0
#define KEYSET_RECON_SERVE_IDLE_S		2.0
#define KEYSET_RECON_SERVE_MAX_S		120.0

struct keyset_recon_give {
	uint64_t	 pushed;	/* uploaded; served: certificates sent */
	uint64_t	 failed;	/* not readable, or refused */
	uint64_t	 batches;	/* /pks/add requests; served: requests */
	uint64_t	 asked;		/* served: distinct hashes asked for */
	bool		 late;		/* stopped at the deadline */
};

/*
 * Uploads give[0..ngive) to the HKP server at url with POST /pks/add,
 * KEYSET_RECON_PUSH_BATCH certificates or KEYSET_RECON_PUSH_BYTES at a
 * time, one request at once.  read (as for the hashquery server) appends
 * the certificate of a hash; one it cannot read counts as failed, as does
 * a batch the server refuses (told to warn, which may be NULL).  The
 * upload stops after phase_ms; what was not sent by then counts as
 * failed (out->late).  Returns 0 or the client's error.
 */
int keyset_recon_push(struct keyset_recon_give *out, const char *url,
    const struct recon_elem *give, size_t ngive, long phase_ms,
    net_hq_lookup_fn read, void (*warn)(const char *msg, void *arg),
    void *arg, struct pgps_err *err);

/*
 * Keeps srv (net_hq_server_start()) answering while the peer of kr
 * fetches what it lacks: until its requests pause, or none came within
 * the first wait, or phase_ms (at most KEYSET_RECON_SERVE_MAX_S) passed
 * since the reconciliation ended.  The server's counts go to *out; the
 * caller stops it.
 */
void keyset_recon_serve(struct keyset_recon_give *out,
    struct net_hq_server *srv, const struct keyset_recon *kr, bool driver,
    long phase_ms);

#endif
