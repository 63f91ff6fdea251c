/*
 * mock_cluster.c — owns librdkafka's mock cluster for kafka-dev-broker and mirrors the fault state
 * set through it. librdkafka has setters but no getters for that state, so every fault goes
 * through this file, which records it after the mock accepted it; `status` reads the mirror.
 *
 * Lifetime: one kdb_cluster per process, created before the control socket opens, destroyed
 * after it closes. The owning producer handle never produces: it exists because
 * rd_kafka_mock_cluster_new() needs an rd_kafka_t for bookkeeping and logging.
 */
#include "mock_cluster.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <librdkafka/rdkafka_mock.h>

#include "ea_log.h"

struct kdb_topic {
    char name[KDB_TOPIC_NAME_MAX + 1];
    int partitions;
    rd_kafka_resp_err_t error; /* set by topic-error, reported in Metadata */
    int32_t *leaders;          /* per partition; 0 = unknown, -1 = leader-less */
};

struct kdb_broker {
    int up;
    int rtt_ms;
    char addr[64]; /* "host:port" from Metadata, "" when unknown */
};

struct kdb_cluster {
    rd_kafka_t *rk; /* owns the mock cluster; never produces */
    rd_kafka_mock_cluster_t *mcluster;
    char *bootstraps;
    int nbrokers;
    struct kdb_broker brokers[KDB_MAX_BROKERS + 1]; /* indexed by broker id, [0] unused */
    int ntopics;
    struct kdb_topic topics[KDB_MAX_TOPICS];
};

/* librdkafka logs from its own threads; ea_log_write() emits one write(2) per line, so lines from
 * the mock thread and the main thread never interleave. */
static void rdkafka_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    /* The owning handle has no bootstrap.servers on purpose: it only hosts the cluster. */
    if (strcmp(fac, "CONFWARN") == 0 && strstr(buf, "bootstrap.servers") != NULL)
        return;
    ea_log_level l = level <= 3   ? EA_LOG_ERROR
                     : level == 4 ? EA_LOG_WARN
                     : level <= 6 ? EA_LOG_INFO
                                  : EA_LOG_DEBUG;
    ea_log(l, "rdkafka", "%s: %s: %s", rd_kafka_name(rk), fac, buf);
}

static rd_kafka_conf_t *new_conf(const char *bootstrap, const char *debug, struct ea_err *err)
{
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set_log_cb(conf, rdkafka_log_cb);
    if ((bootstrap != NULL && rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, errstr,
                                                sizeof(errstr)) != RD_KAFKA_CONF_OK) ||
        (debug != NULL &&
         rd_kafka_conf_set(conf, "debug", debug, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK)) {
        ea_err_set(err, EA_ERR_INVALID, "could not configure librdkafka: %s", errstr);
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    return conf;
}

/* Asks the fresh cluster for each broker's address and each partition's leader: the mock picks
 * both itself and has no getter. A failure only leaves them unknown in `status`. */
static void learn_leaders(kdb_cluster *c)
{
    struct ea_err err;
    char errstr[512];
    rd_kafka_conf_t *conf = new_conf(c->bootstraps, NULL, &err);
    if (conf == NULL)
        return;
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (rk == NULL) {
        rd_kafka_conf_destroy(conf);
        ea_log_warn("startup", "could not learn partition leaders: %s", errstr);
        return;
    }
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 1, NULL, &md, 5000);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        ea_log_warn("startup", "could not learn partition leaders: %s", rd_kafka_err2str(e));
    } else {
        for (int i = 0; i < md->broker_cnt; i++) {
            int32_t id = md->brokers[i].id;
            if (id >= 1 && id <= c->nbrokers)
                snprintf(c->brokers[id].addr, sizeof(c->brokers[id].addr), "%s:%d",
                         md->brokers[i].host, md->brokers[i].port);
        }
        for (int i = 0; i < md->topic_cnt; i++) {
            for (int t = 0; t < c->ntopics; t++) {
                struct kdb_topic *kt = &c->topics[t];
                if (strcmp(md->topics[i].topic, kt->name) != 0)
                    continue;
                for (int p = 0; p < md->topics[i].partition_cnt; p++) {
                    int32_t id = md->topics[i].partitions[p].id;
                    if (id >= 0 && id < kt->partitions)
                        kt->leaders[id] = md->topics[i].partitions[p].leader;
                }
            }
        }
        rd_kafka_metadata_destroy(md);
    }
    rd_kafka_destroy(rk);
}

