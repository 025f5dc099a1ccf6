/*
 * cmd.c: the table of subcommands, messages, dying allocators, progress,
 * atomic output files.
 *
 * The table is sorted and looked up by exact name: no aliases and no
 * prefix matching, so a script that works today keeps working when a new
 * command arrives.
 */
#include "util/common.h"

#include <errno.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "openpgp/openpgp.h"
#include "util/mem.h"
#include "util/text.h"

static const struct verb dump_verbs[] = {
	{ "export", cmd_dump_export, "[options] [fingerprint...]",
	    "write certificates from a GnuPG keyring", dump_export_opts },
	{ "filter", cmd_dump_filter, "[options] [set...]",
	    "select certificates and apply the poison limits",
	    dump_filter_opts },
	{ "hashes", cmd_dump_hashes, "[options] [set...]",
	    "print the SKS hash and fingerprint of every certificate",
	    dump_hashes_opts },
	{ "import", cmd_dump_import, "[options] [set...]",
	    "import certificates into a GnuPG keyring", dump_import_opts },
	{ "merge", cmd_dump_merge, "[options] [set...]",
	    "merge sets into one, combining versions of a certificate",
	    dump_merge_opts },
	{ "split", cmd_dump_split, "[options] -o dir [set...]",
	    "write SKS-style numbered dump files with a metadata file",
	    dump_split_opts },
	{ "stats", cmd_dump_stats, "[options] [set...]",
	    "count certificates, sizes, versions and algorithms",
	    dump_stats_opts },
	{ NULL, NULL, NULL, NULL, NULL }
};

static const struct opt no_opts[] = { { 0, NULL, NULL, NULL } };

const struct cmd cmd_table[] = {
	{ "diff", cmd_diff, "[options] set-a set-b",
	    "show the difference between two key sets", diff_opts, NULL },
	{ "dump", NULL, "verb [options] [set...]",
	    "read, write, split, merge and inspect keydumps", no_opts,
	    dump_verbs },
	{ "fetch", cmd_fetch, "[options] [key...]",
	    "refresh certificates from keyservers", fetch_opts, NULL },
	{ "peers", cmd_peers, "[options] server...",
	    "map the keyserver gossip network and where a key has got to",
	    peers_opts, NULL },
	{ "push", cmd_push, "[options] [set]",
	    "upload changed certificates to keyservers", push_opts, NULL },
	{ "reconcile", cmd_reconcile, "[options] recon://host[:port] set",
	    "reconcile a key set with an SKS peer", reconcile_opts, NULL },
};
const size_t cmd_table_len = PGPS_ARRAY_SIZE(cmd_table);

const struct cmd *
cmd_find(const char *name)
{
	for (size_t i = 0; i < cmd_table_len; i++)
		if (strcmp(cmd_table[i].name, name) == 0)
			return &cmd_table[i];
	return NULL;
}

const struct verb *
cmd_find_verb(const struct cmd *c, const char *name)
{
	if (c->verbs == NULL)
		return NULL;
	for (const struct verb *v = c->verbs; v->name != NULL; v++)
		if (strcmp(v->name, name) == 0)
			return v;
	return NULL;
}

/* --- messages ------------------------------------------------------- */

const char *msg_cmdname;

/*
 * Messages name files, user IDs and what servers said: all of it goes to
 * the terminal through text_term_str(), so no escape sequence, control or
 * bidirectional override in it reaches the user's terminal.
 */
static void
vmsg(const char *kind, const char *fmt, va_list ap)
{
	char raw[1024], line[1024];

	vsnprintf(raw, sizeof(raw), fmt, ap);
	text_term_str(line, sizeof(line), raw);
	fflush(stdout);
	if (msg_cmdname != NULL)
		fprintf(stderr, "pgpsync: %s%s: %s\n", kind, msg_cmdname,
		    line);
	else
		fprintf(stderr, "pgpsync: %s%s\n", kind, line);
}

void
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg("", fmt, ap);
	va_end(ap);
	exit(EXIT_ERROR);
}

int
error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg("error: ", fmt, ap);
	va_end(ap);
	return -1;
}

void
warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg("warning: ", fmt, ap);
	va_end(ap);
}

void
info(struct ctx *ctx, const char *fmt, ...)
{
	va_list ap;

	if (ctx->quiet)
		return;
	va_start(ap, fmt);
	vmsg("", fmt, ap);
	va_end(ap);
}

void *
xmalloc(size_t n)
{
	void *p = malloc(n == 0 ? 1 : n);

	if (p == NULL)
		die("out of memory (%zu bytes)", n);
	return p;
}

void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n == 0 ? 1 : n, size == 0 ? 1 : size);

	if (p == NULL)
		die("out of memory");
	return p;
}

void *
xreallocarray(void *p, size_t n, size_t size)
{
	void *np = mem_reallocarray(p, n, size);

	if (np == NULL)
		die("out of memory");
	return np;
}

