/*
 * data.h: the unit tests' data (tests/data), found from the test program's
 * own path (tests/unit/test-NAME), so a test runs from any directory.
 * Include after tap.h; call data_dir_set(argv[0]) first in main().
 */
#ifndef PGPSYNC_TESTS_DATA_H
#define PGPSYNC_TESTS_DATA_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char data_dir[4096];

static inline void
data_dir_set(const char *argv0)
{
	const char *slash = strrchr(argv0, '/');
	int n = slash == NULL ? 1 : (int)(slash - argv0);

	snprintf(data_dir, sizeof(data_dir), "%.*s/../data", n,
	    slash == NULL ? "." : argv0);
}

/* The path of rel under tests/data, in a static buffer. */
static inline const char *
data_path(const char *rel)
{
	static char path[8192];

	snprintf(path, sizeof(path), "%s/%s", data_dir, rel);
	return path;
}

/* The whole file rel under tests/data; a missing file ends the test. */
static inline uint8_t *
data_slurp(const char *rel, size_t *len)
{
	const char *path = data_path(rel);
	uint8_t *p = NULL;
	long n;
	FILE *f;

	if ((f = fopen(path, "rb")) == NULL) {
		diag("cannot open %s", path);
		exit(1);
	}
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0 || (p = malloc((size_t)n + 1)) == NULL ||
	    fread(p, 1, (size_t)n, f) != (size_t)n) {
		diag("cannot read %s", path);
		exit(1);
	}
	fclose(f);
	*len = (size_t)n;
	return p;
}

#endif
