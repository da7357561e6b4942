"""Initializers: starting factors for any model layout.

Every start has the signature
``start(objective, shapes, *, scale, random_state, learning_rate=None,
power_iter="auto")`` and returns one array per shape in ``shapes``, the
factors in the objective's storage order, built from
``T = objective.target`` (m×n, in the model's units) and its
``σ₁ = objective.target_norm()``. ``scale`` is ``init_scale`` as given (a
float, a tuple of the start's ``constants``, or ``"auto"`` for the start's
own defaults), ``power_iter`` the
``init_power_iter`` of the sketch starts.

The layouts (``objective.layout``):

``"pair"``
    ``[X (m, d), Y (n, d)]`` for ``M = X Yᵀ``.
``"symmetric"``
    ``[X (n, d)]`` for ``M = X Xᵀ``.
``"chain"``
    ``[P₁, …, P_K]`` for ``M = P₁ ⋯ P_{K−1} P_Kᵀ`` (a linear network stored
    ``[W_N, …, W₂, W₁ᵀ]``); a pair is the chain with K = 2.

Each start declares what it supports and needs, as attributes that the step
policy (:mod:`skfactor._step_size`) reads:

``layouts``
    The layouts it can build.
``constants``
    The names of what ``init_scale`` sets: ``("c",)`` for most starts,
    ``("C", "D")`` for Ward–Kolda.
``default_scale``
    ``init_scale="auto"`` (a tuple when the start has several constants).
``frozen_step``
    Every factor but the last is large and the last is 0: the automatic step
    is the curvature in the last factor with the others frozen.
``needs_learning_rate``
    The start is built for a given step η, which is fixed first.
``default_power_iter``
    ``init_power_iter="auto"`` for the starts built from a sketch of ``T``
    (power iterations sharpen it); None for the others, which ignore it.

All starts are *scale-equivariant*: replacing ``T`` by ``s·T`` (s > 0)
multiplies every factor by ``s^(1/K)``, so that with the step-size rules the
whole trajectory is the scaled one. Random matrices come from
``random_state`` only. Φ denotes a Gaussian matrix with i.i.d. N(0, 1/width)
entries.
"""

from numbers import Real

import numpy as np
import scipy.linalg
import scipy.sparse as sp

from ._array_api import to_host
from ._linalg import RANGE_OVERSAMPLES, exact_svd, ritz_basis, top_singular_value
from ._threads import single_threaded

#: Ward & Kolda's constant D (the scale of Y₀) with ``init_scale="auto"`` or
#: a float ``init_scale`` (which sets C alone).
WARD_KOLDA_D = 0.01

_ALL = ("pair", "symmetric", "chain")


def _start(
    *layouts,
    default_scale,
    frozen_step=False,
    needs_learning_rate=False,
    default_power_iter=None,
    constants=("c",),
):
    """Declare a start: the layouts it builds and what the step policy reads.

    ``constants`` names what ``init_scale`` sets: one scale for most starts,
    ``("C", "D")`` for Ward–Kolda (``default_scale`` is then a tuple).
    """

    def declare(function):
        function.layouts = frozenset(layouts)
        function.constants = tuple(constants)
        function.default_scale = default_scale
        function.frozen_step = frozen_step
        function.needs_learning_rate = needs_learning_rate
        function.default_power_iter = default_power_iter
        return function

    return declare


def _gaussian(random_state, shape, std, dtype):
    return (random_state.standard_normal(shape) * std).astype(dtype, copy=False)


def _sketch(T, width, random_state):
    """``T Φ`` with Φ of shape (n, width), i.i.d. N(0, 1/width)."""
    phi = _gaussian(random_state, (T.shape[1], width), 1.0 / np.sqrt(width), T.dtype)
    return np.asarray(T @ phi)


