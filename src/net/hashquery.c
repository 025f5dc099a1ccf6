/*
 * hashquery.c: the body formats of POST /pks/hashquery, the request SKS
 * peers make after a reconciliation to fetch the keys they lack (SKS
 * reconComm.ml, cMarshal.ml marshal_list/marshal_string; channel.ml writes
 * 4-octet big-endian integers).
 *
 *   request:  be32 n, n times { be32 16; 16 octets of SKS hash }
 *   response: be32 m, m times { be32 len; len octets of binary cert }, "\r\n"
 *
 * The server skips unknown hashes and keeps no order, so m <= n and the
 * caller re-hashes every certificate to find out which is which.  Nothing
 * in the response is trusted: the count is checked against what was asked
 * for and against the bytes that are there before anything is read.
 */
#include "util/common.h"

#include "net/net.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/span.h"

int
net_hashquery_body(struct buf *out, const uint8_t *hashes, size_t n)
{
	int r;

	if (n > NET_HASHQUERY_MAX)
		return PGPS_ELIMIT;
	/* 4 + 20 * n fits: n is at most NET_HASHQUERY_MAX. */
	if ((r = buf_grow(out, 4 + 20 * n)) != 0 ||
	    (r = buf_add_be32(out, (uint32_t)n)) != 0)
		return r;
	for (size_t i = 0; i < n; i++)
		if ((r = buf_add_be32(out, 16)) != 0 ||
		    (r = buf_add(out, hashes + 16 * i, 16)) != 0)
			return r;
	return 0;
}

int
net_hashquery_begin(struct net_hashquery_reader *rd, const uint8_t *p,
    size_t len, size_t max_count, struct pgps_err *err)
{
	struct span s = span_make(p, len);
	uint32_t m;

	if (span_be32(&s, &m) != 0)
		return pgps_err_set(err, PGPS_EPROTO,
		    "hashquery response of %zu octets has no count", len);
	if (m > max_count)
		return pgps_err_set(err, PGPS_EPROTO,
		    "hashquery response announces %u keys, %zu were asked for",
		    m, max_count);
	/* Each entry takes at least its 4-octet length. */
	if (m > s.len / 4)
		return pgps_err_set(err, PGPS_EPROTO,
		    "hashquery response announces %u keys in %zu octets", m,
		    s.len);
	rd->s = s;
	rd->count = m;
	rd->left = m;
	rd->total = len;
	return 0;
}

int
net_hashquery_next(struct net_hashquery_reader *rd, struct span *cert,
    struct pgps_err *err)
{
	size_t off = rd->total - rd->s.len;
	uint32_t n;

	if (rd->left == 0) {
		/* SKS's web layer appends "\r\n" to every body. */
		if (rd->s.len == 0 || (rd->s.len == 2 &&
		    memcmp(rd->s.p, "\r\n", 2) == 0) || (rd->s.len == 1 &&
		    rd->s.p[0] == '\n'))
			return 0;
		return pgps_err_set(err, PGPS_EPROTO,
		    "hashquery response: %zu octets of garbage at offset %zu "
		    "after %u keys", rd->s.len, off, rd->count);
	}
	if (span_be32(&rd->s, &n) != 0 || span_sub(&rd->s, n, cert) != 0)
		return pgps_err_set(err, PGPS_EPROTO,
		    "hashquery response: key %u at offset %zu is truncated",
		    rd->count - rd->left + 1, off);
	rd->left--;
	return 1;
}
