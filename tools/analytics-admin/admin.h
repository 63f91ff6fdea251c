/*
 * admin.h — internals shared by the analytics-admin command files: configuration, the command
 * entry points, option parsing and output helpers. Private to tools/analytics-admin (and its unit
 * tests in tests/unit/admin/); nothing in lib/ or services/ includes it.
 *
 * Exit codes of every command: 0 success, 1 runtime error ("could not X: reason" on stderr),
 * 2 usage error (message and usage text on stderr).
 */
#ifndef ADMIN_H
#define ADMIN_H

#include "ea_apikey.h"
#include "ea_catalog.h"
#include "ea_err.h"

#include <jansson.h>

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define ADM_EXIT_OK 0
#define ADM_EXIT_FAIL 1
#define ADM_EXIT_USAGE 2
#define ADM_HELP_SHOWN (-1) /* adm_opts_parse: --help was printed; the command exits 0 */

/* Advisory lock keys (pg_advisory_lock). ADM_LOCK_MIGRATE serializes concurrent `migrate` runs;
 * ADM_LOCK_PARTITIONS is taken (transaction-scoped) around ea_partitions_maintain() so the admin
 * CLI and the worker's maintenance pass do not create the same partition at once. */
#define ADM_LOCK_MIGRATE "7305976960113"
#define ADM_LOCK_PARTITIONS "7305976960114"

struct adm_cfg {
    const char *database_url;
    const char *migrations_dir; /* NULL: resolved by adm_migrations_dir() */
    long bcrypt_cost;
    const char *oidc_dev_issuer; /* the local OIDC provider (seed makes its user demo an admin) */
    const char *ingest_url;      /* the ingest API (seed --sample-days posts its events there) */
    /* the change feed: catalog changes (delete, rename) and backfill announce what they
     * changed, with the worker's settings (docs/event-format.md "Change feed") */
    const char *redis_url;
    const char *redis_ca_file;
    const char *changes_channel;
    long changes_max;
};

/* Commands: argv[0] is the command word ("migrate", "key", ...). Return an ADM_EXIT_* code. */
int adm_cmd_migrate(const struct adm_cfg *cfg, int argc, char **argv);
int adm_cmd_seed(const struct adm_cfg *cfg, int argc, char **argv);
int adm_cmd_tenant(const struct adm_cfg *cfg, int argc, char **argv);
int adm_cmd_key(const struct adm_cfg *cfg, int argc, char **argv);
int adm_cmd_metric(const struct adm_cfg *cfg, int argc, char **argv);
int adm_cmd_partitions(const struct adm_cfg *cfg, int argc, char **argv);
int adm_cmd_backfill(const struct adm_cfg *cfg, int argc, char **argv);
int adm_cmd_member(const struct adm_cfg *cfg, int argc, char **argv);

#define ADM_SEED_TENANT "acme-corp"

/* The seed's rows (the demo tenant acme-corp and its page_views metric), created when missing
 * (seed.c). Runs in the caller's transaction. */
ea_rc adm_seed_rows(PGconn *c, struct ea_err *err) EA_WUR;

/* `seed --sample-days N` (sample.c): the seed's rows (tenant acme-corp; another tenant must
 * exist), the sample's metric definitions, then N days of sample events through the ingest API
 * at cfg->ingest_url; waits for the worker. */
int adm_seed_sample(const struct adm_cfg *cfg, const char *tenant, long days);

/* ---- options (args.c) ---------------------------------------------------------------------- */

/* One "--name VALUE" (or "--name=VALUE") option; *value stays NULL when absent. */
struct adm_opt {
    const char *name; /* without the leading "--" */
    const char **value;
};

/* Parses argv[1..argc) into opts and up to max_pos positional arguments (pos[], *npos).
 * "--help"/"-h" prints usage to stdout and returns ADM_HELP_SHOWN; "--" ends options. An unknown
 * option, a missing value, a repeated option or too many positionals prints a message and usage
 * to stderr and returns ADM_EXIT_USAGE. Returns ADM_EXIT_OK otherwise. */
