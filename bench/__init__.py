"""Benchmarks (`make bench`): the system against this machine's raw limits, matching against the optimum.

Speed is measured here, never by timed tests. Every figure is reported beside a baseline measured in
the same run, and as a ratio to it, because absolute numbers on a shared 2-core machine are noisy.
"""
