"""Array API inputs (torch, array-api-strict, CuPy) with array_api_dispatch.

The reference is always the numpy fit of the same data: every estimator on
every namespace gives the numpy result to 1e-10 in float64, keeps float32,
and returns arrays of the input's namespace and device. array-api-strict's
second device ("device1") refuses any conversion to numpy and any mixing
with arrays of another device, so a fit there proves that the iterations
never leave the device except through the library's explicit transfers.
"""

import pickle

import numpy as np
import pytest
import sklearn
from sklearn.base import clone

import skfactor
from skfactor._array_api import Space, to_host
from skfactor._objectives._factorization import DeviceFactorizationObjective

xps = pytest.importorskip("array_api_strict")

try:
    import torch
except ImportError:  # the CPU build is in the torch-cpu extra
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="torch is not installed")
needs_cuda = pytest.mark.skipif(
    torch is None or not torch.cuda.is_available(), reason="needs a CUDA device"
)


def _strict(device):
    def convert(a):
        return xps.asarray(a, device=xps.Device(device))

    return convert


def _torch(device):
    def convert(a):
        return torch.asarray(a, device=device)

    return convert


NAMESPACES = [
    pytest.param(_strict("CPU_DEVICE"), id="strict-cpu"),
    pytest.param(_strict("device1"), id="strict-device1"),
    pytest.param(_torch("cpu"), id="torch-cpu", marks=needs_torch),
    pytest.param(_torch("cuda"), id="torch-cuda", marks=[needs_cuda, pytest.mark.cuda]),
]


def _same_space(a, b):
    return Space.of(a) == Space.of(b)


def _dispatch():
    return sklearn.config_context(array_api_dispatch=True)


def _low_rank(m=120, n=80, rank=5, noise=1e-2, seed=0):
    rng = np.random.RandomState(seed)
    A = rng.standard_normal((m, rank)) @ rng.standard_normal((rank, n))
    return A + noise * rng.standard_normal((m, n))


def _model(est):
    """The fitted model ``embedding_ @ components_`` on the host."""
    return to_host(est.embedding_) @ to_host(est.components_)


def _spy(monkeypatch, module, name):
    """Record the objects ``module.name(...)`` builds."""
    built = []
    original = getattr(module, name)

    def spy(*args, **kwargs):
        built.append(original(*args, **kwargs))
        return built[-1]

    monkeypatch.setattr(module, name, spy)
    return built


# -- FactorizationNAG: the iterations on the device ----------------------------
OPTIMIZER_STARTS = [
    ("gd", "unbalanced"),
    ("nag", "unbalanced"),
    ("nag", "spectral"),
    ("altgd", "ward_kolda"),
    ("heavy_ball", "small_random"),
    ("precgd", "small_random"),
    ("scaledgd", "nystrom"),
    ("apgd", "gaussian"),
    ("nag", "orthogonal"),
]


@pytest.mark.parametrize("convert", NAMESPACES)
@pytest.mark.parametrize(("optimizer", "init"), OPTIMIZER_STARTS)
def test_factorization_matches_numpy(convert, optimizer, init):
    A = _low_rank()
    est = skfactor.FactorizationNAG(
        5, optimizer=optimizer, init=init, random_state=0, max_iter=80
    )
    ref = clone(est).fit(A)
    X = convert(A)
    with _dispatch():
        fitted = clone(est).fit(X)
        Z = fitted.transform(X)
        back = fitted.inverse_transform(Z)
    assert fitted.n_iter_ == ref.n_iter_
    assert fitted.stop_reason_ == ref.stop_reason_
    np.testing.assert_allclose(
        to_host(fitted.loss_curve_), ref.loss_curve_, rtol=1e-9, atol=1e-12
    )
    scale = np.abs(A).max()
    np.testing.assert_allclose(_model(fitted), _model(ref), atol=1e-10 * scale)
    np.testing.assert_allclose(to_host(Z), ref.transform(A), atol=1e-10 * scale)
    np.testing.assert_allclose(
        to_host(back), ref.inverse_transform(ref.transform(A)), atol=1e-10 * scale
    )
    for value in (fitted.components_, fitted.singular_values_, Z, back):
        assert _same_space(value, X)
    assert fitted.reconstruction_err_ == pytest.approx(ref.reconstruction_err_, 1e-9)


