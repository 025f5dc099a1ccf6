/*
 * fuzz-armor-blocks.c: several armor blocks, some damaged, among text.
 *
 * The input describes the blocks rather than being armor itself, so that
 * the fuzzer spends its time on damage the decoder must survive instead
 * of on finding the BEGIN line.  Octet 0 picks how the text is handed to
 * pgp_armor_next(): 1 to 63 octets first and twice what is left whenever
 * more is needed, as the reader does, or all at once.  The rest is cut at
 * 0xff octets into up to 8 parts, each an operation octet, a
 * position octet and the bytes to armor.  The operation leaves the block
 * whole or damages it: a character that is not base64, no END line, a
 * BEGIN line inside it, a checksum that does not match or is missing,
 * CRLF line ends, an armor header, text glued before the BEGIN line.
 *
 * What must hold: every undamaged block comes out as its bytes, in order
 * (with other blocks, made from damaged ones, possibly between them);
 * decoding in pieces gives what decoding whole gives; positions only
 * move forward and stay inside the input; a damaged block leaves the
 * output as it was.  The reader then splits the same text.
 */
#include "util/common.h"

#include "openpgp/openpgp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_PARTS	8
#define MAX_BLOCKS	64

enum damage {
	D_NONE, D_BADCHAR, D_NOEND, D_BEGIN_INSIDE, D_BADCRC, D_NOCRC,
	D_CRLF, D_HEADER, D_GLUED, D_NDAMAGE
};

struct part {
	enum damage	 op;
	uint8_t		 at;
	const uint8_t	*p;
	size_t		 len;
};

struct result {
	size_t	 nblocks;
	size_t	 nerrs;
	size_t	 start[MAX_BLOCKS + 1];	/* block i is out[start[i]..) */
	struct buf out;
};

static void
fail(const char *what, const char *detail)
{
	fprintf(stderr, "fuzz-armor-blocks: %s (%s)\n", what,
	    detail != NULL ? detail : "");
	abort();
}

/* Appends one armored part to text, damaged as its operation says. */
static void
add_part(struct buf *text, const struct part *pt)
{
	struct buf a = BUF_INIT;
	char *s, *nl, *end;
	size_t body, n;

	if (pgp_armor_encode(&a, pt->p, pt->len, PGP_ARMOR_PUBLIC_KEY,
	    pt->op == D_NOCRC ? PGP_ARMOR_NO_CRC : 0) != 0)
		fail("encode failed", NULL);
	s = (char *)a.p;
	/* The base64 starts after the BEGIN line and the blank line. */
	body = (size_t)(strchr(s, '\n') - s) + 2;
	end = strstr(s, "-----END PGP ");
	switch (pt->op) {
	case D_NONE:
	case D_NOCRC:
		buf_add(text, a.p, a.len);
		break;
	case D_BADCHAR:
		/* Any character of the base64 or checksum lines. */
		n = (size_t)(end - s) - body;
		if (n > 0) {
			n = body + pt->at % n;
			if (s[n] != '\n')
				s[n] = "!*.-_~"[pt->at % 6];
		}
		buf_add(text, a.p, a.len);
		break;
	case D_NOEND:
		buf_add(text, a.p, (size_t)(end - s));
		break;
	case D_BEGIN_INSIDE:
		n = (size_t)(end - s) - body;
		n = body + (n > 0 ? pt->at % n : 0);
		while (n > body && s[n - 1] != '\n')
			n--;
		buf_add(text, a.p, n);
		buf_addstr(text, "-----BEGIN PGP PUBLIC KEY BLOCK-----\n");
		buf_add(text, a.p + n, a.len - n);
		break;
	case D_BADCRC:
		if ((nl = strstr(s, "\n=")) != NULL)
			nl[2 + pt->at % 4] = nl[2 + pt->at % 4] == 'A' ?
			    'B' : 'A';
		buf_add(text, a.p, a.len);
		break;
	case D_CRLF:
		for (size_t i = 0; i < a.len; i++) {
			if (a.p[i] == '\n')
				buf_addch(text, '\r');
			buf_addch(text, a.p[i]);
		}
		break;
	case D_HEADER:
		buf_add(text, a.p, body - 1);
		buf_addf(text, "Comment: part %u\n", pt->at);
		buf_add(text, a.p + body - 1, a.len - body + 1);
		break;
	case D_GLUED:
		buf_addstr(text, "<pre>");
		buf_add(text, a.p, a.len - 1);
		buf_addstr(text, "</pre>\n");
		break;
	case D_NDAMAGE:
		break;
	}
	buf_release(&a);
}

