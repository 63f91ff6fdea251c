/*
 * test_config.c — lib/config: a declarative table filled from defaults and the environment;
 * every bad value (not a number, out of bounds, trailing text, overflow, not a boolean) stops the
 * load with a message that names the variable, the value and what is accepted; an empty
 * variable means the default; --help lists every entry; ea_config_start's exit codes (0 for
 * --help, 2 for a bad value, a failed check or a retired variable that is set, -1 to go on);
 * a retired variable is refused with a message naming what replaced it.
 */
#include "../ea_test.h"
#include "ea_config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>

struct cfg {
    long port, depth;
    bool flag;
    const char *url, *unset;
    const char *log_level;
};

#define F(x) offsetof(struct cfg, x)
static const ea_config_entry table[] = {
    {"T_PORT", EA_CFG_INT, "3001", 0, 65535, F(port), "port"},
    {"T_DEPTH", EA_CFG_INT, "32", 2, 1000, F(depth), "nesting"},
    {"T_FLAG", EA_CFG_BOOL, "false", 0, 0, F(flag), "a switch"},
    {"T_URL", EA_CFG_STR, "redis://x", 0, 0, F(url), "where"},
    {"T_UNSET", EA_CFG_STR, NULL, 0, 0, F(unset), "optional"},
    EA_CONFIG_LOG_LEVEL_ENTRY(struct cfg, log_level),
};
#define N (sizeof(table) / sizeof(table[0]))

static void clear(void)
{
    for (size_t i = 0; i < N; i++)
        unsetenv(table[i].name);
}

static void test_defaults_and_environment(void)
{
    clear();
    struct cfg c;
    struct ea_err err = {0};
    EA_CHECK(ea_config_load(table, N, &c, &err) == EA_OK);
    EA_CHECK(c.port == 3001 && c.depth == 32 && !c.flag);
    EA_CHECK_STR(c.url, "redis://x");
    EA_CHECK(c.unset == NULL);

    setenv("T_PORT", "0", 1); /* the bounds are inclusive */
    setenv("T_DEPTH", "1000", 1);
    setenv("T_FLAG", "ON", 1); /* case does not matter */
    setenv("T_URL", "rediss://y", 1);
    setenv("T_UNSET", "set", 1);
    EA_CHECK(ea_config_load(table, N, &c, &err) == EA_OK);
    EA_CHECK(c.port == 0 && c.depth == 1000 && c.flag);
    EA_CHECK_STR(c.url, "rediss://y");
    EA_CHECK_STR(c.unset, "set");

    setenv("T_PORT", "", 1); /* empty: the default, as in an .env line "T_PORT=" */
    EA_CHECK(ea_config_load(table, N, &c, &err) == EA_OK);
    EA_CHECK(c.port == 3001);

    static const struct {
        const char *text;
        bool value;
    } bools[] = {{"1", true},  {"true", true},   {"yes", true}, {"on", true},
                 {"0", false}, {"FALSE", false}, {"no", false}, {"off", false}};
    for (size_t i = 0; i < sizeof(bools) / sizeof(bools[0]); i++) {
        setenv("T_FLAG", bools[i].text, 1);
        c.flag = !bools[i].value;
        EA_CHECK(ea_config_load(table, N, &c, &err) == EA_OK && c.flag == bools[i].value);
    }
    clear();
}

static void test_refusals_name_the_variable(void)
{
    static const struct {
        const char *name, *value, *message;
    } bad[] = {
        {"T_PORT", "65536",
         "invalid value for T_PORT: \"65536\" (expected an integer from 0 to 65535)"},
        {"T_PORT", "-1", "invalid value for T_PORT: \"-1\" (expected an integer from 0 to 65535)"},
        {"T_PORT", "80x",
         "invalid value for T_PORT: \"80x\" (expected an integer from 0 to 65535)"},
        {"T_PORT", "eighty",
         "invalid value for T_PORT: \"eighty\" (expected an integer from 0 to 65535)"},
        {"T_DEPTH", "1", "invalid value for T_DEPTH: \"1\" (expected an integer from 2 to 1000)"},
        {"T_DEPTH", "99999999999999999999999",
         "invalid value for T_DEPTH: \"99999999999999999999999\" (expected an integer from 2 to "
         "1000)"},
        {"T_FLAG", "maybe", "invalid value for T_FLAG: \"maybe\" (expected true or false)"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        clear();
        setenv(bad[i].name, bad[i].value, 1);
        struct cfg c;
        struct ea_err err = {0};
        EA_CHECK(ea_config_load(table, N, &c, &err) == EA_ERR_INVALID);
        EA_CHECK(err.code == EA_ERR_INVALID);
        EA_CHECK_STR(err.message, bad[i].message);
    }
    clear();
}

static void test_help_lists_every_entry(void)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    ea_config_print_help(table, N, f);
    fclose(f);
    for (size_t i = 0; i < N; i++) {
        EA_CHECK(strstr(text, table[i].name) != NULL);
        EA_CHECK(strstr(text, table[i].help) != NULL);
    }
    EA_CHECK(strstr(text, "(unset)") != NULL); /* a NULL default says so */
    EA_CHECK(strstr(text, "integer") != NULL && strstr(text, "boolean") != NULL);
    free(text);
}

