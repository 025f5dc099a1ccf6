/*
 * out.c: JSON strings from text that came from outside.
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
