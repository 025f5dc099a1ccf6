/*
 * par.c: the ordered parallel map behind hashing, counting and filtering
 * whole key sets.
 *
 * One mutex guards the queue; batches are large (up to 4 MiB or 1024
 * certificates), so the lock is taken a few hundred times per gigabyte and
 * never shows in a profile.  The calling thread does the splitting, which
 * touches only packet headers, while the workers do the hashing.
 */
#include "util/common.h"

#include <pthread.h>
#include <unistd.h>

#include "keyset/backend.h"
#include "keyset/par.h"
#include "util/mem.h"

#define BATCH_BYTES	((size_t)4 << 20)
#define BATCH_CERTS	1024

struct par_item {
	size_t		 off;
	size_t		 len;
	uint64_t	 offset;
	size_t		 src;		/* index into batch->sources */
};

struct batch {
	char		**sources;	/* a batch may span files */
	size_t		 nsources;
	struct buf	 data;
	struct par_item	*items;
	size_t		 n;
	size_t		 alloc;
	struct buf	 out;
	struct buf	 msgs;
	uint64_t	 skipped;
	bool		 done;
	struct batch	*next;		/* in the work queue */
};

struct par {
	const struct keyset_par_spec *spec;
	pthread_mutex_t	 mu;
	pthread_cond_t	 work;		/* a batch was queued, or stop */
	pthread_cond_t	 finished;	/* a batch was done */
	struct batch	*head;
	struct batch	*tail;
	bool		 stop;
	/*
	 * Finished batches kept for reuse (calling thread only): their
	 * buffers are megabytes, and getting fresh ones from the kernel
	 * each time costs page faults.
	 */
	struct batch	*pool;
};

int
keyset_par_ncpu(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : (n > 64 ? 64 : (int)n);
}

/* A batch from the pool, or a new one; NULL when out of memory. */
static struct batch *
batch_new(struct par *par)
{
	struct batch *b = par->pool;

	if (b != NULL) {
		par->pool = b->next;
		b->next = NULL;
		b->n = 0;
		b->skipped = 0;
		b->done = false;
		buf_reset(&b->data);
		buf_reset(&b->out);
		buf_reset(&b->msgs);
		return b;
	}
	if ((b = calloc(1, sizeof(*b))) == NULL)
		return NULL;
	buf_init(&b->data, 0);
	buf_init(&b->out, 0);
	buf_init(&b->msgs, 0);
	return b;
}

static void
batch_recycle(struct par *par, struct batch *b)
{
	for (size_t i = 0; i < b->nsources; i++)
		free(b->sources[i]);
	b->nsources = 0;
	b->next = par->pool;
	par->pool = b;
}

static void
batch_free(struct batch *b)
{
	if (b == NULL)
		return;
	for (size_t i = 0; i < b->nsources; i++)
		free(b->sources[i]);
	free(b->sources);
	buf_release(&b->data);
	buf_release(&b->out);
	buf_release(&b->msgs);
	free(b->items);
	free(b);
}

static void
batch_run(struct par *par, void *ws, struct batch *b)
{
	for (size_t i = 0; i < b->n; i++) {
		struct pgps_err err = PGPS_ERR_INIT;
		struct pgp_raw_cert c;
		int r;

		c.p = b->data.p + b->items[i].off;
		c.len = b->items[i].len;
		c.offset = b->items[i].offset;
		r = par->spec->fn(ws, &c, b->sources[b->items[i].src],
		    &b->out, &err);
		if (r < 0)
			b->skipped++;
		if (r != 0)
			buf_addf(&b->msgs, "%s\n", err.msg[0] != '\0' ?
			    err.msg : "certificate skipped");
	}
}

/* Whether b is finished; the flag is written by a worker under mu. */
static bool
batch_done(struct par *par, struct batch *b)
{
	bool done;

	pthread_mutex_lock(&par->mu);
	done = b->done;
	pthread_mutex_unlock(&par->mu);
	return done;
}

/* A worker without its state (no memory) skips what it takes. */
static void
batch_fail(struct batch *b)
{
	b->skipped += b->n;
	for (size_t i = 0; i < b->n; i++)
		(void)buf_addstr(&b->msgs, "out of memory; certificate "
		    "skipped\n");
}

