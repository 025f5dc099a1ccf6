/*
 * test-net-opts.c: command-line options to a client configuration
 * (net/opts.h): ranges, what a time-out changes besides itself, the
 * default servers, and refusals that leave the configuration alone.
 */
#include "util/common.h"

#include "net/opts.h"
#include "tap.h"

static void
test_defaults(void)
{
	struct net_opts o, lib;

	net_opts_default(&lib);
	net_opts_cli_default(&o);
	is_int(o.timeout_ms, 60000, "a command's requests time out in 60 s");
	ok(o.max_total == lib.max_total && o.max_per_host ==
	    lib.max_per_host && o.retries == lib.retries &&
	    o.max_body == lib.max_body, "the rest is the client's default");
	net_opts_serial(&o);
	ok(o.max_total == 1 && o.max_per_host == 1, "serial: one at a time");
}

static void
test_numbers(void)
{
	struct net_opts o, before;

	net_opts_cli_default(&o);
	is_int(net_opts_set_num(&o, NET_OPT_JOBS, 256), 0, "jobs 256");
	is_int(o.max_total, 256, "taken");
	before = o;
	is_int(net_opts_set_num(&o, NET_OPT_JOBS, 257), PGPS_EFORMAT,
	    "jobs 257 refused");
	is_int(net_opts_set_num(&o, NET_OPT_JOBS, 0), PGPS_EFORMAT,
	    "jobs 0 refused");
	is_int(net_opts_set_num(&o, NET_OPT_PER_SERVER, 65), PGPS_EFORMAT,
	    "per-server 65 refused");
	is_int(net_opts_set_num(&o, NET_OPT_RETRIES, 101), PGPS_EFORMAT,
	    "retries 101 refused");
	is_int(net_opts_set_num(&o, NET_OPT_TIMEOUT, 86401), PGPS_EFORMAT,
	    "timeout of more than a day refused");
	is_int(net_opts_set_num(&o, NET_OPT_TIMEOUT, ~0ULL), PGPS_EFORMAT,
	    "a huge timeout refused, not wrapped");
	is_int(net_opts_set_num(&o, NET_OPT_MAX_RESPONSE, 1023),
	    PGPS_EFORMAT, "max-response under 1 KiB refused");
	is_int(net_opts_set_num(&o, NET_OPT_PROXY, 1), PGPS_EFORMAT,
	    "a number for a text option refused");
	is_int(net_opts_set_num(&o, (enum net_opt_id)99, 1), PGPS_EFORMAT,
	    "an unknown option refused");
	ok(memcmp(&o, &before, sizeof(o)) == 0, "refusals change nothing");

	is_int(net_opts_set_num(&o, NET_OPT_RETRIES, 0), 0, "retries 0");
	is_int(o.retries, 0, "taken");
	is_int(net_opts_set_num(&o, NET_OPT_PER_SERVER, 64), 0,
	    "per-server 64");
	is_int(o.max_per_host, 64, "taken");
	is_int(net_opts_set_num(&o, NET_OPT_MAX_RESPONSE, 1024), 0,
	    "max-response 1024");
	is_int(o.max_body, 1024, "taken");

	/* A short time-out pulls the others in; a long one leaves them. */
	net_opts_cli_default(&o);
	before = o;
	is_int(net_opts_set_num(&o, NET_OPT_TIMEOUT, 3), 0, "timeout 3");
	is_int(o.timeout_ms, 3000, "in milliseconds");
	is_int(o.connect_timeout_ms, 3000, "connect time-out no longer");
	is_int(o.low_speed_time, 3, "low-speed time no longer");
	net_opts_cli_default(&o);
	is_int(net_opts_set_num(&o, NET_OPT_TIMEOUT, 86400), 0,
	    "timeout 86400");
	ok(o.connect_timeout_ms == before.connect_timeout_ms &&
	    o.low_speed_time == before.low_speed_time,
	    "a long time-out leaves the others");
}

static void
test_text(void)
{
	struct net_opts o;
	const char *ca = "ca.pem", *px = "socks5h://127.0.0.1:9050";

	net_opts_cli_default(&o);
	is_int(net_opts_set_str(&o, NET_OPT_CA_FILE, ca), 0, "ca-file");
	ok(o.ca_file == ca, "kept as given");
	is_int(net_opts_set_str(&o, NET_OPT_PROXY, px), 0, "proxy");
	ok(o.proxy == px, "kept as given");
	is_int(net_opts_set_str(&o, NET_OPT_JOBS, "3"), PGPS_EFORMAT,
	    "text for a number option refused");
	is_str(net_opt_name(NET_OPT_PER_SERVER), "per-server", "names");
	is_str(net_opt_name((enum net_opt_id)99), "?", "unknown name");
}

static void
test_servers(void)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct net_server srv[NET_MAX_SERVERS];
	const char *urls[NET_MAX_SERVERS];
	size_t n = 0;

	is_int(net_servers_parse(srv, urls, &n, &err), 0, "no server named");
	is_int(n, 2, "the two defaults");
	is_str(urls[0], "hkps://keys.openpgp.org", "keys.openpgp.org first");
	is_str(srv[1].base, "https://keyserver.ubuntu.com", "then Ubuntu's");
	urls[0] = "hkp://127.0.0.1:1";
	urls[1] = "ftp://example.org";
	n = 2;
	ok(net_servers_parse(srv, urls, &n, &err) != 0 &&
	    strstr(err.msg, "ftp://example.org") != NULL,
	    "a bad URL is refused by name");
	is_int(n, 2, "no default added to named servers");
}

int
main(void)
{
	test_defaults();
	test_numbers();
	test_text();
	test_servers();
	return done_testing();
}
