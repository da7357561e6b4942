"""Fits on dask arrays: the numpy path's results, without gathering the data.

Every fit runs on dask's local threads and on a ``distributed`` cluster of
two worker processes (``LocalCluster``); each is compared with the numpy fit
of the same data from the same start: the same iterations, loss curves to
1e-9 (relative), models to 1e-10.
"""

import gc
import logging
import os
import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")
distributed = pytest.importorskip("distributed")

from skfactor import (  # noqa: E402
    FactorizationNAG,
    LinearNetRegressor,
    LowRankImputer,
    MatrixCompletionRegressor,
    MatrixSensingPrecGD,
)
from skfactor._dask import DaskWorkerLost  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


# -- schedulers ---------------------------------------------------------------
@pytest.fixture(scope="module")
def cluster():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cluster = distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )
    yield cluster
    cluster.close()


@pytest.fixture(params=["threads", "distributed"])
def scheduler(request):
    """The active scheduler of a test: dask's threads, or a client of the
    two-process cluster (closed after the test)."""
    if request.param == "threads":
        with dask.config.set(scheduler="threads"):
            yield None
        return
    client = distributed.Client(request.getfixturevalue("cluster"))
    try:
        yield client
    finally:
        client.close()


def _use(request, where):
    """Make ``where`` ("threads" or "distributed", the two-process cluster)
    the active scheduler for the rest of the test."""
    if where == "distributed":
        client = distributed.Client(request.getfixturevalue("cluster"))
        request.addfinalizer(client.close)
    else:
        context = dask.config.set(scheduler="threads")
        context.__enter__()
        request.addfinalizer(lambda: context.__exit__(None, None, None))


@pytest.fixture
def client(cluster):
    client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close()


