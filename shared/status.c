/* SPDX-License-Identifier: Apache-2.0 */
/* status.c - gRPC status codes by name, with their text and HTTP equivalents (both transports) */
#include "shared/status.h"

#include <stddef.h>

const char *cp_grpc_status_name(int status)
{
    switch (status) {
#define CP__GRPC_NAME(name, num, http)                                                             \
    case CP_GRPC_##name:                                                                           \
        return #name;
        CP_GRPC_MAP(CP__GRPC_NAME)
#undef CP__GRPC_NAME
    }
    return "UNKNOWN";
}

int cp_grpc_http_status(int status)
{
    switch (status) {
#define CP__GRPC_HTTP(name, num, http)                                                             \
    case CP_GRPC_##name:                                                                           \
        return http;
        CP_GRPC_MAP(CP__GRPC_HTTP)
#undef CP__GRPC_HTTP
    }
    return 500;
}

const char *cp_http_reason(int status)
{
    static const struct {
        int status;
        const char *reason;
    } table[] = {
        {200, "OK"},
        {201, "Created"},
        {202, "Accepted"},
        {204, "No Content"},
        {400, "Bad Request"},
        {401, "Unauthorized"},
        {403, "Forbidden"},
        {404, "Not Found"},
        {405, "Method Not Allowed"},
        {409, "Conflict"},
        {410, "Gone"},
        {413, "Payload Too Large"},
        {415, "Unsupported Media Type"},
        {421, "Misdirected Request"},
        {429, "Too Many Requests"},
        {499, "Client Closed Request"},
        {500, "Internal Server Error"},
        {501, "Not Implemented"},
        {502, "Bad Gateway"},
        {503, "Service Unavailable"},
        {504, "Gateway Timeout"},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (table[i].status == status)
            return table[i].reason;
    return status < 300 ? "OK" : status < 500 ? "Client Error" : "Server Error";
}
