"""The sensing objective: formulas, the completion fast path, intercept, dtype."""

import numpy as np
import pytest
import scipy.sparse as sp

from skfactor._objectives import SensingObjective
from skfactor.datasets import make_matrix_completion, make_matrix_sensing


def _explicit(D, y, shape, factors, symmetric, fit_intercept):
    """Loss and gradients written out from the definitions."""
    L = factors[0]
    R = L if symmetric else factors[1]
    A = (D.toarray() if sp.issparse(D) else D).reshape(-1, *shape)
    N = len(y)
    rho = np.einsum("ijk,jk->i", A, L @ R.T) - y
    if fit_intercept:
        rho -= rho.mean()
    E = np.einsum("i,ijk->jk", rho, A) / N
    if symmetric:
        return np.sum(rho**2) / (4 * N), [0.5 * (E + E.T) @ L]
    return np.sum(rho**2) / (2 * N), [E @ R, E.T @ L]


@pytest.mark.parametrize("symmetric", [False, True])
@pytest.mark.parametrize("fit_intercept", [False, True])
@pytest.mark.parametrize("kind", ["dense", "sparse", "completion"])
def test_value_and_gradients(symmetric, fit_intercept, kind):
    rng = np.random.RandomState(0)
    n1, n2 = (5, 5) if symmetric else (5, 4)
    if kind == "completion":
        D, y, _ = make_matrix_completion(n1, n2, 2, fraction=0.9, random_state=0)
        D = D[rng.permutation(D.shape[0])]
        D = sp.vstack([D, D[:3]]).tocsr()  # repeated observations
        y = rng.standard_normal(D.shape[0])
    else:
        D = rng.standard_normal((40, n1 * n2))
        if kind == "sparse":
            D[rng.uniform(size=D.shape) < 0.7] = 0
            D = sp.csr_matrix(D)
        y = rng.standard_normal(40) + 3.0
    factors = [rng.standard_normal((n1, 3))] + (
        [] if symmetric else [rng.standard_normal((n2, 3))]
    )
    objective = SensingObjective(D, y, (n1, n2), symmetric, fit_intercept)
    assert (objective.completion is not None) == (kind == "completion")
    point = objective.point(factors)
    f, grads = _explicit(D, y, (n1, n2), factors, symmetric, fit_intercept)
    assert objective.value(point) == pytest.approx(f, rel=1e-12)
    for got, expected in zip(objective.grad(point), grads):
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)
    assert objective.partner(0) == (0 if symmetric else 1)


def test_intercept_is_the_mean_residual():
    X, y, M = make_matrix_sensing(6, 5, 2, 200, random_state=1)
    objective = SensingObjective(X, y + 7.0, (6, 5), fit_intercept=True)
    U, s, Vt = np.linalg.svd(M)
    factors = [U[:, :2] * np.sqrt(s[:2]), Vt[:2].T * np.sqrt(s[:2])]
    assert objective.intercept(factors) == pytest.approx(7.0)
    assert objective.value(objective.point(factors)) < 1e-25


def test_float32_is_preserved_in_completion():
    D, y, _ = make_matrix_completion(20, 10, 2, fraction=0.5, random_state=0)
    D, y = D.astype(np.float32), y.astype(np.float32)
    objective = SensingObjective(D, y, (20, 10))
    rng = np.random.RandomState(0)
    factors = [
        rng.standard_normal((20, 2)).astype(np.float32),
        rng.standard_normal((10, 2)).astype(np.float32),
    ]
    grads = objective.grad(objective.point(factors))
    assert all(g.dtype == np.float32 for g in grads)
    assert objective.target.dtype == np.float32


def test_target_approximates_the_planted_matrix():
    X, y, M = make_matrix_sensing(8, 8, 2, 4000, random_state=2)
    T = SensingObjective(X, y, (8, 8)).target
    assert np.linalg.norm(T - M) / np.linalg.norm(M) < 0.2
    assert SensingObjective(X, y, (8, 8)).design_curvature() == pytest.approx(
        1, rel=0.05
    )
