/*
 * push.c: "pgpsync push", uploading certificates to keyservers.
 *
 * Every certificate of the set goes to every keyserver given (not to the
 * first that works, as a lookup does: each server is a separate
 * audience), each in its own request so that the report says per key and
 * per server what was accepted.  The upload is the ASCII-armored
 * certificate with its CRC line as the only form field, keytext=, which
 * is all SKS understands; Hockeypuck takes the same.  SKS answers HTTP 200
 * even when it refused a key and says so in the page; that counts as a
 * failure (net/client.c).
 *
 * A VKS server (vks://, https://) gets the same armor through the VKS API
 * of keys.openpgp.org instead: POST /vks/v1/upload with {"keytext": ...},
 * answered with the key's fingerprint, the publication status of each of
 * its e-mail addresses and a token.  Only /pks/add would publish the key
 * without its user IDs.  The statuses are reported per key; with
 * --request-verify the addresses still "unpublished" are then sent to
 * /vks/v1/request-verify with that token, which makes the server mail a
 * confirmation link to each -- never by default, since it mails people.
 *
 * By default a certificate goes to a server only when it differs from
 * what was last pushed there successfully, or from what that server sent
 * at the last fetch (the SKS hash in the state file): a daily push sends
 * only what changed.  The poison limits apply before anything leaves,
 * and secret keys never do.
 *
 * Not here: the locale of request-verify (the server's default language
 * is used), and the multi-certificate answer of /vks/v1/upload, a bare
 * list of fingerprints, which one certificate per request never gets
 * (it is accepted, without statuses).
 */
#include "util/common.h"

#include <errno.h>

#include "cmd/cmd.h"
#include "cmd/out.h"
#include "keyset/keyset.h"
#include "keyset/outgoing.h"
#include "keyset/state.h"
#include "net/net.h"
#include "net/vks.h"
#include "openpgp/openpgp.h"
#include "openpgp/uid.h"
#include "util/digest.h"
#include "util/hex.h"
#include "util/text.h"

enum {
	OPT_ALL = OPT_LONG,
	OPT_DRY_RUN,
	OPT_HOMEDIR,
	OPT_JSON,
	OPT_REQUEST_VERIFY,
	OPT_STATE
};

const struct opt push_opts[] = {
	{ OPT_ALL, "all", NULL,
	    "push every certificate, changed or not" },
	{ OPT_DRY_RUN, "dry-run", NULL,
	    "show what would be pushed; send nothing" },
	{ OPT_HOMEDIR, "homedir", "dir",
	    "GnuPG home (default: $GNUPGHOME or ~/.gnupg)" },
	{ OPT_JSON, "json", NULL, "print the result as JSON" },
	{ 'k', "keyserver", "url", "keyserver to upload to (repeatable)" },
	{ OPT_REQUEST_VERIFY, "request-verify", NULL,
	    "have VKS servers mail a link to unpublished addresses" },
	{ OPT_STATE, "state", "file",
	    "state file (default $XDG_STATE_HOME/pgpsync/state.json)" },
	NET_OPTS,
	LIMIT_OPTS,
	{ 0, NULL, NULL, NULL }
};

/* Uploads in flight before the client is run: bounds the memory. */
#define PUSH_BATCH	256

enum outcome {
	O_PUSHED,
	O_FAILED,
	O_UNCHANGED,
	O_WOULD_PUSH,
	O_REFUSED	/* not sent: secret, over the limits, damaged */
};

static const char *const outcome_name[] = {
	"pushed", "failed", "unchanged", "would_push", "refused"
};

struct push {
	struct ctx		*ctx;
	struct pgp_limits	 lim;
	struct net_opts		 nopts;
	const char		*servers[NET_MAX_SERVERS];
	struct net_server	 srv[NET_MAX_SERVERS];
	size_t			 nservers;
	struct net_client	*net;
	struct state		*st;
	const char		*state_path;
	struct digest		*md5;
	struct outgoing		 og;		/* the certificate taken */
	bool			 all;
	bool			 dry_run;
	bool			 json;
	bool			 request_verify;
	int64_t			 now;
	size_t			 inflight;
	unsigned long		 n[O_REFUSED + 1];
	unsigned long		 verify_failed;
	unsigned long		 certs;
	json_t			*jcerts;
};

