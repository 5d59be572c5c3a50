"""Apache Kafka without Docker: the broker's jars from Maven Central, nodes in KRaft mode on loopback.

One node for `make run KAFKA=apache` and `make bench`; three for the tests' replication and broker faults.
Each node is combined (broker and controller in one JVM), as the compose file runs it. The jars live in a
cache outside the repository (``VIDNOVA_KAFKA_HOME``, default ``~/.cache/vidnova/kafka-<version>``),
fetched by Maven from ``deploy/kafka/pom.xml`` — the one place the Kafka version is written down.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import os
import re
import shutil
import signal
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from aiokafka.errors import KafkaError

from shared.kafka import make_admin
from shared.settings import KafkaSettings
from vidnova.broker import free_port, port_answers
from vidnova.cache import cache_dir
from vidnova.kafka_security import ScramTls
from vidnova.processes import die_with_parent, end_process

log = logging.getLogger(__name__)

POM = Path(__file__).resolve().parent.parent / "deploy" / "kafka" / "pom.xml"
STATE_FILE = "cluster.json"

LOG4J2 = """\
status = warn
appender.out.type = Console
appender.out.name = out
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = info
rootLogger.appenderRef.out.ref = out
logger.state.name = state.change.logger
logger.state.level = warn
logger.request.name = kafka.request.logger
logger.request.level = warn
"""


class KafkaUnavailable(RuntimeError):
    """Apache Kafka cannot be had on this machine (no Java, no Maven, or the jars cannot be fetched)."""


def kafka_version() -> str:
    """The Kafka version pinned in deploy/kafka/pom.xml (compose and Strimzi name the same one)."""
    if not POM.exists():
        raise KafkaUnavailable(f"{POM} is missing: run from a checkout of the repository")
    found = re.search(r"<kafka\.version>([^<]+)</kafka\.version>", POM.read_text())
    if found is None:
        raise KafkaUnavailable(f"no <kafka.version> in {POM}")
    return found.group(1)


def kafka_home() -> Path:
    """Where the jars are cached, outside the repository."""
    configured = os.environ.get("VIDNOVA_KAFKA_HOME")
    if configured:
        return Path(configured)
    return cache_dir() / f"kafka-{kafka_version()}"


def tools_present() -> bool:
    """Whether Java and Maven are on the PATH (SPEC §8: then the tests run on Apache Kafka)."""
    return shutil.which("java") is not None and shutil.which("mvn") is not None


def fetch_jars(home: Path | None = None) -> Path:
    """The broker's runtime jars, fetched by Maven once; returns the folder holding them."""
    libs = (home or kafka_home()) / "libs"
    complete = libs / ".complete"
    wanted = hashlib.sha256(POM.read_bytes()).hexdigest()  # a changed pom fetches again
    if complete.exists() and complete.read_text() == wanted:
        return libs
    if not tools_present():
        raise KafkaUnavailable("Apache Kafka needs Java 17+ and Maven on the PATH (java, mvn)")
    staging = libs.with_name("libs.partial")
    shutil.rmtree(staging, ignore_errors=True)
    command = [
        "mvn",
        "--batch-mode",
        "--quiet",
        "--file",
        str(POM),
        "dependency:copy-dependencies",
        "-DincludeScope=runtime",
        f"-DoutputDirectory={staging}",
    ]
    print(f"Fetching Apache Kafka {kafka_version()} from Maven Central into {libs} …", flush=True)
    result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        raise KafkaUnavailable(f"mvn could not fetch the Kafka jars:\n{result.stdout[-2000:]}")
    shutil.rmtree(libs, ignore_errors=True)
    staging.rename(libs)
    complete.write_text(wanted)
    return libs


def new_cluster_id() -> str:
    """A KRaft cluster id: 16 random bytes, base64url without padding, as `kafka-storage random-uuid`."""
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not text.startswith("-"):  # Kafka refuses ids that look like a command-line option
            return text


