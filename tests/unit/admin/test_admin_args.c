/*
 * test_admin_args.c — unit tests of tools/analytics-admin/args.c: option parsing, comma lists
 * and integers. What a valid tenant, key or metric is belongs to lib/catalog
 * (tests/unit/catalog/); the commands are covered by tests/integration/admin.test.sh and
 * catalog.test.mjs against real PostgreSQL.
 */
#include "../ea_test.h"
#include "admin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void test_split(void)
{
    size_t n = 99;
    const char **v = adm_split("", &n);
    EA_CHECK(v != NULL && n == 0 && v[0] == NULL);
    free(v);
    v = adm_split(NULL, &n);
    EA_CHECK(v != NULL && n == 0);
    free(v);
    v = adm_split("page", &n);
    EA_CHECK(v != NULL && n == 1 && strcmp(v[0], "page") == 0 && v[1] == NULL);
    free(v);
    v = adm_split("a,,b,", &n); /* empty items are kept: lib/catalog refuses them by name */
    EA_CHECK(v != NULL && n == 4 && strcmp(v[0], "a") == 0 && v[1][0] == '\0' &&
             strcmp(v[2], "b") == 0 && v[3][0] == '\0' && v[4] == NULL);
    free(v);
    v = adm_split("a\"b,{x}", &n); /* no quoting games: values pass as they are */
    EA_CHECK(v != NULL && n == 2 && strcmp(v[0], "a\"b") == 0 && strcmp(v[1], "{x}") == 0);
    free(v);
}

static void test_numbers(void)
{
    long v = 0;
    EA_CHECK(adm_parse_long("100", 1, 1000, &v) && v == 100);
    EA_CHECK(!adm_parse_long("0", 1, 1000, &v));
    EA_CHECK(!adm_parse_long("1001", 1, 1000, &v));
    EA_CHECK(!adm_parse_long("-5", 1, 1000, &v));
    EA_CHECK(!adm_parse_long("12x", 1, 1000, &v));
    EA_CHECK(!adm_parse_long("", 1, 1000, &v));
    EA_CHECK(!adm_parse_long(" 5", 1, 1000, &v));
    EA_CHECK(!adm_parse_long("+5", 1, 1000, &v));
    EA_CHECK(!adm_parse_long("99999999999999999999999", 1, 2147483647L, &v));
}

static void test_opts(void)
{
    const char *tenant, *scopes, *pos[2];
    size_t npos;
    struct adm_opt opts[] = {{"tenant", &tenant}, {"scopes", &scopes}};
    static const char usage[] = "usage: test\n";
    FILE *saved = stderr;
    stderr = fopen("/dev/null", "w"); /* usage errors print; keep the test output clean */

    char *a1[] = {"cmd", "--tenant", "t1", "--scopes=read", "x", NULL};
    EA_CHECK(adm_opts_parse(5, a1, opts, 2, pos, 2, &npos, usage) == ADM_EXIT_OK);
    EA_CHECK(strcmp(tenant, "t1") == 0 && strcmp(scopes, "read") == 0 && npos == 1 &&
             strcmp(pos[0], "x") == 0);

    char *a2[] = {"cmd", "--tenant", NULL};
    EA_CHECK(adm_opts_parse(2, a2, opts, 2, pos, 2, &npos, usage) == ADM_EXIT_USAGE);
    char *a3[] = {"cmd", "--bogus", "1", NULL};
    EA_CHECK(adm_opts_parse(3, a3, opts, 2, pos, 2, &npos, usage) == ADM_EXIT_USAGE);
    char *a4[] = {"cmd", "--tenant", "a", "--tenant", "b", NULL};
    EA_CHECK(adm_opts_parse(5, a4, opts, 2, pos, 2, &npos, usage) == ADM_EXIT_USAGE);
    char *a5[] = {"cmd", "a", "b", "c", NULL};
    EA_CHECK(adm_opts_parse(4, a5, opts, 2, pos, 2, &npos, usage) == ADM_EXIT_USAGE);
    char *a6[] = {"cmd", "-x", NULL};
    EA_CHECK(adm_opts_parse(2, a6, opts, 2, pos, 2, &npos, usage) == ADM_EXIT_USAGE);
    /* "--" ends options: a NAME may start with '-'. A value may too. */
    char *a7[] = {"cmd", "--tenant", "-t", "--", "--help", NULL};
    EA_CHECK(adm_opts_parse(5, a7, opts, 2, pos, 2, &npos, usage) == ADM_EXIT_OK);
    EA_CHECK(strcmp(tenant, "-t") == 0 && npos == 1 && strcmp(pos[0], "--help") == 0);
    /* A prefix of an option name is not that option. */
    char *a8[] = {"cmd", "--ten", "x", NULL};
    EA_CHECK(adm_opts_parse(3, a8, opts, 2, pos, 2, &npos, usage) == ADM_EXIT_USAGE);
    fclose(stderr);
    stderr = saved;

    FILE *savedout = stdout;
    stdout = fopen("/dev/null", "w");
    char *a9[] = {"cmd", "--tenant", "x", "--help", NULL};
    EA_CHECK(adm_opts_parse(4, a9, opts, 2, pos, 2, &npos, usage) == ADM_HELP_SHOWN);
    fclose(stdout);
    stdout = savedout;
}

EA_TEST_MAIN(EA_TEST(test_split), EA_TEST(test_numbers), EA_TEST(test_opts))
