"""FactorizationNAG: recovery, invariances, the transformer API and bad input."""

import pickle
import re
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skfactor import FactorizationNAG
from skfactor.datasets import make_low_rank_matrix
from skfactor.exceptions import DivergenceError


def rel_err(model, A):
    return model.reconstruction_err_ / np.linalg.norm(A)


@pytest.fixture(scope="module")
def planted():
    A, *_ = make_low_rank_matrix(200, 150, rank=5, condition_number=10, random_state=0)
    return A


@pytest.fixture(scope="module")
def small():
    A, *_ = make_low_rank_matrix(40, 30, rank=3, condition_number=5, random_state=1)
    return A


# --------------------------------------------------------------------------
# Recovery and acceleration
# --------------------------------------------------------------------------
@pytest.mark.parametrize("d", [5, 20])
def test_nag_and_gd_recover_planted_matrix_and_nag_is_faster(planted, d):
    iterations = {}
    for name in ("gd", "nag"):
        # the paper's sketch: a sharpened one solves planted data at once
        model = FactorizationNAG(
            d,
            optimizer=name,
            tol=1e-9,
            max_iter=50_000,
            init_power_iter=0,
            random_state=0,
        ).fit(planted)
        assert model.converged_
        assert rel_err(model, planted) < 1e-8
        # the recorded loss agrees with the exact reconstruction error
        assert np.sqrt(2 * model.loss_curve_[-1]) == pytest.approx(
            model.reconstruction_err_, rel=1e-6
        )
        iterations[name] = model.n_iter_
    assert iterations["nag"] < iterations["gd"] / 4


@pytest.mark.parametrize("optimizer", ["altgd", "heavy_ball", "precgd", "scaledgd"])
def test_other_optimizers_recover(planted, optimizer):
    model = FactorizationNAG(
        8, optimizer=optimizer, tol=1e-9, max_iter=50_000, random_state=0
    ).fit(planted)
    assert rel_err(model, planted) < 1e-8


def test_apgd_with_unit_step_is_alternating_least_squares(planted):
    model = FactorizationNAG(
        5, optimizer="apgd", learning_rate=1.0, tol=1e-10, random_state=0
    ).fit(planted)
    assert rel_err(model, planted) < 1e-10
    assert model.n_iter_ <= 3


def test_altgd_from_ward_kolda_start(planted):
    model = FactorizationNAG(
        10,
        optimizer="altgd",
        init="ward_kolda",
        tol=1e-8,
        max_iter=5000,
        random_state=0,
    ).fit(planted)
    assert rel_err(model, planted) < 1e-8
    # Ward & Kolda's pairing uses η = 1/σ₁ (σ₁ = 1 for this matrix)
    assert model.learning_rate_ == pytest.approx(1.0, rel=1e-6)


def test_spectral_start_is_already_optimal(planted):
    model = FactorizationNAG(5, init="spectral", random_state=0).fit(planted)
    assert rel_err(model, planted) < 1e-12


def test_loss_curve_is_exact_down_to_tiny_errors():
    A, *_ = make_low_rank_matrix(80, 60, rank=4, condition_number=5, random_state=3)
    model = FactorizationNAG(
        6, optimizer="nag", tol=0, max_iter=600, random_state=0
    ).fit(A)
    exact = 0.5 * model.reconstruction_err_**2
    assert exact / (0.5 * np.linalg.norm(A) ** 2) < 1e-24  # relative error < 1e-12
    assert model.loss_curve_[-1] == pytest.approx(exact, rel=1e-3)
    # the iterations in between: refit to intermediate lengths
    for k in (50, 150, 300):
        partial = FactorizationNAG(
            6, optimizer="nag", tol=0, max_iter=k, random_state=0
        ).fit(A)
        np.testing.assert_allclose(
            partial.loss_curve_, model.loss_curve_[:k], rtol=1e-12
        )
        assert partial.loss_curve_[-1] == pytest.approx(
            0.5 * partial.reconstruction_err_**2, rel=1e-3
        )


def test_over_parameterized_beyond_matrix_size(small):
    """n_components > min(A.shape) is allowed and fits A exactly."""
    model = FactorizationNAG(35, tol=1e-10, max_iter=20_000, random_state=0).fit(small)
    assert model.components_.shape == (35, 30)
    assert rel_err(model, small) < 1e-9
    Z = model.transform(small)
    np.testing.assert_allclose(model.inverse_transform(Z), small, atol=1e-8)


