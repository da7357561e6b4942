"""The symmetric model ``A ≈ X Xᵀ`` of FactorizationNAG and ``skfactor.eigsh``."""

import pickle
import warnings

import numpy as np
import pytest
import scipy.linalg
import scipy.sparse as sp
import scipy.sparse.linalg
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics.pairwise import rbf_kernel
from sklearn.model_selection import GridSearchCV, cross_val_score

from skfactor import FactorizationNAG, eigsh
from skfactor._factorization import symmetry_tolerance

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def rel(a, b):
    return np.linalg.norm(a - b) / np.linalg.norm(b)


def planted(n, eigenvalues, seed=0):
    """A PSD matrix ``U diag(λ) Uᵀ`` with random orthonormal ``U``."""
    rng = np.random.RandomState(seed)
    U = np.linalg.qr(rng.standard_normal((n, len(eigenvalues))))[0]
    return U @ np.diag(eigenvalues) @ U.T, U


def subspace_gap(V, U):
    """``‖sin Θ‖₂`` between the column spaces of orthonormal V and U."""
    s = np.linalg.svd(U.T @ V, compute_uv=False)
    return float(np.sqrt(max(0.0, 1.0 - s.min() ** 2)))


def grad(A, X):
    return X @ (X.T @ X) - A @ X


# ---------------------------------------------------------------------------
# Reference loops: the iterates are the update equations, exactly
# ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def small():
    rng = np.random.RandomState(3)
    A, _ = planted(12, [5.0, 2.0, 1.0], seed=3)
    A += 0.01 * (lambda G: G + G.T)(rng.standard_normal((12, 12)))
    X0 = 0.5 * rng.standard_normal((12, 3))
    return A, X0


def _fit(A, X0, optimizer, n_iter, eta, **params):
    return FactorizationNAG(
        3,
        symmetric=True,
        optimizer=optimizer,
        init=(X0,),
        learning_rate=eta,
        max_iter=n_iter,
        tol=0,
        **params,
    ).fit(A)


def test_gd_matches_reference_loop(small):
    A, X0 = small
    X = X0.copy()
    losses = []
    for _ in range(25):
        X = X - 0.05 * grad(A, X)
        losses.append(0.25 * np.linalg.norm(X @ X.T - A) ** 2)
    model = _fit(A, X0, "gd", 25, 0.05)
    assert rel(model.factor_, X) < 1e-12
    np.testing.assert_allclose(model.loss_curve_, losses, rtol=1e-10)


def test_nag_constant_momentum_matches_reference_loop(small):
    A, X0 = small
    X, previous = X0.copy(), X0.copy()
    for _ in range(25):
        W = X + 0.8 * (X - previous)
        previous, X = X, W - 0.05 * grad(A, W)
    model = _fit(A, X0, "nag", 25, 0.05, momentum=0.8)
    assert rel(model.factor_, X) < 1e-12


def test_heavy_ball_matches_reference_loop(small):
    A, X0 = small
    X, previous = X0.copy(), X0.copy()
    for _ in range(25):
        previous, X = X, X - 0.05 * grad(A, X) + 0.5 * (X - previous)
    model = _fit(A, X0, "heavy_ball", 25, 0.05, momentum=0.5)
    assert rel(model.factor_, X) < 1e-12


def test_precgd_matches_reference_loop(small):
    """PrecGD's base case: ``X⁺ = X − η∇f(X)(XᵀX + δI)⁻¹``, δ = ‖XXᵀ − A‖_F."""
    A, X0 = small
    X = X0.copy()
    for _ in range(15):
        delta = np.linalg.norm(X @ X.T - A)
        X = X - 0.5 * grad(A, X) @ np.linalg.inv(X.T @ X + delta * np.eye(3))
    model = _fit(A, X0, "precgd", 15, 0.5)
    assert rel(model.factor_, X) < 1e-10


def test_scaledgd_matches_reference_loop(small):
    A, X0 = small
    X = X0.copy()
    for _ in range(15):
        X = X - 0.5 * grad(A, X) @ np.linalg.inv(X.T @ X + 0.1 * np.eye(3))
    model = _fit(A, X0, "scaledgd", 15, 0.5, damping=0.1)
    assert rel(model.factor_, X) < 1e-10


