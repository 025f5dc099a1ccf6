/*
 * filter.c: a key set filtered by fingerprint and through the limits
 * (keyset/filter.h).
 */
#include "util/common.h"

#include "keyset/filter.h"

int
keyset_filter_limits(struct buf *out, const struct pgp_cert *c,
    const struct pgp_limits *lim, const char *source,
    struct keyset_filter_counts *n, struct pgps_err *err)
{
	struct pgp_filter_report rep;
	char fpr[2 * PGP_FPR_MAX + 1] = "-";
	size_t start = out->len;
	int r;

	memset(&rep, 0, sizeof(rep));
	r = pgp_cert_filter(out, c, lim, &rep, err);
	n->third_party += rep.dropped_third_party;
	n->excess_sigs += rep.dropped_excess_sigs;
	n->big_packets += rep.dropped_big_packets;
	n->other += rep.dropped_other;
	if (c->has_primary)
		pgp_key_fpr_hex(fpr, &c->primary);
	if (r == PGPS_ELIMIT) {
		buf_setlen(out, start);
		n->refused++;
		pgps_err_clear(err);
		pgps_err_set(err, PGPS_ELIMIT, "'%s': offset %llu: %s: "
		    "refused by the limits (see --max-cert-size, "
		    "--max-packet-size)", source,
		    (unsigned long long)c->offset, fpr);
		return 1;
	}
	if (r != 0) {
		buf_setlen(out, start);
		return pgps_err_prefix(err, r, "'%s': %s", source, fpr);
	}
	if (rep.dropped_third_party + rep.dropped_excess_sigs +
	    rep.dropped_big_packets > 0)
		n->trimmed++;
	n->kept++;
	return 0;
}

struct filter_ws {
	const struct keyset_filter_spec *spec;
	struct keyset_filter_counts *total;
	struct pgp_cert		 cert;
	struct keyset_filter_counts n;
};

static void *
filter_ws_new(void *arg)
{
	struct filter_ws *w = calloc(1, sizeof(*w));

	if (w == NULL)
		return NULL;
	memcpy(w, arg, sizeof(*w));	/* spec and total */
	w->cert = (struct pgp_cert)PGP_CERT_INIT;
	memset(&w->n, 0, sizeof(w->n));
	return w;
}

static void
filter_ws_done(void *ws, void *arg)
{
	struct filter_ws *w = ws;
	struct keyset_filter_counts *t = w->total;
	const struct keyset_filter_counts *n = &w->n;

	(void)arg;
	t->kept += n->kept;
	t->unselected += n->unselected;
	t->refused += n->refused;
	t->trimmed += n->trimmed;
	t->third_party += n->third_party;
	t->excess_sigs += n->excess_sigs;
	t->big_packets += n->big_packets;
	t->other += n->other;
	pgp_cert_release(&w->cert);
	free(w);
}

static bool
listed(const struct pgp_keyid_list *l, const struct pgp_key_info *k)
{
	return pgp_keyid_list_has(l, k->fpr, k->fprlen);
}

static int
filter_one(void *ws, const struct pgp_raw_cert *raw, const char *source,
    struct buf *out, struct pgps_err *err)
{
	struct filter_ws *w = ws;
	const struct keyset_filter_spec *f = w->spec;
	const struct pgp_cert *c = &w->cert;
	int r;

	if ((r = keyset_par_parse(&w->cert, raw, source, err)) != 0)
		return r;
	/* A bare revocation has no fingerprint to select by. */
	if ((f->keep != NULL || f->drop != NULL) && (!c->has_primary ||
	    (f->keep != NULL && !listed(f->keep, &c->primary)) ||
	    (f->drop != NULL && listed(f->drop, &c->primary)))) {
		w->n.unselected++;
		return 0;
	}
	return keyset_filter_limits(out, c, &f->lim, source, &w->n, err);
}

int
keyset_filter(struct keyset_iter *it, const struct keyset_filter_spec *spec,
    struct keyset_filter_counts *n, struct keyset_par_result *res,
    struct pgps_err *err)
{
	struct keyset_par_spec ps;
	struct filter_ws proto;

	memset(n, 0, sizeof(*n));
	memset(&proto, 0, sizeof(proto));
	proto.spec = spec;
	proto.total = n;
	memset(&ps, 0, sizeof(ps));
	ps.jobs = spec->jobs;
	ps.fn = filter_one;
	ps.wstate_new = filter_ws_new;
	ps.wstate_done = filter_ws_done;
	ps.arg = &proto;
	ps.sink = spec->sink;
	ps.sink_arg = spec->sink_arg;
	ps.warn = spec->warn;
	ps.progress = spec->progress;
	ps.report_arg = spec->arg;
	return keyset_par_run(it, &ps, res, err);
}