def _resolve(start, scale):
    """The start's constants from ``init_scale``: ``"auto"`` (the defaults), a
    float (the first constant, the others at their defaults) or a tuple with
    one value per constant the start declares."""
    names = start.constants
    defaults = start.default_scale if len(names) > 1 else (start.default_scale,)
    name = start.__name__
    if isinstance(scale, str) and scale == "auto":
        values = tuple(defaults)
    elif isinstance(scale, tuple):
        if len(scale) != len(names):
            takes = (
                "one float " + names[0]
                if len(names) == 1
                else "a float " + names[0] + " or a tuple (" + ", ".join(names) + ")"
            )
            raise ValueError(
                f"init_scale={scale!r}: init={name!r} takes {takes}. Only "
                "init='ward_kolda' takes a pair, its constants (C, D)."
            )
        values = []
        for label, value in zip(names, scale):
            if (
                isinstance(value, (bool, np.bool_))
                or not isinstance(value, Real)
                or not 0 < float(value) < np.inf
            ):
                raise ValueError(
                    f"init_scale={scale!r}: the constant {label} of init={name!r} "
                    f"must be a positive finite float; got {value!r}."
                )
            values.append(float(value))
        values = tuple(values)
    else:
        values = (float(scale), *defaults[1:])
    return values if len(names) > 1 else values[0]


def _per_factor(objective, shapes):
    """``σ₁(T)^(1/K)``: the scale of one of K factors of a model of size σ₁."""
    sigma = objective.target_norm()
    return sigma ** (1.0 / objective.degree) if sigma > 0 else 0.0


def _power_iter(start, power_iter):
    return start.default_power_iter if power_iter == "auto" else int(power_iter)


def _positive_ritz(T, width, power_iter, random_state):
    """For a symmetric ``T``: ``width`` orthonormal Ritz vectors of the
    sharpened sketch's range (``width + 10`` columns) with the largest
    *algebraic* Ritz values, and ``|values|``: the directions the model
    ``X Xᵀ`` can take. The plain Ritz basis ranks by ``|λ|`` and would start a
    symmetric model of an indefinite ``T`` on its negative eigenvectors,
    saddles it then takes long to leave. Directions with a Ritz value of 0
    (beyond the numerical rank) keep the value 0. Also returns the top
    ``|Ritz value|``, the estimate of ``σ₁(T)``."""
    wide = width + RANGE_OVERSAMPLES
    Q, magnitudes = ritz_basis(T, wide, power_iter, random_state, oversamples=0)
    keep = magnitudes > 0
    Q = Q[:, keep]
    H = Q.T @ np.asarray(T @ Q)
    with single_threaded():
        w, W = np.linalg.eigh(0.5 * (H + H.T).astype(np.float64))
    order = np.argsort(w)[::-1][:width]
    basis = np.zeros((T.shape[0], width), dtype=T.dtype)
    basis[:, : len(order)] = Q @ W[:, order].astype(T.dtype, copy=False)
    values = np.zeros(width)
    values[: len(order)] = np.abs(w[order])
    return basis, values, float(magnitudes[0]) if magnitudes.size else 0.0


def _sketch_start(objective, shapes, c0, random_state, power_iter):
    """First factor ``c₀ · S/s₁ · s₁^(1/K)``, middle factors ``s₁^(1/K)·I``,
    last factor 0: for a pair ``X0 = c₀·S/√s₁``, ``Y0 = 0``. A symmetric
    model takes the first factor alone.

    ``S = TΦ`` and ``s₁ = s₁(TΦ)`` without power iterations (the papers'
    sketch); with ``power_iter ≥ 1``, ``S = s₁·Q`` with ``Q`` the orthonormal
    Ritz vectors of :func:`~skfactor._linalg.ritz_basis` and ``s₁`` the top
    Ritz value (≈ σ₁(T)), so that every column of ``X0`` has norm ``c₀√s₁``
    (0 for Ritz values below ``max(max(m, n)·eps, 1e-7)·s₁``: beyond the
    numerical rank, or the sketch's resolution). For a symmetric model the
    Ritz vectors are those of the largest algebraic Ritz values (see
    ``_positive_ritz``) and ``s₁`` the largest of them in magnitude.
    """
    T = objective.target
    if power_iter > 0 and objective.layout == "symmetric":
        Q, values, norm = _positive_ritz(T, shapes[0][1], power_iter, random_state)
        s1 = float(values[0])  # the top of the positive part, when it has one
    elif power_iter > 0:
        Q, values = ritz_basis(T, shapes[0][1], power_iter, random_state)
        s1 = norm = float(values[0])
    if power_iter > 0:
        objective.offer_target_norm(norm)
        # directions beyond the numerical rank (Ritz value 0) are rounding's:
        # they start at 0, as in the spectral start, so X0 stays in T's span
        first = Q * np.where(values > 0, s1, 0.0).astype(T.dtype)
    else:
        first = _sketch(T, shapes[0][1], random_state)
        s1 = top_singular_value(first)
    degree = objective.degree
    unit = s1 ** (1.0 / degree) if s1 > 0 else 0.0
    if s1 > 0:
        first *= c0 * unit / s1
    factors = [first]
    for rows, cols in shapes[1:-1]:
        factors.append((unit * np.eye(rows, cols)).astype(T.dtype))
    if len(shapes) > 1:
        factors.append(np.zeros(shapes[-1], dtype=T.dtype))
    return factors


