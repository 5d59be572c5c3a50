"""Compose's Kafka is the broker the wire tests prove: SCRAM over TLS, ACLs enforced, the Strimzi grants."""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from tests.deploy.test_compose import broker_properties
from tests.support.kafka_admin import compose_grants, strimzi_acls
from vidnova.kafka_security import security_properties

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_KAFKA = ROOT / "deploy/compose/kafka"


def test_every_client_listener_is_scram_over_tls() -> None:
    properties = broker_properties()
    protocols = dict(pair.split(":") for pair in properties["listener.security.protocol.map"].split(","))
    listeners = [listener.split("://")[0] for listener in properties["listeners"].split(",")]
    for name in listeners:
        expected = "PLAINTEXT" if name == properties["controller.listener.names"] else "SASL_SSL"
        assert protocols[name] == expected, name
    assert "CONTROLLER" not in properties["advertised.listeners"]


def test_the_security_settings_are_the_ones_the_wire_tests_prove() -> None:
    properties = broker_properties()
    proven = security_properties("/etc/kafka/certs", admin_password="@ADMIN_PASSWORD@")
    jaas = proven.pop("listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config")
    for key, value in proven.items():
        assert properties[key] == value, key
    for listener in ("internal", "external"):
        assert properties[f"listener.name.{listener}.scram-sha-512.sasl.jaas.config"] == jaas


def test_compose_grants_what_strimzi_grants() -> None:
    strimzi = {
        (user, tuple(acl["operations"]), acl["resource"]["type"], acl["resource"]["name"])
        for user, acls in strimzi_acls().items()
        for acl in acls
    }
    assert compose_grants() == strimzi


def test_the_broker_is_formatted_with_every_user_compose_connects_as() -> None:
    start = (COMPOSE_KAFKA / "start.sh").read_text()
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    users = {
        service["environment"]["KAFKA_SASL_USERNAME"]
        for service in compose["services"].values()
        if "KAFKA_SASL_USERNAME" in service.get("environment", {})
    }
    assert users == {
        "admin", "vidnova-console", "vidnova-requests", "vidnova-allocation", "vidnova-notifications",
    }  # fmt: skip
    for user in users:
        assert f"scram {user} " in start, user
    for script in ("start.sh", "acls.sh", "admin-client.sh"):
        assert os.access(COMPOSE_KAFKA / script, os.X_OK), script
