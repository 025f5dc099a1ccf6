/*
 * cmd.h: the command layer: the table of subcommands, option parsing,
 * messages, progress and exit codes.  Only src/cmd and src/pgpsync.c print
 * or exit.
 */
#ifndef PGPSYNC_CMD_CMD_H
#define PGPSYNC_CMD_CMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/atomic.h"
#include "util/common.h"
#include "util/err.h"

/* Exit status of every command (pgpsync(1) EXIT STATUS). */
enum {
	EXIT_OK = 0,		/* success */
	EXIT_DIFFER = 1,	/* differences found (diff, --dry-run) */
	EXIT_ERROR = 2,		/* error, usage included */
	EXIT_PARTIAL = 3	/* done, but some certificates were skipped */
};

/* Long-only options use ids from OPT_LONG up. */
#define OPT_LONG	256

struct opt {
	int		 id;		/* short option letter, or OPT_LONG+n */
	const char	*name;		/* long name */
	const char	*arg;		/* argument name, NULL for a flag */
	const char	*help;
};

struct ctx;

typedef int (*cmd_fn)(int argc, char **argv, struct ctx *ctx);

struct verb {
	const char	*name;
	cmd_fn		 fn;
	const char	*usage;		/* after "pgpsync <cmd> <verb> " */
	const char	*summary;
	const struct opt *opts;		/* terminated by { 0 } */
};

struct cmd {
	const char	*name;
	cmd_fn		 fn;		/* for commands without verbs */
	const char	*usage;		/* after "pgpsync <name> " */
	const char	*summary;	/* equals the man page's .Nd */
	const struct opt *opts;		/* for commands without verbs */
	const struct verb *verbs;	/* NULL-name terminated, or NULL */
};

struct ctx {
	int		 verbose;
	bool		 quiet;
	bool		 json;		/* global --json */
	bool		 progress;	/* stderr is a terminal and !quiet */
	const char	*cmdname;	/* "dump hashes" */
	const struct opt *opts;		/* of the running command or verb */
	const char	*usage;
};

extern const struct cmd cmd_table[];
extern const size_t cmd_table_len;
extern const struct opt global_opts[];

const struct cmd *cmd_find(const char *name);
const struct verb *cmd_find_verb(const struct cmd *c, const char *name);

/*
 * Messages: "pgpsync: <cmd>: msg" on stderr, made safe for the terminal
 * by text_term_str() (util/text.h), so they may quote file names, user IDs
 * and server text as they are.  Text printed to stdout goes through
 * text_term() or, in JSON, out_json_text() (cmd/out.h).
 */
PGPS_NORETURN void die(const char *fmt, ...) PGPS_PRINTF(1, 2);
int error(const char *fmt, ...) PGPS_PRINTF(1, 2);	/* returns -1 */
void warn(const char *fmt, ...) PGPS_PRINTF(1, 2);
void info(struct ctx *ctx, const char *fmt, ...) PGPS_PRINTF(2, 3);
/* Set by main() so messages name the running command. */
extern const char *msg_cmdname;

/* Dying allocation wrappers: only for src/cmd. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xreallocarray(void *p, size_t n, size_t size);
char *xstrdup(const char *s);

/*
 * Option parsing over ctx->opts (getopt_long underneath; options may
 * follow operands).  opt_next() returns the id of the next option with
 * *arg set, or -1 at the end (then *optind_out is the first operand).
 * -h/--help prints the help and exits 0; an unknown option or a missing
 * argument prints a usage error and exits 2.
 */
struct opt_parser {
	int		 argc;
	char		**argv;
	struct ctx	*ctx;
	void		*longopts;
	char		 shortopts[128];
};

void opt_init(struct opt_parser *op, int argc, char **argv, struct ctx *ctx);
int opt_next(struct opt_parser *op, const char **arg);
/* Index of the first operand after opt_next() returned -1. */
int opt_operands(struct opt_parser *op);
void opt_release(struct opt_parser *op);
/* Prints "pgpsync: <cmd>: msg" and the usage line; returns EXIT_ERROR. */
int usage_error(struct ctx *ctx, const char *fmt, ...) PGPS_PRINTF(2, 3);
/* Prints the help of the running command (options, summary) to f. */
void opt_help(FILE *f, struct ctx *ctx);

/* Parses a size with optional K/M/G suffix (powers of 1024). */
int parse_size(const char *s, size_t *out);
/* Parses a non-negative integer; 0 or -1. */
int parse_ulong(const char *s, unsigned long *out);
/* "90", "90s", "15m", "12h", "7d", "2w" in seconds; 0 or -1 (fetch.c). */
int parse_duration(const char *s, int64_t *out);
/*
 * The argument of -J/--jobs (threads, 1 to 256); anything else is a usage
 * error (exits 2).
 */
int jobs_opt(struct ctx *ctx, const char *arg);

/* Progress on stderr for long work; silent unless ctx->progress. */
struct progress {
	struct ctx	*ctx;
	const char	*what;
	uint64_t	 total;
	double		 last;
	bool		 shown;
};
void progress_start(struct progress *p, struct ctx *ctx, const char *what,
    uint64_t total);
void progress_update(struct progress *p, uint64_t done, uint64_t items);
void progress_end(struct progress *p);
/*
 * Callbacks of the keyset/ runs (keyset/par.h) with a started struct
 * progress as their argument: progress_report() updates it,
 * progress_warn() prints a warning unless --quiet.
 */
