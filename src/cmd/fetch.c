/*
 * fetch.c: "pgpsync fetch", refreshing a keyring from keyservers (HKP,
 * HKPS, the VKS API) and Web Key Directories: the options, which keys
 * and when, and the report.
 *
 * The work is a refresh run (keyset/refresh.h): the lookups
 * (keyset/remote.h), the import rules across every answer
 * (keyset/import.h), the merge with the keyring's copy, the puts into
 * the target and, for gpg, what it really kept, read back.  A dump file
 * as the target is rewritten atomically at the end; a store gets one
 * commit, made under its lock only then; a run that changes nothing
 * makes none.  The state file (keyset/state.h) remembers when each key
 * was checked, so cron can refresh a share of the keyring per run.
 *
 * Deliberately not here: SRV lookups and pool rotation (pass several
 * servers), HKPv2, verification of signatures beyond what decides which
 * key a certificate is (gpg checks the rest on import), and a revision of
 * a store (store:DIR@REV) as a target.
 *
 * XXX A store is read whole, as a dump is, even when only a few keys are
 * named.
 */
#include "util/common.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "cmd/out.h"
#include "keyset/gpg.h"
#include "keyset/import.h"
#include "keyset/keyset.h"
#include "keyset/refresh.h"
#include "keyset/remote.h"
#include "keyset/state.h"
#include "keyset/store.h"
#include "net/net.h"
#include "net/opts.h"
#include "openpgp/keyid.h"
#include "openpgp/openpgp.h"
#include "util/clock.h"
#include "util/hex.h"
#include "util/limits.h"
#include "util/text.h"

enum {
	OPT_ARMOR = OPT_LONG,
	OPT_DEADLINE,
	OPT_DELAY,
	OPT_DRY_RUN,
	OPT_HOMEDIR,
	OPT_JSON,
	OPT_KEYRING,
	OPT_MAX_AGE,
	OPT_MAX_RESPONSE,
	OPT_RATE,
	OPT_SPREAD,
	OPT_STATE,
	OPT_WKD
};

const struct opt fetch_opts[] = {
	{ OPT_ARMOR, "armor", NULL,
	    "with --output, write one ASCII-armored block" },
	{ OPT_DEADLINE, "deadline", "time",
	    "stop the lookups after this long (e.g. 20m)" },
	{ OPT_DELAY, "delay", "seconds",
	    "one key at a time, in random order, after a random wait" },
	{ OPT_DRY_RUN, "dry-run", NULL,
	    "show what would change; change nothing" },
	{ OPT_HOMEDIR, "homedir", "dir",
	    "GnuPG home (default: $GNUPGHOME or ~/.gnupg)" },
	{ OPT_JSON, "json", NULL, "print the result as JSON" },
	{ 'k', "keyserver", "url",
	    "keyserver to ask, in order of preference (repeatable)" },
	{ OPT_KEYRING, "keyring", "set",
	    "refresh this key set instead of the GnuPG keyring" },
	{ OPT_MAX_AGE, "max-age", "time",
	    "skip keys checked less than time ago" },
	{ OPT_MAX_RESPONSE, "max-response", "size",
	    "refuse answers larger than size (default 64M)" },
	{ 'o', "output", "file",
	    "write the certificates to file (- for stdout), import nothing" },
	{ OPT_RATE, "rate", "n", "start at most n lookups per second" },
	{ OPT_SPREAD, "spread", "period",
	    "refresh each key once per period, a share of them per run" },
	{ OPT_STATE, "state", "file",
	    "state file (default $XDG_STATE_HOME/pgpsync/state.json)" },
	{ OPT_WKD, "wkd", NULL,
	    "also ask the Web Key Directory of each user ID's domain" },
	NET_OPTS,
	LIMIT_OPTS,
	{ 0, NULL, NULL, NULL }
};

/* --- network options, shared with push (net/opts.h) ------------------ */

void
net_opt_default(struct net_opts *o)
{
	net_opts_cli_default(o);
}

