/*
 * fuzz-recon-msg.c: the recon codec and session on hostile input.
 *
 * The first octet picks a mode (its value modulo 3): 0 decodes the rest as
 * one frame body and checks that re-encoding round-trips; 1 and 2 complete
 * a valid handshake and then feed the rest, in pieces whose sizes come from
 * the input, to a responder (1) or a driver (2).  Above the mode, the first
 * octet chooses a low node threshold, as reconcile --listen uses (bit 0 of
 * its value / 3), and a larger tree (bit 1), deep enough for the driver's
 * level skipping and its pilot of small nodes.  The seeds drv-dense-split
 * and drv-dense-ask (first octet 11: driver, both) are what a responder
 * with SKS's rules answered, in memory, to that driver over tree 1 when
 * its own tree lacked 3% (2%) of tree 1 and held 700 (500) others: the
 * pilot then splits the small nodes, or asks them.
 * Nothing may crash, leak or grow beyond the configured limits.
 */
#include "util/common.h"

#include "recon/recon.h"
#include "util/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct recon_ptree *trees[2];

/* Tree 0: 400 elements, a quarter in a dense corner; 1: 25,000 even. */
static struct recon_ptree *
make_tree(int big)
{
	uint64_t x = 1;
	int n = big ? 25000 : 400;

	if (trees[big] != NULL || recon_ptree_new(&trees[big]) != 0)
		return trees[big];
	for (int i = 0; i < n; i++) {
		struct recon_elem e;

		for (int j = 0; j < 16; j++) {
			x = x * 6364136223846793005ULL + 1442695040888963407ULL;
			e.b[j] = (uint8_t)(x >> 56);
		}
		if (!big && i % 4 == 0)
			e.b[0] = 0;
		recon_ptree_insert(trees[big], &e, NULL);
	}
	return trees[big];
}

static void
mode_decode(const uint8_t *p, size_t n)
{
	struct recon_msg m = RECON_MSG_INIT, m2 = RECON_MSG_INIT;
	struct buf b = BUF_INIT;

	if (recon_msg_decode(&m, p, n, NULL) != 0)
		return;
	if (recon_msg_encode(&b, &m, NULL) != 0 ||
	    recon_msg_decode(&m2, b.p + 4, b.len - 4, NULL) != 0 ||
	    m2.type != m.type || m2.nelems != m.nelems ||
	    m2.textlen != m.textlen || m2.size != m.size ||
	    !recon_prefix_eq(&m.prefix, &m2.prefix) ||
	    (m.nelems != 0 && memcmp(m.elems, m2.elems,
	    m.nelems * sizeof(*m.elems)) != 0))
		abort();
	/* Frames without a config or prefix re-encode to the same octets. */
	if (m.type != RECON_MSG_CONFIG && m.prefix.nbits % 8 == 0 &&
	    (b.len - 4 != n || memcmp(b.p + 4, p, n) != 0))
		abort();
	recon_msg_release(&m);
	recon_msg_release(&m2);
	buf_release(&b);
}

static void
mode_session(const uint8_t *p, size_t n, enum recon_role role,
    unsigned int flags)
{
	struct recon_session_opts o = { 0 };
	struct recon_ptree *tree;
	struct recon_session *s;
	struct recon_config cfg;
	struct recon_msg m = RECON_MSG_INIT;
	struct buf hs = BUF_INIT;
	const struct recon_elem *w;
	const uint8_t *out;
	size_t len, nw;

	if ((tree = make_tree((flags & 2) != 0)) == NULL)
		return;
	o.role = role;
	o.max_frame = 1 << 16;
	o.max_want = 1000;
	o.full_thresh = (flags & 1) || (n > 0 && (p[0] & 1)) ? 2 : 0;
	if (recon_session_new(&s, tree, &o) != 0)
		return;
	recon_config_default(&cfg, 11371);
	m.type = RECON_MSG_CONFIG;
	m.config = &cfg;
	if (recon_msg_encode(&hs, &m, NULL) == 0 &&
	    recon_string_encode(&hs, "passed", 6) == 0)
		recon_session_input(s, hs.p, hs.len, NULL);
	buf_release(&hs);
	while (n > 0) {
		/* Piece sizes from the input exercise partial buffering. */
		size_t chunk = 1 + (size_t)(p[0] % 64);

		if (chunk > n)
			chunk = n;
		recon_session_output(s, &out, &len);
		recon_session_consumed(s, len);
		if (recon_session_input(s, p, chunk, NULL) != 0)
			break;
		p += chunk;
		n -= chunk;
	}
	recon_session_eof(s, NULL);
	recon_session_want(s, &w, &nw);
	if (nw > 1000)
		abort();
	recon_session_free(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	switch (data[0] % 3) {
	case 0:
		mode_decode(data + 1, size - 1);
		break;
	case 1:
		mode_session(data + 1, size - 1, RECON_ROLE_RESPONDER,
		    data[0] / 3u);
		break;
	default:
		mode_session(data + 1, size - 1, RECON_ROLE_DRIVER,
		    data[0] / 3u);
		break;
	}
	return 0;
}