/* Retired names: set (non-empty) is refused naming the replacement; unset or empty is fine. */
static const ea_config_retired retired[] = {
    {"T_OLD_PORT", "T_PORT (one name for every program)"},
    {"T_OLD_URL", "T_URL"},
};
#define N_RETIRED (sizeof(retired) / sizeof(retired[0]))

static void test_retired_names_are_refused(void)
{
    struct ea_err err = {0};
    unsetenv("T_OLD_PORT");
    unsetenv("T_OLD_URL");
    EA_CHECK(ea_config_retired_check(retired, N_RETIRED, &err) == EA_OK);
    EA_CHECK(ea_config_retired_check(NULL, 0, &err) == EA_OK);
    setenv("T_OLD_URL", "", 1); /* empty: unset, as for every other variable */
    EA_CHECK(ea_config_retired_check(retired, N_RETIRED, &err) == EA_OK);
    setenv("T_OLD_URL", "redis://old", 1);
    EA_CHECK(ea_config_retired_check(retired, N_RETIRED, &err) == EA_ERR_INVALID);
    EA_CHECK(err.code == EA_ERR_INVALID);
    EA_CHECK_STR(err.message, "T_OLD_URL is no longer read: set T_URL");
    setenv("T_OLD_PORT", "3001", 1); /* the first of the list that is set is named */
    err = (struct ea_err){0};
    EA_CHECK(ea_config_retired_check(retired, N_RETIRED, &err) == EA_ERR_INVALID);
    EA_CHECK_STR(err.message,
                 "T_OLD_PORT is no longer read: set T_PORT (one name for every program)");
    unsetenv("T_OLD_PORT");
    unsetenv("T_OLD_URL");
}

/* A service's own check after the table: here, T_PORT may not be T_DEPTH. */
static int checks;
static ea_rc check(void *c, struct ea_err *err)
{
    const struct cfg *cfg = c;
    checks++;
    if (cfg->port == cfg->depth)
        return ea_err_set(err, EA_ERR_INVALID, "T_PORT equals T_DEPTH");
    return EA_OK;
}

static void test_start(void)
{
    static const ea_config_program prog = {
        .name = "t", .table = table, .n = N, .log_level = F(log_level), .check = check};
    struct cfg c;
    char name[] = "t", help[] = "--help", h[] = "-h", other[] = "x";
    char *asks_help[] = {name, help}, *asks_h[] = {name, h}, *plain[] = {name, other};
    clear();
    checks = 0;
    /* --help and -h: exit 0, nothing loaded or checked */
    EA_CHECK(ea_config_start(&prog, 2, asks_help, &c) == 0);
    EA_CHECK(ea_config_start(&prog, 2, asks_h, &c) == 0);
    EA_CHECK(checks == 0);
    /* a good configuration: go on (-1), loaded and checked; other arguments are the caller's */
    EA_CHECK(ea_config_start(&prog, 2, plain, &c) == -1);
    EA_CHECK(checks == 1 && c.port == 3001);
    EA_CHECK_STR(c.log_level, "info");
    /* a bad value and a failed check: exit code 2 */
    setenv("T_PORT", "abc", 1);
    EA_CHECK(ea_config_start(&prog, 1, plain, &c) == 2);
    EA_CHECK(checks == 1); /* the check never sees a table that did not load */
    setenv("T_PORT", "32", 1);
    EA_CHECK(ea_config_start(&prog, 1, plain, &c) == 2);
    EA_CHECK(checks == 2);
    clear();

    /* a retired variable that is set: exit code 2 before the table loads (a valid table and a
     * passing check do not matter); without it the same program goes on */
    static const ea_config_program with_retired = {.name = "t",
                                                   .table = table,
                                                   .n = N,
                                                   .retired = retired,
                                                   .n_retired = N_RETIRED,
                                                   .log_level = F(log_level),
                                                   .check = check};
    checks = 0;
    EA_CHECK(ea_config_start(&with_retired, 2, plain, &c) == -1);
    EA_CHECK(checks == 1);
    setenv("T_OLD_PORT", "3001", 1);
    c.port = -5;
    EA_CHECK(ea_config_start(&with_retired, 2, plain, &c) == 2);
    EA_CHECK(checks == 1 && c.port == -5); /* nothing loaded, nothing checked */
    /* --help still answers: it reads nothing from the environment */
    EA_CHECK(ea_config_start(&with_retired, 2, asks_help, &c) == 0);
    unsetenv("T_OLD_PORT");
}

EA_TEST_MAIN(EA_TEST(test_defaults_and_environment), EA_TEST(test_refusals_name_the_variable),
             EA_TEST(test_help_lists_every_entry), EA_TEST(test_retired_names_are_refused),
             EA_TEST(test_start))
