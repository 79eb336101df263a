/* SPDX-License-Identifier: Apache-2.0 */
/* status.h - gRPC status codes by name, with their text and HTTP equivalents (both transports) */
#ifndef CP_STATUS_H
#define CP_STATUS_H

/* The canonical gRPC status codes (grpc/status.h has the same numbers; grpc_server.c checks that at
 * compile time). The gRPC server sends them as they are; the REST gateway sends the HTTP status of
 * the third column, as grpc-gateway does (CANCELLED is nginx's 499 "client closed request"). */
#define CP_GRPC_MAP(X)                                                                             \
    X(OK, 0, 200)                                                                                  \
    X(CANCELLED, 1, 499)                                                                           \
    X(UNKNOWN, 2, 500)                                                                             \
    X(INVALID_ARGUMENT, 3, 400)                                                                    \
    X(DEADLINE_EXCEEDED, 4, 504)                                                                   \
    X(NOT_FOUND, 5, 404)                                                                           \
    X(ALREADY_EXISTS, 6, 409)                                                                      \
    X(PERMISSION_DENIED, 7, 403)                                                                   \
    X(RESOURCE_EXHAUSTED, 8, 429)                                                                  \
    X(FAILED_PRECONDITION, 9, 400)                                                                 \
    X(ABORTED, 10, 409)                                                                            \
    X(OUT_OF_RANGE, 11, 400)                                                                       \
    X(UNIMPLEMENTED, 12, 501)                                                                      \
    X(INTERNAL, 13, 500)                                                                           \
    X(UNAVAILABLE, 14, 503)                                                                        \
    X(DATA_LOSS, 15, 500)                                                                          \
    X(UNAUTHENTICATED, 16, 401)

typedef enum cp_grpc_status {
#define CP__GRPC_ENUM(name, num, http) CP_GRPC_##name = (num),
    CP_GRPC_MAP(CP__GRPC_ENUM)
#undef CP__GRPC_ENUM
} cp_grpc_status_t;

/** Number of gRPC status codes (0 .. CP_GRPC_N_CODES - 1). */
#define CP_GRPC_N_CODES 17

/** Name of a status ("NOT_FOUND"), or "UNKNOWN" for a number outside the table. Static storage.
 *  THREAD SAFETY: any thread. */
const char *cp_grpc_status_name(int status);

/** HTTP status for a gRPC status (NOT_FOUND -> 404); 500 for a number outside the table.
 *  THREAD SAFETY: any thread. */
int cp_grpc_http_status(int status);

/** The reason phrase of an HTTP status (404 -> "Not Found"); for a status not in the table, one for
 *  its class ("OK", "Client Error", "Server Error"). Static storage. THREAD SAFETY: any thread. */
const char *cp_http_reason(int status);

#endif
