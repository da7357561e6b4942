"""Missing values (issue 7): the masked loss of FactorizationNAG."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

from skfactor import FactorizationNAG
from skfactor._initializers import INITIALIZERS
from skfactor._objectives import MaskedFactorizationObjective
from skfactor._optimizers import OPTIMIZERS
from skfactor.datasets import make_low_rank_matrix


@pytest.fixture(scope="module")
def planted():
    """Rank 5, κ = 10, 300×200, 30 % of the entries missing at random."""
    A, *_ = make_low_rank_matrix(300, 200, 5, 10, random_state=0)
    mask = np.random.RandomState(0).rand(*A.shape) < 0.3
    with_nan = A.copy()
    with_nan[mask] = np.nan
    return A, with_nan, mask


def _missing_error(model, A, mask):
    M = model.embedding_ @ model.components_
    return np.linalg.norm((M - A)[mask]) / np.linalg.norm(A[mask])


def test_nag_recovers_the_missing_entries_and_beats_gd(planted):
    A, with_nan, mask = planted
    kw = dict(init="spectral", tol=1e-7, max_iter=5000, random_state=0)
    nag = FactorizationNAG(5, optimizer="nag", **kw).fit(with_nan)
    gd = FactorizationNAG(5, optimizer="gd", **kw).fit(with_nan)
    assert nag.converged_ and gd.converged_
    assert _missing_error(nag, A, mask) < 1e-6
    assert _missing_error(gd, A, mask) < 1e-5
    assert nag.n_iter_ < gd.n_iter_
    # reconstruction_err_ and the loss are over the observed entries only
    residual = (nag.embedding_ @ nag.components_ - A)[~mask]
    assert nag.reconstruction_err_ == pytest.approx(np.linalg.norm(residual))
    assert nag.loss_curve_[-1] == pytest.approx(0.5 * np.sum(residual**2), rel=1e-6)
    assert nag.reference_loss_ == pytest.approx(0.5 * np.sum(A[~mask] ** 2))
    assert np.isfinite(nag.components_).all() and np.isfinite(nag.embedding_).all()


@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
@pytest.mark.parametrize("init", sorted(INITIALIZERS))
def test_every_optimizer_and_start_runs_on_missing_data(planted, optimizer, init):
    with_nan = planted[1]
    model = FactorizationNAG(
        5, optimizer=optimizer, init=init, tol=0, max_iter=30, random_state=0
    ).fit(with_nan[:60, :50])
    assert np.all(np.isfinite(model.loss_curve_))
    assert model.loss_curve_[-1] < model.reference_loss_


def test_objective_matches_a_masked_reference_dense_and_sparse():
    rng = np.random.RandomState(0)
    A = rng.standard_normal((9, 7))
    A[rng.rand(*A.shape) < 0.3] = np.nan
    X, Y = rng.standard_normal((9, 3)), rng.standard_normal((7, 3))
    S = A.copy()
    S[rng.rand(*A.shape) < 0.3] = 0.0  # implicit zeros of the sparse input
    for data, dense in ((A, A), (sp.csr_matrix(S), S)):
        objective = MaskedFactorizationObjective(data)
        point = objective.point([X, Y])
        observed = ~np.isnan(dense)
        R = np.where(observed, X @ Y.T - np.nan_to_num(dense), 0.0)
        assert objective.value(point) == pytest.approx(0.5 * np.sum(R**2))
        gX, gY = objective.grad(point)
        np.testing.assert_allclose(gX, R @ Y, atol=1e-12)
        np.testing.assert_allclose(gY, R.T @ X, atol=1e-12)


def test_sparse_input_stored_zeros_are_zeros_and_stored_nan_is_missing():
    rng = np.random.RandomState(1)
    A, *_ = make_low_rank_matrix(40, 30, 2, 5, random_state=1)
    A[rng.rand(*A.shape) < 0.2] = np.nan
    kw = dict(init="spectral", tol=0, max_iter=50, random_state=0)
    dense = FactorizationNAG(2, **kw).fit(A)
    sparse = FactorizationNAG(2, **kw).fit(sp.csr_matrix(A))
    # the same fit up to rounding (dense data take the blocked path here)
    np.testing.assert_allclose(
        sparse.loss_curve_,
        dense.loss_curve_,
        rtol=1e-6,
        atol=1e-9 * dense.reference_loss_,
    )
    np.testing.assert_allclose(sparse.components_, dense.components_, rtol=1e-7)


def test_transform_solves_the_masked_least_squares_row_by_row(planted):
    A, with_nan, mask = planted
    model = FactorizationNAG(
        5, init="spectral", tol=1e-8, max_iter=3000, random_state=0
    )
    model.fit(with_nan)
    Z = model.transform(with_nan)
    Y = model.components_.T
    for i in (0, 7, 123):
        o = ~mask[i]
        expected = np.linalg.lstsq(Y[o], A[i, o], rcond=None)[0]
        np.testing.assert_allclose(Z[i], expected, rtol=1e-8, atol=1e-10)
    # complete rows go through the same map as without NaN
    np.testing.assert_allclose(
        model.transform(A[:3]), Z[:3] * 0 + model.transform(A[:3])
    )
    # the reconstruction fills the missing entries
    np.testing.assert_allclose(
        (Z @ model.components_)[mask], A[mask], rtol=1e-5, atol=1e-6
    )
    # a subset of rows gives the subset of results
    np.testing.assert_allclose(model.transform(with_nan[5:9]), Z[5:9], rtol=1e-12)


def test_transform_rows_with_few_or_no_observed_entries():
    A, *_ = make_low_rank_matrix(50, 20, 3, 5, random_state=2)
    model = FactorizationNAG(3, tol=1e-8, max_iter=3000, random_state=0).fit(A)
    rows = A[:3].copy()
    rows[0, :] = np.nan  # nothing observed: the minimum-norm answer, 0
    rows[1, 2:] = np.nan  # two observed entries for three components
    Z = model.transform(rows)
    assert np.all(np.isfinite(Z))
    np.testing.assert_array_equal(Z[0], 0.0)
    np.testing.assert_allclose((Z[1] @ model.components_)[:2], A[1, :2], atol=1e-8)
    np.testing.assert_allclose(Z[2], model.transform(A[2:3])[0], rtol=1e-10)


def test_score_is_over_observed_entries(planted):
    A, with_nan, mask = planted
    model = FactorizationNAG(
        5, init="spectral", tol=1e-9, max_iter=3000, random_state=0
    )
    model.fit(with_nan)
    Z = model.transform(with_nan)
    residual = (Z @ model.components_ - A)[~mask]
    assert model.score(with_nan) == pytest.approx(-np.mean(residual**2), abs=1e-18)
    with pytest.raises(ValueError, match="no observed entry"):
        model.score(np.full((2, 200), np.nan))  # not a "perfect" 0.0


def test_too_few_observations_for_the_rank():
    rng = np.random.RandomState(3)
    A = rng.standard_normal((10, 8))
    A[rng.rand(*A.shape) < 0.7] = np.nan
    A[np.arange(8), np.arange(8)] = 1.0  # no empty row or column
    A[8:, 0] = 1.0
    with pytest.raises(ValueError, match=r"fewer than the .* degrees of freedom"):
        FactorizationNAG(4).fit(A)


def test_the_callers_array_is_not_modified(planted):
    _, with_nan, _ = planted
    copy = with_nan.copy()
    FactorizationNAG(5, max_iter=20, tol=0, random_state=0).fit(with_nan)
    np.testing.assert_array_equal(with_nan, copy)  # NaN in the same places


def test_float32_and_extreme_scales_with_missing_entries(planted):
    A, with_nan, mask = planted
    kw = dict(init="spectral", tol=1e-5, max_iter=3000, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        m32 = FactorizationNAG(5, **kw).fit(with_nan.astype(np.float32))
        big = FactorizationNAG(5, **kw).fit(with_nan * 1e30)
    assert m32.components_.dtype == np.float32
    assert _missing_error(m32, A, mask) < 1e-3
    assert _missing_error(big, A * 1e30, mask) < 1e-3


def test_ridge_penalty_soft_thresholds_the_singular_values():
    """½‖XYᵀ − A‖² + ½λ(‖X‖² + ‖Y‖²) is minimized by A's SVD with σᵢ − λ."""
    A, _, s, _ = make_low_rank_matrix(40, 30, 4, 4, random_state=5)
    alpha = 0.3
    model = FactorizationNAG(
        6, alpha=alpha, optimizer="apgd", tol=1e-12, max_iter=5000, random_state=0
    ).fit(A)
    lam = alpha * s[0]  # σ₁(A) = 1 here; estimated by the estimator
    fitted = np.linalg.svd(model.embedding_ @ model.components_, compute_uv=False)
    np.testing.assert_allclose(fitted[:4], np.maximum(s - lam, 0), atol=1e-6)
    assert np.all(fitted[4:] < 1e-6)
    # transform solves the same ridge problem as the fitted X
    np.testing.assert_allclose(model.transform(A), model.embedding_, atol=1e-6)


