/*
 * index.c: the machine-readable key index of HKP (op=index&options=mr,
 * draft-shaw-openpgp-hkp-00 section 5.2; the same text is GnuPG's
 * doc/KEYSERVER).
 *
 *   info:<version>:<count>
 *   pub:<keyid or fingerprint>:<algo>:<bits>:<created>:<expires>:<flags>
 *   uid:<escaped uid>:<created>:<expires>:<flags>
 *
 * Real servers bend the format, and the parser takes all of it: SKS writes
 * '%' as "%%" (mRindex.ml escape_uid_string) and '-' for an unknown v3
 * expiry, Hockeypuck sends UTF-8 unescaped and ':' as a lower-case "%3a"
 * (hkp/writers.go), Hagrid ends lines with CRLF and escapes whole UIDs
 * (web/hkp.rs).  What the server says is not authenticated: the flags and
 * dates are hints for display, never reasons to trust or drop a key.
 * Nothing here allocates more than the input's size in total.
 */
#include "util/common.h"

#include <strings.h>

#include "net/net.h"
#include "util/err.h"
#include "util/hex.h"
#include "util/mem.h"

#define INDEX_MAX_FIELDS	8

struct field {
	const char	*p;
	size_t		 len;
};

static bool
field_is(const struct field *f, const char *s)
{
	return f->len == strlen(s) && strncasecmp(f->p, s, f->len) == 0;
}

/* Decimal number; empty, '-' or anything odd reads as 0 ("unknown"). */
static int64_t
field_num(const struct field *f)
{
	int64_t v = 0;

	if (f->len == 0 || f->len > 18)
		return 0;
	for (size_t i = 0; i < f->len; i++) {
		if (f->p[i] < '0' || f->p[i] > '9')
			return 0;
		v = v * 10 + (f->p[i] - '0');
	}
	return v;
}

static unsigned int
field_flags(const struct field *f)
{
	unsigned int fl = 0;

	for (size_t i = 0; i < f->len; i++) {
		switch (f->p[i]) {
		case 'r': case 'R':
			fl |= NET_INDEX_REVOKED;
			break;
		case 'd': case 'D':
			fl |= NET_INDEX_DISABLED;
			break;
		case 'e': case 'E':
			fl |= NET_INDEX_EXPIRED;
			break;
		default:
			break;
		}
	}
	return fl;
}

/*
 * Decodes a UID: %XX with two hex digits becomes that octet, SKS's "%%"
 * becomes '%', any other '%' stays as it is.  The result is never longer
 * than the input.
 */
static int
uid_decode(struct net_index_uid *u, const struct field *f)
{
	char *t;
	size_t o = 0;
	uint8_t v;

	if ((t = malloc(f->len + 1)) == NULL)
		return PGPS_ENOMEM;
	for (size_t i = 0; i < f->len; i++) {
		if (f->p[i] == '%' && i + 1 < f->len && f->p[i + 1] == '%') {
			t[o++] = '%';
			i++;
		} else if (f->p[i] == '%' && i + 2 < f->len &&
		    hex_decode(&v, 1, f->p + i + 1, 2) == 0) {
			t[o++] = (char)v;
			i += 2;
		} else
			t[o++] = f->p[i];
	}
	t[o] = '\0';
	u->text = t;
	u->len = o;
	return 0;
}

static size_t
split_fields(struct field *fs, const char *p, size_t len)
{
	size_t n = 0, start = 0;

	for (size_t i = 0; i <= len; i++) {
		if (i < len && p[i] != ':')
			continue;
		if (n == INDEX_MAX_FIELDS)
			break;
		fs[n].p = p + start;
		fs[n].len = i - start;
		n++;
		start = i + 1;
	}
	/* Left-off trailing fields read as empty. */
	for (size_t i = n; i < INDEX_MAX_FIELDS; i++) {
		fs[i].p = p + len;
		fs[i].len = 0;
	}
	return n;
}

static int
add_key(struct net_index *ix, size_t *alloc)
{
	struct net_index_key *nk;
	size_t na;

	if (ix->nkeys == *alloc) {
		na = *alloc < 8 ? 8 : *alloc * 2;
		nk = mem_reallocarray(ix->keys, na, sizeof(*nk));
		if (nk == NULL)
			return PGPS_ENOMEM;
		ix->keys = nk;
		*alloc = na;
	}
	memset(&ix->keys[ix->nkeys], 0, sizeof(ix->keys[0]));
	ix->nkeys++;
	return 0;
}

static int
add_uid(struct net_index_key *k, size_t *alloc)
{
	struct net_index_uid *nu;
	size_t na;

	if (k->nuids == *alloc) {
		na = *alloc < 4 ? 4 : *alloc * 2;
		nu = mem_reallocarray(k->uids, na, sizeof(*nu));
		if (nu == NULL)
			return PGPS_ENOMEM;
		k->uids = nu;
		*alloc = na;
	}
	memset(&k->uids[k->nuids], 0, sizeof(k->uids[0]));
	k->nuids++;
	return 0;
}

