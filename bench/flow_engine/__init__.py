"""The engine as it was before issue #19's columnar rewrite (commit 099ee7c), kept as a bench baseline.

The same min-cost flow over classes, but lots taken demand by demand in a Python walk: the same
units per request as today's engine (`python -m bench.matching` times both and checks it). Its min-cost
flow (`exchange`) is today's module itself: unchanged since, it is not copied.
"""

from bench.flow_engine.engine import propose_allocations

__all__ = ["propose_allocations"]