int
net_opt(struct ctx *ctx, struct net_opts *o, int id, const char *arg)
{
	static const struct {
		int		 id;
		enum net_opt_id	 net;
	} map[] = {
		{ OPT_NET_CA_FILE, NET_OPT_CA_FILE },
		{ 'J', NET_OPT_JOBS },
		{ OPT_NET_PER_SERVER, NET_OPT_PER_SERVER },
		{ OPT_NET_PROXY, NET_OPT_PROXY },
		{ OPT_NET_RETRIES, NET_OPT_RETRIES },
		{ OPT_NET_TIMEOUT, NET_OPT_TIMEOUT }
	};
	unsigned long n;

	for (size_t i = 0; i < PGPS_ARRAY_SIZE(map); i++) {
		if (map[i].id != id)
			continue;
		if (net_opts_set_str(o, map[i].net, arg) == 0 ||
		    (parse_ulong(arg, &n) == 0 &&
		    net_opts_set_num(o, map[i].net, n) == 0))
			return 1;
		exit(usage_error(ctx, "--%s: bad value '%s'",
		    net_opt_name(map[i].net), arg));
	}
	return 0;
}

void
net_opt_servers(struct ctx *ctx, const char **urls, size_t *n,
    struct net_server *srv)
{
	struct pgps_err err = PGPS_ERR_INIT;

	if (net_servers_parse(srv, urls, n, &err) != 0)
		exit(usage_error(ctx, "%s", err.msg));
}

/* Results: enum refresh_result (keyset/refresh.h), in this order. */
static const char *const result_name[] = {
	"pending", "not_due", "unchanged", "updated", "new", "not_found",
	"failed", "refused"
};

#define NKINDS	REFRESH_NKINDS

struct fetch {
	struct ctx	*ctx;
	struct pgp_limits lim;
	const char	*homedir;	/* GnuPG target */
	struct keyset	*ks;		/* the target; NULL: not there yet */
	bool		 writing;	/* what changed goes into it */
	char		 commit[2 * STORE_OID_LEN + 1];	/* made in a store */
	const char	*target;	/* for messages */

	struct net_opts	 nopts;
	const char	*servers[NET_MAX_SERVERS];
	struct net_server srv[NET_MAX_SERVERS];
	size_t		 nservers;
	struct refresh_run *run;
	bool		 wkd;
	int64_t		 deadline;	/* --deadline, seconds; 0: none */
	unsigned long	 late;		/* keys it cut short */
	double		 delay;
	unsigned long	 rate;

	struct refresh_key	*keys;
	size_t		 nkeys, allockeys;
	struct state	*st;
	const char	*state_path;
	int64_t		 now;
	int64_t		 max_age, spread;
	bool		 dry_run;
	const char	*output;
	bool		 armor;
	struct buf	 out;

	unsigned long	 n[REFRESH_REFUSED + 1];
	unsigned long	 requests;
	unsigned long	 nchanges[NKINDS];
	bool		 json;
	FILE		*report;	/* stderr when the output is stdout */
	json_t		*jkeys;
	size_t		 done;
	double		 shown;
};

/* --- small helpers ---------------------------------------------------- */


/* "90", "90s", "15m", "12h", "7d", "2w" in seconds; -1 if malformed. */
int
parse_duration(const char *s, int64_t *out)
{
	static const char units[] = "smhdw";
	static const int64_t secs[] = { 1, 60, 3600, 86400, 7 * 86400 };
	const char *u;
	char num[32];
	size_t n = strlen(s);
	unsigned long v;
	int64_t mult = 1;

	if (n == 0 || n >= sizeof(num))
		return -1;
	memcpy(num, s, n + 1);
	if ((u = strchr(units, num[n - 1])) != NULL) {
		mult = secs[u - units];
		num[n - 1] = '\0';
	}
	/* Well below INT64_MAX: times are added to the clock. */
	if (parse_ulong(num, &v) != 0 || v > (unsigned long)(INT64_MAX / 4 /
	    mult))
		return -1;
	*out = (int64_t)v * mult;
	return 0;
}

static const char *
opt_long_name(const struct opt *opts, int id)
{
	for (; opts->name != NULL; opts++)
		if (opts->id == id)
			return opts->name;
	return "?";
}

static void
set_str(char **dst, const char *s)
{
	free(*dst);
	*dst = s != NULL ? xstrdup(s) : NULL;
}

/* --- what is asked ---------------------------------------------------- */

static struct refresh_key *
key_add(struct fetch *f)
{
	if (f->nkeys == f->allockeys) {
		f->allockeys = f->allockeys == 0 ? 64 : f->allockeys * 2;
		f->keys = xreallocarray(f->keys, f->allockeys,
		    sizeof(*f->keys));
	}
	refresh_key_init(&f->keys[f->nkeys]);
	return &f->keys[f->nkeys++];
}

