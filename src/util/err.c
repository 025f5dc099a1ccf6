/*
 * err.c: the error record.  Messages are bounded (256 bytes, truncated, never
 * allocated), so recording an error cannot itself fail.
 */
#include "util/common.h"

#include <stdarg.h>

#include "util/err.h"

int
pgps_err_set(struct pgps_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || err->code != 0)
		return code;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return code;
}

int
pgps_err_prefix(struct pgps_err *err, int code, const char *fmt, ...)
{
	char pre[256], old[256];
	size_t n;
	va_list ap;

	if (err == NULL)
		return code;
	if (err->code == 0)
		err->code = code;
	va_start(ap, fmt);
	vsnprintf(pre, sizeof(pre), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	/* Both parts fit 256 bytes each; the result is cut at 255. */
	n = strlen(pre);
	if (n > sizeof(err->msg) - 3)
		n = sizeof(err->msg) - 3;
	memcpy(err->msg, pre, n);
	memcpy(err->msg + n, ": ", 2);
	n += 2;
	memcpy(err->msg + n, old, strnlen(old, sizeof(err->msg) - n - 1));
	err->msg[n + strnlen(old, sizeof(err->msg) - n - 1)] = '\0';
	return code;
}

void
pgps_err_clear(struct pgps_err *err)
{
	if (err == NULL)
		return;
	err->code = 0;
	err->msg[0] = '\0';
}

const char *
pgps_strerror(int code)
{
	switch (code) {
	case 0:			return "success";
	case PGPS_ENOMEM:	return "out of memory";
	case PGPS_EFORMAT:	return "malformed input";
	case PGPS_ETRUNC:	return "truncated input";
	case PGPS_ELIMIT:	return "limit exceeded";
	case PGPS_EUNSUPPORTED:	return "unsupported";
	case PGPS_ENOTFOUND:	return "not found";
	case PGPS_ENET:		return "network error";
	case PGPS_EHTTP:	return "HTTP error";
	case PGPS_EPROTO:	return "protocol error";
	case PGPS_EGPG:		return "GnuPG error";
	case PGPS_EGIT:		return "git error";
	case PGPS_EIO:		return "I/O error";
	default:		return "internal error";
	}
}

void
pgps_bug(const char *file, int line, const char *msg)
{
	fprintf(stderr, "pgpsync: BUG: %s:%d: %s\n", file, line, msg);
	fflush(stderr);
	abort();
}
