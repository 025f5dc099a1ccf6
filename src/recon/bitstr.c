/*
 * bitstr.c: prefixes of elements, the node names of the prefix tree and
 * of the wire protocol (SKS bitstring.ml, prefixTree.ml string_index).
 *
 * Bits are numbered from the most significant bit of octet 0.  A prefix
 * never exceeds the 128 bits of an element; the wire codec rejects longer
 * ones before they get here.
 */
#include "util/common.h"

#include "recon/recon.h"
#include "util/err.h"

int
recon_elem_cmp(const void *a, const void *b)
{
	return memcmp(((const struct recon_elem *)a)->b,
	    ((const struct recon_elem *)b)->b, RECON_ELEM_LEN);
}

unsigned int
recon_elem_bit(const struct recon_elem *e, unsigned int i)
{
	return (e->b[i / 8] >> (7 - i % 8)) & 1;
}

unsigned int
recon_elem_index(const struct recon_elem *e, unsigned int depth)
{
	unsigned int bit = depth * RECON_BITQUANTUM;

	/* Bitquantum 2 never straddles an octet. */
	return (e->b[bit / 8] >> (6 - bit % 8)) & 3;
}

void
recon_prefix_of(struct recon_prefix *out, const struct recon_elem *e,
    unsigned int nbits)
{
	unsigned int full;

	if (nbits > RECON_MAX_PREFIX_BITS)
		nbits = RECON_MAX_PREFIX_BITS;
	memset(out, 0, sizeof(*out));
	out->nbits = nbits;
	full = nbits / 8;
	memcpy(out->b, e->b, full);
	if (nbits % 8 != 0)
		out->b[full] = e->b[full] & (uint8_t)(0xff00u >> (nbits % 8));
}

int
recon_prefix_child(struct recon_prefix *out, const struct recon_prefix *p,
    unsigned int c)
{
	struct recon_prefix r = *p;

	if (p->nbits + RECON_BITQUANTUM > RECON_MAX_PREFIX_BITS ||
	    c >= (1u << RECON_BITQUANTUM))
		return PGPS_ELIMIT;
	for (unsigned int i = 0; i < RECON_BITQUANTUM; i++) {
		unsigned int bit = p->nbits + i;

		if ((c >> (RECON_BITQUANTUM - 1 - i)) & 1)
			r.b[bit / 8] |= (uint8_t)(0x80u >> (bit % 8));
	}
	r.nbits += RECON_BITQUANTUM;
	*out = r;
	return 0;
}

bool
recon_prefix_has(const struct recon_prefix *p, const struct recon_elem *e)
{
	unsigned int full = p->nbits / 8, rest = p->nbits % 8;

	if (memcmp(p->b, e->b, full) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((p->b[full] ^ e->b[full]) & (uint8_t)(0xff00u >> rest)) == 0;
}

bool
recon_prefix_eq(const struct recon_prefix *a, const struct recon_prefix *b)
{
	return a->nbits == b->nbits &&
	    memcmp(a->b, b->b, sizeof(a->b)) == 0;
}

void
recon_prefix_str(char *out, const struct recon_prefix *p)
{
	uint32_t n = p->nbits > RECON_MAX_PREFIX_BITS ?
	    RECON_MAX_PREFIX_BITS : p->nbits;

	for (uint32_t i = 0; i < n; i++)
		out[i] = (char)('0' + ((p->b[i / 8] >> (7 - i % 8)) & 1));
	out[n] = '\0';
}
