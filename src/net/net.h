/*
 * net.h: the network layer of pgpsync -- keyserver URLs, an HTTP client for
 * HKP, VKS and WKD lookups, uploads and SKS hashqueries, and the pure
 * parsers for what keyservers send back.
 *
 * The client runs a queue of requests over libcurl's multi interface with
 * a bound on concurrent transfers in total and per host, retries with
 * back-off, fail-over between servers and a size cap on every response.
 * Its results are HTTP bodies as bytes: decoding armor, splitting and
 * checking certificates is the caller's job (openpgp/openpgp.h).  No curl
 * type appears here; only src/net/ includes <curl/curl.h>.
 */
#ifndef PGPSYNC_NET_NET_H
#define PGPSYNC_NET_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/err.h"
#include "util/span.h"

/* --- server URLs (url.c) ---------------------------------------------- */

#define NET_HKP_PORT		11371	/* hkp:// (HTTP) */
#define NET_HOST_MAX		256	/* host names, IPv6 brackets included */
#define NET_BASE_MAX		1024	/* normalised base URLs */

enum net_server_kind {
	NET_SERVER_HKP,		/* hkp://, hkps://: the /pks/ paths */
	NET_SERVER_VKS		/* vks://, https://, http://: /vks/v1/... */
};

struct net_server {
	enum net_server_kind	 kind;
	bool			 tls;
	unsigned int		 port;		/* default filled in */
	char			 host[NET_HOST_MAX];	/* lower case, [IPv6] */
	/* "http://host:11371", "https://host/prefix": no trailing '/' */
	char			 base[NET_BASE_MAX];
};

/*
 * Parses a keyserver URL into *out:
 *   hkp://host[:port]     HTTP, port 11371 by default
 *   hkps://host[:port]    HTTPS, port 443
 *   vks://host[:port]     the VKS API over HTTPS (keys.openpgp.org)
 *   https://host[:port][/prefix], http://...   a VKS API base URL
 * Host names are lower-cased; IPv6 literals go in brackets.  User names,
 * queries, fragments and (for hkp, hkps and vks) paths are refused with
 * PGPS_EFORMAT; an unknown scheme is PGPS_EUNSUPPORTED.  err names the URL.
 */
int net_server_parse(struct net_server *out, const char *url,
    struct pgps_err *err);

/*
 * Splits an http:// or https:// URL far enough to find its connection
 * target: writes "host:port" (lower case, default port filled in) to
 * hostport (NET_HOST_MAX + 8 bytes) and sets *tls.  PGPS_EFORMAT or
 * PGPS_EUNSUPPORTED otherwise.
 */
#define NET_HOSTPORT_MAX	(NET_HOST_MAX + 8)
int net_url_hostport(char *hostport, bool *tls, const char *url,
    struct pgps_err *err);

/* What a lookup asks for. */
enum net_query_kind {
	NET_QUERY_FPR,		/* a v4 (20 octets) or v6 (32) fingerprint */
	NET_QUERY_KEYID,	/* a 64-bit key ID (8 octets) */
	NET_QUERY_EMAIL		/* an e-mail address, matched exactly */
};

/*
 * Appends to out the URL that looks the query up on s:
 *   HKP  BASE/pks/lookup?op=get&options=mr&search=0x<HEX>
 *        BASE/pks/lookup?op=get&options=mr&search=<address>&exact=on
 *   VKS  BASE/vks/v1/by-fingerprint/<HEX>, by-keyid/<HEX>, by-email/<addr>
 * HEX is upper case without "0x" for VKS (the form keys.openpgp.org serves
 * from its fast path); id/idlen hold the fingerprint or key ID octets,
 * email the address (percent-escaped here).  PGPS_EFORMAT for a bad length
 * or address.
 */
int net_url_lookup(struct buf *out, const struct net_server *s,
    enum net_query_kind kind, const uint8_t *id, size_t idlen,
    const char *email, struct pgps_err *err);

/* Appends BASE/pks/lookup?op=index&options=mr&search=<escaped search>. */
int net_url_index(struct buf *out, const struct net_server *s,
    const char *search);

/*
 * Appends p[0..len) to out in application/x-www-form-urlencoded form: ALPHA
 * DIGIT "-._*" unchanged, space as '+', everything else %XX (upper case).
 */
int net_form_encode(struct buf *out, const uint8_t *p, size_t len);

/* Appends p[0..len) percent-encoded (RFC 3986 unreserved kept). */
int net_url_escape(struct buf *out, const uint8_t *p, size_t len);

/*
 * The /pks/add body: "keytext=" followed by the form-encoded armored
 * text.  SKS reads the body with sscanf("keytext=%s"), so the field comes
 * first and nothing in it is a raw space or line end.
 */
