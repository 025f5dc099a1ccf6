/*
 * peers.c: "pgpsync peers", the keyserver gossip network -- who lists
 * whom as a reconciliation peer, who is behind, and with --key where one
 * certificate has got to.
 *
 * The crawl and the survey are keyset/peers.h's; this file only reads
 * options and prints: a table, JSON, or a Graphviz graph, which the
 * dot program (when installed) renders to SVG or PNG.  Mutual links are
 * one undirected edge, one-way links are directed, servers that did not
 * answer are dashed, and with --key each version of the certificate has
 * its colour.
 *
 * What is out of sync (keyset/peers.h decides: a count more than 1%
 * below a linked server's, a link one way only) is listed after the
 * table.  The exit status stays 0 for those: they describe the network,
 * not a failure of the run.
 */
#include "util/common.h"

#include <sys/wait.h>
#include <errno.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "cmd/out.h"
#include "keyset/peers.h"
#include "openpgp/keyid.h"
#include "net/net.h"
#include "util/buf.h"
#include "util/hex.h"
#include "util/text.h"

enum {
	OPT_ALLOW_PRIVATE = OPT_LONG,
	OPT_DEADLINE,
	OPT_DEPTH,
	OPT_DOT,
	OPT_JSON,
	OPT_KEY,
	OPT_MAX_RESPONSE,
	OPT_MAX_SERVERS,
	OPT_PNG,
	OPT_RATE,
	OPT_SVG
};

const struct opt peers_opts[] = {
	{ OPT_ALLOW_PRIVATE, "allow-private", NULL,
	    "ask peers listed at loopback or private addresses too" },
	{ OPT_DEADLINE, "deadline", "time",
	    "stop crawling and asking after this long (default 5m)" },
	{ OPT_DEPTH, "depth", "n",
	    "follow peers at most n links from those named (default 10)" },
	{ OPT_DOT, "dot", NULL, "print the graph in Graphviz's dot language" },
	{ OPT_JSON, "json", NULL, "print the graph as JSON" },
	{ OPT_KEY, "key", "fingerprint",
	    "ask every server for this certificate and compare the versions" },
	{ OPT_MAX_RESPONSE, "max-response", "size",
	    "refuse statistics pages larger than size (default 1M)" },
	{ OPT_MAX_SERVERS, "max-servers", "n",
	    "put at most n servers into the graph (default 200)" },
	{ OPT_PNG, "png", "file",
	    "render the graph to a PNG image with Graphviz's dot" },
	{ OPT_RATE, "rate", "n", "start at most n requests per second" },
	{ OPT_SVG, "svg", "file",
	    "render the graph to an SVG image with Graphviz's dot" },
	NET_OPTS,
	{ 0, NULL, NULL, NULL }
};

/* Fill colours of the versions of --key, in order; then they repeat. */
static const char *const palette[] = {
	"#8dd3c7", "#fdb462", "#bebada", "#fb8072", "#80b1d3", "#b3de69",
	"#fccde5", "#ffffb3"
};

static const char *
state_text(enum peers_state st)
{
	return st == PEERS_UNREACHABLE ? "unreachable" :
	    st == PEERS_REFUSED ? "refused" : "not asked";
}

static const char *const key_result_name[] = {
	"not_asked", "present", "absent", "refused", "failed"
};

static const char *const state_name[] = {
	"pending", "ok", "unreachable", "not_asked", "refused"
};

/* Short names of what a version lacks, per pgp_change_kind. */
static const char *const lack_name[PEERS_NKINDS] = {
	"uids", "attributes", "subkeys", "self_sigs", "expiry_changes",
	"certifications", "revocations", "other"
};

static const char *
name(const struct peers_node *nd)
{
	static char b[NET_HOST_MAX + 8];

	return peers_node_name(nd, b, sizeof(b));
}

static bool
has_keys(const struct peers_node *nd)
{
	return nd->state == PEERS_OK && nd->st.keys >= 0;
}

/* What node i's version lacks, "1 revocation, 2 certifications". */
static void
lacks_text(struct buf *b, const struct peers_key *k)
{
	bool any = false;

	for (size_t c = 0; c < PEERS_NKINDS; c++) {
		if (k->lacks[c] == 0)
			continue;
		buf_addf(b, "%s%zu %s", any ? ", " : "", k->lacks[c],
		    lack_name[c]);
		any = true;
	}
	if (!any)
		buf_addstr(b, "nothing");
}

static void
print_term(const char *s)
{
	struct buf b = BUF_INIT;

	text_term(&b, s, strlen(s), 0);
	fputs((const char *)b.p, stdout);
	buf_release(&b);
}

