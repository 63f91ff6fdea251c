/*
 * ea_kafka.h — librdkafka configuration shared by the ingest producer and the worker consumer:
 * bootstrap servers, client id, JSON logs, the security settings of a managed Kafka (TLS, SASL
 * PLAIN/SCRAM, a CA file, free-form librdkafka properties), and the latest client error for
 * /readyz. Not for: producing or consuming logic, which belongs to the service that owns it.
 */
#ifndef EA_KAFKA_H
#define EA_KAFKA_H

#include "ea_config.h"
#include "ea_err.h"

#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stddef.h>

/* The six security variables (strings from the environment; NULL when unset). */
typedef struct ea_kafka_security {
    const char *protocol;       /* KAFKA_SECURITY_PROTOCOL: PLAINTEXT|SSL|SASL_PLAINTEXT|SASL_SSL */
    const char *sasl_mechanism; /* KAFKA_SASL_MECHANISM: PLAIN|SCRAM-SHA-256|SCRAM-SHA-512 */
    const char *sasl_username;  /* KAFKA_SASL_USERNAME */
    const char *sasl_password;  /* KAFKA_SASL_PASSWORD (secret: never printed) */
    const char *ssl_ca_file;    /* KAFKA_SSL_CA_FILE: PEM; unset = the system's CAs */
    const char *properties;     /* KAFKA_PROPERTIES: "name=value;name=value" for librdkafka */
} ea_kafka_security;

/* Where a program's Kafka is (KAFKA_BROKERS, else the first line of KAFKA_BOOTSTRAP_FILE), its
 * events topic and the security settings: what ingest-api and the worker both read. */
typedef struct ea_kafka_settings {
    const char *brokers;        /* KAFKA_BROKERS; empty: read bootstrap_file */
    const char *bootstrap_file; /* KAFKA_BOOTSTRAP_FILE (written by kafka-dev-broker) */
    const char *topic;          /* KAFKA_TOPIC */
    ea_kafka_security security; /* checked by ea_kafka_security_check after the load */
} ea_kafka_settings;

/* Config-table entries (lib/config) for the six variables, for a config struct `type` whose
 * member `field` is an ea_kafka_security: one home for their names, defaults and help. */
/* `member.field` is an offsetof member designator, which cannot be parenthesized */
/* NOLINTBEGIN(bugprone-macro-parentheses) */
/* clang-format off */
#define EA_KAFKA_SECURITY_CONFIG_ENTRIES(type, field)                                              \
    {"KAFKA_SECURITY_PROTOCOL", EA_CFG_STR, "PLAINTEXT", 0, 0, offsetof(type, field.protocol),     \
     "PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL (managed Kafka: SASL_SSL)"},                      \
    {"KAFKA_SASL_MECHANISM", EA_CFG_STR, NULL, 0, 0, offsetof(type, field.sasl_mechanism),         \
     "PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (with SASL_*)"},                                       \
    {"KAFKA_SASL_USERNAME", EA_CFG_STR, NULL, 0, 0, offsetof(type, field.sasl_username),           \
     "SASL user name (Confluent Cloud: the API key)"},                                             \
    {"KAFKA_SASL_PASSWORD", EA_CFG_STR, NULL, 0, 0, offsetof(type, field.sasl_password),           \
     "SASL password (Confluent Cloud: the API secret; secret)"},                                   \
    {"KAFKA_SSL_CA_FILE", EA_CFG_STR, NULL, 0, 0, offsetof(type, field.ssl_ca_file),               \
     "CA certificates (PEM) of the brokers' TLS certificates; unset: the system's"},               \
    {"KAFKA_PROPERTIES", EA_CFG_STR, NULL, 0, 0, offsetof(type, field.properties),                 \
     "more librdkafka properties, name=value;name=value (passed as they are)"}
/* clang-format on */
/* NOLINTEND(bugprone-macro-parentheses) */

/* Every entry of an ea_kafka_settings (KAFKA_BROKERS, KAFKA_BOOTSTRAP_FILE, KAFKA_TOPIC and the
 * security ones above), for a config struct `type` whose member `field` is one (resolve the
 * brokers with ea_kafka_resolve_brokers, check the security with ea_kafka_security_check). */
/* NOLINTBEGIN(bugprone-macro-parentheses) */
/* clang-format off */
#define EA_KAFKA_CONFIG_ENTRIES(type, field)                                                       \
    {"KAFKA_BROKERS", EA_CFG_STR, "", 0, 0, offsetof(type, field.brokers),                        \
     "Kafka bootstrap servers; empty: read KAFKA_BOOTSTRAP_FILE"},                                 \
    {"KAFKA_BOOTSTRAP_FILE", EA_CFG_STR, ".data/kafka.bootstrap", 0, 0,                           \
     offsetof(type, field.bootstrap_file),                                                         \
     "file whose first line is the bootstrap list (written by kafka-dev-broker)"},                 \
    {"KAFKA_TOPIC", EA_CFG_STR, "events", 0, 0, offsetof(type, field.topic),                      \
     "the topic of events"},                                                                       \
    EA_KAFKA_SECURITY_CONFIG_ENTRIES(type, field.security)
/* clang-format on */
/* NOLINTEND(bugprone-macro-parentheses) */

/* Checks the security settings at start-up: known protocol and mechanism, the combinations
 * (SASL needs a mechanism, user and password; SASL or CA settings without a protocol that uses
 * them are refused), a readable CA file, and every KAFKA_PROPERTIES pair against librdkafka
 * (unknown names, bad values, and names another variable or the services own are refused).
 * EA_ERR_INVALID with a message naming the variable; never contains the password. */
ea_rc ea_kafka_security_check(const ea_kafka_security *sec, struct ea_err *err) EA_WUR;

/* Sets one property; on failure fills err ("could not set kafka property X: reason"). */
ea_rc ea_kafka_conf_set(rd_kafka_conf_t *conf, const char *name, const char *value,
                        struct ea_err *err) EA_WUR;

/* A config with bootstrap.servers = brokers, client.id = client_id, our logging hook (librdkafka
 * log lines become JSON log lines), an error callback that logs and records the error for
 * ea_kafka_error_last, and the security settings of sec (may be NULL: PLAINTEXT) applied after
 * ea_kafka_security_check. NULL with err filled on failure. */
rd_kafka_conf_t *ea_kafka_conf_new(const char *brokers, const char *client_id,
                                   const ea_kafka_security *sec, struct ea_err *err);

/* Client-level errors from librdkafka's error callback (authentication, TLS, brokers down),
 * kept process-wide for /readyz (each service has one Kafka client). note records one (a
 * service with its own error callback calls it), last copies "<cause>" or "" into buf and says
 * whether there was one, clear forgets it once Kafka answers again. Thread-safe. */
void ea_kafka_error_note(int err, const char *reason);
bool ea_kafka_error_last(char *buf, size_t cap);
void ea_kafka_error_clear(void);

/* Reads a bootstrap list: returns brokers itself if non-empty, otherwise the first line of the
 * file at path (the dev broker writes one). Result in buf. EA_ERR_NOTFOUND when neither. */
ea_rc ea_kafka_resolve_brokers(const char *brokers, const char *path, char *buf, size_t cap,
                               struct ea_err *err) EA_WUR;

#endif