def test_ridge_penalty_shrinks_the_eigenvalues(small):
    """``¼‖XXᵀ − A‖² + ½λ‖X‖²`` is minimized by the eigenvalues ``(wᵢ − λ)₊``."""
    A, _ = small
    model = FactorizationNAG(
        3, symmetric=True, optimizer="precgd", alpha=0.1, tol=1e-13, max_iter=3000
    ).fit(A)
    lam = 0.1 * np.linalg.norm(A, 2)
    expected = np.linalg.eigvalsh(A)[::-1][:3] - lam
    np.testing.assert_allclose(model.eigenvalues_, expected, rtol=1e-6)


# ---------------------------------------------------------------------------
# Recovery from small random starts (Chen, Chen, Elmasri & Sun)
# ---------------------------------------------------------------------------
CASES = {
    "kappa=10": [10.0, 6.0, 3.0, 1.0],
    "kappa=100": [100.0, 20.0, 5.0, 1.0],
    "identical top eigenvalues": [10.0, 10.0, 10.0, 1.0],
}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("optimizer", ["gd", "nag"])
def test_recovers_a_planted_psd_matrix_from_a_small_random_start(case, optimizer):
    eigenvalues = CASES[case]
    A, U = planted(80, eigenvalues)
    model = FactorizationNAG(
        4,
        symmetric=True,
        optimizer=optimizer,
        init="small_random",
        tol=1e-12,
        max_iter=20000,
        random_state=0,
    ).fit(A)
    assert model.stop_reason_ == "tol"
    assert rel(model.factor_ @ model.factor_.T, A) < 1e-8
    # eigenvalues equal to eigh's, eigenvectors spanning the planted space
    reference = np.linalg.eigvalsh(A)[::-1][:4]
    np.testing.assert_allclose(model.eigenvalues_, reference, rtol=1e-8)
    assert subspace_gap(model.components_.T, U) < 1e-7


def test_over_parameterized_precgd_recovers_the_planted_matrix():
    A, _ = planted(60, [100.0, 10.0, 1.0])
    model = FactorizationNAG(
        6,
        symmetric=True,
        optimizer="precgd",
        init="small_random",
        tol=1e-12,
        max_iter=2000,
        random_state=0,
    ).fit(A)
    assert rel(model.factor_ @ model.factor_.T, A) < 1e-9
    np.testing.assert_allclose(model.eigenvalues_[:3], [100, 10, 1], rtol=1e-9)
    assert np.all(model.eigenvalues_[3:] < 1e-8)


@pytest.mark.parametrize(
    "init",
    ["unbalanced", "small_random", "gaussian", "orthogonal", "spectral", "nystrom"],
)
def test_every_start_gives_the_top_eigenpairs_of_a_full_rank_matrix(init):
    """Not low rank: the fit is the best rank-d approximation, eigh's top d."""
    K = rbf_kernel(np.random.RandomState(0).standard_normal((70, 3)), gamma=0.5)
    model = FactorizationNAG(
        3,
        symmetric=True,
        optimizer="nag",
        init=init,
        tol=1e-12,
        max_iter=20000,
        random_state=0,
    ).fit(K)
    w, V = np.linalg.eigh(K)
    np.testing.assert_allclose(model.eigenvalues_, w[::-1][:3], rtol=1e-6)
    assert subspace_gap(model.components_.T, V[:, ::-1][:, :3]) < 1e-4