static void
print_table(const struct peers_graph *g)
{
	struct buf b = BUF_INIT;
	char hash[33];

	printf("%-30s %-18s %10s %10s %4s %4s  %s\n", "SERVER", "SOFTWARE",
	    "KEYS", "DELTA", "IN", "OUT", "STATUS");
	for (size_t i = 0; i < g->n; i++) {
		const struct peers_node *nd = &g->nodes[i];
		char sw[2 * NET_STATS_TEXT_MAX + 2];
		char keys[24] = "-", delta[24] = "-";

		snprintf(sw, sizeof(sw), "%s%s%s", nd->st.software,
		    nd->st.version[0] != '\0' ? " " : "", nd->st.version);
		if (has_keys(nd)) {
			snprintf(keys, sizeof(keys), "%lld", nd->st.keys);
			snprintf(delta, sizeof(delta), "%lld",
			    nd->st.keys - g->largest);
		}
		printf("%-30s %-18s %10s %10s %4zu %4zu  ", name(nd),
		    sw[0] != '\0' ? sw : "-", keys, delta, nd->nin, nd->nout);
		if (nd->state == PEERS_OK)
			fputs("ok", stdout);
		else {
			printf("%s: ", state_text(nd->state));
			print_term(nd->why);
		}
		putchar('\n');
	}
	for (size_t i = 0; i < g->n; i++) {
		const struct peers_node *nd = &g->nodes[i];

		for (size_t k = 0; k < nd->nout; k++)
			if (peers_one_way(g, i, nd->out[k])) {
				printf("one-way: %s lists ", name(nd));
				printf("%s, which does not list it back\n",
				    name(&g->nodes[nd->out[k]]));
			}
		if (nd->behind)
			printf("behind: %s has %lld keys, %lld fewer than a "
			    "peer (%lld)\n", name(nd), nd->st.keys,
			    nd->peer_max - nd->st.keys, nd->peer_max);
		if (nd->dropped > 0)
			printf("limit: %s lists %zu more servers than "
			    "--max-servers lets in\n", name(nd), nd->dropped);
	}
	if (!g->surveyed)
		return;
	printf("key %s: %zu version%s on %zu server%s", g->fpr, g->versions,
	    g->versions == 1 ? "" : "s", g->present,
	    g->present == 1 ? "" : "s");
	if (g->has_union) {
		hex_encode_upper(hash, g->union_hash, 16);
		printf(", union %s", hash);
	}
	putchar('\n');
	for (size_t i = 0; i < g->n; i++) {
		const struct peers_key *k = &g->nodes[i].key;

		if (g->nodes[i].state != PEERS_OK)
			continue;
		printf("  %-30s %-8s", name(&g->nodes[i]),
		    key_result_name[k->result]);
		if (k->result == PEERS_KEY_PRESENT) {
			hex_encode_upper(hash, k->hash, 16);
			buf_reset(&b);
			lacks_text(&b, k);
			printf(" version %zu  %s  lacks %s", k->version, hash,
			    (const char *)b.p);
		} else if (k->why[0] != '\0') {
			putchar(' ');
			print_term(k->why);
		}
		putchar('\n');
	}
	buf_release(&b);
}

static json_t *
jnum(long long v)
{
	return v >= 0 ? json_integer((json_int_t)v) : json_null();
}

static json_t *
key_json(const struct peers_key *k)
{
	json_t *o = json_object(), *l;
	char hash[33];

	json_object_set_new(o, "result", json_string(
	    key_result_name[k->result]));
	if (k->result == PEERS_KEY_PRESENT) {
		hex_encode_upper(hash, k->hash, 16);
		json_object_set_new(o, "hash", json_string(hash));
		json_object_set_new(o, "version", json_integer(
		    (json_int_t)k->version));
		l = json_object();
		for (size_t c = 0; c < PEERS_NKINDS; c++)
			json_object_set_new(l, lack_name[c], json_integer(
			    (json_int_t)k->lacks[c]));
		json_object_set_new(o, "lacks", l);
	}
	json_object_set_new(o, "error", k->why[0] != '\0' ?
	    out_json_str(k->why) : json_null());
	return o;
}

