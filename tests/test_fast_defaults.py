"""Defaults as fast as an SVD (issue 13): the sharpened unbalanced start, the
early plateau rule, momentum after a solving first step, and the kernels
that keep the set-up cheap (thin QR, residuals, zero products)."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_digits, load_sample_images
from sklearn.decomposition import TruncatedSVD
from sklearn.exceptions import ConvergenceWarning

from skfactor import FactorizationNAG, LinearNetRegressor, MatrixSensingPrecGD
from skfactor._initializers import INITIALIZERS, SKETCH_POWER_ITER
from skfactor._linalg import residual_sq_norm, ritz_basis, thin_qr, top_eigenvalue
from skfactor._objectives import FactorizationObjective


@pytest.fixture(scope="module")
def digits():
    return load_digits().data


@pytest.fixture(scope="module")
def image():
    return load_sample_images().images[0].mean(axis=2)[::2, ::2]


def _relative_error(A, model):
    return model.reconstruction_err_ / np.linalg.norm(A)


def _tsvd_error(A, d):
    svd = TruncatedSVD(d, algorithm="randomized", random_state=0).fit(A)
    projected = A @ svd.components_.T
    return np.sqrt(np.sum(A**2) - np.sum(projected**2)) / np.linalg.norm(A)


# --------------------------------------------------------------------------
# The start
# --------------------------------------------------------------------------
def _start(A, d, power_iter, scale="auto"):
    m, n = A.shape
    return INITIALIZERS["unbalanced"](
        FactorizationObjective(A),
        [(m, d), (n, d)],
        scale=scale,
        random_state=np.random.RandomState(0),
        power_iter=power_iter,
    )


def test_the_sharpened_start_is_large_orthogonal_and_in_the_span(digits):
    X0, Y0 = _start(digits, 10, 3)
    assert np.all(Y0 == 0)
    gram = X0.T @ X0
    c2s1 = gram[0, 0]
    # equal, orthogonal columns of norm c₀√s₁, s₁ ≈ σ₁
    np.testing.assert_allclose(gram, c2s1 * np.eye(10), atol=1e-10 * c2s1)
    sigma1 = np.linalg.norm(digits, 2)
    assert c2s1 == pytest.approx(9.0 * sigma1, rel=1e-6)
    # in the span of A: the component outside range(A) is rounding
    U = np.linalg.svd(digits, full_matrices=False)[0]
    outside = X0 - U @ (U.T @ X0)
    assert np.linalg.norm(outside) < 1e-10 * np.linalg.norm(X0)


def test_the_start_is_a_randomized_range_finder(image):
    """The columns span the range of (AAᵀ)^q AΦ: compared with a plain
    reference loop (QR after every product) on the same Gaussian Φ."""
    d, q, p = 8, 2, 10
    Q, values = ritz_basis(image, d, q, np.random.RandomState(0))
    omega = np.random.RandomState(0).standard_normal((image.shape[1], d + p))
    Z = np.linalg.qr(image @ omega)[0]
    for _ in range(q):
        Z = np.linalg.qr(image @ np.linalg.qr(image.T @ Z)[0])[0]
    # the Ritz vectors of range(Z): the top-d left singular vectors of ZᵀA
    Ub, s, _ = np.linalg.svd(Z.T @ image, full_matrices=False)
    reference = Z @ Ub[:, :d]
    np.testing.assert_allclose(values, s[:d], rtol=1e-8)
    # the same subspace, column by column up to sign (distinct Ritz values)
    np.testing.assert_allclose(np.abs(np.sum(Q * reference, axis=0)), 1, atol=1e-6)


def test_one_iteration_from_the_sharpened_start_is_the_projection(image):
    """With the automatic step η = 1/s₁(X₀)² the first NAG iteration solves
    for Y exactly: X₁Y₁ᵀ = QQᵀA, the randomized SVD's answer."""
    d = 10
    model = FactorizationNAG(d, max_iter=1, tol=0, random_state=0).fit(image)
    X0, _ = _start(image, d, SKETCH_POWER_ITER)
    Q = np.linalg.qr(X0)[0]
    np.testing.assert_allclose(
        model.left_factor_ @ model.right_factor_.T,
        Q @ (Q.T @ image),
        atol=1e-9 * np.abs(image).max(),
    )
    assert model.learning_rate_ == pytest.approx(1 / np.linalg.norm(X0, 2) ** 2)


