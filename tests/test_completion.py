"""MatrixCompletionRegressor and its objective: ratings in, predictions out."""

import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline

from skfactor import MatrixCompletionRegressor, ratings_from_sparse
from skfactor._objectives import CompletionObjective
from skfactor._optimizers import OPTIMIZERS
from skfactor.datasets import make_matrix_completion, make_ratings


def _rmse(a, b):
    return float(np.sqrt(np.mean((np.asarray(a) - np.asarray(b)) ** 2)))


def _entries(n1, n2):
    return np.column_stack([np.repeat(np.arange(n1), n2), np.tile(np.arange(n2), n1)])


@pytest.fixture(scope="module")
def noiseless():
    """300×200 of rank 5, 30 % observed, as (row, column) ratings."""
    design, y, M = make_matrix_completion(300, 200, 5, fraction=0.3, random_state=0)
    X = np.column_stack(np.divmod(design.indices, 200))
    return X, y, M


@pytest.fixture(scope="module")
def planted_biases():
    """Exactly additive ratings ``μ + b_u + c_i`` on a dense-ish pattern."""
    rng = np.random.RandomState(0)
    users, items = rng.randint(0, 60, 2000), rng.randint(0, 40, 2000)
    b, c = rng.standard_normal(60), rng.standard_normal(40)
    X = np.column_stack([users, items])
    return X, 3.0 + b[users] + c[items], (3.0, b, c)


@pytest.fixture(scope="module")
def ratings():
    """Ratings shaped like MovieLens-100K's, smaller: 300 × 400, 15 000."""
    X, y, truth = make_ratings(300, 400, 15_000, rank=4, signal=0.7, random_state=0)
    rng = np.random.RandomState(1)
    order = rng.permutation(len(y))
    test, train = order[:3000], order[3000:]
    return X[train], y[train], X[test], y[test], truth


# --------------------------------------------------------------------------
# The objective
# --------------------------------------------------------------------------
@pytest.mark.parametrize("biases", [True, False])
@pytest.mark.parametrize("weighted", [False, True])
def test_objective_gradient_and_loss_in_user_coordinates(biases, weighted):
    """The gradient is the loss's (finite differences), and the loss is the
    documented one evaluated in the user's coordinates."""
    rng = np.random.RandomState(0)
    n1, n2, N, d, alpha = 30, 20, 200, 3, 0.3
    rows, cols = rng.randint(0, n1, N), rng.randint(0, n2, N)
    y = 3 + 2 * rng.standard_normal(N)
    v = rng.rand(N) + 0.5 if weighted else None
    objective = CompletionObjective(
        rows, cols, y, (n1, n2), d, biases=biases, alpha=alpha, sample_weight=v
    )
    F = objective.complete_start(
        [0.3 * rng.standard_normal((n1, d)), 0.3 * rng.standard_normal((n2, d))]
    )
    point = objective.point(F)
    grads = objective.grad(point)
    for i in range(2):
        for j in objective.fixed_columns(i):
            assert not grads[i][:, j].any()
        for a in range(5):
            for b in range(F[i].shape[1]):
                if b in objective.fixed_columns(i):
                    continue
                h = 1e-6
                up, down = [F_.copy() for F_ in F], [F_.copy() for F_ in F]
                up[i][a, b] += h
                down[i][a, b] -= h
                fd = (
                    objective.value(objective.point(up))
                    - objective.value(objective.point(down))
                ) / (2 * h)
                assert fd == pytest.approx(grads[i][a, b], abs=1e-8)
    L, R, bu, ci = objective.from_coordinates(F)
    w = np.ones(N) if v is None else v
    V = w.sum()
    pred = objective.intercept() + np.einsum("ij,ij->i", L[rows], R[cols])
    pred += bu[rows] + ci[cols]
    n_u, n_i = np.bincount(rows, w, n1), np.bincount(cols, w, n2)
    sigma = np.sqrt(np.sum(w * (y - np.sum(w * y) / V) ** 2) / V)
    expected = np.sum(w * (pred - y) ** 2) / (2 * V)
    expected += alpha * sigma / (2 * V) * (n_u @ (L**2).sum(1) + n_i @ (R**2).sum(1))
    expected += alpha / (2 * V) * (n_u @ bu**2 + n_i @ ci**2)
    assert objective.value(point) == pytest.approx(expected, rel=1e-12)
    back = objective.to_coordinates(L, R, bu, ci)
    for F_, G_ in zip(F, back):
        np.testing.assert_allclose(F_, G_, rtol=1e-12, atol=1e-14)


