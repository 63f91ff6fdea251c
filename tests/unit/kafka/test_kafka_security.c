/*
 * test_kafka_security.c — lib/kafka's security settings (ea_kafka_security.c): each of
 * KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD,
 * KAFKA_SSL_CA_FILE and KAFKA_PROPERTIES reaches the librdkafka configuration as intended (read
 * back with rd_kafka_conf_get); bad values and combinations are refused with the variable's
 * name; the password is never in a message; the services' own properties cannot be overridden.
 */
#include "../ea_test.h"
#include "ea_kafka.h"

#include <string.h>

#define PW "sasl-Pa55-w0rd"

static struct ea_err err;

/* The value of property name in conf ("" when unset or unknown). */
static const char *get(rd_kafka_conf_t *conf, const char *name)
{
    static char buf[1024];
    size_t n = sizeof(buf);
    if (rd_kafka_conf_get(conf, name, buf, &n) != RD_KAFKA_CONF_OK)
        buf[0] = '\0';
    return buf;
}

static rd_kafka_conf_t *conf_of(const ea_kafka_security *s)
{
    ea_err_clear(&err);
    return ea_kafka_conf_new("b1:9092,b2:9092", "test-client", s, &err);
}

/* s is refused by the check and by conf_new; the message names var and leaks no password. */
static bool refused(const ea_kafka_security *s, const char *var)
{
    ea_err_clear(&err);
    if (ea_kafka_security_check(s, &err) == EA_OK)
        return false;
    bool ok = err.code == EA_ERR_INVALID && strstr(err.message, var) != NULL &&
              strstr(err.message, PW) == NULL;
    if (!ok)
        fprintf(stderr, "message \"%s\" (wanted %s, no password)\n", err.message, var);
    rd_kafka_conf_t *c = conf_of(s);
    if (c != NULL) {
        rd_kafka_conf_destroy(c);
        return false;
    }
    return ok;
}

static void test_default_is_plaintext(void)
{
    ea_kafka_security none = {0};
    EA_CHECK(ea_kafka_security_check(&none, &err) == EA_OK);
    rd_kafka_conf_t *c = conf_of(&none);
    EA_CHECK(c != NULL);
    EA_CHECK_STR(get(c, "security.protocol"), "plaintext");
    EA_CHECK_STR(get(c, "bootstrap.servers"), "b1:9092,b2:9092");
    EA_CHECK_STR(get(c, "client.id"), "test-client");
    rd_kafka_conf_destroy(c);
    c = ea_kafka_conf_new("b:9092", "x", NULL, &err); /* NULL: the same */
    EA_CHECK(c != NULL && strcmp(get(c, "security.protocol"), "plaintext") == 0);
    rd_kafka_conf_destroy(c);
}

static void test_sasl_ssl_reaches_conf(void)
{
    /* Confluent Cloud: SASL_SSL, PLAIN, API key and secret, system CAs */
    ea_kafka_security s = {.protocol = "SASL_SSL",
                           .sasl_mechanism = "PLAIN",
                           .sasl_username = "ABCDEFKEY",
                           .sasl_password = PW};
    rd_kafka_conf_t *c = conf_of(&s);
    EA_CHECK(c != NULL);
    if (c == NULL)
        return;
    EA_CHECK_STR(get(c, "security.protocol"), "sasl_ssl");
    EA_CHECK_STR(get(c, "sasl.mechanisms"), "PLAIN");
    EA_CHECK_STR(get(c, "sasl.username"), "ABCDEFKEY");
    EA_CHECK_STR(get(c, "sasl.password"), PW);
    rd_kafka_conf_destroy(c);
}

