"""Array API devices: time per iteration on the data's device, against the two
products no iteration can avoid there and against numpy on this machine's CPU.

The fit runs with scikit-learn's ``array_api_dispatch`` on a tensor of the
best library found (torch on CUDA, then CuPy, then torch on the CPU, then
array-api-strict) and the script says which. For each case:

- ``iteration``: the median solver iteration of ``FactorizationNAG``
  (``optimizer="nag"``, the solver's own time stamps: the start excluded);
- ``products``: the same iteration's unavoidable work on the same device,
  ``A @ Y`` and ``A.T @ X``, timed with a synchronisation;
- ``numpy``: the numpy fit's median iteration on the host CPU;
- ``peak``: peak device memory of the fit above the data (CUDA only).

Dense Gaussian 4000×3000 and 20000×10000 (float32, float64; d = 5, 20, 80),
as the CPU roofline (``benchmarks.roofline``); ``MatrixCompletionRegressor``
with 1M and 25M ratings (float32, rank 20) against the floor of its passes on
the device (two gathers, a row-wise dot, two scatter-adds). Then whole fits of the other
estimators and paths with device input against numpy input, each labelled
with where it runs (the device, or a host copy).

    python -m benchmarks.gpu [--quick]
"""

import os
import time

os.environ.setdefault("SCIPY_ARRAY_API", "1")  # scikit-learn's dispatch asks for it

import numpy as np
import sklearn

from skfactor import (
    FactorizationNAG,
    LinearNetRegressor,
    LowRankImputer,
    MatrixCompletionRegressor,
    MatrixSensingPrecGD,
)
from skfactor.datasets import make_ratings

from ._timing import cli, print_table


def find_device():
    """``(name, to_device, synchronize, peak_memory, reset_peak)`` for the
    best array library available here."""
    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None and torch.cuda.is_available():
        name = f"torch {torch.__version__} on {torch.cuda.get_device_name(0)}"
        return (
            name,
            lambda a: torch.asarray(a, device="cuda"),
            torch.cuda.synchronize,
            torch.cuda.max_memory_allocated,
            torch.cuda.reset_peak_memory_stats,
        )
    try:
        import cupy

        if cupy.cuda.runtime.getDeviceCount():
            pool = cupy.get_default_memory_pool()
            return (
                f"CuPy {cupy.__version__} on GPU 0",
                cupy.asarray,
                cupy.cuda.Device().synchronize,
                pool.total_bytes,
                lambda: None,
            )
    except ImportError:
        pass
    if torch is not None:
        return (
            f"torch {torch.__version__} on the CPU (no GPU here)",
            torch.asarray,
            lambda: None,
            None,
            lambda: None,
        )
    import array_api_strict

    return (
        f"array-api-strict {array_api_strict.__version__} (no GPU, no torch here)",
        array_api_strict.asarray,
        lambda: None,
        None,
        lambda: None,
    )


def _median_iteration(est):
    stamps = np.concatenate([[0.0], np.asarray(est._array_host["time_curve_"])])
    return float(np.median(np.diff(stamps)))


def _numpy_iteration(est):
    return float(np.median(np.diff(np.concatenate([[0.0], est.time_curve_]))))


def _products(A, X, Y, synchronize, repeats=5):
    """Median time of ``A @ Y`` and ``A.T @ X`` on the device."""
    times = []
    for _ in range(repeats + 1):
        synchronize()
        start = time.perf_counter()
        P, Q = A @ Y, A.T @ X
        synchronize()
        times.append(time.perf_counter() - start)
        del P, Q
    return float(np.median(times[1:]))


def _low_rank(m, n, rank, dtype, seed=0):
    rng = np.random.RandomState(seed)
    A = rng.standard_normal((m, rank)) @ rng.standard_normal((rank, n))
    A += 0.1 * rng.standard_normal((m, n))
    return A.astype(dtype)


