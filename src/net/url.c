/*
 * url.c: keyserver URLs and the request URLs and bodies built from them.
 *
 * Pure string code.  It parses only the URL forms pgpsync accepts (scheme,
 * host, port, and a path prefix for VKS base URLs) and refuses the rest
 * rather than passing it on to libcurl: user names (which would end up in
 * error messages), queries and fragments have no meaning for a keyserver.
 * Host names must be ASCII; an internationalised name is given in its
 * xn-- form.  No name is resolved here.
 */
#include "util/common.h"

#include <strings.h>

#include "net/net.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/hex.h"

/* A URL quoted in a message is cut here so the message keeps its tail. */
#define URL_QUOTE_MAX	120

struct url_parts {
	bool		 tls;
	bool		 has_port;
	unsigned int	 port;
	char		 host[NET_HOST_MAX];
	const char	*path;		/* rest after the authority */
	size_t		 pathlen;
};

static bool
is_alnum(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9');
}

static bool
is_unreserved(int c)
{
	return is_alnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

static int
lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

static bool
is_hex(int c)
{
	return (c >= '0' && c <= '9') || (lower(c) >= 'a' && lower(c) <= 'f');
}

/* RFC 3986 pchar and '/', as allowed in a VKS base path. */
static bool
is_path_char(int c)
{
	return is_unreserved(c) || c == '/' || c == '%' || c == ':' ||
	    c == '@' || c == '!' || c == '$' || c == '&' || c == '\'' ||
	    c == '(' || c == ')' || c == '*' || c == '+' || c == ',' ||
	    c == ';' || c == '=';
}

/*
 * Parses "host[:port]" at p up to the first '/', '?' or '#' and fills
 * host, port and has_port.  *end is set past the authority.
 */
static int
parse_authority(struct url_parts *u, const char *p, const char **end,
    const char *url, struct pgps_err *err)
{
	const char *q = p, *h, *he;
	size_t n;
	unsigned long port = 0;

	while (*q != '\0' && *q != '/' && *q != '?' && *q != '#') {
		if (*q == '@')
			/* Do not quote the URL: it may hold a password. */
			return pgps_err_set(err, PGPS_EFORMAT,
			    "keyserver URLs with a user name are not "
			    "supported");
		q++;
	}
	*end = q;
	h = p;
	if (*h == '[') {
		he = memchr(h, ']', (size_t)(q - h));
		if (he == NULL || he == h + 1)
			return pgps_err_set(err, PGPS_EFORMAT,
			    "'%.*s': bad IPv6 address", URL_QUOTE_MAX, url);
		for (const char *c = h + 1; c < he; c++)
			if (!is_hex(*c) && *c != ':' && *c != '.')
				return pgps_err_set(err, PGPS_EFORMAT,
				    "'%.*s': bad IPv6 address", URL_QUOTE_MAX,
				    url);
		he++;
	} else {
		he = h;
		while (he < q && *he != ':')
			he++;
		for (const char *c = h; c < he; c++) {
			if ((unsigned char)*c >= 0x80)
				return pgps_err_set(err, PGPS_EUNSUPPORTED,
				    "'%.*s': non-ASCII host name (use its "
				    "xn-- form)", URL_QUOTE_MAX, url);
			if (!is_alnum(*c) && *c != '-' && *c != '.' &&
			    *c != '_')
				return pgps_err_set(err, PGPS_EFORMAT,
				    "'%.*s': bad character in host name",
				    URL_QUOTE_MAX, url);
		}
	}
	n = (size_t)(he - h);
	if (n == 0)
		return pgps_err_set(err, PGPS_EFORMAT, "'%.*s': no host name",
		    URL_QUOTE_MAX, url);
	if (n >= sizeof(u->host))
		return pgps_err_set(err, PGPS_ELIMIT,
		    "'%.*s': host name too long", URL_QUOTE_MAX, url);
	for (size_t i = 0; i < n; i++)
		u->host[i] = (char)lower(h[i]);
	u->host[n] = '\0';
	u->has_port = false;
	if (he < q) {
		if (*he != ':' || he + 1 == q || q - (he + 1) > 5)
			return pgps_err_set(err, PGPS_EFORMAT,
			    "'%.*s': bad port", URL_QUOTE_MAX, url);
		for (const char *c = he + 1; c < q; c++) {
			if (*c < '0' || *c > '9')
				return pgps_err_set(err, PGPS_EFORMAT,
				    "'%.*s': bad port", URL_QUOTE_MAX, url);
			port = port * 10 + (unsigned long)(*c - '0');
		}
		if (port == 0 || port > 65535)
			return pgps_err_set(err, PGPS_EFORMAT,
			    "'%.*s': port out of range", URL_QUOTE_MAX, url);
		u->has_port = true;
		u->port = (unsigned int)port;
	}
	return 0;
}

/* Splits "scheme://authority/rest" for the given scheme list. */
static int
parse_url(struct url_parts *u, const char **scheme, const char *url,
    struct pgps_err *err)
{
	static const char *const schemes[] = {
		"hkp", "hkps", "vks", "http", "https"
	};
	const char *sep, *end;
	size_t n;
	int r;

	if (url == NULL || (sep = strstr(url, "://")) == NULL)
		return pgps_err_set(err, PGPS_EFORMAT,
		    "'%.*s': not a URL (scheme://host)", URL_QUOTE_MAX,
		    url != NULL ? url : "");
	n = (size_t)(sep - url);
	*scheme = NULL;
	for (size_t i = 0; i < PGPS_ARRAY_SIZE(schemes); i++)
		if (strlen(schemes[i]) == n &&
		    strncasecmp(url, schemes[i], n) == 0)
			*scheme = schemes[i];
	if (*scheme == NULL)
		return pgps_err_set(err, PGPS_EUNSUPPORTED,
		    "'%.*s': unsupported scheme (hkp, hkps, vks, https, "
		    "http)", URL_QUOTE_MAX, url);
	end = sep + 3;
	if ((r = parse_authority(u, sep + 3, &end, url, err)) != 0)
		return r;
	u->path = end;
	u->pathlen = strlen(end);
	u->tls = strcmp(*scheme, "hkp") != 0 && strcmp(*scheme, "http") != 0;
	return 0;
}

int
net_server_parse(struct net_server *out, const char *url,
    struct pgps_err *err)
{
	struct url_parts u;
	const char *scheme, *path;
	size_t pathlen;
	unsigned int defport;
	int n, r;

	if ((r = parse_url(&u, &scheme, url, err)) != 0)
		return r;
	path = u.path;
	pathlen = u.pathlen;
	if (memchr(path, '?', pathlen) != NULL ||
	    memchr(path, '#', pathlen) != NULL)
		return pgps_err_set(err, PGPS_EFORMAT,
		    "'%.*s': a keyserver URL has no query or fragment",
		    URL_QUOTE_MAX, url);
	/* A base path ends without '/': request paths start with one. */
	while (pathlen > 0 && path[pathlen - 1] == '/')
		pathlen--;
	if (strcmp(scheme, "hkp") == 0 || strcmp(scheme, "hkps") == 0 ||
	    strcmp(scheme, "vks") == 0) {
		if (pathlen != 0)
			return pgps_err_set(err, PGPS_EFORMAT,
			    "'%.*s': %s:// URLs have no path", URL_QUOTE_MAX,
			    url, scheme);
	}
	for (size_t i = 0; i < pathlen; i++)
		if (!is_path_char((unsigned char)path[i]))
			return pgps_err_set(err, PGPS_EFORMAT,
			    "'%.*s': bad character in path", URL_QUOTE_MAX,
			    url);
	out->kind = scheme[0] == 'h' && scheme[1] == 'k' ? NET_SERVER_HKP :
	    NET_SERVER_VKS;
	out->tls = u.tls;
	/* hkp:// is HTTP on 11371 (GnuPG dirmngr ks-engine-hkp.c). */
	defport = strcmp(scheme, "hkp") == 0 ? NET_HKP_PORT :
	    u.tls ? 443 : 80;
	out->port = u.has_port ? u.port : defport;
	memcpy(out->host, u.host, sizeof(out->host));
	if (strcmp(scheme, "hkp") == 0 || out->port != (u.tls ? 443u : 80u))
		n = snprintf(out->base, sizeof(out->base), "%s://%s:%u%.*s",
		    u.tls ? "https" : "http", out->host, out->port,
		    (int)pathlen, path);
	else
		n = snprintf(out->base, sizeof(out->base), "%s://%s%.*s",
		    u.tls ? "https" : "http", out->host, (int)pathlen, path);
	if (n < 0 || (size_t)n >= sizeof(out->base))
		return pgps_err_set(err, PGPS_ELIMIT, "'%.*s': URL too long",
		    URL_QUOTE_MAX, url);
	return 0;
}

int
net_url_hostport(char *hostport, bool *tls, const char *url,
    struct pgps_err *err)
{
	struct url_parts u;
	const char *scheme;
	int r;

	if ((r = parse_url(&u, &scheme, url, err)) != 0)
		return r;
	if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)
		return pgps_err_set(err, PGPS_EUNSUPPORTED,
		    "'%.*s': not an http or https URL", URL_QUOTE_MAX, url);
	if (!u.has_port)
		u.port = u.tls ? 443 : 80;
	snprintf(hostport, NET_HOSTPORT_MAX, "%s:%u", u.host, u.port);
	*tls = u.tls;
	return 0;
}

