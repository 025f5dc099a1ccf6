/*
 * stats.h: statistics of certificates, what "pgpsync dump stats" reports:
 * counts of packets by kind, key versions and algorithms, sizes in
 * buckets, and the largest certificates.
 *
 * A struct pgp_stats counts certificates one at a time
 * (pgp_stats_add()); several, one per thread, are summed with
 * pgp_stats_merge().  Nothing here allocates per certificate.
 */
#ifndef PGPSYNC_OPENPGP_STATS_H
#define PGPSYNC_OPENPGP_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "openpgp/openpgp.h"

/* Size buckets: a certificate of len octets counts in the first bucket
 * whose pgp_stats_bucket_max is larger than len. */
#define PGP_STATS_BUCKETS	7
extern const uint64_t pgp_stats_bucket_max[PGP_STATS_BUCKETS];
extern const char *const pgp_stats_bucket_name[PGP_STATS_BUCKETS];

/* One of the largest certificates. */
struct pgp_stats_top {
	uint64_t	 len;
	uint64_t	 offset;		/* in its source */
	uint32_t	 sigs;
	char		 fpr[2 * PGP_FPR_MAX + 1];	/* "-" if bare */
	char		 source[96];		/* cut to fit */
};

struct pgp_stats {
	uint64_t	 certs;
	uint64_t	 bytes;
	uint64_t	 packets;
	uint64_t	 sigs;
	uint64_t	 max_sigs;		/* on one certificate */
	uint64_t	 uids;
	uint64_t	 uats;
	uint64_t	 subkeys;
	uint64_t	 bare_revocations;	/* no primary key */
	uint64_t	 with_trust;
	uint64_t	 with_partial;
	uint64_t	 versions[8];		/* of primary keys; [0]: other */
	uint64_t	 algos[256];		/* of primary keys */
	uint64_t	 buckets[PGP_STATS_BUCKETS];
	struct pgp_stats_top *top;		/* largest first */
	size_t		 ntop;
	size_t		 maxtop;
};

/*
 * Clears s to count from zero, keeping the maxtop largest certificates
 * (0: none).  0 or PGPS_ENOMEM.
 */
int pgp_stats_init(struct pgp_stats *s, size_t maxtop);
void pgp_stats_release(struct pgp_stats *s);

/*
 * Counts the parsed certificate c (its bytes are c->data[0..c->len), at
 * c->offset of source).
 */
void pgp_stats_add(struct pgp_stats *s, const struct pgp_cert *c,
    const char *source);

/* Adds the counts and the largest certificates of from to into. */
void pgp_stats_merge(struct pgp_stats *into, const struct pgp_stats *from);

#endif
