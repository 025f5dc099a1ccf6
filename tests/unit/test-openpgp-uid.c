/*
 * test-openpgp-uid.c: the addresses of a certificate's user IDs
 * (openpgp/uid.h): in "Name <addr>" and bare form, each once, in packet
 * order, at most max; user IDs with no address, spaces, controls or a
 * NUL give none; user attributes and signatures are not user IDs.
 */
#include "util/common.h"

#include "openpgp/uid.h"
#include "tap.h"

static void
add(struct pgp_cert *c, uint8_t tag, const char *body, size_t len)
{
	struct pgp_packet *p = &c->pkts[c->npkts++];

	memset(p, 0, sizeof(*p));
	p->tag = tag;
	p->body = (const uint8_t *)body;
	p->bodylen = len;
}

#define UID(c, s)	add((c), PGP_TAG_USER_ID, (s), strlen(s))

int
main(void)
{
	struct pgp_packet pkts[16];
	struct pgp_cert c = PGP_CERT_INIT;
	char **v = NULL;
	size_t n = 99;

	c.pkts = pkts;
	is_int(pgp_cert_addresses(&v, &n, &c, 0), 0, "no packets");
	ok(v == NULL && n == 0, "no addresses");

	UID(&c, "Alice <alice@example.org>");
	add(&c, PGP_TAG_SIGNATURE, "x <sig@example.org>", 19);
	UID(&c, "bare@example.org");
	UID(&c, "Again <alice@example.org>");
	UID(&c, "No address at all");
	UID(&c, "Space <a b@example.org>");
	UID(&c, "Escape <x\033[2J@example.org>");
	add(&c, PGP_TAG_USER_ID, "Nul <n\0@example.org>", 20);
	add(&c, PGP_TAG_USER_ATTRIBUTE, "<attr@example.org>", 18);
	UID(&c, "Case <ALICE@example.org>");
	UID(&c, "Last <<x@y> <last@example.org>");

	is_int(pgp_cert_addresses(&v, &n, &c, 0), 0, "every address");
	is_int(n, 4, "four");
	if (n == 4) {
		is_str(v[0], "alice@example.org", "from a name-address user ID");
		is_str(v[1], "bare@example.org", "a bare address");
		is_str(v[2], "ALICE@example.org", "once each, as octets");
		is_str(v[3], "last@example.org", "the last <...> counts");
	}
	pgp_addresses_free(v, n);

	is_int(pgp_cert_addresses(&v, &n, &c, 2), 0, "at most two");
	ok(n == 2 && strcmp(v[1], "bare@example.org") == 0,
	    "the first two, in packet order");
	pgp_addresses_free(v, n);
	pgp_addresses_free(NULL, 0);
	return done_testing();
}
