"""Noticing that the log a consumer reads was reset under it, and reading the fresh log from its start.

An in-memory broker (the embedded Tansu) forgets every record and every committed offset when it
restarts, and a re-created topic starts again at offset 0. A consumer that kept its position from
before would wait at that offset and then skip everything the fresh log holds below it: events the
outbox relays already marked published, which nobody sends again. Any one of three signs is enough:

- the cluster id changed (the embedded broker gets a fresh one at every start);
- a partition ends (its high watermark) below the position this consumer had reached in it;
- the group's committed offset for a partition is missing or below what this consumer committed.

The consumer then seeks every assigned partition to its beginning and commits that, so that a crash
right afterwards does not resume past the start either. Re-reading is safe: the processed-events
table makes every event already handled a no-op.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Collection, Mapping
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.protocol.metadata import MetadataRequest
from prometheus_client import Counter

from shared.kafka import CLIENT_FAILURES

log = logging.getLogger(__name__)

# A broker away, a group rebalancing, or a connection uvloop reports closed: the check is tried again later.
CHECK_FAILURES: tuple[type[BaseException], ...] = (*CLIENT_FAILURES, TimeoutError)

LOG_RESETS = Counter(
    "vidnova_consumer_log_resets_total",
    "Times a consumer found the log it reads reset and re-read it from the beginning",
    ["service", "group", "sign"],
)


async def cluster_id(consumer: AIOKafkaConsumer) -> str | None:
    """The id of the cluster the consumer's client talks to (None if no broker answers yet)."""
    client: Any = consumer._client  # the cluster id is not in its public API
    node = client.get_random_node()
    if node is None:
        return None
    response = await client.send(node, MetadataRequest([]))
    found = getattr(response, "cluster_id", None)
    return str(found) if found else None


class LogWatch:
    """What one consumer knows of the log it reads, and the checks that tell a fresh log from it."""

    def __init__(self, *, service: str, group: str, interval_s: float, timeout_s: float = 5.0) -> None:
        self.service = service
        self.group = group
        self.interval_s = interval_s
        self.timeout_s = timeout_s
        self.cluster: str | None = None
        self.positions: dict[TopicPartition, int] = {}
        self.committed: dict[TopicPartition, int] = {}
        # A reset seen while partitions were being revoked: acted on once partitions are assigned again.
        self.pending: tuple[str, str] | None = None
        self._checked_at = -interval_s  # the first check learns the cluster id at once

    def received(self, tp: TopicPartition, next_offset: int) -> None:
        """The consumer got records of ``tp`` up to ``next_offset`` (exclusive)."""
        if next_offset > self.positions.get(tp, -1):
            self.positions[tp] = next_offset

    def committed_offsets(self, offsets: Mapping[TopicPartition, int]) -> None:
        """The broker accepted this consumer's commit of ``offsets``."""
        self.committed.update(offsets)

    def forget(self, partitions: Collection[TopicPartition]) -> None:
        """Partitions another member may now move: this consumer's position in them is stale."""
        for tp in partitions:
            self.positions.pop(tp, None)

    def due(self) -> bool:
        """Whether the periodic check should run now."""
        return self.pending is not None or time.monotonic() - self._checked_at >= self.interval_s

    async def find_reset(
        self, consumer: AIOKafkaConsumer, partitions: Collection[TopicPartition] | None = None
    ) -> tuple[str, str] | None:
        """(sign, detail) if the log under ``partitions`` (default: assigned) looks reset, else None."""
        self._checked_at = time.monotonic()
        current = await asyncio.wait_for(cluster_id(consumer), self.timeout_s)
        if current is not None and self.cluster is not None and current != self.cluster:
            return "cluster_id", f"cluster id changed from {self.cluster} to {current}"
        self.cluster = current or self.cluster
        assigned = set(consumer.assignment() if partitions is None else partitions)
        for tp in assigned:
            # The high watermark of the last fetch, not ListOffsets: Tansu answers that with the
            # last batch's base offset + 1, below the true end whenever a batch holds several records.
            end = consumer.highwater(tp) if tp in self.positions else None
            if end is not None and end < self.positions[tp]:
                return "end_offset", f"{tp.topic}[{tp.partition}] ends at {end}, below {self.positions[tp]}"
        mine = [tp for tp in assigned if tp in self.committed]
        if mine:
            coordinator: Any = consumer._coordinator  # one OffsetFetch for all partitions
            found = await asyncio.wait_for(coordinator.fetch_committed_offsets(mine), self.timeout_s)
            for tp in mine:
                offset = found[tp].offset if tp in found else -1
                if offset < self.committed[tp]:
                    return "committed_offset", (
                        f"{tp.topic}[{tp.partition}] committed at {offset}, below {self.committed[tp]}"
                    )
        return None

    async def restarted_if_reset(self, consumer: AIOKafkaConsumer) -> bool:
        """The periodic check: True once the consumer reads a reset log from its start again.

        A reset stays pending until the start is committed: a rebalance in between (the fresh broker
        does not know the member) would otherwise put the consumer back on the group's stale offset.
        """
        try:
            if self.pending is None:
                reset = await self.find_reset(consumer)
                if reset is None:
                    return False
                self._found(*reset)
            if not consumer.assignment():
                return False
            await self.restart_from_beginning(consumer)
        except CHECK_FAILURES as exc:  # the broker is away or the group rebalancing: retry
            log.info(
                "log check deferred", extra={"group": self.group, "error": f"{type(exc).__name__}: {exc}"}
            )
            return False
        self.pending = None
        return True

    async def safe_to_commit(
        self, consumer: AIOKafkaConsumer, partitions: Collection[TopicPartition]
    ) -> bool:
        """False if the log under ``partitions`` was reset, or if whether it was cannot be told now."""
        try:
            reset = await self.find_reset(consumer, partitions)
        except CHECK_FAILURES as exc:
            reset = ("unknown", f"{type(exc).__name__}: {exc}")
        if reset is None:
            return True
        if reset[0] != "unknown" and self.pending is None:
            self._found(*reset)
        # Left uncommitted, they are re-read by the next owner (processed events make that a no-op);
        # committed to a fresh log, they would make the group skip its beginning.
        log.warning("offsets not committed: " + reset[1], extra={"group": self.group, "sign": reset[0]})
        return False

    def _found(self, sign: str, detail: str) -> None:
        self.pending = (sign, detail)
        LOG_RESETS.labels(self.service, self.group, sign).inc()
        log.warning(
            "log reset detected; re-reading the fresh log from its beginning",
            extra={"group": self.group, "sign": sign, "detail": detail},
        )

    async def restart_from_beginning(self, consumer: AIOKafkaConsumer) -> None:
        """Seek every assigned partition to its first offset and commit that."""
        self.positions.clear()
        self.committed.clear()
        self.cluster = await asyncio.wait_for(cluster_id(consumer), self.timeout_s) or self.cluster
        assigned = list(consumer.assignment())
        if not assigned:
            return
        starts: dict[TopicPartition, int] = await asyncio.wait_for(
            consumer.beginning_offsets(assigned), self.timeout_s
        )
        for tp, offset in starts.items():
            consumer.seek(tp, offset)
        await consumer.commit(starts)
        self.committed_offsets(starts)