def test_indefinite_matrix_gives_its_positive_part():
    rng = np.random.RandomState(0)
    Q = np.linalg.qr(rng.standard_normal((40, 40)))[0]
    w = np.concatenate([[5.0, 3.0], -np.linspace(1, 8, 38)])
    A = (Q * w) @ Q.T
    for optimizer in ("gd", "nag", "heavy_ball", "precgd", "scaledgd"):
        model = FactorizationNAG(
            4,
            symmetric=True,
            optimizer=optimizer,
            tol=1e-10,
            max_iter=5000,
            random_state=0,
        ).fit(A)
        # the best PSD rank-4 approximation: the two positive eigenpairs. The
        # loss floor is ¼Σλ₋² ≈ 200, so a relative loss change of tol
        # resolves eigenvalues to about √(4·tol·200) ≈ 3e-4
        np.testing.assert_allclose(model.eigenvalues_[:2], [5.0, 3.0], rtol=1e-4)
        assert np.all(model.eigenvalues_[2:] < 1e-6), optimizer
        assert subspace_gap(model.components_[:2].T, Q[:, :2]) < 1e-2
    # ScaledGD(λ)'s automatic λ is at least |λ_min|: stable along the negative
    # eigenvectors, where a tiny λ makes the step η|λ|/λ times the factor
    assert model.damping_ == pytest.approx(8.0)
    w_top = eigsh(A, k=2, random_state=0, return_eigenvectors=False)
    np.testing.assert_allclose(w_top, [3.0, 5.0], rtol=1e-12)


def test_negative_semidefinite_matrix_gives_the_zero_model():
    A, _ = planted(20, [4.0, 1.0])
    model = FactorizationNAG(2, symmetric=True, init="small_random").fit(-A)
    assert np.all(model.eigenvalues_ < 1e-6)
    # from a zero start, the zero model is recognised as optimal at once
    zero = FactorizationNAG(2, symmetric=True, init=(np.zeros((20, 2)),)).fit(-A)
    assert zero.stop_reason_ == "optimal" and np.all(zero.eigenvalues_ == 0)


# ---------------------------------------------------------------------------
# Data: sparse = dense, float32, missing entries, the symmetry check
# ---------------------------------------------------------------------------
def test_sparse_equals_dense():
    rng = np.random.RandomState(0)
    G = sp.random(60, 60, density=0.1, random_state=rng)
    S = (G + G.T).tocsr()
    params = dict(
        n_components=3,
        symmetric=True,
        optimizer="nag",
        max_iter=200,
        tol=0,
        random_state=0,
    )
    dense = FactorizationNAG(**params).fit(S.toarray())
    sparse = FactorizationNAG(**params).fit(S)
    assert rel(sparse.factor_, dense.factor_) < 1e-10
    np.testing.assert_allclose(sparse.loss_curve_, dense.loss_curve_, rtol=1e-9)


def test_float32_is_fitted_in_float32():
    A, _ = planted(30, [3.0, 1.0])
    model = FactorizationNAG(2, symmetric=True, optimizer="precgd").fit(
        A.astype(np.float32)
    )
    assert model.factor_.dtype == np.float32
    assert model.transform(A[:3].astype(np.float32)).dtype == np.float32
    np.testing.assert_allclose(model.eigenvalues_, [3.0, 1.0], rtol=1e-3)


def test_missing_entries_in_symmetric_pairs_are_completed():
    A, _ = planted(60, [5.0, 2.0, 1.0], seed=1)
    rng = np.random.RandomState(1)
    hide = np.triu(rng.rand(60, 60) < 0.3)
    hide = hide | hide.T
    observed = np.where(hide, np.nan, A)
    model = FactorizationNAG(
        3,
        symmetric=True,
        optimizer="precgd",
        init="spectral",
        tol=1e-12,
        max_iter=3000,
        random_state=0,
    ).fit(observed)
    model_matrix = model.factor_ @ model.factor_.T
    assert rel(model_matrix[hide], A[hide]) < 1e-6
    # sparse with stored NaN: the same fit
    sparse = FactorizationNAG(
        3,
        symmetric=True,
        optimizer="precgd",
        init="spectral",
        tol=1e-12,
        max_iter=3000,
        random_state=0,
    ).fit(sp.csr_matrix(np.where(hide, np.nan, A)))
    assert rel(sparse.factor_ @ sparse.factor_.T, model_matrix) < 1e-8


def test_a_missing_entry_with_an_observed_mirror_takes_its_value():
    A, _ = planted(10, [3.0, 1.0])
    one_sided = A.copy()
    one_sided[2, 5] = np.nan
    params = dict(n_components=2, symmetric=True, max_iter=50, tol=0, random_state=0)
    got = FactorizationNAG(**params).fit(one_sided)
    full = FactorizationNAG(**params).fit(A)
    assert rel(got.factor_, full.factor_) < 1e-12
    assert np.isnan(one_sided[2, 5])  # the caller's array is untouched


