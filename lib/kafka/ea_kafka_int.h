/*
 * ea_kafka_int.h — between ea_kafka.c and ea_kafka_security.c. Not for use outside lib/kafka.
 */
#ifndef EA_KAFKA_INT_H
#define EA_KAFKA_INT_H

#include "ea_kafka.h"

/* Checks sec (ea_kafka_security_check) and applies it to conf: security.protocol, the SASL
 * mechanism and credentials, ssl.ca.location, then each KAFKA_PROPERTIES pair. */
ea_rc ea_kafka_security_apply(rd_kafka_conf_t *conf, const ea_kafka_security *sec,
                              struct ea_err *err) EA_WUR;

#endif