@dataclass
class KafkaNode:
    """One combined broker + controller JVM."""

    node_id: int
    port: int
    controller_port: int
    directory: Path
    process: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = None

    @property
    def config_path(self) -> Path:
        return self.directory / "server.properties"

    @property
    def data_dir(self) -> Path:
        return self.directory / "data"

    @property
    def log_path(self) -> Path:
        return self.directory / "broker.log"

    @property
    def running(self) -> bool:
        """Whether this node's JVM is alive."""
        return self.process is not None and self.process.poll() is None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def start(self, libs: Path, *, heap_mb: int, detached: bool = False) -> None:
        """Launch the JVM (returns at once; the cluster waits for readiness).

        A node dies with the process that started it unless ``detached`` (`vidnova kafka up`).
        """
        if self.running:
            return
        self._log = self.log_path.open("ab")
        command = [
            "java",
            f"-Xms{heap_mb // 2}m",
            f"-Xmx{heap_mb}m",
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={self.directory.parent / 'log4j2.properties'}",
            "-cp",
            f"{libs}/*",
            "kafka.Kafka",
            str(self.config_path),
        ]
        self.process = subprocess.Popen(  # noqa: S603 (fixed argv, no shell)
            command,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            preexec_fn=None if detached else die_with_parent,
            start_new_session=detached,
        )
        log.info("kafka node started", extra={"node": self.node_id, "pid": self.process.pid})

    def stop(self, *, timeout_s: float = 60.0) -> None:
        """SIGTERM (a controlled shutdown that hands leadership over), SIGKILL after the timeout."""
        self.signal(signal.SIGTERM)
        self._end(signal.SIGTERM, timeout_s)

    def signal(self, signum: int) -> None:
        """Send a signal without waiting (a cluster stops its nodes together: alone, the last one
        would wait for a controller quorum that is already gone)."""
        if self.running:
            assert self.process is not None
            self.process.send_signal(signum)

    def kill(self) -> None:
        """SIGKILL: the crash a power cut or an OOM killer causes."""
        self._end(signal.SIGKILL, 30.0)

    def _end(self, signum: int, timeout_s: float) -> None:
        process, self.process = self.process, None
        end_process(process, signum, timeout_s=timeout_s)
        if self._log is not None:
            self._log.close()
            self._log = None