@pytest.mark.parametrize("convert", NAMESPACES)
def test_factorization_penalized_and_float32(convert):
    A = _low_rank(seed=1).astype(np.float32)
    est = skfactor.FactorizationNAG(6, alpha=0.05, random_state=0, max_iter=60)
    ref = clone(est).fit(A)
    X = convert(A)
    with _dispatch():
        fitted = clone(est).fit(X)
        Z = fitted.transform(X)
    assert to_host(Z).dtype == np.float32
    assert to_host(fitted.components_).dtype == np.float32
    assert fitted.n_iter_ == ref.n_iter_
    np.testing.assert_allclose(to_host(Z), ref.transform(A), atol=1e-4, rtol=1e-3)


@pytest.mark.parametrize("convert", NAMESPACES)
def test_factorization_runs_on_the_device(convert, monkeypatch):
    """The dense fit builds the device objective, and reads the loss with
    one synchronisation per iteration (the solver's ``float``)."""
    import skfactor._factorization as module

    built = _spy(monkeypatch, module, "DeviceFactorizationObjective")
    A = _low_rank()
    X = convert(A)
    with _dispatch():
        est = skfactor.FactorizationNAG(5, optimizer="gd", random_state=0).fit(X)
    assert len(built) == 1 and isinstance(built[0], DeviceFactorizationObjective)
    assert est.n_iter_ > 1


@pytest.mark.parametrize(
    "optimizer", ["gd", "altgd", "precgd", "apgd", "nag", "heavy_ball"]
)
def test_synchronisations_per_iteration(optimizer, monkeypatch):
    """Count the device-to-host transfers of a fit: one per iteration (the
    loss, with the momentum methods' restart test read in the same
    transfer); a hundred more iterations cost a hundred more transfers (the
    setup's norm estimates and the saddle probes come on top, once)."""
    counted = []
    Array = type(xps.asarray([0.0]))
    for name in ("__float__", "__bool__", "__int__", "to_device"):
        original = getattr(Array, name)

        def counting(self, *args, original=original, **kwargs):
            counted.append(1)
            return original(self, *args, **kwargs)

        monkeypatch.setattr(Array, name, counting)
    X = _strict("device1")(_low_rank())
    counts = []
    for max_iter in (60, 160):
        counted.clear()
        with _dispatch():
            est = skfactor.FactorizationNAG(
                5, optimizer=optimizer, init="small_random", random_state=0
            )
            est.set_params(max_iter=max_iter, tol=0.0).fit(X)
        assert est.n_iter_ == max_iter
        counts.append(len(counted))
    assert counts[1] - counts[0] <= 100 + 4, counts


@pytest.mark.parametrize("convert", NAMESPACES)
@pytest.mark.parametrize("optimizer", ["gd", "nag", "precgd", "apgd", "altgd"])
@pytest.mark.parametrize("fraction", [0.02, 0.3], ids=["few-missing", "many-missing"])
@pytest.mark.parametrize("alpha", [0.0, 0.05], ids=["plain", "ridge"])
def test_missing_entries_on_the_device(
    convert, optimizer, fraction, alpha, monkeypatch
):
    import skfactor._array_api
    import skfactor._factorization as module

    # on torch's CPU build too (off by default there: the host is faster)
    monkeypatch.setattr(skfactor._array_api, "DEVICE_PASSES_ON_CPU", True)

    built = _spy(monkeypatch, module, "DeviceMaskedFactorizationObjective")
    rng = np.random.RandomState(3)
    A = _low_rank(80, 50, rank=4)
    A[rng.rand(*A.shape) < fraction] = np.nan
    est = skfactor.FactorizationNAG(
        5, optimizer=optimizer, alpha=alpha, random_state=0, max_iter=60
    )
    ref = clone(est).fit(A)
    with _dispatch():
        fitted = clone(est).fit(convert(A))
        Z = fitted.transform(convert(A))
    assert len(built) == 1
    assert fitted.n_iter_ == ref.n_iter_
    np.testing.assert_allclose(
        to_host(fitted.loss_curve_), ref.loss_curve_, rtol=1e-9, atol=1e-12
    )
    np.testing.assert_allclose(to_host(Z), ref.transform(A), atol=1e-8)
    assert fitted.reconstruction_err_ == pytest.approx(ref.reconstruction_err_, 1e-9)
    assert _same_space(Z, convert(A)) and _same_space(fitted.components_, Z)


