/*
 * args.c — option parsing and input validation for analytics-admin. Pure functions (no
 * database, no globals besides stdio) so tests/unit/admin/ can check them directly. Every check
 * here mirrors a CHECK constraint of db/migrations/0001_init.sql, so bad input is refused with a
 * clear message before any SQL runs.
 */
#include "admin.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

int adm_usage_error(const char *usage, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n\n%s", usage);
    return ADM_EXIT_USAGE;
}

int adm_opts_parse(int argc, char **argv, struct adm_opt *opts, size_t nopts, const char **pos,
                   size_t max_pos, size_t *npos, const char *usage)
{
    bool only_pos = false;
    *npos = 0;
    for (size_t i = 0; i < nopts; i++)
        *opts[i].value = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!only_pos && (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)) {
            fputs(usage, stdout);
            return ADM_HELP_SHOWN;
        }
        if (!only_pos && strcmp(a, "--") == 0) {
            only_pos = true;
            continue;
        }
        if (only_pos || a[0] != '-' || a[1] == '\0') {
            if (*npos == max_pos)
                return adm_usage_error(usage, "unexpected argument \"%s\"", a);
            pos[(*npos)++] = a;
            continue;
        }
        if (a[1] != '-')
            return adm_usage_error(usage, "unknown option \"%s\"", a);
        const char *name = a + 2;
        const char *eq = strchr(name, '=');
        size_t nlen = eq != NULL ? (size_t)(eq - name) : strlen(name);
        struct adm_opt *o = NULL;
        for (size_t k = 0; k < nopts; k++) {
            if (strlen(opts[k].name) == nlen && strncmp(opts[k].name, name, nlen) == 0) {
                o = &opts[k];
                break;
            }
        }
        if (o == NULL)
            return adm_usage_error(usage, "unknown option \"--%.*s\"", (int)nlen, name);
        if (*o->value != NULL)
            return adm_usage_error(usage, "option \"--%s\" given more than once", o->name);
        if (eq != NULL) {
            *o->value = eq + 1;
        } else {
            if (i + 1 >= argc)
                return adm_usage_error(usage, "option \"--%s\" needs a value", o->name);
            *o->value = argv[++i];
        }
    }
    return ADM_EXIT_OK;
}

bool adm_tenant_id_valid(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > ADM_TENANT_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (!alnum && (i == 0 || c != '-'))
            return false;
    }
    return true;
}

bool adm_slugify(const char *name, char out[ADM_TENANT_ID_MAX + 1])
{
    size_t n = 0;
    bool dash = false;
    for (const unsigned char *p = (const unsigned char *)name; *p != '\0' && n < ADM_TENANT_ID_MAX;
         p++) {
        unsigned char c = *p;
        if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c - 'A' + 'a');
        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
            if (dash && n > 0 && n < ADM_TENANT_ID_MAX - 1)
                out[n++] = '-';
            dash = false;
            out[n++] = (char)c;
        } else {
            dash = true;
        }
    }
    while (n > 0 && out[n - 1] == '-')
        n--;
    out[n] = '\0';
    return n > 0 && adm_tenant_id_valid(out);
}

/* Splits s at commas into at most max items (pointers into buf, a copy of s). -1 if too many. */
static int split_list(const char *s, char *buf, size_t cap, const char **items, int max)
{
    snprintf(buf, cap, "%s", s);
    int n = 0;
    char *p = buf;
    for (;;) {
        char *comma = strchr(p, ',');
        if (n == max)
            return -1;
        items[n++] = p;
        if (comma == NULL)
            break;
        *comma = '\0';
        p = comma + 1;
    }
    return n;
}

