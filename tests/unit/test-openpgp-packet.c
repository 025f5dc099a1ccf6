/*
 * test-openpgp-packet.c: packet framing, fingerprints and the splitter,
 * including every kind of damage the reader must survive.
 */
#include "util/common.h"

#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include "tap.h"
#include "data.h"

#include "openpgp/openpgp.h"
#include "util/digest.h"
#include "util/hex.h"

/* RFC 9580 appendix A.1: a v4 Ed25519Legacy key, new-format header. */
static const uint8_t rfc_v4[] = {
	0xc6, 0x33, 0x04, 0x53, 0xf3, 0x5f, 0x0b, 0x16, 0x09, 0x2b, 0x06,
	0x01, 0x04, 0x01, 0xda, 0x47, 0x0f, 0x01, 0x01, 0x07, 0x40, 0x3f,
	0x09, 0x89, 0x94, 0xbd, 0xd9, 0x16, 0xed, 0x40, 0x53, 0x19, 0x79,
	0x34, 0xe4, 0xa8, 0x7c, 0x80, 0x73, 0x3a, 0x12, 0x80, 0xd6, 0x2f,
	0x80, 0x10, 0x99, 0x2e, 0x43, 0xee, 0x3b, 0x24, 0x06
};

static void
test_lengths(void)
{
	/* Every header form for one body length, parsed back. */
	static const size_t lens[] = { 0, 1, 191, 192, 255, 256, 1723,
	    8383, 8384, 65535, 65536, 100000 };
	struct buf b = BUF_INIT;
	struct pgps_err err = PGPS_ERR_INIT;

	for (size_t i = 0; i < PGPS_ARRAY_SIZE(lens); i++) {
		for (int tag = 2; tag <= 17; tag += 15) {
			struct pgp_packet p;
			struct span s;
			uint8_t *body = calloc(1, lens[i] + 1);

			buf_reset(&b);
			pgp_packet_write_header(&b, (uint8_t)tag, lens[i]);
			buf_add(&b, body, lens[i]);
			s = span_make(b.p, b.len);
			ok(pgp_packet_parse(&p, &s, 0, NULL, &err) == 0 &&
			    p.tag == tag && p.bodylen == lens[i] && s.len == 0,
			    "tag %d length %zu round trips", tag, lens[i]);
			free(body);
		}
	}
	/* RFC 9580 4.2.3: 1723 is C5 FB in the new format. */
	buf_reset(&b);
	pgp_packet_write_header(&b, 17, 1723);
	ok(b.len == 3 && b.p[1] == 0xc5 && b.p[2] == 0xfb,
	    "1723 encodes as C5 FB");
	buf_release(&b);
}

static void
test_bad_headers(void)
{
	static const uint8_t bit7[] = { 0x34, 0x01, 0x00 };
	static const uint8_t indet[] = { 0x9b, 0x01, 0x02 };
	static const uint8_t trunc[] = { 0x99, 0x01 };
	static const uint8_t lie[] = { 0xc6, 0xff, 0xff, 0xff, 0xff, 0xf0, 1 };
	static const uint8_t tag0[] = { 0xc0, 0x00 };
	struct pgps_err err = PGPS_ERR_INIT;
	struct pgp_packet p;
	struct span s;

	s = span_make(bit7, sizeof(bit7));
	is_int(pgp_packet_parse(&p, &s, 10, NULL, &err), PGPS_EFORMAT,
	    "bit 7 clear is refused");
	ok(strstr(err.msg, "offset 10") != NULL, "message names offset: %s",
	    err.msg);
	pgps_err_clear(&err);
	s = span_make(indet, sizeof(indet));
	is_int(pgp_packet_parse(&p, &s, 0, NULL, &err), PGPS_EFORMAT,
	    "indeterminate length is refused");
	pgps_err_clear(&err);
	s = span_make(trunc, sizeof(trunc));
	is_int(pgp_packet_parse(&p, &s, 0, NULL, &err), PGPS_ETRUNC,
	    "truncated header");
	pgps_err_clear(&err);
	s = span_make(lie, sizeof(lie));
	is_int(pgp_packet_parse(&p, &s, 0, NULL, &err), PGPS_ETRUNC,
	    "a length that lies is refused before anything is read");
	ok(strstr(err.msg, "4294967280") != NULL, "message gives the "
	    "claimed length: %s", err.msg);
	pgps_err_clear(&err);
	s = span_make(tag0, sizeof(tag0));
	is_int(pgp_packet_parse(&p, &s, 0, NULL, &err), PGPS_EFORMAT,
	    "reserved tag 0 is refused");
}

