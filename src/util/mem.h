/*
 * mem.h: overflow-checked size arithmetic.  Every size that comes from
 * untrusted input goes through these before it reaches an allocator.
 */
#ifndef PGPSYNC_UTIL_MEM_H
#define PGPSYNC_UTIL_MEM_H

#include <stdbool.h>
#include <stddef.h>

/* Sets *out = a + b and returns true, or returns false on overflow. */
static inline bool
mem_add(size_t *out, size_t a, size_t b)
{
	return !__builtin_add_overflow(a, b, out);
}

/* Sets *out = a * b and returns true, or returns false on overflow. */
static inline bool
mem_mul(size_t *out, size_t a, size_t b)
{
	return !__builtin_mul_overflow(a, b, out);
}

/* reallocarray(3) that never overflows; NULL on overflow or no memory. */
void *mem_reallocarray(void *p, size_t n, size_t size);

#endif
