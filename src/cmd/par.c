/*
 * par.c: the ordered parallel map behind the hashing and counting verbs.
 *
 * One mutex guards the queue; batches are large (up to 4 MiB or 1024
 * certificates), so the lock is taken a few hundred times per gigabyte and
 * never shows in a profile.  The calling thread does the splitting, which
 * touches only packet headers, while the workers do the hashing.
 */
#include "util/common.h"

#include <errno.h>
#include <pthread.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "cmd/par.h"
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
	const struct par_spec *spec;
	pthread_mutex_t	 mu;
	pthread_cond_t	 work;		/* a batch was queued, or stop */
	pthread_cond_t	 finished;	/* a batch was done */
	struct batch	*head;
	struct batch	*tail;
	bool		 stop;
};

int
par_ncpu(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : (n > 64 ? 64 : (int)n);
}

/*
 * Finished batches are kept for reuse: their buffers are megabytes, and
 * getting fresh ones from the kernel each time costs page faults.
 */
static struct batch *batch_pool;

static struct batch *
batch_new(void)
{
	struct batch *b = batch_pool;

	if (b != NULL) {
		batch_pool = b->next;
		b->next = NULL;
		b->n = 0;
		b->skipped = 0;
		b->done = false;
		buf_reset(&b->data);
		buf_reset(&b->out);
		buf_reset(&b->msgs);
		return b;
	}
	b = xcalloc(1, sizeof(*b));
	buf_init(&b->data, 0);
	buf_init(&b->out, 0);
	buf_init(&b->msgs, 0);
	return b;
}

static void
batch_recycle(struct batch *b)
{
	for (size_t i = 0; i < b->nsources; i++)
		free(b->sources[i]);
	b->nsources = 0;
	b->next = batch_pool;
	batch_pool = b;
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

		batch_run(par, ws, b);

		pthread_mutex_lock(&par->mu);
		b->done = true;
		pthread_cond_broadcast(&par->finished);
		pthread_mutex_unlock(&par->mu);
	}
	return ws;
}

static int
emit(struct par *par, struct batch *b, struct ctx *ctx, struct par_result *res)
{
	const struct par_spec *s = par->spec;
	char *line, *nl;

	if (b->out.len > 0) {
		if (s->sink != NULL) {
			if (s->sink(b->out.p, b->out.len, s->sink_arg) != 0)
				return -1;
		} else if (fwrite(b->out.p, 1, b->out.len, stdout) !=
		    b->out.len) {
			/* A reader that went away (head) is no news. */
			if (errno != EPIPE)
				error("write error on standard output: %s",
				    strerror(errno));
			return -1;
		}
	}
	for (line = (char *)b->msgs.p; *line != '\0'; line = nl + 1) {
		if ((nl = strchr(line, '\n')) == NULL)
			break;
		*nl = '\0';
		if (!ctx->quiet)
			warn("%s", line);
	}
	res->skipped += b->skipped;
	return 0;
}

int
par_run(struct keyset_iter *it, const struct par_spec *spec, struct ctx *ctx,
    struct par_result *res)
{
	struct par par;
	pthread_t *th;
	struct batch **ring, *cur = NULL;
	size_t ringsz, inflight = 0, first = 0;
	int jobs = spec->jobs > 0 ? spec->jobs : par_ncpu();
	int rc = 0, r;
	bool eof = false;

	memset(res, 0, sizeof(*res));
	memset(&par, 0, sizeof(par));
	par.spec = spec;
	pthread_mutex_init(&par.mu, NULL);
	pthread_cond_init(&par.work, NULL);
	pthread_cond_init(&par.finished, NULL);
	ringsz = (size_t)jobs * 2 + 2;
	ring = xcalloc(ringsz, sizeof(*ring));
	th = xcalloc((size_t)jobs, sizeof(*th));
	for (int i = 0; i < jobs; i++)
		if (pthread_create(&th[i], NULL, worker, &par) != 0)
			die("cannot start a worker thread");

	while (!eof || cur != NULL || inflight > 0) {
		/* Emit finished batches in order. */
		pthread_mutex_lock(&par.mu);
		while (inflight > 0 && (inflight == ringsz || eof) &&
		    !ring[first]->done)
			pthread_cond_wait(&par.finished, &par.mu);
		pthread_mutex_unlock(&par.mu);
		while (inflight > 0 && batch_done(&par, ring[first])) {
			struct batch *b = ring[first];

			if (rc == 0 && emit(&par, b, ctx, res) != 0) {
				rc = -1;
				eof = true;	/* stop reading */
			}
			batch_recycle(b);
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
			struct pgps_err err = PGPS_ERR_INIT;
			struct pgp_raw_cert c;
			const char *src;

			r = keyset_iter_next(it, &c, spec->max_cert, &err);
			if (r == 0) {
				eof = true;
				break;
			}
			src = keyset_iter_source(it);
			if (r < 0) {
				if (keyset_is_fatal(r)) {
					rc = error("%s", err.msg);
					eof = true;
					break;
				}
				res->skipped++;
				if (cur == NULL)
					cur = batch_new();
				buf_addf(&cur->msgs, "%s\n", err.msg);
				continue;
			}
			if (cur == NULL)
				cur = batch_new();
			if (cur->nsources == 0 ||
			    strcmp(cur->sources[cur->nsources - 1], src) != 0) {
				cur->sources = xreallocarray(cur->sources,
				    cur->nsources + 1, sizeof(char *));
				cur->sources[cur->nsources++] = xstrdup(src);
			}
			if (cur->n == cur->alloc) {
				cur->alloc = cur->alloc == 0 ? 64 :
				    cur->alloc * 2;
				cur->items = xreallocarray(cur->items,
				    cur->alloc, sizeof(*cur->items));
			}
			cur->items[cur->n].off = cur->data.len;
			cur->items[cur->n].len = c.len;
			cur->items[cur->n].offset = c.offset;
			cur->items[cur->n].src = cur->nsources - 1;
			if (buf_add(&cur->data, c.p, c.len) != 0)
				die("out of memory");
			cur->n++;
			res->certs++;
			res->bytes += c.len;
			if (cur->n >= BATCH_CERTS || cur->data.len >= BATCH_BYTES)
				break;
		}
		if (spec->progress != NULL)
			progress_update(spec->progress, keyset_iter_done(it),
			    res->certs);
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

	pthread_mutex_lock(&par.mu);
	par.stop = true;
	pthread_cond_broadcast(&par.work);
	pthread_mutex_unlock(&par.mu);
	for (int i = 0; i < jobs; i++) {
		void *ws = NULL;

		pthread_join(th[i], &ws);
		if (spec->wstate_done != NULL)
			spec->wstate_done(ws, spec->arg);
	}
	free(th);
	free(ring);
	while (batch_pool != NULL) {
		struct batch *b = batch_pool;

		batch_pool = b->next;
		batch_free(b);
	}
	pthread_mutex_destroy(&par.mu);
	pthread_cond_destroy(&par.work);
	pthread_cond_destroy(&par.finished);
	return rc;
}
