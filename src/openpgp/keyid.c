/*
 * keyid.c: fingerprints and key IDs as a user names them (keyid.h).
 */
#include "util/common.h"

#include <errno.h>

#include "openpgp/keyid.h"
#include "util/hex.h"
#include "util/mem.h"

/* Hex digits of each kind, in the order of enum pgp_keyid_kinds. */
static const struct {
	unsigned int	 kind;
	size_t		 digits;
} kind_digits[] = {
	{ PGP_KEYID_LONG, 16 },
	{ PGP_KEYID_V3, 32 },
	{ PGP_KEYID_V4, 40 },
	{ PGP_KEYID_V6, 64 }
};

static bool
is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

int
pgp_keyid_parse(struct pgp_keyid *out, const char *s, size_t len,
    unsigned int kinds)
{
	char hex[2 * PGP_FPR_MAX];
	uint8_t b[PGP_FPR_MAX];
	size_t i = 0, n = 0;
	bool ok = false;

	while (i < len && is_blank(s[i]))
		i++;
	if (len - i >= 2 && s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'X'))
		i += 2;
	for (; i < len; i++) {
		if (is_blank(s[i]))
			continue;
		if (n == sizeof(hex))
			return PGPS_EFORMAT;
		hex[n++] = s[i];
	}
	for (size_t k = 0; k < PGPS_ARRAY_SIZE(kind_digits); k++)
		if ((kinds & kind_digits[k].kind) != 0 &&
		    kind_digits[k].digits == n)
			ok = true;
	/* hex_decode() refuses anything that is not a hex digit. */
	if (!ok || hex_decode(b, n / 2, hex, n) != 0)
		return PGPS_EFORMAT;
	out->len = (uint8_t)(n / 2);
	memcpy(out->b, b, n / 2);
	return 0;
}

bool
pgp_keyid_is_fpr(const struct pgp_keyid *k)
{
	return k->len != 8;
}

void
pgp_keyid_hex(char *out, const struct pgp_keyid *k)
{
	hex_encode_upper(out, k->b, k->len);
}

const char *
pgp_keyid_describe(char tmp[PGP_KEYID_DESCRIBE_MAX], unsigned int kinds)
{
	size_t nfpr = 0, k, used = 0;
	int w;

	tmp[0] = '\0';
	for (k = 1; k < PGPS_ARRAY_SIZE(kind_digits); k++)
		if ((kinds & kind_digits[k].kind) != 0)
			nfpr++;
	if (nfpr > 0) {
		w = snprintf(tmp, PGP_KEYID_DESCRIBE_MAX, "a fingerprint (");
		used = (size_t)w;
		for (k = 1; k < PGPS_ARRAY_SIZE(kind_digits); k++) {
			if ((kinds & kind_digits[k].kind) == 0)
				continue;
			nfpr--;
			w = snprintf(tmp + used, PGP_KEYID_DESCRIBE_MAX - used,
			    "%zu%s", kind_digits[k].digits, nfpr > 1 ? ", " :
			    nfpr == 1 ? " or " : " hex digits)");
			used += (size_t)w;
		}
		if ((kinds & PGP_KEYID_LONG) != 0)
			snprintf(tmp + used, PGP_KEYID_DESCRIBE_MAX - used,
			    " or a long key ID (16)");
	} else if ((kinds & PGP_KEYID_LONG) != 0)
		snprintf(tmp, PGP_KEYID_DESCRIBE_MAX,
		    "a long key ID (16 hex digits)");
	return tmp;
}

int
pgp_keyid_cmp(const void *a, const void *b)
{
	const struct pgp_keyid *x = a, *y = b;

	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return memcmp(x->b, y->b, x->len);
}

/* Appends the key of one line; line[0..n) holds no blank. */
static int
list_add(struct pgp_keyid_list *l, const char *line, size_t n,
    bool too_long, size_t lineno, const char *name, unsigned int kinds,
    struct pgps_err *err)
{
	char what[PGP_KEYID_DESCRIBE_MAX];
	struct pgp_keyid k;
	void *p;

	if (n == 0 && !too_long)
		return 0;
	if (too_long || pgp_keyid_parse(&k, line, n, kinds) != 0)
		return pgps_err_set(err, PGPS_EFORMAT, "'%s' line %zu: not %s",
		    name, lineno, pgp_keyid_describe(what, kinds));
	if (l->n == l->alloc) {
		size_t alloc = l->alloc == 0 ? 256 : l->alloc * 2;

		if ((p = mem_reallocarray(l->v, alloc, sizeof(*l->v))) ==
		    NULL)
			return pgps_err_set(err, PGPS_ENOMEM,
			    "'%s' line %zu: out of memory", name, lineno);
		l->v = p;
		l->alloc = alloc;
	}
	l->v[l->n++] = k;
	return 0;
}

int
pgp_keyid_list_read(struct pgp_keyid_list *l, FILE *fp, const char *name,
    unsigned int kinds, struct pgps_err *err)
{
	/* "0x", the longest key, and one more to see it is too long. */
	char line[2 + 2 * PGP_FPR_MAX + 1];
	size_t n = 0, lineno = 1;
	bool comment = false, too_long = false;
	int c, r;

	while ((c = getc(fp)) != EOF) {
		if (c == '\n') {
			if ((r = list_add(l, line, n, too_long, lineno, name,
			    kinds, err)) != 0)
				return r;
			n = 0;
			comment = too_long = false;
			lineno++;
			continue;
		}
		if (comment || is_blank((char)c))
			continue;
		if (c == '#') {
			comment = true;
			continue;
		}
		if (n == sizeof(line))
			too_long = true;
		else
			line[n++] = (char)c;
	}
	if (ferror(fp))
		return pgps_err_set(err, PGPS_EIO, "'%s' line %zu: %s", name,
		    lineno, strerror(errno));
	return list_add(l, line, n, too_long, lineno, name, kinds, err);
}

void
pgp_keyid_list_sort(struct pgp_keyid_list *l)
{
	size_t w = 0;

	if (l->n == 0)
		return;
	qsort(l->v, l->n, sizeof(*l->v), pgp_keyid_cmp);
	for (size_t i = 1; i < l->n; i++)
		if (pgp_keyid_cmp(&l->v[w], &l->v[i]) != 0)
			l->v[++w] = l->v[i];
	l->n = w + 1;
}

bool
pgp_keyid_list_has(const struct pgp_keyid_list *l, const uint8_t *p,
    size_t len)
{
	struct pgp_keyid k;

	if (len > sizeof(k.b) || l->n == 0)
		return false;
	k.len = (uint8_t)len;
	memcpy(k.b, p, len);
	return bsearch(&k, l->v, l->n, sizeof(*l->v), pgp_keyid_cmp) != NULL;
}

void
pgp_keyid_list_release(struct pgp_keyid_list *l)
{
	free(l->v);
	l->v = NULL;
	l->n = l->alloc = 0;
}
