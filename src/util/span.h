/*
 * span.h: a bounds-checked, read-only view of bytes.
 *
 * Every getter checks the remaining length first and returns PGPS_ETRUNC
 * without moving when there is not enough; on success it consumes what it
 * read.  Spans never own memory: they borrow the caller's input.
 */
#ifndef PGPSYNC_UTIL_SPAN_H
#define PGPSYNC_UTIL_SPAN_H

#include <stddef.h>
#include <stdint.h>

#include "util/common.h"
#include "util/err.h"

struct span {
	const uint8_t	*p;
	size_t		 len;
};

static inline struct span
span_make(const void *p, size_t len)
{
	struct span s = { (const uint8_t *)p, len };

	return s;
}

static inline int
span_u8(struct span *s, uint8_t *out)
{
	if (s->len < 1)
		return PGPS_ETRUNC;
	*out = s->p[0];
	s->p++;
	s->len--;
	return 0;
}

static inline int
span_be16(struct span *s, uint16_t *out)
{
	if (s->len < 2)
		return PGPS_ETRUNC;
	*out = (uint16_t)((s->p[0] << 8) | s->p[1]);
	s->p += 2;
	s->len -= 2;
	return 0;
}

static inline int
span_be32(struct span *s, uint32_t *out)
{
	if (s->len < 4)
		return PGPS_ETRUNC;
	*out = ((uint32_t)s->p[0] << 24) | ((uint32_t)s->p[1] << 16) |
	    ((uint32_t)s->p[2] << 8) | s->p[3];
	s->p += 4;
	s->len -= 4;
	return 0;
}

/* Points *out at the next n bytes (borrowed) and consumes them. */
static inline int
span_bytes(struct span *s, size_t n, const uint8_t **out)
{
	if (s->len < n)
		return PGPS_ETRUNC;
	*out = s->p;
	s->p += n;
	s->len -= n;
	return 0;
}

/* Splits the next n bytes off as the child span *out. */
static inline int
span_sub(struct span *s, size_t n, struct span *out)
{
	if (s->len < n)
		return PGPS_ETRUNC;
	out->p = s->p;
	out->len = n;
	s->p += n;
	s->len -= n;
	return 0;
}

static inline int
span_skip(struct span *s, size_t n)
{
	if (s->len < n)
		return PGPS_ETRUNC;
	s->p += n;
	s->len -= n;
	return 0;
}

static inline uint32_t
load_be32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
	    ((uint32_t)p[2] << 8) | p[3];
}

static inline void
store_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

#endif