/* Sets k->id from a pub ID field; false when it is no key ID form. */
static bool
set_key_id(struct net_index_key *k, const struct field *f)
{
	const char *p = f->p;
	size_t n = f->len;
	uint8_t id[32];

	if (n > 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		p += 2;
		n -= 2;
	}
	if (n != 8 && n != 16 && n != 32 && n != 40 && n != 64)
		return false;
	/* Decoding checks the digits; encoding again upper-cases them. */
	if (hex_decode(id, n / 2, p, n) != 0)
		return false;
	hex_encode_upper(k->id, id, n / 2);
	return true;
}

int
net_index_parse(struct net_index *out, const uint8_t *p, size_t len,
    struct pgps_err *err)
{
	struct net_index ix = NET_INDEX_INIT;
	struct field fs[INDEX_MAX_FIELDS];
	struct net_index_key *cur = NULL;
	const char *s = (const char *)p, *nl;
	size_t keys_alloc = 0, uids_alloc = 0, lineno = 0, pos = 0, ll;
	int r = PGPS_EINTERNAL;

	while (pos < len) {
		nl = memchr(s + pos, '\n', len - pos);
		ll = nl != NULL ? (size_t)(nl - (s + pos)) : len - pos;
		lineno++;
		{
			const char *line = s + pos;
			size_t n = ll;

			pos += ll + (nl != NULL ? 1 : 0);
			/* Hagrid's CRLF, SKS's final "\r\n", stray blanks. */
			while (n > 0 && (line[n - 1] == '\r' ||
			    line[n - 1] == ' ' || line[n - 1] == '\t'))
				n--;
			if (n == 0)
				continue;
			split_fields(fs, line, n);
		}
		if (field_is(&fs[0], "info")) {
			int64_t v = field_num(&fs[1]);

			if (fs[1].len != 0 && v != 1) {
				r = pgps_err_set(err, PGPS_EUNSUPPORTED,
				    "index line %zu: version %.*s (want 1)",
				    lineno, (int)(fs[1].len > 20 ? 20 :
				    fs[1].len), fs[1].p);
				goto cleanup;
			}
			ix.count = fs[2].len != 0 ? (long)field_num(&fs[2]) :
			    -1;
		} else if (field_is(&fs[0], "pub")) {
			if ((r = add_key(&ix, &keys_alloc)) != 0) {
				pgps_err_set(err, r, "index line %zu: %s",
				    lineno, pgps_strerror(r));
				goto cleanup;
			}
			cur = &ix.keys[ix.nkeys - 1];
			uids_alloc = 0;
			if (!set_key_id(cur, &fs[1])) {
				ix.nkeys--;
				ix.skipped++;
				cur = NULL;
				continue;
			}
			cur->algo = (unsigned int)field_num(&fs[2]);
			cur->bits = (unsigned int)field_num(&fs[3]);
			cur->created = field_num(&fs[4]);
			cur->expires = field_num(&fs[5]);
			cur->flags = field_flags(&fs[6]);
		} else if (field_is(&fs[0], "uid")) {
			struct net_index_uid *u;

			if (cur == NULL)
				continue;	/* no key, or a skipped one */
			if ((r = add_uid(cur, &uids_alloc)) != 0) {
				pgps_err_set(err, r, "index line %zu: %s",
				    lineno, pgps_strerror(r));
				goto cleanup;
			}
			u = &cur->uids[cur->nuids - 1];
			if ((r = uid_decode(u, &fs[1])) != 0) {
				cur->nuids--;
				pgps_err_set(err, r, "index line %zu: %s",
				    lineno, pgps_strerror(r));
				goto cleanup;
			}
			u->created = field_num(&fs[2]);
			u->expires = field_num(&fs[3]);
			u->flags = field_flags(&fs[4]);
		}
		/* uat and anything unknown: ignored, as the draft asks. */
	}
	net_index_release(out);
	*out = ix;
	ix.keys = NULL;
	ix.nkeys = 0;
	r = 0;
 cleanup:
	net_index_release(&ix);
	return r;
}

void
net_index_release(struct net_index *ix)
{
	for (size_t i = 0; i < ix->nkeys; i++) {
		for (size_t j = 0; j < ix->keys[i].nuids; j++)
			free(ix->keys[i].uids[j].text);
		free(ix->keys[i].uids);
	}
	free(ix->keys);
	ix->keys = NULL;
	ix->nkeys = 0;
	ix->version = 1;
	ix->count = -1;
	ix->skipped = 0;
}