static void
test_partial(void)
{
	struct buf in = BUF_INIT, scratch = BUF_INIT, out = BUF_INIT;
	struct pgps_err err = PGPS_ERR_INIT;
	struct pgp_packet p;
	struct span s;
	uint8_t chunk[512];

	/* Literal data: a 512-byte partial chunk, then 3 final bytes. */
	for (size_t i = 0; i < sizeof(chunk); i++)
		chunk[i] = (uint8_t)i;
	buf_addch(&in, 0xcb);
	buf_addch(&in, 0xe9);		/* partial, 1 << 9 = 512 */
	buf_add(&in, chunk, sizeof(chunk));
	buf_addch(&in, 3);
	buf_add(&in, "xyz", 3);
	s = span_make(in.p, in.len);
	ok(pgp_packet_parse(&p, &s, 0, &scratch, &err) == 0 &&
	    p.bodylen == 515 && (p.flags & PGP_PACKET_PARTIAL) &&
	    memcmp(p.body, chunk, 512) == 0 &&
	    memcmp(p.body + 512, "xyz", 3) == 0, "partial chunks joined");
	pgp_packet_write(&out, &p);
	ok(out.len == 3 + 515 && out.p[0] == 0xcb && out.p[1] == 0xc1 &&
	    out.p[2] == 0x43,
	    "re-framed with a definite length (%02x %02x)", out.p[0],
	    out.len > 1 ? out.p[1] : 0);
	s = span_make(in.p, in.len);
	is_int(pgp_packet_parse(&p, &s, 0, NULL, &err), PGPS_EUNSUPPORTED,
	    "partial refused without scratch space");
	buf_release(&in);
	buf_release(&scratch);
	buf_release(&out);
}

static void
test_fingerprints(void)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct pgp_key_info k;
	char hex[65];
	uint8_t *p;
	size_t len;

	ok(pgp_key_info_parse(&k, rfc_v4 + 2, sizeof(rfc_v4) - 2, &err) == 0,
	    "RFC 9580 A.1 key parses");
	pgp_key_fpr_hex(hex, &k);
	is_str(hex, "C959BDBAFA32A2F89A153B678CFDE12197965A9A",
	    "v4 fingerprint (RFC 9580 A.1)");
	hex_encode_upper(hex, k.keyid, 8);
	is_str(hex, "8CFDE12197965A9A", "v4 key ID is the tail");
	is_str(k.curve, "ed25519", "curve from OID");

	p = data_slurp("packets/v6-rfc9580.bin", &len);
	{
		struct pgp_cert c = PGP_CERT_INIT;

		ok(pgp_cert_parse(&c, p, len, 0, &err) == 0, "v6 cert parses");
		pgp_key_fpr_hex(hex, &c.primary);
		is_str(hex, "CB186C4F0609A697E4D52DFA6C722B0C1F1E27C18A56708F"
		    "6525EC27BAD9ACC9", "v6 fingerprint (RFC 9580 A.3)");
		hex_encode_upper(hex, c.primary.keyid, 8);
		is_str(hex, "CB186C4F0609A697", "v6 key ID is the head");
		for (size_t i = 0; i < c.npkts; i++)
			if (c.pkts[i].tag == PGP_TAG_PUBLIC_SUBKEY) {
				pgp_key_info_parse(&k, c.pkts[i].body,
				    c.pkts[i].bodylen, &err);
				pgp_key_fpr_hex(hex, &k);
				is_str(hex, "12C83F1E706F6308FE151A417743A1F03379"
				    "0E93E9978488D1DB378DA9930885",
				    "v6 subkey fingerprint");
			}
		pgp_cert_release(&c);
	}
	free(p);
	ok(pgp_key_info_parse(&k, (const uint8_t *)"\x07\0\0\0\0\x16", 6,
	    &err) == PGPS_EUNSUPPORTED, "version 7 is unsupported");
}

