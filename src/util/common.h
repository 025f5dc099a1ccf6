/*
 * common.h: included first by every .c file of pgpsync.
 *
 * It pulls in the C library headers nearly every module needs and ends with
 * banned.h, which turns calls to unsafe libc functions into compile errors.
 */
#ifndef PGPSYNC_UTIL_COMMON_H
#define PGPSYNC_UTIL_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PGPS_ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

#if defined(__GNUC__)
#define PGPS_PRINTF(f, a)	__attribute__((format(printf, f, a)))
#define PGPS_NORETURN		__attribute__((noreturn))
#else
#define PGPS_PRINTF(f, a)
#define PGPS_NORETURN
#endif

PGPS_NORETURN void pgps_bug(const char *file, int line, const char *msg);
#define PGPS_BUG(msg)	pgps_bug(__FILE__, __LINE__, (msg))

#include "util/banned.h"

#endif
