"""Section 2b, the same system on Apache Kafka: one KRaft node from its Maven Central jars, beside Tansu.

The node's own raw limits are measured first, in this run, so the system's figures on it are read against
the broker it actually used; the HTTP and database limits are section 1's.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from pathlib import Path

from bench.raw import FULL as RAW_FULL
from bench.raw import QUICK as RAW_QUICK
from bench.raw import RawLimits
from bench.raw_broker import measure_broker
from bench.report import Section
from bench.system import run_system
from vidnova.kafka_cluster import KafkaCluster, kafka_version, wait_for_brokers


def run_system_on_kafka(work_dir: Path, *, quick: bool, raw: RawLimits | None) -> Section:
    """Start one Apache Kafka node, measure its raw limits, run section 2's phases on it, stop it."""
    title = f"2b. The system on Apache Kafka {kafka_version()} (one KRaft node, idempotent producers)"
    section = Section("system-kafka", title)
    started = time.perf_counter()
    cluster = KafkaCluster(work_dir / "apache-kafka", size=1)
    cluster.start()
    try:
        asyncio.run(wait_for_brokers(cluster.bootstrap_servers, 1))
        plan = RAW_QUICK if quick else RAW_FULL
        broker = asyncio.run(
            measure_broker(
                cluster.bootstrap_servers,
                messages=plan.broker_messages,
                one_by_one=plan.one_by_one,
                round_trip_count=plan.round_trips,
                idempotent=True,
            )
        )
        section.details["raw_broker"] = broker.as_dict()
        on_kafka = dataclasses.replace(raw, broker=broker) if raw else RawLimits(broker=broker)
        node = cluster.nodes[0]
        assert node.pid is not None
        run_system(
            work_dir / "on-apache-kafka",
            quick=quick,
            raw=on_kafka,
            section=section,
            broker_env=cluster.service_env(),
            outside={"broker (Apache Kafka)": node.pid},
        )
    finally:
        cluster.stop()
    section.notes.insert(
        0,
        f"Raw broker on this node: batched produce {broker.produce_per_s or 0:,.0f} msg/s, "
        f"send_and_wait {broker.send_and_wait_per_s or 0:,.0f} msg/s (idempotent, acks=all). The ratios "
        "below are against this node's raw figures and section 1's HTTP and database limits.",
    )
    section.elapsed_s = time.perf_counter() - started
    return section
