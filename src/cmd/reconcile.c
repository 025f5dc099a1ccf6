/*
 * reconcile.c: "pgpsync reconcile": SKS set reconciliation of a local key
 * set with a keyserver peer, then the transfer of exactly the missing
 * certificates in both directions.
 *
 * Connecting to the peer makes us the responder of the protocol; --listen
 * waits for an allowed peer to connect and makes us the driver.
 * Afterwards the certificates we lack are fetched with POST
 * /pks/hashquery from the peer's HTTP port, re-hashed, kept only if asked
 * for, and added to the set; the peer gets what it lacks by POST
 * /pks/add, or with --serve by fetching it from us as SKS peers do.
 *
 * This file is options and output.  The local set (a dump file or
 * directory, a store or a GnuPG keyring: its hashes, prefix tree, caches
 * and writing) is keyset/recon-set.h; the connection, the session and
 * the transfers are keyset/recon.h over net/recon.h; the protocol is
 * recon/recon.h.
 */
#include "util/common.h"

#include "cmd/cmd.h"
#include "cmd/out.h"
#include "keyset/keyset.h"
#include "keyset/recon-set.h"
#include "keyset/recon.h"
#include "net/net.h"
#include "net/recon.h"
#include "recon/recon.h"
#include "util/clock.h"
#include "util/hex.h"

enum {
	OPT_JSON = OPT_LONG,
	OPT_ALLOW,
	OPT_ALLOW_FILE,
	OPT_DRY_RUN,
	OPT_HTTP_PORT,
	OPT_SERVE,
	OPT_SERVE_PORT,
	OPT_LISTEN,
	OPT_TIMEOUT,
	OPT_NO_PUSH,
	OPT_WAIT
};

const struct opt reconcile_opts[] = {
	{ OPT_ALLOW, "allow", "address",
	    "with --listen, accept peers from this address, network "
	    "(address/bits) or host name; repeatable" },
	{ OPT_ALLOW_FILE, "allow-file", "file",
	    "with --listen, accept peers from the addresses in this file "
	    "(first word of each line, as an SKS membership file)" },
	{ OPT_DRY_RUN, "dry-run", NULL,
	    "only report the differences; exit 1 if there are any" },
	{ OPT_HTTP_PORT, "http-port", "port",
	    "fetch from this HTTP port of the peer instead of the one it "
	    "announces" },
	{ OPT_JSON, "json", NULL, "print JSON" },
	{ OPT_LISTEN, "listen", NULL,
	    "wait for the peer to connect to host:port (implies --serve)" },
	{ OPT_NO_PUSH, "no-push", NULL,
	    "do not upload what the peer lacks" },
	{ OPT_SERVE, "serve", NULL,
	    "let the peer fetch what it lacks from us instead of uploading" },
	{ OPT_SERVE_PORT, "serve-port", "port",
	    "HTTP port to serve on and announce (default: any free port)" },
	{ OPT_TIMEOUT, "timeout", "seconds",
	    "let each network phase (reconciling, fetching, uploading, "
	    "serving) last at most this long (default 600)" },
	{ OPT_WAIT, "wait", "seconds",
	    "while the peer is busy, keep trying this long (default 0)" },
	{ 0, NULL, NULL, NULL }
};

struct peer {
	char		 host[NET_HOST_MAX];
	unsigned int	 port;
	unsigned int	 http_port;
};

/* Everything one run of the command holds. */
struct run {
	struct ctx		*ctx;
	const char		*peer_arg;	/* the operand, for reports */
	const char		*setname;
	struct peer		 pe;
	struct keyset_rset	*set;
	struct progress		 prog;
	struct net_allow	*allow;		/* --listen: who may connect */
	unsigned long		 http_port, serve_port, timeout, busy_wait;
	bool			 dry_run, serve, listen, push;
	uint64_t		 skipped;
	size_t			 nlocal;
	bool			 store, gpg;	/* the kind of set */
	/* The reconciliation. */
	struct keyset_recon	 kr;
	struct net_hq_server	*srv;
	struct net_allow	*only_peer;	/* whom srv answers */
	/* The transfers. */
	struct keyset_recon_fetch f;
	struct keyset_recon_give pu;		/* uploaded */
	struct keyset_recon_give served;	/* served */
	struct keyset_rset_added sa;
	double			 t0, t_fetch, t_push;
};

/* The JSON names of keyset_rset_add()'s counts, for a store and for a
 * keyring. */
