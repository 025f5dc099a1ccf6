/*
 * diff.c: "pgpsync diff": which certificates only one of two key sets
 * holds, and what changed in those both hold, packet by packet.
 *
 * Each side becomes a sorted index of (fingerprint, hash, where the
 * bytes are): a store's comes from its side index without reading a
 * certificate; any other set is read once, on every CPU (the parallel
 * map of par.h) or, when both sets are read, each on a thread of its
 * own.  The two indexes are then merged like sorted lists, so
 * the comparison is never quadratic, and only the certificates that
 * differ are read again: by offset from a dump file, from the store, or
 * from a temporary copy made on the first pass of input that cannot be
 * read twice (a pipe, armor, a GnuPG keyring).  Memory is the index,
 * about 100 bytes per certificate.
 *
 * Two sets that are not stores are compared by a fast keyed hash of each
 * certificate's bytes (util/fasthash.h), not by the SKS hash: sorting
 * and MD5-hashing every packet would cost more than the rest of the
 * comparison together, and in sets that mostly agree most certificates
 * are byte for byte the same.  Only where the bytes differ are both
 * versions read again and their SKS hashes computed, so that the same
 * packets framed differently still count as unchanged, and only the
 * certificates that are printed by SKS hash get one.  Against a store,
 * whose index holds SKS hashes, the other side is SKS-hashed throughout.
 *
 * A set that holds several versions of a key is compared as their
 * merge, as a keyserver would hold it.  Bare revocations (signatures
 * without their key) are items of their own, named by their SKS hash, as
 * on a keyserver.
 *
 * Nothing here says which of two versions is newer: the packets one has
 * and the other lacks are listed both ways (pgp_cert_diff()).
 */
#include "util/common.h"

#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "cmd/out.h"
#include "keyset/index.h"
#include "keyset/keyset.h"
#include "keyset/store.h"
#include "openpgp/openpgp.h"
#include "util/digest.h"
#include "util/fasthash.h"
#include "util/hex.h"
#include "util/limits.h"
#include "util/mem.h"
#include "util/text.h"
#include "util/tmpfile.h"

enum {
	OPT_HASHES = OPT_LONG,
	OPT_JSON,
	OPT_STAT
};

const struct opt diff_opts[] = {
	{ OPT_HASHES, "hashes", NULL,
	    "list the SKS hashes that only one set has" },
	{ 'J', "jobs", "n", "use n threads (default: one per CPU)" },
	{ OPT_JSON, "json", NULL, "print JSON" },
	{ OPT_STAT, "stat", NULL, "print counts only" },
	{ 0, NULL, NULL, NULL }
};

#define KEY_LEN		INDEX_KEY_LEN
#define KEY_BARE	INDEX_KEY_BARE	/* key[0] of a bare revocation */

enum where {
	IN_FILE,	/* src names a file, read at off */
	IN_SPILL,	/* in the side's temporary file at off */
	IN_STORE	/* src indexes the store's entries */
};

/* One certificate of one side. */
struct rec {
	uint8_t		 key[KEY_LEN];	/* fingerprint length, fingerprint */
	uint8_t		 hash[16];	/* SKS hash, when has_sks */
	uint8_t		 fast[16];	/* fasthash of its bytes, if has_fast */
	uint8_t		 where;
	bool		 has_sks;
	bool		 has_fast;
	uint32_t	 src;
	uint64_t	 off;
	uint64_t	 len;
};

struct side {
	const char		*spec;
	struct rec		*v;
	size_t			 n;
	size_t			 alloc;
	uint64_t		 skipped;
	struct store		*store;
	const struct store_entry *ents;
	char			**src;		/* file sources, interned */
	size_t			 nsrc;
	FILE			*spill;
	uint64_t		 spilled;
	int			 fd;		/* of src[fdsrc] */
	size_t			 fdsrc;
	bool			 fast;		/* keyed by fasthash, not SKS */
	bool			 sorted;	/* v is in rec_cmp_* order */
};

/*
 * The fasthash key: random per run, so that no input can be made to
 * collide on purpose without seeing the hashes, which never leave the
 * process.
 */
static struct fasthash_key fast_key;

/* --- reading a side --------------------------------------------------- */

static void
fast_key_init(void)
{
	uint64_t seed[2] = { 0, 0 };
	FILE *f;

	/* Without /dev/urandom, time and process still vary per run. */
	if ((f = fopen("/dev/urandom", "rb")) == NULL ||
	    fread(seed, sizeof(seed), 1, f) != 1) {
		seed[0] = (uint64_t)time(NULL);
		seed[1] = (uint64_t)getpid();
	}
	if (f != NULL)
		fclose(f);
	fasthash_key_init(&fast_key, seed[0], seed[1]);
}

/*
 * A source can be read again by offset when it is a regular file of
 * binary packets: the reader's offsets are then file offsets.
 */
static bool
can_seek(const char *name)
{
	uint8_t head[4096];
	struct stat st;
	ssize_t n;
	int fd;

	if (strncmp(name, "gpg:", 4) == 0 || stat(name, &st) != 0 ||
	    !S_ISREG(st.st_mode) ||
	    (fd = open(name, O_RDONLY | O_CLOEXEC)) < 0)
		return false;
	n = read(fd, head, sizeof(head));
	close(fd);
	return n >= 0 && !pgp_armor_detect(head, (size_t)n);
}

/* Index callback: certificates of input that cannot be read twice travel. */
static bool
keep_bytes(const char *source, void *arg)
{
	(void)arg;
	return !can_seek(source);
}

/*
 * A certificate's bytes, parsed, and an MD5 context for its SKS hash:
 * what reading one certificate takes, per thread.
 */
struct scratch {
	struct buf		 buf;
	struct pgp_cert		 cert;
	struct digest		*md5;
};

static struct digest *
md5_new(void)
{
	struct digest *d = digest_new(DIGEST_MD5);

	if (d == NULL)
		die("out of memory");
	return d;
}

static void
scratch_init(struct scratch *s)
{
	memset(s, 0, sizeof(*s));
	buf_init(&s->buf, 0);
	buf_init(&s->cert.partial, 0);
	s->md5 = md5_new();
}

static void
scratch_release(struct scratch *s)
{
	buf_release(&s->buf);
	pgp_cert_release(&s->cert);
	digest_free(s->md5);
}

/*
 * Fills r's key from a parsed certificate, and its SKS hash when sks is
 * set or the key is that hash (a bare revocation): index_entry_of_cert().
 */
static int
rec_key(struct rec *r, const struct pgp_cert *c, struct digest *md5,
    bool sks)
{
	struct index_entry e;

	if (index_entry_of_cert(&e, c, md5, sks) != 0)
		return PGPS_ENOMEM;
	memset(r, 0, sizeof(*r));
	memcpy(r->key, e.key, KEY_LEN);
	memcpy(r->hash, e.hash, 16);
	r->has_sks = e.has_sks;
	return 0;
}

static void
side_add(struct side *sd, const struct rec *r)
{
	if (sd->n == sd->alloc) {
		sd->alloc = sd->alloc == 0 ? 1024 : sd->alloc * 2;
		sd->v = xreallocarray(sd->v, sd->alloc, sizeof(*sd->v));
	}
	sd->v[sd->n++] = *r;
}

