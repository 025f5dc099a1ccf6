/*
 * merge.c: the versions of each certificate of a set merged in one pass
 * (keyset/merge.h).
 */
#include "util/common.h"

#include <errno.h>
#include <stdarg.h>

#include "keyset/filter.h"
#include "keyset/merge.h"
#include "util/digest.h"
#include "util/mem.h"
#include "util/tmpfile.h"

#define KEY_LEN		(PGP_FPR_MAX + 1)
#define KEY_BARE	0xff	/* key[0] of a bare revocation */

/* One version: its key, and where its bytes were spilled. */
struct entry {
	uint8_t		 key[KEY_LEN];	/* [0]: fingerprint length, or BARE */
	uint64_t	 seq;
	uint64_t	 off;		/* in the spill file */
	size_t		 len;
	uint64_t	 offset;	/* in its source */
	size_t		 src;		/* index into sources */
};

/* The versions of one key: entries [first, first + n) once sorted. */
struct group {
	size_t		 first;
	size_t		 n;
	uint64_t	 seq;		/* of the first appearance */
};

struct keyset_merge {
	bool		  limits;
	struct pgp_limits lim;
	struct pgp_cert	  merged;	/* to apply the limits */
	struct buf	  lb;
	void		(*warn)(const char *msg, void *arg);
	void		 *arg;
	FILE		 *spill;
	uint64_t	  spilled;
	struct digest	 *md5;
	struct buf	  cb;		/* a certificate to spill */
	struct entry	 *ents;
	size_t		  nents, alloc;
	char		**srcs;
	size_t		  nsrcs;
	struct group	 *groups;	/* set by the first _next() */
	size_t		  ngroups, at;
	bool		  grouped;
	/* The parsed versions of one key, reused from key to key. */
	struct pgp_cert	 *c;
	const struct pgp_cert **v;
	size_t		  valloc;
	struct buf	  bytes;
	struct keyset_merge_counts n;
};

static int
nomem(struct pgps_err *err)
{
	return pgps_err_set(err, PGPS_ENOMEM, "out of memory");
}

static void
say(struct keyset_merge *m, const char *fmt, ...) PGPS_PRINTF(2, 3);

