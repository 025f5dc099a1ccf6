/*
 * test-net-stats.c: the keyserver statistics page parser on pages shaped
 * as SKS 1.1.6 and Hockeypuck write them, and on hostile ones.
 */
#include "util/common.h"

#include "net/stats.h"
#include "util/buf.h"
#include "util/err.h"

#include "tap.h"

/* The layout of SKS 1.1.6's stats.ml (info_tables and the page). */
static const char sks_page[] =
    "<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n"
    "<html xmlns=\"http://www.w3.org/1999/xhtml\">\r\n<head>\r\n"
    "<title>SKS OpenPGP Keyserver statistics&nbsp;|&nbsp;Taken at "
    "2026-03-01 10:20:30 UTC</title>\r\n"
    "<style type=\"text/css\">\r\n/*<![CDATA[*/\r\n"
    " .uid { color: green; } <tr><td>style 1</td></tr>\r\n"
    "/*]]>*/\r\n</style></head><body><div class=\"disclaimer\">Not "
    "verified.</div><h1>SKS OpenPGP Keyserver statistics<br />Taken at "
    "2026-03-01 10:20:30 UTC</h1><h2>Settings</h2>\n"
    "     <table summary=\"Keyserver Settings\">\n"
    "     <tr><td>Hostname:</td><td>Keys.Example.ORG</td></tr>\n"
    "     <tr><td>Nodename:</td><td>node1</td></tr>\n"
    "     <tr><td>Version:</td><td>1.1.6</td></tr>\n"
    "     <tr><td>Server contact:</td><td>0x1234</td></tr>\n"
    "     <tr><td>HTTP port:</td><td>11371</td></tr>\n"
    "     <tr><td>Recon port:</td><td>11370</td></tr>\n"
    "     <tr><td>Debug level:</td><td>3</td></tr>\n"
    "</table>\r\n\n\n<table summary=\"Keyserver Peers\" width=\"100%\">\n"
    "<tr valign=\"top\"><td>\n<h2>Gossip Peers</h2>\n"
    "<table summary=\"Gossip Peers\">\n"
    "<tr><td>pgp.example.net 11370</td></tr>\n"
    "<tr><td>192.0.2.7 11380</td></tr>\n"
    "<tr><td>2001:db8::1 11370</td></tr>\n"
    "<tr><td>pgp.example.net 11370</td></tr>\n"
    "<tr><td>bad*host 11370</td></tr>\n"
    "</table>\n</td><td>\n<h2>Outgoing Mailsync Peers</h2>\n"
    "<table summary=\"Mailsync Peers\">\n"
    "<tr><td>pgp-public-keys@mail.example.net</td></tr>\n"
    "</table>\n</td></tr></table>\r\n"
    "<h2>Statistics</h2><p>Total number of keys: 5123456</p>\n"
    "<h3>Daily Histogram</h3>\n<table summary=\"Statistics\" border=\"1\">\n"
    "<tr><td>Time</td><td>New Keys</td><td>Updated Keys</td></tr>\n"
    "<tr><td>2026-03-01</td><td>10</td><td>3</td></tr>\n</table>\n"
    "</body></html>";

/* The layout of Hockeypuck's contrib/templates/stats.html.tmpl. */
static const char hkp_page[] =
    "<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Strict//EN\">\n"
    "<html><head><title>Hockeypuck OpenPGP Keyserver Statistics</title>\n"
    "</head><body><h1>Hockeypuck OpenPGP Keyserver Statistics</h1>\n"
    "<p>Taken at 2026-03-01T10:20:30+01:00</p>\n"
    "<h2 id=\"settings\">Settings</h2>\n<table>\n"
    "<tr><th>Hostname</th><td>hkp.example.com</td></tr>\n"
    "<tr><th>Version</th><td>2.2.3</td></tr>\n"
    "<tr><th>HTTP</th><td>:11371</td></tr>\n"
    "<tr><th>Recon</th><td>:11370</td></tr>\n</table>\n"
    "<h3 id=\"gossip-peers\">Gossip Peers</h3>\n"
    "<table><tr><th>Name</th><th>HTTP</th><th>Recon</th>"
    "<th>Recon Status</th><th>Recovery Status</th></tr>\n"
    "<tr><td>a</td><td><a href=\"http://a.example.com:11371/pks/lookup?"
    "op=stats\">a.example.com:11371</a></td><td>a.example.com:11370</td>"
    "<td>OK</td><td>OK</td></tr>\n"
    "<tr><td>b</td><td><a href=\"http://b.example.com:80/x\">"
    "web.example.com:80</a></td><td>[2001:DB8::2]:11370</td><td>Stale"
    "</td><td>OK</td></tr>\n"
    "<tr><td>m</td><td>k****1</td><td>k****1</td><td>OK</td><td>OK</td>"
    "</tr>\n</table>\n"
    "<h3 id=\"pks-recipients\">PKS Targets</h3>\n"
    "<table><tr><th>Address</th><th>Permanent</th><th>Active</th></tr>\n"
    "<tr><td>mailto:x@example.com</td><td>true</td><td>true</td></tr>\n"
    "</table>\n<h2 id=\"statistics\">Statistics</h2>\n"
    "Total number of keys: 42\n</body></html>\n";