void progress_report(uint64_t done, uint64_t items, void *progress);
void progress_warn(const char *msg, void *progress);

/* Flushes and closes stdout; a write error (full disk, closed pipe) dies. */
void close_stdout(void);

/*
 * Writes to path atomically (util/atomic.h): opens a temporary file next
 * to it (af->f), and commit renames it into place ("-" is stdout, no
 * temp).  Failures are printed; -1.
 */
int atomic_open(struct atomic_file *af, const char *path);
int atomic_commit(struct atomic_file *af);
void atomic_abort(struct atomic_file *af);

/*
 * The options that protect a keyring from flooded certificates, shared by
 * every command that writes certificates somewhere (pgp_limits).
 */
enum {
	OPT_MAX_CERT_SIZE = OPT_LONG + 200,
	OPT_MAX_SIGS,
	OPT_MAX_PACKET_SIZE,
	OPT_STRIP_THIRD_PARTY,
	OPT_NO_LIMITS
};
#define LIMIT_OPTS							\
	{ OPT_MAX_CERT_SIZE, "max-cert-size", "size",			\
	    "refuse certificates larger than size (default 8M)" },	\
	{ OPT_MAX_PACKET_SIZE, "max-packet-size", "size",		\
	    "drop packets larger than size (default 1M)" },		\
	{ OPT_MAX_SIGS, "max-sigs", "n",				\
	    "keep at most n third-party signatures per user ID (default 1000)" }, \
	{ OPT_NO_LIMITS, "no-limits", NULL,				\
	    "turn the size and signature limits off" },			\
	{ OPT_STRIP_THIRD_PARTY, "strip-third-party", NULL,		\
	    "drop all third-party certifications" }

struct pgp_limits;
/*
 * Applies a LIMIT_OPTS option to *lim: 1 if id was one of them, 0 if not;
 * a bad value is a usage error (exits 2).
 */
int limit_opt(struct ctx *ctx, struct pgp_limits *lim, int id,
    const char *arg);

/* The commands. */
int cmd_dump_hashes(int argc, char **argv, struct ctx *ctx);
int cmd_dump_stats(int argc, char **argv, struct ctx *ctx);
int cmd_dump_split(int argc, char **argv, struct ctx *ctx);
int cmd_dump_merge(int argc, char **argv, struct ctx *ctx);
int cmd_dump_filter(int argc, char **argv, struct ctx *ctx);
int cmd_dump_export(int argc, char **argv, struct ctx *ctx);
int cmd_dump_import(int argc, char **argv, struct ctx *ctx);
int cmd_diff(int argc, char **argv, struct ctx *ctx);

extern const struct opt dump_hashes_opts[];
extern const struct opt dump_stats_opts[];
extern const struct opt dump_split_opts[];
extern const struct opt dump_merge_opts[];
extern const struct opt dump_filter_opts[];
extern const struct opt dump_export_opts[];
extern const struct opt dump_import_opts[];
extern const struct opt diff_opts[];

int cmd_fetch(int argc, char **argv, struct ctx *ctx);
int cmd_push(int argc, char **argv, struct ctx *ctx);

extern const struct opt fetch_opts[];
extern const struct opt push_opts[];

/*
 * The options of the commands that talk to keyservers (fetch, push),
 * applied to a struct net_opts (net/net.h) by net_opt() as LIMIT_OPTS are
 * by limit_opt().  Defined in fetch.c.
 */
enum {
	OPT_NET_CA_FILE = OPT_LONG + 300,
	OPT_NET_PER_SERVER,
	OPT_NET_PROXY,
	OPT_NET_RETRIES,
	OPT_NET_TIMEOUT
};
#define NET_OPTS							\
	{ OPT_NET_CA_FILE, "ca-file", "file",				\
	    "trust these CA certificates instead of the system's" },	\
	{ 'J', "jobs", "n", "transfers at once (default 8)" },		\
	{ OPT_NET_PER_SERVER, "per-server", "n",			\
	    "transfers at once per server (default 4)" },		\
	{ OPT_NET_PROXY, "proxy", "url",				\
	    "send every request through this proxy (socks5h://... for Tor)" }, \
	{ OPT_NET_RETRIES, "retries", "n",				\
	    "retry rounds after transient failures (default 3)" },	\
	{ OPT_NET_TIMEOUT, "timeout", "seconds",			\
	    "give up on a request after this long (default 60)" }

struct net_opts;
struct net_server;
/* The client options of fetch and push: net's, with a 60 s time-out. */
void net_opt_default(struct net_opts *o);
/*
 * Applies a NET_OPTS option to *o: 1 if id was one of them, 0 if not; a
 * bad value is a usage error (exits 2).  o keeps pointers into arg.
 */
int net_opt(struct ctx *ctx, struct net_opts *o, int id, const char *arg);
/*
 * Parses the keyserver URLs urls[0..*n) (-k, in order) into srv; with
 * none, the default servers are put into urls first.  A bad URL is a
 * usage error (exits 2).
 */
void net_opt_servers(struct ctx *ctx, const char **urls, size_t *n,
    struct net_server *srv);

int cmd_reconcile(int argc, char **argv, struct ctx *ctx);
extern const struct opt reconcile_opts[];

int cmd_peers(int argc, char **argv, struct ctx *ctx);
extern const struct opt peers_opts[];

#endif
