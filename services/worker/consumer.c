/*
 * consumer.c — poll loop and rebalance handling.
 *
 *   poll ─▶ message ─▶ skip if partition not ours / fenced / offset < next_offset ─▶ decode
 *        ─▶ batch full or WORKER_BATCH_MAX_MS old ─▶ wait for the batch in flight ─▶ hand this
 *           one to the committer (committer.c: wk_sink_commit_batch on its thread) ─▶ fill the
 *           other batch meanwhile
 *   rebalance ASSIGN ─▶ claim each partition ─▶ rd_kafka_assign(offset = stored next_offset)
 *   rebalance REVOKE ─▶ commit the batch in hand (still ours) ─▶ rd_kafka_assign(NULL)
 *
 * Offsets are never committed to Kafka: PostgreSQL holds them (sink.c). Two batches alternate:
 * one being filled, one in flight. A batch's arena holds every decoded event of it and is reset
 * after its commit. Before anything else uses the sink or the change feed (claims, closing,
 * maintenance, shutdown), the batch in flight is waited for (settle).
 */
#include "consumer.h"
#include "committer.h"
#include "ea_kafka.h"
#include "ea_log.h"
#include "ea_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct wk_consumer {
    const wk_config *cfg;
    wk_sink *sink;
    wk_feed *feed;
    wk_stats *stats;
    rd_kafka_t *rk;
    wk_pstate st[WK_MAX_PARTITIONS];
    size_t nst;
    wk_batch batches[2];
    wk_batch *fill; /* the batch being filled; the other one may be in flight */
    wk_committer *committer;
    volatile sig_atomic_t *stop;
    int64_t next_tick_ms, next_maint_ms, next_redis_ms;
};

static void pause_partition(wk_consumer *c, int32_t partition)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, c->cfg->kafka.topic, partition);
    rd_kafka_pause_partitions(c->rk, l);
    rd_kafka_topic_partition_list_destroy(l);
}

/* Waits for the batch in flight (if any) and takes its outcome: the committer's partition
 * state, then pauses the partitions that turned out fenced (their messages are not ours to
 * count). On give-up (stop while PostgreSQL is down) nothing of it was committed, so the batch
 * in hand, which follows it, must not be either: both are dropped and replayed by the next
 * owner, and the partitions are re-claimed (seek back to the stored offsets) if we go on. */
static void settle(wk_consumer *c)
{
    ea_rc rc;
    wk_batch *done =
        c->committer != NULL ? wk_committer_wait(c->committer, c->st, c->nst, &rc) : NULL;
    if (done == NULL)
        return;
    if (rc != EA_OK) {
        char subj[EA_LOG_SUBJECT_MAX];
        ea_log_warn(wk_batch_subject(done, 0, done->n, subj),
                    "batch of %zu messages not committed (%s): it will be replayed", done->n,
                    ea_rc_name(rc));
        if (c->fill->n > 0)
            ea_log_warn(wk_batch_subject(c->fill, 0, c->fill->n, subj),
                        "dropping the %zu messages polled after it", c->fill->n);
        wk_batch_reset(c->fill);
        int64_t now = ea_time_now_ms();
        for (size_t i = 0; i < c->nst; i++) {
            c->st[i].fenced = true;
            c->st[i].reclaim_at_ms = now;
        }
    }
    wk_batch_reset(done);
    for (size_t i = 0; i < c->nst; i++)
        if (c->st[i].fenced)
            pause_partition(c, c->st[i].partition);
}

/* Hands the batch in hand to the committer (after the one in flight) and returns at once. */
static void dispatch(wk_consumer *c)
{
    settle(c);
    if (c->fill->n == 0)
        return;
    wk_batch_seal(c->fill);
    wk_committer_start(c->committer, c->fill, c->st, c->nst);
    c->fill = c->fill == &c->batches[0] ? &c->batches[1] : &c->batches[0];
}

/* Commits the batch in hand and waits for it. */
static void flush(wk_consumer *c)
{
    dispatch(c);
    settle(c);
}

