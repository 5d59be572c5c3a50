"""Per-hop latencies from event timestamps: a request's timeline and the coordinator inbox (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

SUBMITTED = "request.submitted"
PROPOSED = "allocation.proposed"
WAITLISTED = "request.waitlisted"
OUTCOMES = (PROPOSED, WAITLISTED)


def parse_time(value: str) -> float:
    """An ISO 8601 timestamp (``Z`` or offset) as POSIX seconds."""
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def _kind(event_type: str) -> str | None:
    """``vidnova.allocation.proposed.v1`` → ``allocation.proposed``; None for types we do not time."""
    for name in (SUBMITTED, *OUTCOMES):
        if name in event_type:
            return name
    return None


@dataclass(frozen=True)
class Journey:
    """When one request was submitted and first got an outcome, per its own timeline."""

    request_id: str
    submitted_at: float | None
    outcome: str | None  # allocation.proposed | request.waitlisted
    outcome_at: float | None
    related_ids: frozenset[str]  # allocation ids that may name the request in a notification


def journey(request: Mapping[str, Any]) -> Journey:
    """Read a `GET /v1/requests/{id}` body: submission time and the first outcome (proposal or waitlist)."""
    submitted_at = outcome_at = None
    outcome = None
    related: set[str] = set()
    for entry in request.get("timeline") or []:
        kind = _kind(str(entry.get("type", "")))
        at = parse_time(entry["at"]) if entry.get("at") else None
        data = entry.get("data") or {}
        if isinstance(data, dict) and data.get("allocation_id"):
            related.add(str(data["allocation_id"]))
        if kind == SUBMITTED and submitted_at is None:
            submitted_at = at
        elif kind in OUTCOMES and at is not None and (outcome_at is None or at < outcome_at):
            outcome, outcome_at = kind, at
    return Journey(str(request["id"]), submitted_at, outcome, outcome_at, frozenset(related))


def first_notices(items: Iterable[Mapping[str, Any]], journeys: Sequence[Journey]) -> dict[str, float]:
    """Per request id, when the coordinator inbox first held a notice of its outcome."""
    owner: dict[str, Journey] = {}
    for j in journeys:
        owner[j.request_id] = j
        for related in j.related_ids:
            owner[related] = j
    first: dict[str, float] = {}
    for item in items:
        j = owner.get(str(item.get("subject_id")))
        kind = _kind(str(item.get("type", "")))
        if j is None or kind is None or kind != j.outcome or not item.get("created_at"):
            continue
        at = parse_time(str(item["created_at"]))
        if j.request_id not in first or at < first[j.request_id]:
            first[j.request_id] = at
    return first


@dataclass(frozen=True)
class Hops:
    """Durations in seconds of each hop, over the requests where both ends were seen."""

    submit_to_outcome: list[float]
    outcome_to_inbox: list[float]
    submit_to_inbox: list[float]
    outcomes: dict[str, int]
    missing_outcome: int
    missing_notice: int
    last_outcome_at: float | None
    last_notice_at: float | None


def hops(journeys: Sequence[Journey], notices: Mapping[str, float]) -> Hops:
    """Hop durations from timestamps (all written by processes on this one machine's clock)."""
    to_outcome, to_inbox, end_to_end = [], [], []
    outcomes: dict[str, int] = {}
    missing_outcome = missing_notice = 0
    for j in journeys:
        if j.submitted_at is None or j.outcome_at is None or j.outcome is None:
            missing_outcome += 1
            continue
        outcomes[j.outcome] = outcomes.get(j.outcome, 0) + 1
        to_outcome.append(j.outcome_at - j.submitted_at)
        noticed = notices.get(j.request_id)
        if noticed is None:
            missing_notice += 1
            continue
        to_inbox.append(noticed - j.outcome_at)
        end_to_end.append(noticed - j.submitted_at)
    outcome_times = [j.outcome_at for j in journeys if j.outcome_at is not None]
    return Hops(
        to_outcome,
        to_inbox,
        end_to_end,
        outcomes,
        missing_outcome,
        missing_notice,
        max(outcome_times, default=None),
        max(notices.values(), default=None),
    )
