/*
 * msg.c: the recon wire codec (SKS reconMessages.ml, cMarshal.ml; spec
 * 2.2-4) and the config check of SKS reconCS.ml.
 *
 * Decoding trusts nothing: every count and length is compared with the
 * octets actually present before anything is allocated, so a frame of n
 * octets never costs more than about n octets of memory, and the frame
 * length itself is capped by the caller through recon_frame_need().  The
 * codec checks form only; what a message means in the conversation is
 * peer.c's business.
 */
#include "util/common.h"

#include "recon/internal.h"
#include "recon/recon.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/mem.h"
#include "util/span.h"

static const char *const msg_names[] = {
	"ReconRqst_Poly", "ReconRqst_Full", "Elements", "FullElements",
	"SyncFail", "Done", "Flush", "Error", "DbRqst", "DbRepl", "Config"
};

const char *
recon_msg_type_name(unsigned int type)
{
	if (type < PGPS_ARRAY_SIZE(msg_names))
		return msg_names[type];
	return "unknown";
}

void
recon_msg_release(struct recon_msg *m)
{
	struct recon_msg init = RECON_MSG_INIT;

	free(m->elems);
	free(m->text);
	free(m->config);
	*m = init;
}

void
recon_config_default(struct recon_config *out, uint32_t http_port)
{
	memset(out, 0, sizeof(*out));
	out->have = RECON_CFG_VERSION | RECON_CFG_FILTERS |
	    RECON_CFG_HTTP_PORT | RECON_CFG_BITQUANTUM | RECON_CFG_MBAR;
	out->bitquantum = RECON_BITQUANTUM;
	out->mbar = RECON_MBAR;
	out->http_port = http_port;
	/* What SKS 1.1.6 sends; see spec 3.3 for why the version matters. */
	memcpy(out->version, "1.1.6", 6);
	memcpy(out->filters, "yminsky.dedup,yminsky.merge", 28);
}

/* Encoding. */

static int
put_string(struct buf *b, const void *p, size_t n)
{
	int r;

	if (n > UINT32_MAX)
		return PGPS_ELIMIT;
	if ((r = buf_add_be32(b, (uint32_t)n)) != 0)
		return r;
	return buf_add(b, p, n);
}

static int
put_prefix(struct buf *b, const struct recon_prefix *p)
{
	size_t nbytes;
	int r;

	if (p->nbits > RECON_MAX_PREFIX_BITS)
		return PGPS_ELIMIT;
	nbytes = (p->nbits + 7) / 8;
	if ((r = buf_add_be32(b, p->nbits)) != 0)
		return r;
	/* The empty prefix is 0, 0: an empty string (spec 10). */
	return put_string(b, p->b, nbytes);
}

static int
put_elems(struct buf *b, const struct recon_elem *e, size_t n)
{
	size_t total;
	int r;

	if (n > UINT32_MAX || !mem_mul(&total, n, ZP_NBYTES))
		return PGPS_ELIMIT;
	if ((r = buf_add_be32(b, (uint32_t)n)) != 0 ||
	    (r = buf_grow(b, total)) != 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		/* An element is its 16 octets and a zero: 17 LE octets. */
		memcpy(b->p + b->len, e[i].b, RECON_ELEM_LEN);
		b->p[b->len + RECON_ELEM_LEN] = 0;
		b->len += ZP_NBYTES;
	}
	b->p[b->len] = '\0';
	return 0;
}

static int
put_config_int(struct buf *b, const char *key, uint32_t v)
{
	uint8_t x[4];
	int r;

	store_be32(x, v);
	if ((r = put_string(b, key, strlen(key))) != 0)
		return r;
	return put_string(b, x, 4);
}

/* A text value, s[0..max) up to its NUL (a fixed field of the config). */
static int
put_config_str(struct buf *b, const char *key, const char *s, size_t max)
{
	int r;

	if ((r = put_string(b, key, strlen(key))) != 0)
		return r;
	return put_string(b, s, strnlen(s, max));
}

