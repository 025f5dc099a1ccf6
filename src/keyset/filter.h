/*
 * filter.h: a key set filtered ("pgpsync dump filter"): the certificates
 * selected by their primary fingerprints, each through the poison limits
 * (pgp_cert_filter()), on every CPU, in input order; and the limits
 * applied to one certificate, with what they dropped counted.
 */
#ifndef PGPSYNC_KEYSET_FILTER_H
#define PGPSYNC_KEYSET_FILTER_H

#include <stddef.h>
#include <stdint.h>

#include "keyset/keyset.h"
#include "keyset/par.h"
#include "openpgp/keyid.h"
#include "openpgp/openpgp.h"
#include "util/buf.h"
#include "util/err.h"

struct keyset_filter_counts {
	uint64_t	 kept;
	uint64_t	 unselected;	/* not selected by keep and drop */
	uint64_t	 refused;	/* by the limits */
	uint64_t	 trimmed;	/* kept, with packets dropped */
	uint64_t	 third_party;	/* signatures dropped ... */
	uint64_t	 excess_sigs;
	uint64_t	 big_packets;	/* packets dropped ... */
	uint64_t	 other;
};

/*
 * Appends c through lim to out and counts into *n: 0 when kept; 1 when
 * the limits refuse it (err says why, naming source, c's offset and
 * fingerprint, and out is as it was); or a negative code.
 */
int keyset_filter_limits(struct buf *out, const struct pgp_cert *c,
    const struct pgp_limits *lim, const char *source,
    struct keyset_filter_counts *n, struct pgps_err *err);

struct keyset_filter_spec {
	int		  jobs;		/* threads; 0: one per CPU */
	/*
	 * Sorted lists (pgp_keyid_list_sort()) of fingerprints: keep only
	 * the certificates keep lists (NULL: all), drop those drop lists
	 * (NULL: none).  With either, a bare revocation, which has no
	 * fingerprint, is not selected.
	 */
	const struct pgp_keyid_list *keep;
	const struct pgp_keyid_list *drop;
	struct pgp_limits lim;
	/* As in struct keyset_par_spec: the output, in input order. */
	int		(*sink)(const uint8_t *p, size_t len, void *arg);
	void		 *sink_arg;
	/* As in struct keyset_par_spec; arg is theirs. */
	void		(*warn)(const char *msg, void *arg);
	void		(*progress)(uint64_t done, uint64_t certs, void *arg);
	void		 *arg;
};

/*
 * Filters it into spec->sink and counts into *n.  Damage and secret keys
 * are passed to warn and counted in res->skipped; a refusal by the
 * limits is passed to warn too, and counted in n->refused only.  Returns
 * 0, the sink's non-zero return, or a negative code with err set.
 */
int keyset_filter(struct keyset_iter *it, const struct keyset_filter_spec *spec,
    struct keyset_filter_counts *n, struct keyset_par_result *res,
    struct pgps_err *err);

#endif