static ea_rc claim_retrying(wk_consumer *c, int32_t partition, wk_pstate *st)
{
    long backoff = 200;
    for (;;) {
        struct ea_err err = {0};
        ea_rc rc = wk_sink_connect(c->sink, &err);
        if (rc == EA_OK)
            rc = wk_sink_claim(c->sink, partition, st, &err);
        if (rc == EA_OK)
            return EA_OK;
        char subj[EA_LOG_SUBJECT_MAX];
        ea_log_warn(ea_log_subject_part(subj, partition, -1),
                    "could not claim partition %d: %s; retrying", partition, err.message);
        if (*c->stop)
            return rc;
        ea_time_sleep_ms(backoff);
        backoff = backoff * 2 > 5000 ? 5000 : backoff * 2;
    }
}

/* A stored position past the end of the partition's log means the log was reset (topic
 * recreated, dev broker restarted with an empty log). Seeking there would skip every new event
 * until the log grew past it, silently: rewind to the log's start instead, loudly. */
static void check_log_reset(wk_consumer *c, wk_pstate *st)
{
    int64_t lo = 0, hi = 0;
    rd_kafka_resp_err_t e =
        rd_kafka_query_watermark_offsets(c->rk, c->cfg->kafka.topic, st->partition, &lo, &hi, 5000);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR || st->next_offset <= hi)
        return;
    char subj[EA_LOG_SUBJECT_MAX];
    ea_log_error(ea_log_subject_part(subj, st->partition, st->next_offset),
                 "partition %d: stored offset %lld is past the end of the log (%lld): the topic "
                 "was recreated or the broker lost its data; resuming from offset %lld",
                 st->partition, (long long)st->next_offset, (long long)hi, (long long)lo);
    struct ea_err err = {0};
    if (wk_sink_rewind(c->sink, st, lo, &err) != EA_OK)
        ea_log_warn(ea_log_subject_part(subj, st->partition, -1),
                    "could not rewind partition %d: %s", st->partition, err.message);
}

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    wk_consumer *c = opaque;
    settle(c); /* the sink is ours again; the state of every partition is current */
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        wk_stats_set_ready(c->stats, WK_READY_KAFKA, true);
        ea_kafka_error_clear();
        for (int i = 0; i < parts->cnt; i++) {
            rd_kafka_topic_partition_t *tp = &parts->elems[i];
            wk_pstate st;
            if (c->nst >= WK_MAX_PARTITIONS || claim_retrying(c, tp->partition, &st) != EA_OK) {
                tp->offset = RD_KAFKA_OFFSET_END; /* shutting down: read nothing */
                continue;
            }
            check_log_reset(c, &st);
            c->st[c->nst++] = st;
            tp->offset = st.next_offset;
            wk_stats_partition(c->stats, st.partition, true, st.next_offset, -1,
                               st.high_ms == INT64_MIN
                                   ? INT64_MIN
                                   : st.high_ms - c->cfg->allowed_lateness_s * 1000);
            char subj[EA_LOG_SUBJECT_MAX];
            ea_log_info(ea_log_subject_part(subj, st.partition, st.next_offset),
                        "partition %d assigned: generation %lld, resuming at offset "
                        "%lld",
                        st.partition, (long long)st.generation, (long long)st.next_offset);
        }
        rd_kafka_resp_err_t e = rd_kafka_assign(rk, parts);
        if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
            ea_log_error("kafka", "could not assign partitions: %s", rd_kafka_err2str(e));
        return;
    }
    if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
        if (rd_kafka_assignment_lost(rk)) {
            char subj[EA_LOG_SUBJECT_MAX];
            ea_log_warn(wk_batch_subject(c->fill, 0, c->fill->n, subj),
                        "assignment lost: dropping the batch in hand (%zu)", c->fill->n);
            wk_batch_reset(c->fill);
        } else {
            flush(c); /* still ours until we return: commit what we have */
        }
        for (size_t i = 0; i < c->nst; i++)
            wk_stats_partition(c->stats, c->st[i].partition, false, 0, -1, INT64_MIN);
        ea_log_info("kafka", "%d partitions revoked", parts->cnt);
        c->nst = 0;
        rd_kafka_assign(rk, NULL);
        return;
    }
    ea_log_error("kafka", "rebalance error: %s", rd_kafka_err2str(err));
    wk_batch_reset(c->fill);
    c->nst = 0;
    rd_kafka_assign(rk, NULL);
}

