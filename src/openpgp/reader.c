/*
 * reader.c: splits a stream of OpenPGP packets into certificates.
 *
 * A certificate runs from a public-key packet to the next one (SKS
 * key.ml and Hockeypuck do the same); marker packets between certificates
 * are dropped.  Signatures before the first key belong to no certificate:
 * they are reported, unless the caller takes bare revocations (a run of
 * key revocations, as Hockeypuck serves a hard-revoked key) to merge them
 * into their key.  Damage is
 * expected: a bad header, a length that runs past the end, or packets that
 * belong to no certificate are reported with their offset and skipped, and
 * the reader resynchronises on the next plausible public-key packet, so one
 * bad certificate never costs the good ones around it.
 *
 * Regular files are mapped (zero copy: certificates stay valid until the
 * reader is freed).  Pipes go through a buffer that holds one certificate
 * at a time, so memory is bounded by the largest certificate accepted, not
 * by the size of the stream.
 *
 * Armored input (text whose lines hold armor blocks, wherever they are
 * among other text) is decoded one block at a time, and each block is
 * split on its own: a certificate never runs from one block into the next.
 * A damaged block is reported and skipped as a whole, a checksum that does
 * not match is reported and the block read anyway (RFC 9580 6.1: the
 * packets decide).  From a pipe, only the text of the current block is
 * held.
 */
/* madvise(MADV_DONTNEED) is not in POSIX. */
#define _DEFAULT_SOURCE
#include "util/common.h"

#include <sys/mman.h>
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "openpgp/openpgp.h"
#include "util/limits.h"

#define READ_CHUNK	((size_t)1 << 20)

struct pgp_reader {
	char		*name;
	int		 fd;		/* -1 when not streaming */
	bool		 stream;
	bool		 eof;
	bool		 resync;	/* looking for the next certificate */
	bool		 keep_bare;	/* return bare key revocations */
	/* Mapped or caller memory (stream == false). */
	const uint8_t	*mem;
	size_t		 memlen;
	void		*map;
	size_t		 maplen;
	size_t		 dropped;	/* map pages released up to here */
	bool		 stable;	/* certs valid until the reader ends */
	/* Armored input: text, and the block being split (mem, memlen). */
	bool		 armored;
	bool		 force_eof;	/* text buffer full: end the block */
	const uint8_t	*text;		/* mapped or caller text */
	size_t		 textlen;
	struct buf	 tbuf;		/* streamed text not yet decoded */
	struct pgp_armor_state ast;
	size_t		 nfound;	/* blocks found, good or damaged */
	struct buf	*blocks;	/* decoded blocks, kept when stable */
	size_t		 nblocks;
	struct buf	 decoded;	/* the current block when streaming */
	char		 where[320];	/* the input named in messages */
	/* Stream buffer: valid bytes are sbuf[cur..end). */
	uint8_t		*sbuf;
	size_t		 scap;
	size_t		 cur;
	size_t		 end;
	uint64_t	 base;		/* stream offset of sbuf[0] or mem[0] */
	uint64_t	 size;		/* total size, 0 when unknown */
};

static bool
known_algo(uint8_t a)
{
	return (a >= 1 && a <= 3) || (a >= 16 && a <= 22) ||
	    (a >= 25 && a <= 28);
}

/* Whether an MPI at p (2-octet bit count, then bytes) is well-formed. */
static bool
mpi_plausible(const uint8_t *p, size_t avail, size_t *used)
{
	size_t bits, n;
	int top;

	if (avail < 3)
		return false;
	bits = (size_t)p[0] << 8 | p[1];
	n = (bits + 7) / 8;
	if (bits == 0 || n > avail - 2)
		return false;
	/* The bit count must match the leading octet. */
	for (top = 8; top > 0 && (p[2] & (1 << (top - 1))) == 0; top--)
		;
	if ((size_t)top != bits - (n - 1) * 8)
		return false;
	*used = 2 + n;
	return true;
}

/*
 * Whether a key packet body holds well-formed key material for its
 * algorithm: the test that keeps resynchronisation from taking random
 * bytes after damage for a key.
 */