/* One upload in flight (and, on a VKS server, its request-verify). */
struct upload {
	struct push	*p;
	char		 fpr[2 * PGP_FPR_MAX + 1];
	uint8_t		 hash[16];
	int		 server;
	bool		 vks;
	bool		 verifying;	/* the request-verify is out */
	json_t		*jservers;	/* borrowed from the cert's object */
	char		**cert_addrs;	/* the certificate's addresses */
	size_t		 ncert_addrs;
	struct net_vks_answer ans;	/* VKS: statuses, anomalies, token */
	char		*verify_error;	/* VKS: request-verify failed */
};

static void
upload_free(struct upload *u)
{
	if (u == NULL)
		return;
	pgp_addresses_free(u->cert_addrs, u->ncert_addrs);
	net_vks_answer_release(&u->ans);
	free(u->verify_error);
	free(u);
}

/* "  address: status" lines (sorted by address, net_vks_answer_parse()). */
static void
print_addresses(const struct net_vks_answer *a)
{
	char addr[256], st[64];

	for (size_t i = 0; i < a->nst; i++) {
		text_term_str(addr, sizeof(addr), a->st[i].address);
		text_term_str(st, sizeof(st), a->st[i].status);
		printf("  %s: %s\n", addr, st);
	}
}

/* What a VKS server said of the addresses, into the JSON of j. */
static void
addresses_json(json_t *j, const struct net_vks_answer *a)
{
	json_t *o, *l;

	if (a->statuses) {
		o = json_object();
		for (size_t i = 0; i < a->nst; i++)
			json_object_set_new(o, a->st[i].address,
			    out_json_str(a->st[i].status));
		json_object_set_new(j, "addresses", o);
	}
	if (a->nunexpected > 0) {
		l = json_array();
		for (size_t i = 0; i < a->nunexpected; i++)
			json_array_append_new(l,
			    out_json_str(a->unexpected[i]));
		json_object_set_new(j, "unexpected_addresses", l);
	}
}

/* u: the upload, for what a VKS server said; NULL otherwise. */
static void
record(struct push *p, json_t *jservers, const char *fpr, int server,
    enum outcome o, const char *why, const struct upload *u)
{
	const char *base = server >= 0 ? p->srv[server].base : NULL;
	char a[256];
	json_t *j;

	p->n[o]++;
	if (u != NULL && u->verify_error != NULL)
		p->verify_failed++;
	if (p->json) {
		if (jservers == NULL)
			return;
		j = json_object();
		json_object_set_new(j, "server", out_json_str(base));
		json_object_set_new(j, "result", json_string(outcome_name[o]));
		if (why != NULL)
			json_object_set_new(j, "error", out_json_str(why));
		if (u != NULL)
			addresses_json(j, &u->ans);
		if (u != NULL && u->verify_error != NULL)
			json_object_set_new(j, "verify_error",
			    out_json_str(u->verify_error));
		json_array_append_new(jservers, j);
		return;
	}
	for (size_t i = 0; u != NULL && i < u->ans.nunexpected; i++) {
		text_term_str(a, sizeof(a), u->ans.unexpected[i]);
		warn("'%s': server anomaly: '%s' names the address '%s', "
		    "which no user ID of the certificate has; not shown", fpr,
		    base, a);
	}
	switch (o) {
	case O_PUSHED:
		printf("pushed %s to %s\n", fpr, base);
		if (u != NULL)
			print_addresses(&u->ans);
		if (u != NULL && u->verify_error != NULL)
			warn("'%s': verification request to '%s' failed: %s",
			    fpr, base, u->verify_error);
		break;
	case O_WOULD_PUSH:
		printf("would push %s to %s\n", fpr, base);
		break;
	case O_UNCHANGED:
		if (p->ctx->verbose > 0)
			printf("unchanged %s on %s\n", fpr, base);
		break;
	case O_FAILED:
		warn("'%s' to '%s': %s", fpr, base, why);
		break;
	case O_REFUSED:
		warn("'%s': not pushed: %s", fpr, why);
		break;
	}
}

