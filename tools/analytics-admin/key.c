/*
 * key.c — `analytics-admin key create|revoke|list`: API keys for the ingest and GraphQL APIs.
 * The full key is printed once, alone on the last line of stdout (scripts take `tail -n1`); the
 * database keeps only the key id and a bcrypt hash of the secret (lib/apikey). `key list` never
 * shows secrets or hashes. Revocation sets revoked_at; services honour it within their key
 * cache TTL (SPEC §4). The rules and statements are lib/catalog's (the same as GraphQL's).
 */
#include "admin.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: analytics-admin key create --tenant T --scopes ingest,read[,admin] [--rate-limit N]\n"
    "                                  [--name NAME] [--origins ORIGIN,...]\n"
    "       analytics-admin key revoke KEY_ID_OR_FULL_KEY\n"
    "       analytics-admin key list --tenant T\n"
    "\n"
    "create  makes a key for tenant T with the given scopes (ingest, read, admin) and an optional\n"
    "        rate limit of N requests/minute (default: the service-wide limit). Prints the key\n"
    "        once, alone on the last line; only its bcrypt hash is stored.\n"
    "        --origins makes a browser key (scopes exactly ingest): accepted only from those\n"
    "        origins (https://app.example.com,http://localhost:8080), allowed in request\n"
    "        bodies, safe to publish in a web page.\n"
    "revoke  revokes a key by its id (the 12 hex chars after \"ak_\") or by the full key.\n"
    "list    shows the tenant's keys (never their secrets).\n"
    "\n"
    "environment: DATABASE_URL, API_KEY_BCRYPT_COST (4-31, default 10)\n";

static int key_create(const struct adm_cfg *cfg, int argc, char **argv)
{
    const char *tenant, *scopes, *rate, *name, *origins;
    size_t npos;
    struct adm_opt opts[] = {{"tenant", &tenant},
                             {"scopes", &scopes},
                             {"rate-limit", &rate},
                             {"name", &name},
                             {"origins", &origins}};
    int prc = adm_opts_parse(argc, argv, opts, 5, NULL, 0, &npos, usage);
    if (prc != ADM_EXIT_OK)
        return prc == ADM_HELP_SHOWN ? ADM_EXIT_OK : prc;
    if (tenant == NULL)
        return adm_usage_error(usage, "key create needs --tenant");
    if (scopes == NULL)
        return adm_usage_error(usage, "key create needs --scopes");
    long long rl = 0;
    if (rate != NULL) {
        char *end;
        errno = 0;
        rl = strtoll(rate, &end, 10);
        if (rate[0] == '\0' || *end != '\0' || errno != 0)
            return adm_usage_error(
                usage, "invalid --rate-limit \"%s\": expected requests/minute, 1 to 2147483647",
                rate);
    }
    ea_catalog_key_spec spec = {
        .tenant = tenant, .has_rate_limit = rate != NULL, .rate_limit = rl, .name = name};
    const char **list = adm_split(scopes, &spec.nscopes);
    const char **olist = origins != NULL ? adm_split(origins, &spec.norigins) : NULL;
    if (list == NULL || (origins != NULL && olist == NULL)) {
        free(list);
        return ADM_EXIT_FAIL;
    }
    spec.scopes = list;
    spec.origins = olist;
    char onorm[EA_ORIGINS_TEXT_MAX];
    struct ea_err err = {0};
    char key[EA_APIKEY_MAX_LEN + 1];
    json_t *k = NULL;
    PGconn *c = NULL;
    int rc = ADM_EXIT_OK;
    /* bad input is refused before connecting */
    if (ea_catalog_tenant_id_check(tenant, &err) != EA_OK ||
        ea_catalog_scopes_check(spec.scopes, spec.nscopes, &err) != EA_OK ||
        ea_catalog_key_origins(&spec, onorm, &err) != EA_OK) {
        rc = adm_catalog_fail(&err, usage);
        goto out;
    }
    if ((c = adm_connect(cfg)) == NULL) {
        rc = ADM_EXIT_FAIL;
        goto out;
    }
    if (ea_catalog_key_create(c, &spec, (int)cfg->bcrypt_cost, key, &k, &err) != EA_OK) {
        rc = adm_catalog_fail(&err, usage);
        goto out;
    }
    printf("created api key %s for tenant %s: scopes %s, rate limit %s%s, name %s "
           "(shown once; only its bcrypt hash is stored)\n",
           json_string_value(json_object_get(k, "keyId")), tenant, scopes,
           rate != NULL ? rate : "default", rate != NULL ? "/min" : "", name != NULL ? name : "-");
    if (origins != NULL)
        printf("browser key: accepted only from %s\n", onorm);
    printf("%s\n", key);
    memset(key, 0, sizeof(key));
out:
    json_decref(k);
    free(list);
    free(olist);
    PQfinish(c);
    return rc;
}

static int key_revoke(const struct adm_cfg *cfg, int argc, char **argv)
{
    const char *pos[1];
    size_t npos;
    int prc = adm_opts_parse(argc, argv, NULL, 0, pos, 1, &npos, usage);
    if (prc != ADM_EXIT_OK)
        return prc == ADM_HELP_SHOWN ? ADM_EXIT_OK : prc;
    if (npos != 1)
        return adm_usage_error(usage, "key revoke needs a KEY_ID or a full key");
    PGconn *c = adm_connect(cfg);
    if (c == NULL)
        return ADM_EXIT_FAIL;
    struct ea_err err = {0};
    json_t *k = NULL;
    bool already = false;
    int rc = ADM_EXIT_OK;
    if (ea_catalog_key_revoke(c, NULL, pos[0], &k, &already, &err) != EA_OK) {
        rc = adm_catalog_fail(&err, usage);
    } else if (!already) {
        printf("revoked api key %s of tenant %s\n", json_string_value(json_object_get(k, "keyId")),
               json_string_value(json_object_get(k, "tenant")));
    } else {
        const char *at = json_string_value(json_object_get(k, "revokedAt"));
        printf("api key %s of tenant %s was already revoked at %.19sZ\n",
               json_string_value(json_object_get(k, "keyId")),
               json_string_value(json_object_get(k, "tenant")), at != NULL ? at : "?");
    }
    json_decref(k);
    PQfinish(c);
    return rc;
}

static int key_list(const struct adm_cfg *cfg, int argc, char **argv)
{
    static const struct adm_col cols[] = {
        {"key_id", "keyId", NULL, 's'},         {"name", "name", "-", 's'},
        {"scopes", "scopes", NULL, 'l'},        {"rate_limit", "rateLimit", "default", 's'},
        {"created_at", "createdAt", NULL, 't'}, {"revoked_at", "revokedAt", "-", 't'}};
    return adm_catalog_list(cfg, argc, argv, usage, "key list", ea_catalog_key_list, cols,
                            sizeof(cols) / sizeof(cols[0]));
}

int adm_cmd_key(const struct adm_cfg *cfg, int argc, char **argv)
{
    if (argc < 2)
        return adm_usage_error(usage, "key needs a subcommand: create, revoke or list");
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        fputs(usage, stdout);
        return ADM_EXIT_OK;
    }
    if (strcmp(argv[1], "create") == 0)
        return key_create(cfg, argc - 1, argv + 1);
    if (strcmp(argv[1], "revoke") == 0)
        return key_revoke(cfg, argc - 1, argv + 1);
    if (strcmp(argv[1], "list") == 0)
        return key_list(cfg, argc - 1, argv + 1);
    return adm_usage_error(usage, "unknown key subcommand \"%s\"", argv[1]);
}