ea_rc kdb_cluster_new(const struct kdb_cluster_opts *opts, kdb_cluster **out, struct ea_err *err)
{
    char errstr[512];
    ea_rc rc = EA_OK;

    if (opts->brokers < 1 || opts->brokers > KDB_MAX_BROKERS)
        return ea_err_set(err, EA_ERR_INVALID, "brokers must be 1..%d", KDB_MAX_BROKERS);
    if (opts->partitions < 1 || opts->partitions > KDB_MAX_PARTITIONS)
        return ea_err_set(err, EA_ERR_INVALID, "partitions must be 1..%d", KDB_MAX_PARTITIONS);
    if (opts->ntopics < 1 || opts->ntopics > KDB_MAX_TOPICS)
        return ea_err_set(err, EA_ERR_INVALID, "between 1 and %d topics", KDB_MAX_TOPICS);

    kdb_cluster *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return ea_err_set(err, EA_ERR_NOMEM, "out of memory");
    c->nbrokers = opts->brokers;
    for (int i = 1; i <= c->nbrokers; i++)
        c->brokers[i].up = 1;

    for (int t = 0; t < opts->ntopics; t++) {
        const char *name = opts->topics[t];
        size_t len = strlen(name);
        if (len == 0 || len > KDB_TOPIC_NAME_MAX ||
            strspn(name, "abcdefghijklmnopqrstuvwxyz"
                         "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                         "0123456789._-") != len) {
            rc = ea_err_set(err, EA_ERR_INVALID,
                            "invalid topic name \"%.64s\": use 1..%d of [A-Za-z0-9._-]", name,
                            KDB_TOPIC_NAME_MAX);
            goto out;
        }
        if (kdb_cluster_has_topic(c, name)) {
            rc = ea_err_set(err, EA_ERR_INVALID, "topic \"%s\" given twice", name);
            goto out;
        }
        struct kdb_topic *kt = &c->topics[c->ntopics];
        memcpy(kt->name, name, len + 1);
        kt->partitions = opts->partitions;
        if ((kt->leaders = calloc((size_t)opts->partitions, sizeof(*kt->leaders))) == NULL) {
            rc = ea_err_set(err, EA_ERR_NOMEM, "out of memory");
            goto out;
        }
        c->ntopics++;
    }

    rd_kafka_conf_t *conf = new_conf(NULL, opts->debug, err);
    if (conf == NULL) {
        rc = EA_ERR_INVALID;
        goto out;
    }
    if ((c->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr))) == NULL) {
        rd_kafka_conf_destroy(conf);
        rc = ea_err_set(err, EA_ERR_KAFKA, "could not create the owning handle: %s", errstr);
        goto out;
    }
    if ((c->mcluster = rd_kafka_mock_cluster_new(c->rk, c->nbrokers)) == NULL) {
        rc = ea_err_set(err, EA_ERR_KAFKA, "could not create the mock cluster");
        goto out;
    }
    if ((c->bootstraps = strdup(rd_kafka_mock_cluster_bootstraps(c->mcluster))) == NULL) {
        rc = ea_err_set(err, EA_ERR_NOMEM, "out of memory");
        goto out;
    }
    for (int t = 0; t < c->ntopics; t++) {
        /* replication factor 1: the mock does not move leadership on its own anyway */
        rd_kafka_resp_err_t e =
            rd_kafka_mock_topic_create(c->mcluster, c->topics[t].name, c->topics[t].partitions, 1);
        if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
            rc = ea_err_set(err, EA_ERR_KAFKA, "could not create topic %s: %s", c->topics[t].name,
                            rd_kafka_err2str(e));
            goto out;
        }
    }
    learn_leaders(c);

