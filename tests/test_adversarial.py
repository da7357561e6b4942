"""Adversarial battery: contracts every estimator keeps under hostile input.

Each test states one contract. Inputs are small (2-12 rows/columns), drawn by
hypothesis over dtypes, scales from 1e-30 to 1e30, constant columns, all-zero
data, duplicated rows, rank deficiency and NaN masks. A RuntimeWarning escaping
an estimator is an error (pytest config), and so a finding.
"""

import contextlib
import io
import os
import tempfile
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn.exceptions import ConvergenceWarning

from skfactor import (
    FactorizationNAG,
    LinearNetRegressor,
    LowRankImputer,
    MatrixSensingPrecGD,
)
from skfactor.__main__ import main
from skfactor._optimizers import OPTIMIZERS

# derandomize: the same examples every run, so CI is stable
SETTINGS = dict(
    deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
MAX_ITER = 30

FORBIDDEN = (
    np.linalg.LinAlgError,  # a ValueError subclass, but never a user error
    ZeroDivisionError,
    OverflowError,
    FloatingPointError,
    IndexError,
    RuntimeWarning,
)
DATA_WORDS = (
    "x",
    "y",
    "data",
    "input",
    "matrix",
    "sample",
    "feature",
    "entr",
    "row",
    "column",
    "shape",
    "dtype",
    "finite",
    "nan",
    "infinity",
    "observed",
    "response",
    "design",
    "float32",
    "float64",
)


def make(name, n_components=2):
    """A fresh, fast estimator of the given kind."""
    if name == "factorization":
        return FactorizationNAG(n_components, max_iter=MAX_ITER, random_state=0)
    if name == "imputer":
        return LowRankImputer(n_components, max_iter=MAX_ITER, random_state=0)
    if name == "linear_net":
        return LinearNetRegressor((n_components,), max_iter=MAX_ITER, random_state=0)
    return MatrixSensingPrecGD(
        n_components, shape="column", max_iter=MAX_ITER, random_state=0
    )


ESTIMATORS = ["factorization", "imputer", "linear_net", "sensing"]
SUPERVISED = {"linear_net", "sensing"}


# -- strategies -----------------------------------------------------------------
@st.composite
def matrices(draw, rows=None, cols=None, dtype=None):
    """A small finite hostile matrix."""
    m = draw(st.integers(2, 12)) if rows is None else rows
    n = draw(st.integers(2, 12)) if cols is None else cols
    dtype = draw(st.sampled_from([np.float32, np.float64])) if dtype is None else dtype
    width = 32 if dtype == np.float32 else 64
    kind = draw(
        st.sampled_from(
            ["unit", "wide", "constant_cols", "zeros", "dup_rows", "rank_def"]
        )
    )
    scale = np.float64(10.0) ** draw(st.integers(-30, 30))
    if kind == "wide":
        # magnitudes from 1e-30 to 1e30 in one matrix
        big = float(np.float32(1e30))  # exact in both widths
        elements = st.floats(
            -big, big, allow_nan=False, allow_infinity=False, width=width
        ).filter(lambda v: v == 0 or abs(v) >= 1e-30)
        A = draw(hnp.arrays(np.float64, (m, n), elements=elements))
        return A.astype(dtype)
    elements = st.floats(-10, 10, allow_nan=False, allow_infinity=False, width=width)
    A = draw(hnp.arrays(np.float64, (m, n), elements=elements))
    if kind == "zeros":
        A[:] = 0.0
    elif kind == "constant_cols":
        cols_const = draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=n))
        for j in cols_const:
            A[:, j] = A[0, j]
    elif kind == "dup_rows":
        A[1:] = A[draw(st.integers(0, m - 1))]
    elif kind == "rank_def":
        A = np.outer(A[:, 0], A[0])
    return (A * scale).astype(dtype)


