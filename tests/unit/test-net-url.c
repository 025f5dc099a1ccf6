/*
 * test-net-url.c: keyserver URL parsing, lookup URLs, the /pks/add body
 * and WKD hashes and URLs.
 */
#include "util/common.h"

#include "net/net.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/hex.h"

#include "tap.h"

/* tests/data/keys/revoked-ed25519.asc */
static const char *fpr_hex = "8F604638676DC8EEB6B176FD1BA17B11D6FD2ACB";

/*
 * The exact body a live SKS 1.1.6 accepted for "Added User 4" (its reply
 * was "1 key(s) added successfully").
 */
static const char sks_add_body[] =
    "keytext=-----BEGIN+PGP+PUBLIC+KEY+BLOCK-----%0A%0AmDMEawQmjRYJKwYBBAHa"
    "Rw8BAQdA2aW5ilVi36O77797zuGp1GuCQwrJ9mkeuN53%0As2lnGrO0IUFkZGVkIFVzZXI"
    "gNCA8YWRkZWQ0QGV4YW1wbGUubmV0PoiQBBMWCAA4%0AFiEExuYJpAalHEHaxWfTD5KNPi"
    "KcoUIFAmsEJo0CGwMFCwkIBwIGFQoJCAsCBBYC%0AAwECHgECF4AACgkQD5KNPiKcoUK96"
    "gEAnIVpkUppGT9TsoWI9owGGXnkUjCmgSGG%0Anc5z5SD9L%2FUBAMk0Gw5YR2p1bIx4%2F"
    "WOgTY1e2ABDraT1r93ws6g%2FPMEM%0A%3DjZJ9%0A-----END+PGP+PUBLIC+KEY+BLOC"
    "K-----%0A";

static void
test_server(const char *url, int kind, bool tls, unsigned int port,
    const char *host, const char *base)
{
	struct net_server s;
	struct pgps_err err = PGPS_ERR_INIT;
	int r;

	r = net_server_parse(&s, url, &err);
	is_int(r, 0, "parse '%s'", url);
	if (r != 0) {
		diag("%s", err.msg);
		return;
	}
	is_int(s.kind, kind, "  kind");
	is_int(s.tls, tls, "  tls");
	is_int(s.port, port, "  port");
	is_str(s.host, host, "  host");
	is_str(s.base, base, "  base");
}

static void
test_bad_server(const char *url, int code, const char *in_msg)
{
	struct net_server s;
	struct pgps_err err = PGPS_ERR_INIT;

	is_int(net_server_parse(&s, url, &err), code, "refuse '%s'", url);
	if (in_msg != NULL)
		ok(strstr(err.msg, in_msg) != NULL, "  message '%s' has '%s'",
		    err.msg, in_msg);
}

