"""Child-process plumbing for the embedded stack."""

from __future__ import annotations

import ctypes
import signal
import subprocess
import sys

PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """In a child before exec: get SIGTERM when the parent dies, so no orphan outlives `vidnova up`."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def end_process(process: subprocess.Popen[bytes] | None, signum: int, *, timeout_s: float) -> None:
    """Send ``signum`` to a live child and reap it; SIGKILL if it outlives the timeout."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(signum)
    try:
        process.wait(timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
