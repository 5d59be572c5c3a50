"""Where the services spend their CPU under load: py-spy samples each running service (no restart).

py-spy attaches to a live process by pid, so the services run exactly as `vidnova up` starts them.
`--gil` keeps only samples of a thread holding the GIL: Python work, not waiting in epoll or in
SQLite's C code. Optional: without py-spy (``pip install py-spy``) the profile is skipped.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from bench.report import Table

SAMPLE_HZ = 25  # low enough that py-spy keeps up on 2 busy cores
# Frames where a thread waits rather than works: an idle aiosqlite worker, a parked thread.
IDLE = re.compile(r"_connection_worker_thread \(aiosqlite/core\.py:59\)|Condition\.wait|Thread\._bootstrap$")
PROJECT = re.compile(r"\((services|shared)/")
ENTRY = re.compile(r"^<module> |^serve \(vidnova/")  # on every stack of the main thread: says nothing


def py_spy() -> str | None:
    """The py-spy executable beside this interpreter, or on PATH."""
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.exists() else shutil.which("py-spy")


def summarize(folded: Iterable[str], *, top: int = 10) -> dict[str, Any]:
    """Busy samples, the hottest leaf frames, and the project frames most often on the stack."""
    leaves: Counter[str] = Counter()
    on_stack: Counter[str] = Counter()
    busy = 0
    for line in folded:
        stack, _, count_text = line.rstrip().rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        frames = stack.split(";")
        if IDLE.search(frames[-1]):
            continue
        count = int(count_text)
        busy += count
        leaves[frames[-1]] += count
        for frame in set(frames):
            if PROJECT.search(frame) and not ENTRY.search(frame):
                on_stack[frame] += count
    share = (lambda c: round(c / busy, 4)) if busy else (lambda c: 0.0)
    return {
        "busy_samples": busy,
        "hottest_leaves": [(frame, share(c)) for frame, c in leaves.most_common(top)],
        "hottest_project_frames": [(frame, share(c)) for frame, c in on_stack.most_common(top)],
    }


def profile_services(pids: dict[str, int], *, seconds: float, during: Callable[[], Any]) -> dict[str, Any]:
    """Run `during` (the load) in a thread and let py-spy sample every service meanwhile."""
    executable = py_spy()
    if executable is None:
        return {"skipped": "py-spy is not installed"}
    load = threading.Thread(target=during, daemon=True)
    load.start()
    time.sleep(1.0)  # let the load reach a steady state first
    with tempfile.TemporaryDirectory(prefix="vidnova-profile-") as directory:
        outputs = {name: Path(directory) / f"{name}.txt" for name in pids}
        recorders = {
            name: subprocess.Popen(  # noqa: S603 (py-spy on our own children)
                [
                    executable,
                    "record",
                    "-p",
                    str(pid),
                    "-d",
                    str(int(seconds)),
                    "-r",
                    str(SAMPLE_HZ),
                    "-f",
                    "raw",
                    "-o",
                    str(outputs[name]),
                    "--nonblocking",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            for name, pid in pids.items()
        }
        result: dict[str, Any] = {"seconds": seconds, "rate_hz": SAMPLE_HZ}
        for name, recorder in recorders.items():
            _, stderr = recorder.communicate(timeout=seconds + 60)
            if recorder.returncode != 0 or not outputs[name].exists():
                result[name] = {"error": stderr.decode(errors="replace")[-300:]}
            else:
                result[name] = summarize(outputs[name].read_text().splitlines())
    load.join(timeout=seconds + 120)
    return result


def profile_tables(profile: dict[str, Any]) -> list[Table]:
    """One table per service: the project frames most often on the stack while it was busy."""
    tables = []
    for name, summary in profile.items():
        if not isinstance(summary, dict) or "hottest_project_frames" not in summary:
            continue
        rows = [["on stack", frame, f"{share:.0%}"] for frame, share in summary["hottest_project_frames"]]
        rows += [["leaf", frame, f"{share:.0%}"] for frame, share in summary["hottest_leaves"][:5]]
        title = f"Profile of {name} under saturation (py-spy, {summary['busy_samples']} busy samples)"
        tables.append(Table(title, ["where", "frame", "share of busy samples"], rows))
    return tables
