"""Shared timing helper: warm-up, repeats, median."""

import argparse
import time

import numpy as np


def median_time(fn, *, repeats=5, warmup=1):
    """Median wall time of ``fn()`` in seconds over ``repeats`` calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def cli(run, doc, argv=None):
    """The command line every benchmark module shares: ``[--quick]``."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes")
    args = parser.parse_args(argv)
    run(quick=args.quick)


def format_table(header, rows):
    """Fixed-width table; ``rows`` are tuples of already formatted strings."""
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows)]
    line = "  ".join(f"{h:>{w}}" for h, w in zip(header, widths))
    out = [line, "-" * len(line)]
    out += ["  ".join(f"{c:>{w}}" for c, w in zip(row, widths)) for row in rows]
    return "\n".join(out)
