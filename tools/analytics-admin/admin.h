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
#include "ea_err.h"

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

#define ADM_TENANT_ID_MAX 63
#define ADM_MAX_DIMENSIONS 8
#define ADM_NAME_MAX 128  /* metric and dimension names (metric_definitions CHECK) */
#define ADM_EVENT_MAX 256 /* event names (docs/event-format.md) */
#define ADM_TEXT_MAX 200  /* tenant and key display names */
#define ADM_ARRAY_MAX 4096

struct adm_cfg {
    const char *database_url;
    const char *migrations_dir; /* NULL: resolved by adm_migrations_dir() */
    long bcrypt_cost;
    const char *oidc_dev_issuer; /* the local OIDC provider (seed makes its user demo an admin) */
    const char *ingest_url;      /* the ingest API (seed --sample-days posts its events there) */
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

/* Grants (or changes) a login membership: (issuer, subject) may use tenant with role
 * viewer|admin (member.c). The caller validates the arguments. */
ea_rc adm_member_upsert(PGconn *c, const char *tenant, const char *issuer, const char *subject,
                        const char *role, struct ea_err *err) EA_WUR;

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

/* ---- validation (args.c, pure: unit-tested in tests/unit/admin/) ---------------------------- */

/* True when id matches ^[a-z0-9][a-z0-9-]{0,62}$ (the tenants.id CHECK). */
bool adm_tenant_id_valid(const char *id);

/* Derives a tenant id from a display name: lowercase ASCII letters and digits kept, every run of
 * other bytes becomes one '-', no leading/trailing '-', at most 63 chars. False (out = "") when
 * nothing valid remains. */
bool adm_slugify(const char *name, char out[ADM_TENANT_ID_MAX + 1]);

/* Parses "ingest,read[,admin]" into the PostgreSQL array literal "{ingest,read}". Each scope
 * must be one of ingest/read/admin, at least one, no repeats. EA_ERR_INVALID with a message. */
ea_rc adm_parse_scopes(const char *s, char out[ADM_ARRAY_MAX], struct ea_err *err) EA_WUR;

/* Parses "a,b" (dimension property names, 1..128 bytes, no control characters, at most 8, no
 * repeats; "" means none) into a quoted PostgreSQL array literal {"a","b"}; *count = how many. */
ea_rc adm_parse_dimensions(const char *s, char out[ADM_ARRAY_MAX], int *count,
                           struct ea_err *err) EA_WUR;

/* Parses a base-10 integer in [min, max] (whole string, no sign games). */
bool adm_parse_long(const char *s, long min, long max, long *out);

/* True for count|sum|min|max|avg|unique. */
bool adm_aggregation_valid(const char *s);

/* True when s is 1..max bytes with no control characters (names shown in tables and logs). */
bool adm_text_valid(const char *s, size_t max);

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

/* True when tenant id exists; EA_ERR_NOTFOUND ("could not <what>: tenant "x" does not exist")
 * or EA_ERR_DB otherwise. */
ea_rc adm_tenant_require(PGconn *c, const char *tenant, const char *what,
                         struct ea_err *err) EA_WUR;

/* Runs ea_partitions_maintain() in its own transaction under ADM_LOCK_PARTITIONS; *created = the
 * number of partitions it created. */
ea_rc adm_partitions_maintain(PGconn *c, long *created, struct ea_err *err) EA_WUR;

/* Creates an api key row and returns the full key in key_out (shown once by the caller).
 * scopes_array is a literal from adm_parse_scopes; rate_limit/name may be NULL. */
ea_rc adm_key_insert(PGconn *c, const struct adm_cfg *cfg, const char *tenant,
                     const char *scopes_array, const char *rate_limit, const char *name,
                     char key_out[EA_APIKEY_MAX_LEN + 1], char id_out[EA_APIKEY_ID_LEN + 1],
                     struct ea_err *err) EA_WUR;

#endif
