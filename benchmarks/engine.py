"""The engine's contracts on the cases that once broke them (issue 11).

Each row is one fit a user ran: completion in the model's units, sensing and
linear networks with rescaled inputs, preconditioned steps on float32 data far
from 1, the stopping rule at an optimum (with one and two BLAS threads) and
on the saddles of a small start, and the imputer's single run. The columns
are what the user saw: the error against the truth, the iterations, the
stopping reason and the number of ``ConvergenceWarning``\\ s.

    python -m benchmarks.engine [--quick]
"""

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

from skfactor import (
    FactorizationNAG,
    LinearNetRegressor,
    LowRankImputer,
    MatrixSensingPrecGD,
)
from skfactor.datasets import (
    make_low_rank_matrix,
    make_matrix_completion,
    make_matrix_sensing,
)
from skfactor.exceptions import DivergenceError

from ._timing import cli, print_table


def _rel(a, b):
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def _attempt(case, fit, error):
    """Run ``fit``; a row with its error, iterations, reason and warnings."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            model = fit()
        except DivergenceError as e:
            return (case, "DivergenceError", str(e.n_iter), "-", "-")
    n_warn = sum(issubclass(w.category, ConvergenceWarning) for w in caught)
    reason = getattr(model, "stop_reason_", "?")
    return (case, f"{error(model):.2e}", str(model.n_iter_), reason, str(n_warn))


def completion_rows(quick):
    n1, n2 = (120, 80) if quick else (300, 200)
    X, y, M = make_matrix_completion(n1, n2, 5, fraction=0.3, random_state=0)
    rows = []
    for optimizer in ("scaledgd", "precgd", "apgd"):
        for init in ("small_random", "spectral"):
            model = MatrixSensingPrecGD(
                5,
                shape=(n1, n2),
                optimizer=optimizer,
                init=init,
                tol=1e-9,
                max_iter=3000,
                random_state=0,
            )
            rows.append(
                _attempt(
                    f"completion {n1}x{n2} 30%: {optimizer}, {init}",
                    lambda model=model: model.fit(X, y),
                    lambda m: _rel(m.coef_, M),
                )
            )
    start = MatrixSensingPrecGD(
        5, shape=(n1, n2), init="spectral", max_iter=1, tol=0, random_state=0
    ).fit(X, y)
    ratio = np.linalg.norm(start.coef_) / np.linalg.norm(M)
    rows.append(("completion: ‖spectral start‖ / ‖M‖", f"{ratio:.2f}", "-", "-", "-"))
    return rows


def sensing_rows(quick):
    X, y, M = make_matrix_sensing(4, 4, 1, 80, random_state=0)
    rows = []
    cases = [("precgd", c) for c in (1.0, 100.0, 1e3, 1e6, 1e-6)]
    cases += [("gd", 1e6), ("scaledgd", 1e-6), ("scaledgd", 1e6), ("apgd", 1e-6)]
    for optimizer, c in cases:
        model = MatrixSensingPrecGD(2, optimizer=optimizer, random_state=0)
        rows.append(
            _attempt(
                f"sensing 4x4 rank 1, X*{c:g}: {optimizer}",
                lambda model=model, c=c: model.fit(c * X, y),
                lambda m, c=c: _rel(c * m.coef_, M),
            )
        )
    return rows


def linear_net_rows(quick):
    rng = np.random.RandomState(0)
    X = rng.standard_normal((10, 50))
    y = X @ rng.standard_normal((50, 3))
    rows = []
    for c in (1.0, 0.1, 0.01, 100.0):
        model = LinearNetRegressor((4,), max_iter=3000, random_state=0)
        rows.append(
            _attempt(
                f"linear net 10x50 -> 4 -> 3, X*{c:g}: nag",
                lambda model=model, c=c: model.fit(c * X, y),
                lambda m, c=c: _rel(m.predict(c * X), y),
            )
        )
    return rows


def float32_rows(quick):
    A, *_ = make_low_rank_matrix(60, 40, 3, 10, random_state=0)
    rows = []
    for c in (1.0, 1e12):
        A32 = (A * c).astype(np.float32)
        for lr in (0.5, "auto"):
            model = FactorizationNAG(
                3, optimizer="precgd", learning_rate=lr, random_state=0
            )
            rows.append(
                _attempt(
                    f"float32 A*{c:g}: precgd, learning_rate={lr} "
                    "(error column: learning_rate_)",
                    lambda model=model, A32=A32: model.fit(A32),
                    lambda m: m.learning_rate_,
                )
            )
    return rows


def stopping_rows(quick):
    m, n = (200, 150) if quick else (400, 300)
    noisy, *_ = make_low_rank_matrix(m, n, 5, 10, noise=0.01, random_state=0)
    rows = []
    for optimizer in ("nag", "gd", "apgd"):
        for threads in (1, 2):

            def fit(optimizer=optimizer, threads=threads):
                with threadpool_limits(limits=threads):
                    model = FactorizationNAG(
                        5, optimizer=optimizer, init="spectral", random_state=0
                    )
                    return model.fit(noisy)

            rows.append(
                _attempt(
                    f"noisy {m}x{n}, spectral start: {optimizer}, {threads} thread(s)",
                    fit,
                    lambda m: m.reconstruction_err_ / np.linalg.norm(noisy),
                )
            )
    exact, *_ = make_low_rank_matrix(120, 80, 5, 10, random_state=0)
    for optimizer in ("gd", "altgd", "nag"):
        model = FactorizationNAG(
            8,
            optimizer=optimizer,
            init="small_random",
            max_iter=3000,
            random_state=0,
        )
        rows.append(
            _attempt(
                f"exact rank 5, small start, d = 8: {optimizer}",
                lambda model=model: model.fit(exact),
                lambda m: m.reconstruction_err_ / np.linalg.norm(exact),
            )
        )
    for seed in range(2 if quick else 6):
        G = np.random.RandomState(seed).standard_normal((40, 25))
        for c in (1.0, 3.7):
            model = FactorizationNAG(
                5, optimizer="apgd", init="spectral", random_state=0
            )
            rows.append(
                _attempt(
                    f"Gaussian 40x25 (seed {seed}) * {c:g}: apgd, spectral",
                    lambda model=model, G=G, c=c: model.fit(c * G),
                    lambda m, G=G, c=c: m.reconstruction_err_ / np.linalg.norm(c * G),
                )
            )
    return rows


def imputer_rows(quick):
    A, *_ = make_low_rank_matrix(100, 30, 3, 5, noise=0.05, random_state=0)
    A = A + 3.0
    X = A.copy()
    missing = np.random.RandomState(1).rand(*A.shape) < 0.2
    X[missing] = np.nan
    rows = []
    for max_iter in (30, 1000):
        model = LowRankImputer(4, max_iter=max_iter, random_state=0)
        rows.append(
            _attempt(
                f"LowRankImputer, max_iter={max_iter}",
                lambda model=model: model.fit(X),
                lambda m: _rel(m.transform(X)[missing], A[missing]),
            )
        )
    return rows


def run(quick=False):
    rows = []
    for part in (
        completion_rows,
        sensing_rows,
        linear_net_rows,
        float32_rows,
        stopping_rows,
        imputer_rows,
    ):
        rows.extend(part(quick))
    print_table(
        "The engine's contracts on the cases of issue 11",
        ("case", "error", "iterations", "stop", "warnings"),
        rows,
    )
    return rows


def main(argv=None):
    cli(run, __doc__, argv)


if __name__ == "__main__":
    main()
