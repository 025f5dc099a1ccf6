/*
 * stats.c: statistics of certificates (openpgp/stats.h).
 */
#include "util/common.h"

#include "openpgp/stats.h"

const uint64_t pgp_stats_bucket_max[PGP_STATS_BUCKETS] = {
	1024, 4096, 16384, 65536, 1 << 20, 16 << 20, UINT64_MAX
};
const char *const pgp_stats_bucket_name[PGP_STATS_BUCKETS] = {
	"<1K", "1K-4K", "4K-16K", "16K-64K", "64K-1M", "1M-16M", ">=16M"
};

int
pgp_stats_init(struct pgp_stats *s, size_t maxtop)
{
	memset(s, 0, sizeof(*s));
	if (maxtop > 0 &&
	    (s->top = calloc(maxtop, sizeof(*s->top))) == NULL)
		return PGPS_ENOMEM;
	s->maxtop = maxtop;
	return 0;
}

void
pgp_stats_release(struct pgp_stats *s)
{
	free(s->top);
	s->top = NULL;
	s->ntop = s->maxtop = 0;
}

/* Whether a certificate of len octets belongs among the largest. */
static bool
top_wants(const struct pgp_stats *s, uint64_t len)
{
	return s->maxtop > 0 && (s->ntop < s->maxtop ||
	    len > s->top[s->ntop - 1].len);
}

/* Keeps the maxtop largest entries, largest first (earlier on a tie). */
static void
top_add(struct pgp_stats *s, const struct pgp_stats_top *e)
{
	size_t i;

	if (!top_wants(s, e->len))
		return;
	i = s->ntop < s->maxtop ? s->ntop++ : s->ntop - 1;
	while (i > 0 && s->top[i - 1].len < e->len) {
		s->top[i] = s->top[i - 1];
		i--;
	}
	s->top[i] = *e;
}

void
pgp_stats_add(struct pgp_stats *s, const struct pgp_cert *c,
    const char *source)
{
	struct pgp_stats_top e;
	uint64_t sigs = 0;

	s->certs++;
	s->bytes += c->len;
	s->packets += c->npkts;
	for (size_t i = 0; i < c->npkts; i++) {
		switch (c->pkts[i].tag) {
		case PGP_TAG_SIGNATURE:		sigs++; break;
		case PGP_TAG_USER_ID:		s->uids++; break;
		case PGP_TAG_USER_ATTRIBUTE:	s->uats++; break;
		case PGP_TAG_PUBLIC_SUBKEY:	s->subkeys++; break;
		}
	}
	s->sigs += sigs;
	if (sigs > s->max_sigs)
		s->max_sigs = sigs;
	if (c->flags & PGP_CERT_HAS_TRUST)
		s->with_trust++;
	if (c->flags & PGP_CERT_HAS_PARTIAL)
		s->with_partial++;
	if (c->has_primary) {
		s->versions[c->primary.version < 8 ? c->primary.version : 0]++;
		s->algos[c->primary.algo]++;
	} else
		s->bare_revocations++;
	for (size_t b = 0; b < PGP_STATS_BUCKETS; b++)
		if (c->len < pgp_stats_bucket_max[b]) {
			s->buckets[b]++;
			break;
		}
	if (!top_wants(s, c->len))
		return;
	memset(&e, 0, sizeof(e));
	e.len = c->len;
	e.offset = c->offset;
	e.sigs = (uint32_t)sigs;
	if (c->has_primary)
		pgp_key_fpr_hex(e.fpr, &c->primary);
	else
		memcpy(e.fpr, "-", 2);
	snprintf(e.source, sizeof(e.source), "%s", source);
	top_add(s, &e);
}

void
pgp_stats_merge(struct pgp_stats *into, const struct pgp_stats *from)
{
	into->certs += from->certs;
	into->bytes += from->bytes;
	into->packets += from->packets;
	into->sigs += from->sigs;
	if (from->max_sigs > into->max_sigs)
		into->max_sigs = from->max_sigs;
	into->uids += from->uids;
	into->uats += from->uats;
	into->subkeys += from->subkeys;
	into->bare_revocations += from->bare_revocations;
	into->with_trust += from->with_trust;
	into->with_partial += from->with_partial;
	for (size_t i = 0; i < 8; i++)
		into->versions[i] += from->versions[i];
	for (size_t i = 0; i < 256; i++)
		into->algos[i] += from->algos[i];
	for (size_t i = 0; i < PGP_STATS_BUCKETS; i++)
		into->buckets[i] += from->buckets[i];
	for (size_t i = 0; i < from->ntop; i++)
		top_add(into, &from->top[i]);
}
