"""Peers: skfactor against the code a user would otherwise write or reach for.

1. The same NAG loop (W = F + β(F − F_prev), F⁺ = W − η∇f(W), constant β and
   η) on the same dense problem from the same starting factors, written
   (a) in PyTorch on the CPU with autograd for the gradients and (b) in plain
   numpy forming the residual matrix. Time per iteration over skfactor's,
   and the relative error after the same number of iterations (the three
   must agree to rounding).
2. For context, the SVD route to a rank-d approximation of a noisy low-rank
   matrix: time to reach the same relative error (within 1e-4 of the optimal
   rank-d error) for FactorizationNAG (default and APGD), ``randomized_svd``
   (fewest power iterations that reach it) and ``TruncatedSVD`` (ARPACK).
3. LinearNetRegressor against ``MLPRegressor(activation="identity",
   solver="sgd", nesterovs_momentum=True)`` with the same hidden width on
   standardized data: the MLP's training loss after its default run, and the
   time LinearNetRegressor needs to reach that loss.

PyTorch is optional (``pip install -e ".[bench]"``); without it its row says
so.

    python -m benchmarks.peers [--quick]
"""

import time
import warnings

import numpy as np
from sklearn.decomposition import TruncatedSVD
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPRegressor
from sklearn.preprocessing import StandardScaler
from sklearn.utils.extmath import randomized_svd

from skfactor import FactorizationNAG, LinearNetRegressor
from skfactor._initializers import unbalanced
from skfactor._objectives import FactorizationObjective
from skfactor.datasets import make_low_rank_matrix

from ._timing import cli, iteration_times, pair_shapes, print_table


def noisy_low_rank(m, n, d, snr=5.0):
    """Rank d, condition number 10, and Gaussian noise of norm ‖signal‖/snr."""
    signal = np.sqrt(np.sum(np.linspace(1, 0.1, d) ** 2))
    noise = signal / (snr * np.sqrt(m * n))
    A, *_ = make_low_rank_matrix(m, n, d, 10, noise=noise, random_state=0)
    return A


def relative_error(A, X, Y):
    return float(np.linalg.norm(X @ Y.T - A) / np.linalg.norm(A))


# -- 1. the same NAG loop -----------------------------------------------------
def numpy_nag(A, X, Y, eta, beta, n_iter):
    """The textbook loop: form the residual R = XYᵀ − A every iteration."""
    X_prev, Y_prev = X, Y
    times = []
    for _ in range(n_iter):
        start = time.perf_counter()
        WX = X + beta * (X - X_prev)
        WY = Y + beta * (Y - Y_prev)
        R = WX @ WY.T - A
        X_prev, Y_prev = X, Y
        X = WX - eta * (R @ WY)
        Y = WY - eta * (R.T @ WX)
        times.append(time.perf_counter() - start)
    return X, Y, float(np.median(times))


def torch_nag(A, X, Y, eta, beta, n_iter):
    """The same loop in PyTorch, gradients by autograd; None without torch."""
    try:
        import torch
    except ImportError:
        return None
    At = torch.from_numpy(A)
    X, Y = torch.from_numpy(X.copy()), torch.from_numpy(Y.copy())
    X_prev, Y_prev = X, Y
    times = []
    for _ in range(n_iter):
        start = time.perf_counter()
        WX = (X + beta * (X - X_prev)).requires_grad_()
        WY = (Y + beta * (Y - Y_prev)).requires_grad_()
        loss = 0.5 * ((WX @ WY.T - At) ** 2).sum()
        gX, gY = torch.autograd.grad(loss, (WX, WY))
        X_prev, Y_prev = X, Y
        with torch.no_grad():
            X = WX.detach() - eta * gX
            Y = WY.detach() - eta * gY
        times.append(time.perf_counter() - start)
    return X.numpy(), Y.numpy(), float(np.median(times))


def same_loop(quick=False):
    m, n, d = (400, 300, 10) if quick else (4000, 3000, 20)
    n_iter = 20 if quick else 40
    A = noisy_low_rank(m, n, d)
    objective = FactorizationObjective(A)
    X0, Y0 = unbalanced(
        objective,
        pair_shapes(objective, d),
        scale="auto",
        random_state=np.random.RandomState(0),
    )
    eta = 1.0 / np.linalg.norm(X0, 2) ** 2
    beta = 0.9
    times, _, (X, Y) = iteration_times(
        objective, [X0, Y0], "nag", eta, n_iter, momentum=beta
    )
    ours = float(np.median(times))
    reference = relative_error(A, X, Y)
    rows = [("skfactor NAG", f"{1e3 * ours:.2f}", "1.00", f"{reference:.10e}")]
    peers = (
        ("numpy loop (forms XYᵀ − A)", numpy_nag),
        ("PyTorch CPU, autograd", torch_nag),
    )
    for label, loop in peers:
        out = loop(A, X0, Y0, eta, beta, n_iter)
        if out is None:
            rows.append((label, "not installed", "", ""))
            continue
        Xp, Yp, per_iter = out
        rows.append(
            (
                label,
                f"{1e3 * per_iter:.2f}",
                f"{per_iter / ours:.2f}",
                f"{relative_error(A, Xp, Yp):.10e}",
            )
        )
    print_table(
        f"The same NAG loop ({m}x{n} float64, d = {d}, β = {beta}, {n_iter} "
        "iterations from the same start): time per iteration and the error "
        "reached",
        ("implementation", "ms/iter", "/ skfactor", "relative error"),
        rows,
    )
    return rows


