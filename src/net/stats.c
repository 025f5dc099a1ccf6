/*
 * stats.c: keyserver statistics pages (/pks/lookup?op=stats).
 *
 * SKS 1.1.x (stats.ml, info_tables and generate_html_stats_page) writes
 * a "Settings" table of label/value rows ("Hostname:", "Version:",
 * "HTTP port:", "Recon port:"), an <h2>Gossip Peers</h2> table with one
 * "host port" cell per row (the membership file's host and recon port),
 * nested in an outer layout table, and "Total number of keys: N"; the
 * title ends in "Taken at YYYY-MM-DD HH:MM:SS TZ" in local time.
 * Hockeypuck (contrib/templates/stats.html.tmpl) writes a Settings table
 * of <th>label</th><td>value</td> rows ("HTTP" and "Recon" as
 * host:port), an <h3>Gossip Peers</h3> table of Name, HTTP address,
 * recon address and status cells, and the same key-count sentence; with
 * options=mr it answers JSON (server/server.go, type stats) with
 * software, version, hostname, now (RFC 3339), total, httpAddr,
 * reconAddr and peers[] of name, httpAddr, reconAddr, masked.
 *
 * The HTML is read as a flat stream: tags only open and close rows,
 * cells and headings; the last heading seen names the section a row is
 * in.  Comments, <script> and <style> are skipped; entities are decoded.
 * No tree is built, so nesting depth costs nothing, and every buffer is
 * capped.  A masked peer (Hockeypuck's "k****1") or any name that is no
 * host name is counted as skipped, never crawled.
 */
#include "util/common.h"

#include <ctype.h>
#include <strings.h>

#include <jansson.h>

#include "net/stats.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/mem.h"

#define CELL_MAX	512	/* octets kept of one cell or heading */
#define ROW_CELLS	8	/* cells kept of one row */
/* Peer rows looked at (and checked for repeats) before only counting. */
#define PEER_ROWS_MAX	(10 * NET_STATS_MAX_PEERS)

const char *
net_stats_kind_name(enum net_stats_kind k)
{
	switch (k) {
	case NET_STATS_SKS_HTML:
		return "sks-html";
	case NET_STATS_HOCKEYPUCK_HTML:
		return "hockeypuck-html";
	case NET_STATS_HOCKEYPUCK_JSON:
		return "hockeypuck-json";
	default:
		return "unknown";
	}
}

void
net_stats_release(struct net_stats *st)
{
	free(st->peers);
	*st = (struct net_stats)NET_STATS_INIT;
}

/* --- small text helpers ------------------------------------------------ */

static void
trim(const char **p, size_t *len)
{
	while (*len > 0 && isspace((unsigned char)(*p)[0])) {
		(*p)++;
		(*len)--;
	}
	while (*len > 0 && isspace((unsigned char)(*p)[*len - 1]))
		(*len)--;
}

