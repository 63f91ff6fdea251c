/*
 * tenant.c — `analytics-admin tenant create NAME [--id ID]` and `tenant list`. A tenant is the
 * unit of isolation: every key, metric and row belongs to one. Its id is what API keys resolve
 * to and what GraphQL queries name; lib/catalog validates it (the tenants.id CHECK) and derives
 * it from the name when --id is not given.
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
    PGconn *c = adm_connect(cfg);
    if (c == NULL)
        return ADM_EXIT_FAIL;
    struct ea_err err = {0};
    json_t *t = NULL;
    int rc = ADM_EXIT_OK;
    if (ea_catalog_tenant_create(c, pos[0], id, &t, &err) != EA_OK)
        rc = adm_catalog_fail(&err, usage);
    else
        printf("created tenant %s (%s)\n", json_string_value(json_object_get(t, "id")), pos[0]);
    json_decref(t);
    PQfinish(c);
    return rc;
}

/* ea_catalog_tenant_list in the shape of a per-tenant list (there is no tenant argument). */
static ea_rc all_tenants(PGconn *c, const char *tenant, json_t **out, struct ea_err *err)
{
    (void)tenant;
    return ea_catalog_tenant_list(c, out, err);
}

static int tenant_list(const struct adm_cfg *cfg, int argc, char **argv)
{
    static const struct adm_col cols[] = {{"id", "id", NULL, 's'},
                                          {"name", "name", NULL, 's'},
                                          {"active_keys", "activeKeys", NULL, 's'},
                                          {"metrics", "metrics", NULL, 's'},
                                          {"created_at", "createdAt", NULL, 't'}};
    return adm_catalog_list(cfg, argc, argv, usage, NULL, all_tenants, cols,
                            sizeof(cols) / sizeof(cols[0]));
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