/*
 * Percent-encodes p[0..len): bytes that keep() accepts are copied as they
 * are (in runs: armor is mostly base64), a space becomes '+' when
 * space_plus is set, everything else %XX in upper case.
 */
static int
pct_encode(struct buf *out, const uint8_t *p, size_t len,
    bool (*keep)(int), bool space_plus)
{
	char esc[4];
	size_t run;
	int r;

	for (size_t i = 0; i < len; i += run) {
		run = 0;
		while (i + run < len && keep(p[i + run]))
			run++;
		if (run > 0) {
			if ((r = buf_add(out, p + i, run)) != 0)
				return r;
			continue;
		}
		run = 1;
		if (space_plus && p[i] == ' ') {
			if ((r = buf_addch(out, '+')) != 0)
				return r;
			continue;
		}
		esc[0] = '%';
		hex_encode_upper(esc + 1, p + i, 1);
		if ((r = buf_add(out, esc, 3)) != 0)
			return r;
	}
	return 0;
}

/* application/x-www-form-urlencoded keeps ALPHA DIGIT "-._*". */
static bool
is_form_safe(int c)
{
	return is_alnum(c) || c == '-' || c == '.' || c == '_' || c == '*';
}

int
net_url_escape(struct buf *out, const uint8_t *p, size_t len)
{
	return pct_encode(out, p, len, is_unreserved, false);
}

