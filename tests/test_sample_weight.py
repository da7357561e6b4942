"""``sample_weight`` for the regressors: integer weights are repeated samples,
zero weights dropped ones, and the weights travel through Pipeline and
GridSearchCV (with and without metadata routing)."""

import numpy as np
import pytest
import scipy.sparse as sp
import sklearn
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skfactor import LinearNetRegressor, MatrixSensingPrecGD
from skfactor.datasets import make_matrix_completion, make_matrix_sensing


def _sensing(optimizer):
    return MatrixSensingPrecGD(
        2,
        shape=(6, 5),
        optimizer=optimizer,
        fit_intercept=True,
        tol=1e-10,
        max_iter=5000,
        random_state=0,
    )


def _net(data_path=False):
    model = LinearNetRegressor(
        (3,), optimizer="nag", tol=1e-10, max_iter=20000, random_state=0
    )
    if data_path:  # the many-features path: weighted passes over X
        model._max_statistics_features = 0
    return model


@pytest.fixture(scope="module")
def sensing_data():
    X, y, _ = make_matrix_sensing(6, 5, 2, 120, noise=0.1, random_state=0)
    return X, y + 0.5


@pytest.fixture(scope="module")
def regression_data():
    rng = np.random.RandomState(0)
    X = rng.standard_normal((80, 6))
    W = rng.standard_normal((2, 6)) @ np.diag([3, 2, 1, 0.5, 0.2, 0.1])
    Y = X @ W.T + 0.1 * rng.standard_normal((80, 2)) + [1.0, -2.0]
    return X, Y


CASES = [
    ("sensing precgd", lambda: _sensing("precgd"), "sensing"),
    ("sensing scaledgd", lambda: _sensing("scaledgd"), "sensing"),
    ("sensing apgd", lambda: _sensing("apgd"), "sensing"),
    ("net statistics", lambda: _net(), "regression"),
    ("net data path", lambda: _net(data_path=True), "regression"),
]


def _data(kind, request):
    return request.getfixturevalue(f"{kind}_data")


@pytest.mark.parametrize("name, make, kind", CASES, ids=[c[0] for c in CASES])
def test_integer_weights_are_repeated_samples(name, make, kind, request):
    X, y = _data(kind, request)
    w = np.random.RandomState(1).randint(0, 4, size=len(y))
    weighted = make().fit(X, y, sample_weight=w)
    repeated = make().fit(np.repeat(X, w, axis=0), np.repeat(y, w, axis=0))
    scale = np.abs(repeated.coef_).max()
    np.testing.assert_allclose(weighted.coef_, repeated.coef_, atol=1e-6 * scale)
    np.testing.assert_allclose(weighted.intercept_, repeated.intercept_, atol=1e-6)
    np.testing.assert_allclose(weighted.predict(X), repeated.predict(X), atol=1e-5)
    # weights matter, and only their ratios do
    plain = make().fit(X, y)
    assert np.abs(plain.coef_ - weighted.coef_).max() > 1e-3 * scale
    scaled = make().fit(X, y, sample_weight=w * 1e6)
    np.testing.assert_allclose(scaled.coef_, weighted.coef_, atol=1e-6 * scale)


def test_weighted_linear_net_is_weighted_least_squares(regression_data):
    """A network as wide as the data fits the weighted least-squares map."""
    X, Y = regression_data
    w = np.random.RandomState(2).rand(len(Y)) * 3
    model = LinearNetRegressor(
        (6,), optimizer="nag", tol=1e-12, max_iter=50000, random_state=0
    ).fit(X, Y, sample_weight=w)
    x_mean, y_mean = w @ X / w.sum(), w @ Y / w.sum()
    root = np.sqrt(w)[:, None]
    coef, *_ = np.linalg.lstsq(root * (X - x_mean), root * (Y - y_mean), rcond=None)
    np.testing.assert_allclose(model.coef_, coef.T, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        model.intercept_, y_mean - coef.T @ x_mean, rtol=1e-5, atol=1e-6
    )