def _small_biased_problem():
    """A 20×10 biased problem of rank 2 and a full start for it."""
    rng = np.random.RandomState(0)
    rows, cols = rng.randint(0, 20, 300), rng.randint(0, 10, 300)
    objective = CompletionObjective(rows, cols, rng.standard_normal(300), (20, 10), 2)
    F = objective.complete_start(
        [rng.standard_normal((20, 2)), rng.standard_normal((10, 2))]
    )
    return objective, F


def test_objective_keeps_the_fixed_columns_exact():
    objective, F = _small_biased_problem()
    a, b = objective.point(F), objective.point([G * 1.1 for G in F])
    mixed = objective.combine([(1.7, a), (-0.7, b)])
    for i in range(2):
        (j,) = objective.fixed_columns(i)
        np.testing.assert_array_equal(mixed.factors[i][:, j], F[i][:, j])
    # the caller's arrays are not written into
    G = [F_.copy() for F_ in F]
    G[0][:, 3] = 5.0
    kept = G[0].copy()
    objective.point(G)
    np.testing.assert_array_equal(G[0], kept)


def test_preconditioner_decouples_fixed_columns():
    objective, F = _small_biased_problem()
    point = objective.point(F)
    P = objective.preconditioner(point, 0)
    (j,) = objective.fixed_columns(0)
    assert P[j, j] == 1.0 and not np.delete(P[j], j).any()
    G = point.gram(1)
    free = [k for k in range(4) if k != j]
    np.testing.assert_array_equal(P[np.ix_(free, free)], G[np.ix_(free, free)])


# --------------------------------------------------------------------------
# Recovery
# --------------------------------------------------------------------------
def test_planted_biases_are_recovered(planted_biases):
    X, y, (mu, b, c) = planted_biases
    model = MatrixCompletionRegressor(2, random_state=0).fit(X, y)
    assert _rmse(model.predict(X), y) < 1e-5
    # biases are identified up to one constant moved between b and c
    db, dc = model.row_bias_ - b, model.column_bias_ - c
    assert np.ptp(db) < 1e-4 and np.ptp(dc) < 1e-4
    assert model.global_mean_ + db.mean() + dc.mean() == pytest.approx(mu, abs=1e-4)
    # and the low-rank part stays at (near) zero
    assert np.abs(model.row_factors_ @ model.column_factors_.T).max() < 1e-4


@pytest.mark.parametrize("n_components", [5, 10, 20])
def test_noiseless_recovery_with_the_defaults(noiseless, n_components):
    """Exact and 2–4× over-parameterized search ranks recover the whole
    matrix from 30 % of its entries with the defaults."""
    X, y, M = noiseless
    model = MatrixCompletionRegressor(n_components, random_state=0).fit(X, y)
    P = model.predict(_entries(300, 200)).reshape(300, 200)
    assert np.linalg.norm(P - M) / np.linalg.norm(M) <= 1e-6
    assert model.alpha_ == 0.0


@pytest.mark.parametrize("optimizer", sorted(set(OPTIMIZERS) - {"heavy_ball"}))
def test_noiseless_over_parameterized_recovery_every_optimizer(noiseless, optimizer):
    X, y, M = noiseless
    model = MatrixCompletionRegressor(10, optimizer=optimizer, random_state=0)
    model.fit(X, y)
    P = model.predict(_entries(300, 200)).reshape(300, 200)
    assert np.linalg.norm(P - M) / np.linalg.norm(M) <= 1e-6


