/*
 * peers.h: the keyserver gossip network as a graph -- who lists whom as
 * a reconciliation peer on its statistics page -- and where one
 * certificate has got to on it.
 *
 * The crawl starts from the servers named, asks each for its statistics
 * page (net/stats.h), and follows the peers listed, breadth first, one
 * level at a time with every page of a level in flight at once (the
 * client's bounds per host and in total apply), up to a depth, a number
 * of servers, a total deadline and a rate of requests.  A server that
 * does not answer stays in the graph with the reason.  The survey then
 * asks every server that answered for one certificate by fingerprint and
 * judges each answer by the import rules of keyset/import.h, as fetch
 * does; the versions accepted are merged into their union
 * (pgp_cert_merge_many()) and each is described by what it lacks of it
 * (pgp_cert_diff()).
 */
#ifndef PGPSYNC_KEYSET_PEERS_H
#define PGPSYNC_KEYSET_PEERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/net.h"
#include "net/stats.h"
#include "openpgp/keyid.h"
#include "openpgp/openpgp.h"
#include "util/err.h"

enum peers_state {
	PEERS_PENDING,		/* not asked yet */
	PEERS_OK,		/* its page was read */
	PEERS_UNREACHABLE,	/* asked; no page (why says what) */
	PEERS_NOT_ASKED,	/* beyond --depth, or the deadline came */
	PEERS_REFUSED		/* listed at an address not asked (why) */
};

enum peers_key_result {
	PEERS_KEY_NOT_ASKED,	/* no survey, or the server is unreachable */
	PEERS_KEY_PRESENT,
	PEERS_KEY_ABSENT,	/* 404, or an answer without the key */
	PEERS_KEY_REFUSED,	/* only certificates the import rules refuse */
	PEERS_KEY_FAILED	/* no answer */
};

#define PEERS_NKINDS	(PGP_CHANGE_OTHER + 1)

/* One server's copy of the certificate surveyed. */
struct peers_key {
	enum peers_key_result result;
	uint8_t		 hash[16];	/* SKS hash, when present */
	size_t		 version;	/* 1, 2, ...: distinct hashes in node
					 * order; 0 when not present */
	size_t		 lacks[PEERS_NKINDS];	/* packets of the union it
						 * lacks, per pgp_change_kind */
	size_t		 nlacks;
	char		 why[400];	/* refusal or failure */
};

struct peers_node {
	char		 host[NET_HOST_MAX];
	unsigned int	 hkp_port;	/* where its page is asked */
	unsigned int	 recon_port;	/* 0: not known */
	bool		 tls;
	bool		 seed;
	unsigned int	 depth;		/* links from the nearest seed */
	enum peers_state state;
	char		 why[400];	/* UNREACHABLE, NOT_ASKED */
	struct net_stats st;		/* OK; st.peers is freed once the
					 * links are made (npeers stays) */
	size_t		*out;		/* nodes it lists, by index */
	size_t		 nout, allocout;
	size_t		 nin;		/* nodes listing it */
	size_t		 dropped;	/* peers listed past --max-servers */
	size_t		 self_links;	/* listed itself */
	/*
	 * The largest key count among the nodes it lists or is listed by
	 * (-1: none), and whether its own count is more than 1% below it.
	 */
	long long	 peer_max;
	bool		 behind;
	struct peers_key key;
};

struct peers_graph {
	struct peers_node *nodes;
	size_t		 n, alloc;
	size_t		 dropped;	/* peers not added (max_servers) */
	long long	 largest;	/* the largest key count; -1: none */
	unsigned long	 requests;
	/* survey */
	bool		 surveyed;
	char		 fpr[2 * PGP_FPR_MAX + 1];
	size_t		 versions;	/* distinct versions present */
	size_t		 present;
	bool		 has_union;
	uint8_t		 union_hash[16];
	size_t		 union_pkts;
};

#define PEERS_GRAPH_INIT	{ NULL, 0, 0, 0, -1, 0, false, { 0 }, 0, 0, \
	false, { 0 }, 0 }

struct peers_opts {
	struct net_opts	 net;		/* timeout_ms: per server */
	unsigned int	 depth;		/* levels followed past the seeds */
	size_t		 max_servers;	/* nodes in the graph */
	long		 deadline_ms;	/* whole crawl and survey; 0: none */
	unsigned long	 rate;		/* requests started per second; 0 */
	size_t		 max_page;	/* cap on a stats page */
	bool		 allow_private;	/* ask peers learned from pages at
					 * loopback, private, link-local...
					 * addresses (net_addr_private()) */
	/* Notes for verbose mode (may be NULL). */
	void		(*note)(const char *msg, void *arg);
	void		*arg;
};

/*
 * Parses a server named on the command line: host, host:port, [v6]:port,
 * hkp://host[:port], hkps://host[:port] (the stats page over HTTPS),
 * http:// and https:// likewise; the HKP port 11371 by default.
 * PGPS_EFORMAT with the reason in err.
 */
int peers_seed_parse(struct peers_node *out, const char *s,
    struct pgps_err *err);

/*
 * Crawls from seeds[0..n) into *g (PEERS_GRAPH_INIT or released), then
 * sets largest, and each node's peer_max and behind.
 * Fails only when the transfer engine does, or a seed does not parse
 * (err); every server's outcome is in its node.
 */
int peers_crawl(struct peers_graph *g, const struct peers_opts *o,
    const char *const *seeds, size_t n, struct pgps_err *err);

/*
 * Asks every node in state PEERS_OK for the certificate whose v4 or v6
 * fingerprint is fpr and fills each node's key and g's survey fields.
 * PGPS_EFORMAT for a key ID; else fails as peers_crawl().
 */
int peers_survey(struct peers_graph *g, const struct peers_opts *o,
    const struct pgp_keyid *fpr, struct pgps_err *err);

/* The node's name: "host:port" (IPv6 in brackets); static per call. */
const char *peers_node_name(const struct peers_node *nd, char *buf,
    size_t len);

/* Whether b lists a (for the edge a -> b: mutual). */
bool peers_lists(const struct peers_node *b, size_t a);

/*
 * Whether the edge a -> b is one way: both answered, and b does not
 * list a (SKS and Hockeypuck reconcile only with peers listing them).
 */
bool peers_one_way(const struct peers_graph *g, size_t a, size_t b);

void peers_graph_release(struct peers_graph *g);

#endif