static bool
key_body_plausible(const uint8_t *b, size_t len)
{
	size_t off, used;
	uint8_t v = b[0], algo, oidlen;

	off = v <= 3 ? 8 : (v == 4 ? 6 : 10);
	if (len <= off)
		return false;
	algo = b[off - 1 - (v >= 5 ? 4 : 0)];
	if (v >= 5 && load_be32(b + 6) != len - 10)
		return false;
	switch (algo) {
	case 1: case 2: case 3: case 16: case 17: case 20:
		return mpi_plausible(b + off, len - off, &used);
	case 18: case 19: case 22:
		oidlen = b[off];
		return oidlen >= 3 && oidlen <= 10 && len - off > oidlen + 1u &&
		    b[off + 1] == 0x2b &&
		    mpi_plausible(b + off + 1 + oidlen, len - off - 1 - oidlen,
		    &used);
	case 25: return len - off == 32;
	case 26: return len - off == 56;
	case 27: return len - off == 32;
	case 28: return len - off == 57;
	default:
		return false;
	}
}

/* The tag of a packet whose first octet is o (bit 7 set), either format. */
static inline uint8_t
header_tag(uint8_t o)
{
	return (o & 0x40) ? (o & 0x3f) : ((o >> 2) & 0x0f);
}

/*
 * Decodes the header at p (first octet with bit 7 set) when it has a
 * definite length: sets *hl and *bl and returns 1.  Returns 0 for partial
 * or indeterminate lengths, -1 when avail ends inside the header.
 */
static inline int
definite_header(const uint8_t *p, size_t avail, size_t *hl, size_t *bl)
{
	if (p[0] & 0x40) {
		if (avail < 2)
			return -1;
		if (p[1] < 192) {
			*hl = 2;
			*bl = p[1];
		} else if (p[1] < 224) {
			if (avail < 3)
				return -1;
			*hl = 3;
			*bl = ((size_t)(p[1] - 192) << 8) + p[2] + 192;
		} else if (p[1] == 255) {
			if (avail < 6)
				return -1;
			*hl = 6;
			*bl = load_be32(p + 2);
		} else
			return 0;
		return 1;
	}
	switch (p[0] & 3) {
	case 0:
		if (avail < 2)
			return -1;
		*hl = 2;
		*bl = p[1];
		return 1;
	case 1:
		if (avail < 3)
			return -1;
		*hl = 3;
		*bl = (size_t)p[1] << 8 | p[2];
		return 1;
	case 2:
		if (avail < 5)
			return -1;
		*hl = 5;
		*bl = load_be32(p + 1);
		return 1;
	default:
		return 0;
	}
}

/*
 * Whether p starts with something that looks like a public (or secret) key
 * packet: the resynchronisation test.  Returns 1 yes, 0 no, -1 cannot tell
 * yet (too few bytes).
 */
static int
plausible_key(const uint8_t *p, size_t avail, bool eof)
{
	size_t hl, len, ai;
	uint8_t tag, v;
	int k;

	if (avail < 1)
		return eof ? 0 : -1;
	if ((p[0] & 0x80) == 0)
		return 0;
	tag = header_tag(p[0]);
	if (tag != PGP_TAG_PUBLIC_KEY && tag != PGP_TAG_SECRET_KEY)
		return 0;
	if ((k = definite_header(p, avail, &hl, &len)) != 1)
		return k < 0 && !eof ? -1 : 0;
	if (len < 6 || len > ((size_t)1 << 20))
		return 0;
	if (avail < hl + 10)
		return eof ? 0 : -1;
	v = p[hl];
	if (v < 2 || v > 6)
		return 0;
	ai = v <= 3 ? hl + 7 : hl + 5;
	if (!known_algo(p[ai]))
		return 0;
	/* Cheap checks passed; now the whole packet must make sense. */
	if (avail < hl + len)
		return eof ? 0 : -1;
	if (!key_body_plausible(p + hl, len))
		return 0;
	/* And what follows must be a packet a certificate can hold. */
	if (avail == hl + len)
		return eof ? 1 : -1;
	if ((p[hl + len] & 0x80) == 0)
		return 0;
	tag = header_tag(p[hl + len]);
	return tag == PGP_TAG_SIGNATURE || tag == PGP_TAG_TRUST ||
	    tag == PGP_TAG_USER_ID || tag == PGP_TAG_PUBLIC_SUBKEY ||
	    tag == PGP_TAG_USER_ATTRIBUTE || tag == PGP_TAG_PUBLIC_KEY ||
	    tag == PGP_TAG_SECRET_SUBKEY ? 1 : 0;
}

