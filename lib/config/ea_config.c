/*
 * ea_config.c — loads a service's declarative config table from the environment. Values are
 * validated once at start so that a typo fails fast with a clear message instead of running
 * with a silent default.
 */
#include "ea_config.h"
#include "ea_log.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"1", "true", "yes", "on"};
    static const char *const no[] = {"0", "false", "no", "off"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = true;
            return true;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = false;
            return true;
        }
    }
    return false;
}

ea_rc ea_config_retired_check(const ea_config_retired *list, size_t n, struct ea_err *err)
{
    for (size_t i = 0; i < n; i++) {
        /* empty means unset, as in ea_config_load: an .env line "NAME=" changes nothing */
        const char *v = getenv(list[i].name);
        if (v != NULL && v[0] != '\0')
            return ea_err_set(err, EA_ERR_INVALID, "%s is no longer read: set %s", list[i].name,
                              list[i].use);
    }
    return EA_OK;
}

ea_rc ea_config_load(const ea_config_entry *table, size_t n, void *cfg, struct ea_err *err)
{
    for (size_t i = 0; i < n; i++) {
        const ea_config_entry *e = &table[i];
        const char *v = getenv(e->name);
        if (v == NULL || v[0] == '\0')
            v = e->def;
        void *field = (char *)cfg + e->offset;
        switch (e->type) {
        case EA_CFG_STR:
            *(const char **)field = v;
            break;
        case EA_CFG_INT: {
            char *end;
            errno = 0;
            long x = v != NULL ? strtol(v, &end, 10) : 0;
            if (v == NULL || errno != 0 || end == v || *end != '\0' || x < e->min || x > e->max)
                return ea_err_set(err, EA_ERR_INVALID,
                                  "invalid value for %s: \"%s\" (expected an integer from %ld to "
                                  "%ld)",
                                  e->name, v != NULL ? v : "", e->min, e->max);
            *(long *)field = x;
            break;
        }
        case EA_CFG_BOOL: {
            bool b;
            if (v == NULL || !parse_bool(v, &b))
                return ea_err_set(err, EA_ERR_INVALID,
                                  "invalid value for %s: \"%s\" (expected true or false)", e->name,
                                  v != NULL ? v : "");
            *(bool *)field = b;
            break;
        }
        }
    }
    return EA_OK;
}

int ea_config_start(const ea_config_program *p, int argc, char **argv, void *cfg)
{
    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: %s\n%s%sconfiguration (environment):\n", p->name,
               p->about != NULL ? p->about : "", p->about != NULL ? "\n" : "");
        ea_config_print_help(p->table, p->n, stdout);
        return 0;
    }
    struct ea_err err = {0};
    if (ea_config_retired_check(p->retired, p->n_retired, &err) != EA_OK ||
        ea_config_load(p->table, p->n, cfg, &err) != EA_OK ||
        (p->check != NULL && p->check(cfg, &err) != EA_OK)) {
        fprintf(stderr, "%s: %s\n", p->name, err.message);
        return 2;
    }
    const char *level = *(const char *const *)((const char *)cfg + p->log_level);
    ea_log_init(p->name, ea_log_level_parse(level));
    return -1;
}

void ea_config_print_help(const ea_config_entry *table, size_t n, FILE *out)
{
    static const char *const types[] = {"string", "integer", "boolean"};
    for (size_t i = 0; i < n; i++) {
        const ea_config_entry *e = &table[i];
        fprintf(out, "  %-28s %-8s default %-12s %s\n", e->name, types[e->type],
                e->def != NULL ? e->def : "(unset)", e->help);
    }
}