def test_too_few_observed_entries_for_the_symmetric_model():
    A, _ = planted(6, [3.0, 1.0])
    A[np.triu_indices(6, 1)] = np.nan
    A[np.tril_indices(6, -1)] = np.nan
    with pytest.raises(ValueError, match=r"upper triangle.*degrees of freedom"):
        FactorizationNAG(2, symmetric=True).fit(A)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_asymmetry_within_the_tolerance_is_rounding(dtype):
    A, _ = planted(20, [3.0, 1.0])
    A = A.astype(dtype)
    B = A.copy()
    B[0, 1] += 0.5 * symmetry_tolerance(dtype) * np.abs(A).max()
    fitted = FactorizationNAG(2, symmetric=True, max_iter=20, tol=0, random_state=0)
    fitted.fit(B)
    assert B[0, 1] != B[1, 0]  # not modified in place
    C = B.copy()
    C[0, 1] += 4 * symmetry_tolerance(dtype) * np.abs(A).max()
    with pytest.raises(ValueError, match=r"max\|X − Xᵀ\|.*tolerance.*\(X \+ X.T\) / 2"):
        FactorizationNAG(2, symmetric=True).fit(C)


def test_non_square_and_non_symmetric_inputs_are_refused_clearly():
    rng = np.random.RandomState(0)
    with pytest.raises(ValueError, match=r"square matrix.*shape \(5, 4\)"):
        FactorizationNAG(2, symmetric=True).fit(rng.standard_normal((5, 4)))
    from sklearn.neighbors import kneighbors_graph

    graph = kneighbors_graph(rng.standard_normal((30, 2)), 3)
    with pytest.raises(ValueError, match="k-nearest-neighbour graph"):
        FactorizationNAG(2, symmetric=True).fit(graph)
    FactorizationNAG(2, symmetric=True, max_iter=5).fit(0.5 * (graph + graph.T))


@pytest.mark.parametrize("optimizer", ["altgd", "apgd"])
def test_two_factor_optimizers_are_refused(optimizer):
    A, _ = planted(10, [3.0, 1.0])
    with pytest.raises(ValueError, match=r"symmetric model X Xᵀ.*Use optimizer="):
        FactorizationNAG(2, symmetric=True, optimizer=optimizer).fit(A)


@pytest.mark.parametrize("init", ["ward_kolda", "balanced"])
def test_two_factor_starts_are_refused(init):
    A, _ = planted(10, [3.0, 1.0])
    with pytest.raises(ValueError, match=init):
        FactorizationNAG(2, symmetric=True, init=init).fit(A)


def test_paper_momentum_is_refused():
    A, _ = planted(10, [3.0, 1.0])
    with pytest.raises(ValueError, match="single factor"):
        FactorizationNAG(2, symmetric=True, momentum="paper").fit(A)


def test_a_failed_fit_leaves_the_estimator_unchanged():
    A, _ = planted(10, [3.0, 1.0])
    model = FactorizationNAG(2, symmetric=True, max_iter=20).fit(A)
    before = pickle.dumps(model)
    with pytest.raises(ValueError):
        model.fit(np.ones((10, 9)))
    assert pickle.dumps(model) == before


# ---------------------------------------------------------------------------
# The fitted attributes, transform and the sklearn machinery
# ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def kernel():
    X = np.random.RandomState(0).standard_normal((90, 4))
    K = rbf_kernel(X, gamma=0.3)
    model = FactorizationNAG(
        5,
        symmetric=True,
        optimizer="precgd",
        tol=1e-13,
        max_iter=5000,
        random_state=0,
    ).fit(K[:60, :60])
    return X, K, model


def test_attributes_are_the_eigen_form_of_the_model(kernel):
    _, _, model = kernel
    V, w, X = model.components_.T, model.eigenvalues_, model.factor_
    np.testing.assert_allclose(V.T @ V, np.eye(5), atol=1e-12)
    assert np.all(np.diff(w) <= 0)
    np.testing.assert_allclose((V * w) @ V.T, X @ X.T, atol=1e-12)
    np.testing.assert_allclose(model.singular_values_, w)
    np.testing.assert_allclose(
        model.embedding_ @ model.embedding_.T, X @ X.T, atol=1e-12
    )
    assert model.n_components_ == 5
    for absent in ("left_factor_", "right_factor_", "explained_variance_"):
        assert not hasattr(model, absent)
    # signs as svd_flip fixes them: the largest entry of each row is positive
    rows = np.arange(5)
    top = model.components_[rows, np.argmax(np.abs(model.components_), axis=1)]
    assert np.all(top > 0)


