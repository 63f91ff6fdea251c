/*
 * key.c — `analytics-admin key create|revoke|list`: API keys for the ingest and GraphQL APIs.
 * The full key is printed once, alone on the last line of stdout (scripts take `tail -n1`); the
 * database keeps only the key id and a bcrypt hash of the secret (lib/apikey). `key list` never
 * shows secrets or hashes. Revocation sets revoked_at; services honour it within their key
 * cache TTL (SPEC §4).
 */
#include "admin.h"

#include <string.h>

static const char usage[] =
    "usage: analytics-admin key create --tenant T --scopes ingest,read[,admin] [--rate-limit N]\n"
    "                                  [--name NAME]\n"
    "       analytics-admin key revoke KEY_ID_OR_FULL_KEY\n"
    "       analytics-admin key list --tenant T\n"
    "\n"
    "create  makes a key for tenant T with the given scopes (ingest, read, admin) and an optional\n"
    "        rate limit of N requests/minute (default: the service-wide limit). Prints the key\n"
    "        once, alone on the last line; only its bcrypt hash is stored.\n"
    "revoke  revokes a key by its id (the 12 hex chars after \"ak_\") or by the full key.\n"
    "list    shows the tenant's keys (never their secrets).\n"
    "\n"
    "environment: DATABASE_URL, API_KEY_BCRYPT_COST (4-31, default 10)\n";

static int key_create(const struct adm_cfg *cfg, int argc, char **argv)
{
    const char *tenant, *scopes, *rate, *name;
    size_t npos;
    struct adm_opt opts[] = {
        {"tenant", &tenant}, {"scopes", &scopes}, {"rate-limit", &rate}, {"name", &name}};
    int prc = adm_opts_parse(argc, argv, opts, 4, NULL, 0, &npos, usage);
    if (prc != ADM_EXIT_OK)
        return prc == ADM_HELP_SHOWN ? ADM_EXIT_OK : prc;
    if (tenant == NULL)
        return adm_usage_error(usage, "key create needs --tenant");
    if (scopes == NULL)
        return adm_usage_error(usage, "key create needs --scopes");
    if (!adm_tenant_id_valid(tenant))
        return adm_usage_error(usage, "invalid tenant id \"%s\"", tenant);
    struct ea_err err = {0};
    char scopes_array[ADM_ARRAY_MAX];
    if (adm_parse_scopes(scopes, scopes_array, &err) != EA_OK)
        return adm_usage_error(usage, "%s", err.message);
    long rl = 0;
    if (rate != NULL && !adm_parse_long(rate, 1, 2147483647L, &rl))
        return adm_usage_error(
            usage, "invalid --rate-limit \"%s\": expected requests/minute, 1 to 2147483647", rate);
    if (name != NULL && !adm_text_valid(name, ADM_TEXT_MAX))
        return adm_usage_error(usage, "invalid --name: 1 to %d bytes without control characters",
                               ADM_TEXT_MAX);

    PGconn *c = adm_connect(cfg);
    if (c == NULL)
        return ADM_EXIT_FAIL;
    char key[EA_APIKEY_MAX_LEN + 1], id[EA_APIKEY_ID_LEN + 1];
    int rc = ADM_EXIT_OK;
    if (adm_tenant_require(c, tenant, "create api key", &err) != EA_OK ||
        adm_key_insert(c, cfg, tenant, scopes_array, rate, name, key, id, &err) != EA_OK) {
        rc = adm_fail(&err);
    } else {
        printf("created api key %s for tenant %s: scopes %s, rate limit %s%s, name %s "
               "(shown once; only its bcrypt hash is stored)\n",
               id, tenant, scopes, rate != NULL ? rate : "default", rate != NULL ? "/min" : "",
               name != NULL ? name : "-");
        printf("%s\n", key);
        memset(key, 0, sizeof(key));
    }
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
    char id[EA_APIKEY_ID_LEN + 1], secret[EA_APIKEY_SECRET_LEN + 1];
    const char *arg = pos[0];
    size_t len = strlen(arg);
    if (strncmp(arg, "ak_", 3) == 0) {
        if (ea_apikey_parse(arg, len, id, secret) != EA_OK)
            return adm_usage_error(usage, "invalid key: expected ak_<12 hex>_<32 hex>");
        memset(secret, 0, sizeof(secret));
    } else {
        /* A bare key id: exactly what ea_apikey_parse accepts between "ak_" and "_". */
        bool ok = len == EA_APIKEY_ID_LEN;
        for (size_t i = 0; ok && i < len; i++)
            ok = (arg[i] >= '0' && arg[i] <= '9') || (arg[i] >= 'a' && arg[i] <= 'f');
        if (!ok)
            return adm_usage_error(usage, "invalid key id \"%s\": expected 12 lowercase hex chars",
                                   arg);
        memcpy(id, arg, len + 1);
    }

    PGconn *c = adm_connect(cfg);
    if (c == NULL)
        return ADM_EXIT_FAIL;
    struct ea_err err = {0};
    const char *params[] = {id};
    int rc = ADM_EXIT_OK;
    /* One statement reports both outcomes: revoked now, or already revoked (and when). */
    PGresult *res = adm_query(
        c, "revoke api key",
        "WITH upd AS (UPDATE api_keys SET revoked_at = now() WHERE key_id = $1 AND revoked_at IS "
        "NULL RETURNING tenant_id) "
        "SELECT 'revoked' AS outcome, tenant_id, NULL::text AS at FROM upd "
        "UNION ALL SELECT 'already', tenant_id, "
        "to_char(revoked_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM api_keys "
        "WHERE key_id = $1 AND revoked_at IS NOT NULL AND NOT EXISTS (SELECT 1 FROM upd)",
        1, params, PGRES_TUPLES_OK, &err);
    if (res == NULL) {
        rc = adm_fail(&err);
    } else if (PQntuples(res) == 0) {
        fprintf(stderr, "could not revoke api key: key %s does not exist\n", id);
        rc = ADM_EXIT_FAIL;
    } else if (strcmp(PQgetvalue(res, 0, 0), "revoked") == 0) {
        printf("revoked api key %s of tenant %s\n", id, PQgetvalue(res, 0, 1));
    } else {
        printf("api key %s of tenant %s was already revoked at %s\n", id, PQgetvalue(res, 0, 1),
               PQgetvalue(res, 0, 2));
    }
    PQclear(res);
    PQfinish(c);
    return rc;
}

