"""LinearNetRegressor: reference loops, least-squares optima, real data, bad input."""

import numpy as np
import pytest
from sklearn.datasets import load_diabetes, load_linnerud, make_regression
from sklearn.linear_model import LinearRegression

from skfactor import LinearNetRegressor


def _loss(X, Y, W, b):
    return np.sum((X @ W.T + b - Y) ** 2) / (2 * len(X))


# --------------------------------------------------------------------------
# First iterates: a plain loop on the raw data (no sufficient statistics)
# --------------------------------------------------------------------------
def _grads(X, Y, layers):
    """Gradients of ‖X W₁ᵀ⋯W_Nᵀ − Y‖²/(2n) by back-propagation."""
    acts = [X]
    for W in layers:
        acts.append(acts[-1] @ W.T)
    delta = (acts[-1] - Y) / len(X)
    grads = [None] * len(layers)
    for k in range(len(layers) - 1, -1, -1):
        grads[k] = delta.T @ acts[k]
        delta = delta @ layers[k]
    return grads


@pytest.mark.parametrize("hidden", [(4,), (4, 3)])
@pytest.mark.parametrize("optimizer", ["gd", "nag", "heavy_ball"])
def test_iterates_match_reference_loop(hidden, optimizer):
    rng = np.random.RandomState(0)
    X, Y = rng.standard_normal((40, 5)), rng.standard_normal((40, 2))
    sizes = [5, *hidden, 2]
    layers = [
        0.5 * rng.standard_normal((sizes[i + 1], sizes[i]))
        for i in range(len(sizes) - 1)
    ]
    eta, beta = 0.05, 0.7
    model = LinearNetRegressor(
        hidden,
        optimizer=optimizer,
        init=list(layers),
        learning_rate=eta,
        momentum=beta,
        max_iter=12,
        tol=0,
        fit_intercept=False,
    ).fit(X, Y)
    current, previous = [W.copy() for W in layers], [W.copy() for W in layers]
    for _ in range(12):
        if optimizer == "gd":
            g = _grads(X, Y, current)
            new = [W - eta * gW for W, gW in zip(current, g)]
        elif optimizer == "nag":
            look = [W + beta * (W - P) for W, P in zip(current, previous)]
            new = [V - eta * gW for V, gW in zip(look, _grads(X, Y, look))]
        else:
            g = _grads(X, Y, current)
            new = [
                W - eta * gW + beta * (W - P) for W, gW, P in zip(current, g, previous)
            ]
        previous, current = current, new
    for got, expected in zip(model.coefs_, current):
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


# --------------------------------------------------------------------------
# Optima in closed form
# --------------------------------------------------------------------------
@pytest.mark.parametrize("n_targets", [1, 3])
def test_full_width_reaches_the_least_squares_loss(n_targets):
    X, y = make_regression(200, 8, n_targets=n_targets, noise=5.0, random_state=0)
    ols = LinearRegression().fit(X, y)
    Y = y.reshape(len(X), -1)
    best = _loss(X, Y, np.atleast_2d(ols.coef_), ols.intercept_)
    net = LinearNetRegressor((8,), tol=1e-13, max_iter=20000, random_state=0).fit(X, y)
    got = _loss(X, Y, np.atleast_2d(net.coef_), net.intercept_)
    assert got == pytest.approx(best, rel=1e-8)
    assert net.predict(X).shape == y.shape
    assert net.coef_.shape == ols.coef_.shape


def test_narrow_width_reaches_the_reduced_rank_optimum():
    X, Y = make_regression(
        300, 10, n_targets=6, effective_rank=6, noise=1.0, random_state=1
    )
    Xc, Yc = X - X.mean(0), Y - Y.mean(0)
    B = np.linalg.lstsq(Xc, Yc, rcond=None)[0]  # p × q
    _, _, Vt = np.linalg.svd(Xc @ B, full_matrices=False)
    k = 2
    B_k = B @ Vt[:k].T @ Vt[:k]  # projection on the top-k fitted directions
    best = np.sum((Xc @ B_k - Yc) ** 2) / (2 * len(X))
    net = LinearNetRegressor((k,), tol=1e-13, max_iter=50000, random_state=0)
    net.fit(X, Y)
    got = _loss(X, Y, net.coef_, net.intercept_)
    assert got == pytest.approx(best, rel=1e-6)
    assert np.linalg.matrix_rank(net.coef_, tol=1e-8 * np.abs(net.coef_).max()) == k


def test_nag_needs_fewer_iterations_than_gd():
    rng = np.random.RandomState(2)
    X = rng.standard_normal((300, 6)) * np.array([1, 1, 1, 0.3, 0.1, 0.05])
    Y = X @ rng.standard_normal((6, 2))
    iters = {}
    for name in ("gd", "nag"):
        model = LinearNetRegressor(
            (6,), optimizer=name, tol=1e-8, max_iter=100_000, random_state=0
        ).fit(X, Y)
        assert model.converged_
        iters[name] = model.n_iter_
    assert iters["nag"] < iters["gd"] / 3


