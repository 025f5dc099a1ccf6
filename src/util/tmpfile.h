/*
 * tmpfile.h: anonymous temporary files where the user wants them.
 *
 * tmpfile(3) always uses /tmp (glibc's P_tmpdir), so a user who points
 * TMPDIR at a larger or private file system is ignored.  These honour
 * TMPDIR as POSIX describes it.
 */
#ifndef PGPSYNC_UTIL_TMPFILE_H
#define PGPSYNC_UTIL_TMPFILE_H

#include <stdio.h>

#include "util/err.h"

/*
 * The directory for temporary files: $TMPDIR when it is set and not
 * empty, else "/tmp".  The string is borrowed from the environment (or
 * static) and stays valid until the environment changes.
 */
const char *tmp_dir(void);

/*
 * Opens a new temporary file for reading and writing in tmp_dir(),
 * already removed from the directory, so it goes away with the stream or
 * the process.  Returns the stream, or NULL with err set to a message that
 * names the directory (PGPS_EIO, or PGPS_ENOMEM).
 */
FILE *tmp_file(struct pgps_err *err);

#endif
