/*
 * fuzz-url.c: the URL and name parsers of the network layer on arbitrary
 * text: keyserver URLs (net_server_parse()), connection targets
 * (net_url_hostport()), WKD addresses (net_wkd_url()), and the lookup,
 * index and upload requests built from such text.
 *
 * The input, cut at its first NUL, is tried as each.  Besides memory
 * errors it checks that an accepted server gives a base URL and host that
 * are NUL-terminated within their arrays, a port that is not 0, and a
 * base URL that parses again to the same server (for the kinds whose
 * base is itself a server URL).
 */
#include "util/common.h"

#include "net/net.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fail(const char *what, const char *url)
{
	fprintf(stderr, "fuzz-url: %s: '%s'\n", what, url);
	abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct net_server s, s2;
	struct buf out = BUF_INIT;
	char hostport[NET_HOST_MAX + 8], *u;
	bool tls;

	if (size > 4096 || (u = malloc(size + 1)) == NULL)
		return 0;
	memcpy(u, data, size);
	u[size] = '\0';
	if (net_server_parse(&s, u, &err) == 0) {
		if (memchr(s.host, '\0', sizeof(s.host)) == NULL ||
		    memchr(s.base, '\0', sizeof(s.base)) == NULL)
			fail("a server name not terminated", u);
		if (s.port == 0 || s.port > 65535)
			fail("port out of range", u);
		if (s.kind == NET_SERVER_VKS && strncmp(u, "vks://", 6) != 0) {
			if (net_server_parse(&s2, s.base, &err) != 0 ||
			    s2.kind != s.kind || s2.port != s.port ||
			    strcmp(s2.base, s.base) != 0 ||
			    strcmp(s2.host, s.host) != 0)
				fail("a base URL that does not parse again", u);
		}
		if (net_url_hostport(hostport, &tls, s.base, &err) != 0)
			fail("a server's base URL has no host and port", u);
	}
	(void)net_url_hostport(hostport, &tls, u, &err);
	buf_init(&out, 0);
	(void)net_url_escape(&out, data, size);
	buf_reset(&out);
	(void)net_form_encode(&out, data, size);
	buf_reset(&out);
	(void)net_wkd_url(&out, u, NET_WKD_ADVANCED, &err);
	buf_reset(&out);
	(void)net_wkd_url(&out, u, NET_WKD_DIRECT, &err);
	buf_reset(&out);
	(void)net_add_body(&out, u, size);
	if (net_server_parse(&s, "hkp://127.0.0.1", &err) == 0) {
		buf_reset(&out);
		(void)net_url_lookup(&out, &s, NET_QUERY_EMAIL, NULL, 0, u,
		    &err);
		buf_reset(&out);
		(void)net_url_index(&out, &s, u);
	}
	buf_release(&out);
	free(u);
	return 0;
}
