"""Iteration complexity: iterations to relative error 1e-8 against the theory.

1. FactorizationNAG on planted m×n matrices of rank r = 5 with singular values
   ``linspace(1, 1/κ, r)`` (no noise), κ ∈ {10, 100, 1000}, widths
   d ∈ {r, 4r, 16r}, from the unbalanced start with the automatic step and
   momentum: GD, AltGD, NAG and heavy ball. The slope of log(iterations)
   against log(κ) is printed next to the theory: from the unbalanced start
   the problem is least squares in Y with condition number κ_eff ≈ κ², so GD
   and AltGD need ~κ²·log(1/ε) iterations and the momentum methods
   ~κ·log(1/ε) (Xu et al.; ALGORITHMS.md §3).
2. MatrixSensingPrecGD on Gaussian sensing (n×n, true rank r, N = 10·n·r
   measurements) with search rank r (exact) and 2r (over-parameterized):
   PrecGD, ScaledGD(λ), APGD and GD. Theory: the preconditioned methods
   converge linearly at a rate independent of κ (slope 0), also
   over-parameterized for PrecGD and APGD; GD's rate degrades with κ at the
   exact rank and becomes sublinear over-parameterized (Zhang, Fattahi &
   Zhang 2021; Tong, Ma & Chi 2021).

Runs that do not reach 1e-8 within the iteration cap are extrapolated from the
linear rate of the last fifth of their curve (marked ``~``), unless that rate
is below 0.8 of the rate over the fifth before it (a sublinear or stalled
curve): then only the lower bound ``>cap`` is printed and the run is left out
of the slope.

    python -m benchmarks.complexity [--quick]
"""

import math
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from skfactor import FactorizationNAG, MatrixSensingPrecGD
from skfactor.datasets import make_low_rank_matrix, make_matrix_sensing

from ._timing import cli, loglog_slope, print_table

TARGET = 1e-8


