"""Factorization ``½‖X Yᵀ − A‖²``: dense, sparse, and with missing entries."""

import numpy as np
import scipy.sparse as sp

from .._linalg import (
    divide_exactly,
    entries,
    operator_norm,
    residual_sq_norm,
    sq_norm,
    top_eigenvalue,
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
    r"""``f(X, Y) = ½‖X Yᵀ − A‖²_F + ½λ(‖X‖² + ‖Y‖²)`` for a dense or sparse ``A``.

    Gradients and loss come from the two products ``AY`` and ``AᵀX`` and the
    d×d Gram matrices, never from the m×n residual:

    .. math::

        ∇_X f = X (YᵀY) − AY + λX,\qquad ∇_Y f = Y (XᵀX) − AᵀX + λY,\qquad
        f = ½\,(‖A‖² − 2⟨AY, X⟩ + ⟨XᵀX, YᵀY⟩) + ½λ(‖X‖² + ‖Y‖²).

    The expansion of ``f`` cancels catastrophically once ``f`` is a tiny
    fraction of ``½‖A‖²``; below ``exact_threshold·½‖A‖²`` the loss is
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
    """

    model = PairModel()

    def __init__(self, A, alpha=0.0, exact_threshold=None):
        if sp.issparse(A):
            A = A.tocsr()
            total = sq_norm(A.data)
        else:
            total = sq_norm(A)
        self.A = A
        self.dtype = A.dtype
        self.shape = A.shape
        if exact_threshold is None:
            exact_threshold = 1e4 * np.finfo(A.dtype).eps
        self.reference_loss = self._energy = 0.5 * total  # ½‖A‖²
        self._exact_below = exact_threshold * self.reference_loss
        self.penalty = float(alpha) * self.target_norm() if alpha else 0.0

    @property
    def target(self):
        return self.A

    # -- cached data products (linear in the factors) -------------------------
    def _AY(self, point):
        AY = point.cache.get("AY")
        if AY is None:
            AY = _product(self.A, point.factors[1])
            point.cache["AY"] = AY
        return AY

    def _AtX(self, point):
        AtX = point.cache.get("AtX")
        if AtX is None:
            AtX = _product(self.A.T, point.factors[0])
            point.cache["AtX"] = AtX
        return AtX

    # -- loss and gradients ---------------------------------------------------
    def _expansion(self, point):
        """``½‖XYᵀ − A‖²`` from the products (no penalty)."""
        X = point.factors[0]
        cross = float(np.vdot(self._AY(point), X))
        quad = float(np.vdot(point.gram(0), point.gram(1)))
        return 0.5 * (2.0 * self._energy - 2.0 * cross + quad)

    def value(self, point):
        f = point.cache.get("value")
        if f is None:
            f = self._expansion(point)
            if f < self._exact_below:
                f = 0.5 * residual_sq_norm(self.A, *point.factors)
            point.cache["value"] = f + self._penalty_value(point)
        return point.cache["value"]

    def loss_rounding(self, value):
        """``eps·(f_ref + f)`` while the loss is expanded (it cancels), the
        residual's rounding once it is computed exactly."""
        if value < self._exact_below:
            return super().loss_rounding(value)
        return float(np.finfo(self.dtype).eps) * (self._energy + value)

    def _penalty_value(self, point):
        if not self.penalty:
            return 0.0
        traces = np.trace(point.gram(0)) + np.trace(point.gram(1))
        return 0.5 * self.penalty * float(traces)

    def grad_block(self, point, i):
        X, Y = point.factors
        if i == 0:
            grad = X @ point.gram(1)
            grad -= self._AY(point)
        else:
            grad = Y @ point.gram(0)
            grad -= self._AtX(point)
        if self.penalty:
            grad += np.asarray(self.penalty, dtype=grad.dtype) * point.factors[i]
        return grad

    def grad(self, point):
        return [self.grad_block(point, 0), self.grad_block(point, 1)]

    # -- combinations that reuse the products ---------------------------------
    def combine(self, terms):
        point = super().combine(terms)
        point.cache["AY"] = linear_combination([(c, self._AY(p)) for c, p in terms])
        point.cache["AtX"] = linear_combination([(c, self._AtX(p)) for c, p in terms])
        return point

    def replace_block(self, point, i, factor):
        factors = list(point.factors)
        factors[i] = factor
        # AY depends on Y only, AᵀX on X only; the Gram of the kept block too.
        kept = 1 - i
        cache = {}
        product_key = "AY" if i == 0 else "AtX"
        if product_key in point.cache:
            cache[product_key] = point.cache[product_key]
        if ("gram", kept) in point.cache:
            cache["gram", kept] = point.cache["gram", kept]
        return Point(factors, cache)

    def smoothness(self, point):
        """Bound on ``‖∇²f‖``: ``‖X‖₂² + ‖Y‖₂² + ‖XYᵀ − A‖_F + λ``."""
        top = [top_eigenvalue(point.gram(i)) for i in (0, 1)]
        residual = float(np.sqrt(2.0 * max(self.value(point), 0.0)))
        return top[0] + top[1] + residual + self.penalty

    # -- the saddle probe -------------------------------------------------------
    def _residual_products(self, point):
        """``V ↦ (XYᵀ − A)V`` and ``U ↦ (XYᵀ − A)ᵀU``."""
        X, Y = point.factors
        A = self.A
        return (lambda V: X @ (Y.T @ V) - A @ V), (lambda U: Y @ (X.T @ U) - A.T @ U)

    def model_gradient_norm(self, point):
        """``‖XYᵀ − A‖₂`` by block power iterations on products with the data."""
        matmat, rmatmat = self._residual_products(point)
        return operator_norm(matmat, rmatmat, self.shape[1], self.dtype)


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

    def __init__(self, A, alpha=0.0, exact_threshold=None, offsets=False):
        m, n = A.shape
        self._mask = None
        if offsets and sp.issparse(A):
            raise ValueError("Column offsets need dense data.")
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
        self.n_missing = int(self.row_missing.sum())
        self.n_observed = m * n - self.n_missing
        self.observed_fraction = self.n_observed / (m * n) if m * n else 0.0
        row_fraction = 1.0 - self.row_missing / max(n, 1)
        col_fraction = 1.0 - self.col_missing / max(m, 1)
        self._design = float(
            max(row_fraction.max(initial=0.0), col_fraction.max(initial=0.0))
        )
        super().__init__(filled, alpha=alpha, exact_threshold=exact_threshold)
        if self.offsets:
            self._counts = np.maximum(m - self.col_missing, 1).astype(np.float64)
            self._col_sums = np.asarray(filled.sum(axis=0), dtype=np.float64)
            mu0 = self._col_sums / self._counts
            self.reference_loss -= 0.5 * float(np.dot(self._counts, mu0 * mu0))
            self._exact_below = (
                exact_threshold or 1e4 * np.finfo(A.dtype).eps
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
        """The model ``E = P_M(XYᵀ)`` on the missing set, cached per point:
        ``‖E‖²``, its column sums and, with ``products``, ``(E Y, Eᵀ X)``."""
        cache = point.cache
        if "missing_products" in cache or (not products and "missing_energy" in cache):
            return cache["missing_energy"], cache.get("missing_products")
        X, Y = point.factors
        EY = EtX = None
        if self._mask is None:
            values = entries(X, Y, self._rows, self._cols)
            energy = sq_norm(values)
            col_sums = np.bincount(self._cols, weights=values, minlength=self.shape[1])
            if products:
                E = self._missing_matrix(values)
                EY, EtX = np.asarray(E @ Y), np.asarray(E.T @ X)
        else:
            m, n = self.shape
            rows = max(1, _MASK_BLOCK_ELEMENTS // max(n, 1))
            energy = 0.0
            col_sums = np.zeros(n)
            if products:
                EY = np.empty_like(X)
                EtX = np.zeros_like(Y)
            for start in range(0, m, rows):
                stop = min(start + rows, m)
                block = X[start:stop] @ Y.T
                block *= self._mask[start:stop]  # the model on missing entries
                energy += sq_norm(block)
                col_sums += block.sum(axis=0)
                if products:
                    EY[start:stop] = block @ Y
                    EtX += block.T @ X[start:stop]
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
                values = entries(*factors, self._rows, self._cols)
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
                X, Y = factors
                block = X[start:stop] @ Y.T
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
            X, Y = point.factors
            hidden, _ = self._missing_part(point, products=False)
            f = self._expansion(point) - 0.5 * hidden
            if self.offsets:
                mu = self._offsets(point)
                f -= 0.5 * float(np.dot(self._counts, mu * mu))
            if f < self._exact_below:
                if self.offsets:
                    mu = self._offsets(point).astype(self.dtype)
                    X = np.hstack([X, np.ones((X.shape[0], 1), dtype=self.dtype)])
                    Y = np.hstack([Y, mu[:, None]])
                f = 0.5 * residual_sq_norm(self.A_missing, X, Y, ignore_nan=True)
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