@pytest.mark.parametrize("loader", [load_diabetes, load_linnerud])
def test_real_data_r2_matches_linear_regression(loader):
    X, y = loader(return_X_y=True)
    ols = LinearRegression().fit(X, y)
    width = max(X.shape[1], 1)
    net = LinearNetRegressor((width,), tol=1e-13, max_iter=50000, random_state=0).fit(
        X, y
    )
    assert net.score(X, y) == pytest.approx(ols.score(X, y), abs=1e-6)


def test_transform_is_the_first_hidden_layer():
    X, y = make_regression(50, 5, random_state=3)
    net = LinearNetRegressor((3,), random_state=0).fit(X, y)
    np.testing.assert_allclose(net.transform(X), X @ net.coefs_[0].T)
    assert net.transform(X).shape == (50, 3)


@pytest.mark.parametrize("sizes", [(0,), (3, 0), (2.5,), ("4",), (), (True,)])
def test_bad_hidden_layer_sizes(sizes):
    X, y = make_regression(30, 4, random_state=0)
    with pytest.raises(ValueError, match="hidden_layer_sizes"):
        LinearNetRegressor(sizes).fit(X, y)


def test_preconditioned_optimizers_need_one_hidden_layer():
    X, y = make_regression(30, 4, random_state=0)
    LinearNetRegressor((3,), optimizer="precgd", random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="exactly one hidden layer"):
        LinearNetRegressor((3, 3), optimizer="precgd").fit(X, y)


@pytest.mark.parametrize("hidden", [(3,), (3, 4)])
def test_data_path_runs_the_same_iterates_as_statistics(hidden):
    """Many features: products with X per iteration instead of S = XᵀX/n."""
    rng = np.random.RandomState(4)
    X, Y = rng.standard_normal((80, 6)) + 1.0, rng.standard_normal((80, 2)) + 2.0
    sizes = [6, *hidden, 2]
    layers = [
        0.3 * rng.standard_normal((sizes[i + 1], sizes[i]))
        for i in range(len(sizes) - 1)
    ]
    kw = dict(
        optimizer="nag", init=list(layers), learning_rate=0.05, max_iter=30, tol=0
    )
    stats = LinearNetRegressor(hidden, **kw).fit(X, Y)
    data = LinearNetRegressor(hidden, **kw)
    data._max_statistics_features = 0
    data.fit(X, Y)
    np.testing.assert_allclose(data.coef_, stats.coef_, rtol=1e-9)
    np.testing.assert_allclose(data.intercept_, stats.intercept_, rtol=1e-9)
    np.testing.assert_allclose(data.loss_curve_, stats.loss_curve_, rtol=1e-8)


def test_sparse_float32_and_warm_start():
    import scipy.sparse as sp

    X, y = make_regression(120, 8, noise=1.0, random_state=5)
    X[np.abs(X) < 0.8] = 0
    dense = LinearNetRegressor((8,), tol=0, max_iter=200, random_state=0).fit(X, y)
    sparse = LinearNetRegressor((8,), tol=0, max_iter=200, random_state=0).fit(
        sp.csr_matrix(X), y
    )
    np.testing.assert_allclose(sparse.coef_, dense.coef_, rtol=1e-7)
    X32 = X.astype(np.float32)
    m32 = LinearNetRegressor((8,), random_state=0).fit(X32, y.astype(np.float32))
    assert m32.predict(X32).dtype == np.float32
    assert all(W.dtype == np.float32 for W in m32.coefs_)
    full = LinearNetRegressor(
        (8,), optimizer="gd", learning_rate=1e-3, tol=0, max_iter=40, random_state=0
    ).fit(X, y)
    warm = LinearNetRegressor(
        (8,),
        optimizer="gd",
        learning_rate=1e-3,
        tol=0,
        max_iter=20,
        warm_start=True,
        random_state=0,
    )
    warm.fit(X, y).fit(X, y)
    np.testing.assert_allclose(warm.coef_, full.coef_, rtol=1e-10)


def test_altgd_updates_layers_from_the_output_down():
    """AltGD updates blocks in storage order [W_N, …, W₂, W₁ᵀ]: output first."""
    rng = np.random.RandomState(6)
    X, Y = rng.standard_normal((40, 5)), rng.standard_normal((40, 2))
    layers = [0.5 * rng.standard_normal(s) for s in ((4, 5), (3, 4), (2, 3))]
    eta = 0.05
    model = LinearNetRegressor(
        (4, 3),
        optimizer="altgd",
        init=list(layers),
        learning_rate=eta,
        max_iter=10,
        tol=0,
        fit_intercept=False,
    ).fit(X, Y)
    current = [W.copy() for W in layers]
    for _ in range(10):
        for k in reversed(range(3)):
            current[k] = current[k] - eta * _grads(X, Y, current)[k]
    for got, expected in zip(model.coefs_, current):
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)
