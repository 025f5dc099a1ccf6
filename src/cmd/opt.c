/*
 * opt.c: options from the tables in cmd.c and the commands, through
 * getopt_long, so -h, usage errors, the man pages' option lists and the
 * completions all come from one place.
 */
#include "util/common.h"

#include <getopt.h>
#include <stdarg.h>

#include "cmd/cmd.h"

const struct opt global_opts[] = {
	{ 'h', "help", NULL, "show this help" },
	{ 'j', "json", NULL, "print machine-readable JSON where supported" },
	{ 'q', "quiet", NULL, "print nothing but errors" },
	{ 'v', "verbose", NULL, "print more about what happens" },
	{ 'V', "version", NULL, "print the version and exit" },
	{ 0, NULL, NULL, NULL }
};

void
opt_init(struct opt_parser *op, int argc, char **argv, struct ctx *ctx)
{
	struct option *lo;
	size_t n = 0, k = 0, i;

	for (const struct opt *o = ctx->opts; o->name != NULL; o++)
		n++;
	lo = xcalloc(n + 2, sizeof(*lo));
	op->argc = argc;
	op->argv = argv;
	op->ctx = ctx;
	op->longopts = lo;
	/* '+': stop at the first operand?  No: allow options after sets. */
	op->shortopts[k++] = ':';
	op->shortopts[k++] = 'h';
	for (i = 0; i < n; i++) {
		const struct opt *o = &ctx->opts[i];

		lo[i].name = o->name;
		lo[i].has_arg = o->arg != NULL ? required_argument : no_argument;
		lo[i].flag = NULL;
		lo[i].val = o->id;
		if (o->id > 0 && o->id < OPT_LONG &&
		    k + 3 < sizeof(op->shortopts)) {
			op->shortopts[k++] = (char)o->id;
			if (o->arg != NULL)
				op->shortopts[k++] = ':';
		}
	}
	lo[n].name = "help";
	lo[n].has_arg = no_argument;
	lo[n].val = 'h';
	op->shortopts[k] = '\0';
	optind = 0;		/* glibc: full reset */
	opterr = 0;
}

int
opt_next(struct opt_parser *op, const char **arg)
{
	int c = getopt_long(op->argc, op->argv, op->shortopts, op->longopts,
	    NULL);

	*arg = optarg;
	switch (c) {
	case -1:
		return -1;
	case 'h':
		opt_help(stdout, op->ctx);
		close_stdout();
		exit(EXIT_OK);
	case '?':
		if (optopt != 0 && optopt < OPT_LONG)
			exit(usage_error(op->ctx, "unknown option '-%c'",
			    optopt));
		exit(usage_error(op->ctx, "unknown option '%s'",
		    op->argv[optind - 1]));
	case ':':
		exit(usage_error(op->ctx, "option '%s' needs an argument",
		    op->argv[optind - 1]));
	default:
		return c;
	}
}

int
opt_operands(struct opt_parser *op)
{
	(void)op;
	return optind;
}

void
opt_release(struct opt_parser *op)
{
	free(op->longopts);
	op->longopts = NULL;
}

int
usage_error(struct ctx *ctx, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fflush(stdout);
	fprintf(stderr, "pgpsync: %s: %s\n", ctx->cmdname, line);
	fprintf(stderr, "usage: pgpsync %s %s\n", ctx->cmdname, ctx->usage);
	return EXIT_ERROR;
}

void
opt_help(FILE *f, struct ctx *ctx)
{
	fprintf(f, "usage: pgpsync %s %s\n", ctx->cmdname, ctx->usage);
	if (ctx->opts == NULL || ctx->opts[0].name == NULL)
		return;
	fprintf(f, "\n");
	for (const struct opt *o = ctx->opts; o->name != NULL; o++) {
		char left[64];

		if (o->id > 0 && o->id < OPT_LONG)
			snprintf(left, sizeof(left), "-%c, --%s%s%s", o->id,
			    o->name, o->arg ? " " : "", o->arg ? o->arg : "");
		else
			snprintf(left, sizeof(left), "    --%s%s%s", o->name,
			    o->arg ? " " : "", o->arg ? o->arg : "");
		fprintf(f, "  %-28s %s\n", left, o->help);
	}
}
