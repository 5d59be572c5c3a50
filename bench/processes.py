"""Child processes of a run: servers on free loopback ports, the load driver, their peak memory."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import httpx

from bench.stats import Latency, latency, rate
from vidnova.broker import free_port

__all__ = ["LoadResult", "Server", "cpu_seconds", "free_port", "run_load", "status_kib", "wait_http"]


def status_kib(pid: int, field: str) -> int | None:
    """A `/proc/<pid>/status` memory field in KiB (VmHWM = peak RSS, VmRSS = current); None if gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds a process has used so far (from /proc/<pid>/stat); None if gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children_of(pid: int) -> list[int]:
    """Direct children of a process (from /proc, no psutil)."""
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # Field 4 (ppid) follows the parenthesised command name, which may itself contain spaces.
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            children.append(int(entry.name))
    return children


def command_line(pid: int) -> str:
    """The process's argv joined by spaces ('' if it is gone)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def wait_http(url: str, *, timeout_s: float, process: subprocess.Popen[bytes] | None = None) -> None:
    """Poll a URL until it answers 200 (raising early if the serving process died)."""
    deadline = time.monotonic() + timeout_s
    with httpx.Client(timeout=2.0) as client:
        while True:
            if process is not None and process.poll() is not None:
                raise RuntimeError(f"server exited with {process.returncode} before {url} answered")
            try:
                if client.get(url).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} did not answer 200 within {timeout_s} s")
            time.sleep(0.1)


@dataclass
class Server:
    """A child process serving HTTP on a loopback port, stopped with SIGTERM."""

    process: subprocess.Popen[bytes]
    port: int
    log: IO[bytes]

    @classmethod
    def start(
        cls, argv: list[str], *, port: int, log_path: Path, env: dict[str, str] | None = None
    ) -> Server:
        log = log_path.open("ab")
        process = subprocess.Popen(  # noqa: S603 (our own interpreter and modules)
            argv, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
        return cls(process, port, log)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self, timeout_s: float = 30.0) -> int | None:
        """SIGTERM, then SIGKILL after the timeout; returns the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
        return self.process.returncode


@dataclass
class LoadResult:
    """One load run as the driver saw it."""

    offered_rate: float  # 0 = saturation
    concurrency: int
    elapsed_s: float
    sent: int
    ok: int
    errors: dict[str, int]
    first_sent_at: float | None
    last_answered_at: float | None
    max_schedule_lag_s: float
    unsent: int
    driver_cpu_s: float
    latency: Latency
    records: list[tuple[float, float, int, str | None]]

    @property
    def ok_per_s(self) -> float | None:
        """Successful requests per second over the driver's run."""
        return rate(self.ok, self.elapsed_s)

    def summary(self) -> dict[str, Any]:
        """The JSON shape, without the per-request records."""
        return {
            "offered_rate": self.offered_rate or "saturation",
            "concurrency": self.concurrency,
            "elapsed_s": round(self.elapsed_s, 3),
            "sent": self.sent,
            "ok": self.ok,
            "ok_per_s": self.ok_per_s,
            "errors": self.errors,
            "max_schedule_lag_s": round(self.max_schedule_lag_s, 3),
            "due_but_unsent": self.unsent,
            "driver_cpu_s": round(self.driver_cpu_s, 2),
            "latency": self.latency.as_dict(),
        }


def run_load(
    url: str,
    *,
    rate_per_s: float,
    count: int,
    duration_s: float,
    concurrency: int,
    token: str | None = None,
    category: str = "generator",
) -> LoadResult:
    """Run `python -m bench.load` as a separate process and read back what it recorded."""
    with tempfile.TemporaryDirectory(prefix="vidnova-load-") as directory:
        out = Path(directory) / "load.json"
        env = {**os.environ, "BENCH_TOKEN": token or ""}
        argv = [sys.executable, "-m", "bench.load", "--url", url, "--rate", str(rate_per_s)]
        argv += ["--count", str(count), "--duration", str(duration_s), "--concurrency", str(concurrency)]
        argv += ["--category", category, "--out", str(out)]
        subprocess.run(argv, env=env, check=True, timeout=duration_s + 120)  # noqa: S603
        raw = json.loads(out.read_text())
    records = [tuple(r) for r in raw["records"]]
    ok = [r for r in records if r[2] in (200, 201)]
    return LoadResult(
        offered_rate=rate_per_s,
        concurrency=concurrency,
        elapsed_s=raw["elapsed_s"],
        sent=len(records),
        ok=len(ok),
        errors=raw["errors"],
        first_sent_at=min((r[0] for r in records), default=None),
        last_answered_at=max((r[0] + r[1] for r in records), default=None),
        max_schedule_lag_s=raw["max_schedule_lag_s"],
        unsent=raw.get("unsent", 0),
        driver_cpu_s=raw["cpu_s"],
        latency=latency([r[1] for r in ok]),
        records=records,  # type: ignore[arg-type]
    )
