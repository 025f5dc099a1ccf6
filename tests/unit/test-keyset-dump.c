/*
 * test-keyset-dump.c: writing keydump files (keyset/dump.h): SKS's file
 * names made and parsed; a split into numbered files whose metadata
 * lists each file's MD5 and the number of certificates, refusing a
 * directory that already holds a dump of that prefix; one output, binary
 * or armored, put in place only at the commit.
 */
#include "util/common.h"

#include <sys/stat.h>
#include <unistd.h>

#include "tap.h"
#include "data.h"
#include "keyset/dump.h"
#include "openpgp/openpgp.h"
#include "util/digest.h"
#include "util/hex.h"

static uint8_t *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *p = NULL;
	long n;

	*len = 0;
	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0 && (p = malloc((size_t)n + 1)) != NULL &&
	    fread(p, 1, (size_t)n, f) == (size_t)n)
		*len = (size_t)n;
	fclose(f);
	return p;
}

static void
test_names(void)
{
	char name[64];
	size_t plen;
	unsigned long n;
	int width;

	dump_file_name(name, sizeof(name), "sks-dump", 4, 7);
	is_str(name, "sks-dump-0007.pgp", "file 7 of a dump");
	dump_file_name(name, sizeof(name), "x", 0, 12345);
	is_str(name, "x-12345.pgp", "at least 4 digits, more when needed");
	ok(dump_file_name_parse("sks-dump-0042.pgp", &plen, &n, &width) &&
	    plen == 8 && n == 42 && width == 4, "a name parsed back");
	ok(!dump_file_name_parse("sks-dump-0042.asc", &plen, &n, &width),
	    "not .pgp: not a dump file name");
	ok(!dump_file_name_parse("sks-dump-42x.pgp", &plen, &n, &width),
	    "not a number");
	ok(!dump_file_name_parse("-0001.pgp", &plen, &n, &width),
	    "no prefix");
	ok(!dump_file_name_parse("a-1", &plen, &n, &width),
	    "too short for .pgp");
}

static void
test_split(const char *dir, const uint8_t *const *c, const size_t *len)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct dump_split *s = NULL;
	struct pgp_cert cert[3] = { PGP_CERT_INIT, PGP_CERT_INIT,
	    PGP_CERT_INIT };
	struct digest *md5 = digest_new(DIGEST_MD5);
	char path[512], want[1024], hex[33], line[256];
	uint8_t h[16], *p, *meta;
	size_t n, metalen, good = 0;

	ok(dump_split_open(&s, dir, "a/b", 2, &err) < 0,
	    "a prefix with '/' refused");
	pgps_err_clear(&err);
	is_int(dump_split_open(&s, dir, "t", 2, &err), 0, "split opened");
	for (size_t k = 0; k < 3; k++)
		if (pgp_cert_parse(&cert[k], c[k], len[k], 0, NULL) != 0)
			exit(1);
	for (size_t k = 0; k < 5; k++)
		if (dump_split_add(s, &cert[k % 3], NULL, &err) != 0)
			break;
	is_int(dump_split_certs(s), 5, "5 certificates");
	is_int(dump_split_finish(s, &err), 0, "finished");
	is_int(dump_split_files(s), 3, "2 per file: 3 files");
	dump_split_free(s);

	snprintf(path, sizeof(path), "%s/metadata-t.txt", dir);
	meta = slurp(path, &metalen);
	ok(meta != NULL && strstr((char *)meta, "#Files-Count: 3\n") != NULL &&
	    strstr((char *)meta, "#Key-Count: 5\n") != NULL &&
	    strstr((char *)meta, "#Digest-algo: md5\n") != NULL,
	    "metadata: counts and digest");
	for (size_t f = 0; f < 3; f++) {
		snprintf(path, sizeof(path), "%s/t-%04zu.pgp", dir, f);
		p = slurp(path, &n);
		if (p == NULL)
			continue;
		digest_reset(md5);
		digest_update(md5, p, n);
		digest_final(md5, h);
		hex_encode_lower(hex, h, 16);
		snprintf(line, sizeof(line), "%s  t-%04zu.pgp\n", hex, f);
		good += meta != NULL && strstr((char *)meta, line) != NULL;
		if (f == 2)
			ok(n == len[1], "the last file holds the fifth");
		free(p);
	}
	is_int(good, 3, "each file's MD5 listed");
	free(meta);

	pgps_err_clear(&err);
	is_int(dump_split_open(&s, dir, "t", 2, &err), 1,
	    "a second dump of the same prefix refused");
	snprintf(want, sizeof(want), "%s/t-0000.pgp", dir);
	ok(strstr(err.msg, want) != NULL, "naming the file that is there");
	for (size_t k = 0; k < 3; k++)
		pgp_cert_release(&cert[k]);
	digest_free(md5);
}

static void
test_out(const char *dir, const uint8_t *const *c, const size_t *len)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct dump_out o;
	struct buf bin = BUF_INIT, want = BUF_INIT;
	char path[512];
	uint8_t *p;
	size_t n;

	snprintf(path, sizeof(path), "%s/out.pgp", dir);
	is_int(dump_out_open(&o, path, false, &err), 0, "binary output");
	for (size_t k = 0; k < 3; k++) {
		dump_out_write(&o, c[k], len[k], &err);
		buf_add(&want, c[k], len[k]);
	}
	ok(access(path, F_OK) != 0, "nothing in place before the commit");
	is_int(dump_out_commit(&o, &err), 0, "committed");
	p = slurp(path, &n);
	ok(p != NULL && n == want.len && memcmp(p, want.p, n) == 0,
	    "the certificates as written");
	free(p);

	is_int(dump_out_open(&o, path, true, &err), 0, "armored output");
	dump_out_write(&o, c[0], len[0], &err);
	dump_out_abort(&o);
	p = slurp(path, &n);
	ok(p != NULL && n == want.len, "an abort leaves the file as it was");
	free(p);

	dump_out_open(&o, path, true, &err);
	for (size_t k = 0; k < 3; k++)
		dump_out_write(&o, c[k], len[k], &err);
	is_int(dump_out_commit(&o, &err), 0, "armored committed");
	p = slurp(path, &n);
	ok(p != NULL && pgp_armor_detect(p, n) &&
	    pgp_armor_decode(&bin, p, n, 0, &err) == 0 &&
	    bin.len == want.len && memcmp(bin.p, want.p, bin.len) == 0,
	    "one armored block of the same certificates");
	free(p);
	buf_release(&bin);
	buf_release(&want);
}

int
main(int argc, char **argv)
{
	static const char *files[3] = { "certs/alice.pgp", "certs/bob.pgp",
	    "certs/alice-later.pgp" };
	char dir[] = "/tmp/test-keyset-dump.XXXXXX", cmd[128];
	uint8_t *c[3];
	size_t len[3];

	(void)argc;
	data_dir_set(argv[0]);
	for (size_t k = 0; k < 3; k++)
		c[k] = data_slurp(files[k], &len[k]);
	if (mkdtemp(dir) == NULL)
		return 1;
	test_names();
	test_split(dir, (const uint8_t *const *)c, len);
	test_out(dir, (const uint8_t *const *)c, len);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		diag("cannot remove %s", dir);
	for (size_t k = 0; k < 3; k++)
		free(c[k]);
	return done_testing();
}