@pytest.mark.parametrize("convert", NAMESPACES)
@pytest.mark.parametrize("optimizer", ["nag", "precgd", "apgd"])
@pytest.mark.parametrize("marker", [np.nan, -1.0], ids=["nan", "minus-one"])
def test_imputer_fits_on_the_device(convert, optimizer, marker, monkeypatch):
    import skfactor._array_api
    import skfactor._factorization as module

    # on torch's CPU build too (off by default there: the host is faster)
    monkeypatch.setattr(skfactor._array_api, "DEVICE_PASSES_ON_CPU", True)

    built = _spy(monkeypatch, module, "DeviceMaskedFactorizationObjective")
    rng = np.random.RandomState(4)
    A = _low_rank(80, 40, rank=3) + 5.0
    A[rng.rand(*A.shape) < 0.2] = marker
    A[:, 7] = marker  # an empty feature
    A[3, :] = marker  # an empty sample
    est = skfactor.LowRankImputer(
        n_components=3,
        missing_values=marker,
        optimizer=optimizer,
        add_indicator=True,
        random_state=0,
        max_iter=100,
    )
    ref = clone(est).fit(A)
    with _dispatch():
        fitted = clone(est).fit(convert(A))
        filled = fitted.transform(convert(A))
    assert len(built) == 1
    assert fitted.n_iter_ == ref.n_iter_
    np.testing.assert_allclose(to_host(filled), ref.transform(A), atol=1e-9)
    np.testing.assert_allclose(
        to_host(fitted.statistics_), ref.statistics_, atol=1e-10, equal_nan=True
    )
    assert _same_space(filled, convert(A)) and _same_space(fitted.statistics_, filled)


@pytest.mark.parametrize("convert", NAMESPACES)
@pytest.mark.parametrize("optimizer", ["gd", "nag", "precgd", "scaledgd"])
@pytest.mark.parametrize("indefinite", [False, True], ids=["psd", "indefinite"])
def test_symmetric_model_on_the_device(convert, optimizer, indefinite, monkeypatch):
    import skfactor._factorization as module

    built = _spy(monkeypatch, module, "DeviceFactorizationObjective")
    B = np.random.RandomState(0).standard_normal((60, 6))
    K = B @ B.T + 0.01 * np.eye(60)
    if indefinite:
        K -= 0.3 * np.outer(B[:, 0], B[:, 0])
    K[0, 1] += 1e-13  # asymmetric at rounding: symmetrized as on the host
    est = skfactor.FactorizationNAG(
        4, symmetric=True, optimizer=optimizer, random_state=0, max_iter=60
    )
    ref = clone(est).fit(K)
    with _dispatch():
        fitted = clone(est).fit(convert(K))
        Z = fitted.transform(convert(K))
    assert len(built) == 1
    assert fitted.n_iter_ == ref.n_iter_
    np.testing.assert_allclose(
        to_host(fitted.eigenvalues_), ref.eigenvalues_, atol=1e-10
    )
    np.testing.assert_allclose(to_host(Z), ref.transform(K), atol=1e-10)
    assert _same_space(fitted.components_, convert(K)) and _same_space(Z, convert(K))
    with _dispatch(), pytest.raises(ValueError, match="symmetric"):
        clone(est).fit(convert(_low_rank(60, 60)))