static void
print_json(const struct peers_graph *g)
{
	json_t *root = json_object(), *nodes = json_array(),
	    *edges = json_array(), *o;
	char hash[33];

	for (size_t i = 0; i < g->n; i++) {
		const struct peers_node *nd = &g->nodes[i];
		bool ok = nd->state == PEERS_OK;

		o = json_object();
		json_object_set_new(o, "id", json_string(name(nd)));
		json_object_set_new(o, "host", json_string(nd->host));
		json_object_set_new(o, "hkp_port", json_integer(nd->hkp_port));
		json_object_set_new(o, "recon_port", nd->recon_port != 0 ?
		    json_integer(nd->recon_port) : json_null());
		json_object_set_new(o, "seed", json_boolean(nd->seed));
		json_object_set_new(o, "depth", json_integer(nd->depth));
		json_object_set_new(o, "status", json_string(
		    state_name[nd->state]));
		json_object_set_new(o, "error", !ok && nd->why[0] != '\0' ?
		    out_json_str(nd->why) : json_null());
		json_object_set_new(o, "page", ok ? json_string(
		    net_stats_kind_name(nd->st.kind)) : json_null());
		json_object_set_new(o, "software", ok &&
		    nd->st.software[0] != '\0' ? out_json_str(
		    nd->st.software) : json_null());
		json_object_set_new(o, "version", ok &&
		    nd->st.version[0] != '\0' ? out_json_str(nd->st.version) :
		    json_null());
		json_object_set_new(o, "hostname", ok &&
		    nd->st.hostname[0] != '\0' ? out_json_str(
		    nd->st.hostname) : json_null());
		json_object_set_new(o, "keys", jnum(has_keys(nd) ?
		    nd->st.keys : -1));
		json_object_set_new(o, "keys_delta", has_keys(nd) ?
		    json_integer((json_int_t)(nd->st.keys - g->largest)) :
		    json_null());
		json_object_set_new(o, "taken", ok && nd->st.taken[0] !=
		    '\0' ? out_json_str(nd->st.taken) : json_null());
		json_object_set_new(o, "taken_time", ok &&
		    nd->st.taken_time != 0 ? json_integer(nd->st.taken_time) :
		    json_null());
		json_object_set_new(o, "peers_in", json_integer(
		    (json_int_t)nd->nin));
		json_object_set_new(o, "peers_out", json_integer(
		    (json_int_t)nd->nout));
		json_object_set_new(o, "peers_skipped", json_integer(
		    (json_int_t)(nd->st.peers_skipped + nd->self_links)));
		json_object_set_new(o, "peers_over_limit", json_integer(
		    (json_int_t)nd->dropped));
		json_object_set_new(o, "behind", json_boolean(nd->behind));
		if (g->surveyed)
			json_object_set_new(o, "key", key_json(&nd->key));
		json_array_append_new(nodes, o);
		for (size_t k = 0; k < nd->nout; k++) {
			size_t j = nd->out[k];
			bool mutual = peers_lists(&g->nodes[j], i);

			if (mutual && j < i)
				continue;	/* written from j */
			o = json_object();
			json_object_set_new(o, "from", json_string(name(nd)));
			json_object_set_new(o, "to", json_string(
			    name(&g->nodes[j])));
			json_object_set_new(o, "mutual", json_boolean(mutual));
			json_object_set_new(o, "one_way", json_boolean(
			    peers_one_way(g, i, j)));
			json_array_append_new(edges, o);
		}
	}
	json_object_set_new(root, "servers", json_integer((json_int_t)g->n));
	json_object_set_new(root, "largest", jnum(g->largest));
	json_object_set_new(root, "over_limit", json_integer(
	    (json_int_t)g->dropped));
	json_object_set_new(root, "requests", json_integer(
	    (json_int_t)g->requests));
	json_object_set_new(root, "nodes", nodes);
	json_object_set_new(root, "edges", edges);
	if (g->surveyed) {
		o = json_object();
		json_object_set_new(o, "fingerprint", json_string(g->fpr));
		json_object_set_new(o, "versions", json_integer(
		    (json_int_t)g->versions));
		json_object_set_new(o, "present", json_integer(
		    (json_int_t)g->present));
		hex_encode_upper(hash, g->union_hash, 16);
		json_object_set_new(o, "union_hash", g->has_union ?
		    json_string(hash) : json_null());
		json_object_set_new(root, "key", o);
	}
	if (json_dumpf(root, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER) !=
	    0)
		die("cannot write JSON");
	putchar('\n');
	json_decref(root);
}

/* A dot string literal: page text is printable ASCII (net/stats.h). */
static void
dot_str(struct buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			buf_addch(b, '\\');
		buf_addch(b, (uint8_t)*s);
	}
}

