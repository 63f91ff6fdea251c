/*
 * args.c — option parsing for analytics-admin: "--name VALUE" options, comma lists, integers.
 * Pure functions (no database, no globals besides stdio) so tests/unit/admin/ can check them
 * directly. What a valid tenant, key or metric is lives in lib/catalog (one rule, one home), so
 * the CLI and GraphQL refuse the same input with the same message.
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

const char **adm_split(const char *s, size_t *n)
{
    size_t len = s != NULL ? strlen(s) : 0, items = len > 0 ? 1 : 0;
    for (size_t i = 0; i < len; i++)
        items += s[i] == ',';
    /* the pointers, then one copy of s they point into */
    const char **v = malloc((items + 1) * sizeof(*v) + len + 1);
    if (v == NULL)
        return NULL;
    char *copy = (char *)(v + items + 1);
    memcpy(copy, len > 0 ? s : "", len + 1);
    size_t k = 0;
    for (char *p = copy; k < items; k++) {
        v[k] = p;
        char *comma = strchr(p, ',');
        if (comma == NULL)
            break;
        *comma = '\0';
        p = comma + 1;
    }
    v[items] = NULL;
    *n = items;
    return v;
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
