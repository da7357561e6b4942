"""LinearNetRegressor: iterations in the NAG paper's setting.

Output 500, input 400, N = 600 samples (the NAG paper's larger run) with a
planted rank-5 map of condition number 10, one hidden layer of width 20:
iterations of GD, NAG and heavy ball to relative error 1e-6 from the
unbalanced start. (The per-iteration cost, with sufficient statistics and
with products with X, is in ``benchmarks.roofline``.)

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
            init_power_iter=0,  # the paper's start
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


def run(quick=False):
    if quick:
        return paper_setting(50, 40, 60, 8, max_iter=3000)
    return paper_setting()


def main(argv=None):
    cli(run, __doc__, argv)


if __name__ == "__main__":
    main()