static void
make_dot(struct buf *b, const struct peers_graph *g)
{

	buf_addstr(b, "digraph peers {\n\tgraph [overlap=false, "
	    "splines=true];\n\tnode [shape=box, style=\"rounded,filled\", "
	    "fillcolor=white, fontname=\"Helvetica\"];\n");
	for (size_t i = 0; i < g->n; i++) {
		const struct peers_node *nd = &g->nodes[i];
		const struct peers_key *k = &nd->key;

		buf_addf(b, "\tn%zu [label=\"", i);
		dot_str(b, name(nd));
		if (nd->state == PEERS_OK) {
			buf_addstr(b, "\\n");
			dot_str(b, nd->st.software);
			buf_addstr(b, " ");
			dot_str(b, nd->st.version);
			if (has_keys(nd))
				buf_addf(b, "\\n%lld keys", nd->st.keys);
		} else {
			buf_addf(b, "\\n%s", state_text(nd->state));
		}
		if (g->surveyed && nd->state == PEERS_OK) {
			buf_addf(b, "\\nkey: %s", key_result_name[k->result]);
			if (k->result == PEERS_KEY_PRESENT)
				buf_addf(b, " v%zu%s", k->version,
				    k->nlacks > 0 ? " (incomplete)" : "");
		}
		buf_addstr(b, "\"");
		if (nd->state != PEERS_OK)
			buf_addstr(b, ", style=\"rounded,dashed\"");
		else if (g->surveyed && k->result == PEERS_KEY_PRESENT)
			buf_addf(b, ", fillcolor=\"%s\"", palette[(k->version -
			    1) % PGPS_ARRAY_SIZE(palette)]);
		else if (g->surveyed)
			buf_addstr(b, ", fillcolor=\"#eeeeee\"");
		if (g->nodes[i].behind)
			buf_addstr(b, ", color=red, penwidth=2");
		buf_addstr(b, "];\n");
	}
	for (size_t i = 0; i < g->n; i++)
		for (size_t k = 0; k < g->nodes[i].nout; k++) {
			size_t j = g->nodes[i].out[k];
			bool mutual = peers_lists(&g->nodes[j], i);

			if (mutual && j < i)
				continue;
			buf_addf(b, "\tn%zu -> n%zu%s;\n", i, j, mutual ?
			    " [dir=none]" : peers_one_way(g, i, j) ?
			    " [color=red]" : "");
		}
	buf_addstr(b, "}\n");
}

static bool
have_program(const char *prog)
{
	const char *path = getenv("PATH"), *p, *e;
	char full[4096];

	for (p = path != NULL ? path : "/usr/bin:/bin"; *p != '\0'; p = e) {
		e = strchr(p, ':');
		if (e == NULL)
			e = p + strlen(p);
		snprintf(full, sizeof(full), "%.*s/%s", (int)(e - p), p, prog);
		if (e > p && access(full, X_OK) == 0)
			return true;
		if (*e == ':')
			e++;
	}
	return false;
}

/* Renders the graph with "dot -Tfmt -o file"; -1 after an error. */
static int
render(const struct buf *dot, const char *fmt, const char *file)
{
	char tflag[16];
	int fd[2], st;
	pid_t pid;
	FILE *f;

	if (!have_program("dot"))
		return error("cannot write '%s': Graphviz's dot program is "
		    "not installed (Debian package graphviz); --dot prints "
		    "the graph for rendering elsewhere", file);
	snprintf(tflag, sizeof(tflag), "-T%s", fmt);
	fflush(stdout);
	if (pipe(fd) != 0)
		return error("pipe: %s", strerror(errno));
	if ((pid = fork()) < 0)
		return error("fork: %s", strerror(errno));
	if (pid == 0) {
		close(fd[1]);
		if (dup2(fd[0], 0) < 0)
			_exit(127);
		close(fd[0]);
		execlp("dot", "dot", tflag, "-o", file, (char *)NULL);
		_exit(127);
	}
	close(fd[0]);
	if ((f = fdopen(fd[1], "w")) == NULL) {
		close(fd[1]);
		waitpid(pid, &st, 0);
		return error("fdopen: %s", strerror(errno));
	}
	fwrite(dot->p, 1, dot->len, f);
	fclose(f);
	if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) ||
	    WEXITSTATUS(st) != 0)
		return error("cannot write '%s': dot -%s failed", file,
		    tflag + 1);
	return 0;
}

static void
note(const char *msg, void *arg)
{
	struct ctx *ctx = arg;

	if (ctx->verbose > 0)
		info(ctx, "%s", msg);
}

