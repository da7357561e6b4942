"""Every optimizer's iterates against a plain numpy loop written from its equations.

The reference loops form the residual R = XYᵀ − A explicitly and use
``np.linalg.solve`` / ``np.linalg.pinv`` for the preconditioners, so they share
no code path with the library (products expansion, cached combinations,
Cholesky solves).
"""

import math

import numpy as np
import pytest

from skfactor import FactorizationNAG
from skfactor._objectives import FactorizationObjective
from skfactor._optimizers import OPTIMIZERS, check_objective, make_optimizer
from skfactor._solver import minimize

N_STEPS = 20


@pytest.fixture(scope="module")
def problem():
    rng = np.random.RandomState(42)
    m, n, d = 30, 20, 4
    A = rng.standard_normal((m, 3)) @ rng.standard_normal((3, n))
    A += 0.1 * rng.standard_normal((m, n))
    X0 = 0.5 * rng.standard_normal((m, d))
    Y0 = 0.5 * rng.standard_normal((n, d))
    L = (
        np.linalg.norm(X0, 2) ** 2
        + np.linalg.norm(Y0, 2) ** 2
        + np.linalg.norm(X0 @ Y0.T - A)
    )
    return A, X0, Y0, 0.5 / L


def _grads(A, X, Y):
    R = X @ Y.T - A
    return R @ Y, R.T @ X


def ref_gd(A, X, Y, eta, **_):
    for _ in range(N_STEPS):
        gX, gY = _grads(A, X, Y)
        X, Y = X - eta * gX, Y - eta * gY
        yield X, Y


def ref_altgd(A, X, Y, eta, **_):
    for _ in range(N_STEPS):
        X = X - eta * (X @ Y.T - A) @ Y
        Y = Y - eta * (X @ Y.T - A).T @ X
        yield X, Y


def _schedule(t):
    t_next = (1 + math.sqrt(1 + 4 * t * t)) / 2
    return (t - 1) / t_next, t_next


def ref_nag(A, X, Y, eta, momentum, **_):
    Xp, Yp, t = X, Y, 1.0
    for _ in range(N_STEPS):
        if momentum == "auto":
            beta, t_next = _schedule(t)
        else:
            beta = momentum
        WX, WY = X + beta * (X - Xp), Y + beta * (Y - Yp)
        gX, gY = _grads(A, WX, WY)
        Xn, Yn = WX - eta * gX, WY - eta * gY
        if momentum == "auto":
            restart = np.sum(gX * (Xn - X)) + np.sum(gY * (Yn - Y)) > 0
            t = 1.0 if restart else t_next
        Xp, Yp, X, Y = X, Y, Xn, Yn
        yield X, Y


def ref_heavy_ball(A, X, Y, eta, momentum, **_):
    Xp, Yp, t = X, Y, 1.0
    for _ in range(N_STEPS):
        if momentum == "auto":
            beta, t_next = _schedule(t)
        else:
            beta = momentum
        gX, gY = _grads(A, X, Y)
        Xn = X - eta * gX + beta * (X - Xp)
        Yn = Y - eta * gY + beta * (Y - Yp)
        if momentum == "auto":
            restart = np.sum(gX * (Xn - X)) + np.sum(gY * (Yn - Y)) > 0
            t = 1.0 if restart else t_next
        Xp, Yp, X, Y = X, Y, Xn, Yn
        yield X, Y


def ref_precgd(A, X, Y, eta, damping, **_):
    eye = np.eye(X.shape[1])
    for _ in range(N_STEPS):
        R = X @ Y.T - A
        delta = np.linalg.norm(R) if damping == "auto" else damping
        gX, gY = R @ Y, R.T @ X
        X, Y = (
            X - eta * np.linalg.solve(Y.T @ Y + delta * eye, gX.T).T,
            Y - eta * np.linalg.solve(X.T @ X + delta * eye, gY.T).T,
        )
        yield X, Y


def ref_scaledgd(A, X, Y, eta, damping, **_):
    eye = np.eye(X.shape[1])
    for _ in range(N_STEPS):
        gX, gY = _grads(A, X, Y)
        X, Y = (
            X - eta * gX @ np.linalg.solve(Y.T @ Y + damping * eye, eye),
            Y - eta * gY @ np.linalg.solve(X.T @ X + damping * eye, eye),
        )
        yield X, Y


def ref_apgd(A, X, Y, eta, **_):
    for _ in range(N_STEPS):
        X = X - eta * (X @ Y.T - A) @ Y @ np.linalg.pinv(Y.T @ Y)
        Y = Y - eta * (X @ Y.T - A).T @ X @ np.linalg.pinv(X.T @ X)
        yield X, Y


CASES = [
    ("gd", ref_gd, {}),
    ("altgd", ref_altgd, {}),
    ("nag", ref_nag, {"momentum": 0.9}),
    ("nag", ref_nag, {"momentum": "auto"}),
    ("heavy_ball", ref_heavy_ball, {"momentum": 0.7}),
    ("heavy_ball", ref_heavy_ball, {"momentum": "auto"}),
    ("precgd", ref_precgd, {"damping": "auto"}),
    ("precgd", ref_precgd, {"damping": 0.3}),
    ("scaledgd", ref_scaledgd, {"damping": 0.05}),
    ("apgd", ref_apgd, {}),
]