static int
put_config(struct buf *b, const struct recon_config *c)
{
	unsigned int n = 0;
	int r = 0;

	for (unsigned int bit = RECON_CFG_VERSION; bit <= RECON_CFG_MBAR;
	    bit <<= 1)
		n += (c->have & bit) != 0;
	if ((r = buf_add_be32(b, n)) != 0)
		return r;
	/* Sorted by key, as SKS sends them (spec 3.1). */
	if ((c->have & RECON_CFG_BITQUANTUM) &&
	    (r = put_config_int(b, "bitquantum", c->bitquantum)) != 0)
		return r;
	if ((c->have & RECON_CFG_FILTERS) &&
	    (r = put_config_str(b, "filters", c->filters,
	    sizeof(c->filters))) != 0)
		return r;
	if ((c->have & RECON_CFG_HTTP_PORT) &&
	    (r = put_config_int(b, "http port", c->http_port)) != 0)
		return r;
	if ((c->have & RECON_CFG_MBAR) &&
	    (r = put_config_int(b, "mbar", c->mbar)) != 0)
		return r;
	if ((c->have & RECON_CFG_VERSION) &&
	    (r = put_config_str(b, "version", c->version,
	    sizeof(c->version))) != 0)
		return r;
	return 0;
}

int
recon_msg_encode(struct buf *out, const struct recon_msg *m,
    struct pgps_err *err)
{
	size_t start = out->len, len;
	uint8_t zb[ZP_NBYTES];
	int r = PGPS_EINTERNAL;

	if ((r = buf_add_be32(out, 0)) != 0 ||
	    (r = buf_addch(out, (uint8_t)m->type)) != 0)
		goto cleanup;
	switch (m->type) {
	case RECON_MSG_RECON_RQST_POLY:
		if ((r = put_prefix(out, &m->prefix)) != 0 ||
		    (r = buf_add_be32(out, m->size)) != 0 ||
		    (r = buf_add_be32(out, RECON_NSAMPLES)) != 0)
			goto cleanup;
		for (int i = 0; i < RECON_NSAMPLES; i++) {
			zp_get_bytes(zb, &m->samples[i]);
			if ((r = buf_add(out, zb, ZP_NBYTES)) != 0)
				goto cleanup;
		}
		break;
	case RECON_MSG_RECON_RQST_FULL:
		if ((r = put_prefix(out, &m->prefix)) != 0)
			goto cleanup;
		/* FALLTHROUGH */
	case RECON_MSG_ELEMENTS:
	case RECON_MSG_FULL_ELEMENTS:
		if ((r = put_elems(out, m->elems, m->nelems)) != 0)
			goto cleanup;
		break;
	case RECON_MSG_SYNC_FAIL:
	case RECON_MSG_DONE:
	case RECON_MSG_FLUSH:
		break;
	case RECON_MSG_ERROR:
	case RECON_MSG_DB_RQST:
	case RECON_MSG_DB_REPL:
		if ((r = put_string(out, m->text, m->textlen)) != 0)
			goto cleanup;
		break;
	case RECON_MSG_CONFIG:
		if (m->config == NULL) {
			r = PGPS_EINTERNAL;
			goto cleanup;
		}
		if ((r = put_config(out, m->config)) != 0)
			goto cleanup;
		break;
	default:
		r = PGPS_EINTERNAL;
		goto cleanup;
	}
	len = out->len - start - 4;
	if (len > UINT32_MAX) {
		r = PGPS_ELIMIT;
		goto cleanup;
	}
	store_be32(out->p + start, (uint32_t)len);
	r = 0;
 cleanup:
	if (r != 0) {
		/* Leave out as it was. */
		buf_setlen(out, start);
		pgps_err_set(err, r, "cannot encode %s: %s",
		    recon_msg_type_name(m->type), pgps_strerror(r));
	}
	return r;
}

int
recon_string_encode(struct buf *out, const char *s, size_t len)
{
	return put_string(out, s, len);
}

/* Decoding. */

struct rd {
	struct span	 s;
	size_t		 total;		/* frame body length, for offsets */
	const char	*what;		/* message name */
	struct pgps_err	*err;
};

static size_t
rd_off(const struct rd *d)
{
	return d->total - d->s.len;
}

