/*
 * member.c — `analytics-admin member add|remove|list`: who may see a tenant through dashboard
 * login. A membership names a person the way OIDC does — issuer + subject (the ID token's `iss`
 * and `sub`), never an e-mail address — so access can be granted before the first login and
 * cannot be captured by someone who later owns the same address. Roles: viewer (read) and
 * admin (read + admin mutations), enforced by graphql-api's gql_principal_can().
 */
#include "admin.h"

#include <string.h>

static const char usage[] =
    "usage: analytics-admin member add --tenant T --issuer I --subject S --role viewer|admin\n"
    "       analytics-admin member remove --tenant T --issuer I --subject S\n"
    "       analytics-admin member list --tenant T\n"
    "\n"
    "add     lets the user (issuer I, subject S: the ID token's iss and sub) sign in to tenant T\n"
    "        with the role; an existing membership gets the new role. Works before the user's\n"
    "        first login.\n"
    "remove  takes the membership away (effective on the user's next request).\n"
    "list    shows the tenant's members and whether they have signed in yet.\n";

ea_rc adm_member_upsert(PGconn *c, const char *tenant, const char *issuer, const char *subject,
                        const char *role, struct ea_err *err)
{
    const char *params[4] = {issuer, subject, tenant, role};
    PGresult *res = adm_query(c, "add member",
                              "INSERT INTO memberships (issuer, subject, tenant_id, role)"
                              " VALUES ($1, $2, $3, $4) ON CONFLICT (issuer, subject, tenant_id)"
                              " DO UPDATE SET role = EXCLUDED.role",
                              4, params, PGRES_COMMAND_OK, err);
    if (res == NULL)
        return err->code;
    PQclear(res);
    return EA_OK;
}

static int check_who(const char *tenant, const char *issuer, const char *subject)
{
    if (tenant == NULL || issuer == NULL || subject == NULL)
        return adm_usage_error(usage, "--tenant, --issuer and --subject are required");
    if (!adm_tenant_id_valid(tenant))
        return adm_usage_error(usage, "invalid tenant id \"%s\"", tenant);
    if (!adm_text_valid(issuer, 512) || !adm_text_valid(subject, 255))
        return adm_usage_error(usage, "invalid --issuer or --subject: 1 to 512/255 bytes without "
                                      "control characters");
    return ADM_EXIT_OK;
}

static int member_add(const struct adm_cfg *cfg, int argc, char **argv)
{
    const char *tenant, *issuer, *subject, *role;
    size_t npos;
    struct adm_opt opts[] = {
        {"tenant", &tenant}, {"issuer", &issuer}, {"subject", &subject}, {"role", &role}};
    int prc = adm_opts_parse(argc, argv, opts, 4, NULL, 0, &npos, usage);
    if (prc != ADM_EXIT_OK)
        return prc == ADM_HELP_SHOWN ? ADM_EXIT_OK : prc;
    if ((prc = check_who(tenant, issuer, subject)) != ADM_EXIT_OK)
        return prc;
    if (role == NULL || (strcmp(role, "viewer") != 0 && strcmp(role, "admin") != 0))
        return adm_usage_error(usage, "--role must be viewer or admin");
    PGconn *c = adm_connect(cfg);
    if (c == NULL)
        return ADM_EXIT_FAIL;
    struct ea_err err = {0};
    int rc = ADM_EXIT_OK;
    if (adm_tenant_require(c, tenant, "add member", &err) != EA_OK ||
        adm_member_upsert(c, tenant, issuer, subject, role, &err) != EA_OK)
        rc = adm_fail(&err);
    else
        printf("member %s @ %s is %s of tenant %s\n", subject, issuer, role, tenant);
    PQfinish(c);
    return rc;
}

static int member_remove(const struct adm_cfg *cfg, int argc, char **argv)
{
    const char *tenant, *issuer, *subject;
    size_t npos;
    struct adm_opt opts[] = {{"tenant", &tenant}, {"issuer", &issuer}, {"subject", &subject}};
    int prc = adm_opts_parse(argc, argv, opts, 3, NULL, 0, &npos, usage);
    if (prc != ADM_EXIT_OK)
        return prc == ADM_HELP_SHOWN ? ADM_EXIT_OK : prc;
    if ((prc = check_who(tenant, issuer, subject)) != ADM_EXIT_OK)
        return prc;
    PGconn *c = adm_connect(cfg);
    if (c == NULL)
        return ADM_EXIT_FAIL;
    struct ea_err err = {0};
    const char *params[3] = {issuer, subject, tenant};
    PGresult *res = adm_query(c, "remove member",
                              "DELETE FROM memberships WHERE issuer = $1 AND subject = $2"
                              " AND tenant_id = $3",
                              3, params, PGRES_COMMAND_OK, &err);
    int rc = ADM_EXIT_OK;
    if (res == NULL) {
        rc = adm_fail(&err);
    } else if (strcmp(PQcmdTuples(res), "1") != 0) {
        fprintf(stderr, "could not remove member: %s @ %s is not a member of %s\n", subject, issuer,
                tenant);
        rc = ADM_EXIT_FAIL;
    } else {
        printf("removed %s @ %s from tenant %s\n", subject, issuer, tenant);
    }
    PQclear(res);
    PQfinish(c);
    return rc;
}

static int member_list(const struct adm_cfg *cfg, int argc, char **argv)
{
    const char *tenant;
    size_t npos;
    struct adm_opt opts[] = {{"tenant", &tenant}};
    int prc = adm_opts_parse(argc, argv, opts, 1, NULL, 0, &npos, usage);
    if (prc != ADM_EXIT_OK)
        return prc == ADM_HELP_SHOWN ? ADM_EXIT_OK : prc;
    if (tenant == NULL || !adm_tenant_id_valid(tenant))
        return adm_usage_error(usage, "member list needs a valid --tenant");
    PGconn *c = adm_connect(cfg);
    if (c == NULL)
        return ADM_EXIT_FAIL;
    struct ea_err err = {0};
    const char *params[1] = {tenant};
    PGresult *res = adm_query(c, "list members",
                              "SELECT m.issuer, m.subject, m.role, u.name,"
                              " to_char(u.last_login_at AT TIME ZONE 'UTC',"
                              " 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS last_login"
                              " FROM memberships m LEFT JOIN users u"
                              " ON u.issuer = m.issuer AND u.subject = m.subject"
                              " WHERE m.tenant_id = $1 ORDER BY m.issuer, m.subject",
                              1, params, PGRES_TUPLES_OK, &err);
    int rc = ADM_EXIT_OK;
    if (res == NULL)
        rc = adm_fail(&err);
    else
        adm_print_table(res, stdout);
    PQclear(res);
    PQfinish(c);
    return rc;
}

int adm_cmd_member(const struct adm_cfg *cfg, int argc, char **argv)
{
    if (argc < 2)
        return adm_usage_error(usage, "member needs a subcommand: add, remove or list");
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        fputs(usage, stdout);
        return ADM_EXIT_OK;
    }
    if (strcmp(argv[1], "add") == 0)
        return member_add(cfg, argc - 1, argv + 1);
    if (strcmp(argv[1], "remove") == 0)
        return member_remove(cfg, argc - 1, argv + 1);
    if (strcmp(argv[1], "list") == 0)
        return member_list(cfg, argc - 1, argv + 1);
    return adm_usage_error(usage, "unknown member subcommand \"%s\"", argv[1]);
}
