"""MatrixSensingPrecGD: reference loops, recovery, completion, API, bad input."""

import tracemalloc

import numpy as np
import pytest
import scipy.sparse as sp

from skfactor import MatrixSensingPrecGD
from skfactor.datasets import make_matrix_completion, make_matrix_sensing


def rel(a, b):
    return np.linalg.norm(a - b) / np.linalg.norm(b)


# --------------------------------------------------------------------------
# First iterates against plain loops written from the equations
# --------------------------------------------------------------------------
def _E(A, y, L, R):
    rho = np.einsum("ijk,jk->i", A, L @ R.T) - y
    return np.einsum("i,ijk->jk", rho, A) / len(y), rho


def ref_loop(name, A, y, L, R, eta, steps=15, damping=None):
    out = []
    eye = np.eye(L.shape[1])
    for _ in range(steps):
        E, rho = _E(A, y, L, R)
        if name == "gd":
            L, R = L - eta * E @ R, R - eta * E.T @ L
        elif name == "precgd":
            # √(2f/β), f = ‖ρ‖²/(2N), β = ‖D‖²/(N·n1·n2): the model's units
            beta = np.sum(A**2) / A.size
            delta = np.sqrt(np.sum(rho**2) / len(y) / beta)
            L, R = (
                L - eta * E @ R @ np.linalg.inv(R.T @ R + delta * eye),
                R - eta * E.T @ L @ np.linalg.inv(L.T @ L + delta * eye),
            )
        elif name == "scaledgd":
            L, R = (
                L - eta * E @ R @ np.linalg.inv(R.T @ R + damping * eye),
                R - eta * E.T @ L @ np.linalg.inv(L.T @ L + damping * eye),
            )
        elif name == "apgd":
            L = L - eta * E @ R @ np.linalg.pinv(R.T @ R)
            E, _ = _E(A, y, L, R)
            R = R - eta * E.T @ L @ np.linalg.pinv(L.T @ L)
        out.append((L, R))
    return out


@pytest.mark.parametrize("name", ["gd", "precgd", "scaledgd", "apgd"])
def test_iterates_match_reference_loop(name):
    rng = np.random.RandomState(0)
    X, y, _ = make_matrix_sensing(6, 5, 2, 80, random_state=0)
    L0, R0 = rng.standard_normal((6, 3)), rng.standard_normal((5, 3))
    eta = 0.3 if name != "gd" else 0.02
    expected = ref_loop(name, X.reshape(-1, 6, 5), y, L0, R0, eta, damping=0.1)
    for k in (1, 15):
        model = MatrixSensingPrecGD(
            3,
            shape=(6, 5),
            optimizer=name,
            init=(L0, R0),
            learning_rate=eta,
            damping=0.1 if name == "scaledgd" else "auto",
            max_iter=k,
            tol=0,
        ).fit(X, y)
        L, R = expected[k - 1]
        assert rel(model.left_factor_, L) < 1e-10
        assert rel(model.right_factor_, R) < 1e-10


def test_symmetric_precgd_matches_reference_loop():
    rng = np.random.RandomState(1)
    X, y, _ = make_matrix_sensing(5, 5, 2, 80, symmetric=True, random_state=1)
    A = X.reshape(-1, 5, 5)
    X0 = rng.standard_normal((5, 3))
    Z, eye = X0.copy(), np.eye(3)
    for _ in range(10):
        rho = np.einsum("ijk,jk->i", A, Z @ Z.T) - y
        E = np.einsum("i,ijk->jk", rho, A) / len(y)
        # √(4f/β) = ‖ρ‖/√(Nβ), f = ‖ρ‖²/(4N), β = ‖D‖²/(N·n²): the model's units
        delta = np.sqrt(np.sum(rho**2) / len(y) / (np.sum(A**2) / A.size))
        Z = Z - 0.3 * (0.5 * (E + E.T) @ Z) @ np.linalg.inv(Z.T @ Z + delta * eye)
    model = MatrixSensingPrecGD(
        3, symmetric=True, init=(X0,), learning_rate=0.3, max_iter=10, tol=0
    ).fit(X, y)
    assert rel(model.factor_, Z) < 1e-10


# --------------------------------------------------------------------------
# Recovery: over-parameterized and ill-conditioned (the point of PrecGD)
# --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def hard_problem():
    n, true_rank = 30, 3
    return make_matrix_sensing(
        n, n, true_rank, 10 * n * true_rank, condition_number=100, random_state=0
    )


@pytest.mark.parametrize("optimizer", ["precgd", "scaledgd", "apgd"])
def test_preconditioned_methods_recover_at_search_rank_6(hard_problem, optimizer):
    X, y, M = hard_problem
    model = MatrixSensingPrecGD(
        6, optimizer=optimizer, max_iter=500, tol=1e-9, random_state=0
    ).fit(X, y)
    assert rel(model.coef_, M) < 1e-6
    assert model.n_iter_ <= 500 and model.converged_
    assert model.effective_rank_ == 3