static void test_scram_and_ca_reach_conf(void)
{
    /* MSK / Redpanda: SCRAM, lower-case spellings accepted, a CA file */
    ea_kafka_security s = {.protocol = "sasl_ssl",
                           .sasl_mechanism = "scram-sha-512",
                           .sasl_username = "app",
                           .sasl_password = PW,
                           .ssl_ca_file = "/dev/null"};
    rd_kafka_conf_t *c = conf_of(&s);
    EA_CHECK(c != NULL);
    if (c == NULL)
        return;
    EA_CHECK_STR(get(c, "security.protocol"), "sasl_ssl");
    EA_CHECK_STR(get(c, "sasl.mechanisms"), "SCRAM-SHA-512");
    EA_CHECK_STR(get(c, "ssl.ca.location"), "/dev/null");
    rd_kafka_conf_destroy(c);
    ea_kafka_security plain_sasl = {.protocol = "SASL_PLAINTEXT",
                                    .sasl_mechanism = "SCRAM-SHA-256",
                                    .sasl_username = "u",
                                    .sasl_password = PW};
    c = conf_of(&plain_sasl);
    EA_CHECK(c != NULL && strcmp(get(c, "security.protocol"), "sasl_plaintext") == 0 &&
             strcmp(get(c, "sasl.mechanisms"), "SCRAM-SHA-256") == 0);
    if (c != NULL)
        rd_kafka_conf_destroy(c);
    ea_kafka_security ssl = {.protocol = "SSL", .ssl_ca_file = "/dev/null"};
    c = conf_of(&ssl);
    EA_CHECK(c != NULL && strcmp(get(c, "security.protocol"), "ssl") == 0);
    if (c != NULL)
        rd_kafka_conf_destroy(c);
}

static void test_properties_reach_conf(void)
{
    ea_kafka_security s = {.properties = " socket.keepalive.enable = true;;fetch.min.bytes=7;"
                                         "ssl.endpoint.identification.algorithm=none; "};
    rd_kafka_conf_t *c = conf_of(&s);
    EA_CHECK(c != NULL);
    if (c == NULL) {
        fprintf(stderr, "%s\n", err.message);
        return;
    }
    EA_CHECK_STR(get(c, "socket.keepalive.enable"), "true");
    EA_CHECK_STR(get(c, "fetch.min.bytes"), "7");
    EA_CHECK_STR(get(c, "ssl.endpoint.identification.algorithm"), "none");
    rd_kafka_conf_destroy(c);
}

static void test_bad_values_refused(void)
{
    EA_CHECK(refused(&(ea_kafka_security){.protocol = "TLS"}, "KAFKA_SECURITY_PROTOCOL"));
    EA_CHECK(refused(&(ea_kafka_security){.protocol = "SASL_SSL",
                                          .sasl_mechanism = "GSSAPI",
                                          .sasl_username = "u",
                                          .sasl_password = PW},
                     "KAFKA_SASL_MECHANISM"));
    EA_CHECK(refused(
        &(ea_kafka_security){.protocol = "SASL_SSL", .sasl_username = "u", .sasl_password = PW},
        "KAFKA_SASL_MECHANISM is required"));
    EA_CHECK(refused(&(ea_kafka_security){.protocol = "SASL_SSL", .sasl_mechanism = "PLAIN"},
                     "KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD are required"));
    EA_CHECK(refused(&(ea_kafka_security){.protocol = "SASL_SSL",
                                          .sasl_mechanism = "PLAIN",
                                          .sasl_username = "u"},
                     "KAFKA_SASL_PASSWORD"));
    /* SASL settings without a SASL protocol: a forgotten KAFKA_SECURITY_PROTOCOL */
    EA_CHECK(refused(&(ea_kafka_security){.sasl_username = "u", .sasl_password = PW},
                     "KAFKA_SASL_USERNAME is set but KAFKA_SECURITY_PROTOCOL=PLAINTEXT"));
    EA_CHECK(refused(&(ea_kafka_security){.protocol = "SSL", .sasl_password = PW},
                     "KAFKA_SASL_PASSWORD is set"));
    EA_CHECK(refused(&(ea_kafka_security){.sasl_mechanism = "PLAIN"}, "KAFKA_SASL_MECHANISM"));
    EA_CHECK(refused(&(ea_kafka_security){.ssl_ca_file = "/dev/null"},
                     "KAFKA_SSL_CA_FILE is set but KAFKA_SECURITY_PROTOCOL=PLAINTEXT"));
    EA_CHECK(refused(&(ea_kafka_security){.protocol = "SSL", .ssl_ca_file = "/nonexistent/ca.pem"},
                     "could not read KAFKA_SSL_CA_FILE /nonexistent/ca.pem"));
}

