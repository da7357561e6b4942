"""FactorizationNAG where TruncatedSVD was: the canonical (SVD) form of the
fitted model, TruncatedSVD's attributes and their definitions."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_digits
from sklearn.decomposition import TruncatedSVD

from skfactor import FactorizationNAG, LowRankImputer
from skfactor.datasets import make_low_rank_matrix


@pytest.fixture(scope="module")
def digits():
    return load_digits().data


@pytest.fixture(scope="module")
def low_rank():
    A, *_ = make_low_rank_matrix(200, 60, 5, 10, random_state=0)
    return A


def _exact(A, d):
    return FactorizationNAG(d, tol=1e-12, max_iter=20000, random_state=0).fit(A)


def test_components_are_orthonormal_and_ordered(digits):
    model = FactorizationNAG(10, random_state=0).fit(digits)
    C = model.components_
    assert C.shape == (10, 64)
    np.testing.assert_allclose(C @ C.T, np.eye(10), atol=1e-12)
    s = model.singular_values_
    assert s.shape == (10,) and np.all(np.diff(s) <= 0) and s[-1] > 0
    # the same model as the raw factors, in another basis
    np.testing.assert_allclose(
        model.embedding_ @ C,
        model.left_factor_ @ model.right_factor_.T,
        rtol=0,
        atol=1e-10 * np.abs(digits).max(),
    )
    np.testing.assert_allclose(
        model.embedding_.T @ model.embedding_, np.diag(s**2), atol=1e-8 * s[0] ** 2
    )


def test_signs_follow_svd_flip_and_do_not_depend_on_the_seed(low_rank):
    fits = [_exact(low_rank, 5), _exact(low_rank, 5)]
    fits.append(
        FactorizationNAG(5, tol=1e-12, max_iter=20000, random_state=7).fit(low_rank)
    )
    C = fits[0].components_
    rows = np.arange(5)
    assert np.all(C[rows, np.argmax(np.abs(C), axis=1)] > 0)
    for other in fits[1:]:
        np.testing.assert_allclose(other.components_, C, atol=1e-8)


@pytest.mark.parametrize("sparse", [False, True])
def test_same_spectrum_and_variance_as_truncated_svd_on_low_rank_data(low_rank, sparse):
    A = sp.csr_matrix(low_rank) if sparse else low_rank
    model = _exact(A, 5)
    svd = TruncatedSVD(5, algorithm="arpack", random_state=0).fit(A)
    np.testing.assert_allclose(model.singular_values_, svd.singular_values_, rtol=1e-8)
    np.testing.assert_allclose(
        model.explained_variance_, svd.explained_variance_, rtol=1e-8
    )
    np.testing.assert_allclose(
        model.explained_variance_ratio_, svd.explained_variance_ratio_, rtol=1e-8
    )
    np.testing.assert_allclose(model.components_, svd.components_, atol=1e-7)
    np.testing.assert_allclose(
        model.transform(A), svd.transform(A), atol=1e-7 * np.abs(low_rank).max()
    )


def test_transform_is_the_projection_and_fit_transform_agrees(digits):
    model = FactorizationNAG(8, random_state=0)
    Z = model.fit_transform(digits)
    np.testing.assert_allclose(Z, model.transform(digits), rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(
        Z, digits @ model.components_.T, rtol=1e-9, atol=1e-8 * np.abs(Z).max()
    )
    np.testing.assert_allclose(
        model.inverse_transform(Z), Z @ model.components_, rtol=1e-12
    )
    assert 0 < model.explained_variance_ratio_.sum() < 1


def test_rows_with_missing_entries_keep_the_masked_least_squares(low_rank):
    rng = np.random.RandomState(0)
    A = low_rank.copy()
    missing = rng.rand(*A.shape) < 0.2
    A[missing] = np.nan
    model = FactorizationNAG(5, init="spectral", max_iter=3000, random_state=0)
    Z = model.fit(A).transform(A)
    np.testing.assert_allclose(Z, model.fit_transform(A), rtol=1e-10, atol=1e-10)
    C = model.components_
    for i in range(5):  # the residual on a row's observed entries ⟂ C there
        seen = ~missing[i]
        residual = A[i, seen] - Z[i] @ C[:, seen]
        np.testing.assert_allclose(C[:, seen] @ residual, 0, atol=1e-8)
    # and the imputer completes through the same canonical coefficients
    imputer = LowRankImputer(5, random_state=0).fit(A)
    assert np.isfinite(imputer.transform(A)).all()


def test_a_ridge_fit_transforms_consistently(low_rank):
    model = FactorizationNAG(5, alpha=0.1, random_state=0).fit(low_rank)
    Z = model.transform(low_rank)
    Y = model.right_factor_
    raw = low_rank @ Y @ np.linalg.inv(Y.T @ Y + model._ridge * np.eye(5))
    np.testing.assert_allclose(Z @ model.components_, raw @ Y.T, atol=1e-9)


def test_more_components_than_dimensions_pad_with_zeros():
    A = np.random.RandomState(0).randn(12, 4)
    model = FactorizationNAG(6, tol=1e-10, max_iter=5000, random_state=0).fit(A)
    C = model.components_
    assert C.shape == (6, 4)
    np.testing.assert_allclose(C[:4] @ C[:4].T, np.eye(4), atol=1e-10)
    assert not C[4:].any() and not model.singular_values_[4:].any()
    np.testing.assert_allclose(model.singular_values_[:4], np.linalg.svd(A)[1])


def test_float32_and_scaled_data(digits):
    A32 = digits.astype(np.float32)
    model = FactorizationNAG(5, random_state=0).fit(A32)
    assert model.components_.dtype == np.float32
    assert model.singular_values_.dtype == np.float32
    assert model.explained_variance_ratio_.dtype == np.float64
    big = FactorizationNAG(5, random_state=0).fit(A32 * np.float32(4.0**30))
    np.testing.assert_array_equal(big.components_, model.components_)
    np.testing.assert_array_equal(
        big.explained_variance_ratio_, model.explained_variance_ratio_
    )
