"""Small dense linear-algebra kernels shared by the three families.

Nothing here knows about estimators; every function preserves the dtype of its
array arguments.
"""

import math

import numpy as np
import scipy.linalg
import scipy.sparse as sp

from . import _dask
from ._dask import is_dask
from ._threads import single_threaded, small


def _foreign(a):
    """Whether ``a`` is an array of another library than numpy (a device
    array, see :mod:`skfactor._array_api`): such arrays take the
    namespace-generic branch of the kernels below, numpy arrays the
    tuned one."""
    return not isinstance(a, np.ndarray) and not sp.issparse(a) and hasattr(a, "shape")


def _namespace(a):
    import array_api_compat

    return array_api_compat.array_namespace(a)


def widest_float(xp, a):
    """float64 where ``a``'s device has it, else float32: the accumulation
    dtype of the generic reductions."""
    info = getattr(xp, "__array_namespace_info__", None)
    if info is not None:
        try:
            import array_api_compat

            if "float64" not in info().dtypes(device=array_api_compat.device(a)):
                return xp.float32
        except TypeError:
            pass
    return xp.float64


def device_inner(a, b):
    """``⟨a, b⟩`` of two device arrays as a 0-d device array, accumulated in
    the widest float the device has: sums of these are read with one
    ``float()`` (one synchronisation with the host)."""
    xp = _namespace(a)
    wide = widest_float(xp, a)
    return xp.sum(xp.astype(a, wide) * xp.astype(b, wide))


def any_nonzero(F):
    """Whether ``F`` has a non-zero entry (numpy or a device array)."""
    if _foreign(F):
        xp = _namespace(F)
        return bool(xp.any(F != 0))
    return bool(np.any(F))


# Elements of one residual block (about 2 MiB in float64): small enough to stay
# in cache, large enough that the Python loop over blocks costs nothing.
_BLOCK_ELEMENTS = 1 << 18


#: Largest |entry| kept as is, per dtype: beyond it (or below its inverse) the
#: data are rescaled by a power of 4 before fitting (see ``scale_exponent``).
_SAFE_MAX_ABS = {np.dtype(np.float32): 4.0**15, np.dtype(np.float64): 4.0**200}


def numpy_dtype(dtype):
    """The numpy dtype of any library's float dtype (``torch.float32`` →
    ``float32``)."""
    try:
        return np.dtype(dtype)
    except TypeError:
        return np.dtype(str(dtype).rsplit(".", 1)[-1])


def safe_max_abs(dtype):
    """``M``: entries in ``[1/M, M]`` are fitted as they are."""
    return _SAFE_MAX_ABS.get(numpy_dtype(dtype), 4.0**15)


def sq_norm(a):
    """``Σ aᵢ²`` of any array, accumulated in float64 (no overflow or underflow
    of float32 squares, no full-size temporary)."""
    if _foreign(a):
        return float(device_inner(a, a))
    flat = np.asarray(a).ravel(order="K")
    if flat.dtype == np.float64:
        return float(np.dot(flat, flat))
    return float(np.einsum("i,i->", flat, flat, dtype=np.float64))


def inner(a, b):
    """``⟨a, b⟩ = Σ aᵢbᵢ`` of two arrays of one shape, accumulated in float64,
    without BLAS: OpenBLAS threads ``ddot`` above 10 000 elements, and on a
    busy machine each call then waits milliseconds for its threads (60× the
    einsum's time on a 3000×10 factor under load). The per-iteration inner
    products of the optimizers and objectives."""
    if _foreign(a):
        return float(device_inner(a, b))
    a, b = np.asarray(a), np.asarray(b)
    if a.ndim == 2:
        return float(np.einsum("ij,ij->", a, b, dtype=np.float64))
    return float(np.einsum("i,i->", a.ravel(), b.ravel(), dtype=np.float64))


