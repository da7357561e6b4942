"""MatrixSensingPrecGD: the recovery table of the PrecGD paper's comparison.

Over-parameterized, ill-conditioned sensing (n1 = n2 = 30, true rank 3, search
rank 6, condition number 100, N = 10·n·rank = 900 Gaussian measurements):
iterations to relative error 1e-8 (at most 500), the final error
‖M̂ − M‖/‖M‖ and the effective rank, per optimizer. (The per-iteration cost is
in ``benchmarks.roofline``, the growth in κ in ``benchmarks.complexity``.)

    python -m benchmarks.sensing [--quick]
"""

import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from skfactor import MatrixSensingPrecGD
from skfactor.datasets import make_matrix_sensing

from ._timing import cli, format_table


def recovery(n=30, true_rank=3, rank=6, condition_number=100, budget=500):
    X, y, M = make_matrix_sensing(
        n,
        n,
        true_rank,
        10 * n * true_rank,
        condition_number=condition_number,
        random_state=0,
    )
    rows = []
    for optimizer in ("precgd", "scaledgd", "apgd", "gd", "nag"):
        model = MatrixSensingPrecGD(
            rank, optimizer=optimizer, max_iter=budget, tol=1e-8, random_state=0
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            start = time.perf_counter()
            model.fit(X, y)
            seconds = time.perf_counter() - start
        error = np.linalg.norm(model.coef_ - M) / np.linalg.norm(M)
        rows.append(
            (
                optimizer,
                str(model.n_iter_),
                "yes" if model.converged_ else "no",
                f"{error:.1e}",
                str(model.effective_rank_),
                f"{seconds:.2f}",
            )
        )
    print(
        f"Sensing {n}x{n}, true rank {true_rank}, search rank {rank}, "
        f"condition number {condition_number}, N = {10 * n * true_rank}, "
        f"tol 1e-8 on the relative residual, at most {budget} iterations"
    )
    print(
        format_table(
            (
                "optimizer",
                "iterations",
                "converged",
                "‖M̂−M‖/‖M‖",
                "effective rank",
                "seconds",
            ),
            rows,
        )
    )
    return rows


def run(quick=False):
    return recovery(n=12 if quick else 30, budget=100 if quick else 500)


def main(argv=None):
    cli(run, __doc__, argv)


if __name__ == "__main__":
    main()