def test_transform_is_the_nystrom_extension(kernel):
    _, K, model = kernel
    X = model.factor_
    new = K[60:, :60]  # new points against the training points
    raw = new @ X @ np.linalg.inv(X.T @ X)
    got = model.transform(new)
    V, w = model.components_.T, model.eigenvalues_
    np.testing.assert_allclose(got, new @ V / np.sqrt(w), rtol=1e-10, atol=1e-12)
    # the same map as B X(XᵀX)⁻¹, in the eigenbasis (an orthogonal change)
    np.testing.assert_allclose(got @ got.T, raw @ raw.T, rtol=1e-8, atol=1e-12)
    # the training rows map to the embedding (a stationary point)
    np.testing.assert_allclose(
        model.transform(K[:60, :60]), model.embedding_, rtol=1e-6, atol=1e-9
    )
    # inverse_transform(transform(B)) = B V Vᵀ, the projection on the eigenspace
    np.testing.assert_allclose(
        model.inverse_transform(got), new @ V @ V.T, rtol=1e-9, atol=1e-12
    )
    assert model.score(new) == pytest.approx(-np.mean((new - new @ V @ V.T) ** 2))


def test_transform_with_missing_entries_solves_on_the_observed_ones(kernel):
    _, K, model = kernel
    new = K[60:62, :60].copy()
    full = model.transform(new)
    new[0, ::3] = np.nan
    got = model.transform(new)
    np.testing.assert_allclose(got[1], full[1], rtol=1e-12)
    # row 0: the least squares B X(XᵀX)⁻¹ on its observed entries, in the
    # eigenbasis (K = Xᵀ V w^(-1/2))
    X, V, w = model.factor_, model.components_.T, model.eigenvalues_
    seen = ~np.isnan(new[0])
    raw = np.linalg.lstsq(X[seen], new[0, seen], rcond=None)[0]
    np.testing.assert_allclose(got[0], raw @ (X.T @ V / np.sqrt(w)), rtol=1e-8)


def test_cross_validation_splits_the_kernel_rows_and_columns(kernel):
    _, K, _ = kernel
    model = FactorizationNAG(3, symmetric=True, optimizer="precgd", random_state=0)
    assert model.__sklearn_tags__().input_tags.pairwise
    assert not FactorizationNAG().__sklearn_tags__().input_tags.pairwise
    scores = cross_val_score(model, K, cv=3)
    assert np.all(np.isfinite(scores)) and np.all(scores <= 0)
    search = GridSearchCV(model, {"n_components": [1, 4]}, cv=3).fit(K)
    assert search.best_params_ == {"n_components": 4}


def test_clone_pickle_set_output_and_feature_names(kernel):
    _, K, model = kernel
    import pandas as pd

    again = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(
        again.transform(K[:3, :60]), model.transform(K[:3, :60])
    )
    assert clone(model).get_params()["symmetric"] is True
    frame = pd.DataFrame(K[:60, :60], columns=[f"p{i}" for i in range(60)])
    fitted = clone(model).set_output(transform="pandas").fit(frame)
    out = fitted.transform(frame.iloc[:4])
    assert list(out.columns) == [f"factorizationnag{i}" for i in range(5)]


def test_warm_start_continues_and_switching_the_model_starts_afresh():
    A, _ = planted(30, [4.0, 2.0, 1.0])
    params = dict(n_components=3, optimizer="gd", max_iter=40, tol=0, random_state=0)
    once = FactorizationNAG(symmetric=True, **{**params, "max_iter": 80}).fit(A)
    twice = FactorizationNAG(symmetric=True, warm_start=True, **params).fit(A).fit(A)
    assert rel(twice.factor_, once.factor_) < 1e-10
    # the pair model's factors are no start for the symmetric one, and back
    model = FactorizationNAG(warm_start=True, **params).fit(A)
    model.set_params(symmetric=True).fit(A)
    assert hasattr(model, "factor_") and not hasattr(model, "left_factor_")
    model.set_params(symmetric=False).fit(A)
    assert hasattr(model, "left_factor_") and not hasattr(model, "factor_")