static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    wk_consumer *c = opaque;
    (void)rk;
    ea_kafka_error_note(err, reason);
    /* brokers down, or never reachable: authentication or TLS failed (readyz says which) */
    if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN || err == RD_KAFKA_RESP_ERR__AUTHENTICATION ||
        err == RD_KAFKA_RESP_ERR__SSL) {
        char why[512];
        ea_kafka_error_last(why, sizeof(why));
        wk_stats_set_unready(c->stats, WK_READY_KAFKA, why);
    }
    ea_log_warn("kafka", "%s: %s", rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
}

wk_consumer *wk_consumer_new(const wk_config *cfg, const char *brokers, wk_sink *sink,
                             wk_feed *feed, wk_stats *stats, struct ea_err *err)
{
    wk_consumer *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        ea_err_set(err, EA_ERR_NOMEM, "out of memory");
        return NULL;
    }
    c->cfg = cfg;
    c->sink = sink;
    c->feed = feed;
    c->stats = stats;
    c->fill = &c->batches[0];
    for (int i = 0; i < 2; i++) {
        if (wk_batch_init(&c->batches[i]) != EA_OK) {
            ea_err_set(err, EA_ERR_NOMEM, "out of memory");
            goto fail;
        }
    }
    rd_kafka_conf_t *conf = ea_kafka_conf_new(brokers, "ea-worker", &cfg->kafka.security, err);
    if (conf == NULL)
        goto fail;
    char session[24], poll[24];
    snprintf(session, sizeof(session), "%ld", cfg->session_timeout_ms);
    snprintf(poll, sizeof(poll), "%ld", cfg->max_poll_interval_ms);
    if (ea_kafka_conf_set(conf, "group.id", cfg->group_id, err) != EA_OK ||
        ea_kafka_conf_set(conf, "session.timeout.ms", session, err) != EA_OK ||
        ea_kafka_conf_set(conf, "max.poll.interval.ms", poll, err) != EA_OK ||
        ea_kafka_conf_set(conf, "enable.auto.commit", "false", err) != EA_OK ||
        ea_kafka_conf_set(conf, "enable.auto.offset.store", "false", err) != EA_OK ||
        ea_kafka_conf_set(conf, "auto.offset.reset", "earliest", err) != EA_OK ||
        ea_kafka_conf_set(conf, "enable.partition.eof", "true", err) != EA_OK ||
        ea_kafka_conf_set(conf, "fetch.wait.max.ms", "50", err) != EA_OK ||
        ea_kafka_conf_set(conf, "partition.assignment.strategy", "range,roundrobin", err) !=
            EA_OK) {
        rd_kafka_conf_destroy(conf);
        goto fail;
    }
    rd_kafka_conf_set_opaque(conf, c);
    rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
    rd_kafka_conf_set_error_cb(conf, error_cb);
    char errstr[512];
    c->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
    if (c->rk == NULL) {
        rd_kafka_conf_destroy(conf);
        ea_err_set(err, EA_ERR_KAFKA, "could not create kafka consumer: %s", errstr);
        goto fail;
    }
    rd_kafka_poll_set_consumer(c->rk);
    return c;
fail:
    if (c->rk != NULL)
        rd_kafka_destroy(c->rk);
    for (int i = 0; i < 2; i++)
        wk_batch_destroy(&c->batches[i]);
    free(c);
    return NULL;
}

void wk_consumer_free(wk_consumer *c)
{
    if (c == NULL)
        return;
    settle(c);
    wk_committer_free(c->committer);
    c->committer = NULL;
    if (c->rk != NULL)
        rd_kafka_destroy(c->rk);
    for (int i = 0; i < 2; i++)
        wk_batch_destroy(&c->batches[i]);
    free(c);
}