#: ``init_power_iter="auto"`` of the sketch starts: within 1e-3 (relative) of
#: TruncatedSVD's error on every real matrix of ``benchmarks/truncated_svd``.
SKETCH_POWER_ITER = 4


@_start(
    *_ALL, default_scale=3.0, frozen_step=True, default_power_iter=SKETCH_POWER_ITER
)
def unbalanced(
    objective, shapes, *, scale, random_state, learning_rate=None, power_iter="auto"
):
    """Large X₀ from a sketch of the target, Y₀ = 0 (Xu et al., 2024).

    With ``init_power_iter=0``, the paper's start: ``X0 = c₀ · TΦ /
    √s₁(TΦ)``, ``Y0 = 0`` with ``c₀ = init_scale`` (default 3).
    ``s₁(TΦ) ≈ σ₁(T)``, so ``c₀`` plays the role of the paper's
    ``c·√σ₁(A)``: only that product matters.

    With ``q = init_power_iter ≥ 1`` (default 4), the sketch is sharpened
    first: ``X0 = c₀·√s₁·Q`` with ``Q`` the top-d Ritz vectors of the range
    of ``(TTᵀ)^q TΦ`` (Φ with 10 extra columns; see
    :func:`~skfactor._linalg.ritz_basis`) and ``s₁`` the top Ritz value.
    ``X0`` stays large and in the span of ``T``, and ``Y0 = 0``; with the
    automatic step ``η = 1/s₁(X0)² = 1/(c₀²s₁)`` the first iteration gives
    ``X1 Y1ᵀ = Q Qᵀ T``, the projection a randomized SVD with ``q`` power
    iterations computes, and the iterations go on from there.

    A larger ``c₀`` freezes ``X`` more (slower on data that is not exactly
    low rank, where ``X`` must rotate); a smaller one is faster but less
    stable with η = 1/s₁(X₀)²: ``c₀ ≈ 1`` diverges, and with a *constant*
    momentum ``c₀ = 10`` is the safe choice. With the default restart
    momentum and an automatic step (which backtracks on divergence) ``c₀ = 3``
    needed about 4× fewer
    iterations than ``c₀ = 10`` on planted problems (κ up to 1000, d up to
    16r, with and without noise) and never failed.

    Chains (deep networks): output layer ``c₀·S/s₁ · s₁^(1/K)``, middle
    layers ``s₁^(1/K)`` times a semi-identity, input layer 0. A symmetric
    model takes ``X0`` alone.
    """
    c0 = _resolve(unbalanced, scale)
    q = _power_iter(unbalanced, power_iter)
    return _sketch_start(objective, shapes, c0, random_state, q)


@_start("pair", "symmetric", default_scale=1.0, default_power_iter=SKETCH_POWER_ITER)
def nystrom(
    objective, shapes, *, scale, random_state, learning_rate=None, power_iter="auto"
):
    """Sketch start ``X0 = TΩ``, ``Y0 = 0`` (Li, Zhang, Mokhtari & He, 2025).

    Normalised like :func:`unbalanced` but with ``c₀ = init_scale`` defaulting
    to 1, and sharpened by the same ``init_power_iter`` power iterations
    (default 4; 0 is the paper's ``TΩ``). Meant for the preconditioned
    optimizers: one ScaledGD step with η = 1 gives ``Y1 = TᵀX0 (X0ᵀX0)^†``,
    i.e. ``X0 Y1ᵀ`` is the projection of ``T`` on the range of ``X0`` — exact
    when that range has the rank of ``T``.
    """
    c0 = _resolve(nystrom, scale)
    q = _power_iter(nystrom, power_iter)
    return _sketch_start(objective, shapes, c0, random_state, q)


