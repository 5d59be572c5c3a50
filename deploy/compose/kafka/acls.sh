#!/bin/bash
# One-shot (compose service kafka-acls): grant each service user what acls.txt lists, as admin. Idempotent.
# tests/integration/test_kafka_auth.py runs this very script against a broker of its own.
set -euo pipefail
: "${KAFKA_ADMIN_PASSWORD:?}"
source "$(dirname "$0")/admin-client.sh"
write_admin_client_config
read -ra kafka_acls <<<"${KAFKA_ACLS_COMMAND:-/opt/kafka/bin/kafka-acls.sh}"
bootstrap="${KAFKA_ACLS_BOOTSTRAP:-kafka:9092}"
grep -v "^#" "$(dirname "$0")/acls.txt" | while read -r user operations resource name; do
    [ -n "$user" ] || continue
    arguments=()
    IFS=',' read -ra ops <<<"$operations"
    for op in "${ops[@]}"; do arguments+=(--operation "$op"); done
    "${kafka_acls[@]}" --bootstrap-server "$bootstrap" --command-config "$ADMIN_CLIENT_CONFIG" \
        --add --allow-principal "User:$user" "${arguments[@]}" "--$resource" "$name" >/dev/null
    echo "granted $user $operations on $resource $name"
done
