/*
 * mock_cluster.h — the in-memory Kafka cluster behind kafka-dev-broker: librdkafka's mock cluster
 * (rdkafka_mock.h) plus the state librdkafka gives no getter for (which brokers are down, their
 * round-trip delay, leader overrides, topic errors), so `status` can report it.
 *
 * Not for production: the log lives in memory and the mock drops the oldest batches past a
 * per-partition bound. All functions run on the main thread; the mock cluster runs its own thread
 * and the rd_kafka_mock_* calls used here are safe to call from another thread.
 */
#ifndef KDB_MOCK_CLUSTER_H
#define KDB_MOCK_CLUSTER_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <librdkafka/rdkafka.h>

#include "ea_err.h"

#define KDB_MAX_BROKERS 16
#define KDB_MAX_TOPICS 16
#define KDB_MAX_PARTITIONS 1000
#define KDB_TOPIC_NAME_MAX 249 /* Kafka's own limit on topic names */

struct kdb_cluster_opts {
    int brokers;               /* 1..KDB_MAX_BROKERS; broker ids are 1..brokers */
    int partitions;            /* per topic, 1..KDB_MAX_PARTITIONS */
    const char *const *topics; /* 1..KDB_MAX_TOPICS names, created in-process */
    int ntopics;
    const char *debug; /* librdkafka "debug" contexts (e.g. "mock"), NULL for none */
};

typedef struct kdb_cluster kdb_cluster;

/* Creates the owning producer handle, the mock cluster and every topic. On failure *out is
 * untouched, everything created so far is destroyed and err says why. */
ea_rc kdb_cluster_new(const struct kdb_cluster_opts *opts, kdb_cluster **out, struct ea_err *err)
    __attribute__((warn_unused_result));

/* Destroys the mock cluster (closing every client connection) and the owning handle. NULL ok. */
void kdb_cluster_destroy(kdb_cluster *c);

/* "127.0.0.1:port,..." owned by the cluster, valid until kdb_cluster_destroy(). */
const char *kdb_cluster_bootstraps(const kdb_cluster *c);

/* True when `name` is one of the topics created at start. */
int kdb_cluster_has_topic(const kdb_cluster *c, const char *name);

/* Broker id 1..N, or -1 for every broker. Sets it down (connections closed, new ones refused;
 * partition leadership does NOT move) or up. EA_ERR_NOTFOUND for an unknown id. */
ea_rc kdb_cluster_broker_set_up(kdb_cluster *c, int32_t id, int up, struct ea_err *err)
    __attribute__((warn_unused_result));

/* Delays every response of broker `id` (or all, -1) by rtt_ms. */
ea_rc kdb_cluster_broker_set_rtt(kdb_cluster *c, int32_t id, int rtt_ms, struct ea_err *err)
    __attribute__((warn_unused_result));

/* The next `cnt` requests with this ApiKey, to any broker, fail with `code`. */
void kdb_cluster_push_request_errors(kdb_cluster *c, int16_t api_key, size_t cnt,
                                     rd_kafka_resp_err_t code);

/* Drops the errors still queued for this ApiKey. */
void kdb_cluster_clear_request_errors(kdb_cluster *c, int16_t api_key);

/* Metadata for `topic` reports `code` (0 clears). Only topics created at start. */
ea_rc kdb_cluster_topic_set_error(kdb_cluster *c, const char *topic, rd_kafka_resp_err_t code,
                                  struct ea_err *err) __attribute__((warn_unused_result));

/* Moves a partition's leadership to broker_id (1..N), or -1 for leader-less. */
ea_rc kdb_cluster_partition_set_leader(kdb_cluster *c, const char *topic, int32_t partition,
                                       int32_t broker_id, struct ea_err *err)
    __attribute__((warn_unused_result));

/* A new JSON object describing brokers, topics and bootstrap; the caller decrefs. NULL on OOM. */
json_t *kdb_cluster_status(const kdb_cluster *c);

/* Writes `line` + "\n" to path.tmp.<pid>, fsyncs and renames it onto path, so a reader never sees
 * a partial file. */
ea_rc kdb_write_file_atomic(const char *path, const char *line, struct ea_err *err)
    __attribute__((warn_unused_result));

#endif
