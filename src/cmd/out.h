/*
 * out.h: the output module of the command layer: JSON values made from
 * text that came from outside.
 *
 * This is the one header of src/cmd that includes <jansson.h> (make lint
 * holds the other command files to it).  jansson refuses a string that
 * is not well-formed UTF-8: json_string() returns NULL, and
 * json_object_set_new() then drops the member without a word.  Text from
 * a certificate, a server or a file name therefore goes into JSON only
 * through out_json_text(), which replaces each octet that is not part of
 * a well-formed character by U+FFFD (text_json() in util/text.h) and so
 * never returns NULL.
 */
#ifndef PGPSYNC_CMD_OUT_H
#define PGPSYNC_CMD_OUT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

/*
 * A new JSON string holding p[0..len) made well-formed UTF-8 (NUL octets
 * are kept as U+0000).  Never NULL: dies when out of memory.
 */
json_t *out_json_text(const void *p, size_t len);

/* out_json_text() of the C string s. */
json_t *out_json_str(const char *s);

/*
 * Prints the C string s to stdout as a JSON string literal (with its
 * quotes), made well-formed UTF-8 as by out_json_str().
 */
void out_json_print_str(const char *s);

/* A named count of a report, for out_json_counts(). */
struct out_count {
	const char	*name;
	uint64_t	 n;
};

/* Sets the members c[0..n) of the JSON object o to their counts. */
void out_json_counts(json_t *o, const struct out_count *c, size_t n);

/*
 * Prints the JSON value o to f, indented with its keys sorted, and a
 * newline; then frees o.
 */
void out_json_print(FILE *f, json_t *o);

#endif