static void
test_servers(void)
{
	char longurl[400];
	struct net_server s;
	struct pgps_err err = PGPS_ERR_INIT;

	test_server("hkp://keys.example.org", NET_SERVER_HKP, false, 11371,
	    "keys.example.org", "http://keys.example.org:11371");
	test_server("hkp://Keys.Example.ORG:8080/", NET_SERVER_HKP, false,
	    8080, "keys.example.org", "http://keys.example.org:8080");
	test_server("hkp://localhost:80", NET_SERVER_HKP, false, 80,
	    "localhost", "http://localhost:80");
	test_server("hkps://keys.openpgp.org", NET_SERVER_HKP, true, 443,
	    "keys.openpgp.org", "https://keys.openpgp.org");
	test_server("HKPS://keys.openpgp.org:8443", NET_SERVER_HKP, true, 8443,
	    "keys.openpgp.org", "https://keys.openpgp.org:8443");
	test_server("vks://keys.openpgp.org", NET_SERVER_VKS, true, 443,
	    "keys.openpgp.org", "https://keys.openpgp.org");
	test_server("https://keys.openpgp.org/", NET_SERVER_VKS, true, 443,
	    "keys.openpgp.org", "https://keys.openpgp.org");
	test_server("https://example.org/key-server//", NET_SERVER_VKS, true,
	    443, "example.org", "https://example.org/key-server");
	test_server("http://127.0.0.1:8080/p", NET_SERVER_VKS, false, 8080,
	    "127.0.0.1", "http://127.0.0.1:8080/p");
	test_server("hkp://[::1]:11372", NET_SERVER_HKP, false, 11372,
	    "[::1]", "http://[::1]:11372");
	test_server("hkps://[2001:DB8::1]", NET_SERVER_HKP, true, 443,
	    "[2001:db8::1]", "https://[2001:db8::1]");

	test_bad_server("keys.openpgp.org", PGPS_EFORMAT, "keys.openpgp.org");
	test_bad_server("ftp://keys.example.org", PGPS_EUNSUPPORTED,
	    "'ftp://keys.example.org'");
	test_bad_server("ldap://keys.example.org", PGPS_EUNSUPPORTED, NULL);
	test_bad_server("hkp://", PGPS_EFORMAT, "no host");
	test_bad_server("hkp://:11371", PGPS_EFORMAT, "no host");
	test_bad_server("hkp://host:", PGPS_EFORMAT, "port");
	test_bad_server("hkp://host:0", PGPS_EFORMAT, "port");
	test_bad_server("hkp://host:65536", PGPS_EFORMAT, "port");
	test_bad_server("hkp://host:123456", PGPS_EFORMAT, "port");
	test_bad_server("hkp://host:8a", PGPS_EFORMAT, "port");
	test_bad_server("hkp://host/pks", PGPS_EFORMAT, "no path");
	test_bad_server("vks://host/x", PGPS_EFORMAT, "no path");
	test_bad_server("https://host/?q=1", PGPS_EFORMAT, "query");
	test_bad_server("https://host/#frag", PGPS_EFORMAT, "query");
	test_bad_server("https://host/a b", PGPS_EFORMAT, "path");
	test_bad_server("hkp://ho st", PGPS_EFORMAT, "host");
	test_bad_server("hkp://b\xc3\xbc" "cher.de", PGPS_EUNSUPPORTED, "xn--");
	test_bad_server("hkp://[zz::1]", PGPS_EFORMAT, "IPv6");
	test_bad_server("hkp://[::1", PGPS_EFORMAT, "IPv6");
	test_bad_server("hkp://[]", PGPS_EFORMAT, "IPv6");
	/* The password must not end up in a message. */
	test_bad_server("hkps://user:s3cret@keys.example.org", PGPS_EFORMAT,
	    "user name");
	pgps_err_clear(&err);
	net_server_parse(&s, "hkps://user:s3cret@keys.example.org", &err);
	ok(strstr(err.msg, "s3cret") == NULL, "no password in the message");
	memset(longurl, 'a', sizeof(longurl));
	memcpy(longurl, "hkp://", 6);
	longurl[sizeof(longurl) - 1] = '\0';
	test_bad_server(longurl, PGPS_ELIMIT, "too long");
	ok(net_server_parse(&s, NULL, &err) == PGPS_EFORMAT, "NULL URL");
}

static void
test_hostport(void)
{
	char hp[NET_HOSTPORT_MAX];
	bool tls = false;
	struct pgps_err err = PGPS_ERR_INIT;

	is_int(net_url_hostport(hp, &tls, "https://Example.ORG/.well-known/x"
	    "?l=a", &err), 0, "hostport of an https URL");
	is_str(hp, "example.org:443", "  example.org:443");
	ok(tls, "  TLS");
	is_int(net_url_hostport(hp, &tls, "http://127.0.0.1:8080", &err), 0,
	    "hostport of an http URL");
	is_str(hp, "127.0.0.1:8080", "  127.0.0.1:8080");
	ok(!tls, "  no TLS");
	is_int(net_url_hostport(hp, &tls, "hkp://keys.example.org", &err),
	    PGPS_EUNSUPPORTED, "hkp:// is no plain URL");
}

