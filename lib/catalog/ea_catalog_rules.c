/*
 * ea_catalog_rules.c — the catalog's pure rules: tenant ids and slugs, display names, metric
 * names, the one list of aggregations, what a valid metric definition is, key scopes, how an
 * event's automatic count is named, and close-name suggestions. No database and no globals, so
 * tests/unit/catalog/ checks every rule directly and the worker can link it for the names.
 */
#include "ea_catalog_int.h"

#include <stdio.h>
#include <string.h>

static const char *const agg_names[EA_CATALOG_AGG_N] = {"count", "sum", "min",
                                                        "max",   "avg", "unique"};

int ea_catalog_agg_parse(const char *s)
{
    for (int i = 0; s != NULL && i < EA_CATALOG_AGG_N; i++)
        if (strcmp(s, agg_names[i]) == 0)
            return i;
    return -1;
}

const char *ea_catalog_agg_name(ea_catalog_agg a)
{
    return (int)a >= 0 && a < EA_CATALOG_AGG_N ? agg_names[a] : "?";
}

/* "count, sum, min, max, avg or unique", from agg_names. */
static const char *agg_list(char *buf, size_t cap)
{
    size_t n = 0;
    buf[0] = '\0';
    for (int i = 0; i < EA_CATALOG_AGG_N && n < cap; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%s",
                              i == 0                      ? ""
                              : i == EA_CATALOG_AGG_N - 1 ? " or "
                                                          : ", ",
                              agg_names[i]);
    return buf;
}

bool ea_catalog_tenant_id_valid(const char *id)
{
    size_t n = id != NULL ? strlen(id) : 0;
    if (n == 0 || n > EA_CATALOG_TENANT_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (!alnum && (i == 0 || c != '-'))
            return false;
    }
    return true;
}

ea_rc ea_catalog_tenant_id_check(const char *id, struct ea_err *err)
{
    char q[CAT_QBUF];
    if (ea_catalog_tenant_id_valid(id))
        return EA_OK;
    return ea_err_set(err, EA_ERR_INVALID,
                      "invalid tenant id \"%s\": must match ^[a-z0-9][a-z0-9-]{0,62}$",
                      cat_quote(id, q, sizeof(q)));
}

bool ea_catalog_tenant_slug(const char *name, char out[EA_CATALOG_TENANT_ID_MAX + 1])
{
    size_t n = 0;
    bool dash = false;
    for (const unsigned char *p = (const unsigned char *)name;
         *p != '\0' && n < EA_CATALOG_TENANT_ID_MAX; p++) {
        unsigned char c = *p;
        if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c - 'A' + 'a');
        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
            if (dash && n > 0 && n < EA_CATALOG_TENANT_ID_MAX - 1)
                out[n++] = '-';
            dash = false;
            out[n++] = (char)c;
        } else {
            dash = true;
        }
    }
    while (n > 0 && out[n - 1] == '-')
        n--;
    out[n] = '\0';
    return n > 0 && ea_catalog_tenant_id_valid(out);
}

bool ea_catalog_text_valid(const char *s, size_t max)
{
    size_t n = s != NULL ? strlen(s) : 0;
    if (n == 0 || n > max)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    return true;
}

bool ea_catalog_metric_name_valid(const char *name)
{
    size_t n = name != NULL ? strlen(name) : 0;
    if (n == 0 || n > EA_CATALOG_METRIC_NAME_MAX || name[0] < 'a' || name[0] > 'z')
        return false;
    for (size_t i = 1; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
            return false;
    }
    return true;
}

ea_rc ea_catalog_metric_name_check(const char *name, struct ea_err *err)
{
    char q[CAT_QBUF];
    if (ea_catalog_metric_name_valid(name))
        return EA_OK;
    return ea_err_set(err, EA_ERR_INVALID,
                      "invalid metric name \"%s\": use a lowercase letter, then up to 63 lowercase "
                      "letters, digits, '_', '.' or '-'",
                      cat_quote(name, q, sizeof(q)));
}