/*
 * A key named on the command line: a fingerprint (40 or 64 hex digits),
 * a long key ID (16), with or without "0x" and spaces (openpgp/keyid.h),
 * or an e-mail address.  -1 for anything else.
 */
static int
key_parse(struct refresh_key *k, const char *s)
{
	char hex[2 * PGP_FPR_MAX + 1];
	struct pgp_keyid id;
	size_t len;

	if (strchr(s, '@') != NULL) {
		len = strlen(s);
		if (s[0] == '<' && len > 2 && s[len - 1] == '>') {
			k->email = xstrdup(s + 1);
			k->email[len - 2] = '\0';
		} else
			k->email = xstrdup(s);
		if (strchr(k->email, '@') == k->email ||
		    strchr(k->email, ' ') != NULL)
			return -1;
		k->rk.kind = NET_QUERY_EMAIL;
		set_str(&k->name, k->email);
		return 0;
	}
	if (pgp_keyid_parse(&id, s, strlen(s), PGP_KEYID_LONG |
	    PGP_KEYID_FPR) != 0)
		return -1;
	if (pgp_keyid_is_fpr(&id)) {
		refresh_key_set_fpr(k, id.b, id.len);
		return 0;
	}
	k->rk.kind = NET_QUERY_KEYID;
	memcpy(k->rk.id, id.b, id.len);
	k->rk.idlen = id.len;
	pgp_keyid_hex(hex, &id);
	set_str(&k->name, hex);
	return 0;
}

/* --- the target ------------------------------------------------------- */

/*
 * Opens the target: spec, or the GnuPG keyring of --homedir.  It is
 * written unless this is a dry run or the certificates go to --output.
 * A refresh needs a set that is there; keys named on the command line may
 * go into a dump or store that does not exist yet, made in a directory
 * that does (in a dry run, the set stays absent and every key is new).
 */
static int
target_open(struct fetch *f, const char *spec, size_t nnamed,
    struct buf *name)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct buf gpg = BUF_INIT;
	unsigned int flags = 0;
	int r;

	if (spec == NULL) {
		if (buf_addf(&gpg, "gpg:%s", f->homedir != NULL ? f->homedir :
		    "") != 0)
			die("out of memory");
		spec = (const char *)gpg.p;
	}
	f->writing = !f->dry_run && f->output == NULL;
	flags = KEYSET_WRITE | (nnamed > 0 ? KEYSET_CREATE : 0) |
	    (f->writing ? 0 : KEYSET_DRY_RUN);
	if ((r = keyset_open(&f->ks, spec, flags, &f->lim, &err)) != 0) {
		buf_release(&gpg);
		return error("%s", err.msg);
	}
	keyset_set_origin(f->ks, "ks");
	switch (keyset_kind(f->ks)) {
	case KEYSET_GPG:
		r = buf_addf(name, "gpg:%s", keyset_path(f->ks));
		break;
	case KEYSET_STORE:
		r = buf_addf(name, "store:%s", keyset_path(f->ks));
		break;
	default:
		r = buf_addstr(name, keyset_path(f->ks));
		break;
	}
	if (r != 0)
		die("out of memory");
	f->target = (const char *)name->p;
	buf_release(&gpg);
	return 0;
}

/* Reads the target's copies of pats[0..n) (NULL: all) in one go. */
static int
target_preload(struct fetch *f, const char *const *pats, size_t n)
{
	struct pgps_err err = PGPS_ERR_INIT;

	if (keyset_preload(f->ks, pats, n, &err) != 0)
		return error("%s", err.msg);
	return 0;
}

/*
 * Writes what was put: a dump through a temporary file renamed into
 * place (with the file locked, and read again if another writer changed
 * it meanwhile), a store as one commit naming the keyservers.
 */
static int
target_commit(struct fetch *f)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct keyset_commit_info ci;
	struct buf note = BUF_INIT;
	int rc = 0;

	if (!f->writing)
		return 0;
	if (buf_addstr(&note, "pgpsync fetch from") != 0)
		die("out of memory");
	for (size_t i = 0; i < f->nservers; i++)
		if (buf_addf(&note, "%s %s", i > 0 ? "," : "",
		    f->srv[i].base) != 0)
			die("out of memory");
	if (keyset_commit(f->ks, (const char *)note.p, &ci, &err) != 0)
		rc = error("%s", err.msg);
	else if (ci.commit[0] != '\0')
		snprintf(f->commit, sizeof(f->commit), "%s", ci.commit);
	buf_release(&note);
	return rc;
}