static void
test_sks_hash(void)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct pgp_cert c = PGP_CERT_INIT;
	struct digest *md5 = digest_new(DIGEST_MD5);
	struct buf bin = BUF_INIT, twice = BUF_INIT;
	uint8_t h[16], *p;
	char hex[33];
	size_t len;

	p = data_slurp("keys/revoked-ed25519.asc", &len);
	ok(pgp_armor_decode(&bin, p, len, 0, &err) == 0 && bin.len == 531,
	    "test cert decodes");
	ok(pgp_cert_parse(&c, bin.p, bin.len, 0, &err) == 0 && c.npkts == 6,
	    "six packets");
	pgp_cert_sks_hash(&c, md5, h);
	hex_encode_upper(hex, h, 16);
	is_str(hex, "E1C80D7B91BC6CD253811D8289D25A3B", "SKS hash vector");

	/* A repeated signature is hashed twice: no de-duplication. */
	buf_add(&twice, bin.p, bin.len);
	buf_add(&twice, bin.p + 53, 122);
	ok(pgp_cert_parse(&c, twice.p, twice.len, 0, &err) == 0 &&
	    c.npkts == 7, "the repeated signature is a seventh packet");
	pgp_cert_sks_hash(&c, md5, h);
	hex_encode_upper(hex, h, 16);
	ok(strcmp(hex, "E1C80D7B91BC6CD253811D8289D25A3B") != 0,
	    "a duplicated packet changes the hash");

	/* Trust packets are not hashed; framing does not matter. */
	buf_reset(&twice);
	buf_add(&twice, bin.p, 53);
	buf_add(&twice, "\xb0\x02\x00\x00", 4);		/* trust */
	buf_add(&twice, bin.p + 53, bin.len - 53);
	pgp_cert_parse(&c, twice.p, twice.len, 0, &err);
	pgp_cert_sks_hash(&c, md5, h);
	hex_encode_upper(hex, h, 16);
	is_str(hex, "E1C80D7B91BC6CD253811D8289D25A3B", "trust is ignored");
	{
		struct buf w = BUF_INIT;

		pgp_cert_write(&w, &c);
		ok(w.len == bin.len && memcmp(w.p, bin.p, bin.len) == 0,
		    "writing drops the trust packet, bytes otherwise kept");
		buf_release(&w);
	}
	buf_reset(&twice);
	/* The same key packet with a new-format header. */
	buf_addch(&twice, 0xc6);
	buf_addch(&twice, 51);
	buf_add(&twice, bin.p + 2, bin.len - 2);
	pgp_cert_parse(&c, twice.p, twice.len, 0, &err);
	pgp_cert_sks_hash(&c, md5, h);
	hex_encode_upper(hex, h, 16);
	is_str(hex, "E1C80D7B91BC6CD253811D8289D25A3B",
	    "header format does not change the hash");
	free(p);
	buf_release(&bin);
	buf_release(&twice);
	pgp_cert_release(&c);
	digest_free(md5);
}

/*
 * Splits p with a memory reader, bare revocations kept when keep_bare:
 * "F" per cert, "E" per error; the last error's message in msg.
 */
