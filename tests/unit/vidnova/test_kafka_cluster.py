"""The Apache Kafka launcher's configuration: what each node is told, and what survives a restart."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from vidnova.kafka_cluster import STATE_FILE, KafkaCluster, new_cluster_id


def test_cluster_ids_are_sixteen_random_bytes_in_unpadded_base64url() -> None:
    ids = {new_cluster_id() for _ in range(200)}
    assert len(ids) == 200
    for cluster_id in ids:
        assert len(cluster_id) == 22
        assert not cluster_id.startswith("-")
        assert len(base64.urlsafe_b64decode(cluster_id + "==")) == 16


def test_three_nodes_replicate_three_times_and_need_two_in_sync(tmp_path: Path) -> None:
    cluster = KafkaCluster(tmp_path, size=3)
    properties = [cluster._properties(node) for node in cluster.nodes]
    voters = {p["controller.quorum.voters"] for p in properties}
    assert len(voters) == 1  # every node names the same static quorum of all three
    assert len(voters.pop().split(",")) == 3
    for p in properties:
        assert p["default.replication.factor"] == 3
        assert p["min.insync.replicas"] == 2
        assert p["offsets.topic.replication.factor"] == 3
        assert p["transaction.state.log.min.isr"] == 2
        assert p["unclean.leader.election.enable"] == "false"
        assert p["auto.create.topics.enable"] == "false"
    env = cluster.service_env()
    assert env["KAFKA_ENABLE_IDEMPOTENCE"] == "true"
    assert (env["KAFKA_TOPIC_REPLICATION_FACTOR"], env["KAFKA_TOPIC_MIN_INSYNC_REPLICAS"]) == ("3", "2")
    assert len(env["KAFKA_BOOTSTRAP_SERVERS"].split(",")) == 3


def test_a_single_node_does_not_ask_for_replicas_it_cannot_have(tmp_path: Path) -> None:
    cluster = KafkaCluster(tmp_path, size=1)
    p = cluster._properties(cluster.nodes[0])
    assert (p["default.replication.factor"], p["min.insync.replicas"]) == (1, 1)


def test_a_cluster_started_before_comes_back_on_its_ports(tmp_path: Path) -> None:
    first = KafkaCluster(tmp_path, size=3)
    first._save()
    saved = json.loads((tmp_path / STATE_FILE).read_text())
    assert [n["node_id"] for n in saved["nodes"]] == [1, 2, 3]
    again = KafkaCluster(tmp_path, size=1)  # the saved cluster wins: its log names its ports
    assert again.size == 3
    assert [(n.port, n.controller_port) for n in again.nodes] == [
        (n.port, n.controller_port) for n in first.nodes
    ]
