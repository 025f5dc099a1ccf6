/*
 * outgoing.h: what push sends of a certificate, decided once for every
 * keyserver.  A certificate that cannot be read, holds secret key
 * material or has no primary key is refused; the rest leaves with the
 * poison limits applied (pgp_cert_filter()), as binary and, once asked
 * for, ASCII armor, with its SKS hash (to compare with what a server has,
 * keyset/state.h) and the addresses of its user IDs (the VKS statuses).
 */
#ifndef PGPSYNC_KEYSET_OUTGOING_H
#define PGPSYNC_KEYSET_OUTGOING_H

#include <stddef.h>
#include <stdint.h>

#include "openpgp/openpgp.h"
#include "util/buf.h"
#include "util/digest.h"

struct outgoing {
	char		 fpr[2 * PGP_FPR_MAX + 1];	/* the primary key's;
					 * "offset N of SOURCE" when it has
					 * none (a refusal) */
	uint8_t		 hash[16];	/* SKS hash of cert */
	struct buf	 cert;		/* binary, within the limits */
	struct buf	 armor;		/* outgoing_armor() */
	char		**addrs;	/* user IDs' addresses */
	size_t		 naddrs;
	char		 why[400];	/* a refusal: why */
};

void outgoing_init(struct outgoing *o);
void outgoing_release(struct outgoing *o);

/*
 * Decides what of raw (from source, for messages) leaves, into *o
 * (outgoing_init() first; reused).  lim are the poison limits, md5 a
 * DIGEST_MD5 context.  Returns 0, 1 for a refusal (o->why says why: "malformed: ...",
 * "a secret key is never uploaded", "signatures without a key", "over
 * the limits: ..."), or PGPS_ENOMEM.
 */
int outgoing_prepare(struct outgoing *o, const struct pgp_raw_cert *raw,
    const char *source, const struct pgp_limits *lim, struct digest *md5);

/*
 * Makes o->armor from o->cert unless it is made already.  Returns 0 or
 * PGPS_ENOMEM.
 */
int outgoing_armor(struct outgoing *o);

#endif