static void
split_bare(const uint8_t *p, size_t len, bool keep_bare, char *trace,
    size_t max, char msg[256])
{
	struct pgp_reader *r;
	struct pgp_raw_cert c;
	struct pgps_err err = PGPS_ERR_INIT;
	size_t k = 0;
	int rc;

	msg[0] = '\0';
	if (pgp_reader_open_mem(&r, p, len, "mem", &err) != 0) {
		snprintf(trace, max, "open failed");
		return;
	}
	if (keep_bare)
		pgp_reader_keep_bare(r);
	while ((rc = pgp_reader_next(r, &c, 0, &err)) != 0 && k + 2 < max) {
		trace[k++] = rc == 1 ? 'F' : 'E';
		if (rc != 1)
			memcpy(msg, err.msg, sizeof(err.msg));
		pgps_err_clear(&err);
	}
	trace[k] = '\0';
	pgp_reader_free(r);
}

static void
split(const uint8_t *p, size_t len, char *trace, size_t max)
{
	char msg[256];

	split_bare(p, len, false, trace, max, msg);
}

static void
test_reader(void)
{
	struct buf bin = BUF_INIT, s = BUF_INIT;
	struct pgps_err err = PGPS_ERR_INIT;
	char trace[64], msg[256];
	uint8_t *p;
	size_t len;

	p = data_slurp("keys/revoked-ed25519.asc", &len);
	pgp_armor_decode(&bin, p, len, 0, &err);
	free(p);

	buf_add(&s, bin.p, bin.len);
	buf_add(&s, bin.p, bin.len);
	split(s.p, s.len, trace, sizeof(trace));
	is_str(trace, "FF", "two certs");

	buf_reset(&s);
	buf_add(&s, "\xa8\x03PGP", 5);		/* marker packet */
	buf_add(&s, bin.p, bin.len);
	split(s.p, s.len, trace, sizeof(trace));
	is_str(trace, "F", "a leading marker packet is dropped");

	buf_reset(&s);
	buf_add(&s, bin.p, bin.len);
	buf_add(&s, "garbage!garbage!", 16);
	buf_add(&s, bin.p, bin.len);
	split(s.p, s.len, trace, sizeof(trace));
	is_str(trace, "FEF", "garbage between certs: both certs kept");

	buf_reset(&s);
	buf_add(&s, bin.p, bin.len);
	buf_add(&s, bin.p, bin.len - 30);
	buf_add(&s, bin.p, bin.len);
	split(s.p, s.len, trace, sizeof(trace));
	/*
	 * Its last packet may swallow the start of the next cert, so which
	 * certs survive depends on the bytes; that it goes unreported must
	 * not.
	 */
	ok(strcmp(trace, "FEF") == 0 || strcmp(trace, "FFE") == 0,
	    "a truncated cert in the middle is reported, the one before "
	    "it kept (%s)", trace);

	buf_reset(&s);
	buf_add(&s, bin.p, bin.len);
	buf_add(&s, bin.p, bin.len - 30);
	split(s.p, s.len, trace, sizeof(trace));
	is_str(trace, "FE", "a truncated cert at the end is an error");

	/* revoked-ed25519: key 53, revocation 122, UID 30, self-sig 146 */
	buf_reset(&s);
	buf_add(&s, bin.p + 53, 122);		/* the revocation alone */
	buf_add(&s, bin.p, bin.len);
	split_bare(s.p, s.len, false, trace, sizeof(trace), msg);
	is_str(trace, "EF", "a leading bare revocation is reported");
	is_str(msg, "'mem': offset 0: a key revocation without its key, "
	    "outside any certificate; skipped", "with its offset");
	split_bare(s.p, s.len, true, trace, sizeof(trace), msg);
	is_str(trace, "FF", "or returned to a caller that merges it");

	buf_reset(&s);
	buf_add(&s, bin.p, bin.len);
	buf_add(&s, bin.p + 53, 122);
	buf_add(&s, bin.p + 205, 146);		/* and a self-signature */
	buf_add(&s, bin.p, bin.len);
	for (int keep = 0; keep < 2; keep++) {
		split_bare(s.p + bin.len, s.len - bin.len, keep, trace,
		    sizeof(trace), msg);
		is_str(trace, "EF", "signatures that are not all key "
		    "revocations are reported (%s)",
		    keep ? "kept bare" : "default");
	}
	split_bare(s.p + bin.len, 268, true, trace, sizeof(trace), msg);
	is_str(msg, "'mem': offset 0: 2 signatures outside any certificate; "
	    "skipped", "a mixed run is counted");
	split_bare(s.p + bin.len + 122, 146, true, trace, sizeof(trace), msg);
	is_str(msg, "'mem': offset 0: 1 signature outside any certificate; "
	    "skipped", "a certification alone");

	buf_reset(&s);
	buf_add(&s, bin.p + 175, 30);		/* a lone user ID */
	buf_add(&s, bin.p, bin.len);
	split(s.p, s.len, trace, sizeof(trace));
	is_str(trace, "EF", "packets outside any cert are reported");

	split((const uint8_t *)"", 0, trace, sizeof(trace));
	is_str(trace, "", "empty input has no certs");

	/* The size limit. */
	{
		struct pgp_reader *r;
		struct pgp_raw_cert c;

		pgp_reader_open_mem(&r, bin.p, bin.len, "mem", &err);
		is_int(pgp_reader_next(r, &c, 100, &err), PGPS_ELIMIT,
		    "a cert over max_cert is refused");
		ok(strstr(err.msg, "limit") != NULL, "%s", err.msg);
		pgp_reader_free(r);
	}
	buf_release(&bin);
	buf_release(&s);
}


