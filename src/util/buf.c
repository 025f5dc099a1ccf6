/*
 * buf.c: growable buffers.  Growth is geometric and capped by b->max.
 */
#include "util/common.h"

#include <errno.h>

#include "util/buf.h"
#include "util/err.h"
#include "util/limits.h"
#include "util/mem.h"

char buf_slop[1];

void *
mem_reallocarray(void *p, size_t n, size_t size)
{
	size_t total;

	if (!mem_mul(&total, n, size)) {
		errno = ENOMEM;
		return NULL;
	}
	return realloc(p, total == 0 ? 1 : total);
}

void
buf_init(struct buf *b, size_t max)
{
	b->p = (uint8_t *)buf_slop;
	b->len = 0;
	b->alloc = 0;
	b->max = max;
}

void
buf_release(struct buf *b)
{
	size_t max = b->max;

	if (b->alloc != 0)
		free(b->p);
	buf_init(b, max);
}

int
buf_grow(struct buf *b, size_t n)
{
	size_t need, cap, max = b->max != 0 ? b->max : PGPS_MAX_BUF;
	uint8_t *np;

	if (!mem_add(&need, b->len, n) || !mem_add(&need, need, 1))
		return PGPS_ELIMIT;
	if (need - 1 > max)
		return PGPS_ELIMIT;
	if (need <= b->alloc)
		return 0;
	cap = b->alloc < 64 ? 64 : b->alloc;
	while (cap < need) {
		if (cap > SIZE_MAX / 2) {
			cap = need;
			break;
		}
		cap *= 2;
	}
	if (cap > max + 1)
		cap = max + 1 < need ? need : max + 1;
	np = realloc(b->alloc != 0 ? b->p : NULL, cap);
	if (np == NULL)
		return PGPS_ENOMEM;
	if (b->alloc == 0)
		np[0] = '\0';
	b->p = np;
	b->alloc = cap;
	return 0;
}

int
buf_add(struct buf *b, const void *p, size_t n)
{
	int r;

	if (n == 0)
		return 0;
	if ((r = buf_grow(b, n)) != 0)
		return r;
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

int
buf_addch(struct buf *b, uint8_t c)
{
	return buf_add(b, &c, 1);
}

int
buf_addstr(struct buf *b, const char *s)
{
	return buf_add(b, s, strlen(s));
}

int
buf_vaddf(struct buf *b, const char *fmt, va_list ap)
{
	va_list cp;
	int n, r;

	va_copy(cp, ap);
	n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0)
		return PGPS_EINTERNAL;
	if ((r = buf_grow(b, (size_t)n)) != 0)
		return r;
	vsnprintf((char *)b->p + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int
buf_addf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = buf_vaddf(b, fmt, ap);
	va_end(ap);
	return r;
}

int
buf_add_be32(struct buf *b, uint32_t v)
{
	uint8_t x[4];

	x[0] = (uint8_t)(v >> 24);
	x[1] = (uint8_t)(v >> 16);
	x[2] = (uint8_t)(v >> 8);
	x[3] = (uint8_t)v;
	return buf_add(b, x, 4);
}

void
buf_setlen(struct buf *b, size_t len)
{
	if (len > b->len)
		PGPS_BUG("buf_setlen beyond length");
	b->len = len;
	if (b->alloc != 0)
		b->p[len] = '\0';
}

void
buf_reset(struct buf *b)
{
	buf_setlen(b, 0);
}

void
buf_swap(struct buf *a, struct buf *b)
{
	struct buf t = *a;

	*a = *b;
	*b = t;
}

uint8_t *
buf_detach(struct buf *b, size_t *len)
{
	uint8_t *p;

	if (b->alloc == 0) {
		p = calloc(1, 1);
		if (len != NULL)
			*len = 0;
		return p;
	}
	p = b->p;
	if (len != NULL)
		*len = b->len;
	buf_init(b, b->max);
	return p;
}