def test_penalized_objective_gradients_match_finite_differences():
    rng = np.random.RandomState(6)
    A = rng.standard_normal((8, 6))
    A[rng.rand(*A.shape) < 0.3] = np.nan
    objective = MaskedFactorizationObjective(A)
    objective.penalty = 0.7
    X, Y = rng.standard_normal((8, 2)), rng.standard_normal((6, 2))
    grads = objective.grad(objective.point([X, Y]))
    h = 1e-6
    for i, F in enumerate((X, Y)):
        D = rng.standard_normal(F.shape)
        plus = [X.copy(), Y.copy()]
        minus = [X.copy(), Y.copy()]
        plus[i] += h * D
        minus[i] -= h * D
        numeric = (
            objective.value(objective.point(plus))
            - objective.value(objective.point(minus))
        ) / (2 * h)
        assert numeric == pytest.approx(np.sum(grads[i] * D), rel=1e-6)


@pytest.mark.parametrize("fraction", [0.02, 0.3])
def test_blocked_and_gathered_paths_agree(fraction):
    """Few missing entries are gathered one by one, many by blocked products."""
    rng = np.random.RandomState(7)
    A = rng.standard_normal((50, 40))
    A[rng.rand(*A.shape) < fraction] = np.nan
    objective = MaskedFactorizationObjective(A)
    assert (objective._mask is not None) == (fraction > objective.BLOCKED_ABOVE)
    other = MaskedFactorizationObjective(A)
    if other._mask is None:  # force the blocked path
        other._mask = np.isnan(A)
    else:  # force the gathered path
        rows, cols = np.nonzero(other._mask)
        other._rows, other._cols, other._mask = rows, cols, None
        other._indptr = np.r_[0, np.cumsum(np.bincount(rows, minlength=50))]
    X, Y = rng.standard_normal((50, 3)), rng.standard_normal((40, 3))
    p, q = objective.point([X, Y]), other.point([X, Y])
    assert objective.value(p) == pytest.approx(other.value(q), rel=1e-12)
    for g, h in zip(objective.grad(p), other.grad(q)):
        np.testing.assert_allclose(g, h, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("fraction", [0.02, 0.3])  # gathered, and blocked
@pytest.mark.parametrize("offsets", [False, True])
def test_masked_saddle_probe_and_offsets_match_a_brute_force(fraction, offsets):
    """The model's gradient ``P_Ω(XYᵀ + 1μᵀ − A)`` behind the saddle probe,
    and the closed-form offsets' loss and gradient, against dense formulas."""
    rng = np.random.RandomState(0)
    A = rng.standard_normal((60, 25))
    A[rng.rand(*A.shape) < fraction] = np.nan
    objective = MaskedFactorizationObjective(A, offsets=offsets)
    assert (objective._mask is not None) == (fraction > 0.05)
    X, Y = rng.standard_normal((60, 3)), rng.standard_normal((25, 3))
    point = objective.point([X, Y])
    observed = ~np.isnan(A)
    residual = np.where(observed, X @ Y.T - A, 0.0)
    if offsets:
        mu = -residual.sum(axis=0) / observed.sum(axis=0)
        residual = np.where(observed, residual + mu, 0.0)
        np.testing.assert_allclose(objective.offsets_at([X, Y]), mu, rtol=1e-10)
    assert objective.value(point) == pytest.approx(0.5 * np.sum(residual**2))
    np.testing.assert_allclose(objective.grad(point)[0], residual @ Y, atol=1e-10)
    np.testing.assert_allclose(objective.grad(point)[1], residual.T @ X, atol=1e-10)
    strength, _, _, beta = objective.saddle_probe(point)
    # block power iterations: a lower bound within a few percent (no gap here)
    top = np.linalg.norm(residual, 2)
    assert 0.97 * top <= strength * beta <= top * (1 + 1e-9)