/* Copies s[0..len) trimmed into out (cut to fit), printable ASCII only. */
static void
copy_text(char *out, size_t outlen, const char *s, size_t len)
{
	size_t k = 0;

	trim(&s, &len);
	for (size_t i = 0; i < len && k + 1 < outlen; i++) {
		unsigned char c = (unsigned char)s[i];

		out[k++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	out[k] = '\0';
}

/*
 * The first place of word in s[0..len), ignoring ASCII case, or NULL.
 * Only places whose first octet matches are compared whole.
 */
static const char *
find(const char *s, size_t len, const char *word)
{
	size_t n = strlen(word);
	int lo, up;

	if (n == 0)
		return s;
	lo = tolower((unsigned char)word[0]);
	up = toupper((unsigned char)word[0]);
	for (size_t i = 0; i + n <= len; i++)
		if ((s[i] == lo || s[i] == up) &&
		    strncasecmp(s + i, word, n) == 0)
			return s + i;
	return NULL;
}

static bool
has_word(const char *s, size_t len, const char *word)
{
	return find(s, len, word) != NULL;
}

static bool
host_char(unsigned char c, bool v6)
{
	return isalnum(c) || c == '-' || c == '.' || c == '_' ||
	    (v6 && c == ':');
}

int
net_stats_addr(char host[NET_HOST_MAX], unsigned int *port, const char *s,
    size_t len)
{
	const char *h, *pt = NULL;
	size_t hl, pl = 0, colons = 0;
	bool v6 = false;
	unsigned long v = 0;

	trim(&s, &len);
	for (size_t i = 0; i < len; i++)
		if (s[i] == ':')
			colons++;
	h = s;
	hl = len;
	if (len > 0 && s[0] == '[') {
		const char *e = memchr(s, ']', len);

		if (e == NULL)
			return PGPS_EFORMAT;
		h = s + 1;
		hl = (size_t)(e - h);
		v6 = true;
		if ((size_t)(e + 1 - s) < len) {
			if (e[1] != ':')
				return PGPS_EFORMAT;
			pt = e + 2;
			pl = len - (size_t)(pt - s);
		}
	} else {
		size_t sp = len;

		for (size_t i = 0; i < len; i++)
			if (isspace((unsigned char)s[i])) {
				sp = i;
				break;
			}
		if (sp < len) {
			hl = sp;
			pt = s + sp;
			pl = len - sp;
			trim(&pt, &pl);
			v6 = colons >= 2;
		} else if (colons == 1) {
			const char *c = memchr(s, ':', len);

			hl = (size_t)(c - s);
			pt = c + 1;
			pl = len - hl - 1;
		} else if (colons >= 2) {
			v6 = true;
		}
	}
	if (hl + 3 > NET_HOST_MAX)
		return PGPS_EFORMAT;
	for (size_t i = 0; i < hl; i++)
		if (!host_char((unsigned char)h[i], v6))
			return PGPS_EFORMAT;
	if (pt != NULL) {
		if (pl == 0 || pl > 5)
			return PGPS_EFORMAT;
		for (size_t i = 0; i < pl; i++) {
			if (pt[i] < '0' || pt[i] > '9')
				return PGPS_EFORMAT;
			v = v * 10 + (unsigned long)(pt[i] - '0');
		}
		if (v == 0 || v > 65535)
			return PGPS_EFORMAT;
	}
	if (v6 && hl > 0) {
		host[0] = '[';
		for (size_t i = 0; i < hl; i++)
			host[i + 1] = (char)tolower((unsigned char)h[i]);
		host[hl + 1] = ']';
		host[hl + 2] = '\0';
	} else {
		for (size_t i = 0; i < hl; i++)
			host[i] = (char)tolower((unsigned char)h[i]);
		host[hl] = '\0';
	}
	*port = (unsigned int)v;
	return 0;
}

/* --- times ------------------------------------------------------------- */

/* Days since 1970-01-01 of a proleptic Gregorian date (Hinnant's). */
static int64_t
days_from_civil(int64_t y, unsigned int m, unsigned int d)
{
	int64_t era;
	unsigned int yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned int)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static bool
digits(const char *s, size_t n, unsigned int *out)
{
	unsigned int v = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned int)(s[i] - '0');
	}
	*out = v;
	return true;
}

/*
 * "YYYY-MM-DD HH:MM:SS UTC" (or GMT), "YYYY-MM-DDTHH:MM:SS[.frac]Z" or
 * with a "+hh:mm" offset: Unix time, or 0 when the zone is not one of
 * those (SKS prints local time with a zone abbreviation, which says
 * nothing certain).
 */
static int64_t
parse_time(const char *s)
{
	unsigned int y, mo, d, h, mi, sec, oh, om;
	size_t n = strlen(s), i = 19;
	int64_t t, sign = 1;

	if (n < 19 || !digits(s, 4, &y) || s[4] != '-' ||
	    !digits(s + 5, 2, &mo) || s[7] != '-' || !digits(s + 8, 2, &d) ||
	    (s[10] != ' ' && s[10] != 'T') || !digits(s + 11, 2, &h) ||
	    s[13] != ':' || !digits(s + 14, 2, &mi) || s[16] != ':' ||
	    !digits(s + 17, 2, &sec))
		return 0;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
	    sec > 60)
		return 0;
	t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
	if (i < n && s[i] == '.')
		for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++)
			;
	while (i < n && s[i] == ' ')
		i++;
	if (strcmp(s + i, "Z") == 0 || strcmp(s + i, "UTC") == 0 ||
	    strcmp(s + i, "GMT") == 0)
		return t;
	if (n - i == 6 && (s[i] == '+' || s[i] == '-') &&
	    digits(s + i + 1, 2, &oh) && s[i + 3] == ':' &&
	    digits(s + i + 4, 2, &om) && oh < 24 && om < 60) {
		sign = s[i] == '-' ? -1 : 1;
		return t - sign * (int64_t)(oh * 3600 + om * 60);
	}
	return 0;
}