int
cmd_peers(int argc, char **argv, struct ctx *ctx)
{
	struct opt_parser op;
	struct peers_opts po;
	struct peers_graph g = PEERS_GRAPH_INIT;
	struct pgps_err err = PGPS_ERR_INIT;
	struct buf dot = BUF_INIT;
	struct pgp_keyid fpr;
	char what[PGP_KEYID_DESCRIBE_MAX];
	const char *arg, *key = NULL, *svg = NULL, *png = NULL;
	bool json = ctx->json, dotout = false;
	unsigned long n;
	int64_t secs;
	size_t reachable = 0;
	int id, first, ret = EXIT_OK;

	memset(&po, 0, sizeof(po));
	net_opt_default(&po.net);
	po.depth = 10;
	po.max_servers = 200;
	po.deadline_ms = 300000;
	po.max_page = (size_t)1 << 20;
	po.note = note;
	po.arg = ctx;
	opt_init(&op, argc, argv, ctx);
	while ((id = opt_next(&op, &arg)) != -1) {
		if (net_opt(ctx, &po.net, id, arg))
			continue;
		switch (id) {
		case OPT_ALLOW_PRIVATE:
			po.allow_private = true;
			break;
		case OPT_DEADLINE:
			if (parse_duration(arg, &secs) != 0 || secs == 0 ||
			    secs > 86400)
				exit(usage_error(ctx, "--deadline: bad value "
				    "'%s'", arg));
			po.deadline_ms = (long)secs * 1000;
			break;
		case OPT_DEPTH:
			if (parse_ulong(arg, &n) != 0 || n > 100)
				exit(usage_error(ctx, "--depth: bad value "
				    "'%s'", arg));
			po.depth = (unsigned int)n;
			break;
		case OPT_DOT:
			dotout = true;
			break;
		case OPT_JSON:
			json = true;
			break;
		case OPT_KEY:
			key = arg;
			break;
		case OPT_MAX_RESPONSE:
			if (parse_size(arg, &po.max_page) != 0 ||
			    po.max_page < 1024)
				exit(usage_error(ctx, "--max-response: bad "
				    "value '%s'", arg));
			break;
		case OPT_MAX_SERVERS:
			if (parse_ulong(arg, &n) != 0 || n == 0 ||
			    n > 100000)
				exit(usage_error(ctx, "--max-servers: bad "
				    "value '%s'", arg));
			po.max_servers = n;
			break;
		case OPT_PNG:
			png = arg;
			break;
		case OPT_RATE:
			if (parse_ulong(arg, &n) != 0 || n == 0 || n > 10000)
				exit(usage_error(ctx, "--rate: bad value '%s'",
				    arg));
			po.rate = n;
			break;
		case OPT_SVG:
			svg = arg;
			break;
		default:
			exit(usage_error(ctx, "unknown option"));
		}
	}
	first = opt_operands(&op);
	opt_release(&op);
	if (first >= argc)
		return usage_error(ctx, "no server named");
	if (json && dotout)
		return usage_error(ctx, "--json and --dot exclude each other");
	if (key != NULL && pgp_keyid_parse(&fpr, key, strlen(key),
	    PGP_KEYID_FPR) != 0)
		return usage_error(ctx, "--key: '%s' is not %s", key,
		    pgp_keyid_describe(what, PGP_KEYID_FPR));
	for (int i = first; i < argc; i++) {
		struct peers_node nd;

		if (peers_seed_parse(&nd, argv[i], &err) != 0)
			return usage_error(ctx, "%s", err.msg);
	}
	if (peers_crawl(&g, &po, (const char *const *)argv + first,
	    (size_t)(argc - first), &err) != 0 ||
	    (key != NULL && peers_survey(&g, &po, &fpr, &err) != 0)) {
		error("%s", err.msg);
		ret = EXIT_ERROR;
		goto cleanup;
	}
	for (size_t i = 0; i < g.n; i++)
		reachable += g.nodes[i].state == PEERS_OK;
	if (svg != NULL || png != NULL || dotout)
		make_dot(&dot, &g);
	if (json)
		print_json(&g);
	else if (dotout)
		fwrite(dot.p, 1, dot.len, stdout);
	else if (!ctx->quiet || reachable == 0)
		print_table(&g);
	if ((svg != NULL && render(&dot, "svg", svg) != 0) ||
	    (png != NULL && render(&dot, "png", png) != 0))
		ret = EXIT_ERROR;
	if (reachable == 0) {
		error("no server answered");
		ret = EXIT_ERROR;
	}
 cleanup:
	buf_release(&dot);
	peers_graph_release(&g);
	return ret;
}