static uint64_t
spill(struct side *sd, const uint8_t *p, size_t len)
{
	struct pgps_err err = PGPS_ERR_INIT;
	uint64_t off = sd->spilled;

	if (sd->spill == NULL && (sd->spill = tmp_file(&err)) == NULL)
		die("%s", err.msg);
	if (fwrite(p, 1, len, sd->spill) != len)
		die("cannot write a temporary file: %s", strerror(errno));
	sd->spilled += len;
	return off;
}

/* Reading a side: its index entries come here, in input order. */
struct reader {
	struct side		*sd;
	struct ctx		*ctx;
	struct progress		*prog;
	struct buf		*msgs;	/* warnings kept for later, or NULL */
};

static int
side_entry(const struct index_entry *e, const uint8_t *bytes, void *arg)
{
	struct reader *rd = arg;
	struct rec r;

	memset(&r, 0, sizeof(r));
	memcpy(r.key, e->key, KEY_LEN);
	memcpy(r.hash, e->hash, 16);
	memcpy(r.fast, e->fast, 16);
	r.has_sks = e->has_sks;
	r.has_fast = e->has_fast;
	r.src = e->src;
	r.len = e->len;
	if (bytes != NULL) {
		r.where = IN_SPILL;
		r.off = spill(rd->sd, bytes, (size_t)e->len);
	} else {
		r.where = IN_FILE;
		r.off = e->offset;
	}
	side_add(rd->sd, &r);
	return 0;
}

static void
side_warn(const char *msg, void *arg)
{
	struct reader *rd = arg;

	if (rd->msgs != NULL)
		buf_addf(rd->msgs, "%s\n", msg);
	else if (!rd->ctx->quiet)
		warn("%s", msg);
}

static void
side_progress(uint64_t done, uint64_t certs, void *arg)
{
	struct reader *rd = arg;

	if (rd->prog != NULL)
		progress_update(rd->prog, done, certs);
}

/* The index spec of reading sd (rd: the callbacks' argument). */
static void
side_spec(struct index_spec *spec, struct reader *rd)
{
	struct index_spec init = INDEX_SPEC_INIT;

	*spec = init;
	spec->sks = !rd->sd->fast;
	spec->fast = rd->sd->fast ? &fast_key : NULL;
	spec->keep_bytes = keep_bytes;
	spec->entry = side_entry;
	spec->warn = side_warn;
	spec->progress = side_progress;
	spec->arg = rd;
}

/* The side takes the names of its sources from the index. */
static void
side_sources(struct side *sd, struct index_sources *src)
{
	sd->src = src->name;
	sd->nsrc = src->n;
	free(src->kept);
	src->name = NULL;
	src->kept = NULL;
	src->n = 0;
}

/* Orders by key, then SKS hash (store sides and SKS-hashed sets). */
static int
rec_cmp_sks(const void *a, const void *b)
{
	const struct rec *x = a, *y = b;
	int c = memcmp(x->key, y->key, KEY_LEN);

	return c != 0 ? c : memcmp(x->hash, y->hash, 16);
}

/* Orders by key, then bytes (by fasthash and length). */
static int
rec_cmp_fast(const void *a, const void *b)
{
	const struct rec *x = a, *y = b;
	int c = memcmp(x->key, y->key, KEY_LEN);

	if (c == 0)
		c = memcmp(x->fast, y->fast, 16);
	return c != 0 ? c : x->len < y->len ? -1 : x->len > y->len;
}

/* True when x and y are the same bytes (as far as fasthash can tell). */
static bool
rec_same_bytes(const struct rec *x, const struct rec *y)
{
	return x->has_fast && y->has_fast && x->len == y->len &&
	    memcmp(x->fast, y->fast, 16) == 0;
}

static void
side_from_store(struct side *sd, struct ctx *ctx)
{
	struct pgps_err err = PGPS_ERR_INIT;
	size_t n, damaged;

	if (store_open(&sd->store, sd->spec + 6, 0, &err) != 0 ||
	    store_entries(&sd->ents, &n, &damaged, sd->store, &err) != 0)
		die("%s", err.msg);
	if (damaged > 0) {
		if (!ctx->quiet)
			warn("'%s': %zu file%s in the store %s not a "
			    "certificate named by its fingerprint; left out",
			    sd->spec, damaged, damaged == 1 ? "" : "s",
			    damaged == 1 ? "is" : "are");
		sd->skipped += damaged;
	}
	for (size_t i = 0; i < n; i++) {
		struct rec r;

		memset(&r, 0, sizeof(r));
		r.key[0] = sd->ents[i].fprlen;
		memcpy(r.key + 1, sd->ents[i].fpr, sd->ents[i].fprlen);
		memcpy(r.hash, sd->ents[i].hash, 16);
		r.has_sks = true;
		r.where = IN_STORE;
		r.src = (uint32_t)i;
		side_add(sd, &r);
	}
}

/* A record's place in the order of keys, by their first 8 bytes. */
struct ord {
	uint64_t	 k;
	size_t		 i;
};

/*
 * Sorts o[0..n) by k, a byte at a time from the lowest (stable, so each
 * pass keeps the order of the ones before); tmp has room for n.  Returns
 * whichever of the two holds the result.
 */
static struct ord *
ord_sort(struct ord *o, struct ord *tmp, size_t n)
{
	for (unsigned int shift = 0; shift < 64; shift += 8) {
		size_t count[256], pos = 0;
		struct ord *t;

		memset(count, 0, sizeof(count));
		for (size_t i = 0; i < n; i++)
			count[(o[i].k >> shift) & 0xff]++;
		if (count[(o[0].k >> shift) & 0xff] == n)
			continue;	/* all share this byte */
		for (size_t b = 0; b < 256; b++) {
			size_t c = count[b];

			count[b] = pos;
			pos += c;
		}
		for (size_t i = 0; i < n; i++)
			tmp[count[(o[i].k >> shift) & 0xff]++] = o[i];
		t = o;
		o = tmp;
		tmp = t;
	}
	return o;
}

/*
 * Sorts sd's records with cmp, which must order by key first.  Sorting
 * the records themselves moves 100 bytes a step and compares 33 through
 * memcmp; most keys differ in their first bytes, so those are radix
 * sorted alone and only runs that share them are sorted by cmp.
 */
static void
side_sort(struct side *sd, int (*cmp)(const void *, const void *))
{
	struct ord *o, *tmp, *sorted;
	struct rec *v;
	size_t i, j;

	if (sd->sorted || sd->n < 2) {
		sd->sorted = true;
		return;
	}
	o = xreallocarray(NULL, sd->n, sizeof(*o));
	tmp = xreallocarray(NULL, sd->n, sizeof(*tmp));
	for (i = 0; i < sd->n; i++) {
		uint64_t k = 0;

		for (j = 0; j < 8; j++)
			k = k << 8 | sd->v[i].key[j];
		o[i].k = k;
		o[i].i = i;
	}
	sorted = ord_sort(o, tmp, sd->n);
	v = xreallocarray(NULL, sd->n, sizeof(*v));
	for (i = 0; i < sd->n; i++)
		v[i] = sd->v[sorted[i].i];
	for (i = 0; i < sd->n; i = j) {
		for (j = i + 1; j < sd->n && sorted[j].k == sorted[i].k; j++)
			continue;
		if (j - i > 1)
			qsort(v + i, j - i, sizeof(*v), cmp);
	}
	free(sd->v);
	free(o);
	free(tmp);
	sd->v = v;
	sd->alloc = sd->n;
	sd->sorted = true;
}

