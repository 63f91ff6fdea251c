/*
 * ea_kafka.c — common librdkafka setup. librdkafka's own log lines are routed through ea_log so
 * every line a service prints is JSON; client errors (authentication, TLS, brokers down) are
 * logged and kept for /readyz, which must say why Kafka is unreachable rather than just "false".
 */
#include "ea_kafka_int.h"
#include "ea_log.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

static pthread_mutex_t last_lock = PTHREAD_MUTEX_INITIALIZER;
static char last_cause[512]; /* the latest error with a cause ("" none) */
static bool brokers_down;    /* the latest error said every broker is down */

void ea_kafka_error_note(int err, const char *reason)
{
    pthread_mutex_lock(&last_lock);
    if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
        brokers_down = true; /* "3/3 brokers are down": keep the cause seen before it */
        if (last_cause[0] == '\0')
            snprintf(last_cause, sizeof(last_cause), "%s", reason);
    } else {
        const char *hint = "";
        if (strstr(reason, "SASL Handshake not supported") != NULL ||
            strstr(reason, "Unsupported SASL mechanism") != NULL)
            hint = " (the broker's listener does not offer this SASL mechanism: check "
                   "KAFKA_SECURITY_PROTOCOL and KAFKA_SASL_MECHANISM against the broker)";
        else if (strstr(reason, "Authentication failed") != NULL ||
                 strstr(reason, "SASL authentication error") != NULL)
            hint = " (check KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD)";
        else if (strstr(reason, "certificate verify failed") != NULL ||
                 strstr(reason, "could not be verified") != NULL)
            hint = " (KAFKA_SSL_CA_FILE must hold the CA of the brokers' certificates)";
        snprintf(last_cause, sizeof(last_cause), "%s: %s%s",
                 rd_kafka_err2str((rd_kafka_resp_err_t)err), reason, hint);
    }
    pthread_mutex_unlock(&last_lock);
}

bool ea_kafka_error_last(char *buf, size_t cap)
{
    pthread_mutex_lock(&last_lock);
    snprintf(buf, cap, "%s%s", brokers_down && last_cause[0] ? "all brokers are down: " : "",
             last_cause);
    bool any = last_cause[0] != '\0';
    pthread_mutex_unlock(&last_lock);
    return any;
}

void ea_kafka_error_clear(void)
{
    pthread_mutex_lock(&last_lock);
    last_cause[0] = '\0';
    brokers_down = false;
    pthread_mutex_unlock(&last_lock);
}

static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    (void)opaque;
    ea_log_warn(rd_kafka_name(rk), "kafka %s: %s", rd_kafka_err2name((rd_kafka_resp_err_t)err),
                reason);
    ea_kafka_error_note(err, reason);
}

ea_rc ea_kafka_conf_set(rd_kafka_conf_t *conf, const char *name, const char *value,
                        struct ea_err *err)
{
    char errstr[256];
    if (rd_kafka_conf_set(conf, name, value, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK)
        return ea_err_set(err, EA_ERR_KAFKA, "could not set kafka property %s: %s", name, errstr);
    return EA_OK;
}

static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    /* syslog levels: 0-3 error, 4 warning, 5-6 info, 7 debug */
    ea_log_level l = level <= 3   ? EA_LOG_ERROR
                     : level == 4 ? EA_LOG_WARN
                     : level <= 6 ? EA_LOG_INFO
                                  : EA_LOG_DEBUG;
    ea_log(l, rd_kafka_name(rk), "librdkafka %s: %s", fac, buf);
}

rd_kafka_conf_t *ea_kafka_conf_new(const char *brokers, const char *client_id,
                                   const ea_kafka_security *sec, struct ea_err *err)
{
    static const ea_kafka_security plaintext = {0};
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (ea_kafka_conf_set(conf, "bootstrap.servers", brokers, err) != EA_OK ||
        ea_kafka_conf_set(conf, "client.id", client_id, err) != EA_OK ||
        ea_kafka_security_apply(conf, sec != NULL ? sec : &plaintext, err) != EA_OK) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_conf_set_log_cb(conf, log_cb);
    rd_kafka_conf_set_error_cb(conf, error_cb);
    return conf;
}

ea_rc ea_kafka_resolve_brokers(const char *brokers, const char *path, char *buf, size_t cap,
                               struct ea_err *err)
{
    if (brokers != NULL && brokers[0] != '\0') {
        if (strlen(brokers) >= cap)
            return ea_err_set(err, EA_ERR_INVALID, "KAFKA_BROKERS is too long");
        snprintf(buf, cap, "%s", brokers);
        return EA_OK;
    }
    FILE *f = path != NULL ? fopen(path, "r") : NULL;
    if (f == NULL)
        return ea_err_set(err, EA_ERR_NOTFOUND,
                          "could not find kafka brokers: KAFKA_BROKERS is unset and %s is missing",
                          path != NULL ? path : "(no bootstrap file)");
    char *line = fgets(buf, (int)cap, f);
    fclose(f);
    if (line == NULL || buf[0] == '\n' || buf[0] == '\0')
        return ea_err_set(err, EA_ERR_NOTFOUND, "could not read kafka brokers from %s", path);
    buf[strcspn(buf, "\r\n")] = '\0';
    return EA_OK;
}