def test_the_callers_array_is_never_modified():
    A, _ = planted(20, [3.0, 1.0])
    A[3, 4] = A[4, 3] = np.nan
    A[0, 1] += 1e-14
    copy = A.copy()
    FactorizationNAG(2, symmetric=True, max_iter=20).fit(A)
    np.testing.assert_array_equal(A, copy)


def test_scaled_data_scale_the_fit():
    """The scale contract in the eigen form: eigenvalues × c, same iterations."""
    A, _ = planted(30, [10.0, 3.0, 1.0])
    for optimizer in ("gd", "nag", "precgd"):
        params = dict(
            n_components=3,
            symmetric=True,
            optimizer=optimizer,
            init="small_random",
            tol=1e-10,
            max_iter=5000,
            random_state=0,
        )
        base = FactorizationNAG(**params).fit(A)
        for c in (1e-8, 1e8):
            scaled = FactorizationNAG(**params).fit(c * A)
            np.testing.assert_allclose(
                scaled.eigenvalues_, c * base.eigenvalues_, rtol=1e-8
            )
            assert abs(scaled.n_iter_ - base.n_iter_) <= 1
            np.testing.assert_allclose(
                scaled.components_, base.components_, rtol=1e-6, atol=1e-8
            )


# ---------------------------------------------------------------------------
# eigsh
# ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def graph():
    """The normalized adjacency of a symmetrized 8-NN graph of 400 points."""
    from sklearn.datasets import load_digits
    from sklearn.neighbors import kneighbors_graph

    W = kneighbors_graph(load_digits().data[:400], 8)
    W = 0.5 * (W + W.T)
    d = 1.0 / np.sqrt(np.asarray(W.sum(axis=1)).ravel())
    return sp.diags(d) @ W @ sp.diags(d)


@pytest.mark.parametrize("method", ["gd", "nag", "scaledgd"])
def test_eigsh_matches_scipy_on_a_dense_kernel(method):
    K = rbf_kernel(np.random.RandomState(1).standard_normal((150, 3)), gamma=0.2)
    w, v = eigsh(K, k=5, method=method, random_state=0)
    w_ref, v_ref = scipy.sparse.linalg.eigsh(K, k=5, which="LA")
    np.testing.assert_allclose(w, w_ref, rtol=1e-12)
    assert np.all(np.diff(w) > 0)
    np.testing.assert_allclose(np.abs(np.sum(v * v_ref, axis=0)), 1, atol=1e-10)
    np.testing.assert_allclose(v.T @ v, np.eye(5), atol=1e-12)
    residual = np.linalg.norm(K @ v - v * w, axis=0)
    assert residual.max() <= 1e-8 * np.linalg.norm(K, 2)


def test_eigsh_matches_scipy_on_a_sparse_graph(graph):
    w, v = eigsh(graph, k=4, method="nag", init="nystrom", tol=1e-7, random_state=0)
    w_ref, v_ref = scipy.sparse.linalg.eigsh(graph, k=4, which="LA", tol=1e-12)
    np.testing.assert_allclose(w, w_ref, rtol=1e-10)
    assert subspace_gap(v, v_ref) < 1e-5
    assert eigsh(
        graph,
        k=4,
        method="nag",
        init="nystrom",
        tol=1e-7,
        random_state=0,
        return_eigenvectors=False,
    ).shape == (4,)


def test_eigsh_shifts_when_the_positive_part_is_too_small():
    rng = np.random.RandomState(0)
    Q = np.linalg.qr(rng.standard_normal((50, 50)))[0]
    spectrum = np.concatenate([[4.0], -np.linspace(0.5, 3, 49)])
    A = (Q * spectrum) @ Q.T
    w, v = eigsh(A, k=3, method="scaledgd", random_state=0, tol=1e-9)
    np.testing.assert_allclose(w, np.sort(spectrum)[-3:], rtol=1e-9, atol=1e-12)
    assert np.linalg.norm(A @ v - v * w) < 1e-7