static struct keyset_iter *
side_open(struct side *sd)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct keyset_iter *it;
	const char *specs[1];

	specs[0] = sd->spec;
	if (keyset_iter_open(&it, specs, 1, &err) != 0)
		die("%s", err.msg);
	return it;
}

/*
 * Reading a set on a thread of its own, one certificate at a time, while
 * the other set is read the same way.  When the work per certificate is
 * only splitting and fasthash, par_run() would spend more on splitting
 * its input on one thread and copying every certificate to its workers
 * than the workers spend; two readers side by side keep two CPUs busy
 * with nothing but the work.  Warnings are kept and printed afterwards,
 * the first set's first, each set's in the order read.
 */
struct solo {
	struct side		*sd;
	struct ctx		*ctx;
	struct keyset_iter	*it;
	struct buf		 msgs;
	char			*fatal;
};

static void *
solo_run(void *arg)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct solo *s = arg;
	struct reader rd = { s->sd, s->ctx, NULL, &s->msgs };
	struct index_sources src = INDEX_SOURCES_INIT;
	struct keyset_par_result res;
	struct index_spec spec;

	side_spec(&spec, &rd);
	if (index_read(s->it, &spec, &src, &res, &err) != 0)
		s->fatal = xstrdup(err.msg);
	s->sd->skipped += res.skipped;
	side_sources(s->sd, &src);
	/* Sorting is the next step; here it is done on both CPUs. */
	side_sort(s->sd, s->sd->fast ? rec_cmp_fast : rec_cmp_sks);
	return NULL;
}

/* Prints what solo_run() kept; returns -1 after a fatal error. */
static int
solo_report(struct solo *s, struct ctx *ctx)
{
	char *line, *nl;
	int rc = 0;

	for (line = (char *)s->msgs.p; s->msgs.len > 0 &&
	    (nl = strchr(line, '\n')) != NULL; line = nl + 1) {
		*nl = '\0';
		if (!ctx->quiet)
			warn("%s", line);
	}
	if (s->fatal != NULL)
		rc = error("%s", s->fatal);
	free(s->fatal);
	buf_release(&s->msgs);
	keyset_iter_free(s->it);
	return rc;
}

/* Reads two sets that are not stores at once, on two threads. */
static int
sides_read(struct side *a, struct side *b, struct ctx *ctx)
{
	struct solo sa, sb;
	pthread_t th;
	int rc;

	memset(&sa, 0, sizeof(sa));
	memset(&sb, 0, sizeof(sb));
	sa.sd = a;
	sb.sd = b;
	sa.ctx = ctx;
	sb.ctx = ctx;
	buf_init(&sa.msgs, 0);
	buf_init(&sb.msgs, 0);
	sa.it = side_open(a);
	sb.it = side_open(b);
	if (pthread_create(&th, NULL, solo_run, &sb) != 0)
		die("cannot start a thread");
	solo_run(&sa);
	pthread_join(th, NULL);
	/* As if read one after the other: b not at all if a failed. */
	if ((rc = solo_report(&sa, ctx)) != 0) {
		buf_release(&sb.msgs);
		free(sb.fatal);
		keyset_iter_free(sb.it);
		return rc;
	}
	return solo_report(&sb, ctx);
}

static int
side_read(struct side *sd, int jobs, struct ctx *ctx)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct index_sources src = INDEX_SOURCES_INIT;
	struct keyset_par_result res;
	struct keyset_iter *it;
	struct index_spec spec;
	struct progress prog;
	struct reader rd = { sd, ctx, &prog, NULL };
	int rc;

	if (strncmp(sd->spec, "store:", 6) == 0) {
		side_from_store(sd, ctx);
		return 0;
	}
	it = side_open(sd);
	side_spec(&spec, &rd);
	spec.jobs = jobs;
	progress_start(&prog, ctx, "reading", keyset_iter_total(it));
	rc = index_hash(it, &spec, &src, &res, &err);
	progress_end(&prog);
	if (rc != 0)
		error("%s", err.msg);
	side_sources(sd, &src);
	keyset_iter_free(it);
	sd->skipped += res.skipped;
	return rc;
}

/* --- reading certificates again --------------------------------------- */

