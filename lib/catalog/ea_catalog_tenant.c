/*
 * ea_catalog_tenant.c — tenants (the unit of isolation: every key, metric and row belongs to
 * one) and memberships (who may use a tenant through dashboard login: an OIDC issuer + subject,
 * never an e-mail address, so access can be granted before the first login and cannot be
 * captured by someone who later owns the same address).
 */
#include "ea_catalog_int.h"

#include <stdio.h>
#include <string.h>

ea_rc ea_catalog_tenant_create(PGconn *c, const char *name, const char *id, json_t **out,
                               struct ea_err *err)
{
    char slug[EA_CATALOG_TENANT_ID_MAX + 1], q[CAT_QBUF];
    *out = NULL;
    if (!ea_catalog_text_valid(name, EA_CATALOG_TEXT_MAX))
        return ea_err_set(err, EA_ERR_INVALID,
                          "invalid tenant name: 1 to %d bytes without control characters",
                          EA_CATALOG_TEXT_MAX);
    if (id == NULL) {
        if (!ea_catalog_tenant_slug(name, slug))
            return ea_err_set(err, EA_ERR_INVALID,
                              "could not derive a tenant id from \"%s\": give an id of lowercase "
                              "letters, digits and '-'",
                              cat_quote(name, q, sizeof(q)));
        id = slug;
    } else if (ea_catalog_tenant_id_check(id, err) != EA_OK) {
        return EA_ERR_INVALID;
    }
    const char *params[] = {id, name};
    PGresult *res = cat_query(c, "create tenant",
                              "INSERT INTO tenants (id, name) VALUES ($1, $2) "
                              "ON CONFLICT (id) DO NOTHING RETURNING jsonb_build_object('id', id, "
                              "'name', name, 'createdAt', " CAT_TS("created_at") ")::text",
                              2, params, PGRES_TUPLES_OK, err);
    if (res == NULL)
        return err->code;
    ea_rc rc = PQntuples(res) == 1
                   ? cat_json_parse(PQgetvalue(res, 0, 0), "create tenant", out, err)
                   : ea_err_set(err, EA_ERR_CONFLICT,
                                "could not create tenant: tenant \"%s\" already exists", id);
    PQclear(res);
    return rc;
}

ea_rc ea_catalog_tenant_list(PGconn *c, json_t **out, struct ea_err *err)
{
    return cat_query_json(
        c, "list tenants",
        "SELECT coalesce(jsonb_agg(jsonb_build_object('id', t.id, 'name', t.name,"
        " 'activeKeys', (SELECT count(*) FROM api_keys k WHERE k.tenant_id = t.id"
        "   AND k.revoked_at IS NULL),"
        " 'metrics', (SELECT count(*) FROM metric_definitions m WHERE m.tenant_id = t.id),"
        " 'createdAt', " CAT_TS("t.created_at") ") ORDER BY t.id), '[]')::text FROM tenants t",
        0, NULL, out, err);
}

ea_rc ea_catalog_tenant_require(PGconn *c, const char *tenant, const char *what, struct ea_err *err)
{
    if (ea_catalog_tenant_id_check(tenant, err) != EA_OK)
        return EA_ERR_INVALID;
    const char *params[] = {tenant};
    PGresult *res =
        cat_query(c, what, "SELECT 1 FROM tenants WHERE id = $1", 1, params, PGRES_TUPLES_OK, err);
    if (res == NULL)
        return err->code;
    int n = PQntuples(res);
    PQclear(res);
    if (n == 0)
        return ea_err_set(err, EA_ERR_NOTFOUND, "could not %s: tenant \"%s\" does not exist", what,
                          tenant);
    return EA_OK;
}

/* The arguments every membership operation shares. */
static ea_rc member_check(const char *tenant, const char *issuer, const char *subject,
                          struct ea_err *err)
{
    if (ea_catalog_tenant_id_check(tenant, err) != EA_OK)
        return EA_ERR_INVALID;
    if (!ea_catalog_text_valid(issuer, 512) || !ea_catalog_text_valid(subject, 255))
        return ea_err_set(err, EA_ERR_INVALID,
                          "invalid issuer or subject: 1 to 512/255 bytes without control "
                          "characters");
    return EA_OK;
}

ea_rc ea_catalog_member_grant(PGconn *c, const char *tenant, const char *issuer,
                              const char *subject, const char *role, struct ea_err *err)
{
    if (member_check(tenant, issuer, subject, err) != EA_OK)
        return EA_ERR_INVALID;
    if (role == NULL || (strcmp(role, "viewer") != 0 && strcmp(role, "admin") != 0))
        return ea_err_set(err, EA_ERR_INVALID, "invalid role: expected viewer or admin");
    const char *params[4] = {issuer, subject, tenant, role};
    PGresult *res = cat_query(c, "add member",
                              "INSERT INTO memberships (issuer, subject, tenant_id, role)"
                              " VALUES ($1, $2, $3, $4) ON CONFLICT (issuer, subject, tenant_id)"
                              " DO UPDATE SET role = EXCLUDED.role",
                              4, params, PGRES_COMMAND_OK, err);
    if (res == NULL) {
        if (strcmp(err->sqlstate, "23503") == 0)
            return ea_err_set(err, EA_ERR_NOTFOUND,
                              "could not add member: tenant \"%s\" does not exist", tenant);
        return err->code;
    }
    PQclear(res);
    return EA_OK;
}

ea_rc ea_catalog_member_remove(PGconn *c, const char *tenant, const char *issuer,
                               const char *subject, struct ea_err *err)
{
    char qs[CAT_QBUF], qi[CAT_QBUF];
    if (member_check(tenant, issuer, subject, err) != EA_OK)
        return EA_ERR_INVALID;
    const char *params[3] = {issuer, subject, tenant};
    PGresult *res = cat_query(c, "remove member",
                              "DELETE FROM memberships WHERE issuer = $1 AND subject = $2"
                              " AND tenant_id = $3",
                              3, params, PGRES_COMMAND_OK, err);
    if (res == NULL)
        return err->code;
    bool gone = strcmp(PQcmdTuples(res), "1") == 0;
    PQclear(res);
    if (!gone)
        return ea_err_set(
            err, EA_ERR_NOTFOUND, "could not remove member: %s @ %s is not a member of %s",
            cat_quote(subject, qs, sizeof(qs)), cat_quote(issuer, qi, sizeof(qi)), tenant);
    return EA_OK;
}

ea_rc ea_catalog_member_list(PGconn *c, const char *tenant, json_t **out, struct ea_err *err)
{
    *out = NULL;
    if (ea_catalog_tenant_id_check(tenant, err) != EA_OK)
        return EA_ERR_INVALID;
    const char *params[1] = {tenant};
    return cat_query_json(
        c, "list members",
        "SELECT coalesce(jsonb_agg(jsonb_build_object('issuer', m.issuer,"
        " 'subject', m.subject, 'role', m.role, 'name', u.name, 'email', u.email,"
        " 'createdAt', " CAT_TS(
            "m.created_at") ","
                            " 'lastLoginAt', " CAT_TS(
                                "u.last_login_at") ")"
                                                   " ORDER BY m.issuer, m.subject), '[]')::text"
                                                   " FROM memberships m LEFT JOIN users u"
                                                   " ON u.issuer = m.issuer AND u.subject = "
                                                   "m.subject"
                                                   " WHERE m.tenant_id = $1",
        1, params, out, err);
}