def test_eigsh_warns_when_max_iter_is_too_small():
    K = rbf_kernel(np.random.RandomState(2).standard_normal((80, 2)))
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        with pytest.raises(ConvergenceWarning, match=r"max_iter=5.*residual"):
            eigsh(K, k=3, max_iter=5, init="gaussian", random_state=0)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"k": 0}, "k must be a positive int"),
        ({"k": 1.5}, "k must be a positive int"),
        ({"k": 11}, "exceeds the matrix's size"),
        ({"tol": 0}, "tol must be a positive float"),
        ({"method": "altgd"}, "method must be one of"),
        ({"max_iter": 0}, "max_iter must be a positive int"),
    ],
)
def test_eigsh_rejects_bad_parameters(kwargs, match):
    A, _ = planted(10, [3.0, 1.0])
    with pytest.raises(ValueError, match=match):
        eigsh(A, **kwargs)


def test_eigsh_rejects_non_symmetric_and_non_finite_input():
    rng = np.random.RandomState(0)
    with pytest.raises(
        ValueError, match=r"eigsh works on a symmetric A.*call scipy.linalg.eig"
    ):
        eigsh(rng.standard_normal((6, 6)), k=2)
    A, _ = planted(6, [3.0, 1.0])
    A[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        eigsh(A, k=2)


def test_eigsh_of_a_matrix_of_exact_rank_below_k():
    A, U = planted(30, [3.0, 1.0])
    w, v = eigsh(A, k=3, method="scaledgd", random_state=0)
    np.testing.assert_allclose(w, [0.0, 1.0, 3.0], atol=1e-9)
    assert subspace_gap(v[:, 1:], U) < 1e-7


def test_eigsh_equals_the_estimator_followed_by_rayleigh_ritz():
    """The retraction-free method: fit, then orthonormalize once."""
    K = rbf_kernel(np.random.RandomState(3).standard_normal((60, 2)))
    model = FactorizationNAG(
        3,
        symmetric=True,
        optimizer="gd",
        init="gaussian",
        tol=1e-14,
        max_iter=20000,
        random_state=0,
    ).fit(K)
    Q = scipy.linalg.orth(model.factor_)
    w_ritz = np.linalg.eigvalsh(Q.T @ K @ Q)
    np.testing.assert_allclose(
        w_ritz, eigsh(K, k=3, random_state=0, tol=1e-10)[0], rtol=1e-10
    )


def test_callbacks_measure_the_symmetric_model():
    pytest.importorskip("sklearn.callback")
    from skfactor.callbacks import EarlyStopping, Recorder

    A, _ = planted(40, [4.0, 2.0, 1.0])
    recorder = Recorder(["loss", "distance"], truth=A)
    model = FactorizationNAG(
        3, symmetric=True, optimizer="gd", max_iter=60, tol=0, random_state=0
    ).set_callbacks(recorder)
    model.fit(A)
    (history,) = recorder.histories_
    # the start (iteration 0), then every iteration
    np.testing.assert_allclose(history["loss"][1:], model.loss_curve_, rtol=1e-12)
    last = np.linalg.norm(model.factor_ @ model.factor_.T - A) / np.linalg.norm(A)
    assert history["distance"][-1] == pytest.approx(last, rel=1e-8)
    # early stopping on held-out kernel rows (new points against the fitted ones)
    K = rbf_kernel(np.random.RandomState(0).standard_normal((80, 3)), gamma=0.3)
    stopper = EarlyStopping(X_val=K[60:, :60], patience=3)
    stopped = FactorizationNAG(
        6, symmetric=True, max_iter=2000, tol=0, random_state=0
    ).set_callbacks(stopper)
    stopped.fit(K[:60, :60])
    assert stopped.stop_reason_ == "callback" and stopped.n_iter_ < 2000


def test_reconstruction_err_is_the_symmetric_residual():
    """‖XXᵀ − A‖_F, from the loss ¼‖·‖² (not ½) when not summed exactly."""
    rng = np.random.RandomState(0)
    G = rng.standard_normal((50, 50))
    A = G @ G.T / 50
    A[np.triu_indices(50, 30)] = np.nan
    A = np.where(np.isnan(A) | np.isnan(A.T), np.nan, A)
    for data in (A, np.nan_to_num(A)):
        model = FactorizationNAG(3, symmetric=True, random_state=0).fit(data)
        residual = (model.factor_ @ model.factor_.T - data)[~np.isnan(data)]
        assert model.reconstruction_err_ == pytest.approx(np.linalg.norm(residual))
        assert np.sqrt(4 * model.loss_curve_[-1]) == pytest.approx(
            model.reconstruction_err_, rel=1e-6
        )


def test_eigsh_takes_an_array_start_and_refuses_bad_ones():
    K = rbf_kernel(np.random.RandomState(4).standard_normal((40, 3)))
    X0 = np.random.RandomState(0).standard_normal((40, 2))
    w = eigsh(K, k=2, init=X0, return_eigenvectors=False)
    np.testing.assert_allclose(w, np.linalg.eigvalsh(K)[-2:], rtol=1e-12)
    with pytest.raises(ValueError, match=r"init must be one of.*'nystrom'"):
        eigsh(K, k=2, init="balanced")
    with pytest.raises(ValueError, match=r"shape \(n, k\) = \(40, 2\)"):
        eigsh(K, k=2, init=X0[:, :1])
    with pytest.raises(TypeError, match="LinearOperator"):
        eigsh(scipy.sparse.linalg.aslinearoperator(K), k=2)


@pytest.mark.parametrize("scale", [1e-200, 1e200])
def test_eigsh_handles_any_magnitude_and_float32(scale):
    K = rbf_kernel(np.random.RandomState(5).standard_normal((60, 3)))
    reference = np.linalg.eigvalsh(K)[-3:]
    np.testing.assert_allclose(
        eigsh(K * scale, k=3, return_eigenvectors=False),
        reference * scale,
        rtol=1e-12,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # tol fits float32
        w32 = eigsh(K.astype(np.float32), k=3, return_eigenvectors=False)
    assert w32.dtype == np.float32 or w32.dtype == np.float64
    np.testing.assert_allclose(w32, reference, rtol=1e-4)


def test_eigsh_of_a_negative_definite_matrix_from_the_zero_spectral_start():
    """The positive part is 0, so the spectral start is the zero model: the
    fit ends at once, and eigsh must take its shift path from there."""
    rng = np.random.RandomState(0)
    Q = np.linalg.qr(rng.standard_normal((100, 100)))[0]
    A = (Q * -np.linspace(1, 2, 100)) @ Q.T
    w = eigsh(A, 3, init="spectral", random_state=0, return_eigenvectors=False)
    np.testing.assert_allclose(w, np.linalg.eigvalsh(A)[-3:], rtol=1e-10)


def test_eigsh_rescales_an_explicit_start_with_the_matrix():
    rng = np.random.RandomState(1)
    K = rbf_kernel(rng.standard_normal((60, 3)))
    X0 = rng.standard_normal((60, 3))
    for c in (1e-200, 1.0, 1e200):
        w = eigsh(c * K, 3, init=X0 * np.sqrt(c), return_eigenvectors=False)
        np.testing.assert_allclose(w / c, np.linalg.eigvalsh(K)[-3:], rtol=1e-10)


def test_the_damping_floor_estimate_is_cheap_and_close():
    from skfactor._objectives._models import _smallest_eigenvalue

    rng = np.random.RandomState(0)
    Q = np.linalg.qr(rng.standard_normal((400, 400)))[0]
    spectrum = np.concatenate([[5.0, 3.0], -np.linspace(1, 8, 398)])
    indefinite = (Q * spectrum) @ Q.T
    assert _smallest_eigenvalue(indefinite) == pytest.approx(-8.0, rel=0.05)
    # a PSD kernel whose small eigenvalues cluster at 0: an estimate near 0
    K = rbf_kernel(rng.standard_normal((400, 3)))
    estimate = _smallest_eigenvalue(K)
    assert np.linalg.eigvalsh(K)[0] - 1e-12 <= estimate < 0.05 * np.linalg.norm(K, 2)