# --------------------------------------------------------------------------
# Invariances
# --------------------------------------------------------------------------
@pytest.mark.parametrize("scale", [1e-6, 1e6])
@pytest.mark.parametrize("init", ["unbalanced", "gaussian", "spectral", "ward_kolda"])
def test_scaling_the_data_scales_the_model(small, scale, init):
    kwargs = dict(init=init, tol=1e-6, max_iter=300, random_state=0)
    base = FactorizationNAG(4, **kwargs).fit(small)
    scaled = FactorizationNAG(4, **kwargs).fit(scale * small)
    assert scaled.n_iter_ == base.n_iter_
    np.testing.assert_allclose(
        scaled.embedding_ @ scaled.components_,
        scale * (base.embedding_ @ base.components_),
        rtol=1e-7,
        atol=1e-9 * scale * np.abs(small).max(),
    )
    assert scaled.learning_rate_ == pytest.approx(base.learning_rate_ / scale)
    assert scaled.reconstruction_err_ == pytest.approx(
        scale * base.reconstruction_err_,
        rel=1e-6,
        abs=1e-12 * scale * np.linalg.norm(small),  # rounding level
    )


@pytest.mark.parametrize("scale", [1e-25, 1e-12, 1e12, 1e30])
@pytest.mark.parametrize("sparse", [False, True])
def test_float32_data_far_from_unit_scale(small, scale, sparse):
    """Squares of such data under- or overflow float32: the fit rescales A by a
    power of 4 internally and reports everything in the data's own units."""
    A = (small * scale).astype(np.float32)
    A_in = sp.csr_matrix(A) if sparse else A
    model = FactorizationNAG(4, tol=1e-5, random_state=0).fit(A_in)
    assert model.components_.dtype == np.float32
    assert model.transform(A_in).dtype == np.float32
    norm = np.linalg.norm(small) * scale
    assert model.reconstruction_err_ / norm < 1e-4
    assert np.sqrt(2 * model.loss_curve_[-1]) / norm < 1e-4
    assert -model.score(A_in) * A.size / norm**2 < 1e-8
    ref = FactorizationNAG(4, tol=1e-5, random_state=0).fit(small.astype(np.float32))
    assert model.learning_rate_ * scale == pytest.approx(ref.learning_rate_, rel=1e-3)


def test_rescaling_by_a_power_of_four_is_exact(small):
    A = small.astype(np.float32)
    base = FactorizationNAG(4, tol=1e-5, random_state=0).fit(A)
    scaled = FactorizationNAG(4, tol=1e-5, random_state=0).fit(A * 4.0**40)
    assert scaled.n_iter_ == base.n_iter_
    np.testing.assert_array_equal(scaled.right_factor_, base.right_factor_ * 2.0**40)
    np.testing.assert_array_equal(scaled.loss_curve_, base.loss_curve_ * 4.0**80)
    # the canonical form: orthonormal components, the scale in the spectrum
    np.testing.assert_array_equal(scaled.components_, base.components_)
    np.testing.assert_array_equal(
        scaled.singular_values_, base.singular_values_ * 4.0**40
    )
    np.testing.assert_array_equal(scaled.embedding_, base.embedding_ * 4.0**40)


@pytest.mark.parametrize("scale", [1e200, 1e-300])
def test_float64_data_beyond_representable_losses(small, scale):
    with pytest.raises(ValueError, match=r"largest absolute entry .* Rescale"):
        FactorizationNAG(3).fit(small * scale)


