"""Factorization ``½‖X Yᵀ − A‖²``: dense, sparse, and with missing entries."""

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg

from .._array_api import adopt_factors, to_host
from .._linalg import (
    device_inner,
    divide_exactly,
    entries,
    inner,
    numpy_dtype,
    operator_norm,
    residual_sq_norm,
    sq_norm,
    top_eigenvalue,
    widest_float,
)
from ._base import Objective, Point, linear_combination
from ._models import PairModel

#: Elements of one row block of the model on the missing set (2 MiB float64).
_MASK_BLOCK_ELEMENTS = 1 << 20


def _product(A, F):
    """``A @ F``, without reading ``A`` when ``F`` is zero (the last factor of
    an unbalanced start)."""
    if F.any():
        return np.asarray(A @ F)
    return np.zeros((A.shape[0], F.shape[1]), dtype=np.result_type(A.dtype, F.dtype))


class FactorizationObjective(Objective):
    r"""``f = h‖M − A‖²_F + ½λΣ‖Fᵢ‖²`` for a dense or sparse ``A``, with the
    model ``M = X Yᵀ`` (``h = ½``) or ``M = X Xᵀ`` (``h = ¼``, symmetric ``A``).

    Gradients and loss come from the products of ``A`` with the factors and
    the d×d Gram matrices, never from the m×n residual. For the pair:

    .. math::

        ∇_X f = X (YᵀY) − AY + λX,\qquad ∇_Y f = Y (XᵀX) − AᵀX + λY,\qquad
        f = ½\,(‖A‖² − 2⟨AY, X⟩ + ⟨XᵀX, YᵀY⟩) + ½λ(‖X‖² + ‖Y‖²);

    for the symmetric model one product ``AX`` per point:

    .. math::

        ∇f = X (XᵀX) − AX + λX,\qquad
        f = ¼\,(‖A‖² − 2⟨AX, X⟩ + ‖XᵀX‖²) + ½λ‖X‖².

    Both are one rule: block ``i`` of the factors has the gradient
    ``Fᵢ·Gram(F_p) − A⁽ⁱ⁾F_p`` with ``p`` its partner factor (the other one
    for a pair, itself for ``X Xᵀ``) and ``A⁽⁰⁾ = A``, ``A⁽¹⁾ = Aᵀ``; the
    loss is ``h(‖A‖² − 2⟨A⁽⁰⁾F_p, F₀⟩ + ⟨Gram(F₀), Gram(F_p)⟩)``. The model
    (:mod:`._models`) supplies ``h``, the partner and the factors of ``M``;
    nothing here branches on its kind. The symmetric model needs a symmetric
    ``A`` (its callers check), so that ``AX`` is the whole gradient.

    The expansion of ``f`` cancels catastrophically once ``f`` is a tiny
    fraction of ``h‖A‖²``; below ``exact_threshold·h‖A‖²`` the loss is
    recomputed exactly from the residual, a block of rows at a time.

    Parameters
    ----------
    A : ndarray or sparse matrix of shape (m, n)
        The data; CSC input is used through its CSR transpose-free form.
    alpha : float, default=0.0
        The ridge penalty relative to the target: ``λ = alpha·σ₁(target)``
        (the attribute ``penalty``).
    exact_threshold : float, default=None
        Relative loss below which the blocked exact residual is used.
        ``None`` means ``1e4·eps`` of ``A``'s dtype (about 2e-12 in float64,
        so the recorded loss stays accurate to a few digits down to relative
        errors of 1e-15).
    model : PairModel or SymmetricModel, default=None
        The factors → model map (None: the pair ``X Yᵀ``).
    """

    model = PairModel()

    def __init__(self, A, alpha=0.0, exact_threshold=None, model=None):
        if model is not None:
            self.model = model
        if sp.issparse(A):
            A = A.tocsr()
            total = sq_norm(A.data)
        else:
            total = sq_norm(A)
        self.A = A
        self.dtype = numpy_dtype(A.dtype)
        self.shape = tuple(A.shape)
        if exact_threshold is None:
            exact_threshold = 1e4 * np.finfo(self.dtype).eps
        self._total = total  # ‖A‖²
        self.reference_loss = self.model.half * total  # h‖A‖²
        self._exact_below = exact_threshold * self.reference_loss
        self.penalty = float(alpha) * self.target_norm() if alpha else 0.0

    @property
    def target(self):
        return self.A

    # -- cached data products (linear in the factors) -------------------------
    def _product(self, point, i):
        """``A⁽ⁱ⁾ F_p``, the data product of block ``i``'s gradient (``AY`` and
        ``AᵀX`` for a pair, ``AX`` for ``X Xᵀ``), cached per point."""
        key = ("product", i)
        P = point.cache.get(key)
        if P is None:
            data = self.A if i == 0 else self.A.T
            P = _product(data, point.factors[self.partner(i)])
            point.cache[key] = P
        return P

    # -- loss and gradients ---------------------------------------------------
    def _expansion(self, point):
        """``h‖M − A‖²`` from the products (no penalty)."""
        cross = inner(self._product(point, 0), point.factors[0])
        quad = inner(point.gram(0), point.gram(self.partner(0)))
        return self.model.half * (self._total - 2.0 * cross + quad)

    def _exact(self, point):
        """``h‖M − A‖²`` summed from the residual, a block at a time."""
        L, R = self.model.split(point.factors)
        return self.model.half * residual_sq_norm(self.A, L, R)

    def value(self, point):
        f = point.cache.get("value")
        if f is None:
            f = self._expansion(point)
            if f < self._exact_below:
                f = self._exact(point)
            point.cache["value"] = f + self._penalty_value(point)
        return point.cache["value"]

    def loss_rounding(self, value):
        """``eps·(f_ref + f)`` while the loss is expanded (it cancels), the
        residual's rounding once it is computed exactly."""
        if value < self._exact_below:
            return super().loss_rounding(value)
        return float(np.finfo(self.dtype).eps) * (self.reference_loss + value)

    def _penalty_value(self, point):
        if not self.penalty:
            return 0.0
        traces = sum(np.trace(point.gram(i)) for i in range(self.n_factors))
        return 0.5 * self.penalty * float(traces)

    def grad_block(self, point, i):
        grad = point.factors[i] @ point.gram(self.partner(i))
        grad -= self._product(point, i)
        if self.penalty:
            grad += np.asarray(self.penalty, dtype=grad.dtype) * point.factors[i]
        return grad

    def grad(self, point):
        return [self.grad_block(point, i) for i in range(self.n_factors)]

    # -- combinations that reuse the products ---------------------------------
    def combine(self, terms):
        point = super().combine(terms)
        for i in range(self.n_factors):
            point.cache["product", i] = linear_combination(
                [(c, self._product(p, i)) for c, p in terms]
            )
        return point

    def replace_block(self, point, i, factor):
        factors = list(point.factors)
        factors[i] = factor
        # block j's product reads its partner only; a Gram its own block
        cache = {}
        for j in range(self.n_factors):
            if self.partner(j) != i and ("product", j) in point.cache:
                cache["product", j] = point.cache["product", j]
            if j != i and ("gram", j) in point.cache:
                cache["gram", j] = point.cache["gram", j]
        return Point(factors, cache)

    def smoothness(self, point):
        """Bound on ``‖∇²f‖``: the factors' curvature (``‖X‖₂² + ‖Y‖₂²``, or
        ``2‖X‖₂²`` for ``X Xᵀ``) plus ``‖M − A‖₂ + λ``.

        The residual enters the Hessian as ``V ↦ (M − A)V``, whose norm is
        the residual's *spectral* norm (block power iterations on products
        with the data, 5 % added for their underestimate), not its Frobenius
        norm: on data that is not of low rank the Frobenius norm is √rank
        times larger, and so was the step's shortfall."""
        tops = [top_eigenvalue(point.gram(i)) for i in range(self.n_factors)]
        curvature = self.model.factor_curvature(tops)
        frobenius = float(np.sqrt(max(self.value(point), 0.0) / self.model.half))
        residual = min(frobenius, 1.05 * self.model_gradient_norm(point))
        return curvature + residual + self.penalty

    def damping_floor(self):
        """``model.negative_part(target)``: 0 for ``X Yᵀ``; for ``X Xᵀ`` of an
        indefinite ``A``, ``|λ_min(A)|`` (computed once)."""
        floor = getattr(self, "_damping_floor", None)
        if floor is None:
            floor = self._damping_floor = self.model.negative_part(self.target)
        return floor

    # -- the saddle probe -------------------------------------------------------
    def _residual_products(self, point):
        """``V ↦ (LRᵀ − A)V`` and ``U ↦ (LRᵀ − A)ᵀU`` for the model ``L Rᵀ``."""
        L, R = self.model.split(point.factors)
        A = self.A
        return (lambda V: L @ (R.T @ V) - A @ V), (lambda U: R @ (L.T @ U) - A.T @ U)

    def _residual_operator(self, point):
        matmat, rmatmat = self._residual_products(point)
        return scipy.sparse.linalg.LinearOperator(
            self.shape,
            matvec=lambda v: matmat(v.reshape(-1, 1)).ravel(),
            rmatvec=lambda u: rmatmat(u.reshape(-1, 1)).ravel(),
            matmat=matmat,
            rmatmat=rmatmat,
            dtype=self.dtype,
        )

    def model_gradient_norm(self, point):
        """``‖M − A‖₂`` by block power iterations on products with the data."""
        matmat, rmatmat = self._residual_products(point)
        return operator_norm(matmat, rmatmat, self.shape[1], self.dtype)

    def escape_strength(self, point):
        """The model's own rule (``‖M − A‖₂`` for a pair; for ``X Xᵀ`` the
        largest positive eigenvalue of ``A − XXᵀ``) on the residual operator."""

        def norm(E):
            return operator_norm(E.matmat, E.rmatmat, self.shape[1], self.dtype)

        return self.model.escape_strength(self._residual_operator(point), norm)


