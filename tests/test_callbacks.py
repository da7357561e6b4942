"""scikit-learn's callbacks in every estimator (sklearn.callback), and
skfactor.callbacks (Recorder, EarlyStopping)."""

import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning

callback = pytest.importorskip("sklearn.callback")
from sklearn.callback import ProgressBar, ScoringMonitor  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402

from skfactor import (  # noqa: E402
    FactorizationNAG,
    LinearNetRegressor,
    LowRankImputer,
    MatrixSensingPrecGD,
)
from skfactor._optimizers import make_optimizer  # noqa: E402
from skfactor._solver import _Reports, minimize  # noqa: E402
from skfactor.callbacks import EarlyStopping, Recorder  # noqa: E402
from skfactor.datasets import (  # noqa: E402
    make_low_rank_matrix,
    make_matrix_completion,
    make_matrix_sensing,
)
from skfactor.exceptions import DivergenceError  # noqa: E402


class Log:
    """Every hook call: (hook, task_name, task_id), and the fitted
    estimators the iteration tasks end with."""

    def __init__(self, stop_at=None):
        self.calls, self.fitted, self.stop_at = [], {}, stop_at

    def setup(self, estimator, context):
        self.calls.append(("setup", context.task_name, context.task_id))

    def teardown(self, estimator, context):
        self.calls.append(("teardown", context.task_name, context.task_id))

    def on_fit_task_begin(self, estimator, context):
        self.calls.append(("begin", context.task_name, context.task_id))

    def on_fit_task_end(self, estimator, context, *, fitted_estimator=None):
        self.calls.append(("end", context.task_name, context.task_id))
        if context.task_name == "iteration":
            k = context.task_id + 1
            self.fitted[k] = fitted_estimator
            return k == self.stop_at
        return False

    def iterations(self, hook):
        return [i for h, name, i in self.calls if h == hook and name == "iteration"]


def _data(name):
    rng = np.random.RandomState(0)
    if name == "factorization":
        A, *_ = make_low_rank_matrix(40, 30, 3, 10, random_state=0)
        return (A + 0.01 * rng.standard_normal(A.shape),), {}
    if name == "sensing":
        X, y, _ = make_matrix_sensing(6, 5, 2, 120, random_state=0)
        return (X, y), {"shape": (6, 5)}
    if name == "linear_net":
        X = rng.standard_normal((120, 8))
        y = X @ rng.standard_normal((8, 3)) + 0.1 * rng.standard_normal((120, 3))
        return (X, y), {}
    A, *_ = make_low_rank_matrix(40, 30, 3, 10, random_state=0)
    A[rng.rand(*A.shape) < 0.2] = np.nan
    return (A,), {}


ESTIMATORS = {
    "factorization": lambda **kw: FactorizationNAG(3, **kw),
    "sensing": lambda **kw: MatrixSensingPrecGD(2, **kw),
    "linear_net": lambda **kw: LinearNetRegressor((3,), **kw),
    "imputer": lambda **kw: LowRankImputer(3, **kw),
}

#: the attributes that define each model
MODEL = {
    "factorization": ("components_", "embedding_", "reconstruction_err_"),
    "sensing": ("coef_", "intercept_"),
    "linear_net": ("coef_", "intercept_"),
    "imputer": ("statistics_",),
}


def _fit(name, log=None, **params):
    data, extra = _data(name)
    est = ESTIMATORS[name](random_state=0, **extra, **params)
    if log is not None:
        est.set_callbacks(log)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(*data)


@pytest.mark.parametrize("name", ESTIMATORS)
def test_every_estimator_reports_one_task_per_iteration(name):
    log = Log()
    est = _fit(name, log, max_iter=30, tol=0)
    n = est.n_iter_
    assert n == 30
    assert log.calls[0] == ("setup", "fit", 0)
    assert log.calls[1] == ("begin", "fit", 0)
    assert log.calls[-2] == ("end", "fit", 0)
    assert log.calls[-1] == ("teardown", "fit", 0)
    assert log.iterations("begin") == log.iterations("end") == list(range(n))
    assert len(log.calls) == 4 + 2 * n