static const char *const added_json[2][5] = {
	{ "stored_new", "stored_merged", "stored_unchanged", "store_refused",
	    "stored_other_hash" },
	{ "imported_new", "imported_updated", "imported_unchanged",
	    "import_refused", "imported_other_hash" }
};

static void
json_hashes(json_t *o, const char *key, const struct recon_elem *v, size_t n)
{
	json_t *a = json_array();
	char hex[33];

	for (size_t i = 0; i < n; i++) {
		hex_encode_upper(hex, v[i].b, 16);
		json_array_append_new(a, json_string(hex));
	}
	json_object_set_new(o, key, a);
}

static void
print_hashes(const char *what, const struct recon_elem *v, size_t n)
{
	char hex[33];

	for (size_t i = 0; i < n; i++) {
		hex_encode_upper(hex, v[i].b, 16);
		printf("%s %s\n", what, hex);
	}
}

/* The text report of keyset_rset_add() (store) or a keyring's. */
static void
print_added(const struct keyset_rset_added *sa, bool store)
{
	printf("%s %llu new, %llu %s, %llu already held, %llu refused",
	    store ? "stored" : "imported into gpg:",
	    (unsigned long long)sa->put_new,
	    (unsigned long long)sa->put_merged,
	    store ? "merged into the stored version" : "updated",
	    (unsigned long long)sa->put_unchanged,
	    (unsigned long long)sa->refused);
	if (!store)
		printf("\n");
	else if (sa->committed)
		printf("; commit %.12s\n", sa->commit);
	else
		printf("; no commit\n");
	if (sa->other_hash > 0)
		printf("%llu %s under an SKS hash the peer does not have "
		    "(merged with %s)\n", (unsigned long long)sa->other_hash,
		    store ? "stored" : "held by gpg",
		    store ? "our version" : "the keyring's copy, or cut by "
		    "gpg");
}

/* A numeric option's value from min to max; a usage error otherwise. */
static unsigned long
num_arg(struct ctx *ctx, const char *name, const char *arg,
    unsigned long min, unsigned long max)
{
	unsigned long v;

	if (parse_ulong(arg, &v) != 0 || v < min || v > max)
		exit(usage_error(ctx, "%s: '%s' is not a number from %lu to "
		    "%lu", name, arg, min, max));
	return v;
}

static struct net_allow *
allow_new(void)
{
	struct net_allow *a = net_allow_new();

	if (a == NULL)
		die("out of memory");
	return a;
}

/*
 * Whom --listen accepts when no --allow or --allow-file was given: loopback
 * peers only, and only when listening on a loopback address; -1 (after a
 * usage error) when listening on another address.
 */
static int
allow_default(struct ctx *ctx, struct net_allow **allow, const char *host)
{
	struct pgps_err err = PGPS_ERR_INIT;

	*allow = allow_new();
	if (net_allow_add(*allow, "127.0.0.0/8", &err) != 0 ||
	    net_allow_add(*allow, "::1", &err) != 0)
		die("%s", err.msg);
	if (strcmp(host, "localhost") == 0 || net_allow_has(*allow, host))
		return 0;
	return usage_error(ctx, "--listen on '%s' needs --allow or "
	    "--allow-file: without them only loopback peers are accepted",
	    host);
}

