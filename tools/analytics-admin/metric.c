/*
 * metric.c — `analytics-admin metric define|list|delete|rename`: metric definitions the worker
 * rolls up (SPEC §5), through lib/catalog (the rules and messages GraphQL gives too). `define`
 * is an upsert on (tenant, name): redefining a metric changes how new events are counted, not
 * rows already rolled up. Changes that move or remove rollup rows are announced on the change
 * feed so graphql-api drops cached answers.
 */
#include "admin.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: analytics-admin metric define --tenant T --name N --event E\n"
    "                [--aggregation count|sum|min|max|avg|unique] [--property P]\n"
    "                [--dimensions a,b] [--cardinality-cap N]\n"
    "       analytics-admin metric list --tenant T\n"
    "       analytics-admin metric delete --tenant T --name N\n"
    "       analytics-admin metric rename --tenant T --name N --to M\n"
    "\n"
    "define  creates or replaces metric N of tenant T over events named E. N is a lowercase\n"
    "        letter, then up to 63 lowercase letters, digits, '_', '.' or '-'; it may not be the\n"
    "        name of an event already seen unless the metric is that event's count. The\n"
    "        aggregation defaults to count; the others read the numeric (unique: any) property\n"
    "        P, which they require. Up to 8 dimension properties; each keeps at most N distinct\n"
    "        values per day (default 1000), the rest fold into \"__other__\".\n"
    "list    shows the tenant's metric definitions.\n"
    "delete  removes a definition and its rollups (those of an event's own count stay: they are\n"
    "        the event's automatic count). Refused while alerts use the metric.\n"
    "rename  gives a definition a new name; its rollups, alerts and dashboard charts follow.\n"
    "\n"
    "Every event also has an automatic count metric named exactly like the event (\"<event>\n"
    "(event)\" while a definition of another event holds that name).\n";

static int metric_define(const struct adm_cfg *cfg, int argc, char **argv)
{
    const char *tenant, *name, *event, *agg, *prop, *dims, *cap;
    size_t npos;
    struct adm_opt opts[] = {{"tenant", &tenant},      {"name", &name},     {"event", &event},
                             {"aggregation", &agg},    {"property", &prop}, {"dimensions", &dims},
                             {"cardinality-cap", &cap}};
    int prc =
        adm_opts_parse(argc, argv, opts, sizeof(opts) / sizeof(opts[0]), NULL, 0, &npos, usage);
    if (prc != ADM_EXIT_OK)
        return prc == ADM_HELP_SHOWN ? ADM_EXIT_OK : prc;
    if (tenant == NULL || name == NULL || event == NULL)
        return adm_usage_error(usage, "metric define needs --tenant, --name and --event");
    ea_catalog_metric m = {.name = name, .event = event, .aggregation = agg, .property = prop};
    if (cap != NULL) {
        char *end;
        errno = 0;
        m.cap = strtoll(cap, &end, 10);
        m.cap_set = true;
        if (cap[0] == '\0' || *end != '\0' || errno != 0)
            return adm_usage_error(usage, "invalid --cardinality-cap \"%s\": expected 1 to 1000000",
                                   cap);
    }
    const char **list = adm_split(dims, &m.ndims);
    if (list == NULL)
        return ADM_EXIT_FAIL;
    m.dims = list;
    struct ea_err err = {0};
    json_t *def = NULL, *changed = NULL;
    bool created = false;
    PGconn *c = NULL;
    int rc = ADM_EXIT_OK;
    /* bad input is refused before connecting, with the message GraphQL gives */
    if (ea_catalog_tenant_id_check(tenant, &err) != EA_OK ||
        ea_catalog_metric_check(&m, &err) != EA_OK) {
        rc = adm_catalog_fail(&err, usage);
        goto out;
    }
    if ((c = adm_connect(cfg)) == NULL) {
        rc = ADM_EXIT_FAIL;
        goto out;
    }
    if (ea_catalog_metric_define(c, tenant, &m, &def, &created, &changed, &err) != EA_OK) {
        rc = adm_catalog_fail(&err, usage);
        goto out;
    }
    const char *aggn = json_string_value(json_object_get(def, "aggregation"));
    printf("%s metric %s of tenant %s: %s of event %s%s%s, %zu dimension%s%s%s, cardinality cap "
           "%lld\n",
           created ? "created" : "updated", name, tenant, aggn, event,
           prop != NULL ? ", property " : "", prop != NULL ? prop : "", m.ndims,
           m.ndims == 1 ? "" : "s", m.ndims > 0 ? " " : "", m.ndims > 0 ? dims : "",
           (long long)json_integer_value(json_object_get(def, "cardinalityCap")));
    adm_announce(cfg, tenant, changed);
out:
    json_decref(def);
    free(list);
    PQfinish(c);
    return rc;
}

