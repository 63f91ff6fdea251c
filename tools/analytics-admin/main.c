/*
 * main.c — analytics-admin: the operator's command line (SPEC §9). Loads the environment
 * (declarative ea_config table) and hands argv to one command file: migrate.c, seed.c,
 * tenant.c, key.c, metric.c, partitions.c, backfill.c. Commands print results on stdout and
 * "could not X: reason" on stderr; exit 0 ok, 1 failure, 2 usage.
 */
#include "admin.h"

#include "ea_config.h"
#include "ea_pg.h"
#include "ea_redis.h"
#include "ea_rollup_feed.h"

#include <stddef.h>
#include <string.h>

static const ea_config_entry config_table[] = {
    EA_PG_CONFIG_ENTRY(struct adm_cfg, database_url, "the catalog, migrations, backfill"),
    {"MIGRATIONS_DIR", EA_CFG_STR, NULL, 0, 0, offsetof(struct adm_cfg, migrations_dir),
     "migrations (default ./db/migrations, else <binary dir>/../../db/migrations)"},
    {"API_KEY_BCRYPT_COST", EA_CFG_INT, "10", 4, 31, offsetof(struct adm_cfg, bcrypt_cost),
     "bcrypt cost of new api keys (10 is about 70 ms)"},
    {"OIDC_DEV_ISSUER", EA_CFG_STR, NULL, 0, 0, offsetof(struct adm_cfg, oidc_dev_issuer),
     "issuer URL of the local OIDC provider; seed makes its user demo admin of acme-corp"},
    {"INGEST_URL", EA_CFG_STR, "http://127.0.0.1:3001", 0, 0, offsetof(struct adm_cfg, ingest_url),
     "the ingest API that seed --sample-days posts sample events to"},
    EA_REDIS_CONFIG_ENTRIES(struct adm_cfg, redis_url, redis_ca_file,
                            "metric changes, backfills announced on the change feed"),
    EA_ROLLUP_CHANGES_CHANNEL_CONFIG_ENTRY(struct adm_cfg, changes_channel),
    {"WORKER_CHANGES_MAX", EA_CFG_INT, "1000", 1, 100000, offsetof(struct adm_cfg, changes_max),
     "changes per change-feed message (backfill)"},
};
#define CONFIG_N (sizeof(config_table) / sizeof(config_table[0]))

/* All four retired channel variables, the alerts ones too: one .env serves every program, and a
 * stale name in it should stop each of them, not only the one it used to configure. */
static const ea_config_retired config_retired[] = {EA_ROLLUP_CHANNEL_RETIRED_ENTRIES};
#define RETIRED_N (sizeof(config_retired) / sizeof(config_retired[0]))

static const struct {
    const char *name;
    int (*run)(const struct adm_cfg *, int, char **);
    const char *summary;
} commands[] = {
    {"migrate", adm_cmd_migrate, "apply db/migrations in order (idempotent), maintain partitions"},
    {"seed", adm_cmd_seed,
     "demo tenant acme-corp, metric page_views, a new demo key; --sample-days N: sample events"},
    {"tenant", adm_cmd_tenant, "tenant create NAME [--id ID] | tenant list"},
    {"key", adm_cmd_key, "key create --tenant T --scopes S | key revoke ID | key list --tenant T"},
    {"metric", adm_cmd_metric, "metric define|list|delete|rename --tenant T ..."},
    {"partitions", adm_cmd_partitions, "create/drop partitions now and list them"},
    {"member", adm_cmd_member, "member add --tenant T --issuer I --subject S --role R | list"},
    {"backfill", adm_cmd_backfill, "recompute a metric's rollups from raw events"},
};
#define COMMANDS_N (sizeof(commands) / sizeof(commands[0]))

static void print_usage(FILE *out)
{
    fprintf(out, "usage: analytics-admin COMMAND [ARGS] (COMMAND --help for details)\n\n"
                 "commands:\n");
    for (size_t i = 0; i < COMMANDS_N; i++)
        fprintf(out, "  %-11s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\nenvironment:\n");
    ea_config_print_help(config_table, CONFIG_N, out);
    fprintf(out, "\nexit status: 0 ok, 1 failure, 2 usage error\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "missing command\n\n");
        print_usage(stderr);
        return ADM_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 ||
        (strcmp(cmd, "help") == 0 && argc == 2)) {
        print_usage(stdout);
        return ADM_EXIT_OK;
    }

    struct adm_cfg cfg = {0};
    struct ea_err err = {0};
    if (ea_config_retired_check(config_retired, RETIRED_N, &err) != EA_OK ||
        ea_config_load(config_table, CONFIG_N, &cfg, &err) != EA_OK) {
        fprintf(stderr, "could not load configuration: %s\n", err.message);
        return ADM_EXIT_USAGE;
    }
    /* "help key" == "key --help" */
    static char help_flag[] = "--help";
    char *help_argv[4];
    if (strcmp(cmd, "help") == 0) {
        help_argv[0] = argv[0];
        help_argv[1] = argv[2];
        help_argv[2] = help_flag;
        help_argv[3] = NULL;
        argv = help_argv;
        argc = 3;
        cmd = argv[1];
    }
    for (size_t i = 0; i < COMMANDS_N; i++)
        if (strcmp(cmd, commands[i].name) == 0)
            return commands[i].run(&cfg, argc - 1, argv + 1);
    fprintf(stderr, "unknown command \"%s\"\n\n", cmd);
    print_usage(stderr);
    return ADM_EXIT_USAGE;
}
