import numpy as np
import pytest

from skfactor.datasets import make_low_rank_matrix


@pytest.mark.parametrize("kappa", [1.0, 10.0, 1000.0])
def test_planted_condition_number_and_factors(kappa):
    rank = 1 if kappa == 1.0 else 5
    A, U, s, V = make_low_rank_matrix(40, 30, rank, kappa, random_state=0)
    assert A.shape == (40, 30) and U.shape == (40, rank) and V.shape == (30, rank)
    np.testing.assert_allclose(U.T @ U, np.eye(rank), atol=1e-12)
    np.testing.assert_allclose(V.T @ V, np.eye(rank), atol=1e-12)
    np.testing.assert_allclose(A, (U * s) @ V.T, atol=1e-12)
    sv = np.linalg.svd(A, compute_uv=False)
    assert sv[0] == pytest.approx(1.0)
    assert sv[0] / sv[rank - 1] == pytest.approx(kappa, rel=1e-9)
    assert np.linalg.matrix_rank(A) == rank


def test_noise_dtype_and_reproducibility():
    A1, *_ = make_low_rank_matrix(20, 10, 3, 5, noise=0.1, random_state=1)
    A2, *_ = make_low_rank_matrix(20, 10, 3, 5, noise=0.1, random_state=1)
    clean, *_ = make_low_rank_matrix(20, 10, 3, 5, random_state=1)
    np.testing.assert_array_equal(A1, A2)
    assert 0.5 < np.std(A1 - clean) / 0.1 < 1.5
    A32, U32, s32, V32 = make_low_rank_matrix(20, 10, 3, 5, dtype=np.float32)
    assert {a.dtype for a in (A32, U32, s32, V32)} == {np.dtype(np.float32)}


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(rank=11), "cannot exceed"),
        (dict(rank=1, condition_number=10), "rank-1 matrix has condition number 1"),
        (dict(condition_number=0.5), "'condition_number' parameter"),
        (dict(noise=-1.0), "'noise' parameter"),
        (dict(rank=0), "'rank' parameter"),
        (dict(dtype=np.int64), "dtype must be float64 or float32"),
    ],
)
def test_bad_arguments(kwargs, message):
    params = dict(n_samples=20, n_features=10, rank=3, condition_number=5.0)
    params.update(kwargs)
    with pytest.raises(ValueError, match=message):
        make_low_rank_matrix(**params)


@pytest.mark.parametrize("symmetric", [False, True])
def test_make_matrix_sensing(symmetric):
    from skfactor.datasets import make_matrix_sensing

    X, y, M = make_matrix_sensing(
        7, 7, 3, 120, condition_number=50, symmetric=symmetric, random_state=0
    )
    assert X.shape == (120, 49) and y.shape == (120,) and M.shape == (7, 7)
    np.testing.assert_allclose(y, X @ M.ravel())
    sv = np.linalg.svd(M, compute_uv=False)
    assert sv[0] / sv[2] == pytest.approx(50) and sv[3] < 1e-12
    if symmetric:
        np.testing.assert_allclose(M, M.T, atol=1e-14)
        assert np.linalg.eigvalsh(M).min() > -1e-12


def test_make_matrix_completion():
    from skfactor.datasets import make_matrix_completion

    X, y, M = make_matrix_completion(
        40, 30, 3, 10, fraction=0.25, noise=0.1, random_state=0
    )
    assert X.shape == (300, 1200) and X.nnz == 300
    assert np.all(X.getnnz(axis=1) == 1)
    assert len(np.unique(X.indices)) == 300  # without replacement
    assert 0.05 < np.std(y - X @ M.ravel()) < 0.2
    sv = np.linalg.svd(M, compute_uv=False)
    assert sv[0] / sv[2] == pytest.approx(10)
    with pytest.raises(ValueError, match="'fraction' parameter"):
        make_matrix_completion(4, 4, 1, fraction=0.0)
