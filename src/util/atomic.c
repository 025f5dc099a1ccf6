/*
 * atomic.c: write-temporary-then-rename, and file locks with a bounded
 * wait (atomic.h).
 */
#include "util/common.h"

#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <unistd.h>

#include "util/atomic.h"

#define LOCK_WAIT_DEFAULT	10
#define LOCK_WAIT_MAX		86400	/* seconds: a day */

/* Makes a rename into path's directory durable (best effort). */
static void
sync_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	int fd;

	if (slash == NULL)
		dir = strdup(".");
	else
		dir = strndup(path, slash == path ? 1 : (size_t)(slash - path));
	if (dir == NULL)
		return;
	if ((fd = open(dir, O_RDONLY)) >= 0) {
		(void)fsync(fd);
		close(fd);
	}
	free(dir);
}

/*
 * The file a path names for writing: a symbolic link is followed (to the
 * end of a chain, relative links taken from the link's directory).
 */
static char *
resolve(const char *path)
{
	char *cur, *next;
	struct stat st;

	if ((cur = strdup(path)) == NULL)
		return NULL;
	for (int hops = 0; hops < 40; hops++) {
		char link[PATH_MAX];
		ssize_t n;
		const char *slash;
		size_t dirlen, len;

		if (lstat(cur, &st) != 0 || !S_ISLNK(st.st_mode))
			return cur;
		if ((n = readlink(cur, link, sizeof(link) - 1)) < 0)
			return cur;
		link[n] = '\0';
		slash = strrchr(cur, '/');
		dirlen = link[0] == '/' || slash == NULL ? 0 :
		    (size_t)(slash - cur) + 1;
		len = dirlen + (size_t)n + 1;
		if ((next = malloc(len)) == NULL) {
			free(cur);
			return NULL;
		}
		snprintf(next, len, "%.*s%s", (int)dirlen, cur, link);
		free(cur);
		cur = next;
	}
	return cur;
}

static mode_t
new_file_mode(void)
{
	mode_t m = umask(0);

	umask(m);
	return 0666 & ~m;
}

int
atomic_file_open(struct atomic_file *af, const char *path,
    struct pgps_err *err)
{
	struct stat st;
	mode_t mode;
	size_t n;
	int fd = -1, r;

	memset(af, 0, sizeof(*af));
	if (strcmp(path, "-") == 0) {
		af->f = stdout;
		return 0;
	}
	if ((af->path = resolve(path)) == NULL)
		return pgps_err_set(err, PGPS_ENOMEM, "out of memory");
	if (stat(af->path, &st) == 0 && !S_ISREG(st.st_mode)) {
		/* A device or a pipe: nothing to rename. */
		if ((af->f = fopen(af->path, "w")) == NULL) {
			r = pgps_err_set(err, PGPS_EIO, "cannot open '%s': "
			    "%s", path, strerror(errno));
			goto fail;
		}
		return 0;
	}
	if (stat(af->path, &st) == 0)
		mode = st.st_mode & 07777;
	else
		mode = new_file_mode();
	n = strlen(af->path) + 16;
	if ((af->tmp = malloc(n)) == NULL) {
		r = pgps_err_set(err, PGPS_ENOMEM, "out of memory");
		goto fail;
	}
	snprintf(af->tmp, n, "%s.tmp.XXXXXX", af->path);
	if ((fd = mkstemp(af->tmp)) < 0) {
		r = pgps_err_set(err, PGPS_EIO, "cannot create a file next to "
		    "'%s': %s", path, strerror(errno));
		free(af->tmp);
		af->tmp = NULL;
		goto fail;
	}
	if (fchmod(fd, mode) != 0 || (af->f = fdopen(fd, "w")) == NULL) {
		r = pgps_err_set(err, PGPS_EIO, "cannot create '%s': %s",
		    af->tmp, strerror(errno));
		close(fd);
		goto fail;
	}
	return 0;
 fail:
	atomic_file_abort(af);
	return r;
}

int
atomic_file_commit(struct atomic_file *af, struct pgps_err *err)
{
	int r = 0;

	if (af->f == stdout) {
		if (fflush(stdout) != 0 || ferror(stdout))
			r = pgps_err_set(err, PGPS_EIO, "write error on "
			    "standard output: %s", strerror(errno));
		af->f = NULL;
		return r;
	}
	if (af->tmp == NULL) {
		if (fclose(af->f) != 0)
			r = pgps_err_set(err, PGPS_EIO, "cannot write '%s': %s",
			    af->path, strerror(errno));
		af->f = NULL;
		atomic_file_abort(af);
		return r;
	}
	if (fflush(af->f) != 0 || ferror(af->f) ||
	    fsync(fileno(af->f)) != 0) {
		r = pgps_err_set(err, PGPS_EIO, "cannot write '%s': %s",
		    af->path, strerror(errno));
		atomic_file_abort(af);
		return r;
	}
	if (fclose(af->f) != 0) {
		af->f = NULL;
		r = pgps_err_set(err, PGPS_EIO, "cannot write '%s': %s",
		    af->path, strerror(errno));
		atomic_file_abort(af);
		return r;
	}
	af->f = NULL;
	if (rename(af->tmp, af->path) != 0) {
		r = pgps_err_set(err, PGPS_EIO, "cannot rename '%s' to '%s': "
		    "%s", af->tmp, af->path, strerror(errno));
		atomic_file_abort(af);
		return r;
	}
	free(af->tmp);
	af->tmp = NULL;
	sync_dir(af->path);
	atomic_file_abort(af);
	return 0;
}