def test_zero_power_iterations_is_the_papers_start(digits):
    """``init_power_iter=0`` with a constant momentum runs the NAG paper's
    iterates from X₀ = c₀AΦ/√s₁(AΦ), Y₀ = 0: checked against a plain loop."""
    d, c0, beta, k = 5, 10.0, 0.9, 6
    model = FactorizationNAG(
        d,
        init_power_iter=0,
        init_scale=c0,
        momentum=beta,
        max_iter=k,
        tol=0,
        random_state=0,
    ).fit(digits)
    rng = np.random.RandomState(0)
    phi = rng.standard_normal((digits.shape[1], d)) / np.sqrt(d)
    sketch = digits @ phi
    X = c0 * sketch / np.sqrt(np.linalg.norm(sketch, 2))
    Y = np.zeros((digits.shape[1], d))
    eta = 1.0 / np.linalg.norm(X, 2) ** 2
    X_prev, Y_prev = X, Y
    for _ in range(k):
        WX, WY = X + beta * (X - X_prev), Y + beta * (Y - Y_prev)
        E = WX @ WY.T - digits
        X_prev, Y_prev = X, Y
        X, Y = WX - eta * E @ WY, WY - eta * E.T @ WX
    np.testing.assert_allclose(model.left_factor_, X, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(model.right_factor_, Y, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("value", [-1, 1.5, "four", True])
def test_init_power_iter_is_validated(digits, value):
    with pytest.raises((ValueError, TypeError), match="init_power_iter"):
        FactorizationNAG(3, init_power_iter=value).fit(digits)


@pytest.mark.parametrize(
    "make, args",
    [
        (lambda q: MatrixSensingPrecGD(2, init="unbalanced", init_power_iter=q), 0),
        (lambda q: LinearNetRegressor((3,), init_power_iter=q), 1),
    ],
    ids=["sensing", "linear-net"],
)
def test_every_estimator_takes_init_power_iter(make, args):
    from skfactor.datasets import make_matrix_sensing

    rng = np.random.RandomState(0)
    if args == 0:
        data = make_matrix_sensing(6, 6, 2, 200, random_state=0)[:2]
    else:
        X = rng.standard_normal((200, 6))
        data = (X, X @ rng.standard_normal((6, 4)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fits = [make(q).set_params(random_state=0).fit(*data) for q in (0, 3)]
    assert all(np.isfinite(f.loss_curve_).all() for f in fits)
    # the start differs, the problem does not
    assert fits[0].loss_curve_[0] != fits[1].loss_curve_[0]


# --------------------------------------------------------------------------
# Stopping and momentum
# --------------------------------------------------------------------------
@pytest.mark.parametrize("data", ["digits", "image", "noisy"])
def test_defaults_reach_truncated_svds_error_in_a_few_iterations(data, digits, image):
    if data == "digits":
        A, d = digits, 10
    elif data == "image":
        A, d = image, 20
    else:
        # rank 10 and Gaussian noise of a fifth of its norm
        rng = np.random.RandomState(0)
        signal = rng.standard_normal((400, 10)) @ rng.standard_normal((10, 200))
        noise = rng.standard_normal(signal.shape)
        A = signal + noise * np.linalg.norm(signal) / np.linalg.norm(noise) / 5
        d = 10
    model = FactorizationNAG(d, random_state=0).fit(A)
    assert model.converged_ and model.n_iter_ <= 5
    assert model.stop_reason_ in ("plateau", "precision")
    assert _relative_error(A, model) <= (1 + 1e-3) * _tsvd_error(A, d)


def test_the_early_rule_is_within_tol_of_a_long_run(image):
    """What the early stop leaves is below tol (relative) of the loss: a run
    ten times as long gains less than that."""
    tol = 1e-4
    early = FactorizationNAG(20, tol=tol, random_state=0).fit(image)
    longer = FactorizationNAG(
        20, tol=0, max_iter=10 * max(early.n_iter_, 10), random_state=0
    ).fit(image)
    gain = early.loss_curve_[-1] - longer.loss_curve_.min()
    assert gain <= tol * early.loss_curve_[-1]


def test_small_starts_do_not_stop_early(image):
    """The early rule sees a flat loss at a small start's saddle: the probe
    keeps it going until the model has grown."""
    model = FactorizationNAG(5, init="small_random", random_state=0).fit(image)
    assert model.n_iter_ > 20
    assert _relative_error(image, model) < 1.01 * _tsvd_error(image, 5)


@pytest.mark.parametrize("optimizer", ["nag", "heavy_ball"])
def test_momentum_starts_after_the_solving_first_step(optimizer, image):
    """From the sharpened start the first iterate is near optimal; momentum
    carried from that solve overshot (the loss rose several-fold). With the
    restart schedule it starts afterwards; a constant momentum keeps the
    papers' recursion."""
    auto = FactorizationNAG(10, optimizer=optimizer, max_iter=3, tol=0).fit(image)
    assert auto.loss_curve_[1] <= auto.loss_curve_[0] * (1 + 1e-9)
    constant = FactorizationNAG(
        10, optimizer=optimizer, momentum=0.5, max_iter=3, tol=0
    ).fit(image)
    assert constant.loss_curve_[1] > 1.001 * constant.loss_curve_[0]


# --------------------------------------------------------------------------
# Kernels
# --------------------------------------------------------------------------
@pytest.mark.parametrize("condition", [1.0, 1e3, 1e9])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_thin_qr(condition, dtype):
    rng = np.random.RandomState(0)
    U = np.linalg.qr(rng.standard_normal((500, 8)))[0]
    V = np.linalg.qr(rng.standard_normal((8, 8)))[0]
    Z = ((U * np.geomspace(1, 1 / condition, 8)) @ V).astype(dtype)
    Q, R = thin_qr(Z)
    assert Q.dtype == dtype and R.dtype == dtype
    eps = np.finfo(dtype).eps
    np.testing.assert_allclose(Q.T @ Q, np.eye(8), atol=100 * eps)
    np.testing.assert_allclose(Q @ R, Z, atol=100 * eps * np.abs(Z).max())
    assert np.allclose(np.tril(R, -1), 0)


def test_thin_qr_of_rank_deficient_and_wide_matrices():
    rng = np.random.RandomState(0)
    Z = rng.standard_normal((300, 4))
    Z = np.hstack([Z, Z[:, :2]])  # rank 4 of 6
    Q, R = thin_qr(Z)
    np.testing.assert_allclose(Q @ R, Z, atol=1e-12)
    np.testing.assert_allclose(Q.T @ Q, np.eye(6), atol=1e-12)
    W = rng.standard_normal((5, 8))
    Q, R = thin_qr(W)
    np.testing.assert_allclose(Q @ R, W, atol=1e-12)


def test_top_eigenvalue_of_a_multiple_of_the_identity():
    for n in (1, 7, 30, 61):
        assert top_eigenvalue(9.0 * np.eye(n)) == pytest.approx(9.0)


@pytest.mark.parametrize("missing", [False, True])
def test_sparse_residual_from_stored_entries(missing):
    rng = np.random.RandomState(0)
    A = sp.random(400, 120, density=0.05, random_state=0, format="csr")
    if missing:
        A.data[::5] = np.nan
    X, Y = rng.standard_normal((400, 4)), 0.1 * rng.standard_normal((120, 4))
    R = X @ Y.T - A.toarray()
    exact = np.nansum(R**2)
    got = residual_sq_norm(A, X, Y, ignore_nan=missing)
    assert got == pytest.approx(exact, rel=1e-12)
    assert residual_sq_norm(A, X, Y, scale=8.0, ignore_nan=missing) == pytest.approx(
        exact / 64, rel=1e-12
    )


def test_sparse_residual_of_an_exact_fit_is_exact():
    """Exactly low-rank sparse data fitted exactly: cancellation would show in
    the stored-entries formula, so the residual is summed exactly."""
    A = sp.csr_matrix(np.kron(np.eye(20), np.ones((15, 5))))
    X = np.kron(np.eye(20), np.ones((15, 1)))
    Y = np.kron(np.eye(20), np.ones((5, 1)))
    assert residual_sq_norm(A, X, Y) == 0.0


@pytest.mark.parametrize("case", ["dense", "sparse", "float32", "alpha", "missing"])
def test_reconstruction_error_is_the_exact_residual(case, digits):
    A = digits.copy()
    kwargs = {}
    if case == "sparse":
        A = sp.csr_matrix(A)
    elif case == "float32":
        A = A.astype(np.float32)
    elif case == "alpha":
        kwargs["alpha"] = 0.01
    elif case == "missing":
        A[np.random.RandomState(0).rand(*A.shape) < 0.1] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = FactorizationNAG(8, random_state=0, **kwargs).fit(A)
    dense = A.toarray() if sp.issparse(A) else np.asarray(A, dtype=np.float64)
    model_matrix = model.left_factor_.astype(np.float64) @ model.right_factor_.T
    exact = np.sqrt(np.nansum((model_matrix - dense) ** 2))
    rtol = 1e-5 if case == "float32" else 1e-9
    assert model.reconstruction_err_ == pytest.approx(exact, rel=rtol)
