/*
 * remote.h: keyservers and Web Key Directories as a key set that is read
 * by lookup: each key asked for is looked up on every server in turn
 * (HKP, HKPS, the VKS API) and, optionally, in the WKD of its addresses,
 * and every answer goes through the import rules (keyset/import.h).
 *
 * Every lookup is in flight at once, bounded per server and in total
 * (net/net.h), one request per key; a server that fails, rate-limits or
 * has no copy hands the key to the next one, and a server that failed is
 * asked last for the keys after.  Keys whose last answer came from an
 * HKP server, with its SKS hash, are first asked a hundred at a time by
 * POST /pks/hashquery (the request of SKS reconciliation); only those
 * whose certificate changed or went are then looked up one by one.
 */
#ifndef PGPSYNC_KEYSET_REMOTE_H
#define PGPSYNC_KEYSET_REMOTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keyset/import.h"
#include "net/net.h"
#include "openpgp/openpgp.h"
#include "util/buf.h"
#include "util/err.h"

/* One key to look up, and what came back for it. */
struct remote_key {
	/* asked (set by the caller) */
	enum net_query_kind kind;
	uint8_t		 id[PGP_FPR_MAX];	/* fingerprint or key ID */
	size_t		 idlen;
	char		*email;		/* NET_QUERY_EMAIL (caller's) */
	const char	*name;		/* for messages (caller's) */
	char		 fpr[2 * PGP_FPR_MAX + 1];	/* the fingerprint
					 * asked, in hex; the primary key
					 * taken once resolved */
	int		 hq_server;	/* hashquery: the server of the last
					 * answer, -1 for none */
	uint8_t		 hq_hash[16];	/* ... and its SKS hash */

	/* answered */
	struct import_set cand;		/* every certificate offered */
	unsigned int	 notfound;	/* servers without a copy */
	unsigned int	 failures;	/* servers that failed */
	unsigned int	 mismatches;	/* answers about other keys only */
	char		*server;	/* who sent what was kept (malloc'd) */
	char		*last_server;	/* the last keyserver asked */
	bool		 has_hash;
	uint8_t		 hash[16];	/* SKS hash of a hashquery answer */
	char		*why;		/* the last failure (malloc'd) */
	bool		 late;		/* cut short by the deadline */

	/* private */
	unsigned int	 pending;
	bool		 batched;
};

/* Frees what remote_lookup() put into k (not the caller's fields). */
void remote_key_release(struct remote_key *k);

struct remote_opts {
	struct net_opts	 net;
	const char	*servers[NET_MAX_SERVERS];	/* in order */
	size_t		 nservers;
	bool		 wkd;		/* also ask WKD */
	bool		 fresh;		/* a new connection per lookup run,
					 * with its own proxy credentials */
	bool		 hashquery;	/* batch keys with a hq_server */
	unsigned long	 rate;		/* lookups started per second; 0 */
	/*
	 * Appends the key set's copy of the certificate whose primary key
	 * is fpr (a fingerprint, or 16 hex digits of a key ID) to out;
	 * false when it holds none.  Tells the import rules which
	 * fingerprints and key IDs are primary keys held, gives a bare revocation its key to verify against,
	 * and, with wkd, the addresses to ask.
	 */
	bool		(*held)(const char *fpr, struct buf *out, void *arg);
	/* Called as keys complete (may be NULL). */
	void		(*progress)(size_t done, void *arg);
	/* Notes worth a message in verbose mode (may be NULL). */
	void		(*note)(const char *msg, void *arg);
	void		*arg;
};

struct remote;

/* servers are parsed and copied; PGPS_EFORMAT for a bad URL. */
int remote_new(struct remote **out, const struct remote_opts *o,
    struct pgps_err *err);
void remote_free(struct remote *r);

/*
 * Sets a deadline ms milliseconds from now for every lookup after
 * (net_client_set_deadline()); 0: none.
 */
void remote_set_deadline(struct remote *r, long ms);

/*
 * Looks up keys[0..n) and judges every answer (import_set_add_answer());
 * does not resolve.  Fails only when the transfer engine does (err);
 * each key's outcome is in the key.
 */
int remote_lookup(struct remote *r, struct remote_key *const *keys, size_t n,
    struct pgps_err *err);

/*
 * The import query of k; the held copy is read into *copy and parsed
 * into *c (both released by the caller).
 */
void remote_query(const struct remote *r, const struct remote_key *k,
    struct import_query *q, struct pgp_cert *c, struct buf *copy);

/* HTTP requests made so far, retries included. */
unsigned long remote_requests(const struct remote *r);

/*
 * 64 random bits from the kernel (/dev/urandom, read through stdio, so
 * that a few thousand cost one read) into *out.  Returns 0, or PGPS_EIO
 * when it cannot be read (err).  For what whoever watches the requests
 * must not guess: the order of keys, pauses, proxy credentials.
 */
int remote_random(struct remote *r, uint64_t *out, struct pgps_err *err);

/* The base URL of server i (for the state file). */
const char *remote_server_base(const struct remote *r, size_t i);

#endif
