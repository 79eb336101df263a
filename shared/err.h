/* SPDX-License-Identifier: Apache-2.0 */
/* err.h - error codes (one X-macro table) and the fixed-buffer error detail */
#ifndef CP_ERR_H
#define CP_ERR_H

#include <stddef.h>

#include "shared/status.h"

/* Every fallible function of certplane returns 0 or one of these negative codes. The grpc column is
 * the gRPC status (shared/status.h) the service core answers with (grpc-gateway maps it to HTTP).
 */
#define CP_ERR_MAP(X)                                                                              \
    X(EINVAL, -1, INVALID_ARGUMENT, "invalid argument")                                            \
    X(ENOTFOUND, -2, NOT_FOUND, "not found")                                                       \
    X(EEXIST, -3, ALREADY_EXISTS, "already exists")                                                \
    X(ECONFLICT, -4, ABORTED, "changed concurrently")                                              \
    X(EUNAVAIL, -5, UNAVAILABLE, "unavailable")                                                    \
    X(ETIMEDOUT, -6, DEADLINE_EXCEEDED, "timed out")                                               \
    X(EPROTO, -7, INTERNAL, "protocol error")                                                      \
    X(ETOOBIG, -8, RESOURCE_EXHAUSTED, "too large")                                                \
    X(EPERM, -9, PERMISSION_DENIED, "permission denied")                                           \
    X(EAUTH, -10, UNAUTHENTICATED, "unauthenticated")                                              \
    X(ECRYPTO, -11, INTERNAL, "cryptography error")                                                \
    X(EBUSY, -12, ABORTED, "busy")                                                                 \
    X(ESTATE, -13, FAILED_PRECONDITION, "failed precondition")                                     \
    X(ECANCELED, -14, CANCELLED, "cancelled")                                                      \
    X(EACME, -15, FAILED_PRECONDITION, "ACME error")                                               \
    X(EIO, -16, UNAVAILABLE, "I/O error")                                                          \
    X(EINTERNAL, -17, INTERNAL, "internal error")

enum {
    CP_OK = 0,
#define CP__ERR_ENUM(name, num, grpc, text) CP_##name = (num),
    CP_ERR_MAP(CP__ERR_ENUM)
#undef CP__ERR_ENUM
};

/** Size of the detail message buffer in cp_err_t. */
#define CP_ERR_MSG_MAX 512

/** Detail of a failure: the code plus a message written into a fixed buffer, so reporting an error
 * never allocates. Callers pass NULL when they do not want the detail. */
typedef struct cp_err {
    int code;
    char msg[CP_ERR_MSG_MAX];
} cp_err_t;

/** Text of a CP_E* code ("not found"), or "unknown error". Never NULL, static storage.
 *  THREAD SAFETY: any thread. */
const char *cp_strerror(int code);

/** Name of a CP_E* code ("ENOTFOUND"), or "EUNKNOWN". THREAD SAFETY: any thread. */
const char *cp_errname(int code);

/** The gRPC status for a CP_E* code: the one mapping both transports use. CP_GRPC_OK for 0,
 *  CP_GRPC_UNKNOWN for an unknown code. THREAD SAFETY: any thread. */
cp_grpc_status_t cp_err_grpc_status(int code);

/** Sets err (when not NULL) to code and the formatted message, truncated to fit. Returns code, so a
 * caller can write `return cp_err_set(err, CP_EINVAL, "domains[%zu]: empty", i);`. THREAD SAFETY:
 * any thread, on its own err. */
int cp_err_set(cp_err_t *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/** Puts the formatted prefix and ": " before err's message (used to build field paths). Returns
 * err's code. No-op for NULL. THREAD SAFETY: any thread, on its own err. */
int cp_err_prefix(cp_err_t *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/** Clears err to CP_OK and an empty message. No-op for NULL. */
void cp_err_clear(cp_err_t *err);

#endif