def test_float32_in_float32_out(small):
    A32 = small.astype(np.float32)
    model = FactorizationNAG(4, random_state=0).fit(A32)
    assert model.components_.dtype == np.float32
    assert model.embedding_.dtype == np.float32
    assert model.transform(A32).dtype == np.float32
    assert model.fit_transform(A32).dtype == np.float32
    assert model.inverse_transform(model.transform(A32)).dtype == np.float32
    ref = FactorizationNAG(4, random_state=0).fit(small)
    assert rel_err(model, small) < 1e-3
    assert abs(rel_err(model, small) - rel_err(ref, small)) < 1e-3


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo"])
def test_sparse_and_dense_give_the_same_model(small, fmt):
    A = small.copy()
    A[np.abs(A) < 0.5 * np.abs(A).mean()] = 0.0
    dense = FactorizationNAG(4, random_state=0).fit(A)
    sparse = FactorizationNAG(4, random_state=0).fit(sp.csr_matrix(A).asformat(fmt))
    assert sparse.n_iter_ == dense.n_iter_
    np.testing.assert_allclose(sparse.components_, dense.components_, rtol=1e-8)
    np.testing.assert_allclose(sparse.loss_curve_, dense.loss_curve_, rtol=1e-9)
    np.testing.assert_allclose(
        sparse.transform(sp.csr_matrix(A)), dense.transform(A), rtol=1e-8, atol=1e-12
    )
    assert sparse.score(sp.csr_matrix(A)) == pytest.approx(dense.score(A))


def test_input_is_never_modified(small):
    A = small.copy()
    X0 = np.ones((40, 3))
    Y0 = np.ones((30, 3))
    FactorizationNAG(3, init=(X0, Y0), max_iter=20).fit(A)
    np.testing.assert_array_equal(A, small)
    np.testing.assert_array_equal(X0, 1.0)
    np.testing.assert_array_equal(Y0, 1.0)
    S = sp.csr_matrix(small)
    data = S.data.copy()
    FactorizationNAG(3, max_iter=20).fit(S)
    np.testing.assert_array_equal(S.data, data)


# --------------------------------------------------------------------------
# Transformer API
# --------------------------------------------------------------------------
def test_transform_is_least_squares_and_row_wise(planted):
    model = FactorizationNAG(20, random_state=0).fit(planted)
    Z = model.transform(planted)
    Y = model.components_.T
    Z_lstsq = np.linalg.lstsq(Y, planted.T, rcond=None)[0].T
    # the over-parameterized Y is rank deficient: compare reconstructions
    np.testing.assert_allclose(Z @ Y.T, Z_lstsq @ Y.T, atol=1e-8)
    assert np.all(np.isfinite(Z))
    np.testing.assert_allclose(model.transform(planted[:7]), Z[:7], rtol=1e-12)
    np.testing.assert_allclose(model.fit_transform(planted), Z, rtol=1e-10)


def test_score_is_negative_mean_squared_reconstruction_error(planted):
    rng = np.random.RandomState(0)
    noisy = planted + 0.01 * rng.standard_normal(planted.shape)
    model = FactorizationNAG(5, random_state=0).fit(noisy)
    recon = model.inverse_transform(model.transform(noisy))
    assert model.score(noisy) == pytest.approx(-np.mean((noisy - recon) ** 2))
    worse = FactorizationNAG(2, random_state=0).fit(noisy)
    assert worse.score(noisy) < model.score(noisy)


def test_feature_names_and_pandas_output(small):
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(small, columns=[f"f{i}" for i in range(small.shape[1])])
    model = FactorizationNAG(3, random_state=0).set_output(transform="pandas")
    out = model.fit_transform(df)
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == [f"factorizationnag{i}" for i in range(3)]
    assert list(model.feature_names_in_) == list(df.columns)
    np.testing.assert_array_equal(model.get_feature_names_out(), out.columns)


def test_pickle_and_clone_round_trip(small):
    model = FactorizationNAG(3, random_state=0).fit(small)
    again = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(again.transform(small), model.transform(small))
    fresh = clone(model)
    assert not hasattr(fresh, "components_")
    assert fresh.get_params() == model.get_params()


def test_warm_start_continues_from_fitted_factors(small):
    full = FactorizationNAG(4, optimizer="gd", tol=0, max_iter=40, random_state=0)
    full.fit(small)
    warm = FactorizationNAG(
        4, optimizer="gd", tol=0, max_iter=20, random_state=0, warm_start=True
    )
    warm.fit(small)
    warm.fit(small)
    np.testing.assert_allclose(warm.components_, full.components_, rtol=1e-12)
    np.testing.assert_allclose(warm.loss_curve_, full.loss_curve_[20:], rtol=1e-9)
    # a different number of samples restarts X from the least-squares fit
    warm.fit(small[:25])
    assert warm.embedding_.shape == (25, 4)
    # a different width starts afresh: the same fit as without warm_start
    warm.set_params(n_components=5)
    warm.fit(small)
    cold = clone(warm).set_params(warm_start=False).fit(small)
    assert warm.components_.shape == (5, small.shape[1])
    np.testing.assert_array_equal(warm.components_, cold.components_)


