"""The matching engine as it was before issue #19 (commit db60d78), kept only as the benchmark's baseline.

Same algorithm and answers as today's engine, none of its speed-ups: `python -m bench.matching` times both.
"""

from bench.previous_engine.engine import propose_allocations

__all__ = ["propose_allocations"]