static int
rd_trunc(struct rd *d, const char *item)
{
	return pgps_err_set(d->err, PGPS_ETRUNC,
	    "%s: %s truncated at offset %zu", d->what, item, rd_off(d));
}

static int
rd_be32(struct rd *d, uint32_t *v, const char *item)
{
	if (span_be32(&d->s, v) != 0)
		return rd_trunc(d, item);
	return 0;
}

/* A length-prefixed string of at most max octets, borrowed from input. */
static int
rd_string(struct rd *d, const uint8_t **p, size_t *n, size_t max,
    const char *item)
{
	size_t at = rd_off(d);
	uint32_t len;
	int r;

	if ((r = rd_be32(d, &len, item)) != 0)
		return r;
	if (len > max)
		return pgps_err_set(d->err, PGPS_ELIMIT,
		    "%s: %s of %u octets at offset %zu exceeds %zu", d->what,
		    item, len, at, max);
	if (span_bytes(&d->s, len, p) != 0)
		return rd_trunc(d, item);
	*n = len;
	return 0;
}

static int
rd_prefix(struct rd *d, struct recon_prefix *out)
{
	const uint8_t *p;
	size_t at = rd_off(d), n;
	uint32_t nbits;
	int r;

	if ((r = rd_be32(d, &nbits, "prefix length")) != 0)
		return r;
	if (nbits > RECON_MAX_PREFIX_BITS)
		return pgps_err_set(d->err, PGPS_EFORMAT,
		    "%s: prefix of %u bits at offset %zu is longer than an "
		    "element", d->what, nbits, at);
	if ((r = rd_string(d, &p, &n, RECON_ELEM_LEN, "prefix")) != 0)
		return r;
	if (n != (nbits + 7) / 8)
		return pgps_err_set(d->err, PGPS_EFORMAT,
		    "%s: prefix of %u bits at offset %zu has %zu octets",
		    d->what, nbits, at, n);
	memset(out, 0, sizeof(*out));
	out->nbits = nbits;
	memcpy(out->b, p, n);
	/* Bits past the end carry no meaning; clear them. */
	if (nbits % 8 != 0)
		out->b[n - 1] &= (uint8_t)(0xff00u >> (nbits % 8));
	return 0;
}

static int
rd_elems(struct rd *d, struct recon_elem **out, size_t *nout)
{
	struct recon_elem *v = NULL;
	const uint8_t *p;
	size_t at = rd_off(d), need;
	uint32_t n;
	int r;

	if ((r = rd_be32(d, &n, "element count")) != 0)
		return r;
	/* Cap before allocating: the count comes from the peer. */
	if (!mem_mul(&need, n, ZP_NBYTES) || need > d->s.len)
		return pgps_err_set(d->err, PGPS_ETRUNC,
		    "%s: %u elements at offset %zu need %zu octets, %zu left",
		    d->what, n, at, (size_t)n * ZP_NBYTES, d->s.len);
	if (n != 0 && (v = mem_reallocarray(NULL, n, sizeof(*v))) == NULL)
		return pgps_err_set(d->err, PGPS_ENOMEM, "out of memory");
	for (uint32_t i = 0; i < n; i++) {
		p = d->s.p + (size_t)i * ZP_NBYTES;
		/* Elements are 128-bit digests: the 17th octet is zero. */
		if (p[RECON_ELEM_LEN] != 0) {
			free(v);
			return pgps_err_set(d->err, PGPS_EFORMAT,
			    "%s: element %u at offset %zu is not a 16-octet "
			    "digest", d->what, i,
			    rd_off(d) + (size_t)i * ZP_NBYTES);
		}
		memcpy(v[i].b, p, RECON_ELEM_LEN);
	}
	span_skip(&d->s, need);
	*out = v;
	*nout = n;
	return 0;
}

static int
config_copy_str(char *dst, size_t dstlen, const uint8_t *p, size_t n)
{
	if (n >= dstlen || memchr(p, '\0', n) != NULL)
		return -1;
	memcpy(dst, p, n);
	dst[n] = '\0';
	return 0;
}

