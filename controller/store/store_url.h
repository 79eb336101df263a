/* SPDX-License-Identifier: Apache-2.0 */
/* store_url.h - the functions of store_url.c (split from store.h) */
#ifndef CTL_STORE_URL_H
#define CTL_STORE_URL_H

#include "controller/store/store.h"

/** Parses `redis[s]://[[user]:password@]host[:port][/db]` or
 * `redis+sentinel://[[user]:password@]host[:port][,host[:port]...]/master[/db]` (sentinels, default
 * port 26379, at most CTL_STORE_MAX_SENTINELS; the credentials are the master's) into out;
 * `rediss://` sets out->tls (Redis over TLS, see redis_tls.h). `redis://password@host` (no colon)
 * is a password alone, as redis-cli reads it. User and password are percent-decoded; an IPv6 host
 * is written in brackets (`redis://[::1]:6380/2`). Errors: CP_EINVAL with a message that never
 * contains the password (bad scheme,
 * empty host, bad port, db out of range, bad percent escape, query strings, a user without a
 * password, fields too long). On failure out is zeroed. THREAD SAFETY: any thread. */
int ctl_store_url_parse(const char *url, ctl_store_url_t *out, cp_err_t *err);

#endif
