/*
 * state.h: what pgpsync remembers about each key between runs -- when a
 * keyserver was last asked for it, which one answered and what it sent,
 * and what was last uploaded where -- so that fetch can spread a keyring
 * over several runs and push can send only what changed.
 *
 * The state is one JSON file, by default $XDG_STATE_HOME/pgpsync/
 * state.json (~/.local/state/pgpsync/state.json when XDG_STATE_HOME is
 * unset or not absolute):
 *
 *   { "version": 1,
 *     "keys": { "<FINGERPRINT>": {
 *         "first_seen": <unix time>,
 *         "checked": <time of the last answer>, "server": "<base URL>",
 *         "hash": "<SKS hash of what it sent>",   (absent: not found)
 *         "changed": <time a fetch last brought something new>,
 *         "failed": <time of the last failure>, "error": "<why>",
 *         "pushed": { "<base URL>": { "time": <t>, "hash": "<h>" } } } } }
 *
 * It is written to a temporary file and renamed into place, and a lock
 * file next to it (fcntl) keeps two runs from overwriting each other.
 * Unknown members are kept as they are.
 */
#ifndef PGPSYNC_KEYSET_STATE_H
#define PGPSYNC_KEYSET_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/err.h"

struct state;

enum state_open_flags {
	STATE_READ_ONLY = 1 << 0	/* no lock, no directory, no save */
};

/*
 * Appends the default state file path to out: $XDG_STATE_HOME/pgpsync/
 * state.json, else $HOME/.local/state/pgpsync/state.json.  PGPS_ENOTFOUND
 * when neither variable helps.
 */
int state_default_path(struct buf *out, struct pgps_err *err);

/*
 * Opens the state at path (NULL: the default), creating its directory
 * (mode 0700) and taking the lock unless STATE_READ_ONLY; waits while
 * another run holds the lock, up to $PGPSYNC_LOCK_TIMEOUT seconds
 * (default 10), then fails with PGPS_EIO naming that run's process.  A missing file is an empty state.  A file
 * that is not a pgpsync state is PGPS_EFORMAT (err names it).  *out is
 * owned by the caller.
 */
int state_open(struct state **out, const char *path, unsigned int flags,
    struct pgps_err *err);

/* Releases the lock and the memory; changes not saved are lost. */
void state_free(struct state *st);

/* The file's path (borrowed). */
const char *state_path(const struct state *st);

/* Writes the state atomically (temporary file, fsync, rename). */
int state_save(struct state *st, struct pgps_err *err);

struct state_key {
	int64_t		 first_seen;	/* 0: never seen */
	int64_t		 checked;	/* 0: never answered */
	int64_t		 changed;
	int64_t		 failed;
	const char	*server;	/* borrowed; NULL if none */
	bool		 has_hash;
	uint8_t		 hash[16];
};

/* Fills *out for fpr (upper-case hex); false (and *out zeroed) if unknown. */
bool state_get(const struct state *st, const char *fpr,
    struct state_key *out);

/* Records that fpr was seen now, unless it was seen before. */
int state_seen(struct state *st, const char *fpr, int64_t now);

/*
 * Records an answer about fpr from server (a base URL): hash is the SKS
 * hash of what it sent, NULL when it had no copy; changed says the answer
 * brought something new.  Clears a recorded failure.
 */
int state_checked(struct state *st, const char *fpr, int64_t now,
    const char *server, const uint8_t hash[16], bool changed);

/* Records a failed attempt for fpr, keeping the last answer. */
int state_failed(struct state *st, const char *fpr, int64_t now,
    const char *why);

/* The hash last pushed to server for fpr; false if none. */
bool state_get_pushed(const struct state *st, const char *fpr,
    const char *server, uint8_t hash[16]);

/* Records a successful upload of the version with this hash. */
int state_set_pushed(struct state *st, const char *fpr, const char *server,
    const uint8_t hash[16], int64_t now);

/*
 * Whether fetch asks about fpr (upper-case hex) at now.  max_age > 0
 * (--max-age): not when it was answered less than max_age seconds ago.
 * spread > 0 (--spread P): every key has a fixed slot in each period P,
 * from the first 64 bits of its fingerprint, and is due once a slot has
 * passed since it was last answered -- or, never answered, since it was
 * first seen (state_seen()) -- so that runs from cron share a keyring
 * evenly and each key is asked once per period.  Without either, or
 * with st NULL, every key is due.
 */
bool state_is_due(const struct state *st, const char *fpr, int64_t now,
    int64_t max_age, int64_t spread);

/*
 * Whether server (a base URL) already has the version of fpr with this
 * SKS hash: it was pushed there (state_set_pushed()), or the last answer
 * about fpr came from there with that hash.  False with st NULL.
 */
bool state_server_has(const struct state *st, const char *fpr,
    const char *server, const uint8_t hash[16]);

#endif