def test_gd_does_not_recover_with_the_same_budget(hard_problem):
    X, y, M = hard_problem
    with pytest.warns(Warning):
        model = MatrixSensingPrecGD(
            6, optimizer="gd", max_iter=500, tol=1e-9, random_state=0
        ).fit(X, y)
    assert rel(model.coef_, M) > 1e-3
    assert model.effective_rank_ > 3


@pytest.mark.parametrize("optimizer", ["precgd", "scaledgd"])
def test_symmetric_model_recovers_psd_matrix(optimizer):
    X, y, M = make_matrix_sensing(
        20, 20, 3, 1200, condition_number=100, symmetric=True, random_state=0
    )
    model = MatrixSensingPrecGD(
        6,
        symmetric=True,
        optimizer=optimizer,
        max_iter=500,
        tol=1e-9,
        random_state=0,
    ).fit(X, y)
    assert rel(model.coef_, M) < 1e-6
    assert model.factor_.shape == (20, 6)
    assert model.effective_rank_ == 3


# --------------------------------------------------------------------------
# Matrix completion at scale, without a dense n1 × n2 matrix
# --------------------------------------------------------------------------
def test_completion_2000x1500_memory_and_accuracy():
    noise = 0.1
    X, y, _ = make_matrix_completion(
        2000, 1500, 5, condition_number=2, fraction=0.05, noise=noise, random_state=0
    )
    test = np.zeros(X.shape[0], dtype=bool)
    test[
        np.random.RandomState(0).choice(X.shape[0], X.shape[0] // 10, replace=False)
    ] = True
    X_train, y_train, X_test, y_test = X[~test], y[~test], X[test], y[test]
    model = MatrixSensingPrecGD(
        5, shape=(2000, 1500), init="spectral", max_iter=300, random_state=0
    )
    tracemalloc.start()
    model.fit(X_train, y_train)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # O(nnz) working memory (about ten arrays over the observations), never a
    # dense n1 × n2 array: one alone would take 24 MB in float64
    dense_bytes = 2000 * 1500 * 8
    assert peak < 0.75 * dense_bytes, f"peak {peak / 1e6:.1f} MB during fit"
    assert peak < 100 * X_train.nnz, f"{peak / X_train.nnz:.0f} bytes per observation"
    rmse = np.sqrt(np.mean((model.predict(X_test) - y_test) ** 2))
    assert rmse < 1.5 * noise
    assert model.effective_rank_ == 5


# --------------------------------------------------------------------------
# API
# --------------------------------------------------------------------------
def test_dense_sparse_and_3d_inputs_agree():
    X, y, M = make_matrix_sensing(6, 6, 2, 150, random_state=3)
    X[np.abs(X) < 0.5] = 0
    y = X @ M.ravel()
    kw = dict(rank=3, max_iter=200, tol=0, random_state=0)
    dense = MatrixSensingPrecGD(**kw).fit(X, y)
    sparse = MatrixSensingPrecGD(**kw).fit(sp.csr_matrix(X), y)
    cube = MatrixSensingPrecGD(**kw).fit(X.reshape(-1, 6, 6), y)
    np.testing.assert_allclose(sparse.coef_, dense.coef_, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(cube.coef_, dense.coef_, rtol=1e-12)
    np.testing.assert_allclose(dense.predict(X.reshape(-1, 6, 6)), dense.predict(X))
    np.testing.assert_allclose(
        sparse.predict(sp.csr_matrix(X)), dense.predict(X), rtol=1e-8
    )


def test_transform_rows_sum_to_predictions_and_float32():
    X, y, _ = make_matrix_sensing(5, 4, 2, 100, random_state=4)
    X32, y32 = X.astype(np.float32), (y + 2.0).astype(np.float32)
    model = MatrixSensingPrecGD(
        3, shape=(5, 4), fit_intercept=True, random_state=0
    ).fit(X32, y32)
    C = model.transform(X32)
    assert C.shape == (100, 3) and C.dtype == np.float32
    assert model.predict(X32).dtype == np.float32
    np.testing.assert_allclose(
        C.sum(axis=1) + model.intercept_, model.predict(X32), rtol=1e-5
    )
    assert model.intercept_ == pytest.approx(2.0, abs=1e-3)
    assert model.coef_.dtype == np.float32


@pytest.mark.parametrize(
    "params, data, message",
    [
        ({}, "y_short", "inconsistent numbers of samples"),
        ({"shape": (5, 5)}, None, r"shape=\(5, 5\) must be two positive integers"),
        ({"shape": "auto"}, None, "perfect square"),
        ({"rank": 0}, None, "'rank' parameter"),
        ({"damping": -1.0}, None, "'damping' parameter"),
        ({}, "nan", "Input X contains NaN"),
        (
            {"symmetric": True, "optimizer": "apgd", "shape": (5, 5)},
            "square",
            "single factor",
        ),
        ({"symmetric": True}, None, "needs square samples|perfect square"),
        (
            {"init": "ward_kolda", "symmetric": True, "shape": (5, 5)},
            "square",
            "cannot start",
        ),
        ({"init": "identity"}, None, "'init' parameter"),
    ],
)
def test_bad_input(params, data, message):
    X, y, _ = make_matrix_sensing(5, 4, 2, 60, random_state=0)
    if data == "y_short":
        y = y[:-1]
    elif data == "nan":
        X[0, 0] = np.nan
    elif data == "square":
        X, y, _ = make_matrix_sensing(5, 5, 2, 60, random_state=0)
    params.setdefault("shape", (5, 4)) if "shape" not in params else None
    with pytest.raises(ValueError, match=message):
        MatrixSensingPrecGD(**params).fit(X, y)


@pytest.mark.parametrize("name", ["altgd", "nag", "heavy_ball"])
def test_momentum_and_alternating_iterates_match_reference_loop(name):
    """The shared optimizers on the sensing objective (constant momentum)."""
    rng = np.random.RandomState(5)
    X, y, _ = make_matrix_sensing(5, 4, 2, 70, random_state=5)
    A = X.reshape(-1, 5, 4)
    L, R = rng.standard_normal((5, 2)), rng.standard_normal((4, 2))
    Lp, Rp, eta, beta = L, R, 0.02, 0.6
    model = MatrixSensingPrecGD(
        2,
        shape=(5, 4),
        optimizer=name,
        init=(L, R),
        learning_rate=eta,
        momentum=beta,
        max_iter=12,
        tol=0,
    ).fit(X, y)
    for _ in range(12):
        if name == "altgd":
            L = L - eta * _E(A, y, L, R)[0] @ R
            R = R - eta * _E(A, y, L, R)[0].T @ L
            continue
        if name == "nag":
            WL, WR = L + beta * (L - Lp), R + beta * (R - Rp)
            E = _E(A, y, WL, WR)[0]
            Ln, Rn = WL - eta * E @ WR, WR - eta * E.T @ WL
        else:
            E = _E(A, y, L, R)[0]
            Ln = L - eta * E @ R + beta * (L - Lp)
            Rn = R - eta * E.T @ L + beta * (R - Rp)
        Lp, Rp, L, R = L, R, Ln, Rn
    assert rel(model.left_factor_, L) < 1e-10
    assert rel(model.right_factor_, R) < 1e-10


@pytest.mark.parametrize("init", ["spectral", "nystrom", "unbalanced", "gaussian"])
def test_other_starts_recover(init):
    X, y, M = make_matrix_sensing(12, 10, 2, 600, condition_number=10, random_state=6)
    model = MatrixSensingPrecGD(
        4, shape=(12, 10), init=init, max_iter=1000, tol=1e-10, random_state=0
    ).fit(X, y)
    assert rel(model.coef_, M) < 1e-6


def test_warm_start_continues():
    X, y, _ = make_matrix_sensing(8, 8, 2, 300, random_state=7)
    kw = dict(rank=3, optimizer="gd", learning_rate=0.05, tol=0, random_state=0)
    full = MatrixSensingPrecGD(max_iter=40, **kw).fit(X, y)
    warm = MatrixSensingPrecGD(max_iter=20, warm_start=True, **kw).fit(X, y)
    warm.fit(X, y)
    np.testing.assert_allclose(warm.coef_, full.coef_, rtol=1e-10)


def test_pandas_output_and_pipeline():
    pd = pytest.importorskip("pandas")
    from sklearn.linear_model import LinearRegression
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline

    X, y, _ = make_matrix_sensing(6, 6, 2, 240, noise=0.01, random_state=8)
    model = MatrixSensingPrecGD(3, random_state=0).set_output(transform="pandas")
    out = model.fit(X, y).transform(X)
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == [f"matrixsensingprecgd{i}" for i in range(3)]
    pipe = make_pipeline(MatrixSensingPrecGD(3, random_state=0), LinearRegression())
    assert pipe.fit(X, y).score(X, y) > 0.99
    search = GridSearchCV(
        MatrixSensingPrecGD(random_state=0, max_iter=300),
        {"rank": [1, 2, 4], "optimizer": ["precgd", "apgd"]},
        cv=3,
    ).fit(X, y)
    assert search.best_params_["rank"] >= 2
