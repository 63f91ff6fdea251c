/*
 * ea_catalog_alert.c — threshold alerts (SPEC §8): their rules (columns, because the worker
 * evaluates them in SQL; the metric must be a metric of the tenant and the filter keys its
 * dimensions; daily buckets in an IANA zone; an optional http(s) webhook) and every statement
 * that writes or lists them or their firings. Evaluation and webhook delivery are the worker's
 * (services/worker: sink.c closes buckets and records firings, hook_sender.c delivers them).
 *
 * An edited or resumed alert starts over from the bucket holding the change (evaluated_until
 * NULL, migration 0012): it does not fire for buckets before it existed in that form.
 *
 * The webhook signing secret ("whsec_" + 64 hex from getrandom) is generated here when an alert
 * gets a webhook, stored in alerts.webhook_secret (the worker signs with it), and appears in an
 * answer only then: ALERT_JSON never includes it.
 */
#include "ea_catalog_int.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define ALERT_JSON                                                                                 \
    "jsonb_build_object('id', id::text, 'tenant', tenant_id, 'name', name, 'metric', metric,"      \
    " 'filter', filter, 'comparator', comparator, 'threshold', threshold, 'granularity',"          \
    " granularity, 'enabled', enabled, 'createdAt', " CAT_TS(                                      \
        "created_at") ", 'timezone',"                                                              \
                      " timezone, 'webhookUrl', webhook_url, 'updatedAt', " CAT_TS(                \
                          "updated_at") ")"

/* ---- pure rules -------------------------------------------------------------------------------
 */

/* An IANA zone name, as migration 0006's ea_metric_series() accepts it: letters, digits, _ + -
 * in '/'-separated segments, the first starting with a letter; "+5"-like offsets only as
 * Etc/GMT+N (POSIX strings such as UTC+5 mean UTC-5 in PostgreSQL: a trap). Whether the zone
 * exists is asked of PostgreSQL. */
static bool zone_name_ok(const char *tz)
{
    size_t n = strlen(tz);
    if (n == 0 || n > 64 || !isalpha((unsigned char)tz[0]))
        return false;
    bool seg_empty = false, offset = false;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)tz[i];
        if (ch == '/') {
            if (seg_empty)
                return false;
            seg_empty = true;
            continue;
        }
        if (!isalnum(ch) && ch != '_' && ch != '+' && ch != '-')
            return false;
        if ((ch == '+' || ch == '-') && i + 1 < n && isdigit((unsigned char)tz[i + 1]))
            offset = true;
        seg_empty = false;
    }
    if (seg_empty)
        return false;
    if (offset) { /* only Etc/GMT[+-]N(N) */
        if (strncmp(tz, "Etc/GMT", 7) != 0 || (tz[7] != '+' && tz[7] != '-'))
            return false;
        size_t d = strlen(tz + 8);
        return (d == 1 || d == 2) && strspn(tz + 8, "0123456789") == d;
    }
    return true;
}

/* http(s)://host[:port][/path][?query][#fragment]: no spaces or control characters, no
 * user:password (it would travel to logs and proxies), a host, a port 1..65535. */
