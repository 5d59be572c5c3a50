"""Kafka security settings (§14.4) reach every client the services build: producer, consumer, admin.

The embedded broker cannot prove them on the wire: Tansu 0.6.0 has ``--authentication``, but its
``user create`` cannot reach a broker that requires authentication (no way to add the first SCRAM
user), and its ``--cert`` and ``--key`` options refuse to be given together (no TLS listener). So the
settings are checked here, at the clients; compose and Strimzi run SCRAM over TLS.
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

import pytest
from aiokafka.abc import ConsumerRebalanceListener

from shared.kafka import make_admin, make_consumer, make_producer
from shared.settings import ConfigurationError, KafkaSettings
from tests.integration.notifications.harness import self_signed_certificate


class Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    async def on_partitions_revoked(self, revoked: object) -> None:
        pass

    async def on_partitions_assigned(self, assigned: object) -> None:
        pass


def clients(settings: KafkaSettings) -> list[Any]:
    """The low-level client of each kind the services build (never started: nothing to close)."""
    producer = make_producer(settings)
    producer._closed = True  # not started; keeps aiokafka's "unclosed producer" warning quiet
    consumer = make_consumer(settings, group_id="g", topics=["t"], listener=Listener())
    return [producer.client, consumer._client, make_admin(settings)._client]


async def test_plaintext_is_the_default_without_credentials() -> None:
    for client in clients(KafkaSettings()):
        assert client._security_protocol == "PLAINTEXT"
        assert client._sasl_plain_username is None


async def test_scram_over_tls_reaches_producer_consumer_and_admin(tmp_path: Path) -> None:
    ca, _ = self_signed_certificate(tmp_path)
    settings = KafkaSettings(
        KAFKA_SECURITY_PROTOCOL="SASL_SSL", KAFKA_SASL_MECHANISM="SCRAM-SHA-512",
        KAFKA_SASL_USERNAME="vidnova-requests", KAFKA_SASL_PASSWORD="pw-from-the-secret",
        KAFKA_SSL_CAFILE=str(ca),
    )  # fmt: skip
    for client in clients(settings):
        assert client._security_protocol == "SASL_SSL"
        assert client._sasl_mechanism == "SCRAM-SHA-512"
        assert (client._sasl_plain_username, client._sasl_plain_password) == (
            "vidnova-requests", "pw-from-the-secret",
        )  # fmt: skip
        context: ssl.SSLContext = client._ssl_context
        assert context.verify_mode == ssl.CERT_REQUIRED
        assert context.check_hostname
        assert context.get_ca_certs()  # the CA from KAFKA_SSL_CAFILE, not only the system's


async def test_a_client_certificate_is_loaded_for_mutual_tls(tmp_path: Path) -> None:
    cert, key = self_signed_certificate(tmp_path)
    settings = KafkaSettings(
        KAFKA_SECURITY_PROTOCOL="SSL", KAFKA_SSL_CAFILE=str(cert),
        KAFKA_SSL_CERTFILE=str(cert), KAFKA_SSL_KEYFILE=str(key),
    )  # fmt: skip
    assert all(client._ssl_context is not None for client in clients(settings))


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"KAFKA_SECURITY_PROTOCOL": "TLS"}, "KAFKA_SECURITY_PROTOCOL"),
        ({"KAFKA_SASL_MECHANISM": "GSSAPI"}, "KAFKA_SASL_MECHANISM"),
        ({"KAFKA_SSL_CERTFILE": "/c.pem"}, "KAFKA_SSL_KEYFILE"),
    ],
)
def test_incomplete_or_unknown_security_settings_are_refused(env: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        KafkaSettings(**env)


@pytest.mark.parametrize(
    "env",
    [
        {"KAFKA_SECURITY_PROTOCOL": "SASL_SSL"},
        {"KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT", "KAFKA_SASL_USERNAME": "u"},
    ],
)
async def test_sasl_without_credentials_refuses_to_build_a_client(env: dict[str, str]) -> None:
    settings = KafkaSettings(**env)  # loads: a migration job reads these settings and makes no client
    with pytest.raises(ConfigurationError, match="KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD"):
        make_admin(settings)
