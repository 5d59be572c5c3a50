"""What `vidnova up` does while the stack runs: bring back whatever exits.

A service that exits is started again after a backoff that doubles with each quick failure (and
resets once it has stayed up a while). A broker that exits is started again on the same port with a
fresh cluster id; the topics are created again and every outbox is replayed. The consumers of the
running services notice the new cluster id and read the fresh log from its beginning on their own
(shared/log_reset.py); their processed-events tables make the replayed events no-ops.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from vidnova.broker import EmbeddedBroker
from vidnova.processes import die_with_parent


@dataclass
class Child:
    """One supervised service process and its restart history."""

    name: str  # "allocation", or "allocation-2" for a second instance
    service: str
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    failures: int = 0
    restart_at: float | None = None
    restarts: int = 0
    _log: IO[bytes] | None = field(default=None, repr=False)

    def start(self) -> None:
        """Spawn `python -m services.SERVICE` with this child's environment, output to its log."""
        if self._log is None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(  # noqa: S603 (our own interpreter and module)
            [sys.executable, "-m", f"services.{self.service}"],
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent,
        )
        self.started_at = time.monotonic()
        self.restart_at = None

    def note(self, message: str, *, level: str = "WARNING") -> None:
        """A JSON line in the child's own log, shaped like the service's lines."""
        if self._log is None:
            return
        entry = {
            "time": datetime.now(UTC).isoformat(),
            "level": level,
            "service": self.service,
            "logger": "vidnova.supervisor",
            "message": message,
        }
        self._log.write((json.dumps(entry) + "\n").encode())
        self._log.flush()

    def close(self) -> None:
        """Close the log handle (the process is already stopped)."""
        if self._log is not None:
            self._log.close()
            self._log = None


@dataclass
class Backoff:
    """Delays between restarts: doubling from ``initial_s`` up to ``max_s``; forgiven after ``healthy_s``."""

    initial_s: float = 0.25
    max_s: float = 30.0
    healthy_s: float = 30.0

    def delay(self, failures: int) -> float:
        """Seconds to wait before the restart after ``failures`` quick exits in a row."""
        return float(min(self.initial_s * 2 ** max(failures - 1, 0), self.max_s))


class Supervisor:
    """Restarts exited services and the embedded broker; call ``tend`` from the run loop."""

    def __init__(
        self,
        *,
        children: dict[str, Child],
        broker: EmbeddedBroker | None,
        after_broker_restart: Callable[[], str],
        state_dir: Path,
        backoff: Backoff | None = None,
        say: Callable[[str], None] | None = None,
    ) -> None:
        self.children = children
        self.broker = broker
        self.after_broker_restart = after_broker_restart
        self.state_dir = state_dir
        self.backoff = backoff or Backoff()
        self.say = say or (lambda line: print(line, file=sys.stderr, flush=True))
        self.broker_failures = 0
        self.broker_restarts = 0
        self.write_processes()

    def tend(self) -> None:
        """One round: the broker first (services need it), then each service."""
        if self.broker is not None and not self.broker.running:
            self._restart_broker()
        now = time.monotonic()
        for child in self.children.values():
            self._tend_child(child, now)

    def _tend_child(self, child: Child, now: float) -> None:
        process = child.process
        if process is not None and process.poll() is None:
            if child.failures and now - child.started_at >= self.backoff.healthy_s:
                child.failures = 0
            return
        if child.restart_at is None:  # it has just exited: schedule the restart
            code = process.returncode if process is not None else None
            child.failures += 1
            delay = self.backoff.delay(child.failures)
            child.restart_at = now + delay
            message = (
                f"{child.name} exited with {code}; restarting in {delay:.1f} s (attempt {child.failures})"
            )
            self.say(f"  {message}; see {child.log_path}")
            child.note(message)
            return
        if now >= child.restart_at:
            child.start()
            child.restarts += 1
            child.note(f"{child.name} restarted by vidnova up", level="INFO")
            self.say(f"  {child.name} restarted (pid {child.process.pid if child.process else '?'})")
            self.write_processes()

    def _restart_broker(self) -> None:
        assert self.broker is not None
        self.broker_failures += 1
        delay = self.backoff.delay(self.broker_failures - 1) if self.broker_failures > 1 else 0.0
        self.say(f"  the embedded broker exited; starting it again on port {self.broker.port}")
        if delay:
            time.sleep(delay)
        self.broker.stop()  # closes the old log handle
        try:
            self.broker.start()
        except (RuntimeError, TimeoutError) as exc:
            self.say(f"  the embedded broker did not start: {exc}; retrying")
            return
        self.broker_restarts += 1
        self.broker_failures = 0
        self.say(f"  broker back (cluster {self.broker.cluster_id}); {self.after_broker_restart()}")
        self.write_processes()

    def write_processes(self) -> None:
        """`<state>/processes.json`: name → pid of what runs now (for operators and the chaos runs)."""
        pids = {name: c.process.pid for name, c in self.children.items() if c.process is not None}
        if self.broker is not None and self.broker.pid is not None:
            pids["broker"] = self.broker.pid
        path = self.state_dir / "processes.json"
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps({"up": os.getpid(), **pids}, indent=2))
        temporary.replace(path)
