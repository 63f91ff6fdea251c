/*
 * catalog.c — what the commands built on lib/catalog (tenant, key, metric, member, seed)
 * share: reporting a catalog error the CLI way (bad input is a usage error), printing catalog
 * lists as tables, and announcing metric changes on the change feed like graphql-api does.
 */
#include "admin.h"

#include "ea_redis.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int adm_catalog_fail(const struct ea_err *err, const char *usage)
{
    if (err->code == EA_ERR_INVALID)
        return adm_usage_error(usage, "%s", err->message);
    return adm_fail(err);
}

/* One cell as text (malloc'd). */
static char *cell(const json_t *row, const struct adm_col *col)
{
    const json_t *v = json_object_get(row, col->key);
    if (v == NULL || json_is_null(v))
        return strdup(col->if_null != NULL ? col->if_null : "-");
    if (col->kind == 't' && json_is_string(v) && json_string_length(v) >= 19) {
        char *s = malloc(21); /* seconds precision, as the CLI always printed times */
        if (s != NULL)
            snprintf(s, 21, "%.19sZ", json_string_value(v));
        return s;
    }
    if (col->kind == 'l' && json_is_array(v)) {
        size_t n = 1, i;
        const json_t *e;
        json_array_foreach(v, i, e) n += json_string_length(e) + 1;
        char *s = calloc(1, n), *p = s;
        json_array_foreach(v, i, e)
        {
            if (s == NULL)
                break;
            size_t l = json_string_length(e);
            if (i > 0)
                *p++ = ',';
            memcpy(p, json_string_value(e), l);
            p += l;
        }
        return s;
    }
    if (json_is_string(v))
        return strdup(json_string_value(v));
    return json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
}

void adm_print_json_table(const json_t *list, const struct adm_col *cols, size_t ncols, FILE *out)
{
    size_t nrows = json_array_size(list);
    char **cells = calloc(nrows * ncols + 1, sizeof(*cells));
    size_t *w = calloc(ncols + 1, sizeof(*w));
    if (cells == NULL || w == NULL)
        goto out;
    for (size_t f = 0; f < ncols; f++)
        w[f] = strlen(cols[f].header);
    for (size_t r = 0; r < nrows; r++)
        for (size_t f = 0; f < ncols; f++) {
            char *s = cell(json_array_get(list, r), &cols[f]);
            cells[r * ncols + f] = s;
            size_t l = s != NULL ? strlen(s) : 0;
            if (l > w[f])
                w[f] = l;
        }
    for (size_t f = 0; f < ncols; f++)
        fprintf(out, "%-*s%s", f + 1 < ncols ? (int)w[f] : 0, cols[f].header,
                f + 1 < ncols ? "  " : "\n");
    for (size_t r = 0; r < nrows; r++)
        for (size_t f = 0; f < ncols; f++) {
            const char *s = cells[r * ncols + f];
            fprintf(out, "%-*s%s", f + 1 < ncols ? (int)w[f] : 0, s != NULL ? s : "",
                    f + 1 < ncols ? "  " : "\n");
        }
out:
    for (size_t i = 0; cells != NULL && i < nrows * ncols; i++)
        free(cells[i]);
    free(cells);
    free(w);
}

int adm_catalog_list(const struct adm_cfg *cfg, int argc, char **argv, const char *usage,
                     const char *cmd, adm_list_fn fn, const struct adm_col *cols, size_t ncols)
{
    bool with_tenant = cmd != NULL;
    const char *tenant = NULL;
    size_t npos;
    struct adm_opt opts[] = {{"tenant", &tenant}};
    int prc = adm_opts_parse(argc, argv, opts, with_tenant ? 1 : 0, NULL, 0, &npos, usage);
    if (prc != ADM_EXIT_OK)
        return prc == ADM_HELP_SHOWN ? ADM_EXIT_OK : prc;
    struct ea_err err = {0};
    if (with_tenant && tenant == NULL)
        return adm_usage_error(usage, "%s needs --tenant", cmd);
    if (with_tenant && ea_catalog_tenant_id_check(tenant, &err) != EA_OK)
        return adm_catalog_fail(&err, usage);
    PGconn *c = adm_connect(cfg);
    if (c == NULL)
        return ADM_EXIT_FAIL;
    json_t *list = NULL;
    int rc = ADM_EXIT_OK;
    if (fn(c, tenant, &list, &err) != EA_OK)
        rc = adm_catalog_fail(&err, usage);
    else
        adm_print_json_table(list, cols, ncols, stdout);
    json_decref(list);
    PQfinish(c);
    return rc;
}

void adm_announce(const struct adm_cfg *cfg, const char *tenant, json_t *changed)
{
    char *msg = ea_catalog_changes_message(tenant, changed);
    json_decref(changed);
    if (msg == NULL)
        return;
    struct ea_err err = {0};
    ea_redis_url u;
    ea_redis *rc = NULL;
    if (ea_redis_url_parse(cfg->redis_url, cfg->redis_ca_file, &u, &err) != EA_OK ||
        (rc = ea_redis_connect(&u, 2000, &err)) == NULL ||
        ea_redis_publish(&rc, &u, 2000, cfg->changes_channel, msg, strlen(msg), NULL, &err) !=
            EA_OK)
        fprintf(stderr,
                "warning: change not announced (%s): graphql-api may serve cached answers of the "
                "changed metrics until their TTL (CACHE_TTL_HOUR_S, CACHE_TTL_DAY_S)\n",
                err.message);
    ea_redis_free(rc);
    free(msg);
}