static void
read_at(int fd, uint8_t *p, size_t len, uint64_t off, const char *name)
{
	while (len > 0) {
		ssize_t n = pread(fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die("cannot read '%s' again: %s", name,
			    n < 0 ? strerror(errno) : "it got shorter");
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
}

/*
 * Replaces out's contents with the bytes of r and parses them into c,
 * checking that they are still what the first pass saw; fills in r's SKS
 * hash if it had none.
 */
static void
fetch(struct side *sd, struct rec *r, struct buf *out, struct pgp_cert *c,
    struct digest *md5)
{
	struct pgps_err err = PGPS_ERR_INIT;
	const char *name = "temporary file";
	struct rec chk;
	bool same;

	buf_reset(out);
	if (r->where == IN_STORE) {
		if (store_read(out, sd->store, sd->ents[r->src].oid,
		    &err) != 0)
			die("%s", err.msg);
		name = sd->spec;
	} else {
		if (r->len > PGPS_MAX_CERT ||
		    buf_grow(out, (size_t)r->len) != 0)
			die("out of memory");
		if (r->where == IN_FILE) {
			name = sd->src[r->src];
			if (sd->fd < 0 || sd->fdsrc != r->src) {
				if (sd->fd >= 0)
					close(sd->fd);
				if ((sd->fd = open(name,
				    O_RDONLY | O_CLOEXEC)) < 0)
					die("cannot open '%s' again: %s", name,
					    strerror(errno));
				sd->fdsrc = r->src;
			}
			read_at(sd->fd, out->p, (size_t)r->len, r->off, name);
		} else {
			if (fflush(sd->spill) != 0)
				die("cannot write a temporary file: %s",
				    strerror(errno));
			read_at(fileno(sd->spill), out->p, (size_t)r->len,
			    r->off, name);
		}
		out->len = (size_t)r->len;
		out->p[out->len] = '\0';
	}
	if (pgp_cert_parse(c, out->p, out->len, 0, &err) != 0 ||
	    rec_key(&chk, c, md5, !r->has_sks || !r->has_fast) != 0)
		die("'%s' changed while it was being compared", name);
	if (r->has_fast) {
		fasthash128(chk.fast, out->p, out->len, &fast_key);
		chk.has_fast = true;
		chk.len = out->len;
		same = rec_same_bytes(&chk, r);
	} else
		same = rec_cmp_sks(&chk, r) == 0;
	if (!same)
		die("'%s' changed while it was being compared", name);
	if (!r->has_sks) {
		memcpy(r->hash, chk.hash, 16);
		r->has_sks = true;
	}
}

/* Gives r its SKS hash, reading it again if the first pass did not. */
static void
need_sks(struct side *sd, struct rec *r, struct scratch *s)
{
	if (!r->has_sks)
		fetch(sd, r, &s->buf, &s->cert, s->md5);
}

/*
 * Merges the versions v[0..n) of one key (sorted by SKS hash) into out in
 * one pass, however many there are; a version whose primary key packet
 * differs from the first one's (a v3 key) is left out with a warning.
 */
static void
merge_all(struct side *sd, struct rec *v, size_t n, struct buf *out,
    struct digest *md5)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct buf *b = xcalloc(n, sizeof(*b));
	struct pgp_cert *c = xcalloc(n, sizeof(*c));
	const struct pgp_cert **p = xcalloc(n, sizeof(*p));
	size_t np = 0;

	for (size_t k = 0; k < n; k++) {
		buf_init(&b[k], 0);
		c[k] = (struct pgp_cert)PGP_CERT_INIT;
		if (k > 0 && memcmp(v[k].hash, v[k - 1].hash, 16) == 0)
			continue;
		fetch(sd, &v[k], &b[k], &c[k], md5);
		if (np > 0 && c[k].has_primary && p[0]->has_primary &&
		    pgp_packet_cmp(&c[k].pkts[0], &p[0]->pkts[0]) != 0) {
			warn("'%s': a different primary key with the same "
			    "fingerprint; one version left out", sd->spec);
			continue;
		}
		p[np++] = &c[k];
	}
	buf_reset(out);
	if (pgp_cert_merge_many(out, p, np, NULL, &err) != 0) {
		warn("'%s': %s; the first version kept alone", sd->spec,
		    err.msg);
		if (buf_add(out, b[0].p, b[0].len) != 0)
			die("out of memory");
	}
	for (size_t k = 0; k < n; k++) {
		pgp_cert_release(&c[k]);
		buf_release(&b[k]);
	}
	free(b);
	free(c);
	free(p);
}

/*
 * Several versions of one key in a set: replaces them by their merge
 * (kept in the temporary file), as a keyserver would hold them.
 */
static void
side_merge_versions(struct side *sd)
{
	struct pgp_cert a = PGP_CERT_INIT;
	struct buf cur = BUF_INIT;
	struct scratch s;
	size_t i = 0, n = 0;

	buf_init(&cur, 0);
	scratch_init(&s);
	side_sort(sd, sd->fast ? rec_cmp_fast : rec_cmp_sks);
	while (i < sd->n) {
		size_t j = i + 1, versions = 1;
		struct rec m;

		for (; j < sd->n && memcmp(sd->v[j].key, sd->v[i].key,
		    KEY_LEN) == 0; j++)
			if (sd->fast ? !rec_same_bytes(&sd->v[j],
			    &sd->v[j - 1]) : memcmp(sd->v[j].hash,
			    sd->v[j - 1].hash, 16) != 0)
				versions++;
		if (versions > 1 && sd->fast) {
			/*
			 * Different bytes may still be the same packets:
			 * count versions by SKS hash, as for other sides.
			 */
			for (size_t k = i; k < j; k++)
				need_sks(sd, &sd->v[k], &s);
			qsort(sd->v + i, j - i, sizeof(*sd->v), rec_cmp_sks);
			versions = 1;
			for (size_t k = i + 1; k < j; k++)
				if (memcmp(sd->v[k].hash, sd->v[k - 1].hash,
				    16) != 0)
					versions++;
		}
		m = sd->v[i];
		if (versions > 1) {
			merge_all(sd, sd->v + i, j - i, &cur, s.md5);
			if (pgp_cert_parse(&a, cur.p, cur.len, 0, NULL) != 0 ||
			    rec_key(&m, &a, s.md5, true) != 0)
				die("cannot read a merged certificate");
			if (sd->fast) {
				fasthash128(m.fast, cur.p, cur.len, &fast_key);
				m.has_fast = true;
			}
			m.where = IN_SPILL;
			m.off = spill(sd, cur.p, cur.len);
			m.len = cur.len;
		}
		sd->v[n++] = m;
		i = j;
	}
	sd->n = n;
	scratch_release(&s);
	buf_release(&cur);
	pgp_cert_release(&a);
}

static void
side_release(struct side *sd)
{
	for (size_t i = 0; i < sd->nsrc; i++)
		free(sd->src[i]);
	free(sd->src);
	free(sd->v);
	if (sd->spill != NULL)
		fclose(sd->spill);
	if (sd->fd >= 0)
		close(sd->fd);
	store_free(sd->store);
}

/* --- describing packets ----------------------------------------------- */

/*
 * User IDs are whatever the key's owner (or a forger) wrote: at most
 * UID_MAX octets of one are shown, through text_term() on a terminal and
 * out_json_text() in JSON.  Buffers below hold them raw until then.
 */
#define UID_MAX		256

static void
add_raw(struct buf *b, const uint8_t *p, size_t len)
{
	if (buf_add(b, p, len > UID_MAX ? UID_MAX : len) != 0)
		die("out of memory");
}

/* Appends raw text (a user ID, a file name) to b for the terminal. */
static void
add_term(struct buf *b, const void *p, size_t len)
{
	if (text_term(b, p, len, 0) != 0)
		die("out of memory");
}

static void
fmt_date(char out[32], uint64_t t, bool iso)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL)
		snprintf(out, 32, "%llu", (unsigned long long)t);
	else
		strftime(out, 32, iso ? "%Y-%m-%dT%H:%M:%SZ" : "%Y-%m-%d",
		    &tm);
}

/* What a packet of c is attached to. */
struct target {
	const char	*on;		/* "key", "uid", "uat", "subkey" */
	struct buf	 text;		/* user ID (raw), or subkey fpr */
	uint32_t	 created;	/* of the key the expiry counts from */
};

static void
target_of(struct target *t, const struct pgp_cert *c, size_t comp)
{
	const struct pgp_packet *p = comp == SIZE_MAX ? NULL : &c->pkts[comp];
	struct pgp_key_info k;
	char hex[2 * PGP_FPR_MAX + 1];

	buf_reset(&t->text);
	t->on = "key";
	t->created = c->has_primary ? c->primary.created : 0;
	if (p == NULL)
		return;
	switch (p->tag) {
	case PGP_TAG_USER_ID:
		t->on = "uid";
		add_raw(&t->text, p->body, p->bodylen);
		break;
	case PGP_TAG_USER_ATTRIBUTE:
		t->on = "uat";
		break;
	case PGP_TAG_PUBLIC_SUBKEY:
	case PGP_TAG_SECRET_SUBKEY:
		t->on = "subkey";
		if (pgp_key_info_parse(&k, p->body, p->bodylen, NULL) == 0) {
			pgp_key_fpr_hex(hex, &k);
			buf_addstr(&t->text, hex);
			t->created = k.created;
		}
		break;
	default:
		t->on = "other";
		break;
	}
}

