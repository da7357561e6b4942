"""Reliability (issue 12): nothing half-fitted, nothing lost."""

import os
import stat
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning, NotFittedError
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
        file.write(b"PK\x03\x04 half")
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


def _cli(capsys, *argv):
    from skfactor.__main__ import main

    code = main([*map(str, argv)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_a_fit_that_fails_after_progress_prints_no_results(tmp_path, capsys):
    """Progress lines go to stderr; stdout gets the results only once the fit
    and the save succeeded. A fit diverging at a user step leaves stdout empty,
    the previous --out file intact and no temporary file behind."""
    data = tmp_path / "a.npy"
    np.save(data, make_low_rank_matrix(30, 20, 3, 5, random_state=0)[0])
    out = tmp_path / "prev.npz"
    assert _cli(capsys, "fit", data, "--n-components", 3, "--out", out)[0] == 0
    good = out.read_bytes()
    argv = ["fit", data, "--learning-rate", 1e4, "--out", out]
    code, stdout, stderr = _cli(capsys, *argv)
    assert code == 2 and stdout == ""
    assert stderr.splitlines()[-1].startswith("skfactor fit: error:")
    assert "diverged" in stderr.splitlines()[-1] and "Traceback" not in stderr
    assert out.read_bytes() == good
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.npy", "prev.npz"]


def test_cli_output_files_are_checked_before_fitting(tmp_path, capsys, monkeypatch):
    data = tmp_path / "a.npy"
    np.save(data, np.ones((5, 4)))
    code, stdout, err = _cli(capsys, "fit", data, "--out", f"{tmp_path}/")
    assert code == 2 and stdout == "" and "is a folder" in err
    (tmp_path / "results.npz").mkdir()
    code, _, err = _cli(capsys, "fit", data, "--out", tmp_path / "results")
    assert code == 2 and "is a folder" in err

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("tempfile.mkstemp", denied)
    monkeypatch.setattr(
        "skfactor.FactorizationNAG.fit", lambda *a: pytest.fail("fitted first")
    )
    code, stdout, err = _cli(capsys, "fit", data, "--out", tmp_path / "m.npz")
    assert code == 2 and stdout == "" and err.count("\n") == 1
    assert "--out: cannot write in" in err and "Permission denied" in err


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--optimizers", "gd,foo"], "--optimizers: unknown optimizer 'foo'"),
        (["--rank", "1"], "--rank 1: a rank-1 matrix"),
        (["--n-samples", "10000000", "--n-features", "10000000"], "GiB of memory"),
        (["--random-state", "-1"], "--random-state: must be an integer"),
        (["--plot", "curves.txt"], "--plot: cannot save the figure as a .txt"),
        (["--plot", "curves"], "file without extension"),
    ],
)
def test_compare_argument_errors_come_before_any_fit(
    tmp_path, capsys, monkeypatch, extra, message
):
    """compare's options are checked up front, each error naming its option."""
    if "--plot" in extra:
        pytest.importorskip("matplotlib")
        extra = [extra[0], str(tmp_path / extra[1])]
    monkeypatch.setattr(
        "skfactor.__main__.compare", lambda **k: pytest.fail("fitted first")
    )
    code, stdout, err = _cli(capsys, "compare", *extra)
    assert code == 2 and stdout == "" and err.count("\n") == 1
    assert message in err, err
    assert "compare" in err and "_" not in err.split(":")[0]


def test_compare_plot_save_failure_prints_nothing(tmp_path, capsys, monkeypatch):
    pytest.importorskip("matplotlib")
    import matplotlib.figure

    target = tmp_path / "c.png"
    target.write_bytes(b"previous plot")

    def full_disk(self, file, **kwargs):
        file.write(b"\x89PNG half")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", full_disk)
    argv = ["compare", "--n-samples", 20, "--n-features", 15, "--max-iter", 5]
    code, stdout, err = _cli(capsys, *argv, "--plot", target)
    assert code == 2 and stdout == "" and "No space left on device" in err
    assert err.startswith("skfactor compare: error: --plot: cannot write")
    assert target.read_bytes() == b"previous plot"
    assert [p.name for p in tmp_path.iterdir()] == ["c.png"]