@pytest.mark.parametrize("name", ESTIMATORS)
def test_a_converged_fit_reports_its_iterations(name):
    log = Log()
    est = _fit(name, log, max_iter=2000)
    assert est.stop_reason_ != "max_iter"
    assert log.iterations("end") == list(range(est.n_iter_))
    # the last iterate is the fitted model
    last = log.fitted[est.n_iter_]
    for attr in MODEL[name]:
        np.testing.assert_allclose(getattr(last, attr), getattr(est, attr))


@pytest.mark.parametrize("name", ESTIMATORS)
@pytest.mark.parametrize("optimizer", ["nag", "gd", "precgd"])
def test_iterate_k_is_the_fit_with_max_iter_k(name, optimizer):
    if optimizer == "precgd" and name == "linear_net":
        pytest.skip("PrecGD needs two factors of a matrix model")
    log = Log()
    _fit(name, log, optimizer=optimizer, max_iter=12, tol=0)
    for k in (1, 4, 12):
        ref = _fit(name, optimizer=optimizer, max_iter=k, tol=0)
        got = log.fitted[k]
        assert got.n_iter_ == ref.n_iter_ == k
        np.testing.assert_allclose(got.loss_curve_, ref.loss_curve_, rtol=1e-12)
        assert got.learning_rate_ == pytest.approx(ref.learning_rate_, rel=1e-12)
        for attr in MODEL[name]:
            np.testing.assert_allclose(
                getattr(got, attr), getattr(ref, attr), rtol=1e-9, atol=1e-12
            )
        # the reconstruction is a fitted estimator: it predicts / transforms
        data, _ = _data(name)
        method = "predict" if hasattr(ref, "predict") else "transform"
        np.testing.assert_allclose(
            getattr(got, method)(data[0]),
            getattr(ref, method)(data[0]),
            rtol=1e-9,
            atol=1e-12,
        )


@pytest.mark.parametrize("name", ESTIMATORS)
def test_a_callback_stops_the_fit_at_its_iteration(name):
    log = Log(stop_at=5)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # no warning
        data, extra = _data(name)
        est = ESTIMATORS[name](random_state=0, max_iter=200, tol=1e-12, **extra)
        est.set_callbacks(log).fit(*data)
    assert est.n_iter_ == 5 and len(est.loss_curve_) == 5
    assert est.stop_reason_ == "callback" and not est.converged_
    assert log.iterations("end") == list(range(5))
    ref = _fit(name, max_iter=5, tol=0)
    for attr in MODEL[name]:
        np.testing.assert_allclose(getattr(est, attr), getattr(ref, attr), rtol=1e-9)