/*
 * The target's copies of the fingerprints named on the command line, so
 * that the import rules know which are its primary keys.
 */
static int
load_named(struct fetch *f)
{
	const char **pats;
	size_t n = 0;
	int r;

	pats = xreallocarray(NULL, f->nkeys + 1, sizeof(*pats));
	for (size_t i = 0; i < f->nkeys; i++)
		if (f->keys[i].rk.kind == NET_QUERY_FPR)
			pats[n++] = f->keys[i].rk.fpr;
		else if (f->keys[i].rk.kind == NET_QUERY_KEYID)
			pats[n++] = f->keys[i].name;
	r = target_preload(f, pats, n);
	free(pats);
	return r;
}

/*
 * Writes binary certificates to path ("-": standard output) through a
 * temporary file renamed into place, one armor block with armor.
 */
static int
write_certs(const char *path, const struct buf *bin, bool armor)
{
	struct atomic_file af;
	struct buf arm = BUF_INIT;
	const struct buf *w = bin;
	int rc = -1;

	if (armor && bin->len > 0) {
		if (pgp_armor_encode(&arm, bin->p, bin->len,
		    PGP_ARMOR_PUBLIC_KEY, 0) != 0)
			die("out of memory");
		w = &arm;
	}
	if (atomic_open(&af, path) != 0)
		goto cleanup;
	if (w->len > 0 && fwrite(w->p, 1, w->len, af.f) != w->len) {
		error("cannot write '%s': %s", path, strerror(errno));
		atomic_abort(&af);
		goto cleanup;
	}
	rc = atomic_commit(&af);
 cleanup:
	buf_release(&arm);
	return rc;
}

/* --- the run (keyset/refresh.h) --------------------------------------- */

static void
show_progress(struct fetch *f, bool last)
{
	double t;

	if (!f->ctx->progress || f->json)
		return;
	t = clock_s();
	if (!last && t - f->shown < 0.2)
		return;
	f->shown = t;
	if (last)
		fprintf(stderr, "\r\033[K");
	else
		fprintf(stderr, "\rfetch: %zu of %zu keys", f->done,
		    f->nkeys);
	fflush(stderr);
}

static void
run_progress(size_t done, void *arg)
{
	struct fetch *f = arg;

	f->done = done;
	show_progress(f, false);
}

static void
run_note(const char *msg, void *arg)
{
	struct fetch *f = arg;

	if (f->ctx->verbose > 0)
		warn("%s", msg);
}

/* Says what was refused for k that looked like it: forgeries, mostly. */
static void
run_resolved(struct refresh_key *k, void *arg)
{
	(void)arg;
	for (size_t i = 0; i < k->rk.cand.n; i++) {
		const struct import_item *it = &k->rk.cand.items[i];

		if (it->verdict != IMPORT_REFUSE ||
		    it->reason == IMPORT_R_OTHER_KEY ||
		    it->reason == IMPORT_R_UNREADABLE)
			continue;
		warn("'%s': refused %s from '%s': %s", k->name,
		    it->fpr[0] != '\0' ? it->fpr : "a revocation",
		    it->source != NULL ? it->source : "?", it->why);
	}
}

static void report(struct fetch *f, struct refresh_key *k);

/*
 * After each batch: the state saved when the batch went into gpg, so an
 * interrupted run keeps what it did.  A dump or an output file is
 * written at the end, and the state only after it.
 */
static int
run_batch_done(void *arg)
{
	struct fetch *f = arg;
	struct pgps_err err = PGPS_ERR_INIT;

	if (f->writing && keyset_kind(f->ks) == KEYSET_GPG &&
	    state_save(f->st, &err) != 0)
		return error("%s", err.msg);
	return 0;
}

static void
run_done(struct refresh_key *k, void *arg)
{
	report(arg, k);
	refresh_key_release(k);
}

static int
run_open(struct fetch *f)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct refresh_opts o;

	memset(&o, 0, sizeof(o));
	o.remote.net = f->nopts;
	for (size_t i = 0; i < f->nservers; i++)
		o.remote.servers[i] = f->servers[i];
	o.remote.nservers = f->nservers;
	o.remote.wkd = f->wkd;
	o.remote.rate = f->rate;
	o.deadline_ms = (long)(f->deadline * 1000);
	o.delay = f->delay;
	o.lim = f->lim;
	o.writing = f->writing;
	o.st = f->st;
	o.record = !f->dry_run;
	o.now = f->now;
	o.progress = run_progress;
	o.note = run_note;
	o.resolved = run_resolved;
	o.done = run_done;
	o.batch_done = run_batch_done;
	o.arg = f;
	if (refresh_run_new(&f->run, f->ks, &o, &err) != 0)
		return error("%s", err.msg);
	return 0;
}

