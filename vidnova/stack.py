"""`vidnova up`: the embedded default — broker, SQLite databases, migrations, three services, supervised."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

import httpx
from aiokafka.errors import KafkaError
from sqlalchemy.exc import SQLAlchemyError

from shared.auth import mint_token
from shared.db import Database
from shared.kafka import ensure_topics
from shared.migrations import upgrade
from shared.outbox import mark_for_replay
from shared.settings import ALL_SERVICE_NAMES, KafkaSettings, ServiceName, load_or_create_dev_secret
from vidnova.broker import EmbeddedBroker
from vidnova.demo_accounts import DemoSignIn, ensure_demo_accounts, totp_uri
from vidnova.kafka_cluster import KafkaCluster, wait_for_brokers
from vidnova.serve import settings_for
from vidnova.supervisor import Child, Supervisor

DEMO_IDENTITIES = (
    ("coordinator", {"sub": "coordinator@vidnova", "role": "coordinator"}),
    ("region_admin (Kharkiv, UA-63)", {"sub": "kharkiv-admin", "role": "region_admin", "region": "UA-63"}),
    ("donor (JICA)", {"sub": "jica-desk", "role": "donor", "donor_id": "jica"}),
    ("admin", {"sub": "ops@vidnova", "role": "admin"}),
)


@dataclass
class Stack:
    """The processes of a running embedded stack."""

    state_dir: Path
    broker: EmbeddedBroker | KafkaCluster | None = None
    children: dict[str, Child] = field(default_factory=dict)

    def stop(self) -> None:
        """SIGTERM every service (they drain and commit), then the broker."""
        running = {name: c.process for name, c in self.children.items() if c.process is not None}
        for process in running.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for name, process in running.items():
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                print(f"  {name} did not stop within 30 s; killing it", file=sys.stderr)
                process.kill()
        if self.broker is not None:
            self.broker.stop()
        for child in self.children.values():
            child.close()


def prepare_environment(state_dir: Path, *, kafka: str = "embedded") -> EmbeddedBroker | KafkaCluster | None:
    """Complete this process's environment (inherited by the services); start a broker if none is set.

    ``kafka="apache"`` runs one Apache Kafka node from its Maven Central jars, its log under
    ``state_dir/kafka`` (kept across runs, so nothing needs replaying); else the in-memory Tansu.
    """
    env = os.environ
    env.setdefault("VIDNOVA_AUTH_SECRET", load_or_create_dev_secret(state_dir))
    env.setdefault("WEBHOOK_ALLOW_PRIVATE", "1")
    env.setdefault("VIDNOVA_STATE_DIR", str(state_dir))
    for name in ALL_SERVICE_NAMES:
        env.setdefault(f"{name.upper()}_DATABASE_URL", f"sqlite+aiosqlite:///{state_dir.resolve()}/{name}.db")
    if env.get("KAFKA_BOOTSTRAP_SERVERS"):
        return None
    if kafka == "apache":
        print("Starting Apache Kafka (one KRaft node) …", flush=True)
        cluster = KafkaCluster(state_dir / "kafka", size=1)
        cluster.start()
        asyncio.run(wait_for_brokers(cluster.bootstrap_servers, 1))
        env.update(cluster.service_env())
        return cluster
    broker = EmbeddedBroker(log_path=state_dir / "logs" / "broker.log")
    env["KAFKA_BOOTSTRAP_SERVERS"] = broker.start()
    env["KAFKA_ENABLE_IDEMPOTENCE"] = "false"  # Tansu cannot do InitProducerId
    env.setdefault("KAFKA_STATIC_MEMBERSHIP", "false")  # nor let static members join
    # Tansu holds a restarted member's group for about twice the dead member's session: 2 s keeps
    # a crashed service's rejoin near 5 s (Apache Kafka refuses sessions under 6 s by default).
    env.setdefault("KAFKA_SESSION_TIMEOUT_MS", "2000")
    return broker


def migrate_all() -> None:
    """Apply every service's migrations (the console's too) to the configured databases."""
    for name in ALL_SERVICE_NAMES:
        upgrade(name, settings_for(name).database_url)


async def replay_outboxes() -> dict[str, int]:
    """After an in-memory broker restart, publish every stored event again (consumers dedupe)."""
    counts: dict[str, int] = {}
    for name in ALL_SERVICE_NAMES:
        db = Database(settings_for(name).database_url)
        try:
            async with db.session() as session, session.begin():
                counts[name] = await mark_for_replay(session)
        finally:
            await db.dispose()
    return counts


def start_services(stack: Stack) -> None:
    """Spawn `python -m services.NAME` for each service (NAME_INSTANCES of it), logs under the state dir."""
    log_dir = stack.state_dir / "logs"
    for name in ALL_SERVICE_NAMES:
        port = settings_for(name).port
        for index in range(1, int(os.environ.get(f"{name.upper()}_INSTANCES", "1")) + 1):
            label = name if index == 1 else f"{name}-{index}"
            # A further instance listens 100 ports up (8102, …); its consumers join the same groups.
            env = {**os.environ, f"{name.upper()}_PORT": str(port + 100 * (index - 1))}
            child = Child(name=label, service=name, env=env, log_path=log_dir / f"{label}.log")
            child.start()
            stack.children[label] = child


def after_broker_restart() -> str:
    """Topics again, then every outbox replayed: what a fresh in-memory broker needs; says what it did."""
    try:
        asyncio.run(ensure_topics(KafkaSettings()))
        replayed = asyncio.run(replay_outboxes())
    except (KafkaError, OSError, TimeoutError, SQLAlchemyError) as exc:
        return (
            f"but {type(exc).__name__}: {exc}; run `vidnova topics` and `vidnova outbox NAME --replay`"
            " for each service"
        )
    return f"topics created, outboxes replayed: {replayed}"


def service_urls() -> dict[ServiceName, str]:
    """Base URL of each service as configured, the console first."""
    return {name: f"http://127.0.0.1:{settings_for(name).port}" for name in ALL_SERVICE_NAMES}


def wait_ready(stack: Stack, *, timeout_s: float = 90.0) -> dict[ServiceName, str]:
    """Poll each service's /readyz until 200; returns name → base URL."""
    urls = service_urls()
    deadline = time.monotonic() + timeout_s
    pending = set(ALL_SERVICE_NAMES)
    with httpx.Client(timeout=2.0) as client:
        while pending:
            for name in sorted(pending):
                process = stack.children[name].process
                if process is not None and process.poll() is not None:
                    raise RuntimeError(
                        f"{name} exited with {process.returncode}; see {stack.state_dir}/logs/{name}.log"
                    )
                try:
                    if client.get(f"{urls[name]}/readyz").status_code == 200:
                        pending.discard(name)
                except httpx.HTTPError:
                    pass
            if pending and time.monotonic() > deadline:
                raise TimeoutError(f"not ready after {timeout_s}s: {', '.join(sorted(pending))}")
            if pending:
                time.sleep(0.2)
    return urls