ea_rc ea_catalog_metric_check(const ea_catalog_metric *m, struct ea_err *err)
{
    char q[CAT_QBUF], list[96];
    if (ea_catalog_metric_name_check(m->name, err) != EA_OK)
        return EA_ERR_INVALID;
    size_t el = m->event != NULL ? strlen(m->event) : 0;
    if (el == 0 || el > EA_CATALOG_EVENT_MAX)
        return ea_err_set(err, EA_ERR_INVALID, "invalid event name: 1 to %d bytes",
                          EA_CATALOG_EVENT_MAX);
    const char *agg = m->aggregation != NULL ? m->aggregation : "count";
    int a = ea_catalog_agg_parse(agg);
    if (a < 0)
        return ea_err_set(err, EA_ERR_INVALID, "invalid aggregation \"%s\": expected %s",
                          cat_quote(agg, q, sizeof(q)), agg_list(list, sizeof(list)));
    if (a == EA_CATALOG_AGG_COUNT && m->property != NULL)
        return ea_err_set(err, EA_ERR_INVALID,
                          "aggregation count takes no property (it counts events)");
    if (a != EA_CATALOG_AGG_COUNT && m->property == NULL)
        return ea_err_set(err, EA_ERR_INVALID,
                          "aggregation %s needs a property (the event property it reads)",
                          agg_names[a]);
    if (m->property != NULL && !ea_catalog_text_valid(m->property, EA_CATALOG_PROPERTY_MAX))
        return ea_err_set(err, EA_ERR_INVALID,
                          "invalid property name: 1 to %d bytes without control characters",
                          EA_CATALOG_PROPERTY_MAX);
    if (m->ndims > EA_CATALOG_MAX_DIMENSIONS)
        return ea_err_set(err, EA_ERR_INVALID, "invalid dimensions: at most %d allowed",
                          EA_CATALOG_MAX_DIMENSIONS);
    for (size_t i = 0; i < m->ndims; i++) {
        if (!ea_catalog_text_valid(m->dims[i], EA_CATALOG_PROPERTY_MAX))
            return ea_err_set(err, EA_ERR_INVALID,
                              "invalid dimension \"%s\": names are 1 to %d bytes without control "
                              "characters",
                              cat_quote(m->dims[i], q, sizeof(q)), EA_CATALOG_PROPERTY_MAX);
        for (size_t j = 0; j < i; j++)
            if (strcmp(m->dims[i], m->dims[j]) == 0)
                return ea_err_set(err, EA_ERR_INVALID, "invalid dimensions: \"%s\" given twice",
                                  cat_quote(m->dims[i], q, sizeof(q)));
    }
    if (m->cap_set && (m->cap < 1 || m->cap > EA_CATALOG_CAP_MAX))
        return ea_err_set(err, EA_ERR_INVALID, "invalid cardinality cap %lld: expected 1 to %d",
                          m->cap, EA_CATALOG_CAP_MAX);
    return EA_OK;
}

ea_rc ea_catalog_scopes_check(const char *const *scopes, size_t n, struct ea_err *err)
{
    static const char *const known[] = {"ingest", "read", "admin"};
    char q[CAT_QBUF];
    if (n == 0)
        return ea_err_set(err, EA_ERR_INVALID,
                          "invalid scopes: at least one of ingest, read or admin");
    for (size_t i = 0; i < n; i++) {
        bool ok = false;
        for (size_t k = 0; k < 3; k++)
            ok = ok || (scopes[i] != NULL && strcmp(scopes[i], known[k]) == 0);
        if (!ok)
            return ea_err_set(err, EA_ERR_INVALID,
                              "invalid scope \"%s\": expected ingest, read or admin",
                              cat_quote(scopes[i], q, sizeof(q)));
        for (size_t j = 0; j < i; j++)
            if (strcmp(scopes[i], scopes[j]) == 0)
                return ea_err_set(err, EA_ERR_INVALID, "invalid scopes: \"%s\" given twice",
                                  scopes[i]);
    }
    return EA_OK;
}

/* ---- automatic count names ---- */

size_t ea_catalog_event_base_len(const char *event, size_t len)
{
    while (len >= EA_CATALOG_EVENT_SUFFIX_LEN &&
           memcmp(event + len - EA_CATALOG_EVENT_SUFFIX_LEN, EA_CATALOG_EVENT_SUFFIX,
                  EA_CATALOG_EVENT_SUFFIX_LEN) == 0)
        len -= EA_CATALOG_EVENT_SUFFIX_LEN;
    return len;
}

ea_catalog_count_kind ea_catalog_count_kind_of(size_t len, size_t base_len, bool def_exists,
                                               bool def_counts_base)
{
    if (!def_exists)
        return EA_CATALOG_COUNT_OWN;
    if (def_counts_base)
        return len == base_len ? EA_CATALOG_COUNT_REPLACED : EA_CATALOG_COUNT_OWN;
    return EA_CATALOG_COUNT_SHADOWED;
}

bool ea_catalog_def_counts_own_name(const char *name, const char *aggregation, const char *event)
{
    return name != NULL && event != NULL && aggregation != NULL &&
           strcmp(aggregation, "count") == 0 && strcmp(name, event) == 0;
}

/* ---- suggestions ---- */

static unsigned char lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