char *
xstrdup(const char *s)
{
	char *p = strdup(s);

	if (p == NULL)
		die("out of memory");
	return p;
}

int
parse_ulong(const char *s, unsigned long *out)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

int
parse_size(const char *s, size_t *out)
{
	char *end;
	unsigned long long v;
	unsigned int shift = 0;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0)
		return -1;
	switch (*end) {
	case '\0':			break;
	case 'k': case 'K':	shift = 10; end++; break;
	case 'm': case 'M':	shift = 20; end++; break;
	case 'g': case 'G':	shift = 30; end++; break;
	default:		return -1;
	}
	if (*end != '\0' || v > (SIZE_MAX >> shift))
		return -1;
	*out = (size_t)(v << shift);
	return 0;
}

int
jobs_opt(struct ctx *ctx, const char *arg)
{
	unsigned long n;

	if (parse_ulong(arg, &n) != 0 || n == 0 || n > 256)
		exit(usage_error(ctx, "--jobs: '%s' is not a number from 1 "
		    "to 256", arg));
	return (int)n;
}

int
limit_opt(struct ctx *ctx, struct pgp_limits *lim, int id, const char *arg)
{
	size_t sz;
	unsigned long n;

	switch (id) {
	case OPT_MAX_CERT_SIZE:
		if (parse_size(arg, &sz) != 0)
			exit(usage_error(ctx, "--max-cert-size: '%s' is not "
			    "a size", arg));
		lim->max_cert_size = sz;
		return 1;
	case OPT_MAX_PACKET_SIZE:
		if (parse_size(arg, &sz) != 0)
			exit(usage_error(ctx, "--max-packet-size: '%s' is "
			    "not a size", arg));
		lim->max_packet_size = sz;
		return 1;
	case OPT_MAX_SIGS:
		if (parse_ulong(arg, &n) != 0)
			exit(usage_error(ctx, "--max-sigs: '%s' is not a "
			    "number", arg));
		lim->max_sigs_per_uid = n;
		return 1;
	case OPT_NO_LIMITS:
		lim->max_cert_size = 0;
		lim->max_packet_size = 0;
		lim->max_sigs_per_uid = 0;
		return 1;
	case OPT_STRIP_THIRD_PARTY:
		lim->strip_third_party = true;
		return 1;
	default:
		return 0;
	}
}

/* --- progress -------------------------------------------------------- */

static double
now(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return tv.tv_sec + tv.tv_usec / 1e6;
}

void
progress_start(struct progress *p, struct ctx *ctx, const char *what,
    uint64_t total)
{
	p->ctx = ctx;
	p->what = what;
	p->total = total;
	p->last = now();
	p->shown = false;
}

void
progress_update(struct progress *p, uint64_t done, uint64_t items)
{
	double t;

	if (!p->ctx->progress)
		return;
	t = now();
	if (t - p->last < 0.2)
		return;
	p->last = t;
	p->shown = true;
	if (p->total > 0)
		fprintf(stderr, "\r%s: %3u%% (%llu MB of %llu MB), %llu "
		    "certificates", p->what,
		    (unsigned)(done * 100 / p->total),
		    (unsigned long long)(done >> 20),
		    (unsigned long long)(p->total >> 20),
		    (unsigned long long)items);
	else
		fprintf(stderr, "\r%s: %llu MB, %llu certificates", p->what,
		    (unsigned long long)(done >> 20),
		    (unsigned long long)items);
	fflush(stderr);
}

void
progress_end(struct progress *p)
{
	if (p->shown) {
		fprintf(stderr, "\r\033[K");
		fflush(stderr);
	}
	p->shown = false;
}

void
progress_report(uint64_t done, uint64_t items, void *progress)
{
	progress_update(progress, done, items);
}

void
progress_warn(const char *msg, void *progress)
{
	struct progress *p = progress;

	if (!p->ctx->quiet)
		warn("%s", msg);
}

/* --- output ---------------------------------------------------------- */

void
close_stdout(void)
{
	bool bad = fflush(stdout) != 0 || ferror(stdout);

	if (fclose(stdout) != 0 || bad) {
		if (errno == EPIPE)
			exit(EXIT_ERROR);
		die("write error on standard output: %s", strerror(errno));
	}
}

int
atomic_open(struct atomic_file *af, const char *path)
{
	struct pgps_err err = PGPS_ERR_INIT;

	if (atomic_file_open(af, path, &err) != 0)
		return error("%s", err.msg);
	return 0;
}

int
atomic_commit(struct atomic_file *af)
{
	struct pgps_err err = PGPS_ERR_INIT;

	if (atomic_file_commit(af, &err) != 0)
		return error("%s", err.msg);
	return 0;
}

void
atomic_abort(struct atomic_file *af)
{
	atomic_file_abort(af);
}