static int
rd_config(struct rd *d, struct recon_config *c)
{
	const uint8_t *k, *v;
	size_t at = rd_off(d), klen, vlen;
	uint32_t n;
	int r;

	memset(c, 0, sizeof(*c));
	if ((r = rd_be32(d, &n, "entry count")) != 0)
		return r;
	if (n > RECON_CONFIG_MAX_ENTRIES)
		return pgps_err_set(d->err, PGPS_ELIMIT,
		    "Config: %u entries at offset %zu, at most %d allowed",
		    n, at, RECON_CONFIG_MAX_ENTRIES);
	for (uint32_t i = 0; i < n; i++) {
		unsigned int bit = 0;
		uint32_t *iv = NULL;

		if ((r = rd_string(d, &k, &klen, RECON_CONFIG_MAX_KEY,
		    "key")) != 0 ||
		    (r = rd_string(d, &v, &vlen, RECON_CONFIG_MAX_VALUE,
		    "value")) != 0)
			return r;
#define KEY_IS(s)	(klen == sizeof(s) - 1 && memcmp(k, s, klen) == 0)
		if (KEY_IS("bitquantum")) {
			bit = RECON_CFG_BITQUANTUM;
			iv = &c->bitquantum;
		} else if (KEY_IS("mbar")) {
			bit = RECON_CFG_MBAR;
			iv = &c->mbar;
		} else if (KEY_IS("http port")) {
			bit = RECON_CFG_HTTP_PORT;
			iv = &c->http_port;
		} else if (KEY_IS("version")) {
			bit = RECON_CFG_VERSION;
			if (config_copy_str(c->version, sizeof(c->version),
			    v, vlen) != 0)
				c->have |= RECON_CFG_MALFORMED;
		} else if (KEY_IS("filters")) {
			bit = RECON_CFG_FILTERS;
			if (config_copy_str(c->filters, sizeof(c->filters),
			    v, vlen) != 0)
				c->have |= RECON_CFG_MALFORMED;
		}
#undef KEY_IS
		/* Unknown keys are ignored, as SKS and Hockeypuck do. */
		if (iv != NULL) {
			/* Integers are 4-octet binary strings (spec 3.1). */
			if (vlen == 4)
				*iv = load_be32(v);
			else
				c->have |= RECON_CFG_MALFORMED;
		}
		c->have |= bit;
	}
	return 0;
}

int
recon_frame_need(const uint8_t *p, size_t len, size_t max_frame,
    size_t *need, struct pgps_err *err)
{
	uint32_t l;

	if (len < 4) {
		*need = 4;
		return 0;
	}
	l = load_be32(p);
	if (l == 0)
		return pgps_err_set(err, PGPS_EFORMAT,
		    "empty frame without a message type");
	if (l > max_frame)
		return pgps_err_set(err, PGPS_ELIMIT,
		    "frame of %u octets exceeds the limit of %zu", l,
		    max_frame);
	*need = (size_t)l + 4;
	return 0;
}

int
recon_msg_decode(struct recon_msg *out, const uint8_t *body, size_t len,
    struct pgps_err *err)
{
	struct recon_msg m = RECON_MSG_INIT;
	struct rd d;
	const uint8_t *p;
	size_t n;
	uint8_t type;
	uint32_t count;
	int r = PGPS_EINTERNAL;