def dense(quick, device):
    name, move, synchronize, peak, reset = device
    sizes = [(1000, 800)] if quick else [(4000, 3000), (20000, 10000)]
    widths = [5, 20] if quick else [5, 20, 80]
    n_iter = 6 if quick else 20
    rows = []
    for m, n in sizes:
        # Gaussian data, as the CPU roofline: the loss stays far above the
        # level where it is recomputed exactly (a third pass over A)
        dense = np.random.RandomState(0).standard_normal((m, n))
        for dtype in (np.float32, np.float64):
            A = dense.astype(dtype)
            A_device = move(A)
            for d in widths:
                est = FactorizationNAG(
                    d, optimizer="nag", max_iter=n_iter, tol=0.0, random_state=0
                )
                reset()
                before = peak() if peak else None
                with sklearn.config_context(array_api_dispatch=True):
                    fitted = sklearn.clone(est).fit(A_device)
                used = (peak() - before) / 2**20 if peak else None
                iteration = _median_iteration(fitted)
                X = move(fitted._array_host["left_factor_"])
                Y = move(fitted._array_host["right_factor_"])
                floor = _products(A_device, X, Y, synchronize)
                host = _numpy_iteration(sklearn.clone(est).fit(A))
                rows.append(
                    (
                        f"{m}x{n}",
                        np.dtype(dtype).name,
                        str(d),
                        f"{1e3 * floor:.2f}",
                        f"{1e3 * iteration:.2f}",
                        f"{iteration / floor:.2f}",
                        f"{1e3 * host:.2f}",
                        f"{host / iteration:.1f}",
                        "n/a" if used is None else f"{used:.0f}",
                    )
                )
            del A_device
    print_table(
        f"FactorizationNAG(optimizer='nag') on {name}: ms per iteration",
        (
            "data",
            "dtype",
            "d",
            "products",
            "iteration",
            "x products",
            "numpy CPU",
            "speed-up",
            "peak MiB",
        ),
        rows,
    )
    return rows


def other_estimators(quick, device):
    """Whole fits with device input against numpy input, and where each runs."""
    name, move, *_ = device
    rng = np.random.RandomState(0)
    rows = []
    m, n = (400, 300) if quick else (4000, 3000)
    holes = rng.standard_normal((m, n))
    holes[rng.rand(m, n) < 0.05] = np.nan
    n_ratings = 20_000 if quick else 1_000_000
    shape = (600, 400) if quick else (20_000, 5_000)
    X_r, y_r = make_ratings(*shape, n_ratings, random_state=0)[:2]
    design = rng.standard_normal((2000 if quick else 100_000, 50))
    targets = design @ rng.standard_normal((50, 10))
    n1, n2 = (10, 8) if quick else (40, 30)
    sensing = rng.standard_normal((1000 if quick else 20_000, n1 * n2))
    coef = rng.standard_normal((n1, 3)) @ rng.standard_normal((3, n2))
    measured = sensing @ coef.ravel()
    cases = [
        (
            "FactorizationNAG, 5% NaN",
            "device (masked blocks)",
            FactorizationNAG(5, max_iter=20, tol=0.0, random_state=0),
            holes,
            None,
        ),
        (
            "LowRankImputer, 5% NaN",
            "device (masked blocks)",
            LowRankImputer(n_components=5, max_iter=20, tol=0.0, random_state=0),
            holes,
            None,
        ),
        (
            "MatrixSensingPrecGD, dense design",
            "device",
            MatrixSensingPrecGD(
                rank=3, shape=(n1, n2), max_iter=30, tol=0.0, random_state=0
            ),
            sensing,
            measured,
        ),
        (
            "LinearNetRegressor",
            "statistics on device",
            LinearNetRegressor(max_iter=50, random_state=0),
            design,
            targets,
        ),
        (
            f"MatrixCompletionRegressor, {n_ratings} ratings",
            "device (torch, CuPy)"
            if name.startswith(("torch", "CuPy")) and "on the CPU" not in name
            else "host (faster on torch's CPU)",
            MatrixCompletionRegressor(10, alpha=0.05, max_iter=20, random_state=0),
            X_r,
            y_r,
        ),
    ]
    if "on the CPU" in name:  # torch's CPU: these take the host path
        faster = "host (faster on torch's CPU)"
        cases[0] = (cases[0][0], faster, *cases[0][2:])
        cases[1] = (cases[1][0], faster, *cases[1][2:])
    for label, where, est, X, y in cases:
        start = time.perf_counter()
        sklearn.clone(est).fit(X, y)
        host = time.perf_counter() - start
        Xd = move(X)
        yd = None if y is None else move(y)
        start = time.perf_counter()
        with sklearn.config_context(array_api_dispatch=True):
            sklearn.clone(est).fit(Xd, yd)
        moved = time.perf_counter() - start
        rows.append(
            (label, where, f"{host:.3f}", f"{moved:.3f}", f"{host / moved:.2f}")
        )
    print_table(
        f"Whole fits, numpy input against device input ({name}): seconds",
        ("case", "runs", "numpy input", "device input", "speed-up"),
        rows,
    )
    return rows