int adm_opts_parse(int argc, char **argv, struct adm_opt *opts, size_t nopts, const char **pos,
                   size_t max_pos, size_t *npos, const char *usage);

/* Prints "<fmt>" and the usage text to stderr; returns ADM_EXIT_USAGE. */
int adm_usage_error(const char *usage, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- values (args.c, pure: unit-tested in tests/unit/admin/) -------------------------------- */

/* Splits "a,b" at commas into a NULL-terminated array of pointers into one allocation (free()
 * the array); "" or NULL gives no items. *n = the count. NULL when out of memory. */
const char **adm_split(const char *s, size_t *n);

/* Parses a base-10 integer in [min, max] (whole string, no sign games). */
bool adm_parse_long(const char *s, long min, long max, long *out);

/* ---- database and output (common.c) -------------------------------------------------------- */

/* Connects to cfg->database_url with client_min_messages=warning; on failure prints the error
 * and returns NULL. The caller PQfinish()es. */
PGconn *adm_connect(const struct adm_cfg *cfg);

/* Prints err->message (and detail/hint when set) to stderr; returns ADM_EXIT_FAIL. */
int adm_fail(const struct ea_err *err);

/* Runs a parameterized statement (ea_pg_query) and, on error, rewrites the message to
 * "could not <what>: <reason>". NULL on error with err filled. */
PGresult *adm_query(PGconn *c, const char *what, const char *sql, int nparams,
                    const char *const *params, ExecStatusType expect, struct ea_err *err);

/* Runs BEGIN/COMMIT/ROLLBACK and friends; EA_OK or err filled. */
ea_rc adm_exec(PGconn *c, const char *sql, struct ea_err *err) EA_WUR;

/* ROLLBACK after a failed step; its own failure is ignored (the first error is what matters). */
void adm_rollback(PGconn *c);

/* Prints a result as an aligned text table with a header row (NULL shown as "-"). */
void adm_print_table(const PGresult *res, FILE *out);

/* ---- lib/catalog adapters (catalog.c) ------------------------------------------------------- */

/* A lib/catalog error as the CLI reports it: bad input (EA_ERR_INVALID) is a usage error (the
 * message, then usage; exit 2), anything else adm_fail (exit 1). The first line is the catalog's
 * message, the same text GraphQL answers. */
int adm_catalog_fail(const struct ea_err *err, const char *usage);

/* One column of a table printed from a JSON list of objects. */
struct adm_col {
    const char *header;
    const char *key;     /* the object's member */
    const char *if_null; /* shown for null or a missing member */
    char kind;           /* 's' as is, 't' a timestamp cut to seconds, 'l' a list joined by ',' */
};

/* Prints list (JSON objects) as an aligned table with a header row. */
void adm_print_json_table(const json_t *list, const struct adm_col *cols, size_t ncols, FILE *out);

/* A list from lib/catalog (fn) as `COMMAND list [--tenant T]` prints it: parses --tenant when
 * cmd (e.g. "key list", for the message when it is missing) is not NULL, else no options;
 * connects, prints the table. Returns an ADM_EXIT_* code. */
typedef ea_rc (*adm_list_fn)(PGconn *c, const char *tenant, json_t **out, struct ea_err *err);
int adm_catalog_list(const struct adm_cfg *cfg, int argc, char **argv, const char *usage,
                     const char *cmd, adm_list_fn fn, const struct adm_col *cols, size_t ncols);

/* Announces metrics whose rows a catalog change moved or removed on the change feed
 * (REDIS_URL, CHANGES_CHANNEL) so graphql-api drops their cached answers; when Redis is
 * unreachable prints a warning saying what it means. Takes ownership of changed. */
void adm_announce(const struct adm_cfg *cfg, const char *tenant, json_t *changed);

/* Runs ea_partitions_maintain() in its own transaction under ADM_LOCK_PARTITIONS; *created = the
 * number of partitions it created. */
ea_rc adm_partitions_maintain(PGconn *c, long *created, struct ea_err *err) EA_WUR;

#endif
