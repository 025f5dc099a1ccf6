/*
 * test-openpgp-stats.c: the statistics of certificates
 * (openpgp/stats.h): packets counted by kind, a bare revocation counted
 * as such, sizes in their buckets, the largest certificates kept largest
 * first and cut to the number asked for, and two halves merged equal to
 * the whole.
 */
#include "util/common.h"

#include "tap.h"
#include "data.h"
#include "openpgp/stats.h"

#define NCERTS	4

static const char *const files[NCERTS] = {
	"certs/alice.pgp", "certs/bob.pgp", "certs/alice-later.pgp",
	"certs/alice-revoked.pgp"
};

static uint8_t *bytes[NCERTS];
static size_t len[NCERTS];

static void
count(struct pgp_stats *s, size_t from, size_t to)
{
	struct pgp_cert c = PGP_CERT_INIT;

	for (size_t k = from; k < to; k++) {
		if (pgp_cert_parse(&c, bytes[k], len[k], 100 * k, NULL) != 0)
			exit(1);
		pgp_stats_add(s, &c, files[k]);
	}
	pgp_cert_release(&c);
}

int
main(int argc, char **argv)
{
	struct pgp_cert c = PGP_CERT_INIT, bare = PGP_CERT_INIT;
	struct pgp_stats all, a, b, t;
	uint64_t sigs = 0, uids = 0, subkeys = 0, packets = 0, total = 0;
	uint64_t most = 0;
	size_t largest = 0;
	uint8_t *rev;
	size_t revlen;

	(void)argc;
	data_dir_set(argv[0]);
	for (size_t k = 0; k < NCERTS; k++) {
		uint64_t s = 0;

		bytes[k] = data_slurp(files[k], &len[k]);
		if (pgp_cert_parse(&c, bytes[k], len[k], 0, NULL) != 0)
			return 1;
		total += len[k];
		packets += c.npkts;
		for (size_t i = 0; i < c.npkts; i++) {
			s += c.pkts[i].tag == PGP_TAG_SIGNATURE;
			uids += c.pkts[i].tag == PGP_TAG_USER_ID;
			subkeys += c.pkts[i].tag == PGP_TAG_PUBLIC_SUBKEY;
		}
		sigs += s;
		if (s > most)
			most = s;
		if (len[k] > len[largest])
			largest = k;
	}

	is_int(pgp_stats_init(&all, 3), 0, "init");
	count(&all, 0, NCERTS);
	is_int(all.certs, NCERTS, "every certificate counted");
	is_int(all.bytes, total, "their bytes");
	is_int(all.packets, packets, "their packets");
	is_int(all.sigs, sigs, "signatures");
	is_int(all.max_sigs, most, "the most signatures on one");
	is_int(all.uids, uids, "user IDs");
	is_int(all.subkeys, subkeys, "subkeys");
	is_int(all.versions[4], NCERTS, "all v4");
	is_int(all.algos[22], NCERTS, "all EdDSA (22)");
	is_int(all.buckets[0] + all.buckets[1], NCERTS,
	    "all in the buckets under 4K");
	is_int(all.bare_revocations, 0, "no bare revocation");
	is_int(all.ntop, 3, "the top cut to 3 of 4");
	ok(all.top[0].len == len[largest] &&
	    strcmp(all.top[0].source, files[largest]) == 0 &&
	    all.top[0].offset == 100 * largest, "the largest first, named");
	ok(all.top[0].len >= all.top[1].len &&
	    all.top[1].len >= all.top[2].len, "largest first");
	ok(strlen(all.top[0].fpr) == 40, "with its fingerprint");

	/* Two halves, as two threads count them, summed. */
	pgp_stats_init(&a, 3);
	pgp_stats_init(&b, 3);
	pgp_stats_init(&t, 3);
	count(&a, 0, 2);
	count(&b, 2, NCERTS);
	pgp_stats_merge(&t, &a);
	pgp_stats_merge(&t, &b);
	ok(t.certs == all.certs && t.bytes == all.bytes &&
	    t.packets == all.packets && t.sigs == all.sigs &&
	    t.max_sigs == all.max_sigs && t.uids == all.uids &&
	    t.subkeys == all.subkeys &&
	    memcmp(t.buckets, all.buckets, sizeof(t.buckets)) == 0 &&
	    memcmp(t.algos, all.algos, sizeof(t.algos)) == 0,
	    "two halves merged count as the whole");
	ok(t.ntop == all.ntop && memcmp(t.top, all.top, t.ntop *
	    sizeof(*t.top)) == 0, "and keep the same largest");

	/* A key revocation without its key. */
	rev = data_slurp("certs/alice-revocation-only.pgp", &revlen);
	if (pgp_cert_parse(&c, rev, revlen, 0, NULL) != 0 || c.npkts < 2)
		return 1;
	ok(pgp_cert_parse(&bare, rev + c.pkts[1].offset,
	    revlen - c.pkts[1].offset, 0, NULL) == 0 && !bare.has_primary,
	    "a bare revocation parses");
	pgp_stats_release(&t);
	pgp_stats_init(&t, 1);
	pgp_stats_add(&t, &bare, "rev");
	is_int(t.bare_revocations, 1, "a bare revocation counted");
	is_int(t.versions[4] + t.versions[0], 0, "with no key version");
	is_str(t.top[0].fpr, "-", "and no fingerprint");

	pgp_stats_release(&t);
	pgp_stats_init(&t, 0);
	count(&t, 0, NCERTS);
	ok(t.ntop == 0 && t.certs == NCERTS, "no top asked: counted, none kept");

	pgp_stats_release(&all);
	pgp_stats_release(&a);
	pgp_stats_release(&b);
	pgp_stats_release(&t);
	pgp_cert_release(&c);
	pgp_cert_release(&bare);
	free(rev);
	for (size_t k = 0; k < NCERTS; k++)
		free(bytes[k]);
	return done_testing();
}
