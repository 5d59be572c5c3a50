"""`vidnova dlq list|replay|discard SERVICE`: a service's dead letters from a shell (SPEC §15).

It calls the service's admin API (so a replay runs in the service, on its consumer's handling path)
with a short-lived admin token signed by the configured secret.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

import httpx

from shared.auth import mint_token
from shared.settings import SERVICE_NAMES, AuthSettings, ServiceName
from vidnova.serve import settings_for


def add_dlq_command(commands: Any) -> None:
    """Register ``dlq`` on the ``vidnova`` command line."""
    dlq = commands.add_parser("dlq", help="list, replay or discard a service's dead letters")
    dlq.add_argument("action", choices=("list", "replay", "discard"))
    dlq.add_argument("name", choices=SERVICE_NAMES)
    dlq.add_argument("id", nargs="?", help="the dead letter (replay, discard)")
    dlq.add_argument("--reason", help="why it is discarded (discard)")
    dlq.add_argument("--status", choices=("open", "replayed", "discarded"), help="list only these")
    dlq.add_argument("--url", help="the service's base URL (default: http://127.0.0.1:$<NAME>_PORT)")
    dlq.set_defaults(run=cmd_dlq)


def cmd_dlq(args: argparse.Namespace) -> int:
    if args.action != "list" and not args.id:
        print(f"error: dlq {args.action} needs the dead letter's id", file=sys.stderr)
        return 2
    if args.action == "discard" and not args.reason:
        print("error: dlq discard needs --reason", file=sys.stderr)
        return 2
    try:
        status, body = asyncio.run(_call(args))
    except httpx.HTTPError as exc:
        print(f"error: {args.name} did not answer: {exc}", file=sys.stderr)
        return 1
    if args.action == "list" and status == 200:
        for item in body["items"]:
            print(json.dumps(item, ensure_ascii=False))
    else:
        print(json.dumps(body, ensure_ascii=False))
    return 0 if status < 400 else 1


async def _call(args: argparse.Namespace) -> tuple[int, dict[str, Any]]:
    name: ServiceName = args.name
    settings = settings_for(name)
    secret = AuthSettings().signing_secret()
    token = mint_token(secret=secret, sub="cli:dlq", role="admin", ttl_s=300)
    base = args.url or f"http://127.0.0.1:{settings.port}"
    async with httpx.AsyncClient(
        base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60
    ) as client:
        if args.action == "list":
            params = {"status": args.status} if args.status else {}
            response = await client.get("/v1/admin/dead-letters", params=params)
        elif args.action == "replay":
            response = await client.post(f"/v1/admin/dead-letters/{args.id}/replay")
        else:
            response = await client.post(
                f"/v1/admin/dead-letters/{args.id}/discard", json={"reason": args.reason}
            )
    return response.status_code, response.json()
