"""The `vidnova` console command."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import cast

from shared.auth import ROLES, Role, mint_token
from shared.settings import ALL_SERVICE_NAMES, AuthSettings, KafkaSettings
from vidnova.account_cli import add_account_command
from vidnova.broker import EmbeddedBrokerMissing
from vidnova.dlq_cli import add_dlq_command
from vidnova.serve import settings_for


def _state_dir() -> Path:
    return Path(os.environ.get("VIDNOVA_STATE_DIR", ".vidnova"))


def cmd_up(args: argparse.Namespace) -> int:
    from vidnova.stack import up

    return up(_state_dir(), kafka=args.kafka)


def cmd_kafka(args: argparse.Namespace) -> int:
    from vidnova.kafka_cluster import (
        KafkaCluster,
        KafkaUnavailable,
        fetch_jars,
        running_pids,
        stop_by_pids,
        wait_for_brokers,
    )

    directory = Path(args.dir) if args.dir else _state_dir() / "kafka"
    try:
        if args.action == "fetch":
            print(f"Apache Kafka jars in {fetch_jars()}")
            return 0
        if args.action == "down":
            print(f"stopped {stop_by_pids(directory)} Kafka node(s) of {directory}")
            return 0
        if running_pids(directory):
            print(f"error: Kafka of {directory} is running; `vidnova kafka down` first", file=sys.stderr)
            return 1
        cluster = KafkaCluster(directory, size=args.nodes)
        cluster.start(detached=True)
        asyncio.run(wait_for_brokers(cluster.bootstrap_servers, cluster.size))
    except KafkaUnavailable as exc:
        required = os.environ.get("VIDNOVA_REQUIRE_PRODUCTION_INFRA")
        if args.action == "fetch" and args.if_possible and not required:
            print(f"Apache Kafka skipped: {exc} (the tests will use the embedded broker)", file=sys.stderr)
            return 0
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"Apache Kafka: {cluster.size} node(s), data and logs in {directory}")
    for key, value in cluster.service_env().items():
        print(f"export {key}={value}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from vidnova.serve import serve

    serve(args.name)
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    from shared.migrations import upgrade

    for name in ALL_SERVICE_NAMES if args.name == "all" else (args.name,):
        upgrade(name, settings_for(name).database_url, args.revision)
        print(f"{name}: migrated to {args.revision}")
    return 0


def cmd_topics(_args: argparse.Namespace) -> int:
    from shared.kafka import all_topics, ensure_topics

    settings = KafkaSettings()
    created = asyncio.run(ensure_topics(settings))
    for topic in all_topics(settings):
        print(f"{topic}: {'created' if topic in created else 'exists'}")
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    role = cast(Role, args.role)
    if role == "region_admin" and not args.region:
        print("error: --region is required for region_admin (e.g. --region UA-63)", file=sys.stderr)
        return 2
    if role == "donor" and not args.donor_id:
        print("error: --donor-id is required for donor (e.g. --donor-id jica)", file=sys.stderr)
        return 2
    secret = AuthSettings(state_dir=_state_dir()).signing_secret()
    sub = args.sub or f"{role}:{args.region or args.donor_id or 'cli'}"
    print(
        mint_token(
            secret=secret, sub=sub, role=role, region=args.region, donor_id=args.donor_id, ttl_s=args.ttl
        )
    )
    return 0


def cmd_outbox(args: argparse.Namespace) -> int:
    from vidnova.outbox_cli import replay, show

    if args.replay:
        since = datetime.fromisoformat(args.since) if args.since else None
        count = asyncio.run(replay(args.name, since=since))
        print(f"{args.name}: {count} event(s) queued for publishing again")
    else:
        for row in asyncio.run(show(args.name, limit=args.limit, pending_only=args.pending)):
            print(json.dumps(row, default=str, ensure_ascii=False))
    return 0


def cmd_seed(args: argparse.Namespace) -> int:
    import httpx

    from vidnova.seed import SeedError, seed

    secret = AuthSettings(state_dir=_state_dir()).signing_secret()
    urls = {
        name: getattr(args, f"{name}_url") or f"http://127.0.0.1:{settings_for(name).port}"
        for name in ("requests", "allocation")
    }
    try:
        report = asyncio.run(
            seed(requests_url=urls["requests"], allocation_url=urls["allocation"], secret=secret)
        )
    except (SeedError, httpx.HTTPError) as exc:
        print(f"error: the demo scenario could not be loaded: {exc}", file=sys.stderr)
        return 1
    print(f"Demo scenario: {report.summary()}")
    return 0


def cmd_schemas(args: argparse.Namespace) -> int:
    from shared.events.schemas import export_schemas

    for path in export_schemas(Path(args.out)):
        print(path)
    return 0


def parser() -> argparse.ArgumentParser:
    """The command-line grammar."""
    root = argparse.ArgumentParser(
        prog="vidnova", description="Vidnova: equipment requests, donors, allocation."
    )
    commands = root.add_subparsers(dest="command", required=True)

    up = commands.add_parser("up", help="run the embedded stack (what `make run` calls)")
    up.add_argument(
        "--kafka",
        choices=("embedded", "apache"),
        default="embedded",
        help="the in-memory Tansu (default) or one Apache Kafka node from its jars (`make run KAFKA=apache`)",
    )
    up.set_defaults(run=cmd_up)

    kafka = commands.add_parser("kafka", help="Apache Kafka from its Maven Central jars, without Docker")
    kafka.add_argument("action", choices=("fetch", "up", "down"))
    kafka.add_argument("--nodes", type=int, choices=(1, 3), default=1, help="KRaft nodes (up)")
    kafka.add_argument("--dir", help="data and logs (default $VIDNOVA_STATE_DIR/kafka)")
    kafka.add_argument(
        "--if-possible", action="store_true", help="fetch: say why and exit 0 when Java or Maven is missing"
    )
    kafka.set_defaults(run=cmd_kafka)

    serve = commands.add_parser("serve", help="run one service in the foreground")
    serve.add_argument("name", choices=ALL_SERVICE_NAMES)
    serve.set_defaults(run=cmd_serve)

    migrate = commands.add_parser("migrate", help="apply database migrations")
    migrate.add_argument("name", choices=(*ALL_SERVICE_NAMES, "all"))
    migrate.add_argument("--revision", default="head")
    migrate.set_defaults(run=cmd_migrate)

    commands.add_parser("topics", help="create the Kafka topics (idempotent)").set_defaults(run=cmd_topics)

    token = commands.add_parser("token", help="mint a bearer token for a role")
    token.add_argument("--role", required=True, choices=ROLES)
    token.add_argument("--region", help="ISO 3166-2:UA code, for region_admin")
    token.add_argument("--donor-id", help="for donor")
    token.add_argument("--sub", help="subject (default derived from role and scope)")
    token.add_argument("--ttl", type=int, default=12 * 3600, help="seconds (default 12 h)")
    token.set_defaults(run=cmd_token)

    outbox = commands.add_parser("outbox", help="show or replay a service's published events")
    outbox.add_argument("name", choices=ALL_SERVICE_NAMES)
    outbox.add_argument("--limit", type=int, default=20)
    outbox.add_argument("--pending", action="store_true", help="only events not yet published")
    outbox.add_argument("--replay", action="store_true", help="publish stored events again")
    outbox.add_argument("--since", help="with --replay: ISO timestamp of the oldest event to replay")
    outbox.set_defaults(run=cmd_outbox)

    seed = commands.add_parser("seed", help="load the demo scenario through the public APIs (idempotent)")
    seed.add_argument("--requests-url", help="default: http://127.0.0.1:$REQUESTS_PORT")
    seed.add_argument("--allocation-url", help="default: http://127.0.0.1:$ALLOCATION_PORT")
    seed.set_defaults(run=cmd_seed)

    schemas = commands.add_parser("schemas", help="export the event JSON Schemas")
    schemas.add_argument("--out", default="docs/events")
    schemas.set_defaults(run=cmd_schemas)

    add_account_command(commands)
    add_dlq_command(commands)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `vidnova` script."""
    args = parser().parse_args(argv)
    try:
        return int(args.run(args))
    except EmbeddedBrokerMissing as missing:
        print(f"error: {missing}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
