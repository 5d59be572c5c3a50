"""Service processes under test: real `python -m services.NAME` processes on free ports."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx

from shared.auth import mint_token
from shared.kafka import ensure_topics
from shared.migrations import upgrade
from shared.settings import ALL_SERVICE_NAMES, SERVICE_NAMES, KafkaSettings, ServiceName
from tests.support.infra import BrokerChoice, DatabaseChoice, kafka_settings_from, new_database_url
from vidnova.broker import free_port
from vidnova.processes import die_with_parent

IDENTITIES: dict[str, dict[str, Any]] = {
    "coordinator": {"sub": "coord-1", "role": "coordinator"},
    "admin": {"sub": "ops-1", "role": "admin"},
    "kharkiv": {"sub": "kharkiv-admin", "role": "region_admin", "region": "UA-63"},
    "odesa": {"sub": "odesa-admin", "role": "region_admin", "region": "UA-51"},
    "jica": {"sub": "jica-desk", "role": "donor", "donor_id": "jica"},
    "undp": {"sub": "undp-desk", "role": "donor", "donor_id": "undp"},
}


@dataclass
class ServiceStack:
    """Service processes (three, fewer, or the console too) sharing one broker, each with its own database."""

    env: dict[str, str]
    log_dir: Path
    names: tuple[ServiceName, ...]
    secret: str
    ports: dict[ServiceName, int]
    processes: dict[ServiceName, subprocess.Popen[bytes]] = field(default_factory=dict)
    _logs: list[IO[bytes]] = field(default_factory=list)

    def url(self, name: ServiceName) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def token(self, who: str) -> str:
        return mint_token(secret=self.secret, **IDENTITIES[who])

    def headers(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(who)}"}

    def client(self, name: ServiceName, who: str | None = None) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self.url(name), headers=self.headers(who) if who else {}, timeout=httpx.Timeout(30.0)
        )

    def database_url(self, name: ServiceName) -> str:
        return self.env[f"{name.upper()}_DATABASE_URL"]

    def kafka_settings(self) -> KafkaSettings:
        return kafka_settings_from(self.env, topic_prefix=self.env["VIDNOVA_TOPIC_PREFIX"])

    def start(self, name: ServiceName, **extra_env: str) -> None:
        handle = (self.log_dir / f"{name}.log").open("ab")
        self._logs.append(handle)
        self.processes[name] = subprocess.Popen(
            [sys.executable, "-m", f"services.{name}"],
            env={**self.env, **extra_env},
            stdout=handle,
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent,  # a killed test run leaves no service behind
        )

    def signal(self, name: ServiceName, signum: int) -> int | None:
        """Send a signal and wait for the process to exit; returns its exit code."""
        process = self.processes.pop(name)
        process.send_signal(signum)
        try:
            return process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            return process.wait()

    async def wait_ready(self, names: tuple[ServiceName, ...] | None = None, timeout_s: float = 60.0) -> None:
        pending = set(names or self.names)
        deadline = time.monotonic() + timeout_s
        last: dict[str, Any] = {}
        async with httpx.AsyncClient(timeout=3.0) as client:
            while pending:
                for name in sorted(pending):
                    process = self.processes[name]
                    if process.poll() is not None:
                        raise RuntimeError(f"{name} exited {process.returncode}:\n{self.log_tail(name)}")
                    try:
                        response = await client.get(f"{self.url(name)}/readyz")
                    except httpx.HTTPError as exc:
                        last[name] = repr(exc)
                        continue
                    last[name] = response.text
                    if response.status_code == 200:
                        pending.discard(name)
                if pending:
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"not ready: {sorted(pending)}; last: {last}")
                    await asyncio.sleep(0.1)

    def log_tail(self, name: ServiceName, lines: int = 30) -> str:
        path = self.log_dir / f"{name}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def stop(self) -> None:
        for name in list(self.processes):
            self.signal(name, signal.SIGTERM)
        for handle in self._logs:
            handle.close()


async def make_stack(
    *,
    broker: BrokerChoice,
    database: DatabaseChoice,
    tmp_dir: Path,
    names: tuple[ServiceName, ...] = SERVICE_NAMES,
    bootstrap_servers: str | None = None,
    start: bool = True,
    **extra_env: str,
) -> ServiceStack:
    """Fresh databases (migrated), a private topic prefix, and the services started and ready."""
    prefix = f"t{uuid.uuid4().hex[:8]}"
    log_dir = tmp_dir / prefix
    log_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    ports = {name: free_port() for name in ALL_SERVICE_NAMES}
    env = {
        **os.environ,
        **broker.service_env(),
        **({"KAFKA_BOOTSTRAP_SERVERS": bootstrap_servers} if bootstrap_servers else {}),
        # Tansu (no idempotent producer either) lets no static member join its groups.
        "KAFKA_STATIC_MEMBERSHIP": os.environ.get(
            "KAFKA_STATIC_MEMBERSHIP", "true" if broker.supports_idempotence else "false"
        ),
        "VIDNOVA_TOPIC_PREFIX": prefix,
        "VIDNOVA_AUTH_SECRET": secret,
        "VIDNOVA_STATE_DIR": str(log_dir),
        "WEBHOOK_ALLOW_PRIVATE": "1",
        "OUTBOX_POLL_INTERVAL_S": "1",
        "PYTHONUNBUFFERED": "1",
        # Tests drive many writes through a few identities; test_rate_limit.py turns it on.
        "RATE_LIMIT_WRITES_PER_MIN": "0",
        **{f"{name.upper()}_PORT": str(port) for name, port in ports.items()},
        # The console calls the services here and puts its own address in the links it e-mails.
        **{f"{name.upper()}_URL": f"http://127.0.0.1:{ports[name]}" for name in SERVICE_NAMES},
        "CONSOLE_PUBLIC_URL": f"http://127.0.0.1:{ports['console']}",
        **extra_env,
    }
    # The console's database only when the console runs: most tests never start it.
    for name in (*SERVICE_NAMES, *(("console",) if "console" in names else ())):
        key = f"{name.upper()}_DATABASE_URL"
        if key not in extra_env:
            env[key] = await new_database_url(database, tmp_dir, name)
            await asyncio.to_thread(upgrade, name, env[key])
    stack = ServiceStack(env=env, log_dir=log_dir, names=names, secret=secret, ports=ports)
    await ensure_topics(stack.kafka_settings())
    if start:
        for name in names:
            stack.start(name)
        await stack.wait_ready()
    return stack
