/*
 * ea_kafka_security.c — the security settings of a managed Kafka (Confluent Cloud, Redpanda
 * Cloud, MSK): KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME,
 * KAFKA_SASL_PASSWORD, KAFKA_SSL_CA_FILE and KAFKA_PROPERTIES, checked once at start-up and
 * applied to every librdkafka config (ingest's producer, the worker's consumer).
 *
 * Why the combinations are checked here rather than left to librdkafka: librdkafka accepts a
 * user name without SASL, or SASL without a mechanism (its default is GSSAPI/Kerberos), and only
 * fails later, at connect time, in a log line. A service must refuse such a setting at start-up
 * and say which variable to change.
 *
 * KAFKA_PROPERTIES passes anything else to librdkafka as it is, except the properties another
 * variable sets (one home each) and those that carry the pipeline's exactly-once contract, which
 * the services fix. Values are never echoed for names that look secret.
 */
#include "ea_kafka_int.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static const char *const protocols[] = {"PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"};
static const char *const mechanisms[] = {"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"};

/* Properties KAFKA_PROPERTIES may not set, and who owns each. */
static const struct {
    const char *name, *owner;
} owned[] = {
    {"bootstrap.servers", "KAFKA_BROKERS"},
    {"metadata.broker.list", "KAFKA_BROKERS"},
    {"security.protocol", "KAFKA_SECURITY_PROTOCOL"},
    {"sasl.mechanism", "KAFKA_SASL_MECHANISM"},
    {"sasl.mechanisms", "KAFKA_SASL_MECHANISM"},
    {"sasl.username", "KAFKA_SASL_USERNAME"},
    {"sasl.password", "KAFKA_SASL_PASSWORD"},
    {"ssl.ca.location", "KAFKA_SSL_CA_FILE"},
    {"client.id", "the service (ingest-api, ea-worker)"},
    {"group.id", "WORKER_GROUP_ID"},
    {"linger.ms", "INGEST_LINGER_MS"},
    {"queue.buffering.max.ms", "INGEST_LINGER_MS"},
    {"message.timeout.ms", "INGEST_PRODUCE_TIMEOUT_MS"},
    {"session.timeout.ms", "WORKER_SESSION_TIMEOUT_MS"},
    {"max.poll.interval.ms", "WORKER_MAX_POLL_INTERVAL_MS"},
    {"acks", "the services (acks=all: exactly-once)"},
    {"request.required.acks", "the services (acks=all: exactly-once)"},
    {"enable.idempotence", "the services (exactly-once)"},
    {"enable.auto.commit", "the services (offsets are stored in PostgreSQL: exactly-once)"},
    {"enable.auto.offset.store", "the services (offsets are stored in PostgreSQL: exactly-once)"},
    {"auto.offset.reset", "the services (earliest: nothing acknowledged is skipped)"},
    {"enable.partition.eof", "the services"},
    {"partitioner", "the services"},
};

static int find(const char *const *list, size_t n, const char *v)
{
    for (size_t i = 0; v != NULL && i < n; i++)
        if (strcasecmp(list[i], v) == 0)
            return (int)i;
    return -1;
}

static bool set(const char *v)
{
    return v != NULL && v[0] != '\0';
}

/* Names whose values must not appear in a message. */
static bool secret_name(const char *name)
{
    return strstr(name, "password") != NULL || strstr(name, "secret") != NULL ||
           strstr(name, "key") != NULL || strstr(name, "token") != NULL ||
           strstr(name, "jaas") != NULL || strstr(name, "oauthbearer.config") != NULL;
}

#define BAD(...) ea_err_set(err, EA_ERR_INVALID, __VA_ARGS__)

/* Calls fn(name, value) for each "name=value" of KAFKA_PROPERTIES (white space around names and
 * values trimmed, empty pairs skipped). Stops at the first error. */
typedef ea_rc (*prop_fn)(void *ud, const char *name, const char *value, struct ea_err *err);

