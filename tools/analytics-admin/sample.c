/*
 * sample.c — `analytics-admin seed --sample-days N`: loads N days (ending now) of the demo
 * tenant's sample traffic (sample_gen.c) through the real path: POST /ingest → Kafka → worker.
 * Nothing is written into the rollups directly, so what the dashboard shows is what the product
 * computed. With a progress bar on stderr (a line per 10 % when stderr is not a terminal).
 *
 * Steps:
 *   1. the seed's rows (tenant, page_views) and the sample's metric definitions, created when
 *      missing (an existing definition of the same name is left alone), before any event is sent
 *      so the worker rolls the events up with them;
 *   2. a key of its own ("sample-data", ingest scope only, a high rate limit), so the demo key's
 *      rate limit is not used up and no secret is read from disk;
 *   3. the events, oldest first, in batches of up to SAMPLE_BATCH per request, on one blocking
 *      libcurl handle (a CLI: no event loop here). 429 waits Retry-After; 5xx or a transport
 *      error retries the same batch (same event_ids: the worker counts them once);
 *   4. the key is revoked, whatever happened;
 *   5. it waits (up to SAMPLE_WAIT_S) until the worker has stored or dead-lettered every event
 *      of the sample, or (a second load, whose events the worker drops as duplicates) until the
 *      worker's committed Kafka offsets moved by as many messages as were sent, and says how many
 *      were dead-lettered and why (e.g. `too_old` when the sample is older than the worker's
 *      RAW_RETENTION_DAYS). With other traffic flowing at the same time the offsets
 *      can move first: the wait is then shorter, never longer.
 * Idempotent: event_ids are "smp-<tenant>-<yyyymmdd>-<seq>", stable per day (sample_gen.h).
 */
#include "admin.h"
#include "sample_gen.h"

#include "ea_time.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define SAMPLE_BATCH 500
#define SAMPLE_BODY_MAX (SAMPLE_BATCH * ADM_SAMPLE_EVENT_MAX + 8)
#define SAMPLE_REPLY_MAX (1 << 20)
#define SAMPLE_RETRIES 10
#define SAMPLE_WAIT_S 180
#define DAY_MS 86400000LL

struct progress {
    const char *what;
    size_t total, done;
    int last_pct;
    bool tty;
};

static void progress_show(struct progress *p, bool final)
{
    int pct = p->total ? (int)(p->done * 100 / p->total) : 100;
    if (!p->tty) {
        /* one line per 10 % in logs */
        if (pct / 10 == p->last_pct / 10 && (!final || pct == p->last_pct))
            return;
        fprintf(stderr, "%s: %zu / %zu events (%d%%)\n", p->what, p->done, p->total, pct);
        p->last_pct = pct;
        return;
    }
    if (pct == p->last_pct && !final)
        return;
    p->last_pct = pct;
    char bar[31];
    int fill = pct * 30 / 100;
    for (int i = 0; i < 30; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[30] = '\0';
    fprintf(stderr, "\r%-24s [%s] %3d%%  %zu / %zu events", p->what, bar, pct, p->done, p->total);
    if (final)
        fputc('\n', stderr);
    fflush(stderr);
}

/* ---- sending ----------------------------------------------------------------------------- */

struct sender {
    CURL *curl;
    struct curl_slist *headers;
    char url[512];
    char *body;
    size_t len, nevents;
    char *reply; /* SAMPLE_REPLY_MAX: the 202 lists every event's result */
    size_t reply_len;
    long retry_after_s;
    size_t accepted, rejected;
    char first_reject[256];
    struct progress bar;
};

static size_t on_reply(char *ptr, size_t size, size_t n, void *ud)
{
    struct sender *s = ud;
    size_t len = size * n, room = SAMPLE_REPLY_MAX - 1 - s->reply_len;
    memcpy(s->reply + s->reply_len, ptr, len < room ? len : room);
    s->reply_len += len < room ? len : room;
    s->reply[s->reply_len] = '\0';
    return len;
}

static size_t on_header(char *buf, size_t size, size_t n, void *ud)
{
    struct sender *s = ud;
    size_t len = size * n;
    if (len > 12 && strncasecmp(buf, "retry-after:", 12) == 0)
        s->retry_after_s = strtol(buf + 12, NULL, 10);
    return len;
}

/* Posts the pending batch until it is acknowledged; EA_OK, or err filled when the ingest API
 * refuses it for good (bad key, bad request) or stays unreachable. */
static ea_rc flush_batch(struct sender *s, struct ea_err *err)
{
    if (s->nevents == 0)
        return EA_OK;
    s->body[s->len++] = ']';
    long backoff_ms = 250;
    for (int attempt = 0;; attempt++) {
        s->reply_len = 0;
        s->reply[0] = '\0';
        s->retry_after_s = -1;
        curl_easy_setopt(s->curl, CURLOPT_POSTFIELDS, s->body);
        curl_easy_setopt(s->curl, CURLOPT_POSTFIELDSIZE, (long)s->len);
        CURLcode cc = curl_easy_perform(s->curl);
        long status = 0;
        if (cc == CURLE_OK)
            curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &status);
        if (status == 202) {
            json_error_t je;
            json_t *r = json_loads(s->reply, 0, &je);
            if (r == NULL)
                return ea_err_set(err, EA_ERR_INVALID, "could not read the ingest API's answer: %s",
                                  je.text);
            size_t acc = (size_t)json_integer_value(json_object_get(r, "accepted"));
            size_t rej = (size_t)json_integer_value(json_object_get(r, "rejected"));
            if (rej > 0 && s->first_reject[0] == '\0') {
                size_t i;
                json_t *res;
                json_array_foreach(json_object_get(r, "results"), i, res)
                {
                    const char *e = json_string_value(json_object_get(res, "error"));
                    if (e != NULL) {
                        snprintf(s->first_reject, sizeof(s->first_reject), "%s", e);
                        break;
                    }
                }
            }
            json_decref(r);
            s->accepted += acc;
            s->rejected += rej;
            break;
        }
        bool transient = cc != CURLE_OK || status == 429 || status >= 500;
        if (!transient || attempt >= SAMPLE_RETRIES)
            return ea_err_set(err, EA_ERR_UNAVAILABLE, "could not send sample events to %s: %s",
                              s->url,
                              cc != CURLE_OK        ? curl_easy_strerror(cc)
                              : s->reply[0] != '\0' ? s->reply
                                                    : "no answer");
        long wait_ms =
            status == 429 && s->retry_after_s >= 0 ? s->retry_after_s * 1000 + 100 : backoff_ms;
        if (wait_ms > 60000)
            wait_ms = 60000;
        ea_time_sleep_ms(wait_ms);
        if (backoff_ms < 8000)
            backoff_ms *= 2;
    }
    s->bar.done += s->nevents;
    progress_show(&s->bar, false);
    s->len = 0;
    s->nevents = 0;
    return EA_OK;
}

