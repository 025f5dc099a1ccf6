/*
 * store-int.h: what the files of the certificate store share: a few
 * helpers of store.c, and the object writer of store-pack.c, which turns
 * the objects of a commit into loose objects or one pack file with its
 * index.  For src/keyset/store*.c and their tests only.
 */
#ifndef PGPSYNC_KEYSET_STORE_INT_H
#define PGPSYNC_KEYSET_STORE_INT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <git2.h>

#include "keyset/store.h"
#include "util/buf.h"
#include "util/digest.h"
#include "util/err.h"

#define OID_LEN			STORE_OID_LEN

/* Fewer objects than this are written loose (git's transfer.unpackLimit). */
#define LOOSE_MAX_OBJECTS	100
#define LOOSE_MAX_BYTES		((size_t)16 << 20)

enum obj_type { OBJ_COMMIT = 1, OBJ_TREE = 2, OBJ_BLOB = 3 };

/* --- helpers (store.c) ------------------------------------------------ */

/* Sets err to PGPS_EGIT: fmt (with arg) and libgit2's last message. */
int store_git_fail(struct pgps_err *err, const char *fmt, const char *arg);
/* a/b, allocated; NULL when out of memory. */
char *store_path_join(const char *a, const char *b);
/*
 * Makes room for element n of an array of *alloc elements of size bytes:
 * returns the array, moved or not, or NULL (v unchanged) when out of
 * memory.
 */
void *store_grow(void *v, size_t n, size_t *alloc, size_t size);
/* The slot of a key (an object id, a fingerprint) in a table of cap. */
size_t store_oid_slot(const uint8_t *oid, size_t cap);
/* Puts val + 1 for key into the open-addressing table ht of cap slots. */
void store_ht_insert(uint32_t *ht, size_t cap, const uint8_t *key,
    size_t val);

/* --- the object writer (store-pack.c) --------------------------------- */

/*
 * The objects of the next commit.  They stay in memory while they are
 * few; past the loose limits they all go to a temporary pack file in
 * objects/pack, which objw_finish() completes with its index.
 */
struct objw_obj {
	uint8_t		 oid[OID_LEN];
	uint8_t		 type;
	uint32_t	 crc;		/* of the packed bytes */
	uint64_t	 off;		/* of the object in the pack */
	uint64_t	 zoff;		/* of its zlib stream */
	size_t		 len;		/* of its contents */
	uint8_t		*data;		/* contents while in memory */
};

/* The pack's checksum, computed on a thread while the trees are built. */
struct objw_sum {
	pthread_t	 th;
	int		 fd;
	uint64_t	 end;		/* hashes [0, end) */
	size_t		 count;		/* in the header it hashed */
	struct digest	*sha1;
	int		 err;		/* errno, or -1 for a short read */
};

struct objw {
	struct objw_obj	*v;
	size_t		 n;
	size_t		 alloc;
	size_t		 membytes;
	uint32_t	*ht;		/* oid -> index + 1 */
	size_t		 htcap;
	int		 fd;		/* the pack, once there is one */
	char		*tmp;
	uint64_t	 off;		/* bytes written to the pack */
	struct buf	 wb;		/* packed, not yet written */
	struct buf	 rb;		/* for reading back */
	struct digest	*sha1;
	struct objw_sum	*ps;
};

void objw_init(struct objw *w);
/* Forgets every object, removing a pack not finished. */
void objw_release(struct objw *w);
/*
 * Adds an object whose id is oid and contents len bytes, given either as
 * data (packed here) or already packed (packed[0..plen), header hdrlen,
 * CRC-32 crc).  An id added before is not added again.  *k is its index.
 * From LOOSE_MAX_OBJECTS objects or LOOSE_MAX_BYTES on, every object goes
 * to a temporary pack file in gitdir's objects/pack.
 */
int objw_put(struct objw *w, const char *gitdir, uint8_t type,
    const uint8_t oid[OID_LEN], const uint8_t *data, size_t len,
    const uint8_t *packed, size_t plen, size_t hdrlen, uint32_t crc,
    size_t *k, struct pgps_err *err);
/* Adds an object given by its contents; oid receives its id. */
int objw_add(struct objw *w, const char *gitdir, uint8_t type,
    const uint8_t *p, size_t len, uint8_t oid[OID_LEN], size_t *k,
    struct pgps_err *err);
/* Replaces out's contents with those of object k. */
int objw_read(struct objw *w, size_t k, struct buf *out,
    struct pgps_err *err);
/*
 * Announces that the pack will end with count objects, so that its
 * checksum starts on a thread; only a speed-up.
 */
int objw_presum(struct objw *w, size_t count, struct pgps_err *err);
/*
 * Puts every object into the repository: the pack completed, indexed and
 * renamed into place (then odb refreshed), or loose objects through odb.
 */
int objw_finish(struct objw *w, git_odb *odb, const char *gitdir,
    struct pgps_err *err);

/*
 * Appends one packed object to out: the type-and-size header of the pack
 * format, then the contents as a zlib stream of stored blocks.  Sets
 * *crc to the CRC-32 of what was appended and *hdrlen to the header's
 * length.
 */
int objw_pack_object(struct buf *out, uint8_t type, const uint8_t *p,
    size_t len, uint32_t *crc, size_t *hdrlen);
/* The contents (len bytes) of a stream objw_pack_object() wrote. */
int objw_unpack_stored(struct buf *out, const uint8_t *z, size_t zlen,
    size_t len);
/* Git's object id: SHA-1 over "<type> <len>\0" and the contents. */
void objw_object_id(struct digest *sha1, uint8_t type, const uint8_t *p,
    size_t len, uint8_t oid[OID_LEN]);

#endif
