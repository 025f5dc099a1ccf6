/*
 * fuzz-state.c: the state file loader (keyset/state.c) on arbitrary
 * bytes.
 *
 * The input is written to a state file and opened; a state that opens is
 * asked about a key, changed (a key seen, checked, pushed) and saved, and
 * what was saved must open again and hold the change.  Besides memory
 * errors it checks that the loader fails only with PGPS_EFORMAT (not a
 * state, or one it does not understand) or PGPS_ENOMEM.
 */
#include "util/common.h"

#include <unistd.h>

#include "keyset/state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FPR	"0123456789ABCDEF0123456789ABCDEF01234567"
#define FPR2	"89ABCDEF0123456789ABCDEF0123456789ABCDEF"

static char dir[256];

static void
fail(const char *what, const struct pgps_err *err)
{
	fprintf(stderr, "fuzz-state: %s (%s)\n", what,
	    err != NULL ? err->msg : "");
	abort();
}

/* The scratch directory goes when the run ends. */
static void
cleanup(void)
{
	char p[300];

	snprintf(p, sizeof(p), "%s/state.json", dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/state.json.lock", dir);
	unlink(p);
	rmdir(dir);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t h[16] = { 1, 2, 3 };
	struct pgps_err err = PGPS_ERR_INIT;
	struct state *st = NULL;
	struct state_key k;
	uint8_t got[16];
	char path[300];
	FILE *f;
	int r;

	if (size > (1 << 20))
		return 0;
	if (dir[0] == '\0') {
		const char *t = getenv("TMPDIR");

		snprintf(dir, sizeof(dir), "%s/fuzz-state.XXXXXX",
		    t != NULL && *t != '\0' ? t : "/tmp");
		if (mkdtemp(dir) == NULL)
			fail("no temporary directory", NULL);
		atexit(cleanup);
		setenv("PGPSYNC_LOCK_TIMEOUT", "1", 1);
	}
	snprintf(path, sizeof(path), "%s/state.json", dir);
	if ((f = fopen(path, "wb")) == NULL ||
	    (size > 0 && fwrite(data, 1, size, f) != size) || fclose(f) != 0)
		fail("cannot write the input", NULL);
	if ((r = state_open(&st, path, 0, &err)) != 0) {
		if (r != PGPS_EFORMAT && r != PGPS_ENOMEM)
			fail("an error other than a format error", &err);
		goto out;
	}
	(void)state_get(st, FPR, &k);
	(void)state_get_pushed(st, FPR, "hkp://a.example", got);
	if (state_seen(st, FPR2, 1000) != 0 ||
	    state_checked(st, FPR, 2000, "hkp://a.example", h, true) != 0 ||
	    state_failed(st, FPR2, 3000, "refused") != 0 ||
	    state_set_pushed(st, FPR, "hkp://b.example", h, 4000) != 0)
		goto out;	/* out of memory */
	if (state_save(st, &err) != 0)
		fail("a state that opened cannot be saved", &err);
	state_free(st);
	st = NULL;
	if (state_open(&st, path, STATE_READ_ONLY, &err) != 0)
		fail("a saved state does not open again", &err);
	if (!state_get(st, FPR, &k) || k.checked != 2000 || !k.has_hash ||
	    memcmp(k.hash, h, 16) != 0 ||
	    !state_get_pushed(st, FPR, "hkp://b.example", got) ||
	    memcmp(got, h, 16) != 0 || !state_get(st, FPR2, &k) ||
	    k.failed != 3000)
		fail("a saved state lost what was recorded", NULL);
 out:
	state_free(st);
	unlink(path);
	return 0;
}
