"""Reliability (issue 12): nothing half-fitted, nothing lost."""

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

import skfactor._base
from skfactor import (
    FactorizationNAG,
    LinearNetRegressor,
    LowRankImputer,
    MatrixSensingPrecGD,
)
from skfactor.datasets import make_low_rank_matrix, make_matrix_sensing
from skfactor.exceptions import DivergenceError


def _problems():
    A, *_ = make_low_rank_matrix(40, 30, 3, 5, noise=0.01, random_state=0)
    holes = A.copy()
    holes[np.random.RandomState(0).rand(*A.shape) < 0.2] = np.nan
    X, y, _ = make_matrix_sensing(5, 5, 2, 100, random_state=0)
    rng = np.random.RandomState(0)
    Xn = rng.standard_normal((60, 6))
    yn = Xn @ rng.standard_normal(6)
    return [
        (FactorizationNAG(3, random_state=0), (A,)),
        (LowRankImputer(3, random_state=0), (holes,)),
        (MatrixSensingPrecGD(3, random_state=0), (X, y)),
        (LinearNetRegressor((3,), random_state=0), (Xn, yn)),
    ]


def _snapshot(estimator):
    return {
        key: (value.copy() if isinstance(value, np.ndarray) else value)
        for key, value in vars(estimator).items()
    }


def _assert_same_state(estimator, snapshot):
    assert vars(estimator).keys() == snapshot.keys()
    for key, value in snapshot.items():
        now = vars(estimator)[key]
        if isinstance(value, np.ndarray):
            np.testing.assert_array_equal(now, value)
        else:
            assert now is value or now == value, key


class _Interrupt:
    """``minimize`` that interrupts the fit (as Ctrl-C would) on its first call."""

    def __call__(self, *args, **kwargs):
        raise KeyboardInterrupt


@pytest.mark.parametrize(
    "estimator, data", _problems(), ids=lambda p: type(p).__name__ if p else ""
)
def test_an_interrupted_fit_leaves_the_estimator_as_it_was(
    estimator, data, monkeypatch
):
    with monkeypatch.context() as patch:
        patch.setattr(skfactor._base, "minimize", _Interrupt())
        with pytest.raises(KeyboardInterrupt):
            estimator.fit(*data)
    # never fitted: still unfitted (validate_data had set n_features_in_)
    assert not hasattr(estimator, "n_features_in_")
    with pytest.raises(NotFittedError):
        check_is_fitted(estimator)
    estimator.fit(*data)
    before = _snapshot(estimator)
    with monkeypatch.context() as patch:
        patch.setattr(skfactor._base, "minimize", _Interrupt())
        with pytest.raises(KeyboardInterrupt):
            estimator.fit(*data)
    _assert_same_state(estimator, before)


def test_a_refit_that_diverges_keeps_the_previous_model():
    A, *_ = make_low_rank_matrix(50, 20, 3, 5, noise=0.01, random_state=0)
    data = A.copy()
    data[np.random.RandomState(1).rand(*A.shape) < 0.2] = np.nan
    imputer = LowRankImputer(3, learning_rate=0.01, random_state=0).fit(data)
    filled = imputer.transform(data)
    before = _snapshot(imputer)
    with pytest.raises(DivergenceError):
        imputer.fit(data * 1000 + 50)
    _assert_same_state(imputer, before)
    np.testing.assert_array_equal(imputer.transform(data), filled)


def test_warm_start_continues_only_from_factors_of_the_right_shapes():
    """One warm-start policy: changed shape-defining parameters refit from the
    start, and fitted predictions never read live parameters."""
    X, y, _ = make_matrix_sensing(5, 5, 2, 120, random_state=0)
    model = MatrixSensingPrecGD(2, warm_start=True, random_state=0).fit(X, y)
    model.set_params(rank=4).fit(X, y)
    cold = MatrixSensingPrecGD(4, random_state=0).fit(X, y)
    assert model.left_factor_.shape == (5, 4)
    np.testing.assert_array_equal(model.coef_, cold.coef_)
    assert model.transform(X).shape[1] == len(model.get_feature_names_out()) == 4
    # a symmetric refit from an asymmetric fit starts afresh too
    model.set_params(symmetric=True).fit(X, y)
    assert model.factor_.shape == (5, 4)
    assert model.n_iter_ > 1
    assert not hasattr(model, "left_factor_") and not hasattr(model, "right_factor_")
    # changing a parameter without refitting changes nothing that was fitted
    predictions = model.predict(X)
    model.set_params(symmetric=False, rank=1)
    np.testing.assert_array_equal(model.predict(X), predictions)
    assert model.transform(X).shape[1] == 4


def test_the_imputer_ignores_the_global_pandas_output_inside():
    import sklearn
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    A, *_ = make_low_rank_matrix(40, 6, 2, 3, random_state=0)
    A[np.random.RandomState(0).rand(*A.shape) < 0.2] = np.nan
    with sklearn.config_context(transform_output="pandas"):
        imputer = LowRankImputer(2, add_indicator=True, random_state=0)
        out = imputer.fit_transform(A)
        assert list(out.columns) == list(imputer.get_feature_names_out())
        assert out.shape == (40, 12) and not out.isna().any().any()
        piped = make_pipeline(LowRankImputer(2, random_state=0), StandardScaler())
        assert piped.fit_transform(A).shape == (40, 6)
    plain = LowRankImputer(2, add_indicator=True, random_state=0).fit_transform(A)
    np.testing.assert_allclose(out.to_numpy(), plain)


