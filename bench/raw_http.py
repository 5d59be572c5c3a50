"""Raw HTTP limits: the minimal app (`bench.minimal_app`) driven by the load process."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.processes import LoadResult, Server, cpu_seconds, free_port, run_load, wait_http


@dataclass(frozen=True)
class Measured:
    """A load run and the server's CPU per successful request during it."""

    load: LoadResult
    server_cpu_ms: float | None

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape."""
        return {**self.load.summary(), "server_cpu_ms_per_request": self.server_cpu_ms}


@dataclass
class HttpLimits:
    """Saturation and fixed-rate runs against the minimal app's endpoints."""

    echo: Measured
    write: Measured
    write_at_rate: Measured | None

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape."""
        return {
            "echo_saturation": self.echo.as_dict(),
            "write_saturation": self.write.as_dict(),
            "write_at_rate": self.write_at_rate.as_dict() if self.write_at_rate else None,
        }


def _measure(server: Server, path: str, *, rate: float, duration_s: float, concurrency: int) -> Measured:
    bound = int(rate * duration_s) if rate > 0 else int(duration_s * 20_000)
    before = cpu_seconds(server.process.pid)
    load = run_load(
        f"{server.url}{path}", rate_per_s=rate, count=bound, duration_s=duration_s, concurrency=concurrency
    )
    after = cpu_seconds(server.process.pid)
    cpu_ms = (
        (after - before) * 1000 / load.ok if before is not None and after is not None and load.ok else None
    )
    return Measured(load, cpu_ms)


def measure_http(
    work_dir: Path, *, duration_s: float, concurrency: int, fixed_rate: float, fixed_duration_s: float
) -> HttpLimits:
    """Start the minimal app on a private SQLite file, saturate `/echo` and `/write`, offer a fixed rate."""
    port = free_port()
    database_url = f"sqlite+aiosqlite:///{work_dir / 'bench-http.db'}"
    argv = [sys.executable, "-m", "bench.minimal_app", "--port", str(port), "--database-url", database_url]
    server = Server.start(argv, port=port, log_path=work_dir / "minimal-app.log")
    try:
        wait_http(f"{server.url}/healthz", timeout_s=30, process=server.process)
        run_load(f"{server.url}/write", rate_per_s=0, count=200, duration_s=5, concurrency=4)  # warm-up
        echo = _measure(server, "/echo", rate=0, duration_s=duration_s, concurrency=concurrency)
        write = _measure(server, "/write", rate=0, duration_s=duration_s, concurrency=concurrency)
        at_rate = None
        if fixed_rate > 0:
            at_rate = _measure(
                server, "/write", rate=fixed_rate, duration_s=fixed_duration_s, concurrency=concurrency
            )
        return HttpLimits(echo, write, at_rate)
    finally:
        server.stop()