/* The fields of Hockeypuck's server/server.go type stats. */
static const char hkp_json[] =
    "  {\"now\":\"2026-03-01T10:20:30Z\",\"version\":\"2.2.3\","
    "\"hostname\":\"hkp.example.com\",\"nodename\":\"n\","
    "\"httpAddr\":\":11371\",\"reconAddr\":\":11370\","
    "\"software\":\"Hockeypuck\",\"total\":42,"
    "\"peers\":[{\"name\":\"a\",\"httpAddr\":\"a.example.com:11371\","
    "\"reconAddr\":\"a.example.com:11370\",\"statsPath\":"
    "\"/pks/lookup?op=stats\",\"reconStatus\":\"OK\"},"
    "{\"name\":\"m\",\"httpAddr\":\"k****1\",\"reconAddr\":\"k****1\","
    "\"masked\":true},"
    "{\"name\":\"c\",\"httpAddr\":\"\",\"reconAddr\":\"c.example.com:11370\""
    "},7],\"hourly\":[],\"daily\":null}";

static int
parse(struct net_stats *st, const char *s, size_t len, struct pgps_err *err)
{
	return net_stats_parse(st, (const uint8_t *)s, len, err);
}

static void
test_sks(void)
{
	struct net_stats st = NET_STATS_INIT;
	struct pgps_err err = PGPS_ERR_INIT;

	is_int(parse(&st, sks_page, strlen(sks_page), &err), 0, "sks: parses");
	is_int(st.kind, NET_STATS_SKS_HTML, "sks: kind");
	is_str(st.software, "SKS", "sks: software");
	is_str(st.version, "1.1.6", "sks: version");
	is_str(st.hostname, "keys.example.org", "sks: host name lower-cased");
	ok(st.keys == 5123456, "sks: key count %lld", st.keys);
	is_int(st.hkp_port, 11371, "sks: HTTP port");
	is_int(st.recon_port, 11370, "sks: recon port");
	is_str(st.taken, "2026-03-01 10:20:30 UTC", "sks: taken at");
	ok(st.taken_time == 1772360430, "sks: taken at as Unix time");
	is_int(st.npeers, 3, "sks: three peers, style and mailsync ignored");
	is_int(st.peers_skipped, 2, "sks: a repeat and a bad name skipped");
	if (st.npeers == 3) {
		is_str(st.peers[0].host, "pgp.example.net", "sks: peer 0");
		is_int(st.peers[0].recon_port, 11370, "sks: peer 0 port");
		is_int(st.peers[0].hkp_port, 0, "sks: no HKP port listed");
		is_int(st.peers[1].recon_port, 11380, "sks: peer 1 port");
		is_str(st.peers[2].host, "[2001:db8::1]", "sks: v6 peer");
	}
	net_stats_release(&st);
}

static void
test_hockeypuck(void)
{
	struct net_stats st = NET_STATS_INIT;
	struct pgps_err err = PGPS_ERR_INIT;

	is_int(parse(&st, hkp_page, strlen(hkp_page), &err), 0, "hkp: parses");
	is_int(st.kind, NET_STATS_HOCKEYPUCK_HTML, "hkp: kind");
	is_str(st.software, "Hockeypuck", "hkp: software");
	is_str(st.version, "2.2.3", "hkp: version");
	ok(st.keys == 42, "hkp: key count");
	is_int(st.hkp_port, 11371, "hkp: HTTP from :11371");
	is_int(st.recon_port, 11370, "hkp: recon");
	ok(st.taken_time == 1772356830, "hkp: RFC 3339 time with offset");
	is_int(st.npeers, 2, "hkp: two peers, header and PKS targets not");
	is_int(st.peers_skipped, 1, "hkp: masked peer skipped");
	if (st.npeers == 2) {
		is_str(st.peers[0].host, "a.example.com", "hkp: peer 0");
		is_int(st.peers[0].hkp_port, 11371, "hkp: peer 0 HTTP");
		is_int(st.peers[0].recon_port, 11370, "hkp: peer 0 recon");
		is_str(st.peers[1].host, "[2001:db8::2]", "hkp: peer 1 v6");
		is_int(st.peers[1].hkp_port, 0,
		    "hkp: HTTP on another host not taken");
	}
	net_stats_release(&st);

	is_int(parse(&st, hkp_json, strlen(hkp_json), &err), 0,
	    "json: parses");
	is_int(st.kind, NET_STATS_HOCKEYPUCK_JSON, "json: kind");
	is_str(st.version, "2.2.3", "json: version");
	ok(st.keys == 42, "json: total");
	ok(st.taken_time == 1772360430, "json: now");
	is_int(st.hkp_port, 11371, "json: httpAddr");
	is_int(st.npeers, 2, "json: two peers");
	is_int(st.peers_skipped, 2, "json: masked and non-object skipped");
	if (st.npeers == 2) {
		is_str(st.peers[1].host, "c.example.com", "json: peer c");
		is_int(st.peers[1].hkp_port, 0, "json: peer c no HTTP");
	}
	net_stats_release(&st);
}