@st.composite
def problems(draw, name, dtype=None):
    """(X, y) for an estimator kind; y is None for the unsupervised ones."""
    X = draw(matrices(dtype=dtype))
    if name not in SUPERVISED:
        return X, None
    kind = draw(st.sampled_from(["from_X", "random", "zeros"]))
    if kind == "from_X":
        y = X[:, 0].copy()
    elif kind == "zeros":
        y = np.zeros(X.shape[0], dtype=X.dtype)
    else:
        y = draw(matrices(rows=X.shape[0], cols=1, dtype=X.dtype.type))[:, 0]
    return X, y


def check_error(est, exc):
    """A raised error must be a ValueError/TypeError that names a parameter or
    the data, and none of the forbidden kinds."""
    assert not isinstance(exc, FORBIDDEN), repr(exc)
    assert isinstance(exc, (ValueError, TypeError)), repr(exc)
    message = str(exc).lower()
    words = DATA_WORDS + tuple(k.lower() for k in est.get_params())
    assert any(word in message for word in words), repr(exc)


def fit(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X) if y is None else est.fit(X, y)


def outputs(est, name, X):
    """The transform/predict outputs of a fitted estimator on X."""
    if name == "linear_net":
        return [est.predict(X), est.transform(X)]
    if name == "sensing":
        return [est.predict(X), est.transform(X)]
    return [est.transform(X)]


def fitted_arrays(est):
    for key, value in vars(est).items():
        if key.endswith("_") and not key.startswith("_"):
            if isinstance(value, (np.ndarray, float, np.floating)):
                yield key, np.asarray(value)


