"""Initializers: starting factors for two-factor models ``X Yᵀ ≈ T``.

Every initializer has the signature
``init(objective, width, *, scale, random_state, learning_rate) -> [X0, Y0]``
with ``X0`` of shape (m, width) and ``Y0`` of shape (n, width), where ``T``
(m×n) is ``objective.target`` (A for factorization). ``scale`` is the float
given as ``init_scale`` or ``"auto"`` for the initializer's own default.

All starts are *scale-equivariant*: replacing ``T`` by ``s·T`` (s > 0)
multiplies both factors by ``√s``, so that with the step-size rules of
:mod:`skfactor._base` the whole trajectory is the ``√s``-scaled one. Random
matrices come from ``random_state`` only. Φ denotes a Gaussian matrix with
i.i.d. N(0, 1/width) entries.
"""

import numpy as np
import scipy.linalg
import scipy.sparse as sp
from sklearn.utils.extmath import randomized_svd

from ._linalg import top_singular_value

#: Default ``init_scale`` of each initializer.
DEFAULT_SCALES = {
    "unbalanced": 3.0,
    "ward_kolda": 1.0,
    "small_random": 1e-4,
    "spectral": 1.0,
    "nystrom": 1.0,
    "gaussian": 1.0,
    "orthogonal": 1.0,
}

#: Ward & Kolda's Y-scale constant D relative to their X-scale constant C.
WARD_KOLDA_D = 0.01


def _gaussian(random_state, shape, std, dtype):
    return (random_state.standard_normal(shape) * std).astype(dtype, copy=False)


def _sketch(T, width, random_state):
    """``T Φ`` with Φ of shape (n, width), i.i.d. N(0, 1/width)."""
    phi = _gaussian(random_state, (T.shape[1], width), 1.0 / np.sqrt(width), T.dtype)
    sketch = T @ phi
    return np.asarray(sketch)


def _resolve(name, scale):
    return DEFAULT_SCALES[name] if scale == "auto" else float(scale)


def _sketch_start(T, width, c0, random_state):
    """``X0 = c0 · TΦ / √s₁(TΦ)``, ``Y0 = 0`` (so ``s₁(X0) = c0·√s₁(TΦ)``)."""
    X0 = _sketch(T, width, random_state)
    s1 = top_singular_value(X0)
    if s1 > 0:
        X0 *= c0 / np.sqrt(s1)
    return [X0, np.zeros((T.shape[1], width), dtype=T.dtype)]


def unbalanced(objective, width, *, scale, random_state, learning_rate=None):
    """Large X₀ from a sketch of the target, Y₀ = 0 (Xu et al., 2024).

    ``X0 = c₀ · TΦ / √s₁(TΦ)``, ``Y0 = 0`` with ``c₀ = init_scale`` (default
    3). ``s₁(TΦ) ≈ σ₁(T)``, so ``c₀`` plays the role of the paper's
    ``c·√σ₁(A)``: only that product matters. A larger ``c₀`` freezes ``X``
    more (slower on data that is not exactly low rank, where ``X`` must
    rotate); a smaller one is faster but less stable with η = 1/s₁(X₀)²:
    ``c₀ ≈ 1`` diverges, and with a *constant* momentum ``c₀ = 10`` is the
    safe choice. With the default restart momentum and an automatic step
    (which backtracks on divergence) ``c₀ = 3`` needed about 4× fewer
    iterations than ``c₀ = 10`` on planted problems (κ up to 1000, d up to
    16r, with and without noise) and never failed.
    """
    return _sketch_start(
        objective.target, width, _resolve("unbalanced", scale), random_state
    )


def nystrom(objective, width, *, scale, random_state, learning_rate=None):
    """Sketch start ``X0 = TΩ``, ``Y0 = 0`` (Li, Zhang, Mokhtari & He, 2025).

    Normalised like :func:`unbalanced` but with ``c₀ = init_scale`` defaulting
    to 1. Meant for the preconditioned optimizers: one ScaledGD step with η = 1
    gives ``Y1 = TᵀX0 (X0ᵀX0)^†``, i.e. ``X0 Y1ᵀ`` is the projection of ``T``
    on the range of ``TΩ`` — exact when that range has the rank of ``T``.
    """
    return _sketch_start(
        objective.target, width, _resolve("nystrom", scale), random_state
    )


def ward_kolda(objective, width, *, scale, random_state, learning_rate):
    """Asymmetric random start of Ward & Kolda (NeurIPS 2023) for AltGD.

    ``X0 = TΦ₁ / (√η · C · σ₁)`` and ``Y0 = √η · D · σ₁ · Φ₂`` with Φ₁, Φ₂ of
    shape (n, width), σ₁ = σ₁(T) from a few power iterations, ``C =
    init_scale`` (default 1) and ``D = 0.01·C``... see ``WARD_KOLDA_D``. The
    start depends on the learning rate η, which must therefore be known first.
    """
    T = objective.target
    C = _resolve("ward_kolda", scale)
    sigma1 = objective.target_norm(random_state)
    n = T.shape[1]
    X0 = _sketch(T, width, random_state)
    Y0 = _gaussian(random_state, (n, width), 1.0 / np.sqrt(width), T.dtype)
    if sigma1 > 0:
        root_eta = np.sqrt(learning_rate)
        X0 *= 1.0 / (root_eta * C * sigma1)
        Y0 *= root_eta * WARD_KOLDA_D * sigma1
    else:
        Y0[:] = 0
    return [X0, Y0]


