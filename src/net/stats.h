/*
 * stats.h: what a keyserver's statistics page (/pks/lookup?op=stats) says
 * about it -- software, version, key count, when the numbers were taken,
 * its ports, and its gossip (reconciliation) peers.
 *
 * Three shapes are read: the HTML page of SKS 1.1.x, the HTML page of
 * Hockeypuck, and Hockeypuck's JSON answer to op=stats&options=mr.  The
 * pages are hand-made HTML, so the parser reads them as a flat stream of
 * headings, table rows and text, never as a tree: nesting, unclosed tags
 * and junk around the tables change nothing, and time and memory stay
 * linear in the input.  Nothing the page says is authenticated.
 */
#ifndef PGPSYNC_NET_STATS_H
#define PGPSYNC_NET_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/net.h"
#include "util/err.h"

/* At most this many peers are kept from one page; the rest are counted. */
#define NET_STATS_MAX_PEERS	1000
/* Longest software, version, time or name text kept (longer is cut). */
#define NET_STATS_TEXT_MAX	128

enum net_stats_kind {
	NET_STATS_UNKNOWN,	/* none of the shapes below */
	NET_STATS_SKS_HTML,
	NET_STATS_HOCKEYPUCK_HTML,
	NET_STATS_HOCKEYPUCK_JSON
};

/* One gossip peer as the page lists it. */
struct net_stats_peer {
	/* Lower case; an IPv6 literal in brackets. */
	char		 host[NET_HOST_MAX];
	unsigned int	 recon_port;	/* 0: not given */
	unsigned int	 hkp_port;	/* 0: not given (SKS lists only the
					 * recon port) */
};

struct net_stats {
	enum net_stats_kind	 kind;
	char		 software[NET_STATS_TEXT_MAX];	/* "SKS", ... */
	char		 version[NET_STATS_TEXT_MAX];	/* "" if not given */
	char		 hostname[NET_HOST_MAX];	/* as the page says */
	char		 taken[NET_STATS_TEXT_MAX];	/* "Taken at" text */
	int64_t		 taken_time;	/* the same as Unix time; 0: none */
	long long	 keys;		/* -1: not given */
	unsigned int	 hkp_port;	/* the server's own; 0: not given */
	unsigned int	 recon_port;
	struct net_stats_peer *peers;	/* in page order, no repeats */
	size_t		 npeers;
	/*
	 * Entries not kept: names that are no host (masked, garbage),
	 * ports out of range, repeats, and those past NET_STATS_MAX_PEERS.
	 */
	size_t		 peers_skipped;
};

#define NET_STATS_INIT	{ NET_STATS_UNKNOWN, { 0 }, { 0 }, { 0 }, { 0 }, \
	0, -1, 0, 0, NULL, 0, 0 }

/*
 * Parses a statistics page p[0..len) (any of the three shapes; JSON when
 * the first non-blank octet is '{') into *out, which must be
 * NET_STATS_INIT or released.  A page in which none of the known
 * markers is found (software, key count, settings or a peer table) is
 * PGPS_EFORMAT; so is JSON that does not parse (err gives the offset).
 * PGPS_ENOMEM.  *out changes only on success.
 */
int net_stats_parse(struct net_stats *out, const uint8_t *p, size_t len,
    struct pgps_err *err);

void net_stats_release(struct net_stats *st);

/* "sks-html", "hockeypuck-html", "hockeypuck-json" or "unknown". */
const char *net_stats_kind_name(enum net_stats_kind k);

/*
 * Splits a peer address into host and port: "host port" (SKS's
 * membership), "host:port", "[v6]:port", "v6 port".  The host must be a
 * DNS name or an IP literal (letters, digits, '-', '.', '_', ':' for
 * IPv6) of at most NET_HOST_MAX - 3 octets; it is lower-cased, a v6
 * literal bracketed.  Port 1-65535; a missing port leaves *port 0.
 * Returns 0 or PGPS_EFORMAT.
 */
int net_stats_addr(char host[NET_HOST_MAX], unsigned int *port,
    const char *s, size_t len);

#endif
