"""The system under test, started as `make run` starts it: `vidnova up` with a private state directory."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx

from bench.processes import children_of, command_line, cpu_seconds, free_port, status_kib
from shared.auth import Role, mint_token
from shared.settings import SERVICE_NAMES, ServiceName, load_or_create_dev_secret


@dataclass
class RunningStack:
    """A `vidnova up` process and what it started."""

    process: subprocess.Popen[bytes]
    state_dir: Path
    ports: dict[ServiceName, int]
    secret: str
    log: IO[bytes]
    infrastructure: dict[str, str]
    # Processes the stack uses but `vidnova up` did not start (an Apache Kafka node): name → pid.
    outside: dict[str, int] = field(default_factory=dict)

    def url(self, name: ServiceName) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def token(self, role: Role, **scope: str) -> str:
        """A bearer token signed with the stack's secret."""
        return mint_token(secret=self.secret, sub=f"bench-{role}", role=role, **scope)

    def headers(self, role: Role, **scope: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(role, **scope)}"}

    def processes(self) -> dict[str, int]:
        """Service (and embedded broker) pids, found among `vidnova up`'s children by command line."""
        found: dict[str, int] = dict(self.outside)
        for pid in children_of(self.process.pid):
            argv = command_line(pid)
            for name in SERVICE_NAMES:
                if f"services.{name}" in argv:
                    found[name] = pid
            if "tansu" in argv or "broker --listener-url" in argv:
                found["broker (Tansu)"] = pid
        return found

    def memory(self) -> dict[str, dict[str, float | None]]:
        """Peak and current RSS (MiB) of each process, from /proc/<pid>/status."""
        out = {}
        for name, pid in sorted(self.processes().items()):
            peak, now = status_kib(pid, "VmHWM"), status_kib(pid, "VmRSS")
            out[name] = {
                "peak_rss_mib": round(peak / 1024, 1) if peak else None,
                "rss_mib": round(now / 1024, 1) if now else None,
            }
        return out

    def cpu_seconds(self) -> dict[str, float]:
        """User + system CPU seconds each process has used so far."""
        used = {name: cpu_seconds(pid) for name, pid in sorted(self.processes().items())}
        return {name: round(seconds, 2) for name, seconds in used.items() if seconds is not None}

    def log_tail(self, lines: int = 20) -> str:
        path = self.state_dir / "up.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def stop(self, timeout_s: float = 60.0) -> int | None:
        """SIGTERM `vidnova up` (it stops the services, then the broker), SIGKILL its group if it hangs."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()
        return self.process.returncode


def stack_environment(
    state_dir: Path, ports: dict[ServiceName, int]
) -> tuple[dict[str, str], dict[str, str]]:
    """The environment `vidnova up` gets, and a description of the infrastructure it will use."""
    env = {
        **os.environ,
        "VIDNOVA_STATE_DIR": str(state_dir),
        "SEED": "0",
        "PYTHONUNBUFFERED": "1",
        "RATE_LIMIT_WRITES_PER_MIN": "0",  # the load comes through a few tokens (SPEC §14.6)
        **{f"{name.upper()}_PORT": str(port) for name, port in ports.items()},
    }
    infrastructure = {"broker": "embedded Tansu (started by vidnova up)"}
    if env.get("KAFKA_BOOTSTRAP_SERVERS"):
        infrastructure["broker"] = f"external {os.environ['KAFKA_BOOTSTRAP_SERVERS']}"
        # An external broker outlives the run: keep the bench's events out of everyone else's topics.
        env.setdefault("VIDNOVA_TOPIC_PREFIX", f"bench{uuid.uuid4().hex[:8]}")
    for name in SERVICE_NAMES:
        key = f"{name.upper()}_DATABASE_URL"
        infrastructure[f"{name} database"] = (
            "external (from the environment)" if key in os.environ else "SQLite"
        )
    return env, infrastructure


def start_stack(
    work_dir: Path,
    *,
    timeout_s: float = 120.0,
    broker_env: dict[str, str] | None = None,
    outside: dict[str, int] | None = None,
    extra_env: dict[str, str] | None = None,
    without: tuple[str, ...] = (),
) -> RunningStack:
    """Run `vidnova up` in a subprocess on free ports and wait until every service is ready.

    ``broker_env`` points the stack at a broker the caller started (``outside`` names its processes);
    ``extra_env`` adds settings and ``without`` removes inherited ones.
    """
    state_dir = work_dir / "vidnova-state"
    state_dir.mkdir(parents=True, exist_ok=True)
    ports = {name: free_port() for name in SERVICE_NAMES}
    env, infrastructure = stack_environment(state_dir, ports)
    if broker_env:
        env.update(broker_env)
        infrastructure["broker"] = ", ".join(outside or {}) or broker_env["KAFKA_BOOTSTRAP_SERVERS"]
    env.update(extra_env or {})
    for name in without:
        env.pop(name, None)
    # `vidnova up` signs with VIDNOVA_AUTH_SECRET if set, else with the file this creates first.
    secret = os.environ.get("VIDNOVA_AUTH_SECRET") or load_or_create_dev_secret(state_dir)
    log = (state_dir / "up.log").open("ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "vidnova.cli", "up"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    stack = RunningStack(process, state_dir, ports, secret, log, infrastructure, dict(outside or {}))
    try:
        _wait_ready(stack, timeout_s)
    except BaseException:
        stack.stop()
        raise
    return stack


def _wait_ready(stack: RunningStack, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    pending = set(SERVICE_NAMES)
    last: dict[str, Any] = {}
    with httpx.Client(timeout=2.0) as client:
        while pending:
            if stack.process.poll() is not None:
                raise RuntimeError(f"vidnova up exited with {stack.process.returncode}:\n{stack.log_tail()}")
            for name in sorted(pending):
                try:
                    response = client.get(f"{stack.url(name)}/readyz")
                    last[name] = response.status_code
                    if response.status_code == 200:
                        pending.discard(name)
                except httpx.HTTPError as exc:
                    last[name] = type(exc).__name__
            if pending and time.monotonic() > deadline:
                raise TimeoutError(f"not ready after {timeout_s} s: {last}\n{stack.log_tail()}")
            time.sleep(0.2)
