"""Benchmarks: scripts that print ratios measured in one run (not tests).

Run one with ``python -m benchmarks.<name> [--quick]``.
"""