def test_indicator_accepts_missingness_absent_in_fit_and_float32_nan_marker():
    A, *_ = make_low_rank_matrix(40, 6, 2, 3, random_state=0)
    train = A.copy()
    train[:5, 0] = np.nan  # only feature 0 has missing entries in fit
    imputer = LowRankImputer(2, add_indicator=True, random_state=0).fit(train)
    test = A[:4].copy()
    test[0, 3] = np.nan  # feature 3: never missing in fit
    out = imputer.transform(test)
    assert out.shape == (4, 7) and np.isfinite(out).all()
    for marker in (np.float32("nan"), np.float64("nan"), float("nan")):
        filled = LowRankImputer(2, missing_values=marker, random_state=0)
        assert np.isfinite(filled.fit_transform(train)).all()


# --------------------------------------------------------------------------
# The command line
# --------------------------------------------------------------------------
def _fit_cli(capsys, *argv):
    from skfactor.__main__ import main

    code = main(["fit", *map(str, argv), "--quiet"])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_a_failed_save_leaves_the_previous_result(tmp_path, capsys, monkeypatch):
    data = tmp_path / "a.npy"
    np.save(data, make_low_rank_matrix(30, 20, 3, 5, random_state=0)[0])
    out = tmp_path / "prev.npz"
    assert _fit_cli(capsys, data, "--n-components", 3, "--out", out)[0] == 0
    good = out.read_bytes()

    def full_disk(file, **arrays):
        with open(file, "wb") as handle:
            handle.write(b"PK\x03\x04 half")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez", full_disk)
    code, _, err = _fit_cli(capsys, data, "--n-components", 3, "--out", out)
    assert code == 2 and "No space left" in err
    assert out.read_bytes() == good  # untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.npy", "prev.npz"]


def test_csv_with_a_byte_order_mark_keeps_its_first_row(tmp_path, capsys):
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf1,2,3\n4,5,6\n7,8,10\n")
    from skfactor.__main__ import load_matrix

    np.testing.assert_array_equal(load_matrix(str(path))[0], [1, 2, 3])
    named = tmp_path / "named.csv"
    named.write_bytes(b"\xef\xbb\xbfa,b\n1,2\n3,4\n")
    assert load_matrix(str(named)).shape == (2, 2)


@pytest.mark.parametrize("dtype, scale", [(np.float32, 1e20), (np.int64, 10**9)])
def test_the_summary_error_does_not_square_in_the_data_dtype(
    tmp_path, capsys, dtype, scale
):
    A = make_low_rank_matrix(40, 30, 3, 5, noise=0.1, random_state=0)[0]
    data = tmp_path / "big.npy"
    np.save(data, (A / np.abs(A).max() * scale).astype(dtype))
    code, out, _ = _fit_cli(capsys, data, "--n-components", 1, "--max-iter", 50)
    assert code == 0
    relative = float(out.split("= ")[-1].split()[0])
    assert 0.05 < relative < 1.0  # a rank-1 fit of noisy rank-3 data


@pytest.mark.parametrize(
    "content, extra, message",
    [
        (b"", [], "empty"),
        (b"a,b,c\n", [], "no data rows"),
        (b"1;2;3\n4;5;6\n", [], "semicolons"),
        (b"1,2\n3,4\n", ["--learning-rate", "abc"], "--learning-rate: must be a"),
        (b"1,2\n3,4\n", ["--tol", "-1"], "--tol: must be a number >= 0"),
    ],
)
def test_cli_csv_and_argument_errors_are_one_line(
    tmp_path, capsys, content, extra, message
):
    path = tmp_path / "data.csv"
    path.write_bytes(content)
    code, out, err = _fit_cli(capsys, path, *extra)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and message in err, err
    assert "Traceback" not in err and "_learning_rate" not in err


def test_cli_npy_errors_and_booleans(tmp_path, capsys):
    garbage = tmp_path / "garbage.npy"
    garbage.write_bytes(b"\x93NUMPY garbage that is not an array")
    code, _, err = _fit_cli(capsys, garbage)
    assert code == 2 and "allow_pickle" not in err and err.count("\n") == 1
    objects = tmp_path / "objects.npy"
    np.save(objects, np.array([[1, "a"]], dtype=object), allow_pickle=True)
    code, _, err = _fit_cli(capsys, objects)
    assert code == 2 and "not a numeric NumPy .npy file" in err
    flags = tmp_path / "flags.npy"
    np.save(flags, np.random.RandomState(0).rand(30, 20) < 0.5)
    assert _fit_cli(capsys, flags, "--n-components", 2)[0] == 0


