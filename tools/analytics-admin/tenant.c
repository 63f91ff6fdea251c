/*
 * tenant.c — `analytics-admin tenant create NAME [--id ID]` and `tenant list`. A tenant is the
 * unit of isolation: every key, metric and row belongs to one. Its id is what API keys resolve
 * to and what GraphQL queries name, so it is validated here against the tenants.id CHECK.
 */
#include "admin.h"

#include <string.h>

static const char usage[] =
    "usage: analytics-admin tenant create NAME [--id ID]\n"
    "       analytics-admin tenant list\n"
    "\n"
    "create  adds a tenant named NAME (1-200 chars). Its id defaults to a slug of NAME\n"
    "        (\"Acme Corp\" -> acme-corp) and must match ^[a-z0-9][a-z0-9-]{0,62}$.\n"
    "list    shows every tenant with its number of api keys and metric definitions.\n";

static int tenant_create(const struct adm_cfg *cfg, int argc, char **argv)
{
    const char *id = NULL, *pos[1];
    size_t npos;
    struct adm_opt opts[] = {{"id", &id}};
    int prc = adm_opts_parse(argc, argv, opts, 1, pos, 1, &npos, usage);
    if (prc != ADM_EXIT_OK)
        return prc == ADM_HELP_SHOWN ? ADM_EXIT_OK : prc;
    if (npos != 1)
        return adm_usage_error(usage, "tenant create needs a NAME");
    const char *name = pos[0];
    if (!adm_text_valid(name, ADM_TEXT_MAX))
        return adm_usage_error(
            usage, "invalid tenant name: 1 to %d bytes without control characters", ADM_TEXT_MAX);
    char slug[ADM_TENANT_ID_MAX + 1];
    if (id == NULL) {
        if (!adm_slugify(name, slug))
            return adm_usage_error(usage,
                                   "could not derive a tenant id from \"%s\": pass --id with "
                                   "lowercase letters, digits and '-'",
                                   name);
        id = slug;
    } else if (!adm_tenant_id_valid(id)) {
        return adm_usage_error(
            usage, "invalid tenant id \"%s\": must match ^[a-z0-9][a-z0-9-]{0,62}$", id);
    }

    PGconn *c = adm_connect(cfg);
    if (c == NULL)
        return ADM_EXIT_FAIL;
    struct ea_err err = {0};
    const char *params[] = {id, name};
    PGresult *res = adm_query(c, "create tenant",
                              "INSERT INTO tenants (id, name) VALUES ($1, $2) "
                              "ON CONFLICT (id) DO NOTHING",
                              2, params, PGRES_COMMAND_OK, &err);
    int rc = ADM_EXIT_OK;
    if (res == NULL) {
        rc = adm_fail(&err);
    } else if (strcmp(PQcmdTuples(res), "1") != 0) {
        fprintf(stderr, "could not create tenant: tenant \"%s\" already exists\n", id);
        rc = ADM_EXIT_FAIL;
    } else {
        printf("created tenant %s (%s)\n", id, name);
    }
    PQclear(res);
    PQfinish(c);
    return rc;
}

static int tenant_list(const struct adm_cfg *cfg, int argc, char **argv)
{
    size_t npos;
    int prc = adm_opts_parse(argc, argv, NULL, 0, NULL, 0, &npos, usage);
    if (prc != ADM_EXIT_OK)
        return prc == ADM_HELP_SHOWN ? ADM_EXIT_OK : prc;
    PGconn *c = adm_connect(cfg);
    if (c == NULL)
        return ADM_EXIT_FAIL;
    struct ea_err err = {0};
    PGresult *res = adm_query(
        c, "list tenants",
        "SELECT t.id, t.name,"
        " (SELECT count(*) FROM api_keys k WHERE k.tenant_id = t.id AND k.revoked_at IS NULL)"
        " AS active_keys,"
        " (SELECT count(*) FROM metric_definitions m WHERE m.tenant_id = t.id) AS metrics,"
        " to_char(t.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS created_at"
        " FROM tenants t ORDER BY t.id",
        0, NULL, PGRES_TUPLES_OK, &err);
    int rc = ADM_EXIT_OK;
    if (res == NULL)
        rc = adm_fail(&err);
    else
        adm_print_table(res, stdout);
    PQclear(res);
    PQfinish(c);
    return rc;
}

int adm_cmd_tenant(const struct adm_cfg *cfg, int argc, char **argv)
{
    if (argc < 2)
        return adm_usage_error(usage, "tenant needs a subcommand: create or list");
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        fputs(usage, stdout);
        return ADM_EXIT_OK;
    }
    if (strcmp(argv[1], "create") == 0)
        return tenant_create(cfg, argc - 1, argv + 1);
    if (strcmp(argv[1], "list") == 0)
        return tenant_list(cfg, argc - 1, argv + 1);
    return adm_usage_error(usage, "unknown tenant subcommand \"%s\"", argv[1]);
}