def _random_start(objective, width, c, random_state, orthogonal):
    T = objective.target
    m, n = T.shape
    root = c * np.sqrt(objective.target_norm(random_state))
    factors = []
    for rows in (m, n):
        G = random_state.standard_normal((rows, width))
        if orthogonal:
            # Orthonormal columns (or rows, when width > rows).
            if width <= rows:
                G, _ = np.linalg.qr(G)
            else:
                G = np.linalg.qr(G.T)[0].T
        else:
            G /= np.sqrt(rows)
        factors.append((root * G).astype(T.dtype, copy=False))
    return factors


def small_random(objective, width, *, scale, random_state, learning_rate=None):
    """Small Gaussian start (Stöger & Soltanolkotabi, 2021).

    ``X0 = α√σ₁ · G_X``, ``Y0 = α√σ₁ · G_Y`` with i.i.d. N(0, 1/rows) entries
    (columns of unit norm on average) and ``α = init_scale`` (default 1e-4).
    Gradient descent then passes a spectral-alignment phase, a saddle-escape
    phase and a local phase; the final error floor shrinks with α.
    """
    return _random_start(
        objective,
        width,
        _resolve("small_random", scale),
        random_state,
        orthogonal=False,
    )


def gaussian(objective, width, *, scale, random_state, learning_rate=None):
    """Gaussian start at the scale of the solution.

    Same construction as :func:`small_random` with ``init_scale`` defaulting
    to 1, so that ``‖X0‖₂² ≈ ‖Y0‖₂² ≈ σ₁(T)``.
    """
    return _random_start(
        objective, width, _resolve("gaussian", scale), random_state, orthogonal=False
    )


def orthogonal(objective, width, *, scale, random_state, learning_rate=None):
    """Scaled semi-orthogonal start: ``X0 = c√σ₁·Q_X``, ``Y0 = c√σ₁·Q_Y``.

    ``Q`` has orthonormal columns (orthonormal rows when width exceeds the
    number of rows), from the QR factorization of a Gaussian matrix;
    ``c = init_scale`` (default 1).
    """
    return _random_start(
        objective, width, _resolve("orthogonal", scale), random_state, orthogonal=True
    )


def spectral(objective, width, *, scale, random_state, learning_rate=None):
    """Spectral start: the top-``width`` SVD ``T ≈ U S Vᵀ``.

    ``X0 = c·U√S``, ``Y0 = c·V√S`` (``c = init_scale``, default 1); columns
    beyond ``min(m, n)`` are zero. A randomized SVD is used for large
    matrices, an exact one for small. Singular values below
    ``max(m, n)·eps·σ₁`` (numerically zero) give zero columns.
    """
    T = objective.target
    c = _resolve("spectral", scale)
    m, n = T.shape
    k = min(width, m, n)
    if min(m, n) <= 2 * k + 10 or m * n <= 250_000:
        dense = T.toarray() if sp.issparse(T) else np.asarray(T)
        U, s, Vt = scipy.linalg.svd(dense, full_matrices=False)
        U, s, Vt = U[:, :k], s[:k], Vt[:k]
    else:
        U, s, Vt = randomized_svd(T, k, n_iter=7, random_state=random_state)
    # Directions below the numerical rank are rounding noise: start them at 0.
    s = np.where(s > max(m, n) * np.finfo(T.dtype).eps * s[0], s, 0.0)
    root = np.sqrt(s).astype(T.dtype)
    X0 = np.zeros((m, width), dtype=T.dtype)
    Y0 = np.zeros((n, width), dtype=T.dtype)
    X0[:, :k] = c * U * root
    Y0[:, :k] = c * Vt.T * root
    return [X0, Y0]


INITIALIZERS = {
    f.__name__: f
    for f in (
        unbalanced,
        ward_kolda,
        small_random,
        spectral,
        nystrom,
        gaussian,
        orthogonal,
    )
}


def check_custom_init(init, shapes, dtype):
    """Validate explicit starting factors and return float copies of them.

    Parameters
    ----------
    init : tuple or list of array-like
        One array per factor.
    shapes : list of tuple
        The expected shapes.
    dtype : dtype
        The working dtype (the data's).
    """
    if len(init) != len(shapes):
        raise ValueError(
            f"init must be a tuple of {len(shapes)} arrays with shapes "
            f"{', '.join(map(str, shapes))}; got {len(init)} arrays."
        )
    factors = []
    for k, (array, shape) in enumerate(zip(init, shapes)):
        if sp.issparse(array):
            raise TypeError(
                f"init[{k}] is a sparse matrix; pass dense starting factors."
            )
        array = np.asarray(array)
        if np.iscomplexobj(array):
            raise TypeError(f"init[{k}] is complex; starting factors must be real.")
        if array.dtype.kind not in "fiub":
            raise TypeError(
                f"init[{k}] has dtype {array.dtype}; starting factors must be numeric."
            )
        if array.shape != tuple(shape):
            raise ValueError(
                f"init[{k}] has shape {array.shape} but shape {tuple(shape)} is "
                "needed for this data and n_components; pass factors of shapes "
                f"{', '.join(map(str, shapes))}."
            )
        if not np.all(np.isfinite(array)):
            raise ValueError(f"init[{k}] contains NaN or infinity.")
        factors.append(np.array(array, dtype=dtype, order="C", copy=True))
    return factors