static int key_list(const struct adm_cfg *cfg, int argc, char **argv)
{
    const char *tenant;
    size_t npos;
    struct adm_opt opts[] = {{"tenant", &tenant}};
    int prc = adm_opts_parse(argc, argv, opts, 1, NULL, 0, &npos, usage);
    if (prc != ADM_EXIT_OK)
        return prc == ADM_HELP_SHOWN ? ADM_EXIT_OK : prc;
    if (tenant == NULL)
        return adm_usage_error(usage, "key list needs --tenant");
    if (!adm_tenant_id_valid(tenant))
        return adm_usage_error(usage, "invalid tenant id \"%s\"", tenant);
    PGconn *c = adm_connect(cfg);
    if (c == NULL)
        return ADM_EXIT_FAIL;
    struct ea_err err = {0};
    const char *params[] = {tenant};
    int rc = ADM_EXIT_OK;
    PGresult *res = NULL;
    if (adm_tenant_require(c, tenant, "list api keys", &err) != EA_OK) {
        rc = adm_fail(&err);
        goto out;
    }
    res = adm_query(
        c, "list api keys",
        "SELECT key_id, coalesce(name, '-') AS name, array_to_string(scopes, ',') AS scopes,"
        " coalesce(rate_limit::text, 'default') AS rate_limit,"
        " to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS created_at,"
        " to_char(revoked_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS revoked_at"
        " FROM api_keys WHERE tenant_id = $1 ORDER BY created_at, key_id",
        1, params, PGRES_TUPLES_OK, &err);
    if (res == NULL)
        rc = adm_fail(&err);
    else
        adm_print_table(res, stdout);
out:
    PQclear(res);
    PQfinish(c);
    return rc;
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