/* Whether a part of this kind must come out whole. */
static bool
survives(enum damage op)
{
	return op == D_NONE || op == D_NOCRC || op == D_BADCRC ||
	    op == D_CRLF || op == D_HEADER || op == D_GLUED;
}

/* Decodes text handed over from step octets on (0: whole) into *res. */
static void
decode_all(const struct buf *text, size_t step, struct result *res)
{
	struct pgp_armor_state st = PGP_ARMOR_STATE_INIT;
	struct pgps_err err = PGPS_ERR_INIT;
	size_t pos = 0, have, want = step, used, before;
	uint64_t last = 0;
	bool eof;
	int r;

	res->nblocks = res->nerrs = 0;
	buf_reset(&res->out);
	for (;;) {
		/* As the reader does: twice as much when more is needed. */
		if (step == 0 || text->len - pos <= want)
			have = text->len;
		else
			have = pos + want;
		eof = have == text->len;
		before = res->out.len;
		pgps_err_clear(&err);
		r = pgp_armor_next(&st, &res->out, text->p + pos, have - pos,
		    eof, PGP_ARMOR_IGNORE_CRC, &used, &err);
		if (used > have - pos || st.offset != pos + used ||
		    st.offset < last)
			fail("position out of step", NULL);
		last = st.offset;
		pos += used;
		want = step;
		if (r < 0) {
			if (res->out.len != before)
				fail("a damaged block changed the output",
				    err.msg);
			if (err.msg[0] == '\0' || used == 0)
				fail("damage without message or progress",
				    err.msg);
			res->nerrs++;
			continue;
		}
		if (r == 1) {
			if (res->nblocks < MAX_BLOCKS)
				res->start[res->nblocks++] = before;
			continue;
		}
		if (r != 0 || res->out.len != before)
			fail("no block, but output", NULL);
		if (eof)
			break;
		want = 2 * (have - pos) + step;
	}
	res->start[res->nblocks] = res->out.len;
}

static void
split_reader(const struct buf *text)
{
	struct pgp_reader *r;
	struct pgp_raw_cert c;
	struct pgps_err err = PGPS_ERR_INIT;
	int rc;

	if (pgp_reader_open_mem(&r, text->p, text->len, "fuzz", &err) != 0)
		return;
	while ((rc = pgp_reader_next(r, &c, 0, &err)) != 0) {
		if (rc < 0 && err.msg[0] == '\0')
			fail("reader error without message", NULL);
		pgps_err_clear(&err);
	}
	pgp_reader_free(r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct part parts[MAX_PARTS];
	struct result whole = { 0 }, piece = { 0 };
	struct buf text = BUF_INIT;
	size_t nparts = 0, pos = 1, step, k;

	if (size < 1)
		return 0;
	step = data[0] & 0x3f;
	while (pos < size && nparts < MAX_PARTS) {
		const uint8_t *sep = memchr(data + pos, 0xff, size - pos);
		size_t end = sep != NULL ? (size_t)(sep - data) : size;
		struct part *pt = &parts[nparts++];

		pt->op = end > pos ? (enum damage)(data[pos] % D_NDAMAGE) :
		    D_NONE;
		pt->at = end > pos + 1 ? data[pos + 1] : 0;
		pt->p = end > pos + 2 ? data + pos + 2 : data;
		pt->len = end > pos + 2 ? end - pos - 2 : 0;
		pos = end + 1;
	}
	for (size_t i = 0; i < nparts; i++) {
		if (data[0] & 0x40)
			buf_addf(&text, "text before block %zu\n", i);
		add_part(&text, &parts[i]);
	}
	buf_init(&whole.out, 0);
	buf_init(&piece.out, 0);
	decode_all(&text, 0, &whole);

	/* The blocks that were not damaged, in order. */
	k = 0;
	for (size_t i = 0; i < nparts; i++) {
		if (!survives(parts[i].op))
			continue;
		for (; k < whole.nblocks; k++)
			if (whole.start[k + 1] - whole.start[k] ==
			    parts[i].len && memcmp(whole.out.p +
			    whole.start[k], parts[i].p, parts[i].len) == 0)
				break;
		if (k == whole.nblocks)
			fail("an undamaged block was lost", NULL);
		k++;
	}
	if (step != 0) {
		decode_all(&text, step, &piece);
		if (piece.nblocks != whole.nblocks ||
		    piece.nerrs != whole.nerrs ||
		    piece.out.len != whole.out.len ||
		    memcmp(piece.out.p, whole.out.p, whole.out.len) != 0)
			fail("decoding in pieces differs", NULL);
	}
	split_reader(&text);
	buf_release(&text);
	buf_release(&whole.out);
	buf_release(&piece.out);
	return 0;
}