@pytest.mark.parametrize("name", [".npz", "sub/.npz", "plain"])
def test_out_names_without_a_stem_save_where_they_say(
    tmp_path, capsys, name, monkeypatch
):
    """``--out .npz`` once left an empty target and the factors in a stray
    temporary (np.savez appended a suffix to the temporary's name)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    np.save("a.npy", make_low_rank_matrix(20, 10, 2, 3, random_state=0)[0])
    code, stdout, _ = _cli(capsys, "fit", "a.npy", "--quiet", "--out", name)
    target = name if name.endswith(".npz") else name + ".npz"
    assert code == 0 and f"saved {target}" in stdout
    assert np.load(target)["components"].shape == (10, 10)
    left = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    assert left == sorted({"a.npy", "sub", target})


def test_saved_files_get_the_umask_mode(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    np.save("a.npy", np.random.RandomState(0).rand(8, 5))
    old = os.umask(0o027)
    try:
        assert _cli(capsys, "fit", "a.npy", "--quiet", "--out", "m.npz")[0] == 0
        assert stat.S_IMODE(os.stat("m.npz").st_mode) == 0o640
        os.chmod("m.npz", 0o604)  # a refit keeps the mode of the file it replaces
        assert _cli(capsys, "fit", "a.npy", "--quiet", "--out", "m.npz")[0] == 0
        assert stat.S_IMODE(os.stat("m.npz").st_mode) == 0o604
    finally:
        os.umask(old)


def test_a_fit_diverging_at_once_prints_one_line_even_with_progress(tmp_path, capsys):
    data = tmp_path / "a.npy"
    np.save(data, make_low_rank_matrix(30, 20, 3, 5, random_state=0)[0])
    code, stdout, stderr = _cli(capsys, "fit", data, "--learning-rate", 1e4)
    assert code == 2 and stdout == "" and stderr.count("\n") == 1, stderr
    # the estimator's parameter names become the CLI's options
    assert "--learning-rate" in stderr and "learning_rate" not in stderr


@pytest.mark.parametrize(
    "content, expected",
    [
        (b'"1","2","3"\n"4","5","6"\n', [[1, 2, 3], [4, 5, 6]]),  # quoted cells
        (b"\n\n1,2\n\n3,4\n", [[1, 2], [3, 4]]),  # blank lines
        (b"# exported\na,b,c\n1,2,3\n", [[1, 2, 3]]),  # a comment, then names
        (b"1,2\r\n3,4\r\n", [[1, 2], [3, 4]]),  # CRLF
        (b"a,b,\n1,2,\n3,4,\n", [[1, 2], [3, 4]]),  # trailing commas
        (b",a,b\n0,1,2\n", [[0, 1, 2]]),  # an index column without a name
    ],
)
def test_csv_dialects_are_read(tmp_path, content, expected):
    from skfactor.__main__ import load_matrix

    path = tmp_path / "d.csv"
    path.write_bytes(content)
    np.testing.assert_array_equal(load_matrix(str(path)), expected)


@pytest.mark.parametrize(
    "content, message",
    [
        (b"1,2,x\n4,5,6\n", "line 1, column 3: 'x' is not a number"),
        (b"1,2\n3\n", "line 2 has 1 values but line 1 has 2"),
        (b"1,2\n3,\x00\n", "cannot read"),
    ],
)
def test_csv_never_drops_a_row_silently(tmp_path, capsys, content, message):
    path = tmp_path / "d.csv"
    path.write_bytes(content)
    code, stdout, err = _cli(capsys, "fit", path, "--quiet")
    assert code == 2 and stdout == "" and err.count("\n") == 1
    assert message in err, err


def test_npy_look_alikes_and_odd_paths_are_one_line_errors(tmp_path, capsys):
    np.savez(tmp_path / "z.npz", a=np.eye(3))
    (tmp_path / "z.npy").write_bytes((tmp_path / "z.npz").read_bytes())
    (tmp_path / "pk.npy").write_bytes(b"PK\x03\x04garbage")
    np.save(tmp_path / "td.npy", np.ones((3, 3), dtype="m8[s]"))
    np.save(tmp_path / "c.npy", np.ones((3, 3), dtype=complex))
    (tmp_path / "folder.npy").mkdir()
    for name, message in [
        ("z.npy", ".npz archive"),
        ("pk.npy", "broken zip"),
        ("td.npy", "real numbers"),
        ("c.npy", "real numbers"),
        ("folder.npy", "is a folder"),
    ]:
        code, stdout, err = _cli(capsys, "fit", tmp_path / name, "--quiet")
        assert code == 2 and stdout == "" and err.count("\n") == 1, err
        assert message in err, err


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


@pytest.mark.parametrize("design", ["zero", "orthogonal"])
@pytest.mark.parametrize("estimator", ["sensing", "linear-net", "deep-net"])
def test_where_the_zero_model_is_optimal_it_is_the_answer(design, estimator):
    """A response orthogonal to the design (or an all-zero design) has the zero
    model as its minimizer: a named start lands on it (or next to it) and the
    fit returns it, never the zero-start error meant for explicit saddles."""
    rng = np.random.RandomState(0)
    X = np.zeros((40, 4)) if design == "zero" else rng.standard_normal((40, 4))
    Y = rng.standard_normal((40, 3))
    if design == "orthogonal":
        Y -= X @ np.linalg.lstsq(X, Y, rcond=None)[0]
    if estimator == "sensing":
        model = MatrixSensingPrecGD(2, shape=(2, 2), fit_intercept=False)
        Y = Y[:, 0]
    else:
        widths = (2,) if estimator == "linear-net" else (3, 2)
        model = LinearNetRegressor(widths, fit_intercept=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no ConvergenceWarning either
        model.fit(X, Y)
    assert model.converged_ and model.stop_reason_ in ("optimal", "precision")
    assert np.abs(model.coef_).max() < 1e-12
    if design == "zero":  # the start is exactly zero: one null step
        assert model.stop_reason_ == "optimal" and model.n_iter_ == 1
        # an explicit zero start is then accepted too
        zeros = [np.zeros_like(F) for F in _factors(model)]
        model.set_params(init=zeros).fit(X, Y)
        assert model.stop_reason_ == "optimal"


def _factors(model):
    if isinstance(model, MatrixSensingPrecGD):
        return [model.left_factor_, model.right_factor_]
    return list(model.coefs_)


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


# --------------------------------------------------------------------------
# Findings of the adversarial hunt (a helper session playing a hostile user)
# --------------------------------------------------------------------------
@pytest.mark.parametrize("first, second", [(1e100, 1e-100), (1e30, 1.0), (1e-100, 1.0)])
def test_warm_refit_on_rescaled_data_follows_the_scale(first, second):
    """The warm factors are rescaled with the data (they were 1/c off: a
    relative error of 5e192 and an escaping RuntimeWarning)."""
    A = np.random.RandomState(0).randn(30, 10)
    fresh = FactorizationNAG(3, random_state=0, max_iter=40).fit(A * second)
    model = FactorizationNAG(3, random_state=0, max_iter=20, warm_start=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("error", RuntimeWarning)
        model.fit(A * first)
        model.fit(A * second)
    ratio = model.reconstruction_err_ / fresh.reconstruction_err_
    assert 0.9 < ratio < 1.1


def test_a_step_too_small_to_move_anything_is_refused():
    A = np.random.RandomState(0).randn(30, 10)
    for lr in (1e-320, 5e-324):
        with pytest.raises(ValueError, match=r"learning_rate=.* steps that small"):
            FactorizationNAG(learning_rate=lr, max_iter=5).fit(A)
    # small but meaningful steps still run
    FactorizationNAG(learning_rate=1e-6, max_iter=5, tol=0).fit(A)


@pytest.mark.parametrize(
    "make, fit_args",
    [
        (lambda w: FactorizationNAG(w), "A"),
        (lambda w: LowRankImputer(w), "A"),
        (lambda w: MatrixSensingPrecGD(w, shape=(2, 5)), "Ay"),
        (lambda w: LinearNetRegressor((w,)), "Ay"),
    ],
    ids=["factorization", "imputer", "sensing", "linear-net"],
)
def test_widths_too_large_or_boolean_are_clear_errors(make, fit_args):
    rng = np.random.RandomState(0)
    A, y = rng.randn(30, 10), rng.randn(30)
    args = (A, y) if fit_args == "Ay" else (A,)
    for width in (10**20, 10**9):
        with pytest.raises(ValueError, match=r"GiB of memory.*Lower"):
            make(width).fit(*args)
    if not isinstance(make(1), LinearNetRegressor):
        with pytest.raises(ValueError, match="must be an int, not a bool"):
            make(True).fit(*args)


def test_huge_starting_layers_are_refused_before_any_overflow():
    rng = np.random.RandomState(0)
    A, y = rng.randn(30, 10), rng.randn(30)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        with pytest.raises(ValueError, match=r"too large for float64.*init_scale"):
            LinearNetRegressor(init_scale=1e300, max_iter=5).fit(A, y)


def test_masked_transform_of_data_far_from_one_is_not_a_loss_error():
    """A transform forms no loss: data beyond 1e±150 with NaN are divided, not
    refused (the same data without NaN always worked)."""
    A = np.random.RandomState(0).randn(30, 10)
    B = A.copy()
    B[0, 0] = np.nan
    model = FactorizationNAG(2, random_state=0).fit(A)
    np.testing.assert_allclose(
        model.transform(B * 1e200), model.transform(B) * 1e200, rtol=1e-12
    )
    # the imputer is affine (the fitted column means): finite, observed kept
    filled = LowRankImputer(2, random_state=0).fit(A).transform(B * 1e200)
    assert np.isfinite(filled).all()
    np.testing.assert_array_equal(filled[1:], A[1:] * 1e200)


def test_linear_net_under_assume_finite_reports_nan_clearly():
    import sklearn

    rng = np.random.RandomState(0)
    X, y = rng.randn(30, 4), rng.randn(30)
    X[0, 0] = np.nan
    with sklearn.config_context(assume_finite=True):
        with pytest.raises(ValueError, match=r"NaN or infinity.*assume_finite"):
            LinearNetRegressor(max_iter=5).fit(X, y)


@pytest.mark.parametrize("optimizer", ["scaledgd", "precgd", "nag", "heavy_ball"])
def test_symmetric_model_of_an_indefinite_matrix_is_stable_and_equivariant(optimizer):
    """``X Xᵀ`` fitted to an indefinite M: ScaledGD's loss went to 759× the zero
    model's and the fit ended worse than zero, and the plateau rule never
    fired (the saddle probe counted the negative directions X Xᵀ cannot
    reach). Now every optimizer ends at the same PSD fit, below the zero
    model, whatever the scale."""
    X, y, M = make_matrix_sensing(5, 5, 2, 200, random_state=0)
    assert np.linalg.eigvalsh(M + M.T).min() < 0
    coefs = []
    for c in (1.0, 1 + 1e-12, 3.0, 1e100):
        model = MatrixSensingPrecGD(
            3, optimizer=optimizer, symmetric=True, random_state=0, max_iter=300
        )
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            model.fit(X, y * c)
        assert model.converged_ and model.stop_reason_ == "plateau"
        assert model.loss_curve_[-1] < 0.6 * model.reference_loss_
        coefs.append(model.coef_ / c)
    for coef in coefs[1:]:
        np.testing.assert_allclose(coef, coefs[0], rtol=1e-6, atol=1e-9)
    assert np.linalg.eigvalsh(coefs[0]).min() > -1e-10  # PSD


def test_verbose_prints_the_last_iteration_once(capsys):
    A = np.random.RandomState(0).randn(10, 6)
    for max_iter in (1, 2, 3):
        FactorizationNAG(2, verbose=1, max_iter=max_iter, tol=0).fit(A)
        lines = [
            line for line in capsys.readouterr().out.splitlines() if " iter " in line
        ]
        iterations = [int(line.split(" iter ")[1].split()[0]) for line in lines]
        assert iterations == sorted(set(iterations)) and iterations[-1] == max_iter


@pytest.mark.parametrize(
    "make, data, suggested",
    [
        (lambda o: FactorizationNAG(3, optimizer=o, max_iter=1), "A", True),
        (lambda o: LowRankImputer(3, optimizer=o, max_iter=1), "A", True),
        (lambda o: MatrixSensingPrecGD(2, optimizer=o, max_iter=1), "sensing", True),
        (lambda o: LinearNetRegressor((3,), optimizer=o, max_iter=1), "Ay", True),
        # a deep network refuses the preconditioned optimizers: none suggested
        (lambda o: LinearNetRegressor((3, 3), optimizer=o, max_iter=1), "Ay", False),
    ],
    ids=["factorization", "imputer", "sensing", "linear-net", "deep-net"],
)
def test_the_convergence_warning_fits_the_fit_and_points_at_the_caller(
    make, data, suggested
):
    rng = np.random.RandomState(0)
    if data == "sensing":
        args = make_matrix_sensing(4, 4, 2, 60, random_state=0)[:2]
    else:
        A = rng.randn(30, 8)
        args = (A, rng.randn(30)) if data == "Ay" else (A,)
    for optimizer in ("gd", "apgd"):
        model = make(optimizer)
        if optimizer == "apgd" and not suggested:
            continue  # refused by the deep network
        with pytest.warns(ConvergenceWarning) as caught:
            model.fit(*args)
        (warning,) = [w for w in caught if w.category is ConvergenceWarning]
        assert warning.filename == __file__  # the caller's fit, not skfactor
        text = str(warning.message)
        assert text.startswith(type(model).__name__)
        if optimizer == "gd" and suggested:
            assert "'apgd'" in text
        else:  # already preconditioned, or nothing applies
            assert "'apgd'" not in text and "precondition" not in text
