"""A generated, consistent event history for the reports, and its figures recomputed by brute force.

``History`` plays a small world forward (requests, lots, proposals and their lifecycle) and records the
events it would publish, with their times; ``expected_*`` recompute each report from the world's own
in-order state, in plain Python, independently of ``services.allocation.reports.figures``.
"""

from __future__ import annotations

import random
import statistics
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from shared.events.envelope import CloudEvent, new_event
from shared.events.payloads import (
    AllocationApproved,
    AllocationDelivered,
    AllocationDispatched,
    AllocationExpired,
    AllocationProposed,
    AllocationRejected,
    AllocationReleased,
    Facility,
    InventoryAdjusted,
    InventoryRegistered,
    InventoryWithdrawn,
    Location,
    Payload,
    RequestCancelled,
    RequestSubmitted,
    RequestUpdated,
    RequestWaitlisted,
)
from shared.geography import get_region

REGIONS = ("UA-63", "UA-65", "UA-46", "UA-30")  # Kharkiv, Kherson (front line), Lviv, Kyiv
CATEGORIES = ("generator", "pump")
PRIORITIES = ("critical", "high", "medium", "low")
DONORS = {
    "jica": ("jica-emergency", "JPY", Decimal("1500000")),
    "undp": ("undp-energy", "USD", Decimal("12500.5")),
}
START = datetime(2026, 10, 1, 8, 0, tzinfo=UTC)


@dataclass
class Req:
    id: uuid.UUID
    ref: str
    region: str
    category: str
    quantity: int
    priority: str
    submitted_at: datetime
    facility: Facility
    ended: str | None = None
    waitlisted_at: datetime | None = None


@dataclass
class Lot:
    id: uuid.UUID
    donor: str
    programme: str | None
    category: str
    region: str
    quantity: int
    unit_value: Decimal | None
    currency: str | None
    registered_at: datetime
    changed_at: datetime
    withdrawn: bool = False


@dataclass
class Alloc:
    id: uuid.UUID
    req: Req
    lot: Lot
    quantity: int
    status: str = "proposed"
    times: dict[str, datetime] = field(default_factory=dict)
    expires_at: datetime | None = None
    received: int = 0
    rejected: int = 0