int
net_form_encode(struct buf *out, const uint8_t *p, size_t len)
{
	return pct_encode(out, p, len, is_form_safe, true);
}

int
net_add_body(struct buf *out, const char *armor, size_t len)
{
	int r;

	if ((r = buf_addstr(out, "keytext=")) != 0)
		return r;
	return net_form_encode(out, (const uint8_t *)armor, len);
}

static int
check_email(const char *email, struct pgps_err *err)
{
	const char *at;

	if (email == NULL || email[0] == '\0')
		return pgps_err_set(err, PGPS_EFORMAT, "empty e-mail address");
	at = strrchr(email, '@');
	if (at == NULL || at == email || at[1] == '\0')
		return pgps_err_set(err, PGPS_EFORMAT,
		    "'%.*s': not an e-mail address", URL_QUOTE_MAX, email);
	for (const char *c = email; *c != '\0'; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			return pgps_err_set(err, PGPS_EFORMAT,
			    "e-mail address with a control character");
	return 0;
}

int
net_url_lookup(struct buf *out, const struct net_server *s,
    enum net_query_kind kind, const uint8_t *id, size_t idlen,
    const char *email, struct pgps_err *err)
{
	char hex[2 * 32 + 1];
	const char *path;
	int r;

	switch (kind) {
	case NET_QUERY_FPR:
		if (id == NULL || (idlen != 20 && idlen != 32))
			return pgps_err_set(err, PGPS_EFORMAT,
			    "fingerprint of %zu octets (want 20 or 32)", idlen);
		break;
	case NET_QUERY_KEYID:
		if (id == NULL || idlen != 8)
			return pgps_err_set(err, PGPS_EFORMAT,
			    "key ID of %zu octets (want 8)", idlen);
		break;
	case NET_QUERY_EMAIL:
		if ((r = check_email(email, err)) != 0)
			return r;
		break;
	default:
		return pgps_err_set(err, PGPS_EINTERNAL, "bad query kind");
	}
	if (kind != NET_QUERY_EMAIL)
		hex_encode_upper(hex, id, idlen);
	if ((r = buf_addstr(out, s->base)) != 0)
		return r;
	if (s->kind == NET_SERVER_HKP) {
		/*
		 * op, options, search in this order: keys.openpgp.org serves
		 * exactly "op=get&options=mr&search=0x<FPR>" from a static
		 * fast path (hagrid-routes.conf).
		 */
		if ((r = buf_addstr(out,
		    "/pks/lookup?op=get&options=mr&search=")) != 0)
			return r;
		if (kind != NET_QUERY_EMAIL)
			return buf_addf(out, "0x%s", hex);
		if ((r = net_url_escape(out, (const uint8_t *)email,
		    strlen(email))) != 0)
			return r;
		return buf_addstr(out, "&exact=on");
	}
	path = kind == NET_QUERY_FPR ? "/vks/v1/by-fingerprint/" :
	    kind == NET_QUERY_KEYID ? "/vks/v1/by-keyid/" : "/vks/v1/by-email/";
	if ((r = buf_addstr(out, path)) != 0)
		return r;
	if (kind != NET_QUERY_EMAIL)
		return buf_addstr(out, hex);
	return net_url_escape(out, (const uint8_t *)email, strlen(email));
}

int
net_url_index(struct buf *out, const struct net_server *s,
    const char *search)
{
	int r;

	if ((r = buf_addstr(out, s->base)) != 0 ||
	    (r = buf_addstr(out,
	    "/pks/lookup?op=index&options=mr&search=")) != 0)
		return r;
	return net_url_escape(out, (const uint8_t *)search, strlen(search));
}
