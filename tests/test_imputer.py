"""LowRankImputer (issue 7): imputing from a low-rank model of the observed entries."""

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_diabetes
from sklearn.impute import SimpleImputer
from sklearn.linear_model import Ridge
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from sklearn.pipeline import make_pipeline

from skfactor import LowRankImputer
from skfactor.datasets import make_low_rank_matrix


@pytest.fixture(scope="module")
def planted():
    A, *_ = make_low_rank_matrix(200, 40, 4, 10, random_state=0)
    A += 3.0  # non-zero column means: the imputer centres
    mask = np.random.RandomState(0).rand(*A.shape) < 0.25
    X = A.copy()
    X[mask] = np.nan
    return A, X, mask


def test_recovers_planted_entries_and_keeps_observed_ones(planted):
    A, X, mask = planted
    before = X.copy()
    # rank 4 plus column offsets: the offsets are fitted along, so rank 4 does
    imputer = LowRankImputer(4, alpha=0.0, tol=1e-9, max_iter=3000, random_state=0)
    filled = imputer.fit_transform(X)
    np.testing.assert_array_equal(X, before, strict=True)  # input untouched
    assert not np.isnan(filled).any()
    np.testing.assert_array_equal(filled[~mask], A[~mask])  # exactly unchanged
    error = np.linalg.norm(filled[mask] - A[mask]) / np.linalg.norm(A[mask])
    assert error < 1e-6
    # one solver run, which ends on the relative-error rule
    assert imputer.converged_ and imputer.stop_reason_ == "tol"
    assert imputer.n_iter_ == len(imputer.loss_curve_) == len(imputer.time_curve_)
    assert np.all(np.diff(imputer.time_curve_) >= 0)


def test_new_rows_rows_without_observations_and_float32(planted):
    X = planted[1]
    imputer = LowRankImputer(4, random_state=0).fit(X)
    new = X[:5].copy()
    new[0] = np.nan  # nothing observed: the column means
    out = imputer.transform(new)
    np.testing.assert_allclose(out[0], imputer.statistics_)
    assert not np.isnan(out).any()
    # row-wise: a subset of rows gives the subset of results
    np.testing.assert_allclose(imputer.transform(X[3:7]), imputer.transform(X)[3:7])
    out32 = LowRankImputer(4, random_state=0).fit_transform(X.astype(np.float32))
    assert out32.dtype == np.float32 and not np.isnan(out32).any()


def test_missing_values_marker_indicator_and_feature_names():
    rng = np.random.RandomState(1)
    A, *_ = make_low_rank_matrix(60, 5, 2, 3, random_state=1)
    X = A.copy()
    X[rng.rand(*X.shape) < 0.2] = -1.0
    X[:, 3] = np.where(rng.rand(60) < 0.5, X[:, 3], A[:, 3])
    imputer = LowRankImputer(2, missing_values=-1.0, add_indicator=True, random_state=0)
    frame = pd.DataFrame(X, columns=list("abcde"))
    out = imputer.set_output(transform="pandas").fit_transform(frame)
    assert isinstance(out, pd.DataFrame)
    flags = [c for c in out.columns if c.startswith("missingindicator_")]
    assert list(out.columns[:5]) == list("abcde") and len(flags) >= 1
    assert not (out[list("abcde")].to_numpy() == -1.0).any()
    np.testing.assert_array_equal(
        out["missingindicator_a"].to_numpy(), (X[:, 0] == -1.0).astype(float)
    )
    with pytest.raises(ValueError, match="Input X contains NaN"):
        imputer.fit(np.where(X == -1.0, np.nan, X))


def test_empty_features_are_dropped_or_kept_as_zero():
    rng = np.random.RandomState(2)
    X = rng.standard_normal((30, 4))
    X[:, 1] = np.nan
    X[rng.rand(30) < 0.2, 2] = np.nan
    dropped = LowRankImputer(1, random_state=0).fit(X)
    assert dropped.transform(X).shape == (30, 3)
    assert list(dropped.get_feature_names_out()) == ["x0", "x2", "x3"]
    kept = LowRankImputer(1, keep_empty_features=True, random_state=0).fit(X)
    out = kept.transform(X)
    assert out.shape == (30, 4) and np.all(out[:, 1] == 0.0)
    assert not np.isnan(out).any()


def test_bad_input_gives_clear_errors():
    with pytest.raises(ValueError, match="no observed entry"):
        LowRankImputer(1).fit(np.full((4, 3), np.nan))
    with pytest.raises(ValueError, match="n_components"):
        LowRankImputer(0).fit(np.ones((4, 3)))
    with pytest.raises(ValueError, match="infinity"):
        LowRankImputer(1).fit(np.array([[1.0, np.inf], [1.0, 2.0]]))
    with pytest.raises(TypeError, match="dense data is required"):
        import scipy.sparse as sp

        LowRankImputer(1).fit(sp.csr_matrix(np.eye(3)))


def test_pipeline_grid_search_beats_mean_imputation_on_diabetes():
    """20 % of load_diabetes removed at random; Ridge on the imputed data."""
    X, y = load_diabetes(return_X_y=True)
    X = X.copy()
    X[np.random.RandomState(0).rand(*X.shape) < 0.2] = np.nan
    cv = KFold(5, shuffle=True, random_state=0)
    search = GridSearchCV(
        make_pipeline(LowRankImputer(random_state=0), Ridge(alpha=0.1)),
        {"lowrankimputer__n_components": [1, 2, 3, 4, 6, 8]},
        cv=5,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no ConvergenceWarning, no NaN warnings
        ours = cross_val_score(search, X, y, cv=cv).mean()
    mean = cross_val_score(
        make_pipeline(SimpleImputer(strategy="mean"), Ridge(alpha=0.1)), X, y, cv=cv
    ).mean()
    assert ours > mean + 0.005


def test_one_run_one_warning_naming_the_imputer(planted):
    """The offsets are eliminated inside the objective: a fit that runs out of
    iterations warns once, as LowRankImputer, pointing at the caller."""
    X = planted[1]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        imputer = LowRankImputer(4, optimizer="gd", max_iter=5, random_state=0)
        imputer.fit(X)
    messages = [w for w in caught if "max_iter" in str(w.message)]
    assert len(messages) == 1
    assert str(messages[0].message).startswith("LowRankImputer: max_iter=5")
    assert messages[0].filename == __file__
    assert imputer.n_iter_ == 5 and not imputer.converged_
    assert imputer.stop_reason_ == "max_iter"
    assert imputer.factorization_.n_iter_ == 5


def test_offsets_are_optimal_for_the_fitted_factors(planted):
    """statistics_ are the observed column means of the data minus the model."""
    X = planted[1]
    imputer = LowRankImputer(3, alpha=0.0, random_state=0).fit(X)
    model = imputer.factorization_
    residual = X - model.embedding_ @ model.components_
    np.testing.assert_allclose(imputer.statistics_, np.nanmean(residual, axis=0))