static bool url_ok(const char *u, const char **why)
{
    size_t n = strlen(u);
    const char *rest;
    if (n > EA_CATALOG_URL_MAX) {
        *why = "at most 2048 characters";
        return false;
    }
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)u[i] <= ' ' || u[i] == 0x7f) {
            *why = "no spaces or control characters";
            return false;
        }
    if (strncmp(u, "http://", 7) == 0)
        rest = u + 7;
    else if (strncmp(u, "https://", 8) == 0)
        rest = u + 8;
    else {
        *why = "an http:// or https:// URL";
        return false;
    }
    size_t auth = strcspn(rest, "/?#");
    if (memchr(rest, '@', auth) != NULL) {
        *why = "no user or password in the URL";
        return false;
    }
    const char *host = rest, *end = rest + auth, *colon = NULL;
    if (host < end && *host == '[') { /* [IPv6] */
        const char *close = memchr(host, ']', (size_t)(end - host));
        if (close == NULL || close == host + 1) {
            *why = "a host";
            return false;
        }
        colon = close + 1 < end && close[1] == ':' ? close + 1 : NULL;
        if (close + 1 < end && colon == NULL) {
            *why = "a host";
            return false;
        }
    } else {
        colon = memchr(host, ':', (size_t)(end - host));
        const char *hend = colon != NULL ? colon : end;
        if (hend == host) {
            *why = "a host";
            return false;
        }
        for (const char *p = host; p < hend; p++)
            if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-' && *p != '_') {
                *why = "a host name of letters, digits, '.', '-'";
                return false;
            }
    }
    if (colon != NULL) {
        size_t d = (size_t)(end - colon - 1);
        long port = 0;
        for (size_t i = 0; i < d; i++) {
            if (!isdigit((unsigned char)colon[1 + i]) || port > 65535) {
                port = -1;
                break;
            }
            port = port * 10 + (colon[1 + i] - '0');
        }
        if (d == 0 || d > 5 || port < 1 || port > 65535) {
            *why = "a port from 1 to 65535";
            return false;
        }
    }
    return true;
}

ea_rc ea_catalog_alert_check(const ea_catalog_alert *a, struct ea_err *err)
{
    static const char *const comparators[] = {"GT", "GTE", "LT", "LTE", "EQ", "NEQ"};
    char q[CAT_QBUF];
    if (a->name == NULL || a->name[0] == '\0' || strlen(a->name) > EA_CATALOG_TEXT_MAX)
        return ea_err_set(err, EA_ERR_INVALID, "name must be 1 to %d characters",
                          EA_CATALOG_TEXT_MAX);
    if (a->filter != NULL && !json_is_null(a->filter) && !json_is_object(a->filter))
        return ea_err_set(err, EA_ERR_INVALID, "filter must be a JSON object of dimension values");
    bool cmp_ok = false;
    for (size_t i = 0; a->comparator != NULL && i < 6; i++)
        cmp_ok = cmp_ok || strcmp(a->comparator, comparators[i]) == 0;
    if (!cmp_ok)
        return ea_err_set(err, EA_ERR_INVALID,
                          "invalid comparator \"%s\": expected GT, GTE, LT, LTE, EQ or NEQ",
                          cat_quote(a->comparator, q, sizeof(q)));
    const char *gran = a->granularity != NULL ? a->granularity : "HOUR";
    if (strcmp(gran, "HOUR") != 0 && strcmp(gran, "DAY") != 0)
        return ea_err_set(err, EA_ERR_INVALID, "invalid granularity \"%s\": expected HOUR or DAY",
                          cat_quote(gran, q, sizeof(q)));
    if (!isfinite(a->threshold))
        return ea_err_set(err, EA_ERR_INVALID, "threshold must be a finite number");
    if (a->timezone != NULL && !zone_name_ok(a->timezone))
        return ea_err_set(err, EA_ERR_INVALID,
                          "invalid time zone \"%s\": use an IANA name such as Asia/Kolkata or UTC",
                          cat_quote(a->timezone, q, sizeof(q)));
    const char *why = NULL;
    if (a->webhook_url != NULL && a->webhook_url[0] != '\0' && !url_ok(a->webhook_url, &why))
        return ea_err_set(err, EA_ERR_INVALID, "invalid webhookUrl \"%s\": expected %s",
                          cat_quote(a->webhook_url, q, sizeof(q)), why);
    return EA_OK;
}

/* ---- statements ------------------------------------------------------------------------------ */

static bool id_ok(const char *id)
{
    size_t n = id != NULL ? strlen(id) : 0;
    return n >= 1 && n <= 18 && strspn(id, "0123456789") == n;
}

static ea_rc no_alert(const char *what, const char *id, struct ea_err *err)
{
    char q[CAT_QBUF];
    return ea_err_set(err, EA_ERR_NOTFOUND, "could not %s: no alert \"%s\" in this tenant", what,
                      cat_quote(id != NULL ? id : "", q, sizeof(q)));
}

