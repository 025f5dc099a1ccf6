/*
 * vks.c: the JSON of the VKS API (vks.h).
 */
#include "util/common.h"

#include <strings.h>

#include <jansson.h>

#include "net/vks.h"
#include "util/text.h"

/* Appends the compact text of j to out and frees j. */
static int
dump_into(struct buf *out, json_t *j)
{
	char *text;
	int r;

	if (j == NULL)
		return PGPS_ENOMEM;
	text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (text == NULL)
		return PGPS_ENOMEM;
	r = buf_addstr(out, text);
	free(text);
	return r;
}

int
net_vks_upload_body(struct buf *out, const uint8_t *armor, size_t len)
{
	json_t *j = json_object(), *s = json_stringn((const char *)armor, len);

	if (j == NULL || s == NULL || json_object_set_new(j, "keytext", s)
	    != 0) {
		json_decref(j);
		return s == NULL && j != NULL ? PGPS_EFORMAT : PGPS_ENOMEM;
	}
	return dump_into(out, j);
}

int
net_vks_verify_body(struct buf *out, const char *token,
    const char *const *addrs, size_t naddrs)
{
	json_t *j = json_object(), *list = json_array(), *s;
	int r = PGPS_ENOMEM;

	if (j == NULL || list == NULL)
		goto fail;
	for (size_t i = 0; i < naddrs; i++)
		if ((s = json_string(addrs[i])) == NULL ||
		    json_array_append_new(list, s) != 0) {
			r = PGPS_EFORMAT;
			goto fail;
		}
	if ((s = json_string(token)) == NULL) {
		r = PGPS_EFORMAT;
		goto fail;
	}
	if (json_object_set_new(j, "token", s) != 0 ||
	    json_object_set_new(j, "addresses", list) != 0) {
		list = NULL;
		goto fail;
	}
	return dump_into(out, j);
 fail:
	json_decref(list);
	json_decref(j);
	return r;
}

void
net_vks_answer_release(struct net_vks_answer *a)
{
	for (size_t i = 0; i < a->nst; i++) {
		free(a->st[i].address);
		free(a->st[i].status);
	}
	for (size_t i = 0; i < a->nunexpected; i++)
		free(a->unexpected[i]);
	free(a->st);
	free(a->unexpected);
	free(a->token);
	*a = (struct net_vks_answer)NET_VKS_ANSWER_INIT;
}

static bool
has_address(const char *const *addrs, size_t n, const char *a)
{
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(addrs[i], a) == 0)
			return true;
	return false;
}

static int
cmp_status(const void *a, const void *b)
{
	return strcmp(((const struct net_vks_status *)a)->address,
	    ((const struct net_vks_status *)b)->address);
}

/* Puts the statuses of st (an object or NULL) into out. */
static int
read_statuses(struct net_vks_answer *out, json_t *st,
    const char *const *addrs, size_t naddrs)
{
	size_t n = st != NULL ? json_object_size(st) : 0;
	const char *k;
	json_t *v;

	out->statuses = true;
	if (n == 0)
		return 0;
	if ((out->st = calloc(n, sizeof(*out->st))) == NULL ||
	    (out->unexpected = calloc(n, sizeof(*out->unexpected))) == NULL)
		return PGPS_ENOMEM;
	json_object_foreach(st, k, v) {
		if (!json_is_string(v))
			continue;
		if (!has_address(addrs, naddrs, k)) {
			if ((out->unexpected[out->nunexpected] =
			    strdup(k)) == NULL)
				return PGPS_ENOMEM;
			out->nunexpected++;
			continue;
		}
		if ((out->st[out->nst].address = strdup(k)) == NULL ||
		    (out->st[out->nst].status =
		    strdup(json_string_value(v))) == NULL) {
			out->nst++;
			return PGPS_ENOMEM;
		}
		out->nst++;
	}
	qsort(out->st, out->nst, sizeof(*out->st), cmp_status);
	return 0;
}

int
net_vks_answer_parse(struct net_vks_answer *out, const uint8_t *body,
    size_t len, const char *url, const char *fpr,
    const char *const *addrs, size_t naddrs, struct pgps_err *err)
{
	json_error_t je;
	json_t *root, *fp, *st, *tok;
	char other[100], text[100];
	int r;

	net_vks_answer_release(out);
	root = json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES,
	    &je);
	if (root == NULL) {
		text_term_str(text, sizeof(text), je.text);
		return pgps_err_set(err, PGPS_EPROTO, "'%s': unreadable "
		    "answer: %s at offset %d", url, text, je.position);
	}
	/* Several certificates in one upload: a list of fingerprints. */
	if (json_is_array(root)) {
		r = 0;
		goto cleanup;
	}
	fp = json_object_get(root, "key_fpr");
	st = json_object_get(root, "status");
	tok = json_object_get(root, "token");
	if (!json_is_object(root) || (st != NULL && !json_is_object(st)) ||
	    (tok != NULL && !json_is_string(tok))) {
		r = pgps_err_set(err, PGPS_EPROTO, "'%s': answer is not a VKS "
		    "upload result", url);
		goto cleanup;
	}
	if (fp != NULL && (!json_is_string(fp) || (fpr != NULL &&
	    strcasecmp(json_string_value(fp), fpr) != 0))) {
		text_term_str(other, sizeof(other), json_is_string(fp) ?
		    json_string_value(fp) : "?");
		r = pgps_err_set(err, PGPS_EPROTO, "'%s': answer is for "
		    "another key ('%s')", url, other);
		goto cleanup;
	}
	if ((r = read_statuses(out, st, addrs, naddrs)) != 0 ||
	    (tok != NULL && (out->token = strdup(json_string_value(tok))) ==
	    NULL)) {
		r = pgps_err_set(err, PGPS_ENOMEM, "'%s': out of memory", url);
		goto cleanup;
	}
 cleanup:
	if (r != 0)
		net_vks_answer_release(out);
	json_decref(root);
	return r;
}

void
net_vks_error(char *why, size_t whylen, const struct net_result *res)
{
	json_t *root = NULL, *m = NULL;
	char msg[200], n[32] = "";

	if (res->status >= 400 && res->body != NULL && res->body->len > 0 &&
	    (root = json_loadb((const char *)res->body->p, res->body->len, 0,
	    NULL)) != NULL && json_is_object(root)) {
		m = json_object_get(root, "error");
		if (!json_is_string(m))
			m = json_object_get(root, "message");
	}
	if (json_is_string(m)) {
		text_term_str(msg, sizeof(msg), json_string_value(m));
		if (res->attempts > 1)
			snprintf(n, sizeof(n), " (%u attempts)", res->attempts);
		snprintf(why, whylen, "'%s': HTTP %ld: %s%s", res->url,
		    res->status, msg, n);
	} else
		snprintf(why, whylen, "%s", res->error);
	json_decref(root);
}
