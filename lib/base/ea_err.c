/*
 * ea_err.c — filling `struct ea_err` and naming return codes. Kept tiny on purpose: every
 * module depends on it, so it depends on nothing but libc.
 */
#include "ea_err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

ea_rc ea_err_set(struct ea_err *err, ea_rc code, const char *fmt, ...)
{
    if (err == NULL)
        return code;
    ea_err_clear(err);
    err->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    return code;
}

void ea_err_clear(struct ea_err *err)
{
    if (err != NULL)
        memset(err, 0, sizeof(*err));
}

const char *ea_rc_name(ea_rc code)
{
    static const char *const names[] = {
        [EA_OK] = "ok",
        [EA_ERR_INVALID] = "invalid",
        [EA_ERR_NOMEM] = "nomem",
        [EA_ERR_IO] = "io",
        [EA_ERR_DB] = "db",
        [EA_ERR_KAFKA] = "kafka",
        [EA_ERR_REDIS] = "redis",
        [EA_ERR_NOTFOUND] = "notfound",
        [EA_ERR_LIMIT] = "limit",
        [EA_ERR_AUTH] = "auth",
        [EA_ERR_CONFLICT] = "conflict",
        [EA_ERR_UNAVAILABLE] = "unavailable",
    };
    if ((size_t)code >= sizeof(names) / sizeof(names[0]) || names[code] == NULL)
        return "unknown";
    return names[code];
}