/*
 * The common case of pgp_packet_peek() for the splitting loop, which runs
 * on one thread while the others hash: a definite-length packet that lies
 * wholly in p.  Returns false for anything else, which then takes the
 * careful path.
 */
static inline bool
fast_packet(const uint8_t *p, size_t avail, uint8_t *tag, size_t *rawlen)
{
	size_t hl, bl;

	/* Six octets hold any definite-length header. */
	if (avail < 6 || (p[0] & 0x80) == 0 ||
	    definite_header(p, avail, &hl, &bl) != 1)
		return false;
	*tag = header_tag(p[0]);
	if (*tag == 0 || bl > avail - hl)
		return false;
	*rawlen = hl + bl;
	return true;
}

enum walk_result {
	WALK_CERT,		/* a certificate of *len bytes */
	WALK_SKIP,		/* *len bytes to drop silently (markers) */
	WALK_STRAY,		/* *len bytes of packets outside a cert */
	WALK_SIGS,		/* *len bytes of signatures outside a cert */
	WALK_MORE,		/* need more input */
	WALK_BAD		/* damage at relative offset *bad */
};

/*
 * Finds the extent of the certificate at p.  eof says whether more bytes
 * may follow avail.  Stops at the next key packet (or, for a bare
 * revocation, at the first non-signature).
 */
static enum walk_result
walk_cert(const uint8_t *p, size_t avail, bool eof, uint64_t base,
    size_t *len, size_t *bad, int *badcode, struct pgps_err *err)
{
	struct span s;
	size_t pos = 0, hl, bl, rl;
	uint8_t tag, first = 0;
	int r;

	for (;;) {
		if (pos == avail) {
			if (!eof)
				return WALK_MORE;
			break;
		}
		s = span_make(p + pos, avail - pos);
		if (pos > 0 && (p[pos] & 0x80) != 0) {
			/* The next header's tag decides without its body. */
			tag = header_tag(p[pos]);
			if (first == PGP_TAG_PUBLIC_KEY ||
			    first == PGP_TAG_SECRET_KEY) {
				if (tag == PGP_TAG_PUBLIC_KEY ||
				    tag == PGP_TAG_SECRET_KEY)
					break;
			} else if (first == PGP_TAG_SIGNATURE) {
				if (tag != PGP_TAG_SIGNATURE)
					break;
			} else if (tag == PGP_TAG_PUBLIC_KEY ||
			    tag == PGP_TAG_SECRET_KEY)
				break;
		}
		if (fast_packet(p + pos, avail - pos, &tag, &rl))
			r = 0;
		else
			r = pgp_packet_peek(&s, base + pos, &tag, &hl, &bl,
			    &rl, NULL);
		if (r == PGPS_ETRUNC && !eof)
			return WALK_MORE;
		if (r != 0) {
			if (pos > 0 && r == PGPS_EFORMAT &&
			    first != 0 && (p[pos] & 0x80) == 0) {
				/* Garbage after a complete certificate. */
				break;
			}
			*badcode = pgp_packet_peek(&s, base + pos, &tag, &hl,
			    &bl, &rl, err);
			*bad = pos;
			return WALK_BAD;
		}
		if (pos == 0)
			first = tag;
		pos += rl;
		if (first == PGP_TAG_MARKER) {
			*len = pos;
			return WALK_SKIP;
		}
	}
	*len = pos;
	if (first == PGP_TAG_PUBLIC_KEY || first == PGP_TAG_SECRET_KEY)
		return WALK_CERT;
	return first == PGP_TAG_SIGNATURE ? WALK_SIGS : WALK_STRAY;
}

/*
 * Counts the signatures of a run p[0..len) that walk_cert() found, and
 * tells whether every one is a key revocation (type 0x20): a bare
 * revocation.
 */
