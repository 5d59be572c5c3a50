"""SPEC §14.4 on the wire: Apache Kafka with SCRAM-SHA-512 over TLS and ACLs, reached through the same client
builders the services use (shared/kafka.py), configured only by the KAFKA_* settings.

A service's user may write its own topic and nothing else; a wrong password, a plaintext client or a client
that does not trust the broker's CA gets nowhere.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.errors import ClusterAuthorizationFailedError, KafkaError, TopicAuthorizationFailedError

from shared.kafka import ensure_topics, make_consumer, make_producer
from shared.settings import KafkaSettings
from tests.support.kafka_admin import compose_grants, strimzi_acls
from tests.support.polling import eventually
from vidnova.kafka_cluster import KafkaCluster, fetch_jars, tools_present
from vidnova.kafka_security import ADMIN, ScramTls

ROOT = Path(__file__).resolve().parents[2]
NOBODY = "nobody"  # a SCRAM user with no ACL

pytestmark = pytest.mark.skipif(not tools_present(), reason="needs Java and Maven for Apache Kafka")


@dataclass
class Secured:
    cluster: KafkaCluster
    security: ScramTls
    prefix: str

    def settings(self, user: str, **overrides: Any) -> KafkaSettings:
        env = self.security.client_env(user)
        options: dict[str, Any] = {
            "bootstrap_servers": self.cluster.bootstrap_servers,
            "topic_prefix": self.prefix,
            "security_protocol": env["KAFKA_SECURITY_PROTOCOL"],
            "sasl_mechanism": env["KAFKA_SASL_MECHANISM"],
            "sasl_username": user,
            "sasl_password": env["KAFKA_SASL_PASSWORD"],
            "ssl_cafile": Path(env["KAFKA_SSL_CAFILE"]),
        }
        return KafkaSettings(**{**options, **overrides})


def _grant_as_compose_does(security: ScramTls, cluster: KafkaCluster, directory: Path) -> None:
    """Run compose's own ACL script (deploy/compose/kafka/acls.sh) against this broker."""
    env = {
        **os.environ,
        "KAFKA_ADMIN_PASSWORD": security.users[ADMIN],
        "KAFKA_CERTS_DIR": str(security.certs_dir),
        "ADMIN_CLIENT_CONFIG": str(directory / "admin.properties"),
        "KAFKA_ACLS_COMMAND": f"java -cp {fetch_jars()}/* org.apache.kafka.tools.AclCommand",
        "KAFKA_ACLS_BOOTSTRAP": cluster.bootstrap_servers,
    }
    script = ROOT / "deploy/compose/kafka/acls.sh"
    result = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.count("granted") == len(compose_grants())


@pytest.fixture(scope="module")
async def secured(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Secured]:
    """One Apache Kafka node with SCRAM over TLS, compose's grants (= Strimzi's) applied, the topics made."""
    directory = tmp_path_factory.mktemp("kafka-auth")
    certs = directory / "certs"
    subprocess.run(["bash", str(ROOT / "deploy/kafka/make-certs.sh"), str(certs)], check=True)
    acls = strimzi_acls()
    users = {name: secrets.token_urlsafe(16) for name in (ADMIN, *acls, NOBODY)}
    security = ScramTls(certs, users)
    cluster = KafkaCluster(directory / "kafka", size=1, security=security)
    await asyncio.to_thread(cluster.start)
    state = Secured(cluster, security, "vidnova")  # the names users.yaml grants, on a private node
    try:
        await ensure_topics(state.settings(ADMIN))
        await asyncio.to_thread(_grant_as_compose_does, security, cluster, directory)
        yield state
    finally:
        await asyncio.to_thread(cluster.stop)


async def _send(settings: KafkaSettings, stream: str) -> None:
    producer = make_producer(settings, request_timeout_ms=5_000)
    try:
        await asyncio.wait_for(producer.start(), 30)
        await asyncio.wait_for(producer.send_and_wait(settings.topic(stream), b"{}", key=b"k"), 30)
    finally:
        await producer.stop()


