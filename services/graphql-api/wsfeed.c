/*
 * wsfeed.c — pushes to subscriptions: metricUpdated from the worker's change feed, alertFired
 * from ea:alerts (both arrive through pubsub.c on the loop).
 *
 * A change message names changed rows (tenant, metric, granularity, bucket, dims). Each
 * metricUpdated subscription has a feed key — (tenant, metric, the granularity it follows, time
 * zone, groupBy, filter): what it must re-read. Subscriptions with the same key want the same
 * rows, so each key costs ONE re-read per change message, of its changed buckets only, on a
 * worker pool thread within its tenant's share (never on the loop), and the result is fanned
 * out in memory:
 *
 *   change message ──▶ per key: pending += the changes it follows ──▶ key idle? submit re-read
 *   re-read done (loop) ──▶ points of changed groups ──▶ push to every subscription of the key
 *                      └──▶ more pending for the key? submit the next re-read
 *
 * Before (measured with 200 subscriptions of one key and 48 changed hours, bench/ws_fanout.mjs):
 * one query per subscription per changed bucket, on the loop — 9,600 queries per message, pushes
 * 11 s late and every other client of the process stalled as long (docs/SECURITY.md).
 *
 * Invariants:
 * 1. At most one re-read per key is queued or running; changes that arrive meanwhile wait in the
 *    key's pending list and go out together with the next one (a burst costs one query per key,
 *    and a key's pushes keep feed order).
 * 2. A job owns copies of what the thread reads (its arguments); the thread touches nothing
 *    else. Results are matched to subscriptions by key when they come back, so a subscription
 *    that ended meanwhile is simply not found, and one that started meanwhile gets the rows.
 * 3. A key with nothing in flight and nothing pending is freed; the map holds only keys with
 *    work outstanding.
 * 4. A key nobody follows any more (every subscription of it completed, or its sockets freed:
 *    `followers` counts each key's subscriptions) is not re-read: its pending changes are
 *    dropped when it would be submitted, and a re-read still waiting for its turn is dropped
 *    when the turn comes (only one already running on a thread finishes, and finds no one to
 *    push to).
 * 5. Re-reads run on the worker pool (exec.c) as one client per tenant in the group of the
 *    tenant's keys (fair.c): one tenant's slow re-reads (raw events, a lock) wait behind their
 *    own, never in front of another tenant's (red-team pass: on the one database thread they had
 *    before, 10 raw-event keys of one tenant stopped every tenant's pushes for minutes).
 */
#include "ea_log.h"
#include "exec.h"
#include "fair.h"
#include "ea_time.h"
#include "series.h"
#include "ws_int.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct feed_key {
    struct feed_key *prev, *next; /* every live key, for shutdown */
    char *key;
    json_t *args; /* a subscription's coerced arguments (a copy) */
    const char *name;
    const char *want; /* the change granularity it follows: "HOUR" or "DAY" */
    bool day, utc;
    json_t *pending; /* changes not re-read yet */
    bool in_flight;
    struct reread_job *job; /* the re-read in flight (waiting for its turn or on the pool) */
} feed_key;

struct ws_feed {
    gql_ws_server *srv;
    feed_key *live;    /* the keys with work outstanding (invariant 3) */
    json_t *keys;      /* the same, by key: key → json_integer holding the feed_key pointer */
    json_t *followers; /* key → json_integer: subscriptions on sockets' lists with that key */
    bool full_logged;
};

typedef struct reread_job {
    gql_job j;            /* first */
    gql_fair_ticket fair; /* its place in the tenant's share of the pool (fair.c) */
    gql_app *app;
    ws_feed *feed; /* NULL once the feed is gone (shutdown): done() only frees */
    feed_key *fk;
    json_t *args;    /* fk->args: read by the thread */
    json_t *ranges;  /* [[startTime, endTime], ...]: the changed buckets' ranges, thread reads */
    json_t *changes; /* what this re-read answers (loop side only) */
    json_t *points;  /* the thread's result, NULL on failure */
    char error[256];
} reread_job;

/* Which changes a metricUpdated subscription follows: HOUR subscriptions and local days in other
 * zones follow HOUR changes (a local day is made of hours), UTC days follow DAY changes. */
