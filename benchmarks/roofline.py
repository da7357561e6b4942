"""Time per iteration against the products no method can avoid.

For FactorizationNAG every iteration needs ``A @ Y`` and ``A.T @ X``; the ratio
``(time per iteration) / (time of A @ Y + A.T @ X)`` measures everything else
(Python overhead, the m×d and d×d work). Both are measured in the same
process: the per-iteration time is the median over the iterations of one fit
(timestamps from the solver's callback, so set-up costs are excluded), the
products are timed (median of many repeats) on that fit's final factors, and
the ratio is the median over three interleaved rounds.

Two regimes are reported:

* ``noisy``: a full-rank matrix; the loss comes from the fast products
  expansion on every iteration (the common case);
* ``exact``: a planted exactly-low-rank matrix fitted to relative error 1e-13;
  the row reports the median over the iterations whose loss was recomputed from
  the exact blocked residual (relative error below about 1.5e-6).

    python -m benchmarks.roofline [--quick]
"""

import time

import numpy as np

from skfactor._initializers import unbalanced
from skfactor._objectives import FactorizationObjective
from skfactor._optimizers import make_optimizer
from skfactor._solver import minimize
from skfactor.datasets import make_low_rank_matrix

from ._timing import cli, format_table, median_time


def timed_fit(A, d, optimizer, n_iter, tol=0.0):
    """Run the solver from the unbalanced start; per-iteration times and losses."""
    objective = FactorizationObjective(A)
    rng = np.random.RandomState(0)
    factors = unbalanced(objective, d, scale="auto", random_state=rng)
    eta = 1.0 / np.linalg.norm(factors[0], 2) ** 2
    stamps, losses = [time.perf_counter()], []

    def callback(k, F, f):
        stamps.append(time.perf_counter())
        losses.append(f)

    result = minimize(
        objective,
        factors,
        make_optimizer(optimizer, eta),
        max_iter=n_iter,
        tol=tol,
        callback=callback,
        learning_rate_was_auto=True,
    )
    return np.diff(stamps), np.array(losses), objective, result.factors


def products_time(A, factors, repeats=15):
    X, Y = factors
    return median_time(lambda: (A @ Y, A.T @ X), repeats=repeats, warmup=3)


def run(quick=False):
    rounds = 1 if quick else 3
    m, n = (400, 300) if quick else (2000, 1500)
    n_iter = 30 if quick else 100
    rows = []
    rng = np.random.RandomState(0)
    for dtype in (np.float64, np.float32):
        noisy = rng.standard_normal((m, n)).astype(dtype)
        for d in (5, 20) if quick else (5, 20, 80):
            for optimizer in ("nag", "gd"):
                its, bases = [], []
                for _ in range(rounds):  # interleaved rounds: this VM is noisy
                    times, _, _, factors = timed_fit(noisy, d, optimizer, n_iter)
                    its.append(float(np.median(times)))
                    bases.append(products_time(noisy, factors))
                it, base = float(np.median(its)), float(np.median(bases))
                ratio = float(np.median(np.divide(its, bases)))
                rows.append(
                    (
                        f"{m}x{n}",
                        np.dtype(dtype).name,
                        str(d),
                        "noisy",
                        optimizer,
                        f"{1e3 * it:.3f}",
                        f"{1e3 * base:.3f}",
                        f"{ratio:.2f}",
                    )
                )
    A, *_ = make_low_rank_matrix(m, n, 5, 10, random_state=0)
    d = 20
    times, losses, objective, factors = timed_fit(A, d, "nag", 5000, tol=1e-13)
    exact = losses < objective._exact_below
    base = products_time(A, factors)
    for label, mask in (("fast loss", ~exact), ("exact loss", exact)):
        if mask.any():
            it = float(np.median(times[mask]))
            ratio = it / base
            rows.append(
                (
                    f"{m}x{n}",
                    "float64",
                    str(d),
                    f"planted, {label} ({mask.sum()} it)",
                    "nag",
                    f"{1e3 * it:.3f}",
                    f"{1e3 * base:.3f}",
                    f"{ratio:.2f}",
                )
            )
    header = (
        "shape",
        "dtype",
        "d",
        "data",
        "optimizer",
        "ms/iter",
        "ms products",
        "ratio",
    )
    print("FactorizationNAG time per iteration / time of (A @ Y + A.T @ X)")
    print(format_table(header, rows))
    return rows


def main(argv=None):
    cli(run, __doc__, argv)


if __name__ == "__main__":
    main()