int
atomic_file_commit_new(struct atomic_file *af, const char *path,
    struct pgps_err *err)
{
	int r;

	if (af->tmp == NULL || af->f == NULL || af->f == stdout) {
		r = pgps_err_set(err, PGPS_EINTERNAL, "cannot write '%s' as "
		    "a new file", path);
		atomic_file_abort(af);
		return r;
	}
	if (fflush(af->f) != 0 || ferror(af->f) ||
	    fsync(fileno(af->f)) != 0) {
		r = pgps_err_set(err, PGPS_EIO, "cannot write '%s': %s",
		    path, strerror(errno));
		atomic_file_abort(af);
		return r;
	}
	if (link(af->tmp, path) != 0) {
		if (errno == EEXIST)
			return 1;
		r = pgps_err_set(err, PGPS_EIO, "cannot make '%s': %s", path,
		    strerror(errno));
		atomic_file_abort(af);
		return r;
	}
	sync_dir(path);
	atomic_file_abort(af);
	return 0;
}

void
atomic_file_abort(struct atomic_file *af)
{
	if (af->f != NULL && af->f != stdout)
		fclose(af->f);
	af->f = NULL;
	if (af->tmp != NULL)
		unlink(af->tmp);
	free(af->tmp);
	free(af->path);
	af->tmp = af->path = NULL;
}

int
atomic_write(const char *path, const void *p, size_t len,
    struct pgps_err *err)
{
	struct atomic_file af;
	int r;

	if ((r = atomic_file_open(&af, path, err)) != 0)
		return r;
	if (len > 0 && fwrite(p, 1, len, af.f) != len) {
		r = pgps_err_set(err, PGPS_EIO, "cannot write '%s': %s", path,
		    strerror(errno));
		atomic_file_abort(&af);
		return r;
	}
	return atomic_file_commit(&af, err);
}

long
file_lock_wait(void)
{
	const char *env = getenv("PGPSYNC_LOCK_TIMEOUT");
	long wait = LOCK_WAIT_DEFAULT;
	char *end;

	if (env != NULL && env[0] != '\0') {
		errno = 0;
		wait = strtol(env, &end, 10);
		/* Not a number of seconds: the default; too many: a day. */
		if (*end != '\0' || end == env || wait < 0 ||
		    (errno == ERANGE && wait != LONG_MAX))
			wait = LOCK_WAIT_DEFAULT;
		else if (wait > LOCK_WAIT_MAX)
			wait = LOCK_WAIT_MAX;
	}
	return wait;
}

/* Whether fd is still the file at path (not unlinked by its holder). */
static bool
still_linked(int fd, const char *path)
{
	struct stat a, b;

	return fstat(fd, &a) == 0 && stat(path, &b) == 0 &&
	    a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

int
file_lock(struct file_lock *l, const char *path, const char *what,
    struct pgps_err *err)
{
	struct timespec tick = { 0, 50 * 1000 * 1000 };
	long wait = file_lock_wait();
	char *target;
	size_t n;
	int r;

	l->fd = -1;
	if ((target = resolve(path)) == NULL)
		return pgps_err_set(err, PGPS_ENOMEM, "out of memory");
	n = strlen(target) + 6;
	if ((l->path = malloc(n)) == NULL) {
		free(target);
		return pgps_err_set(err, PGPS_ENOMEM, "out of memory");
	}
	snprintf(l->path, n, "%s.lock", target);
	free(target);
	for (long waited = 0;; waited++) {
		struct flock fl;

		if (l->fd < 0 && (l->fd = open(l->path, O_RDWR | O_CREAT |
		    O_CLOEXEC, 0600)) < 0) {
			r = pgps_err_set(err, PGPS_EIO, "cannot create '%s': "
			    "%s", l->path, strerror(errno));
			goto fail;
		}
		memset(&fl, 0, sizeof(fl));
		fl.l_type = F_WRLCK;
		fl.l_whence = SEEK_SET;
		if (fcntl(l->fd, F_SETLK, &fl) == 0) {
			if (still_linked(l->fd, l->path))
				return 0;
			/* Its holder removed it as we waited: anew. */
			close(l->fd);
			l->fd = -1;
			continue;
		}
		if (errno != EACCES && errno != EAGAIN && errno != EINTR) {
			r = pgps_err_set(err, PGPS_EIO, "cannot lock '%s': %s",
			    l->path, strerror(errno));
			goto fail;
		}
		if (waited >= wait * 20) {
			memset(&fl, 0, sizeof(fl));
			fl.l_type = F_WRLCK;
			fl.l_whence = SEEK_SET;
			if (fcntl(l->fd, F_GETLK, &fl) != 0)
				fl.l_pid = 0;
			r = pgps_err_set(err, PGPS_EIO, "%s is being written "
			    "by another pgpsync (process %ld); gave up after "
			    "%ld second%s", what, (long)fl.l_pid, wait,
			    wait == 1 ? "" : "s");
			goto fail;
		}
		nanosleep(&tick, NULL);
	}
 fail:
	/* Not held: the lock file is the holder's, left alone. */
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
	free(l->path);
	l->path = NULL;
	return r;
}

void
file_unlock(struct file_lock *l)
{
	if (l->fd >= 0) {
		/* Removed while held, so a waiter sees it go (still_linked). */
		unlink(l->path);
		close(l->fd);
	}
	l->fd = -1;
	free(l->path);
	l->path = NULL;
}
