/*
 * ea_catalog_key.c — API keys: create (lib/apikey makes the key and its bcrypt hash; a colliding
 * key id is retried), list (never secrets or hashes) and revoke. Revocation sets revoked_at; the
 * services honour it within their key cache TTL (SPEC §4). Verifying a presented key is
 * lib/apikey's ea_keyauth, not this file.
 */
#include "ea_catalog_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY_JSON                                                                                   \
    "jsonb_build_object('keyId', key_id, 'tenant', tenant_id, 'scopes', to_jsonb(scopes),"         \
    " 'name', name, 'rateLimit', rate_limit, 'origins', to_jsonb(origins), 'createdAt', " CAT_TS(  \
        "created_at") ","                                                                          \
                      " 'revokedAt', " CAT_TS("revoked_at") ", 'lastUsedAt', " CAT_TS(             \
                          "last_used_at") ")"

ea_rc ea_catalog_key_origins(const ea_catalog_key_spec *k, char out[EA_ORIGINS_TEXT_MAX],
                             struct ea_err *err)
{
    out[0] = '\0';
    if (k->origins == NULL)
        return EA_OK;
    if (k->nscopes != 1 || k->scopes[0] == NULL || strcmp(k->scopes[0], "ingest") != 0)
        return ea_err_set(err, EA_ERR_INVALID,
                          "invalid scopes for a browser key: exactly ingest (a browser key is "
                          "published in web pages, so it may never read or administer)");
    if (k->norigins == 0)
        return ea_err_set(err, EA_ERR_INVALID,
                          "invalid origins: a browser key needs at least one origin, such as "
                          "https://app.example.com");
    /* one comma-separated list for ea_origin_list_normalize; a comma inside an entry would
     * split it, so it is refused first (no origin contains one) */
    char joined[EA_ORIGINS_MAX * (EA_ORIGIN_MAX_LEN + 8)];
    size_t used = 0;
    for (size_t i = 0; i < k->norigins; i++) {
        const char *o = k->origins[i] != NULL ? k->origins[i] : "";
        size_t l = strlen(o);
        if (strchr(o, ',') != NULL || i >= EA_ORIGINS_MAX || used + l + 2 > sizeof(joined))
            return ea_err_set(err, EA_ERR_INVALID,
                              "invalid origins: at most %d, each scheme://host[:port]",
                              EA_ORIGINS_MAX);
        if (i > 0)
            joined[used++] = ',';
        memcpy(joined + used, o, l);
        used += l;
    }
    joined[used] = '\0';
    size_t n;
    return ea_origin_list_normalize(joined, out, &n, err) == EA_OK ? EA_OK : EA_ERR_INVALID;
}

static ea_rc key_check(const ea_catalog_key_spec *k, struct ea_err *err)
{
    if (ea_catalog_tenant_id_check(k->tenant, err) != EA_OK ||
        ea_catalog_scopes_check(k->scopes, k->nscopes, err) != EA_OK)
        return EA_ERR_INVALID;
    if (k->has_rate_limit && (k->rate_limit < 1 || k->rate_limit > EA_CATALOG_RATE_LIMIT_MAX))
        return ea_err_set(err, EA_ERR_INVALID,
                          "invalid rate limit %lld: expected requests/minute, 1 to %lld",
                          k->rate_limit, EA_CATALOG_RATE_LIMIT_MAX);
    if (k->name != NULL && !ea_catalog_text_valid(k->name, EA_CATALOG_TEXT_MAX))
        return ea_err_set(err, EA_ERR_INVALID,
                          "invalid key name: 1 to %d bytes without control characters",
                          EA_CATALOG_TEXT_MAX);
    return EA_OK;
}