static ea_rc new_secret(char out[EA_CATALOG_WEBHOOK_SECRET_LEN + 1], struct ea_err *err)
{
    unsigned char raw[32];
    if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
        return ea_err_set(err, EA_ERR_IO, "could not save alert: no random bytes for the secret");
    static const char hex[] = "0123456789abcdef";
    memcpy(out, "whsec_", 6);
    for (size_t i = 0; i < sizeof(raw); i++) {
        out[6 + 2 * i] = hex[raw[i] >> 4];
        out[7 + 2 * i] = hex[raw[i] & 15];
    }
    out[6 + 2 * sizeof(raw)] = '\0';
    memset(raw, 0, sizeof(raw));
    return EA_OK;
}

/* The rules that need the database: the metric is one of the tenant's, the filter keys are its
 * dimensions, the zone exists. */
static ea_rc check_against_db(PGconn *c, const char *tenant, const ea_catalog_alert *a,
                              const char *what, struct ea_err *err)
{
    char q[CAT_QBUF];
    json_t *dims = NULL;
    ea_rc rc = ea_catalog_metric_resolve(c, tenant, a->metric, &dims, err);
    if (rc == EA_ERR_NOTFOUND) /* an input field of the alert: the input is what is wrong */
        err->code = rc = EA_ERR_INVALID;
    if (rc != EA_OK)
        return rc;
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)a->filter, k, v)
    {
        size_t i;
        const json_t *dn;
        bool found = false;
        json_array_foreach(dims, i, dn) found = found || strcmp(json_string_value(dn), k) == 0;
        if (!found || json_is_object(v) || json_is_array(v)) {
            json_decref(dims);
            return ea_err_set(err, EA_ERR_INVALID,
                              "filter key \"%s\" is not a dimension of the metric with a scalar "
                              "value",
                              cat_quote(k, q, sizeof(q)));
        }
    }
    json_decref(dims);
    const char *tz = a->timezone != NULL ? a->timezone : "UTC";
    const char *params[1] = {tz};
    PGresult *res = cat_query(c, what, "SELECT (now() AT TIME ZONE $1::text) IS NOT NULL", 1,
                              params, PGRES_TUPLES_OK, err);
    if (res == NULL)
        return strcmp(err->sqlstate, "22023") == 0
                   ? ea_err_set(err, EA_ERR_INVALID, "unknown time zone \"%s\"",
                                cat_quote(tz, q, sizeof(q)))
                   : err->code;
    PQclear(res);
    return EA_OK;
}