static void test_bad_properties_refused(void)
{
    EA_CHECK(refused(&(ea_kafka_security){.properties = "fetch.min.bytes"}, "KAFKA_PROPERTIES"));
    EA_CHECK(refused(&(ea_kafka_security){.properties = "=1"}, "not name=value"));
    EA_CHECK(refused(&(ea_kafka_security){.properties = "no.such.property=1"},
                     "KAFKA_PROPERTIES: no.such.property"));
    EA_CHECK(refused(&(ea_kafka_security){.properties = "fetch.min.bytes=lots"},
                     "KAFKA_PROPERTIES: fetch.min.bytes"));
    /* one home for each setting: the variables and the services own these */
    EA_CHECK(refused(&(ea_kafka_security){.properties = "security.protocol=ssl"},
                     "KAFKA_SECURITY_PROTOCOL"));
    EA_CHECK(
        refused(&(ea_kafka_security){.properties = "sasl.password=" PW}, "KAFKA_SASL_PASSWORD"));
    EA_CHECK(refused(&(ea_kafka_security){.properties = "bootstrap.servers=x:1"}, "KAFKA_BROKERS"));
    EA_CHECK(refused(&(ea_kafka_security){.properties = "fetch.min.bytes=1;acks=1"},
                     "acks is set by the services"));
    EA_CHECK(
        refused(&(ea_kafka_security){.properties = "enable.auto.commit=true"}, "exactly-once"));
    EA_CHECK(refused(&(ea_kafka_security){.properties = "group.id=other"}, "WORKER_GROUP_ID"));
}

static void test_errors_are_kept_for_readyz(void)
{
    char buf[512];
    ea_kafka_error_clear();
    EA_CHECK(!ea_kafka_error_last(buf, sizeof(buf)) && buf[0] == '\0');
    ea_kafka_error_note(RD_KAFKA_RESP_ERR__AUTHENTICATION,
                        "sasl_plaintext://b:1/bootstrap: Failed to initialize SASL "
                        "authentication: SASL Handshake not supported by broker");
    ea_kafka_error_note(RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN, "3/3 brokers are down");
    EA_CHECK(ea_kafka_error_last(buf, sizeof(buf)));
    /* the cause survives "all brokers are down", with a hint of what to check */
    EA_CHECK(strstr(buf, "all brokers are down: ") == buf);
    EA_CHECK(strstr(buf, "SASL Handshake not supported by broker") != NULL);
    EA_CHECK(strstr(buf, "KAFKA_SECURITY_PROTOCOL") != NULL);
    ea_kafka_error_clear();
    ea_kafka_error_note(RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN, "3/3 brokers are down");
    EA_CHECK(ea_kafka_error_last(buf, sizeof(buf)) && strstr(buf, "3/3 brokers are down") != NULL);
    ea_kafka_error_clear();
    EA_CHECK(!ea_kafka_error_last(buf, sizeof(buf)));
}

EA_TEST_MAIN(EA_TEST(test_default_is_plaintext), EA_TEST(test_sasl_ssl_reaches_conf),
             EA_TEST(test_scram_and_ca_reach_conf), EA_TEST(test_properties_reach_conf),
             EA_TEST(test_bad_values_refused), EA_TEST(test_bad_properties_refused),
             EA_TEST(test_errors_are_kept_for_readyz))