/*
 * Makes standard input a pipe that a child fills with p[0..len) in writes
 * of chunk bytes; *saved is the old standard input for unpipe_stdin().
 */
static pid_t
pipe_stdin(const uint8_t *p, size_t len, size_t chunk, int *saved)
{
	int fds[2];
	pid_t pid;

	if (pipe(fds) != 0)
		exit(1);
	if ((pid = fork()) == 0) {
		close(fds[0]);
		for (size_t off = 0; off < len; off += chunk)
			if (write(fds[1], p + off, len - off < chunk ?
			    len - off : chunk) < 0)
				_exit(1);
		_exit(0);
	}
	close(fds[1]);
	*saved = dup(0);
	dup2(fds[0], 0);
	close(fds[0]);
	return pid;
}

static void
unpipe_stdin(int saved, pid_t pid)
{
	dup2(saved, 0);
	close(saved);
	waitpid(pid, NULL, 0);
}

/* Runs split() or, with pipe_it, the same through standard input. */
static void
split_any(const uint8_t *p, size_t len, bool pipe_it, char *trace,
    size_t max, char *msgs, size_t msgmax)
{
	struct pgp_reader *r;
	struct pgp_raw_cert c;
	struct pgps_err err = PGPS_ERR_INIT;
	size_t k = 0, m = 0;
	int saved = -1, rc;
	pid_t pid = -1;

	msgs[0] = '\0';
	if (pipe_it) {
		pid = pipe_stdin(p, len, 700, &saved);
		rc = pgp_reader_open_path(&r, "-", &err);
	} else
		rc = pgp_reader_open_mem(&r, p, len, "mem", &err);
	if (rc != 0) {
		snprintf(trace, max, "open failed");
		goto cleanup;
	}
	while ((rc = pgp_reader_next(r, &c, 0, &err)) != 0 && k + 2 < max) {
		trace[k++] = rc == 1 ? 'F' : 'E';
		if (rc != 1 && m + strlen(err.msg) + 2 < msgmax)
			m += (size_t)snprintf(msgs + m, msgmax - m, "%s | ",
			    err.msg);
		if (rc == PGPS_EIO)
			break;
		pgps_err_clear(&err);
	}
	trace[k] = '\0';
	pgp_reader_free(r);
 cleanup:
	if (pipe_it)
		unpipe_stdin(saved, pid);
}

