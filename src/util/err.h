/*
 * err.h: error codes and the caller-owned error record of the core.
 *
 * The core never prints or exits.  Functions return 0 or a negative
 * PGPS_E* code; functions at a boundary also take a trailing
 * struct pgps_err *, which may be NULL, and fill it with a message that
 * names the place where things went wrong.  The first error wins.
 */
#ifndef PGPSYNC_UTIL_ERR_H
#define PGPSYNC_UTIL_ERR_H

#include "util/common.h"

enum {
	PGPS_ENOMEM = -1,
	PGPS_EFORMAT = -2,
	PGPS_ETRUNC = -3,
	PGPS_ELIMIT = -4,
	PGPS_EUNSUPPORTED = -5,
	PGPS_ENOTFOUND = -6,
	PGPS_ENET = -7,
	PGPS_EHTTP = -8,
	PGPS_EPROTO = -9,
	PGPS_EGPG = -10,
	PGPS_EGIT = -11,
	PGPS_EIO = -12,
	PGPS_EINTERNAL = -99
};

struct pgps_err {
	int	code;
	char	msg[256];
};

#define PGPS_ERR_INIT	{ 0, { 0 } }

/*
 * Records code and a printf-style message in *err unless err is NULL or
 * already holds an error.  Returns code, so callers can write
 * "return pgps_err_set(err, PGPS_EFORMAT, ...)".
 */
int pgps_err_set(struct pgps_err *err, int code, const char *fmt, ...)
    PGPS_PRINTF(3, 4);

/*
 * Prefixes the message already in *err with context and returns code (the
 * code of the failure being passed up), whether or not err is NULL.
 */
int pgps_err_prefix(struct pgps_err *err, int code, const char *fmt, ...)
    PGPS_PRINTF(3, 4);

/* Clears *err so it can record a new error. */
void pgps_err_clear(struct pgps_err *err);

/* A static English text for a PGPS_E* code. */
const char *pgps_strerror(int code);

#endif