static void
test_addr(void)
{
	char host[NET_HOST_MAX];
	unsigned int port = 99;

	is_int(net_stats_addr(host, &port, " h.Example 11370 ", 17), 0,
	    "addr: host port");
	is_str(host, "h.example", "addr: lower case");
	is_int(port, 11370, "addr: port");
	is_int(net_stats_addr(host, &port, "h:0", 3), PGPS_EFORMAT,
	    "addr: port 0");
	is_int(net_stats_addr(host, &port, "h:65536", 7), PGPS_EFORMAT,
	    "addr: port too big");
	is_int(net_stats_addr(host, &port, "[::1", 4), PGPS_EFORMAT,
	    "addr: unclosed bracket");
	is_int(net_stats_addr(host, &port, "h/x:1", 5), PGPS_EFORMAT,
	    "addr: slash");
	is_int(net_stats_addr(host, &port, "::1", 3), 0, "addr: bare v6");
	is_str(host, "[::1]", "addr: bare v6 bracketed");
	is_int(port, 0, "addr: no port");
}

static void
test_hostile(void)
{
	struct net_stats st = NET_STATS_INIT;
	struct pgps_err err = PGPS_ERR_INIT;
	struct buf b = BUF_INIT;
	size_t i;

	is_int(parse(&st, "<html><body>hello</body></html>", 31, &err),
	    PGPS_EFORMAT, "hostile: not a stats page");
	ok(strstr(err.msg, "not a keyserver statistics page") != NULL,
	    "hostile: says so (%s)", err.msg);
	pgps_err_clear(&err);
	is_int(parse(&st, "{\"total\": [", 11, &err), PGPS_EFORMAT,
	    "hostile: broken JSON");
	ok(strstr(err.msg, "offset") != NULL, "hostile: JSON offset");
	diag("%s", err.msg);
	pgps_err_clear(&err);
	is_int(parse(&st, "", 0, &err), PGPS_EFORMAT, "hostile: empty");
	pgps_err_clear(&err);

	/* 20000 peers, deeply nested, unclosed tags, truncated at the end. */
	buf_addstr(&b, "<h2>Gossip Peers</h2><table>");
	for (i = 0; i < 20000; i++)
		buf_addf(&b, "<div><table><tr><td><b>p%zu.example 11370"
		    "</td></tr>", i);
	buf_addstr(&b, "<tr><td>&#x41;&#99999999999; &bogus; &amp");
	is_int(parse(&st, (const char *)b.p, b.len, &err), 0,
	    "hostile: 20000 nested peers parse");
	is_int(st.npeers, NET_STATS_MAX_PEERS, "hostile: peers capped");
	is_int(st.peers_skipped, 20000 - NET_STATS_MAX_PEERS + 1,
	    "hostile: the rest counted");
	ok(st.keys == -1, "hostile: no key count");
	net_stats_release(&st);
	buf_release(&b);

	/* A peer table cut inside a tag, a comment never closed. */
	is_int(parse(&st, "<h3>Gossip Peers</h3><tr><td>a 1</td><td", 40,
	    &err), 0, "hostile: cut inside a tag");
	is_int(st.npeers, 1, "hostile: the cut row still counts");
	net_stats_release(&st);
	is_int(parse(&st, "Total number of keys: 99999999999999999999<!--",
	    46, &err), 0, "hostile: huge key count");
	ok(st.keys == -1, "hostile: huge count not taken");
	net_stats_release(&st);
}

int
main(void)
{
	test_sks();
	test_hockeypuck();
	test_addr();
	test_hostile();
	return done_testing();
}
