/*
 * dump.h: writing keydump files outside a key set's put and commit: one
 * output file (or standard output) written whole, and a set split into
 * numbered files as SKS dumps are.
 *
 * The file names of a dump are SKS's: PREFIX-NNNN.pgp, numbered from 0,
 * with metadata-PREFIX.txt listing each file's MD5 (md5sum -c works on
 * it).  A dump directory opened as a key set (keyset.h) names its new
 * files the same way.
 *
 *	struct dump_out o;
 *
 *	if (dump_out_open(&o, path, armor, &err) != 0) ...
 *	while (...)
 *		if (dump_out_write(&o, p, len, &err) != 0) ...
 *	if (dump_out_commit(&o, &err) != 0) ...	// or dump_out_abort()
 */
#ifndef PGPSYNC_KEYSET_DUMP_H
#define PGPSYNC_KEYSET_DUMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "openpgp/openpgp.h"
#include "util/atomic.h"
#include "util/buf.h"
#include "util/err.h"

/* --- names ------------------------------------------------------------ */

/* The file n of a dump: "PREFIX-NNNN.pgp" with at least width digits. */
void dump_file_name(char *out, size_t size, const char *prefix, int width,
    unsigned long n);

/*
 * Parses a file name of a dump: 1 with *prefix_len (the prefix is
 * name[0..*prefix_len)), *n and *width set when name is PREFIX-NNNN.pgp,
 * else 0.
 */
int dump_file_name_parse(const char *name, size_t *prefix_len,
    unsigned long *n, int *width);

/* --- one output ------------------------------------------------------- */

/*
 * Certificates written to a file replaced atomically at the commit, or
 * to standard output ("-"): binary as they come, or with armor collected
 * and armored at the commit (armor's checksum covers the whole block, so
 * armored output is bounded by PGPS_MAX_BUF).
 */
struct dump_out {
	struct atomic_file	 af;
	bool			 armor;
	struct buf		 all;		/* armored output, until then */
	uint64_t		 written;	/* octets of certificates */
};

int dump_out_open(struct dump_out *o, const char *path, bool armor,
    struct pgps_err *err);
int dump_out_write(struct dump_out *o, const uint8_t *p, size_t len,
    struct pgps_err *err);
/* Writes the armor, if any, and puts the file in place; o is released. */
int dump_out_commit(struct dump_out *o, struct pgps_err *err);
/* Leaves the file as it was; o is released. */
void dump_out_abort(struct dump_out *o);

/* --- a dump split into files ------------------------------------------ */

struct dump_split;

/*
 * Starts a dump of per certificates a file in dir (made if missing) with
 * prefix (a file name part: not empty, no '/', at most 128 octets).
 * Returns 0; 1 with err naming the file when dir already holds a dump
 * with that prefix (its file 0 or its metadata); or a negative code.
 */
int dump_split_open(struct dump_split **out, const char *dir,
    const char *prefix, unsigned long per, struct pgps_err *err);
/*
 * Appends the parsed certificate c without trust packets and without
 * secret key material (pgp_cert_drop_secret(): *dropped, which may be
 * NULL, is set to the number of secret subkeys left out; a secret
 * primary key is refused), starting the next file when one is full.
 */
int dump_split_add(struct dump_split *s, const struct pgp_cert *c,
    size_t *dropped, struct pgps_err *err);
/* Puts the last file in place and writes the metadata file. */
int dump_split_finish(struct dump_split *s, struct pgps_err *err);
/* Certificates and files written so far. */
uint64_t dump_split_certs(const struct dump_split *s);
size_t dump_split_files(const struct dump_split *s);
/* Removes a file not finished; those put in place stay. */
void dump_split_free(struct dump_split *s);

#endif
