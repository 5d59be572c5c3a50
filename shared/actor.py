"""Who made a change: the ``actor`` every state-changing event carries (SPEC §14.7).

A change made in an HTTP request is made on the caller's authority: the auth dependency binds the
verified token's ``sub`` for the rest of the request (each request is its own task, so the value
ends with it). Anything else is a job of the system, named ``system:<job>``; an event built where
nothing is bound is attributed to the service that builds it (``system:<service>``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

SYSTEM_PREFIX = "system:"

_actor: ContextVar[str | None] = ContextVar("actor", default=None)


def system_actor(job: str) -> str:
    """The actor of a background job or consumer, e.g. ``system:expiry``."""
    return SYSTEM_PREFIX + job


def is_system_actor(actor: str) -> bool:
    """True for ``system:<job>`` actors, False for a person's token subject."""
    return actor.startswith(SYSTEM_PREFIX)


def current_actor() -> str | None:
    """The actor bound to the current request or job, if any."""
    return _actor.get()


def bind_actor(actor: str | None) -> None:
    """Bind the actor for the rest of the current task (the HTTP request's, see the module doc)."""
    _actor.set(actor)


@contextmanager
def acting_as(actor: str | None) -> Iterator[None]:
    """Attribute the events built inside the block to ``actor`` (None: to the building service)."""
    token = _actor.set(actor)
    try:
        yield
    finally:
        _actor.reset(token)