/* The options and operands into *r; an exit status when they are wrong. */
static int
parse_args(struct run *r, int argc, char **argv)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct ctx *ctx = r->ctx;
	struct opt_parser op;
	const char *arg;
	int c, i;

	r->timeout = 600;
	r->push = true;
	opt_init(&op, argc, argv, ctx);
	while ((c = opt_next(&op, &arg)) != -1) {
		switch (c) {
		case OPT_JSON:
			ctx->json = true;
			break;
		case OPT_ALLOW:
		case OPT_ALLOW_FILE:
			if (r->allow == NULL)
				r->allow = allow_new();
			if ((c == OPT_ALLOW ? net_allow_add(r->allow, arg,
			    &err) : net_allow_load(r->allow, arg, &err)) != 0) {
				opt_release(&op);
				error("%s %s", c == OPT_ALLOW ? "--allow" :
				    "--allow-file", err.msg);
				return EXIT_ERROR;
			}
			break;
		case OPT_DRY_RUN:
			r->dry_run = true;
			break;
		case OPT_HTTP_PORT:
			r->http_port = num_arg(ctx, "--http-port", arg, 1,
			    65535);
			break;
		case OPT_SERVE:
			r->serve = true;
			break;
		case OPT_SERVE_PORT:
			r->serve_port = num_arg(ctx, "--serve-port", arg, 0,
			    65535);
			break;
		case OPT_LISTEN:
			r->listen = r->serve = true;
			break;
		case OPT_NO_PUSH:
			r->push = false;
			break;
		case OPT_TIMEOUT:
			r->timeout = num_arg(ctx, "--timeout", arg, 1, 86400);
			break;
		case OPT_WAIT:
			r->busy_wait = num_arg(ctx, "--wait", arg, 0, 86400);
			break;
		}
	}
	i = opt_operands(&op);
	opt_release(&op);
	if (argc - i < 1)
		return usage_error(ctx, "no peer given");
	if (net_recon_parse_peer(r->pe.host, sizeof(r->pe.host),
	    &r->pe.port, argv[i]) != 0)
		return usage_error(ctx, "'%s' is not recon://host[:port]",
		    argv[i]);
	if (argc - i < 2)
		return usage_error(ctx, "no key set given");
	if (argc - i > 2)
		return usage_error(ctx, "more than one key set given");
	r->peer_arg = argv[i];
	r->setname = argv[i + 1];
	if (r->serve)
		r->push = false;
	if (r->allow != NULL && !r->listen)
		return usage_error(ctx, "--allow and --allow-file go with "
		    "--listen");
	if (r->listen && r->allow == NULL &&
	    allow_default(ctx, &r->allow, r->pe.host) != 0)
		return EXIT_ERROR;
	if (strncmp(r->setname, "store:", 6) == 0 &&
	    strchr(r->setname + 6, '@') != NULL && !r->dry_run)
		return usage_error(ctx, "'%s': a revision cannot be updated; "
		    "use --dry-run", r->setname);
	return 0;
}

static void
set_warn(const char *msg, void *arg)
{
	(void)arg;
	warn("%s", msg);
}

static void
set_progress(uint64_t done, uint64_t certs, uint64_t total, void *arg)
{
	struct run *r = arg;

	r->prog.total = total;
	progress_update(&r->prog, done, certs);
}

/* Opens the local set: a keyring, a store, or a dump file or directory. */
static int
open_set(struct run *r)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct keyset_rset_hooks h = { 0, set_warn, set_progress, r };
	const char *path;
	int rc;

	progress_start(&r->prog, r->ctx, "hashing", 0);
	rc = keyset_rset_open(&r->set, r->setname, r->dry_run, &h, &err);
	progress_end(&r->prog);
	if (rc != 0)
		return error("%s", err.msg);
	path = keyset_rset_path(r->set);
	r->store = keyset_rset_kind(r->set) == KEYSET_STORE;
	r->gpg = keyset_rset_kind(r->set) == KEYSET_GPG;
	r->nlocal = keyset_rset_count(r->set);
	r->skipped = keyset_rset_skipped(r->set);
	if (r->skipped > 0)
		warn("%llu damaged certificate%s or region%s of '%s' left out",
		    (unsigned long long)r->skipped, r->skipped == 1 ? "" : "s",
		    r->skipped == 1 ? "" : "s", path);
	if (r->ctx->verbose > 0)
		info(r->ctx, "%zu certificates in '%s' (%s)", r->nlocal, path,
		    keyset_rset_cached(r->set) ? "cached tree" : "tree built");
	return 0;
}

static void
refused(const char *ip, void *arg)
{
	(void)arg;
	warn("refused a connection from %s: not an allowed peer", ip);
}

static void
note(const char *msg, bool detail, void *arg)
{
	struct run *r = arg;

	if (!detail || r->ctx->verbose > 0)
		info(r->ctx, "%s", msg);
}

/*
 * Once connected: with --serve, the hashquery server on the address the
 * peer sees, for the peer's address alone.  The HTTP port to announce.
 */
static int
connected(int fd, void *arg, struct pgps_err *err)
{
	struct run *r = arg;
	char local_ip[64] = "", peer_ip[64];
	int rc;

	if (!r->serve || r->dry_run)
		return (int)r->serve_port;
	keyset_rset_serving(r->set);
	(void)net_sock_local_ip(fd, local_ip, sizeof(local_ip));
	r->only_peer = allow_new();
	if (net_sock_peer_ip(fd, peer_ip, sizeof(peer_ip)) != 0)
		return pgps_err_set(err, PGPS_ENET, "cannot tell the peer's "
		    "address");
	if ((rc = net_allow_add(r->only_peer, peer_ip, err)) != 0 ||
	    (rc = net_hq_server_start(&r->srv, local_ip,
	    (unsigned int)r->serve_port, r->only_peer, keyset_rset_read, r->set,
	    err)) != 0)
		return rc;
	return (int)net_hq_server_port(r->srv);
}

