/* SPDX-License-Identifier: Apache-2.0 */
/* err.c - error codes and the fixed-buffer error detail */
#include "shared/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *cp_strerror(int code)
{
    switch (code) {
    case CP_OK:
        return "ok";
#define CP__ERR_TEXT(name, num, grpc, text)                                                        \
    case CP_##name:                                                                                \
        return text;
        CP_ERR_MAP(CP__ERR_TEXT)
#undef CP__ERR_TEXT
    }
    return "unknown error";
}

const char *cp_errname(int code)
{
    switch (code) {
    case CP_OK:
        return "OK";
#define CP__ERR_NAME(name, num, grpc, text)                                                        \
    case CP_##name:                                                                                \
        return #name;
        CP_ERR_MAP(CP__ERR_NAME)
#undef CP__ERR_NAME
    }
    return "EUNKNOWN";
}

cp_grpc_status_t cp_err_grpc_status(int code)
{
    switch (code) {
    case CP_OK:
        return CP_GRPC_OK;
#define CP__ERR_GRPC(name, num, grpc, text)                                                        \
    case CP_##name:                                                                                \
        return CP_GRPC_##grpc;
        CP_ERR_MAP(CP__ERR_GRPC)
#undef CP__ERR_GRPC
    }
    return CP_GRPC_UNKNOWN;
}

int cp_err_set(cp_err_t *err, int code, const char *fmt, ...)
{
    if (err == NULL)
        return code;
    err->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return code;
}

int cp_err_prefix(cp_err_t *err, const char *fmt, ...)
{
    if (err == NULL)
        return 0;
    char prefix[CP_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    if (n < 0)
        return err->code;
    /* Join into a buffer twice the size so the compiler can see nothing is cut, then truncate to
     * fit. The message may already be empty (a code without detail): then the prefix stands alone.
     */
    char joined[2 * CP_ERR_MSG_MAX + 2];
    if (err->msg[0] != '\0')
        snprintf(joined, sizeof joined, "%s: %s", prefix, err->msg);
    else
        snprintf(joined, sizeof joined, "%s", prefix);
    memcpy(err->msg, joined, sizeof err->msg - 1);
    err->msg[sizeof err->msg - 1] = '\0';
    return err->code;
}

void cp_err_clear(cp_err_t *err)
{
    if (err == NULL)
        return;
    err->code = CP_OK;
    err->msg[0] = '\0';
}