def test_unfitted_transform_raises(small):
    with pytest.raises(NotFittedError):
        FactorizationNAG().transform(small)


def test_verbose_prints_progress(small, capsys):
    FactorizationNAG(3, verbose=1, max_iter=50, tol=0, random_state=0).fit(small)
    out = capsys.readouterr().out
    assert "[FactorizationNAG] iter      1" in out
    assert "iter     32" in out
    assert "stopped after 50 iterations (max_iter)" in out


def test_convergence_warning_once_only_with_positive_tol(small):
    with pytest.warns(ConvergenceWarning, match="max_iter=5") as record:
        FactorizationNAG(
            3, optimizer="gd", max_iter=5, init_power_iter=0, random_state=0
        ).fit(small)
    assert len([w for w in record if w.category is ConvergenceWarning]) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = FactorizationNAG(3, max_iter=5, tol=0, random_state=0).fit(small)
    assert model.n_iter_ == 5 and not model.converged_


# --------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "A, message",
    [
        (np.array([[np.nan, np.nan], [0.0, 1.0]]), "1 row.s. of X have no observed"),
        (np.array([[np.nan, 1.0], [np.nan, 1.0]]), "1 column.s. of X have no obs"),
        (np.array([[1.0, np.inf], [0.0, 1.0]]), "Input X contains infinity"),
        (np.empty((0, 3)), "0 sample"),
        (np.empty((3, 0)), "0 feature"),
        (np.arange(5.0), "Expected 2D array, got 1D array"),
        (np.array([[1 + 1j, 2], [3, 4]]), "Complex data not supported"),
        (np.array([["a", "b"], ["c", "d"]]), "could not convert|dtype"),
    ],
)
def test_bad_data(A, message):
    with pytest.raises(ValueError, match=message):
        FactorizationNAG(1).fit(A)


@pytest.mark.parametrize(
    "params, message",
    [
        ({"n_components": 0}, "'n_components' parameter of FactorizationNAG must be"),
        ({"n_components": -2}, "'n_components' parameter"),
        ({"n_components": 2.5}, "'n_components' parameter"),
        ({"learning_rate": 0.0}, "'learning_rate' parameter .* range \\(0.0, inf\\)"),
        ({"learning_rate": -1.0}, "'learning_rate' parameter"),
        ({"momentum": 1.0}, "'momentum' parameter .* range \\[0.0, 1.0\\)"),
        ({"momentum": -0.1}, "'momentum' parameter"),
        ({"optimizer": "adam"}, "'optimizer' parameter .* among"),
        ({"init": "random"}, "'init' parameter"),
        ({"max_iter": 0}, "'max_iter' parameter"),
        ({"tol": -1.0}, "'tol' parameter"),
        ({"damping": -1.0}, "'damping' parameter"),
        ({"init_scale": 0.0}, "'init_scale' parameter"),
    ],
)
def test_bad_parameters(small, params, message):
    with pytest.raises(ValueError, match=message):
        FactorizationNAG(**params).fit(small)


@pytest.mark.parametrize(
    "init, error, message",
    [
        (
            (np.ones((40, 3)), np.ones((29, 3))),
            ValueError,
            re.escape("init[1] has shape (29, 3) but shape (30, 3) is needed"),
        ),
        (
            (np.ones((40, 2)), np.ones((30, 2))),
            ValueError,
            re.escape("init[0] has shape (40, 2) but shape (40, 3)"),
        ),
        ((np.ones((40, 3)),), ValueError, "tuple or list of 2 arrays"),
        (
            (np.full((40, 3), np.nan), np.ones((30, 3))),
            ValueError,
            "init\\[0\\] contains NaN",
        ),
        ((np.ones((40, 3)) * 1j, np.ones((30, 3))), TypeError, "complex"),
        ((sp.csr_matrix(np.ones((40, 3))), np.ones((30, 3))), TypeError, "sparse"),
    ],
)
def test_bad_custom_init(small, init, error, message):
    with pytest.raises(error, match=message):
        FactorizationNAG(3, init=init).fit(small)


