"""Schemathesis against a running service's ``/openapi.json``: no 5xx, responses as documented.

Usage from any integration test (the call is synchronous: run it in a thread)::

    report = await asyncio.to_thread(fuzz_api, stack.url("allocation"), stack.token("coordinator"))
    report.raise_for_failures()

Every operation under ``/v1`` is called with generated data, valid (``positive``) and schema-violating
(``negative``), ``VIDNOVA_FUZZ_EXAMPLES`` examples per operation and mode (default 25, so that
``make test`` stays fast; ``VIDNOVA_FUZZ_EXAMPLES=500`` for a long run). ``VIDNOVA_FUZZ_SEED`` replays a run;
the seed is printed in every failure report.

``checks`` picks what a response must satisfy: ``SERVER_ERRORS`` only refuses 5xx (and transport
errors); ``CONFORMANCE`` (the default) also wants every status code, content type and body to be the ones
the operation documents — declare error responses on the route (``responses={409: ...}``) — and
schema-violating input to be refused with a 4xx. ``path_parameters={"lot_id": ...}`` pins an existing
resource in positive mode so that operations on it get past the 404.
"""

from __future__ import annotations

import os
import random
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import hypothesis
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given
from schemathesis import GenerationMode
from schemathesis.checks import CheckFunction, not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

EXAMPLES_ENV = "VIDNOVA_FUZZ_EXAMPLES"
SEED_ENV = "VIDNOVA_FUZZ_SEED"
DEFAULT_EXAMPLES = 25

SERVER_ERRORS: tuple[CheckFunction, ...] = (not_a_server_error,)
CONFORMANCE: tuple[CheckFunction, ...] = (
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
)
MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)


def examples_per_operation() -> int:
    """How many examples each operation gets per generation mode (``VIDNOVA_FUZZ_EXAMPLES``)."""
    return int(os.environ.get(EXAMPLES_ENV, DEFAULT_EXAMPLES))


@dataclass
class FuzzReport:
    """What a fuzzing run called and which responses broke a check."""

    seed: int
    calls: Counter[str] = field(default_factory=Counter)
    statuses: Counter[str] = field(default_factory=Counter)
    failures: dict[str, list[str]] = field(default_factory=dict)

    def record_call(self, label: str, status: int) -> None:
        self.calls[label] += 1
        self.statuses[f"{label} → {status}"] += 1

    def record_failure(self, label: str, message: str, *, keep: int = 3) -> None:
        found = self.failures.setdefault(label, [])
        if len(found) < keep and message not in found:
            found.append(message)

    def raise_for_failures(self) -> None:
        """AssertionError listing every failing operation with how to reproduce it."""
        if not self.failures:
            return
        parts = [f"schemathesis found failures ({SEED_ENV}={self.seed} reproduces the run):"]
        for label, messages in self.failures.items():
            parts.append(f"\n=== {label}")
            parts.extend(messages)
        raise AssertionError("\n".join(parts))


def fuzz_api(
    base_url: str,
    token: str | None,
    *,
    max_examples: int | None = None,
    checks: Sequence[CheckFunction] = CONFORMANCE,
    modes: Sequence[GenerationMode] = MODES,
    include: Callable[[str, str], bool] = lambda method, path: path.startswith("/v1/"),
    path_parameters: Mapping[str, str] | None = None,
    timeout_s: float = 30.0,
) -> FuzzReport:
    """Fuzz every included operation of the service at ``base_url``; never raises for a check failure.

    ``path_parameters`` pins path parameters by name (e.g. the id of an existing request) in positive
    mode, so that operations on one resource get past the 404 and their bodies reach the use case.
    """
    seed = int(os.environ.get(SEED_ENV) or random.SystemRandom().randrange(2**32))
    report = FuzzReport(seed=seed)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    # The token is sent with every call, so security parameters are not generated (nor negated): a
    # "missing Authorization" case would reach the service authenticated. 401s are tested on their own.
    config = schemathesis.Config.from_dict({"generation": {"with-security-parameters": False}})
    schema = schemathesis.openapi.from_url(
        f"{base_url}/openapi.json", config=config, headers=headers, timeout=timeout_s
    )
    examples = max_examples if max_examples is not None else examples_per_operation()
    with requests.Session() as session:
        for result in schema.get_all_operations():
            operation = result.ok()
            if not include(operation.method.upper(), operation.path):
                continue
            pinned = {
                name: value
                for name, value in (path_parameters or {}).items()
                if f"{{{name}}}" in operation.path
            }
            for mode in modes:
                _fuzz_operation(
                    operation,
                    mode,
                    pinned=pinned if mode is GenerationMode.POSITIVE else {},
                    report=report,
                    examples=examples,
                    call=lambda case: case.call(
                        base_url=base_url, session=session, headers=headers, timeout=timeout_s
                    ),
                    checks=list(checks),
                    headers=headers,
                )
    return report


def _fuzz_operation(
    operation: Any,
    mode: GenerationMode,
    *,
    pinned: dict[str, str],
    report: FuzzReport,
    examples: int,
    call: Callable[[schemathesis.Case], schemathesis.Response],
    checks: list[CheckFunction],
    headers: dict[str, str],
) -> None:
    label = f"{operation.method.upper()} {operation.path} [{mode.value}]"

    # Failures are recorded, not raised: the run covers every operation and Hypothesis does not
    # spend calls shrinking; the report carries a curl command for each distinct failure.
    @hypothesis.seed(report.seed)
    @hypothesis.settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode, path_parameters=pinned or None))
    def run(case: schemathesis.Case) -> None:
        try:
            response = call(case)
        except requests.RequestException as exc:
            report.record_failure(
                label, f"transport error {type(exc).__name__}: {exc}\n{_curl(case, headers)}"
            )
            return
        report.record_call(label, response.status_code)
        try:
            case.validate_response(response, checks=checks, headers=headers)
        except (FailureGroup, Failure) as exc:
            report.record_failure(label, str(exc))

    run()


def _curl(case: schemathesis.Case, headers: dict[str, str]) -> str:
    try:
        return case.as_curl_command(headers=headers)
    except (TypeError, ValueError) as exc:
        return f"(no curl command: {exc})"