class History:
    """Plays ``steps`` random actions from a seed; ``events`` are what the services would publish."""

    def __init__(self, seed: int, steps: int = 140) -> None:
        self.rng = random.Random(seed)
        self.now = START
        self.requests: list[Req] = []
        self.lots: list[Lot] = []
        self.allocations: list[Alloc] = []
        self.refused: set[tuple[uuid.UUID, uuid.UUID]] = set()
        self.events: list[CloudEvent] = []
        for _ in range(steps):
            self._step()

    def _uuid(self) -> uuid.UUID:
        """Ids from the seed, so that a seed names one history."""
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    # --- the world's rules -----------------------------------------------------------------------

    def live(self, a: Alloc) -> bool:
        return a.status in ("proposed", "approved", "dispatched")

    def received(self, r: Req) -> int:
        return sum(a.received for a in self.allocations if a.req is r and a.status == "delivered")

    def pipeline(self, r: Req) -> int:
        return sum(a.quantity for a in self.allocations if a.req is r and self.live(a))

    def unmet(self, r: Req) -> int:
        return 0 if r.ended else max(0, r.quantity - self.received(r) - self.pipeline(r))

    def committed(self, lot: Lot) -> int:
        return sum(
            a.quantity for a in self.allocations if a.lot is lot and (self.live(a) or a.status == "delivered")
        )

    def free(self, lot: Lot) -> int:
        return 0 if lot.withdrawn else max(0, lot.quantity - self.committed(lot))

    # --- actions -------------------------------------------------------------------------------------

    def _emit(self, payload: Payload, source: str) -> datetime:
        self.now += timedelta(minutes=self.rng.randint(1, 400))
        event = new_event(payload, source=source).model_copy(update={"time": self.now})
        self.events.append(event)
        return self.now

    def _step(self) -> None:
        rng = self.rng
        actions = [self._submit, self._register, self._propose, self._propose, self._approve, self._approve]
        actions += [self._reject, self._expire, self._dispatch, self._deliver, self._deliver, self._adjust]
        actions += [self._withdraw, self._cancel, self._reprioritise, self._waitlist]
        rng.choice(actions)()

    def _submit(self) -> None:
        rng = self.rng
        facility = Facility(name=f"Facility {len(self.requests)}", kind="hospital")
        r = Req(
            id=self._uuid(),
            ref=f"UA00-2026-{len(self.requests):06d}",
            region=rng.choice(REGIONS),
            category=rng.choice(CATEGORIES),
            quantity=rng.randint(1, 8),
            priority=rng.choice(PRIORITIES),
            submitted_at=self.now + timedelta(minutes=1),
            facility=facility,
        )
        payload = RequestSubmitted(
            request_id=r.id,
            ref=r.ref,
            region=r.region,
            settlement=f"Settlement {r.region}",
            facility=facility,
            category=r.category,
            specs={},
            quantity=r.quantity,
            priority=r.priority,  # type: ignore[arg-type]
            needed_by=date(2026, 12, 31),
            submitted_at=r.submitted_at,
            created_by="admin-1",
        )
        self.requests.append(r)
        self._emit(payload, "requests")

    def _register(self) -> None:
        rng = self.rng
        donor = rng.choice(sorted(DONORS))
        programme, currency, value = DONORS[donor]
        valued = rng.random() < 0.7
        lot = Lot(
            id=self._uuid(),
            donor=donor,
            programme=programme if rng.random() < 0.7 else None,
            category=rng.choice(CATEGORIES),
            region=rng.choice(REGIONS),
            quantity=rng.randint(1, 10),
            unit_value=value if valued else None,
            currency=currency if valued else None,
            registered_at=START,
            changed_at=START,
        )
        payload = InventoryRegistered(
            lot_id=lot.id,
            donor_id=lot.donor,
            category=lot.category,
            specs={},
            quantity=lot.quantity,
            location=Location(region=lot.region, site="Depot"),
            available_from=date(2026, 10, 1),
            eligible_regions=None,
            programme_id=lot.programme,
            unit_value=lot.unit_value,
            currency=lot.currency,
        )
        self.lots.append(lot)
        lot.registered_at = lot.changed_at = self._emit(payload, "allocation")

    def _allocation_fields(self, a: Alloc) -> dict[str, Any]:
        return {
            "allocation_id": a.id,
            "request_id": a.req.id,
            "request_ref": a.req.ref,
            "lot_id": a.lot.id,
            "donor_id": a.lot.donor,
            "region": a.req.region,
            "settlement": f"Settlement {a.req.region}",
            "facility": a.req.facility,
            "category": a.req.category,
            "quantity": a.quantity,
        }

    def _pick(self, status: str) -> Alloc | None:
        chosen = [a for a in self.allocations if a.status == status]
        return self.rng.choice(chosen) if chosen else None

    def _move(self, a: Alloc, status: str, payload: Payload) -> None:
        a.status = status
        a.times[status] = self._emit(payload, "allocation")

    def _propose(self) -> None:
        pairs = [
            (r, lot)
            for r in self.requests
            for lot in self.lots
            if r.category == lot.category
            and self.unmet(r) > 0
            and self.free(lot) > 0
            and (r.id, lot.id) not in self.refused
        ]
        if not pairs:
            return
        r, lot = self.rng.choice(pairs)
        a = Alloc(
            id=self._uuid(), req=r, lot=lot, quantity=self.rng.randint(1, min(self.unmet(r), self.free(lot)))
        )
        self.allocations.append(a)
        expires = self.now + timedelta(hours=self.rng.choice((2, 30, 72)))
        a.expires_at = expires
        self._move(
            a, "proposed", AllocationProposed(**self._allocation_fields(a), reason="fits", expires_at=expires)
        )

    def _approve(self) -> None:
        if a := self._pick("proposed"):
            self._move(a, "approved", AllocationApproved(**self._allocation_fields(a), approved_by="coord"))

    def _reject(self) -> None:
        if a := self._pick("proposed"):
            self.refused.add((a.req.id, a.lot.id))
            self._move(
                a, "rejected", AllocationRejected(**self._allocation_fields(a), reason="no", rejected_by="c")
            )

    def _expire(self) -> None:
        if a := self._pick("proposed"):
            payload = AllocationExpired(**self._allocation_fields(a), proposed_at=a.times["proposed"])
            self._move(a, "expired", payload)

    def _dispatch(self) -> None:
        if a := self._pick("approved"):
            self._move(a, "dispatched", AllocationDispatched(**self._allocation_fields(a)))

    def _deliver(self) -> None:
        if a := self._pick("dispatched"):
            a.rejected = self.rng.choice((0, 0, 0, 1)) if a.quantity > 1 else 0
            a.received = a.quantity - a.rejected
            payload = AllocationDelivered(
                **self._allocation_fields(a), received_quantity=a.received, rejected_quantity=a.rejected
            )
            self._move(a, "delivered", payload)

    def _adjust(self) -> None:
        lots = [lot for lot in self.lots if not lot.withdrawn]
        if not lots:
            return
        lot = self.rng.choice(lots)
        quantity = self.committed(lot) + self.rng.randint(0, 6)
        if quantity == lot.quantity:
            return
        payload = InventoryAdjusted(
            lot_id=lot.id, donor_id=lot.donor, quantity=quantity, previous_quantity=lot.quantity
        )
        lot.quantity = quantity
        lot.changed_at = self._emit(payload, "allocation")

    def _withdraw(self) -> None:
        lots = [lot for lot in self.lots if not lot.withdrawn]
        if not lots or self.rng.random() < 0.5:
            return
        lot = self.rng.choice(lots)
        payload = InventoryWithdrawn(lot_id=lot.id, donor_id=lot.donor, withdrawn_quantity=self.free(lot))
        lot.withdrawn = True
        lot.quantity = self.committed(lot)
        lot.changed_at = self._emit(payload, "allocation")

    def _open(self) -> Req | None:
        open_requests = [r for r in self.requests if not r.ended]
        return self.rng.choice(open_requests) if open_requests else None

    def _cancel(self) -> None:
        r = self._open()
        if r is None or self.rng.random() < 0.5:
            return
        for a in self.allocations:
            if a.req is r and a.status in ("proposed", "approved"):
                self._move(
                    a, "released", AllocationReleased(**self._allocation_fields(a), reason="cancelled")
                )
        delivered = self.received(r)
        r.ended = "closed" if delivered else "cancelled"
        payload = RequestCancelled(
            request_id=r.id,
            ref=r.ref,
            region=r.region,
            status=r.ended,
            reason="done",  # type: ignore[arg-type]
            delivered_quantity=delivered,
            cancelled_by="admin-1",
        )
        self._emit(payload, "requests")

    def _reprioritise(self) -> None:
        if r := self._open():
            previous, r.priority = r.priority, self.rng.choice(PRIORITIES)
            payload = RequestUpdated(
                request_id=r.id,
                ref=r.ref,
                region=r.region,
                priority=r.priority,  # type: ignore[arg-type]
                previous_priority=previous,
                updated_by="coord",  # type: ignore[arg-type]
            )
            self._emit(payload, "requests")

    def _waitlist(self) -> None:
        waiting = [r for r in self.requests if self.unmet(r) > 0]
        if waiting:
            r = self.rng.choice(waiting)
            payload = RequestWaitlisted(
                request_id=r.id,
                ref=r.ref,
                region=r.region,
                category=r.category,
                priority=r.priority,
                unmet_quantity=self.unmet(r),
                reason="nothing fits",  # type: ignore[arg-type]
            )
            r.waitlisted_at = self._emit(payload, "allocation")


