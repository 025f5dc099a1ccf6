/*
 * uid.c: the e-mail addresses of a certificate's user IDs (uid.h).
 */
#include "util/common.h"

#include "openpgp/uid.h"
#include "util/mem.h"
#include "util/text.h"

int
pgp_cert_addresses(char ***out, size_t *n, const struct pgp_cert *c,
    size_t max)
{
	char **v = NULL, *a;
	size_t nv = 0, off, len;
	bool dup;
	void *p;

	for (size_t i = 0; i < c->npkts && (max == 0 || nv < max); i++) {
		const struct pgp_packet *pk = &c->pkts[i];

		if (pk->tag != PGP_TAG_USER_ID ||
		    !text_uid_address(pk->body, pk->bodylen, &off, &len))
			continue;
		dup = false;
		for (size_t j = 0; j < nv && !dup; j++)
			dup = strlen(v[j]) == len &&
			    memcmp(v[j], pk->body + off, len) == 0;
		if (dup)
			continue;
		if ((a = malloc(len + 1)) == NULL ||
		    (p = mem_reallocarray(v, nv + 1, sizeof(*v))) == NULL) {
			free(a);
			pgp_addresses_free(v, nv);
			return PGPS_ENOMEM;
		}
		v = p;
		memcpy(a, pk->body + off, len);
		a[len] = '\0';
		v[nv++] = a;
	}
	*out = v;
	*n = nv;
	return 0;
}

void
pgp_addresses_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}