	d.s = span_make(body, len);
	d.total = len;
	d.err = err;
	d.what = "frame";
	if (span_u8(&d.s, &type) != 0) {
		r = rd_trunc(&d, "type");
		goto cleanup;
	}
	if (type > RECON_MSG_CONFIG) {
		r = pgps_err_set(err, PGPS_EFORMAT, "unknown message type %u",
		    type);
		goto cleanup;
	}
	m.type = (enum recon_msg_type)type;
	d.what = recon_msg_type_name(type);
	switch (m.type) {
	case RECON_MSG_RECON_RQST_POLY:
		if ((r = rd_prefix(&d, &m.prefix)) != 0 ||
		    (r = rd_be32(&d, &m.size, "size")) != 0 ||
		    (r = rd_be32(&d, &count, "sample count")) != 0)
			goto cleanup;
		/* SKS dies on any other length (spec 10). */
		if (count != RECON_NSAMPLES) {
			r = pgps_err_set(err, PGPS_EPROTO,
			    "%s: %u samples, expected %d", d.what, count,
			    RECON_NSAMPLES);
			goto cleanup;
		}
		for (int i = 0; i < RECON_NSAMPLES; i++) {
			if (span_bytes(&d.s, ZP_NBYTES, &p) != 0) {
				r = rd_trunc(&d, "sample");
				goto cleanup;
			}
			if (zp_set_bytes(&m.samples[i], p) != 0) {
				r = pgps_err_set(err, PGPS_EFORMAT,
				    "%s: sample %d is not below p", d.what, i);
				goto cleanup;
			}
		}
		break;
	case RECON_MSG_RECON_RQST_FULL:
		if ((r = rd_prefix(&d, &m.prefix)) != 0)
			goto cleanup;
		/* FALLTHROUGH */
	case RECON_MSG_ELEMENTS:
	case RECON_MSG_FULL_ELEMENTS:
		if ((r = rd_elems(&d, &m.elems, &m.nelems)) != 0)
			goto cleanup;
		break;
	case RECON_MSG_SYNC_FAIL:
	case RECON_MSG_DONE:
	case RECON_MSG_FLUSH:
		break;
	case RECON_MSG_ERROR:
	case RECON_MSG_DB_RQST:
	case RECON_MSG_DB_REPL:
		if ((r = rd_string(&d, &p, &n, RECON_MAX_TEXT, "text")) != 0)
			goto cleanup;
		if ((m.text = malloc(n + 1)) == NULL) {
			r = pgps_err_set(err, PGPS_ENOMEM, "out of memory");
			goto cleanup;
		}
		if (n != 0)
			memcpy(m.text, p, n);
		m.text[n] = '\0';
		m.textlen = n;
		break;
	case RECON_MSG_CONFIG:
		if ((m.config = malloc(sizeof(*m.config))) == NULL) {
			r = pgps_err_set(err, PGPS_ENOMEM, "out of memory");
			goto cleanup;
		}
		if ((r = rd_config(&d, m.config)) != 0)
			goto cleanup;
		break;
	}
	if (d.s.len != 0) {
		r = pgps_err_set(err, PGPS_EFORMAT,
		    "%s: %zu trailing octets at offset %zu", d.what, d.s.len,
		    rd_off(&d));
		goto cleanup;
	}
	*out = m;
	memset(&m, 0, sizeof(m));
	r = 0;
 cleanup:
	free(m.elems);
	free(m.text);
	free(m.config);
	return r;
}

int
recon_string_decode(char **out, size_t *outlen, size_t *used,
    const uint8_t *p, size_t len, size_t max, struct pgps_err *err)
{
	uint32_t n;
	char *s;

	if (len < 4) {
		*used = 4;
		return PGPS_ETRUNC;
	}
	n = load_be32(p);
	if (n > max)
		return pgps_err_set(err, PGPS_ELIMIT,
		    "string of %u octets exceeds %zu", n, max);
	if (len - 4 < n) {
		*used = (size_t)n + 4;
		return PGPS_ETRUNC;
	}
	if ((s = malloc((size_t)n + 1)) == NULL)
		return pgps_err_set(err, PGPS_ENOMEM, "out of memory");
	if (n != 0)
		memcpy(s, p + 4, n);
	s[n] = '\0';
	*out = s;
	*outlen = n;
	*used = (size_t)n + 4;
	return 0;
}

/* Config check. */

/* SKS common.ml: three dot-separated decimal integers. */
static int
parse_version(const char *s, unsigned long v[3])
{
	for (int i = 0; i < 3; i++) {
		int digits = 0;

		v[i] = 0;
		while (*s >= '0' && *s <= '9') {
			if (++digits > 9)
				return -1;
			v[i] = v[i] * 10 + (unsigned long)(*s++ - '0');
		}
		if (digits == 0)
			return -1;
		if (i < 2 && *s++ != '.')
			return -1;
	}
	return *s == '\0' ? 0 : -1;
}

/*
 * The pieces of a comma-separated list, empty ones dropped; SIZE_MAX when
 * there are more than max.
 */