struct emit_ctx {
    struct sender *s;
    struct ea_err *err;
};

static int emit(void *ud, const adm_sample_event *ev)
{
    struct emit_ctx *x = ud;
    struct sender *s = x->s;
    size_t n = strlen(ev->json);
    if (s->nevents == SAMPLE_BATCH && flush_batch(s, x->err) != EA_OK)
        return 1;
    s->body[s->len++] = s->nevents == 0 ? '[' : ',';
    memcpy(s->body + s->len, ev->json, n);
    s->len += n;
    s->nevents++;
    return 0;
}

/* ---- database steps ------------------------------------------------------------------------ */

/* The sample's metric definitions, created when missing (lib/catalog, in the caller's
 * transaction). */
static ea_rc define_metrics(PGconn *c, const char *tenant, struct ea_err *err)
{
    size_t n;
    const adm_sample_metric *m = adm_sample_metrics(&n);
    for (size_t i = 0; i < n; i++) {
        json_t *v = NULL, *changed = NULL;
        ea_rc rc = ea_catalog_metric_get(c, tenant, m[i].name, &v, err);
        json_decref(v);
        if (rc == EA_OK)
            continue;
        if (rc != EA_ERR_NOTFOUND)
            return rc;
        /* "{a,b}" -> a, b */
        char dims[256];
        snprintf(dims, sizeof(dims), "%.*s", (int)strcspn(m[i].dimensions + 1, "}"),
                 m[i].dimensions + 1);
        size_t nd;
        const char **list = adm_split(dims, &nd);
        if (list == NULL)
            return ea_err_set(err, EA_ERR_NOMEM, "could not define sample metric: out of memory");
        ea_catalog_metric def = {.name = m[i].name,
                                 .event = m[i].event,
                                 .aggregation = m[i].aggregation,
                                 .property = m[i].property,
                                 .dims = list,
                                 .ndims = nd};
        bool created = false;
        rc = ea_catalog_metric_define(c, tenant, &def, &v, &created, &changed, err);
        free(list);
        json_decref(v);
        json_decref(changed);
        if (rc != EA_OK)
            return rc;
        printf("metric %s (%s): created\n", m[i].name, m[i].description);
    }
    return EA_OK;
}

static void revoke_key(PGconn *c, const char *id)
{
    struct ea_err err = {0};
    json_t *k = NULL;
    bool already;
    if (ea_catalog_key_revoke(c, NULL, id, &k, &already, &err) != EA_OK)
        fprintf(stderr, "%s\n", err.message);
    json_decref(k);
}