static void
test_lookup(void)
{
	struct net_server hkp, vks, hkps;
	struct buf b = BUF_INIT;
	struct pgps_err err = PGPS_ERR_INIT;
	uint8_t fpr[20], fpr6[32], keyid[8];

	hex_decode(fpr, 20, fpr_hex, 40);
	memcpy(keyid, fpr + 12, 8);
	for (size_t i = 0; i < 32; i++)
		fpr6[i] = (uint8_t)(0xa0 + i);
	net_server_parse(&hkp, "hkp://keys.example.org", NULL);
	net_server_parse(&hkps, "hkps://keys.openpgp.org", NULL);
	net_server_parse(&vks, "vks://keys.openpgp.org", NULL);

	is_int(net_url_lookup(&b, &hkp, NET_QUERY_FPR, fpr, 20, NULL, &err), 0,
	    "HKP lookup by fingerprint");
	is_str((char *)b.p, "http://keys.example.org:11371/pks/lookup?op=get"
	    "&options=mr&search=0x8F604638676DC8EEB6B176FD1BA17B11D6FD2ACB",
	    "  op, options, search in keys.openpgp.org's fast-path order");
	buf_reset(&b);
	is_int(net_url_lookup(&b, &hkps, NET_QUERY_KEYID, keyid, 8, NULL,
	    &err), 0, "HKPS lookup by key ID");
	is_str((char *)b.p, "https://keys.openpgp.org/pks/lookup?op=get&"
	    "options=mr&search=0x1BA17B11D6FD2ACB", "  16 hex digits");
	buf_reset(&b);
	is_int(net_url_lookup(&b, &hkp, NET_QUERY_EMAIL, NULL, 0,
	    "Joe.Doe+pgp@Example.ORG", &err), 0, "HKP lookup by e-mail");
	is_str((char *)b.p, "http://keys.example.org:11371/pks/lookup?op=get&"
	    "options=mr&search=Joe.Doe%2Bpgp%40Example.ORG&exact=on",
	    "  escaped, exact=on");
	buf_reset(&b);
	is_int(net_url_lookup(&b, &hkp, NET_QUERY_FPR, fpr6, 32, NULL, &err),
	    0, "HKP lookup by v6 fingerprint");
	ok(b.len == strlen("http://keys.example.org:11371/pks/lookup?op=get&"
	    "options=mr&search=0x") + 64, "  64 hex digits");
	buf_reset(&b);
	is_int(net_url_lookup(&b, &vks, NET_QUERY_FPR, fpr, 20, NULL, &err), 0,
	    "VKS lookup by fingerprint");
	is_str((char *)b.p, "https://keys.openpgp.org/vks/v1/by-fingerprint/"
	    "8F604638676DC8EEB6B176FD1BA17B11D6FD2ACB", "  no 0x, upper case");
	buf_reset(&b);
	is_int(net_url_lookup(&b, &vks, NET_QUERY_KEYID, keyid, 8, NULL, &err),
	    0, "VKS lookup by key ID");
	is_str((char *)b.p, "https://keys.openpgp.org/vks/v1/by-keyid/"
	    "1BA17B11D6FD2ACB", "  by-keyid");
	buf_reset(&b);
	is_int(net_url_lookup(&b, &vks, NET_QUERY_EMAIL, NULL, 0,
	    "test@example.org", &err), 0, "VKS lookup by e-mail");
	is_str((char *)b.p, "https://keys.openpgp.org/vks/v1/by-email/"
	    "test%40example.org", "  by-email");

	buf_reset(&b);
	is_int(net_url_lookup(&b, &hkp, NET_QUERY_FPR, fpr, 16, NULL, &err),
	    PGPS_EFORMAT, "16-octet fingerprint refused");
	is_int(net_url_lookup(&b, &hkp, NET_QUERY_KEYID, keyid, 4, NULL, &err),
	    PGPS_EFORMAT, "short key ID refused");
	is_int(net_url_lookup(&b, &hkp, NET_QUERY_EMAIL, NULL, 0, "nobody",
	    &err), PGPS_EFORMAT, "address without '@' refused");
	is_int(net_url_lookup(&b, &hkp, NET_QUERY_EMAIL, NULL, 0, NULL, &err),
	    PGPS_EFORMAT, "no address refused");
	is_int(net_url_lookup(&b, &hkp, NET_QUERY_EMAIL, NULL, 0, "a\n@b.org",
	    &err), PGPS_EFORMAT, "control character refused");
	is_int((int)b.len, 0, "nothing appended on failure");

	is_int(net_url_index(&b, &hkp, "Bernhard Schmidt"), 0, "index URL");
	is_str((char *)b.p, "http://keys.example.org:11371/pks/lookup?op=index"
	    "&options=mr&search=Bernhard%20Schmidt", "  escaped search");
	buf_release(&b);
}

/* Reverses application/x-www-form-urlencoded. */
static void
form_decode(struct buf *out, const char *s)
{
	for (; *s != '\0'; s++) {
		uint8_t v;

		if (*s == '+')
			buf_addch(out, ' ');
		else if (*s == '%' && hex_decode(&v, 1, s + 1, 2) == 0) {
			buf_addch(out, v);
			s += 2;
		} else
			buf_addch(out, (uint8_t)*s);
	}
}