@_start(
    "pair",
    default_scale=(1.0, WARD_KOLDA_D),
    needs_learning_rate=True,
    constants=("C", "D"),
)
def ward_kolda(
    objective, shapes, *, scale, random_state, learning_rate, power_iter="auto"
):
    """Asymmetric random start of Ward & Kolda (NeurIPS 2023) for AltGD.

    ``X0 = TΦ / (√η · C · σ₁)`` and ``Y0 = √η · D · σ₁ · Ψ`` with Φ, Ψ of
    shape (n, width) and i.i.d. N(0, 1/width) entries, σ₁ = σ₁(T) and the
    step η. ``init_scale`` sets the constants: a pair ``(C, D)``, or a float
    ``C`` with ``D = 0.01`` (``WARD_KOLDA_D``); ``"auto"`` is ``(1, 0.01)``.
    The paper's theorem holds for absolute constants C, D and a small
    enough η; set them to the values of the version of the paper you follow.
    The defaults are ours: with the step ``η = 1/σ₁`` of
    ``learning_rate="auto"`` they converged fastest on planted problems
    (``(C, D) = (4, 4/9)`` was 3–300× slower; see :ref:`papers`, measured).
    The start depends on η, which must therefore be
    known first; for problems whose loss has curvature β ≠ 1 in the model
    (sensing, networks, missing entries) η stands for ``η·β``, the step in
    the model's units.
    """
    T = objective.target
    C, D = _resolve(ward_kolda, scale)
    sigma1 = objective.target_norm()
    (_, width), (n, _) = shapes
    X0 = _sketch(T, width, random_state)
    Y0 = _gaussian(random_state, (n, width), 1.0 / np.sqrt(width), T.dtype)
    if sigma1 > 0:
        # the step in the model's units: η·β (β = 1 for factorization)
        beta = objective.design_curvature()
        root_eta = np.sqrt(learning_rate * (beta if beta > 0 else 1.0))
        X0 *= 1.0 / (root_eta * C * sigma1)
        Y0 *= root_eta * D * sigma1
    else:
        Y0[:] = 0
    return [X0, Y0]


def _random_start(objective, shapes, c, random_state, orthogonal):
    """Each factor ``c·σ₁^(1/K)·G``: G Gaussian with N(0, 1/rows) entries, or
    with orthonormal columns (rows, when it is wide)."""
    unit = c * _per_factor(objective, shapes)
    factors = []
    for rows, cols in shapes:
        G = random_state.standard_normal((rows, cols))
        if orthogonal:
            G = np.linalg.qr(G)[0] if cols <= rows else np.linalg.qr(G.T)[0].T
        else:
            G /= np.sqrt(rows)
        factors.append((unit * G).astype(objective.dtype, copy=False))
    return factors


@_start(*_ALL, default_scale=1e-4)
def small_random(
    objective, shapes, *, scale, random_state, learning_rate=None, power_iter="auto"
):
    """Small Gaussian start (Stöger & Soltanolkotabi, 2021).

    Every factor ``α·σ₁^(1/K)·G`` with G of i.i.d. N(0, 1/rows) entries
    (columns of unit norm on average) and ``α = init_scale`` (default 1e-4);
    for a pair ``X0 = α√σ₁·G_X``, ``Y0 = α√σ₁·G_Y``. Gradient descent then
    passes a spectral-alignment phase, a saddle-escape phase and a local
    phase; the final error floor shrinks with α.
    """
    c = _resolve(small_random, scale)
    return _random_start(objective, shapes, c, random_state, orthogonal=False)


