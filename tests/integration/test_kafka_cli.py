"""`vidnova kafka up|down`: Apache Kafka from its jars, detached, stopped again by the pids it recorded."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from vidnova.kafka_cluster import running_pids, tools_present, wait_for_brokers


def _vidnova(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "vidnova.cli", "kafka", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "KAFKA_BOOTSTRAP_SERVERS": ""},
    )


@pytest.mark.skipif(not tools_present(), reason="needs Java and Maven for Apache Kafka")
async def test_kafka_up_outlives_the_command_and_down_stops_it(tmp_path: Path) -> None:
    directory = tmp_path / "kafka"
    up = _vidnova("up", "--nodes", "1", "--dir", str(directory))
    assert up.returncode == 0, up.stderr
    lines = [line.removeprefix("export ") for line in up.stdout.splitlines() if line.startswith("export ")]
    exports = dict(line.split("=", 1) for line in lines)
    try:
        pids = running_pids(directory)
        assert len(pids) == 1  # detached: alive after the command returned
        await wait_for_brokers(exports["KAFKA_BOOTSTRAP_SERVERS"], 1, timeout_s=60)
        again = _vidnova("up", "--nodes", "1", "--dir", str(directory))
        assert again.returncode == 1
        assert "vidnova kafka down" in again.stderr
    finally:
        down = _vidnova("down", "--dir", str(directory))
    assert down.returncode == 0, down.stderr
    assert "stopped 1" in down.stdout
    assert running_pids(directory) == []