def iterations_to_target(relative_errors, target=TARGET):
    """Iterations until the relative error first reaches ``target``.

    Returns ``(iterations, how)`` with ``how`` ``""`` (reached), ``"~"``
    (extrapolated from the linear rate of the last fifth of the curve) or
    ``">"`` (not reached, and the curve is flat or slowing down: only a lower
    bound is known).
    """
    errors = np.asarray(relative_errors, dtype=float)
    hit = np.flatnonzero(errors <= target)
    if hit.size:
        return int(hit[0]) + 1, ""
    k = len(errors)
    tail = max(10, k // 5)
    logs = np.log(np.maximum(errors, np.finfo(float).tiny))
    last = np.polyfit(np.arange(k - tail, k), logs[-tail:], 1)[0]
    before = np.polyfit(np.arange(k - 2 * tail, k - tail), logs[-2 * tail : -tail], 1)[
        0
    ]
    if not last < 0 or last > 0.8 * before:  # flat, or slowing down
        return k, ">"
    return int(k + math.ceil((math.log(target) - logs[-1]) / last)), "~"


def _slope(kappas, counts, extrapolated=True):
    """log–log slope over the runs whose count is known: reached, or (with
    ``extrapolated``) extrapolated from a linear tail. ``—`` below 2 runs."""
    allowed = ("", "~") if extrapolated else ("",)
    keep = [(x, n) for x, (n, how) in zip(kappas, counts) if how in allowed]
    if len(keep) < 2:
        return "—"
    return f"{loglog_slope(*zip(*keep)):.2f}"


def _fmt(iterations, how):
    return f"{how}{iterations}"


def _fit_quietly(model, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(*args)


def factorization(quick=False):
    m, n, r = (60, 50, 3) if quick else (120, 100, 5)
    kappas = (10, 100) if quick else (10, 100, 1000)
    widths = (r, 4 * r) if quick else (r, 4 * r, 16 * r)
    scales = (3.0,) if quick else (3.0, 10.0)
    cap = 3000 if quick else 30000
    optimizers = ("gd", "altgd", "nag", "heavy_ball")
    theory = {"gd": "2", "altgd": "2", "nag": "1", "heavy_ball": "1"}
    rows, slope_rows = [], []
    for c0 in scales:
        for d in widths:
            counts = {opt: [] for opt in optimizers}
            for kappa in kappas:
                A, *_ = make_low_rank_matrix(m, n, r, kappa, random_state=0)
                norm2 = float(np.sum(A * A))
                for optimizer in optimizers:
                    model = FactorizationNAG(
                        d,
                        optimizer=optimizer,
                        init_scale=c0,
                        init_power_iter=0,  # the paper's start
                        tol=TARGET,
                        max_iter=cap,
                        random_state=0,
                    )
                    _fit_quietly(model, A)
                    errors = np.sqrt(2.0 * np.maximum(model.loss_curve_, 0.0) / norm2)
                    counts[optimizer].append(iterations_to_target(errors))
                cells = [_fmt(*counts[opt][-1]) for opt in optimizers]
                ratio = counts["nag"][-1][0] / counts["gd"][-1][0]
                rows.append((f"{c0:g}", str(d), str(kappa), *cells, f"{ratio:.2g}"))
            slope_rows.append(
                (
                    f"{c0:g}",
                    str(d),
                    *(
                        f"{_slope(kappas, counts[opt], False)} "
                        f"({_slope(kappas, counts[opt])})"
                        for opt in optimizers
                    ),
                )
            )
    slope_rows.append(("theory", "", *(theory[opt] for opt in optimizers)))
    print_table(
        f"FactorizationNAG: iterations to relative error {TARGET:g} ({m}x{n}, "
        f"rank {r}, spectrum linspace(1, 1/κ, r), unbalanced start with init_scale "
        f"c0, automatic step and momentum, cap {cap})",
        ("c0", "d", "κ", *optimizers, "NAG/GD"),
        rows,
    )
    print_table(
        "Growth in κ: slope of log(iterations) on log(κ) over the runs that "
        "reached 1e-8 (in brackets: with the extrapolated ones; — : fewer than 2)",
        ("c0", "d", *optimizers),
        slope_rows,
    )
    return rows + slope_rows


def sensing(quick=False):
    n, r = (12, 2) if quick else (30, 3)
    kappas = (10, 100) if quick else (10, 100, 1000)
    cap = 1000 if quick else 10000
    optimizers = ("precgd", "scaledgd", "apgd", "gd")
    rows, slopes = [], {}
    for rank in (r, 2 * r):
        counts = {opt: [] for opt in optimizers}
        for kappa in kappas:
            X, y, _ = make_matrix_sensing(
                n, n, r, 10 * n * r, condition_number=kappa, random_state=0
            )
            reference = 0.5 * float(y @ y) / len(y)
            for optimizer in optimizers:
                model = MatrixSensingPrecGD(
                    rank,
                    optimizer=optimizer,
                    fit_intercept=False,
                    tol=TARGET,
                    max_iter=cap,
                    random_state=0,
                )
                _fit_quietly(model, X, y)
                errors = np.sqrt(np.maximum(model.loss_curve_, 0.0) / reference)
                counts[optimizer].append(iterations_to_target(errors))
            cells = [_fmt(*counts[opt][-1]) for opt in optimizers]
            rows.append((str(rank), str(kappa), *cells))
        for optimizer in optimizers:
            slopes[optimizer, rank] = (
                f"{_slope(kappas, counts[optimizer], False)} "
                f"({_slope(kappas, counts[optimizer])})"
            )
    print_table(
        f"MatrixSensingPrecGD: iterations to relative residual {TARGET:g} "
        f"({n}x{n}, true rank {r}, N = {10 * n * r}, spectral start, cap {cap})",
        ("search rank", "κ", *optimizers),
        rows,
    )
    theory = {
        "precgd": ("0", "0"),
        "scaledgd": ("0", "0 (λ-limited)"),
        "apgd": ("0", "0"),
        "gd": ("1", "sublinear"),
    }
    slope_rows = [
        (
            optimizer,
            slopes[optimizer, r],
            theory[optimizer][0],
            slopes[optimizer, 2 * r],
            theory[optimizer][1],
        )
        for optimizer in optimizers
    ]
    print_table(
        "Growth in κ: slope of log(iterations) on log(κ) over the runs that "
        "reached 1e-8 (in brackets: with the extrapolated ones)",
        ("optimizer", f"rank {r}", "theory", f"rank {2 * r}", "theory"),
        slope_rows,
    )
    return rows + slope_rows


def run(quick=False):
    return factorization(quick) + sensing(quick)


def main(argv=None):
    cli(run, __doc__, argv)


if __name__ == "__main__":
    main()
