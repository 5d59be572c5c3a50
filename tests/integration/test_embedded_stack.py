"""`vidnova up` (what `make run` calls): comes up ready; kill -9 of everything loses nothing acknowledged."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from shared.auth import mint_token
from shared.settings import ALL_SERVICE_NAMES, load_or_create_dev_secret
from tests.factories import request_body
from tests.support.polling import eventually
from vidnova.broker import free_port

EXTERNAL_VARIABLES = (
    "KAFKA_BOOTSTRAP_SERVERS",
    "VIDNOVA_AUTH_SECRET",
    "VIDNOVA_TOPIC_PREFIX",
    *(f"{name.upper()}_DATABASE_URL" for name in ALL_SERVICE_NAMES),
)


class EmbeddedRun:
    """`vidnova up` in its own process group, on private ports and a private state directory."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.ports = {name: free_port() for name in ALL_SERVICE_NAMES}
        self.process: subprocess.Popen[bytes] | None = None
        env = {k: v for k, v in os.environ.items() if k not in EXTERNAL_VARIABLES}
        env.update({f"{name.upper()}_PORT": str(port) for name, port in self.ports.items()})
        self.env = {**env, "VIDNOVA_STATE_DIR": str(state_dir), "SEED": "0"}

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def start(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        with (self.state_dir / "up.out").open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "vidnova.cli", "up"],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    async def wait_ready(self) -> None:
        async def all_ready() -> bool:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError((self.state_dir / "up.out").read_text())
            async with httpx.AsyncClient(timeout=2) as client:
                for name in ALL_SERVICE_NAMES:
                    try:
                        if (await client.get(f"{self.url(name)}/readyz")).status_code != 200:
                            return False
                    except httpx.HTTPError:
                        return False
            return True

        await eventually(all_ready, timeout_s=90, interval_s=0.2, what="vidnova up ready")

    def kill_everything(self) -> None:
        """SIGKILL the whole process group: `up`, the broker and the three services at once."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def interrupt(self) -> int:
        """Ctrl-C: stops everything cleanly."""
        assert self.process is not None
        self.process.send_signal(signal.SIGINT)
        return self.process.wait(60)

    def token(self, **claims: str) -> str:
        return mint_token(secret=load_or_create_dev_secret(self.state_dir), **claims)  # type: ignore[arg-type]


async def _banner(run: EmbeddedRun) -> str:
    return (run.state_dir / "up.out").read_text(errors="replace")


async def _statuses(run: EmbeddedRun, ids: list[str], token: str) -> dict[str, str]:
    async with httpx.AsyncClient(
        base_url=run.url("requests"), headers={"Authorization": f"Bearer {token}"}
    ) as c:
        return {i: (await c.get(f"/v1/requests/{i}")).json()["status"] for i in ids}


async def _notices(run: EmbeddedRun, token: str) -> list[str]:
    async with httpx.AsyncClient(
        base_url=run.url("notifications"), headers={"Authorization": f"Bearer {token}"}
    ) as c:
        items = (await c.get("/v1/notifications", params={"limit": 200})).json()["items"]
        # Waitlisted notices only (a critical request also gets a "critical request" notice).
        return [n["subject_id"] for n in items if n["type"] == "vidnova.request.waitlisted.v1"]


async def test_kill_9_of_the_embedded_stack_loses_nothing_acknowledged(tmp_path: Path) -> None:
    run = EmbeddedRun(tmp_path / "state")
    run.start()
    try:
        await run.wait_ready()
        banner = await eventually(
            lambda: _banner(run), until=lambda text: "Vidnova is up." in text, timeout_s=30, what="banner"
        )
        assert banner.index(run.url("console")) < banner.index(run.url("requests"))  # the console first
        coordinator = run.token(sub="c", role="coordinator")
        kharkiv = run.token(sub="k", role="region_admin", region="UA-63")
        async with httpx.AsyncClient(
            base_url=run.url("requests"), headers={"Authorization": f"Bearer {kharkiv}"}
        ) as c:
            responses = await asyncio.gather(
                *(c.post("/v1/requests", json=request_body()) for _ in range(20))
            )
        assert [r.status_code for r in responses] == [201] * 20
        ids = [r.json()["id"] for r in responses]
        run.kill_everything()  # some events are surely still in outboxes or in flight

        run.start()
        await run.wait_ready()
        statuses = await eventually(
            lambda: _statuses(run, ids, coordinator),
            until=lambda s: set(s.values()) == {"waitlisted"},
            timeout_s=90,
            interval_s=0.3,
            what="every acknowledged request waitlisted after restart",
        )
        assert len(statuses) == 20
        notices = await eventually(
            lambda: _notices(run, coordinator),
            until=lambda n: set(ids) <= set(n),
            timeout_s=60,
            what="notices",
        )
        assert sorted(n for n in notices if n in ids) == sorted(ids)  # exactly one each, no replay duplicates
        assert run.interrupt() == 0
        for name in ALL_SERVICE_NAMES:
            try:
                httpx.get(f"{run.url(name)}/healthz", timeout=1)
            except httpx.ConnectError:
                continue
            raise AssertionError(f"{name} still answers after Ctrl-C")
    finally:
        if run.process is not None and run.process.poll() is None:
            run.kill_everything()
