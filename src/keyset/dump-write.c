/*
 * dump-write.c: keydump files written outside a key set: one output, and
 * a set split into numbered files with SKS's metadata (keyset/dump.h).
 */
#include "util/common.h"

#include <sys/stat.h>
#include <errno.h>
#include <time.h>
#include <unistd.h>

#include "keyset/dump.h"
#include "openpgp/openpgp.h"
#include "util/digest.h"
#include "util/hex.h"
#include "util/limits.h"
#include "util/mem.h"

static int
nomem(struct pgps_err *err)
{
	return pgps_err_set(err, PGPS_ENOMEM, "out of memory");
}

/* --- one output ------------------------------------------------------- */

int
dump_out_open(struct dump_out *o, const char *path, bool armor,
    struct pgps_err *err)
{
	memset(o, 0, sizeof(*o));
	buf_init(&o->all, PGPS_MAX_BUF);
	o->armor = armor;
	return atomic_file_open(&o->af, path, err);
}

int
dump_out_write(struct dump_out *o, const uint8_t *p, size_t len,
    struct pgps_err *err)
{
	o->written += len;
	if (o->armor) {
		if (buf_add(&o->all, p, len) != 0)
			return pgps_err_set(err, PGPS_ELIMIT, "armored output "
			    "larger than %zu bytes; write binary instead",
			    (size_t)PGPS_MAX_BUF);
		return 0;
	}
	if (fwrite(p, 1, len, o->af.f) != len)
		return pgps_err_set(err, PGPS_EIO, "write error: %s",
		    strerror(errno));
	return 0;
}

int
dump_out_commit(struct dump_out *o, struct pgps_err *err)
{
	struct buf arm = BUF_INIT;
	int r = 0;

	if (o->armor) {
		buf_init(&arm, PGPS_MAX_BUF);
		if (pgp_armor_encode(&arm, o->all.p, o->all.len,
		    PGP_ARMOR_PUBLIC_KEY, 0) != 0 ||
		    fwrite(arm.p, 1, arm.len, o->af.f) != arm.len)
			r = pgps_err_set(err, PGPS_EIO, "cannot write armored "
			    "output");
		buf_release(&arm);
	}
	buf_release(&o->all);
	if (r != 0) {
		atomic_file_abort(&o->af);
		return r;
	}
	return atomic_file_commit(&o->af, err);
}

void
dump_out_abort(struct dump_out *o)
{
	buf_release(&o->all);
	atomic_file_abort(&o->af);
}

/* --- a dump split into files ------------------------------------------ */

struct split_file {
	char		 name[256];
	char		 md5[33];
};

struct dump_split {
	char		*dir;
	char		*prefix;
	unsigned long	 per;
	struct atomic_file af;		/* af.f: a file is open */
	char		*path;		/* of the open file */
	struct digest	*md5;
	struct split_file *files;	/* [nfiles]: the open one */
	size_t		 nfiles;
	uint64_t	 certs;
	uint64_t	 infile;
	struct buf	 cb;		/* a certificate to write */
	char		 started[32];
};

/* "dir/name" in a new string, or NULL. */
static char *
path_join(const char *dir, const char *name)
{
	size_t len = strlen(dir) + strlen(name) + 2;
	char *p = malloc(len);

	if (p != NULL)
		snprintf(p, len, "%s/%s", dir, name);
	return p;
}

/* The local time now as SKS's metadata writes it. */
static void
now_text(char out[32])
{
	time_t t = time(NULL);
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%d %H:%M:%S", &tm);
}

/* 1 with err naming it when dir holds a dump with s's prefix, else 0. */
static int
split_exists(const struct dump_split *s, struct pgps_err *err)
{
	char name[300];
	struct stat st;
	char *path;
	int r = 0;

	for (int k = 0; k < 2 && r == 0; k++) {
		if (k == 0)
			dump_file_name(name, sizeof(name), s->prefix, 4, 0);
		else
			snprintf(name, sizeof(name), "metadata-%s.txt",
			    s->prefix);
		if ((path = path_join(s->dir, name)) == NULL)
			return nomem(err);
		if (stat(path, &st) == 0) {
			pgps_err_set(err, PGPS_EIO, "'%s' exists: '%s' "
			    "already holds a dump with prefix '%s'", path,
			    s->dir, s->prefix);
			r = 1;
		}
		free(path);
	}
	return r;
}

