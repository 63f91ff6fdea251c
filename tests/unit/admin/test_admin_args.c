/*
 * test_admin_args.c — unit tests of tools/analytics-admin/args.c: option parsing, tenant ids
 * and slugs, scope and dimension lists, integers and aggregations. No database: the commands
 * themselves are covered by tests/integration/admin.test.sh against real PostgreSQL.
 */
#include "../ea_test.h"
#include "admin.h"

#include <stdio.h>
#include <string.h>

static void test_tenant_id(void)
{
    EA_CHECK(adm_tenant_id_valid("acme-corp"));
    EA_CHECK(adm_tenant_id_valid("a"));
    EA_CHECK(adm_tenant_id_valid("0-"));
    EA_CHECK(!adm_tenant_id_valid(""));
    EA_CHECK(!adm_tenant_id_valid("-acme"));
    EA_CHECK(!adm_tenant_id_valid("Acme"));
    EA_CHECK(!adm_tenant_id_valid("acme_corp"));
    EA_CHECK(!adm_tenant_id_valid("acme corp"));
    char id[70];
    memset(id, 'a', 63);
    id[63] = '\0';
    EA_CHECK(adm_tenant_id_valid(id));
    id[63] = 'a';
    id[64] = '\0';
    EA_CHECK(!adm_tenant_id_valid(id));
}

static void test_slugify(void)
{
    char out[ADM_TENANT_ID_MAX + 1];
    EA_CHECK(adm_slugify("Acme Corp", out) && strcmp(out, "acme-corp") == 0);
    EA_CHECK(adm_slugify("  --Hello,  World!! 42 ", out) && strcmp(out, "hello-world-42") == 0);
    EA_CHECK(adm_slugify("Café Zürich", out) && strcmp(out, "caf-z-rich") == 0);
    EA_CHECK(!adm_slugify("", out) && out[0] == '\0');
    EA_CHECK(!adm_slugify("!!! ---", out) && out[0] == '\0');
    char longname[200];
    memset(longname, 'x', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    longname[62] = ' '; /* a separator right at the limit must not leave a trailing '-' */
    EA_CHECK(adm_slugify(longname, out) && strlen(out) <= 63 && out[strlen(out) - 1] != '-');
    EA_CHECK(adm_tenant_id_valid(out));
}

static void test_scopes(void)
{
    char out[ADM_ARRAY_MAX];
    struct ea_err err = {0};
    EA_CHECK(adm_parse_scopes("ingest,read", out, &err) == EA_OK &&
             strcmp(out, "{ingest,read}") == 0);
    EA_CHECK(adm_parse_scopes("admin", out, &err) == EA_OK && strcmp(out, "{admin}") == 0);
    EA_CHECK(adm_parse_scopes("read,admin,ingest", out, &err) == EA_OK &&
             strcmp(out, "{read,admin,ingest}") == 0);
    EA_CHECK(adm_parse_scopes("", out, &err) == EA_ERR_INVALID);
    EA_CHECK(adm_parse_scopes("ingest,", out, &err) == EA_ERR_INVALID);
    EA_CHECK(adm_parse_scopes("write", out, &err) == EA_ERR_INVALID);
    EA_CHECK(strstr(err.message, "\"write\"") != NULL);
    EA_CHECK(adm_parse_scopes("read,read", out, &err) == EA_ERR_INVALID);
    EA_CHECK(adm_parse_scopes("ingest,read,admin,read", out, &err) == EA_ERR_INVALID);
    EA_CHECK(adm_parse_scopes("Ingest", out, &err) == EA_ERR_INVALID);
    EA_CHECK(adm_parse_scopes("ingest read", out, &err) == EA_ERR_INVALID);
}

static void test_dimensions(void)
{
    char out[ADM_ARRAY_MAX];
    int n = -1;
    struct ea_err err = {0};
    EA_CHECK(adm_parse_dimensions("", out, &n, &err) == EA_OK && n == 0 && strcmp(out, "{}") == 0);
    EA_CHECK(adm_parse_dimensions("page", out, &n, &err) == EA_OK && n == 1 &&
             strcmp(out, "{\"page\"}") == 0);
    EA_CHECK(adm_parse_dimensions("page,country", out, &n, &err) == EA_OK && n == 2 &&
             strcmp(out, "{\"page\",\"country\"}") == 0);
    /* Array literal metacharacters are quoted, so a name cannot inject elements. */
    EA_CHECK(adm_parse_dimensions("a\"b,c\\d,{x}", out, &n, &err) == EA_OK && n == 3 &&
             strcmp(out, "{\"a\\\"b\",\"c\\\\d\",\"{x}\"}") == 0);
    EA_CHECK(adm_parse_dimensions("a,b,c,d,e,f,g,h", out, &n, &err) == EA_OK && n == 8);
    EA_CHECK(adm_parse_dimensions("a,b,c,d,e,f,g,h,i", out, &n, &err) == EA_ERR_INVALID);
    EA_CHECK(adm_parse_dimensions("a,,b", out, &n, &err) == EA_ERR_INVALID);
    EA_CHECK(adm_parse_dimensions("a,a", out, &n, &err) == EA_ERR_INVALID);
    EA_CHECK(adm_parse_dimensions("a\tb", out, &n, &err) == EA_ERR_INVALID);
    char big[200];
    memset(big, 'x', 129);
    big[129] = '\0';
    EA_CHECK(adm_parse_dimensions(big, out, &n, &err) == EA_ERR_INVALID);
    big[128] = '\0';
    EA_CHECK(adm_parse_dimensions(big, out, &n, &err) == EA_OK && n == 1);
    /* Worst case for escaping: 8 names of 128 '"' fit the buffer. */
    char worst[8 * 129];
    for (int i = 0; i < 8; i++) {
        memset(worst + i * 129, '"', 128);
        worst[i * 129 + 128] = ',';
    }
    /* Names must differ: vary the first byte. */
    for (int i = 0; i < 8; i++)
        worst[i * 129] = (char)('a' + i);
    worst[8 * 129 - 1] = '\0';
    EA_CHECK(adm_parse_dimensions(worst, out, &n, &err) == EA_OK && n == 8);
}

static void test_numbers_and_aggs(void)
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
    EA_CHECK(adm_aggregation_valid("count") && adm_aggregation_valid("unique"));
    EA_CHECK(!adm_aggregation_valid("COUNT") && !adm_aggregation_valid("median"));
    EA_CHECK(adm_text_valid("Acme Corp", 200));
    EA_CHECK(!adm_text_valid("", 200));
    EA_CHECK(!adm_text_valid("a\nb", 200));
    EA_CHECK(!adm_text_valid("abc", 2));
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

EA_TEST_MAIN(EA_TEST(test_tenant_id), EA_TEST(test_slugify), EA_TEST(test_scopes),
             EA_TEST(test_dimensions), EA_TEST(test_numbers_and_aggs), EA_TEST(test_opts))
