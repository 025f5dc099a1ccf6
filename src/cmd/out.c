/*
 * out.c: JSON strings from text that came from outside, and the JSON
 * reports of commands.
 */
#include "util/common.h"

#include "cmd/cmd.h"
#include "cmd/out.h"
#include "util/buf.h"
#include "util/text.h"

json_t *
out_json_text(const void *p, size_t len)
{
	struct buf b = BUF_INIT;
	json_t *o;

	buf_init(&b, 0);
	if (text_json(&b, p, len) != 0)
		die("out of memory");
	o = json_stringn((const char *)b.p, b.len);
	buf_release(&b);
	if (o == NULL)
		die("out of memory");
	return o;
}

json_t *
out_json_str(const char *s)
{
	return out_json_text(s, strlen(s));
}

void
out_json_print_str(const char *s)
{
	json_t *o = out_json_str(s);
	char *t;

	if ((t = json_dumps(o, JSON_ENCODE_ANY)) == NULL)
		die("out of memory");
	fputs(t, stdout);
	free(t);
	json_decref(o);
}

void
out_json_counts(json_t *o, const struct out_count *c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		json_object_set_new(o, c[i].name,
		    json_integer((json_int_t)c[i].n));
}

void
out_json_print(FILE *f, json_t *o)
{
	json_dumpf(o, f, JSON_INDENT(2) | JSON_SORT_KEYS);
	fputc('\n', f);
	json_decref(o);
}
