"""Property tests: whatever the shape, scale, dtype or sparsity, a fit is finite."""

import warnings

import numpy as np
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.exceptions import ConvergenceWarning

from skfactor import FactorizationNAG
from skfactor._initializers import INITIALIZERS
from skfactor._optimizers import OPTIMIZERS


@st.composite
def matrices(draw):
    m = draw(st.integers(1, 25))
    n = draw(st.integers(1, 25))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.RandomState(seed)
    kind = draw(st.sampled_from(["gaussian", "low_rank", "constant", "sparse_rows"]))
    if kind == "gaussian":
        A = rng.standard_normal((m, n))
    elif kind == "low_rank":
        A = rng.standard_normal((m, 1)) @ rng.standard_normal((1, n))
    elif kind == "constant":
        A = np.full((m, n), draw(st.sampled_from([0.0, -2.5, 1.0, 3.0])))
    else:
        A = rng.standard_normal((m, n)) * (rng.uniform(size=(m, 1)) < 0.5)
    A *= 10.0 ** draw(st.integers(-8, 8))
    dtype = draw(st.sampled_from([np.float64, np.float32]))
    A = A.astype(dtype)
    if draw(st.booleans()):
        A = sp.csr_matrix(A)
    return A


@settings(max_examples=60, deadline=None)
@given(
    A=matrices(),
    d=st.integers(1, 6),
    optimizer=st.sampled_from(sorted(OPTIMIZERS)),
    init=st.sampled_from(sorted(INITIALIZERS)),
)
def test_fit_is_always_finite(A, d, optimizer, init):
    model = FactorizationNAG(
        d, optimizer=optimizer, init=init, max_iter=60, random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        Z = model.fit_transform(A)
    dtype = A.dtype
    assert model.components_.dtype == dtype and Z.dtype == dtype
    assert np.all(np.isfinite(model.components_))
    assert np.all(np.isfinite(Z))
    assert np.isfinite(model.reconstruction_err_)
    assert np.all(np.isfinite(model.loss_curve_))
    assert np.isfinite(model.score(A)) and model.score(A) <= 0
    assert 1 <= model.n_iter_ <= 60


@st.composite
def sensing_data(draw):
    n1 = draw(st.integers(1, 6))
    symmetric = draw(st.booleans())
    n2 = n1 if symmetric else draw(st.integers(1, 6))
    N = draw(st.integers(1, 60))
    rng = np.random.RandomState(draw(st.integers(0, 2**31 - 1)))
    kind = draw(st.sampled_from(["dense", "sparse", "completion"]))
    if kind == "completion":
        X = sp.csr_matrix(
            (np.ones(N), rng.randint(0, n1 * n2, N), np.arange(N + 1)),
            shape=(N, n1 * n2),
        )
    else:
        X = rng.standard_normal((N, n1 * n2))
        if kind == "sparse":
            X = sp.csr_matrix(X * (rng.uniform(size=X.shape) < 0.3))
    y = rng.standard_normal(N) * 10.0 ** draw(st.integers(-6, 6))
    dtype = draw(st.sampled_from([np.float64, np.float32]))
    return X.astype(dtype), y.astype(dtype), (n1, n2), symmetric


@settings(max_examples=40, deadline=None)
@given(
    data=sensing_data(),
    rank=st.integers(1, 4),
    optimizer=st.sampled_from(["precgd", "scaledgd", "apgd", "gd", "nag"]),
    fit_intercept=st.booleans(),
)
def test_sensing_fit_is_always_finite(data, rank, optimizer, fit_intercept):
    from skfactor import MatrixSensingPrecGD

    X, y, shape, symmetric = data
    if symmetric and optimizer == "apgd":
        optimizer = "precgd"
    model = MatrixSensingPrecGD(
        rank,
        shape=shape,
        symmetric=symmetric,
        optimizer=optimizer,
        fit_intercept=fit_intercept,
        max_iter=40,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    pred = model.predict(X)
    assert pred.dtype == X.dtype and np.all(np.isfinite(pred))
    assert np.all(np.isfinite(model.coef_)) and np.isfinite(model.intercept_)
    assert np.all(np.isfinite(model.transform(X)))