/* The reconciliation; then where to fetch from. */
static int
reconcile(struct run *r)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct keyset_recon_opts ro;

	memset(&ro, 0, sizeof(ro));
	ro.host = r->pe.host;
	ro.port = r->pe.port;
	ro.listen = r->listen;
	ro.allow = r->allow;
	ro.timeout_ms = (long)r->timeout * 1000;
	ro.busy_wait_s = (double)r->busy_wait;
	ro.connected = connected;
	ro.note = note;
	ro.refused = refused;
	ro.arg = r;
	if (keyset_recon_run(&r->kr, keyset_rset_tree(r->set), &ro, &err) != 0)
		return error("%s", err.msg);
	keyset_rset_cache(r->set);
	if (r->http_port != 0)
		r->pe.http_port = (unsigned int)r->http_port;
	else if (r->kr.peer_http_port != 0)
		r->pe.http_port = r->kr.peer_http_port;
	else if (!r->dry_run)
		return error("the peer announced no HTTP port; give "
		    "--http-port");
	if (r->listen)
		snprintf(r->pe.host, sizeof(r->pe.host), "%s", r->kr.peer_ip);
	return 0;
}

/* Fetches what we lack, gives the peer its part, writes the set. */
static int
transfer(struct run *r)
{
	struct pgps_err err = PGPS_ERR_INIT;
	long phase_ms = (long)r->timeout * 1000;
	char url[NET_HOST_MAX + 32], note[NET_HOST_MAX + 64];

	net_recon_http_url(url, sizeof(url), r->pe.host, r->pe.http_port);
	r->t_fetch = clock_s();
	if (keyset_rset_fetch(r->set, url, r->kr.want, r->kr.nwant, phase_ms,
	    &r->f, &err) != 0)
		return error("%s", err.msg);
	if (r->f.late)
		warn("fetching not finished within %.1f s; keeping the %llu "
		    "certificates that came", phase_ms / 1000.0,
		    (unsigned long long)r->f.fetched);
	r->t_push = clock_s();
	if (r->push && r->kr.ngive > 0) {
		keyset_rset_serving(r->set);
		if (keyset_recon_push(&r->pu, url, r->kr.give, r->kr.ngive,
		    phase_ms, keyset_rset_read, set_warn, r->set, &err) != 0)
			return error("%s", err.msg);
		if (r->pu.late)
			warn("uploading not finished within %.1f s",
			    phase_ms / 1000.0);
	}
	r->t_fetch = r->t_push - r->t_fetch;
	r->t_push = clock_s() - r->t_push;
	if (r->srv != NULL) {
		keyset_recon_serve(&r->served, r->srv, &r->kr, r->listen,
		    phase_ms);
		net_hq_server_stop(r->srv);
		r->srv = NULL;
	}
	snprintf(note, sizeof(note), "pgpsync reconcile with %s",
	    r->peer_arg);
	if (keyset_rset_add(r->set, note, &r->sa, &err) != 0)
		return error("%s", err.msg);
	return 0;
}

static void
jint(json_t *o, const char *key, uint64_t v)
{
	json_object_set_new(o, key, json_integer((json_int_t)v));
}

