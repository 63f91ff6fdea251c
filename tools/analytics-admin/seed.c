/*
 * seed.c — `analytics-admin seed`: the demo tenant that `make dev` and the tests rely on.
 * Idempotent: tenant acme-corp ("Acme Corp") and metric page_views (count of page_view grouped
 * by page) are created when missing and left alone when present (a changed definition is kept).
 * Each run then creates one new key "demo" with scopes ingest,read,admin and prints it alone
 * on the last line of stdout. When OIDC_DEV_ISSUER names the local OIDC provider (scripts/stack.sh
 * sets it when it runs tools/oidc-dev), its user `demo` (subject "demo") becomes admin of
 * acme-corp, so dashboard login works out of the box. Everything happens in one transaction,
 * through lib/catalog (which joins it).
 * `seed --sample-days N` instead loads N days of sample events through the ingest API (sample.c)
 * and makes no demo key.
 */
#include "admin.h"

#include <string.h>

#define SEED_TENANT ADM_SEED_TENANT

static const char usage[] =
    "usage: analytics-admin seed [--sample-days N [--tenant T]]\n"
    "\n"
    "Creates (if missing) the demo tenant acme-corp and its metric page_views = count of event\n"
    "page_view grouped by page, then a new api key \"demo\" with scopes ingest,read,admin, "
    "printed\n"
    "alone on the last line. Safe to run repeatedly; each run makes one more key.\n"
    "\n"
    "--sample-days N (1-30) instead loads N days (ending now) of sample events for acme-corp\n"
    "(page views, signups, purchases) through the ingest API at INGEST_URL, defines the metrics\n"
    "to look at them with, and waits until the worker has counted them. No demo key is made.\n"
    "Idempotent: the events have the same event_ids each time, so they are counted once.\n"
    "--tenant T loads them into another existing tenant instead (tests).\n";

/* The demo tenant and its metric, created when missing (lib/catalog, in the caller's
 * transaction). */
static ea_rc seed_rows(PGconn *c, bool *tenant_new, bool *metric_new, struct ea_err *err)
{
    json_t *v = NULL;
    ea_rc rc = ea_catalog_tenant_create(c, "Acme Corp", SEED_TENANT, &v, err);
    json_decref(v);
    *tenant_new = rc == EA_OK;
    *metric_new = false;
    if (rc != EA_OK && rc != EA_ERR_CONFLICT)
        return rc;
    rc = ea_catalog_metric_get(c, SEED_TENANT, "page_views", &v, err);
    json_decref(v);
    if (rc != EA_ERR_NOTFOUND)
        return rc;
    static const char *const dims[] = {"page"};
    ea_catalog_metric m = {.name = "page_views", .event = "page_view", .dims = dims, .ndims = 1};
    json_t *changed = NULL;
    rc = ea_catalog_metric_define(c, SEED_TENANT, &m, &v, metric_new, &changed, err);
    json_decref(v);
    json_decref(changed);
    return rc;
}

ea_rc adm_seed_rows(PGconn *c, struct ea_err *err)
{
    bool tenant_new, metric_new;
    return seed_rows(c, &tenant_new, &metric_new, err);
}

int adm_cmd_seed(const struct adm_cfg *cfg, int argc, char **argv)
{
    size_t npos;
    const char *sample_days = NULL, *tenant = NULL;
    struct adm_opt opts[] = {{"sample-days", &sample_days}, {"tenant", &tenant}};
    int prc = adm_opts_parse(argc, argv, opts, 2, NULL, 0, &npos, usage);
    if (prc != ADM_EXIT_OK)
        return prc == ADM_HELP_SHOWN ? ADM_EXIT_OK : prc;
    if (sample_days != NULL) {
        long days;
        /* 30: ingest refuses events older than the raw-event retention (30 days by default) */
        if (!adm_parse_long(sample_days, 1, 30, &days))
            return adm_usage_error(usage, "invalid --sample-days \"%s\": expected 1 to 30",
                                   sample_days);
        if (tenant != NULL && !ea_catalog_tenant_id_valid(tenant))
            return adm_usage_error(usage, "invalid tenant id \"%s\"", tenant);
        return adm_seed_sample(cfg, tenant != NULL ? tenant : SEED_TENANT, days);
    }
    if (tenant != NULL)
        return adm_usage_error(usage, "--tenant goes with --sample-days");
    PGconn *c = adm_connect(cfg);
    if (c == NULL)
        return ADM_EXIT_FAIL;
    struct ea_err err = {0};
    char key[EA_APIKEY_MAX_LEN + 1];
    static const char *const scopes[] = {"ingest", "read", "admin"};
    ea_catalog_key_spec spec = {
        .tenant = SEED_TENANT, .scopes = scopes, .nscopes = 3, .name = "demo"};
    json_t *k = NULL;
    bool tenant_new = false, metric_new = false;
    int rc = ADM_EXIT_OK;
    if (adm_exec(c, "BEGIN", &err) != EA_OK)
        goto fail;
    if (seed_rows(c, &tenant_new, &metric_new, &err) != EA_OK ||
        ea_catalog_key_create(c, &spec, (int)cfg->bcrypt_cost, key, &k, &err) != EA_OK ||
        (cfg->oidc_dev_issuer != NULL && cfg->oidc_dev_issuer[0] != '\0' &&
         ea_catalog_member_grant(c, SEED_TENANT, cfg->oidc_dev_issuer, "demo", "admin", &err) !=
             EA_OK)) {
        adm_rollback(c);
        goto fail;
    }
    if (adm_exec(c, "COMMIT", &err) != EA_OK)
        goto fail;
    printf("tenant %s: %s\n", SEED_TENANT, tenant_new ? "created" : "exists");
    printf("metric page_views (count of page_view by page): %s\n",
           metric_new ? "created" : "exists");
    if (cfg->oidc_dev_issuer != NULL && cfg->oidc_dev_issuer[0] != '\0')
        printf("member demo @ %s: admin of %s\n", cfg->oidc_dev_issuer, SEED_TENANT);
    printf("created api key %s for tenant %s: scopes ingest,read,admin, name demo (shown once)\n",
           json_string_value(json_object_get(k, "keyId")), SEED_TENANT);
    printf("%s\n", key);
    memset(key, 0, sizeof(key));
    goto out;
fail:
    rc = adm_fail(&err);
out:
    json_decref(k);
    PQfinish(c);
    return rc;
}