/*
 * Reads the JSON answer of an upload or request-verify into u->ans
 * (net_vks_answer_parse()): a list, which has no statuses, leaves the
 * statuses of an earlier answer.  0, or -1 with the reason in why.
 */
static int
vks_parse(struct upload *u, const struct net_result *res, char *why,
    size_t whylen)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct net_vks_answer a = NET_VKS_ANSWER_INIT;

	if (net_vks_answer_parse(&a, res->body->p, res->body->len, res->url,
	    u->fpr, (const char *const *)u->cert_addrs, u->ncert_addrs,
	    &err) != 0) {
		snprintf(why, whylen, "%s", err.msg);
		return -1;
	}
	if (a.statuses) {
		if (a.token == NULL) {
			a.token = u->ans.token;
			u->ans.token = NULL;
		}
		net_vks_answer_release(&u->ans);
		u->ans = a;
	} else
		net_vks_answer_release(&a);
	return 0;
}

static int upload_done(struct net_result *res, void *arg);

/*
 * Asks u's server to mail the addresses still unpublished.  1 when the
 * request was queued (u then belongs to its callback), 0 when there is
 * nothing to ask or it could not be queued (u->verify_error says why).
 */
static int
verify_submit(struct upload *u)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct net_request rq = NET_REQUEST_INIT;
	struct buf body = BUF_INIT;
	const char **list;
	size_t n = 0;
	int r;

	if (u->ans.token == NULL || !u->ans.statuses)
		return 0;
	list = xreallocarray(NULL, u->ans.nst + 1, sizeof(*list));
	for (size_t i = 0; i < u->ans.nst; i++)
		if (strcmp(u->ans.st[i].status, "unpublished") == 0)
			list[n++] = u->ans.st[i].address;
	r = n == 0 ? 0 : net_vks_verify_body(&body, u->ans.token, list, n);
	free(list);
	if (n == 0)
		return 0;
	if (r != 0)
		die("out of memory");
	rq.op = NET_OP_VKS_VERIFY;
	rq.data = body.p;
	rq.datalen = body.len;
	rq.server = u->server;
	rq.done = upload_done;
	rq.arg = u;
	r = net_submit(u->p->net, &rq, &err);
	buf_release(&body);
	if (r != 0) {
		u->verify_error = xstrdup(err.msg);
		return 0;
	}
	u->verifying = true;
	u->p->inflight++;
	return 1;
}

/* The answer to an upload or, for a VKS server, to its request-verify. */
static int
upload_done(struct net_result *res, void *arg)
{
	struct upload *u = arg;
	struct push *p = u->p;
	char why[512];
	bool ok;

	p->inflight--;
	if (res->code != 0 && u->vks)
		net_vks_error(why, sizeof(why), res);
	else if (res->code != 0)
		snprintf(why, sizeof(why), "%s", res->error);
	ok = res->code == 0 && (!u->vks ||
	    vks_parse(u, res, why, sizeof(why)) == 0);
	if (u->verifying) {
		/* The key went up either way; the statuses are the newest. */
		if (!ok)
			u->verify_error = xstrdup(why);
	} else if (!ok) {
		record(p, u->jservers, u->fpr, u->server, O_FAILED, why, u);
		goto done;
	} else {
		if (p->st != NULL && state_set_pushed(p->st, u->fpr,
		    p->srv[u->server].base, u->hash, p->now) != 0)
			die("out of memory");
		if (u->vks && p->request_verify && verify_submit(u) == 1)
			return 0;
	}
	record(p, u->jservers, u->fpr, u->server, O_PUSHED, NULL, u);
 done:
	upload_free(u);
	return 0;
}

static int
run(struct push *p)
{
	struct pgps_err err = PGPS_ERR_INIT;

	if (p->inflight == 0)
		return 0;
	if (net_run(p->net, &err) != 0)
		return error("%s", err.msg);
	return 0;
}