static void follows(const json_t *args, const char **name, const char **want, bool *day, bool *utc)
{
    const char *gran = json_string_value(json_object_get(args, "granularity"));
    const char *tz = json_string_value(json_object_get(args, "timezone"));
    *name = json_string_value(json_object_get(args, "name"));
    *day = gran != NULL && strcmp(gran, "DAY") == 0;
    *utc = tz == NULL || strcmp(tz, "UTC") == 0 || strcmp(tz, "Etc/UTC") == 0;
    *want = *day && *utc ? "DAY" : "HOUR";
}

char *gql_wsfeed_key(const json_t *args)
{
    const char *name, *want;
    bool day, utc;
    follows(args, &name, &want, &day, &utc);
    json_t *k =
        json_pack("[s?,s?,s,b,s?,O?,O?]", json_string_value(json_object_get(args, "tenant")), name,
                  want, day, json_string_value(json_object_get(args, "timezone")),
                  json_object_get(args, "groupBy"), json_object_get(args, "filter"));
    char *s = k != NULL ? json_dumps(k, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(k);
    return s;
}

void gql_ws_push(ws_conn *c, ws_sub *s, json_t *payload)
{
    gql_request_ctx rc = {.app = c->srv->app, .who = c->who};
    json_t *root = json_pack("{s:o}", s->field, payload);
    bool request_error = false;
    json_t *res = ea_gql_execute(c->srv->app->schema, s->doc, s->op_name, s->variables, root, &rc,
                                 &c->srv->app->limits, &request_error);
    json_decref(root);
    c->srv->stats.pushes++;
    gql_ws_send_json(c, json_pack("{s:s,s:s,s:o}", "type", "next", "id", s->id, "payload", res));
}

static feed_key *key_find(ws_feed *f, const char *key)
{
    json_t *v = json_object_get(f->keys, key);
    return v != NULL ? (feed_key *)(intptr_t)json_integer_value(v) : NULL;
}

static feed_key *key_new(ws_feed *f, const ws_sub *s)
{
    feed_key *fk = calloc(1, sizeof(*fk));
    if (fk == NULL || (fk->key = strdup(s->feed_key)) == NULL) {
        free(fk);
        return NULL;
    }
    fk->args = json_deep_copy(s->args);
    fk->pending = json_array();
    follows(fk->args, &fk->name, &fk->want, &fk->day, &fk->utc);
    if (fk->args == NULL || fk->pending == NULL || fk->name == NULL ||
        json_object_set_new(f->keys, fk->key, json_integer((json_int_t)(intptr_t)fk)) != 0) {
        json_decref(fk->args);
        json_decref(fk->pending);
        free(fk->key);
        free(fk);
        return NULL;
    }
    fk->next = f->live;
    if (f->live != NULL)
        f->live->prev = fk;
    f->live = fk;
    return fk;
}

static void key_free(ws_feed *f, feed_key *fk)
{
    if (fk->prev != NULL)
        fk->prev->next = fk->next;
    else
        f->live = fk->next;
    if (fk->next != NULL)
        fk->next->prev = fk->prev;
    json_object_del(f->keys, fk->key);
    json_decref(fk->args);
    json_decref(fk->pending);
    free(fk->key);
    free(fk);
}

/* On a pool thread: one series read per range of changed buckets, the points concatenated (the
 * ranges are disjoint and in time order, so the points stay ordered by time). */
static void reread_run(gql_job *j, gql_thread *t)
{
    reread_job *r = (reread_job *)j;
    PGconn *db = gql_thread_db(t);
    if (db == NULL) {
        snprintf(r->error, sizeof(r->error), "database unavailable");
        return;
    }
    json_t *all = json_array();
    size_t i;
    const json_t *rg;
    json_array_foreach(r->ranges, i, rg)
    {
        gql_series_req q;
        ea_gql_error err;
        json_t *points = NULL;
        memset(&err, 0, sizeof(err));
        json_object_set(r->args, "startTime", json_array_get(rg, 0));
        json_object_set(r->args, "endTime", json_array_get(rg, 1));
        int rc = gql_series_req_from_args(r->args, &q, &err) != 0 ||
                         gql_series_fetch(db, &q, &points, &err) != 0
                     ? -1
                     : 0;
        if (rc != 0)
            snprintf(r->error, sizeof(r->error), "%s", err.message);
        json_decref(err.extensions);
        if (rc != 0 || all == NULL) {
            json_decref(points);
            json_decref(all);
            return;
        }
        json_array_extend(all, points);
        json_decref(points);
    }
    r->points = all;
}

static int64_t bucket_ms(const json_t *change)
{
    const char *b = json_string_value(json_object_get(change, "bucket"));
    int64_t ms;
    return b != NULL && ea_time_parse_iso8601(b, strlen(b), &ms) ? ms : INT64_MIN;
}

static int64_t point_ms(const json_t *pt)
{
    const char *ts = json_string_value(json_object_get(pt, "timestamp"));
    int64_t ms;
    return ts != NULL && ea_time_parse_iso8601(ts, strlen(ts), &ms) ? ms : INT64_MIN;
}

/* The points of r's result whose group a change of their bucket belongs to, in result order. */
static json_t *touched_points(const feed_key *fk, const json_t *changes, const json_t *points)
{
    const json_t *group_by = json_object_get(fk->args, "groupBy");
    json_t *targets = json_object(); /* point time (ms, decimal) → changes that concern it */
    json_t *out = json_array();
    size_t i, k;
    const json_t *ch, *pt;
    json_array_foreach(changes, i, ch)
    {
        int64_t bms = bucket_ms(ch), target = bms;
        if (bms == INT64_MIN)
            continue;
        if (fk->day && !fk->utc) {
            /* the local day holding this hour: the latest point time at or before it (points
             * come ordered by time; several groups share a day's time) */
            target = INT64_MIN;
            json_array_foreach(points, k, pt)
            {
                int64_t pms = point_ms(pt);
                if (pms <= bms && pms > target)
                    target = pms;
            }
            if (target == INT64_MIN)
                continue;
        }
        char tk[24];
        snprintf(tk, sizeof(tk), "%lld", (long long)target);
        json_t *list = json_object_get(targets, tk);
        if (list == NULL) {
            list = json_array();
            json_object_set_new(targets, tk, list);
        }
        json_array_append(list, (json_t *)ch);
    }
    json_array_foreach(points, k, pt)
    {
        char tk[24];
        snprintf(tk, sizeof(tk), "%lld", (long long)point_ms(pt));
        const json_t *list = json_object_get(targets, tk);
        json_array_foreach(list, i, ch)
        {
            if (gql_series_dims_match(json_object_get(ch, "dims"),
                                      json_object_get(pt, "dimensions"), group_by)) {
                json_array_append(out, (json_t *)pt);
                break;
            }
        }
    }
    json_decref(targets);
    return out;
}

/* The serialized `payload` of s's document run on each point (one JSON string each). */
static json_t *payloads(ws_conn *c, ws_sub *s, const json_t *points)
{
    gql_request_ctx rc = {.app = c->srv->app, .who = c->who};
    json_t *out = json_array();
    size_t i;
    json_t *pt;
    json_array_foreach(points, i, pt)
    {
        json_t *root = json_pack("{s:O}", s->field, pt);
        bool request_error = false;
        json_t *res = ea_gql_execute(c->srv->app->schema, s->doc, s->op_name, s->variables, root,
                                     &rc, &c->srv->app->limits, &request_error);
        char *text = json_dumps(res, JSON_COMPACT);
        json_array_append_new(out, text != NULL ? json_string(text) : json_null());
        free(text);
        json_decref(res);
        json_decref(root);
    }
    return out;
}

/* Pushes the touched points of a re-read to every subscription of its key. A document runs once
 * per point for all subscriptions that share its text and variables (their answers are equal:
 * MetricPoint fields read the point, nothing else), and each push is that text behind the
 * subscription's id — 200 subscriptions of one dashboard cost one execution per point. */
static void deliver(ws_feed *f, const feed_key *fk, const json_t *changes, const json_t *points)
{
    json_t *touched = touched_points(fk, changes, points);
    if (json_array_size(touched) == 0) {
        json_decref(touched);
        return;
    }
    json_t *done = json_object(); /* doc_key → payload texts */
    for (ws_conn *c = f->srv->conns, *next; c != NULL; c = next) {
        next = c->next;
        bool any = false;
        for (ws_sub *s = c->subs; s != NULL && !c->closing; s = s->next) {
            if (s->kind != SUB_METRIC || s->feed_key == NULL || strcmp(s->feed_key, fk->key) != 0)
                continue;
            any = true;
            json_t *texts = s->doc_key != NULL ? json_object_get(done, s->doc_key) : NULL;
            if (texts == NULL) {
                texts = payloads(c, s, touched);
                if (s->doc_key != NULL)
                    json_object_set_new(done, s->doc_key, texts);
                else
                    json_object_set_new(done, "", texts); /* kept until the end, not shared */
            }
            size_t i;
            const json_t *t;
            json_array_foreach(texts, i, t)
            {
                const char *p = json_string_value(t);
                char *msg = NULL;
                int n = p != NULL && s->id_json != NULL
                            ? asprintf(&msg, "{\"type\":\"next\",\"id\":%s,\"payload\":%s}",
                                       s->id_json, p)
                            : -1;
                if (n < 0) {
                    gql_ws_send_close(c, 4500, "Internal error");
                    break;
                }
                gql_ws_send_text(c, msg, (size_t)n);
                free(msg);
                f->srv->stats.pushes++;
            }
        }
        if (any || c->abort)
            gql_ws_finish(c); /* last touch of c (ws.c invariant 1) */
    }
    json_decref(done);
    json_decref(touched);
}

static void submit(ws_feed *f, feed_key *fk);

static void job_free(reread_job *r)
{
    json_decref(r->args);
    json_decref(r->ranges);
    json_decref(r->changes);
    json_decref(r->points);
    free(r);
}

/* Whether a subscription still follows key: a key whose subscriptions all ended (completed, or
 * their sockets freed) is not re-read (invariant 4). A count per key, so the check costs the
 * loop one lookup however many subscriptions there are. */
static bool key_followed(const ws_feed *f, const char *key)
{
    return json_integer_value(json_object_get(f->followers, key)) > 0;
}

void gql_wsfeed_follow(ws_feed *f, const char *key)
{
    json_t *n = json_object_get(f->followers, key);
    if (n != NULL)
        json_integer_set(n, json_integer_value(n) + 1);
    else
        json_object_set_new(f->followers, key, json_integer(1));
}

void gql_wsfeed_unfollow(ws_feed *f, const char *key)
{
    json_t *n = json_object_get(f->followers, key);
    if (n != NULL && json_integer_value(n) > 1)
        json_integer_set(n, json_integer_value(n) - 1);
    else if (n != NULL)
        json_object_del(f->followers, key);
}

/* The re-read is back from the pool (or the pool is stopping). */
static void reread_done(gql_job *j, bool ran)
{
    reread_job *r = (reread_job *)j;
    gql_fair_done(r->app->fair, &r->fair); /* the tenant's next waiting re-read may start */
    ws_feed *f = r->feed;
    feed_key *fk = r->fk;
    if (f == NULL) { /* the feed is gone (shutdown) */
        job_free(r);
        return;
    }
    if (ran) {
        f->srv->stats.change_queries++;
        if (r->points != NULL) {
            deliver(f, fk, r->changes, r->points);
        } else {
            f->srv->stats.change_queries_failed++;
            ea_log_warn(fk->name, "could not re-read %s for its subscriptions: %s", fk->name,
                        r->error);
        }
    }
    fk->in_flight = false;
    fk->job = NULL;
    job_free(r);
    submit(f, fk);
}

/* fair.c's start(): the tenant's turn came. A key nobody follows any more is not read. */
static ea_rc reread_start(gql_fair_ticket *t)
{
    reread_job *r = H2O_STRUCT_FROM_MEMBER(reread_job, fair, t);
    if (r->feed == NULL || !key_followed(r->feed, r->fk->key))
        return EA_ERR_LIMIT; /* refused() drops it */
    return gql_exec_submit(r->app->exec, &r->j, false);
}

/* fair.c's refused(): dropped at its turn (nobody follows the key) or the pool's queue was
 * full: the changes go back to the key, which is submitted again (or freed when unfollowed). */
static void reread_refused(gql_fair_ticket *t)
{
    reread_job *r = H2O_STRUCT_FROM_MEMBER(reread_job, fair, t);
    ws_feed *f = r->feed;
    feed_key *fk = r->fk;
    if (f == NULL) {
        job_free(r);
        return;
    }
    fk->in_flight = false;
    fk->job = NULL;
    if (!key_followed(f, fk->key)) {
        f->srv->stats.change_rereads_dropped++;
        job_free(r);
        json_array_clear(fk->pending);
        submit(f, fk); /* frees fk: nothing pending */
        return;
    }
    if (json_array_extend(r->changes, fk->pending) == 0) {
        json_decref(fk->pending); /* the older changes first: feed order */
        fk->pending = json_incref(r->changes);
    }
    job_free(r);
    if (!f->full_logged)
        ea_log_warn(fk->name, "change re-reads queue full: %s waits for the next change", fk->name);
    f->full_logged = true;
}

/* The ranges a re-read of these changes reads: each changed bucket (with the local day before
 * it when local days are made of hours), overlapping or touching ones merged, in time order.
 * Only the changed buckets are read: two changes 29 days apart read two buckets, not 29 days
 * (a raw-event key re-read the whole span before: 12-30 s, docs/SECURITY.md). */
static json_t *ranges_of(const feed_key *fk, const json_t *changes)
{
    int64_t len = fk->want[0] == 'D' ? EA_MS_PER_DAY : EA_MS_PER_HOUR;
    int64_t back = fk->day && !fk->utc ? EA_MS_PER_DAY : 0;
    size_t n = json_array_size(changes), m = 0;
    int64_t *b = n > 0 ? malloc(n * sizeof(*b)) : NULL;
    json_t *out = json_array();
    if (b == NULL || out == NULL) {
        free(b);
        json_decref(out);
        return NULL;
    }
    size_t i;
    const json_t *ch;
    json_array_foreach(changes, i, ch)
    {
        int64_t v = bucket_ms(ch);
        size_t k = m++;
        for (; k > 0 && b[k - 1] > v; k--) /* insertion sort: a message names few buckets */
            b[k] = b[k - 1];
        b[k] = v;
    }
    for (i = 0; i < m;) {
        int64_t lo = b[i] - back, hi = b[i] + len - 1;
        for (i++; i < m && b[i] - back <= hi + 1; i++)
            hi = b[i] + len - 1 > hi ? b[i] + len - 1 : hi;
        char from[48], to[48];
        json_array_append_new(out, json_pack("[ss]", ea_time_format_iso8601(lo, from),
                                             ea_time_format_iso8601(hi, to)));
    }
    free(b);
    return out;
}

/* Sends fk's pending changes to the pool, in its tenant's share (fair.c), unless a re-read of fk
 * is in flight (invariant 1); frees fk when nothing is left to do or nobody follows it any more
 * (invariants 3, 4). */
static void submit(ws_feed *f, feed_key *fk)
{
    if (fk->in_flight)
        return;
    if (json_array_size(fk->pending) > 0 && !key_followed(f, fk->key)) {
        f->srv->stats.change_rereads_dropped++;
        json_array_clear(fk->pending);
    }
    if (json_array_size(fk->pending) == 0) {
        key_free(f, fk);
        return;
    }
    reread_job *r = calloc(1, sizeof(*r));
    if (r == NULL || (r->args = json_deep_copy(fk->args)) == NULL ||
        (r->ranges = ranges_of(fk, fk->pending)) == NULL) {
        if (r != NULL)
            job_free(r);
        return; /* out of memory: the changes stay pending for the next message */
    }
    r->app = f->srv->app;
    r->feed = f;
    r->fk = fk;
    r->changes = fk->pending;
    r->j.run = reread_run;
    r->j.done = reread_done;
    r->fair.start = reread_start;
    r->fair.refused = reread_refused;
    /* every tenant's re-reads are one client of the pool, in the group of the tenant's keys: at
     * most per_client of them run at once, and with the tenant's HTTP operations at most
     * per_group — the rest of the pool stays free for other tenants' pushes and queries */
    const char *tenant = json_string_value(json_object_get(fk->args, "tenant"));
    gql_fair_owner owner;
    snprintf(owner.client, sizeof(owner.client), "c:f:%s", tenant != NULL ? tenant : "");
    snprintf(owner.group, sizeof(owner.group), "g:k:%s", tenant != NULL ? tenant : "");
    fk->pending = json_array();
    fk->in_flight = true;
    fk->job = r;
    if (fk->pending == NULL || gql_fair_submit(r->app->fair, &r->fair, &owner) != EA_OK) {
        json_decref(fk->pending);
        fk->pending = r->changes; /* nothing arrived meanwhile: the loop did not run */
        r->changes = NULL;
        fk->in_flight = false;
        fk->job = NULL;
        job_free(r);
        if (!f->full_logged)
            ea_log_warn(fk->name, "change re-reads queue full: %s waits for the next change",
                        fk->name);
        f->full_logged = true;
        return;
    }
    f->full_logged = false;
}

void gql_ws_on_change(gql_ws_server *s, const json_t *m, const char *tenant)
{
    const json_t *changes = json_object_get(m, "changes");
    if (!json_is_array(changes)) {
        ea_log_warn("redis", "change message without changes ignored");
        return;
    }
    s->stats.change_messages++;
    ws_feed *f = s->feed;
    json_t *seen = json_object(); /* keys handled for this message */
    for (ws_conn *c = s->conns; c != NULL; c = c->next) {
        for (ws_sub *sub = c->subs; sub != NULL && !c->closing; sub = sub->next) {
            if (sub->kind != SUB_METRIC || sub->feed_key == NULL ||
                json_object_get(seen, sub->feed_key) != NULL ||
                strcmp(json_string_value(json_object_get(sub->args, "tenant")), tenant) != 0)
                continue;
            json_object_set_new(seen, sub->feed_key, json_true());
            const char *name, *want;
            bool day, utc;
            follows(sub->args, &name, &want, &day, &utc);
            feed_key *fk = key_find(f, sub->feed_key);
            size_t i;
            const json_t *ch;
            json_array_foreach(changes, i, ch)
            {
                const char *metric = json_string_value(json_object_get(ch, "metric"));
                const char *g = json_string_value(json_object_get(ch, "granularity"));
                if (metric == NULL || g == NULL || name == NULL || strcmp(metric, name) != 0 ||
                    strcmp(g, want) != 0 || bucket_ms(ch) == INT64_MIN)
                    continue;
                if (fk == NULL && (fk = key_new(f, sub)) == NULL)
                    break;
                json_array_append(fk->pending, (json_t *)ch);
            }
            if (fk != NULL)
                submit(f, fk);
        }
    }
    json_decref(seen);
}

void gql_ws_on_alert(gql_ws_server *s, const json_t *m, const char *tenant)
{
    /* the worker's message shape is open: take the alert as an object or an id */
    const json_t *alert = json_object_get(m, "alert");
    const json_t *aid = json_is_object(alert) ? json_object_get(alert, "id") : alert;
    if (aid == NULL)
        aid = json_object_get(m, "alertId");
    char idbuf[64] = "";
    if (json_is_integer(aid))
        snprintf(idbuf, sizeof(idbuf), "%lld", (long long)json_integer_value(aid));
    else if (json_is_string(aid))
        snprintf(idbuf, sizeof(idbuf), "%s", json_string_value(aid));
    const json_t *dims = json_object_get(m, "dims");
    if (dims == NULL)
        dims = json_object_get(m, "dimensions");
    const json_t *ts = json_object_get(m, "bucket");
    if (ts == NULL)
        ts = json_object_get(m, "timestamp");
    for (ws_conn *c = s->conns, *next; c != NULL; c = next) {
        next = c->next;
        bool any = false;
        for (ws_sub *sub = c->subs; sub != NULL; sub = sub->next) {
            if (sub->kind != SUB_ALERT || c->closing ||
                strcmp(json_string_value(json_object_get(sub->args, "tenant")), tenant) != 0)
                continue;
            json_t *d = json_is_object(dims) ? json_incref((json_t *)dims) : json_object();
            json_t *p = json_pack(
                "{s:s,s:s,s:O?,s:O?,s:O?,s:O?,s:o,s:O}", "tenant", tenant, "alertId", idbuf, "name",
                json_is_object(alert) ? json_object_get(alert, "name") : NULL, "metric",
                json_is_object(alert) ? json_object_get(alert, "metric")
                                      : json_object_get(m, "metric"),
                "timestamp", ts, "value", json_object_get(m, "value"), "dimensions", d, "payload",
                m);
            gql_ws_push(c, sub, p);
            any = true;
        }
        if (any || c->abort)
            gql_ws_finish(c);
    }
}

ws_feed *gql_wsfeed_new(gql_ws_server *s)
{
    ws_feed *f = calloc(1, sizeof(*f));
    if (f == NULL || (f->keys = json_object()) == NULL || (f->followers = json_object()) == NULL) {
        if (f != NULL)
            json_decref(f->keys);
        free(f);
        return NULL;
    }
    f->srv = s;
    return f;
}

void gql_wsfeed_free(ws_feed *f)
{
    if (f == NULL)
        return;
    /* a re-read waiting for its turn never runs; one on the pool forgets the feed (its done()
     * comes when the pool stops, after this) */
    for (feed_key *fk = f->live, *next; fk != NULL; fk = next) {
        next = fk->next;
        if (fk->job != NULL && gql_fair_cancel(f->srv->app->fair, &fk->job->fair))
            job_free(fk->job);
        else if (fk->job != NULL)
            fk->job->feed = NULL;
        key_free(f, fk); /* unlinks fk; next stays valid */
    }
    json_decref(f->keys);
    json_decref(f->followers);
    free(f);
}