static ea_rc each_property(const char *props, prop_fn fn, void *ud, struct ea_err *err)
{
    if (!set(props))
        return EA_OK;
    char *copy = strdup(props);
    if (copy == NULL)
        return ea_err_set(err, EA_ERR_NOMEM, "out of memory");
    ea_rc rc = EA_OK;
    char *save = NULL;
    for (char *pair = strtok_r(copy, ";", &save); pair != NULL && rc == EA_OK;
         pair = strtok_r(NULL, ";", &save)) {
        while (isspace((unsigned char)*pair))
            pair++;
        if (*pair == '\0')
            continue;
        char *eq = strchr(pair, '=');
        if (eq == NULL || eq == pair) {
            size_t n = strcspn(pair, "=");
            rc = BAD("invalid KAFKA_PROPERTIES: \"%.*s\" is not name=value (pairs are separated "
                     "by ;)",
                     (int)(n > 64 ? 64 : n), pair);
            break;
        }
        char *end = eq;
        while (end > pair && isspace((unsigned char)end[-1]))
            end--;
        *end = '\0';
        char *value = eq + 1, *vend = value + strlen(value);
        while (isspace((unsigned char)*value))
            value++;
        while (vend > value && isspace((unsigned char)vend[-1]))
            vend--;
        *vend = '\0';
        rc = fn(ud, pair, value, err);
    }
    free(copy);
    return rc;
}

