/*
 * state.c: the per-key state file of fetch and push (state.h), JSON
 * through jansson.
 *
 * The file is read whole at the start of a run and written whole at the
 * end: a keyring of 100,000 keys makes a file of a few tens of MB, which
 * jansson reads in well under a second.  A run holds the lock from open
 * to free, so overlapping cron jobs take turns instead of losing each
 * other's updates.  Nothing here decides what is due or changed; the
 * commands do.
 */
#include "util/common.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <jansson.h>

#include "keyset/state.h"
#include "util/atomic.h"
#include "util/hex.h"

#define STATE_VERSION	1

struct state {
	char		*path;
	struct file_lock lock;
	bool	 read_only;
	json_t	*root;
	json_t	*keys;		/* borrowed from root */
};

int
state_default_path(struct buf *out, struct pgps_err *err)
{
	const char *x = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
	int r;

	/* The XDG base directory spec ignores relative paths. */
	if (x != NULL && x[0] == '/')
		r = buf_addf(out, "%s/pgpsync/state.json", x);
	else if (home != NULL && home[0] != '\0')
		r = buf_addf(out, "%s/.local/state/pgpsync/state.json", home);
	else
		return pgps_err_set(err, PGPS_ENOTFOUND, "neither "
		    "XDG_STATE_HOME nor HOME is set: no place for the state "
		    "file");
	if (r != 0)
		return pgps_err_set(err, r, "%s", pgps_strerror(r));
	return 0;
}

/* mkdir -p of the directory part of path. */
static int
make_parent(const char *path, struct pgps_err *err)
{
	char *dir = strdup(path), *p, c;
	int r = 0;

	if (dir == NULL)
		return pgps_err_set(err, PGPS_ENOMEM, "out of memory");
	if ((p = strrchr(dir, '/')) == NULL || p == dir)
		goto cleanup;
	*p = '\0';
	for (p = dir + 1; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		c = *p;
		*p = '\0';
		if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
			r = pgps_err_set(err, PGPS_EIO, "cannot create '%s': "
			    "%s", dir, strerror(errno));
			goto cleanup;
		}
		*p = c;
		if (c == '\0')
			break;
	}
 cleanup:
	free(dir);
	return r;
}

/* The lock, waited for a bounded time (file_lock()). */
static int
take_lock(struct state *st, struct pgps_err *err)
{
	char what[300];

	snprintf(what, sizeof(what), "the state file '%s'", st->path);
	return file_lock(&st->lock, st->path, what, err);
}

static int
load(struct state *st, struct pgps_err *err)
{
	json_error_t je;
	json_t *v;
	struct stat sb;

	if (stat(st->path, &sb) != 0 && errno == ENOENT) {
		st->root = json_object();
		st->keys = json_object();
		if (st->root == NULL || st->keys == NULL ||
		    json_object_set_new(st->root, "version",
		    json_integer(STATE_VERSION)) != 0 ||
		    json_object_set(st->root, "keys", st->keys) != 0)
			return pgps_err_set(err, PGPS_ENOMEM, "out of memory");
		json_decref(st->keys);		/* root holds it */
		return 0;
	}
	if ((st->root = json_load_file(st->path, JSON_REJECT_DUPLICATES,
	    &je)) == NULL)
		return pgps_err_set(err, PGPS_EFORMAT, "state file '%s', line "
		    "%d: %s", st->path, je.line, je.text);
	v = json_object_get(st->root, "version");
	st->keys = json_object_get(st->root, "keys");
	if (!json_is_object(st->root) || !json_is_integer(v) ||
	    json_integer_value(v) != STATE_VERSION || !json_is_object(st->keys))
		return pgps_err_set(err, PGPS_EFORMAT, "'%s' is not a pgpsync "
		    "state file of version %d", st->path, STATE_VERSION);
	return 0;
}

int
state_open(struct state **out, const char *path, unsigned int flags,
    struct pgps_err *err)
{
	struct state *st = NULL;
	struct buf def = BUF_INIT;
	int r = PGPS_EINTERNAL;

