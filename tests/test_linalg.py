import numpy as np
import pytest
import scipy.sparse as sp

from skfactor._linalg import residual_sq_norm, right_solve, spectral_norm


@pytest.mark.parametrize("sparse", [False, True])
def test_blocked_residual_equals_dense_formula(sparse, monkeypatch):
    import skfactor._linalg as lin

    monkeypatch.setattr(lin, "_BLOCK_ELEMENTS", 50)  # many small blocks
    rng = np.random.RandomState(0)
    A = rng.standard_normal((37, 11))
    X, Y = rng.standard_normal((37, 3)), rng.standard_normal((11, 3))
    expected = np.sum((X @ Y.T - A) ** 2)
    got = residual_sq_norm(sp.csr_matrix(A) if sparse else A, X, Y)
    assert got == pytest.approx(expected, rel=1e-12)


def test_right_solve_cholesky_and_pseudo_inverse():
    rng = np.random.RandomState(1)
    G = rng.standard_normal((10, 4))
    B = rng.standard_normal((6, 4))
    H = B.T @ B
    np.testing.assert_allclose(
        right_solve(G, H, 0.3), G @ np.linalg.inv(H + 0.3 * np.eye(4)), rtol=1e-10
    )
    # singular Gram, no damping: the minimum-norm least-squares solution
    B[:, 3] = B[:, 0]
    H = B.T @ B
    np.testing.assert_allclose(
        right_solve(G, H, 0.0), G @ np.linalg.pinv(H), rtol=1e-8, atol=1e-10
    )
    assert np.all(right_solve(G, np.zeros((4, 4)), 0.0) == 0)
    assert (
        right_solve(G.astype(np.float32), H.astype(np.float32), 0.1).dtype == np.float32
    )


@pytest.mark.parametrize("shape", [(30, 20), (400, 300)])
def test_spectral_norm_estimate(shape):
    rng = np.random.RandomState(2)
    T = rng.standard_normal(shape)
    exact = np.linalg.norm(T, 2)
    assert spectral_norm(T, np.random.RandomState(0)) == pytest.approx(exact, rel=0.05)
    assert spectral_norm(sp.csr_matrix(T), np.random.RandomState(0)) == pytest.approx(
        exact, rel=0.05
    )
    assert spectral_norm(7.0 * T, np.random.RandomState(0)) == pytest.approx(
        7.0 * spectral_norm(T, np.random.RandomState(0)), rel=1e-10
    )