@_start(*_ALL, default_scale=1.0)
def gaussian(
    objective, shapes, *, scale, random_state, learning_rate=None, power_iter="auto"
):
    """Gaussian start at the scale of the solution.

    Same construction as :func:`small_random` with ``init_scale`` defaulting
    to 1, so that ``‖X0‖₂² ≈ ‖Y0‖₂² ≈ σ₁(T)`` for a pair.
    """
    c = _resolve(gaussian, scale)
    return _random_start(objective, shapes, c, random_state, orthogonal=False)


@_start(*_ALL, default_scale=1.0)
def orthogonal(
    objective, shapes, *, scale, random_state, learning_rate=None, power_iter="auto"
):
    """Scaled semi-orthogonal start: every factor ``c·σ₁^(1/K)·Q``.

    ``Q`` has orthonormal columns (orthonormal rows when the factor is wide),
    from the QR factorization of a Gaussian matrix; ``c = init_scale``
    (default 1).
    """
    c = _resolve(orthogonal, scale)
    return _random_start(objective, shapes, c, random_state, orthogonal=True)


@_start("pair", "chain", default_scale=1.0)
def balanced(
    objective, shapes, *, scale, random_state, learning_rate=None, power_iter="auto"
):
    """A random model split evenly over the factors (a balanced network).

    A Gaussian m×n matrix ``G = U S Vᵀ`` is normalised to ``σ₁ = 1`` and
    split with equal spectra, ``S^(1/K)`` per factor, so that consecutive
    layers satisfy ``W_{k+1}ᵀ W_{k+1} = W_k W_kᵀ``; everything is scaled by
    ``c·σ₁(T)^(1/K)`` (``c = init_scale``, default 1). For a pair:
    ``X0 = U√S``, ``Y0 = V√S`` (times the scale).
    """
    c = _resolve(balanced, scale) * _per_factor(objective, shapes)
    depth = len(shapes)
    m, n = shapes[0][0], shapes[-1][0]
    rank = min(min(shape) for shape in shapes)
    U, s, Vt = np.linalg.svd(random_state.standard_normal((m, n)), full_matrices=False)
    root = (s[:rank] / s[0]) ** (1.0 / depth)
    factors = []
    for k, shape in enumerate(shapes):
        F = np.zeros(shape)
        if k == 0:
            F[:, :rank] = U[:, :rank] * root
        elif k == depth - 1:
            F[:, :rank] = Vt[:rank].T * root
        else:
            F[:rank, :rank] = np.diag(root)
        factors.append((c * F).astype(objective.dtype, copy=False))
    return factors


#: ``init_power_iter="auto"`` of the spectral start: its balanced factors
#: move faster than the unbalanced start's, and from a rougher SVD (4 power
#: iterations) NAG kept improving on the TF-IDF matrix for 185 iterations.
SPECTRAL_POWER_ITER = 7


