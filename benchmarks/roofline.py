"""Roofline: time per iteration over the products no method can avoid, and peak
memory over the size of the data.

Every ratio is measured in one process: the per-iteration time is the median
over the iterations of one run of the solver (timestamps from its callback, so
set-up costs are excluded), the unavoidable products are timed (median of many
repeats) on that run's final factors, and the reported ratio is the median over
interleaved rounds (this VM is noisy).

1. FactorizationNAG, ``f = ½‖XYᵀ − A‖²``: one iteration of any optimizer
   needs ``A @ Y`` and ``A.T @ X``. Dense 4000×3000 (float64 and float32,
   d = 5, 20, 80), sparse 100 000×20 000 at density 1e-3, and a planted
   exactly-low-rank matrix fitted to relative error 1e-13, where the loss must
   be recomputed from the exact residual (one more pass over A).
2. MatrixSensingPrecGD with a dense Gaussian design (N×n1·n2): ``D @ vec(M)``
   and ``Dᵀ @ ρ``; completion: the model at the observed entries and the
   products ``E R`` and ``Eᵀ L`` with the sparse gradient matrix.
3. LinearNetRegressor: an iteration from sufficient statistics against one
   pass over X (``X @ W₁ᵀ``), and the data path (many features) against its
   two passes ``X @ W₁ᵀ`` and ``Xᵀ @ G``.
4. Peak memory of a whole ``fit`` (tracemalloc, the input excluded) in units
   of the data and of ``(m + n)·d`` numbers.

    python -m benchmarks.roofline [--quick]
"""

import numpy as np

from skfactor import FactorizationNAG, MatrixSensingPrecGD
from skfactor._initializers import spectral, unbalanced
from skfactor._objectives import (
    FactorizationObjective,
    LinearNetDataObjective,
    LinearNetObjective,
    SensingObjective,
)
from skfactor._step_size import SCALEDGD_RELATIVE_DAMPING
from skfactor.datasets import (
    make_low_rank_matrix,
    make_matrix_completion,
    make_matrix_sensing,
)

from ._timing import (
    cli,
    interleaved_ratio,
    iteration_times,
    median_time,
    pair_shapes,
    peak_memory,
    print_table,
    sparse_random,
)

HEADER = ("problem", "shape", "dtype", "d", "optimizer", "ms/iter", "ms base", "ratio")


def _row(problem, shape, dtype, d, optimizer, it, base, ratio):
    return (
        problem,
        shape,
        np.dtype(dtype).name,
        str(d),
        optimizer,
        f"{1e3 * it:.3f}",
        f"{1e3 * base:.3f}",
        f"{ratio:.2f}",
    )


def _rng():
    return np.random.RandomState(0)


# -- 1. factorization ---------------------------------------------------------
def _factorization_start(A, d):
    objective = FactorizationObjective(A)
    factors = unbalanced(
        objective,
        pair_shapes(objective, d),
        scale="auto",
        random_state=_rng(),
        power_iter=0,  # the paper's start: the regimes measured are its
    )
    eta = 1.0 / np.linalg.norm(factors[0], 2) ** 2
    return objective, factors, eta


def factorization_cell(A, d, optimizer, n_iter, rounds):
    """Median ratio of one iteration to ``A @ Y + A.T @ X``."""

    def measure():
        objective, factors, eta = _factorization_start(A, d)
        times, _, (X, Y) = iteration_times(objective, factors, optimizer, eta, n_iter)
        base = median_time(lambda: (A @ Y, A.T @ X), repeats=15, warmup=3)
        return float(np.median(times)), base

    return interleaved_ratio(measure, rounds)


def factorization(quick=False):
    rounds = 1 if quick else 3
    m, n = (400, 300) if quick else (4000, 3000)
    n_iter = 20 if quick else 60
    rows = []
    rng = np.random.RandomState(0)
    dense = rng.standard_normal((m, n))
    for dtype in (np.float64, np.float32):
        A = dense.astype(dtype)
        for d in (5, 20) if quick else (5, 20, 80):
            for optimizer in ("nag", "gd"):
                cell = factorization_cell(A, d, optimizer, n_iter, rounds)
                rows.append(_row("dense", f"{m}x{n}", dtype, d, optimizer, *cell))
    del dense, A
    ms, ns, density = (10_000, 2_000, 1e-2) if quick else (100_000, 20_000, 1e-3)
    S = sparse_random(ms, ns, density)
    for optimizer in ("nag", "gd"):
        cell = factorization_cell(S, 20, optimizer, n_iter, rounds)
        rows.append(
            _row(f"sparse {density:g}", f"{ms}x{ns}", S.dtype, 20, optimizer, *cell)
        )
    rows += _exact_regime(m, n)
    print_table(
        "FactorizationNAG: time per iteration / time of (A @ Y + A.T @ X)",
        HEADER,
        rows,
    )
    return rows