static void
target_text(struct buf *b, const struct target *t)
{
	if (strcmp(t->on, "uid") == 0) {
		buf_addstr(b, "user ID \"");
		add_term(b, t->text.p, t->text.len);
		buf_addstr(b, "\"");
	} else if (strcmp(t->on, "uat") == 0)
		buf_addstr(b, "user attribute");
	else if (strcmp(t->on, "subkey") == 0)
		buf_addf(b, "subkey %s", (const char *)t->text.p);
	else if (strcmp(t->on, "key") == 0)
		buf_addstr(b, "the primary key");
	else
		buf_addstr(b, "an unknown packet");
}

static const char *
reason_text(uint8_t r)
{
	switch (r) {
	case 0:
		return "no reason specified";
	case 1:
		return "key superseded";
	case 2:
		return "key compromised";
	case 3:
		return "key retired";
	case 32:
		return "user ID no longer valid";
	}
	return "unknown reason";
}

/* The issuer as the signature names it: fingerprint, else key ID. */
static bool
issuer_hex(char out[2 * PGP_FPR_MAX + 1], const struct pgp_sig_info *s)
{
	if (s->issuer_fprlen > 0)
		hex_encode_upper(out, s->issuer_fpr, s->issuer_fprlen);
	else if (s->has_issuer)
		hex_encode_upper(out, s->issuer, 8);
	else
		return false;
	return true;
}

static bool
is_sig_change(const struct pgp_cert *c, const struct pgp_change *ch)
{
	return c->pkts[ch->pkt].tag == PGP_TAG_SIGNATURE &&
	    ch->kind != PGP_CHANGE_UID && ch->kind != PGP_CHANGE_UAT &&
	    ch->kind != PGP_CHANGE_SUBKEY;
}

/* One line (without sign and newline) saying what the packet is. */
static void
change_text(struct buf *b, struct target *t, const struct pgp_cert *c,
    const struct pgp_change *ch)
{
	const struct pgp_packet *p = &c->pkts[ch->pkt];
	const struct pgp_sig_info *s = &ch->sig;
	char tmp[16], date[32], hex[2 * PGP_FPR_MAX + 1];
	struct pgp_key_info k;
	bool self;

	switch (ch->kind) {
	case PGP_CHANGE_UID:
		buf_addstr(b, "user ID \"");
		add_term(b, p->body, p->bodylen > UID_MAX ? UID_MAX :
		    p->bodylen);
		buf_addstr(b, "\"");
		return;
	case PGP_CHANGE_UAT:
		buf_addf(b, "user attribute (%zu bytes)", p->bodylen);
		return;
	case PGP_CHANGE_SUBKEY:
		if (pgp_key_info_parse(&k, p->body, p->bodylen, NULL) != 0) {
			buf_addstr(b, "subkey (unreadable)");
			return;
		}
		pgp_key_fpr_hex(hex, &k);
		fmt_date(date, k.created, false);
		buf_addf(b, "subkey %s (%s, %s)", hex,
		    pgp_algo_name(k.algo, tmp), date);
		return;
	default:
		break;
	}
	if (!is_sig_change(c, ch)) {
		buf_addf(b, "%s packet", pgp_tag_name(p->tag, tmp));
		return;
	}
	self = c->has_primary && pgp_sig_is_by(s, &c->primary);
	target_of(t, c, ch->comp);
	buf_addf(b, "%s 0x%02x on ", ch->kind == PGP_CHANGE_CERTIFICATION ?
	    "certification" : ch->kind == PGP_CHANGE_REVOCATION ?
	    "revocation" : ch->kind == PGP_CHANGE_OTHER ? "signature" :
	    "self-signature", s->type);
	target_text(b, t);
	if (!self && issuer_hex(hex, s))
		buf_addf(b, " by %s", hex);
	if (s->has_created) {
		fmt_date(date, s->created, false);
		buf_addf(b, ", %s", date);
	}
	if (ch->kind == PGP_CHANGE_EXPIRY) {
		if (s->has_key_expiry && s->key_expiry != 0) {
			fmt_date(date, (uint64_t)t->created + s->key_expiry,
			    false);
			buf_addf(b, ", changes expiry: key expires %s", date);
		} else
			buf_addstr(b, ", changes expiry: key does not expire");
	}
	if (ch->kind == PGP_CHANGE_REVOCATION && s->has_reason)
		buf_addf(b, ", reason %u (%s)", s->reason,
		    reason_text(s->reason));
}

static json_t *
change_json(struct target *t, const struct pgp_cert *c,
    const struct pgp_change *ch)
{
	const struct pgp_packet *p = &c->pkts[ch->pkt];
	const struct pgp_sig_info *s = &ch->sig;
	json_t *o = json_object();
	char tmp[16], date[32], hex[2 * PGP_FPR_MAX + 1];
	struct pgp_key_info k;

	json_object_set_new(o, "kind",
	    json_string(pgp_change_kind_name(ch->kind)));
	switch (ch->kind) {
	case PGP_CHANGE_UID:
		json_object_set_new(o, "user_id", out_json_text(p->body,
		    p->bodylen > UID_MAX ? UID_MAX : p->bodylen));
		goto done;
	case PGP_CHANGE_UAT:
		json_object_set_new(o, "bytes",
		    json_integer((json_int_t)p->bodylen));
		goto done;
	case PGP_CHANGE_SUBKEY:
		if (pgp_key_info_parse(&k, p->body, p->bodylen, NULL) == 0) {
			pgp_key_fpr_hex(hex, &k);
			fmt_date(date, k.created, true);
			json_object_set_new(o, "fingerprint", json_string(hex));
			json_object_set_new(o, "algorithm",
			    json_string(pgp_algo_name(k.algo, tmp)));
			json_object_set_new(o, "created", json_string(date));
		}
		goto done;
	default:
		break;
	}
	if (!is_sig_change(c, ch)) {
		json_object_set_new(o, "packet",
		    json_string(pgp_tag_name(p->tag, tmp)));
		goto done;
	}
	target_of(t, c, ch->comp);
	snprintf(tmp, sizeof(tmp), "0x%02x", s->type);
	json_object_set_new(o, "sig_type", json_string(tmp));
	json_object_set_new(o, "on", json_string(t->on));
	if (strcmp(t->on, "uid") == 0)
		json_object_set_new(o, "user_id",
		    out_json_text(t->text.p, t->text.len));
	if (strcmp(t->on, "subkey") == 0)
		json_object_set_new(o, "subkey",
		    json_string((const char *)t->text.p));
	if (issuer_hex(hex, s))
		json_object_set_new(o, "issuer", json_string(hex));
	json_object_set_new(o, "self", json_boolean(c->has_primary &&
	    pgp_sig_is_by(s, &c->primary)));
	if (s->has_created) {
		fmt_date(date, s->created, true);
		json_object_set_new(o, "created", json_string(date));
	}
	if (ch->kind == PGP_CHANGE_EXPIRY) {
		if (s->has_key_expiry && s->key_expiry != 0) {
			fmt_date(date, (uint64_t)t->created + s->key_expiry,
			    true);
			json_object_set_new(o, "key_expires",
			    json_string(date));
		} else
			json_object_set_new(o, "key_expires", json_null());
	}
	if (ch->kind == PGP_CHANGE_REVOCATION && s->has_reason)
		json_object_set_new(o, "reason", json_integer(s->reason));
 done:
	return o;
}

/* --- comparing -------------------------------------------------------- */

