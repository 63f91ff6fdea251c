/*
 * ea_kafka.h — librdkafka configuration shared by the ingest producer and the worker consumer,
 * plus the Kafka message format (docs/event-format.md). Not for: producing or consuming logic,
 * which belongs to the service that owns it.
 */
#ifndef EA_KAFKA_H
#define EA_KAFKA_H

#include "ea_err.h"

#include <librdkafka/rdkafka.h>

/* Sets one property; on failure fills err ("could not set kafka property X: reason"). */
ea_rc ea_kafka_conf_set(rd_kafka_conf_t *conf, const char *name, const char *value,
                        struct ea_err *err) EA_WUR;

/* A config with bootstrap.servers = brokers and client.id = client_id and our logging hook
 * (librdkafka log lines become JSON log lines). NULL with err filled on failure. */
rd_kafka_conf_t *ea_kafka_conf_new(const char *brokers, const char *client_id, struct ea_err *err);

/* Reads a bootstrap list: returns brokers itself if non-empty, otherwise the first line of the
 * file at path (the dev broker writes one). Result in buf. EA_ERR_NOTFOUND when neither. */
ea_rc ea_kafka_resolve_brokers(const char *brokers, const char *path, char *buf, size_t cap,
                               struct ea_err *err) EA_WUR;

#endif