# -- data ---------------------------------------------------------------------
def _low_rank(m=600, n=80, rank=6, noise=0.05, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    scales = np.logspace(0, -1.5, rank)
    A = (rng.standard_normal((m, rank)) * scales) @ rng.standard_normal((rank, n))
    A += noise * rng.standard_normal((m, n))
    return A.astype(dtype)


def _assert_same_fit(numpy_fit, dask_fit, rtol=1e-9, atol=1e-10):
    assert dask_fit.n_iter_ == numpy_fit.n_iter_
    np.testing.assert_allclose(dask_fit.loss_curve_, numpy_fit.loss_curve_, rtol=rtol)
    np.testing.assert_allclose(
        dask_fit.components_, numpy_fit.components_, rtol=0, atol=atol
    )
    np.testing.assert_allclose(dask_fit.singular_values_, numpy_fit.singular_values_)
    embedding = dask_fit.embedding_
    assert isinstance(embedding, da.Array)
    np.testing.assert_allclose(
        embedding.compute(), numpy_fit.embedding_, rtol=0, atol=atol * 10
    )
    np.testing.assert_allclose(
        dask_fit.reconstruction_err_, numpy_fit.reconstruction_err_, rtol=1e-9
    )
    np.testing.assert_allclose(
        dask_fit.explained_variance_ratio_,
        numpy_fit.explained_variance_ratio_,
        rtol=1e-9,
    )


# -- the same fits as numpy ------------------------------------------------------
OPTIMIZERS = ["nag", "gd", "altgd", "heavy_ball", "precgd", "scaledgd", "apgd"]


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_factorization_matches_numpy_per_optimizer(request, optimizer):
    # every optimizer on threads; three on the cluster (its round trips are
    # slow on CI's two cores)
    on_cluster = optimizer in ("nag", "precgd")
    if on_cluster:
        client = distributed.Client(request.getfixturevalue("cluster"))
        request.addfinalizer(client.close)
    A = _low_rank()
    params = dict(n_components=5, optimizer=optimizer, random_state=0, max_iter=25)
    expected = FactorizationNAG(**params, init="gaussian").fit(A)
    with dask.config.set(scheduler=None if on_cluster else "threads"):
        got = FactorizationNAG(**params, init="gaussian").fit(
            da.from_array(A, chunks=(150, 80))
        )
    _assert_same_fit(expected, got)


@pytest.mark.parametrize(
    "init",
    ["unbalanced", "spectral", "nystrom", "small_random", "orthogonal", "balanced"],
)
def test_factorization_matches_numpy_per_start(init):
    A = _low_rank(m=900, n=70)
    params = dict(n_components=4, optimizer="nag", init=init, random_state=1)
    params["max_iter"] = 40
    expected = FactorizationNAG(**params).fit(A)
    with dask.config.set(scheduler="threads"):
        got = FactorizationNAG(**params).fit(da.from_array(A, chunks=(200, 35)))
    _assert_same_fit(expected, got)


def test_spectral_start_of_a_large_target_is_the_randomized_one():
    # beyond the exact SVD's size, the start's sketch is taken blockwise
    A = _low_rank(m=4000, n=150, rank=8)
    params = dict(n_components=6, init="spectral", random_state=0, max_iter=30)
    expected = FactorizationNAG(**params).fit(A)
    with dask.config.set(scheduler="threads"):
        got = FactorizationNAG(**params).fit(da.from_array(A, chunks=(1000, 150)))
    _assert_same_fit(expected, got)


def test_ward_kolda_and_penalty_and_custom_start():
    A = _low_rank()
    rng = np.random.default_rng(3)
    X0, Y0 = rng.standard_normal((600, 3)), rng.standard_normal((80, 3))
    cases = [
        dict(optimizer="altgd", init="ward_kolda"),
        dict(optimizer="precgd", alpha=0.05),
        dict(optimizer="apgd", alpha=0.01),
        dict(optimizer="nag", init=(X0, Y0)),
    ]
    for case in cases:
        params = dict(n_components=3, random_state=0, max_iter=50, **case)
        expected = FactorizationNAG(**params).fit(A)
        with dask.config.set(scheduler="threads"):
            got = FactorizationNAG(**params).fit(da.from_array(A, chunks=(128, 80)))
        _assert_same_fit(expected, got)


@pytest.mark.parametrize(
    "chunks, where",
    [((150, 80), "distributed"), ((150, 80), "threads"), ((100, 30), "threads")],
)
def test_sparse_chunks_match_the_sparse_fit(request, chunks, where):
    _use(request, where)
    A = sp.random(600, 80, density=0.08, format="csr", random_state=0)
    A = (
        A + sp.csr_matrix(_low_rank(m=600, n=80, noise=0) * (A.toarray() != 0))
    ).tocsr()
    params = dict(n_components=4, optimizer="precgd", random_state=0, max_iter=40)
    expected = FactorizationNAG(**params).fit(A)
    got = FactorizationNAG(**params).fit(da.from_array(A, chunks=chunks, asarray=False))
    _assert_same_fit(expected, got)
    Z = got.transform(da.from_array(A, chunks=chunks, asarray=False))
    np.testing.assert_allclose(Z.compute(), expected.transform(A), atol=1e-10)


@pytest.mark.parametrize(
    "fraction, optimizer, where",
    [
        (0.02, "nag", "threads"),
        (0.02, "precgd", "threads"),
        (0.3, "altgd", "threads"),
        (0.3, "nag", "distributed"),
    ],
)
def test_missing_entries_match_the_masked_fit(request, fraction, optimizer, where):
    # few missing: gathered at coordinates kept on the workers; many: the
    # chunk's mask read again; column chunks: both reductions
    _use(request, where)
    A = _low_rank(m=500, n=60)
    A[np.random.default_rng(5).random(A.shape) < fraction] = np.nan
    params = dict(n_components=4, optimizer=optimizer, init="gaussian", random_state=0)
    params["max_iter"] = 20
    expected = FactorizationNAG(**params).fit(A)
    layouts = ((125, 60),) if where == "distributed" else ((125, 60), (125, 25))
    for chunks in layouts:
        got = FactorizationNAG(**params).fit(da.from_array(A, chunks=chunks))
        _assert_same_fit(expected, got)
    Z = got.transform(da.from_array(A, chunks=(125, 60)))  # rows with NaN
    np.testing.assert_allclose(Z.compute(), expected.transform(A), atol=1e-9)


def test_missing_entries_in_sparse_chunks_and_the_checks():
    S = sp.random(400, 50, density=0.15, format="csr", random_state=0)
    S.data[::13] = np.nan
    params = dict(n_components=3, optimizer="precgd", random_state=0, max_iter=30)
    expected = FactorizationNAG(**params).fit(S)
    with dask.config.set(scheduler="threads"):
        got = FactorizationNAG(**params).fit(
            da.from_array(S, chunks=(100, 50), asarray=False)
        )
        _assert_same_fit(expected, got)
        A = _low_rank(m=200, n=20)
        A[7] = np.nan
        A[150:152] = np.nan
        with pytest.raises(
            ValueError,
            match=r"3 row\(s\) of X have no observed entry \(index 7, 150, 151\)",
        ):
            FactorizationNAG(n_components=2).fit(da.from_array(A, chunks=50))
        B = _low_rank(m=200, n=20)
        B[np.random.default_rng(0).random(B.shape) < 0.6] = np.nan
        with pytest.raises(ValueError, match="degrees of freedom"):
            FactorizationNAG(n_components=8).fit(da.from_array(B, chunks=50))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("scale", [1e-6, 1.0, 1e6])
def test_dtype_and_scale_are_kept(dtype, scale):
    A = (_low_rank(m=400, n=60) * scale).astype(dtype)
    params = dict(n_components=4, optimizer="precgd", random_state=0, max_iter=30)
    expected = FactorizationNAG(**params).fit(A)
    with dask.config.set(scheduler="threads"):
        got = FactorizationNAG(**params).fit(da.from_array(A, chunks=(100, 60)))
    assert got.components_.dtype == dtype
    assert got.embedding_.dtype == dtype
    assert got.n_iter_ == expected.n_iter_
    tol = 1e-4 if dtype == np.float32 else 1e-9
    # float32 losses are expanded: their rounding is eps·(first loss)
    np.testing.assert_allclose(
        got.loss_curve_, expected.loss_curve_, rtol=tol, atol=tol * got.loss_curve_[0]
    )
    np.testing.assert_allclose(
        got.embedding_.compute(), expected.embedding_, rtol=0, atol=tol * scale * 10
    )


def test_integer_data_and_dask_dataframe_with_feature_names(scheduler):
    pd = pytest.importorskip("pandas")
    dd = pytest.importorskip("dask.dataframe")
    A = np.round(_low_rank(m=300, n=12) * 10)
    frame = pd.DataFrame(A, columns=[f"f{j}" for j in range(12)])
    params = dict(n_components=3, random_state=0, max_iter=40)
    expected = FactorizationNAG(**params).fit(frame)
    got = FactorizationNAG(**params).fit(dd.from_pandas(frame, npartitions=3))
    np.testing.assert_array_equal(got.feature_names_in_, expected.feature_names_in_)
    _assert_same_fit(expected, got)
    ints = FactorizationNAG(**params).fit(da.from_array(A.astype(int), chunks=100))
    _assert_same_fit(expected, ints)
    Z = got.transform(dd.from_pandas(frame, npartitions=3))
    np.testing.assert_allclose(Z.compute(), expected.transform(frame), atol=1e-10)
    with pytest.raises(ValueError, match="feature names"):
        got.transform(dd.from_pandas(frame[frame.columns[::-1]], npartitions=2))


def test_warm_start_continues_from_the_dask_fit():
    A = _low_rank()
    params = dict(n_components=4, optimizer="nag", random_state=0, max_iter=15)
    expected = FactorizationNAG(**params, warm_start=True).fit(A).fit(A)
    with dask.config.set(scheduler="threads"):
        got = FactorizationNAG(**params, warm_start=True)
        got.fit(da.from_array(A, chunks=(150, 80))).fit(da.from_array(A, chunks=150))
    _assert_same_fit(expected, got)


# -- lazy methods -----------------------------------------------------------------
def test_transform_and_predict_are_lazy_and_chunked_like_the_input():
    A = _low_rank()
    reads = []

    def chunk(block_info=None):
        reads.append(block_info[None]["chunk-location"])
        (start, stop), _ = block_info[None]["array-location"]
        return A[start:stop]

    lazy = da.map_blocks(
        chunk, chunks=((200, 200, 200), (80,)), dtype=np.float64, meta=np.empty((0, 0))
    )
    with dask.config.set(scheduler="threads"):
        fitted = FactorizationNAG(n_components=4, random_state=0, max_iter=20).fit(A)
        reads.clear()
        Z = fitted.transform(lazy)
        B = fitted.inverse_transform(Z)
        assert not reads  # nothing read yet
        assert isinstance(Z, da.Array) and Z.chunks == ((200, 200, 200), (4,))
        assert B.chunks == ((200, 200, 200), (80,))
        np.testing.assert_allclose(Z.compute(), fitted.transform(A), atol=1e-12)
        np.testing.assert_allclose(
            B.compute(), fitted.inverse_transform(fitted.transform(A)), atol=1e-12
        )
        Z2 = FactorizationNAG(
            n_components=4, random_state=0, max_iter=20
        ).fit_transform(da.from_array(A, chunks=200))
        assert isinstance(Z2, da.Array)
        np.testing.assert_allclose(Z2.compute(), fitted.transform(A), atol=1e-10)
        with pytest.raises(ValueError, match="features"):
            fitted.transform(da.from_array(A[:, :5], chunks=100))


def test_linear_net_matches_numpy(scheduler):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((1500, 12)) + 2.0
    y = X @ rng.standard_normal((12, 3)) + 0.1 * rng.standard_normal((1500, 3)) + 4.0
    weights = rng.random(1500)
    weights[:20] = 0.0
    cases = [
        (y, None, True),
        (y[:, 0], None, True),
        (y, weights, True),
        (y[:, 1], weights, False),
    ]
    Xd = da.from_array(X, chunks=(400, 12))
    if scheduler is not None:  # the cluster: one case (its round trips are slow)
        cases = cases[2:3]
    for target, sample_weight, intercept in cases:
        params = dict(hidden_layer_sizes=(4,), random_state=0, fit_intercept=intercept)
        expected = LinearNetRegressor(**params).fit(
            X, target, sample_weight=sample_weight
        )
        for y_in in (target, da.from_array(target, chunks=500)):
            got = LinearNetRegressor(**params).fit(
                Xd, y_in, sample_weight=sample_weight
            )
            assert got.n_iter_ == expected.n_iter_
            np.testing.assert_allclose(got.coef_, expected.coef_, rtol=1e-8, atol=1e-10)
            np.testing.assert_allclose(
                got.intercept_, expected.intercept_, rtol=1e-8, atol=1e-9
            )
            np.testing.assert_allclose(got.loss_curve_, expected.loss_curve_, rtol=1e-8)
        prediction = got.predict(Xd)
        assert isinstance(prediction, da.Array)
        assert prediction.chunks[0] == Xd.chunks[0]
        assert prediction.ndim == target.ndim
        np.testing.assert_allclose(prediction.compute(), expected.predict(X), atol=1e-9)
        H = got.transform(Xd)
        assert H.chunks == (Xd.chunks[0], (4,))


def test_linear_net_sparse_chunks_match_numpy():
    rng = np.random.default_rng(1)
    X = sp.random(800, 30, density=0.2, format="csr", random_state=1)
    y = np.asarray(X @ rng.standard_normal(30)).ravel() + 1.0
    params = dict(hidden_layer_sizes=(3,), random_state=0)
    expected = LinearNetRegressor(**params).fit(X, y)
    with dask.config.set(scheduler="threads"):
        got = LinearNetRegressor(**params).fit(
            da.from_array(X, chunks=(200, 30), asarray=False), y
        )
    assert got.n_iter_ == expected.n_iter_
    np.testing.assert_allclose(got.coef_, expected.coef_, rtol=1e-8, atol=1e-10)


# -- the data are never gathered ----------------------------------------------------
@pytest.fixture
def no_gather(monkeypatch):
    """Fail if a dask array is converted to numpy, or if any computed result
    holds more than a quarter of the data's bytes (set ``limit[0]``)."""
    limit = [None]
    original = dask.base.compute

    def checked(*args, **kwargs):
        results = original(*args, **kwargs)
        for leaf in dask.core.flatten(results, container=(tuple, list)):
            size = getattr(leaf, "nbytes", 0)
            if sp.issparse(leaf):
                size = leaf.data.nbytes
            assert size <= limit[0], f"{size} bytes gathered (limit {limit[0]})"
        return results

    def refuse(self, *args, **kwargs):
        raise AssertionError("a dask array was converted to numpy")

    monkeypatch.setattr(dask, "compute", checked)
    monkeypatch.setattr(dask.base, "compute", checked)
    monkeypatch.setattr(da.Array, "__array__", refuse)
    return limit


@pytest.mark.parametrize(
    "init, where",
    [("unbalanced", "distributed"), ("spectral", "threads"), ("gaussian", "threads")],
)
def test_factorization_never_gathers_the_data(request, no_gather, init, where):
    _use(request, where)
    A = _low_rank(m=3000, n=200, rank=5)
    no_gather[0] = A.nbytes // 4
    data = da.from_array(A, chunks=(500, 100))
    params = dict(n_components=5, init=init, random_state=0, max_iter=10)
    fitted = FactorizationNAG(**params, optimizer="nag").fit(data)
    assert fitted.n_iter_ > 0
    Z = fitted.transform(data)
    assert Z.shape == (3000, 5)
    FactorizationNAG(**params, optimizer="precgd").fit(data)


def test_linear_net_never_gathers_the_data(scheduler, no_gather):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((4000, 40))
    no_gather[0] = X.nbytes // 4
    y = da.from_array(X @ rng.standard_normal(40), chunks=1000)
    fitted = LinearNetRegressor(hidden_layer_sizes=(5,), random_state=0).fit(
        da.from_array(X, chunks=(1000, 40)), y
    )
    assert fitted.n_iter_ > 0


def test_the_task_graph_does_not_grow_with_the_iterations(monkeypatch):
    from skfactor._objectives import _dask as objectives

    sizes = []
    original = objectives.DaskFactorizationObjective.materialize

    def recording(self, point):
        original(self, point)
        if not point.cache.get("combined"):  # look-aheads stay lazy
            sizes.append(len(point.factors[0].__dask_graph__()))

    monkeypatch.setattr(objectives.DaskFactorizationObjective, "materialize", recording)
    A = _low_rank()
    with dask.config.set(scheduler="threads"):
        FactorizationNAG(n_components=4, init="gaussian", max_iter=80).fit(
            da.from_array(A, chunks=(150, 80))
        )
    assert len(sizes) > 70
    # the persisted row factor: one task per chunk, whatever the iteration
    assert max(sizes[5:]) == 4


# -- pickles, errors, failures ------------------------------------------------------
def test_pickle_gathers_the_dask_attributes(scheduler):
    A = _low_rank()
    fitted = FactorizationNAG(n_components=4, random_state=0, max_iter=20).fit(
        da.from_array(A, chunks=(150, 80))
    )
    restored = pickle.loads(pickle.dumps(fitted))
    assert isinstance(restored.embedding_, np.ndarray)
    assert isinstance(restored.left_factor_, np.ndarray)
    assert isinstance(fitted.embedding_, da.Array)  # the fitted one unchanged
    np.testing.assert_allclose(restored.embedding_, fitted.embedding_.compute())
    np.testing.assert_allclose(restored.transform(A), fitted.transform(A))


def test_bad_dask_input_gets_clear_errors_and_leaves_the_estimator():
    A = _low_rank(m=200, n=20)
    estimator = FactorizationNAG(n_components=3, random_state=0, max_iter=10).fit(A)
    before = estimator.components_.copy()
    with_inf = A.copy()
    with_inf[5, 3] = np.inf
    unknown = da.from_array(A, chunks=50)
    unknown = unknown[unknown[:, 0] > -np.inf]  # unknown chunk sizes
    cases = [
        (da.from_array(with_inf, chunks=50), ValueError, "infinity"),
        (unknown, ValueError, "compute_chunk_sizes"),
        (da.from_array(A.astype(complex), chunks=50), ValueError, "complex"),
        (da.from_array(A.astype(str), chunks=50), TypeError, "numeric"),
        (da.from_array(A[:, 0], chunks=50), ValueError, "2D"),
    ]
    with dask.config.set(scheduler="threads"):
        for data, error, message in cases:
            with pytest.raises(error, match=message):
                estimator.fit(data)
            np.testing.assert_array_equal(estimator.components_, before)
        with pytest.raises(ValueError, match="symmetric"):
            FactorizationNAG(n_components=2, symmetric=True).fit(
                da.from_array(A[:20], chunks=10)
            )


def test_caller_arrays_are_not_modified():
    A = _low_rank()
    copy = A.copy()
    with dask.config.set(scheduler="threads"):
        FactorizationNAG(n_components=3, init="spectral", max_iter=10).fit(
            da.from_array(A, chunks=(150, 80))
        )
    np.testing.assert_array_equal(A, copy)


def test_worker_lost_mid_fit_recomputes_or_raises_clearly(cluster, monkeypatch):
    """A worker process killed during a fit: dask recomputes what it held
    (the model is the numpy one) or the fit raises ``DaskWorkerLost`` and
    leaves the estimator as it was; never a silently wrong model."""
    from skfactor._objectives import _dask as objectives

    A = _low_rank(m=2000, n=60)
    params = dict(n_components=4, optimizer="nag", init="gaussian", random_state=0)
    params["max_iter"] = 40
    expected = FactorizationNAG(**params).fit(A)
    client = distributed.Client(cluster)
    try:
        calls = [0]
        original = objectives.DaskFactorizationObjective.materialize

        def killing(self, point):
            calls[0] += 1
            if calls[0] == 12:
                victim = sorted(client.scheduler_info()["workers"])[0]
                try:
                    client.run(os._exit, 1, workers=[victim])
                except Exception:  # the connection it killed
                    pass
            return original(self, point)

        monkeypatch.setattr(
            objectives.DaskFactorizationObjective, "materialize", killing
        )
        estimator = FactorizationNAG(**params)
        try:
            estimator.fit(da.from_array(A, chunks=(250, 60)))
        except DaskWorkerLost as error:
            assert "lost" in str(error)
            assert not hasattr(estimator, "components_")
        else:
            assert calls[0] > 12
            _assert_same_fit(expected, estimator)
        client.wait_for_workers(2, timeout=60)
    finally:
        client.close()
        gc.collect()


def test_nothing_imports_dask_for_numpy_input():
    code = (
        "import sys, numpy as np\n"
        "from skfactor import FactorizationNAG, LinearNetRegressor\n"
        "A = np.random.default_rng(0).standard_normal((50, 8))\n"
        "FactorizationNAG(n_components=2, max_iter=5).fit(A).transform(A)\n"
        "LinearNetRegressor(max_iter=5).fit(A, A[:, 0]).predict(A)\n"
        "assert not [m for m in sys.modules if m.split('.')[0] == 'dask'], 'dask'\n"
    )
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    subprocess.run([sys.executable, "-c", code], check=True, env=env)


def test_estimators_without_a_distributed_fit_refuse_dask_input():
    A = da.from_array(_low_rank(m=100, n=10), chunks=50)
    y = da.ones(100, chunks=50)
    for estimator, args in [
        (LowRankImputer(), (A,)),
        (MatrixSensingPrecGD(), (A, y)),
        (MatrixCompletionRegressor(), (A[:, :2], y)),
    ]:
        with pytest.raises(TypeError, match="does not fit dask inputs yet"):
            estimator.fit(*args)
        assert not hasattr(estimator, "n_iter_")


def test_lazy_methods_of_numpy_fits_and_score():
    A = _low_rank(m=300, n=20)
    holes = A.copy()
    holes[::7, 3] = np.nan
    with dask.config.set(scheduler="threads"):
        imputer = LowRankImputer(n_components=3, random_state=0).fit(holes)
        filled = imputer.transform(da.from_array(holes, chunks=(100, 20)))
        assert isinstance(filled, da.Array)
        np.testing.assert_allclose(filled.compute(), imputer.transform(holes))
        fitted = FactorizationNAG(n_components=3, random_state=0).fit(A)
        with pytest.raises(TypeError, match="chunk by chunk"):
            fitted.score(da.from_array(A, chunks=100))
