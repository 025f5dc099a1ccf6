/*
 * vks.h: the JSON of the VKS API of keys.openpgp.org (Hagrid): the
 * bodies pgpsync sends to /vks/v1/upload and /vks/v1/request-verify, and
 * what the server answers, read into plain C values.
 *
 * An answer is text from a stranger: it is read with duplicate keys
 * refused, only a status of an address the certificate itself has is
 * kept, and every other address the server names is handed back as an
 * anomaly, never as a status.
 */
#ifndef PGPSYNC_NET_VKS_H
#define PGPSYNC_NET_VKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/net.h"
#include "util/buf.h"
#include "util/err.h"

/*
 * Appends the body of an upload, {"keytext": "<armor>"}, to out.
 * Returns 0, or PGPS_ENOMEM / PGPS_ELIMIT.
 */
int net_vks_upload_body(struct buf *out, const uint8_t *armor, size_t len);

/*
 * Appends the body of a request-verify, {"token": "<token>",
 * "addresses": [...]}, to out.  Returns 0, PGPS_EFORMAT when a string
 * is not UTF-8, or PGPS_ENOMEM / PGPS_ELIMIT.
 */
int net_vks_verify_body(struct buf *out, const char *token,
    const char *const *addrs, size_t naddrs);

/* The publication status of one address, as the server said it. */
struct net_vks_status {
	char		*address;
	char		*status;	/* "published", "unpublished", ... */
};

struct net_vks_answer {
	bool		 statuses;	/* an upload result: st is its list */
	struct net_vks_status *st;	/* sorted by address */
	size_t		 nst;
	char		**unexpected;	/* addresses the certificate lacks */
	size_t		 nunexpected;
	char		*token;		/* NULL when none came */
};

#define NET_VKS_ANSWER_INIT	{ false, NULL, 0, NULL, 0, NULL }

/*
 * Reads the answer body[0..len) of /vks/v1/upload or request-verify,
 * received from url for the key fpr (hex; NULL: any).  addrs[0..naddrs)
 * are the certificate's addresses, compared without regard to case.  A
 * list (the answer to several certificates in one upload) is accepted
 * with no statuses.  Returns 0 and fills *out (released first), or
 * PGPS_EPROTO with err naming url: not JSON (with the offset), not an
 * upload result, a result for another key.
 */
int net_vks_answer_parse(struct net_vks_answer *out, const uint8_t *body,
    size_t len, const char *url, const char *fpr,
    const char *const *addrs, size_t naddrs, struct pgps_err *err);

/* Frees what a holds and empties it. */
void net_vks_answer_release(struct net_vks_answer *a);

/*
 * The reason the VKS request of res failed, into why: the server's
 * {"error": ...} (Hagrid's maintenance mode says {"message": ...}),
 * made safe for a terminal, after the URL and the HTTP status, when it
 * sent one; else the client's message.
 */
void net_vks_error(char *why, size_t whylen, const struct net_result *res);

#endif
