/*
 * test-net-vks.c: the JSON of the VKS API (net/vks.h) -- the bodies sent,
 * and answers from a hostile server: not JSON, truncated, duplicate keys,
 * wrong types, another key's fingerprint, addresses the certificate does
 * not have (with escape sequences), deep nesting, a flood of statuses,
 * error replies with and without a message.
 */
#include "util/common.h"

#include "net/vks.h"
#include "tap.h"

#define FPR	"FE1CCB7B72A1234A35C8A49781CE7FEFFDAB8B83"

static const char *const own[] = { "alice@example.org", "Alice@Example.NET" };

static struct net_vks_answer ans = NET_VKS_ANSWER_INIT;
static struct pgps_err err;

static int
parse(const char *json)
{
	pgps_err_clear(&err);
	return net_vks_answer_parse(&ans, (const uint8_t *)json, strlen(json),
	    "http://ks/vks/v1/upload", FPR, own, 2, &err);
}

static void
test_bodies(void)
{
	struct buf b = BUF_INIT;
	const char *addrs[] = { "a@example.org", "b\"\\@example.org" };

	ok(net_vks_upload_body(&b, (const uint8_t *)"-----BEGIN\n\"x\"", 14)
	    == 0, "an upload body");
	is_str((char *)b.p, "{\"keytext\":\"-----BEGIN\\n\\\"x\\\"\"}",
	    "the armor as one JSON string, escaped");
	buf_reset(&b);
	ok(net_vks_upload_body(&b, (const uint8_t *)"\xff", 1) ==
	    PGPS_EFORMAT && b.len == 0, "armor that is not UTF-8 is refused");
	ok(net_vks_verify_body(&b, "t0k", addrs, 2) == 0,
	    "a request-verify body");
	is_str((char *)b.p, "{\"token\":\"t0k\",\"addresses\":[\"a@example.org\","
	    "\"b\\\"\\\\@example.org\"]}", "token and addresses, escaped");
	buf_reset(&b);
	ok(net_vks_verify_body(&b, "\xc0\x80", addrs, 2) == PGPS_EFORMAT &&
	    b.len == 0, "a token that is not UTF-8 is refused");
	buf_release(&b);
}

