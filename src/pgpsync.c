/*
 * pgpsync.c: main(): global options, dispatch to a command (and verb),
 * the exit status, and the check that standard output was really written.
 *
 * Hidden helper for the shell completions: "pgpsync __complete commands",
 * "__complete verbs CMD", "__complete options CMD [VERB]".
 */
#include "util/common.h"

#include <getopt.h>
#include <signal.h>
#include <unistd.h>

#include "cmd/cmd.h"

static const char main_usage[] =
    "[-hqvV] [--json] command [options] [args]";

static void
main_help(FILE *f)
{
	fprintf(f, "usage: pgpsync %s\n\n", main_usage);
	fprintf(f, "Keep OpenPGP keyrings in sync with keyservers and "
	    "keyserver dumps.\n\ncommands:\n");
	for (size_t i = 0; i < cmd_table_len; i++)
		fprintf(f, "  %-10s %s\n", cmd_table[i].name,
		    cmd_table[i].summary);
	fprintf(f, "\noptions:\n");
	for (const struct opt *o = global_opts; o->name != NULL; o++)
		fprintf(f, "  -%c, --%-10s %s\n", o->id, o->name, o->help);
	fprintf(f, "\nRun 'pgpsync help COMMAND' or 'pgpsync COMMAND -h' "
	    "for more.\n");
}

static void
verbs_help(FILE *f, const struct cmd *c)
{
	fprintf(f, "usage: pgpsync %s %s\n\nverbs:\n", c->name, c->usage);
	for (const struct verb *v = c->verbs; v->name != NULL; v++)
		fprintf(f, "  %-8s %s\n", v->name, v->summary);
}

static void
print_opts(const struct opt *opts)
{
	for (const struct opt *o = opts; o != NULL && o->name != NULL; o++)
		printf("--%s\n", o->name);
	printf("--help\n");
}

static int
complete(int argc, char **argv)
{
	const struct cmd *c;
	const struct verb *v;

	if (argc >= 1 && strcmp(argv[0], "commands") == 0) {
		for (size_t i = 0; i < cmd_table_len; i++)
			printf("%s\n", cmd_table[i].name);
		printf("help\n");
		return EXIT_OK;
	}
	if (argc >= 1 && strcmp(argv[0], "global") == 0) {
		print_opts(global_opts);
		return EXIT_OK;
	}
	if (argc < 2 || (c = cmd_find(argv[1])) == NULL)
		return EXIT_ERROR;
	if (strcmp(argv[0], "verbs") == 0) {
		for (v = c->verbs; v != NULL && v->name != NULL; v++)
			printf("%s\n", v->name);
		return EXIT_OK;
	}
	if (strcmp(argv[0], "options") == 0) {
		if (c->verbs != NULL) {
			if (argc < 3 || (v = cmd_find_verb(c, argv[2])) == NULL)
				return EXIT_ERROR;
			print_opts(v->opts);
		} else
			print_opts(c->opts);
		return EXIT_OK;
	}
	return EXIT_ERROR;
}

int
main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "json", no_argument, NULL, 'j' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct ctx ctx;
	const struct cmd *c;
	const struct verb *v;
	char name[64];
	int ch, rc;

	memset(&ctx, 0, sizeof(ctx));
	/* A closed pipe is a write error on stdout, not a silent death. */
	signal(SIGPIPE, SIG_IGN);
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+hjqvV", lo, NULL)) != -1) {
		switch (ch) {
		case 'h':
			main_help(stdout);
			close_stdout();
			return EXIT_OK;
		case 'j':
			ctx.json = true;
			break;
		case 'q':
			ctx.quiet = true;
			break;
		case 'v':
			ctx.verbose++;
			break;
		case 'V':
			printf("pgpsync %s\n", PGPSYNC_VERSION);
			close_stdout();
			return EXIT_OK;
		default:
			fprintf(stderr, "pgpsync: unknown option '%s'\n"
			    "usage: pgpsync %s\n", argv[optind - 1],
			    main_usage);
			return EXIT_ERROR;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0) {
		main_help(stderr);
		return EXIT_ERROR;
	}
	ctx.progress = !ctx.quiet && isatty(STDERR_FILENO);
	if (strcmp(argv[0], "__complete") == 0) {
		rc = complete(argc - 1, argv + 1);
		close_stdout();
		return rc;
	}
	if (strcmp(argv[0], "help") == 0) {
		if (argc >= 2) {
			if ((c = cmd_find(argv[1])) == NULL)
				die("'%s' is not a pgpsync command; see "
				    "'pgpsync --help'", argv[1]);
			snprintf(name, sizeof(name), "pgpsync-%s", c->name);
			fflush(stdout);
			execlp("man", "man", name, (char *)NULL);
			die("cannot run man: see 'pgpsync %s -h'", c->name);
		}
		main_help(stdout);
		close_stdout();
		return EXIT_OK;
	}
	if ((c = cmd_find(argv[0])) == NULL) {
		fprintf(stderr, "pgpsync: '%s' is not a pgpsync command; see "
		    "'pgpsync --help'\n", argv[0]);
		return EXIT_ERROR;
	}
	msg_cmdname = c->name;
	ctx.cmdname = c->name;
	ctx.usage = c->usage;
	ctx.opts = c->opts;
	if (c->verbs != NULL) {
		if (argc < 2 || strcmp(argv[1], "-h") == 0 ||
		    strcmp(argv[1], "--help") == 0) {
			verbs_help(argc < 2 ? stderr : stdout, c);
			if (argc < 2)
				return EXIT_ERROR;
			close_stdout();
			return EXIT_OK;
		}
		if ((v = cmd_find_verb(c, argv[1])) == NULL) {
			fprintf(stderr, "pgpsync: %s: '%s' is not a verb of "
			    "'%s'; see 'pgpsync %s -h'\n", c->name, argv[1],
			    c->name, c->name);
			return EXIT_ERROR;
		}
		snprintf(name, sizeof(name), "%s %s", c->name, v->name);
		ctx.cmdname = name;
		msg_cmdname = name;
		ctx.usage = v->usage;
		ctx.opts = v->opts;
		rc = v->fn(argc - 1, argv + 1, &ctx);
	} else
		rc = c->fn(argc, argv, &ctx);
	close_stdout();
	return rc;
}
