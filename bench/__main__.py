"""`python -m bench [--quick] [--only raw,system,…,reports]`: measure, write bench/results/<UTC>.*."""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from bench.machine import load_average, machine_facts
from bench.report import Report, Section, write_report

ROOT = Path(__file__).resolve().parent.parent
SECTIONS = ("raw", "system", "system-kafka", "matching", "soak", "big-lot", "reports")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--quick", action="store_true", help="smaller runs, no 100k matching or soak (~4 min)"
    )
    parser.add_argument("--only", default=",".join(SECTIONS), help="comma-separated: " + ",".join(SECTIONS))
    parser.add_argument(
        "--soak-requests", type=int, default=None, help="requests in the long run (100,000; --quick 2,000)"
    )
    parser.add_argument(
        "--profile-seconds",
        type=float,
        default=None,
        help="py-spy the services this long under saturation in section 2 (8; --quick 0: none)",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results", help="results directory")
    args = parser.parse_args(argv)
    args.sections = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = set(args.sections) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown section(s) {', '.join(sorted(unknown))}; choose from {', '.join(SECTIONS)}")
    return args


def _guarded(name: str, title: str, run: Callable[[], Section]) -> Section:
    """Run a section; a failure becomes a section with the error, never a lost report."""
    started = time.perf_counter()
    print(f"[bench] {name} …", flush=True)
    try:
        section = run()
    except Exception as exc:  # noqa: BLE001 (report what failed and carry on with the other sections)
        section = Section(name, title, error=f"{type(exc).__name__}: {exc}")
        section.elapsed_s = time.perf_counter() - started
    print(f"[bench] {name} done in {section.elapsed_s:.0f} s", flush=True)
    return section


def main(argv: list[str] | None = None) -> int:
    """Run the chosen sections in order (raw first: the system is judged against it) and write the report."""
    args = parse_args(argv)
    from bench.big_lot import run_big_lot
    from bench.matching import run_matching
    from bench.raw import RawLimits, run_raw
    from bench.reports import run_reports
    from bench.soak import run_soak
    from bench.system import run_system
    from bench.system_kafka import run_system_on_kafka

    started_at = datetime.now(UTC)
    machine = machine_facts(ROOT)
    sections: list[Section] = []
    raw: RawLimits | None = None
    with tempfile.TemporaryDirectory(prefix="vidnova-bench-") as directory:
        work_dir = Path(directory)
        if "raw" in args.sections:

            def raw_section() -> Section:
                nonlocal raw
                section, raw = run_raw(work_dir, quick=args.quick)
                return section

            sections.append(_guarded("raw", "1. Raw limits", raw_section))
        if "system" in args.sections:
            sections.append(
                _guarded(
                    "system",
                    "2. The system",
                    lambda: run_system(
                        work_dir, quick=args.quick, raw=raw, profile_seconds=args.profile_seconds
                    ),
                )
            )
        if "system-kafka" in args.sections:
            sections.append(
                _guarded(
                    "system-kafka",
                    "2b. The system on Apache Kafka",
                    lambda: run_system_on_kafka(work_dir, quick=args.quick, raw=raw),
                )
            )
        if "matching" in args.sections:
            sections.append(_guarded("matching", "3. Matching", lambda: run_matching(quick=args.quick)))
        if "soak" in args.sections:
            sections.append(
                _guarded(
                    "soak",
                    "4. The long run",
                    lambda: run_soak(work_dir, quick=args.quick, raw=raw, requests=args.soak_requests),
                )
            )
        if "big-lot" in args.sections:
            sections.append(
                _guarded("big-lot", "5. A big lot", lambda: run_big_lot(work_dir, quick=args.quick))
            )
        if "reports" in args.sections:
            sections.append(
                _guarded("reports", "6. Reports", lambda: run_reports(work_dir / "reports", quick=args.quick))
            )
    machine["load_average_at_end"] = load_average()
    report = Report(
        started_at=started_at,
        finished_at=datetime.now(UTC),
        options={"quick": args.quick, "sections": ",".join(args.sections)},
        machine=machine,
        sections=sections,
    )
    json_path, md_path = write_report(report, args.out)
    print(f"[bench] wrote {json_path.relative_to(ROOT) if json_path.is_relative_to(ROOT) else json_path}")
    print(f"[bench] wrote {md_path.relative_to(ROOT) if md_path.is_relative_to(ROOT) else md_path}")
    return 1 if any(section.error for section in sections) else 0


if __name__ == "__main__":
    sys.exit(main())