static void on_message(wk_consumer *c, rd_kafka_message_t *m)
{
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        wk_pstate *p = wk_pstate_find(c->st, c->nst, m->partition);
        if (p != NULL)
            p->eof = true;
        wk_stats_set_ready(c->stats, WK_READY_KAFKA, true);
        return;
    }
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        ea_log_warn("kafka", "consume error: %s", rd_kafka_message_errstr(m));
        return;
    }
    wk_stats_set_ready(c->stats, WK_READY_KAFKA, true);
    wk_pstate *p = wk_pstate_find(c->st, c->nst, m->partition);
    if (p == NULL || p->fenced || m->offset < p->next_offset)
        return; /* not ours, or already committed (6) */
    p->eof = false;
    wk_batch *b = c->fill;
    if (b->n == 0)
        b->started_ns = ea_time_mono_ns();
    if (!wk_batch_add(b, m->partition, m->offset, m->payload, m->len, c->cfg->store_raw)) {
        char subj[EA_LOG_SUBJECT_MAX];
        ea_log_error(ea_log_subject_part(subj, m->partition, m->offset),
                     "out of memory decoding partition %d offset %lld: committing "
                     "what came before, then re-reading from the stored offset",
                     m->partition, (long long)m->offset);
        flush(c);
        /* the message was not taken: never commit past it — re-claim the partition (seek back
         * to its stored offset) after a pause */
        p = wk_pstate_find(c->st, c->nst, m->partition);
        if (p != NULL && !p->fenced) {
            p->fenced = true;
            p->reclaim_at_ms = ea_time_now_ms() + 1000;
            pause_partition(c, p->partition);
        }
    }
}

static void periodic(wk_consumer *c, int64_t now)
{
    struct ea_err err = {0};
    if (now >= c->next_redis_ms) {
        settle(c); /* the feed is the committer's while a batch is in flight */
        wk_feed_check(c->feed);
        c->next_redis_ms = now + 5000;
    }
    if (now < c->next_tick_ms)
        return;
    c->next_tick_ms = now + c->cfg->close_interval_ms;
    settle(c); /* the sink is the committer's while a batch is in flight */
    for (size_t i = 0; i < c->nst; i++) {
        int64_t lo, hi;
        if (rd_kafka_get_watermark_offsets(c->rk, c->cfg->kafka.topic, c->st[i].partition, &lo,
                                           &hi) == RD_KAFKA_RESP_ERR_NO_ERROR &&
            hi >= 0)
            c->st[i].broker_high = hi;
        wk_pstate *p = &c->st[i];
        wk_stats_partition(
            c->stats, p->partition, true, p->next_offset, p->broker_high,
            p->high_ms == INT64_MIN ? INT64_MIN : p->high_ms - c->cfg->allowed_lateness_s * 1000);
    }
    if (wk_sink_connect(c->sink, &err) != EA_OK) {
        ea_log_warn("postgresql", "postgresql unavailable: %s", err.message);
        return;
    }
    if (c->fill->n == 0 && wk_sink_idle_watermarks(c->sink, c->st, c->nst, now, &err) != EA_OK)
        ea_log_warn("maintenance", "could not advance idle watermarks: %s", err.message);
    if (wk_sink_close_buckets(c->sink, &err) != EA_OK)
        ea_log_warn("maintenance", "could not close buckets: %s", err.message);
    if (now >= c->next_maint_ms) {
        c->next_maint_ms = now + c->cfg->maintenance_interval_s * 1000;
        if (wk_sink_maintain(c->sink, &err) != EA_OK)
            ea_log_warn("maintenance", "partition maintenance failed: %s", err.message);
    }
    /* a partition fenced although Kafka still gives it to us (e.g. we were briefly out of the
     * group): after a pause long enough for a rebalance to arrive, claim it again */
    for (size_t i = 0; i < c->nst; i++) {
        wk_pstate *p = &c->st[i];
        if (!p->fenced || now < p->reclaim_at_ms)
            continue;
        wk_pstate fresh;
        if (wk_sink_claim(c->sink, p->partition, &fresh, &err) != EA_OK)
            continue;
        check_log_reset(c, &fresh);
        *p = fresh;
        rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(l, c->cfg->kafka.topic, p->partition)->offset =
            p->next_offset;
        rd_kafka_error_t *e = rd_kafka_seek_partitions(c->rk, l, 5000);
        if (e != NULL) {
            char subj[EA_LOG_SUBJECT_MAX];
            ea_log_warn(ea_log_subject_part(subj, p->partition, p->next_offset),
                        "could not seek partition %d: %s", p->partition, rd_kafka_error_string(e));
            rd_kafka_error_destroy(e);
        }
        rd_kafka_resume_partitions(c->rk, l);
        rd_kafka_topic_partition_list_destroy(l);
        char subj[EA_LOG_SUBJECT_MAX];
        ea_log_info(ea_log_subject_part(subj, p->partition, p->next_offset),
                    "partition %d re-claimed: generation %lld, offset %lld", p->partition,
                    (long long)p->generation, (long long)p->next_offset);
    }
}

