/*
 * buf.h: a growable byte buffer with git strbuf's invariants.
 *
 * A buf is never NULL-backed: BUF_INIT points at a static empty string, and
 * buf->p[buf->len] is always '\0', so text can be used as a C string.  Growth
 * beyond buf->max (0 means PGPS_MAX_BUF) fails with PGPS_ELIMIT, which is
 * what keeps hostile input from eating all memory.  buf_detach() is the only
 * way to take the memory out.
 */
#ifndef PGPSYNC_UTIL_BUF_H
#define PGPSYNC_UTIL_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "util/common.h"

extern char buf_slop[1];

struct buf {
	uint8_t	*p;
	size_t	 len;
	size_t	 alloc;
	size_t	 max;
};

#define BUF_INIT	{ (uint8_t *)buf_slop, 0, 0, 0 }

void buf_init(struct buf *b, size_t max);
void buf_release(struct buf *b);
/* Makes room for n more bytes; PGPS_ENOMEM or PGPS_ELIMIT on failure. */
int buf_grow(struct buf *b, size_t n);
int buf_add(struct buf *b, const void *p, size_t n);
int buf_addch(struct buf *b, uint8_t c);
int buf_addstr(struct buf *b, const char *s);
int buf_addf(struct buf *b, const char *fmt, ...) PGPS_PRINTF(2, 3);
int buf_vaddf(struct buf *b, const char *fmt, va_list ap);
int buf_add_be32(struct buf *b, uint32_t v);
/* Keeps the first len bytes (len <= b->len). */
void buf_setlen(struct buf *b, size_t len);
void buf_reset(struct buf *b);
/* Exchanges the contents of a and b. */
void buf_swap(struct buf *a, struct buf *b);
/* Returns the heap memory (caller frees) and re-initialises b. */
uint8_t *buf_detach(struct buf *b, size_t *len);

#endif