# --- the figures, recomputed from the world --------------------------------------------------------


@dataclass(frozen=True)
class Ask:
    """Filters as the API takes them."""

    start: date | None = None
    end: date | None = None
    region: str | None = None
    category: str | None = None
    donor: str | None = None
    programme: str | None = None
    priority: str | None = None
    front_line: bool | None = None


def _on(at: datetime | None, ask: Ask) -> bool:
    return (
        at is not None
        and (ask.start is None or at.date() >= ask.start)
        and (ask.end is None or at.date() <= ask.end)
    )


def _front(region: str) -> bool:
    known = get_region(region)
    return bool(known and known.front_line)


def _where(region: str, category: str, ask: Ask) -> bool:
    return (
        (ask.region in (None, region))
        and (ask.category in (None, category))
        and (ask.front_line is None or _front(region) == ask.front_line)
    )


def _requests(h: History, ask: Ask) -> list[Req]:
    return [
        r
        for r in h.requests
        if _on(r.submitted_at, ask)
        and _where(r.region, r.category, ask)
        and ask.priority in (None, r.priority)
    ]


def expected_unmet_need(h: History, ask: Ask, now: datetime) -> list[dict[str, Any]]:
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for r in _requests(h, ask):
        mine = [a for a in h.allocations if a.req is r]
        unmet = h.unmet(r)
        last_proposal = max((a.times["proposed"] for a in mine), default=None)
        waiting = (
            unmet > 0
            and r.waitlisted_at is not None
            and (last_proposal is None or r.waitlisted_at > last_proposal)
        )
        row = rows.setdefault(
            (r.region, r.category),
            {
                "region": r.region,
                "front_line": _front(r.region),
                "category": r.category,
                "requests": 0,
                "requested": 0,
                "delivered": 0,
                "in_pipeline": 0,
                "unmet": 0,
                "waitlisted_requests": 0,
                "waiting_since": [],
            },
        )
        row["requests"] += 1
        row["requested"] += h.received(r) + h.pipeline(r) if r.ended else r.quantity
        row["delivered"] += h.received(r)
        row["in_pipeline"] += h.pipeline(r)
        row["unmet"] += unmet
        row["waitlisted_requests"] += waiting
        if unmet > 0:
            row["waiting_since"].append(r.submitted_at)
    out = []
    for key in sorted(rows):
        row = rows[key]
        since = row.pop("waiting_since")
        row["oldest_submitted_on"] = min(since).date() if since else None
        row["oldest_wait_days"] = (now - min(since)).days if since else None
        out.append(row)
    return out