size_t ea_catalog_name_distance(const char *a, const char *b, size_t limit)
{
    size_t la = strlen(a), lb = strlen(b), inf = limit + 1;
    if ((la > lb ? la - lb : lb - la) > limit || la > 256 || lb > 256 || limit > 256)
        return inf;
    /* three rows of the OSA matrix (i-2, i-1, i), only the band |i - j| <= limit: a cell
     * outside it is more than limit edits, so each name costs O(len * limit), not O(len^2) */
    size_t rows[3][258];
    for (size_t j = 0; j <= lb + 1; j++)
        rows[0][j] = rows[1][j] = rows[2][j] = inf;
    for (size_t j = 0; j <= lb && j <= limit; j++)
        rows[1][j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t *cur = rows[(i + 1) % 3], *prev = rows[i % 3], *prev2 = rows[(i + 2) % 3];
        size_t lo = i > limit ? i - limit : 1, hi = i + limit < lb ? i + limit : lb;
        /* the band's neighbours are read by the next rows: never a stale value there */
        cur[lo - 1] = i <= limit ? i : inf;
        if (hi + 1 <= lb)
            cur[hi + 1] = inf;
        size_t best = cur[lo - 1]; /* column 0 is in the band while i <= limit */
        unsigned char ca = lower((unsigned char)a[i - 1]);
        for (size_t j = lo; j <= hi; j++) {
            unsigned char cb = lower((unsigned char)b[j - 1]);
            size_t v = prev[j - 1] + (ca != cb);
            if (prev[j] + 1 < v)
                v = prev[j] + 1;
            if (cur[j - 1] + 1 < v)
                v = cur[j - 1] + 1;
            if (i > 1 && j > 1 && ca == lower((unsigned char)b[j - 2]) &&
                lower((unsigned char)a[i - 2]) == cb && prev2[j - 2] + 1 < v)
                v = prev2[j - 2] + 1;
            cur[j] = v > inf ? inf : v;
            if (cur[j] < best)
                best = cur[j];
        }
        if (best > limit)
            return inf;
    }
    size_t d = rows[(la + 1) % 3][lb];
    return d > limit ? inf : d;
}

size_t ea_catalog_suggest(const char *name, const char *const *cands, size_t n, const char **out,
                          size_t max)
{
    size_t len = strlen(name), limit = len <= 4 ? 1 : len <= 9 ? 2 : 3, got = 0;
    size_t dist[8];
    if (max > 8)
        max = 8;
    for (size_t i = 0; i < n; i++) {
        if (cands[i] == NULL || strcmp(cands[i], name) == 0)
            continue;
        size_t d = ea_catalog_name_distance(name, cands[i], limit);
        if (d > limit)
            continue;
        bool dup = false;
        for (size_t k = 0; k < got; k++)
            dup = dup || strcmp(out[k], cands[i]) == 0;
        if (dup)
            continue;
        /* insertion into the sorted top list: by distance, then bytes */
        size_t pos = got;
        while (pos > 0 &&
               (dist[pos - 1] > d || (dist[pos - 1] == d && strcmp(out[pos - 1], cands[i]) > 0)))
            pos--;
        if (pos >= max)
            continue;
        size_t last = got < max ? got : max - 1;
        for (size_t k = last; k > pos; k--) {
            out[k] = out[k - 1];
            dist[k] = dist[k - 1];
        }
        out[pos] = cands[i];
        dist[pos] = d;
        if (got < max)
            got++;
    }
    return got;
}

void cat_add_suggestions(struct ea_err *err, const char *name, const char *const *cands, size_t n)
{
    const char *s[3];
    size_t k = ea_catalog_suggest(name, cands, n, s, 3);
    if (err == NULL || k == 0)
        return;
    /* whole pieces only: a message cut in the middle of a name would not be valid UTF-8 */
    char text[sizeof(err->message)], q[CAT_QBUF];
    size_t len = 0;
    for (size_t i = 0; i < k; i++) {
        char piece[CAT_QBUF + 24];
        int w = snprintf(piece, sizeof(piece), "%s\"%s\"",
                         i == 0       ? "; did you mean "
                         : i + 1 == k ? " or "
                                      : ", ",
                         cat_quote(s[i], q, sizeof(q)));
        if (w < 0 || (size_t)w >= sizeof(piece) || len + (size_t)w + 1 >= sizeof(text))
            break;
        memcpy(text + len, piece, (size_t)w);
        len += (size_t)w;
    }
    text[len] = '\0';
    size_t ml = strlen(err->message);
    if (len > 0 && ml + len + 2 <= sizeof(err->message)) {
        memcpy(err->message + ml, text, len);
        memcpy(err->message + ml + len, "?", 2);
    }
}

/* Length of the longest prefix of s[0..n) that does not end inside a UTF-8 sequence. */
static size_t utf8_whole(const char *s, size_t n)
{
    size_t i = n, back = 0;
    while (i > 0 && back < 4 && ((unsigned char)s[i - 1] & 0xC0) == 0x80) {
        i--;
        back++;
    }
    if (i == 0 || (unsigned char)s[i - 1] < 0x80)
        return n;
    unsigned char lead = (unsigned char)s[i - 1];
    size_t want = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
    return n - (i - 1) < want ? i - 1 : n;
}

const char *cat_quote(const char *s, char *buf, size_t cap)
{
    size_t n = 0;
    if (s == NULL)
        s = "";
    for (; *s != '\0' && n + 4 < cap; s++) {
        if (n >= 64) {
            n = utf8_whole(buf, n);
            memcpy(buf + n, "...", 3);
            n += 3;
            break;
        }
        unsigned char c = (unsigned char)*s;
        buf[n++] = (c < 0x20 || c == 0x7f || c == '"' || c == '\\') ? '?' : (char)c;
    }
    buf[n] = '\0';
    return buf;
}
