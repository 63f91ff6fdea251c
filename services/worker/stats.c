/*
 * stats.c — metrics storage and Prometheus rendering. events/s is derived from a ring of the last
 * ten one-second slots so /metrics shows a current rate without a Prometheus server doing rate().
 */
#include "stats.h"
#include "ea_time.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PARTS 256
#define MAX_REASONS 64
#define RATE_SLOTS 10

static const double lat_bounds[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
#define LAT_NB (sizeof(lat_bounds) / sizeof(lat_bounds[0]))
static const double size_bounds[] = {1, 10, 100, 500, 1000, 2000, 5000, 10000, 50000};
#define SIZE_NB (sizeof(size_bounds) / sizeof(size_bounds[0]))
static const double fresh_bounds[WK_FRESH_NB] = {0.05, 0.1, 0.25, 0.5, 1,   2,
                                                 5,    10,  30,   60,  300, 3600};

struct part {
    int32_t id;
    bool used;
    int64_t next_offset, high, watermark_ms;
};

struct hist {
    uint64_t b[16];
    uint64_t count;
    double sum;
};

struct wk_stats {
    pthread_mutex_t mu;
    uint64_t messages, counted, duplicates, late, restated, dead, rows, batches, fenced, db_errors,
        dedup_races, publish_errors, closed_rows, hooks[WK_HOOK_OUTCOMES];
    char reasons[MAX_REASONS][48];
    uint64_t reason_counts[MAX_REASONS];
    size_t nreasons;
    struct hist lat, size, fresh;
    struct part parts[MAX_PARTS];
    int64_t last_commit_ms;
    int64_t rate_sec[RATE_SLOTS];
    uint64_t rate_n[RATE_SLOTS];
    bool ready[WK_READY_N];
    char unready_why[WK_READY_N][512];
};

wk_stats *wk_stats_new(void)
{
    wk_stats *s = calloc(1, sizeof(*s));
    if (s != NULL)
        pthread_mutex_init(&s->mu, NULL);
    return s;
}

void wk_stats_free(wk_stats *s)
{
    if (s == NULL)
        return;
    pthread_mutex_destroy(&s->mu);
    free(s);
}

void wk_report_dead(wk_batch_report *r, const char *reason)
{
    r->dead++;
    for (size_t i = 0; i < r->ndead_reasons; i++)
        if (strcmp(r->dead_reasons[i], reason) == 0) {
            r->dead_counts[i]++;
            return;
        }
    if (r->ndead_reasons < 64) {
        r->dead_reasons[r->ndead_reasons] = reason;
        r->dead_counts[r->ndead_reasons++] = 1;
    }
}

void wk_report_fresh(wk_batch_report *r, int64_t ms)
{
    double s = ms < 0 ? 0 : (double)ms / 1000.0;
    size_t i = 0;
    while (i < WK_FRESH_NB && s > fresh_bounds[i])
        i++;
    r->fresh[i]++;
    r->fresh_sum_s += s;
}

static void hist_add(struct hist *h, const double *bounds, size_t nb, double v, uint64_t n)
{
    size_t i = 0;
    while (i < nb && v > bounds[i])
        i++;
    h->b[i] += n;
    h->count += n;
    h->sum += v * (double)n;
}

void wk_stats_add_batch(wk_stats *s, const wk_batch_report *r)
{
    int64_t now = ea_time_now_ms();
    pthread_mutex_lock(&s->mu);
    s->batches++;
    s->messages += r->messages;
    s->counted += r->counted;
    s->duplicates += r->duplicates;
    s->late += r->late;
    s->restated += r->restated;
    s->dead += r->dead;
    s->rows += r->rows;
    for (size_t i = 0; i < r->ndead_reasons; i++) {
        size_t k = 0;
        while (k < s->nreasons && strcmp(s->reasons[k], r->dead_reasons[i]) != 0)
            k++;
        if (k == s->nreasons) {
            if (k == MAX_REASONS)
                k = MAX_REASONS - 1; /* fold the rest into the last slot */
            else
                s->nreasons++;
            snprintf(s->reasons[k], sizeof(s->reasons[k]), "%s",
                     k == MAX_REASONS - 1 ? "other" : r->dead_reasons[i]);
        }
        s->reason_counts[k] += r->dead_counts[i];
    }
    hist_add(&s->lat, lat_bounds, LAT_NB, r->latency_s, 1);
    hist_add(&s->size, size_bounds, SIZE_NB, (double)r->messages, 1);
    for (size_t i = 0; i <= WK_FRESH_NB; i++) {
        s->fresh.b[i] += r->fresh[i];
        s->fresh.count += r->fresh[i];
    }
    s->fresh.sum += r->fresh_sum_s;
    s->last_commit_ms = now;
    int64_t sec = now / 1000;
    size_t slot = (size_t)(sec % RATE_SLOTS);
    if (s->rate_sec[slot] != sec) {
        s->rate_sec[slot] = sec;
        s->rate_n[slot] = 0;
    }
    s->rate_n[slot] += r->counted;
    pthread_mutex_unlock(&s->mu);
}

#define INC(field)                                                                                 \
    do {                                                                                           \
        pthread_mutex_lock(&s->mu);                                                                \
        s->field++;                                                                                \
        pthread_mutex_unlock(&s->mu);                                                              \
    } while (0)

void wk_stats_inc_fenced(wk_stats *s)
{
    INC(fenced);
}
void wk_stats_inc_db_error(wk_stats *s)
{
    INC(db_errors);
}
void wk_stats_inc_dedup_race(wk_stats *s)
{
    INC(dedup_races);
}
void wk_stats_inc_publish_error(wk_stats *s)
{
    INC(publish_errors);
}
void wk_stats_inc_webhook(wk_stats *s, wk_hook_outcome o)
{
    INC(hooks[o]);
}
void wk_stats_inc_closed(wk_stats *s, uint64_t rows)
{
    pthread_mutex_lock(&s->mu);
    s->closed_rows += rows;
    pthread_mutex_unlock(&s->mu);
}

void wk_stats_partition(wk_stats *s, int32_t partition, bool assigned, int64_t next_offset,
                        int64_t high, int64_t watermark_ms)
{
    pthread_mutex_lock(&s->mu);
    struct part *free_slot = NULL, *p = NULL;
    for (size_t i = 0; i < MAX_PARTS; i++) {
        if (s->parts[i].used && s->parts[i].id == partition) {
            p = &s->parts[i];
            break;
        }
        if (!s->parts[i].used && free_slot == NULL)
            free_slot = &s->parts[i];
    }
    if (!assigned) {
        if (p != NULL)
            p->used = false;
    } else {
        if (p == NULL)
            p = free_slot;
        if (p != NULL) {
            p->used = true;
            p->id = partition;
            p->next_offset = next_offset;
            if (high >= 0)
                p->high = high;
            p->watermark_ms = watermark_ms;
        }
    }
    pthread_mutex_unlock(&s->mu);
}

void wk_stats_set_ready(wk_stats *s, wk_ready_part part, bool ok)
{
    pthread_mutex_lock(&s->mu);
    s->ready[part] = ok;
    if (ok)
        s->unready_why[part][0] = '\0';
    pthread_mutex_unlock(&s->mu);
}

void wk_stats_set_unready(wk_stats *s, wk_ready_part part, const char *why)
{
    pthread_mutex_lock(&s->mu);
    s->ready[part] = false;
    snprintf(s->unready_why[part], sizeof(s->unready_why[part]), "%s", why);
    pthread_mutex_unlock(&s->mu);
}

bool wk_stats_ready(wk_stats *s, ea_buf *why, ea_buf *errors)
{
    static const char *const names[WK_READY_N] = {"postgresql", "kafka", "redis"};
    bool all = true, any_reason = false;
    pthread_mutex_lock(&s->mu);
    for (int i = 0; i < WK_READY_N; i++) {
        if (s->ready[i])
            continue;
        if (why != NULL) {
            if (!all)
                ea_buf_puts(why, ",");
            ea_buf_puts(why, names[i]);
        }
        all = false;
        if (errors != NULL && s->unready_why[i][0] != '\0') {
            ea_buf_puts(errors, any_reason ? "," : "{");
            ea_buf_json_string(errors, names[i], strlen(names[i]));
            ea_buf_putc(errors, ':');
            ea_buf_json_string(errors, s->unready_why[i], strlen(s->unready_why[i]));
            any_reason = true;
        }
    }
    if (any_reason)
        ea_buf_putc(errors, '}');
    pthread_mutex_unlock(&s->mu);
    return all;
}

static void render_hist(ea_buf *o, const char *name, const char *help, const struct hist *h,
                        const double *bounds, size_t nb)
{
    ea_buf_printf(o, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
    uint64_t cum = 0;
    for (size_t i = 0; i < nb; i++) {
        cum += h->b[i];
        ea_buf_printf(o, "%s_bucket{le=\"%g\"} %llu\n", name, bounds[i], (unsigned long long)cum);
    }
    ea_buf_printf(o, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.6f\n%s_count %llu\n", name,
                  (unsigned long long)h->count, name, h->sum, name, (unsigned long long)h->count);
}

static void counter(ea_buf *o, const char *name, const char *help, uint64_t v)
{
    ea_buf_printf(o, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", name, help, name, name,
                  (unsigned long long)v);
}

void wk_stats_render(wk_stats *s, ea_buf *o)
{
    int64_t now = ea_time_now_ms();
    pthread_mutex_lock(&s->mu);
    counter(o, "worker_messages_total", "Kafka messages consumed and committed", s->messages);
    counter(o, "worker_events_counted_total", "events aggregated into rollups", s->counted);
    counter(o, "worker_events_duplicate_total", "events dropped as repeated event_id",
            s->duplicates);
    counter(o, "worker_events_late_total", "events behind their partition watermark (counted)",
            s->late);
    counter(o, "worker_events_restated_total", "events that restated a closed bucket", s->restated);
    ea_buf_puts(o, "# HELP worker_events_dead_lettered_total events written to dead_letters\n"
                   "# TYPE worker_events_dead_lettered_total counter\n");
    if (s->nreasons == 0)
        ea_buf_puts(o, "worker_events_dead_lettered_total{reason=\"none\"} 0\n");
    for (size_t i = 0; i < s->nreasons; i++)
        ea_buf_printf(o, "worker_events_dead_lettered_total{reason=\"%s\"} %llu\n", s->reasons[i],
                      (unsigned long long)s->reason_counts[i]);
    counter(o, "worker_rollup_rows_upserted_total", "rollup rows written", s->rows);
    counter(o, "worker_batches_total", "committed batches", s->batches);
    counter(o, "worker_fenced_total",
            "batches rolled back because another consumer claimed "
            "the partition",
            s->fenced);
    counter(o, "worker_db_errors_total", "failed batch transactions (retried)", s->db_errors);
    counter(o, "worker_dedup_races_total",
            "batches retried because another transaction stored one of their dedup keys first",
            s->dedup_races);
    counter(o, "worker_changefeed_publish_errors_total", "change-feed publishes that failed",
            s->publish_errors);
    counter(o, "worker_buckets_closed_total", "rollup rows marked closed by the watermark",
            s->closed_rows);
    static const char *const hook_names[WK_HOOK_OUTCOMES] = {"delivered", "retried", "failed"};
    ea_buf_printf(o, "# HELP worker_webhook_attempts_total alert webhook delivery attempts by "
                     "outcome (failed: given up)\n# TYPE worker_webhook_attempts_total counter\n");
    for (int i = 0; i < WK_HOOK_OUTCOMES; i++)
        ea_buf_printf(o, "worker_webhook_attempts_total{outcome=\"%s\"} %llu\n", hook_names[i],
                      (unsigned long long)s->hooks[i]);
    render_hist(o, "worker_batch_latency_seconds", "first message polled to commit", &s->lat,
                lat_bounds, LAT_NB);
    render_hist(o, "worker_batch_size", "messages per batch", &s->size, size_bounds, SIZE_NB);
    render_hist(o, "worker_freshness_seconds", "event received by ingest to visible in rollups",
                &s->fresh, fresh_bounds, WK_FRESH_NB);
    uint64_t n = 0;
    for (int i = 0; i < RATE_SLOTS; i++)
        if (s->rate_sec[i] > now / 1000 - RATE_SLOTS && s->rate_sec[i] < now / 1000)
            n += s->rate_n[i];
    ea_buf_printf(o,
                  "# HELP worker_events_per_second events counted per second (last %d s)\n"
                  "# TYPE worker_events_per_second gauge\nworker_events_per_second %.1f\n",
                  RATE_SLOTS - 1, (double)n / (RATE_SLOTS - 1));
    ea_buf_printf(o,
                  "# HELP worker_seconds_since_last_commit time since the last batch commit\n"
                  "# TYPE worker_seconds_since_last_commit gauge\n"
                  "worker_seconds_since_last_commit %.3f\n",
                  s->last_commit_ms == 0 ? -1.0 : (double)(now - s->last_commit_ms) / 1000.0);
    ea_buf_puts(o, "# HELP worker_partition_lag messages behind the broker high watermark\n"
                   "# TYPE worker_partition_lag gauge\n");
    for (size_t i = 0; i < MAX_PARTS; i++) {
        struct part *p = &s->parts[i];
        if (p->used)
            ea_buf_printf(o, "worker_partition_lag{partition=\"%d\"} %lld\n", p->id,
                          (long long)(p->high > p->next_offset ? p->high - p->next_offset : 0));
    }
    ea_buf_puts(o, "# HELP worker_partition_next_offset committed next offset per partition\n"
                   "# TYPE worker_partition_next_offset gauge\n");
    for (size_t i = 0; i < MAX_PARTS; i++)
        if (s->parts[i].used)
            ea_buf_printf(o, "worker_partition_next_offset{partition=\"%d\"} %lld\n",
                          s->parts[i].id, (long long)s->parts[i].next_offset);
    ea_buf_puts(o, "# HELP worker_partition_watermark_seconds partition watermark (unix time)\n"
                   "# TYPE worker_partition_watermark_seconds gauge\n");
    for (size_t i = 0; i < MAX_PARTS; i++)
        if (s->parts[i].used && s->parts[i].watermark_ms != INT64_MIN)
            ea_buf_printf(o, "worker_partition_watermark_seconds{partition=\"%d\"} %.3f\n",
                          s->parts[i].id, (double)s->parts[i].watermark_ms / 1000.0);
    pthread_mutex_unlock(&s->mu);
}
