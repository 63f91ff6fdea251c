/*
 * app.c — process-wide helpers of graphql-api: the one tenant-access check every resolver calls
 * (keys: tenant + scopes; users: memberships, keyed by issuer + subject, role viewer = read,
 * admin = read + admin — read with the caller thread's connection, never the loop's: the loop
 * has none).
 */
#include "app.h"
#include "ea_log.h"
#include "ea_pg.h"
#include "ea_time.h"

#include <malloc.h>
#include <stdio.h>
#include <string.h>

void gql_app_memory_release(const ea_gql_exec_stats *st)
{
    if (st->bytes < GQL_RELEASE_BYTES && !st->stopped)
        return;
    int64_t t0 = ea_time_now_ms();
    malloc_trim(0);
    ea_log_debug("memory", "released free heap pages after a %zu-byte answer in %lld ms", st->bytes,
                 (long long)(ea_time_now_ms() - t0));
}

int gql_principal_may(PGconn *db, const gql_principal *p, const char *tenant, unsigned scope)
{
    if (tenant == NULL)
        return 0;
    switch (p->kind) {
    case GQL_PRINCIPAL_KEY:
        return strcmp(p->key.tenant, tenant) == 0 && (p->key.scopes & scope) == scope;
    case GQL_PRINCIPAL_USER: {
        /* Asked on every resolver entry rather than cached in the session, so a membership
         * removed by an operator takes effect on the next request. Users never ingest. */
        if ((scope & ~(EA_SCOPE_READ | EA_SCOPE_ADMIN)) != 0 || scope == 0)
            return 0;
        if (db == NULL)
            return -1;
        struct ea_err err;
        const char *params[3] = {p->issuer, p->subject, tenant};
        PGresult *r = ea_pg_query(db,
                                  "SELECT role FROM memberships WHERE issuer = $1 AND subject = $2"
                                  " AND tenant_id = $3",
                                  3, params, PGRES_TUPLES_OK, &err);
        if (r == NULL) {
            ea_log_warn("postgresql", "%s", err.message);
            return 0;
        }
        unsigned have = 0;
        if (PQntuples(r) == 1) {
            const char *role = PQgetvalue(r, 0, 0);
            if (strcmp(role, "admin") == 0)
                have = EA_SCOPE_READ | EA_SCOPE_ADMIN;
            else if (strcmp(role, "viewer") == 0)
                have = EA_SCOPE_READ;
        }
        PQclear(r);
        return (have & scope) == scope;
    }
    }
    return 0;
}

long gql_principal_rate(const gql_app *app, const gql_principal *p, char *subject, size_t len)
{
    if (p->kind == GQL_PRINCIPAL_KEY)
        snprintf(subject, len, "k:%s", p->key.key_id);
    else
        snprintf(subject, len, "u:%lld", p->user_id);
    return p->kind == GQL_PRINCIPAL_KEY && p->key.rate_limit > 0 ? p->key.rate_limit
                                                                 : app->cfg->rate_limit_per_min;
}

int gql_principal_user_me(PGconn *c, const gql_principal *p, json_t **out)
{
    if (c == NULL)
        return -1;
    struct ea_err err;
    const char *params[2] = {p->issuer, p->subject};
    PGresult *r = ea_pg_query(c,
                              "SELECT t.id, t.name, m.role FROM memberships m"
                              " JOIN tenants t ON t.id = m.tenant_id"
                              " WHERE m.issuer = $1 AND m.subject = $2 ORDER BY t.id",
                              2, params, PGRES_TUPLES_OK, &err);
    if (r == NULL) {
        ea_log_warn("postgresql", "%s", err.message);
        return -1;
    }
    json_t *tenants = json_array();
    for (int i = 0; i < PQntuples(r); i++)
        json_array_append_new(tenants, json_pack("{s:s,s:s,s:s}", "id", PQgetvalue(r, i, 0), "name",
                                                 PQgetvalue(r, i, 1), "role", PQgetvalue(r, i, 2)));
    PQclear(r);
    *out = json_pack("{s:s,s:s,s:o,s:[]}", "kind", "user", "name", p->name, "tenants", tenants,
                     "scopes");
    return 0;
}
