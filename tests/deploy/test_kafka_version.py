"""Compose, Strimzi and the tests run one Kafka version: the one deploy/kafka/pom.xml fetches."""

from __future__ import annotations

from pathlib import Path

import yaml

from vidnova.kafka_cluster import kafka_version

ROOT = Path(__file__).resolve().parents[2]


def test_compose_runs_the_version_the_tests_run() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert compose["services"]["kafka"]["image"] == f"apache/kafka:{kafka_version()}"


def test_strimzi_pins_the_version_the_tests_run() -> None:
    documents = yaml.safe_load_all((ROOT / "deploy/kubernetes/base/kafka.yaml").read_text())
    kafka = next(doc for doc in documents if doc and doc["kind"] == "Kafka")
    assert str(kafka["spec"]["kafka"]["version"]) == kafka_version()


def test_the_version_is_read_from_the_pom() -> None:
    pom = (ROOT / "deploy/kafka/pom.xml").read_text()
    assert f"<kafka.version>{kafka_version()}</kafka.version>" in pom
    assert kafka_version().count(".") == 2