static bool
sigs_are_key_revocations(const uint8_t *p, size_t len, size_t *nsigs)
{
	struct span s = span_make(p, len);
	const uint8_t *b;
	size_t hl, bl, rl;
	uint8_t tag, type;
	bool all = true;

	*nsigs = 0;
	while (s.len > 0) {
		if (pgp_packet_peek(&s, 0, &tag, &hl, &bl, &rl, NULL) != 0)
			return false;
		(*nsigs)++;
		/* v3: version, 5, type; later: version, type (RFC 9580 5.2) */
		if (rl != hl + bl || bl < 3)
			all = false;
		else {
			type = s.p[hl] == 3 ? s.p[hl + 2] : s.p[hl + 1];
			if (type != PGP_SIG_KEY_REVOCATION)
				all = false;
		}
		if (span_bytes(&s, rl, &b) != 0)
			return false;
	}
	return all;
}

static int
reader_new(struct pgp_reader **out, const char *name)
{
	struct pgp_reader *r;

	if ((r = calloc(1, sizeof(*r))) == NULL ||
	    (r->name = strdup(name)) == NULL) {
		free(r);
		return PGPS_ENOMEM;
	}
	r->fd = -1;
	buf_init(&r->decoded, PGPS_MAX_BUF);
	buf_init(&r->tbuf, PGPS_MAX_BUF);
	*out = r;
	return 0;
}

/*
 * The input as messages name it: the file, and for armor the block, since
 * offsets there are in the decoded bytes.
 */
static const char *
reader_where(struct pgp_reader *r)
{
	if (r->armored)
		snprintf(r->where, sizeof(r->where), "'%s' (armor block at "
		    "line %zu, decoded)", r->name, r->ast.block_line);
	else
		snprintf(r->where, sizeof(r->where), "'%s'", r->name);
	return r->where;
}

/* Makes r read the armor in text[0..len) (memory that outlives r). */
static void
reader_set_text(struct pgp_reader *r, const uint8_t *text, size_t len)
{
	r->armored = true;
	r->stable = true;
	r->text = text;
	r->textlen = len;
	r->size = len;
	r->mem = (const uint8_t *)"";
	r->memlen = 0;
}

/*
 * Reads more streamed armor text, as much again as the buffer holds, so
 * that decoding a long block from its start again each time costs linear
 * time in all.  0, or PGPS_EIO.
 */
static int
reader_fill_text(struct pgp_reader *r, struct pgps_err *err)
{
	size_t want = r->tbuf.len < 65536 ? 65536 : r->tbuf.len;
	ssize_t n;

	if (buf_grow(&r->tbuf, want) != 0) {
		/* A block longer than the buffer: it ends here. */
		r->force_eof = true;
		return 0;
	}
	while (want > 0) {
		n = read(r->fd, r->tbuf.p + r->tbuf.len, want);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return pgps_err_set(err, PGPS_EIO, "'%s': read error "
			    "at offset %llu: %s", r->name, (unsigned long long)
			    (r->ast.offset + r->tbuf.len), strerror(errno));
		if (n == 0) {
			r->eof = true;
			break;
		}
		r->tbuf.len += (size_t)n;
		want -= (size_t)n;
	}
	r->tbuf.p[r->tbuf.len] = '\0';
	return 0;
}

/*
 * Decodes the next armor block, which r then splits: 1 when there is one,
 * 2 when there is one but its checksum did not match (err says so), 0 at
 * the end, a negative code for a damaged block (reported in err; call
 * again) or PGPS_EIO.
 */