int
dump_split_open(struct dump_split **out, const char *dir,
    const char *prefix, unsigned long per, struct pgps_err *err)
{
	struct dump_split *s;
	int r;

	if (*prefix == '\0' || strchr(prefix, '/') != NULL ||
	    strlen(prefix) > 128)
		return pgps_err_set(err, PGPS_EFORMAT, "'%s' is not a file "
		    "name prefix", prefix);
	if (per == 0)
		return pgps_err_set(err, PGPS_EFORMAT, "no certificates per "
		    "file");
	if (mkdir(dir, 0755) != 0 && errno != EEXIST)
		return pgps_err_set(err, PGPS_EIO, "cannot create '%s': %s",
		    dir, strerror(errno));
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return nomem(err);
	s->per = per;
	buf_init(&s->cb, 0);
	if ((s->dir = strdup(dir)) == NULL ||
	    (s->prefix = strdup(prefix)) == NULL ||
	    (s->md5 = digest_new(DIGEST_MD5)) == NULL) {
		dump_split_free(s);
		return nomem(err);
	}
	if ((r = split_exists(s, err)) != 0) {
		dump_split_free(s);
		return r;
	}
	now_text(s->started);
	*out = s;
	return 0;
}

/* Puts the open file in place with its MD5 noted. */
static int
split_close_file(struct dump_split *s, struct pgps_err *err)
{
	uint8_t h[16];
	int r;

	digest_final(s->md5, h);
	hex_encode_lower(s->files[s->nfiles].md5, h, 16);
	r = atomic_file_commit(&s->af, err);
	memset(&s->af, 0, sizeof(s->af));
	free(s->path);
	s->path = NULL;
	if (r == 0)
		s->nfiles++;
	return r;
}

int
dump_split_add(struct dump_split *s, const struct pgp_cert *c,
    size_t *dropped, struct pgps_err *err)
{
	struct split_file *f;
	int r;

	buf_reset(&s->cb);
	if ((r = pgp_cert_drop_secret(&s->cb, c, dropped, err)) != 0)
		return r;

	if (s->af.f == NULL) {
		f = mem_reallocarray(s->files, s->nfiles + 1, sizeof(*f));
		if (f == NULL)
			return nomem(err);
		s->files = f;
		f = &s->files[s->nfiles];
		dump_file_name(f->name, sizeof(f->name), s->prefix, 4,
		    s->nfiles);
		if ((s->path = path_join(s->dir, f->name)) == NULL)
			return nomem(err);
		if ((r = atomic_file_open(&s->af, s->path, err)) != 0) {
			memset(&s->af, 0, sizeof(s->af));
			return r;
		}
		digest_reset(s->md5);
		s->infile = 0;
	}
	digest_update(s->md5, s->cb.p, s->cb.len);
	if (fwrite(s->cb.p, 1, s->cb.len, s->af.f) != s->cb.len)
		return pgps_err_set(err, PGPS_EIO, "cannot write '%s': %s",
		    s->path, strerror(errno));
	s->certs++;
	if (++s->infile == s->per)
		return split_close_file(s, err);
	return 0;
}

int
dump_split_finish(struct dump_split *s, struct pgps_err *err)
{
	struct atomic_file meta;
	char host[256], ended[32], name[300], *path;
	int r;

	if (s->af.f != NULL && (r = split_close_file(s, err)) != 0)
		return r;
	/* The metadata file SKS writes, so md5sum -c works on it. */
	if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	now_text(ended);
	snprintf(name, sizeof(name), "metadata-%s.txt", s->prefix);
	if ((path = path_join(s->dir, name)) == NULL)
		return nomem(err);
	r = atomic_file_open(&meta, path, err);
	free(path);
	if (r != 0)
		return r;
	fprintf(meta.f, "#Metadata-for: %s\n", host);
	fprintf(meta.f, "#Dump-started: %s\n", s->started);
	fprintf(meta.f, "#Files-Count: %zu\n", s->nfiles);
	fprintf(meta.f, "#Key-Count: %llu\n", (unsigned long long)s->certs);
	fprintf(meta.f, "#Digest-algo: md5\n");
	for (size_t i = 0; i < s->nfiles; i++)
		fprintf(meta.f, "%s  %s\n", s->files[i].md5, s->files[i].name);
	fprintf(meta.f, "#Dump-ended: %s\n", ended);
	return atomic_file_commit(&meta, err);
}

uint64_t
dump_split_certs(const struct dump_split *s)
{
	return s->certs;
}

size_t
dump_split_files(const struct dump_split *s)
{
	return s->nfiles;
}

void
dump_split_free(struct dump_split *s)
{
	if (s == NULL)
		return;
	if (s->af.f != NULL)
		atomic_file_abort(&s->af);
	digest_free(s->md5);
	buf_release(&s->cb);
	free(s->files);
	free(s->path);
	free(s->dir);
	free(s->prefix);
	free(s);
}
