/*
 * tmpfile.c: anonymous temporary files in $TMPDIR.
 */
#include "util/common.h"

#include <errno.h>
#include <unistd.h>

#include "util/tmpfile.h"

const char *
tmp_dir(void)
{
	const char *d = getenv("TMPDIR");

	return d != NULL && *d != '\0' ? d : "/tmp";
}

FILE *
tmp_file(struct pgps_err *err)
{
	const char *dir = tmp_dir();
	size_t dlen = strlen(dir), n;
	char *path;
	FILE *f;
	int fd, e;

	/* "dir/pgpsync.XXXXXX"; a trailing slash in TMPDIR is harmless. */
	n = dlen + sizeof("/pgpsync.XXXXXX");
	if ((path = malloc(n)) == NULL) {
		pgps_err_set(err, PGPS_ENOMEM, "out of memory");
		return NULL;
	}
	snprintf(path, n, "%s/pgpsync.XXXXXX", dir);
	if ((fd = mkstemp(path)) < 0) {
		e = errno;
		pgps_err_set(err, PGPS_EIO, "cannot create a temporary file "
		    "in '%s' (TMPDIR): %s", dir, strerror(e));
		free(path);
		return NULL;
	}
	(void)unlink(path);
	free(path);
	if ((f = fdopen(fd, "w+")) == NULL) {
		e = errno;
		close(fd);
		pgps_err_set(err, PGPS_EIO, "cannot open a temporary file "
		    "in '%s' (TMPDIR): %s", dir, strerror(e));
		return NULL;
	}
	return f;
}
