/*
 * test-keyset-state.c: the scheduling of fetch (state_is_due(): --max-age
 * and --spread slots) and push's "the server has this version"
 * (state_server_has()), on a state held in memory.
 */
#include "util/common.h"

#include "keyset/state.h"
#include "tap.h"

/* First 64 bits 0x64 = 100: its --spread slot is 100 s into a period. */
#define F100	"0000000000000064AAAAAAAAAAAAAAAAAAAAAAAA"
#define FBIG	"FFFFFFFFFFFFFFFF0000000000000000000000000000000000000000000000FF"
#define G	"1BA17B11D6FD2ACB4C6C5F1E2F3A4B5C6D7E8F90"

static struct state *
fresh(void)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct state *st = NULL;

	if (state_open(&st, "/nonexistent/pgpsync-test/state.json",
	    STATE_READ_ONLY, &err) != 0)
		diag("%s", err.msg);
	return st;
}

static void
test_due(void)
{
	struct state *st = fresh();

	ok(st != NULL, "an empty state in memory");
	ok(state_is_due(NULL, F100, 0, 3600, 86400), "no state: all due");
	ok(state_is_due(st, F100, 5000, 0, 0), "no schedule: due");

	/* --max-age 500 */
	ok(state_is_due(st, F100, 1000, 500, 0), "never answered: due");
	ok(state_checked(st, F100, 1000, "https://a", NULL, false) == 0,
	    "answered at 1000");
	ok(!state_is_due(st, F100, 1499, 500, 0), "not due at 1499");
	ok(state_is_due(st, F100, 1500, 500, 0), "due at 1500");
	ok(!state_is_due(st, F100, 900, 500, 0),
	    "a clock before the answer: not due");

	/* --spread 1000: the slot of F100 is at 100, 1100, ... */
	state_free(st);
	st = fresh();
	ok(state_seen(st, F100, 5000) == 0, "first seen at 5000");
	ok(!state_is_due(st, F100, 5000, 0, 1000), "not due when first seen");
	ok(!state_is_due(st, F100, 5099, 0, 1000), "nor before its slot");
	ok(state_is_due(st, F100, 5100, 0, 1000), "due at its slot (5100)");
	ok(state_seen(st, F100, 9999) == 0 && state_is_due(st, F100, 5100, 0,
	    1000), "seeing it again changes nothing");
	ok(state_checked(st, F100, 5100, "https://a", NULL, false) == 0,
	    "answered at 5100");
	ok(!state_is_due(st, F100, 6099, 0, 1000), "not due within a period");
	ok(state_is_due(st, F100, 6100, 0, 1000), "due a period later");
	ok(state_checked(st, F100, 5150, "https://a", NULL, false) == 0 &&
	    !state_is_due(st, F100, 6099, 0, 1000) &&
	    state_is_due(st, F100, 6100, 0, 1000),
	    "answered after its slot: due at the next slot");
	ok(state_checked(st, F100, 5099, "https://a", NULL, false) == 0 &&
	    state_is_due(st, F100, 5100, 0, 1000),
	    "answered just before its slot: due at it");
	ok(!state_is_due(st, F100, 5300, 500, 1000),
	    "--max-age holds back a key its slot would take");

	/* The slot comes from the fingerprint: all bits, no overflow. */
	ok(state_seen(st, FBIG, 1) == 0, "a key with its top bit set");
	ok(state_is_due(st, FBIG, (int64_t)(UINT64_MAX % 86400), 0, 86400),
	    "due at its slot");
	ok(!state_is_due(st, FBIG, (int64_t)(UINT64_MAX % 86400) - 1, 0,
	    86400), "not a second before");
	ok(state_seen(st, "XY", 100) == 0 && state_is_due(st, "XY", 1000, 0,
	    1000) && !state_is_due(st, "XY", 999, 0, 1000),
	    "a name that is not hex gets slot 0");
	state_free(st);
}

static void
test_server_has(void)
{
	static const uint8_t h1[16] = { 1 }, h2[16] = { 2 };
	struct state *st = fresh();

	ok(!state_server_has(NULL, G, "https://a", h1), "no state: no");
	ok(!state_server_has(st, G, "https://a", h1), "never pushed: no");
	ok(state_set_pushed(st, G, "https://a", h1, 100) == 0, "pushed h1");
	ok(state_server_has(st, G, "https://a", h1), "a has h1");
	ok(!state_server_has(st, G, "https://a", h2), "not h2");
	ok(!state_server_has(st, G, "https://b", h1), "b has nothing");
	ok(state_checked(st, G, 200, "https://b", h2, true) == 0,
	    "b answered with h2");
	ok(state_server_has(st, G, "https://b", h2), "so b has h2");
	ok(!state_server_has(st, G, "https://b", h1), "not h1");
	ok(state_server_has(st, G, "https://a", h1), "a still has h1");
	ok(state_checked(st, G, 300, "https://b", NULL, false) == 0 &&
	    !state_server_has(st, G, "https://b", h2),
	    "b then had no copy: it has nothing");
	state_free(st);
}

int
main(void)
{
	test_due();
	test_server_has();
	return done_testing();
}