out:
    if (rc != EA_OK) {
        kdb_cluster_destroy(c);
        return rc;
    }
    *out = c;
    return EA_OK;
}

void kdb_cluster_destroy(kdb_cluster *c)
{
    if (c == NULL)
        return;
    if (c->mcluster != NULL)
        rd_kafka_mock_cluster_destroy(c->mcluster);
    if (c->rk != NULL)
        rd_kafka_destroy(c->rk);
    for (int t = 0; t < c->ntopics; t++)
        free(c->topics[t].leaders);
    free(c->bootstraps);
    free(c);
}

const char *kdb_cluster_bootstraps(const kdb_cluster *c)
{
    return c->bootstraps;
}

static struct kdb_topic *find_topic(const kdb_cluster *c, const char *name)
{
    for (int t = 0; t < c->ntopics; t++)
        if (strcmp(c->topics[t].name, name) == 0)
            return (struct kdb_topic *)&c->topics[t];
    return NULL;
}

int kdb_cluster_has_topic(const kdb_cluster *c, const char *name)
{
    return find_topic(c, name) != NULL;
}

static ea_rc check_broker_id(const kdb_cluster *c, int32_t id, int allow_all, struct ea_err *err)
{
    if ((allow_all && id == -1) || (id >= 1 && id <= c->nbrokers))
        return EA_OK;
    return ea_err_set(err, EA_ERR_NOTFOUND, "no broker %d (ids are 1..%d)", (int)id, c->nbrokers);
}

ea_rc kdb_cluster_broker_set_up(kdb_cluster *c, int32_t id, int up, struct ea_err *err)
{
    ea_rc rc = check_broker_id(c, id, 1, err);
    if (rc != EA_OK)
        return rc;
    rd_kafka_resp_err_t e = up ? rd_kafka_mock_broker_set_up(c->mcluster, id)
                               : rd_kafka_mock_broker_set_down(c->mcluster, id);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
        return ea_err_set(err, EA_ERR_KAFKA, "could not set broker %d %s: %s", (int)id,
                          up ? "up" : "down", rd_kafka_err2str(e));
    for (int i = 1; i <= c->nbrokers; i++)
        if (id == -1 || id == i)
            c->brokers[i].up = up;
    return EA_OK;
}

ea_rc kdb_cluster_broker_set_rtt(kdb_cluster *c, int32_t id, int rtt_ms, struct ea_err *err)
{
    ea_rc rc = check_broker_id(c, id, 1, err);
    if (rc != EA_OK)
        return rc;
    rd_kafka_resp_err_t e = rd_kafka_mock_broker_set_rtt(c->mcluster, id, rtt_ms);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
        return ea_err_set(err, EA_ERR_KAFKA, "could not set rtt of broker %d: %s", (int)id,
                          rd_kafka_err2str(e));
    for (int i = 1; i <= c->nbrokers; i++)
        if (id == -1 || id == i)
            c->brokers[i].rtt_ms = rtt_ms;
    return EA_OK;
}

void kdb_cluster_push_request_errors(kdb_cluster *c, int16_t api_key, size_t cnt,
                                     rd_kafka_resp_err_t code)
{
    /* one call with `cnt` copies: the mock pops them in order, one per matching request */
    rd_kafka_resp_err_t codes[64];
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
        codes[i] = code;
    while (cnt > 0) {
        size_t n = cnt < 64 ? cnt : 64;
        rd_kafka_mock_push_request_errors_array(c->mcluster, api_key, n, codes);
        cnt -= n;
    }
}

void kdb_cluster_clear_request_errors(kdb_cluster *c, int16_t api_key)
{
    rd_kafka_mock_clear_request_errors(c->mcluster, api_key);
}

