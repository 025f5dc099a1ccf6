/*
 * store-int.h: what the files of the certificate store share: the
 * store's handle and helpers (store.c: the repository, its lock and refs,
 * the side index, putting and committing), the object writer
 * (store-pack.c: loose objects or one pack file with its index), the
 * join of a fetched revision (store-join.c) and the key-set backend
 * that reads it (store-read.c).  For src/keyset/store*.c and their tests only.
 */
#ifndef PGPSYNC_KEYSET_STORE_INT_H
#define PGPSYNC_KEYSET_STORE_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <git2.h>

#include "keyset/store.h"
#include "openpgp/openpgp.h"
#include "util/atomic.h"
#include "util/buf.h"
#include "util/digest.h"
#include "util/err.h"

#define OID_LEN			STORE_OID_LEN
#define FPR_HEX			(2 * PGP_FPR_MAX + 1)

/* The README of every store (layout 1). */
extern const char store_readme[];

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

/* --- the store (store.c) ---------------------------------------------- */

/*
 * A key ID and the certificate with it (1 + its index in the index, or
 * past that, among those put), or KID_MANY when several have it.
 */
struct kid_slot {
	uint8_t		 kid[8];
	uint32_t	 val;
};
#define KID_MANY	UINT32_MAX

/* A certificate put since the last commit. */
struct staged {
	struct store_entry	 e;
	size_t			 obj;		/* in the object writer */
	bool			 updated;	/* the base commit had it */
	uint32_t		 added[PGP_CHANGE_OTHER + 1];
};

struct store {
	git_repository		*repo;
	git_odb			*odb;
	char			*dir;		/* as named, for messages */
	char			*gitdir;
	char			*rev;		/* NULL: HEAD */
	bool			 writable;
	struct file_lock	 lock;		/* a writer's */
	bool			 has_base;	/* there is a commit */
	git_oid			 base;
	git_oid			 tree;
	char			 head[2 * OID_LEN + 1];

	bool			 loaded;	/* the index */
	struct store_entry	*ents;
	size_t			 nents;
	struct store_entry	*bad;		/* damaged files: keys only */
	size_t			 nbad;

	struct objw		 w;
	struct staged		*st;
	size_t			 nst;
	size_t			 ast;
	uint32_t		*sht;		/* fingerprint -> staged + 1 */
	size_t			 shtcap;

	struct digest		*md5;
	struct pgp_cert		 c1;
	struct pgp_cert		 c2;
	struct pgp_cert		 c3;
	struct buf		 nb;		/* the new version */
	struct buf		 ob;		/* the stored version */
	struct buf		 mb;		/* merged */
	struct buf		 fb;		/* merged, limits applied */
	struct store_prep	*prep;		/* for store_put() */
	struct store_defer	*defer;		/* versions merged at the end */
	struct buf		 rec;
	struct kid_slot		*kid;		/* key ID -> certificate */
	size_t			 kidcap;
	size_t			 nkid;
	bool			 has_join;	/* the next commit is a merge */
	git_oid			 join;		/* its second parent */
	char			*joinname;
	char			*joinwhy;	/* why not a fast-forward */
};

int store_key_cmp(const uint8_t *a, size_t alen, const uint8_t *b,
    size_t blen);
int store_entry_cmp(const void *va, const void *vb);
void store_fpr_hex(char out[FPR_HEX], const uint8_t *fpr, size_t len);
/* Parses "<hex fingerprint>.pgp"; false for any other name. */
bool store_parse_cert_name(const char *name, uint8_t *fpr, uint8_t *len);
/* A shard directory's name: two upper-case hex digits. */
bool store_is_shard_name(const char *name);
/* A certificate's name in its shard directory dir ("AB/CD"). */
bool store_parse_cert_path(const char *dir, const char *name, uint8_t *fpr,
    uint8_t *len);
/* The default store's directory, allocated. */
char *store_default_dir(void);
/* Splits a store name into its directory and revision (NULL: none). */
int store_split_name(const char *name, char **dir, char **rev);
/*
 * Why p[0..len) is not what the file of the certificate fpr must hold,
 * or NULL; c is left parsed; theirs gets another key's fingerprint, or "".
 */
const char *store_cert_misnamed(struct pgp_cert *c, const uint8_t *p,
    size_t len, const uint8_t *fpr, size_t fprlen, char theirs[FPR_HEX]);
/*
 * Replaces out's contents with c, lim applied (or as it is, trust packets
 * dropped); *same (may be NULL) tells whether every packet was kept.
 */
int store_normalise(struct buf *out, const struct pgp_cert *c,
    const struct pgp_limits *lim, bool *same, struct pgps_err *err);
/* Makes commit (with its tree) the store's base. */
void store_set_base(struct store *s, const git_oid *commit,
    const git_oid *tree);
/*
 * Around a move of HEAD: a marker that tells the next writer to remove
 * git lock files a killed run may have left.
 */
int store_ref_update_begin(struct store *s, struct pgps_err *err);
void store_ref_update_end(struct store *s);
/* Forgets the key ID table (rebuilt when needed). */
void store_kid_drop(struct store *s);
/* Loads the index of the base tree, reading as little as it can. */
int store_index_ready(struct store *s, struct pgps_err *err);
/* Writes the side index of tree (errors only cost a rebuild later). */
void store_index_save(struct store *s, const git_oid *tree);
/* Moves HEAD (or the branch it names) from the base commit to id. */
int store_move_head(struct store *s, const git_oid *id, const char *why,
    struct pgps_err *err);

/*
 * Called for each certificate file that differs between two trees: path
 * is "AB/CD/<name>", old or new NULL when the file is only on one side.
 */
typedef int (*store_walk_fn)(const char *path, const char *name,
    const git_oid *old, const git_oid *new, void *arg,
    struct pgps_err *err);
int store_tree_walk(struct store *s, const git_oid *a, const git_oid *b,
    int depth, const char *prefix, store_walk_fn fn, void *arg,
    struct pgps_err *err);

#endif
