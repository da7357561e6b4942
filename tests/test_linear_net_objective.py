"""The linear-network objective (issue 4, first step): loss, gradients, layout."""

import numpy as np
import pytest

from skfactor._objectives import LinearNetObjective
from skfactor._optimizers import make_optimizer
from skfactor._solver import minimize


def _problem(depth_dims, seed=0, n=60, p=6, q=3):
    rng = np.random.RandomState(seed)
    X, Y = rng.standard_normal((n, p)), rng.standard_normal((n, q))
    sizes = [p, *depth_dims, q]
    layers = [
        0.5 * rng.standard_normal((sizes[i + 1], sizes[i]))
        for i in range(len(sizes) - 1)
    ]
    factors = [*layers[:0:-1], layers[0].T]  # [W_N, …, W₂, W₁ᵀ]
    objective = LinearNetObjective(
        X.T @ X / n, Y.T @ X / n, np.sum(Y**2) / n, len(layers)
    )
    return X, Y, layers, factors, objective


@pytest.mark.parametrize("dims", [[4], [4, 5], [2, 3, 4]])
def test_loss_and_gradients(dims):
    X, Y, layers, factors, objective = _problem(dims)
    point = objective.point(factors)
    W = layers[0]
    for layer in layers[1:]:
        W = layer @ W
    n = len(X)
    assert objective.value(point) == pytest.approx(np.sum((X @ W.T - Y) ** 2) / (2 * n))
    rng = np.random.RandomState(1)
    for k, (F, g) in enumerate(zip(factors, objective.grad(point))):
        D = rng.standard_normal(F.shape)
        h = 1e-6
        plus = [f.copy() for f in factors]
        minus = [f.copy() for f in factors]
        plus[k], minus[k] = F + h * D, F - h * D
        numeric = (
            objective.value(objective.point(plus))
            - objective.value(objective.point(minus))
        ) / (2 * h)
        assert numeric == pytest.approx(np.sum(g * D), rel=1e-6)
    assert objective.partner(0) == (1 if len(dims) == 1 else None)


def test_two_layers_match_the_factorization_form():
    """Depth 2 is L Rᵀ: ∇L = G R, ∇R = Gᵀ L with G = W S − C."""
    *_, factors, objective = _problem([4])
    point = objective.point(factors)
    L, R = factors
    G = L @ R.T @ objective.S - objective.C
    gL, gR = objective.grad(point)
    np.testing.assert_allclose(gL, G @ R, rtol=1e-12)
    np.testing.assert_allclose(gR, G.T @ L, rtol=1e-12)


@pytest.mark.parametrize("dims", [[6], [6, 6]])
def test_gradient_descent_reaches_least_squares(dims):
    X, Y, _, factors, objective = _problem(dims, n=200)
    coef = np.linalg.lstsq(X, Y, rcond=None)[0]
    best = np.sum((X @ coef - Y) ** 2) / (2 * len(X))
    result = minimize(
        objective, factors, make_optimizer("nag", 0.05), max_iter=5000, tol=1e-12
    )
    assert result.loss_curve[-1] == pytest.approx(best, rel=1e-8)


class _CountingMatrix:
    """A dense matrix that counts products with itself and its transpose."""

    def __init__(self, X, counter):
        self.X, self.counter = X, counter
        self.shape, self.dtype = X.shape, X.dtype

    @property
    def T(self):
        return _CountingMatrix(self.X.T, self.counter)

    def __matmul__(self, other):
        self.counter.append(other.shape)
        return self.X @ other


@pytest.mark.parametrize("optimizer", ["gd", "nag", "heavy_ball"])
@pytest.mark.parametrize("dims", [[4], [4, 5]])
def test_data_path_makes_two_thin_passes_per_iteration(optimizer, dims):
    """The data objective never forms W (q×p): two passes of width d₁."""
    from skfactor._objectives import LinearNetDataObjective

    X, Y, layers, factors, reference = _problem(dims, q=7)
    counter = []
    data = LinearNetDataObjective(
        _CountingMatrix(X, counter), Y, None, None, len(layers)
    )
    counter.clear()
    n_iter = 12
    kw = dict(max_iter=n_iter, tol=0)
    ours = minimize(data, factors, make_optimizer(optimizer, 0.05), **kw)
    # the start's loss (one pass) and two passes per iteration
    assert len(counter) == 1 + 2 * n_iter
    assert all(shape[1] == dims[0] for shape in counter)
    ref = minimize(reference, factors, make_optimizer(optimizer, 0.05), **kw)
    np.testing.assert_allclose(ours.loss_curve, ref.loss_curve, rtol=1e-9)
    for a, b in zip(ours.factors, ref.factors):
        np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-12)