/* One certificate of the set: refused, or queued for every server. */
static int
take(struct push *p, const struct pgp_raw_cert *raw, const char *source)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct net_request rq = NET_REQUEST_INIT;
	struct outgoing *o = &p->og;
	struct buf vbody = BUF_INIT;
	json_t *jc = NULL, *js = NULL;
	int r;

	p->certs++;
	if ((r = outgoing_prepare(o, raw, source, &p->lim, p->md5)) < 0)
		die("out of memory");
	if (p->json) {
		jc = json_object();
		json_object_set_new(jc, "fingerprint", out_json_str(o->fpr));
		json_array_append_new(p->jcerts, jc);
	}
	if (r == 1) {
		if (jc != NULL) {
			json_object_set_new(jc, "result", json_string("refused"));
			json_object_set_new(jc, "error", out_json_str(o->why));
		}
		record(p, NULL, o->fpr, -1, O_REFUSED, o->why, NULL);
		goto done;
	}
	if (jc != NULL)
		json_object_set_new(jc, "servers", js = json_array());
	for (size_t s = 0; s < p->nservers; s++) {
		struct upload *u;

		if (!p->all && state_server_has(p->st, o->fpr, p->srv[s].base,
		    o->hash)) {
			record(p, js, o->fpr, (int)s, O_UNCHANGED, NULL, NULL);
			continue;
		}
		if (p->dry_run) {
			record(p, js, o->fpr, (int)s, O_WOULD_PUSH, NULL, NULL);
			continue;
		}
		/* Armored once, and only when some server needs it. */
		if (outgoing_armor(o) != 0)
			die("out of memory");
		u = xcalloc(1, sizeof(*u));
		u->p = p;
		memcpy(u->fpr, o->fpr, sizeof(u->fpr));
		memcpy(u->hash, o->hash, 16);
		u->server = (int)s;
		u->jservers = js;
		u->vks = p->srv[s].kind == NET_SERVER_VKS;
		rq.op = NET_OP_ADD;
		rq.data = o->armor.p;
		rq.datalen = o->armor.len;
		if (u->vks) {
			u->cert_addrs = xreallocarray(NULL, o->naddrs + 1,
			    sizeof(*u->cert_addrs));
			for (size_t i = 0; i < o->naddrs; i++)
				u->cert_addrs[i] = xstrdup(o->addrs[i]);
			u->ncert_addrs = o->naddrs;
			/* Made once per certificate, for every VKS server. */
			if (vbody.len == 0 && net_vks_upload_body(&vbody,
			    o->armor.p, o->armor.len) != 0)
				die("out of memory");
			rq.op = NET_OP_VKS_UPLOAD;
			rq.data = vbody.p;
			rq.datalen = vbody.len;
		}
		rq.server = (int)s;
		rq.done = upload_done;
		rq.arg = u;
		if (net_submit(p->net, &rq, &err) != 0) {
			upload_free(u);
			record(p, js, o->fpr, (int)s, O_FAILED, err.msg, NULL);
			pgps_err_clear(&err);
			continue;
		}
		p->inflight++;
	}
 done:
	buf_release(&vbody);
	return p->inflight >= PUSH_BATCH ? run(p) : 0;
}