def _exact_regime(m, n, d=20):
    """Planted rank 5: iterations with the fast loss vs the exact blocked one."""
    A, *_ = make_low_rank_matrix(m, n, 5, 10, random_state=_rng())
    objective, factors, eta = _factorization_start(A, d)
    times, losses, (X, Y) = iteration_times(
        objective, factors, "nag", eta, 5000, tol=1e-13
    )
    exact = losses < objective._exact_below
    base = median_time(lambda: (A @ Y, A.T @ X), repeats=15, warmup=3)
    rows = []
    for label, mask in (("fast loss", ~exact), ("exact loss", exact)):
        if mask.any():
            it = float(np.median(times[mask]))
            rows.append(
                _row(
                    f"planted, {label} ({mask.sum()} it)",
                    f"{m}x{n}",
                    A.dtype,
                    d,
                    "nag",
                    it,
                    base,
                    it / base,
                )
            )
    return rows


# -- 2. sensing ---------------------------------------------------------------
def sensing(quick=False):
    rounds = 1 if quick else 3
    n_iter = 10 if quick else 40
    rows = []
    n, true_rank, rank = (15, 2, 4) if quick else (50, 5, 10)
    N = 10 * n * n if not quick else 3 * n * n
    D, y, _ = make_matrix_sensing(n, n, true_rank, N, random_state=0)
    objective = SensingObjective(D, y, (n, n))
    for optimizer in ("precgd", "scaledgd", "gd", "nag", "apgd"):

        def measure(optimizer=optimizer):
            start = spectral(
                objective,
                pair_shapes(objective, rank),
                scale="auto",
                random_state=_rng(),
            )
            eta = 0.5 / objective.design_curvature()
            if optimizer in ("gd", "nag"):
                eta = 0.5 / np.linalg.norm(objective.target, 2)
            options = {}
            if optimizer == "scaledgd":
                sigma = np.linalg.norm(objective.target, 2)
                options["damping"] = SCALEDGD_RELATIVE_DAMPING * sigma
            times, _, (L, R) = iteration_times(
                objective, start, optimizer, eta, n_iter, **options
            )
            rho = objective.measure([L, R]) - y
            base = median_time(
                lambda: (objective.measure([L, R]), objective.adjoint(rho)),
                repeats=15,
                warmup=2,
            )
            return float(np.median(times)), base

        cell = interleaved_ratio(measure, rounds)
        rows.append(
            _row(f"dense design N={N}", f"{n}x{n}", D.dtype, rank, optimizer, *cell)
        )

    n1, n2 = (400, 300) if quick else (2000, 1500)
    rank = 5
    C, yc, _ = make_matrix_completion(
        n1, n2, rank, condition_number=2, fraction=0.05, noise=0.1, random_state=0
    )
    completion = SensingObjective(C, yc, (n1, n2))

    def measure_completion():
        start = spectral(
            completion, pair_shapes(completion, rank), scale="auto", random_state=_rng()
        )
        eta = 0.5 / completion.design_curvature()
        times, _, (L, R) = iteration_times(completion, start, "precgd", eta, n_iter)
        E = completion.adjoint(completion.measure([L, R]) - yc)

        def unavoidable():
            completion.measure([L, R])
            E @ R
            E.T @ L

        return float(np.median(times)), median_time(unavoidable, repeats=15, warmup=2)

    cell = interleaved_ratio(measure_completion, rounds)
    rows.append(
        _row(f"completion nnz={C.nnz}", f"{n1}x{n2}", C.dtype, rank, "precgd", *cell)
    )
    print_table(
        "MatrixSensingPrecGD: time per iteration / time of (𝒜(M) + 𝒜*(ρ)); "
        "completion: / (model at observed entries + E R + Eᵀ L)",
        HEADER,
        rows,
    )
    return rows


# -- 3. linear networks -------------------------------------------------------
def _layers(rng, q, width, p):
    """Two layers in the objectives' storage ``[W₂, W₁ᵀ]``, at the scale of 1."""
    return [
        rng.standard_normal((q, width)) / np.sqrt(width),
        rng.standard_normal((p, width)) / np.sqrt(p),
    ]