@dataclass
class KafkaCluster:
    """Apache Kafka in KRaft mode on loopback: ``size`` combined nodes under ``directory``."""

    directory: Path
    size: int = 1
    heap_mb: int = 512
    nodes: list[KafkaNode] = field(default_factory=list)
    security: ScramTls | None = None  # SCRAM over TLS with ACLs enforced, instead of PLAINTEXT

    def __post_init__(self) -> None:
        if not self.nodes:
            self.nodes = self._load_or_plan()

    @property
    def replication_factor(self) -> int:
        """Replicas per partition: three on a cluster, one on a single node."""
        return min(3, self.size)

    @property
    def min_insync_replicas(self) -> int:
        """With three replicas an acknowledged write survives the loss of any one broker."""
        return 2 if self.replication_factor >= 3 else 1

    @property
    def bootstrap_servers(self) -> str:
        return ",".join(f"127.0.0.1:{node.port}" for node in self.nodes)

    def service_env(self) -> dict[str, str]:
        """The settings a service needs to use this cluster as production does."""
        return {
            "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap_servers,
            "KAFKA_ENABLE_IDEMPOTENCE": "true",
            "KAFKA_TOPIC_REPLICATION_FACTOR": str(self.replication_factor),
            "KAFKA_TOPIC_MIN_INSYNC_REPLICAS": str(self.min_insync_replicas),
            # Apache Kafka answers a waiting fetch as soon as data arrives (Tansu only at the deadline).
            "KAFKA_FETCH_MAX_WAIT_MS": "500",
        }

    def node(self, node_id: int) -> KafkaNode:
        return next(node for node in self.nodes if node.node_id == node_id)

    def node_on_port(self, port: int) -> KafkaNode:
        return next(node for node in self.nodes if node.port == port)

    def _load_or_plan(self) -> list[KafkaNode]:
        state = self.directory / STATE_FILE
        if state.exists():  # a cluster started before keeps its ports: its log names them
            saved = json.loads(state.read_text())
            self.size = len(saved["nodes"])
            return [
                KafkaNode(n["node_id"], n["port"], n["controller_port"], self.directory / n["name"])
                for n in saved["nodes"]
            ]
        ids = range(1, self.size + 1)
        return [KafkaNode(i, free_port(), free_port(), self.directory / f"node-{i}") for i in ids]

    def _save(self) -> None:
        nodes = [
            {
                "node_id": node.node_id,
                "name": node.directory.name,
                "port": node.port,
                "controller_port": node.controller_port,
                "pid": node.pid,
            }
            for node in self.nodes
        ]
        (self.directory / STATE_FILE).write_text(json.dumps({"nodes": nodes}, indent=2))

    def _properties(self, node: KafkaNode) -> dict[str, Any]:
        voters = ",".join(f"{n.node_id}@127.0.0.1:{n.controller_port}" for n in self.nodes)
        replicas, min_isr = self.replication_factor, self.min_insync_replicas
        return {
            "process.roles": "broker,controller",
            "node.id": node.node_id,
            "controller.quorum.voters": voters,
            "listeners": f"PLAINTEXT://127.0.0.1:{node.port},CONTROLLER://127.0.0.1:{node.controller_port}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{node.port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": node.data_dir,
            "num.partitions": 3,
            "default.replication.factor": replicas,
            "min.insync.replicas": min_isr,
            "offsets.topic.replication.factor": replicas,
            "offsets.topic.num.partitions": 12,
            "transaction.state.log.replication.factor": replicas,
            "transaction.state.log.min.isr": min_isr,
            "share.coordinator.state.topic.replication.factor": replicas,
            "share.coordinator.state.topic.min.isr": min_isr,
            "unclean.leader.election.enable": "false",
            "auto.create.topics.enable": "false",
            "group.initial.rebalance.delay.ms": 0,
        } | (
            self.security.broker_properties(port=node.port, controller_port=node.controller_port)
            if self.security
            else {}
        )

    def format(self, libs: Path) -> None:
        """Write each node's configuration and format its storage once (a restarted cluster keeps its log)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        (self.directory / "log4j2.properties").write_text(LOG4J2)
        cluster_id = new_cluster_id()
        formatting: list[tuple[KafkaNode, subprocess.Popen[bytes]]] = []
        for node in self.nodes:
            node.directory.mkdir(parents=True, exist_ok=True)
            properties = self._properties(node)
            node.config_path.write_text("".join(f"{key}={value}\n" for key, value in properties.items()))
            if (node.data_dir / "meta.properties").exists():
                continue
            command = ["java", "-cp", f"{libs}/*", "kafka.tools.StorageTool", "format"]
            command += ["--cluster-id", cluster_id, "--config", str(node.config_path)]
            command += self.security.format_arguments() if self.security else []
            formatting.append(
                (node, subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT))  # noqa: S603
            )
        for node, process in formatting:
            output, _ = process.communicate(timeout=120)
            if process.returncode != 0:
                raise KafkaUnavailable(f"formatting node {node.node_id} failed:\n{output.decode()[-2000:]}")

    def start(self, *, timeout_s: float = 120.0, detached: bool = False) -> str:
        """Fetch the jars if needed, format once, start every node, wait until each listens."""
        libs = fetch_jars()
        self.format(libs)
        for node in self.nodes:
            node.start(libs, heap_mb=self.heap_mb, detached=detached)
        self._save()
        self.wait_listening(self.nodes, timeout_s=timeout_s)
        return self.bootstrap_servers

    def start_node(self, node: KafkaNode, *, timeout_s: float = 120.0) -> None:
        """Start one stopped node again on its old ports and data."""
        node.start(fetch_jars(), heap_mb=self.heap_mb)
        self._save()
        self.wait_listening([node], timeout_s=timeout_s)

    def wait_listening(self, nodes: list[KafkaNode], *, timeout_s: float) -> None:
        """Until every given node accepts connections on its client port (a JVM that exits fails it)."""
        deadline = time.monotonic() + timeout_s
        for node in nodes:
            while not port_answers(node.port):
                if not node.running:
                    raise KafkaUnavailable(f"kafka node {node.node_id} exited; see {node.log_path}")
                if time.monotonic() > deadline:
                    raise TimeoutError(f"kafka node {node.node_id} did not listen within {timeout_s}s")
                time.sleep(0.1)

    def stop(self) -> None:
        """Stop every node together (controlled shutdown); the log stays on disk."""
        for node in self.nodes:
            node.signal(signal.SIGTERM)
        for node in self.nodes:
            node.stop()
        if self.directory.exists():
            self._save()


def running_pids(directory: Path) -> list[int]:
    """Pids of the live Kafka nodes a `vidnova kafka up` recorded under ``directory``."""
    state = directory / STATE_FILE
    if not state.exists():
        return []
    pids = [item.get("pid") for item in json.loads(state.read_text())["nodes"]]
    return [pid for pid in pids if pid and _is_kafka(pid)]


def stop_by_pids(directory: Path, *, timeout_s: float = 60.0) -> int:
    """Stop (together) the nodes a `vidnova kafka up` in another process started; returns how many."""
    pids = running_pids(directory)
    for pid in pids:
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while any(_is_kafka(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid in pids:
        if _is_kafka(pid):
            os.kill(pid, signal.SIGKILL)
    return len(pids)


def _is_kafka(pid: int) -> bool:
    """Whether pid is a live Kafka JVM (not a recycled pid of something else)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"kafka.Kafka" in cmdline


async def wait_for_brokers(bootstrap_servers: str, count: int, *, timeout_s: float = 120.0) -> None:
    """Until the cluster's metadata lists ``count`` brokers (listening is not yet serving)."""
    deadline = time.monotonic() + timeout_s
    last: object = None
    while time.monotonic() < deadline:
        admin = make_admin(KafkaSettings(bootstrap_servers=bootstrap_servers))
        try:
            await admin.start()
            last = await admin.describe_cluster()
            if isinstance(last, dict) and len(last.get("brokers", [])) >= count:
                return
        except (KafkaError, OSError) as exc:
            last = exc
        finally:
            await admin.close()
        await asyncio.sleep(0.2)
    raise TimeoutError(f"{count} brokers not serving within {timeout_s}s; last: {last!r}")