static void
say(struct keyset_merge *m, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (m->warn == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	m->warn(msg, m->arg);
}

int
keyset_merge_new(struct keyset_merge **out, const struct pgp_limits *lim,
    void (*warn)(const char *msg, void *arg), void *arg,
    struct pgps_err *err)
{
	struct keyset_merge *m;

	if ((m = calloc(1, sizeof(*m))) == NULL)
		return nomem(err);
	if (lim != NULL) {
		m->limits = true;
		m->lim = *lim;
	}
	m->merged = (struct pgp_cert)PGP_CERT_INIT;
	buf_init(&m->lb, 0);
	m->warn = warn;
	m->arg = arg;
	buf_init(&m->cb, 0);
	buf_init(&m->bytes, 0);
	if ((m->md5 = digest_new(DIGEST_MD5)) == NULL) {
		keyset_merge_free(m);
		return nomem(err);
	}
	if ((m->spill = tmp_file(err)) == NULL) {
		keyset_merge_free(m);
		return err->code;
	}
	*out = m;
	return 0;
}

int
keyset_merge_add(struct keyset_merge *m, const struct pgp_cert *c,
    const char *source, struct pgps_err *err)
{
	struct entry *e;

	if (m->nents == m->alloc) {
		size_t n = m->alloc == 0 ? 1024 : m->alloc * 2;

		if ((e = mem_reallocarray(m->ents, n, sizeof(*e))) == NULL)
			return nomem(err);
		m->ents = e;
		m->alloc = n;
	}
	if (m->nsrcs == 0 || strcmp(m->srcs[m->nsrcs - 1], source) != 0) {
		char **s = mem_reallocarray(m->srcs, m->nsrcs + 1,
		    sizeof(*s));

		if (s == NULL)
			return nomem(err);
		m->srcs = s;
		if ((s[m->nsrcs] = strdup(source)) == NULL)
			return nomem(err);
		m->nsrcs++;
	}
	e = &m->ents[m->nents];
	memset(e->key, 0, sizeof(e->key));
	e->offset = c->offset;
	e->src = m->nsrcs - 1;
	if (c->has_primary) {
		e->key[0] = c->primary.fprlen;
		memcpy(e->key + 1, c->primary.fpr, c->primary.fprlen);
	} else {
		/* Bare revocations merge only with identical ones. */
		e->key[0] = KEY_BARE;
		if (pgp_cert_sks_hash(c, m->md5, e->key + 1) != 0)
			return nomem(err);
	}
	buf_reset(&m->cb);
	if (pgp_cert_write(&m->cb, c) != 0)
		return nomem(err);
	e->seq = m->nents;
	e->off = m->spilled;
	e->len = m->cb.len;
	if (fwrite(m->cb.p, 1, m->cb.len, m->spill) != m->cb.len)
		return pgps_err_set(err, PGPS_EIO, "cannot write the temporary "
		    "file: %s", strerror(errno));
	m->spilled += m->cb.len;
	m->nents++;
	m->n.read++;
	return 0;
}

static int
entry_cmp(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	int c = memcmp(x->key, y->key, sizeof(x->key));

	if (c != 0)
		return c;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int
group_cmp(const void *a, const void *b)
{
	const struct group *x = a, *y = b;

	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Groups the versions of each key, keys in first-appearance order. */
static int
group(struct keyset_merge *m, struct pgps_err *err)
{
	struct entry *e = m->ents;

	m->grouped = true;
	if (fflush(m->spill) != 0)
		return pgps_err_set(err, PGPS_EIO, "cannot write the temporary "
		    "file: %s", strerror(errno));
	/* qsort's array may not be NULL, even for no elements. */
	if (m->nents == 0)
		return 0;
	qsort(e, m->nents, sizeof(*e), entry_cmp);
	if ((m->groups = calloc(m->nents, sizeof(*m->groups))) == NULL)
		return nomem(err);
	for (size_t i = 0; i < m->nents; i++) {
		if (i == 0 || memcmp(e[i].key, e[i - 1].key,
		    sizeof(e[i].key)) != 0) {
			m->groups[m->ngroups].first = i;
			m->groups[m->ngroups].seq = e[i].seq;
			m->ngroups++;
		}
		m->groups[m->ngroups - 1].n++;
	}
	qsort(m->groups, m->ngroups, sizeof(*m->groups), group_cmp);
	m->n.keys = m->ngroups;
	return 0;
}

/* Reads back and parses the n versions e[0..n) into m->c. */
static int
versions_load(struct keyset_merge *m, const struct entry *e, size_t n,
    struct pgps_err *err)
{
	size_t at = 0;

	if (n > m->valloc) {
		struct pgp_cert *c = mem_reallocarray(m->c, n, sizeof(*c));
		const struct pgp_cert **v;

		if (c == NULL)
			return nomem(err);
		m->c = c;
		for (size_t k = m->valloc; k < n; k++)
			m->c[k] = (struct pgp_cert)PGP_CERT_INIT;
		m->valloc = n;
		if ((v = mem_reallocarray(m->v, n, sizeof(*v))) == NULL)
			return nomem(err);
		m->v = v;
	}
	buf_reset(&m->bytes);
	for (size_t k = 0; k < n; k++) {
		if (buf_grow(&m->bytes, e[k].len) != 0)
			return nomem(err);
		if (fseeko(m->spill, (off_t)e[k].off, SEEK_SET) != 0 ||
		    fread(m->bytes.p + m->bytes.len, 1, e[k].len, m->spill) !=
		    e[k].len)
			return pgps_err_set(err, PGPS_EIO, "cannot read the "
			    "temporary file: %s", strerror(errno));
		m->bytes.len += e[k].len;
	}
	for (size_t k = 0; k < n; k++) {
		if (pgp_cert_parse(&m->c[k], m->bytes.p + at, e[k].len,
		    e[k].offset, err) != 0)
			return pgps_err_prefix(err, PGPS_EINTERNAL, "cannot "
			    "re-read a spilled certificate");
		at += e[k].len;
	}
	return 0;
}

/*
 * The merged key in out through the limits, naming where it was first
 * seen: 1 to keep it, 0 when left out (said, counted), or a negative
 * code.
 */
static int
limit(struct keyset_merge *m, struct buf *out, const char *source,
    uint64_t offset, struct pgps_err *err)
{
	struct keyset_filter_counts fc;
	struct pgps_err e = PGPS_ERR_INIT;
	int r;

	memset(&fc, 0, sizeof(fc));
	if (pgp_cert_parse(&m->merged, out->p, out->len, offset, &e) != 0)
		return pgps_err_set(err, PGPS_EINTERNAL, "cannot re-read a "
		    "merged certificate: %s", e.msg);
	buf_reset(&m->lb);
	r = keyset_filter_limits(&m->lb, &m->merged, &m->lim, source, &fc,
	    &e);
	if (r == PGPS_ENOMEM)
		return nomem(err);
	if (r != 0) {
		say(m, "%s", e.msg);
		if (r > 0)
			m->n.refused++;
		else
			m->n.skipped++;
		return 0;
	}
	buf_swap(&m->lb, out);
	return 1;
}

/* Whether version k has another primary key packet than version 0. */
static bool
is_apart(const struct keyset_merge *m, size_t k)
{
	const struct pgp_cert *c = &m->c[k], *c0 = &m->c[0];

	return k > 0 && c->has_primary && c0->has_primary &&
	    pgp_packet_cmp(&c->pkts[0], &c0->pkts[0]) != 0;
}

/*
 * Merges the versions of group g into out (all at once: one pass,
 * whatever their number), leaving out those with another primary key
 * packet.  1 when out holds the key, 0 when it was left out (said), or a
 * negative code.
 */
static int
merge_group(struct keyset_merge *m, const struct group *g, struct buf *out,
    struct pgps_err *err)
{
	const struct entry *e = &m->ents[g->first];
	const char *first = m->srcs[e[0].src];
	struct pgps_err me = PGPS_ERR_INIT;
	struct pgp_cert_merge_report rep;
	size_t nv = 0, apart = 0;
	int r;

	if ((r = versions_load(m, e, g->n, err)) != 0)
		return r;
	for (size_t k = 0; k < g->n; k++)
		if (!is_apart(m, k))
			m->v[nv++] = &m->c[k];
	buf_reset(out);
	if (pgp_cert_merge_many(out, m->v, nv, &rep, &me) != 0) {
		if (me.code == PGPS_ENOMEM)
			return nomem(err);
		say(m, "'%s': offset %llu: %s; the certificate is left out",
		    first, (unsigned long long)e[0].offset, me.msg);
		m->n.skipped += g->n;
		return 0;
	}
	for (size_t k = 1; k < g->n; k++) {
		if (!is_apart(m, k))
			continue;
		say(m, "'%s': offset %llu: a different primary key with the "
		    "fingerprint of the certificate first seen in '%s' at "
		    "offset %llu; this version is left out",
		    m->srcs[e[k].src], (unsigned long long)e[k].offset, first,
		    (unsigned long long)e[0].offset);
		apart++;
	}
	m->n.skipped += apart;
	m->n.merged += rep.new_versions;
	m->n.duplicates += g->n - apart - 1 - rep.new_versions;
	if (rep.dropped_secret > 0)
		say(m, "'%s': offset %llu: %zu secret key%s dropped, with the "
		    "signatures under %s", first,
		    (unsigned long long)e[0].offset, rep.dropped_secret,
		    rep.dropped_secret == 1 ? "" : "s",
		    rep.dropped_secret == 1 ? "it" : "them");
	return m->limits ? limit(m, out, first, e[0].offset, err) : 1;
}

int
keyset_merge_next(struct keyset_merge *m, struct buf *out,
    const char **source, uint64_t *offset, struct pgps_err *err)
{
	int r;

	if (!m->grouped && (r = group(m, err)) != 0)
		return r;
	while (m->at < m->ngroups) {
		const struct group *g = &m->groups[m->at++];

		if ((r = merge_group(m, g, out, err)) == 0)
			continue;
		if (r > 0) {
			*source = m->srcs[m->ents[g->first].src];
			*offset = m->ents[g->first].offset;
		}
		return r;
	}
	return 0;
}

const struct keyset_merge_counts *
keyset_merge_counts(const struct keyset_merge *m)
{
	return &m->n;
}

void
keyset_merge_free(struct keyset_merge *m)
{
	if (m == NULL)
		return;
	if (m->spill != NULL)
		fclose(m->spill);
	digest_free(m->md5);
	for (size_t i = 0; i < m->nsrcs; i++)
		free(m->srcs[i]);
	free(m->srcs);
	free(m->ents);
	free(m->groups);
	for (size_t k = 0; k < m->valloc; k++)
		pgp_cert_release(&m->c[k]);
	free(m->c);
	free(m->v);
	buf_release(&m->cb);
	buf_release(&m->bytes);
	buf_release(&m->lb);
	pgp_cert_release(&m->merged);
	free(m);
}