ea_rc kdb_cluster_topic_set_error(kdb_cluster *c, const char *topic, rd_kafka_resp_err_t code,
                                  struct ea_err *err)
{
    struct kdb_topic *kt = find_topic(c, topic);
    if (kt == NULL)
        return ea_err_set(err, EA_ERR_NOTFOUND, "unknown topic %.64s", topic);
    rd_kafka_mock_topic_set_error(c->mcluster, topic, code);
    kt->error = code;
    return EA_OK;
}

ea_rc kdb_cluster_partition_set_leader(kdb_cluster *c, const char *topic, int32_t partition,
                                       int32_t broker_id, struct ea_err *err)
{
    /* The mock would auto-create an unknown topic here; refuse instead, a typo in a test should
     * fail loudly rather than create a topic nobody reads. */
    struct kdb_topic *kt = find_topic(c, topic);
    if (kt == NULL)
        return ea_err_set(err, EA_ERR_NOTFOUND, "unknown topic %.64s", topic);
    if (partition < 0 || partition >= kt->partitions)
        return ea_err_set(err, EA_ERR_NOTFOUND, "no partition %d in %s (0..%d)", (int)partition,
                          topic, kt->partitions - 1);
    ea_rc rc = check_broker_id(c, broker_id, 1, err);
    if (rc != EA_OK)
        return rc;
    rd_kafka_resp_err_t e =
        rd_kafka_mock_partition_set_leader(c->mcluster, topic, partition, broker_id);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
        return ea_err_set(err, EA_ERR_KAFKA, "could not move leader of %s [%d]: %s", topic,
                          (int)partition, rd_kafka_err2str(e));
    kt->leaders[partition] = broker_id;
    return EA_OK;
}

json_t *kdb_cluster_status(const kdb_cluster *c)
{
    json_t *brokers = json_array(), *topics = json_array();
    for (int i = 1; i <= c->nbrokers; i++)
        json_array_append_new(brokers,
                              json_pack("{s:i, s:s, s:b, s:i}", "id", i, "addr", c->brokers[i].addr,
                                        "up", c->brokers[i].up, "rtt_ms", c->brokers[i].rtt_ms));
    for (int t = 0; t < c->ntopics; t++) {
        const struct kdb_topic *kt = &c->topics[t];
        json_t *leaders = json_array();
        for (int p = 0; p < kt->partitions; p++)
            json_array_append_new(leaders,
                                  kt->leaders[p] == 0 ? json_null() : json_integer(kt->leaders[p]));
        json_array_append_new(topics, json_pack("{s:s, s:i, s:s, s:o}", "name", kt->name,
                                                "partitions", kt->partitions, "error",
                                                rd_kafka_err2name(kt->error), "leaders", leaders));
    }
    /* json_pack steals the "o" references, also on failure */
    return json_pack("{s:o, s:s, s:i, s:o, s:s}", "brokers", brokers, "topic", c->topics[0].name,
                     "partitions", c->topics[0].partitions, "topics", topics, "bootstrap",
                     c->bootstraps);
}

ea_rc kdb_write_file_atomic(const char *path, const char *line, struct ea_err *err)
{
    char tmp[4096];
    int n = snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
    if (n < 0 || (size_t)n >= sizeof(tmp))
        return ea_err_set(err, EA_ERR_INVALID, "path too long: %.64s...", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return ea_err_set(err, EA_ERR_IO, "could not create %s: %s", tmp, strerror(errno));
    size_t len = strlen(line);
    ea_rc rc = EA_OK;
    if (write(fd, line, len) != (ssize_t)len || write(fd, "\n", 1) != 1 || fsync(fd) != 0)
        rc = ea_err_set(err, EA_ERR_IO, "could not write %s: %s", tmp, strerror(errno));
    if (close(fd) != 0 && rc == EA_OK)
        rc = ea_err_set(err, EA_ERR_IO, "could not write %s: %s", tmp, strerror(errno));
    if (rc == EA_OK && rename(tmp, path) != 0)
        rc =
            ea_err_set(err, EA_ERR_IO, "could not rename %s to %s: %s", tmp, path, strerror(errno));
    if (rc != EA_OK)
        unlink(tmp);
    return rc;
}