static void *
worker(void *arg)
{
	struct par *par = arg;
	void *ws = par->spec->wstate_new(par->spec->arg);
	struct batch *b;

	for (;;) {
		pthread_mutex_lock(&par->mu);
		while (par->head == NULL && !par->stop)
			pthread_cond_wait(&par->work, &par->mu);
		if (par->head == NULL) {
			pthread_mutex_unlock(&par->mu);
			break;
		}
		b = par->head;
		par->head = b->next;
		if (par->head == NULL)
			par->tail = NULL;
		pthread_mutex_unlock(&par->mu);

		if (ws != NULL)
			batch_run(par, ws, b);
		else
			batch_fail(b);

		pthread_mutex_lock(&par->mu);
		b->done = true;
		pthread_cond_broadcast(&par->finished);
		pthread_mutex_unlock(&par->mu);
	}
	return ws;
}

/* Passes b's output and then its warnings on; the sink's return. */
static int
emit(struct par *par, struct batch *b, struct keyset_par_result *res)
{
	const struct keyset_par_spec *s = par->spec;
	char *line, *nl;
	int r;

	if (b->out.len > 0 && s->sink != NULL &&
	    (r = s->sink(b->out.p, b->out.len, s->sink_arg)) != 0)
		return r;
	for (line = (char *)b->msgs.p; *line != '\0'; line = nl + 1) {
		if ((nl = strchr(line, '\n')) == NULL)
			break;
		*nl = '\0';
		if (s->warn != NULL)
			s->warn(line, s->report_arg);
	}
	res->skipped += b->skipped;
	return 0;
}

/* Adds c (from source src) to batch b; 0 or PGPS_ENOMEM / PGPS_ELIMIT. */
static int
batch_add(struct batch *b, const struct pgp_raw_cert *c, const char *src)
{
	int r;

	if (b->nsources == 0 ||
	    strcmp(b->sources[b->nsources - 1], src) != 0) {
		char **v = mem_reallocarray(b->sources, b->nsources + 1,
		    sizeof(char *));

		if (v == NULL)
			return PGPS_ENOMEM;
		b->sources = v;
		if ((b->sources[b->nsources] = strdup(src)) == NULL)
			return PGPS_ENOMEM;
		b->nsources++;
	}
	if (b->n == b->alloc) {
		size_t alloc = b->alloc == 0 ? 64 : b->alloc * 2;
		struct par_item *v = mem_reallocarray(b->items, alloc,
		    sizeof(*b->items));

		if (v == NULL)
			return PGPS_ENOMEM;
		b->items = v;
		b->alloc = alloc;
	}
	b->items[b->n].off = b->data.len;
	b->items[b->n].len = c->len;
	b->items[b->n].offset = c->offset;
	b->items[b->n].src = b->nsources - 1;
	if ((r = buf_add(&b->data, c->p, c->len)) != 0)
		return r;
	b->n++;
	return 0;
}

int
keyset_par_run(struct keyset_iter *it, const struct keyset_par_spec *spec,
    struct keyset_par_result *res, struct pgps_err *err)
{
	struct par par;
	pthread_t *th = NULL;
	struct batch **ring = NULL, *cur = NULL;
	size_t ringsz, inflight = 0, first = 0;
	int jobs = spec->jobs > 0 ? spec->jobs : keyset_par_ncpu();
	int started = 0, rc = 0, r;
	bool eof = false;

	memset(res, 0, sizeof(*res));
	memset(&par, 0, sizeof(par));
	par.spec = spec;
	pthread_mutex_init(&par.mu, NULL);
	pthread_cond_init(&par.work, NULL);
	pthread_cond_init(&par.finished, NULL);
	ringsz = (size_t)jobs * 2 + 2;
	if ((ring = calloc(ringsz, sizeof(*ring))) == NULL ||
	    (th = calloc((size_t)jobs, sizeof(*th))) == NULL) {
		rc = pgps_err_set(err, PGPS_ENOMEM, "out of memory");
		goto cleanup;
	}
	for (; started < jobs; started++)
		if (pthread_create(&th[started], NULL, worker, &par) != 0) {
			rc = pgps_err_set(err, PGPS_EINTERNAL, "cannot start "
			    "a worker thread");
			goto stop;
		}