	if (path == NULL) {
		if ((r = state_default_path(&def, err)) != 0)
			goto cleanup;
		path = (const char *)def.p;
	}
	if ((st = calloc(1, sizeof(*st))) == NULL ||
	    (st->path = strdup(path)) == NULL) {
		r = pgps_err_set(err, PGPS_ENOMEM, "out of memory");
		goto cleanup;
	}
	st->lock = (struct file_lock)FILE_LOCK_INIT;
	st->read_only = (flags & STATE_READ_ONLY) != 0;
	if (!st->read_only && ((r = make_parent(st->path, err)) != 0 ||
	    (r = take_lock(st, err)) != 0))
		goto cleanup;
	if ((r = load(st, err)) != 0)
		goto cleanup;
	*out = st;
	st = NULL;
	r = 0;
 cleanup:
	state_free(st);
	buf_release(&def);
	return r;
}

void
state_free(struct state *st)
{
	if (st == NULL)
		return;
	file_unlock(&st->lock);
	json_decref(st->root);
	free(st->path);
	free(st);
}

const char *
state_path(const struct state *st)
{
	return st->path;
}

int
state_save(struct state *st, struct pgps_err *err)
{
	struct atomic_file af;
	int r;

	if (st->read_only)
		return pgps_err_set(err, PGPS_EINTERNAL, "state '%s' was "
		    "opened read-only", st->path);
	if ((r = atomic_file_open(&af, st->path, err)) != 0)
		return r;
	if (json_dumpf(st->root, af.f, JSON_INDENT(1) | JSON_SORT_KEYS) != 0 ||
	    fputc('\n', af.f) == EOF) {
		r = pgps_err_set(err, PGPS_EIO, "cannot write '%s': %s",
		    st->path, strerror(errno));
		atomic_file_abort(&af);
		return r;
	}
	return atomic_file_commit(&af, err);
}

static int64_t
get_time(const json_t *o, const char *name)
{
	const json_t *v = json_object_get(o, name);

	return json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
}

/* Reads a 32-digit hex hash member; false when absent or malformed. */
static bool
get_hash(const json_t *o, const char *name, uint8_t out[16])
{
	const json_t *v = json_object_get(o, name);
	const char *s;

	if (!json_is_string(v))
		return false;
	s = json_string_value(v);
	return hex_decode(out, 16, s, strlen(s)) == 0;
}

bool
state_get(const struct state *st, const char *fpr, struct state_key *out)
{
	const json_t *k = json_object_get(st->keys, fpr), *v;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(k))
		return false;
	out->first_seen = get_time(k, "first_seen");
	out->checked = get_time(k, "checked");
	out->changed = get_time(k, "changed");
	out->failed = get_time(k, "failed");
	v = json_object_get(k, "server");
	out->server = json_is_string(v) ? json_string_value(v) : NULL;
	out->has_hash = get_hash(k, "hash", out->hash);
	return true;
}

/*
 * The object member name of o, created (or replacing a non-object) when
 * missing; NULL when out of memory.
 */
static json_t *
child_obj(json_t *o, const char *name)
{
	json_t *k = json_object_get(o, name);

	if (json_is_object(k))
		return k;
	if ((k = json_object()) == NULL ||
	    json_object_set_new(o, name, k) != 0)
		return NULL;
	return k;
}

static int
set_int(json_t *o, const char *name, int64_t v)
{
	return json_object_set_new(o, name, json_integer((json_int_t)v)) == 0 ?
	    0 : PGPS_ENOMEM;
}

static int
set_str(json_t *o, const char *name, const char *s)
{
	/* json_string() refuses invalid UTF-8: keep what can be kept. */
	json_t *v = json_string(s);

	if (v == NULL)
		v = json_string("(not UTF-8)");
	return json_object_set_new(o, name, v) == 0 ? 0 : PGPS_ENOMEM;
}

static int
set_hash(json_t *o, const char *name, const uint8_t hash[16])
{
	char hex[33];

	hex_encode_upper(hex, hash, 16);
	return set_str(o, name, hex);
}

