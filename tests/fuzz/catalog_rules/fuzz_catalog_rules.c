/*
 * fuzz_catalog_rules.c — libFuzzer driver for lib/catalog's pure rules, which every GraphQL
 * client and CLI user feeds with arbitrary strings: the input is split at NUL bytes into a metric
 * definition (name, event, aggregation, property, dimensions...) and a name to look up. Any
 * bytes must give a verdict without crash, leak or UB, and a message that is NUL-terminated and
 * — when the input was valid UTF-8 — valid UTF-8 (GraphQL errors are JSON strings); suggestions
 * must be within their distance bound; the automatic-count rule must strip only whole suffixes.
 * The same fields also make an alert (name, zone, comparator, granularity, webhook URL): an
 * accepted webhook URL is http(s)://, at most 2048 bytes, without spaces, control characters
 * or user:password — what the worker's delivery relies on.
 */
#include "ea_catalog.h"
#include "ea_catalog_int.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static bool utf8_valid(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p != '\0') {
        size_t n = *p < 0x80         ? 1
                   : (*p >> 5) == 6  ? 2
                   : (*p >> 4) == 14 ? 3
                   : (*p >> 3) == 30 ? 4
                                     : 0;
        if (n == 0)
            return false;
        for (size_t i = 1; i < n; i++)
            if ((p[i] & 0xC0) != 0x80)
                return false;
        p += n;
    }
    return true;
}

static void check_message(const struct ea_err *err, bool input_utf8)
{
    if (memchr(err->message, '\0', sizeof(err->message)) == NULL)
        abort();
    if (input_utf8 && !utf8_valid(err->message))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 1);
    if (buf == NULL)
        return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';
    const char *f[12] = {0};
    size_t nf = 0;
    for (char *p = buf; nf < 12 && p <= buf + size; p += strlen(p) + 1)
        f[nf++] = p;
    bool utf8 = true;
    for (size_t i = 0; i < nf; i++)
        utf8 = utf8 && utf8_valid(f[i]);
    const char *dims[8];
    size_t nd = nf > 5 ? nf - 5 : 0;
    for (size_t i = 0; i < nd && i < 8; i++)
        dims[i] = f[5 + i];
    ea_catalog_metric m = {.name = f[0],
                           .event = nf > 1 ? f[1] : NULL,
                           .aggregation = nf > 2 && f[2][0] != '\0' ? f[2] : NULL,
                           .property = nf > 3 && f[3][0] != '\0' ? f[3] : NULL,
                           .dims = dims,
                           .ndims = nd > 8 ? 8 : nd,
                           .cap = size > 0 ? (long long)data[0] * 5000 - 1 : 0,
                           .cap_set = size > 1 && (data[1] & 1)};
    struct ea_err err = {0};
    if (ea_catalog_metric_check(&m, &err) == EA_OK) {
        if (!ea_catalog_metric_name_valid(m.name))
            abort();
    } else {
        check_message(&err, utf8);
    }
    if (ea_catalog_tenant_id_check(f[0], &err) != EA_OK)
        check_message(&err, utf8);
    char slug[EA_CATALOG_TENANT_ID_MAX + 1];
    if (ea_catalog_tenant_slug(f[0], slug) && !ea_catalog_tenant_id_valid(slug))
        abort();
    if (ea_catalog_scopes_check(f, nf, &err) != EA_OK)
        check_message(&err, utf8);

    /* automatic count names: only whole " (event)" suffixes are stripped */
    size_t len = strlen(f[0]), bl = ea_catalog_event_base_len(f[0], len);
    if (bl > len || (len - bl) % EA_CATALOG_EVENT_SUFFIX_LEN != 0)
        abort();
    for (size_t k = bl; k < len; k += EA_CATALOG_EVENT_SUFFIX_LEN)
        if (memcmp(f[0] + k, EA_CATALOG_EVENT_SUFFIX, EA_CATALOG_EVENT_SUFFIX_LEN) != 0)
            abort();

    /* suggestions: the name is fields[0], the candidates the others */
    const char *out[3];
    size_t k = ea_catalog_suggest(f[0], f + 1, nf - 1, out, 3);
    size_t limit = len <= 4 ? 1 : len <= 9 ? 2 : 3;
    for (size_t i = 0; i < k; i++) {
        size_t d = ea_catalog_name_distance(f[0], out[i], limit);
        if (d > limit || ea_catalog_name_distance(out[i], f[0], limit) != d)
            abort();
    }
    /* alerts: fields 0 name, 1 zone, 2 comparator, 3 granularity, 4 webhook URL */
    json_t *filter = nf > 5 ? json_loads(f[5], JSON_DECODE_ANY, NULL) : NULL;
    ea_catalog_alert a = {.name = f[0],
                          .timezone = nf > 1 && f[1][0] != '\0' ? f[1] : NULL,
                          .comparator = nf > 2 ? f[2] : NULL,
                          .granularity = nf > 3 && f[3][0] != '\0' ? f[3] : NULL,
                          .webhook_url = nf > 4 ? f[4] : NULL,
                          .filter = filter,
                          .threshold = size > 2 ? (double)data[2] - 100.0 : 0};
    if (ea_catalog_alert_check(&a, &err) == EA_OK) {
        const char *u = a.webhook_url;
        if (u != NULL && u[0] != '\0') {
            if ((strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0) ||
                strlen(u) > EA_CATALOG_URL_MAX)
                abort();
            const char *auth = u + (u[4] == 's' ? 8 : 7);
            size_t alen = strcspn(auth, "/?#");
            if (memchr(auth, '@', alen) != NULL || alen == 0)
                abort();
            for (const unsigned char *p = (const unsigned char *)u; *p; p++)
                if (*p <= ' ' || *p == 0x7f)
                    abort();
        }
    } else {
        check_message(&err, utf8);
    }
    json_decref(filter);

    ea_err_set(&err, EA_ERR_NOTFOUND, "unknown metric");
    cat_add_suggestions(&err, f[0], f + 1, nf - 1);
    check_message(&err, utf8);
    free(buf);
    return 0;
}