	while (!eof || cur != NULL || inflight > 0) {
		/* Emit finished batches in order. */
		pthread_mutex_lock(&par.mu);
		while (inflight > 0 && (inflight == ringsz || eof) &&
		    !ring[first]->done)
			pthread_cond_wait(&par.finished, &par.mu);
		pthread_mutex_unlock(&par.mu);
		while (inflight > 0 && batch_done(&par, ring[first])) {
			struct batch *b = ring[first];

			if (rc == 0 && (r = emit(&par, b, res)) != 0) {
				rc = r;
				eof = true;	/* stop reading */
			}
			batch_recycle(&par, b);
			ring[first] = NULL;
			first = (first + 1) % ringsz;
			inflight--;
		}
		if (eof && cur == NULL)
			continue;
		if (inflight == ringsz)
			continue;
		/* Fill a batch. */
		while (!eof && rc == 0) {
			struct pgps_err e = PGPS_ERR_INIT;
			struct pgp_raw_cert c;

			r = keyset_iter_next(it, &c, spec->max_cert, &e);
			if (r == 0) {
				eof = true;
				break;
			}
			if (cur == NULL && (cur = batch_new(&par)) == NULL) {
				rc = pgps_err_set(err, PGPS_ENOMEM,
				    "out of memory");
				eof = true;
				break;
			}
			if (r < 0) {
				if (keyset_is_fatal(r)) {
					rc = pgps_err_set(err, r, "%s", e.msg);
					eof = true;
					break;
				}
				res->skipped++;
				(void)buf_addf(&cur->msgs, "%s\n", e.msg);
				continue;
			}
			if ((r = batch_add(cur, &c,
			    keyset_iter_source(it))) != 0) {
				rc = pgps_err_set(err, r, "'%s': offset %llu: "
				    "out of memory", keyset_iter_source(it),
				    (unsigned long long)c.offset);
				eof = true;
				break;
			}
			res->certs++;
			res->bytes += c.len;
			if (cur->n >= BATCH_CERTS ||
			    cur->data.len >= BATCH_BYTES)
				break;
		}
		if (spec->progress != NULL)
			spec->progress(keyset_iter_done(it), res->certs,
			    spec->report_arg);
		if (cur != NULL) {
			size_t slot = (first + inflight) % ringsz;

			ring[slot] = cur;
			inflight++;
			pthread_mutex_lock(&par.mu);
			if (par.tail != NULL)
				par.tail->next = cur;
			else
				par.head = cur;
			par.tail = cur;
			pthread_cond_signal(&par.work);
			pthread_mutex_unlock(&par.mu);
			cur = NULL;
		}
	}

 stop:
	pthread_mutex_lock(&par.mu);
	par.stop = true;
	pthread_cond_broadcast(&par.work);
	pthread_mutex_unlock(&par.mu);
	for (int i = 0; i < started; i++) {
		void *ws = NULL;

		pthread_join(th[i], &ws);
		if (ws != NULL && spec->wstate_done != NULL)
			spec->wstate_done(ws, spec->arg);
	}
	/* After a failed start, batches may still be queued: free them. */
	for (size_t i = 0; i < inflight; i++)
		batch_free(ring[(first + i) % ringsz]);
 cleanup:
	free(th);
	free(ring);
	while (par.pool != NULL) {
		struct batch *b = par.pool;

		par.pool = b->next;
		batch_free(b);
	}
	pthread_mutex_destroy(&par.mu);
	pthread_cond_destroy(&par.work);
	pthread_cond_destroy(&par.finished);
	return rc;
}

/* --- one certificate after the other --------------------------------- */

int
keyset_par_parse(struct pgp_cert *c, const struct pgp_raw_cert *raw,
    const char *source, struct pgps_err *err)
{
	int r;

	if ((r = pgp_cert_parse(c, raw->p, raw->len, raw->offset, err)) != 0)
		return pgps_err_prefix(err, r, "'%s'", source);
	if (c->flags & PGP_CERT_SECRET)
		return pgps_err_set(err, PGPS_EFORMAT, "'%s': offset %llu: "
		    "secret key material; skipped", source,
		    (unsigned long long)raw->offset);
	return 0;
}

int
keyset_iter_next_cert(struct keyset_iter *it, struct pgp_cert *c,
    void (*warn)(const char *msg, void *arg), void *arg, uint64_t *skipped,
    struct pgps_err *err)
{
	for (;;) {
		struct pgps_err e = PGPS_ERR_INIT;
		struct pgp_raw_cert raw;
		int r;

		if ((r = keyset_iter_next(it, &raw, 0, &e)) == 0)
			return 0;
		if (r < 0 && keyset_is_fatal(r))
			return pgps_err_set(err, r, "%s", e.msg);
		if (r > 0 && keyset_par_parse(c, &raw, keyset_iter_source(it),
		    &e) == 0)
			return 1;
		(*skipped)++;
		if (warn != NULL)
			warn(e.msg, arg);
	}
}

