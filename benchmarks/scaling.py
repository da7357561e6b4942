"""Scaling: time per iteration as the number of samples grows 10× three times.

FactorizationNAG (NAG, d = 10) on dense m×n Gaussian data and on sparse data
with a fixed number of stored entries per row. An iteration costs
``O(nnz·d + (m + n)·d²)``, linear in m: the slope of log(time per iteration)
against log(m) should be 1. At the smallest size a fixed per-iteration
overhead (Python, d×d work) is visible, so the slope is also given over the
three largest sizes.

    python -m benchmarks.scaling [--quick]
"""

import numpy as np

from skfactor._initializers import unbalanced
from skfactor._objectives import FactorizationObjective

from ._timing import (
    cli,
    iteration_times,
    loglog_slope,
    pair_shapes,
    print_table,
    sparse_random,
)


def per_iteration(A, d, n_iter):
    objective = FactorizationObjective(A)
    factors = unbalanced(
        objective,
        pair_shapes(objective, d),
        scale="auto",
        random_state=np.random.RandomState(0),
    )
    eta = 1.0 / np.linalg.norm(factors[0], 2) ** 2
    times, _, _ = iteration_times(objective, factors, "nag", eta, n_iter)
    return float(np.median(times))


def run(quick=False):
    d = 10
    sizes = (100, 1_000, 10_000, 100_000) if quick else (1_000, 10_000, 100_000, 10**6)
    n_dense, n_sparse, per_row = (50, 2_000, 10) if quick else (100, 10_000, 10)
    n_iter = 10 if quick else 20
    rng = np.random.RandomState(0)
    rows, slopes = [], []
    for kind in ("dense", "sparse"):
        times = []
        for m in sizes:
            if kind == "dense":
                A = rng.standard_normal((m, n_dense))
                work = f"{A.size:.1e} entries"
            else:
                A = sparse_random(m, n_sparse, per_row / n_sparse, random_state=m)
                work = f"{A.nnz:.1e} nnz"
            times.append(per_iteration(A, d, n_iter))
            del A
            rows.append((kind, str(m), work, f"{1e3 * times[-1]:.3f}"))
        slopes.append(
            (
                kind,
                f"{loglog_slope(sizes, times):.2f}",
                f"{loglog_slope(sizes[1:], times[1:]):.2f}",
                "1",
            )
        )
    print_table(
        f"FactorizationNAG time per iteration (NAG, d = {d}; dense n = {n_dense}, "
        f"sparse n = {n_sparse} with {per_row} entries per row)",
        ("data", "m", "size", "ms/iter"),
        rows,
    )
    print_table(
        "Growth in m: slope of log(time per iteration) on log(m)",
        ("data", "all sizes", "three largest", "theory"),
        slopes,
    )
    return rows + slopes


def main(argv=None):
    cli(run, __doc__, argv)


if __name__ == "__main__":
    main()