class _Joined(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self) -> None:
        self.assigned = asyncio.Event()

    async def on_partitions_revoked(self, revoked: Any) -> None:
        return None

    async def on_partitions_assigned(self, assigned: Any) -> None:
        self.assigned.set()


async def test_each_service_writes_its_own_topic_over_scram_and_tls(secured: Secured) -> None:
    await _send(secured.settings("vidnova-requests"), "requests")
    await _send(secured.settings("vidnova-allocation"), "allocations")
    await _send(secured.settings("vidnova-allocation"), "inventory")
    await _send(secured.settings("vidnova-console"), "accounts")  # the invitation and reset links


async def _read_in_group(settings: KafkaSettings, group: str, stream: str) -> None:
    """Join ``group``, read a record of ``stream`` and commit its offset."""
    listener = _Joined()
    consumer = make_consumer(settings, group_id=group, topics=[settings.topic(stream)], listener=listener)
    try:
        await asyncio.wait_for(consumer.start(), 30)
        records: list[Any] = []

        async def fetch() -> list[Any]:
            for batch in (await consumer.getmany(timeout_ms=500)).values():
                records.extend(batch)
            return records

        await eventually(fetch, what=f"a record of {settings.topic(stream)}")
        await consumer.commit()  # Read on its group: offsets can be committed
    finally:
        await consumer.stop()


async def test_a_service_reads_what_it_subscribes_to_in_its_own_group(secured: Secured) -> None:
    await _send(secured.settings("vidnova-allocation"), "allocations")
    await _read_in_group(secured.settings("vidnova-requests"), "vidnova.requests", "allocations")


async def test_the_allocation_reports_group_reads_every_stream_the_service_meets(secured: Secured) -> None:
    allocation = secured.settings("vidnova-allocation")
    await _send(allocation, "inventory")
    await _send(allocation, "allocations")
    await _read_in_group(allocation, "vidnova.allocation-reports", "inventory")
    await _read_in_group(allocation, "vidnova.allocation-reports", "allocations")


async def test_a_service_user_cannot_write_another_services_topic(secured: Secured) -> None:
    # What the issue feared: any client publishing allocation.delivered past every HTTP check.
    with pytest.raises(TopicAuthorizationFailedError):
        await _send(secured.settings("vidnova-requests"), "allocations")
    with pytest.raises(TopicAuthorizationFailedError):
        await _send(secured.settings("vidnova-notifications"), "requests")
    with pytest.raises(TopicAuthorizationFailedError):
        await _send(secured.settings("vidnova-console"), "requests")  # the console only writes accounts


async def test_a_user_with_no_grant_gets_nothing(secured: Secured) -> None:
    # Authenticated but granted nothing: refused even the idempotent producer id (needs Write somewhere).
    with pytest.raises((TopicAuthorizationFailedError, ClusterAuthorizationFailedError)):
        await _send(secured.settings(NOBODY), "requests")


async def test_a_wrong_password_is_refused(secured: Secured) -> None:
    with pytest.raises((KafkaError, TimeoutError)):
        await _send(secured.settings("vidnova-requests", sasl_password="not-the-password"), "requests")


async def test_a_plaintext_client_gets_nowhere(secured: Secured) -> None:
    with pytest.raises((KafkaError, TimeoutError)):
        await _send(secured.settings("vidnova-requests", security_protocol="PLAINTEXT"), "requests")


async def test_a_client_that_does_not_trust_the_ca_gets_nowhere(secured: Secured, tmp_path: Path) -> None:
    other = tmp_path / "other-ca"
    subprocess.run(["bash", str(ROOT / "deploy/kafka/make-certs.sh"), str(other)], check=True)
    with pytest.raises((KafkaError, TimeoutError, OSError)):
        await _send(secured.settings("vidnova-requests", ssl_cafile=other / "ca.crt"), "requests")