static ea_rc check_property(void *ud, const char *name, const char *value, struct ea_err *err)
{
    rd_kafka_conf_t *scratch = ud;
    for (size_t i = 0; i < sizeof(owned) / sizeof(owned[0]); i++)
        if (strcmp(owned[i].name, name) == 0)
            return BAD("invalid KAFKA_PROPERTIES: %s is set by %s, not here", name, owned[i].owner);
    char errstr[256];
    if (rd_kafka_conf_set(scratch, name, value, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK)
        return BAD("invalid KAFKA_PROPERTIES: %s: %s", name,
                   secret_name(name) ? "librdkafka refused the value" : errstr);
    return EA_OK;
}

/* The librdkafka build must have what the settings ask for (Debian's has ssl and sasl). */
static ea_rc check_features(const ea_kafka_security *s, rd_kafka_conf_t *scratch,
                            struct ea_err *err)
{
    char features[512];
    size_t n = sizeof(features);
    if (rd_kafka_conf_get(scratch, "builtin.features", features, &n) != RD_KAFKA_CONF_OK)
        return EA_OK; /* cannot tell: librdkafka will say at connect time */
    bool tls = strcasestr(s->protocol, "SSL") != NULL;
    if (tls && strstr(features, "ssl") == NULL)
        return BAD("KAFKA_SECURITY_PROTOCOL=%s: this librdkafka was built without TLS",
                   s->protocol);
    if (set(s->sasl_mechanism)) {
        const char *need =
            strncasecmp(s->sasl_mechanism, "SCRAM", 5) == 0 ? "sasl_scram" : "sasl_plain";
        if (strstr(features, need) == NULL)
            return BAD("KAFKA_SASL_MECHANISM=%s: this librdkafka was built without %s",
                       s->sasl_mechanism, need);
    }
    return EA_OK;
}

ea_rc ea_kafka_security_check(const ea_kafka_security *s, struct ea_err *err)
{
    const char *proto = set(s->protocol) ? s->protocol : "PLAINTEXT";
    int p = find(protocols, 4, proto);
    if (p < 0)
        return BAD("invalid KAFKA_SECURITY_PROTOCOL \"%.32s\": expected PLAINTEXT, SSL, "
                   "SASL_PLAINTEXT or SASL_SSL",
                   proto);
    bool sasl = p >= 2, tls = p == 1 || p == 3;
    if (set(s->sasl_mechanism) && find(mechanisms, 3, s->sasl_mechanism) < 0)
        return BAD("invalid KAFKA_SASL_MECHANISM \"%.32s\": expected PLAIN, SCRAM-SHA-256 or "
                   "SCRAM-SHA-512",
                   s->sasl_mechanism);
    if (sasl) {
        if (!set(s->sasl_mechanism))
            return BAD("KAFKA_SASL_MECHANISM is required with KAFKA_SECURITY_PROTOCOL=%s "
                       "(PLAIN for Confluent Cloud, SCRAM-SHA-256 or SCRAM-SHA-512 for Redpanda "
                       "and MSK)",
                       protocols[p]);
        if (!set(s->sasl_username) || !set(s->sasl_password))
            return BAD("KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD are required with "
                       "KAFKA_SECURITY_PROTOCOL=%s",
                       protocols[p]);
    } else {
        const char *stray = set(s->sasl_mechanism)  ? "KAFKA_SASL_MECHANISM"
                            : set(s->sasl_username) ? "KAFKA_SASL_USERNAME"
                            : set(s->sasl_password) ? "KAFKA_SASL_PASSWORD"
                                                    : NULL;
        if (stray != NULL)
            return BAD("%s is set but KAFKA_SECURITY_PROTOCOL=%s has no SASL (use SASL_SSL)", stray,
                       protocols[p]);
    }
    if (set(s->ssl_ca_file)) {
        if (!tls)
            return BAD("KAFKA_SSL_CA_FILE is set but KAFKA_SECURITY_PROTOCOL=%s has no TLS (use "
                       "SSL or SASL_SSL)",
                       protocols[p]);
        if (access(s->ssl_ca_file, R_OK) != 0)
            return BAD("could not read KAFKA_SSL_CA_FILE %s: %s", s->ssl_ca_file, strerror(errno));
    }
    rd_kafka_conf_t *scratch = rd_kafka_conf_new();
    ea_kafka_security norm = *s;
    norm.protocol = protocols[p];
    ea_rc rc = check_features(&norm, scratch, err);
    if (rc == EA_OK)
        rc = each_property(s->properties, check_property, scratch, err);
    rd_kafka_conf_destroy(scratch);
    return rc;
}

static ea_rc apply_property(void *ud, const char *name, const char *value, struct ea_err *err)
{
    char errstr[256];
    if (rd_kafka_conf_set(ud, name, value, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK)
        return BAD("invalid KAFKA_PROPERTIES: %s: %s", name,
                   secret_name(name) ? "librdkafka refused the value" : errstr);
    return EA_OK;
}

/* Applies checked settings (ea_kafka_security_check passed) to conf. */
ea_rc ea_kafka_security_apply(rd_kafka_conf_t *conf, const ea_kafka_security *s, struct ea_err *err)
{
    ea_rc rc = ea_kafka_security_check(s, err);
    if (rc != EA_OK)
        return rc;
    int p = find(protocols, 4, set(s->protocol) ? s->protocol : "PLAINTEXT");
    static const char *const lower[] = {"plaintext", "ssl", "sasl_plaintext", "sasl_ssl"};
    if ((rc = ea_kafka_conf_set(conf, "security.protocol", lower[p], err)) != EA_OK)
        return rc;
    if (p >= 2) {
        const char *mech = mechanisms[find(mechanisms, 3, s->sasl_mechanism)];
        char errstr[256];
        if ((rc = ea_kafka_conf_set(conf, "sasl.mechanism", mech, err)) != EA_OK ||
            (rc = ea_kafka_conf_set(conf, "sasl.username", s->sasl_username, err)) != EA_OK)
            return rc;
        /* not through ea_kafka_conf_set: its message would quote nothing secret, but keep the
         * password's path short and obvious */
        if (rd_kafka_conf_set(conf, "sasl.password", s->sasl_password, errstr, sizeof(errstr)) !=
            RD_KAFKA_CONF_OK)
            return BAD("could not set KAFKA_SASL_PASSWORD");
    }
    if (set(s->ssl_ca_file) &&
        (rc = ea_kafka_conf_set(conf, "ssl.ca.location", s->ssl_ca_file, err)) != EA_OK)
        return rc;
    return each_property(s->properties, apply_property, conf, err);
}