ea_rc wk_consumer_run(wk_consumer *c, volatile sig_atomic_t *stop)
{
    c->stop = stop;
    struct ea_err err = {0};
    if (c->committer == NULL && (c->committer = wk_committer_new(c->sink, stop, &err)) == NULL) {
        ea_log_error("startup", "%s", err.message);
        return err.code;
    }
    /* start-up: partitions first (a fresh database may not have today's yet), definitions */
    wk_stats_set_unready(c->stats, WK_READY_KAFKA, "not subscribed yet: waiting for postgresql");
    wk_stats_set_unready(c->stats, WK_READY_REDIS, "not connected yet: waiting for postgresql");
    while (!*stop) {
        if (wk_sink_connect(c->sink, &err) == EA_OK && wk_sink_maintain(c->sink, &err) == EA_OK &&
            wk_sink_refresh_defs(c->sink, true, &err) == EA_OK)
            break;
        ea_log_warn("postgresql", "waiting for postgresql: %s", err.message);
        ea_err_clear(&err);
        ea_time_sleep_ms(1000);
    }
    c->next_maint_ms = ea_time_now_ms() + c->cfg->maintenance_interval_s * 1000;
    rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(topics, c->cfg->kafka.topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t e = rd_kafka_subscribe(c->rk, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        ea_log_error("kafka", "could not subscribe to %s: %s", c->cfg->kafka.topic,
                     rd_kafka_err2str(e));
        return EA_ERR_KAFKA;
    }
    ea_log_info("kafka", "subscribed to %s as group %s", c->cfg->kafka.topic, c->cfg->group_id);
    char why[512];
    if (ea_kafka_error_last(why, sizeof(why))) /* an error met while connecting says more */
        wk_stats_set_unready(c->stats, WK_READY_KAFKA, why);
    else
        wk_stats_set_unready(c->stats, WK_READY_KAFKA, "subscribed: waiting for partitions");
    const int64_t max_ns = c->cfg->batch_max_ms * 1000000;
    while (!*stop) {
        int timeout = 100;
        if (c->fill->n > 0) {
            int64_t left = (c->fill->started_ns + max_ns - ea_time_mono_ns()) / 1000000;
            timeout = left < 0 ? 0 : left < 100 ? (int)left : 100;
        }
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c->rk, timeout);
        if (m != NULL) {
            on_message(c, m);
            rd_kafka_message_destroy(m);
        }
        if (c->fill->n > 0 && (c->fill->n >= (size_t)c->cfg->batch_max_events ||
                               ea_time_mono_ns() - c->fill->started_ns >= max_ns))
            dispatch(c);
        periodic(c, ea_time_now_ms());
    }
    ea_log_info("shutdown", "stopping: committing the batch in hand (%zu messages)", c->fill->n);
    flush(c);
    rd_kafka_resp_err_t ce = rd_kafka_consumer_close(c->rk); /* leaves the group (revoke) */
    if (ce != RD_KAFKA_RESP_ERR_NO_ERROR)
        ea_log_warn("shutdown", "consumer close: %s", rd_kafka_err2str(ce));
    return EA_OK;
}