/* Appends bin armored, with the first occurrence of from made to. */
static void
add_armored(struct buf *s, const struct buf *bin, const char *from,
    const char *to)
{
	struct buf a = BUF_INIT;
	char *at;

	pgp_armor_encode(&a, bin->p, bin->len, PGP_ARMOR_PUBLIC_KEY, 0);
	if (from != NULL && (at = strstr((char *)a.p, from)) != NULL) {
		buf_add(s, a.p, (size_t)((uint8_t *)at - a.p));
		buf_addstr(s, to);
		buf_addstr(s, at + strlen(from));
	} else
		buf_add(s, a.p, a.len);
	buf_release(&a);
}

/*
 * Damaged armor loses only its own block, from a file or a pipe; text
 * around blocks is ignored, and a checksum that does not match is only a
 * warning.
 */
static void
test_armor_damage(void)
{
	struct buf bin = BUF_INIT, s = BUF_INIT;
	struct pgps_err err = PGPS_ERR_INIT;
	char trace[64], msgs[2048];
	uint8_t *p;
	size_t len;

	p = data_slurp("keys/revoked-ed25519.asc", &len);
	pgp_armor_decode(&bin, p, len, 0, &err);
	free(p);
	for (int pipe_it = 0; pipe_it < 2; pipe_it++) {
		const char *how = pipe_it ? "pipe" : "memory";

		buf_reset(&s);
		buf_addstr(&s, "<!DOCTYPE html>\n<html><head><title>Search "
		    "results</title></head>\n<body><h1>pub</h1><pre>");
		add_armored(&s, &bin, NULL, NULL);
		buf_addstr(&s, "</pre></body></html>\n");
		split_any(s.p, s.len, pipe_it, trace, sizeof(trace), msgs,
		    sizeof(msgs));
		is_str(trace, "F", "%s: HTML before and after the armor", how);

		buf_reset(&s);
		buf_addstr(&s, "From: someone\nSubject: my key\n\nHere:\n");
		add_armored(&s, &bin, NULL, NULL);
		buf_addstr(&s, "and the other one\n");
		add_armored(&s, &bin, "\n\n", "\nComment: b*d\n\n");
		buf_addstr(&s, "and a broken one\n");
		add_armored(&s, &bin, "4", "!");
		add_armored(&s, &bin, NULL, NULL);
		split_any(s.p, s.len, pipe_it, trace, sizeof(trace), msgs,
		    sizeof(msgs));
		is_str(trace, "FFEF", "%s: bad base64 loses its block only",
		    how);
		ok(strstr(msgs, "'!' in base64") != NULL &&
		    strstr(msgs, "armor block at line 40 (offset 1683)") != NULL,
		    "%s: named with line and offset: %s", how, msgs);

		buf_reset(&s);
		add_armored(&s, &bin, NULL, NULL);
		add_armored(&s, &bin, "-----END PGP PUBLIC KEY BLOCK-----\n",
		    "");
		add_armored(&s, &bin, NULL, NULL);
		split_any(s.p, s.len, pipe_it, trace, sizeof(trace), msgs,
		    sizeof(msgs));
		is_str(trace, "FEF", "%s: a block without END loses itself",
		    how);
		ok(strstr(msgs, "BEGIN line inside the block") != NULL,
		    "%s: %s", how, msgs);

		buf_reset(&s);
		add_armored(&s, &bin, NULL, NULL);
		add_armored(&s, &bin, NULL, NULL);
		buf_setlen(&s, s.len - 200);
		split_any(s.p, s.len, pipe_it, trace, sizeof(trace), msgs,
		    sizeof(msgs));
		is_str(trace, "FE", "%s: a truncated last block", how);
		ok(strstr(msgs, "no END line") != NULL, "%s: %s", how, msgs);

		buf_reset(&s);
		add_armored(&s, &bin, NULL, NULL);
		add_armored(&s, &bin, "\n=", "\n-----BEGIN PGP PUBLIC KEY "
		    "BLOCK-----\n=");
		add_armored(&s, &bin, NULL, NULL);
		split_any(s.p, s.len, pipe_it, trace, sizeof(trace), msgs,
		    sizeof(msgs));
		ok(trace[0] == 'F' && trace[1] == 'E' &&
		    strchr(trace + 1, 'F') == trace + strlen(trace) - 1,
		    "%s: a BEGIN line inside a block: before and after kept "
		    "(%s)", how, trace);

		buf_reset(&s);
		add_armored(&s, &bin, NULL, NULL);
		{
			struct buf a = BUF_INIT;

			/* Its checksum line replaced: the data is as it was. */
			add_armored(&a, &bin, NULL, NULL);
			memcpy(strstr((char *)a.p, "\n=") + 2, "AAAA", 4);
			buf_add(&s, a.p, a.len);
			buf_release(&a);
		}
		add_armored(&s, &bin, NULL, NULL);
		split_any(s.p, s.len, pipe_it, trace, sizeof(trace), msgs,
		    sizeof(msgs));
		is_str(trace, "FEFF", "%s: a wrong checksum is a warning, the "
		    "block is read", how);
		ok(strstr(msgs, "checksum =AAAA on line 31 does not match the "
		    "data (=") != NULL && strstr(msgs, "read anyway") != NULL,
		    "%s: %s", how, msgs);

		/* A cert cut by its block end does not join the next block. */
		buf_reset(&s);
		{
			struct buf half = BUF_INIT;

			buf_add(&half, bin.p, bin.len - 40);
			add_armored(&s, &half, NULL, NULL);
			buf_release(&half);
		}
		add_armored(&s, &bin, NULL, NULL);
		split_any(s.p, s.len, pipe_it, trace, sizeof(trace), msgs,
		    sizeof(msgs));
		is_str(trace, "EF", "%s: a cert cut at its block's end", how);

		/* Many blocks from a pipe: one block held at a time. */
		buf_reset(&s);
		for (int i = 0; i < 2000; i++)
			add_armored(&s, &bin, NULL, NULL);
		split_any(s.p, s.len, pipe_it, trace, sizeof(trace), msgs,
		    sizeof(msgs));
		ok(strlen(trace) == sizeof(trace) - 2 &&
		    strspn(trace, "F") == strlen(trace), "%s: 2000 blocks", how);
	}
	buf_release(&bin);
	buf_release(&s);
}

