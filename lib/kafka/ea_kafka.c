/*
 * ea_kafka.c — common librdkafka setup. librdkafka's own log lines are routed through ea_log so
 * every line a service prints is JSON.
 */
#include "ea_kafka.h"
#include "ea_log.h"

#include <stdio.h>
#include <string.h>

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

rd_kafka_conf_t *ea_kafka_conf_new(const char *brokers, const char *client_id, struct ea_err *err)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (ea_kafka_conf_set(conf, "bootstrap.servers", brokers, err) != EA_OK ||
        ea_kafka_conf_set(conf, "client.id", client_id, err) != EA_OK) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_conf_set_log_cb(conf, log_cb);
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
