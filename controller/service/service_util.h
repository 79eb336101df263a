/* SPDX-License-Identifier: Apache-2.0 */
/* service_util.h - helpers every RPC file of the service core uses: time, messages, errors, records
 */
#ifndef CTL_SERVICE_UTIL_H
#define CTL_SERVICE_UTIL_H

#include <stdint.h>

#include "certplane/v1/certplane.pb-c.h"
#include "controller/service/service_types.h"
#include "shared/err.h"

/*
 * One floor below service.c and the service_*.c files that implement the RPCs, so none of them
 * calls back into another. THREAD SAFETY: any thread (a ctl_thread_t: the thread that owns it).
 */

/** Replaces a string field of a message (freeing the old value unless it is the empty default). */
void ctl_service__set_string(char **field, const char *value);

/** Deep copy of a certificate, through pack/unpack. */
Certplane__V1__Certificate *ctl_service__cert_dup(const Certplane__V1__Certificate *c);

/** Replaces private_key_pem with "" (response to a caller without the right to see it). */
void ctl_service__strip_key(Certplane__V1__Certificate *c);

/** Maps a store failure to what the client sees: Redis trouble (also AUTH) is CP_EUNAVAIL with the
 * store's message; what a validated request should never meet (CP_EINVAL, CP_ESTATE, CP_EPROTO) is
 * CP_EINTERNAL; other codes pass. Returns the code, also set in err. */
int ctl_service__store_fail(int rc, cp_err_t *err);

/** ctl_certrepo_load() with the client's errors: CP_ENOTFOUND ("certificate \"x\" not found"),
 * CP_EUNAVAIL, CP_EINTERNAL (a record that is not a certificate). */
int ctl_service__cert_load(ctl_thread_t *t, const char *name, Certplane__V1__Certificate **out,
                           cp_err_t *err);

/** ctl_certrepo_put() of c with the client's errors (CP_EEXIST, CP_ENOTFOUND, CP_ECONFLICT pass;
 * see ctl_service__store_fail() for the rest); c->revision receives the new revision. */
int ctl_service__cert_store(ctl_thread_t *t, Certplane__V1__Certificate *c,
                            const ctl_certrepo_write_t *w, cp_err_t *err);

/** Checks a name field with ctl_validate_cert_name(): CP_EINVAL "<field>: ...". */
int ctl_service__check_name(const char *field, const char *name, cp_err_t *err);

/** Checks an edge identity: 1-253 characters of [A-Za-z0-9._-]. CP_EINVAL "edge_id: ...". */
int ctl_service__check_edge_id(const char *id, cp_err_t *err);

/** One change to a stored certificate that may lose a revision race: loads `name`, calls once(t, c,
 *  ctx, err) which changes c and writes it revision-checked, and when that write meets CP_ECONFLICT
 *  (a worker or another request changed it meanwhile) reads it again, up to CTL_SERVICE__RETRIES
 *  times. On 0, *resp is the changed certificate without its private key. Errors: once's, the
 *  load's, or CP_ECONFLICT "certificate \"x\" keeps changing; retry". */
int ctl_service__update(ctl_thread_t *t, const char *name,
                        int (*once)(ctl_thread_t *t, Certplane__V1__Certificate *c, void *ctx,
                                    cp_err_t *err),
                        void *ctx, ProtobufCMessage **resp, cp_err_t *err);

#endif