def max_abs(A):
    """The largest absolute entry, NaN ignored (0 for empty or all-NaN data),
    without a data-sized temporary."""
    if is_dask(A):
        return _dask.max_abs(A)
    if _foreign(A):
        xp = _namespace(A)
        if not math.prod(A.shape):
            return 0.0
        clean = xp.where(xp.isnan(A), xp.zeros((), dtype=A.dtype, device=A.device), A)
        return float(xp.max(xp.abs(clean)))
    data = A.data if sp.issparse(A) else A
    if data.size == 0:
        return 0.0
    flat = data.ravel(order="K")
    top = max(float(np.fmax.reduce(flat)), -float(np.fmin.reduce(flat)))
    return 0.0 if np.isnan(top) else top


def scale_exponent(A, squared=True, top=None):
    """``k`` such that fitting ``A / 4**k`` is safe in ``A``'s dtype.

    0 when the largest absolute entry lies in ``[1/M, M]`` with ``M = 4**15``
    for float32 and ``4**200`` for float64; otherwise the power of 4 closest to
    that entry. Dividing by a power of 4 is exact in floating point and
    changes the factors by the power of 2 ``2**k``, so the fit is exactly the
    scaled fit of the original data (barring the underflow it avoids).

    With ``squared`` (data whose squares make the loss: A, y) float64 data
    beyond ``1e±150`` is an error, since the loss itself, reported in the
    data's units, cannot be represented; a design (``squared=False``) is only
    divided.
    """
    data = A.data if sp.issparse(A) else A
    # NaN marks a missing entry: two NaN-ignoring reductions, no temporary
    top = max_abs(A) if top is None else top
    dtype = numpy_dtype(data.dtype)
    if squared and dtype == np.float64 and top > 0 and not 1e-150 <= top <= 1e150:
        raise ValueError(
            f"The largest absolute entry of the data is {top:.3g}: squared "
            "errors of data this far from 1 cannot be represented in float64, "
            "so neither can the loss. Rescale the data, e.g. divide it by its "
            "largest absolute entry."
        )
    limit = safe_max_abs(dtype)
    if top == 0 or 1.0 / limit <= top <= limit:
        return 0
    return round(float(np.log2(top)) / 2)


def divide_exactly(A, scale):
    """``A / scale`` as a new array or sparse matrix of the same dtype (exact
    for a power of 2)."""
    if scale == 1.0:
        return A
    if sp.issparse(A):
        out = A.copy()
        out.data /= scale
        return out
    if _foreign(A):
        return A / scale  # a power of 2: exact in A's dtype
    return A / np.asarray(scale, dtype=A.dtype)


#: Observations per chunk when evaluating a model at given entries.
_CHUNK = 1 << 14


def entries(L, R, rows, cols):
    """``(L Rᵀ)[rows, cols]`` without forming ``L Rᵀ``: O(len(rows)·r), in
    chunks so the gathered rows of ``L`` and ``R`` stay small."""
    out = np.empty(len(rows), dtype=np.result_type(L, R))
    for start in range(0, len(rows), _CHUNK):
        stop = start + _CHUNK
        out[start:stop] = np.einsum(
            "ij,ij->i", L[rows[start:stop]], R[cols[start:stop]]
        )
    return out


#: The stored-entries formula of :func:`residual_sq_norm` is kept when the
#: result is at least this fraction of ``‖XYᵀ‖²`` (its cancellation error is
#: ``eps·‖XYᵀ‖²``, so the result keeps about 10 digits).
_SPARSE_FORMULA_FLOOR = 1e-6


def _sparse_residual_sq_norm(A, X, Y, scale, ignore_nan):
    """``‖XYᵀ − A‖²`` for sparse ``A`` at O(nnz·d + (m + n)·d²), or None when
    cancellation would cost more than a few digits.

    The implicit zeros contribute the model's energy off the stored entries,
    ``‖XYᵀ‖² − Σ_stored m²``; the stored ones ``Σ (a − m)²`` (missing ones
    neither).
    """
    coo = A.tocoo()
    X64 = np.asarray(X, dtype=np.float64) / scale
    Y64 = np.asarray(Y, dtype=np.float64)
    model = entries(X64, Y64, coo.row, coo.col)
    values = coo.data.astype(np.float64) / scale
    energy = float(np.sum((X64.T @ X64) * (Y64.T @ Y64)))
    observed = ~np.isnan(values) if ignore_nan else slice(None)
    residual = values[observed] - model[observed]
    total = energy - sq_norm(model) + sq_norm(residual)
    if not total >= _SPARSE_FORMULA_FLOOR * energy:
        return None
    return total