int net_add_body(struct buf *out, const char *armor, size_t len);

/* --- WKD (wkd.c) ------------------------------------------------------ */

/*
 * The WKD hash of a local part: SHA-1 over the local part with ASCII A-Z
 * lower-cased, z-base-32 encoded (32 characters and a NUL in out).
 */
void net_wkd_hash(char out[33], const char *local, size_t len);

enum net_wkd_method {
	NET_WKD_ADVANCED,	/* https://openpgpkey.DOMAIN/.well-known/
				 * openpgpkey/DOMAIN/hu/HASH?l=LOCAL */
	NET_WKD_DIRECT		/* https://DOMAIN/.well-known/openpgpkey/hu/
				 * HASH?l=LOCAL */
};

/*
 * Appends the WKD URL of an e-mail address.  The domain is lower-cased and
 * must be an ASCII host name; l= carries the local part as given,
 * percent-escaped.  Try the advanced URL first and the direct one only when
 * the openpgpkey host does not exist (NET_RESULT_NO_HOST), as the draft
 * says.  PGPS_EFORMAT for an address without local part or domain.
 */
int net_wkd_url(struct buf *out, const char *email,
    enum net_wkd_method method, struct pgps_err *err);

/* --- machine-readable index (index.c) --------------------------------- */

enum net_index_flags {
	NET_INDEX_REVOKED = 1 << 0,	/* 'r' */
	NET_INDEX_DISABLED = 1 << 1,	/* 'd' */
	NET_INDEX_EXPIRED = 1 << 2	/* 'e' */
};

struct net_index_uid {
	char		*text;		/* decoded bytes, NUL-terminated */
	size_t		 len;		/* may hold a NUL from %00 */
	int64_t		 created;	/* 0: unknown */
	int64_t		 expires;	/* 0: none or unknown */
	unsigned int	 flags;		/* enum net_index_flags */
};

struct net_index_key {
	/* Fingerprint or key ID as the server sent it, upper-case hex. */
	char			 id[65];
	unsigned int		 algo;		/* 0: unknown */
	unsigned int		 bits;		/* 0: unknown */
	int64_t			 created;
	int64_t			 expires;
	unsigned int		 flags;
	struct net_index_uid	*uids;
	size_t			 nuids;
};

struct net_index {
	unsigned int		 version;	/* info: version, 1 if absent */
	long			 count;		/* info: count, -1 if absent */
	struct net_index_key	*keys;
	size_t			 nkeys;
	size_t			 skipped;	/* pub records with a bad ID */
};

#define NET_INDEX_INIT	{ 1, -1, NULL, 0, 0 }

/*
 * Parses an op=index&options=mr answer (draft-shaw-openpgp-hkp-00 section
 * 5.2) into *out, which must be NET_INDEX_INIT or released.  Tolerates what
 * real servers send: LF or CRLF line ends (Hagrid), a missing info line,
 * SKS's "%%" for '%' next to %XX escapes, Hockeypuck's raw UTF-8 and
 * lower-case "%3a", empty or '-' fields, trailing fields left off, uat and
 * unknown records (ignored).  A pub record whose ID is not 8, 16, 32, 40 or
 * 64 hex digits is skipped with its uids and counted.  PGPS_EUNSUPPORTED
 * for an info version other than 1, PGPS_ENOMEM.  *out changes only on
 * success.
 */
int net_index_parse(struct net_index *out, const uint8_t *p, size_t len,
    struct pgps_err *err);
void net_index_release(struct net_index *ix);

/* --- /pks/hashquery (hashquery.c) ------------------------------------- */

/* SKS refuses POST bodies over 5 MiB: 4 + 20 * n must stay below that. */
#define NET_HASHQUERY_MAX	262143

/*
 * Appends the request body for n SKS hashes (16 octets each, hashes holds
 * 16 * n): be32 n, then n times { be32 16; 16 octets }.  PGPS_ELIMIT when n
 * exceeds NET_HASHQUERY_MAX.
 */
int net_hashquery_body(struct buf *out, const uint8_t *hashes, size_t n);

struct net_hashquery_reader {
	struct span	 s;
	uint32_t	 count;		/* certificates announced */
	uint32_t	 left;		/* still to read */
	size_t		 total;		/* length of the whole body */
};

/*
 * Starts reading a hashquery response: be32 count, then count times
 * { be32 len; len octets of binary certificate }, then the "\r\n" SKS
 * appends to every body (tolerated, as is "\n" or nothing).  A count above
 * max_count (the number of hashes asked for) or one that cannot fit in len
 * is PGPS_EPROTO.  The reader borrows p.
 */
int net_hashquery_begin(struct net_hashquery_reader *rd, const uint8_t *p,
    size_t len, size_t max_count, struct pgps_err *err);