/* --- peers ------------------------------------------------------------- */

struct parse {
	struct net_stats st;
	size_t		 peer_rows;
	size_t		 alloc;
	bool		 marker;	/* something known was found */
};

static int
add_peer(struct parse *ps, const char *host, unsigned int recon,
    unsigned int hkp)
{
	struct net_stats *st = &ps->st;
	struct net_stats_peer *np;

	ps->marker = true;
	if (host[0] == '\0' || (recon == 0 && hkp == 0) ||
	    st->npeers >= NET_STATS_MAX_PEERS ||
	    ++ps->peer_rows > PEER_ROWS_MAX) {
		st->peers_skipped++;
		return 0;
	}
	for (size_t i = 0; i < st->npeers; i++)
		if (strcmp(st->peers[i].host, host) == 0 &&
		    st->peers[i].recon_port == recon &&
		    st->peers[i].hkp_port == hkp) {
			st->peers_skipped++;
			return 0;
		}
	if (st->npeers == ps->alloc) {
		size_t na = ps->alloc == 0 ? 16 : 2 * ps->alloc;

		np = mem_reallocarray(st->peers, na, sizeof(*np));
		if (np == NULL)
			return PGPS_ENOMEM;
		st->peers = np;
		ps->alloc = na;
	}
	np = &st->peers[st->npeers++];
	memset(np, 0, sizeof(*np));
	memcpy(np->host, host, strlen(host) + 1);
	np->recon_port = recon;
	np->hkp_port = hkp;
	return 0;
}

/*
 * A Hockeypuck peer: name, HTTP address, recon address.  The recon
 * address names the gossip partner; the HTTP port counts only on the
 * same host.
 */
static int
add_hockeypuck_peer(struct parse *ps, const char *http, size_t httplen,
    const char *recon, size_t reconlen)
{
	char rh[NET_HOST_MAX], hh[NET_HOST_MAX];
	unsigned int rp = 0, hp = 0;
	bool rok, hok;

	rok = net_stats_addr(rh, &rp, recon, reconlen) == 0 && rh[0] != '\0';
	hok = net_stats_addr(hh, &hp, http, httplen) == 0 && hh[0] != '\0';
	if (rok)
		return add_peer(ps, rh, rp, hok && strcmp(hh, rh) == 0 ? hp :
		    0);
	if (hok)
		return add_peer(ps, hh, 0, hp);
	return add_peer(ps, "", 0, 0);
}

/* --- HTML -------------------------------------------------------------- */

struct cell {
	char	 text[CELL_MAX + 1];
	size_t	 len;
	bool	 th;
};

struct html {
	struct parse	*ps;
	char		 section[CELL_MAX + 1];	/* the last heading */
	char		 heading[CELL_MAX + 1];	/* being read */
	size_t		 hlen;
	bool		 in_heading;
	bool		 in_row, in_cell;
	struct cell	 cells[ROW_CELLS];
	size_t		 ncells;		/* cells begun in the row */
	struct buf	 text;			/* all text, tags as '\n' */
};

static void
sink(struct html *h, char c)
{
	if (c == '\r' || c == '\t' || c == '\n')
		c = ' ';
	if (h->in_heading && h->hlen < CELL_MAX)
		h->heading[h->hlen++] = c;
	if (h->in_row && h->in_cell && h->ncells > 0 &&
	    h->ncells <= ROW_CELLS) {
		struct cell *cl = &h->cells[h->ncells - 1];

		if (cl->len < CELL_MAX)
			cl->text[cl->len++] = c;
	}
}

static bool
label_is(const char *l, size_t n, const char *want)
{
	size_t wl = strlen(want);

	while (n > 0 && (l[n - 1] == ':' || isspace((unsigned char)l[n - 1])))
		n--;
	return n == wl && strncasecmp(l, want, n) == 0;
}