/* --- reporting -------------------------------------------------------- */

static const char *const change_text[NKINDS][2] = {
	{ "user ID", "user IDs" },
	{ "user attribute", "user attributes" },
	{ "subkey", "subkeys" },
	{ "self-signature", "self-signatures" },
	{ "expiry change", "expiry changes" },
	{ "certification", "certifications" },
	{ "revocation", "revocations" },
	{ "other packet", "other packets" }
};

static const char *const change_json[NKINDS] = {
	"user_ids", "user_attributes", "subkeys", "self_signatures",
	"expiry_changes", "certifications", "revocations", "other"
};

static json_t *
changes_json(const size_t *n)
{
	json_t *o = json_object();

	for (size_t i = 0; i < NKINDS; i++)
		json_object_set_new(o, change_json[i],
		    json_integer((json_int_t)n[i]));
	return o;
}

/* Counts, prints and records k once its batch is done. */
static void
report(struct fetch *f, struct refresh_key *k)
{
	struct buf line = BUF_INIT;
	const char *who = k->rk.fpr[0] != '\0' ? k->rk.fpr : k->name;
	bool found = k->res == REFRESH_UPDATED || k->res == REFRESH_NEW ||
	    k->res == REFRESH_UNCHANGED;
	char why[300];
	json_t *o;

	f->n[k->res]++;
	if (k->res == REFRESH_UPDATED)
		for (size_t i = 0; i < NKINDS; i++)
			f->nchanges[i] += k->changes[i];
	if (found && f->output != NULL && buf_add(&f->out, k->work.p,
	    k->work.len) != 0)
		die("out of memory");
	if (f->json) {
		o = json_object();
		json_object_set_new(o, "query", out_json_str(k->name));
		json_object_set_new(o, "fingerprint", k->rk.fpr[0] != '\0' ?
		    out_json_str(k->rk.fpr) : json_null());
		json_object_set_new(o, "result",
		    json_string(result_name[k->res]));
		if (k->rk.server != NULL || k->rk.last_server != NULL)
			json_object_set_new(o, "server", out_json_str(
			    k->rk.server != NULL ? k->rk.server :
			    k->rk.last_server));
		if (k->res == REFRESH_UPDATED)
			json_object_set_new(o, "changes",
			    changes_json(k->changes));
		if (!found && k->rk.why != NULL)
			json_object_set_new(o, "error", out_json_str(k->rk.why));
		json_array_append_new(f->jkeys, o);
		return;
	}
	switch (k->res) {
	case REFRESH_UPDATED:
		buf_addf(&line, "updated %s (", k->rk.fpr);
		for (size_t i = 0, first = 1; i < NKINDS; i++) {
			if (k->changes[i] == 0)
				continue;
			buf_addf(&line, "%s+%zu %s", first ? "" : ", ",
			    k->changes[i],
			    change_text[i][k->changes[i] != 1]);
			first = 0;
		}
		buf_addstr(&line, ")");
		break;
	case REFRESH_NEW:
		buf_addf(&line, "new %s", k->rk.fpr);
		break;
	case REFRESH_UNCHANGED:
		if (f->ctx->verbose > 0)
			buf_addf(&line, "unchanged %s", k->rk.fpr);
		break;
	case REFRESH_NOT_FOUND:
		if (k->named)
			warn("'%s': not found on any keyserver", k->name);
		else if (f->ctx->verbose > 0)
			buf_addf(&line, "not found %s", who);
		break;
	case REFRESH_FAILED:
		/* One line for all the keys the deadline cut short. */
		if (k->rk.late && !k->named && f->ctx->verbose == 0) {
			f->late++;
			break;
		}
		/* FALLTHROUGH */
	case REFRESH_REFUSED:
		text_term_str(why, sizeof(why), k->rk.why != NULL ? k->rk.why :
		    "failed");
		warn("'%s': %s%s", who, k->res == REFRESH_REFUSED ? "refused: " :
		    "", why);
		break;
	default:
		break;
	}
	if (line.len > 0) {
		show_progress(f, true);
		fprintf(f->report, "%s\n", (const char *)line.p);
	}
	buf_release(&line);
}