/*
 * Returns 1 and the next certificate in *cert (borrowed from the body), 0
 * after the last one once the trailer checked out, or PGPS_EPROTO
 * (truncated entry, trailing garbage) with the offset in err.
 */
int net_hashquery_next(struct net_hashquery_reader *rd, struct span *cert,
    struct pgps_err *err);

/* --- the client (client.c) -------------------------------------------- */

#define NET_MAX_SERVERS		16

struct net_opts {
	unsigned int	 max_total;	/* transfers at once (8) */
	unsigned int	 max_per_host;	/* the same per host:port (4) */
	long		 connect_timeout_ms;	/* 10000 */
	long		 low_speed_time;	/* seconds below low_speed_limit
						 * before giving up (30) */
	long		 low_speed_limit;	/* bytes per second (1) */
	long		 timeout_ms;	/* whole attempt; 0 for none (0) */
	unsigned int	 retries;	/* extra rounds over the servers for
					 * transient failures (3) */
	long		 backoff_ms;	/* first back-off; doubles (500) */
	long		 backoff_max_ms;	/* back-off cap (30000) */
	long		 retry_after_max_ms;	/* cap on a server's Retry-After
						 * (60000) */
	size_t		 max_body;	/* response cap (64 MiB) */
	const char	*ca_file;	/* PEM bundle instead of the system
					 * store; NULL: system store */
	const char	*proxy;		/* NULL: the environment (http_proxy,
					 * https_proxy, ALL_PROXY, NO_PROXY);
					 * "": none; else e.g. socks5h://h:p */
	const char	*user_agent;	/* NULL: "pgpsync/VERSION" */
	/* Optional progress notes ("retrying ... in 1.2 s"); may be NULL. */
	void		(*trace)(const char *msg, void *arg);
	void		*trace_arg;
};

/* Fills o with the defaults above (net/opts.c). */
void net_opts_default(struct net_opts *o);

enum net_op {
	NET_OP_LOOKUP,		/* GET by fingerprint, key ID or e-mail */
	NET_OP_INDEX,		/* GET op=index&options=mr (HKP only) */
	NET_OP_ADD,		/* POST /pks/add keytext=<armor> */
	NET_OP_HASHQUERY,	/* POST /pks/hashquery (HKP only) */
	NET_OP_GET_URL,		/* GET an absolute http(s) URL (WKD); no
				 * fail-over, retries as for servers */
	NET_OP_VKS_UPLOAD,	/* POST /vks/v1/upload (VKS only) */
	NET_OP_VKS_VERIFY	/* POST /vks/v1/request-verify (VKS only) */
};

enum net_result_flags {
	NET_RESULT_TIMEOUT = 1 << 0,	/* the last attempt timed out */
	NET_RESULT_NO_HOST = 1 << 1,	/* the host name did not resolve */
	NET_RESULT_DEADLINE = 1 << 2,	/* net_client_set_deadline() passed */
	NET_RESULT_REFUSED = 1 << 3	/* NET_REQ_PUBLIC_ONLY: not connected */
};

struct net_result {
	int		 code;		/* 0 or PGPS_E* (below) */
	long		 status;	/* last HTTP status; 0 if none came */
	unsigned int	 flags;		/* enum net_result_flags */
	unsigned int	 attempts;
	int		 server;	/* index of the last server tried; -1
					 * for NET_OP_GET_URL */
	const char	*url;		/* the URL of the last attempt */
	const char	*error;		/* "" or "'URL': what happened" */
	struct buf	*body;		/* the response body, bytes as received,
					 * also for error statuses */
};

/*
 * Called once per request with its outcome.  code is 0 for a 2xx answer
 * (for the VKS_* requests the body is the server's JSON, unchecked);
 * PGPS_ENOTFOUND for 404/410; PGPS_EHTTP for other statuses and for an
 * "Add failed" in an SKS /pks/add reply (HTTP 200); PGPS_ENET when no
 * answer came (connection, TLS, time-out); PGPS_ELIMIT when the body
 * exceeded the cap (the transfer was stopped there).  res and its strings
 * live until the callback returns; the body may be taken with buf_swap()
 * or buf_detach().  Returning non-zero stops net_run(), which then returns
 * that value.  The callback may submit new requests; it must not call
 * net_run() or free the client.
 */
typedef int (*net_done_fn)(struct net_result *res, void *arg);

