/*
 * fuzz-stats.c: the keyserver statistics page parser on arbitrary bytes.
 *
 * Whatever the input, parsing either fails leaving the result as it was,
 * or succeeds with at most NET_STATS_MAX_PEERS peers, each a valid host
 * (what net_stats_addr() accepts again) with ports in range; and parsing
 * the same bytes twice gives the same result.
 */
#include "util/common.h"

#include "net/stats.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fail(const char *what)
{
	fprintf(stderr, "fuzz-stats: %s\n", what);
	abort();
}

static void
check(const struct net_stats *st)
{
	char host[NET_HOST_MAX];
	unsigned int port;

	if (st->npeers > NET_STATS_MAX_PEERS)
		fail("too many peers");
	if (st->hkp_port > 65535 || st->recon_port > 65535)
		fail("own port out of range");
	if (memchr(st->software, '\0', sizeof(st->software)) == NULL ||
	    memchr(st->version, '\0', sizeof(st->version)) == NULL ||
	    memchr(st->taken, '\0', sizeof(st->taken)) == NULL ||
	    memchr(st->hostname, '\0', sizeof(st->hostname)) == NULL)
		fail("text not terminated");
	for (size_t i = 0; i < st->npeers; i++) {
		const struct net_stats_peer *p = &st->peers[i];

		if (memchr(p->host, '\0', sizeof(p->host)) == NULL ||
		    p->host[0] == '\0')
			fail("peer host empty or not terminated");
		if (p->recon_port > 65535 || p->hkp_port > 65535 ||
		    (p->recon_port == 0 && p->hkp_port == 0))
			fail("peer port out of range");
		if (net_stats_addr(host, &port, p->host, strlen(p->host)) !=
		    0 || strcmp(host, p->host) != 0)
			fail("peer host does not read back");
		for (size_t j = 0; j < i; j++)
			if (strcmp(st->peers[j].host, p->host) == 0 &&
			    st->peers[j].recon_port == p->recon_port &&
			    st->peers[j].hkp_port == p->hkp_port)
				fail("repeated peer");
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct net_stats a = NET_STATS_INIT, b = NET_STATS_INIT;
	int ra, rb;

	ra = net_stats_parse(&a, data, size, NULL);
	rb = net_stats_parse(&b, data, size, NULL);
	if (ra != rb)
		fail("two parses disagree on success");
	if (ra != 0) {
		if (a.peers != NULL || a.npeers != 0 || a.keys != -1)
			fail("failure changed the result");
		return 0;
	}
	check(&a);
	if (a.npeers != b.npeers || a.keys != b.keys ||
	    a.peers_skipped != b.peers_skipped ||
	    strcmp(a.version, b.version) != 0 ||
	    (a.npeers > 0 && memcmp(a.peers, b.peers, a.npeers *
	    sizeof(*a.peers)) != 0))
		fail("two parses differ");
	net_stats_release(&a);
	net_stats_release(&b);
	return 0;
}
