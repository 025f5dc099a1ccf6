/*
 * fuzz-net-index.c: the HKP machine-readable index parser
 * (net_index_parse(), op=index&options=mr answers) on arbitrary bytes.
 *
 * Besides memory errors it checks what the parser promises: on failure
 * *out is left as it was; on success every key ID is 8, 16, 32, 40 or 64
 * upper-case hex digits and every user ID's text is NUL-terminated at
 * its length.
 */
#include "util/common.h"

#include "net/net.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fail(const char *what)
{
	fprintf(stderr, "fuzz-net-index: %s\n", what);
	abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct net_index ix = NET_INDEX_INIT;
	int r;

	r = net_index_parse(&ix, data, size, &err);
	if (r != 0) {
		if (ix.keys != NULL || ix.nkeys != 0)
			fail("a failed parse changed its output");
		return 0;
	}
	for (size_t i = 0; i < ix.nkeys; i++) {
		const struct net_index_key *k = &ix.keys[i];
		size_t n = strlen(k->id);

		if (n != 8 && n != 16 && n != 32 && n != 40 && n != 64)
			fail("a key ID of a length not taken");
		for (size_t j = 0; j < n; j++)
			if (!((k->id[j] >= '0' && k->id[j] <= '9') ||
			    (k->id[j] >= 'A' && k->id[j] <= 'F')))
				fail("a key ID not in upper-case hex");
		for (size_t j = 0; j < k->nuids; j++)
			if (k->uids[j].text == NULL ||
			    k->uids[j].text[k->uids[j].len] != '\0')
				fail("a user ID not terminated");
	}
	net_index_release(&ix);
	return 0;
}
