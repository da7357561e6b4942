"""Shared helpers: warm-up, repeats, medians, per-iteration times, peak memory,
log–log slopes, tables and the command line every module offers."""

import argparse
import math
import time
import tracemalloc

import numpy as np
import scipy.sparse as sp

from skfactor._optimizers import make_optimizer
from skfactor._solver import minimize


def pair_shapes(objective, width):
    """The factor shapes ``[(m, width), (n, width)]`` of a two-factor start."""
    m, n = objective.shape
    return [(m, width), (n, width)]


def sparse_random(m, n, density, random_state=0, dtype=np.float64):
    """CSR matrix with about ``density·m·n`` Gaussian entries at random places.

    ``scipy.sparse.random`` draws the places without replacement from all
    ``m·n`` positions, which allocates gigabytes at 100 000 × 20 000; here
    the few duplicates are summed.
    """
    rng = np.random.RandomState(random_state)
    k = round(density * m * n)
    rows, cols = rng.randint(m, size=k), rng.randint(n, size=k)
    values = rng.standard_normal(k).astype(dtype)
    return sp.csr_matrix((values, (rows, cols)), shape=(m, n))


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


def iteration_times(
    objective, factors, optimizer, learning_rate, n_iter, *, tol=0.0, **options
):
    """Run the solver; per-iteration wall times, losses and the final factors.

    The times are the solver's own (``Iterate.time``), so set-up (the start,
    the step rule) is excluded and every iteration is timed as the estimators
    run it.
    """
    stamps, losses = [0.0], []

    def callback(it):
        stamps.append(it.time)
        losses.append(it.loss)

    result = minimize(
        objective,
        factors,
        make_optimizer(optimizer, learning_rate, **options),
        max_iter=n_iter,
        tol=tol,
        callback=callback,
        learning_rate_was_auto=True,
    )
    return np.diff(stamps), np.array(losses), result.factors


def interleaved_ratio(measure, rounds):
    """Median over ``rounds`` of ``numerator / denominator``.

    ``measure()`` returns ``(numerator, denominator)`` measured back to back;
    rounds interleave the two so that a slow spell of this noisy VM hits both.
    Returns the medians of the numerators, the denominators and the ratios.
    """
    pairs = np.array([measure() for _ in range(rounds)], dtype=float)
    return (
        float(np.median(pairs[:, 0])),
        float(np.median(pairs[:, 1])),
        float(np.median(pairs[:, 0] / pairs[:, 1])),
    )


def peak_memory(fn):
    """Peak bytes allocated (by Python and numpy) while ``fn()`` runs, above
    what was allocated before it started."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before, _ = tracemalloc.get_traced_memory()
        fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak - before


def loglog_slope(x, y):
    """Least-squares slope of ``log y`` against ``log x`` (NaN if < 2 points)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    keep = np.isfinite(x) & np.isfinite(y) & (x > 0) & (y > 0)
    if keep.sum() < 2:
        return math.nan
    return float(np.polyfit(np.log(x[keep]), np.log(y[keep]), 1)[0])


def format_table(header, rows):
    """Fixed-width table; ``rows`` are tuples of already formatted strings."""
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows)]
    line = "  ".join(f"{h:>{w}}" for h, w in zip(header, widths))
    out = [line, "-" * len(line)]
    out += ["  ".join(f"{c:>{w}}" for c, w in zip(row, widths)) for row in rows]
    return "\n".join(out)


def print_table(title, header, rows):
    print(title)
    print(format_table(header, rows))
    print()


def cli(run, doc, argv=None):
    """The command line every benchmark module shares: ``[--quick]``."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes")
    args = parser.parse_args(argv)
    run(quick=args.quick)