static void
print_summary(struct push *p)
{
	json_t *root;

	if (p->json) {
		root = json_object();
		json_object_set_new(root, "dry_run", json_boolean(p->dry_run));
		for (int o = O_PUSHED; o <= O_REFUSED; o++)
			json_object_set_new(root, outcome_name[o],
			    json_integer((json_int_t)p->n[o]));
		json_object_set_new(root, "verify_failed",
		    json_integer((json_int_t)p->verify_failed));
		json_object_set_new(root, "certificates",
		    json_incref(p->jcerts));
		json_dumpf(root, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
		fputc('\n', stdout);
		json_decref(root);
		return;
	}
	if (p->ctx->verbose == 0 && !p->dry_run)
		return;
	printf("%lu certificates: %lu pushed, %lu failed, %lu unchanged, "
	    "%lu refused%s\n", p->certs, p->n[O_PUSHED], p->n[O_FAILED],
	    p->n[O_UNCHANGED], p->n[O_REFUSED], p->dry_run ?
	    "; dry run: nothing sent" : "");
}

int
cmd_push(int argc, char **argv, struct ctx *ctx)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct opt_parser op;
	struct push p;
	struct keyset_iter *it = NULL;
	struct pgp_raw_cert raw;
	struct buf spec = BUF_INIT;
	const char *arg, *homedir = NULL, *specs[1];
	int c, i, r, rc = EXIT_ERROR;

	memset(&p, 0, sizeof(p));
	outgoing_init(&p.og);
	p.ctx = ctx;
	p.json = ctx->json;
	pgp_limits_default(&p.lim);
	net_opt_default(&p.nopts);
	opt_init(&op, argc, argv, ctx);
	while ((c = opt_next(&op, &arg)) != -1) {
		if (limit_opt(ctx, &p.lim, c, arg) ||
		    net_opt(ctx, &p.nopts, c, arg))
			continue;
		switch (c) {
		case OPT_ALL:
			p.all = true;
			break;
		case OPT_DRY_RUN:
			p.dry_run = true;
			break;
		case OPT_HOMEDIR:
			homedir = arg;
			break;
		case OPT_JSON:
			p.json = true;
			break;
		case OPT_REQUEST_VERIFY:
			p.request_verify = true;
			break;
		case 'k':
			if (p.nservers == NET_MAX_SERVERS) {
				rc = usage_error(ctx, "at most %d keyservers",
				    NET_MAX_SERVERS);
				goto cleanup;
			}
			p.servers[p.nservers++] = arg;
			break;
		case OPT_STATE:
			p.state_path = arg;
			break;
		default:
			break;
		}
	}
	i = opt_operands(&op);
	opt_release(&op);
	if (argc - i > 1) {
		rc = usage_error(ctx, "one key set at most");
		goto cleanup;
	}
	if (argc - i == 1 && homedir != NULL) {
		rc = usage_error(ctx, "--homedir and a key set exclude each "
		    "other");
		goto cleanup;
	}
	if (argc - i == 1)
		specs[0] = argv[i];
	else {
		if (buf_addf(&spec, "gpg:%s", homedir != NULL ? homedir : "") !=
		    0)
			die("out of memory");
		specs[0] = (const char *)spec.p;
	}
	net_opt_servers(ctx, p.servers, &p.nservers, p.srv);
	if ((p.md5 = digest_new(DIGEST_MD5)) == NULL)
		die("out of memory");
	p.jcerts = json_array();
	p.now = (int64_t)time(NULL);

	/* GPGME is initialised here, before libcurl starts any thread. */
	if (keyset_iter_open(&it, specs, 1, &err) != 0) {
		error("%s", err.msg);
		goto cleanup;
	}
	if (state_open(&p.st, p.state_path, p.dry_run ? STATE_READ_ONLY : 0,
	    &err) != 0) {
		error("%s", err.msg);
		goto cleanup;
	}
	if (net_client_new(&p.net, &p.nopts, &err) != 0) {
		error("%s", err.msg);
		goto cleanup;
	}
	for (size_t k = 0; k < p.nservers; k++)
		if (net_client_add_server(p.net, p.servers[k], &err) < 0) {
			error("%s", err.msg);
			goto cleanup;
		}
	for (;;) {
		pgps_err_clear(&err);
		r = keyset_iter_next(it, &raw, 0, &err);
		if (r == 0)
			break;
		if (r < 0) {
			warn("skipped: %s", err.msg);
			p.n[O_REFUSED]++;
			if (keyset_is_fatal(r))
				goto cleanup;
			continue;
		}
		if (take(&p, &raw, keyset_iter_source(it)) != 0)
			goto cleanup;
	}
	if (run(&p) != 0)
		goto cleanup;
	if (!p.dry_run && state_save(p.st, &err) != 0) {
		error("%s", err.msg);
		goto cleanup;
	}
	print_summary(&p);
	rc = p.n[O_FAILED] + p.n[O_REFUSED] + p.verify_failed > 0 ?
	    EXIT_PARTIAL : EXIT_OK;
 cleanup:
	/* What was accepted before a failure is remembered. */
	if (rc == EXIT_ERROR && p.st != NULL && !p.dry_run)
		state_save(p.st, NULL);
	keyset_iter_free(it);
	net_client_free(p.net);
	state_free(p.st);
	digest_free(p.md5);
	outgoing_release(&p.og);
	json_decref(p.jcerts);
	buf_release(&spec);
	return rc;
}