static void
test_forms(void)
{
	struct buf b = BUF_INIT, armor = BUF_INIT;
	const char *plain = "a b+c/=\n\r-._*~%&\xff";
	bool clean = true;

	is_int(net_form_encode(&b, (const uint8_t *)plain, strlen(plain)), 0,
	    "form-encode");
	is_str((char *)b.p, "a+b%2Bc%2F%3D%0A%0D-._*%7E%25%26%FF",
	    "  space as '+', the rest %XX");
	buf_reset(&b);
	is_int(net_url_escape(&b, (const uint8_t *)plain, strlen(plain)), 0,
	    "URL-escape");
	is_str((char *)b.p, "a%20b%2Bc%2F%3D%0A%0D-._%2A~%25%26%FF",
	    "  RFC 3986 unreserved kept");

	/* Decode what SKS accepted and encode it again: same bytes. */
	form_decode(&armor, sks_add_body + strlen("keytext="));
	ok(strncmp((char *)armor.p, "-----BEGIN PGP PUBLIC KEY BLOCK-----\n",
	    37) == 0, "the captured body holds an armored key");
	buf_reset(&b);
	is_int(net_add_body(&b, (char *)armor.p, armor.len), 0, "add body");
	is_int((int)b.len, (int)strlen(sks_add_body), "  length as SKS got it");
	is_str((char *)b.p, sks_add_body, "  byte for byte as SKS got it");
	ok(strncmp((char *)b.p, "keytext=", 8) == 0, "  starts with keytext=");
	for (size_t i = 0; i < b.len; i++)
		if (b.p[i] == ' ' || b.p[i] == '\n' || b.p[i] == '\r')
			clean = false;
	ok(clean, "  no raw blank or line end (SKS reads keytext=%%s)");
	buf_release(&b);
	buf_release(&armor);
}

static void
test_wkd(void)
{
	char h[33], h2[33];
	struct buf b = BUF_INIT;
	struct pgps_err err = PGPS_ERR_INIT;
	static const char *const bad[] = {
		"nobody", "@example.org", "joe@", "joe@exa mple.org",
		"joe@b\xc3\xbc" "cher.de", "joe@.example.org", "joe@a..b",
		"joe@example.org.", "jo\te@example.org"
	};

	net_wkd_hash(h, "Joe.Doe", 7);
	is_str(h, "iy9q119eutrkn8s1mk4r39qejnbu3n5q", "WKD hash of Joe.Doe");
	net_wkd_hash(h2, "joe.doe", 7);
	is_str(h2, h, "  ASCII case does not matter");
	net_wkd_hash(h2, "J\xc3\x96" "e", 4);
	net_wkd_hash(h, "j\xc3\xb6" "e", 4);
	ok(strcmp(h, h2) != 0, "  non-ASCII is not lower-cased");

	is_int(net_wkd_url(&b, "Joe.Doe@Example.ORG", NET_WKD_DIRECT, &err),
	    0, "direct URL");
	is_str((char *)b.p, "https://example.org/.well-known/openpgpkey/hu/"
	    "iy9q119eutrkn8s1mk4r39qejnbu3n5q?l=Joe.Doe",
	    "  the draft's vector");
	buf_reset(&b);
	is_int(net_wkd_url(&b, "Joe.Doe@Example.ORG", NET_WKD_ADVANCED, &err),
	    0, "advanced URL");
	is_str((char *)b.p, "https://openpgpkey.example.org/.well-known/"
	    "openpgpkey/example.org/hu/iy9q119eutrkn8s1mk4r39qejnbu3n5q?"
	    "l=Joe.Doe", "  openpgpkey subdomain and domain in the path");
	buf_reset(&b);
	is_int(net_wkd_url(&b, "\"a@b\"@example.org", NET_WKD_DIRECT, &err),
	    0, "quoted local part with '@'");
	ok(strstr((char *)b.p, "?l=%22a%40b%22") != NULL, "  l= escaped: %s",
	    (char *)b.p);
	for (size_t i = 0; i < PGPS_ARRAY_SIZE(bad); i++) {
		buf_reset(&b);
		pgps_err_clear(&err);
		ok(net_wkd_url(&b, bad[i], NET_WKD_DIRECT, &err) ==
		    PGPS_EFORMAT && b.len == 0, "refuse '%s' (%s)", bad[i],
		    err.msg);
	}
	buf_release(&b);
}

int
main(void)
{
	test_servers();
	test_hostport();
	test_lookup();
	test_forms();
	test_wkd();
	return done_testing();
}