class _DeviceData:
    """Data on a device seen from the host: ``T @ B`` takes and returns
    numpy arrays and multiplies on the device. The target the starts and
    the norm estimates read (host algorithms around a few products with
    the data, whose small operands travel instead of the data)."""

    ndim = 2

    def __init__(self, A, space, transposed=False):
        self._A, self._space, self._transposed = A, space, transposed
        m, n = A.shape
        self.shape = (n, m) if transposed else (m, n)
        self.dtype = numpy_dtype(A.dtype)

    @property
    def T(self):
        return _DeviceData(self._A, self._space, not self._transposed)

    def _matrix(self):
        return self._A.T if self._transposed else self._A

    def __matmul__(self, B):
        B = self._space.asarray(np.ascontiguousarray(B, dtype=self.dtype))
        return to_host(self._matrix() @ B)

    def __array__(self, dtype=None, copy=None):
        out = to_host(self._matrix())
        return out if dtype is None else out.astype(dtype, copy=False)


class DeviceFactorizationObjective(FactorizationObjective):
    r""":class:`FactorizationObjective` of a dense ``A`` on a device (any
    array API library, see :mod:`skfactor._array_api`).

    The same loss, gradients and caches, computed by the data's library on
    its device: the two products with ``A``, the Grams and the gradients stay
    there, and the loss ``h(‖A‖² − 2⟨AY, X⟩ + ⟨XᵀX, YᵀY⟩)`` is summed there
    and read with one synchronisation per point. The starts and the step
    policy see the data through products (``target``: numpy operands in and
    out), and the small decompositions of the saddle probe read the factors
    on the host.
    """

    def __init__(self, A, space, alpha=0.0, exact_threshold=None, model=None):
        self.space = space
        super().__init__(A, alpha=alpha, exact_threshold=exact_threshold, model=model)

    @property
    def target(self):
        return _DeviceData(self.A, self.space)

    def adopt(self, factors):
        return adopt_factors(self.space, factors, self.dtype)

    def host(self, F):
        return to_host(F)

    def _product(self, point, i):
        key = ("product", i)
        P = point.cache.get(key)
        if P is None:
            data = self.A if i == 0 else self.A.T
            P = point.cache[key] = data @ point.factors[self.partner(i)]
        return P

    def _expansion(self, point):
        cross = device_inner(self._product(point, 0), point.factors[0])
        quad = device_inner(point.gram(0), point.gram(self.partner(0)))
        return self.model.half * point.read(self._total - 2.0 * cross + quad)

    def _penalty_value(self, point):
        if not self.penalty:
            return 0.0
        xp = self.space.xp
        traces = sum(xp.linalg.trace(point.gram(i)) for i in range(self.n_factors))
        return 0.5 * self.penalty * float(traces)

    def grad_block(self, point, i):
        grad = point.factors[i] @ point.gram(self.partner(i)) - self._product(point, i)
        if self.penalty:
            grad = grad + self.penalty * point.factors[i]
        return grad

    def _residual_products(self, point):
        L, R = self.model.split(point.factors)
        A, move = self.A, self.adopt

        def matmat(V):
            (V,) = move([V])
            return to_host(L @ (R.T @ V) - A @ V)

        def rmatmat(U):
            (U,) = move([U])
            return to_host(R @ (L.T @ U) - A.T @ U)

        return matmat, rmatmat


