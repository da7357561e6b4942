"""Dask inputs: fits on data that stay on a dask scheduler.

A dask array (or DataFrame) given to ``fit`` is never gathered to the
client. The objective (:mod:`skfactor._objectives._dask`) keeps the row
factor in chunks beside the data's row chunks and persists it on the
scheduler's workers at every point; the column factor, the d×d Gram
matrices, the loss and the other small results are computed by
reductions and live on the client. Whatever scheduler is active runs the
work: a ``distributed.Client`` over a cluster, or dask's local threads.

Nothing here imports dask unless the input is a dask object (its module
is read from the type's name).
"""

import numpy as np


def is_dask(X):
    """Whether ``X`` is a dask collection (array, DataFrame, Series), read
    from its type's module: dask is not imported for other inputs."""
    return type(X).__module__.split(".")[0] == "dask"


def _da():
    import dask.array as da

    return da


def as_dask_array(X, name="X"):
    """A dask array with known chunk sizes from a dask array, DataFrame or
    Series (a frame's partitions become row chunks)."""
    if hasattr(X, "to_dask_array"):
        X = X.to_dask_array(lengths=True)
    da = _da()
    if not isinstance(X, da.Array):
        raise TypeError(
            f"{name} is a {type(X).__name__} of dask: pass a dask array or a "
            "dask DataFrame."
        )
    if any(np.isnan(c) for chunks in X.chunks for c in chunks):
        raise ValueError(
            f"{name} is a dask array of unknown chunk sizes (its shape is "
            f"{X.shape}): call {name}.compute_chunk_sizes() first, or build "
            "it with known sizes."
        )
    return X


def _names_only(X):
    """A dask DataFrame's columns as an empty pandas frame (what
    scikit-learn's feature-name checks read); anything else as it is."""
    columns = getattr(X, "columns", None)
    if columns is None or not hasattr(X, "to_dask_array"):
        return X
    import pandas as pd

    return pd.DataFrame(columns=list(columns))


def check_dask_array(
    estimator,
    X,
    *,
    reset,
    ensure_2d=True,
    dtypes=(np.float64, np.float32),
    name="X",
    ensure_min_features=1,
):
    """``validate_data`` for a dask input, without reading it.

    Feature names (a dask DataFrame's columns) and ``n_features_in_`` are
    checked or set as scikit-learn's ``validate_data`` does; integer and
    boolean data become the first of ``dtypes`` (lazily); complex and object
    data are refused. Entries are checked where the fit first reads them
    (:func:`summarize`), never here.
    """
    from sklearn.utils.validation import _check_feature_names, _check_n_features

    if estimator is not None:
        _check_feature_names(estimator, _names_only(X), reset=reset)
    X = as_dask_array(X, name)
    if ensure_2d and X.ndim != 2:
        raise ValueError(
            f"Expected a 2D dask array for {name}, got {X.ndim}D (shape "
            f"{X.shape}). Reshape it, e.g. {name}.reshape(-1, 1) for a single "
            "feature."
        )
    kind = X.dtype.kind
    if kind == "c":
        raise ValueError(f"{name}: complex data not supported ({X.dtype}).")
    if kind not in "biuf":
        raise TypeError(
            f"{name} is a dask array of dtype {X.dtype}: pass numeric data "
            "(float64 or float32)."
        )
    if X.dtype not in [np.dtype(d) for d in dtypes]:
        X = X.astype(dtypes[0])
    if X.shape[0] < 1:
        raise ValueError(
            f"Found array with 0 sample(s) (shape={X.shape}) while a minimum "
            "of 1 is required."
        )
    if X.ndim == 2 and X.shape[1] < ensure_min_features:
        raise ValueError(
            f"Found array with 0 feature(s) (shape={X.shape}) while a minimum "
            f"of {ensure_min_features} is required."
        )
    if estimator is not None and X.ndim == 2:
        _check_n_features(estimator, X, reset=reset)
    return X


