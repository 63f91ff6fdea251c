/*
 * producer.c — librdkafka producer wiring. Invariants: (1) a request is answered 202 only for
 * messages whose delivery report said success with acks=all; (2) enable.idempotence makes the
 * producer's own retries exactly-once per partition, so a broker hiccup never duplicates;
 * (3) message.timeout.ms bounds how long a request can wait: a message not acknowledged by then
 * is reported failed and its event answered `unavailable` (safe to retry with its event_id).
 */
#include "producer.h"
#include "ea_kafka.h"
#include "ea_log.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct ingest_producer {
    rd_kafka_t *rk;
    rd_kafka_topic_t *topic;
    ingest_delivery_fn on_delivery;
    int pipefd[2];
    h2o_socket_t *wake;
};

static void dr_msg_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    ingest_producer *p = opaque;
    p->on_delivery(m->_private, m->err == RD_KAFKA_RESP_ERR_NO_ERROR,
                   m->err ? rd_kafka_err2str(m->err) : NULL);
}

static void on_wake(h2o_socket_t *sock, const char *err)
{
    /* h2o has read the wake bytes into sock->input already; drop them and serve the queue */
    ingest_producer *p = sock->data;
    h2o_buffer_consume(&sock->input, sock->input->size);
    ingest_producer_poll(p);
    (void)err;
}

ingest_producer *ingest_producer_new(const ingest_config *cfg, const char *brokers,
                                     h2o_loop_t *loop, ingest_delivery_fn on_delivery,
                                     struct ea_err *err)
{
    ingest_producer *p = calloc(1, sizeof(*p));
    if (p == NULL) {
        ea_err_set(err, EA_ERR_NOMEM, "could not create producer: out of memory");
        return NULL;
    }
    p->on_delivery = on_delivery;
    p->pipefd[0] = p->pipefd[1] = -1;
    char linger[32], timeout[32], errstr[256];
    snprintf(linger, sizeof(linger), "%ld", cfg->linger_ms);
    snprintf(timeout, sizeof(timeout), "%ld", cfg->produce_timeout_ms);
    rd_kafka_conf_t *conf = ea_kafka_conf_new(brokers, "ingest-api", &cfg->kafka.security, err);
    if (conf == NULL)
        goto fail;
    if (ea_kafka_conf_set(conf, "enable.idempotence", "true", err) != EA_OK ||
        ea_kafka_conf_set(conf, "acks", "all", err) != EA_OK ||
        ea_kafka_conf_set(conf, "linger.ms", linger, err) != EA_OK ||
        ea_kafka_conf_set(conf, "message.timeout.ms", timeout, err) != EA_OK ||
        ea_kafka_conf_set(conf, "partitioner", "murmur2_random", err) != EA_OK ||
        ea_kafka_conf_set(conf, "compression.type", "lz4", err) != EA_OK) {
        rd_kafka_conf_destroy(conf);
        goto fail;
    }
    rd_kafka_conf_set_dr_msg_cb(conf, dr_msg_cb);
    rd_kafka_conf_set_opaque(conf, p);
    p->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (p->rk == NULL) {
        rd_kafka_conf_destroy(conf);
        ea_err_set(err, EA_ERR_KAFKA, "could not create kafka producer: %s", errstr);
        goto fail;
    }
    p->topic = rd_kafka_topic_new(p->rk, cfg->kafka.topic, NULL);
    if (pipe2(p->pipefd, O_NONBLOCK | O_CLOEXEC) != 0) {
        ea_err_set(err, EA_ERR_IO, "could not create pipe");
        goto fail;
    }
    rd_kafka_queue_t *q = rd_kafka_queue_get_main(p->rk);
    rd_kafka_queue_io_event_enable(q, p->pipefd[1], "1", 1);
    rd_kafka_queue_destroy(q);
    p->wake = h2o_evloop_socket_create(loop, p->pipefd[0], 0);
    p->wake->data = p;
    h2o_socket_read_start(p->wake, on_wake);
    return p;
fail:
    ingest_producer_free(p);
    return NULL;
}

ea_rc ingest_producer_send(ingest_producer *p, const char *key, size_t klen, const char *val,
                           size_t vlen, void *opaque)
{
    if (rd_kafka_produce(p->topic, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, (void *)val, vlen,
                         key, klen, opaque) != 0)
        return EA_ERR_KAFKA;
    return EA_OK;
}

void ingest_producer_poll(ingest_producer *p)
{
    while (rd_kafka_poll(p->rk, 0) > 0) {
    }
}

int ingest_producer_flush(ingest_producer *p, int timeout_ms)
{
    rd_kafka_flush(p->rk, timeout_ms);
    return rd_kafka_outq_len(p->rk);
}

bool ingest_producer_ready(ingest_producer *p, int timeout_ms, char *why, size_t cap)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e = rd_kafka_metadata(p->rk, 0, p->topic, &md, timeout_ms);
    bool ok = e == RD_KAFKA_RESP_ERR_NO_ERROR && md->topic_cnt == 1 && md->topics[0].err == 0 &&
              md->topics[0].partition_cnt > 0;
    if (ok) {
        ea_kafka_error_clear();
        why[0] = '\0';
    } else if (!ea_kafka_error_last(why, cap)) {
        /* no client error recorded: say what the metadata request itself met */
        const char *what = e != RD_KAFKA_RESP_ERR_NO_ERROR ? rd_kafka_err2str(e)
                           : md->topic_cnt < 1             ? "no such topic"
                           : md->topics[0].err != 0        ? rd_kafka_err2str(md->topics[0].err)
                                                           : "no partitions";
        snprintf(why, cap, "metadata request for topic %s: %s", rd_kafka_topic_name(p->topic),
                 what);
    }
    if (md != NULL)
        rd_kafka_metadata_destroy(md);
    return ok;
}

void ingest_producer_free(ingest_producer *p)
{
    if (p == NULL)
        return;
    if (p->topic != NULL)
        rd_kafka_topic_destroy(p->topic);
    if (p->rk != NULL)
        rd_kafka_destroy(p->rk);
    if (p->wake != NULL)
        h2o_socket_close(p->wake);
    else if (p->pipefd[0] >= 0)
        close(p->pipefd[0]);
    if (p->pipefd[1] >= 0)
        close(p->pipefd[1]);
    free(p);
}