def expected_donor_fulfilment(h: History, ask: Ask) -> list[dict[str, Any]]:
    rows: dict[tuple[str, str, str], dict[str, Any]] = {}
    places: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    spans: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    stages = ("proposed", "approved", "dispatched", "delivered", "rejected_on_receipt")
    for a in h.allocations:
        lot, r = a.lot, a.req
        if not _where(r.region, r.category, ask) or ask.donor not in (None, lot.donor):
            continue
        if ask.programme not in (None, lot.programme) or ask.priority not in (None, r.priority):
            continue
        units = {
            "proposed": a.quantity if _on(a.times.get("proposed"), ask) else None,
            "approved": a.quantity if _on(a.times.get("approved"), ask) else None,
            "dispatched": a.quantity if _on(a.times.get("dispatched"), ask) else None,
            "delivered": a.received if _on(a.times.get("delivered"), ask) else None,
            "rejected_on_receipt": a.rejected if _on(a.times.get("delivered"), ask) else None,
        }
        if all(u is None for u in units.values()):
            continue
        key = (lot.donor, lot.programme or "", lot.currency or "")
        row = rows.setdefault(
            key, {"donor_id": lot.donor, "programme_id": lot.programme, "currency": lot.currency}
        )
        for stage in stages:
            row.setdefault(f"units_{stage}", 0)
            row.setdefault(f"value_{stage}", Decimal(0) if lot.currency else None)
            if units[stage] is not None:
                row[f"units_{stage}"] += units[stage]
                if lot.unit_value is not None:
                    row[f"value_{stage}"] += units[stage] * lot.unit_value
        if units["delivered"] is not None:
            if a.received:
                places[key].add(r.facility.name)
            if "approved" in a.times:
                spans[key].append((a.times["delivered"] - a.times["approved"]).total_seconds() / 86400)
    for key, row in rows.items():
        row["facilities_served"] = len(places[key])
        row["median_days_approval_to_delivery"] = statistics.median(spans[key]) if spans[key] else None
    return [rows[key] for key in sorted(rows)]


