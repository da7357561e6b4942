"""The factorization objective: values, gradients, cached combinations."""

import numpy as np
import pytest
import scipy.sparse as sp

from skfactor._objectives import FactorizationObjective


@pytest.fixture
def data():
    rng = np.random.RandomState(0)
    A = rng.standard_normal((12, 9))
    X = rng.standard_normal((12, 4))
    Y = rng.standard_normal((9, 4))
    return A, X, Y


@pytest.mark.parametrize("sparse", [False, True])
def test_value_and_gradient_match_the_residual_formulas(data, sparse):
    A, X, Y = data
    objective = FactorizationObjective(sp.csr_matrix(A) if sparse else A)
    p = objective.point([X, Y])
    R = X @ Y.T - A
    assert objective.value(p) == pytest.approx(0.5 * np.sum(R**2), rel=1e-12)
    gX, gY = objective.grad(p)
    np.testing.assert_allclose(gX, R @ Y, rtol=1e-12)
    np.testing.assert_allclose(gY, R.T @ X, rtol=1e-12)
    np.testing.assert_allclose(objective.grad_block(p, 1), R.T @ X, rtol=1e-12)


def test_gradient_matches_finite_differences(data):
    A, X, Y = data
    objective = FactorizationObjective(A)
    gX, gY = objective.grad(objective.point([X, Y]))
    rng = np.random.RandomState(1)
    DX, DY = rng.standard_normal(X.shape), rng.standard_normal(Y.shape)
    h = 1e-6
    f = lambda t: objective.value(objective.point([X + t * DX, Y + t * DY]))  # noqa: E731
    directional = (f(h) - f(-h)) / (2 * h)
    assert directional == pytest.approx(np.sum(gX * DX) + np.sum(gY * DY), rel=1e-7)


def test_combine_reuses_products_and_equals_a_fresh_point(data):
    A, X, Y = data
    objective = FactorizationObjective(A)
    rng = np.random.RandomState(2)
    p = objective.point([X, Y])
    q = objective.point([rng.standard_normal(X.shape), rng.standard_normal(Y.shape)])
    w = objective.combine([(1.7, p), (-0.7, q)])
    fresh = objective.point(
        [1.7 * X - 0.7 * q.factors[0], 1.7 * Y - 0.7 * q.factors[1]]
    )
    assert ("product", 0) in w.cache and ("product", 1) in w.cache
    np.testing.assert_allclose(
        objective.grad(w)[0], objective.grad(fresh)[0], rtol=1e-12
    )
    np.testing.assert_allclose(
        objective.grad(w)[1], objective.grad(fresh)[1], rtol=1e-12
    )
    assert objective.value(w) == pytest.approx(objective.value(fresh), rel=1e-12)


def test_replace_block_keeps_only_valid_cache(data):
    A, X, Y = data
    objective = FactorizationObjective(A)
    p = objective.point([X, Y])
    objective.grad(p)
    objective.value(p)
    q = objective.replace_block(p, 0, X + 1.0)
    assert q.cache.keys() == {("product", 0), ("gram", 1)}
    r = objective.replace_block(p, 1, Y + 1.0)
    assert r.cache.keys() == {("product", 1), ("gram", 0)}
    expected = 0.5 * np.sum(((X + 1.0) @ Y.T - A) ** 2)
    assert objective.value(q) == pytest.approx(expected, rel=1e-12)


def test_loss_is_exact_near_a_perfect_fit():
    """The expanded loss would return rounding noise; the blocked residual does not."""
    rng = np.random.RandomState(3)
    X = rng.standard_normal((300, 5))
    Y = rng.standard_normal((200, 5))
    A = X @ Y.T
    E = 1e-13 * rng.standard_normal(X.shape)
    objective = FactorizationObjective(A)
    exact = 0.5 * np.sum(((X + E) @ Y.T - A) ** 2)
    value = objective.value(objective.point([X + E, Y]))
    assert value == pytest.approx(exact, rel=1e-6)
    assert objective.value(objective.point([X, Y])) < 1e-20 * objective.reference_loss


def test_smoothness_bounds_the_hessian(data):
    A, X, Y = data
    objective = FactorizationObjective(A)
    p = objective.point([X, Y])
    bound = objective.smoothness(p)
    rng = np.random.RandomState(4)
    h = 1e-4
    for _ in range(20):
        DX, DY = rng.standard_normal(X.shape), rng.standard_normal(Y.shape)
        norm2 = np.sum(DX**2) + np.sum(DY**2)

        def f(t, DX=DX, DY=DY):
            return objective.value(objective.point([X + t * DX, Y + t * DY]))

        curvature = (f(h) - 2 * f(0) + f(-h)) / h**2 / norm2
        assert curvature <= bound * (1 + 1e-6)