static void
settings_row(struct html *h)
{
	struct net_stats *st = &h->ps->st;
	const char *l = h->cells[0].text, *v = h->cells[1].text;
	size_t ll = h->cells[0].len, vl = h->cells[1].len;
	char host[NET_HOST_MAX];
	unsigned int port;

	trim(&l, &ll);
	trim(&v, &vl);
	if (label_is(l, ll, "hostname")) {
		if (net_stats_addr(host, &port, v, vl) == 0 && port == 0)
			copy_text(st->hostname, sizeof(st->hostname), host,
			    strlen(host));
	} else if (label_is(l, ll, "version")) {
		copy_text(st->version, sizeof(st->version), v, vl);
	} else if (label_is(l, ll, "software")) {
		copy_text(st->software, sizeof(st->software), v, vl);
	} else if (label_is(l, ll, "http port") || label_is(l, ll, "http")) {
		if (digits(v, vl, &port) && vl > 0 && vl <= 5 && port > 0 &&
		    port <= 65535)
			st->hkp_port = port;
		else if (net_stats_addr(host, &port, v, vl) == 0 && port > 0)
			st->hkp_port = port;
	} else if (label_is(l, ll, "recon port") || label_is(l, ll, "recon")) {
		if (digits(v, vl, &port) && vl > 0 && vl <= 5 && port > 0 &&
		    port <= 65535)
			st->recon_port = port;
		else if (net_stats_addr(host, &port, v, vl) == 0 && port > 0)
			st->recon_port = port;
	} else {
		return;
	}
	h->ps->marker = true;
}

static int
row_end(struct html *h)
{
	size_t n = h->ncells < ROW_CELLS ? h->ncells : ROW_CELLS;
	bool header = false;
	char host[NET_HOST_MAX];
	unsigned int port;
	int r = 0;

	if (!h->in_row)
		return 0;
	h->in_row = false;
	h->in_cell = false;
	for (size_t i = 0; i < n; i++) {
		h->cells[i].text[h->cells[i].len] = '\0';
		header |= h->cells[i].th && i > 0;
	}
	if (has_word(h->section, strlen(h->section), "settings") && n >= 2)
		settings_row(h);
	else if (has_word(h->section, strlen(h->section), "gossip peers") &&
	    n >= 1 && !header && !(n == 1 && h->cells[0].th)) {
		if (n >= 3)
			r = add_hockeypuck_peer(h->ps, h->cells[1].text,
			    h->cells[1].len, h->cells[2].text,
			    h->cells[2].len);
		else if (net_stats_addr(host, &port, h->cells[0].text,
		    h->cells[0].len) == 0)
			r = add_peer(h->ps, host, port, 0);
		else if (h->cells[0].len > 0)
			r = add_peer(h->ps, "", 0, 0);
	}
	h->ncells = 0;
	return r;
}

static const struct {
	const char	*name;
	char		 c;
} entities[] = {
	{ "amp", '&' }, { "lt", '<' }, { "gt", '>' }, { "quot", '"' },
	{ "apos", '\'' }, { "nbsp", ' ' }
};

/* Decodes an entity at p[0..len) (p[0] == '&'); returns octets used. */
static size_t
entity(const char *p, size_t len, char *out)
{
	size_t e, n;
	unsigned long v = 0;

	for (e = 1; e < len && e < 12 && p[e] != ';'; e++)
		;
	if (e >= len || p[e] != ';') {
		*out = '&';
		return 1;
	}
	n = e - 1;
	if (n >= 2 && p[1] == '#') {
		bool hex = p[2] == 'x' || p[2] == 'X';

		for (size_t i = hex ? 3 : 2; i < e; i++) {
			int c = (unsigned char)p[i];

			if (hex && isxdigit(c))
				v = v * 16 + (unsigned long)(isdigit(c) ? c -
				    '0' : tolower(c) - 'a' + 10);
			else if (!hex && isdigit(c))
				v = v * 10 + (unsigned long)(c - '0');
			else
				v = 0x110000;
			if (v > 0x10ffff)
				break;
		}
		*out = v >= 0x20 && v < 0x7f ? (char)v : '?';
		return e + 1;
	}
	for (size_t i = 0; i < PGPS_ARRAY_SIZE(entities); i++)
		if (strlen(entities[i].name) == n &&
		    strncmp(p + 1, entities[i].name, n) == 0) {
			*out = entities[i].c;
			return e + 1;
		}
	*out = '&';
	return 1;
}

/* Skips to just after the first "end" (any case) at or after i. */
static size_t
skip_past(const char *s, size_t len, size_t i, const char *end)
{
	const char *f = find(s + i, len - i, end);

	return f == NULL ? len : (size_t)(f - s) + strlen(end);
}

