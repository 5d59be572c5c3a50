#!/bin/bash
# Sourced by start.sh and acls.sh: Kafka's own tools connect as admin over SCRAM + TLS with this file.
# The paths default to the compose containers'; the tests point them at a broker of their own.
KAFKA_CERTS_DIR="${KAFKA_CERTS_DIR:-/etc/kafka/certs}"
ADMIN_CLIENT_CONFIG="${ADMIN_CLIENT_CONFIG:-/tmp/admin.properties}"

write_admin_client_config() {
    : "${KAFKA_ADMIN_PASSWORD:?}"
    (
        umask 077
        cat >"$ADMIN_CLIENT_CONFIG" <<PROPERTIES
security.protocol=SASL_SSL
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="${KAFKA_ADMIN_PASSWORD}";
ssl.truststore.type=PEM
ssl.truststore.location=${KAFKA_CERTS_DIR}/ca.crt
PROPERTIES
    )
}
