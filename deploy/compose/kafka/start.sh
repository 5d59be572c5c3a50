#!/bin/bash
# The compose broker's entry point: render the config, create the SCRAM users while formatting the storage
# (KRaft keeps them in its metadata log; a formatted volume keeps the users it was formatted with), then run.
set -euo pipefail
: "${CLUSTER_ID:?}" "${KAFKA_ADMIN_PASSWORD:?}" "${KAFKA_REQUESTS_PASSWORD:?}"
: "${KAFKA_ALLOCATION_PASSWORD:?}" "${KAFKA_NOTIFICATIONS_PASSWORD:?}" "${KAFKA_CONSOLE_PASSWORD:?}"
config=/tmp/server.properties
sed "s|@ADMIN_PASSWORD@|${KAFKA_ADMIN_PASSWORD}|g" /etc/vidnova/kafka/server.properties >"$config"
scram() { printf 'SCRAM-SHA-512=[name=%s,password=%s]' "$1" "$2"; }
/opt/kafka/bin/kafka-storage.sh format --ignore-formatted --cluster-id "$CLUSTER_ID" --config "$config" \
    --add-scram "$(scram admin "$KAFKA_ADMIN_PASSWORD")" \
    --add-scram "$(scram vidnova-requests "$KAFKA_REQUESTS_PASSWORD")" \
    --add-scram "$(scram vidnova-allocation "$KAFKA_ALLOCATION_PASSWORD")" \
    --add-scram "$(scram vidnova-notifications "$KAFKA_NOTIFICATIONS_PASSWORD")" \
    --add-scram "$(scram vidnova-console "$KAFKA_CONSOLE_PASSWORD")"
# For the health check: Kafka's tools connect as admin.
source "$(dirname "$0")/admin-client.sh"
write_admin_client_config
exec /opt/kafka/bin/kafka-server-start.sh "$config"
