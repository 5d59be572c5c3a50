"""The supervisor's restart backoff, and the consumer identity static membership relies on."""

from __future__ import annotations

from services.allocation.settings import AllocationSettings
from vidnova.supervisor import Backoff


def test_restart_delay_doubles_with_each_quick_exit_up_to_the_cap() -> None:
    backoff = Backoff(initial_s=0.25, max_s=2.0)
    assert [backoff.delay(n) for n in range(1, 7)] == [0.25, 0.5, 1.0, 2.0, 2.0, 2.0]


def test_instance_id_is_stable_per_port_and_differs_between_instances() -> None:
    first = AllocationSettings(ALLOCATION_PORT=8002)
    again = AllocationSettings(ALLOCATION_PORT=8002)
    second = AllocationSettings(ALLOCATION_PORT=8102)
    assert first.consumer_instance_id() == again.consumer_instance_id()
    assert first.consumer_instance_id() != second.consumer_instance_id()
    assert str(first.consumer_instance_id()).startswith("allocation-")


def test_instance_id_can_be_named_or_turned_off() -> None:
    named = AllocationSettings(kafka={"CONSUMER_GROUP_INSTANCE_ID": "allocation-0"})
    assert named.consumer_instance_id() == "allocation-0"
    dynamic = AllocationSettings(kafka={"KAFKA_STATIC_MEMBERSHIP": False})
    assert dynamic.consumer_instance_id() is None
