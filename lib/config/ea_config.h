/*
 * ea_config.h — declarative configuration. Each service declares one static table of entries
 * (name, type, bounds, default, help, offset into its config struct); ea_config_load fills the
 * struct from the defaults and environment variables of the same name, and refuses to start on
 * a value that does not parse or is out of bounds. `.env.example` lists every entry.
 */
#ifndef EA_CONFIG_H
#define EA_CONFIG_H

#include "ea_err.h"

#include <stddef.h>
#include <stdio.h>

typedef enum ea_config_type {
    EA_CFG_STR,  /* char * (points into the environment or the default; never freed) */
    EA_CFG_INT,  /* long, within [min, max] */
    EA_CFG_BOOL, /* bool: true/false/1/0/yes/no/on/off */
} ea_config_type;

typedef struct ea_config_entry {
    const char *name; /* environment variable, e.g. "INGEST_PORT" */
    ea_config_type type;
    const char *def; /* default as text; NULL means "unset" (only for EA_CFG_STR) */
    long min, max;   /* bounds for EA_CFG_INT */
    size_t offset;   /* offsetof(struct svc_config, field) */
    const char *help;
} ea_config_entry;

/* The LOG_LEVEL entry (lib/base's ea_log_level_parse reads the value) for a struct `type` whose
 * member `field` is a const char *. */
/* clang-format off */
#define EA_CONFIG_LOG_LEVEL_ENTRY(type, field)                                                     \
    {"LOG_LEVEL", EA_CFG_STR, "info", 0, 0, offsetof(type, field), "debug, info, warn or error"}
/* clang-format on */

/* A variable no program reads any more and what replaced it. Setting it (to anything but the
 * empty string) refuses the start: a deploy that still sets it would otherwise run silently with
 * the new variable's default, which may no longer agree with the other programs'. */
typedef struct ea_config_retired {
    const char *name; /* the old environment variable */
    const char *use;  /* what to set instead, e.g. "NEW_NAME (one name for ...)" */
} ea_config_retired;

/* EA_OK when no variable of list[0..n) is set; else EA_ERR_INVALID with the message
 * "NAME is no longer read: set USE" for the first one set. */
ea_rc ea_config_retired_check(const ea_config_retired *list, size_t n, struct ea_err *err) EA_WUR;

/* Fills cfg from defaults then the environment. On a bad value returns EA_ERR_INVALID with a
 * message naming the variable, the value and the accepted range. */
ea_rc ea_config_load(const ea_config_entry *table, size_t n, void *cfg, struct ea_err *err) EA_WUR;

/* Prints "NAME (type, default X): help" lines, for --help. */
void ea_config_print_help(const ea_config_entry *table, size_t n, FILE *out);

/* A service's configuration as its main() starts: its name (the usage line, the prefix of a
 * refusal, the log's name), its table, where the table puts LOG_LEVEL, and the service's own
 * checks once the table has loaded (NULL: none). */
typedef struct ea_config_program {
    const char *name;
    const char *about; /* a line printed under the usage line, or NULL */
    const ea_config_entry *table;
    size_t n;
    const ea_config_retired *retired; /* variables refused at start (NULL: none) */
    size_t n_retired;
    size_t log_level; /* offsetof(struct svc_config, its const char * LOG_LEVEL field) */
    ea_rc (*check)(void *cfg, struct ea_err *err);
} ea_config_program;

/* The start every service's main() shares. `--help` or `-h` as the first argument: prints
 * "usage: NAME", the about line, "configuration (environment):" and the table on stdout, returns
 * 0. A configuration that does not load or check, or sets a retired variable: prints
 * "NAME: <message>" on stderr, returns 2 (the exit code of a bad configuration). Otherwise cfg is
 * loaded, logging is initialised at its LOG_LEVEL under NAME, and the result is -1: the caller
 * goes on. */
int ea_config_start(const ea_config_program *p, int argc, char **argv, void *cfg);

#endif