/* The streaming path: the same input through a pipe in small writes. */
static void
test_stream(void)
{
	struct buf bin = BUF_INIT, s = BUF_INIT;
	struct pgps_err err = PGPS_ERR_INIT;
	struct pgp_reader *r;
	struct pgp_raw_cert c;
	uint8_t *p;
	size_t len, certs = 0, errs = 0;
	int rc, saved;
	pid_t pid;

	p = data_slurp("keys/revoked-ed25519.asc", &len);
	pgp_armor_decode(&bin, p, len, 0, &err);
	free(p);
	for (int i = 0; i < 3000; i++) {
		buf_add(&s, bin.p, bin.len);
		if (i == 1000)
			buf_add(&s, "junk", 4);
	}
	pid = pipe_stdin(s.p, s.len, 1000, &saved);
	ok(pgp_reader_open_path(&r, "-", &err) == 0, "stdin opens");
	ok(!pgp_reader_is_stable(r), "a pipe is streamed");
	while ((rc = pgp_reader_next(r, &c, 4096, &err)) != 0) {
		if (rc == 1 && c.len == bin.len &&
		    memcmp(c.p, bin.p, bin.len) == 0)
			certs++;
		else
			errs++;
		pgps_err_clear(&err);
	}
	is_int(certs, 3000, "all 3000 certs through a pipe");
	is_int(errs, 1, "one error for the junk");
	pgp_reader_free(r);
	unpipe_stdin(saved, pid);
	buf_release(&bin);
	buf_release(&s);
}

int
main(int argc, char **argv)
{
	(void)argc;
	data_dir_set(argv[0]);
	test_lengths();
	test_bad_headers();
	test_partial();
	test_fingerprints();
	test_sks_hash();
	test_reader();
	test_stream();
	test_armor_damage();
	return done_testing();
}
