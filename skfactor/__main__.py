"""``python -m skfactor``: GD against NAG on a planted ill-conditioned problem.

Fits :class:`~skfactor.FactorizationNAG` with gradient descent and with
Nesterov's accelerated gradient, from the same unbalanced start, on a planted
rank-5 matrix with condition number 100, and prints one row per optimizer:
iterations, seconds, final relative error ‖A − XYᵀ‖_F/‖A‖_F.
"""

import argparse
import sys
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from . import FactorizationNAG, __version__
from .datasets import make_low_rank_matrix


def compare(
    n_samples=600,
    n_features=400,
    rank=5,
    condition_number=100.0,
    n_components=10,
    optimizers=("gd", "nag"),
    tol=1e-8,
    max_iter=3000,
    random_state=0,
):
    """Fit one model per optimizer and return a list of result rows (dicts)."""
    A, *_ = make_low_rank_matrix(
        n_samples, n_features, rank, condition_number, random_state=random_state
    )
    norm = np.linalg.norm(A)
    rows = []
    for name in optimizers:
        model = FactorizationNAG(
            n_components,
            optimizer=name,
            tol=tol,
            max_iter=max_iter,
            random_state=random_state,
        )
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(A)
        rows.append(
            {
                "optimizer": name,
                "iterations": model.n_iter_,
                "seconds": time.perf_counter() - start,
                "relative_error": model.reconstruction_err_ / norm,
                "converged": model.converged_,
            }
        )
    return rows


def format_table(rows):
    """Render result rows as a fixed-width text table."""
    header = (
        f"{'optimizer':<10} {'iterations':>10} {'seconds':>9} "
        f"{'rel. error':>11} {'converged':>10}"
    )
    lines = [header, "-" * len(header)]
    for row in rows:
        lines.append(
            f"{row['optimizer']:<10} {row['iterations']:>10d} "
            f"{row['seconds']:>9.3f} {row['relative_error']:>11.2e} "
            f"{'yes' if row['converged'] else 'no':>10}"
        )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="skfactor",
        description=(
            "Fit FactorizationNAG with GD and with NAG on a planted rank-5 "
            "matrix with condition number 100 and print a comparison table."
        ),
    )
    parser.add_argument("--version", action="version", version=__version__)
    parser.add_argument("--n-samples", type=int, default=600)
    parser.add_argument("--n-features", type=int, default=400)
    parser.add_argument("--condition-number", type=float, default=100.0)
    parser.add_argument("--n-components", type=int, default=10)
    parser.add_argument("--max-iter", type=int, default=3000)
    parser.add_argument("--tol", type=float, default=1e-8)
    parser.add_argument("--random-state", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        rows = compare(
            n_samples=args.n_samples,
            n_features=args.n_features,
            condition_number=args.condition_number,
            n_components=args.n_components,
            max_iter=args.max_iter,
            tol=args.tol,
            random_state=args.random_state,
        )
    except ValueError as exc:
        print(f"skfactor: error: {exc}", file=sys.stderr)
        return 2
    print(
        f"FactorizationNAG on a planted rank-5 matrix, {args.n_samples}x"
        f"{args.n_features}, condition number {args.condition_number:g}, "
        f"n_components={args.n_components}, unbalanced start, tol={args.tol:g}"
    )
    print(format_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
