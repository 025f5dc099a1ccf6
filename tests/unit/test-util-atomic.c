/*
 * test-util-atomic.c: replacing files whole (atomic_file_*) and locking
 * them with a bounded wait (file_lock).
 */
#include "util/common.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <signal.h>
#include <unistd.h>

#include "util/atomic.h"
#include "tap.h"

static char *
slurp(const char *path)
{
	static char buf[256];
	FILE *f = fopen(path, "r");
	size_t n;

	if (f == NULL)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static mode_t
mode_of(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? st.st_mode & 07777 : 0;
}

int
main(void)
{
	char tmpl[] = "/tmp/test-atomic.XXXXXX", path[256], link[256];
	char cmd[300], msg[64];
	struct pgps_err err = PGPS_ERR_INIT;
	struct atomic_file af;
	struct file_lock l = FILE_LOCK_INIT, l2 = FILE_LOCK_INIT;
	struct stat st;
	const char *dir;
	int pipefd[2];
	pid_t pid;

	if ((dir = mkdtemp(tmpl)) == NULL)
		return 1;
	snprintf(path, sizeof(path), "%s/f", dir);

	umask(077);
	ok(atomic_write(path, "one", 3, &err) == 0, "a new file");
	is_int(mode_of(path), 0600, "created under umask 077: 0600");
	unlink(path);
	umask(022);
	ok(atomic_write(path, "one", 3, &err) == 0, "a new file again");
	is_int(mode_of(path), 0644, "created under umask 022: 0644");
	chmod(path, 0640);
	ok(atomic_write(path, "two", 3, &err) == 0, "replaced");
	is_int(mode_of(path), 0640, "an existing file's mode is kept");
	is_str(slurp(path), "two", "with the new contents");

	snprintf(link, sizeof(link), "%s/l", dir);
	ok(symlink("f", link) == 0, "a link to it");
	ok(atomic_write(link, "three", 5, &err) == 0, "written through it");
	ok(lstat(link, &st) == 0 && S_ISLNK(st.st_mode), "the link stays");
	is_str(slurp(path), "three", "its target has the new contents");

	ok(atomic_file_open(&af, path, &err) == 0, "opened for replacing");
	fputs("four", af.f);
	atomic_file_abort(&af);
	is_str(slurp(path), "three", "aborted: the file is as it was");
	snprintf(cmd, sizeof(cmd), "ls %s | grep -c tmp >/dev/null", dir);
	ok(system(cmd) != 0, "and no temporary file is left");
	pgps_err_clear(&err);
	ok(atomic_write("/nonexistent-dir/x", "x", 1, &err) == PGPS_EIO,
	    "a directory that does not exist: %s", err.msg);

	/* A lock held by another process: bounded wait, named holder. */
	if (pipe(pipefd) != 0)
		return 1;
	if ((pid = fork()) == 0) {
		char c = 0;

		if (file_lock(&l, path, "the file", NULL) != 0)
			_exit(1);
		if (write(pipefd[1], &c, 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	if (read(pipefd[0], msg, 1) != 1)
		return 1;
	/* The wait is counted in 50 ms ticks: a huge one must not overflow. */
	setenv("PGPSYNC_LOCK_TIMEOUT", "99999999999999999999999", 1);
	is_int(file_lock_wait(), 86400, "a huge lock timeout is a day");
	setenv("PGPSYNC_LOCK_TIMEOUT", "9223372036854775807", 1);
	is_int(file_lock_wait(), 86400, "LONG_MAX too");
	setenv("PGPSYNC_LOCK_TIMEOUT", "86401", 1);
	is_int(file_lock_wait(), 86400, "one more than a day");
	setenv("PGPSYNC_LOCK_TIMEOUT", "86400", 1);
	is_int(file_lock_wait(), 86400, "a day is taken");
	setenv("PGPSYNC_LOCK_TIMEOUT", "-99999999999999999999999", 1);
	is_int(file_lock_wait(), 10, "a huge negative one is the default");
	setenv("PGPSYNC_LOCK_TIMEOUT", "5s", 1);
	is_int(file_lock_wait(), 10, "garbage is the default");
	setenv("PGPSYNC_LOCK_TIMEOUT", "1", 1);
	is_int(file_lock_wait(), 1, "a number of seconds");
	pgps_err_clear(&err);
	ok(file_lock(&l2, path, "'f'", &err) == PGPS_EIO, "held elsewhere");
	snprintf(msg, sizeof(msg), "(process %ld)", (long)pid);
	ok(strstr(err.msg, msg) != NULL, "the holder is named: %s", err.msg);
	snprintf(cmd, sizeof(cmd), "%s.lock", path);
	ok(stat(cmd, &st) == 0, "the holder's lock file is left alone");
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	pgps_err_clear(&err);
	ok(file_lock(&l2, path, "'f'", &err) == 0, "free once it ended");
	file_unlock(&l2);
	ok(stat(cmd, &st) != 0, "unlocking removes the lock file");

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		diag("cannot remove %s", dir);
	return done_testing();
}