/* The object of fpr with first_seen set; NULL when out of memory. */
static json_t *
key_seen(struct state *st, const char *fpr, int64_t now)
{
	json_t *k;

	if ((k = child_obj(st->keys, fpr)) == NULL ||
	    (get_time(k, "first_seen") == 0 &&
	    set_int(k, "first_seen", now) != 0))
		return NULL;
	return k;
}

int
state_seen(struct state *st, const char *fpr, int64_t now)
{
	return key_seen(st, fpr, now) != NULL ? 0 : PGPS_ENOMEM;
}

int
state_checked(struct state *st, const char *fpr, int64_t now,
    const char *server, const uint8_t hash[16], bool changed)
{
	json_t *k;

	if ((k = key_seen(st, fpr, now)) == NULL)
		return PGPS_ENOMEM;
	if (set_int(k, "checked", now) != 0 ||
	    set_str(k, "server", server) != 0 ||
	    (changed && set_int(k, "changed", now) != 0))
		return PGPS_ENOMEM;
	if (hash != NULL && set_hash(k, "hash", hash) != 0)
		return PGPS_ENOMEM;
	if (hash == NULL)
		json_object_del(k, "hash");
	json_object_del(k, "failed");
	json_object_del(k, "error");
	return 0;
}

int
state_failed(struct state *st, const char *fpr, int64_t now, const char *why)
{
	json_t *k;

	if ((k = key_seen(st, fpr, now)) == NULL)
		return PGPS_ENOMEM;
	if (set_int(k, "failed", now) != 0 || set_str(k, "error", why) != 0)
		return PGPS_ENOMEM;
	return 0;
}

bool
state_get_pushed(const struct state *st, const char *fpr, const char *server,
    uint8_t hash[16])
{
	const json_t *k = json_object_get(st->keys, fpr), *p;

	p = json_object_get(json_object_get(k, "pushed"), server);
	return json_is_object(p) && get_hash(p, "hash", hash);
}

int
state_set_pushed(struct state *st, const char *fpr, const char *server,
    const uint8_t hash[16], int64_t now)
{
	json_t *k, *p, *s;

	if ((k = child_obj(st->keys, fpr)) == NULL ||
	    (p = child_obj(k, "pushed")) == NULL)
		return PGPS_ENOMEM;
	if ((s = json_object()) == NULL ||
	    json_object_set_new(p, server, s) != 0 ||
	    set_int(s, "time", now) != 0 || set_hash(s, "hash", hash) != 0)
		return PGPS_ENOMEM;
	return 0;
}

bool
state_is_due(const struct state *st, const char *fpr, int64_t now,
    int64_t max_age, int64_t spread)
{
	struct state_key sk;
	uint8_t id[8];
	int64_t last, off, base;
	uint64_t h = 0;

	if (st == NULL || (max_age <= 0 && spread <= 0))
		return true;
	state_get(st, fpr, &sk);
	if (max_age > 0 && sk.checked > 0 && now - sk.checked < max_age)
		return false;
	if (spread <= 0)
		return true;
	/* The slot: the first 64 bits of the fingerprint. */
	if (strlen(fpr) >= 16 && hex_decode(id, sizeof(id), fpr, 16) == 0)
		for (size_t i = 0; i < sizeof(id); i++)
			h = h << 8 | id[i];
	off = (int64_t)(h % (uint64_t)spread);
	last = sk.checked > 0 ? sk.checked : sk.first_seen > 0 ?
	    sk.first_seen : now;
	/* The latest slot at or before last, then the one after it. */
	base = last - ((last - off) % spread + spread) % spread;
	return now >= base + spread;
}

bool
state_server_has(const struct state *st, const char *fpr,
    const char *server, const uint8_t hash[16])
{
	struct state_key sk;
	uint8_t h[16];

	if (st == NULL)
		return false;
	if (state_get_pushed(st, fpr, server, h) && memcmp(h, hash, 16) == 0)
		return true;
	return state_get(st, fpr, &sk) && sk.has_hash && sk.server != NULL &&
	    strcmp(sk.server, server) == 0 && memcmp(sk.hash, hash, 16) == 0;
}