struct net_request {
	enum net_op		 op;
	enum net_query_kind	 query;		/* NET_OP_LOOKUP */
	const uint8_t		*id;		/* LOOKUP by FPR, KEYID */
	size_t			 idlen;
	const char		*text;		/* LOOKUP by EMAIL: the address;
						 * INDEX: the search; GET_URL:
						 * the URL */
	const uint8_t		*data;		/* ADD: armored text; HASHQUERY:
						 * 16 * n hash octets; VKS_*:
						 * the JSON request, sent as
						 * application/json */
	size_t			 datalen;
	int			 server;	/* -1: the first server that
						 * works, in order; else only
						 * this one */
	size_t			 max_body;	/* 0: the client's max_body */
	net_done_fn		 done;
	void			*arg;
	unsigned int		 flags;		/* enum net_request_flags */
};

/*
 * For requests to addresses someone else named (a peer listed on a
 * statistics page): PUBLIC_ONLY refuses to connect to an address that
 * net_addr_private() names -- the address the name resolved to, checked
 * when the socket is opened, so a name pointing at 127.0.0.1 is caught
 * as well as the literal -- and the request fails with PGPS_ENET and
 * the reason; NO_REDIRECT does not follow a redirect (its 3xx is the
 * answer, PGPS_EHTTP).  Behind a proxy the address checked is the
 * proxy's.
 */
enum net_request_flags {
	NET_REQ_PUBLIC_ONLY = 1 << 0,
	NET_REQ_NO_REDIRECT = 1 << 1
};

#define NET_REQUEST_INIT	{ NET_OP_LOOKUP, NET_QUERY_FPR, NULL, 0, \
	NULL, NULL, 0, -1, 0, NULL, NULL, 0 }

/*
 * What kind of address the numeric IPv4 or IPv6 address ip is when it is
 * not one to ask on a stranger's word: "loopback", "private" (RFC 1918,
 * RFC 6598 100.64/10), "link-local", "unique local" (fc00::/7),
 * "unspecified", "multicast", "reserved" (240/4, broadcast); IPv4-mapped
 * IPv6 addresses as their IPv4 address.  NULL for any other address, and
 * "not an address" for text that is none.
 */
const char *net_addr_private(const char *ip);

/*
 * A client is used from one thread at a time; clients in different threads
 * are independent (libcurl is initialised once, under pthread_once).
 */
struct net_client;

/*
 * Creates a client; opts may be NULL for the defaults.  Copies what it
 * needs from opts.  PGPS_ENOMEM, or PGPS_ENET when libcurl cannot start.
 */
int net_client_new(struct net_client **out, const struct net_opts *opts,
    struct pgps_err *err);

/* Frees the client, dropping queued requests without calling them back. */
void net_client_free(struct net_client *c);

/*
 * Sets a deadline ms milliseconds from now (0: none) for everything the
 * client does: no transfer runs past it (each one's time-out is cut to
 * what is left), no retry is scheduled after it, and once it has passed,
 * requests still queued complete with PGPS_ENET and
 * NET_RESULT_DEADLINE, and net_submit() refuses new ones (PGPS_ENET).
 */
void net_client_set_deadline(struct net_client *c, long ms);

/*
 * Adds a server (net_server_parse() syntax) to the fail-over list; the
 * first added is tried first.  Returns its index (>= 0) or PGPS_EFORMAT,
 * PGPS_EUNSUPPORTED, PGPS_ELIMIT (more than NET_MAX_SERVERS).
 */
int net_client_add_server(struct net_client *c, const char *url,
    struct pgps_err *err);

/*
 * Queues a request (copying what rq points to).  Nothing is sent before
 * net_run().  PGPS_EFORMAT for a malformed request (bad ID length, empty
 * armor, hashes not a multiple of 16, a VKS request that is not a JSON
 * object), PGPS_EUNSUPPORTED when no server can serve it (no servers,
 * hashquery or index without an HKP server, a VKS request without a VKS
 * server, a GET_URL that is not http or https), PGPS_EINTERNAL for a
 * server index out of range, PGPS_ELIMIT, PGPS_ENOMEM.
 */
int net_submit(struct net_client *c, const struct net_request *rq,
    struct pgps_err *err);

/*
 * Runs until every queued request (and any submitted by callbacks) has
 * completed.  Transient failures (connection errors, time-outs, HTTP 408,
 * 429, 502, 503, 504) move on to the next server at once; when every
 * server failed so, the request waits (exponential back-off with jitter,
 * or the server's Retry-After if longer, capped) and goes round again, up
 * to opts.retries times.  A transient answer with Retry-After also holds
 * back the other requests to that host.  Other 5xx answers and TLS verification
 * failures move on to the next server without retrying.  Returns 0, the
 * non-zero value of a callback (the remaining requests are then dropped),
 * or PGPS_ENET/PGPS_ENOMEM/PGPS_EINTERNAL when the transfer engine failed.
 * Not reentrant: callbacks must not call it.
 */
int net_run(struct net_client *c, struct pgps_err *err);

#endif