/* create (id NULL) or update: the checks, the statement, webhookSecret added when generated. */
static ea_rc alert_write(PGconn *c, const char *tenant, const char *id, const ea_catalog_alert *a,
                         json_t **out, struct ea_err *err)
{
    const char *what = id == NULL ? "create alert" : "update alert";
    *out = NULL;
    if (ea_catalog_tenant_id_check(tenant, err) != EA_OK)
        return EA_ERR_INVALID;
    if (ea_catalog_alert_check(a, err) != EA_OK)
        return EA_ERR_INVALID;
    if (id != NULL && !id_ok(id))
        return no_alert(what, id, err);
    if (id != NULL) { /* an alert that is not there is the first thing to say */
        const char *p2[2] = {tenant, id};
        PGresult *res =
            cat_query(c, what, "SELECT 1 FROM alerts WHERE tenant_id = $1 AND id = $2::bigint", 2,
                      p2, PGRES_TUPLES_OK, err);
        if (res == NULL)
            return err->code;
        bool found = PQntuples(res) == 1;
        PQclear(res);
        if (!found)
            return no_alert(what, id, err);
    }
    ea_rc rc = check_against_db(c, tenant, a, what, err);
    if (rc != EA_OK)
        return rc;
    bool hook = a->webhook_url != NULL && a->webhook_url[0] != '\0';
    char secret[EA_CATALOG_WEBHOOK_SECRET_LEN + 1] = "";
    if (hook && (rc = new_secret(secret, err)) != EA_OK)
        return rc;
    char *filter_s = json_is_object(a->filter) ? json_dumps(a->filter, JSON_COMPACT) : strdup("{}");
    if (filter_s == NULL)
        return ea_err_set(err, EA_ERR_NOMEM, "could not %s: out of memory", what);
    char th[64];
    snprintf(th, sizeof(th), "%.17g", a->threshold);
    const char *params[11] = {tenant,
                              a->name,
                              a->metric,
                              filter_s,
                              a->comparator,
                              th,
                              a->granularity != NULL ? a->granularity : "HOUR",
                              a->timezone != NULL ? a->timezone : "UTC",
                              hook ? a->webhook_url : NULL,
                              hook ? secret : NULL,
                              id};
    /* the answer carries webhook_secret only when this statement generated it: a new alert with
     * a webhook, or an alert that had none and gains one (one that keeps its webhook keeps its
     * secret; its URL may change) */
    if (id == NULL)
        rc = cat_query_json(c, what,
                            "WITH a AS (INSERT INTO alerts (tenant_id, name, metric, filter,"
                            " comparator, threshold, granularity, timezone, webhook_url,"
                            " webhook_secret) VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, $8, $9,"
                            " $10) RETURNING *) SELECT (" ALERT_JSON " || CASE WHEN"
                            " webhook_secret IS NULL THEN '{}'::jsonb ELSE jsonb_build_object("
                            "'webhookSecret', webhook_secret) END)::text FROM a",
                            10, params, out, err);
    else
        rc = cat_query_json(c, what,
                            "WITH old AS (SELECT webhook_secret FROM alerts WHERE tenant_id = $1"
                            " AND id = $11::bigint FOR UPDATE), a AS (UPDATE alerts SET name = $2,"
                            " metric = $3, filter = $4::jsonb, comparator = $5, threshold = $6,"
                            " granularity = $7, timezone = $8, webhook_url = $9, webhook_secret ="
                            " CASE WHEN $9::text IS NULL THEN NULL ELSE coalesce((SELECT"
                            " webhook_secret FROM old), $10) END, updated_at = now(),"
                            " evaluated_until = NULL WHERE"
                            " tenant_id = $1 AND id = $11::bigint RETURNING *) SELECT coalesce(("
                            "SELECT (" ALERT_JSON " || CASE WHEN webhook_secret IS NOT NULL AND"
                            " (SELECT webhook_secret FROM old) IS NULL THEN jsonb_build_object("
                            "'webhookSecret', webhook_secret) ELSE '{}'::jsonb END) FROM a),"
                            " 'null')::text",
                            11, params, out, err);
    free(filter_s);
    memset(secret, 0, sizeof(secret));
    if (rc == EA_OK && json_is_null(*out)) {
        json_decref(*out);
        *out = NULL;
        return no_alert(what, id, err);
    }
    if (rc != EA_OK && strcmp(err->sqlstate, "23503") == 0)
        return ea_err_set(err, EA_ERR_NOTFOUND, "could not %s: tenant \"%s\" does not exist", what,
                          tenant);
    return rc;
}

ea_rc ea_catalog_alert_create(PGconn *c, const char *tenant, const ea_catalog_alert *a,
                              json_t **out, struct ea_err *err)
{
    return alert_write(c, tenant, NULL, a, out, err);
}

ea_rc ea_catalog_alert_update(PGconn *c, const char *tenant, const char *id,
                              const ea_catalog_alert *a, json_t **out, struct ea_err *err)
{
    if (id == NULL)
        return no_alert("update alert", id, err);
    return alert_write(c, tenant, id, a, out, err);
}