/* Events of the sample the worker has stored (raw_events) and dead-lettered since run_start. */
static ea_rc count_done(PGconn *c, const char *tenant, const char *prefix, const char *from,
                        const char *run_start, long long *stored, long long *dead,
                        struct ea_err *err)
{
    char like[128];
    snprintf(like, sizeof(like), "%s%%", prefix);
    const char *p1[] = {tenant, like, from};
    PGresult *res = adm_query(c, "count stored sample events",
                              "SELECT count(*) FROM raw_events WHERE tenant_id = $1 AND "
                              "event_id LIKE $2 AND event_time >= $3::timestamptz",
                              3, p1, PGRES_TUPLES_OK, err);
    if (res == NULL)
        return err->code;
    *stored = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    const char *p2[] = {tenant, like, run_start};
    res = adm_query(c, "count dead-lettered sample events",
                    "SELECT count(*) FROM dead_letters WHERE tenant_id = $1 AND event_id LIKE $2 "
                    "AND created_at >= $3::timestamptz",
                    3, p2, PGRES_TUPLES_OK, err);
    if (res == NULL)
        return err->code;
    *dead = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return EA_OK;
}

/* Σ next_offset of the worker's consumer group: how many messages it has committed so far. */
static ea_rc consumed(PGconn *c, long long *out, struct ea_err *err)
{
    PGresult *res = adm_query(c, "read the worker's offsets",
                              "SELECT coalesce(sum(next_offset), 0) FROM consumer_offsets", 0, NULL,
                              PGRES_TUPLES_OK, err);
    if (res == NULL)
        return err->code;
    *out = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return EA_OK;
}

static void print_dead_reasons(PGconn *c, const char *tenant, const char *prefix,
                               const char *run_start)
{
    struct ea_err err = {0};
    char like[128];
    snprintf(like, sizeof(like), "%s%%", prefix);
    const char *p[] = {tenant, like, run_start};
    PGresult *res = adm_query(c, "list dead-letter reasons",
                              "SELECT reason, count(*), min(substring(event_id from '\\d{8}')), "
                              "max(substring(event_id from '\\d{8}')) FROM dead_letters WHERE "
                              "tenant_id = $1 AND event_id LIKE $2 AND created_at >= "
                              "$3::timestamptz GROUP BY reason ORDER BY 2 DESC",
                              3, p, PGRES_TUPLES_OK, &err);
    if (res == NULL)
        return;
    for (int i = 0; i < PQntuples(res); i++)
        printf("  dead-lettered by the worker: %s events, reason %s (days %s to %s)%s\n",
               PQgetvalue(res, i, 1), PQgetvalue(res, i, 0), PQgetvalue(res, i, 2),
               PQgetvalue(res, i, 3),
               strcmp(PQgetvalue(res, i, 0), "too_old") == 0
                   ? ": older than the raw-event retention (RAW_RETENTION_DAYS)"
                   : "");
    PQclear(res);
}

/* ---- the command --------------------------------------------------------------------------- */