static void
report_json(const struct run *r)
{
	const struct keyset_recon *kr = &r->kr;
	const struct recon_session_stats *st = &kr->stats;
	const char *written = keyset_rset_written(r->set);
	json_t *o = json_object();

	json_object_set_new(o, "peer", out_json_str(r->peer_arg));
	json_object_set_new(o, "role", json_string(r->listen ? "driver" :
	    "responder"));
	jint(o, "local_certificates", r->nlocal);
	jint(o, "excluded", keyset_rset_excluded(r->set));
	json_object_set_new(o, "cache", json_string(keyset_rset_cached(r->set) ?
	    "used" : "built"));
	jint(o, "we_lack", kr->nwant);
	jint(o, "peer_lacks", kr->npeer_lacks);
	json_object_set_new(o, "peer_lacks_partial", json_boolean(r->listen));
	jint(o, "peer_may_lack", kr->ngive - kr->npeer_lacks);
	jint(o, "bytes_sent", st->bytes_out);
	jint(o, "bytes_received", st->bytes_in);
	jint(o, "rounds", kr->rounds);
	jint(o, "requests_poly", st->requests_poly);
	jint(o, "requests_full", st->requests_full);
	if (r->listen) {
		jint(o, "probe_level", st->probe_level);
		jint(o, "small_nodes_split", st->split_small);
	}
	json_hashes(o, "we_lack_hashes", kr->want, kr->nwant);
	json_hashes(o, "peer_lacks_hashes", kr->give, kr->ngive);
	if (!r->dry_run) {
		jint(o, "fetched", r->f.fetched);
		jint(o, "fetch_bytes", r->f.bytes);
		jint(o, "pushed", r->pu.pushed);
		jint(o, "push_failed", r->pu.failed);
		jint(o, "served", r->served.pushed);
		json_object_set_new(o, "output", written != NULL ?
		    out_json_str(written) : json_null());
	}
	if (!r->dry_run && r->store)
		json_object_set_new(o, "commit", r->sa.committed ?
		    json_string(r->sa.commit) : json_null());
	if (!r->dry_run && (r->store || r->gpg)) {
		const char *const *nm = added_json[r->gpg];
		uint64_t v[5] = { r->sa.put_new, r->sa.put_merged,
		    r->sa.put_unchanged, r->sa.refused, r->sa.other_hash };

		for (size_t k = 0; k < 5; k++)
			jint(o, nm[k], v[k]);
	}
	json_object_set_new(o, "seconds", json_real(clock_s() - r->t0));
	json_object_set_new(o, "seconds_reconciling",
	    json_real(kr->t_end - kr->t_start));
	if (!r->dry_run) {
		json_object_set_new(o, "seconds_fetching",
		    json_real(r->t_fetch));
		json_object_set_new(o, "seconds_uploading",
		    json_real(r->t_push));
	}
	json_dumpf(o, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
	fputc('\n', stdout);
	json_decref(o);
}

static void
report_text(const struct run *r)
{
	const struct keyset_recon *kr = &r->kr;
	size_t nmaybe = kr->ngive - kr->npeer_lacks;
	const char *written = keyset_rset_written(r->set);

	if (r->dry_run) {
		print_hashes("lack", kr->want, kr->nwant);
		print_hashes("give", kr->give, kr->ngive);
	}
	if (r->ctx->quiet)
		return;
	/* As the driver we hear only part of what the peer lacks. */
	printf(r->listen ? "we lack %zu, the peer at least %zu" :
	    "we lack %zu, the peer lacks %zu", kr->nwant, kr->npeer_lacks);
	if (nmaybe > 0)
		printf(" (and maybe %zu more)", nmaybe);
	printf("; recon: %llu octets sent, %llu received, %llu rounds\n",
	    (unsigned long long)kr->stats.bytes_out,
	    (unsigned long long)kr->stats.bytes_in,
	    (unsigned long long)kr->rounds);
	if (r->dry_run)
		return;
	printf("fetched %llu%s%s, uploaded %llu, served %llu\n",
	    (unsigned long long)r->f.fetched, written != NULL ?
	    " into " : "", written != NULL ? written : "",
	    (unsigned long long)r->pu.pushed,
	    (unsigned long long)r->served.pushed);
	if ((r->store || r->gpg) && r->f.fetched > 0)
		print_added(&r->sa, r->store);
}

/* The exit status of a run that went through. */
static int
run_status(const struct run *r)
{
	if (r->dry_run)
		return r->kr.nwant > 0 || r->kr.ngive > 0 ? EXIT_DIFFER :
		    EXIT_OK;
	if (r->f.fetched < r->kr.nwant)
		warn("%llu of %zu missing certificates not obtained",
		    (unsigned long long)(r->kr.nwant - r->f.fetched),
		    r->kr.nwant);
	if (r->f.fetched < r->kr.nwant || r->pu.failed > 0 ||
	    r->skipped > 0 || r->sa.refused > 0)
		return EXIT_PARTIAL;
	return EXIT_OK;
}

int
cmd_reconcile(int argc, char **argv, struct ctx *ctx)
{
	struct run r;
	int rc;

	memset(&r, 0, sizeof(r));
	r.ctx = ctx;
	r.t0 = clock_s();
	if ((rc = parse_args(&r, argc, argv)) != 0)
		goto out;
	rc = EXIT_ERROR;
	if (open_set(&r) != 0 || reconcile(&r) != 0 ||
	    (!r.dry_run && transfer(&r) != 0))
		goto out;
	if (ctx->json)
		report_json(&r);
	else
		report_text(&r);
	rc = run_status(&r);
 out:
	net_hq_server_stop(r.srv);
	net_allow_free(r.only_peer);
	net_allow_free(r.allow);
	keyset_recon_release(&r.kr);
	keyset_rset_free(r.set);
	return rc;
}