def load_demo(urls: dict[ServiceName, str]) -> str:
    """Run `vidnova seed` against the stack unless SEED=0; one line saying what happened."""
    if os.environ.get("SEED", "1") == "0":
        return "not loaded (SEED=0)"
    from vidnova.seed import SeedError, seed

    print("Loading the demo scenario …", flush=True)
    try:
        report = asyncio.run(
            seed(
                requests_url=urls["requests"],
                allocation_url=urls["allocation"],
                secret=os.environ["VIDNOVA_AUTH_SECRET"],
            )
        )
    except (SeedError, httpx.HTTPError) as exc:
        print(f"  the demo scenario could not be loaded: {exc}", file=sys.stderr)
        return "failed to load (see above); `vidnova seed` retries it"
    return f"{report.summary()} (SEED=0 skips it)"


def load_demo_accounts(state_dir: Path) -> list[DemoSignIn]:
    """One console account per role unless SEED=0 (passwords generated once, kept in the state dir)."""
    if os.environ.get("SEED", "1") == "0":
        return []
    database_url = settings_for("console").database_url
    return asyncio.run(ensure_demo_accounts(state_dir=state_dir, database_url=database_url))


def print_sign_ins(sign_ins: list[DemoSignIn]) -> None:
    """Email and password of each demo account; the admin's second factor as an otpauth URI."""
    if not sign_ins:
        return
    print("Console sign-ins (demo accounts):")
    for sign_in in sign_ins:
        print(f"  {sign_in.role:<14} {sign_in.email:<28} password: {sign_in.password}")
        uri = totp_uri(sign_in)
        if uri:
            pad = " " * 16
            code = f".venv/bin/python -c \"import pyotp; print(pyotp.TOTP('{sign_in.totp_secret}').now())\""
            print(f"{pad}second factor: add this URI to an authenticator app, or run  {code}")
            print(f"{pad}{uri}")
    print()