def test_noisy_over_parameterized_rmse_close_to_the_true_rank(ratings):
    X, y, X_test, y_test, _ = ratings
    rmse = {}
    for d in (4, 8, 16):
        model = MatrixCompletionRegressor(d, random_state=0).fit(X, y)
        rmse[d] = _rmse(model.predict(X_test), y_test)
    assert rmse[8] <= 1.05 * rmse[4] and rmse[16] <= 1.05 * rmse[4]
    # and better than the bias-only model by a margin
    baseline = MatrixCompletionRegressor(0, random_state=0).fit(X, y)
    assert rmse[4] < 0.97 * _rmse(baseline.predict(X_test), y_test)


# --------------------------------------------------------------------------
# Ids, unknown ids, the sparse entry point
# --------------------------------------------------------------------------
def test_label_ids_give_the_integer_fit(planted_biases):
    X, y, _ = planted_biases
    labels = np.column_stack(
        [
            np.char.add("user", X[:, 0].astype(str)),
            np.char.add("item", X[:, 1].astype(str)),
        ]
    ).astype(object)
    a = MatrixCompletionRegressor(2, random_state=0).fit(X, y)
    b = MatrixCompletionRegressor(2, random_state=0).fit(labels, y)
    # the codes differ (sorted strings), the model at every rating does not
    np.testing.assert_allclose(b.predict(labels), a.predict(X), atol=1e-6)
    assert b.row_ids_.dtype == object and b.row_ids_[0] == "user0"


def test_dataframe_ids_and_feature_names():
    pd = pytest.importorskip("pandas")
    X, y, _ = make_ratings(50, 40, 800, rank=2, random_state=0)
    frame = pd.DataFrame({"user": X[:, 0], "movie": [f"m{i}" for i in X[:, 1]]})
    model = MatrixCompletionRegressor(2, random_state=0).fit(frame, y)
    assert list(model.feature_names_in_) == ["user", "movie"]
    assert model.predict(frame).shape == (800,)


def test_unknown_ids_get_the_bias_only_prediction(planted_biases):
    X, y, _ = planted_biases
    model = MatrixCompletionRegressor(2, random_state=0).fit(X, y)
    mu = model.global_mean_
    out = model.predict([[0, 999], [999, 1], [999, 999], [0, 1]])
    assert out[0] == pytest.approx(mu + model.row_bias_[0])
    assert out[1] == pytest.approx(mu + model.column_bias_[1])
    assert out[2] == pytest.approx(mu)
    known = mu + model.row_bias_[0] + model.column_bias_[1]
    known += model.row_factors_[0] @ model.column_factors_[1]
    assert out[3] == pytest.approx(known)
    # ids of another kind than the fit's are unknown too, not an error
    assert model.predict(np.array([["a", "b"]], dtype=object))[0] == pytest.approx(mu)


def test_ratings_from_sparse_round_trip():
    dense = np.array([[5.0, 0.0, 3.0], [0.0, 4.0, 0.0]])
    matrix = sp.csr_matrix(dense)
    matrix[1, 0] = 0.0  # an explicit zero is an observation
    X, y = ratings_from_sparse(matrix)
    assert X.tolist() == [[0, 0], [0, 2], [1, 0], [1, 1]] and y.tolist() == [5, 3, 0, 4]
    with_nan = np.where(dense == 0, np.nan, dense)
    X2, y2 = ratings_from_sparse(with_nan)
    assert X2.tolist() == [[0, 0], [0, 2], [1, 1]] and y2.tolist() == [5, 3, 4]
    assert (
        ratings_from_sparse(sp.csr_matrix(dense.astype(np.float32)))[1].dtype
        == np.float32
    )
    with pytest.raises(ValueError, match="2-D"):
        ratings_from_sparse(np.ones(3))


def test_sparse_entry_point_fits_the_stored_entries(noiseless):
    X, y, M = noiseless
    matrix = sp.coo_matrix((y, (X[:, 0], X[:, 1])), shape=M.shape).tocsr()
    Xs, ys = ratings_from_sparse(matrix)
    model = MatrixCompletionRegressor(5, random_state=0).fit(Xs, ys)
    P = model.predict(_entries(300, 200)).reshape(300, 200)
    assert np.linalg.norm(P - M) / np.linalg.norm(M) <= 1e-6