static int
tag(struct html *h, const char *s, size_t len, size_t *ip)
{
	size_t i = *ip + 1, k = 0;
	char name[8];
	bool close = false;
	int r = 0;

	if (len - i >= 3 && memcmp(s + i, "!--", 3) == 0) {
		*ip = skip_past(s, len, i + 3, "-->");
		return 0;
	}
	if (i < len && s[i] == '/') {
		close = true;
		i++;
	}
	while (i < len && isalnum((unsigned char)s[i])) {
		if (k + 1 < sizeof(name))
			name[k++] = (char)tolower((unsigned char)s[i]);
		i++;
	}
	name[k] = '\0';
	{
		const char *gt = memchr(s + i, '>', len - i);

		*ip = gt == NULL ? len : (size_t)(gt - s) + 1;
	}
	if (!close && (strcmp(name, "script") == 0 ||
	    strcmp(name, "style") == 0)) {
		*ip = skip_past(s, len, *ip, name[1] == 'c' ? "</script" :
		    "</style");
		return 0;
	}
	if (buf_addch(&h->text, '\n') != 0)
		return PGPS_ENOMEM;
	if (k == 2 && name[0] == 'h' && name[1] >= '1' && name[1] <= '6') {
		if (!close) {
			if ((r = row_end(h)) != 0)
				return r;
			h->in_heading = true;
			h->hlen = 0;
		} else if (h->in_heading) {
			h->in_heading = false;
			memcpy(h->section, h->heading, h->hlen);
			h->section[h->hlen] = '\0';
		}
	} else if (strcmp(name, "tr") == 0) {
		if ((r = row_end(h)) != 0)
			return r;
		if (!close) {
			h->in_row = true;
			h->ncells = 0;
		}
	} else if (strcmp(name, "td") == 0 || strcmp(name, "th") == 0) {
		if (!h->in_row)
			return 0;
		if (close) {
			h->in_cell = false;
		} else {
			h->in_cell = true;
			if (h->ncells < ROW_CELLS) {
				h->cells[h->ncells].len = 0;
				h->cells[h->ncells].th = name[1] == 'h';
			}
			h->ncells++;
		}
	} else if (strcmp(name, "table") == 0) {
		r = row_end(h);
	} else if (strcmp(name, "br") == 0) {
		sink(h, ' ');
	}
	return r;
}

/* The number after "Total number of keys:" in the page's text. */
static void
key_count(struct parse *ps, const char *t, size_t len)
{
	static const char lead[] = "Total number of keys:";
	const char *f = find(t, len, lead);
	long long v = 0;
	size_t i, nd = 0;

	if (f == NULL)
		return;
	ps->marker = true;
	i = (size_t)(f - t) + strlen(lead);
	while (i < len && isspace((unsigned char)t[i]))
		i++;
	for (; i < len; i++) {
		if (t[i] >= '0' && t[i] <= '9') {
			if (++nd > 15)
				return;
			v = v * 10 + (t[i] - '0');
		} else if (t[i] != ',' || nd == 0) {
			break;
		}
	}
	if (nd > 0)
		ps->st.keys = v;
}

static void
taken_at(struct parse *ps, const char *t, size_t len)
{
	static const char lead[] = "Taken at";
	const char *f = find(t, len, lead);
	size_t i, e;

	if (f == NULL)
		return;
	i = (size_t)(f - t) + strlen(lead);
	for (e = i; e < len && t[e] != '\n'; e++)
		;
	copy_text(ps->st.taken, sizeof(ps->st.taken), t + i, e - i);
	ps->st.taken_time = parse_time(ps->st.taken);
}

static int
parse_html(struct parse *ps, const char *s, size_t len)
{
	struct html *h;
	int r = 0;
	char c;
	const char *t;
	size_t tl, i = 0;

	if ((h = calloc(1, sizeof(*h))) == NULL)
		return PGPS_ENOMEM;
	h->ps = ps;
	buf_init(&h->text, len + 16);
	while (i < len && r == 0) {
		if (s[i] == '<') {
			r = tag(h, s, len, &i);
			continue;
		}
		if (s[i] == '&')
			i += entity(s + i, len - i, &c);
		else
			c = s[i++];
		if (c == '\0')
			c = ' ';
		sink(h, c);
		r = buf_addch(&h->text, (uint8_t)c);
	}
	if (r == 0)
		r = row_end(h);
	if (r != 0)
		goto cleanup;
	t = (const char *)h->text.p;
	tl = h->text.len;
	key_count(ps, t, tl);
	taken_at(ps, t, tl);
	if (find(t, tl, "SKS OpenPGP Keyserver statistics") != NULL) {
		ps->st.kind = NET_STATS_SKS_HTML;
		copy_text(ps->st.software, sizeof(ps->st.software), "SKS", 3);
		ps->marker = true;
	} else if (find(t, tl, "Hockeypuck") != NULL) {
		ps->st.kind = NET_STATS_HOCKEYPUCK_HTML;
		if (ps->st.software[0] == '\0')
			copy_text(ps->st.software, sizeof(ps->st.software),
			    "Hockeypuck", 10);
		ps->marker = true;
	}
 cleanup:
	buf_release(&h->text);
	free(h);
	return r;
}

