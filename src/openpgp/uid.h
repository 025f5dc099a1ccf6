/*
 * uid.h: the e-mail addresses of a certificate's user IDs, found one way
 * (text_uid_address() of util/text.h) for every reader: WKD lookups and
 * the VKS statuses push shows.
 */
#ifndef PGPSYNC_OPENPGP_UID_H
#define PGPSYNC_OPENPGP_UID_H

#include <stddef.h>

#include "openpgp/openpgp.h"

/*
 * The addresses of c's user ID packets, in packet order, each once (as
 * octets), at most max of them (0: all).  *out is a malloc'd array of *n
 * malloc'd C strings, NULL when there are none; free it with
 * pgp_addresses_free().  Returns 0 or PGPS_ENOMEM (*out then untouched).
 */
int pgp_cert_addresses(char ***out, size_t *n, const struct pgp_cert *c,
    size_t max);

/* Frees v[0..n) and v. */
void pgp_addresses_free(char **v, size_t n);

#endif