static int
reader_next_block(struct pgp_reader *r, struct pgps_err *err)
{
	struct buf *out, *nb;
	size_t used;
	bool eof;
	int rc;

	r->base += r->memlen;
	r->mem = (const uint8_t *)"";
	r->memlen = 0;
	r->cur = 0;
	r->resync = false;
	if (r->stable) {
		if ((nb = realloc(r->blocks, (r->nblocks + 1) *
		    sizeof(*nb))) == NULL)
			return pgps_err_set(err, PGPS_ENOMEM, "'%s': out of "
			    "memory", r->name);
		r->blocks = nb;
		out = &r->blocks[r->nblocks];
		buf_init(out, PGPS_MAX_BUF);
	} else {
		out = &r->decoded;
		buf_reset(out);
	}
	for (;;) {
		if (r->fd < 0) {
			rc = pgp_armor_next(&r->ast, out, r->text +
			    r->ast.offset, r->textlen - r->ast.offset, true,
			    PGP_ARMOR_IGNORE_CRC, &used, err);
			break;
		}
		eof = r->eof || r->force_eof;
		rc = pgp_armor_next(&r->ast, out, r->tbuf.p, r->tbuf.len, eof,
		    PGP_ARMOR_IGNORE_CRC, &used, err);
		memmove(r->tbuf.p, r->tbuf.p + used, r->tbuf.len - used);
		buf_setlen(&r->tbuf, r->tbuf.len - used);
		r->force_eof = false;
		if (rc != 0 || eof)
			break;
		if ((rc = reader_fill_text(r, err)) != 0)
			break;
	}
	if (rc == 1 && r->stable)
		r->nblocks++;
	else if (r->stable)
		buf_release(out);
	if (rc == PGPS_EIO)
		return rc;
	if (rc < 0) {
		r->nfound++;
		return pgps_err_prefix(err, rc, "'%s'", r->name);
	}
	if (rc == 0) {
		if (r->nfound++ == 0)
			return pgps_err_set(err, PGPS_EFORMAT, "'%s': no "
			    "armor block found (no \"-----BEGIN PGP ...-----\" "
			    "line in %zu lines)", r->name, r->ast.line);
		return 0;
	}
	r->nfound++;
	r->mem = out->p;
	r->memlen = out->len;
	if (r->ast.crc_mismatch) {
		pgps_err_set(err, PGPS_EFORMAT, "'%s': armor block at line "
		    "%zu (offset %llu): checksum =%s on line %zu does not "
		    "match the data (=%s); read anyway", r->name,
		    r->ast.block_line,
		    (unsigned long long)r->ast.block_offset, r->ast.crc_got,
		    r->ast.crc_line, r->ast.crc_want);
		return 2;
	}
	return 1;
}

int
pgp_reader_open_mem(struct pgp_reader **out, const uint8_t *p, size_t len,
    const char *name, struct pgps_err *err)
{
	struct pgp_reader *r = NULL;
	int rc;

	if ((rc = reader_new(&r, name)) != 0)
		return pgps_err_set(err, rc, "out of memory");
	if (pgp_armor_find(p, len))
		reader_set_text(r, p, len);
	else {
		r->mem = p;
		r->memlen = len;
		r->size = len;
		r->stable = true;
	}
	*out = r;
	return 0;
}

/* Reads into the stream buffer; 0, or PGPS_EIO. */
static int
reader_fill(struct pgp_reader *r, size_t max_cert, struct pgps_err *err)
{
	size_t want;
	ssize_t n;

	if (r->cur > 0 && (r->cur == r->end || r->cur >= r->scap / 2)) {
		memmove(r->sbuf, r->sbuf + r->cur, r->end - r->cur);
		r->base += r->cur;
		r->end -= r->cur;
		r->cur = 0;
	}
	if (r->end == r->scap) {
		size_t ncap = r->scap == 0 ? READ_CHUNK : r->scap * 2;
		uint8_t *nb;

		if (ncap > max_cert + READ_CHUNK)
			ncap = max_cert + READ_CHUNK;
		if (ncap <= r->scap)
			return 0;	/* full: caller handles the limit */
		if ((nb = realloc(r->sbuf, ncap)) == NULL)
			return pgps_err_set(err, PGPS_ENOMEM, "'%s': out of "
			    "memory", r->name);
		r->sbuf = nb;
		r->scap = ncap;
	}
	want = r->scap - r->end;
	do
		n = read(r->fd, r->sbuf + r->end, want);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return pgps_err_set(err, PGPS_EIO, "'%s': read error at "
		    "offset %llu: %s", r->name,
		    (unsigned long long)(r->base + r->end), strerror(errno));
	if (n == 0)
		r->eof = true;
	r->end += (size_t)n;
	return 0;
}

int
pgp_reader_open_path(struct pgp_reader **out, const char *path,
    struct pgps_err *err)
{
	struct pgp_reader *r = NULL;
	struct stat st;
	bool std = strcmp(path, "-") == 0;
	int fd = -1, rc;