@_start("pair", "symmetric", default_scale=1.0, default_power_iter=SPECTRAL_POWER_ITER)
def spectral(
    objective, shapes, *, scale, random_state, learning_rate=None, power_iter="auto"
):
    """Spectral start: the top-``width`` SVD ``T ≈ U S Vᵀ``.

    ``X0 = c·U√S``, ``Y0 = c·V√S`` (``c = init_scale``, default 1); columns
    beyond ``min(m, n)`` are zero. A randomized SVD is used for large
    matrices (the Ritz vectors of the unbalanced start's sketch, with
    ``init_power_iter`` power iterations, default 7, at least 1), an exact
    one for small. Singular values below ``max(m, n)·eps·σ₁`` (numerically
    zero; ``1e-7·σ₁``, the sketch's resolution, for the randomized SVD) give
    zero columns. A symmetric
    model takes the top positive eigenpairs instead, ``X0 = c·V√Λ₊``: exact
    for small matrices, else from the eigenproblem of ``QᵀTQ`` with ``Q``
    the Ritz basis of a sharpened sketch of width ``width + 10`` (captures
    the largest ``|λ|``; the positive ones among them are kept).
    """
    T = objective.target
    c = _resolve(spectral, scale)
    m, n = T.shape
    width = shapes[0][1]
    k = min(width, m, n)
    symmetric = objective.layout == "symmetric"
    if min(m, n) <= 2 * k + 10 or m * n <= 250_000:
        if symmetric:
            dense = T.toarray() if sp.issparse(T) else np.asarray(T)
            w, V = scipy.linalg.eigh(dense)
            order = np.argsort(w)[::-1][:k]
            U, s, Vt = V[:, order], np.maximum(w[order], 0.0), V[:, order].T
        else:
            U, s, Vt = exact_svd(T)
            U, s, Vt = U[:, :k], s[:k], Vt[:k]
    elif symmetric:
        # a randomized eigendecomposition: the range of the sketch, then
        # the small eigenproblem of QᵀTQ (its top positive eigenpairs)
        q = _power_iter(spectral, power_iter)
        basis, values = ritz_basis(T, k + RANGE_OVERSAMPLES, max(q, 1), random_state)
        Q = basis[:, values > 0]
        H = Q.T @ np.asarray(T @ Q)
        w, W = np.linalg.eigh(0.5 * (H + H.T))
        order = np.argsort(w)[::-1][:k]
        U = (Q @ W[:, order]).astype(T.dtype, copy=False)
        s, Vt = np.maximum(w[order], 0.0), None
        if len(s) < k:
            U = np.hstack([U, np.zeros((m, k - len(s)), dtype=T.dtype)])
            s = np.concatenate([s, np.zeros(k - len(s))])
        objective.offer_target_norm(float(values[0]))
    else:
        q = _power_iter(spectral, power_iter)
        U, s, V = ritz_basis(T, k, max(q, 1), random_state, right=True)
        Vt = V.T
        objective.offer_target_norm(float(s[0]))
    if symmetric:
        # eigh's signs are arbitrary: fix them (largest entry positive) so that
        # the start, like the pair's, is the same for A and c·A
        rows = np.argmax(np.abs(U), axis=0)
        U = U * np.where(U[rows, np.arange(U.shape[1])] < 0, -1, 1).astype(U.dtype)
    # Directions below the numerical rank are rounding noise: start them at 0.
    top = s[0] if s.size else 0.0
    s = np.where(s > max(m, n) * np.finfo(T.dtype).eps * top, s, 0.0)
    root = np.sqrt(s).astype(T.dtype)
    X0 = np.zeros((m, width), dtype=T.dtype)
    X0[:, :k] = c * U * root
    if symmetric:
        return [X0]
    Y0 = np.zeros((n, width), dtype=T.dtype)
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
        balanced,
    )
}

#: Default ``init_scale`` of each named start.
DEFAULT_SCALES = {name: start.default_scale for name, start in INITIALIZERS.items()}


def starts_for(*layouts):
    """Names of the starts that build at least one of ``layouts``."""
    return {n for n, s in INITIALIZERS.items() if s.layouts & set(layouts)}


def check_start(name, objective):
    """Raise a ``ValueError`` when the start cannot build this model."""
    start = INITIALIZERS[name]
    if objective.layout not in start.layouts:
        usable = sorted(starts_for(objective.layout))
        raise ValueError(
            f"init={name!r} cannot start {objective.structure}. Use init="
            + ", ".join(repr(n) for n in usable)
            + ", or explicit factors."
        )
    return start


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
            f"init must be a tuple or list of {len(shapes)} arrays with shapes "
            f"{', '.join(map(str, shapes))}; got {len(init)} arrays."
        )
    factors = []
    for k, (array, shape) in enumerate(zip(init, shapes)):
        if sp.issparse(array):
            raise TypeError(
                f"init[{k}] is a sparse matrix; pass dense starting factors."
            )
        array = np.asarray(to_host(array))  # factors of any array library
        if np.iscomplexobj(array):
            raise TypeError(f"init[{k}] is complex; starting factors must be real.")
        if array.dtype.kind not in "fiub":
            raise TypeError(
                f"init[{k}] has dtype {array.dtype}; starting factors must be numeric."
            )
        if array.shape != tuple(shape):
            raise ValueError(
                f"init[{k}] has shape {array.shape} but shape {tuple(shape)} is "
                "needed for this data and the model's width; pass factors of shapes "
                f"{', '.join(map(str, shapes))}."
            )
        if not np.all(np.isfinite(array)):
            raise ValueError(f"init[{k}] contains NaN or infinity.")
        factors.append(np.array(array, dtype=dtype, order="C", copy=True))
    return factors
