"""Time per iteration against the products no method can avoid.

For FactorizationNAG every iteration needs ``A @ Y`` and ``A.T @ X``; the ratio
``(time per NAG iteration) / (time of A @ Y + A.T @ X)`` measures everything
else (Python overhead, the m×d and d×d work). Both are measured in the same
process. The per-iteration time is the difference between two fits of
``n1`` and ``n2`` iterations, so set-up costs (sketch, validation, the exact
final residual) cancel.

Two regimes are reported:

* ``noisy``: a full-rank matrix, where the fast products expansion of the loss
  is used on every iteration (the common case);
* ``exact``: a planted exactly-low-rank matrix fitted to relative error 1e-13,
  where the last iterations switch to the exact blocked residual for the loss.

    python -m benchmarks.roofline [--quick]
"""

import argparse
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from skfactor import FactorizationNAG
from skfactor.datasets import make_low_rank_matrix

from ._timing import format_table, median_time


def _fit_seconds(A, d, n_iter, optimizer, repeats):
    def fit():
        FactorizationNAG(
            d, optimizer=optimizer, tol=0, max_iter=n_iter, random_state=0
        ).fit(A)

    return median_time(fit, repeats=repeats, warmup=1)


def per_iteration(A, d, optimizer="nag", n1=10, n2=60, repeats=3):
    t1 = _fit_seconds(A, d, n1, optimizer, repeats)
    t2 = _fit_seconds(A, d, n2, optimizer, repeats)
    return (t2 - t1) / (n2 - n1)


def products_time(A, d, repeats=7):
    rng = np.random.RandomState(0)
    X = rng.standard_normal((A.shape[0], d)).astype(A.dtype)
    Y = rng.standard_normal((A.shape[1], d)).astype(A.dtype)
    return median_time(lambda: (A @ Y, A.T @ X), repeats=repeats, warmup=2)


def run(quick=False):
    m, n = (1000, 750) if quick else (2000, 1500)
    rows = []
    rng = np.random.RandomState(0)
    for dtype in (np.float64, np.float32):
        noisy = rng.standard_normal((m, n)).astype(dtype)
        for d in (5, 20) if quick else (5, 20, 80):
            base = products_time(noisy, d)
            for optimizer in ("nag", "gd"):
                it = per_iteration(noisy, d, optimizer, n2=40 if quick else 60)
                rows.append(
                    (
                        f"{m}x{n}",
                        np.dtype(dtype).name,
                        str(d),
                        "noisy",
                        optimizer,
                        f"{1e3 * it:.3f}",
                        f"{1e3 * base:.3f}",
                        f"{it / base:.2f}",
                    )
                )
    # exact regime: count the iterations in the blocked-residual phase
    A, *_ = make_low_rank_matrix(m, n, 5, 10, random_state=0)
    d = 20
    base = products_time(A, d)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        model = FactorizationNAG(d, tol=1e-13, max_iter=5000, random_state=0).fit(A)
        total = time.perf_counter() - start
    it = total / model.n_iter_
    rows.append(
        (
            f"{m}x{n}",
            "float64",
            str(d),
            f"exact ({model.n_iter_} it)",
            "nag",
            f"{1e3 * it:.3f}",
            f"{1e3 * base:.3f}",
            f"{it / base:.2f}",
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
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes")
    args = parser.parse_args(argv)
    run(quick=args.quick)


if __name__ == "__main__":
    main()
