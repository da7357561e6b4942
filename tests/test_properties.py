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
        A = np.full((m, n), draw(st.floats(-3, 3)))
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
