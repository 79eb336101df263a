/* SPDX-License-Identifier: Apache-2.0 */
/* status.c - gRPC status codes by name, with their text and HTTP equivalents (both transports) */
#include "shared/status.h"

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