def print_banner(
    urls: dict[ServiceName, str], state_dir: Path, *, demo: str, sign_ins: list[DemoSignIn] | None = None
) -> None:
    """The console URL first, then the services, where logs go, demo sign-ins and a token per role."""
    env = os.environ
    secret = env["VIDNOVA_AUTH_SECRET"]
    print("\nVidnova is up.\n")
    for name, url in urls.items():
        if name == "console":
            print(f"  {name:<14} {url}   ← open this in a browser\n")
            continue
        print(f"  {name:<14} {url}   (API docs: {url}/docs)")
    print(f"\n  broker         {env['KAFKA_BOOTSTRAP_SERVERS']}")
    print(f"  state & logs   {state_dir}/ (logs/<service>.log)")
    print(f"  demo scenario  {demo}\n")
    print_sign_ins(sign_ins or [])
    print("Bearer tokens (valid 12 h):")
    for label, claims in DEMO_IDENTITIES:
        token = mint_token(secret=secret, **claims)  # type: ignore[arg-type]
        print(f"\n  # {label}\n  export TOKEN_{claims['role'].upper()}={token}")
    print("\nCtrl-C stops everything.\n", flush=True)


def up(state_dir: Path, *, kafka: str = "embedded") -> int:
    """Run the embedded stack until interrupted; returns the exit status."""
    state_dir.mkdir(parents=True, exist_ok=True)
    stopping = False

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    broker = prepare_environment(state_dir, kafka=kafka)
    stack = Stack(state_dir=state_dir, broker=broker)
    try:
        print("Applying migrations …", flush=True)
        migrate_all()
        asyncio.run(ensure_topics(KafkaSettings()))
        if isinstance(broker, EmbeddedBroker):
            replayed = asyncio.run(replay_outboxes())
            if any(replayed.values()):
                print(f"Re-publishing stored events to the fresh embedded broker: {replayed}", flush=True)
        start_services(stack)
        supervisor = Supervisor(
            children=stack.children,
            # The embedded broker is restarted when it exits; an Apache Kafka node (`--kafka apache`) keeps
            # its log on disk and is left to whoever runs it, like any external broker.
            broker=broker if isinstance(broker, EmbeddedBroker) else None,
            after_broker_restart=after_broker_restart,
            state_dir=state_dir,
        )
        urls = wait_ready(stack)
        demo = load_demo(urls)
        print_banner(urls, state_dir, demo=demo, sign_ins=load_demo_accounts(state_dir))
        while not stopping:
            supervisor.tend()  # a service that exits comes back with backoff; so does the broker
            time.sleep(0.2)
        print("Stopping …", flush=True)
        return 0
    finally:
        stack.stop()
