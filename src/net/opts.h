/*
 * opts.h: the command-line options of the commands that talk to
 * keyservers (fetch, push), turned into a client configuration (struct
 * net_opts) and a list of servers, in one place.
 *
 * The command layer parses the text of a number; what a value may be and
 * what it changes in the configuration is decided here.
 */
#ifndef PGPSYNC_NET_OPTS_H
#define PGPSYNC_NET_OPTS_H

#include <stddef.h>

#include "net/net.h"
#include "util/err.h"

/* The default cap on a response body (--max-response). */
#define NET_DEFAULT_MAX_BODY	((size_t)64 << 20)

/* The options, named as on the command line. */
enum net_opt_id {
	NET_OPT_CA_FILE,	/* --ca-file FILE */
	NET_OPT_JOBS,		/* --jobs N, 1 to 256 */
	NET_OPT_PER_SERVER,	/* --per-server N, 1 to 64 */
	NET_OPT_PROXY,		/* --proxy URL */
	NET_OPT_RETRIES,	/* --retries N, 0 to 100 */
	NET_OPT_TIMEOUT,	/* --timeout SECONDS, 1 to 86400 */
	NET_OPT_MAX_RESPONSE	/* --max-response SIZE, at least 1024 */
};

/* The long option name of id ("ca-file"), for messages. */
const char *net_opt_name(enum net_opt_id id);

/*
 * Fills o with net_opts_default() and what a command run from cron
 * needs on top: a time-out of 60 s on every request, so that a server
 * that stalls cannot keep the run from ending.
 */
void net_opts_cli_default(struct net_opts *o);

/*
 * Applies a number option (jobs, per-server, retries, timeout,
 * max-response) with the value v.  A time-out also shortens the
 * connect time-out and the low-speed time that would outlast it.
 * Returns 0, or PGPS_EFORMAT when v is out of range or id takes text;
 * o is then unchanged.
 */
int net_opts_set_num(struct net_opts *o, enum net_opt_id id,
    unsigned long long v);

/*
 * Applies a text option (ca-file, proxy); o keeps the pointer s.
 * Returns 0, or PGPS_EFORMAT when id takes a number.
 */
int net_opts_set_str(struct net_opts *o, enum net_opt_id id, const char *s);

/*
 * One transfer at a time, in total and per server (fetch --delay: the
 * requests must not come in a burst).
 */
void net_opts_serial(struct net_opts *o);

/*
 * Parses the keyserver URLs urls[0..*n) into srv[0..*n) (room for
 * NET_MAX_SERVERS), in order of preference; with none, the default
 * servers (keys.openpgp.org, then keyserver.ubuntu.com) are put into
 * urls and *n first.  Returns 0, or the error of the first URL that
 * net_server_parse() refuses, with its message in err.
 */
int net_servers_parse(struct net_server *srv, const char **urls, size_t *n,
    struct pgps_err *err);

#endif
