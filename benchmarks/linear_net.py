"""LinearNetRegressor: iterations in the NAG paper's setting, and the cost of
an iteration with and without sufficient statistics.

1. Output 500, input 400, N = 600 samples (the NAG paper's larger run) with a
   planted rank-5 map of condition number 10, one hidden layer of width 20:
   iterations of GD, NAG and heavy ball to relative error 1e-6 from the
   unbalanced start.
2. n = 100 000 samples, 50 features, 20 outputs, width 10: median time per
   iteration with the statistics S = XᵀX/n (computed once) and with two
   passes over X per iteration.

    python -m benchmarks.linear_net [--quick]
"""

import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from skfactor import LinearNetRegressor
from skfactor.datasets import make_low_rank_matrix

from ._timing import cli, format_table


def paper_setting(n_out=500, n_in=400, n_samples=600, width=20, max_iter=20000):
    rng = np.random.RandomState(0)
    W, *_ = make_low_rank_matrix(n_out, n_in, 5, 10, random_state=0)
    X = rng.standard_normal((n_samples, n_in))
    Y = X @ W.T
    rows = []
    for optimizer in ("gd", "nag", "heavy_ball"):
        model = LinearNetRegressor(
            (width,),
            optimizer=optimizer,
            tol=1e-6,
            max_iter=max_iter,
            fit_intercept=False,
            random_state=0,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            start = time.perf_counter()
            model.fit(X, Y)
            seconds = time.perf_counter() - start
        rel = np.sqrt(2 * model.loss_curve_[-1] / np.mean(np.sum(Y**2, axis=1)))
        rows.append(
            (
                optimizer,
                str(model.n_iter_),
                "yes" if model.converged_ else "no",
                f"{rel:.1e}",
                f"{seconds:.2f}",
            )
        )
    print(
        f"Linear network {n_in} -> {width} -> {n_out}, N = {n_samples}, planted "
        "rank 5, condition number 10, unbalanced start, tol 1e-6"
    )
    print(
        format_table(
            ("optimizer", "iterations", "converged", "rel. error", "seconds"), rows
        )
    )
    return rows


def statistics_speedup(
    n_samples=100_000, n_features=50, n_outputs=20, width=10, n_iter=50
):
    rng = np.random.RandomState(1)
    X = rng.standard_normal((n_samples, n_features))
    Y = X @ rng.standard_normal((n_features, n_outputs))
    Y += rng.standard_normal(Y.shape)
    rows = []
    for label, limit in (("statistics", 10**9), ("products with X", 0)):
        model = LinearNetRegressor((width,), tol=0, max_iter=n_iter, random_state=0)
        model._max_statistics_features = limit
        stamps = []
        start = time.perf_counter()
        model.fit(X, Y)
        total = time.perf_counter() - start
        # per iteration: difference of two fits of different lengths
        short = LinearNetRegressor(
            (width,), tol=0, max_iter=n_iter // 5, random_state=0
        )
        short._max_statistics_features = limit
        start = time.perf_counter()
        short.fit(X, Y)
        total_short = time.perf_counter() - start
        per_iter = (total - total_short) / (n_iter - n_iter // 5)
        stamps.append(per_iter)
        rows.append((label, f"{1e3 * per_iter:.3f}", f"{total:.2f}"))
    ratio = float(rows[1][1]) / max(float(rows[0][1]), 1e-9)
    print(
        f"Per-iteration time, n = {n_samples}, p = {n_features}, q = {n_outputs}, "
        f"width {width}: products with X cost {ratio:.0f}x the statistics path"
    )
    print(format_table(("path", "ms/iter", f"fit of {n_iter} it (s)"), rows))
    return rows


def run(quick=False):
    if quick:
        rows = paper_setting(50, 40, 60, 8, max_iter=3000)
        print()
        return rows + statistics_speedup(5000, 20, 5, 4, n_iter=20)
    rows = paper_setting()
    print()
    return rows + statistics_speedup()


def main(argv=None):
    cli(run, __doc__, argv)


if __name__ == "__main__":
    main()
