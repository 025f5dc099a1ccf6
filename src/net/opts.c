/*
 * opts.c: command-line options to a client configuration (opts.h).
 */
#include "util/common.h"

#include "net/opts.h"

/* Used when no keyserver is named: keys.openpgp.org, then Hockeypuck. */
static const char *const default_servers[] = {
	"hkps://keys.openpgp.org",
	"hkps://keyserver.ubuntu.com"
};

static const struct {
	const char		*name;
	bool			 text;
	unsigned long long	 min, max;
} opt_info[] = {
	[NET_OPT_CA_FILE] = { "ca-file", true, 0, 0 },
	[NET_OPT_JOBS] = { "jobs", false, 1, 256 },
	[NET_OPT_PER_SERVER] = { "per-server", false, 1, 64 },
	[NET_OPT_PROXY] = { "proxy", true, 0, 0 },
	[NET_OPT_RETRIES] = { "retries", false, 0, 100 },
	[NET_OPT_TIMEOUT] = { "timeout", false, 1, 86400 },
	[NET_OPT_MAX_RESPONSE] = { "max-response", false, 1024, SIZE_MAX }
};

const char *
net_opt_name(enum net_opt_id id)
{
	if ((size_t)id >= PGPS_ARRAY_SIZE(opt_info))
		return "?";
	return opt_info[id].name;
}

void
net_opts_default(struct net_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->max_total = 8;
	/* keys.openpgp.org slows down beyond 5 lookups/s (hagrid MR !119). */
	o->max_per_host = 4;
	o->connect_timeout_ms = 10000;
	o->low_speed_time = 30;
	o->low_speed_limit = 1;
	o->timeout_ms = 0;
	o->retries = 3;
	o->backoff_ms = 500;
	o->backoff_max_ms = 30000;
	o->retry_after_max_ms = 60000;
	o->max_body = NET_DEFAULT_MAX_BODY;
}

void
net_opts_cli_default(struct net_opts *o)
{
	net_opts_default(o);
	o->timeout_ms = 60000;
}

int
net_opts_set_num(struct net_opts *o, enum net_opt_id id,
    unsigned long long v)
{
	if ((size_t)id >= PGPS_ARRAY_SIZE(opt_info) || opt_info[id].text ||
	    v < opt_info[id].min || v > opt_info[id].max)
		return PGPS_EFORMAT;
	switch (id) {
	case NET_OPT_JOBS:
		o->max_total = (unsigned int)v;
		break;
	case NET_OPT_PER_SERVER:
		o->max_per_host = (unsigned int)v;
		break;
	case NET_OPT_RETRIES:
		o->retries = (unsigned int)v;
		break;
	case NET_OPT_TIMEOUT:
		o->timeout_ms = (long)v * 1000;
		if (o->low_speed_time > (long)v)
			o->low_speed_time = (long)v;
		if (o->connect_timeout_ms > o->timeout_ms)
			o->connect_timeout_ms = o->timeout_ms;
		break;
	case NET_OPT_MAX_RESPONSE:
		o->max_body = (size_t)v;
		break;
	default:
		return PGPS_EFORMAT;
	}
	return 0;
}

int
net_opts_set_str(struct net_opts *o, enum net_opt_id id, const char *s)
{
	switch (id) {
	case NET_OPT_CA_FILE:
		o->ca_file = s;
		return 0;
	case NET_OPT_PROXY:
		o->proxy = s;
		return 0;
	default:
		return PGPS_EFORMAT;
	}
}

void
net_opts_serial(struct net_opts *o)
{
	o->max_total = o->max_per_host = 1;
}

int
net_servers_parse(struct net_server *srv, const char **urls, size_t *n,
    struct pgps_err *err)
{
	int r;

	if (*n == 0)
		for (size_t i = 0; i < PGPS_ARRAY_SIZE(default_servers); i++)
			urls[(*n)++] = default_servers[i];
	for (size_t i = 0; i < *n; i++)
		if ((r = net_server_parse(&srv[i], urls[i], err)) != 0)
			return r;
	return 0;
}
