/*
 * limits.h: every built-in limit of pgpsync in one place.  Options may lower
 * or raise the per-certificate ones; the others protect the process itself.
 */
#ifndef PGPSYNC_UTIL_LIMITS_H
#define PGPSYNC_UTIL_LIMITS_H

/* Largest growable buffer (a whole decoded armor input, a merged cert). */
#define PGPS_MAX_BUF		((size_t)1 << 30)
/* Largest single packet body the reader accepts at all. */
#define PGPS_MAX_PACKET		((size_t)64 << 20)
/* Largest certificate the splitter accepts at all (a flooded cert is ~17 MiB). */
#define PGPS_MAX_CERT		((size_t)256 << 20)
/* Most packets in one certificate the parser will index. */
#define PGPS_MAX_CERT_PACKETS	1000000

/* Defaults of the poison-protection filter (see openpgp.h struct pgp_limits). */
#define PGPS_DEFAULT_MAX_CERT_SIZE	((size_t)8 << 20)
#define PGPS_DEFAULT_MAX_SIGS_PER_UID	1000
#define PGPS_DEFAULT_MAX_PACKET_SIZE	((size_t)1 << 20)

#endif
