/*
 * clock.h: intervals and pauses on the monotonic clock.
 *
 * Deadlines, rates and progress intervals are measured here, never on
 * the wall clock, which can jump.
 */
#ifndef PGPSYNC_UTIL_CLOCK_H
#define PGPSYNC_UTIL_CLOCK_H

#include <stdint.h>

/* Milliseconds and seconds since an arbitrary fixed point. */
uint64_t clock_ms(void);
double clock_s(void);

/* Sleeps s seconds, resuming after signals; nothing for s <= 0. */
void clock_sleep_s(double s);

#endif