	if ((rc = reader_new(&r, std ? "(standard input)" : path)) != 0)
		return pgps_err_set(err, rc, "out of memory");
	if (std)
		fd = STDIN_FILENO;
	else if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		rc = pgps_err_set(err, errno == ENOENT ? PGPS_ENOTFOUND :
		    PGPS_EIO, "'%s': %s", path, strerror(errno));
		goto fail;
	}
	if (fstat(fd, &st) != 0) {
		rc = pgps_err_set(err, PGPS_EIO, "'%s': %s", r->name,
		    strerror(errno));
		goto fail;
	}
	if (S_ISDIR(st.st_mode)) {
		rc = pgps_err_set(err, PGPS_EIO, "'%s': is a directory",
		    r->name);
		goto fail;
	}
	if (S_ISREG(st.st_mode) && st.st_size > 0) {
		r->maplen = (size_t)st.st_size;
		r->map = mmap(NULL, r->maplen, PROT_READ, MAP_PRIVATE, fd, 0);
		if (r->map == MAP_FAILED) {
			r->map = NULL;
			rc = pgps_err_set(err, PGPS_EIO, "'%s': cannot map: %s",
			    r->name, strerror(errno));
			goto fail;
		}
		posix_madvise(r->map, r->maplen, POSIX_MADV_SEQUENTIAL);
		if (!std)
			close(fd);
		fd = -1;
		if (pgp_armor_find(r->map, r->maplen))
			reader_set_text(r, r->map, r->maplen);
		else {
			r->mem = r->map;
			r->memlen = r->maplen;
			r->size = r->maplen;
		}
		*out = r;
		return 0;
	}
	if (S_ISREG(st.st_mode)) {
		/* Empty regular file. */
		if (!std)
			close(fd);
		r->mem = (const uint8_t *)"";
		r->stable = true;
		*out = r;
		return 0;
	}
	/* A pipe or device: stream it. */
	r->stream = true;
	r->fd = fd;
	fd = -1;
	while (!r->eof && r->end < 64)
		if ((rc = reader_fill(r, PGPS_MAX_CERT, err)) != 0)
			goto fail;
	/*
	 * Text rather than a packet header: look for armor in the first
	 * chunk.  Without it the input is taken as damaged binary.
	 */
	if (r->end > 0 && (r->sbuf[0] & 0x80) == 0) {
		while (!r->eof && r->end < READ_CHUNK &&
		    !pgp_armor_find(r->sbuf, r->end))
			if ((rc = reader_fill(r, PGPS_MAX_CERT, err)) != 0)
				goto fail;
	}
	if (pgp_armor_find(r->sbuf, r->end)) {
		/* The text read so far becomes the text buffer. */
		if ((rc = buf_add(&r->tbuf, r->sbuf, r->end)) != 0) {
			pgps_err_set(err, rc, "'%s': out of memory", r->name);
			goto fail;
		}
		r->armored = true;
		r->stream = false;
		r->mem = (const uint8_t *)"";
		free(r->sbuf);
		r->sbuf = NULL;
		r->scap = r->cur = r->end = 0;
	}
	*out = r;
	return 0;
 fail:
	if (fd >= 0 && fd != STDIN_FILENO)
		close(fd);
	pgp_reader_free(r);
	return rc;
}

void
pgp_reader_free(struct pgp_reader *r)
{
	if (r == NULL)
		return;
	if (r->map != NULL)
		munmap(r->map, r->maplen);
	if (r->fd >= 0 && r->fd != STDIN_FILENO)
		close(r->fd);
	buf_release(&r->decoded);
	buf_release(&r->tbuf);
	for (size_t i = 0; i < r->nblocks; i++)
		buf_release(&r->blocks[i]);
	free(r->blocks);
	free(r->sbuf);
	free(r->name);
	free(r);
}

void
pgp_reader_keep_bare(struct pgp_reader *r)
{
	r->keep_bare = true;
}

const char *
pgp_reader_name(const struct pgp_reader *r)
{
	return r->name;
}

bool
pgp_reader_is_stable(const struct pgp_reader *r)
{
	return r->stable;
}

/*
 * Gives mapped pages that are far behind the read position back, so the
 * resident size of a pass over a huge dump stays small.  Certificates are
 * borrowed only until the next call, so nothing points there any more.
 */
static void
reader_drop_behind(struct pgp_reader *r)
{
	const size_t step = (size_t)16 << 20;
	size_t upto;

	if (r->map == NULL || r->armored || r->cur < r->dropped + 2 * step)
		return;
	upto = (r->cur - step) & ~(size_t)(sysconf(_SC_PAGESIZE) - 1);
	madvise((uint8_t *)r->map + r->dropped, upto - r->dropped,
	    MADV_DONTNEED);
	r->dropped = upto;
}