def same(a, b):
    """Deep equality of estimator state (arrays, estimators, containers)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True)
    if sp.issparse(a):
        return same(a.toarray(), b.toarray())
    if hasattr(a, "get_params") and hasattr(a, "__dict__"):
        return same(vars(a), vars(b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and np.isnan(a):
        return np.isnan(b)
    try:
        return bool(a == b)
    except Exception:
        return a is b


def snapshot(obj):
    """A deep copy of estimator state for ``same``."""
    import copy

    return copy.deepcopy(vars(obj))


# -- 1. finite input: finite model or a clear error -------------------------------
@pytest.mark.parametrize("name", ESTIMATORS)
@settings(max_examples=30, **SETTINGS)
@given(data=st.data())
def test_fit_is_finite_or_clear_error(name, data):
    """On any small finite input, fit succeeds with finite fitted attributes and
    finite outputs of the input's dtype and right shape, or raises a
    ValueError/TypeError naming a parameter or the data."""
    X, y = data.draw(problems(name))
    est = make(name)
    try:
        fit(est, X, y)
    except BaseException as exc:
        check_error(est, exc)
        return
    for key, value in fitted_arrays(est):
        if value.dtype.kind == "f":
            assert np.all(np.isfinite(value)), key
    for out in outputs(est, name, X):
        assert out.dtype == X.dtype
        assert out.shape[0] == X.shape[0]
        assert np.all(np.isfinite(out))
    if name == "factorization":
        assert est.transform(X).shape == (X.shape[0], est.n_components_)
        assert np.isfinite(est.score(X))
    if name == "imputer":
        assert est.transform(X).shape == X.shape
        np.testing.assert_array_equal(est.transform(X), X)  # nothing missing
    if name in SUPERVISED:
        assert est.predict(X).shape == y.shape


# -- 2. the caller's arrays are never modified ------------------------------------
@pytest.mark.parametrize("name", ESTIMATORS)
@settings(max_examples=20, **SETTINGS)
@given(data=st.data())
def test_inputs_are_not_modified(name, data):
    """fit, transform, predict and score leave the caller's arrays untouched
    (also when NaN marks missing entries for the estimators that accept it)."""
    X, y = data.draw(problems(name))
    if name in ("factorization", "imputer") and data.draw(st.booleans()):
        mask = data.draw(hnp.arrays(bool, X.shape, elements=st.booleans()))
        X[mask] = np.nan
    X0 = X.copy()
    y0 = None if y is None else y.copy()
    est = make(name)
    with contextlib.suppress(Exception):  # fit errors: contract 1
        fit(est, X, y)
        np.testing.assert_array_equal(X, X0)
        for _ in outputs(est, name, X):
            np.testing.assert_array_equal(X, X0)
        with warnings.catch_warnings():
            # score's own overflow is test_supervised_score_is_finite
            warnings.simplefilter("ignore", RuntimeWarning)
            if name == "factorization":
                est.score(X)
            elif name in SUPERVISED:
                est.score(X, y)
    np.testing.assert_array_equal(X, X0)
    if y is not None:
        np.testing.assert_array_equal(y, y0)


@pytest.mark.parametrize("name", sorted(SUPERVISED))
@settings(max_examples=20, **SETTINGS)
@example(X=np.array([[0, 1], [1, 0], [1, 1]], dtype=np.float32) * np.float32(1e20))
@given(X=matrices(dtype=np.float32))
def test_supervised_score_is_finite(name, X):
    """score(X, y) of a fitted regressor is finite without a RuntimeWarning,
    at any scale its fit accepts (float32 included)."""
    y = X[:, 0].copy()
    est = make(name)
    try:
        fit(est, X, y)
    except Exception:  # whether fit may raise is test_fit_is_finite_or_clear_error
        return
    assert np.isfinite(est.score(X, y))


@settings(max_examples=10, **SETTINGS)
@example(exponent=-232)
@given(exponent=st.integers(-300, -150))
def test_sensing_fit_tiny_design_zero_response(exponent):
    """MatrixSensingPrecGD on a design of scale 10**exponent and y = 0: a
    finite fit or a clear ValueError (not OverflowError)."""
    X = np.full((2, 2), 10.0**exponent)
    est = make("sensing")
    try:
        fit(est, X, np.zeros(2))
    except BaseException as exc:
        check_error(est, exc)
        return
    assert np.isfinite(est.learning_rate_)


# -- 3. a failed fit changes nothing ------------------------------------------------
def _bad_inputs(X, y):
    """Inputs every estimator must reject (with the good X as a template)."""
    inf = X.copy()
    inf[0, 0] = np.inf
    yield inf, y
    yield X[:, :1].ravel(), y  # 1-d
    yield np.array([["a"] * X.shape[1]] * X.shape[0]), y
    yield X[:, :0], y  # no features
    if y is not None:
        bad_y = y.copy()
        bad_y[0] = np.nan
        yield X, bad_y
        yield X, y[:-1]


@pytest.mark.parametrize("name", ESTIMATORS)
@settings(max_examples=15, **SETTINGS)
@given(data=st.data())
def test_failed_refit_leaves_estimator_unchanged(name, data):
    """A fit that raises leaves vars(est) exactly as before the call, also on
    an estimator that was fitted before (bad data or a bad parameter)."""
    X, y = data.draw(problems(name, dtype=np.float64))
    est = make(name)
    with contextlib.suppress(Exception):
        fit(est, X, y)
    for X_bad, y_bad in _bad_inputs(X, y):
        before = snapshot(est)
        with pytest.raises((ValueError, TypeError)):
            fit(est, X_bad, y_bad)
        assert same(vars(est), before)
    # a bad parameter, set before the call
    est.set_params(max_iter=0)
    before = snapshot(est)
    with pytest.raises(ValueError):
        fit(est, X, y)
    assert same(vars(est), before)


# -- 4. fit_transform and row subsets ----------------------------------------------
def _close(a, b):
    dtype = np.result_type(a, b)
    eps = float(np.finfo(dtype).eps)
    top = max(float(np.max(np.abs(a), initial=0)), float(np.max(np.abs(b), initial=0)))
    np.testing.assert_allclose(a, b, rtol=1e3 * eps, atol=1e3 * eps * top)


@pytest.mark.parametrize("name", ["factorization", "imputer"])
@settings(max_examples=25, **SETTINGS)
@given(data=st.data())
def test_fit_transform_equals_fit_then_transform(name, data):
    """fit_transform(X) equals fit(X).transform(X) (same seed), NaN or not."""
    X, _ = data.draw(problems(name))
    if data.draw(st.booleans()):
        X = X.copy()
        X[data.draw(st.integers(0, X.shape[0] - 1)), 0] = np.nan
    a, b = make(name), make(name)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            Z1 = a.fit_transform(X)
    except (ValueError, TypeError) as exc:
        check_error(a, exc)
        return
    Z2 = fit(b, X, None).transform(X)
    _close(Z1, Z2)


@pytest.mark.parametrize("name", ESTIMATORS)
@settings(max_examples=20, **SETTINGS)
@given(data=st.data())
def test_outputs_on_row_subset_are_row_subset(name, data):
    """transform/predict of a subset of rows is that subset of the outputs."""
    X, y = data.draw(problems(name))
    est = make(name)
    try:
        fit(est, X, y)
    except Exception:  # whether fit may raise is test_fit_is_finite_or_clear_error
        return
    idx = data.draw(
        st.lists(st.integers(0, X.shape[0] - 1), min_size=1, max_size=X.shape[0])
    )
    for full, part in zip(outputs(est, name, X), outputs(est, name, X[idx])):
        _close(part, full[idx])


# -- 5. NaN masks ---------------------------------------------------------------------
@pytest.mark.parametrize("name", ["factorization", "imputer"])
@settings(max_examples=40, **SETTINGS)
@given(data=st.data())
def test_nan_masks_give_finite_result_or_clear_error(name, data):
    """Random NaN masks (entire rows/columns included): a finite result, with
    observed entries kept by the imputer, or a clear ValueError."""
    X, _ = data.draw(problems(name))
    mask = data.draw(hnp.arrays(bool, X.shape, elements=st.booleans()))
    if data.draw(st.booleans()):
        mask[data.draw(st.integers(0, X.shape[0] - 1))] = True
    if data.draw(st.booleans()):
        mask[:, data.draw(st.integers(0, X.shape[1] - 1))] = True
    X = X.copy()
    X[mask] = np.nan
    est = make(name)
    try:
        fit(est, X, None)
        out = est.transform(X)
    except BaseException as exc:
        check_error(est, exc)
        return
    assert out.dtype == X.dtype
    assert np.all(np.isfinite(out))
    for _, value in fitted_arrays(est):
        if value.dtype.kind == "f" and name == "factorization":
            assert np.all(np.isfinite(value))
    if name == "imputer":
        kept = ~np.isnan(X).all(axis=0)
        assert out.shape == (X.shape[0], int(kept.sum()))
        observed = ~np.isnan(X[:, kept])
        np.testing.assert_array_equal(out[observed], X[:, kept][observed])


# -- 6. the command line --------------------------------------------------------------
def _npy_bytes(array):
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


@st.composite
def file_contents(draw):
    """(extension, bytes): garbage, valid files, and mutated valid files."""
    ext = draw(st.sampled_from([".npy", ".csv", ".mtx"]))
    kind = draw(st.sampled_from(["garbage", "valid", "mutated"]))
    if kind == "garbage":
        return ext, draw(st.binary(max_size=200))
    A = draw(matrices())
    if draw(st.booleans()):
        A = A.copy()
        A[draw(hnp.arrays(bool, A.shape, elements=st.booleans()))] = np.nan
    if ext == ".npy":
        dtype = draw(
            st.sampled_from(["float64", "float32", "float16", "int8", "bool", "c16"])
        )
        with np.errstate(all="ignore"):
            content = _npy_bytes(np.nan_to_num(A).astype(dtype))
    elif ext == ".csv":
        lines = [",".join(repr(float(v)) for v in row) for row in A]
        if draw(st.booleans()):
            lines.insert(0, ",".join(f"c{j}" for j in range(A.shape[1])))
        content = "\n".join(lines).encode()
    else:
        m, n = A.shape
        rows = [
            f"{i + 1} {j + 1} {A[i, j]!r}"
            for i in range(m)
            for j in range(n)
            if A[i, j] != 0
        ]
        content = (
            "%%MatrixMarket matrix coordinate real general\n"
            f"{m} {n} {len(rows)}\n" + "\n".join(rows) + "\n"
        ).encode()
    if kind == "mutated" and content:
        content = bytearray(content)
        for _ in range(draw(st.integers(1, 5))):
            op = draw(st.sampled_from(["flip", "truncate", "insert"]))
            i = draw(st.integers(0, max(len(content) - 1, 0)))
            if op == "flip" and content:
                content[i] = draw(st.integers(0, 255))
            elif op == "truncate":
                del content[i:]
            else:
                content[i:i] = draw(st.binary(min_size=1, max_size=8))
        content = bytes(content)
    return ext, content


OPTION_VALUES = st.one_of(
    st.text(max_size=12),
    st.sampled_from(
        ["0", "-1", "1", "2", "nan", "inf", "-inf", "1e-300", "1e308", "auto", "1e999"]
    ),
    st.integers(-5, 50).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)
OPTIONS = ["--n-components", "--learning-rate", "--tol", "--max-iter"]


def _run_cli(argv):
    err, out = io.StringIO(), io.StringIO()
    with (
        contextlib.redirect_stderr(err),
        contextlib.redirect_stdout(out),
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("ignore", ConvergenceWarning)
        code = main(argv)
    return code, err.getvalue()


def _check_cli(code, err):
    assert code in (0, 2), (code, err)
    assert "Traceback" not in err
    if code == 2:
        lines = err.splitlines()
        assert len(lines) == 1, err
        assert lines[0].startswith("skfactor"), err


@settings(max_examples=60, **SETTINGS)
@given(content=file_contents())
def test_cli_fit_on_hostile_files(content):
    """``skfactor fit FILE`` on garbage, valid or corrupted .npy/.csv/.mtx files
    returns 0 or 2, never raises; on 2 one stderr line starting "skfactor"."""
    ext, payload = content
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "data" + ext)
        with open(path, "wb") as handle:
            handle.write(payload)
        argv = ["fit", path, "--quiet", "--max-iter", "20", "--n-components", "2"]
        argv += ["--out", os.path.join(folder, "factors")]
        code, err = _run_cli(argv)
    _check_cli(code, err)


@settings(max_examples=60, **SETTINGS)
@given(
    options=st.lists(
        st.tuples(st.sampled_from(OPTIONS), OPTION_VALUES, st.booleans()),
        max_size=4,
    )
)
def test_cli_fit_with_hostile_options(options):
    """Random strings for --n-components, --learning-rate, --tol, --max-iter:
    ``main`` returns 0 or 2, never raises; on 2 one stderr line "skfactor...".
    """
    rng = np.random.RandomState(0)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "data.npy")
        np.save(path, rng.standard_normal((6, 5)))
        argv = ["fit", path, "--quiet", "--max-iter", "20"]
        for option, value, joined in options:
            argv += [f"{option}={value}"] if joined else [option, value]
        code, err = _run_cli(argv)
    _check_cli(code, err)


HOSTILE_VALUES = st.one_of(
    st.text(max_size=8),
    st.sampled_from(
        ["0", "-1", "nan", "inf", "-inf", "1e999", "4294967296", ",", "", " "]
    ),
    st.integers(-3, 40).map(str),
)
#: each option's valid values (sizes kept small); a fifth of draws are hostile
COMPARE_VALUES = {
    "--n-samples": st.integers(1, 12).map(str),
    "--n-features": st.integers(1, 12).map(str),
    "--rank": st.integers(1, 6).map(str),
    "--n-components": st.integers(1, 14).map(str),
    "--condition-number": st.one_of(
        st.floats(1, 1e12).map(repr), st.sampled_from(["1", "1e300", "1.0000001"])
    ),
    "--tol": st.sampled_from(["0", "1e-300", "1e-12", "1e-8", "0.5", "1", "10"]),
    "--max-iter": st.integers(1, 20).map(str),
    "--random-state": st.integers(0, 2**32 - 1).map(str),
    "--optimizers": st.lists(
        st.sampled_from(list(OPTIMIZERS)),
        min_size=1,
        max_size=3,
    ).map(",".join),
    "--problem": st.sampled_from(
        ["factorization", "sensing", "completion", "linear-net"]
    ),
}


@st.composite
def compare_options(draw):
    options = draw(
        st.lists(st.sampled_from(sorted(COMPARE_VALUES)), max_size=6, unique=True)
    )
    argv = []
    for option in options:
        hostile = draw(st.integers(0, 4)) == 4
        value = draw(HOSTILE_VALUES if hostile else COMPARE_VALUES[option])
        if option == "--max-iter" and value.isdigit() and int(value) > 20:
            value = "20"
        joined = draw(st.booleans())
        argv += [f"{option}={value}"] if joined else [option, value]
    return argv


@settings(max_examples=80, **SETTINGS)
@given(options=compare_options())
def test_cli_compare_with_hostile_options(options):
    """``skfactor compare`` with random option values (sizes kept small, the
    iteration count capped): 0 or 2, never raises; on 2 one stderr line and
    nothing on stdout; on 0 a title, a header, a rule and one row per
    optimizer with a finite error."""
    argv = ["compare", "--n-samples", "8", "--n-features", "6", "--rank", "2"]
    argv += ["--max-iter", "20", *options]
    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        code = main(argv)
    _check_cli(code, err.getvalue())
    if code == 2:
        assert out.getvalue() == ""
    else:
        lines = out.getvalue().splitlines()
        assert len(lines) >= 4 and lines[1].split()[0] == "optimizer"
        for row in lines[3:]:
            assert row.split()[-1] in ("yes", "no")
            assert np.isfinite(float(row.split()[3]))


# -- 6b. CLI reproducers the random search rarely reaches --------------------------
HUGE = 10**15  # any allocation of this many elements fails at once, anywhere


def _npy_header_only(shape):
    """A valid .npy header declaring ``shape``, followed by 80 zero bytes."""
    header = repr({"descr": "<f8", "fortran_order": False, "shape": shape}).encode()
    header += b" " * (-(len(header) + 11) % 64) + b"\n"
    return (
        b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header + b"\0" * 80
    )


@pytest.mark.parametrize(
    "ext, payload",
    [
        (".npy", _npy_header_only((HUGE, 10))),
        (
            ".mtx",
            b"%%MatrixMarket matrix coordinate real general\n"
            + f"{HUGE} {HUGE} 1\n1 1 1.0\n".encode(),
        ),
        (".mtx", b"%%MatrixMarket matrix array real general\n100000000 100000000\n1\n"),
        (
            ".mtx",
            b"%%MatrixMarket matrix coordinate integer general\n"
            b"2 2 1\n1 1 99999999999999999999999\n",
        ),
    ],
    ids=["npy-huge-shape", "mtx-huge-coordinate", "mtx-huge-array", "mtx-int-overflow"],
)
def test_cli_fit_on_files_with_hostile_headers(tmp_path, ext, payload):
    """A file whose header declares an impossible size, or an integer entry out
    of range, is a bad file: exit code 2 and one line, not an exception."""
    path = tmp_path / ("data" + ext)
    path.write_bytes(payload)
    code, err = _run_cli(["fit", str(path), "--quiet", "--max-iter", "5"])
    _check_cli(code, err)


@pytest.mark.parametrize("option", ["--max-iter", "--n-components"])
def test_cli_error_is_one_line_for_values_with_newlines(tmp_path, option):
    """A rejected option value prints exactly one stderr line, whatever the
    value's characters (here '-5' with a trailing newline)."""
    path = tmp_path / "data.npy"
    np.save(path, np.ones((4, 3)))
    code, err = _run_cli(["fit", str(path), "--quiet", option, "-5\n"])
    _check_cli(code, err)
