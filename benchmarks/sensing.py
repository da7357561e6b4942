"""MatrixSensingPrecGD: the recovery table and the completion roofline.

1. Over-parameterized, ill-conditioned sensing (n1 = n2 = 30, true rank 3,
   search rank 6, condition number 100, N = 10·n·rank = 900 Gaussian
   measurements): iterations to relative error 1e-6 (at most 500) and the
   final error ‖M̂ − M‖/‖M‖, per optimizer.
2. Completion (2000 × 1500, rank 5, 5 % observed): PrecGD's time per
   iteration over the time of one pass of the sparse work no method avoids —
   the model at the observed entries and the products E R and Eᵀ L with the
   sparse gradient matrix E (median per-iteration time from the solver's
   callback, products timed on the final factors).

    python -m benchmarks.sensing [--quick]
"""

import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from skfactor import MatrixSensingPrecGD
from skfactor._initializers import spectral
from skfactor._objectives import SensingObjective
from skfactor._optimizers import make_optimizer
from skfactor._solver import minimize
from skfactor.datasets import make_matrix_completion, make_matrix_sensing

from ._timing import cli, format_table, median_time


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


def completion(n1=2000, n2=1500, rank=5, fraction=0.05, n_iter=30):
    X, y, _ = make_matrix_completion(
        n1, n2, rank, condition_number=2, fraction=fraction, noise=0.1, random_state=0
    )
    objective = SensingObjective(X, y, (n1, n2))
    start = spectral(
        objective, rank, scale="auto", random_state=np.random.RandomState(0)
    )
    stamps = [time.perf_counter()]
    eta = 0.5 / objective.design_curvature()
    result = minimize(
        objective,
        start,
        make_optimizer("precgd", eta),
        max_iter=n_iter,
        tol=0,
        callback=lambda k, F, f: stamps.append(time.perf_counter()),
        learning_rate_was_auto=True,  # as the estimator: backtrack if needed
    )
    per_iter = float(np.median(np.diff(stamps)))
    L, R = result.factors
    E = objective.adjoint(objective.measure([L, R]) - y)

    def unavoidable():
        objective.measure([L, R])
        E @ R
        E.T @ L

    base = median_time(unavoidable, repeats=15, warmup=2)
    rows = [
        (
            f"{n1}x{n2}",
            f"{fraction:.0%}",
            str(X.nnz),
            str(rank),
            f"{1e3 * per_iter:.2f}",
            f"{1e3 * base:.2f}",
            f"{per_iter / base:.2f}",
        )
    ]
    print(
        "PrecGD completion: time per iteration / one pass of the sparse work "
        "(model at observed entries + E R + Eᵀ L)"
    )
    print(
        format_table(
            ("shape", "observed", "nnz", "rank", "ms/iter", "ms sparse pass", "ratio"),
            rows,
        )
    )
    return rows


def run(quick=False):
    rows = recovery(n=12 if quick else 30, budget=100 if quick else 500)
    print()
    rows += completion(
        *((400, 300) if quick else (2000, 1500)), n_iter=10 if quick else 30
    )
    return rows


def main(argv=None):
    cli(run, __doc__, argv)


if __name__ == "__main__":
    main()
