/*
 * text.h: text from outside (user IDs, file names, server messages) made
 * safe for the two places pgpsync shows it: a terminal and a JSON string.
 *
 * Nothing from a certificate, a server or a directory listing is printed
 * or put into JSON without going through one of these.  Each takes octets
 * (which need not be UTF-8, nor NUL-free) and appends to a struct buf, so
 * the result is also a C string.
 */
#ifndef PGPSYNC_UTIL_TEXT_H
#define PGPSYNC_UTIL_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

/* What replaces each unsafe character or octet on a terminal. */
#define TEXT_TERM_REPLACEMENT	'?'

/*
 * Decodes one UTF-8 character from p[0..len): returns its length (1 to 4)
 * and sets *cp, or returns 0 when p does not start with a well-formed
 * character (RFC 3629: no overlong form, no surrogate, nothing above
 * U+10FFFF, no character cut off by len).  len must be at least 1.
 */
size_t text_utf8_next(const uint8_t *p, size_t len, uint32_t *cp);

/*
 * Whether a terminal could take cp as a command rather than a character:
 * the C0 controls (U+0000..U+001F, including tab and newline), DEL, the
 * C1 controls (U+0080..U+009F: U+009B is CSI, U+009D OSC), and the
 * bidirectional formatting characters that reorder what follows them
 * (U+061C, U+200E, U+200F, U+202A..U+202E, U+2066..U+2069).
 */
bool text_is_unsafe(uint32_t cp);

/*
 * Appends p[0..len) to b for a terminal, one line of valid UTF-8: every
 * character text_is_unsafe() names and every octet that is not part of a
 * well-formed UTF-8 character becomes one TEXT_TERM_REPLACEMENT; other
 * characters are kept.  At most max octets of input are read (0: all);
 * a character cut by max is replaced.  Returns 0, or PGPS_ELIMIT /
 * PGPS_ENOMEM when b cannot grow (b then holds a prefix).
 */
int text_term(struct buf *b, const void *p, size_t len, size_t max);

/*
 * The same for a fixed buffer: copies the C string in to out, cut at
 * outlen - 1 octets on a character boundary and always NUL-terminated
 * (outlen > 0).  For messages built in stack buffers.
 */
void text_term_str(char *out, size_t outlen, const char *in);

/*
 * Appends p[0..len) to b as well-formed UTF-8 for a JSON string: every
 * octet that is not part of a well-formed character is replaced by
 * U+FFFD (the Unicode replacement character, EF BF BD), one per octet, so
 * nothing is dropped and the length of what was lost shows.  Everything
 * else is kept as it is, controls and NUL included: a JSON encoder
 * escapes those (\u001b, \u0000) and a JSON reader gets the text back.
 * Returns 0, or PGPS_ELIMIT / PGPS_ENOMEM when b cannot grow.
 */
int text_json(struct buf *b, const void *p, size_t len);

/*
 * The e-mail address in a user ID: what stands between its last '<' and
 * the '>' after it, or, without a '<', the whole user ID.  It counts only
 * when it holds an '@' and no NUL, space, control, '<' or '>'.  Sets
 * *off and *n to where it is in p and returns true, or returns false.
 */
bool text_uid_address(const uint8_t *p, size_t len, size_t *off,
    size_t *n);

#endif