def test_weighted_completion_repeats_observations():
    X, y, _ = make_matrix_completion(30, 20, 2, fraction=0.5, random_state=0)
    w = np.random.RandomState(0).randint(1, 3, size=len(y))
    X = sp.csr_matrix(X)
    repeated_X = sp.csr_matrix(np.repeat(X.toarray(), w, axis=0))
    kwargs = dict(shape=(30, 20), tol=1e-10, max_iter=3000, random_state=0)
    weighted = MatrixSensingPrecGD(2, **kwargs).fit(X, y, sample_weight=w)
    repeated = MatrixSensingPrecGD(2, **kwargs).fit(repeated_X, np.repeat(y, w))
    np.testing.assert_allclose(weighted.coef_, repeated.coef_, atol=1e-6)


@pytest.mark.parametrize(
    "weights, message",
    [
        (np.zeros(120), "at least one non-zero"),
        (-np.ones(120), "Negative values in data passed to `sample_weight`"),
        (np.ones(7), "sample_weight.shape"),
    ],
)
def test_bad_weights_are_clear_errors(sensing_data, weights, message):
    X, y = sensing_data
    for model in (MatrixSensingPrecGD(2), LinearNetRegressor((2,))):
        with pytest.raises(ValueError, match=message):
            model.fit(X, y, sample_weight=weights)


def test_weights_through_a_pipeline_and_a_grid_search(regression_data):
    X, Y = regression_data
    y = Y[:, 0]
    w = np.random.RandomState(3).randint(0, 3, size=len(y)).astype(float)
    pipe = make_pipeline(StandardScaler(), LinearNetRegressor((2,), random_state=0))
    pipe.fit(X, y, linearnetregressor__sample_weight=w)
    direct = LinearNetRegressor((2,), random_state=0).fit(
        StandardScaler().fit_transform(X), y, sample_weight=w
    )
    np.testing.assert_allclose(pipe[-1].coef_, direct.coef_)
    # without routing, GridSearchCV passes fit parameters through
    search = GridSearchCV(
        LinearNetRegressor((2,), random_state=0),
        {"optimizer": ["gd", "nag"]},
        cv=KFold(3),
    ).fit(X, y, sample_weight=w)
    assert search.best_estimator_.n_iter_ > 0
    # with routing, each consumer asks for the weights it takes
    with sklearn.config_context(enable_metadata_routing=True):
        model = (
            LinearNetRegressor((2,), random_state=0)
            .set_fit_request(sample_weight=True)
            .set_score_request(sample_weight=True)
        )
        routed = GridSearchCV(model, {"optimizer": ["gd", "nag"]}, cv=KFold(3))
        routed.fit(X, y, sample_weight=w)
        unweighted = GridSearchCV(
            LinearNetRegressor((2,), random_state=0),
            {"optimizer": ["gd", "nag"]},
            cv=KFold(3),
        ).fit(X, y)
    # the routed weights reached fit and score: the scores differ
    assert not np.allclose(
        routed.cv_results_["mean_test_score"],
        unweighted.cv_results_["mean_test_score"],
    )


@pytest.mark.parametrize(
    "make",
    [
        lambda: LinearNetRegressor((2,), max_iter=5),
        lambda: MatrixSensingPrecGD(2, shape="column", max_iter=5),
    ],
)
def test_weights_spanning_beyond_float64_are_refused(regression_data, make):
    """Weights more than 1/eps apart: the light samples would round away in
    every sum, so the fit would silently ignore them."""
    X, Y = regression_data
    y = Y[:, 0]
    weights = np.ones(len(y))
    weights[0] = 1e20
    with pytest.raises(ValueError, match="1/eps"):
        make().fit(X, y, sample_weight=weights)
    weights[0] = 1e12  # wide but representable: fitted
    make().fit(X, y, sample_weight=weights)


def test_a_constant_float32_feature_gets_no_weight():
    """Centring a constant float32 column leaves rounding: fitted, it gave
    weights of ±1e4 whose predictions depended on the batch."""
    X = np.full((10, 6), 1e-5, dtype=np.float32)
    y = np.full(10, 1e-5, dtype=np.float32)
    net = LinearNetRegressor((2,), max_iter=30, random_state=0).fit(X, y)
    np.testing.assert_allclose(net.predict(X[:1]), net.predict(X)[:1], atol=1e-9)
    np.testing.assert_allclose(net.predict(X), 1e-5, rtol=1e-3)