static const struct {
	const char	*name;
	size_t		 off;
} gpg_counts[] = {
	{ "considered", offsetof(struct gpg_import_result, considered) },
	{ "imported", offsetof(struct gpg_import_result, imported) },
	{ "unchanged", offsetof(struct gpg_import_result, unchanged) },
	{ "not_imported", offsetof(struct gpg_import_result, not_imported) },
	{ "no_user_id", offsetof(struct gpg_import_result, no_user_id) }
};

static void
print_summary(struct fetch *f)
{
	json_t *root, *jg;
	static const struct gpg_import_result none;
	const struct gpg_import_result *g = keyset_gpg_totals(f->ks);

	if (g == NULL)
		g = &none;
	if (f->json) {
		root = json_object();
		json_object_set_new(root, "target", out_json_str(f->target));
		if (keyset_kind(f->ks) == KEYSET_STORE)
			json_object_set_new(root, "commit", f->commit[0] !=
			    '\0' ? json_string(f->commit) : json_null());
		json_object_set_new(root, "dry_run", json_boolean(f->dry_run));
		for (int r = REFRESH_NOT_DUE; r <= REFRESH_REFUSED; r++)
			json_object_set_new(root, result_name[r],
			    json_integer((json_int_t)f->n[r]));
		json_object_set_new(root, "changes", changes_json(
		    (const size_t *)f->nchanges));
		json_object_set_new(root, "requests",
		    json_integer((json_int_t)f->requests));
		/* What gpg said: runs, and its totals over them. */
		jg = json_object();
		json_object_set_new(jg, "runs", json_integer(g->gpg_runs));
		for (size_t i = 0; i < PGPS_ARRAY_SIZE(gpg_counts); i++)
			json_object_set_new(jg, gpg_counts[i].name,
			    json_integer((json_int_t)*(const unsigned long *)
			    ((const char *)g + gpg_counts[i].off)));
		json_object_set_new(root, "gpg", jg);
		json_object_set_new(root, "keys", json_incref(f->jkeys));
		json_dumpf(root, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
		fputc('\n', stdout);
		json_decref(root);
		return;
	}
	if (f->ctx->verbose == 0 && !f->dry_run)
		return;
	fprintf(f->report, "%lu updated, %lu new, %lu unchanged, %lu not "
	    "found, %lu failed, %lu refused, %lu not due; %lu requests%s\n",
	    f->n[REFRESH_UPDATED], f->n[REFRESH_NEW], f->n[REFRESH_UNCHANGED],
	    f->n[REFRESH_NOT_FOUND], f->n[REFRESH_FAILED], f->n[REFRESH_REFUSED],
	    f->n[REFRESH_NOT_DUE], f->requests,
	    f->dry_run ? " (dry run: nothing changed)" : "");
}

/* --- which keys, when ------------------------------------------------- */

/* Whether k is due (state_is_due(): --max-age, --spread). */
static bool
is_due(struct fetch *f, const struct refresh_key *k)
{
	return k->rk.kind != NET_QUERY_FPR || state_is_due(f->st, k->rk.fpr,
	    f->now, f->max_age, f->spread);
}

/*
 * Every key of the target with a fingerprint keyservers look up (v4, v5,
 * v6), once each (the index holds each fingerprint once).
 */
static int
keys_from_target(struct fetch *f)
{
	struct pgps_err err = PGPS_ERR_INIT;
	uint8_t fpr[PGP_FPR_MAX];
	char (*all)[KEYSET_FPR_HEX];
	const char *h;
	size_t n, nall;

	if (keyset_list(&all, &nall, f->ks, &err) != 0)
		return error("%s", err.msg);
	for (size_t i = 0; i < nall; i++) {
		h = all[i];
		n = strlen(h) / 2;
		if ((n != 20 && n != 32) || hex_decode(fpr, n, h, 2 * n) != 0) {
			if (f->ctx->verbose > 0)
				warn("'%s': a v3 key, which keyservers do not "
				    "look up by fingerprint", h);
			continue;
		}
		refresh_key_set_fpr(key_add(f), fpr, n);
	}
	free(all);
	return 0;
}

/*
 * Where the certificates go: "gpg:[HOME]", "store:[DIR]", "dump:PATH" or
 * a path (keyset_spec_parse()); not standard input, not a revision.
 */
static int
parse_target(struct fetch *f, const char *spec)
{
	struct keyset_spec sp;

	if (keyset_spec_parse(&sp, spec, NULL) != 0 ||
	    sp.kind == KEYSET_STDIN)
		return usage_error(f->ctx, "--keyring needs a GnuPG home or a "
		    "file to rewrite");
	if (sp.kind == KEYSET_STORE && sp.rev)
		return usage_error(f->ctx, "'%s': a revision cannot be "
		    "updated", spec);
	return 0;
}

static void
fetch_release(struct fetch *f)
{
	for (size_t i = 0; i < f->nkeys; i++)
		refresh_key_release(&f->keys[i]);
	free(f->keys);
	refresh_run_free(f->run);
	keyset_close(f->ks);
	state_free(f->st);
	buf_release(&f->out);
	json_decref(f->jkeys);
}

/*
 * The options into f (and *keyring): the index of the first operand, or
 * -1 after a usage error, whose exit status is then in *rc.
 */
static int
parse_options(struct fetch *f, int argc, char **argv, const char **keyring,
    int *rc)
{
	struct ctx *ctx = f->ctx;
	struct opt_parser op;
	const char *arg;
	size_t sz;
	unsigned long n;
	int c, i;
	bool bad;

	opt_init(&op, argc, argv, ctx);
	while ((c = opt_next(&op, &arg)) != -1) {
		if (limit_opt(ctx, &f->lim, c, arg) ||
		    net_opt(ctx, &f->nopts, c, arg))
			continue;
		bad = false;
		switch (c) {
		case OPT_ARMOR:
			f->armor = true;
			break;
		case OPT_DEADLINE:
			bad = parse_duration(arg, &f->deadline) != 0 ||
			    f->deadline == 0;
			break;
		case OPT_DELAY:
			bad = parse_ulong(arg, &n) != 0 || n > 86400;
			f->delay = (double)n;
			break;
		case OPT_DRY_RUN:
			f->dry_run = true;
			break;
		case OPT_HOMEDIR:
			f->homedir = arg;
			break;
		case OPT_JSON:
			f->json = true;
			break;
		case 'k':
			if (f->nservers == NET_MAX_SERVERS) {
				*rc = usage_error(ctx, "at most %d keyservers",
				    NET_MAX_SERVERS);
				opt_release(&op);
				return -1;
			}
			f->servers[f->nservers++] = arg;
			break;
		case OPT_KEYRING:
			*keyring = arg;
			break;
		case OPT_MAX_AGE:
			bad = parse_duration(arg, &f->max_age) != 0;
			break;
		case OPT_MAX_RESPONSE:
			bad = parse_size(arg, &sz) != 0 || net_opts_set_num(
			    &f->nopts, NET_OPT_MAX_RESPONSE, sz) != 0;
			break;
		case 'o':
			f->output = arg;
			break;
		case OPT_RATE:
			bad = parse_ulong(arg, &f->rate) != 0 || f->rate > 10000;
			break;
		case OPT_SPREAD:
			bad = parse_duration(arg, &f->spread) != 0 ||
			    f->spread == 0;
			break;
		case OPT_STATE:
			f->state_path = arg;
			break;
		case OPT_WKD:
			f->wkd = true;
			break;
		default:
			break;
		}
		if (bad) {
			*rc = usage_error(ctx, "--%s: bad value '%s'",
			    opt_long_name(fetch_opts, c), arg);
			opt_release(&op);
			return -1;
		}
	}
	i = opt_operands(&op);
	opt_release(&op);
	if (*keyring != NULL && f->homedir != NULL)
		*rc = usage_error(ctx, "--homedir and --keyring exclude each "
		    "other");
	else if (*keyring != NULL && parse_target(f, *keyring) != 0)
		*rc = EXIT_ERROR;
	else if (f->json && f->output != NULL && strcmp(f->output, "-") == 0)
		*rc = usage_error(ctx, "--json and --output - both want "
		    "standard output");
	else if (f->armor && f->output == NULL)
		*rc = usage_error(ctx, "--armor needs --output");
	else {
		net_opt_servers(ctx, f->servers, &f->nservers, f->srv);
		if (f->delay > 0)
			net_opts_serial(&f->nopts);
		return i;
	}
	return -1;
}

/*
 * Keys not due (state_is_due(): --max-age, --spread) are set aside, not
 * asked about; every key asked by fingerprint is marked seen.
 */
static void
set_aside_not_due(struct fetch *f)
{
	size_t w = 0;

	for (size_t k = 0; k < f->nkeys; k++) {
		if (!f->dry_run && f->keys[k].rk.kind == NET_QUERY_FPR &&
		    state_seen(f->st, f->keys[k].rk.fpr, f->now) != 0)
			die("out of memory");
		if (is_due(f, &f->keys[k])) {
			f->keys[w++] = f->keys[k];
			continue;
		}
		f->n[REFRESH_NOT_DUE]++;
		refresh_key_release(&f->keys[k]);
	}
	f->nkeys = w;
}

/* Every key (refresh_run_all()), reported as each completes. */
static int
run_all(struct fetch *f)
{
	struct pgps_err err = PGPS_ERR_INIT;
	int rc;

	if (run_open(f) != 0)
		return -1;
	if ((rc = refresh_run_all(f->run, f->keys, f->nkeys, &err)) != 0 &&
	    err.code != 0)
		error("%s", err.msg);
	f->requests = refresh_run_requests(f->run);
	show_progress(f, true);
	return rc;
}

/* The target committed, --output written, the state saved. */
static int
finish(struct fetch *f)
{
	struct pgps_err err = PGPS_ERR_INIT;

	if (target_commit(f) != 0)
		return -1;
	/* A run that fetched nothing does not empty the file. */
	if (f->output != NULL && !f->dry_run && f->out.len == 0 &&
	    strcmp(f->output, "-") != 0)
		warn("nothing fetched; '%s' left as it was", f->output);
	else if (f->output != NULL && !f->dry_run &&
	    write_certs(f->output, &f->out, f->armor) != 0)
		return -1;
	if (!f->dry_run && state_save(f->st, &err) != 0)
		return error("%s", err.msg);
	return 0;
}

int
cmd_fetch(int argc, char **argv, struct ctx *ctx)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct fetch f;
	struct buf target = BUF_INIT;
	const char *keyring = NULL;
	size_t nnamed;
	int i, rc = EXIT_ERROR;

	memset(&f, 0, sizeof(f));
	f.ctx = ctx;
	f.json = ctx->json;
	buf_init(&f.out, 0);
	pgp_limits_default(&f.lim);
	net_opt_default(&f.nopts);
	if ((i = parse_options(&f, argc, argv, &keyring, &rc)) < 0)
		goto cleanup;
	f.jkeys = json_array();

	/* The operands, before anything is opened. */
	for (int a = i; a < argc; a++) {
		struct refresh_key *k = key_add(&f);

		k->named = true;
		if (key_parse(k, argv[a]) != 0) {
			rc = usage_error(ctx, "'%s' is not a fingerprint (40 "
			    "or 64 hex digits), a long key ID (16) or an "
			    "e-mail address", argv[a]);
			goto cleanup;
		}
	}
	nnamed = f.nkeys;
	f.report = f.output != NULL && strcmp(f.output, "-") == 0 ? stderr :
	    stdout;

	if (target_open(&f, keyring, nnamed, &target) != 0 ||
	    (nnamed == 0 && target_preload(&f, NULL, 0) != 0))
		goto cleanup;
	/* Which named fingerprints are primary keys of the target. */
	if (nnamed > 0 && load_named(&f) != 0)
		goto cleanup;
	if (state_open(&f.st, f.state_path, f.dry_run ? STATE_READ_ONLY : 0,
	    &err) != 0) {
		error("%s", err.msg);
		goto cleanup;
	}
	f.now = (int64_t)time(NULL);
	if (nnamed == 0 && keys_from_target(&f) != 0)
		goto cleanup;
	set_aside_not_due(&f);
	if (run_all(&f) != 0 || finish(&f) != 0)
		goto cleanup;
	print_summary(&f);
	if (f.late > 0)
		warn("%lu key%s not refreshed: the deadline (--deadline) "
		    "passed", f.late, f.late == 1 ? "" : "s");
	rc = f.n[REFRESH_FAILED] + f.n[REFRESH_REFUSED] > 0 ? EXIT_PARTIAL :
	    EXIT_OK;
	for (size_t k = 0; k < f.nkeys && rc == EXIT_OK; k++)
		if (f.keys[k].named && f.keys[k].res == REFRESH_NOT_FOUND)
			rc = EXIT_PARTIAL;
 cleanup:
	show_progress(&f, true);
	fetch_release(&f);
	buf_release(&target);
	return rc;
}
