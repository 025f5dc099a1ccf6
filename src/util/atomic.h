/*
 * atomic.h: replacing a file whole, and locking it while doing so.
 *
 * atomic_file_open() creates a temporary file next to the target;
 * atomic_file_commit() syncs it and renames it into place, so readers
 * see the old file or the new one, never a part.  The new file keeps the
 * mode of the one it replaces (a 0600 keyring stays 0600); a file that
 * did not exist is created 0666 less the umask.  A target that is a
 * symbolic link is written through: the file it names is replaced and
 * the link stays.  Until the commit nothing is replaced, and a failed
 * write leaves the target as it was.
 *
 * file_lock() serialises writers of one file between processes: a lock
 * file PATH.lock held with fcntl() (so it vanishes with its process and
 * is never stale), waited for at most $PGPSYNC_LOCK_TIMEOUT seconds
 * (default 10), after which the error names the process holding it.
 */
#ifndef PGPSYNC_UTIL_ATOMIC_H
#define PGPSYNC_UTIL_ATOMIC_H

#include <stdbool.h>
#include <stdio.h>

#include "util/err.h"

struct atomic_file {
	FILE	*f;		/* write here */
	char	*path;		/* the file replaced (a link's target) */
	char	*tmp;		/* NULL: written in place (stdout, a pipe) */
};

/*
 * Opens path for replacing.  "-" is standard output, and a path that is
 * not a regular file (a device, a pipe) is written in place.
 */
int atomic_file_open(struct atomic_file *af, const char *path,
    struct pgps_err *err);
/* Flushes, syncs and renames into place; af is released either way. */
int atomic_file_commit(struct atomic_file *af, struct pgps_err *err);
/*
 * Syncs af and gives it the name path, in the same directory, which must
 * not exist yet: link(2) never replaces a file, so two writers cannot
 * take one name.  0 when done (af released), 1 when path exists (af kept,
 * to try another name), or an error (af released).
 */
int atomic_file_commit_new(struct atomic_file *af, const char *path,
    struct pgps_err *err);
/* Removes the temporary file; the target is untouched. */
void atomic_file_abort(struct atomic_file *af);

/* Replaces path with p[0..len) (atomic_file_open() and commit). */
int atomic_write(const char *path, const void *p, size_t len,
    struct pgps_err *err);

struct file_lock {
	int	 fd;
	char	*path;		/* the lock file */
};

#define FILE_LOCK_INIT	{ -1, NULL }

/*
 * Locks path (through PATH.lock, a link's target's lock for a link) for
 * writing; what names it in messages.  A lock another process holds past
 * the wait is PGPS_EIO naming that process.
 */
int file_lock(struct file_lock *l, const char *path, const char *what,
    struct pgps_err *err);
/* Unlocks and removes the lock file; a no-op when not locked. */
void file_unlock(struct file_lock *l);
/*
 * Seconds to wait for a lock: $PGPSYNC_LOCK_TIMEOUT, at most 86400 (a
 * larger number is taken as that); 10 when unset or not a number.
 */
long file_lock_wait(void);

#endif