def _percentiles(values: list[float]) -> tuple[float | None, float | None]:
    if not values:
        return None, None
    if len(values) == 1:
        return values[0], values[0]
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[49], cuts[89]


def expected_lead_times(h: History, ask: Ask) -> list[dict[str, Any]]:
    spans: dict[str, list[float]] = defaultdict(list)

    def hours(later: datetime, earlier: datetime) -> float:
        return (later - earlier).total_seconds() / 3600

    for r in _requests(h, ask):
        mine = [
            a
            for a in h.allocations
            if a.req is r and ask.donor in (None, a.lot.donor) and ask.programme in (None, a.lot.programme)
        ]
        if mine:
            spans["submit_to_proposal"].append(hours(min(a.times["proposed"] for a in mine), r.submitted_at))
        delivered = [a.times["delivered"] for a in mine if "delivered" in a.times]
        if delivered:
            spans["submit_to_delivery"].append(hours(min(delivered), r.submitted_at))
        for a in mine:
            for stage, later, earlier in (
                ("proposal_to_approval", "approved", "proposed"),
                ("approval_to_dispatch", "dispatched", "approved"),
                ("dispatch_to_delivery", "delivered", "dispatched"),
            ):
                if later in a.times and earlier in a.times:
                    spans[stage].append(hours(a.times[later], a.times[earlier]))
    stages = ("submit_to_proposal", "proposal_to_approval", "approval_to_dispatch", "dispatch_to_delivery")
    out = []
    for stage in (*stages, "submit_to_delivery"):
        p50, p90 = _percentiles(spans[stage])
        out.append({"stage": stage, "count": len(spans[stage]), "p50_hours": p50, "p90_hours": p90})
    return out


def expected_stock(h: History, ask: Ask, now: datetime) -> list[dict[str, Any]]:
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for lot in h.lots:
        if not _on(lot.registered_at, ask) or not _where(lot.region, lot.category, ask):
            continue
        if ask.donor not in (None, lot.donor) or ask.programme not in (None, lot.programme):
            continue
        mine = [a for a in h.allocations if a.lot is lot]
        free = h.free(lot)
        last = max([lot.changed_at, *(t for a in mine for t in a.times.values())])
        expiring = [
            a
            for a in mine
            if a.status == "proposed" and a.expires_at and a.expires_at <= now + timedelta(hours=24)
        ]
        row = rows.setdefault(
            (lot.category, lot.region),
            {
                "category": lot.category,
                "region": lot.region,
                "front_line": _front(lot.region),
                "lots": 0,
                "free_units": 0,
                "max_days_idle": None,
                "proposals_expiring_24h": 0,
                "units_expiring_24h": 0,
            },
        )
        row["lots"] += 1
        row["free_units"] += free
        if free:
            row["max_days_idle"] = max((now - last).days, row["max_days_idle"] or 0)
        row["proposals_expiring_24h"] += len(expiring)
        row["units_expiring_24h"] += sum(a.quantity for a in expiring)
    return [rows[key] for key in sorted(rows)]