# --------------------------------------------------------------------------
# Early stopping and alpha="auto"
# --------------------------------------------------------------------------
def test_early_stopping_restores_the_best_iterate(ratings):
    X, y, *_ = ratings
    model = MatrixCompletionRegressor(
        16, alpha=0.0, early_stopping=True, max_iter=400, random_state=0
    ).fit(X, y)
    curve = model.validation_rmse_
    assert model.stop_reason_ == "early_stopping"
    assert model.best_iteration_ == int(np.argmin(curve)) == model.n_iter_
    assert len(model.loss_curve_) == model.n_iter_
    assert len(curve) > model.n_iter_ + model.n_iter_no_change - 1
    # the published model is that iterate's: refitting with max_iter=k agrees
    again = MatrixCompletionRegressor(
        16,
        alpha=0.0,
        early_stopping=True,
        n_iter_no_change=10**6,
        max_iter=model.n_iter_,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        again.fit(X, y)
    np.testing.assert_allclose(again.predict(X[:50]), model.predict(X[:50]), rtol=1e-10)


def test_alpha_auto_selects_on_held_out_ratings(ratings):
    X, y, *_ = ratings
    model = MatrixCompletionRegressor(8, random_state=0).fit(X, y)
    assert model.alpha_ == model.alphas_[np.argmin(model.alpha_scores_)]
    assert model.alpha_ > 0  # noisy ratings need a ridge
    assert len(model.alphas_) >= 2


def test_alpha_auto_on_few_ratings_is_no_ridge():
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1], [2, 0]])
    y = np.array([1.0, 2.0, 2.0, 3.0, 1.5])
    model = MatrixCompletionRegressor(1, random_state=0).fit(X, y)
    assert model.alpha_ == 0.0 and model.validation_rmse_ is None


def test_early_stopping_needs_ratings_to_hold_out():
    with pytest.raises(ValueError, match="validation_fraction"):
        MatrixCompletionRegressor(1, early_stopping=True).fit(
            [[0, 0], [1, 1]], [1.0, 2.0]
        )


# --------------------------------------------------------------------------
# scikit-learn: pipelines, searches, pickling, and the checks on ratings
# --------------------------------------------------------------------------
def test_cross_validation_and_grid_search(ratings):
    X, y, *_ = ratings
    scores = cross_val_score(
        MatrixCompletionRegressor(4, random_state=0),
        X,
        y,
        cv=3,
        scoring="neg_root_mean_squared_error",
    )
    assert scores.shape == (3,) and np.all(-scores < 1.05)
    search = GridSearchCV(
        MatrixCompletionRegressor(random_state=0, early_stopping=True),
        {"n_components": [2, 4], "alpha": [0.05, 0.2]},
        cv=2,
        scoring="neg_root_mean_squared_error",
    ).fit(X, y)
    assert set(search.best_params_) == {"n_components", "alpha"}


def test_pipeline_and_pickle(planted_biases):
    X, y, _ = planted_biases
    pipe = make_pipeline(MatrixCompletionRegressor(2, random_state=0)).fit(X, y)
    restored = pickle.loads(pickle.dumps(pipe))
    np.testing.assert_array_equal(restored.predict(X), pipe.predict(X))
    assert clone(pipe[-1]).get_params() == pipe[-1].get_params()