def _eta(name, problem):
    return 0.5 if OPTIMIZERS[name].step_unit == "scale_free" else problem[3]


def _relative(a, b):
    return np.linalg.norm(a - b) / np.linalg.norm(b)


def test_every_optimizer_has_a_reference_case():
    assert {name for name, _, _ in CASES} == set(OPTIMIZERS)


@pytest.mark.parametrize(
    "name, reference, params", CASES, ids=[f"{c[0]}-{c[2]}" for c in CASES]
)
def test_iterates_match_reference_loop(problem, name, reference, params):
    A, X0, Y0, _ = problem
    eta = _eta(name, problem)
    expected = list(reference(A, X0.copy(), Y0.copy(), eta, **params))

    seen = []
    optimizer = make_optimizer(
        name,
        eta,
        momentum=params.get("momentum", "auto"),
        damping=params.get("damping", "auto"),
    )
    result = minimize(
        FactorizationObjective(A),
        [X0.copy(), Y0.copy()],
        optimizer,
        max_iter=N_STEPS,
        tol=0.0,
        callback=lambda it: seen.append((*it.factors, it.loss)),
    )
    assert result.n_iter == N_STEPS == len(seen)
    for k, ((X, Y, f), (Xr, Yr)) in enumerate(zip(seen, expected), start=1):
        assert _relative(X, Xr) < 1e-10, f"X differs at iteration {k}"
        assert _relative(Y, Yr) < 1e-10, f"Y differs at iteration {k}"
        f_ref = 0.5 * np.linalg.norm(Xr @ Yr.T - A) ** 2
        assert f == pytest.approx(f_ref, rel=1e-9)


@pytest.mark.parametrize(
    "name, reference, params", CASES, ids=[f"{c[0]}-{c[2]}" for c in CASES]
)
def test_estimator_runs_the_same_iterates(problem, name, reference, params):
    A, X0, Y0, _ = problem
    eta = _eta(name, problem)
    expected = list(reference(A, X0.copy(), Y0.copy(), eta, **params))
    model = FactorizationNAG(
        X0.shape[1],
        optimizer=name,
        init=(X0, Y0),
        learning_rate=eta,
        momentum=params.get("momentum", "auto"),
        damping=params.get("damping", "auto"),
        max_iter=N_STEPS,
        tol=0.0,
    ).fit(A)
    Xr, Yr = expected[-1]
    assert _relative(model.left_factor_, Xr) < 1e-10
    assert _relative(model.right_factor_, Yr) < 1e-10
    losses = [0.5 * np.linalg.norm(X @ Y.T - A) ** 2 for X, Y in expected]
    np.testing.assert_allclose(model.loss_curve_, losses, rtol=1e-9)
    assert model.learning_rate_ == eta


def test_nag_float_momentum_differs_from_auto(problem):
    """The two momentum modes are genuinely different rules."""
    A, X0, Y0, _ = problem
    eta = _eta("nag", problem)
    a = list(ref_nag(A, X0, Y0, eta, momentum=0.9))[-1][0]
    b = list(ref_nag(A, X0, Y0, eta, momentum="auto"))[-1][0]
    assert _relative(a, b) > 1e-3


def test_preconditioned_methods_refuse_more_than_two_factors():
    class ThreeFactors:
        n_factors = 3
        structure = "a chain of three factors"

        def partner(self, i):
            return None

    for name in ("precgd", "scaledgd", "apgd"):
        with pytest.raises(ValueError, match="needs a model with two factors") as e:
            check_objective(make_optimizer(name, 0.5), ThreeFactors())
        # the message names the optimizers that can run this model
        assert "'gd', 'altgd', 'nag', 'heavy_ball'" in str(e.value)
    check_objective(make_optimizer("nag", 0.5), ThreeFactors())


def test_alternating_preconditioner_refuses_a_single_symmetric_factor():
    class Symmetric:
        n_factors = 1
        structure = "a symmetric model X Xᵀ with a single factor"

        def partner(self, i):
            return 0

    check_objective(make_optimizer("precgd", 0.5), Symmetric())
    with pytest.raises(ValueError, match=r"two distinct factors.*'precgd'"):
        check_objective(make_optimizer("apgd", 0.5), Symmetric())


def test_nag_costs_two_data_products_per_iteration():
    """The look-ahead point reuses cached products: 2 products per iteration."""

    class Counting:
        def __init__(self, A):
            self.A, self.calls = A, 0

        @property
        def T(self):
            outer = self

            class _T:
                def __matmul__(self, other):
                    outer.calls += 1
                    return outer.A.T @ other

            return _T()

        def __matmul__(self, other):
            self.calls += 1
            return self.A @ other

    rng = np.random.RandomState(0)
    A = rng.standard_normal((15, 10))
    objective = FactorizationObjective(A)
    counting = Counting(A)
    objective.A = counting
    X0, Y0 = rng.standard_normal((15, 3)), rng.standard_normal((10, 3))
    for name in ("gd", "altgd", "nag", "heavy_ball", "precgd", "apgd"):
        counting.calls = 0
        minimize(
            objective,
            [X0, Y0],
            make_optimizer(name, 1e-3),
            max_iter=10,
            tol=0.0,
        )
        # one product (A @ Y) for the initial loss, then two per iteration
        assert counting.calls == 1 + 2 * 10, name
