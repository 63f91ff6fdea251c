/*
 * gql_golden.c — golden test driver for lib/graphql (postgres regress style). Each directory
 * tests/golden/graphql/<case>/ holds query.graphql and optionally variables.json, operation.txt
 * (operation name) and limits.json (ea_gql_limits overrides); expected.json is the response the
 * engine must produce, byte for byte (2-space indent, keys in response order). The schema is
 * tests/golden/graphql/schema.graphql, the root value root.json, and four resolvers are attached
 * here (echo, fail, failNonNull, defineMetric) — tests/differential/ gives graphql-js the same
 * ones. Usage: gql_golden DIR [--update] ; --update rewrites expected.json (review the diff!).
 */
#include "ea_gql.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    size_t r;
    while (buf && (r = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += r;
        if (cap - n < 2) {
            char *nb = realloc(buf, cap *= 2);
            if (nb == NULL) {
                free(buf);
                buf = NULL;
            }
            buf = nb;
        }
    }
    fclose(f);
    if (buf) {
        buf[n] = '\0';
        if (len)
            *len = n;
    }
    return buf;
}

static int r_echo(const ea_gql_field_ctx *c, json_t **out, ea_gql_error *e)
{
    *out = json_deep_copy(c->args);
    return 0;
}

static int r_fail(const ea_gql_field_ctx *c, json_t **out, ea_gql_error *e)
{
    snprintf(e->message, sizeof(e->message), "%s resolver always fails", c->field_name);
    snprintf(e->code, sizeof(e->code), "FORBIDDEN");
    return -1;
}

static int r_define(const ea_gql_field_ctx *c, json_t **out, ea_gql_error *e)
{
    *out = json_deep_copy(json_object_get(c->args, "input"));
    return 0;
}

static void apply_limits(ea_gql_limits *l, const json_t *j)
{
    json_t *v;
    if ((v = json_object_get(j, "max_bytes")))
        l->max_bytes = (size_t)json_integer_value(v);
    if ((v = json_object_get(j, "max_tokens")))
        l->max_tokens = (size_t)json_integer_value(v);
    if ((v = json_object_get(j, "max_depth")))
        l->max_depth = (size_t)json_integer_value(v);
    if ((v = json_object_get(j, "max_aliases")))
        l->max_aliases = (size_t)json_integer_value(v);
    if ((v = json_object_get(j, "max_directives")))
        l->max_directives = (size_t)json_integer_value(v);
    if ((v = json_object_get(j, "max_cost")))
        l->max_cost = (long)json_integer_value(v);
    if ((v = json_object_get(j, "max_work")))
        l->max_work = (size_t)json_integer_value(v);
    if ((v = json_object_get(j, "introspection_work")))
        l->introspection_work = (size_t)json_integer_value(v);
    if ((v = json_object_get(j, "max_response_bytes")))
        l->max_response_bytes = (size_t)json_integer_value(v);
    if ((v = json_object_get(j, "introspection")))
        l->introspection = json_is_true(v);
}

/* Runs one case; returns the response text (caller frees). */
static char *run_case(const ea_gql_schema *s, const json_t *root, const char *dir)
{
    char path[1100];
    size_t qlen = 0;
    snprintf(path, sizeof(path), "%s/query.graphql", dir);
    char *query = read_file(path, &qlen);
    if (query == NULL)
        return NULL;
    snprintf(path, sizeof(path), "%s/variables.json", dir);
    json_t *vars = json_load_file(path, 0, NULL);
    snprintf(path, sizeof(path), "%s/operation.txt", dir);
    char *opname = read_file(path, NULL);
    if (opname)
        opname[strcspn(opname, "\r\n")] = '\0';
    ea_gql_limits limits;
    ea_gql_limits_default(&limits);
    snprintf(path, sizeof(path), "%s/limits.json", dir);
    json_t *lj = json_load_file(path, 0, NULL);
    if (lj)
        apply_limits(&limits, lj);
    json_decref(lj);
    json_t *errors = NULL, *resp;
    ea_gql_document *d = ea_gql_prepare(s, query, qlen, &limits, &errors);
    if (d == NULL) {
        resp = json_pack("{s:o}", "errors", errors);
    } else {
        bool request_error = false;
        resp = ea_gql_execute(s, d, opname, vars, root, NULL, &limits, &request_error);
        ea_gql_document_free(d);
    }
    char *out = json_dumps(resp, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(resp);
    json_decref(vars);
    free(opname);
    free(query);
    return out;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s GOLDEN_DIR [--update]\n", argv[0]);
        return 2;
    }
    const char *base = argv[1];
    bool update = argc > 2 && strcmp(argv[2], "--update") == 0;
    char path[1100], err[256];
    snprintf(path, sizeof(path), "%s/schema.graphql", base);
    char *sdl = read_file(path, NULL);
    ea_gql_schema *s = sdl ? ea_gql_schema_parse(sdl, err, sizeof(err)) : NULL;
    free(sdl);
    if (s == NULL) {
        fprintf(stderr, "could not load schema %s: %s\n", path, sdl ? err : "unreadable");
        return 2;
    }
    if (ea_gql_schema_set_resolver(s, "Query", "echo", r_echo) != 0 ||
        ea_gql_schema_set_resolver(s, "Query", "fail", r_fail) != 0 ||
        ea_gql_schema_set_resolver(s, "Query", "failNonNull", r_fail) != 0 ||
        ea_gql_schema_set_resolver(s, "Mutation", "defineMetric", r_define) != 0) {
        fprintf(stderr, "could not attach resolvers\n");
        return 2;
    }
    snprintf(path, sizeof(path), "%s/root.json", base);
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    if (root == NULL) {
        fprintf(stderr, "could not load %s: %s\n", path, jerr.text);
        return 2;
    }
    DIR *dp = opendir(base);
    if (dp == NULL) {
        fprintf(stderr, "could not open %s\n", base);
        return 2;
    }
    char **names = NULL;
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(dp)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s/query.graphql", base, de->d_name);
        FILE *f = fopen(path, "rb");
        if (f == NULL)
            continue;
        fclose(f);
        names = realloc(names, sizeof(*names) * (n + 1));
        names[n++] = strdup(de->d_name);
    }
    closedir(dp);
    qsort(names, n, sizeof(*names), cmp_names);
    int pass = 0, fail = 0;
    for (size_t i = 0; i < n; i++) {
        char dir[1024];
        if ((size_t)snprintf(dir, sizeof(dir), "%s/%s", base, names[i]) >= sizeof(dir) - 32)
            continue;
        char *got = run_case(s, root, dir);
        snprintf(path, sizeof(path), "%s/expected.json", dir);
        if (update && got) {
            FILE *f = fopen(path, "wb");
            if (f) {
                fprintf(f, "%s\n", got);
                fclose(f);
            }
        }
        char *want = read_file(path, NULL);
        if (want) {
            size_t wl = strlen(want);
            while (wl > 0 && (want[wl - 1] == '\n' || want[wl - 1] == '\r'))
                want[--wl] = '\0';
        }
        if (got && want && strcmp(got, want) == 0) {
            pass++;
        } else {
            fail++;
            fprintf(stderr, "FAIL %s\n--- expected\n%s\n--- got\n%s\n", names[i],
                    want ? want : "(missing expected.json)", got ? got : "(no output)");
        }
        free(got);
        free(want);
        free(names[i]);
    }
    free(names);
    json_decref(root);
    ea_gql_schema_free(s);
    printf("graphql golden: %d passed, %d failed\n", pass, fail);
    return fail == 0 && pass > 0 ? 0 : 1;
}