def test_sample_weight_equals_repetition():
    X, y, _ = make_ratings(40, 30, 500, rank=2, random_state=0)
    rng = np.random.RandomState(0)
    k = rng.randint(1, 4, len(y))
    est = MatrixCompletionRegressor(2, alpha=0.1, early_stopping=False, random_state=0)
    a = clone(est).fit(X, y, sample_weight=k)
    b = clone(est).fit(np.repeat(X, k, axis=0), np.repeat(y, k))
    np.testing.assert_allclose(a.predict(X), b.predict(X), rtol=1e-6)
    zero = np.ones(len(y))
    zero[:50] = 0
    c = clone(est).fit(X, y, sample_weight=zero)
    d = clone(est).fit(X[50:], y[50:])
    np.testing.assert_allclose(c.predict(X), d.predict(X), rtol=1e-6)
    with pytest.raises(ValueError, match=r"non-zero|sums to zero"):
        clone(est).fit(X, y, sample_weight=np.zeros(len(y)))


def test_predict_is_row_wise(planted_biases):
    """Order and subset invariance, 1-D and bad inputs refused."""
    X, y, _ = planted_biases
    model = MatrixCompletionRegressor(2, random_state=0).fit(X, y)
    full = model.predict(X)
    order = np.random.RandomState(0).permutation(len(X))
    np.testing.assert_array_equal(model.predict(X[order]), full[order])
    np.testing.assert_array_equal(model.predict(X[:7]), full[:7])
    with pytest.raises(ValueError, match=r"1-D array"):
        model.predict(X[0])
    with pytest.raises(ValueError, match=r"2 features|n_ratings, 2"):
        model.predict(np.ones((3, 3)))
    before = dict(model.__dict__)
    model.predict(X)
    assert model.__dict__.keys() == before.keys()


@pytest.mark.parametrize(
    "X, y, match",
    [
        (np.ones((5, 3)), np.ones(5), "n_ratings, 2"),
        (np.array([[0, np.nan], [1, 1]]), np.ones(2), "NaN"),
        (np.array([[0, 1], [1, 1]]), np.array([1.0, np.inf]), "infinity|inf"),
        (np.array([[0, 1], [1, 1]]), np.array([1.0, np.nan]), "NaN"),
    ],
)
def test_bad_input_is_refused_with_a_clear_error(X, y, match):
    model = MatrixCompletionRegressor(1)
    with pytest.raises(ValueError, match=match):
        model.fit(X, y)
    assert not hasattr(model, "row_factors_")


def test_mixed_id_kinds_are_refused():
    X = np.array([[0, "a"], ["b", 1]], dtype=object)
    with pytest.raises(TypeError, match="comparable"):
        MatrixCompletionRegressor(1).fit(X, [1.0, 2.0])


def test_a_failed_fit_leaves_the_estimator_as_it_was(planted_biases):
    X, y, _ = planted_biases
    model = MatrixCompletionRegressor(2, random_state=0).fit(X, y)
    before = {k: v for k, v in model.__dict__.items()}
    with pytest.raises(ValueError):
        model.fit(np.ones((4, 3)), np.ones(4))
    assert model.__dict__.keys() == before.keys()
    np.testing.assert_array_equal(model.row_factors_, before["row_factors_"])


def test_caller_arrays_are_not_modified(planted_biases):
    X, y, _ = planted_biases
    X0, y0 = X.copy(), y.copy()
    w = np.ones(len(y))
    MatrixCompletionRegressor(2, random_state=0).fit(X, y, sample_weight=w)
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(y, y0)
    assert (w == 1).all()


def test_float32_ratings_stay_float32(planted_biases):
    X, y, _ = planted_biases
    model = MatrixCompletionRegressor(2, random_state=0).fit(X, y.astype(np.float32))
    assert model.row_factors_.dtype == np.float32
    assert model.predict(X).dtype == np.float32
    assert _rmse(model.predict(X), y) < 1e-3


def test_warm_start_matches_rows_and_columns_by_id(planted_biases):
    X, y, _ = planted_biases
    model = MatrixCompletionRegressor(
        2, alpha=0.0, early_stopping=False, warm_start=True, random_state=0
    ).fit(X, y)
    first = model.predict(X)
    # new users and items: the known ones continue from the fit, exactly
    extra = np.array([[100, 0], [0, 100]])
    Xn, yn = np.vstack([X, extra]), np.concatenate([y, [3.0, 3.0]])
    model.fit(Xn, yn)
    assert 100 in model.row_ids_ and 100 in model.column_ids_
    assert _rmse(model.predict(X), first) < 1e-3