/* --- putting a whole set ---------------------------------------------- */

struct put_run {
	struct keyset	*ks;
	struct pgps_err	 err;		/* of a failed put */
};

static void *
put_ws_new(void *arg)
{
	struct put_run *run = arg;
	struct keyset_prep *w;

	return keyset_prep_new(&w, run->ks, NULL) == 0 ? w : NULL;
}

static void
put_ws_done(void *ws, void *arg)
{
	(void)arg;
	keyset_prep_free(ws);
}

static int
put_prepare(void *ws, const struct pgp_raw_cert *raw, const char *source,
    struct buf *out, struct pgps_err *err)
{
	return keyset_prepare(out, ws, raw->p, raw->len, source, raw->offset,
	    err);
}

/* Puts a batch of prepared certificates, in input order. */
static int
put_batch(const uint8_t *p, size_t len, void *arg)
{
	struct put_run *run = arg;
	size_t used;
	int r;

	while (len > 0) {
		if ((r = keyset_put_prepared(run->ks, p, len, &used,
		    &run->err)) != 0)
			return r;
		p += used;
		len -= used;
	}
	return 0;
}

/* keyset_put_all() on the calling thread, flushing in batches. */
static int
put_serial(struct keyset *ks, struct keyset_iter *it,
    const struct keyset_put_spec *spec, struct keyset_par_result *res,
    bool *read_failed, struct pgps_err *err)
{
	size_t certs = spec->batch_certs > 0 ? spec->batch_certs : 1000;
	size_t bytes = spec->batch_bytes > 0 ? spec->batch_bytes :
	    (size_t)32 << 20;
	struct pgp_raw_cert raw;
	size_t pending, nbytes;
	int r, rc;

	for (;;) {
		struct pgps_err e = PGPS_ERR_INIT;

		r = keyset_iter_next(it, &raw, 0, &e);
		if (r < 0 && keyset_is_fatal(r)) {
			*read_failed = true;
			return pgps_err_set(err, r, "%s", e.msg);
		}
		if (r < 0) {
			res->skipped++;
			if (spec->warn != NULL)
				spec->warn(e.msg, spec->arg);
			continue;
		}
		if (r > 0) {
			if ((rc = keyset_put(ks, raw.p, raw.len,
			    keyset_iter_source(it), raw.offset, err)) != 0)
				return rc;
			res->certs++;
			res->bytes += raw.len;
			if (spec->progress != NULL)
				spec->progress(keyset_iter_done(it),
				    res->certs, spec->arg);
		}
		pending = keyset_pending(ks, &nbytes);
		if ((r == 0 || pending >= certs || nbytes >= bytes) &&
		    (rc = keyset_flush(ks, err)) != 0)
			return rc;
		if (r == 0)
			return 0;
	}
}

int
keyset_put_all(struct keyset *ks, struct keyset_iter *it,
    const struct keyset_put_spec *spec, struct keyset_par_result *res,
    bool *read_failed, struct pgps_err *err)
{
	struct keyset_par_spec ps;
	struct put_run run;
	bool rf = false;
	int r;

	memset(res, 0, sizeof(*res));
	keyset_iter_keep_bare(it);
	if (ks->ops->prepare == NULL) {
		r = put_serial(ks, it, spec, res, &rf, err);
		goto done;
	}
	memset(&run, 0, sizeof(run));
	run.ks = ks;
	memset(&ps, 0, sizeof(ps));
	ps.jobs = spec->jobs;
	ps.fn = put_prepare;
	ps.wstate_new = put_ws_new;
	ps.wstate_done = put_ws_done;
	ps.arg = &run;
	ps.sink = put_batch;
	ps.sink_arg = &run;
	ps.warn = spec->warn;
	ps.progress = spec->progress;
	ps.report_arg = spec->arg;
	r = keyset_par_run(it, &ps, res, err);
	if (r != 0 && run.err.code != 0)
		r = pgps_err_set(err, r, "%s", run.err.msg);
	else if (r != 0)
		rf = true;
 done:
	if (read_failed != NULL)
		*read_failed = rf;
	return r;
}