ea_rc ea_catalog_alert_set_enabled(PGconn *c, const char *tenant, const char *id, bool enabled,
                                   json_t **out, struct ea_err *err)
{
    *out = NULL;
    const char *what = enabled ? "resume alert" : "pause alert";
    if (ea_catalog_tenant_id_check(tenant, err) != EA_OK)
        return EA_ERR_INVALID;
    if (!id_ok(id))
        return no_alert(what, id, err);
    const char *params[3] = {tenant, id, enabled ? "true" : "false"};
    ea_rc rc = cat_query_json(c, what,
                              "WITH a AS (UPDATE alerts SET evaluated_until = CASE WHEN"
                              " $3::boolean AND NOT enabled THEN NULL ELSE evaluated_until END,"
                              " enabled = $3::boolean, updated_at = now() WHERE tenant_id = $1"
                              " AND id = $2::bigint RETURNING *)"
                              " SELECT coalesce((SELECT " ALERT_JSON " FROM a), 'null')::text",
                              3, params, out, err);
    if (rc == EA_OK && json_is_null(*out)) {
        json_decref(*out);
        *out = NULL;
        return no_alert(what, id, err);
    }
    return rc;
}

ea_rc ea_catalog_alert_delete(PGconn *c, const char *tenant, const char *id, struct ea_err *err)
{
    if (ea_catalog_tenant_id_check(tenant, err) != EA_OK)
        return EA_ERR_INVALID;
    if (!id_ok(id))
        return no_alert("delete alert", id, err);
    const char *params[2] = {tenant, id};
    /* its firings go with it (alert_events' foreign key cascades), deliveries included */
    PGresult *res =
        cat_query(c, "delete alert", "DELETE FROM alerts WHERE tenant_id = $1 AND id = $2::bigint",
                  2, params, PGRES_COMMAND_OK, err);
    if (res == NULL)
        return err->code;
    bool gone = strcmp(PQcmdTuples(res), "1") == 0;
    PQclear(res);
    return gone ? EA_OK : no_alert("delete alert", id, err);
}

ea_rc ea_catalog_alert_list(PGconn *c, const char *tenant, json_t **out, struct ea_err *err)
{
    *out = NULL;
    if (ea_catalog_tenant_id_check(tenant, err) != EA_OK)
        return EA_ERR_INVALID;
    const char *params[1] = {tenant};
    return cat_query_json(c, "list alerts",
                          "SELECT coalesce(jsonb_agg(" ALERT_JSON " ORDER BY id), '[]')::text"
                          " FROM alerts WHERE tenant_id = $1",
                          1, params, out, err);
}

ea_rc ea_catalog_alert_history(PGconn *c, const char *tenant, const char *id, long limit,
                               json_t **out, struct ea_err *err)
{
    *out = NULL;
    if (ea_catalog_tenant_id_check(tenant, err) != EA_OK)
        return EA_ERR_INVALID;
    if (limit < 1 || limit > EA_CATALOG_HISTORY_MAX)
        return ea_err_set(err, EA_ERR_INVALID, "limit must be 1 to %d", EA_CATALOG_HISTORY_MAX);
    if (!id_ok(id))
        return cat_json_parse("[]", "list alert history", out, err);
    char lim[24];
    snprintf(lim, sizeof(lim), "%ld", limit);
    const char *params[3] = {tenant, id, lim};
    return cat_query_json(
        c, "list alert history",
        "SELECT coalesce(jsonb_agg(jsonb_build_object('firedAt', " CAT_TS(
            "fired_at") ", 'bucket', " CAT_TS("bucket") ", 'value', value, 'dimensions', dims, "
                                                        "'delivery', delivery, 'attempts',"
                                                        " attempts, 'deliveryError', last_error) "
                                                        "ORDER BY fired_at DESC, id DESC), "
                                                        "'[]')::text"
                                                        " FROM (SELECT * FROM alert_events WHERE "
                                                        "tenant_id = $1 AND alert_id = $2::bigint "
                                                        "ORDER BY"
                                                        " fired_at DESC, id DESC LIMIT $3::int) h",
        3, params, out, err);
}