ea_rc ea_catalog_key_create(PGconn *c, const ea_catalog_key_spec *spec, int bcrypt_cost,
                            char key_out[EA_APIKEY_MAX_LEN + 1], json_t **out, struct ea_err *err)
{
    *out = NULL;
    memset(key_out, 0, EA_APIKEY_MAX_LEN + 1);
    char origins[EA_ORIGINS_TEXT_MAX];
    if (key_check(spec, err) != EA_OK || ea_catalog_key_origins(spec, origins, err) != EA_OK)
        return EA_ERR_INVALID;
    /* A bound on what one admin (or a stolen admin key in a loop) can add: every key is a row
     * and a bcrypt. Checked before the bcrypt; concurrent creations can pass together, so the
     * bound is exceeded at most by the number of requests in flight. */
    const char *tp[] = {spec->tenant};
    PGresult *cnt = cat_query(c, "create api key",
                              "SELECT count(*) FROM api_keys WHERE tenant_id = $1 AND "
                              "revoked_at IS NULL",
                              1, tp, PGRES_TUPLES_OK, err);
    if (cnt == NULL)
        return err->code;
    long active = strtol(PQgetvalue(cnt, 0, 0), NULL, 10);
    PQclear(cnt);
    if (active >= EA_CATALOG_KEYS_MAX)
        return ea_err_set(err, EA_ERR_LIMIT,
                          "could not create api key: tenant \"%s\" has %ld active keys, the most "
                          "it may have (%d); revoke keys that are no longer used first",
                          spec->tenant, active, EA_CATALOG_KEYS_MAX);
    json_t *scopes = json_array();
    for (size_t i = 0; i < spec->nscopes; i++)
        json_array_append_new(scopes, json_string(spec->scopes[i]));
    char *scopes_s = json_dumps(scopes, JSON_COMPACT);
    json_decref(scopes);
    if (scopes_s == NULL)
        return ea_err_set(err, EA_ERR_NOMEM, "could not create api key: out of memory");
    char rate[24];
    snprintf(rate, sizeof(rate), "%lld", spec->rate_limit);
    ea_rc rc = EA_OK;
    /* 48 random bits of key id: a collision is unlikely but possible, so retry a few times.
     * ON CONFLICT DO NOTHING instead of catching 23505 keeps a caller's transaction usable. */
    for (int attempt = 0; attempt < 3; attempt++) {
        char id[EA_APIKEY_ID_LEN + 1], hash[EA_APIKEY_HASH_MAX];
        if ((rc = ea_apikey_generate(bcrypt_cost, key_out, id, hash, err)) != EA_OK) {
            ea_err_set(err, rc, "could not create api key: %s", "could not generate a key");
            break;
        }
        const char *params[] = {id,
                                spec->tenant,
                                hash,
                                scopes_s,
                                spec->has_rate_limit ? rate : NULL,
                                spec->name,
                                spec->origins != NULL ? origins : NULL};
        PGresult *res = cat_query(c, "create api key",
                                  "INSERT INTO api_keys (key_id, tenant_id, secret_hash, scopes,"
                                  " rate_limit, name, origins) VALUES ($1, $2, $3,"
                                  " ARRAY(SELECT jsonb_array_elements_text($4::jsonb)),"
                                  " $5::integer, $6, string_to_array($7, ','))"
                                  " ON CONFLICT (key_id) DO NOTHING"
                                  " RETURNING " KEY_JSON "::text",
                                  7, params, PGRES_TUPLES_OK, err);
        memset(hash, 0, sizeof(hash));
        if (res == NULL) {
            rc = strcmp(err->sqlstate, "23503") == 0
                     ? ea_err_set(err, EA_ERR_NOTFOUND,
                                  "could not create api key: tenant \"%s\" does not exist",
                                  spec->tenant)
                     : err->code;
            break;
        }
        bool inserted = PQntuples(res) == 1;
        rc = inserted ? cat_json_parse(PQgetvalue(res, 0, 0), "create api key", out, err) : EA_OK;
        PQclear(res);
        if (inserted)
            break;
        rc = ea_err_set(err, EA_ERR_CONFLICT,
                        "could not create api key: key id collided three times (random source?)");
    }
    free(scopes_s);
    if (rc != EA_OK)
        memset(key_out, 0, EA_APIKEY_MAX_LEN + 1);
    return rc;
}

ea_rc ea_catalog_key_list(PGconn *c, const char *tenant, json_t **out, struct ea_err *err)
{
    *out = NULL;
    if (ea_catalog_tenant_require(c, tenant, "list api keys", err) != EA_OK)
        return err->code;
    const char *params[1] = {tenant};
    return cat_query_json(c, "list api keys",
                          "SELECT coalesce(jsonb_agg(" KEY_JSON " ORDER BY created_at, key_id),"
                          " '[]')::text FROM api_keys WHERE tenant_id = $1",
                          1, params, out, err);
}

ea_rc ea_catalog_key_revoke(PGconn *c, const char *tenant, const char *id_or_key, json_t **out,
                            bool *already, struct ea_err *err)
{
    char id[EA_APIKEY_ID_LEN + 1], secret[EA_APIKEY_SECRET_LEN + 1], q[CAT_QBUF];
    *out = NULL;
    *already = false;
    size_t len = id_or_key != NULL ? strlen(id_or_key) : 0;
    if (len > 3 && strncmp(id_or_key, "ak_", 3) == 0) {
        if (ea_apikey_parse(id_or_key, len, id, secret) != EA_OK)
            return ea_err_set(err, EA_ERR_INVALID, "invalid key: expected ak_<12 hex>_<32 hex>");
        memset(secret, 0, sizeof(secret));
    } else {
        /* a bare key id: exactly what ea_apikey_parse accepts between "ak_" and "_" */
        bool ok = len == EA_APIKEY_ID_LEN;
        for (size_t i = 0; ok && i < len; i++)
            ok = (id_or_key[i] >= '0' && id_or_key[i] <= '9') ||
                 (id_or_key[i] >= 'a' && id_or_key[i] <= 'f');
        if (!ok)
            return ea_err_set(err, EA_ERR_INVALID,
                              "invalid key id \"%s\": expected 12 lowercase hex characters",
                              cat_quote(id_or_key, q, sizeof(q)));
        memcpy(id, id_or_key, len + 1);
    }
    if (tenant != NULL && ea_catalog_tenant_id_check(tenant, err) != EA_OK)
        return EA_ERR_INVALID;
    /* One statement reports both outcomes: revoked now, or already revoked (and when). */
    const char *params[2] = {id, tenant};
    PGresult *res =
        cat_query(c, "revoke api key",
                  "WITH upd AS (UPDATE api_keys SET revoked_at = now() WHERE key_id = $1"
                  " AND ($2::text IS NULL OR tenant_id = $2) AND revoked_at IS NULL RETURNING *)"
                  " SELECT false, " KEY_JSON "::text FROM upd"
                  " UNION ALL SELECT true, " KEY_JSON "::text FROM api_keys WHERE key_id = $1"
                  " AND ($2::text IS NULL OR tenant_id = $2) AND revoked_at IS NOT NULL"
                  " AND NOT EXISTS (SELECT 1 FROM upd)",
                  2, params, PGRES_TUPLES_OK, err);
    if (res == NULL)
        return err->code;
    ea_rc rc;
    if (PQntuples(res) == 0) {
        rc = tenant == NULL
                 ? ea_err_set(err, EA_ERR_NOTFOUND,
                              "could not revoke api key: key %s does not exist", id)
                 : ea_err_set(err, EA_ERR_NOTFOUND,
                              "could not revoke api key: no key %s in tenant \"%s\"", id, tenant);
    } else {
        *already = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
        rc = cat_json_parse(PQgetvalue(res, 0, 1), "revoke api key", out, err);
    }
    PQclear(res);
    return rc;
}