def rows_like(A, F):
    """``F`` (numpy, or dask) as a dask array chunked like ``A``'s rows, in
    one column chunk."""
    da = _da()
    chunks = (A.chunks[0], (F.shape[1],))
    if isinstance(F, da.Array):
        return F if F.chunks == chunks else F.rechunk(chunks)
    return da.from_array(np.asarray(F), chunks=chunks, name=False)


def columns_like(A, F):
    """A numpy ``F`` (n×b) chunked like ``A``'s columns: the broadcast
    operand of ``A @ F``."""
    return _da().from_array(F, chunks=(A.chunks[1], (F.shape[1],)), name=False)


def _dense(a):
    """A chunk's product as a dense ndarray (scipy returns matrices for
    some sparse products)."""
    return a.toarray() if hasattr(a, "toarray") else np.asarray(a)


def _chunk_dot(a, f):
    return _dense(a @ f)[:, None, :]


def _chunk_tdot(a, x):
    return _dense(a.T @ x)[None, :, :]


def matmul(A, F):
    """``A @ F`` for a dask ``A`` of dense or sparse chunks and ``F`` (n×b,
    numpy or dask): blockwise products of ``A``'s chunks with ``F``'s rows,
    summed over ``A``'s column chunks. Chunked like ``A``'s rows."""
    if not is_dask(F):
        F = columns_like(A, np.asarray(F))
    elif F.chunks[0] != A.chunks[1]:
        F = F.rechunk((A.chunks[1], (F.shape[1],)))
    return _summed_blocks(_chunk_dot, A, F, "jk", "j")


def rmatmul(A, X):
    """``Aᵀ @ X`` for a dask ``A`` of dense or sparse chunks and ``X`` (m×b,
    chunked like ``A``'s rows): blockwise ``Aᵢⱼᵀ Xᵢ``, tree-summed over the
    row chunks. A lazy n×b dask array."""
    return _summed_blocks(_chunk_tdot, A, rows_like(A, X), "ik", "i")


def _summed_blocks(kernel, A, F, index, summed):
    """``kernel(Aᵢⱼ, F's block)`` for every chunk of ``A`` (indices ``ij``;
    ``F``'s are ``index``), each result with a length-1 axis for the index
    ``summed`` of ``A``'s that the product contracts, then summed over it by
    dask's tree reduction."""
    dtype = np.result_type(A.dtype, F.dtype)
    parts = _da().blockwise(
        kernel,
        "ijk",
        A,
        "ij",
        F,
        index,
        dtype=dtype,
        adjust_chunks={summed: 1},
        meta=np.empty((0, 0, 0), dtype=dtype),
    )
    return parts.sum(axis="ij".index(summed), dtype=dtype)


def persist(*collections):
    """``dask.persist`` on the active scheduler: the collections' chunks
    computed and kept where they are (the workers of a ``distributed``
    client), their graphs cut."""
    import dask

    return _guarded(dask.persist, *collections)


def compute(*collections):
    """``dask.compute`` on the active scheduler, its results on the client."""
    import dask

    return _guarded(dask.compute, *collections)


class DaskWorkerLost(RuntimeError):
    """A worker holding the persisted row factor was lost during a fit."""


def _guarded(run, *collections):
    """``run(*collections)``, turning the errors of a lost worker into a
    clear one: the persisted iterate's lineage is cut at every point, so
    dask cannot recompute what the worker held."""
    try:
        return run(*collections)
    except Exception as error:
        kind = type(error).__name__
        lost = kind in ("KilledWorker", "FutureCancelledError", "CancelledError") or (
            "lost" in str(error).lower() and "worker" in str(error).lower()
        )
        if not lost:
            raise
        if kind == "KilledWorker":
            raise DaskWorkerLost(
                "Tasks of the fit killed every dask worker that ran them "
                f"({error}). Most often a chunk and its products exceed the "
                "workers' memory limit: use smaller chunks (X.rechunk) or give "
                "the workers more memory. The estimator was left as it was "
                "before the call."
            ) from error
        raise DaskWorkerLost(
            "A dask worker holding part of the fit's persisted state was lost "
            f"({kind}: {error}). The fit cannot continue from the lost "
            "chunks; it was abandoned and the estimator left as it was before "
            "the call. Fit again once the cluster is healthy (persist X first "
            "if its source is slow to read)."
        ) from error