def test_backtracked_iterations_are_never_reported():
    """PrecGD on completion above the true rank backtracks (slowly unstable):
    the reported iterations are exactly those of the final curve."""
    X, y, _ = make_matrix_completion(
        60, 50, 2, condition_number=5, fraction=0.3, random_state=0
    )
    log = Log()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = MatrixSensingPrecGD(5, shape=(60, 50), max_iter=1400, random_state=0)
        est.set_callbacks(log).fit(X, y)
    first = MatrixSensingPrecGD(5, shape=(60, 50), max_iter=1, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        first.fit(X, y)
    assert est.learning_rate_ < first.learning_rate_  # it backtracked
    assert log.iterations("end") == list(range(est.n_iter_))
    reported = [log.fitted[k].loss_curve_[-1] for k in range(1, est.n_iter_ + 1)]
    np.testing.assert_array_equal(reported, est.loss_curve_)


@pytest.mark.parametrize("pending", [None, 1])
def test_the_solver_reports_what_stood(problem, monkeypatch, pending):
    """NAG at a step of 1 diverges and backtracks: every reported iterate is
    on the final path, in order, even when the waiting ones overflow."""
    if pending is not None:
        monkeypatch.setattr("skfactor._solver.PENDING_MIN", pending)
        monkeypatch.setattr("skfactor._solver.PENDING_MAX", pending)
    objective, F = problem
    seen = []

    def record(it):
        seen.append((it.k, it.loss, [G.copy() for G in it.factors]))

    optimizer = make_optimizer("nag", 1.0)
    result = minimize(
        objective,
        F,
        optimizer,
        max_iter=400,
        tol=0,
        learning_rate_was_auto=True,
        callback=record,
    )
    assert optimizer.learning_rate < 1.0  # it backtracked
    assert [k for k, _, _ in seen] == list(range(1, result.n_iter + 1))
    np.testing.assert_array_equal([f for _, f, _ in seen], result.loss_curve)
    for _, f, factors in seen[:: max(1, len(seen) // 20)]:
        assert objective.value(objective.point(factors)) == pytest.approx(f)


def test_waiting_iterations_overflow_to_the_oldest():
    seen = []
    reports = _Reports(lambda it: seen.append(it.k), _Unit(), "curvature", [])
    reports.limit = 2
    for k in range(1, 5):
        reports.add(k, [], 1.0, 0.0, 0.1, new_best=False)
    assert seen == [1, 2] and reports.last[0] == 2
    reports.add(5, [], 0.5, 0.0, 0.1, new_best=True)
    assert seen == [1, 2, 3, 4, 5]
    reports.add(6, [], 1.0, 0.0, 0.1, new_best=False)
    reports.drop()  # a backtrack
    assert reports.flush() is None and seen == [1, 2, 3, 4, 5]


class _Unit:
    def loss_to_user(self, f):
        return f

    def step_to_user(self, eta, unit):
        return eta

    def factors_to_user(self, factors):
        return factors


def test_a_fit_that_raises_reports_no_end_and_changes_nothing():
    A, *_ = make_low_rank_matrix(40, 30, 3, 10, random_state=0)
    log = Log()
    est = FactorizationNAG(3, learning_rate=50.0, init="gaussian", random_state=0)
    est.set_callbacks(log)
    before = dict(est.__dict__)
    with pytest.raises(DivergenceError):
        est.fit(A)
    assert est.__dict__.keys() == before.keys()
    assert ("end", "fit", 0) not in log.calls
    assert log.calls[0][0] == "setup" and log.calls[-1][0] == "teardown"
    # what was reported stood: consecutive, and each begun task ended
    assert log.iterations("begin") == log.iterations("end")
    assert log.iterations("end") == list(range(len(log.iterations("end"))))


def test_a_hook_that_raises_leaves_the_estimator_as_it_was():
    class Boom(Log):
        def on_fit_task_end(self, estimator, context, *, fitted_estimator=None):
            if context.task_name == "iteration" and context.task_id == 2:
                raise RuntimeError("boom")

    A, *_ = make_low_rank_matrix(40, 30, 3, 10, random_state=0)
    est = FactorizationNAG(3, random_state=0, tol=0, max_iter=10).fit(A)
    before = {k: v for k, v in est.__dict__.items()}
    boom = Boom()
    with pytest.raises(RuntimeError, match="boom"):
        est.set_callbacks(boom).fit(A * 2)
    assert boom.calls[-1][0] == "teardown"
    np.testing.assert_array_equal(est.components_, before["components_"])
    assert set(est.__dict__) == set(before) | {"_skl_callbacks"}


def test_time_in_callbacks_is_not_solver_time():
    import time

    class Slow(Log):
        def on_fit_task_end(self, estimator, context, *, fitted_estimator=None):
            time.sleep(0.02)

    A, *_ = make_low_rank_matrix(40, 30, 3, 10, random_state=0)
    est = FactorizationNAG(3, random_state=0, tol=0, max_iter=10)
    est.set_callbacks(Slow()).fit(A)
    assert est.time_curve_[-1] < 0.1  # not 10 × 20 ms


def test_verbose_reads_the_same_with_callbacks(capsys):
    A, *_ = make_low_rank_matrix(40, 30, 3, 10, random_state=0)

    def lines():
        out = capsys.readouterr().out.splitlines()
        return [line.split("(")[0] for line in out]  # without the times

    FactorizationNAG(3, random_state=0, verbose=1, tol=0, max_iter=20).fit(A)
    plain = lines()
    est = FactorizationNAG(3, random_state=0, verbose=1, tol=0, max_iter=20)
    est.set_callbacks(Log()).fit(A)
    assert lines() == plain and len(plain) > 3


def test_grid_search_over_a_pipeline_shows_and_logs_every_iteration():
    rng = np.random.RandomState(0)
    X = rng.standard_normal((90, 12))
    y = X @ rng.standard_normal((12, 2)) + 0.1 * rng.standard_normal((90, 2))
    pipe = make_pipeline(
        FactorizationNAG(6, random_state=0, max_iter=15),
        LinearNetRegressor((3,), random_state=0, max_iter=15, tol=0),
    )
    # ScoringMonitor (not auto-propagated) goes on the estimators it scores,
    # the ProgressBar on the outermost one; the search's clones share them
    monitor = ScoringMonitor(scoring="r2")
    pipe[0].set_callbacks(monitor)
    pipe[1].set_callbacks(monitor)
    search = GridSearchCV(
        pipe, {"factorizationnag__n_components": [4, 6]}, cv=2, error_score="raise"
    )
    search.set_callbacks(ProgressBar(max_propagation_depth=None))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X, y)
    runs = monitor.get_logs(select="all")
    assert len({log.run_id for log in runs}) == 1  # one run: the search's
    rows = runs[0].data
    fits = {}
    for row in rows:
        if row["task_name"] == "iteration":
            fits.setdefault(row["parent_task_id_path"], []).append(row)
    # 2 candidates × 2 splits + the refit, two skfactor estimators in each
    assert len(fits) == 2 * (2 * 2 + 1)
    for group in fits.values():
        assert [row["task_id"] for row in group] == list(range(len(group)))
        assert group[0]["estimator_name"] in ("FactorizationNAG", "LinearNetRegressor")
    net_rows = [
        g for g in fits.values() if g[0]["estimator_name"] == "LinearNetRegressor"
    ]
    assert all(len(g) == 15 for g in net_rows)
    # supervised iterations are scored on the training data
    assert all("r2" in row for g in net_rows for row in g)


def test_callbacks_survive_clone_and_pickle():
    recorder = Recorder(["loss"])
    est = FactorizationNAG(3).set_callbacks(recorder)
    assert clone(est)._skl_callbacks == [recorder]
    A, *_ = make_low_rank_matrix(40, 30, 3, 10, random_state=0)
    est.fit(A)
    again = pickle.loads(pickle.dumps(est))
    again.fit(A)
    assert len(again._skl_callbacks[0].histories_) == 2


def test_older_scikit_learn_works_without_callbacks():
    code = (
        # scikit-learn < 1.9 has no sklearn.callback.CallbackSupportMixin
        "import sklearn.callback, sklearn.impute, sklearn.pipeline, sklearn.metrics\n"
        "import sklearn.preprocessing, sklearn.decomposition, sklearn.model_selection\n"
        "del sklearn.callback.CallbackSupportMixin\n"
        "import numpy as np\n"
        "from skfactor import FactorizationNAG\n"
        "A = np.random.RandomState(0).standard_normal((20, 10))\n"
        "est = FactorizationNAG(2, random_state=0).fit(A)\n"
        "assert est.n_iter_ >= 1 and not hasattr(est, '_callback_fit_ctx')\n"
        "try:\n"
        "    est.set_callbacks(object())\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert "scikit-learn >= 1.9" in out and "pip install" in out


# --------------------------------------------------------------------------
# Recorder
# --------------------------------------------------------------------------
def test_recorder_records_the_fit():
    A, U, s, V = make_low_rank_matrix(60, 40, 3, 10, random_state=0)
    recorder = Recorder(
        {
            "loss": "loss",
            "time": "time",
            "rel": "relative_error",
            "eta": "learning_rate",
            "distance": "distance",
            "sigma1": lambda est: est.singular_values_[0],
        },
        truth=(U * s, V),
        keep_iterates=[0, 5],
    )
    est = FactorizationNAG(3, optimizer="gd", init="small_random", init_scale=1e-3)
    est.set_params(random_state=0, max_iter=40, tol=0).set_callbacks(recorder).fit(A)
    h = recorder.history_
    np.testing.assert_array_equal(h["iteration"], np.arange(41))
    np.testing.assert_array_equal(h["loss"][1:], est.loss_curve_)
    np.testing.assert_array_equal(h["time"][1:], est.time_curve_)
    assert h["time"][0] == 0.0
    np.testing.assert_allclose(h["rel"], np.sqrt(h["loss"] / est.reference_loss_))
    assert h["eta"][-1] == est.learning_rate_
    assert h["sigma1"][-1] == pytest.approx(est.singular_values_[0])
    # the distance from the factors equals the dense one
    model = est.left_factor_ @ est.right_factor_.T
    M = (U * s) @ V.T
    exact = np.linalg.norm(model - M) / np.linalg.norm(M)
    assert h["distance"][-1] == pytest.approx(exact, rel=1e-8)
    assert h["distance"][0] == pytest.approx(1.0, abs=1e-2)  # a small start
    assert sorted(h["iterates"]) == [0, 5]
    X0, Y0 = h["iterates"][0]
    assert np.abs(X0).max() < 1e-2 and X0.shape == (60, 3) and Y0.shape == (40, 3)
    dense = Recorder(["distance"], truth=M)
    est.set_callbacks(dense).fit(A)
    np.testing.assert_allclose(dense.history_["distance"], h["distance"], rtol=1e-7)


def test_recorder_every_keeps_the_start_and_the_last():
    A, *_ = make_low_rank_matrix(60, 40, 3, 10, random_state=0)
    recorder = Recorder(["loss"], every=7)
    FactorizationNAG(3, random_state=0, max_iter=30, tol=0).set_callbacks(recorder).fit(
        A
    )
    np.testing.assert_array_equal(
        recorder.history_["iteration"], [0, 7, 14, 21, 28, 30]
    )


@pytest.mark.parametrize("name", ["sensing", "linear_net", "imputer"])
def test_recorder_distance_for_every_model(name):
    rng = np.random.RandomState(0)
    if name == "sensing":
        X, y, M = make_matrix_sensing(6, 5, 2, 200, random_state=0)
        est, data, truth = MatrixSensingPrecGD(2, shape=(6, 5)), (X, y), M
    elif name == "linear_net":
        X = rng.standard_normal((200, 8))
        W = rng.standard_normal((3, 8))
        est, data, truth = LinearNetRegressor((3,)), (X, X @ W.T), W
    else:
        A, *_ = make_low_rank_matrix(50, 30, 3, 10, random_state=0)
        X = A.copy()
        X[rng.rand(*A.shape) < 0.2] = np.nan
        est, data, truth = LowRankImputer(3), (X,), A
    recorder = Recorder(["distance"], truth=truth)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.set_params(random_state=0, max_iter=500).set_callbacks(recorder)
        est.fit(*data)
    d = recorder.history_["distance"]
    # the imputer's: its error on the missing entries (noisy, held out)
    assert d[-1] < (0.8 if name == "imputer" else 1e-2) * d[0]


def test_recorder_records_every_fit_of_a_search():
    A, *_ = make_low_rank_matrix(60, 40, 3, 10, random_state=0)
    recorder = Recorder(["loss"])
    est = FactorizationNAG(3, random_state=0).set_callbacks(recorder)
    GridSearchCV(est, {"n_components": [2, 3]}, cv=2).fit(A)
    assert len(recorder.histories_) == 2 * 2 + 1
    assert recorder.history_.estimator_name == "FactorizationNAG"


def _count_reconstructions(monkeypatch):
    """The number of iterates' fitted attributes built so far (``[n]``)."""
    from skfactor._callbacks import FitMonitor

    count, original = [0], FitMonitor._reconstruction

    def counted(self, it):
        count[0] += 1
        return original(self, it)

    monkeypatch.setattr(FitMonitor, "_reconstruction", counted)
    return count


@pytest.mark.parametrize("name", ESTIMATORS)
def test_recorder_of_the_loss_builds_no_fitted_estimator(name, monkeypatch):
    """The loss, time, relative error, step and factors come from the
    iterate: no iterate's estimator is ever reconstructed."""
    built = _count_reconstructions(monkeypatch)
    quantities = ["loss", "time", "relative_error", "learning_rate"]
    recorder = Recorder(quantities, keep_iterates="all")
    sparse = Recorder(["loss"], every=10**6)
    est = _fit(name, recorder, max_iter=25, tol=0)
    assert built[0] == 0
    h = recorder.history_
    np.testing.assert_array_equal(h["iteration"], np.arange(26))
    np.testing.assert_array_equal(h["loss"][1:], est.loss_curve_)
    assert h["loss"][0] == est._start_loss
    np.testing.assert_array_equal(h["time"][1:], est.time_curve_)
    np.testing.assert_allclose(
        h["relative_error"], np.sqrt(h["loss"] / est.reference_loss_), rtol=1e-15
    )
    assert h["learning_rate"][-1] == est.learning_rate_
    for F, G in zip(h["iterates"][25], est._factors, strict=True):
        np.testing.assert_array_equal(F, G)
    # the iterates are copies, taken while the fit's own factors are fresh
    assert all(F is not G for F, G in zip(h["iterates"][25], est._factors))

    class Contexts:
        def __init__(self):
            self.calls = []

        def setup(self, estimator, context):
            pass

        teardown = setup

        def on_fit_task_begin(self, estimator, context):
            self.calls.append(context)

        def on_fit_task_end(self, estimator, context):
            return False

    contexts = Contexts()
    est.set_callbacks(sparse, contexts)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(*_data(name)[0])
    assert built[0] == 0
    np.testing.assert_array_equal(sparse.history_["iteration"], [0, 25])
    np.testing.assert_array_equal(sparse.history_["loss"], h["loss"][[0, 25]])
    # the contexts the fit's task tree keeps hold no iterate after the hooks
    assert len(contexts.calls) == 1 + 25
    assert not any(hasattr(c, "_skfactor_iterate") for c in contexts.calls)


def test_recorder_builds_the_fitted_estimator_a_callable_reads(monkeypatch):
    """A callable quantity sees each recorded iterate's fitted estimator,
    built only at the recorded iterations, the same as a hook's
    ``fitted_estimator`` and as a fit stopped there."""
    built = _count_reconstructions(monkeypatch)
    seen = {}

    def sigma1(fitted):
        seen[fitted.n_iter_] = fitted
        return fitted.singular_values_[0]

    recorder = Recorder({"loss": "loss", "sigma1": sigma1}, every=4)
    est = _fit("factorization", recorder, max_iter=10, tol=0)
    # iterations 0, 4, 8; the last (10) is the fitted estimator itself
    assert built[0] == 3 and sorted(seen) == [0, 4, 8, 10]
    assert seen[10] is est
    np.testing.assert_array_equal(recorder.history_["iteration"], [0, 4, 8, 10])
    log = Log()
    _fit("factorization", log, max_iter=10, tol=0)
    for k in (4, 8):
        ref = _fit("factorization", max_iter=k, tol=0)
        for got in (seen[k], log.fitted[k]):
            assert got is not est and got.n_iter_ == k
            np.testing.assert_array_equal(got.loss_curve_, ref.loss_curve_)
            for attr in MODEL["factorization"]:
                np.testing.assert_allclose(
                    getattr(got, attr), getattr(ref, attr), rtol=1e-9
                )
    assert seen[0].n_iter_ == 0 and seen[0].loss_curve_.size == 0
    np.testing.assert_allclose(
        recorder.history_["sigma1"],
        [seen[k].singular_values_[0] for k in (0, 4, 8, 10)],
    )


def test_recorder_without_the_iterates_records_the_fitted_estimator(monkeypatch):
    """A fit whose iteration tasks carry no iterate: only the end is
    recorded (from the fitted estimator), nothing fails."""
    monkeypatch.setattr("skfactor.callbacks._state", lambda context: None)
    recorder = Recorder(["loss", "distance"], truth=np.zeros((40, 30)) + 1.0)
    est = _fit("factorization", recorder, max_iter=10, tol=0)
    np.testing.assert_array_equal(recorder.history_["iteration"], [10])
    assert recorder.history_["loss"][0] == est.loss_curve_[-1]


def test_recorder_refuses_what_it_cannot_record():
    with pytest.raises(ValueError, match="unknown quantity 'los'"):
        Recorder(["los"])
    with pytest.raises(ValueError, match="needs truth="):
        Recorder(["distance"])
    with pytest.raises(ValueError, match="pair"):
        Recorder(["distance"], truth=(np.eye(2),))
    with pytest.raises(AttributeError, match="no record yet"):
        Recorder().history_  # noqa: B018
    pipe = make_pipeline(FactorizationNAG(2)).set_callbacks(Recorder())
    with pytest.raises(TypeError, match="Set it on the skfactor estimator"):
        pipe.fit(np.random.RandomState(0).standard_normal((20, 10)))
    A, *_ = make_low_rank_matrix(20, 10, 2, 10, random_state=0)
    recorder = Recorder(["distance"], truth=np.eye(3))
    with pytest.raises(ValueError, match="truth has shape"):
        FactorizationNAG(2).set_callbacks(recorder).fit(A)


# --------------------------------------------------------------------------
# EarlyStopping
# --------------------------------------------------------------------------
def test_early_stopping_on_held_out_data_restores_the_best_iterate():
    rng = np.random.RandomState(0)
    X = rng.standard_normal((80, 40))
    y = X[:, :3] @ rng.standard_normal(3) + 2.0 * rng.standard_normal(80)
    stop = EarlyStopping(X[60:], y[60:], patience=5)
    log = Log()
    net = LinearNetRegressor((6,), init="small_random", max_iter=3000, random_state=0)
    net.set_callbacks(stop, log).fit(X[:60], y[:60])
    assert stop.stopped_ and net.stop_reason_ == "callback"
    k = stop.best_iteration_
    assert net.n_iter_ == k and len(stop.scores_) == k + stop.patience
    assert stop.best_score_ == pytest.approx(net.score(X[60:], y[60:]))
    np.testing.assert_allclose(net.coef_, log.fitted[k].coef_)
    last = EarlyStopping(X[60:], y[60:], patience=5, restore_best=False)
    net.set_callbacks(last).fit(X[:60], y[:60])
    assert net.n_iter_ == last.best_iteration_ + 5


@pytest.mark.parametrize("cls", [FactorizationNAG, LowRankImputer])
def test_early_stopping_on_held_out_entries(cls):
    A, *_ = make_low_rank_matrix(80, 60, 3, 10, random_state=0)
    rng = np.random.RandomState(0)
    noisy = A + 0.3 * rng.standard_normal(A.shape)
    rows, cols = rng.randint(0, 80, 400), rng.randint(0, 60, 400)
    train = noisy.copy()
    train[rows, cols] = np.nan
    stop = EarlyStopping(entries=(rows, cols, noisy[rows, cols]), patience=3)
    est = cls(15, optimizer="gd", max_iter=2000, tol=0, random_state=0)
    est.set_callbacks(stop).fit(train)
    assert stop.stopped_ and est.n_iter_ == stop.best_iteration_ < 2000
    rmse = np.sqrt(np.mean((est._entries(rows, cols, train) - noisy[rows, cols]) ** 2))
    assert -stop.best_score_ == pytest.approx(rmse)


def test_early_stopping_refuses_bad_input():
    with pytest.raises(ValueError, match="needs held-out data"):
        EarlyStopping()
    with pytest.raises(ValueError, match="not both"):
        EarlyStopping(np.eye(2), entries=([0], [0], [1.0]))
    with pytest.raises(ValueError, match="same length"):
        EarlyStopping(entries=([0, 1], [0], [1.0]))
    with pytest.raises(ValueError, match="three arrays"):
        EarlyStopping(entries=([0], [0]))
    with pytest.raises(ValueError, match="finite"):
        EarlyStopping(entries=([0], [0], [np.nan]))
    with pytest.raises(ValueError, match="patience"):
        EarlyStopping(np.eye(2), patience=0)
    stop = EarlyStopping(entries=([0], [0], [1.0]))
    X, y, _ = make_matrix_sensing(4, 4, 1, 50, random_state=0)
    with pytest.raises(TypeError, match="does not model"):
        MatrixSensingPrecGD(1).set_callbacks(stop).fit(X, y)
    A, *_ = make_low_rank_matrix(20, 10, 2, 10, random_state=0)
    out = EarlyStopping(entries=([0], [99], [1.0]))
    with pytest.raises(ValueError, match="out of its bounds"):
        FactorizationNAG(2).set_callbacks(out).fit(A)
