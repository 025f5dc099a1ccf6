/*
 * fuzz-keyid.c: the parser of the fingerprints and key IDs users name
 * (openpgp/keyid.c: one argument, or a list file) on arbitrary text.
 *
 * The input is read as a list file with every kind of key taken, and
 * each of its lines as an argument.  Besides memory errors it checks that
 * a key parsed is written back as hex that parses to the same key, and
 * that a sorted list holds every key read into it.
 */
#include "util/common.h"

#include "openpgp/keyid.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fail(const char *what)
{
	fprintf(stderr, "fuzz-keyid: %s\n", what);
	abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct pgp_keyid_list l = PGP_KEYID_LIST_INIT;
	struct pgp_keyid k, k2;
	char hex[2 * PGP_FPR_MAX + 1];
	const uint8_t *p = data, *e = data + size, *nl;
	FILE *fp;

	if (size > (1 << 16))
		return 0;
	while (p < e) {
		nl = memchr(p, '\n', (size_t)(e - p));
		if (nl == NULL)
			nl = e;
		if (pgp_keyid_parse(&k, (const char *)p, (size_t)(nl - p),
		    ~0u) == 0) {
			pgp_keyid_hex(hex, &k);
			if (pgp_keyid_parse(&k2, hex, strlen(hex), ~0u) != 0 ||
			    pgp_keyid_cmp(&k, &k2) != 0)
				fail("a key written as hex parses otherwise");
		}
		p = nl + 1;
	}
	if (size == 0 || (fp = fmemopen((void *)data, size, "r")) == NULL)
		return 0;
	(void)pgp_keyid_list_read(&l, fp, "fuzz", ~0u, &err);
	fclose(fp);
	{
		struct pgp_keyid_list c = PGP_KEYID_LIST_INIT;

		c.v = l.n > 0 ? malloc(l.n * sizeof(*l.v)) : NULL;
		if (c.v != NULL)
			memcpy(c.v, l.v, l.n * sizeof(*l.v));
		c.n = c.v != NULL ? l.n : 0;
		pgp_keyid_list_sort(&l);
		for (size_t i = 0; i < c.n; i++)
			if (!pgp_keyid_list_has(&l, c.v[i].b, c.v[i].len))
				fail("a sorted list lost a key");
		free(c.v);
	}
	pgp_keyid_list_release(&l);
	return 0;
}