struct result {
	size_t		*only_a;	/* indexes into a.v */
	size_t		 nonly_a;
	size_t		*only_b;
	size_t		 nonly_b;
	size_t		(*changed)[2];
	size_t		 nchanged;
	size_t		 same;
	uint64_t	 added[PGP_CHANGE_OTHER + 1];
	uint64_t	 removed[PGP_CHANGE_OTHER + 1];
};

/*
 * Pairs the two sorted indexes.  Certificates of one key with the same
 * bytes are unchanged; any others are compared by SKS hash, computed
 * now if the first pass did not.
 */
static void
join(struct result *res, struct side *a, struct side *b)
{
	struct scratch s;
	size_t i = 0, j = 0;

	memset(res, 0, sizeof(*res));
	res->only_a = xcalloc(a->n + 1, sizeof(*res->only_a));
	res->only_b = xcalloc(b->n + 1, sizeof(*res->only_b));
	res->changed = xcalloc((a->n < b->n ? a->n : b->n) + 1,
	    sizeof(*res->changed));
	scratch_init(&s);
	while (i < a->n || j < b->n) {
		int c = i == a->n ? 1 : j == b->n ? -1 :
		    memcmp(a->v[i].key, b->v[j].key, KEY_LEN);

		if (c < 0)
			res->only_a[res->nonly_a++] = i++;
		else if (c > 0)
			res->only_b[res->nonly_b++] = j++;
		else if (rec_same_bytes(&a->v[i], &b->v[j])) {
			res->same++;
			i++;
			j++;
		} else {
			need_sks(a, &a->v[i], &s);
			need_sks(b, &b->v[j], &s);
			if (memcmp(a->v[i].hash, b->v[j].hash, 16) != 0) {
				res->changed[res->nchanged][0] = i;
				res->changed[res->nchanged][1] = j;
				res->nchanged++;
			} else
				res->same++;
			i++;
			j++;
		}
	}
	scratch_release(&s);
}

/*
 * The certificates only one side has get their SKS hashes, for --hashes
 * (the JSON document reads each such certificate when it prints it).
 */
static void
only_need_sks(struct side *a, struct side *b, const struct result *res)
{
	struct scratch s;

	scratch_init(&s);
	for (size_t i = 0; i < res->nonly_a; i++)
		need_sks(a, &a->v[res->only_a[i]], &s);
	for (size_t i = 0; i < res->nonly_b; i++)
		need_sks(b, &b->v[res->only_b[i]], &s);
	scratch_release(&s);
}

static void
result_release(struct result *res)
{
	free(res->only_a);
	free(res->only_b);
	free(res->changed);
}

/* Both versions of a changed certificate and what each lacks. */
struct pair {
	struct pgp_cert		 a;
	struct pgp_cert		 b;
	struct buf		 abuf;
	struct buf		 bbuf;
	struct pgp_change	*add;	/* in b, not in a */
	size_t			 nadd;
	struct pgp_change	*del;	/* in a, not in b */
	size_t			 ndel;
	struct target		 t;
	struct digest		*md5;
};

static void
pair_init(struct pair *p)
{
	memset(p, 0, sizeof(*p));
	buf_init(&p->abuf, 0);
	buf_init(&p->bbuf, 0);
	buf_init(&p->t.text, 0);
	buf_init(&p->a.partial, 0);
	buf_init(&p->b.partial, 0);
	p->md5 = md5_new();
}

static void
pair_release(struct pair *p)
{
	free(p->add);
	free(p->del);
	pgp_cert_release(&p->a);
	pgp_cert_release(&p->b);
	buf_release(&p->abuf);
	buf_release(&p->bbuf);
	buf_release(&p->t.text);
	digest_free(p->md5);
}

static void
pair_load(struct pair *p, struct side *a, struct rec *ra, struct side *b,
    struct rec *rb, struct result *res)
{
	struct pgps_err err = PGPS_ERR_INIT;

	free(p->add);
	free(p->del);
	p->add = p->del = NULL;
	p->nadd = p->ndel = 0;
	fetch(a, ra, &p->abuf, &p->a, p->md5);
	fetch(b, rb, &p->bbuf, &p->b, p->md5);
	if (pgp_cert_diff(&p->add, &p->nadd, &p->a, &p->b, &err) != 0 ||
	    pgp_cert_diff(&p->del, &p->ndel, &p->b, &p->a, &err) != 0)
		die("%s", err.msg);
	for (size_t i = 0; i < p->nadd; i++)
		res->added[p->add[i].kind]++;
	for (size_t i = 0; i < p->ndel; i++)
		res->removed[p->del[i].kind]++;
}

/*
 * The first user ID of c (raw, at most UID_MAX octets), for naming a
 * certificate; empty if none.
 */
static void
first_uid(struct buf *b, const struct pgp_cert *c)
{
	buf_reset(b);
	for (size_t i = 0; i < c->npkts; i++)
		if (c->pkts[i].tag == PGP_TAG_USER_ID) {
			add_raw(b, c->pkts[i].body, c->pkts[i].bodylen);
			return;
		}
}

static void
key_text(char *out, size_t n, const struct rec *r)
{
	char hex[2 * PGP_FPR_MAX + 1];

	if (r->key[0] == KEY_BARE) {
		hex_encode_upper(hex, r->hash, 16);
		snprintf(out, n, "(revocation without key, hash %s)", hex);
	} else {
		hex_encode_upper(hex, r->key + 1, r->key[0]);
		snprintf(out, n, "%s", hex);
	}
}

static const char *const kind_words[][2] = {
	[PGP_CHANGE_UID] = { "user ID", "user IDs" },
	[PGP_CHANGE_UAT] = { "user attribute", "user attributes" },
	[PGP_CHANGE_SUBKEY] = { "subkey", "subkeys" },
	[PGP_CHANGE_SELF_SIG] = { "self-signature", "self-signatures" },
	[PGP_CHANGE_EXPIRY] = { "expiry change", "expiry changes" },
	[PGP_CHANGE_CERTIFICATION] = { "certification", "certifications" },
	[PGP_CHANGE_REVOCATION] = { "revocation", "revocations" },
	[PGP_CHANGE_OTHER] = { "other packet", "other packets" }
};

static void
print_kinds(const char *label, const uint64_t *n)
{
	const char *sep = "";

	printf("%-19s", label);
	for (size_t k = 0; k <= PGP_CHANGE_OTHER; k++) {
		if (n[k] == 0)
			continue;
		printf("%s%llu %s", sep, (unsigned long long)n[k],
		    kind_words[k][n[k] != 1]);
		sep = ", ";
	}
	printf("%s\n", *sep == '\0' ? "none" : "");
}

static json_t *
kinds_json(const uint64_t *n)
{
	json_t *o = json_object();

	for (size_t k = 0; k <= PGP_CHANGE_OTHER; k++)
		json_object_set_new(o, pgp_change_kind_name(k),
		    json_integer((json_int_t)n[k]));
	return o;
}