@pytest.mark.parametrize("convert", NAMESPACES)
@pytest.mark.parametrize("indefinite", [False, True], ids=["psd", "shifted"])
def test_eigsh_iterates_on_the_device(convert, indefinite, monkeypatch):
    import skfactor._factorization as module

    built = _spy(monkeypatch, module, "DeviceFactorizationObjective")
    B = np.random.RandomState(1).standard_normal((50, 8))
    K = B @ B.T
    if indefinite:  # a positive part of rank 2 < k: solved with a shift
        K = K[:, :] - 1.2 * (B[:, 2:] @ B[:, 2:].T)
    w, V = skfactor.eigsh(K, 3, random_state=0)
    with _dispatch():
        wx, Vx = skfactor.eigsh(convert(K), 3, random_state=0)
    assert built  # the symmetric fit ran on the device
    assert _same_space(wx, convert(K)) and _same_space(Vx, convert(K))
    np.testing.assert_allclose(to_host(wx), w, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(np.abs(to_host(Vx)), np.abs(V), atol=1e-8)


# -- the other estimators: same results, same namespace -----------------------
def _cases():
    rng = np.random.RandomState(0)
    A = _low_rank(50, 12, rank=3)
    holes = np.where(rng.rand(*A.shape) < 0.1, np.nan, A)
    design = rng.standard_normal((200, 30))
    W = rng.standard_normal((6, 2)) @ rng.standard_normal((2, 5))
    y = design @ W.ravel() + 0.01 * rng.standard_normal(200)
    targets = design[:, :4] @ rng.standard_normal((4, 3))
    from skfactor.datasets import make_ratings

    X_r, y_r = make_ratings(60, 40, 1500, random_state=0)[:2]
    return [
        (
            "imputer",
            skfactor.LowRankImputer(n_components=3, random_state=0),
            holes,
            None,
        ),
        (
            "sensing",
            skfactor.MatrixSensingPrecGD(rank=2, shape=(6, 5), random_state=0),
            design,
            y,
        ),
        ("linear_net", skfactor.LinearNetRegressor(random_state=0), design, targets),
        ("completion", skfactor.MatrixCompletionRegressor(5, random_state=0), X_r, y_r),
    ]


@pytest.mark.parametrize("convert", NAMESPACES)
@pytest.mark.parametrize(
    "case", range(4), ids=["imputer", "sensing", "linear_net", "completion"]
)
def test_estimators_match_numpy(convert, case):
    _, est, X, y = _cases()[case]
    method = "transform" if y is None else "predict"
    ref = clone(est).fit(X, y)
    expected = getattr(ref, method)(X)
    Xd = convert(X)
    yd = None if y is None else convert(y)
    with _dispatch():
        fitted = clone(est).fit(Xd, yd)
        out = getattr(fitted, method)(Xd)
        score = fitted.score(Xd, yd) if y is not None else None
    assert _same_space(out, Xd)
    np.testing.assert_allclose(to_host(out), expected, rtol=1e-10, atol=1e-10)
    if score is not None:
        assert isinstance(score, float)
        assert score == pytest.approx(ref.score(X, y), abs=1e-10)
    for key, value in vars(ref).items():
        if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
            assert _same_space(getattr(fitted, key), Xd), key


@pytest.mark.parametrize("convert", NAMESPACES)
def test_mixed_inputs_follow_X(convert):
    """y of another namespace (numpy here) moves to X's."""
    _, est, X, y = _cases()[2]
    with _dispatch():
        fitted = clone(est).fit(convert(X), y)
        out = fitted.predict(convert(X))
    assert _same_space(out, convert(X))
    np.testing.assert_allclose(
        to_host(out), clone(est).fit(X, y).predict(X), atol=1e-10
    )


# -- conventions -----------------------------------------------------------------
def test_other_namespace_than_fit_is_refused():
    A = _low_rank(40, 20)
    X = _strict("device1")(A)
    with _dispatch():
        est = skfactor.FactorizationNAG(3, random_state=0).fit(X)
        with pytest.raises(
            ValueError, match=r"FactorizationNAG\.transform\(\).*same namespace"
        ):
            est.transform(A)
        with pytest.raises(ValueError, match="same namespace"):
            est.transform(_strict("CPU_DEVICE")(A))
        numpy_fit = skfactor.FactorizationNAG(3, random_state=0).fit(A)
        with pytest.raises(ValueError, match="fitted on numpy arrays"):
            numpy_fit.transform(X)


@needs_torch
def test_dispatch_off_is_numpy():
    """Without dispatch a torch CPU tensor is read as numpy, as before."""
    A = _low_rank(40, 20)
    est = skfactor.FactorizationNAG(3, random_state=0).fit(torch.asarray(A))
    assert isinstance(est.components_, np.ndarray)
    ref = skfactor.FactorizationNAG(3, random_state=0).fit(A)
    np.testing.assert_array_equal(est.components_, ref.components_)


@needs_torch
def test_device_sparse_is_a_clear_error():
    A = torch.asarray(_low_rank(20, 10)).to_sparse_csr()
    for dispatch in (True, False):
        with sklearn.config_context(array_api_dispatch=dispatch):
            with pytest.raises(
                TypeError, match="sparse torch arrays are not supported"
            ):
                skfactor.FactorizationNAG(2).fit(A)


@pytest.mark.parametrize("convert", NAMESPACES)
def test_pickle_clone_and_warm_start_on_a_device(convert):
    A = _low_rank()
    X = convert(A)
    with _dispatch():
        est = skfactor.FactorizationNAG(5, random_state=0, warm_start=True, max_iter=30)
        est.fit(X)
        first = est.n_iter_
        again = pickle.loads(pickle.dumps(est))
        assert _same_space(again.components_, X)
        np.testing.assert_array_equal(
            to_host(again.transform(X)), to_host(est.transform(X))
        )
        est.fit(X)  # continues from the device fit's factors
        assert _same_space(est.components_, X)
        assert est.n_iter_ <= first
    assert isinstance(clone(est).get_params()["n_components"], int)


def test_failed_device_fit_leaves_the_estimator():
    A = _low_rank(40, 20)
    X = _strict("device1")(A)
    with _dispatch():
        est = skfactor.FactorizationNAG(3, random_state=0).fit(X)
        before = to_host(est.components_).copy()
        with pytest.raises(ValueError):
            est.set_params(init=(np.ones((2, 3)), np.ones((2, 3)))).fit(X)
        np.testing.assert_array_equal(to_host(est.components_), before)
        assert _same_space(est.components_, X)


def test_caller_arrays_unchanged():
    A = _low_rank(40, 20)
    X = _strict("device1")(A)
    with _dispatch():
        skfactor.FactorizationNAG(3, random_state=0).fit(X)
    np.testing.assert_array_equal(to_host(X), A)


# -- sensing and linear networks: the data pass on the device ----------------------
def _weights(n, seed=0):
    """Integer weights with zeros (dropped samples) and repeats."""
    return np.random.RandomState(seed).randint(0, 3, n).astype(float)


@pytest.mark.parametrize("convert", NAMESPACES)
@pytest.mark.parametrize(
    ("optimizer", "init"),
    [
        ("precgd", "spectral"),
        ("gd", "small_random"),
        ("nag", "spectral"),
        ("scaledgd", "small_random"),
        ("apgd", "spectral"),
        ("altgd", "spectral"),
    ],
)
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_sensing_matches_numpy(convert, optimizer, init, weighted, monkeypatch):
    import skfactor._sensing as module

    built = _spy(monkeypatch, module, "DeviceSensingObjective")
    rng = np.random.RandomState(0)
    n1, n2, N = 8, 6, 300
    D = rng.standard_normal((N, n1 * n2))
    M = rng.standard_normal((n1, 2)) @ rng.standard_normal((2, n2))
    y = D @ M.ravel() + 0.01 * rng.standard_normal(N) + 3.0
    w = _weights(N) if weighted else None
    est = skfactor.MatrixSensingPrecGD(
        rank=4,
        shape=(n1, n2),
        optimizer=optimizer,
        init=init,
        fit_intercept=True,
        random_state=0,
        max_iter=60,
    )
    ref = clone(est).fit(D, y, sample_weight=w)
    with _dispatch():
        fitted = clone(est).fit(
            convert(D), convert(y), sample_weight=None if w is None else convert(w)
        )
        out = fitted.predict(convert(D))
        contributions = fitted.transform(convert(D))
    assert len(built) == 1
    assert fitted.n_iter_ == ref.n_iter_
    np.testing.assert_allclose(to_host(out), ref.predict(D), atol=1e-10)
    np.testing.assert_allclose(to_host(contributions), ref.transform(D), atol=1e-10)
    assert fitted.intercept_ == pytest.approx(ref.intercept_, abs=1e-10)
    assert _same_space(out, convert(D)) and _same_space(fitted.left_factor_, convert(D))


@pytest.mark.parametrize("convert", NAMESPACES)
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_linear_net_statistics_on_the_device(convert, weighted, monkeypatch):
    import skfactor._linear_net as module

    passes = []
    original = module._wide_moments

    def spy(X, WY, weights):
        if WY is not None:  # the statistics, not the intercept's column sums
            passes.append(type(X).__module__)
        return original(X, WY, weights)

    monkeypatch.setattr(module, "_wide_moments", spy)
    rng = np.random.RandomState(1)
    X = rng.standard_normal((300, 20))
    Y = X[:, :5] @ rng.standard_normal((5, 3)) + 0.01 * rng.standard_normal((300, 3))
    w = _weights(300, seed=2) if weighted else None
    est = skfactor.LinearNetRegressor(hidden_layer_sizes=(4,), random_state=0)
    ref = clone(est).fit(X, Y, sample_weight=w)
    with _dispatch():
        fitted = clone(est).fit(
            convert(X), convert(Y), sample_weight=None if w is None else convert(w)
        )
        out = fitted.predict(convert(X))
        hidden = fitted.transform(convert(X))
    assert len(passes) == 1  # one pass over X, on its device
    np.testing.assert_allclose(to_host(out), ref.predict(X), atol=1e-10)
    np.testing.assert_allclose(to_host(hidden), ref.transform(X), atol=1e-10)
    assert _same_space(out, convert(X)) and _same_space(hidden, convert(X))
    assert _same_space(fitted.coef_, convert(X))


@needs_torch
def test_tensors_that_record_gradients_are_detached():
    A = torch.asarray(_low_rank(40, 20)).requires_grad_(True)
    with _dispatch():
        est = skfactor.FactorizationNAG(3, random_state=0).fit(A)
        Z = est.transform(A)
    assert not Z.requires_grad and not est.components_.requires_grad
    assert A.grad is None


@needs_torch
def test_complex_tensors_are_refused():
    A = torch.asarray(_low_rank(20, 10)).to(torch.complex128)
    with _dispatch(), pytest.raises(ValueError, match="complex data not supported"):
        skfactor.FactorizationNAG(2).fit(A)


# -- regressions of the adversarial review ------------------------------------
@pytest.mark.parametrize("convert", NAMESPACES)
def test_callbacks_see_iterates_in_the_fit_space(convert):
    from skfactor.callbacks import EarlyStopping, Recorder

    A = _low_rank(60, 30)
    seen = []

    def namespace(est):
        seen.append(_same_space(est.components_, convert(A)))
        return float(est.score(convert(A[40:])))

    recorder = Recorder({"loss": "loss", "score": namespace}, keep_iterates="all")
    stop = EarlyStopping(convert(A[40:]), patience=3)
    with _dispatch():
        est = skfactor.FactorizationNAG(3, random_state=0, max_iter=40)
        est.set_callbacks(recorder, stop).fit(convert(A[:40]))
    assert seen and all(seen)
    assert _same_space(est.components_, convert(A))
    iterate = next(iter(recorder.history_["iterates"].values()))
    assert _same_space(iterate[0], convert(A))


@pytest.mark.parametrize("convert", NAMESPACES)
def test_methods_with_dispatch_off_after_a_device_fit(convert):
    A = _low_rank(40, 20)
    with _dispatch():
        est = skfactor.FactorizationNAG(3, random_state=0).fit(convert(A))
        Z = est.transform(convert(A))
    out = est.transform(A)  # dispatch off: numpy in, numpy out
    assert isinstance(out, np.ndarray)
    np.testing.assert_allclose(out, to_host(Z), atol=1e-12)
    assert isinstance(est.inverse_transform(out), np.ndarray)
    rng = np.random.RandomState(0)
    D = rng.standard_normal((100, 12))
    y = D @ rng.standard_normal(12)
    with _dispatch():
        sensing = skfactor.MatrixSensingPrecGD(rank=2, shape=(4, 3), random_state=0)
        sensing.fit(convert(D), convert(y))
        net = skfactor.LinearNetRegressor(random_state=0).fit(convert(D), convert(y))
    for fitted in (sensing, net):
        assert isinstance(fitted.predict(D), np.ndarray)
    assert isinstance(net.transform(D), np.ndarray)


@pytest.mark.parametrize("convert", NAMESPACES)
def test_init_factors_of_the_device(convert):
    A = _low_rank(40, 12)
    rng = np.random.RandomState(5)
    X0, Y0 = rng.standard_normal((40, 3)), rng.standard_normal((12, 3))
    ref = skfactor.FactorizationNAG(3, init=(X0, Y0), max_iter=30).fit(A)
    with _dispatch():
        est = skfactor.FactorizationNAG(3, init=(convert(X0), convert(Y0)), max_iter=30)
        est.fit(convert(A))
    np.testing.assert_allclose(_model(est), _model(ref), atol=1e-10)


@pytest.mark.parametrize("convert", NAMESPACES)
def test_imputer_feature_names_and_nested_factorization(convert):
    A = _low_rank(40, 12, rank=3)
    A[0, 0] = np.nan
    with _dispatch():
        imp = skfactor.LowRankImputer(n_components=3, random_state=0).fit(convert(A))
        names = imp.get_feature_names_out()
        Z = imp.factorization_.transform(convert(np.nan_to_num(A)))
    assert list(names) == [f"x{j}" for j in range(12)]
    assert _same_space(imp.factorization_.components_, convert(A))
    assert _same_space(Z, convert(A))


# -- ratings: the passes over the ratings on devices with a scatter-add ---------
TORCH_NAMESPACES = [p for p in NAMESPACES if "torch" in p.id]


@pytest.mark.parametrize("convert", TORCH_NAMESPACES)
@pytest.mark.parametrize("optimizer", ["heavy_ball", "nag", "precgd", "apgd", "altgd"])
@pytest.mark.parametrize(
    "options",
    [{}, {"alpha": 0.1, "early_stopping": False}, {"fit_biases": False, "alpha": 0.05}],
    ids=["auto", "ridge", "no-biases"],
)
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_completion_passes_on_the_device(
    convert, optimizer, options, weighted, monkeypatch
):
    import skfactor._array_api
    import skfactor._completion as module
    from skfactor.datasets import make_ratings

    # on torch's CPU build too (off by default there: scipy is faster)
    monkeypatch.setattr(skfactor._array_api, "DEVICE_PASSES_ON_CPU", True)
    built = _spy(monkeypatch, module, "DeviceCompletionObjective")
    X, y = make_ratings(80, 60, 2500, random_state=0)[:2]
    w = _weights(len(y), seed=3) if weighted else None
    est = skfactor.MatrixCompletionRegressor(
        5, optimizer=optimizer, random_state=0, max_iter=150, **options
    )
    ref = clone(est).fit(X, y, sample_weight=w)
    with _dispatch():
        fitted = clone(est).fit(
            convert(X), convert(y), sample_weight=None if w is None else convert(w)
        )
        out = fitted.predict(convert(X))
    assert built  # one objective per ridge of the path, all on the device
    assert fitted.n_iter_ == ref.n_iter_
    assert fitted.alpha_ == pytest.approx(ref.alpha_, rel=1e-12)
    np.testing.assert_allclose(to_host(out), ref.predict(X), atol=1e-10)
    assert _same_space(out, convert(y)) and _same_space(fitted.row_factors_, out)


@needs_torch
def test_completion_on_torch_cpu_fits_a_host_copy_by_default(monkeypatch):
    import skfactor._completion as module
    from skfactor.datasets import make_ratings

    built = _spy(monkeypatch, module, "DeviceCompletionObjective")
    X, y = make_ratings(60, 40, 1500, random_state=0)[:2]
    with _dispatch():
        est = skfactor.MatrixCompletionRegressor(4, random_state=0).fit(
            torch.asarray(X), torch.asarray(y)
        )
    assert not built and isinstance(est.row_factors_, torch.Tensor)


def test_completion_without_a_scatter_add_fits_a_host_copy(monkeypatch):
    import skfactor._completion as module
    from skfactor.datasets import make_ratings

    built = _spy(monkeypatch, module, "DeviceCompletionObjective")
    X, y = make_ratings(60, 40, 1500, random_state=0)[:2]
    convert = _strict("device1")
    with _dispatch():
        est = skfactor.MatrixCompletionRegressor(4, random_state=0).fit(
            convert(X), convert(y)
        )
        out = est.predict(convert(X))
    assert not built
    ref = skfactor.MatrixCompletionRegressor(4, random_state=0).fit(X, y)
    np.testing.assert_allclose(to_host(out), ref.predict(X), atol=1e-10)


@pytest.mark.parametrize("convert", NAMESPACES)
@pytest.mark.parametrize("optimizer", ["gd", "nag", "heavy_ball"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_linear_net_data_path_on_the_device(convert, optimizer, weighted, monkeypatch):
    """More features than the statistics path takes: the two passes over X
    of every iteration run on its device."""
    import skfactor._linear_net as module

    built = _spy(monkeypatch, module, "DeviceLinearNetDataObjective")
    monkeypatch.setattr(module.LinearNetRegressor, "_max_statistics_features", 10)
    rng = np.random.RandomState(6)
    X = rng.standard_normal((120, 60))
    Y = X[:, :5] @ rng.standard_normal((5, 4)) + 0.01 * rng.standard_normal((120, 4))
    w = _weights(120, seed=7) if weighted else None
    est = skfactor.LinearNetRegressor(
        hidden_layer_sizes=(4, 3), optimizer=optimizer, random_state=0, max_iter=100
    )
    ref = clone(est).fit(X, Y, sample_weight=w)
    with _dispatch():
        fitted = clone(est).fit(
            convert(X), convert(Y), sample_weight=None if w is None else convert(w)
        )
        out = fitted.predict(convert(X))
    assert len(built) == 1
    assert fitted.n_iter_ == ref.n_iter_
    np.testing.assert_allclose(to_host(out), ref.predict(X), atol=1e-9)
    assert _same_space(out, convert(X)) and _same_space(fitted.coefs_[0], out)


@needs_torch
def test_torch_cpu_takes_the_host_path_where_it_is_faster(monkeypatch):
    """Missing entries and the imputer on a torch CPU tensor: the numpy path
    (the tensor's memory read without a copy), the results torch tensors."""
    import skfactor._factorization as module

    built = _spy(monkeypatch, module, "DeviceMaskedFactorizationObjective")
    A = _low_rank(60, 30)
    A[2, 3] = np.nan
    with _dispatch():
        est = skfactor.FactorizationNAG(3, random_state=0).fit(torch.asarray(A))
        imp = skfactor.LowRankImputer(n_components=3, random_state=0)
        filled = imp.fit_transform(torch.asarray(A))
    assert not built
    assert isinstance(est.components_, torch.Tensor)
    assert isinstance(filled, torch.Tensor)
    ref = skfactor.LowRankImputer(n_components=3, random_state=0).fit_transform(A)
    np.testing.assert_allclose(filled.numpy(), ref, atol=1e-12)


@pytest.mark.parametrize("convert", NAMESPACES)
@pytest.mark.parametrize("scale", [1e-6, 1e6])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_rescaled_data_on_the_device(convert, scale, dtype, monkeypatch):
    """The data unit on a device: data far from 1 (float32 beyond its safe
    range included) fit as their numpy fits do, the model in the data's
    units."""
    import skfactor._array_api

    monkeypatch.setattr(skfactor._array_api, "DEVICE_PASSES_ON_CPU", True)
    A = (_low_rank(60, 40) * scale).astype(dtype)
    holes = A.copy()
    holes[np.random.RandomState(8).rand(*A.shape) < 0.05] = np.nan
    rng = np.random.RandomState(9)
    D = rng.standard_normal((200, 12)).astype(dtype)
    y = ((D @ rng.standard_normal(12)) * scale).astype(dtype)
    cases = [
        (skfactor.FactorizationNAG(4, random_state=0, max_iter=40), A, None),
        (skfactor.FactorizationNAG(4, random_state=0, max_iter=40), holes, None),
        (skfactor.MatrixSensingPrecGD(rank=2, shape=(4, 3), random_state=0), D, y),
        (skfactor.LinearNetRegressor(random_state=0, max_iter=60), D, y),
    ]
    tol = 1e-9 if dtype == np.float64 else 1e-4
    for est, X, target in cases:
        ref = clone(est).fit(X, target)
        method = "transform" if target is None else "predict"
        expected = getattr(ref, method)(X)
        with _dispatch():
            fitted = clone(est).fit(
                convert(X), None if target is None else convert(target)
            )
            out = to_host(getattr(fitted, method)(convert(X)))
        assert out.dtype == dtype
        assert fitted.n_iter_ == ref.n_iter_ or dtype == np.float32
        np.testing.assert_allclose(
            out, expected, rtol=tol, atol=tol * np.abs(expected).max()
        )