def test_scale_and_shift_equivariance(ratings):
    X, y, X_test, *_ = ratings
    est = MatrixCompletionRegressor(4, random_state=0)
    base = clone(est).fit(X, y)
    # c > 0: a random start is not symmetric under a sign flip of the data
    for c, t in [(1e-3, 0.0), (1e4, 0.0), (1.0, 100.0), (3.0, -5.0)]:
        other = clone(est).fit(X, c * y + t)
        np.testing.assert_allclose(
            other.predict(X_test),
            c * base.predict(X_test) + t,
            rtol=1e-6,
            atol=1e-6 * abs(c),
        )
        assert other.alpha_ == pytest.approx(base.alpha_, rel=1e-9)
        assert abs(other.n_iter_ - base.n_iter_) <= 1


@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
def test_noisy_over_parameterized_every_optimizer(ratings, optimizer):
    """At 4× the true rank every optimizer's held-out RMSE stays within 5 %
    of its true-rank fit's (the ridge chosen on held-out ratings)."""
    X, y, X_test, y_test, _ = ratings
    rmse = {}
    for d in (4, 16):
        model = MatrixCompletionRegressor(d, optimizer=optimizer, random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X, y)
        rmse[d] = _rmse(model.predict(X_test), y_test)
    assert rmse[16] <= 1.05 * rmse[4]


def test_callbacks_see_the_fit():
    pytest.importorskip("sklearn.callback")
    from skfactor.callbacks import EarlyStopping, Recorder

    X, y, _ = make_ratings(100, 80, 2000, rank=2, random_state=0)
    recorder = Recorder(("loss", "relative_error"))
    model = MatrixCompletionRegressor(
        3, alpha=0.1, early_stopping=False, max_iter=30, random_state=0
    ).set_callbacks(recorder)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    history = recorder.history_
    assert len(history["loss"]) == model.n_iter_ + 1
    np.testing.assert_allclose(history["loss"][1:], model.loss_curve_)
    # scikit-learn's early stopping on held-out ratings, scored by RMSE
    stop = EarlyStopping(
        X[:300], y[:300], patience=5, scoring="neg_root_mean_squared_error"
    )
    model = MatrixCompletionRegressor(
        3, alpha=0.0, early_stopping=False, max_iter=300, random_state=0
    ).set_callbacks(stop)
    model.fit(X[300:], y[300:])
    assert model.stop_reason_ == "callback" and model.n_iter_ == stop.best_iteration_
    # with alpha="auto" the callbacks see the final fit
    recorder = Recorder(("loss",))
    model = MatrixCompletionRegressor(3, random_state=0).set_callbacks(recorder)
    model.fit(X, y)
    assert len(recorder.history_["iteration"]) >= 1


# --------------------------------------------------------------------------
# Found by an adversarial review
# --------------------------------------------------------------------------
def test_all_zero_ratings_fit_the_zero_model(planted_biases):
    X, y, _ = planted_biases
    model = MatrixCompletionRegressor(3, random_state=0).fit(X, np.zeros(len(y)))
    assert not model.predict(X).any()
    warm = MatrixCompletionRegressor(3, random_state=0, warm_start=True).fit(X, y)
    assert not warm.fit(X, np.zeros(len(y))).predict(X[:5]).any()


@pytest.mark.parametrize("c, t", [(2.0, 0.0), (0.5, 0.0), (1.0, 1000.0), (1e5, 0.5)])
def test_alpha_auto_is_scale_and_shift_equivariant(c, t):
    """The path's ridges are exact multiples of α₀ (no rounding decides
    which are tried)."""
    X, y, _ = make_ratings(100, 80, 2000, random_state=0)
    base = MatrixCompletionRegressor(3, random_state=0).fit(X, y)
    other = MatrixCompletionRegressor(3, random_state=0).fit(X, c * y + t)
    assert other.alpha_ == pytest.approx(base.alpha_, rel=1e-12)
    np.testing.assert_allclose(
        other.predict(X), c * base.predict(X) + t, rtol=1e-9, atol=1e-9 * c
    )