class MaskedFactorizationObjective(FactorizationObjective):
    r"""``f(X, Y) = ½‖P_Ω(X Yᵀ (+ 1μᵀ) − A)‖²_F``: missing entries, optional offsets.

    NaN entries of ``A`` (dense, or stored in a sparse matrix) are missing;
    everything else is observed, implicit zeros of a sparse matrix included.
    With ``A₀`` the data with missing entries set to 0 and ``M`` the missing
    set, the masked loss is the full loss on ``A₀`` minus the model's energy
    on ``M``, and so are the gradients::

        f    = ½‖XYᵀ − A₀‖² − ½‖P_M(XYᵀ)‖²
        ∇_X f = X(YᵀY) − A₀Y − E Y,     ∇_Y f = Y(XᵀX) − A₀ᵀX − Eᵀ X

    with ``E = P_M(XYᵀ)``. An iteration costs the two products with ``A₀``
    (``O(nnz·d)`` sparse, ``O(mnd)`` dense, cached and combined linearly for
    NAG like the full objective) plus the model on the missing set. When
    there are few missing entries (at most 5 % of dense data, or sparse
    data) they are gathered: ``O(|M|·d)``, and ``E`` is a sparse matrix.
    Otherwise ``XYᵀ`` is formed one block of rows at a time, masked, and
    multiplied by ``Y`` and ``X``: three more blocked products, which BLAS
    runs ~10× faster per entry than the gather. No m×n temporary either way.
    The exact loss (below the expansion's precision) skips the missing
    entries block by block.

    **Column offsets** (``offsets=True``, dense data): the model is
    ``XYᵀ + 1μᵀ`` with the offsets that fit the observed residual best,
    eliminated in closed form at every point (as sensing eliminates its
    intercept). With ``nⱼ`` the observed count of column j and ``O`` the
    observed indicator::

        μⱼ   = (Σ_{i∈Ωⱼ} Aᵢⱼ − Σ_{i∈Ωⱼ} (XYᵀ)ᵢⱼ) / nⱼ
        f    = ½‖P_Ω(XYᵀ − A)‖² − ½ Σⱼ nⱼ μⱼ²
        ∇_X f = P_Ω(XYᵀ + 1μᵀ − A) Y,   ∇_Y f = P_Ω(XYᵀ + 1μᵀ − A)ᵀ X

    (the gradients at the optimal μ, by the envelope theorem), where
    ``P_Ω(1μᵀ)Y = 1(μᵀY) − P_M(1μᵀ)Y`` costs products with the missing set
    only. Centre the data by their observed column means first: the offsets
    are then small corrections and the loss keeps its digits.

    Sketching starts use the zero-filled data rescaled by the observed
    fraction, ``A₀/p``, an unbiased estimate of ``A`` for entries missing at
    random.
    """

    #: Above this missing fraction, dense data evaluate the model at the
    #: missing entries by blocked products instead of gathering them one by
    #: one: a gathered entry costs about as much as a row block's d-long dot
    #: product, but without BLAS.
    BLOCKED_ABOVE = 0.05

    def __init__(self, A, alpha=0.0, exact_threshold=None, offsets=False, model=None):
        m, n = A.shape
        self._mask = None
        if offsets and sp.issparse(A):
            raise ValueError("Column offsets need dense data.")
        if offsets and model is not None and model.n_factors != 2:
            raise ValueError("Column offsets need the two-factor model X Yᵀ.")
        if sp.issparse(A):
            A = A.tocsr()
            filled = A.copy()
            filled.data[np.isnan(A.data)] = 0
            coo = A.tocoo()
            keep = np.isnan(coo.data)
            rows, cols = coo.row[keep], coo.col[keep]
        else:
            missing = np.isnan(A)
            filled = np.where(missing, np.zeros((), dtype=A.dtype), A)
            self.row_missing = missing.sum(axis=1)
            self.col_missing = missing.sum(axis=0)
            if self.row_missing.sum() > self.BLOCKED_ABOVE * m * n:
                self._mask = missing  # 1 byte per entry, read block by block
                rows = cols = None
            else:
                rows, cols = np.nonzero(missing)
        self.A_missing = A  # NaN kept: what the exact loss reads
        self.offsets = bool(offsets)
        if rows is not None:
            order = np.lexsort((cols, rows))
            self._rows = rows[order].astype(np.intp, copy=False)
            self._cols = cols[order].astype(np.intp, copy=False)
            self.row_missing = np.bincount(self._rows, minlength=m)
            self.col_missing = np.bincount(self._cols, minlength=n)
            self._indptr = np.zeros(m + 1, dtype=np.intp)
            np.cumsum(self.row_missing, out=self._indptr[1:])
        self._count_missing()
        super().__init__(
            filled, alpha=alpha, exact_threshold=exact_threshold, model=model
        )
        if self.offsets:
            self._offset_baseline(
                np.asarray(filled.sum(axis=0), dtype=np.float64), exact_threshold
            )

    def _count_missing(self):
        """The missing and observed counts, the observed fraction and the
        design curvature, from ``row_missing`` and ``col_missing``."""
        m, n = self.A_missing.shape
        self.n_missing = int(self.row_missing.sum())
        self.n_observed = m * n - self.n_missing
        self.observed_fraction = self.n_observed / (m * n) if m * n else 0.0
        row_fraction = 1.0 - self.row_missing / max(n, 1)
        col_fraction = 1.0 - self.col_missing / max(m, 1)
        self._design = float(
            max(row_fraction.max(initial=0.0), col_fraction.max(initial=0.0))
        )

    def _offset_baseline(self, col_sums, exact_threshold):
        """The offsets' counts and column sums (float64), and the reference
        loss less what the offsets alone explain (their column means)."""
        m = self.A_missing.shape[0]
        self._counts = np.maximum(m - self.col_missing, 1).astype(np.float64)
        self._col_sums = col_sums
        mu0 = self._col_sums / self._counts
        self.reference_loss -= 0.5 * float(np.dot(self._counts, mu0 * mu0))
        self._exact_below = (
            exact_threshold or 1e4 * np.finfo(self.dtype).eps
        ) * self.reference_loss

    @property
    def target(self):
        """``A₀/p``: zero-filled data over the observed fraction."""
        T = getattr(self, "_target", None)
        if T is None:
            p = self.observed_fraction
            T = self.A if p in (0.0, 1.0) else divide_exactly(self.A, p)
            self._target = T
        return T

    def design_curvature(self):
        """Largest observed fraction of a row or a column: the curvature of
        the mask in the preconditioned metric (1 without missing entries)."""
        return self._design

    # -- the model on the missing set ---------------------------------------------
    def _missing_matrix(self, values):
        """The CSR matrix with ``values`` on the gathered missing set."""
        return sp.csr_matrix((values, self._cols, self._indptr), shape=self.shape)

    def _missing_part(self, point, products):
        """The model ``E = P_M(L Rᵀ)`` on the missing set, cached per point:
        ``‖E‖²``, its column sums and, with ``products``, each block's
        product ``(E R, Eᵀ L)`` (``(E X,)`` for ``X Xᵀ``, whose symmetric
        mask makes ``E`` symmetric)."""
        cache = point.cache
        if "missing_products" in cache or (not products and "missing_energy" in cache):
            return cache["missing_energy"], cache.get("missing_products")
        L, R = self.model.split(point.factors)
        both = self.n_factors == 2
        EY = EtX = None
        if self._mask is None:
            values = entries(L, R, self._rows, self._cols)
            energy = sq_norm(values)
            col_sums = np.bincount(self._cols, weights=values, minlength=self.shape[1])
            if products:
                E = self._missing_matrix(values)
                EY = np.asarray(E @ R)
                EtX = np.asarray(E.T @ L) if both else None
        else:
            m, n = self.shape
            rows = max(1, _MASK_BLOCK_ELEMENTS // max(n, 1))
            energy = 0.0
            col_sums = np.zeros(n)
            if products:
                EY = np.empty_like(L)
                EtX = np.zeros_like(R) if both else None
            for start in range(0, m, rows):
                stop = min(start + rows, m)
                block = L[start:stop] @ R.T
                block *= self._mask[start:stop]  # the model on missing entries
                energy += sq_norm(block)
                col_sums += block.sum(axis=0)
                if products:
                    EY[start:stop] = block @ R
                    if both:
                        EtX += block.T @ L[start:stop]
        cache["missing_energy"] = energy
        cache["missing_col_sums"] = col_sums
        if products:
            cache["missing_products"] = (EY, EtX)
        return energy, cache.get("missing_products")

    def _missing_apply(self, V, transpose=False, factors=None):
        """``E V`` (m×b) or ``Eᵀ V`` (n×b) for ``E`` the missing indicator
        ``I_M`` or, given ``factors``, the model on the missing set
        ``P_M(XYᵀ)``: gathered, or a block of rows at a time."""
        if self._mask is None:
            if factors is None:
                values = np.ones(len(self._cols), dtype=self.dtype)
            else:
                values = entries(*self.model.split(factors), self._rows, self._cols)
            E = self._missing_matrix(values)
            return np.asarray(E.T @ V if transpose else E @ V)
        m, n = self.shape
        rows = max(1, _MASK_BLOCK_ELEMENTS // max(n, 1))
        out = np.zeros((n if transpose else m, V.shape[1]), dtype=self.dtype)
        for start in range(0, m, rows):
            stop = min(start + rows, m)
            if factors is None:
                block = self._mask[start:stop].astype(self.dtype)
            else:
                L, R = self.model.split(factors)
                block = L[start:stop] @ R.T
                block *= self._mask[start:stop]
            if transpose:
                out += block.T @ V[start:stop]
            else:
                out[start:stop] = block @ V
        return out

    # -- the offsets --------------------------------------------------------------
    def _offsets(self, point):
        """The optimal column offsets μ at the point (float64)."""
        mu = point.cache.get("offsets")
        if mu is None:
            X, Y = point.factors
            self._missing_part(point, products=False)
            observed_sums = Y @ X.sum(axis=0) - point.cache["missing_col_sums"]
            mu = (self._col_sums - observed_sums) / self._counts
            point.cache["offsets"] = mu
        return mu

    def offsets_at(self, factors):
        """The optimal column offsets of the model of ``factors``."""
        return self._offsets(self.point(factors))

    # -- loss and gradients -------------------------------------------------------
    def value(self, point):
        f = point.cache.get("value")
        if f is None:
            X, Y = self.model.split(point.factors)
            hidden, _ = self._missing_part(point, products=False)
            f = self._expansion(point) - self.model.half * hidden
            if self.offsets:
                mu = self._offsets(point)
                f -= 0.5 * inner(self._counts, mu * mu)
            if f < self._exact_below:
                if self.offsets:
                    mu = self._offsets(point).astype(self.dtype)
                    X = np.hstack([X, np.ones((X.shape[0], 1), dtype=self.dtype)])
                    Y = np.hstack([Y, mu[:, None]])
                f = self.model.half * residual_sq_norm(
                    self.A_missing, X, Y, ignore_nan=True
                )
            point.cache["value"] = f + self._penalty_value(point)
        return point.cache["value"]

    def grad_block(self, point, i):
        grad = super().grad_block(point, i)
        _, (EY, EtX) = self._missing_part(point, products=True)
        grad -= EY if i == 0 else EtX
        if self.offsets:
            X, Y = point.factors
            mu = self._offsets(point).astype(self.dtype)
            if i == 0:  # + P_Ω(1μᵀ) Y = 1(μᵀY) − I_M (μ∘Y)
                grad += mu @ Y
                grad -= self._missing_apply(mu[:, None] * Y)
            else:  # + diag(μ) P_Ωᵀ X = μ∘(1ᵀX − I_MᵀX)
                grad += mu[:, None] * (X.sum(axis=0) - self._missing_apply(X, True))
        return grad

    def _residual_products(self, point):
        """``V ↦ P_Ω(XYᵀ + 1μᵀ − A)V`` and its transpose."""
        full, full_t = super()._residual_products(point)
        mu = self._offsets(point).astype(self.dtype) if self.offsets else None

        def matmat(V):
            out = full(V) - self._missing_apply(V, False, point.factors)
            if mu is not None:
                out += mu @ V
                out -= self._missing_apply(mu[:, None] * V)
            return out

        def rmatmat(U):
            out = full_t(U) - self._missing_apply(U, True, point.factors)
            if mu is not None:
                out += mu[:, None] * (U.sum(axis=0) - self._missing_apply(U, True))
            return out

        return matmat, rmatmat


class DeviceMaskedFactorizationObjective(
    DeviceFactorizationObjective, MaskedFactorizationObjective
):
    r""":class:`MaskedFactorizationObjective` of dense data with NaN on a
    device (any array API library).

    The same loss, gradients and column offsets, computed where the data
    live. The model on the missing set is always formed a block of rows at a
    time, masked and multiplied by the factors (the host's blocked path: a
    gather of scattered entries has no array API form), so an iteration
    costs about three more products with an m×n block than the full
    objective's two. The mask is one boolean per entry on the device; the
    loss (expansion, missing energy and offsets together) is read with one
    synchronisation per point.
    """

    def __init__(
        self, A, space, alpha=0.0, exact_threshold=None, offsets=False, model=None
    ):
        if offsets and model is not None and model.n_factors != 2:
            raise ValueError("Column offsets need the two-factor model X Yᵀ.")
        xp = self.xp = space.xp
        self.space = space
        missing = xp.isnan(A)
        filled = xp.where(missing, xp.zeros((), dtype=A.dtype, device=A.device), A)
        counts = xp.astype(missing, xp.int64)
        self.row_missing = to_host(xp.sum(counts, axis=1))
        self.col_missing = to_host(xp.sum(counts, axis=0))
        self._mask = missing
        self.A_missing = A
        self.offsets = bool(offsets)
        self._count_missing()
        FactorizationObjective.__init__(
            self, filled, alpha=alpha, exact_threshold=exact_threshold, model=model
        )
        if self.offsets:
            self._wide = widest_float(xp, A)
            col_sums = to_host(xp.sum(filled, axis=0, dtype=self._wide))
            self._offset_baseline(col_sums.astype(np.float64), exact_threshold)
            self._counts_device = space.from_host(self._counts.astype(self._wide_np()))
            self._col_sums_device = space.from_host(
                self._col_sums.astype(self._wide_np())
            )

    def _wide_np(self):
        return np.float64 if self._wide == self.xp.float64 else np.float32

    @property
    def target(self):
        T = getattr(self, "_target", None)
        if T is None:
            p = self.observed_fraction
            A0 = self.A if p in (0.0, 1.0) else divide_exactly(self.A, p)
            T = self._target = _DeviceData(A0, self.space)
        return T

    def _rows_per_block(self):
        return max(1, (16 * _MASK_BLOCK_ELEMENTS) // max(self.shape[1], 1))

    def _masked_block(self, L, R, start, stop):
        """The model on the missing entries of rows ``start:stop``."""
        block = L[start:stop, :] @ R.T
        zero = self.xp.zeros((), dtype=block.dtype, device=block.device)
        return self.xp.where(self._mask[start:stop, :], block, zero)

    def _missing_part(self, point, products):
        cache = point.cache
        if "missing_products" in cache or (not products and "missing_energy" in cache):
            return cache["missing_energy"], cache.get("missing_products")
        xp = self.xp
        L, R = self.model.split(point.factors)
        both = self.n_factors == 2
        m, n = self.shape
        wide = widest_float(xp, L)
        energy = xp.zeros((), dtype=wide, device=L.device)
        col_sums = xp.zeros(n, dtype=wide, device=L.device)
        parts, EtX = [], (xp.zeros_like(R) if both and products else None)
        step = self._rows_per_block()
        for start in range(0, m, step):
            stop = min(start + step, m)
            block = self._masked_block(L, R, start, stop)
            energy = energy + device_inner(block, block)
            col_sums = col_sums + xp.sum(block, axis=0, dtype=wide)
            if products:
                parts.append(block @ R)
                if both:
                    EtX = EtX + block.T @ L[start:stop, :]
        cache["missing_energy"] = energy  # on the device: read with the loss
        cache["missing_col_sums"] = col_sums
        if products:
            EY = parts[0] if len(parts) == 1 else xp.concat(parts, axis=0)
            cache["missing_products"] = (EY, EtX)
        return energy, cache.get("missing_products")

    def _missing_apply(self, V, transpose=False, factors=None):
        xp = self.xp
        m = self.shape[0]
        parts = []
        out = None
        step = self._rows_per_block()
        for start in range(0, m, step):
            stop = min(start + step, m)
            if factors is None:
                block = xp.astype(self._mask[start:stop, :], V.dtype)
            else:
                L, R = self.model.split(factors)
                block = self._masked_block(L, R, start, stop)
            if transpose:
                part = block.T @ V[start:stop, :]
                out = part if out is None else out + part
            else:
                parts.append(block @ V)
        if transpose:
            return out
        return parts[0] if len(parts) == 1 else xp.concat(parts, axis=0)

    def _offsets(self, point):
        mu = point.cache.get("offsets")
        if mu is None:
            X, Y = point.factors
            self._missing_part(point, products=False)
            observed = Y @ self.xp.sum(X, axis=0) - point.cache["missing_col_sums"]
            mu = (self._col_sums_device - observed) / self._counts_device
            point.cache["offsets"] = mu
        return mu

    def offsets_at(self, factors):
        return to_host(self._offsets(self.point(factors))).astype(np.float64)

    def value(self, point):
        f = point.cache.get("value")
        if f is None:
            xp = self.xp
            hidden, _ = self._missing_part(point, products=False)
            cross = device_inner(self._product(point, 0), point.factors[0])
            quad = device_inner(point.gram(0), point.gram(self.partner(0)))
            half = self.model.half
            f = half * (self._total - 2.0 * cross + quad) - half * hidden
            if self.offsets:
                mu = self._offsets(point)
                f = f - 0.5 * device_inner(self._counts_device, mu * mu)
            f = point.read(f)  # the one synchronisation of the loss
            if f < self._exact_below:
                X, Y = self.model.split(point.factors)
                if self.offsets:
                    mu = xp.astype(self._offsets(point), X.dtype)
                    ones = xp.ones((X.shape[0], 1), dtype=X.dtype, device=X.device)
                    X = xp.concat([X, ones], axis=1)
                    Y = xp.concat([Y, mu[:, None]], axis=1)
                f = half * residual_sq_norm(self.A_missing, X, Y, ignore_nan=True)
            point.cache["value"] = f + self._penalty_value(point)
        return point.cache["value"]

    def grad_block(self, point, i):
        xp = self.xp
        grad = DeviceFactorizationObjective.grad_block(self, point, i)
        _, (EY, EtX) = self._missing_part(point, products=True)
        grad = grad - (EY if i == 0 else EtX)
        if self.offsets:
            X, Y = point.factors
            mu = xp.astype(self._offsets(point), X.dtype)
            if i == 0:  # + P_Ω(1μᵀ) Y = 1(μᵀY) − I_M (μ∘Y)
                grad = grad + mu @ Y
                grad = grad - self._missing_apply(mu[:, None] * Y)
            else:  # + diag(μ) P_Ωᵀ X = μ∘(1ᵀX − I_MᵀX)
                grad = grad + mu[:, None] * (
                    xp.sum(X, axis=0) - self._missing_apply(X, True)
                )
        return grad

    def _residual_products(self, point):
        xp = self.xp
        L, R = self.model.split(point.factors)
        A, move = self.A, self.adopt
        mu = xp.astype(self._offsets(point), L.dtype) if self.offsets else None

        def matmat(V):
            (V,) = move([V])
            out = L @ (R.T @ V) - A @ V - self._missing_apply(V, False, point.factors)
            if mu is not None:
                out = out + mu @ V
                out = out - self._missing_apply(mu[:, None] * V)
            return to_host(out)

        def rmatmat(U):
            (U,) = move([U])
            out = R @ (L.T @ U) - A.T @ U - self._missing_apply(U, True, point.factors)
            if mu is not None:
                out = out + mu[:, None] * (
                    xp.sum(U, axis=0) - self._missing_apply(U, True)
                )
            return to_host(out)

        return matmat, rmatmat
