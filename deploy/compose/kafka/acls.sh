#!/bin/bash
# One-shot (compose service kafka-acls): grant each service user what acls.txt lists, as admin. Idempotent.
set -euo pipefail
: "${KAFKA_ADMIN_PASSWORD:?}"
umask 077
cat >/tmp/admin.properties <<PROPERTIES
security.protocol=SASL_SSL
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="${KAFKA_ADMIN_PASSWORD}";
ssl.truststore.type=PEM
ssl.truststore.location=/etc/kafka/certs/ca.crt
PROPERTIES
grep -v '^#' /etc/vidnova/kafka/acls.txt | while read -r user operations resource name; do
    [ -n "$user" ] || continue
    arguments=()
    IFS=',' read -ra ops <<<"$operations"
    for op in "${ops[@]}"; do arguments+=(--operation "$op"); done
    /opt/kafka/bin/kafka-acls.sh --bootstrap-server kafka:9092 --command-config /tmp/admin.properties \
        --add --allow-principal "User:$user" "${arguments[@]}" "--$resource" "$name" >/dev/null
    echo "granted $user $operations on $resource $name"
done