def _ratings_floor(est, X, move, synchronize, repeats=5):
    """The unavoidable work of a completion iteration on the device: the
    model at the entries (two gathers, a row-wise dot) and the gradient's two
    scatter-adds, at the fitted width."""
    from skfactor._array_api import Space
    from skfactor._objectives._completion import _scatter_add

    rows = move(est._array_host["row_ids_"].searchsorted(X[:, 0]).astype(np.int64))
    cols = move(est._array_host["column_ids_"].searchsorted(X[:, 1]).astype(np.int64))
    width = est._array_host["_factors"][0].shape[1]
    rng = np.random.RandomState(0)
    dtype = est._array_host["_factors"][0].dtype
    L = move(rng.standard_normal((len(est.row_ids_), width)).astype(dtype))
    R = move(rng.standard_normal((len(est.column_ids_), width)).astype(dtype))
    space = Space.of(L)
    xp = space.xp
    times = []
    for _ in range(repeats + 1):
        synchronize()
        start = time.perf_counter()
        left, right = xp.take(L, rows, axis=0), xp.take(R, cols, axis=0)
        q = xp.sum(left * right, axis=1)
        _scatter_add(space, L.shape[0], rows, right * q[:, None])
        _scatter_add(space, R.shape[0], cols, left * q[:, None])
        synchronize()
        times.append(time.perf_counter() - start)
    return float(np.median(times[1:]))


def ratings(quick, device):
    """``MatrixCompletionRegressor`` per iteration on the device against its
    floor there and against numpy on the host."""
    name, move, synchronize, peak, reset = device
    if not name.startswith(("torch", "CuPy")):
        print(f"Ratings on {name}: no scatter-add in this library (host copy)\n")
        return []
    # timed on the device even on torch's CPU, where fits take the host path
    import skfactor._array_api

    skfactor._array_api.DEVICE_PASSES_ON_CPU = True
    cases = (
        [((600, 400), 20_000, 5)]
        if quick
        else [
            ((20_000, 5_000), 1_000_000, 10),
            ((160_000, 60_000), 25_000_000, 4),
        ]
    )
    rows = []
    for shape, n_ratings, n_iter in cases:
        X, y = make_ratings(*shape, n_ratings, rank=20, random_state=0)[:2]
        X, y = X.astype(np.int64), y.astype(np.float32)
        est = MatrixCompletionRegressor(
            20,
            alpha=0.05,
            early_stopping=False,
            max_iter=n_iter,
            tol=0.0,
            random_state=0,
        )
        reset()
        before = peak() if peak else None
        with sklearn.config_context(array_api_dispatch=True):
            fitted = sklearn.clone(est).fit(move(X), move(y))
        used = (peak() - before) / 2**20 if peak else None
        iteration = _median_iteration(fitted)
        with sklearn.config_context(array_api_dispatch=True):
            floor = _ratings_floor(fitted, X, move, synchronize)
        host = _numpy_iteration(sklearn.clone(est).fit(X, y))
        rows.append(
            (
                f"{n_ratings}",
                "20",
                f"{1e3 * floor:.1f}",
                f"{1e3 * iteration:.1f}",
                f"{iteration / floor:.2f}",
                f"{1e3 * host:.1f}",
                f"{host / iteration:.1f}",
                "n/a" if used is None else f"{used:.0f}",
            )
        )
    skfactor._array_api.DEVICE_PASSES_ON_CPU = False
    print_table(
        f"MatrixCompletionRegressor(optimizer='heavy_ball') on {name}: "
        "ms per iteration",
        (
            "ratings",
            "rank",
            "floor",
            "iteration",
            "x floor",
            "numpy CPU",
            "speed-up",
            "peak MiB",
        ),
        rows,
    )
    return rows


def run(quick=False):
    device = find_device()
    print(f"Device: {device[0]}\n")
    print(
        "Sparse data: device sparse arrays are refused (TypeError); scipy.sparse "
        "input fits on the host (python -m benchmarks.roofline).\n"
    )
    return (
        dense(quick, device) + ratings(quick, device) + other_estimators(quick, device)
    )


if __name__ == "__main__":
    cli(run, __doc__)
