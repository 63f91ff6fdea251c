/*
 * ea_rollup_feed.c — formatting and splitting change-feed messages (ea_rollup_feed.h).
 */
#include "ea_rollup_feed.h"
#include "ea_time.h"

#include <stdlib.h>
#include <string.h>

static void format_list(ea_buf *out, const ea_rollup_change *changes, size_t n, bool closed)
{
    bool first = true;
    for (size_t i = 0; i < n; i++) {
        const ea_rollup_change *c = &changes[i];
        if (c->closed != closed)
            continue;
        char t[48];
        ea_time_format_iso8601(c->bucket_ms, t);
        if (!first)
            ea_buf_putc(out, ',');
        first = false;
        ea_buf_puts(out, "{\"metric\":");
        ea_buf_json_string(out, c->metric, strlen(c->metric));
        ea_buf_printf(out, ",\"granularity\":\"%s\",\"bucket\":\"%s\"",
                      ea_rollup_gran_name(c->gran), t);
        if (closed) {
            ea_buf_putc(out, '}');
            continue;
        }
        ea_buf_puts(out, ",\"dims\":");
        ea_buf_puts(out, c->dims_json); /* jsonb text from PostgreSQL: valid JSON */
        ea_buf_printf(out, ",\"revision\":%d}", c->revision);
    }
}

ea_rc ea_rollup_channels_check(const char *changes, const char *alerts, struct ea_err *err)
{
    if (changes != NULL && alerts != NULL && strcmp(changes, alerts) == 0)
        return ea_err_set(
            err, EA_ERR_INVALID,
            "invalid value for ALERTS_CHANNEL: \"%.200s\" is CHANGES_CHANNEL too; the "
            "change feed and fired alerts need a channel each",
            alerts);
    return EA_OK;
}

void ea_rollup_feed_format(ea_buf *out, const char *tenant, const ea_rollup_change *changes,
                           size_t n)
{
    bool any_closed = false;
    for (size_t i = 0; i < n && !any_closed; i++)
        any_closed = changes[i].closed;
    ea_buf_puts(out, "{\"tenant\":");
    ea_buf_json_string(out, tenant, strlen(tenant));
    /* "changes" is always present (readers written before "closed" require it) */
    ea_buf_puts(out, ",\"changes\":[");
    format_list(out, changes, n, false);
    ea_buf_putc(out, ']');
    if (any_closed) {
        ea_buf_puts(out, ",\"closed\":[");
        format_list(out, changes, n, true);
        ea_buf_putc(out, ']');
    }
    ea_buf_putc(out, '}');
}

static int by_tenant(const void *x, const void *y)
{
    const ea_rollup_change *a = *(const ea_rollup_change *const *)x;
    const ea_rollup_change *b = *(const ea_rollup_change *const *)y;
    int c = strcmp(a->tenant, b->tenant);
    if (c != 0)
        return c;
    return a < b ? -1 : a > b; /* stable: keep the commit's order inside a tenant */
}

size_t ea_rollup_feed_each(const ea_rollup_change *changes, size_t n, size_t max,
                           ea_rollup_feed_fn fn, void *ctx)
{
    if (n == 0)
        return 0;
    if (max == 0)
        max = 1;
    /* an array of pointers: sizeof a pointer is meant */
    const ea_rollup_change **order =
        malloc(n * sizeof(*order)); // NOLINT(bugprone-sizeof-expression)
    ea_rollup_change *run = malloc(sizeof(*run) * (n < max ? n : max));
    if (order == NULL || run == NULL) {
        free(order);
        free(run);
        return 1;
    }
    for (size_t i = 0; i < n; i++)
        order[i] = &changes[i];
    qsort(order, n, sizeof(*order), by_tenant); // NOLINT(bugprone-sizeof-expression)
    ea_buf msg = EA_BUF_INIT(EA_PG_VALUE_MAX);
    size_t failed = 0, i = 0;
    while (i < n) {
        size_t k = 0;
        const char *tenant = order[i]->tenant;
        while (i < n && k < max && strcmp(order[i]->tenant, tenant) == 0)
            run[k++] = *order[i++];
        ea_buf_reset(&msg);
        ea_rollup_feed_format(&msg, tenant, run, k);
        if (!ea_buf_ok(&msg)) {
            failed++;
            continue;
        }
        if (!fn(ctx, tenant, msg.p, msg.len))
            break;
    }
    ea_buf_free(&msg);
    free(order);
    free(run);
    return failed;
}