def test_divergent_learning_rate_raises_with_advice(small):
    model = FactorizationNAG(3, optimizer="gd", learning_rate=50.0, random_state=0)
    with pytest.raises(DivergenceError, match="learning_rate=50") as info:
        model.fit(small)
    message = str(info.value)
    assert "diverged at iteration" in message
    assert "learning_rate=5" in message  # the suggestion: ten times smaller
    assert info.value.suggested_learning_rate == pytest.approx(5.0)
    assert all(np.all(np.isfinite(F)) for F in info.value.best_factors)
    assert not hasattr(model, "components_")  # nothing half-fitted is left
    # the suggestion is a real step size to try: smaller steps work
    FactorizationNAG(3, optimizer="gd", learning_rate=0.005, random_state=0).fit(small)


def test_automatic_step_survives_drift_on_noise_dominated_data():
    """With momentum, ‖X‖ can drift on noise-dominated data until the step
    chosen at the start is unstable (whether it does depends on rounding: this
    fit once drifted after ~2600 iterations); the automatic step then backtracks
    instead of failing. The deterministic backtracking tests are in
    test_solver.py; here the fit must end at the optimum whatever happens."""
    A, *_ = make_low_rank_matrix(150, 100, 4, 100, noise=0.1, random_state=0)
    model = FactorizationNAG(4, tol=1e-6, max_iter=20_000, random_state=0)
    model.fit(A)
    first = FactorizationNAG(4, max_iter=1, tol=0, random_state=0).fit(A).learning_rate_
    halvings = np.log2(first / model.learning_rate_)  # 0 if it never drifted
    assert halvings == int(halvings) and 0 <= halvings <= 8
    s = np.linalg.svd(A, compute_uv=False)
    best = np.sqrt(np.sum(s[4:] ** 2))
    assert model.reconstruction_err_ == pytest.approx(best, rel=1e-2)
    assert np.all(np.isfinite(model.loss_curve_))
    assert model.loss_curve_.max() < 1e4 * 0.5 * np.linalg.norm(A) ** 2


def test_inverse_transform_checks_width(small):
    model = FactorizationNAG(3, random_state=0).fit(small)
    with pytest.raises(ValueError, match="n_components_=3"):
        model.inverse_transform(np.ones((2, 4)))


def test_zero_matrix_gives_zero_model():
    model = FactorizationNAG(2, random_state=0).fit(np.zeros((5, 4)))
    assert model.reconstruction_err_ == 0.0
    np.testing.assert_array_equal(model.transform(np.ones((1, 4))), 0.0)


# --------------------------------------------------------------------------
# In scikit-learn workflows
# --------------------------------------------------------------------------
def test_pipeline_with_logistic_regression_on_digits():
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, random_state=0, stratify=y
    )
    pipe = make_pipeline(
        FactorizationNAG(20, random_state=0),
        StandardScaler(),
        LogisticRegression(max_iter=2000),
    )
    pipe.fit(X_train, y_train)
    assert pipe.score(X_test, y_test) > 0.9


def test_grid_search_over_learning_rate_and_optimizer(planted):
    rng = np.random.RandomState(0)
    A = planted + 1e-3 * rng.standard_normal(planted.shape)
    search = GridSearchCV(
        # the papers' start: with a sharpened one every candidate is optimal
        FactorizationNAG(5, max_iter=200, init_power_iter=0, random_state=0),
        {"optimizer": ["gd", "nag"], "learning_rate": ["auto", 1e-4]},
        cv=3,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(A)
    assert search.best_params_ == {"optimizer": "nag", "learning_rate": "auto"}
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))


@pytest.mark.parametrize("optimizer", ["gd", "nag", "apgd", "precgd"])
def test_no_false_convergence_on_noise_dominated_sparse_data(optimizer):
    """A rank-d model of sparse noise explains a few percent of the energy;
    steady progress on that small part must not be taken for stagnation."""
    S = sp.random(600, 300, density=0.05, random_state=0, format="csr")
    d = 10
    s = np.linalg.svd(S.toarray(), compute_uv=False)
    best = np.sum(s[:d] ** 2) / np.sum(s**2)  # explainable energy fraction
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = FactorizationNAG(d, optimizer=optimizer, random_state=0).fit(S)
    explained = 1 - (model.reconstruction_err_ / np.linalg.norm(s)) ** 2
    if model.converged_:
        assert explained > 0.97 * best
    else:
        assert model.n_iter_ == model.max_iter