# -- 2. the SVD route ---------------------------------------------------------
def _time(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def svd_route(quick=False):
    m, n, d = (400, 300, 10) if quick else (4000, 3000, 20)
    A = noisy_low_rank(m, n, d)
    norm = np.linalg.norm(A)
    s = np.linalg.svd(A, compute_uv=False)
    optimal = float(np.sqrt(np.sum(s[d:] ** 2)) / norm)
    target = optimal * (1 + 1e-4)
    rows = []

    def ours(optimizer):
        # find the iteration count with doubling budgets, then time that fit
        budget = 50
        while True:
            probe = FactorizationNAG(
                d, optimizer=optimizer, tol=0, max_iter=budget, random_state=0
            ).fit(A)
            errors = np.sqrt(2 * np.maximum(probe.loss_curve_, 0)) / norm
            hit = np.flatnonzero(errors <= target)
            if hit.size or budget >= 5000:
                break
            budget *= 2
        k = int(hit[0]) + 1 if hit.size else budget
        model = FactorizationNAG(
            d, optimizer=optimizer, tol=0, max_iter=k, random_state=0
        )
        seconds, model = _time(lambda: model.fit(A))
        return seconds, model.reconstruction_err_ / norm, f"{k} iterations"

    for optimizer in ("nag", "apgd"):
        seconds, error, how = ours(optimizer)
        rows.append((f"FactorizationNAG({optimizer})", how, seconds, error))
    for n_iter in range(0, 30):
        seconds, (U, S, Vt) = _time(
            lambda n_iter=n_iter: randomized_svd(A, d, n_iter=n_iter, random_state=0)
        )
        error = relative_error(A, U * S, Vt.T)
        if error <= target:
            break
    rows.append(("randomized_svd", f"n_iter={n_iter}", seconds, error))
    svd = TruncatedSVD(d, algorithm="arpack", random_state=0)
    seconds, Z = _time(lambda: svd.fit_transform(A))
    rows.append(
        (
            "TruncatedSVD(arpack)",
            "default tol",
            seconds,
            relative_error(A, Z, svd.components_.T),
        )
    )
    base = rows[0][2]
    table = [
        (label, how, f"{seconds:.3f}", f"{seconds / base:.2f}", f"{error:.6f}")
        for label, how, seconds, error in rows
    ]
    print_table(
        f"Rank-{d} approximation of a noisy rank-{d} matrix ({m}x{n}): time to "
        f"relative error ≤ {target:.6f} (the optimum {optimal:.6f} + 1e-4 relative)",
        ("method", "setting", "seconds", "/ NAG", "relative error"),
        table,
    )
    return table


# -- 3. linear networks against MLPRegressor ----------------------------------
def mlp(quick=False):
    n, p, q, width = (2000, 20, 3, 5) if quick else (20000, 50, 5, 10)
    rng = np.random.RandomState(0)
    X = rng.standard_normal((n, p)) @ rng.standard_normal((p, p))
    W = rng.standard_normal((q, width)) @ rng.standard_normal((width, p))
    Y = X @ W.T + rng.standard_normal((n, q))
    X = StandardScaler().fit_transform(X)
    Y = StandardScaler().fit_transform(Y)
    max_iter = 20 if quick else 200
    net = MLPRegressor(
        hidden_layer_sizes=(width,),
        activation="identity",
        solver="sgd",
        nesterovs_momentum=True,
        alpha=0.0,
        max_iter=max_iter,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        mlp_seconds, _ = _time(lambda: net.fit(X, Y))
    # training loss in the same units: ½·mean over samples of ‖ŷ − y‖²
    target = 0.5 * np.mean(np.sum((net.predict(X) - Y) ** 2, axis=1))
    probe = LinearNetRegressor((width,), tol=0, max_iter=5000, random_state=0)
    probe.fit(X, Y)
    hit = np.flatnonzero(probe.loss_curve_ <= target)
    k = int(hit[0]) + 1 if hit.size else len(probe.loss_curve_)
    model = LinearNetRegressor((width,), tol=0, max_iter=k, random_state=0)
    ours_seconds, model = _time(lambda: model.fit(X, Y))
    final = LinearNetRegressor((width,), random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        final_seconds, final = _time(lambda: final.fit(X, Y))
    rows = [
        (
            "MLPRegressor(identity, sgd, nesterov)",
            f"{net.n_iter_} epochs",
            f"{mlp_seconds:.3f}",
            f"{target:.6f}",
        ),
        (
            "LinearNetRegressor to that loss",
            f"{k} iterations",
            f"{ours_seconds:.3f}",
            f"{model.loss_curve_[-1]:.6f}",
        ),
        (
            "LinearNetRegressor, defaults",
            f"{final.n_iter_} iterations" + ("" if final.converged_ else " (max_iter)"),
            f"{final_seconds:.3f}",
            f"{final.loss_curve_[-1]:.6f}",
        ),
    ]
    print_table(
        f"Linear network {p} -> {width} -> {q}, n = {n} (standardized): time to "
        f"MLPRegressor's training loss; MLP / LinearNet time = "
        f"{mlp_seconds / ours_seconds:.0f}x",
        ("model", "work", "seconds", "training loss ½‖ŷ−y‖²/n"),
        rows,
    )
    return rows


def run(quick=False):
    return same_loop(quick) + svd_route(quick) + mlp(quick)


def main(argv=None):
    cli(run, __doc__, argv)


if __name__ == "__main__":
    main()