def residual_sq_norm(A, X, Y, scale=1.0, ignore_nan=False):
    """Return ``‖X @ Y.T - A‖_F² / scale²`` exactly, without an m×n temporary.

    With ``ignore_nan``, entries where ``A`` is NaN (missing) are left out of
    the sum: the masked residual ``‖P_Ω(XYᵀ − A)‖²``.

    A sparse ``A`` is summed over its stored entries (see
    ``_sparse_residual_sq_norm``) unless the fit is so close that
    cancellation would show. Otherwise the residual is formed one block of
    rows at a time, so the memory is ``O(block·n)`` whatever the size of
    ``A``. ``A`` may be dense or a
    ``scipy.sparse`` matrix (CSR is sliced by rows cheaply). The squares are
    summed in float64, after dividing each block by ``scale`` (pass a power
    of 4 from :func:`scale_exponent` for data whose squares would overflow or
    underflow).
    """
    if sp.issparse(A) and A.nnz:
        total = _sparse_residual_sq_norm(A, X, Y, scale, ignore_nan)
        if total is not None:
            return total
    if is_dask(A):
        return _dask.residual_sq_norm(A, X, Y, scale, ignore_nan)
    if _foreign(A):
        return _device_residual_sq_norm(A, X, Y, scale, ignore_nan)
    m, n = A.shape
    rows = max(1, _BLOCK_ELEMENTS // max(n, 1))
    total = 0.0
    for start in range(0, m, rows):
        stop = min(start + rows, m)
        block = X[start:stop] @ Y.T
        a_block = A[start:stop]
        if sp.issparse(a_block):
            a_block = a_block.toarray()
        block -= a_block
        if scale != 1.0:
            block /= scale
        if ignore_nan:
            block[np.isnan(a_block)] = 0.0  # only where the data is missing
        total += sq_norm(block)
    return total


def _device_residual_sq_norm(A, X, Y, scale, ignore_nan):
    """:func:`residual_sq_norm` on a device: the same row blocks, their
    squares summed on the device, one synchronisation at the end."""
    xp = _namespace(A)
    wide = widest_float(xp, A)
    m, n = A.shape
    rows = max(1, (16 * _BLOCK_ELEMENTS) // max(n, 1))  # bigger blocks on a device
    total = xp.zeros((), dtype=wide, device=A.device)
    for start in range(0, m, rows):
        stop = min(start + rows, m)
        block = X[start:stop, :] @ Y.T - A[start:stop, :]
        if scale != 1.0:
            block = block / scale
        if ignore_nan:
            block = xp.where(xp.isnan(block), xp.zeros_like(block), block)
        # squares in the data's dtype (its range is safe: see DataUnit),
        # accumulated in the widest float, without a widened copy
        total = total + xp.sum(block * block, dtype=wide)
    return float(total)


@small
def top_singular_value(X):
    """Largest singular value of a tall or wide matrix via its small Gram."""
    if X.size == 0:
        return 0.0
    small = X.T @ X if X.shape[0] >= X.shape[1] else X @ X.T
    return float(np.sqrt(max(top_eigenvalue(small), 0.0)))


@small
def condition_number(X, scale=1.0, shift=0.0, rows=None):
    """``κ = (c·s₁² + μ)/(c·s_r̂² + μ)``, the condition number of ``c·XᵀX + μI``
    on the numerical range of ``X`` (``c = scale``, ``μ = shift``).

    ``s₁ ≥ … ≥ s_r̂`` are the singular values of ``X`` above
    ``max(X.shape)·eps·s₁`` (numpy's ``matrix_rank`` tolerance): the
    conditioning of the least-squares problem with design ``X`` in the
    directions it can move. 1 for a zero matrix. ``rows``: the number of
    rows of the matrix ``X`` stands for (its triangular factor ``R`` of a
    QR, which has its singular values), for the tolerance.
    """
    if X.size == 0:
        return 1.0
    s = scipy.linalg.svdvals(np.asarray(X, dtype=np.float64))
    if not s[0] > 0:
        return 1.0
    size = max(X.shape) if rows is None else max(rows, X.shape[1])
    kept = s[s > size * np.finfo(X.dtype).eps * s[0]]
    return float((scale * kept[0] ** 2 + shift) / (scale * kept[-1] ** 2 + shift))


def spectral_norm(T, random_state):
    """Estimate ``σ₁(T)`` for a dense or sparse matrix.

    Small matrices get an exact SVD; large ones a randomized block power
    method (a block of 11 vectors, 6 power iterations), which is within a few
    percent of σ₁ and costs about a dozen products with ``T``. Both are
    positively homogeneous: ``spectral_norm(c*T) == c * spectral_norm(T)``.
    """
    m, n = T.shape
    if min(m, n) == 0:
        return 0.0
    if min(m, n) <= 64 and m * n <= 4_000_000:
        return float(exact_svd(T, compute_uv=False)[0])
    return float(ritz_basis(T, 1, 6, random_state)[1][0])


def exact_svd(T, compute_uv=True):
    """The thin SVD ``(U, s, Vt)`` (or ``s``) of a small matrix or target:
    LAPACK on its dense form, or the target's own ``exact_svd`` where it
    declares one (distributed data, which are never gathered)."""
    own = getattr(T, "exact_svd", None)
    if own is not None:
        return own(compute_uv=compute_uv)
    dense = T.toarray() if sp.issparse(T) else np.asarray(T)
    if not compute_uv:
        return scipy.linalg.svdvals(dense)
    return scipy.linalg.svd(dense, full_matrices=False)


@small
def right_solve(G, H, damping):
    """Return ``G (H + damping·I)⁻¹`` for a symmetric PSD d×d matrix ``H``.

    With ``damping > 0``: a solve of the d×d system (LU with partial pivoting,
    backward stable; no inverse is formed). With ``damping == 0``, or when that
    system is singular: the minimum-norm least-squares solution
    ``G (H + damping·I)^†`` from the eigendecomposition of the small matrix,
    eigenvalues below ``d·eps·λ_max`` treated as zero.

    Only ``numpy.linalg`` is used: numpy and scipy each bundle a BLAS with its
    own thread pool, and alternating between them every iteration (scipy's
    multi-threaded triangular solves with thousands of right-hand sides, then
    numpy's products) made the pools fight over the cores — 15 ms instead of
    1 ms per ScaledGD iteration on a 2-core machine.
    """
    if _foreign(H):
        return _device_right_solve(G, H, damping)
    if _foreign(G):  # a distributed G (dask) and a d×d H on the host
        return G @ right_solve(np.eye(H.shape[0], dtype=G.dtype), H, damping)
    d = H.shape[0]
    M = H + damping * np.eye(d, dtype=H.dtype) if damping > 0 else H
    if not np.all(np.isfinite(M)):
        # the iterate blew up: propagate, and let the solver see divergence
        return np.full_like(G, np.nan)
    if damping > 0:
        try:
            return np.linalg.solve(M, G.T).T
        except np.linalg.LinAlgError:
            pass
    w, V = np.linalg.eigh(M)
    cutoff = d * np.finfo(H.dtype).eps * max(float(w[-1]), 0.0)
    keep = w > cutoff
    if not np.any(keep):
        return np.zeros_like(G)
    Vk = V[:, keep]
    return ((G @ Vk) / w[keep]) @ Vk.T


def _device_right_solve(G, H, damping):
    """:func:`right_solve` on a device, without a synchronisation: a solve
    with damping, the eigendecomposition's pseudo-inverse (eigenvalues below
    ``d·eps·λ_max`` weighted 0) without, or when the solve fails. A
    non-finite ``H`` propagates NaN through the solve, for the solver to see."""
    xp = _namespace(H)
    d = H.shape[0]
    M = H + damping * xp.eye(d, dtype=H.dtype, device=H.device) if damping > 0 else H
    if damping > 0:
        try:
            return xp.linalg.solve(M, G.T).T
        except (RuntimeError, ValueError):
            pass  # singular to the device's solver (torch's LinAlgError)
    w, V = xp.linalg.eigh(M)
    eps = float(np.finfo(numpy_dtype(H.dtype)).eps)
    top = xp.maximum(w[-1], xp.zeros((), dtype=w.dtype, device=H.device))
    keep = w > d * eps * top
    inverse = xp.where(keep, 1.0 / xp.where(keep, w, xp.ones_like(w)), xp.zeros_like(w))
    return ((G @ V) * inverse) @ V.T


#: Extra sketch columns of :func:`ritz_basis` (scikit-learn's randomized SVD's 10).
RANGE_OVERSAMPLES = 10


#: :func:`thin_qr` uses Cholesky-QR2 while the first Cholesky factor's
#: condition number is below this; beyond it, Householder QR.
_CHOLESKY_QR_CONDITION = 1e6


def _cholesky_inverse(Z64):
    """``R⁻¹`` for the upper ``R`` with ``ZᵀZ = RᵀR``, or None when ``Z`` is
    rank deficient or too ill-conditioned for its Gram. numpy only (see
    :func:`thin_qr`)."""
    G = Z64.T @ Z64
    try:
        with single_threaded():
            R = np.linalg.cholesky(G).T
            if not np.linalg.cond(R) <= _CHOLESKY_QR_CONDITION:
                return None
            return R, np.linalg.inv(R)
    except np.linalg.LinAlgError:
        return None


def thin_qr(Z):
    """``Z = Q R`` with orthonormal ``Q`` (m, k) and upper ``R`` (k, k), for a
    tall ``Z``.

    Cholesky-QR2 in float64: ``Q₁ = Z R₁⁻¹`` with ``R₁`` the Cholesky factor
    of ``ZᵀZ``, then once more to restore orthogonality to rounding, which
    holds while ``κ(Z) ≲ 1e6``. That is two symmetric products and two
    products with a k×k inverse, a fraction of a Householder QR's time for
    m ≫ k (0.02 s instead of 0.19 s for 100000 × 30 here). Householder QR
    for ill-conditioned or rank-deficient ``Z`` and for matrices that are not
    tall. Only ``numpy.linalg`` is used: alternating numpy's and scipy's BLAS
    pools (each bundles its own) made them fight over the cores, 6× slower
    on small matrices. Returns arrays of ``Z``'s dtype.
    """
    m, k = Z.shape
    if k == 0 or m < 4 * k:
        return np.linalg.qr(Z)
    Z64 = np.asarray(Z, dtype=np.float64)
    first = _cholesky_inverse(Z64)
    if first is None:
        return np.linalg.qr(Z)
    Q = Z64 @ first[1]
    second = _cholesky_inverse(Q)
    if second is None:
        return np.linalg.qr(Z)
    Q = Q @ second[1]
    R = second[0] @ first[0]
    return Q.astype(Z.dtype, copy=False), np.triu(R).astype(Z.dtype, copy=False)


#: Ritz values below this fraction of the top one are beyond the resolution
#: of :func:`ritz_basis` (computed from squares in float64).
RITZ_RESOLUTION = 1e-7


def ritz_basis(
    T, width, power_iter, random_state, oversamples=RANGE_OVERSAMPLES, right=False
):
    """Orthonormal columns spanning ``T``'s top-``width`` range, and their
    Ritz values.

    A randomized range finder (Halko, Martinsson & Tropp, 2011): ``Z = TΩ``
    with Ω Gaussian of ``width + oversamples`` columns, ``power_iter`` passes
    ``Z ← T Tᵀ Z`` (re-orthonormalised after each product), ``Q = qr(Z)``; then
    the SVD of the small ``QᵀT = U_B S Wᵀ`` rotates ``Q`` to its Ritz vectors
    ``Q U_B``, of which the first ``width`` (decreasing Ritz values ``S``) are
    returned. ``U_B`` and ``S`` come from the eigenvalues of the small
    ``(QᵀT)(QᵀT)ᵀ``, so Ritz values below ``RITZ_RESOLUTION·S₁`` are not
    resolved: those, and those below ``max(m, n)·eps·S₁`` (beyond the numerical
    rank), are returned as 0. ``Q U_B Sᵢ`` approximates ``T``'s leading
    singular triplets; the basis is independent of ``T``'s scale. Costs
    ``2·power_iter + 2`` products of ``T`` with ``width + oversamples``
    columns. Columns beyond the number the sketch can hold (``min(m, n)``) are
    0, with Ritz value 0.

    Returns ``basis`` of shape (m, width), in ``T``'s dtype, and ``values``
    (float64, decreasing); with ``right``, also the right Ritz vectors
    ``Tᵀ basis / values`` (n, width): the randomized SVD
    ``T ≈ basis·diag(values)·rightᵀ``.
    """
    m, n = T.shape
    k = min(width + oversamples, m, n)
    omega = random_state.standard_normal((n, k)).astype(T.dtype, copy=False)
    Z = np.asarray(T @ omega)
    for _ in range(power_iter):  # re-orthonormalised after every product
        Z = thin_qr(np.asarray(T.T @ thin_qr(Z)[0]))[0]
        Z = np.asarray(T @ Z)
    Q, _ = thin_qr(Z)
    # QᵀT from TᵀQ (a product sparse data does fast); its left singular
    # vectors from the small Gram, in float64
    C = np.asarray(T.T @ Q, dtype=np.float64)
    with single_threaded():
        squares, V = np.linalg.eigh(C.T @ C)
    order = np.argsort(squares)[::-1]
    values = np.sqrt(np.maximum(squares[order], 0.0))
    # beyond the numerical rank, or the resolution of squares: 0
    resolution = max(max(m, n) * float(np.finfo(T.dtype).eps), RITZ_RESOLUTION)
    values[values <= resolution * values[:1].max(initial=0.0)] = 0.0
    keep = min(width, k)
    basis = np.zeros((m, width), dtype=T.dtype)
    basis[:, :keep] = Q @ V[:, order[:keep]].astype(T.dtype, copy=False)
    out = np.zeros(width)
    out[:keep] = values[:keep]
    if not right:
        return basis, out
    vectors = np.zeros((T.shape[1], width))
    positive = out[:keep] > 0
    columns = np.flatnonzero(positive)
    vectors[:, columns] = (C @ V[:, order[columns]]) / out[columns]
    return basis, out, vectors.astype(T.dtype, copy=False)


def operator_norm(matmat, rmatmat, n, dtype, n_iter=8, block=3, passes=None):
    """Estimate ``‖E‖₂`` of an operator given by ``E @ V`` and ``Eᵀ @ U``.

    ``passes(V) -> (squares, W)``, when given, replaces the two products:
    the squared column norms of ``E V`` and ``W = Eᵀ(E V)`` computed
    together (one pass over distributed data, ``E V`` never gathered).

    A block power method on ``EᵀE`` from a fixed seeded block of ``block``
    vectors in ℝⁿ, ``n_iter`` iterations, re-orthonormalised each time.
    Deterministic; a few percent low at worst on spectra without a gap,
    which is all its users (the solver's saddle test) need.
    """
    if n == 0:
        return 0.0
    rng = np.random.RandomState(0)
    V = rng.standard_normal((n, min(block, n))).astype(dtype, copy=False)
    V, _ = np.linalg.qr(V)
    top = 0.0
    for _ in range(n_iter):
        if passes is None:
            U = np.asarray(matmat(V))
            W = np.asarray(rmatmat(U))
            squares = np.sum(U * U, axis=0)
        else:
            squares, W = passes(V)
        norms = np.sqrt(np.maximum(squares, 0.0))
        top = float(norms.max(initial=0.0))
        if not np.all(np.isfinite(W)) or not np.any(W):
            break
        V, _ = np.linalg.qr(W)
    return top


@small
def top_eigenvalue(G):
    """``λ_max`` of a small symmetric matrix (a Gram), single-threaded; a
    device array is read to the host first (one synchronisation)."""
    if _foreign(G):
        from ._array_api import to_host

        G = to_host(G)
    if not G.size:
        return 0.0
    n = G.shape[0]
    try:
        return float(scipy.linalg.eigvalsh(G, subset_by_index=[n - 1, n - 1])[0])
    except np.linalg.LinAlgError:
        # LAPACK's ?syevr can fail on a multiple of the identity (the Gram of
        # the sharpened unbalanced start); the full ?syevd does not
        return float(np.linalg.eigvalsh(G)[-1])


def product_svd(X, Y):
    """The SVD ``X Yᵀ = U diag(s) Vt`` of a factored matrix, at O((m+n)d²).

    QR of both factors (``X = Q_x R_x``, ``Y = Q_y R_y``, :func:`thin_qr`) and
    the SVD of the small core ``R_x R_yᵀ = U_c diag(s) V_cᵀ``: ``U = Q_x U_c``,
    ``Vt = V_cᵀ Q_yᵀ``. The singular values decrease; the signs follow
    scikit-learn's ``svd_flip(u_based_decision=False)`` (the largest entry of
    each row of ``Vt`` is positive), as ``TruncatedSVD`` and ``PCA`` fix
    theirs. With ``d > min(m, n)`` the last ``d − min(m, n)`` singular values
    are 0 and their rows of ``Vt`` (columns of ``U``) are zero.

    Returns ``U`` (m, d), ``s`` (d,), ``Vt`` (d, n) and ``K`` (d, d) with
    ``Yᵀ Vtᵀ = K``, the map from coefficients on the rows of ``Yᵀ`` to
    coefficients on the rows of ``Vt`` (``Z Yᵀ = (Z K) Vt`` when the rows of
    ``Z Yᵀ`` lie in the span of ``Vt``'s rows).
    """
    from sklearn.utils.extmath import svd_flip

    (m, d), n = X.shape, Y.shape[0]
    Qx, Rx = _dask.thin_qr(X) if is_dask(X) else thin_qr(X)
    Qy, Ry = thin_qr(Y)
    with single_threaded():
        Uc, s, Vct = np.linalg.svd(Rx @ Ry.T, full_matrices=False)
    # the signs follow Vt alone, so they can be fixed on the small core
    Uc, Vt = svd_flip(Uc, Vct @ Qy.T, u_based_decision=False)
    U = Qx @ Uc  # a lazy dask array for a distributed X
    K = Y.T @ Vt.T
    k = len(s)
    if k < d:  # more columns than the matrix has dimensions
        if is_dask(U):
            import dask.array as da

            U = da.concatenate([U, da.zeros((m, d - k), dtype=U.dtype)], axis=1)
        else:
            U = np.hstack([U, np.zeros((m, d - k), dtype=U.dtype)])
        Vt = np.vstack([Vt, np.zeros((d - k, n), dtype=Vt.dtype)])
        s = np.concatenate([s, np.zeros(d - k, dtype=s.dtype)])
        K = np.hstack([K, np.zeros((d, d - k), dtype=K.dtype)])
    return U, s, Vt, K


def factor_eigh(X):
    """The eigendecomposition ``X Xᵀ = V diag(w) Vᵀ`` of a factored symmetric
    matrix, at O(n d²).

    QR of the factor (``X = Q R``, :func:`thin_qr`) and the SVD of the small
    ``R = U_c S W_cᵀ``: ``V = Q U_c``, ``w = S²`` (squares of singular
    values, so small eigenvalues keep their relative accuracy). The
    eigenvalues decrease; each eigenvector's largest entry is positive (the
    sign rule of ``svd_flip(u_based_decision=False)``). With ``d > n`` the
    last ``d − n`` eigenvalues are 0 and their eigenvectors zero.

    Returns ``V`` (n, d), in ``X``'s dtype, and ``w`` (d,), float64.
    """
    from sklearn.utils.extmath import svd_flip

    n, d = X.shape
    Q, R = thin_qr(X)
    with single_threaded():
        Uc, s, _ = np.linalg.svd(R.astype(np.float64), full_matrices=False)
    V = Q @ Uc.astype(Q.dtype, copy=False)
    V, _ = svd_flip(V, V.T.copy(), u_based_decision=False)
    w = s.astype(np.float64) ** 2
    k = len(w)
    if k < d:
        V = np.hstack([V, np.zeros((n, d - k), dtype=V.dtype)])
        w = np.concatenate([w, np.zeros(d - k)])
    return np.ascontiguousarray(V), w


def _device_column_variance_sum(A):
    """:func:`column_variance_sum` of dense device data (NaN missing): observed
    counts and sums, then squares about the means, a block of rows at a time
    in the widest float of the device."""
    xp = _namespace(A)
    wide = widest_float(xp, A)
    m, n = A.shape
    if not m:
        return 0.0
    step = max(1, (16 * _BLOCK_ELEMENTS) // max(n, 1))
    zero = xp.zeros((), dtype=A.dtype, device=A.device)
    sums = xp.zeros(n, dtype=wide, device=A.device)
    counts = xp.zeros(n, dtype=wide, device=A.device)
    for start in range(0, m, step):
        block = A[start : min(start + step, m), :]
        missing = xp.isnan(block)
        sums = sums + xp.sum(xp.where(missing, zero, block), axis=0, dtype=wide)
        counts = counts + xp.sum(xp.astype(~missing, wide), axis=0)
    seen = counts > 0
    one = xp.ones_like(counts)
    means = sums / xp.where(seen, counts, one)
    squares = xp.zeros(n, dtype=wide, device=A.device)
    for start in range(0, m, step):
        block = xp.astype(A[start : min(start + step, m), :], wide) - means
        block = xp.where(xp.isnan(block), xp.zeros_like(block), block)
        squares = squares + xp.sum(block * block, axis=0)
    variances = xp.where(seen, squares / xp.where(seen, counts, one), 0 * counts)
    return float(xp.sum(variances))


def column_variance_sum(A):
    """``Σ_j var(A[:, j])`` over the observed (non-NaN) entries of each column,
    as ``np.var`` (``ddof=0``) and scikit-learn's ``mean_variance_axis`` give
    it, accumulated in float64 a block of rows at a time (no data-sized
    temporary)."""
    m, n = A.shape
    if is_dask(A):
        return _dask.column_variance_sum(A)
    if _foreign(A):
        return _device_column_variance_sum(A)
    if sp.issparse(A):
        A = A.tocsc()
        values = A.data.astype(np.float64)
        observed = ~np.isnan(values)
        columns = np.repeat(np.arange(n), np.diff(A.indptr))
        counts = m - np.bincount(columns[~observed], minlength=n)
        clean = np.where(observed, values, 0.0)
        sums = np.bincount(columns, weights=clean, minlength=n).astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            means = np.where(counts > 0, sums / counts, 0.0)
        # stored entries about the mean, plus the implicit zeros at -mean
        deviations = np.where(observed, clean - means[columns], 0.0)
        squares = np.bincount(columns, weights=deviations**2, minlength=n)
        squares = squares.astype(np.float64)
        stored = np.bincount(columns[observed], minlength=n)
        squares += (counts - stored) * means**2
    else:
        step = max(1, _BLOCK_ELEMENTS // max(n, 1))
        sums, counts = np.zeros(n), np.zeros(n)
        # plain sums first: the NaN-aware ones copy, and only a block whose
        # sums come out NaN has missing entries
        for start in range(0, m, step):
            block = np.asarray(A[start : start + step], dtype=np.float64)
            total = block.sum(axis=0)
            if np.isnan(total).any():
                total = np.nansum(block, axis=0)
                counts += np.count_nonzero(~np.isnan(block), axis=0)
            else:
                counts += block.shape[0]
            sums += total
        with np.errstate(invalid="ignore", divide="ignore"):
            means = np.where(counts > 0, sums / np.maximum(counts, 1), 0.0)
        squares = np.zeros(n)
        for start in range(0, m, step):
            block = np.asarray(A[start : start + step], dtype=np.float64) - means
            block *= block
            total = block.sum(axis=0)
            if np.isnan(total).any():
                total = np.nansum(block, axis=0)
            squares += total
    with np.errstate(invalid="ignore", divide="ignore"):
        variances = np.where(counts > 0, squares / np.maximum(counts, 1), 0.0)
    return float(np.sum(variances))