int adm_seed_sample(const struct adm_cfg *cfg, const char *tenant, long days)
{
    struct ea_err err = {0};
    int rc = ADM_EXIT_OK;
    char key[EA_APIKEY_MAX_LEN + 1] = "", id[EA_APIKEY_ID_LEN + 1] = "";
    struct sender s = {0};
    PGconn *c = adm_connect(cfg);
    if (c == NULL)
        return ADM_EXIT_FAIL;

    /* 1 + 2: definitions and the loader's key, in one transaction */
    if (adm_exec(c, "BEGIN", &err) != EA_OK)
        goto fail;
    static const char *const scopes[] = {"ingest"};
    ea_catalog_key_spec spec = {.tenant = tenant,
                                .scopes = scopes,
                                .nscopes = 1,
                                .has_rate_limit = true,
                                .rate_limit = 1000000,
                                .name = "sample-data"};
    json_t *k = NULL;
    if ((strcmp(tenant, ADM_SEED_TENANT) == 0
             ? adm_seed_rows(c, &err)
             : ea_catalog_tenant_require(c, tenant, "load sample data", &err)) != EA_OK ||
        define_metrics(c, tenant, &err) != EA_OK ||
        ea_catalog_key_create(c, &spec, (int)cfg->bcrypt_cost, key, &k, &err) != EA_OK) {
        json_decref(k);
        adm_rollback(c);
        goto fail;
    }
    snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(k, "keyId")));
    json_decref(k);
    if (adm_exec(c, "COMMIT", &err) != EA_OK)
        goto fail;

    /* 3: the events, oldest day first */
    int64_t now = ea_time_now_ms(), today = ea_time_floor_day(now);
    int64_t first = today - (int64_t)(days - 1) * DAY_MS;
    char prefix[96], from[48], run_start[48], auth[EA_APIKEY_MAX_LEN + 32];
    adm_sample_id_prefix(tenant, prefix);
    ea_time_format_iso8601(first, from);
    ea_time_format_iso8601(now - 1000, run_start);
    s.bar.what = "sample data: sending";
    s.bar.tty = isatty(STDERR_FILENO);
    s.bar.last_pct = -1;
    for (int64_t d = first; d <= today; d += DAY_MS)
        s.bar.total += adm_sample_day_count(tenant, d, now);
    printf("sample data: %zu events over %ld days for %s, through %s\n", s.bar.total, days, tenant,
           cfg->ingest_url);
    fflush(stdout);

    snprintf(s.url, sizeof(s.url), "%s/ingest", cfg->ingest_url);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", key);
    s.body = malloc(SAMPLE_BODY_MAX);
    s.reply = malloc(SAMPLE_REPLY_MAX);
    s.curl = curl_easy_init();
    if (s.body == NULL || s.reply == NULL || s.curl == NULL) {
        ea_err_set(&err, EA_ERR_NOMEM, "could not load sample data: out of memory");
        goto fail_revoke;
    }
    s.headers = curl_slist_append(s.headers, "Content-Type: application/json");
    s.headers = curl_slist_append(s.headers, auth);
    memset(auth, 0, sizeof(auth));
    curl_easy_setopt(s.curl, CURLOPT_URL, s.url);
    curl_easy_setopt(s.curl, CURLOPT_HTTPHEADER, s.headers);
    curl_easy_setopt(s.curl, CURLOPT_WRITEFUNCTION, on_reply);
    curl_easy_setopt(s.curl, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(s.curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(s.curl, CURLOPT_HEADERDATA, &s);
    curl_easy_setopt(s.curl, CURLOPT_TIMEOUT_MS, 30000L);
    curl_easy_setopt(s.curl, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(s.curl, CURLOPT_NOSIGNAL, 1L);
    long long offsets0 = 0, offsets = 0;
    if (consumed(c, &offsets0, &err) != EA_OK)
        goto fail_revoke;
    progress_show(&s.bar, false);
    struct emit_ctx x = {&s, &err};
    for (int64_t d = first; d <= today; d += DAY_MS)
        if (adm_sample_day(tenant, d, now, emit, &x) != 0)
            goto fail_revoke;
    if (flush_batch(&s, &err) != EA_OK)
        goto fail_revoke;
    progress_show(&s.bar, true);

    /* 4 */
    revoke_key(c, id);
    printf("sample data: %zu accepted, %zu rejected by the ingest API%s%s\n", s.accepted,
           s.rejected, s.first_reject[0] ? "; first error: " : "", s.first_reject);

    /* 5: wait until the worker has stored or dead-lettered each accepted event */
    struct progress wb = {"sample data: counting", s.accepted, 0, -1, s.bar.tty};
    long long stored = 0, dead = 0;
    int64_t deadline = ea_time_now_ms() + SAMPLE_WAIT_S * 1000LL;
    for (;;) {
        if (count_done(c, tenant, prefix, from, run_start, &stored, &dead, &err) != EA_OK ||
            consumed(c, &offsets, &err) != EA_OK)
            goto fail;
        long long done = stored + dead > offsets - offsets0 ? stored + dead : offsets - offsets0;
        wb.done = (size_t)done > wb.total ? wb.total : (size_t)done;
        progress_show(&wb, false);
        if (wb.done >= s.accepted || ea_time_now_ms() > deadline)
            break;
        ea_time_sleep_ms(500);
    }
    progress_show(&wb, true);
    printf("sample data: %lld events of the sample stored by the worker, %lld dead-lettered now\n",
           stored, dead);
    if (dead > 0)
        print_dead_reasons(c, tenant, prefix, run_start);
    if (wb.done < s.accepted) {
        fprintf(stderr,
                "sample data: the worker had not processed every event after %d s "
                "(is it running? see its log)\n",
                SAMPLE_WAIT_S);
        rc = ADM_EXIT_FAIL;
    }
    goto out;

fail_revoke:
    if (s.bar.tty)
        fputc('\n', stderr);
    revoke_key(c, id);
fail:
    rc = adm_fail(&err);
out:
    memset(key, 0, sizeof(key));
    if (s.curl != NULL)
        curl_easy_cleanup(s.curl);
    curl_slist_free_all(s.headers); /* holds the key: freed, the memory is not reused here */
    free(s.body);
    free(s.reply);
    PQfinish(c);
    return rc;
}