def linear_net(quick=False):
    rounds = 1 if quick else 3
    n_iter = 20 if quick else 60
    rng = np.random.RandomState(1)
    rows = []
    cases = (
        # (n, p, q, width): statistics path, then the data path (many features)
        ((5_000, 20, 5, 4), (2_000, 300, 10, 4))
        if quick
        else ((100_000, 50, 20, 10), (20_000, 3000, 50, 10))
    )
    for (n, p, q, width), path in zip(cases, ("statistics", "data")):
        X = rng.standard_normal((n, p))
        Y = X[:, :q] + 0.1 * rng.standard_normal((n, q))
        if path == "statistics":
            objective = LinearNetObjective(
                X.T @ X / n, Y.T @ X / n, np.sum(Y**2) / n, 2
            )
        else:
            objective = LinearNetDataObjective(X, Y, None, None, 2)

        def measure(objective=objective, X=X, p=p, q=q, width=width, path=path):
            factors = _layers(np.random.RandomState(0), q, width, p)
            eta = 0.5 / objective.smoothness(objective.point(factors))
            times, _, (_, W1t) = iteration_times(objective, factors, "nag", eta, n_iter)
            delta = X @ W1t
            if path == "statistics":
                base = median_time(lambda: X @ W1t, repeats=15, warmup=2)
            else:
                base = median_time(lambda: (X @ W1t, X.T @ delta), repeats=15, warmup=2)
            return float(np.median(times)), base

        cell = interleaved_ratio(measure, rounds)
        label = (
            "statistics / 1 pass" if path == "statistics" else "data path / 2 passes"
        )
        rows.append(_row(label, f"{n}x{p}->{q}", X.dtype, width, "nag", *cell))
    print_table(
        "LinearNetRegressor: time per iteration / time of one pass over X "
        "(statistics S = XᵀX/n) or of X @ W₁ᵀ + Xᵀ @ δ (the data path, many features)",
        HEADER,
        rows,
    )
    return rows


# -- 4. peak memory -----------------------------------------------------------
def memory(quick=False):
    rows = []
    cases = []
    m, n = (400, 300) if quick else (4000, 3000)
    rng = np.random.RandomState(0)
    A = rng.standard_normal((m, n))
    for d in (5, 20) if quick else (5, 20, 80):
        cases.append(("factorization dense", A, d, A.nbytes))
    ms, ns, density = (10_000, 2_000, 1e-2) if quick else (100_000, 20_000, 1e-3)
    S = sparse_random(ms, ns, density)
    sparse_bytes = S.data.nbytes + S.indices.nbytes + S.indptr.nbytes
    cases.append((f"factorization sparse {density:g}", S, 20, sparse_bytes))
    for label, data, d, nbytes in cases:
        model = FactorizationNAG(d, max_iter=20, tol=0, random_state=0)
        extra = peak_memory(lambda model=model, data=data: model.fit(data))
        rows.append(_memory_row(label, data.shape, d, nbytes, extra))

    n1, n2 = (400, 300) if quick else (2000, 1500)
    C, yc, _ = make_matrix_completion(n1, n2, 5, fraction=0.05, random_state=_rng())
    model = MatrixSensingPrecGD(
        5, shape=(n1, n2), max_iter=20, tol=0, random_state=_rng()
    )
    extra = peak_memory(lambda: model.fit(C, yc))
    nbytes = C.data.nbytes + C.indices.nbytes + C.indptr.nbytes + yc.nbytes
    rows.append(_memory_row("completion 5%", (n1, n2), 5, nbytes, extra))
    print_table(
        "Peak memory of fit (tracemalloc, the input excluded): over the data, and "
        "in units of (m + n)·d numbers",
        ("problem", "shape", "d", "data MB", "peak extra MB", "/ data", "/ (m+n)d"),
        rows,
    )
    return rows


def _memory_row(label, shape, d, nbytes, extra):
    m, n = shape
    unit = (m + n) * d * 8
    return (
        label,
        f"{m}x{n}",
        str(d),
        f"{nbytes / 2**20:.1f}",
        f"{extra / 2**20:.1f}",
        f"{extra / nbytes:.2f}",
        f"{extra / unit:.1f}",
    )


def run(quick=False):
    rows = factorization(quick)
    rows += sensing(quick)
    rows += linear_net(quick)
    rows += memory(quick)
    return rows


def main(argv=None):
    cli(run, __doc__, argv)


if __name__ == "__main__":
    main()