static json_t *
counts_json(const struct side *a, const struct side *b,
    const struct result *res)
{
	json_t *o = json_object();

	json_object_set_new(o, "a", json_integer((json_int_t)a->n));
	json_object_set_new(o, "b", json_integer((json_int_t)b->n));
	json_object_set_new(o, "only_in_a",
	    json_integer((json_int_t)res->nonly_a));
	json_object_set_new(o, "only_in_b",
	    json_integer((json_int_t)res->nonly_b));
	json_object_set_new(o, "changed",
	    json_integer((json_int_t)res->nchanged));
	json_object_set_new(o, "unchanged",
	    json_integer((json_int_t)res->same));
	json_object_set_new(o, "skipped",
	    json_integer((json_int_t)(a->skipped + b->skipped)));
	return o;
}

/* --- output ----------------------------------------------------------- */

struct hline {
	uint8_t		 hash[16];
	char		 sign;
};

static int
hline_cmp(const void *a, const void *b)
{
	const struct hline *x = a, *y = b;
	int c = memcmp(x->hash, y->hash, 16);

	return c != 0 ? c : x->sign - y->sign;
}

/* --hashes: every SKS hash one set has and the other lacks. */
static void
print_hashes(const struct side *a, const struct side *b,
    const struct result *res, bool json)
{
	size_t n = res->nonly_a + res->nonly_b + 2 * res->nchanged, k = 0;
	struct hline *v = xcalloc(n + 1, sizeof(*v));
	char hex[33];

	for (size_t i = 0; i < res->nonly_a; i++, k++) {
		memcpy(v[k].hash, a->v[res->only_a[i]].hash, 16);
		v[k].sign = '-';
	}
	for (size_t i = 0; i < res->nonly_b; i++, k++) {
		memcpy(v[k].hash, b->v[res->only_b[i]].hash, 16);
		v[k].sign = '+';
	}
	for (size_t i = 0; i < res->nchanged; i++, k += 2) {
		memcpy(v[k].hash, a->v[res->changed[i][0]].hash, 16);
		v[k].sign = '-';
		memcpy(v[k + 1].hash, b->v[res->changed[i][1]].hash, 16);
		v[k + 1].sign = '+';
	}
	qsort(v, n, sizeof(*v), hline_cmp);
	if (json) {
		/* One array per side, each sorted. */
		for (int side = 0; side < 2; side++) {
			const char sign = side == 0 ? '-' : '+';
			const char *sep = "";

			printf("%s  \"only_in_%c\": [", side == 0 ? "{\n" :
			    ",\n", side == 0 ? 'a' : 'b');
			for (size_t i = 0; i < n; i++) {
				if (v[i].sign != sign)
					continue;
				hex_encode_upper(hex, v[i].hash, 16);
				printf("%s\n    \"%s\"", sep, hex);
				sep = ",";
			}
			printf("%s]", *sep == '\0' ? "" : "\n  ");
		}
		printf("\n}\n");
	} else
		for (size_t i = 0; i < n; i++) {
			hex_encode_upper(hex, v[i].hash, 16);
			printf("%c %s\n", v[i].sign, hex);
		}
	free(v);
}

static void
print_stat(struct side *a, struct side *b, struct result *res, bool json)
{
	struct pair p;

	pair_init(&p);
	for (size_t i = 0; i < res->nchanged; i++)
		pair_load(&p, a, &a->v[res->changed[i][0]], b,
		    &b->v[res->changed[i][1]], res);
	pair_release(&p);
	if (json) {
		json_t *o = counts_json(a, b, res);

		json_object_set_new(o, "packets_added",
		    kinds_json(res->added));
		json_object_set_new(o, "packets_removed",
		    kinds_json(res->removed));
		json_dumpf(o, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
		fputc('\n', stdout);
		json_decref(o);
		return;
	}
	printf("%-19s%zu\n", "certificates in a", a->n);
	printf("%-19s%zu\n", "certificates in b", b->n);
	printf("%-19s%zu\n", "only in a", res->nonly_a);
	printf("%-19s%zu\n", "only in b", res->nonly_b);
	printf("%-19s%zu\n", "changed", res->nchanged);
	printf("%-19s%zu\n", "unchanged", res->same);
	print_kinds("packets added", res->added);
	print_kinds("packets removed", res->removed);
}

/* Prints one array element of the streamed JSON document. */
static void
json_elem(json_t *o, const char **sep)
{
	char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);

	if (s == NULL)
		die("out of memory");
	printf("%s\n    %s", *sep, s);
	*sep = ",";
	free(s);
	json_decref(o);
}

static json_t *
only_json(struct side *sd, struct rec *r, bool verbose, struct pair *p)
{
	json_t *o = json_object();
	char hex[2 * PGP_FPR_MAX + 1];
	bool uid = verbose && r->key[0] != KEY_BARE;

	/* One reading gives both the SKS hash and the user ID. */
	if (uid || !r->has_sks)
		fetch(sd, r, &p->abuf, &p->a, p->md5);
	hex_encode_upper(hex, r->hash, 16);
	json_object_set_new(o, "hash", json_string(hex));
	if (r->key[0] == KEY_BARE)
		json_object_set_new(o, "fingerprint", json_null());
	else {
		hex_encode_upper(hex, r->key + 1, r->key[0]);
		json_object_set_new(o, "fingerprint", json_string(hex));
	}
	if (uid) {
		first_uid(&p->t.text, &p->a);
		json_object_set_new(o, "user_id",
		    out_json_text(p->t.text.p, p->t.text.len));
	}
	return o;
}

/*
 * The whole difference as one JSON document, streamed: the arrays are
 * written an element (one line) at a time.
 */
static void
print_json(struct side *a, struct side *b, struct result *res,
    bool verbose)
{
	struct pair p;
	struct buf tb = BUF_INIT;
	char hex[2 * PGP_FPR_MAX + 1];
	const char *sep;
	json_t *o;
	char *s;

	pair_init(&p);
	buf_init(&tb, 0);
	printf("{\n  \"a\": ");
	out_json_print_str(a->spec);
	printf(",\n  \"b\": ");
	out_json_print_str(b->spec);
	printf(",\n  \"only_in_a\": [");
	sep = "";
	for (size_t i = 0; i < res->nonly_a; i++)
		json_elem(only_json(a, &a->v[res->only_a[i]], verbose, &p),
		    &sep);
	printf("%s],\n  \"only_in_b\": [", *sep == '\0' ? "" : "\n  ");
	sep = "";
	for (size_t i = 0; i < res->nonly_b; i++)
		json_elem(only_json(b, &b->v[res->only_b[i]], verbose, &p),
		    &sep);
	printf("%s],\n  \"changed\": [", *sep == '\0' ? "" : "\n  ");
	sep = "";
	for (size_t i = 0; i < res->nchanged; i++) {
		struct rec *ra = &a->v[res->changed[i][0]];
		struct rec *rb = &b->v[res->changed[i][1]];
		json_t *add = json_array(), *del = json_array();

		pair_load(&p, a, ra, b, rb, res);
		o = json_object();
		hex_encode_upper(hex, ra->key + 1, ra->key[0]);
		json_object_set_new(o, "fingerprint", json_string(hex));
		hex_encode_upper(hex, ra->hash, 16);
		json_object_set_new(o, "hash_a", json_string(hex));
		hex_encode_upper(hex, rb->hash, 16);
		json_object_set_new(o, "hash_b", json_string(hex));
		first_uid(&tb, &p.b);
		if (tb.len == 0)
			first_uid(&tb, &p.a);
		json_object_set_new(o, "user_id", tb.len > 0 ?
		    out_json_text(tb.p, tb.len) : json_null());
		for (size_t k = 0; k < p.nadd; k++)
			json_array_append_new(add, change_json(&p.t, &p.b,
			    &p.add[k]));
		for (size_t k = 0; k < p.ndel; k++)
			json_array_append_new(del, change_json(&p.t, &p.a,
			    &p.del[k]));
		json_object_set_new(o, "added", add);
		json_object_set_new(o, "removed", del);
		json_elem(o, &sep);
	}
	printf("%s],\n  \"counts\": ", *sep == '\0' ? "" : "\n  ");
	o = counts_json(a, b, res);
	json_object_set_new(o, "packets_added", kinds_json(res->added));
	json_object_set_new(o, "packets_removed", kinds_json(res->removed));
	s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	printf("%s\n}\n", s != NULL ? s : "null");
	free(s);
	json_decref(o);
	buf_release(&tb);
	pair_release(&p);
}