def test_compare_plot_into_a_missing_folder_fails_before_fitting(capsys):
    from skfactor.__main__ import main

    assert main(["compare", "--plot", "/no/such/folder/c.png", "--max-iter", "5"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "does not exist" in captured.err


def test_help_shows_defaults_and_choices(capsys):
    from skfactor.__main__ import main

    assert main(["fit", "--help"]) == 0
    text = capsys.readouterr().out
    assert "default: 1000" in text and "precgd" in text and "small_random" in text


@pytest.mark.parametrize(
    "params, fix",
    [
        ({"init": "gaussian", "init_scale": 1e300}, "init_scale"),
        ({"init": (np.full((30, 3), 1e200), np.full((20, 3), 1e200))}, "init"),
    ],
)
def test_a_start_too_large_for_float64_is_a_clear_error(params, fix):
    A, *_ = make_low_rank_matrix(30, 20, 3, 5, random_state=0)
    with pytest.raises(ValueError, match=f"too large for float64.*{fix}"):
        FactorizationNAG(3, **params).fit(A)


@pytest.mark.parametrize("c", [1e154, 1e-158, 1e300])
def test_linear_net_inputs_far_from_one_are_rescaled(c):
    rng = np.random.RandomState(0)
    X = rng.standard_normal((50, 4))
    y = X @ rng.standard_normal(4)
    plain = LinearNetRegressor((2,), random_state=0).fit(X, y)
    scaled = LinearNetRegressor((2,), random_state=0).fit(X * c, y)
    assert scaled.n_iter_ == plain.n_iter_
    np.testing.assert_allclose(scaled.coef_ * c, plain.coef_, rtol=1e-10)
    np.testing.assert_allclose(scaled.predict(X * c), plain.predict(X), rtol=1e-10)


def test_effective_rank_counts_only_resolved_directions():
    """The README's example: rank 6 over a planted rank 3 with κ = 100; the
    spare directions sit at the fit's accuracy (about 1e-6) and do not count."""
    X, y, _ = make_matrix_sensing(30, 30, 3, 900, condition_number=100, random_state=0)
    model = MatrixSensingPrecGD(rank=6, optimizer="precgd", random_state=0).fit(X, y)
    assert model.effective_rank_ == 3
    # noisy data stop on a plateau far above tol: the cut is then tol's, not
    # the error's, so the fitted directions still count
    noisy = y + 0.05 * np.random.RandomState(0).standard_normal(len(y))
    model = MatrixSensingPrecGD(rank=3, random_state=0).fit(X, noisy)
    assert model.effective_rank_ == 3


@pytest.mark.parametrize("c", [1e25, 1e30, 1e-25])
def test_float32_missing_entries_far_from_one_transform_finitely(c):
    A, *_ = make_low_rank_matrix(60, 20, 3, 5, noise=0.01, random_state=0)
    holes = A.copy()
    holes[np.random.RandomState(0).rand(*A.shape) < 0.2] = np.nan
    plain = LowRankImputer(3, random_state=0).fit(holes)
    data = (holes * c).astype(np.float32)
    imputer = LowRankImputer(3, random_state=0).fit(data)
    filled = imputer.transform(data)
    assert np.isfinite(filled).all()
    np.testing.assert_allclose(filled / c, plain.transform(holes), rtol=2e-3, atol=1e-5)
    model = FactorizationNAG(3, random_state=0).fit(data)
    assert np.isfinite(model.transform(data)).all() and np.isfinite(model.score(data))


def test_a_model_beyond_the_dtype_is_a_clear_error():
    rng = np.random.RandomState(0)
    X = rng.standard_normal((50, 4)).astype(np.float32)
    y = (X @ rng.standard_normal(4)).astype(np.float32)
    with pytest.raises(ValueError, match="cannot be represented in float32"):
        LinearNetRegressor((2,)).fit(X * np.float32(1e-10), y * np.float32(1e30))


def test_a_huge_max_iter_allocates_nothing_up_front():
    """The curves grow with the iterations: max_iter=10**10 fits at once."""
    A, *_ = make_low_rank_matrix(30, 20, 3, 5, random_state=0)
    model = FactorizationNAG(3, max_iter=10**10, random_state=0).fit(A)
    assert model.converged_ and len(model.loss_curve_) == model.n_iter_ < 10**4


def test_an_all_zero_start_is_refused_and_init_errors_name_the_fix():
    A, *_ = make_low_rank_matrix(30, 20, 3, 5, random_state=0)
    with pytest.raises(ValueError, match="every starting factor is zero"):
        FactorizationNAG(3, init=(np.zeros((30, 3)), np.zeros((20, 3)))).fit(A)
    X, y, _ = make_matrix_sensing(4, 4, 1, 40, random_state=0)
    with pytest.raises(ValueError, match="tuple or list of 2 arrays") as e:
        MatrixSensingPrecGD(2, init=(np.ones((4, 2)),)).fit(X, y)
    assert "n_components" not in str(e.value)
    with pytest.raises(ValueError, match="the model's width"):
        MatrixSensingPrecGD(2, init=(np.ones((4, 3)), np.ones((4, 2)))).fit(X, y)