def test_ids_of_other_kinds_do_not_change_known_predictions(planted_biases):
    X, y, _ = planted_biases
    model = MatrixCompletionRegressor(2, random_state=0).fit(X, y)
    alone = model.predict(np.array([[5, 10]], dtype=object))[0]
    mixed = model.predict(np.array([[5, 10], ["zz", 10], [None, 3]], dtype=object))
    assert mixed[0] == pytest.approx(alone)
    assert mixed[1] == pytest.approx(model.global_mean_ + model.column_bias_[10])


def test_missing_and_non_numeric_inputs_are_refused(planted_biases):
    X, y, _ = planted_biases
    pd = pytest.importorskip("pandas")
    ids = X[:30].astype(object)
    ids[0, 0] = pd.NA
    with pytest.raises(ValueError, match="missing ids"):
        MatrixCompletionRegressor(2).fit(ids, y[:30])
    with pytest.raises(ValueError, match="finite"):
        MatrixCompletionRegressor(2).fit(
            X[:30], np.array([None] + [1.0] * 29, dtype=object)
        )
    with pytest.raises(ValueError, match="numeric ratings"):
        MatrixCompletionRegressor(2).fit(X[:5], np.array(["a"] * 5))
    with pytest.raises(ValueError, match="NaN ids"):
        MatrixCompletionRegressor(2).fit(np.array([[0.0, np.nan], [1, 1]]), [1.0, 2])
    with pytest.raises(ValueError, match="1-D array"):
        MatrixCompletionRegressor(2).fit(np.arange(10), np.ones(10))
    with pytest.raises(ValueError, match="1/eps"):
        weights = np.r_[1e20, np.ones(len(y) - 1)]
        MatrixCompletionRegressor(2).fit(X, y, sample_weight=weights)
    with pytest.raises(TypeError, match="complex"):
        ratings_from_sparse(sp.csr_matrix(np.array([[1 + 1j, 0], [0, 2]])))


def test_widths_and_degenerate_models(planted_biases):
    X, y, _ = planted_biases
    with pytest.raises(ValueError, match="GiB"):
        MatrixCompletionRegressor(10**9).fit(X, y)
    with pytest.raises(ValueError, match="fit_biases"):
        MatrixCompletionRegressor(0, fit_biases=False).fit(X, y)
    # the bias-only model with a fixed ridge starts at its optimum and stops
    model = MatrixCompletionRegressor(0, alpha=0.2, early_stopping=False).fit(X, y)
    assert model.n_iter_ <= 25 and model.stop_reason_ in ("precision", "plateau")
    assert MatrixCompletionRegressor(2).fit(X, y).predict(np.empty((0, 2))).shape == (
        0,
    )


def test_a_warm_refit_keeps_its_ridge(planted_biases):
    X, y, _ = make_ratings(100, 80, 2000, random_state=0)
    model = MatrixCompletionRegressor(3, random_state=0, warm_start=True).fit(X, y)
    first = model.alpha_
    model.fit(X, y)
    assert model.alpha_ == pytest.approx(first)


def test_predict_warns_when_every_id_is_of_another_kind():
    X, y, _ = make_ratings(100, 80, 2000, rank=2, random_state=0)
    labels = X.astype(str).astype(object)
    model = MatrixCompletionRegressor(2, random_state=0).fit(labels, y)
    with pytest.warns(UserWarning, match="another kind"):
        out = model.predict(X[:5])  # integers against the fitted strings
    assert np.allclose(out, model.global_mean_)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.predict(np.array([["new user", "new item"]], dtype=object))


def test_a_tiny_validation_fraction_warns():
    X, y, _ = make_ratings(100, 80, 2000, rank=2, random_state=0)
    with pytest.warns(UserWarning, match="holds out 1 of 2000"):
        MatrixCompletionRegressor(2, validation_fraction=1e-9, random_state=0).fit(X, y)