static void
print_only(char sign, struct side *sd, struct rec *r, bool verbose,
    struct pair *p)
{
	struct buf line = BUF_INIT;
	char key[128];

	key_text(key, sizeof(key), r);
	printf("%c %s", sign, key);
	if (verbose && r->key[0] != KEY_BARE) {
		fetch(sd, r, &p->abuf, &p->a, p->md5);
		first_uid(&p->t.text, &p->a);
		if (p->t.text.len > 0) {
			buf_init(&line, 0);
			add_term(&line, p->t.text.p, p->t.text.len);
			printf(" %s", (const char *)line.p);
			buf_release(&line);
		}
	}
	printf("\n");
}

/*
 * The human form, in diff(1)'s spirit: "-" for a certificate only in a,
 * "+" only in b, "~" changed, followed by its packets that b adds ("+")
 * and a has but b lacks ("-"), indented.
 */
static void
print_text(struct side *a, struct side *b, struct result *res,
    bool verbose)
{
	struct pair p;
	struct buf line = BUF_INIT, uid = BUF_INIT;
	char key[128];

	if (res->nonly_a + res->nonly_b + res->nchanged == 0)
		return;
	pair_init(&p);
	buf_init(&line, 0);
	buf_init(&uid, 0);
	add_term(&line, a->spec, strlen(a->spec));
	printf("--- %s\n", (const char *)line.p);
	buf_reset(&line);
	add_term(&line, b->spec, strlen(b->spec));
	printf("+++ %s\n", (const char *)line.p);
	for (size_t i = 0; i < res->nonly_a; i++)
		print_only('-', a, &a->v[res->only_a[i]], verbose, &p);
	for (size_t i = 0; i < res->nonly_b; i++)
		print_only('+', b, &b->v[res->only_b[i]], verbose, &p);
	for (size_t i = 0; i < res->nchanged; i++) {
		struct rec *ra = &a->v[res->changed[i][0]];

		pair_load(&p, a, ra, b, &b->v[res->changed[i][1]], res);
		key_text(key, sizeof(key), ra);
		first_uid(&uid, &p.b);
		if (uid.len == 0)
			first_uid(&uid, &p.a);
		buf_reset(&line);
		add_term(&line, uid.p, uid.len);
		printf("~ %s%s%s\n", key, line.len > 0 ? " " : "",
		    (const char *)line.p);
		for (size_t k = 0; k < p.nadd; k++) {
			buf_reset(&line);
			change_text(&line, &p.t, &p.b, &p.add[k]);
			printf("    + %s\n", (const char *)line.p);
		}
		for (size_t k = 0; k < p.ndel; k++) {
			buf_reset(&line);
			change_text(&line, &p.t, &p.a, &p.del[k]);
			printf("    - %s\n", (const char *)line.p);
		}
	}
	buf_release(&line);
	buf_release(&uid);
	pair_release(&p);
}

int
cmd_diff(int argc, char **argv, struct ctx *ctx)
{
	struct opt_parser op;
	struct side a, b;
	struct result res;
	const char *arg;
	bool hashes = false, stat = false;
	int c, i, jobs = 0, rc;

	opt_init(&op, argc, argv, ctx);
	while ((c = opt_next(&op, &arg)) != -1) {
		switch (c) {
		case OPT_HASHES:
			hashes = true;
			break;
		case 'J':
			jobs = jobs_opt(ctx, arg);
			break;
		case OPT_JSON:
			ctx->json = true;
			break;
		case OPT_STAT:
			stat = true;
			break;
		}
	}
	i = opt_operands(&op);
	opt_release(&op);
	if (argc - i != 2)
		return usage_error(ctx, "two key sets are needed, not %d",
		    argc - i);
	if (hashes && stat)
		return usage_error(ctx, "--hashes and --stat exclude each "
		    "other");
	if (strcmp(argv[i], "-") == 0 && strcmp(argv[i + 1], "-") == 0)
		return usage_error(ctx, "standard input can be only one of "
		    "the sets");
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	a.spec = argv[i];
	b.spec = argv[i + 1];
	a.fd = b.fd = -1;
	a.fast = b.fast = strncmp(a.spec, "store:", 6) != 0 &&
	    strncmp(b.spec, "store:", 6) != 0;
	fast_key_init();
	/*
	 * Two sets read at once when threads are allowed; not with a
	 * progress meter, which follows one reader, nor for a GnuPG
	 * keyring, whose library wants to be set up on one thread.
	 */
	if (a.fast && jobs != 1 && !ctx->progress &&
	    strncmp(a.spec, "gpg:", 4) != 0 && strncmp(b.spec, "gpg:", 4) != 0)
		rc = sides_read(&a, &b, ctx);
	else
		rc = side_read(&a, jobs, ctx) != 0 ? -1 :
		    side_read(&b, jobs, ctx);
	if (rc != 0) {
		rc = EXIT_ERROR;
		goto cleanup;
	}
	side_merge_versions(&a);
	side_merge_versions(&b);
	join(&res, &a, &b);
	if (hashes)
		only_need_sks(&a, &b, &res);
	if (hashes)
		print_hashes(&a, &b, &res, ctx->json);
	else if (stat)
		print_stat(&a, &b, &res, ctx->json);
	else if (ctx->json)
		print_json(&a, &b, &res, ctx->verbose > 0);
	else
		print_text(&a, &b, &res, ctx->verbose > 0);
	if (a.skipped + b.skipped > 0) {
		if (!ctx->quiet)
			warn("%llu certificate%s or damaged region%s skipped; "
			    "the comparison leaves them out",
			    (unsigned long long)(a.skipped + b.skipped),
			    a.skipped + b.skipped == 1 ? "" : "s",
			    a.skipped + b.skipped == 1 ? "" : "s");
		rc = EXIT_PARTIAL;
	} else
		rc = res.nonly_a + res.nonly_b + res.nchanged > 0 ?
		    EXIT_DIFFER : EXIT_OK;
	result_release(&res);
 cleanup:
	side_release(&a);
	side_release(&b);
	return rc;
}
