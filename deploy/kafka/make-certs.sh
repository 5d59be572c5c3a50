#!/usr/bin/env bash
# A private CA and a broker certificate for Kafka's TLS listener, in PEM (Kafka reads PEM stores).
# Usage: deploy/kafka/make-certs.sh OUTDIR [HOSTNAME ...]   (`make kafka-certs` → deploy/compose/certs)
# Keys are generated here and never committed (the output folder is git-ignored). Existing files are kept.
set -euo pipefail
out="${1:?usage: make-certs.sh OUTDIR [HOSTNAME ...]}"
shift
hosts=("${@:-kafka}")
mkdir -p "$out"
cd "$out"
if [ -s ca.crt ] && [ -s broker.pem ]; then
    echo "kafka certs: kept the existing ones in $out" >&2
    exit 0
fi
umask 077
san="IP:127.0.0.1,DNS:localhost"
for host in "${hosts[@]}"; do san="$san,DNS:$host"; done
openssl req -x509 -newkey rsa:2048 -nodes -days 825 -subj "/CN=Vidnova Kafka CA" \
    -keyout ca.key -out ca.crt 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=${hosts[0]}" -keyout broker.key -out broker.csr 2>/dev/null
openssl x509 -req -in broker.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 825 \
    -extfile <(printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth,clientAuth\n' "$san") \
    -out broker.crt 2>/dev/null
# Kafka's PEM key store: the private key (PKCS#8, unencrypted) followed by the certificate chain.
openssl pkcs8 -topk8 -nocrypt -in broker.key -out broker.pk8
cat broker.pk8 broker.crt ca.crt >broker.pem
rm -f broker.csr broker.pk8 ca.srl
chmod 644 ca.crt
echo "kafka certs: CA and broker certificate ($san) in $out" >&2
