/*
 * test-util-tmpfile.c: temporary files go where TMPDIR says, are gone
 * from the directory at once, and a TMPDIR that cannot be used is an
 * error naming it.
 */
#include "util/common.h"

#include <sys/stat.h>
#include <dirent.h>
#include <unistd.h>

#include "tap.h"
#include "util/tmpfile.h"

static int
entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

int
main(void)
{
	struct pgps_err err = PGPS_ERR_INIT;
	char dir[] = "/tmp/test-util-tmpfile.XXXXXX", link[64], got[512];
	char buf[8];
	ssize_t n;
	FILE *f;

	if (mkdtemp(dir) == NULL)
		return 1;

	setenv("TMPDIR", dir, 1);
	is_str(tmp_dir(), dir, "tmp_dir() is $TMPDIR");
	f = tmp_file(&err);
	ok(f != NULL, "a temporary file in TMPDIR");
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fileno(f));
	n = readlink(link, got, sizeof(got) - 1);
	got[n < 0 ? 0 : n] = '\0';
	diag("%s", got);
	ok(n < 0 || strncmp(got, dir, strlen(dir)) == 0, "it lives in TMPDIR");
	is_int(entries(dir), 0, "and is already removed from it");
	ok(fputs("spill", f) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    fread(buf, 1, 5, f) == 5 && memcmp(buf, "spill", 5) == 0,
	    "it reads back what was written");
	fclose(f);

	setenv("TMPDIR", "", 1);
	is_str(tmp_dir(), "/tmp", "an empty TMPDIR means /tmp");
	unsetenv("TMPDIR");
	is_str(tmp_dir(), "/tmp", "no TMPDIR means /tmp");

	setenv("TMPDIR", "/nonexistent/tmp", 1);
	f = tmp_file(&err);
	ok(f == NULL, "a missing TMPDIR is an error");
	ok(strstr(err.msg, "/nonexistent/tmp") != NULL &&
	    strstr(err.msg, "TMPDIR") != NULL, "naming it: %s", err.msg);
	is_int(err.code, PGPS_EIO, "as an I/O error");

	rmdir(dir);
	return done_testing();
}