def _chunk_entries(a):
    """A chunk's stored values and their column indices (all entries of a
    dense chunk, the stored ones of a sparse chunk)."""
    if hasattr(a, "tocoo"):
        coo = a.tocoo()
        return coo.data, coo.col
    return a, None


#: Elements of a dense chunk a kernel reads at once (8 MiB in float64): a
#: worker's memory holds its chunk and a few such pieces, never a float64
#: copy of the chunk.
PIECE_ELEMENTS = 1 << 20


def _rows_in_pieces(a):
    """Row ranges of ``a`` in pieces of at most ``PIECE_ELEMENTS`` entries (a
    sparse chunk: one piece, its stored entries)."""
    m = a.shape[0]
    if hasattr(a, "tocoo") or m == 0:
        return [(0, m)]
    step = max(1, PIECE_ELEMENTS // max(a.shape[1], 1))
    return [(start, min(start + step, m)) for start in range(0, m, step)]


def _by_pieces(kernel, merge):
    """A chunk kernel run piece by piece (:func:`_rows_in_pieces` of its first
    argument, the others sliced alike where they have rows) and merged."""

    def chunk_kernel(a, *others):
        pieces = _rows_in_pieces(a)
        if len(pieces) == 1:
            return kernel(a, *others)
        parts = []
        for start, stop in pieces:
            sliced = [
                o if o is None or np.ndim(o) == 0 else o[start:stop] for o in others
            ]
            parts.append(kernel(a[start:stop], *sliced))
        return parts[0] if len(parts) == 1 else merge(*parts)

    chunk_kernel.__name__ = kernel.__name__.replace("_piece", "_chunk")
    return chunk_kernel


def _piece_summary(a):
    """``[[max|a|, any inf, Σa², missing…]]`` of one piece (NaN ignored; the
    NaN count of each of its columns after the first three)."""
    values, cols = _chunk_entries(a)
    nan = np.isnan(values)
    finite = np.where(nan, 0, values)
    top = float(np.max(np.abs(finite))) if finite.size else 0.0
    infinite = float(np.isinf(finite).any())
    sq = float(np.sum(np.square(finite, dtype=np.float64)))
    if cols is None:
        missing = nan.sum(axis=0)
    else:
        missing = np.bincount(cols[nan], minlength=a.shape[1])
    return np.concatenate([[top, infinite, sq], missing])[None, None, :]


def _merge(*summaries):
    """Chunk summaries of the same columns merged (max, max, sums)."""
    stacked = np.concatenate(summaries, axis=0)
    out = stacked.sum(axis=0, keepdims=True)
    out[0, 0, :2] = stacked[:, 0, :2].max(axis=0)
    return out


_chunk_summary = _by_pieces(_piece_summary, _merge)


def tree_reduce(parts, combine, fan_in=8):
    """``combine(*parts)`` as a tree of delayed calls (fan-in 8), run where
    the parts are: the client receives the one result."""
    import dask

    parts = list(parts)
    while len(parts) > 1:
        parts = [
            dask.delayed(combine)(*parts[k : k + fan_in])
            for k in range(0, len(parts), fan_in)
        ]
    return parts[0]


def summarize(A, name="X", allow_nan=True):
    """One pass over ``A`` (dense or sparse chunks): what a fit needs to
    know of the data before it starts, and the check of its entries.

    Returns a dict with ``top`` (largest absolute entry, NaN ignored),
    ``sq_norm`` (``‖A‖²`` over observed entries, float64), ``missing`` (the
    number of NaN entries) and ``col_missing`` (NaN count per column).
    Raises the ``ValueError`` scikit-learn's input check raises for
    infinities (and for NaN with ``allow_nan=False``).
    """
    import dask

    blocks = A.to_delayed()
    per_column_chunk = [
        tree_reduce([dask.delayed(_chunk_summary)(b) for b in blocks[:, j]], _merge)
        for j in range(blocks.shape[1])
    ]
    (summaries,) = compute(per_column_chunk)
    rows = [summary[0, 0] for summary in summaries]
    top = max(row[0] for row in rows)
    infinite = max(row[1] for row in rows)
    sq_norm = float(sum(row[2] for row in rows))
    col_missing = np.concatenate([row[3:] for row in rows]).astype(np.int64)
    if infinite:
        raise ValueError(f"Input {name} contains infinity or a value too large.")
    missing = int(col_missing.sum())
    if missing and not allow_nan:
        raise ValueError(f"Input {name} contains NaN.")
    return {
        "top": float(top),
        "sq_norm": float(sq_norm),
        "missing": missing,
        "col_missing": col_missing,
    }


def scalar_results(values):
    """Dask 0-d arrays among ``values`` computed in one call; floats back."""
    values = list(values)
    lazy = [i for i, v in enumerate(values) if is_dask(v)]
    if lazy:
        done = compute(*(values[i] for i in lazy))
        for i, v in zip(lazy, done):
            values[i] = v
    return [float(v) for v in values]


def _chunk_residual(a, x, y, scale, ignore_nan):
    from ._linalg import residual_sq_norm as host_residual

    return np.array([[host_residual(a, x, y, scale, ignore_nan)]])


def residual_sq_norm(A, X, Y, scale=1.0, ignore_nan=False):
    """``‖XYᵀ − A‖²/scale²`` (observed entries with ``ignore_nan``) of a dask
    ``A`` (dense or sparse chunks) with the row factor ``X`` (dask or numpy)
    and a numpy ``Y``: the numpy kernel on each chunk (its rows of ``X``,
    its rows of ``Y``), the chunks' sums added by a tree reduction."""
    (total,) = compute(lazy_residual_sq_norm(A, X, Y, scale, ignore_nan))
    return float(total)


def lazy_residual_sq_norm(A, X, Y, scale=1.0, ignore_nan=False):
    """:func:`residual_sq_norm` as a lazy 0-d dask array (to compute in the
    same call as other passes over ``A``)."""
    da = _da()
    X = rows_like(A, X)
    Y = columns_like(A, np.asarray(Y, dtype=A.dtype))
    parts = da.blockwise(
        _chunk_residual,
        "ij",
        A,
        "ij",
        X,
        "ik",
        Y,
        "jk",
        dtype=np.float64,
        adjust_chunks={"i": 1, "j": 1},
        concatenate=True,
        meta=np.empty((0, 0)),
        scale=scale,
        ignore_nan=ignore_nan,
    )
    return parts.sum()


def _piece_moments(a):
    """``[count, mean, M2]`` of each column of a piece (observed entries;
    ``M2`` the sum of squares about the piece's mean)."""
    values, cols = _chunk_entries(a)
    values = np.asarray(values, dtype=np.float64)
    nan = np.isnan(values)
    clean = np.where(nan, 0.0, values)
    if cols is None:
        counts = (~nan).sum(axis=0).astype(np.float64)
        sums = clean.sum(axis=0)
    else:
        n = a.shape[1]
        counts = a.shape[0] - np.bincount(cols[nan], minlength=n).astype(np.float64)
        sums = np.bincount(cols, weights=clean, minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(counts > 0, sums / np.maximum(counts, 1), 0.0)
    if cols is None:
        squares = np.where(nan, 0.0, clean - means) ** 2
        m2 = squares.sum(axis=0)
    else:
        deviations = np.where(nan, 0.0, clean - means[cols])
        m2 = np.bincount(cols, weights=deviations**2, minlength=a.shape[1])
        stored = np.bincount(cols[~nan], minlength=a.shape[1])
        m2 += (counts - stored) * means**2  # the implicit zeros
    return np.stack([counts, means, m2])


def _merge_moments(*parts):
    """Column moments of disjoint row sets merged (Chan, Golub & LeVeque)."""
    n, mean, m2 = parts[0]
    for other in parts[1:]:
        nb, mb, m2b = other
        total = n + nb
        with np.errstate(invalid="ignore", divide="ignore"):
            weight = np.where(total > 0, nb / np.maximum(total, 1), 0.0)
        delta = mb - mean
        mean = mean + delta * weight
        m2 = m2 + m2b + delta**2 * n * weight
        n = total
    return np.stack([n, mean, m2])


_chunk_moments = _by_pieces(_piece_moments, _merge_moments)


def column_variance_sum(A):
    """``Σⱼ var(A[:, j])`` over observed entries (``ddof=0``), from each
    chunk's column moments merged in a tree on the workers (one pass,
    dense or sparse chunks); columns without an observed entry count 0."""
    import dask

    blocks = A.to_delayed()
    merged = [
        tree_reduce(
            [dask.delayed(_chunk_moments)(b) for b in blocks[:, j]], _merge_moments
        )
        for j in range(blocks.shape[1])
    ]
    (merged,) = compute(merged)
    counts, _, m2 = np.concatenate(merged, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        variances = np.where(counts > 0, m2 / np.maximum(counts, 1), 0.0)
    return float(variances.sum())


def max_abs(A):
    """The largest absolute entry of a dask ``A``, NaN ignored."""
    return summarize(A)["top"] if A.size else 0.0


def thin_qr(X):
    """``(Q, R)`` of a tall dask ``X`` (one column chunk) by dask's
    tall-skinny QR: ``Q`` persisted, chunked like ``X``; ``R`` on the
    client (one call: the graph is never submitted twice)."""
    da = _da()
    Q, R = persist(*da.linalg.qr(X.rechunk({1: -1})))
    (R,) = compute(R)
    return Q, np.asarray(R)


def without_dask(estimator):
    """A shallow copy of a fitted estimator without its dask attributes (a
    list's dask entries become None): what a task of ``map_rows`` carries.
    Made without ``copy.copy``, which would gather them (``__getstate__``)."""
    twin = object.__new__(type(estimator))
    for key, value in vars(estimator).items():
        if isinstance(value, list) and any(is_dask(v) for v in value):
            value = [None if is_dask(v) else v for v in value]
        if not is_dask(value):
            twin.__dict__[key] = value
    return twin


def gathered_state(state):
    """An estimator's ``__dict__`` with every dask array (and every dask
    entry of a list) computed to numpy in one call: a pickle is
    self-contained, whatever cluster made it."""
    found = []
    for key, value in state.items():
        if is_dask(value):
            found.append((key, None, value))
        elif isinstance(value, list):
            found.extend((key, i, v) for i, v in enumerate(value) if is_dask(v))
    if not found:
        return state
    state = dict(state)
    for key in {key for key, i, _ in found if i is not None}:
        state[key] = list(state[key])
    values = compute(*(v for _, _, v in found))
    for (key, i, _), value in zip(found, values):
        if i is None:
            state[key] = np.asarray(value)
        else:
            state[key][i] = np.asarray(value)
    return state


def map_rows(estimator, method, X, args=(), kwargs=None):
    """``method(estimator, X)`` of a fitted estimator on a dask ``X``: a lazy
    dask array chunked like ``X``'s rows, each chunk the method's result on
    the chunk's rows (numpy, or sparse chunks as they are).

    The method runs once at once on a row of zeros (so that a wrong number
    of features, or a wrong dtype, raises now, not at ``compute``), to read
    the output's width and dtype; feature names of a dask DataFrame are
    checked here too. Only methods whose rows depend on their own row alone
    (``transform``, ``predict``, ``inverse_transform``) are mapped."""
    from sklearn.utils.validation import _check_feature_names

    kwargs = kwargs or {}
    name = f"{type(estimator).__name__}.{method.__name__}()"
    if hasattr(X, "columns") and hasattr(estimator, "feature_names_in_"):
        _check_feature_names(estimator, _names_only(X), reset=False)
    X = as_dask_array(X, "X")
    twin = without_dask(estimator)
    twin.__dict__.pop("feature_names_in_", None)  # checked above, once
    if X.ndim == 2:
        X = X.rechunk({1: -1})
    if X.dtype.kind in "biu":
        X = X.astype(np.float64)
    probe = np.zeros((1, *X.shape[1:]), dtype=X.dtype)
    sample = np.asarray(method(twin, probe, *args, **kwargs))
    if sample.ndim == 0 or sample.shape[0] != 1:
        raise TypeError(
            f"{name} of a dask array is not computed chunk by chunk; compute "
            "X (and y) to numpy first, or score a sample of the rows."
        )

    def block(chunk):
        return np.asarray(method(twin, chunk, *args, **kwargs))

    if sample.ndim == 1:
        drop = 1 if X.ndim == 2 else []
        return X.map_blocks(
            block, dtype=sample.dtype, chunks=(X.chunks[0],), drop_axis=drop
        )
    width = sample.shape[1]
    if X.ndim == 1:
        return X.map_blocks(
            block, dtype=sample.dtype, chunks=(X.chunks[0], (width,)), new_axis=1
        )
    return X.map_blocks(block, dtype=sample.dtype, chunks=(X.chunks[0], (width,)))


def _piece_regression_moments(x, y, w):
    """Raw weighted moments of a piece of rows, in float64: ``Σw``, ``Σwx``,
    ``Σx(wx)ᵀ``, ``Σx(wy)ᵀ``, ``Σwy``, ``Σwy²`` (per column), and the
    weighted mean and sum of squares about it of each column of ``y``."""
    if hasattr(x, "toarray"):
        x = x.tocsr().astype(np.float64)
    else:
        x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    w = np.ones(y.shape[0]) if w is None else np.asarray(w, dtype=np.float64)
    wx = x.multiply(w[:, None]).tocsr() if hasattr(x, "multiply") else x * w[:, None]
    wy = y * w[:, None]
    total = float(w.sum())
    sy = wy.sum(axis=0)
    mean = sy / total if total > 0 else np.zeros_like(sy)
    m2 = w @ (y - mean) ** 2
    return {
        "n": total,
        "sx": _dense(wx.sum(axis=0)).ravel(),
        "sxx": _dense(x.T @ wx),
        "sxy": _dense(x.T @ wy),
        "sy": sy,
        "syy": np.einsum("ij,ij->j", y, wy),
        "y_mean": mean,
        "y_m2": m2,
    }


def _merge_regression_moments(*parts):
    """Chunks' moments added; ``y``'s centred squares merged by Chan's rule."""
    out = dict(parts[0])
    for other in parts[1:]:
        n_a, n_b = out["n"], other["n"]
        total = n_a + n_b
        weight = n_b / total if total > 0 else 0.0
        delta = other["y_mean"] - out["y_mean"]
        out["y_mean"] = out["y_mean"] + delta * weight
        out["y_m2"] = out["y_m2"] + other["y_m2"] + delta**2 * n_a * weight
        for key in ("sx", "sxx", "sxy", "sy", "syy"):
            out[key] = out[key] + other[key]
        out["n"] = total
    return out


_regression_moments = _by_pieces(_piece_regression_moments, _merge_regression_moments)


def regression_moments(X, Y, weights=None):
    """:func:`_regression_moments` of a dask ``X`` (rows chunked; dense or
    sparse chunks) with ``Y`` (n×k) and ``weights`` (numpy or dask, chunked
    here like ``X``'s rows), in one pass, merged in a tree on the workers."""
    import dask

    da = _da()
    X = X.rechunk({1: -1})
    Y = rows_like(X, Y)
    x_blocks = X.to_delayed()[:, 0]
    y_blocks = Y.to_delayed()[:, 0]
    if weights is None:
        w_blocks = [None] * len(x_blocks)
    else:
        if not is_dask(weights):
            weights = da.from_array(np.asarray(weights), chunks=(X.chunks[0],))
        w_blocks = weights.rechunk((X.chunks[0],)).to_delayed()
    parts = [
        dask.delayed(_regression_moments)(x, y, w)
        for x, y, w in zip(x_blocks, y_blocks, w_blocks)
    ]
    (merged,) = compute(tree_reduce(parts, _merge_regression_moments))
    return merged