uint64_t
pgp_reader_pos(const struct pgp_reader *r)
{
	return r->armored ? r->ast.offset : r->base + r->cur;
}

uint64_t
pgp_reader_size(const struct pgp_reader *r)
{
	return r->size;
}

int
pgp_reader_next(struct pgp_reader *r, struct pgp_raw_cert *out,
    size_t max_cert, struct pgps_err *err)
{
	const uint8_t *p;
	size_t avail, len = 0, bad = 0, nsigs;
	int badcode = PGPS_EFORMAT;
	bool eof;
	uint64_t off;
	int rc;

	if (max_cert == 0)
		max_cert = PGPS_MAX_CERT;
	reader_drop_behind(r);
	for (;;) {
		if (r->armored && r->cur == r->memlen) {
			if ((rc = reader_next_block(r, err)) == 1)
				continue;
			return rc == 2 ? PGPS_EFORMAT : rc;
		}
		if (r->stream) {
			p = r->sbuf + r->cur;
			avail = r->end - r->cur;
			eof = r->eof;
		} else {
			p = r->mem + r->cur;
			avail = r->memlen - r->cur;
			eof = true;
		}
		off = r->base + r->cur;
		if (avail == 0) {
			if (eof)
				return 0;
			if ((rc = reader_fill(r, max_cert, err)) != 0)
				return rc;
			continue;
		}
		if (r->resync) {
			size_t q;
			int k = 0;

			for (q = 0; q < avail; q++)
				if ((k = plausible_key(p + q, avail - q,
				    eof)) != 0)
					break;
			if (k == 1)
				r->resync = false;
			if (k == -1) {
				r->cur += q;
				if ((rc = reader_fill(r, max_cert, err)) != 0)
					return rc;
				continue;
			}
			r->cur += q;
			continue;
		}
		switch (walk_cert(p, avail, eof, off, &len, &bad, &badcode,
		    err)) {
		case WALK_CERT:
			r->cur += len;
			if (len > max_cert)
				return pgps_err_set(err, PGPS_ELIMIT,
				    "%s: certificate at offset %llu is %zu "
				    "bytes, over the limit of %zu; skipped",
				    reader_where(r), (unsigned long long)off, len,
				    max_cert);
			out->p = p;
			out->len = len;
			out->offset = off;
			return 1;
		case WALK_SKIP:
			r->cur += len;
			continue;
		case WALK_SIGS:
			r->cur += len;
			if (sigs_are_key_revocations(p, len, &nsigs)) {
				if (r->keep_bare) {
					out->p = p;
					out->len = len;
					out->offset = off;
					return 1;
				}
				return pgps_err_set(err, PGPS_EFORMAT, "%s: "
				    "offset %llu: %s without its key, outside "
				    "any certificate; skipped",
				    reader_where(r), (unsigned long long)off,
				    nsigs == 1 ? "a key revocation" :
				    "key revocations");
			}
			return pgps_err_set(err, PGPS_EFORMAT, "%s: offset "
			    "%llu: %zu signature%s outside any certificate; "
			    "skipped", reader_where(r),
			    (unsigned long long)off, nsigs,
			    nsigs == 1 ? "" : "s");
		case WALK_STRAY:
			r->cur += len;
			return pgps_err_set(err, PGPS_EFORMAT, "%s: offset "
			    "%llu: %zu bytes of packets outside any "
			    "certificate; skipped", reader_where(r),
			    (unsigned long long)off, len);
		case WALK_MORE:
			if (avail >= max_cert) {
				r->cur += 1;
				r->resync = true;
				return pgps_err_set(err, PGPS_ELIMIT,
				    "%s: certificate at offset %llu is "
				    "larger than the limit of %zu bytes; "
				    "skipped", reader_where(r),
				    (unsigned long long)off, max_cert);
			}
			if ((rc = reader_fill(r, max_cert, err)) != 0)
				return rc;
			continue;
		case WALK_BAD:
			r->cur += bad + 1;
			r->resync = true;
			if (bad > 0)
				return pgps_err_prefix(err, badcode, "%s: "
				    "certificate at offset %llu skipped",
				    reader_where(r), (unsigned long long)off);
			return pgps_err_prefix(err, badcode, "%s",
			    reader_where(r));
		}
	}
}