static int metric_list(const struct adm_cfg *cfg, int argc, char **argv)
{
    static const struct adm_col cols[] = {{"name", "name", NULL, 's'},
                                          {"event", "eventName", NULL, 's'},
                                          {"aggregation", "aggregation", NULL, 's'},
                                          {"property", "property", "-", 's'},
                                          {"dimensions", "dimensions", NULL, 'l'},
                                          {"cardinality_cap", "cardinalityCap", NULL, 's'}};
    return adm_catalog_list(cfg, argc, argv, usage, "metric list", ea_catalog_metric_list, cols,
                            sizeof(cols) / sizeof(cols[0]));
}

/* delete and rename: --tenant, --name and (rename) --to. */
static int metric_change(const struct adm_cfg *cfg, int argc, char **argv, bool rename)
{
    const char *tenant, *name, *to = NULL;
    size_t npos;
    struct adm_opt opts[] = {{"tenant", &tenant}, {"name", &name}, {"to", &to}};
    int prc = adm_opts_parse(argc, argv, opts, rename ? 3 : 2, NULL, 0, &npos, usage);
    if (prc != ADM_EXIT_OK)
        return prc == ADM_HELP_SHOWN ? ADM_EXIT_OK : prc;
    if (tenant == NULL || name == NULL || (rename && to == NULL))
        return adm_usage_error(usage, rename ? "metric rename needs --tenant, --name and --to"
                                             : "metric delete needs --tenant and --name");
    PGconn *c = adm_connect(cfg);
    if (c == NULL)
        return ADM_EXIT_FAIL;
    struct ea_err err = {0};
    json_t *def = NULL, *changed = NULL;
    ea_rc r = rename ? ea_catalog_metric_rename(c, tenant, name, to, &def, &changed, &err)
                     : ea_catalog_metric_delete(c, tenant, name, &def, &changed, &err);
    int rc = ADM_EXIT_OK;
    if (r != EA_OK) {
        rc = adm_catalog_fail(&err, usage);
    } else {
        if (rename)
            printf("renamed metric %s of tenant %s to %s\n", name, tenant, to);
        else
            printf("deleted metric %s of tenant %s\n", name, tenant);
        adm_announce(cfg, tenant, changed);
    }
    json_decref(def);
    PQfinish(c);
    return rc;
}

int adm_cmd_metric(const struct adm_cfg *cfg, int argc, char **argv)
{
    if (argc < 2)
        return adm_usage_error(usage, "metric needs a subcommand: define, list, delete or rename");
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        fputs(usage, stdout);
        return ADM_EXIT_OK;
    }
    if (strcmp(argv[1], "define") == 0)
        return metric_define(cfg, argc - 1, argv + 1);
    if (strcmp(argv[1], "list") == 0)
        return metric_list(cfg, argc - 1, argv + 1);
    if (strcmp(argv[1], "delete") == 0)
        return metric_change(cfg, argc - 1, argv + 1, false);
    if (strcmp(argv[1], "rename") == 0)
        return metric_change(cfg, argc - 1, argv + 1, true);
    return adm_usage_error(usage, "unknown metric subcommand \"%s\"", argv[1]);
}