/* --- JSON -------------------------------------------------------------- */

static const char *
jstr(json_t *o, const char *key, size_t *len)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_string(v)) {
		*len = 0;
		return "";
	}
	*len = json_string_length(v);
	return json_string_value(v);
}

static int
parse_json(struct parse *ps, const char *s, size_t len, struct pgps_err *err)
{
	struct net_stats *st = &ps->st;
	json_error_t je;
	json_t *root, *v, *peers;
	const char *p;
	size_t pl, i;
	char host[NET_HOST_MAX];
	unsigned int port;
	int r = 0;

	root = json_loadb(s, len, JSON_REJECT_DUPLICATES, &je);
	if (root == NULL)
		return pgps_err_set(err, PGPS_EFORMAT,
		    "stats JSON at offset %d: %s", je.position, je.text);
	if (!json_is_object(root)) {
		r = pgps_err_set(err, PGPS_EFORMAT,
		    "stats JSON is not an object");
		goto cleanup;
	}
	st->kind = NET_STATS_HOCKEYPUCK_JSON;
	p = jstr(root, "software", &pl);
	copy_text(st->software, sizeof(st->software), pl > 0 ? p :
	    "Hockeypuck", pl > 0 ? pl : 10);
	p = jstr(root, "version", &pl);
	copy_text(st->version, sizeof(st->version), p, pl);
	p = jstr(root, "hostname", &pl);
	if (net_stats_addr(host, &port, p, pl) == 0 && port == 0)
		copy_text(st->hostname, sizeof(st->hostname), host,
		    strlen(host));
	p = jstr(root, "now", &pl);
	copy_text(st->taken, sizeof(st->taken), p, pl);
	st->taken_time = parse_time(st->taken);
	v = json_object_get(root, "total");
	if (json_is_integer(v) && json_integer_value(v) >= 0)
		st->keys = (long long)json_integer_value(v);
	p = jstr(root, "httpAddr", &pl);
	if (net_stats_addr(host, &port, p, pl) == 0)
		st->hkp_port = port;
	p = jstr(root, "reconAddr", &pl);
	if (net_stats_addr(host, &port, p, pl) == 0)
		st->recon_port = port;
	peers = json_object_get(root, "peers");
	if (!json_is_array(peers))
		goto cleanup;
	json_array_foreach(peers, i, v) {
		const char *http, *recon;
		size_t hl, rl;

		if (!json_is_object(v) || json_is_true(json_object_get(v,
		    "masked"))) {
			st->peers_skipped++;
			continue;
		}
		http = jstr(v, "httpAddr", &hl);
		recon = jstr(v, "reconAddr", &rl);
		if ((r = add_hockeypuck_peer(ps, http, hl, recon, rl)) != 0)
			goto cleanup;
	}
 cleanup:
	json_decref(root);
	return r;
}

int
net_stats_parse(struct net_stats *out, const uint8_t *p, size_t len,
    struct pgps_err *err)
{
	struct parse ps;
	const char *s = (const char *)p;
	size_t i = 0;
	int r;

	memset(&ps, 0, sizeof(ps));
	ps.st = (struct net_stats)NET_STATS_INIT;
	while (i < len && isspace((unsigned char)s[i]))
		i++;
	if (i < len && s[i] == '{') {
		if ((r = parse_json(&ps, s, len, err)) != 0)
			goto cleanup;
	} else {
		if ((r = parse_html(&ps, s, len)) != 0) {
			pgps_err_set(err, r, "stats page: %s",
			    pgps_strerror(r));
			goto cleanup;
		}
		if (!ps.marker) {
			r = pgps_err_set(err, PGPS_EFORMAT,
			    "not a keyserver statistics page (%zu octets, "
			    "no settings, peers or key count)", len);
			goto cleanup;
		}
	}
	net_stats_release(out);
	*out = ps.st;
	ps.st.peers = NULL;
	r = 0;
 cleanup:
	free(ps.st.peers);
	return r;
}
