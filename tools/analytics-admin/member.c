/*
 * member.c — `analytics-admin member add|remove|list`: who may see a tenant through dashboard
 * login. A membership names a person the way OIDC does — issuer + subject (the ID token's `iss`
 * and `sub`), never an e-mail address — so access can be granted before the first login and
 * cannot be captured by someone who later owns the same address. Roles: viewer (read) and
 * admin (read + admin mutations), enforced by graphql-api's gql_principal_can(). Rules and
 * statements: lib/catalog.
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

static int check_who(const char *tenant, const char *issuer, const char *subject)
{
    if (tenant == NULL || issuer == NULL || subject == NULL)
        return adm_usage_error(usage, "--tenant, --issuer and --subject are required");
    return ADM_EXIT_OK;
}

/* member add (role given) and member remove (role NULL): the options, the one catalog call, the
 * line printed. */
static int member_change(const struct adm_cfg *cfg, int argc, char **argv, bool add)
{
    const char *tenant, *issuer, *subject, *role = NULL;
    size_t npos;
    struct adm_opt opts[] = {
        {"tenant", &tenant}, {"issuer", &issuer}, {"subject", &subject}, {"role", &role}};
    int prc = adm_opts_parse(argc, argv, opts, add ? 4 : 3, NULL, 0, &npos, usage);
    if (prc != ADM_EXIT_OK)
        return prc == ADM_HELP_SHOWN ? ADM_EXIT_OK : prc;
    if ((prc = check_who(tenant, issuer, subject)) != ADM_EXIT_OK)
        return prc;
    PGconn *c = adm_connect(cfg);
    if (c == NULL)
        return ADM_EXIT_FAIL;
    struct ea_err err = {0};
    int rc = ADM_EXIT_OK;
    ea_rc crc = add ? ea_catalog_member_grant(c, tenant, issuer, subject, role, &err)
                    : ea_catalog_member_remove(c, tenant, issuer, subject, &err);
    if (crc != EA_OK)
        rc = adm_catalog_fail(&err, usage);
    else if (add)
        printf("member %s @ %s is %s of tenant %s\n", subject, issuer, role, tenant);
    else
        printf("removed %s @ %s from tenant %s\n", subject, issuer, tenant);
    PQfinish(c);
    return rc;
}

static int member_list(const struct adm_cfg *cfg, int argc, char **argv)
{
    static const struct adm_col cols[] = {{"issuer", "issuer", NULL, 's'},
                                          {"subject", "subject", NULL, 's'},
                                          {"role", "role", NULL, 's'},
                                          {"name", "name", "-", 's'},
                                          {"last_login", "lastLoginAt", "-", 't'}};
    return adm_catalog_list(cfg, argc, argv, usage, "member list", ea_catalog_member_list, cols,
                            sizeof(cols) / sizeof(cols[0]));
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
        return member_change(cfg, argc - 1, argv + 1, true);
    if (strcmp(argv[1], "remove") == 0)
        return member_change(cfg, argc - 1, argv + 1, false);
    if (strcmp(argv[1], "list") == 0)
        return member_list(cfg, argc - 1, argv + 1);
    return adm_usage_error(usage, "unknown member subcommand \"%s\"", argv[1]);
}