static size_t
split_filters(const char *s, const char *piece[], size_t plen[], size_t max)
{
	size_t n = 0;

	while (*s != '\0') {
		const char *e = strchr(s, ',');
		size_t l = e != NULL ? (size_t)(e - s) : strlen(s);

		if (l != 0) {
			if (n == max)
				return SIZE_MAX;
			piece[n] = s;
			plen[n++] = l;
		}
		s += l;
		if (*s == ',')
			s++;
	}
	return n;
}

/* Every piece of a occurs in b. */
static bool
filters_subset(const char *const *a, const size_t *al, size_t an,
    const char *const *b, const size_t *bl, size_t bn)
{
	for (size_t i = 0; i < an; i++) {
		size_t j;

		for (j = 0; j < bn; j++)
			if (al[i] == bl[j] && memcmp(a[i], b[j], al[i]) == 0)
				break;
		if (j == bn)
			return false;
	}
	return true;
}

static void
filters_list(char *out, size_t outlen, const char *const *p, const size_t *l,
    size_t n)
{
	size_t k = 0;
	int w;

	/* OCaml's MList.to_string: "[ a b ]". */
	w = snprintf(out, outlen, "[ ");
	k = w > 0 ? (size_t)w : 0;
	for (size_t i = 0; i < n && k < outlen; i++) {
		w = snprintf(out + k, outlen - k, "%.*s ", (int)l[i], p[i]);
		k += w > 0 ? (size_t)w : 0;
	}
	if (k < outlen)
		snprintf(out + k, outlen - k, "]");
}

#define MAX_FILTERS	64

int
recon_config_check(const struct recon_config *local,
    const struct recon_config *remote, char *reason, size_t reasonlen)
{
	const unsigned int need = RECON_CFG_VERSION | RECON_CFG_FILTERS |
	    RECON_CFG_BITQUANTUM | RECON_CFG_MBAR;
	const char *lp[MAX_FILTERS], *rp[MAX_FILTERS];
	size_t ll[MAX_FILTERS], rl[MAX_FILTERS], ln, rn;
	unsigned long v[3];
	char lbuf[512], rbuf[512];

	if (remote->have & RECON_CFG_MALFORMED) {
		snprintf(reason, reasonlen,
		    "Error parsing configdata: malformed entry");
		return PGPS_EPROTO;
	}
	if ((remote->have & need) != need) {
		snprintf(reason, reasonlen, "Missing entry in configdata");
		return PGPS_EPROTO;
	}
	if (parse_version(remote->version, v) != 0) {
		snprintf(reason, reasonlen,
		    "Error parsing configdata: version '%.64s'",
		    remote->version);
		return PGPS_EPROTO;
	}
	/* SKS compatible_version_tuple: (0, 1, 5). */
	if (v[0] == 0 && (v[1] < 1 || (v[1] == 1 && v[2] < 5))) {
		snprintf(reason, reasonlen,
		    "Requires version at least 0.1.5.  %.64s provided ",
		    remote->version);
		return PGPS_EPROTO;
	}
	ln = split_filters(local->filters, lp, ll, MAX_FILTERS);
	rn = split_filters(remote->filters, rp, rl, MAX_FILTERS);
	if (ln == SIZE_MAX || rn == SIZE_MAX ||
	    !filters_subset(lp, ll, ln, rp, rl, rn) ||
	    !filters_subset(rp, rl, rn, lp, ll, ln)) {
		filters_list(lbuf, sizeof(lbuf), lp, ll,
		    ln == SIZE_MAX ? MAX_FILTERS : ln);
		filters_list(rbuf, sizeof(rbuf), rp, rl,
		    rn == SIZE_MAX ? MAX_FILTERS : rn);
		snprintf(reason, reasonlen, "filters do not match.\n\t"
		    "local filters: %s\n\tremote filters: %s", lbuf, rbuf);
		return PGPS_EPROTO;
	}
	if (remote->bitquantum != local->bitquantum) {
		snprintf(reason, reasonlen, "bitquantum values do not match");
		return PGPS_EPROTO;
	}
	if (remote->mbar != local->mbar) {
		snprintf(reason, reasonlen, "mbar values do not match");
		return PGPS_EPROTO;
	}
	return 0;
}
