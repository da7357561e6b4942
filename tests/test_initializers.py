"""Starting factors: the stated formulas, shapes, dtypes, scale equivariance."""

import numpy as np
import pytest

from skfactor._initializers import DEFAULT_SCALES, INITIALIZERS, WARD_KOLDA_D
from skfactor._objectives import FactorizationObjective
from skfactor.datasets import make_low_rank_matrix


@pytest.fixture(scope="module")
def A():
    return make_low_rank_matrix(50, 40, rank=4, condition_number=20, random_state=0)[0]


def _init(name, A, width=6, seed=0, scale="auto", learning_rate=0.5, power_iter="auto"):
    m, n = A.shape
    return INITIALIZERS[name](
        FactorizationObjective(A),
        [(m, width), (n, width)],
        scale=scale,
        random_state=np.random.RandomState(seed),
        learning_rate=learning_rate,
        power_iter=power_iter,
    )


@pytest.mark.parametrize("name", sorted(INITIALIZERS))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_shapes_dtypes_and_determinism(A, name, dtype):
    X0, Y0 = _init(name, A.astype(dtype))
    assert X0.shape == (50, 6) and Y0.shape == (40, 6)
    assert X0.dtype == dtype and Y0.dtype == dtype
    X1, Y1 = _init(name, A.astype(dtype))
    np.testing.assert_array_equal(X0, X1)
    np.testing.assert_array_equal(Y0, Y1)
    assert np.all(np.isfinite(X0)) and np.all(np.isfinite(Y0))


@pytest.mark.parametrize("name", sorted(INITIALIZERS))
@pytest.mark.parametrize("s", [1e-5, 3e4])
def test_scale_equivariance(A, name, s):
    """For s·A both factors are √s times larger (ward_kolda: with η/s)."""
    X0, Y0 = _init(name, A)
    Xs, Ys = _init(name, s * A, learning_rate=0.5 / s)
    # absolute floor: rounding relative to the largest entry (the spectral
    # start's columns beyond the rank are rounding-level directions)
    for new, old in ((Xs, X0), (Ys, Y0)):
        atol = 1e-9 * np.sqrt(s) * max(np.abs(old).max(), np.abs(X0).max())
        np.testing.assert_allclose(new, np.sqrt(s) * old, rtol=1e-9, atol=atol)


def test_unbalanced_without_power_iterations_is_the_papers_scaled_sketch(A):
    X0, Y0 = _init("unbalanced", A, power_iter=0)
    assert np.all(Y0 == 0)
    s = np.linalg.svd(X0, compute_uv=False)
    # range(X0) = range(A Φ) = range(A) (rank 4), and s₁(X0) = c₀ √s₁(AΦ)
    assert s[4] < 1e-12 * s[0]
    U = np.linalg.svd(A)[0][:, :4]
    np.testing.assert_allclose(U @ (U.T @ X0), X0, atol=1e-10 * s[0])
    c0 = DEFAULT_SCALES["unbalanced"]
    sketch_norm = (s[0] / c0) ** 2  # s₁(X0) = c₀·s₁(AΦ)/√s₁(AΦ) = c₀√s₁(AΦ)
    rng = np.random.RandomState(0)
    phi = rng.standard_normal((40, 6)) / np.sqrt(6)
    assert sketch_norm == pytest.approx(np.linalg.norm(A @ phi, 2), rel=1e-10)
    X3, _ = _init("unbalanced", A, scale=3.0, power_iter=0)
    np.testing.assert_allclose(X3, X0 * 3.0 / c0, rtol=1e-12)


def test_nystrom_then_one_unit_scaledgd_step_is_exact(A):
    from skfactor._optimizers import make_optimizer

    objective = FactorizationObjective(A)
    X0, Y0 = _init("nystrom", A)
    point = objective.point([X0, Y0])
    point, _ = make_optimizer("scaledgd", 1.0, damping=0.0).step(objective, point, None)
    X1, Y1 = point.factors
    assert np.linalg.norm(X1 @ Y1.T - A) < 1e-10 * np.linalg.norm(A)


def test_ward_kolda_formula(A):
    eta = 0.25
    X0, Y0 = _init("ward_kolda", A, learning_rate=eta, scale=2.0)
    sigma1 = np.linalg.norm(A, 2)
    rng = np.random.RandomState(0)
    # same draws as the initializer: σ₁ is exact here (small matrix), then Φ₁, Φ₂
    phi1 = rng.standard_normal((40, 6)) / np.sqrt(6)
    phi2 = rng.standard_normal((40, 6)) / np.sqrt(6)
    np.testing.assert_allclose(X0, A @ phi1 / (np.sqrt(eta) * 2.0 * sigma1), rtol=1e-10)
    np.testing.assert_allclose(
        Y0, np.sqrt(eta) * WARD_KOLDA_D * sigma1 * phi2, rtol=1e-10
    )


def test_spectral_is_top_svd(A):
    X0, Y0 = _init("spectral", A, width=4)
    U, s, Vt = np.linalg.svd(A)
    np.testing.assert_allclose(X0 @ Y0.T, (U[:, :4] * s[:4]) @ Vt[:4], atol=1e-10)
    np.testing.assert_allclose(X0.T @ X0, Y0.T @ Y0, atol=1e-10)  # balanced
    Xw, Yw = _init("spectral", A, width=45)  # wider than min(A.shape): zero padding
    assert np.all(Xw[:, 40:] == 0) and np.all(Yw[:, 40:] == 0)
    np.testing.assert_allclose(Xw @ Yw.T, A, atol=1e-10)


def test_orthogonal_has_orthonormal_columns(A):
    X0, Y0 = _init("orthogonal", A)
    sigma1 = np.linalg.norm(A, 2)
    np.testing.assert_allclose(X0.T @ X0, sigma1 * np.eye(6), atol=1e-10)
    np.testing.assert_allclose(Y0.T @ Y0, sigma1 * np.eye(6), atol=1e-10)
    Xw, _ = _init("orthogonal", A, width=60)  # more columns than rows
    np.testing.assert_allclose(Xw @ Xw.T, sigma1 * np.eye(50), atol=1e-10)


def test_small_random_is_small(A):
    X0, _ = _init("small_random", A)
    Xg, _ = _init("gaussian", A)
    alpha = DEFAULT_SCALES["small_random"]
    np.testing.assert_allclose(X0, alpha * Xg, rtol=1e-12)
    assert np.linalg.norm(Xg, 2) ** 2 == pytest.approx(np.linalg.norm(A, 2), rel=1.0)