static void
test_answers(void)
{
	char deep[4096];
	struct buf flood = BUF_INIT;
	size_t n;

	ok(parse("{\"key_fpr\":\"" FPR "\",\"status\":{\"alice@example.net\":"
	    "\"unpublished\",\"alice@example.org\":\"published\"},"
	    "\"token\":\"t0k3n\"}") == 0, "an upload result");
	ok(ans.statuses && ans.nst == 2, "two statuses");
	is_str(ans.st[0].address, "alice@example.net", "sorted by address");
	is_str(ans.st[0].status, "unpublished", "with its status");
	is_str(ans.st[1].address, "alice@example.org", "and the other");
	is_str(ans.token, "t0k3n", "the token");
	is_int(ans.nunexpected, 0, "nothing unexpected");

	ok(parse("{\"key_fpr\":\"" "fe1ccb7b72a1234a35c8a49781ce7feffdab8b83"
	    "\"}") == 0 && ans.statuses && ans.nst == 0 && ans.token == NULL,
	    "lower-case fingerprint, no statuses, no token");
	ok(parse("[\"" FPR "\",\"0000\"]") == 0 && !ans.statuses,
	    "a list (several certificates): accepted, no statuses");

	ok(parse("{\"status\":{\"alice@example.org\":\"published\","
	    "\"mallory\\u001b[2J@example.org\":\"published\","
	    "\"ALICE@EXAMPLE.ORG.evil\":\"published\"}}") == 0,
	    "addresses the certificate lacks");
	is_int(ans.nst, 1, "only its own address has a status");
	is_int(ans.nunexpected, 2, "the others are anomalies");
	ok(parse("{\"status\":{\"alice@example.net\":\"published\"}}") == 0 &&
	    ans.nst == 1, "addresses compare without case");
	ok(parse("{\"status\":{\"alice@example.org\":7,"
	    "\"alice@example.net\":null}}") == 0 && ans.nst == 0 &&
	    ans.nunexpected == 0, "statuses that are not strings are skipped");

	is_int(parse("not json"), PGPS_EPROTO, "not JSON");
	ok(strstr(err.msg, "'http://ks/vks/v1/upload': unreadable answer: ")
	    == err.msg && strstr(err.msg, " at offset ") != NULL,
	    "named, with the offset");
	is_int(parse("{\"key_fpr\":\"" FPR), PGPS_EPROTO, "truncated");
	is_int(parse(""), PGPS_EPROTO, "empty");
	is_int(parse("{\"status\":{\"alice@example.org\":\"published\","
	    "\"alice@example.org\":\"unpublished\"}}"), PGPS_EPROTO,
	    "a duplicate address is refused, not the last one taken");
	is_int(parse("{\"token\":\"a\",\"token\":\"b\"}"), PGPS_EPROTO,
	    "a duplicate token is refused");
	is_int(parse("{\"key_fpr\":\"0000000000000000000000000000000000000000\""
	    "}"), PGPS_EPROTO, "another key's fingerprint");
	ok(strstr(err.msg, "another key ('00000") != NULL, "said so");
	is_int(parse("{\"key_fpr\":\"\\u001b]0;x\\u0007\"}"), PGPS_EPROTO,
	    "a fingerprint with escapes");
	ok(strchr(err.msg, 0x1b) == NULL && strchr(err.msg, 0x07) == NULL,
	    "not echoed raw");
	is_int(parse("{\"key_fpr\":7}"), PGPS_EPROTO, "a number fingerprint");
	is_int(parse("{\"status\":[]}"), PGPS_EPROTO, "status not an object");
	is_int(parse("{\"token\":{}}"), PGPS_EPROTO, "token not a string");
	is_int(parse("\"string\""), PGPS_EPROTO, "a string");
	is_int(parse("7"), PGPS_EPROTO, "a number");
	ok(!ans.statuses && ans.nst == 0 && ans.token == NULL,
	    "a refusal leaves an empty answer");

	for (n = 0; n < 1000; n++)
		deep[n] = '[';
	deep[n] = '\0';
	is_int(parse(deep), PGPS_EPROTO, "a thousand open brackets");

	buf_addstr(&flood, "{\"status\":{");
	for (n = 0; n < 20000; n++)
		buf_addf(&flood, "%s\"x%zu@example.org\":\"published\"",
		    n > 0 ? "," : "", n);
	buf_addstr(&flood, ",\"alice@example.org\":\"published\"}}");
	ok(parse((char *)flood.p) == 0 && ans.nst == 1 &&
	    ans.nunexpected == 20000, "a flood of statuses: one is its own");
	buf_release(&flood);
	net_vks_answer_release(&ans);
	ok(ans.st == NULL && ans.nst == 0, "released");
}

static void
test_errors(void)
{
	struct buf body = BUF_INIT;
	struct net_result res;
	char why[300];

	memset(&res, 0, sizeof(res));
	res.url = "http://ks/vks/v1/upload";
	res.error = "'http://ks/vks/v1/upload': HTTP 400";
	res.status = 400;
	res.attempts = 1;
	res.body = &body;
	buf_addstr(&body, "{\"error\":\"Failed parsing key\\u001b[31m\"}");
	net_vks_error(why, sizeof(why), &res);
	is_str(why, "'http://ks/vks/v1/upload': HTTP 400: Failed parsing "
	    "key?[31m", "the server's error, made safe");
	buf_reset(&body);
	buf_addstr(&body, "{\"message\":\"maintenance\"}");
	res.attempts = 3;
	net_vks_error(why, sizeof(why), &res);
	is_str(why, "'http://ks/vks/v1/upload': HTTP 400: maintenance "
	    "(3 attempts)", "Hagrid's maintenance message, with attempts");
	buf_reset(&body);
	buf_addstr(&body, "<html>");
	net_vks_error(why, sizeof(why), &res);
	is_str(why, res.error, "no JSON: the client's message");
	buf_reset(&body);
	buf_addstr(&body, "{\"error\":7}");
	net_vks_error(why, sizeof(why), &res);
	is_str(why, res.error, "an error that is not a string");
	res.status = 200;
	buf_reset(&body);
	buf_addstr(&body, "{\"error\":\"x\"}");
	net_vks_error(why, sizeof(why), &res);
	is_str(why, res.error, "only for error statuses");
	buf_release(&body);
}

int
main(void)
{
	test_bodies();
	test_answers();
	test_errors();
	return done_testing();
}