ea_rc adm_parse_scopes(const char *s, char out[ADM_ARRAY_MAX], struct ea_err *err)
{
    static const char *const known[] = {"ingest", "read", "admin"};
    char buf[256];
    const char *items[4];
    if (strlen(s) >= sizeof(buf))
        return ea_err_set(err, EA_ERR_INVALID, "invalid scopes: list too long");
    int n = split_list(s, buf, sizeof(buf), items, 3);
    if (n < 0)
        return ea_err_set(err, EA_ERR_INVALID,
                          "invalid scopes \"%s\": at most ingest, read and admin", s);
    size_t len = 0;
    out[len++] = '{';
    for (int i = 0; i < n; i++) {
        bool ok = false;
        for (size_t k = 0; k < 3; k++)
            ok = ok || strcmp(items[i], known[k]) == 0;
        if (!ok)
            return ea_err_set(err, EA_ERR_INVALID,
                              "invalid scope \"%s\": expected ingest, read or admin", items[i]);
        for (int j = 0; j < i; j++)
            if (strcmp(items[i], items[j]) == 0)
                return ea_err_set(err, EA_ERR_INVALID, "invalid scopes: \"%s\" given twice",
                                  items[i]);
        len += (size_t)snprintf(out + len, ADM_ARRAY_MAX - len, "%s%s", i > 0 ? "," : "", items[i]);
    }
    snprintf(out + len, ADM_ARRAY_MAX - len, "}");
    return EA_OK;
}

bool adm_text_valid(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    return true;
}

ea_rc adm_parse_dimensions(const char *s, char out[ADM_ARRAY_MAX], int *count, struct ea_err *err)
{
    char buf[ADM_MAX_DIMENSIONS * (ADM_NAME_MAX + 1) + 1];
    const char *items[ADM_MAX_DIMENSIONS];
    *count = 0;
    if (s[0] == '\0') {
        snprintf(out, ADM_ARRAY_MAX, "{}");
        return EA_OK;
    }
    if (strlen(s) >= sizeof(buf))
        return ea_err_set(err, EA_ERR_INVALID,
                          "invalid dimensions: at most %d names of at most %d bytes each",
                          ADM_MAX_DIMENSIONS, ADM_NAME_MAX);
    int n = split_list(s, buf, sizeof(buf), items, ADM_MAX_DIMENSIONS);
    if (n < 0)
        return ea_err_set(err, EA_ERR_INVALID, "invalid dimensions: at most %d allowed",
                          ADM_MAX_DIMENSIONS);
    size_t len = 0;
    out[len++] = '{';
    for (int i = 0; i < n; i++) {
        if (!adm_text_valid(items[i], ADM_NAME_MAX))
            return ea_err_set(err, EA_ERR_INVALID,
                              "invalid dimension \"%s\": names are 1 to %d bytes without control "
                              "characters",
                              items[i], ADM_NAME_MAX);
        for (int j = 0; j < i; j++)
            if (strcmp(items[i], items[j]) == 0)
                return ea_err_set(err, EA_ERR_INVALID, "invalid dimensions: \"%s\" given twice",
                                  items[i]);
        /* Quoted array element: backslash-escape '"' and '\' (array literal syntax). */
        if (i > 0)
            out[len++] = ',';
        out[len++] = '"';
        for (const char *p = items[i]; *p != '\0'; p++) {
            if (*p == '"' || *p == '\\')
                out[len++] = '\\';
            out[len++] = *p;
        }
        out[len++] = '"';
    }
    out[len++] = '}';
    out[len] = '\0';
    *count = n;
    return EA_OK;
}

bool adm_parse_long(const char *s, long min, long max, long *out)
{
    if (s == NULL || s[0] == '\0' || s[0] == ' ' || s[0] == '+')
        return false;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return false;
    *out = v;
    return true;
}

bool adm_aggregation_valid(const char *s)
{
    static const char *const aggs[] = {"count", "sum", "min", "max", "avg", "unique"};
    for (size_t i = 0; i < sizeof(aggs) / sizeof(aggs[0]); i++)
        if (strcmp(s, aggs[i]) == 0)
            return true;
    return false;
}
