/*
 * store-pack.c: the store's object writer.  The objects of a commit stay
 * in memory while they are few and are then written as loose objects
 * through libgit2; past the loose limits they all go to one pack file
 * (version 2, no deltas, zlib "stored" blocks because certificates hardly
 * compress) written here with its version 2 index, and renamed into
 * objects/pack/ only when complete.  See store.c for why.
 */
#include "util/common.h"

#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include <git2.h>

#include "keyset/store-int.h"
#include "util/digest.h"
#include "util/hex.h"
#include "util/mem.h"

/* --- checksums for pack files ---------------------------------------- */

static uint32_t crc_table[8][256];

static void
crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
		crc_table[0][i] = c;
	}
	for (uint32_t i = 0; i < 256; i++)
		for (int t = 1; t < 8; t++)
			crc_table[t][i] = (crc_table[t - 1][i] >> 8) ^
			    crc_table[0][crc_table[t - 1][i] & 0xff];
}

/* CRC-32 (ISO-HDLC, as zlib's crc32()), slicing by eight. */
static uint32_t
crc32_update(uint32_t crc, const uint8_t *p, size_t len)
{
	crc = ~crc;
	while (len >= 8) {
		uint32_t lo = crc ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 |
		    (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
		uint32_t hi = (uint32_t)p[4] | (uint32_t)p[5] << 8 |
		    (uint32_t)p[6] << 16 | (uint32_t)p[7] << 24;

		crc = crc_table[7][lo & 0xff] ^ crc_table[6][(lo >> 8) & 0xff] ^
		    crc_table[5][(lo >> 16) & 0xff] ^ crc_table[4][lo >> 24] ^
		    crc_table[3][hi & 0xff] ^ crc_table[2][(hi >> 8) & 0xff] ^
		    crc_table[1][(hi >> 16) & 0xff] ^ crc_table[0][hi >> 24];
		p += 8;
		len -= 8;
	}
	while (len-- > 0)
		crc = crc_table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

/*
 * Adler-32 (RFC 1950), the checksum that ends a zlib stream.  Over a block
 * of n bytes x[0..n), a grows by the sum of x[i] and b by n*a plus the sum
 * of (n - i) * x[i]; summing those two without a dependency from byte to
 * byte runs three times faster than the byte-serial loop.  With n <= 4096
 * the weighted sum stays below 2^31.
 */
static uint32_t
adler32(const uint8_t *p, size_t len)
{
	uint32_t a = 1, b = 0;

	while (len > 0) {
		size_t n = len < 4096 ? len : 4096;
		uint32_t s1 = 0, s2 = 0;

		for (size_t i = 0; i < n; i++) {
			s1 += p[i];
			s2 += (uint32_t)(n - i) * p[i];
		}
		b = (b + (uint32_t)n * a + s2) % 65521;
		a = (a + s1) % 65521;
		p += n;
		len -= n;
	}
	return b << 16 | a;
}

/* --- the object writer ------------------------------------------------ */

void
objw_init(struct objw *w)
{
	memset(w, 0, sizeof(*w));
	w->fd = -1;
	buf_init(&w->wb, 0);
	buf_init(&w->rb, 0);
}

static void presum_end(struct objw *w);

void
objw_release(struct objw *w)
{
	presum_end(w);
	for (size_t i = 0; i < w->n; i++)
		free(w->v[i].data);
	free(w->v);
	free(w->ht);
	if (w->fd >= 0)
		close(w->fd);
	if (w->tmp != NULL)
		unlink(w->tmp);
	free(w->tmp);
	buf_release(&w->wb);
	buf_release(&w->rb);
	digest_free(w->sha1);
	objw_init(w);
}

size_t
store_oid_slot(const uint8_t *oid, size_t cap)
{
	uint64_t h;

	memcpy(&h, oid, sizeof(h));
	return (size_t)h & (cap - 1);
}

/* The index of the object named oid, or SIZE_MAX. */
static size_t
objw_find(const struct objw *w, const uint8_t *oid)
{
	if (w->htcap == 0)
		return SIZE_MAX;
	for (size_t i = store_oid_slot(oid, w->htcap);;
	    i = (i + 1) & (w->htcap - 1)) {
		if (w->ht[i] == 0)
			return SIZE_MAX;
		if (memcmp(w->v[w->ht[i] - 1].oid, oid, OID_LEN) == 0)
			return w->ht[i] - 1;
	}
}

void
store_ht_insert(uint32_t *ht, size_t cap, const uint8_t *key, size_t val)
{
	size_t i = store_oid_slot(key, cap);

	while (ht[i] != 0)
		i = (i + 1) & (cap - 1);
	ht[i] = (uint32_t)(val + 1);
}

/* Indexes object k (all before it are indexed). */
static int
objw_index(struct objw *w, size_t k)
{
	if ((k + 1) * 2 > w->htcap) {
		size_t cap = w->htcap == 0 ? 1024 : w->htcap * 2;
		uint32_t *ht;

		if (k >= UINT32_MAX / 4 ||
		    (ht = calloc(cap, sizeof(*ht))) == NULL)
			return PGPS_ENOMEM;
		free(w->ht);
		w->ht = ht;
		w->htcap = cap;
		for (size_t j = 0; j < k; j++)
			store_ht_insert(w->ht, cap, w->v[j].oid, j);
	}
	store_ht_insert(w->ht, w->htcap, w->v[k].oid, k);
	return 0;
}

static int
write_all(int fd, const uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int
objw_flush(struct objw *w, struct pgps_err *err)
{
	if (write_all(w->fd, w->wb.p, w->wb.len) != 0)
		return pgps_err_set(err, PGPS_EIO, "cannot write '%s': %s",
		    w->tmp, strerror(errno));
	w->off += w->wb.len;
	buf_reset(&w->wb);
	return 0;
}

/* Number of stored deflate blocks for len bytes (an empty one for 0). */
static size_t
stored_blocks(size_t len)
{
	return len == 0 ? 1 : (len + 65534) / 65535;
}

static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

/*
 * Appends one packed object to out: the type-and-size header of the pack
 * format, then the contents as a zlib stream of stored blocks (RFC 1950,
 * RFC 1951 section 3.2.4).  Sets *crc to the CRC-32 of what was appended
 * (the pack index keeps it) and *hdrlen to the header's length.
 */
int
objw_pack_object(struct buf *out, uint8_t type, const uint8_t *p, size_t len,
    uint32_t *crc, size_t *hdrlen)
{
	size_t start = out->len, left = len, sz = len, h = 0;
	uint8_t hdr[16];
	int r;

	pthread_once(&crc_once, crc_init);
	hdr[0] = (uint8_t)(type << 4 | (sz & 0x0f));
	for (sz >>= 4; sz != 0; sz >>= 7) {
		hdr[h++] |= 0x80;
		hdr[h] = (uint8_t)(sz & 0x7f);
	}
	h++;
	if ((r = buf_grow(out, h + 6 + len + 5 * stored_blocks(len))) != 0)
		return r;
	buf_add(out, hdr, h);
	buf_add(out, "\x78\x01", 2);
	do {
		size_t n = left < 65535 ? left : 65535;
		uint8_t bh[5];

		bh[0] = n == left ? 1 : 0;	/* BFINAL; BTYPE 00 */
		bh[1] = (uint8_t)(n & 0xff);
		bh[2] = (uint8_t)(n >> 8);
		bh[3] = (uint8_t)(~n & 0xff);
		bh[4] = (uint8_t)((~n >> 8) & 0xff);
		buf_add(out, bh, 5);
		buf_add(out, p, n);
		p += n;
		left -= n;
	} while (left > 0);
	buf_add_be32(out, adler32(p - len, len));
	*crc = crc32_update(0, out->p + start, out->len - start);
	*hdrlen = h;
	return 0;
}

/*
 * The contents of a stream that objw_pack_object() wrote (z[0..zlen), its
 * header skipped), len bytes, into out (replaced).
 */
int
objw_unpack_stored(struct buf *out, const uint8_t *z, size_t zlen, size_t len)
{
	size_t pos = 2;

	buf_reset(out);
	if (buf_grow(out, len) != 0)
		return PGPS_ENOMEM;
	while (out->len < len || pos == 2) {
		size_t bl;

		if (pos + 5 > zlen)
			return PGPS_EINTERNAL;
		bl = (size_t)z[pos + 1] | (size_t)z[pos + 2] << 8;
		if (pos + 5 + bl > zlen || out->len + bl > len)
			return PGPS_EINTERNAL;
		buf_add(out, z + pos + 5, bl);
		pos += 5 + bl;
	}
	return 0;
}

/* Appends packed bytes to the pack, recording where o's stream starts. */
static int
objw_append(struct objw *w, struct objw_obj *o, const uint8_t *packed,
    size_t plen, size_t hdrlen, struct pgps_err *err)
{
	o->off = w->off + w->wb.len;
	o->zoff = o->off + hdrlen;
	if (buf_add(&w->wb, packed, plen) != 0)
		return pgps_err_set(err, PGPS_ENOMEM, "out of memory");
	if (w->wb.len >= ((size_t)1 << 20))
		return objw_flush(w, err);
	return 0;
}

/* Moves every object so far into a new temporary pack. */
static int
objw_to_pack(struct objw *w, const char *gitdir, struct pgps_err *err)
{
	static const uint8_t head[12] = { 'P', 'A', 'C', 'K', 0, 0, 0, 2 };
	struct buf pk = BUF_INIT;
	size_t h;
	int r = 0;

	if ((w->tmp = store_path_join(gitdir,
	    "objects/pack/tmp_pgpsync_XXXXXX")) == NULL)
		return pgps_err_set(err, PGPS_ENOMEM, "out of memory");
	if ((w->fd = mkstemp(w->tmp)) < 0) {
		r = pgps_err_set(err, PGPS_EIO, "cannot create '%s': %s",
		    w->tmp, strerror(errno));
		free(w->tmp);
		w->tmp = NULL;
		return r;
	}
	if (buf_add(&w->wb, head, sizeof(head)) != 0)
		return pgps_err_set(err, PGPS_ENOMEM, "out of memory");
	buf_init(&pk, 0);
	for (size_t i = 0; i < w->n && r == 0; i++) {
		struct objw_obj *o = &w->v[i];

		buf_reset(&pk);
		if (objw_pack_object(&pk, o->type, o->data, o->len, &o->crc,
		    &h) != 0)
			r = pgps_err_set(err, PGPS_ENOMEM, "out of memory");
		else
			r = objw_append(w, o, pk.p, pk.len, h, err);
		free(o->data);
		o->data = NULL;
	}
	buf_release(&pk);
	w->membytes = 0;
	return r;
}

/* Git's object id: SHA-1 over "<type> <len>\0" and the contents. */
void
objw_object_id(struct digest *sha1, uint8_t type, const uint8_t *p, size_t len,
    uint8_t oid[OID_LEN])
{
	char hdr[32];
	int n = snprintf(hdr, sizeof(hdr), "%s %zu",
	    type == OBJ_BLOB ? "blob" : type == OBJ_TREE ? "tree" : "commit",
	    len);
	uint8_t md[DIGEST_MAX];

	digest_reset(sha1);
	digest_update(sha1, hdr, (size_t)n + 1);
	digest_update(sha1, p, len);
	digest_final(sha1, md);
	memcpy(oid, md, OID_LEN);
}

/*
 * Adds an object whose id is oid and contents len bytes, given either as
 * data (packed here) or already packed (packed[0..plen), header hdrlen,
 * CRC-32 crc).  An id added before is not added again.  *k is its index.
 */
int
objw_put(struct objw *w, const char *gitdir, uint8_t type,
    const uint8_t oid[OID_LEN], const uint8_t *data, size_t len,
    const uint8_t *packed, size_t plen, size_t hdrlen, uint32_t crc,
    size_t *k, struct pgps_err *err)
{
	struct objw_obj *o;
	size_t i;
	int r;

	if ((i = objw_find(w, oid)) != SIZE_MAX) {
		*k = i;
		return 0;
	}
	if ((o = store_grow(w->v, w->n, &w->alloc, sizeof(*w->v))) == NULL)
		return pgps_err_set(err, PGPS_ENOMEM, "out of memory");
	w->v = o;
	if (w->fd < 0 && (w->n + 1 >= LOOSE_MAX_OBJECTS ||
	    w->membytes + len > LOOSE_MAX_BYTES) &&
	    (r = objw_to_pack(w, gitdir, err)) != 0)
		return r;
	o = &w->v[w->n];
	memset(o, 0, sizeof(*o));
	memcpy(o->oid, oid, OID_LEN);
	o->type = type;
	o->len = len;
	if (w->fd < 0) {
		struct buf tmp = BUF_INIT;

		/* Loose objects are written from their contents. */
		if (data == NULL) {
			buf_init(&tmp, 0);
			if (objw_unpack_stored(&tmp, packed + hdrlen,
			    plen - hdrlen, len) != 0) {
				buf_release(&tmp);
				return pgps_err_set(err, PGPS_EINTERNAL,
				    "a prepared object is damaged");
			}
			o->data = buf_detach(&tmp, NULL);
		} else if ((o->data = malloc(len == 0 ? 1 : len)) != NULL)
			memcpy(o->data, data, len);
		if (o->data == NULL)
			return pgps_err_set(err, PGPS_ENOMEM, "out of memory");
		w->membytes += len;
	} else if (packed != NULL) {
		o->crc = crc;
		if ((r = objw_append(w, o, packed, plen, hdrlen, err)) != 0)
			return r;
	} else {
		struct buf pk = BUF_INIT;
		size_t h;

		buf_init(&pk, 0);
		r = objw_pack_object(&pk, type, data, len, &o->crc, &h);
		if (r == 0)
			r = objw_append(w, o, pk.p, pk.len, h, err);
		else
			r = pgps_err_set(err, PGPS_ENOMEM, "out of memory");
		buf_release(&pk);
		if (r != 0)
			return r;
	}
	if (objw_index(w, w->n) != 0) {
		free(o->data);
		return pgps_err_set(err, PGPS_ENOMEM, "out of memory");
	}
	*k = w->n++;
	return 0;
}

/* Adds an object given by its contents; oid receives its id. */
int
objw_add(struct objw *w, const char *gitdir, uint8_t type, const uint8_t *p,
    size_t len, uint8_t oid[OID_LEN], size_t *k, struct pgps_err *err)
{
	if (w->sha1 == NULL && (w->sha1 = digest_new(DIGEST_SHA1)) == NULL)
		return pgps_err_set(err, PGPS_ENOMEM, "out of memory");
	objw_object_id(w->sha1, type, p, len, oid);
	return objw_put(w, gitdir, type, oid, p, len, NULL, 0, 0, 0, k, err);
}

/* Replaces out's contents with those of object k. */
int
objw_read(struct objw *w, size_t k, struct buf *out, struct pgps_err *err)
{
	const struct objw_obj *o = &w->v[k];
	size_t zlen = 2 + o->len + 5 * stored_blocks(o->len) + 4;
	ssize_t n;
	int r;

	buf_reset(out);
	if (o->data != NULL) {
		if ((r = buf_add(out, o->data, o->len)) != 0)
			return pgps_err_set(err, r, "out of memory");
		return 0;
	}
	if (w->wb.len > 0 && (r = objw_flush(w, err)) != 0)
		return r;
	buf_reset(&w->rb);
	if ((r = buf_grow(&w->rb, zlen)) != 0)
		return pgps_err_set(err, r, "out of memory");
	do
		n = pread(w->fd, w->rb.p, zlen, (off_t)o->zoff);
	while (n < 0 && errno == EINTR);
	if (n < 0 || (size_t)n != zlen)
		return pgps_err_set(err, PGPS_EIO, "cannot read '%s' back: %s",
		    w->tmp, n < 0 ? strerror(errno) : "short read");
	if ((r = objw_unpack_stored(out, w->rb.p, zlen, o->len)) != 0)
		return pgps_err_set(err, r, "'%s': object at %llu is not as "
		    "written", w->tmp, (unsigned long long)o->off);
	return 0;
}

struct idx_rec {
	uint8_t		 oid[OID_LEN];
	uint32_t	 crc;
	uint64_t	 off;
};

static int
idx_rec_cmp(const void *a, const void *b)
{
	return memcmp(((const struct idx_rec *)a)->oid,
	    ((const struct idx_rec *)b)->oid, OID_LEN);
}

/*
 * The pack index, version 2: magic, version, 256-entry fan-out, sorted
 * ids, their CRC-32s, 31-bit offsets (or, with the high bit set, an index
 * into the table of 64-bit offsets that follows), the pack's checksum,
 * then the SHA-1 of all of it (git's Documentation/gitformat-pack.txt).
 */
static int
idx_build(struct buf *out, struct objw *w, const uint8_t packsum[OID_LEN],
    struct pgps_err *err)
{
	struct idx_rec *v;
	uint32_t fan[256] = { 0 };
	uint8_t md[DIGEST_MAX];
	size_t large = 0;
	int r = 0;

	if ((v = mem_reallocarray(NULL, w->n + 1, sizeof(*v))) == NULL)
		return pgps_err_set(err, PGPS_ENOMEM, "out of memory");
	for (size_t i = 0; i < w->n; i++) {
		memcpy(v[i].oid, w->v[i].oid, OID_LEN);
		v[i].crc = w->v[i].crc;
		v[i].off = w->v[i].off;
		fan[v[i].oid[0]]++;
	}
	qsort(v, w->n, sizeof(*v), idx_rec_cmp);
	for (size_t i = 1; i < 256; i++)
		fan[i] += fan[i - 1];
	r |= buf_add(out, "\377tOc\0\0\0\2", 8);
	for (size_t i = 0; i < 256; i++)
		r |= buf_add_be32(out, fan[i]);
	for (size_t i = 0; i < w->n; i++)
		r |= buf_add(out, v[i].oid, OID_LEN);
	for (size_t i = 0; i < w->n; i++)
		r |= buf_add_be32(out, v[i].crc);
	for (size_t i = 0; i < w->n; i++) {
		if (v[i].off < 0x80000000u)
			r |= buf_add_be32(out, (uint32_t)v[i].off);
		else
			r |= buf_add_be32(out, 0x80000000u | (uint32_t)large++);
	}
	for (size_t i = 0; i < w->n; i++)
		if (v[i].off >= 0x80000000u)
			r |= buf_add_be32(out, (uint32_t)(v[i].off >> 32)) |
			    buf_add_be32(out, (uint32_t)v[i].off);
	r |= buf_add(out, packsum, OID_LEN);
	free(v);
	if (r != 0)
		return pgps_err_set(err, PGPS_ENOMEM, "out of memory");
	digest_reset(w->sha1);
	digest_update(w->sha1, out->p, out->len);
	digest_final(w->sha1, md);
	if (buf_add(out, md, OID_LEN) != 0)
		return pgps_err_set(err, PGPS_ENOMEM, "out of memory");
	return 0;
}

static int
fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_CLOEXEC), r;

	if (fd < 0)
		return -1;
	r = fsync(fd);
	close(fd);
	return r;
}

/* Hashes [from, to) of fd into d; 0, an errno, or -1 (short read). */
static int
hash_range(int fd, struct digest *d, uint64_t from, uint64_t to)
{
	size_t sz = (size_t)1 << 20;
	uint8_t *b = malloc(sz);
	int r = 0;

	if (b == NULL)
		return ENOMEM;
	while (from < to && r == 0) {
		size_t want = to - from < sz ? (size_t)(to - from) : sz;
		ssize_t n = pread(fd, b, want, (off_t)from);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			r = n < 0 ? errno : -1;
		else {
			digest_update(d, b, (size_t)n);
			from += (uint64_t)n;
		}
	}
	free(b);
	return r;
}

static void *
presum_run(void *arg)
{
	struct objw_sum *p = arg;

	p->err = hash_range(p->fd, p->sha1, 0, p->end);
	return NULL;
}

static void
presum_end(struct objw *w)
{
	if (w->ps == NULL)
		return;
	pthread_join(w->ps->th, NULL);
	digest_free(w->ps->sha1);
	free(w->ps);
	w->ps = NULL;
}

static int
set_count(struct objw *w, size_t count, struct pgps_err *err)
{
	uint8_t be[4];

	if (count > UINT32_MAX)
		return pgps_err_set(err, PGPS_ELIMIT, "too many objects");
	be[0] = (uint8_t)(count >> 24);
	be[1] = (uint8_t)(count >> 16);
	be[2] = (uint8_t)(count >> 8);
	be[3] = (uint8_t)count;
	if (pwrite(w->fd, be, 4, 8) != 4)
		return pgps_err_set(err, PGPS_EIO, "cannot write '%s': %s",
		    w->tmp, strerror(errno));
	return 0;
}

/*
 * Announces that the pack will end with count objects, so its checksum
 * can start on a thread over what is written while the rest (the trees)
 * is added.  Only a speed-up: objw_finish_pack() checks the count.
 */
int
objw_presum(struct objw *w, size_t count, struct pgps_err *err)
{
	struct objw_sum *p;
	int r;

	if (w->fd < 0 || w->ps != NULL)
		return 0;
	if ((r = objw_flush(w, err)) != 0 ||
	    (r = set_count(w, count, err)) != 0)
		return r;
	if ((p = calloc(1, sizeof(*p))) == NULL ||
	    (p->sha1 = digest_new(DIGEST_SHA1)) == NULL) {
		free(p);
		return 0;
	}
	p->fd = w->fd;
	p->end = w->off;
	p->count = count;
	if (pthread_create(&p->th, NULL, presum_run, p) != 0) {
		digest_free(p->sha1);
		free(p);
		return 0;
	}
	w->ps = p;
	return 0;
}

/*
 * Completes the pack: the object count in its header, the SHA-1 trailer
 * (computed by reading the file back), fsync, then the index; both are
 * renamed to pack-<checksum>.{pack,idx}, the index last, because git and
 * libgit2 only look at packs that have an index.
 */
static int
objw_finish_pack(struct objw *w, const char *gitdir, struct pgps_err *err)
{
	struct buf idx = BUF_INIT;
	uint8_t md[DIGEST_MAX];
	char hex[2 * OID_LEN + 1], name[64];
	char *packdir = NULL, *ptmp = NULL, *ipath = NULL, *ppath = NULL;
	int ifd = -1, r;

	if ((r = objw_flush(w, err)) != 0)
		return r;
	if (w->ps != NULL && w->ps->count == w->n) {
		struct objw_sum *p = w->ps;

		pthread_join(p->th, NULL);
		r = p->err != 0 ? p->err : hash_range(w->fd, p->sha1, p->end,
		    w->off);
		digest_final(p->sha1, md);
		digest_free(p->sha1);
		free(p);
		w->ps = NULL;
	} else {
		presum_end(w);
		if ((r = set_count(w, w->n, err)) != 0)
			return r;
		digest_reset(w->sha1);
		if ((r = hash_range(w->fd, w->sha1, 0, w->off)) == 0)
			digest_final(w->sha1, md);
	}
	if (r != 0)
		return pgps_err_set(err, PGPS_EIO, "cannot read '%s' back: %s",
		    w->tmp, r > 0 ? strerror(r) : "short read");
	if (write_all(w->fd, md, OID_LEN) != 0 || fsync(w->fd) != 0 ||
	    fchmod(w->fd, 0444) != 0)
		return pgps_err_set(err, PGPS_EIO, "cannot write '%s': %s",
		    w->tmp, strerror(errno));
	buf_init(&idx, 0);
	if ((r = idx_build(&idx, w, md, err)) != 0)
		goto cleanup;
	hex_encode_lower(hex, md, OID_LEN);
	if ((packdir = store_path_join(gitdir, "objects/pack")) == NULL ||
	    (ptmp = store_path_join(packdir,
	    "tmp_pgpsync_idx_XXXXXX")) == NULL) {
		r = pgps_err_set(err, PGPS_ENOMEM, "out of memory");
		goto cleanup;
	}
	snprintf(name, sizeof(name), "pack-%s.pack", hex);
	ppath = store_path_join(packdir, name);
	snprintf(name, sizeof(name), "pack-%s.idx", hex);
	ipath = store_path_join(packdir, name);
	if (ppath == NULL || ipath == NULL) {
		r = pgps_err_set(err, PGPS_ENOMEM, "out of memory");
		goto cleanup;
	}
	if ((ifd = mkstemp(ptmp)) < 0 ||
	    write_all(ifd, idx.p, idx.len) != 0 || fsync(ifd) != 0 ||
	    fchmod(ifd, 0444) != 0) {
		r = pgps_err_set(err, PGPS_EIO, "cannot write '%s': %s", ptmp,
		    strerror(errno));
		goto cleanup;
	}
	if (rename(w->tmp, ppath) != 0) {
		r = pgps_err_set(err, PGPS_EIO, "cannot rename '%s': %s",
		    w->tmp, strerror(errno));
		goto cleanup;
	}
	free(w->tmp);
	w->tmp = NULL;
	if (rename(ptmp, ipath) != 0) {
		r = pgps_err_set(err, PGPS_EIO, "cannot rename '%s': %s",
		    ptmp, strerror(errno));
		goto cleanup;
	}
	free(ptmp);
	ptmp = NULL;
	fsync_dir(packdir);
	r = 0;
 cleanup:
	if (ifd >= 0)
		close(ifd);
	if (ptmp != NULL)
		unlink(ptmp);
	free(ptmp);
	free(packdir);
	free(ppath);
	free(ipath);
	buf_release(&idx);
	return r;
}

/* Puts every object into the repository. */
int
objw_finish(struct objw *w, git_odb *odb, const char *gitdir,
    struct pgps_err *err)
{
	int r;

	if (w->n == 0)
		return 0;
	if (w->fd >= 0) {
		if ((r = objw_finish_pack(w, gitdir, err)) != 0)
			return r;
		if (git_odb_refresh(odb) != 0)
			return store_git_fail(err, "cannot read the new "
			    "pack in '%s'", gitdir);
		return 0;
	}
	for (size_t i = 0; i < w->n; i++) {
		const struct objw_obj *o = &w->v[i];
		git_oid id;

		if (git_odb_write(&id, odb, o->data, o->len,
		    o->type == OBJ_BLOB ? GIT_OBJECT_BLOB :
		    o->type == OBJ_TREE ? GIT_OBJECT_TREE :
		    GIT_OBJECT_COMMIT) != 0)
			return store_git_fail(err, "cannot write an object "
			    "to '%s'", gitdir);
		if (memcmp(id.id, o->oid, OID_LEN) != 0)
			return pgps_err_set(err, PGPS_EINTERNAL, "git and "
			    "pgpsync disagree on an object id");
	}
	return 0;
}

