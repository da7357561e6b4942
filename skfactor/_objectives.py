"""Objectives: smooth losses over a list of factor arrays.

An objective knows its data and nothing about optimizers. Optimizers talk to it
through :class:`Point` objects: a point holds the factors and a cache of
everything derived from them (data products, Gram matrices, the loss), so that
no quantity is computed twice however an optimizer combines its calls.

The interface every objective offers:

``point(F)``
    Wrap a list of factor arrays.
``value(p)``, ``grad(p)``, ``grad_block(p, i)``
    The loss, all block gradients, one block gradient.
``combine([(c1, p1), (c2, p2), ...])``
    The point ``Σ cᵢ·Fᵢ``. Objectives whose data products are linear in the
    factors (factorization) combine the cached products too, so an
    extrapolated point (NAG's look-ahead) costs no pass over the data.
``replace_block(p, i, Fi)``
    The point with block ``i`` replaced; cached quantities that do not depend
    on block ``i`` are kept (what alternating methods need).
``target``, ``reference_loss``, ``smoothness(p)``
    What initializers and step-size rules need: the matrix that sketching
    starts use, the loss of the zero model, and an upper bound on the local
    curvature.
``frozen_curvature(p)``, ``design_curvature()``, ``target_norm(rng)``
    The curvature in the last factor with the others frozen (the unbalanced
    start's step), the mean curvature of the linear map (the preconditioned
    methods' step), and σ₁ of the target.
``partner(i)``
    The factor whose Gram right-preconditions block ``i`` (``1 - i`` for
    ``L Rᵀ``, ``0`` for a symmetric ``X Xᵀ``, ``None`` for deeper models).

Implementations: :class:`FactorizationObjective` (``½‖XYᵀ − A‖²``),
:class:`SensingObjective` (trace regression and completion),
:class:`LinearNetObjective` and :class:`LinearNetDataObjective` (deep linear
networks from sufficient statistics, or from products with X).
"""

import numpy as np
import scipy.sparse as sp

from ._linalg import residual_sq_norm, spectral_norm, sq_norm, top_singular_value


class Point:
    """Factors and a cache of quantities derived from them.

    Points are immutable by convention: optimizers build new arrays for new
    points and never write into the factors of an existing one (the solver
    keeps a reference to the best point seen).
    """

    __slots__ = ("cache", "factors")

    def __init__(self, factors, cache=None):
        self.factors = list(factors)
        self.cache = {} if cache is None else cache

    def gram(self, i):
        """``Fᵢᵀ Fᵢ`` (d×d), computed once per point."""
        key = ("gram", i)
        gram = self.cache.get(key)
        if gram is None:
            factor = self.factors[i]
            gram = factor.T @ factor
            self.cache[key] = gram
        return gram


class Objective:
    """Base class: generic, cache-free versions of the combination helpers."""

    n_factors = 2
    _target_norm = None

    def point(self, factors):
        return Point(factors)

    def value(self, point):
        raise NotImplementedError

    def grad(self, point):
        raise NotImplementedError

    def grad_block(self, point, i):
        return self.grad(point)[i]

    def combine(self, terms):
        factors = [
            _linear_combination([(c, p.factors[i]) for c, p in terms])
            for i in range(self.n_factors)
        ]
        return Point(factors)

    def replace_block(self, point, i, factor):
        factors = list(point.factors)
        factors[i] = factor
        return Point(factors)

    def smoothness(self, point):
        raise NotImplementedError

    def design_curvature(self):
        """Mean eigenvalue of the objective's linear map (1: identity)."""
        return 1.0

    def frozen_curvature(self, point):
        """Curvature in the last factor with the others frozen.

        For ``f = ½‖F₀ F₁ᵀ − A‖²`` that is ``λ_max(F₀ᵀF₀)``: the step-size
        scale of the unbalanced start, where the first factor barely moves.
        """
        return float(np.linalg.eigvalsh(point.gram(0))[-1])

    def partner(self, i):
        """Index of the factor whose Gram right-preconditions block ``i``.

        ``1 - i`` for two-factor models ``L Rᵀ``; a symmetric model ``X Xᵀ``
        returns ``0``; ``None`` where no such pairing exists (deeper models).
        """
        return 1 - i if self.n_factors == 2 else None

    def target_norm(self, random_state):
        """``σ₁(target)``, estimated once per objective (see ``spectral_norm``)."""
        if self._target_norm is None:
            self._target_norm = spectral_norm(self.target, random_state)
        return self._target_norm


def _linear_combination(terms):
    """``Σ cᵢ·aᵢ`` with one allocation (the sum) and one pass per term."""
    (c0, a0), *rest = terms
    if len(rest) == 1 and c0 != 0:
        # c₀(a₀ + (c₁/c₀)a₁): NAG's look-ahead, three passes and no temporary
        c1, a1 = rest[0]
        out = np.multiply(a1, np.asarray(c1 / c0, dtype=a1.dtype))
        out += a0
        out *= np.asarray(c0, dtype=out.dtype)
        return out
    out = np.multiply(a0, np.asarray(c0, dtype=a0.dtype))
    scratch = None
    for c, a in rest:
        scratch = np.multiply(a, np.asarray(c, dtype=a.dtype), out=scratch)
        out += scratch
    return out


class FactorizationObjective(Objective):
    r"""``f(X, Y) = ½‖X Yᵀ − A‖²_F`` for a dense or sparse ``A`` (m×n).

    Gradients and loss come from the two products ``AY`` and ``AᵀX`` and the
    d×d Gram matrices, never from the m×n residual:

    .. math::

        ∇_X f = X (YᵀY) − AY,\qquad ∇_Y f = Y (XᵀX) − AᵀX,\qquad
        f = ½\,(‖A‖² − 2⟨AY, X⟩ + ⟨XᵀX, YᵀY⟩).

    The expansion of ``f`` cancels catastrophically once ``f`` is a tiny
    fraction of ``½‖A‖²``; below ``exact_threshold·½‖A‖²`` the loss is
    recomputed exactly from the residual, a block of rows at a time.

    Parameters
    ----------
    A : ndarray or sparse matrix of shape (m, n)
        The data; CSC input is used through its CSR transpose-free form.
    exact_threshold : float, default=None
        Relative loss below which the blocked exact residual is used.
        ``None`` means ``1e4·eps`` of ``A``'s dtype (about 2e-12 in float64,
        so the recorded loss stays accurate to a few digits down to relative
        errors of 1e-15).
    """

    #: Ridge penalty ``λ``: the loss gains ``½λ(‖X‖² + ‖Y‖²)`` and the
    #: gradients ``λX``, ``λY`` (set by the estimator from ``alpha``).
    penalty = 0.0

    def __init__(self, A, exact_threshold=None):
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
        self.reference_loss = 0.5 * total
        self._exact_below = exact_threshold * self.reference_loss

    @property
    def target(self):
        return self.A

    # -- cached data products (linear in the factors) -------------------------
    def _AY(self, point):
        AY = point.cache.get("AY")
        if AY is None:
            AY = self.A @ point.factors[1]
            point.cache["AY"] = AY
        return AY

    def _AtX(self, point):
        AtX = point.cache.get("AtX")
        if AtX is None:
            AtX = self.A.T @ point.factors[0]
            point.cache["AtX"] = AtX
        return AtX

    # -- loss and gradients ---------------------------------------------------
    def value(self, point):
        f = point.cache.get("value")
        if f is None:
            X, Y = point.factors
            cross = float(np.vdot(self._AY(point), X))
            quad = float(np.vdot(point.gram(0), point.gram(1)))
            f = 0.5 * (2.0 * self.reference_loss - 2.0 * cross + quad)
            if f < self._exact_below:
                f = 0.5 * residual_sq_norm(self.A, X, Y)
            point.cache["value"] = f + self._penalty_value(point)
        return point.cache["value"]

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
        point.cache["AY"] = _linear_combination([(c, self._AY(p)) for c, p in terms])
        point.cache["AtX"] = _linear_combination([(c, self._AtX(p)) for c, p in terms])
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
        """Bound on ``‖∇²f‖``: ``‖X‖₂² + ‖Y‖₂² + ‖XYᵀ − A‖_F``."""
        top = [float(np.linalg.eigvalsh(point.gram(i))[-1]) for i in (0, 1)]
        return top[0] + top[1] + float(np.sqrt(2.0 * self.value(point))) + self.penalty

    def frozen_curvature(self, point):
        return super().frozen_curvature(point) + self.penalty


def _divide(A, c):
    """``A / c`` for a dense or sparse ``A``, in ``A``'s dtype."""
    if sp.issparse(A):
        out = A.copy()
        out.data /= np.asarray(c, dtype=out.dtype)
        return out
    return A / np.asarray(c, dtype=A.dtype)


class MaskedFactorizationObjective(FactorizationObjective):
    r"""``f(X, Y) = ½‖P_Ω(X Yᵀ − A)‖²_F``: factorization with missing entries.

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

    Sketching starts use the zero-filled data rescaled by the observed
    fraction, ``A₀/p``, an unbiased estimate of ``A`` for entries missing at
    random.
    """

    #: Above this missing fraction, dense data evaluate the model at the
    #: missing entries by blocked products instead of gathering them one by
    #: one: a gathered entry costs about as much as a row block's d-long dot
    #: product, but without BLAS.
    BLOCKED_ABOVE = 0.05

    def __init__(self, A, exact_threshold=None):
        m, n = A.shape
        self._mask = None
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
        super().__init__(filled, exact_threshold)
        self.A_missing = A  # NaN kept: what the exact loss reads
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

    @property
    def target(self):
        """``A₀/p``: zero-filled data over the observed fraction."""
        T = getattr(self, "_target", None)
        if T is None:
            p = self.observed_fraction
            T = self.A if p in (0.0, 1.0) else _divide(self.A, p)
            self._target = T
        return T

    def _missing_part(self, point, products):
        """``‖P_M(XYᵀ)‖²`` and, with ``products``, ``(E Y, Eᵀ X)`` for
        ``E = P_M(XYᵀ)``: the model on the missing set, cached per point."""
        cache = point.cache
        if "missing_products" in cache or (not products and "missing_energy" in cache):
            return cache["missing_energy"], cache.get("missing_products")
        X, Y = point.factors
        EY = EtX = None
        if self._mask is None:
            values = _entries(X, Y, self._rows, self._cols)
            energy = sq_norm(values)
            if products:
                E = sp.csr_matrix((values, self._cols, self._indptr), shape=self.shape)
                EY, EtX = np.asarray(E @ Y), np.asarray(E.T @ X)
        else:
            m, n = self.shape
            rows = max(1, _MASK_BLOCK_ELEMENTS // max(n, 1))
            energy = 0.0
            if products:
                EY = np.empty_like(X)
                EtX = np.zeros_like(Y)
            for start in range(0, m, rows):
                stop = min(start + rows, m)
                block = X[start:stop] @ Y.T
                block *= self._mask[start:stop]  # the model on missing entries
                energy += sq_norm(block)
                if products:
                    EY[start:stop] = block @ Y
                    EtX += block.T @ X[start:stop]
        cache["missing_energy"] = energy
        if products:
            cache["missing_products"] = (EY, EtX)
        return energy, cache.get("missing_products")

    def value(self, point):
        f = point.cache.get("value")
        if f is None:
            X, Y = point.factors
            cross = float(np.vdot(self._AY(point), X))
            quad = float(np.vdot(point.gram(0), point.gram(1)))
            hidden, _ = self._missing_part(point, products=False)
            f = 0.5 * (2.0 * self.reference_loss - 2.0 * cross + quad - hidden)
            if f < self._exact_below:
                f = 0.5 * residual_sq_norm(self.A_missing, X, Y, ignore_nan=True)
            point.cache["value"] = f + self._penalty_value(point)
        return point.cache["value"]

    def grad_block(self, point, i):
        grad = super().grad_block(point, i)
        _, (EY, EtX) = self._missing_part(point, products=True)
        grad -= EY if i == 0 else EtX
        return grad

    def design_curvature(self):
        """Largest observed fraction of a row or a column: the curvature of
        the mask in the preconditioned metric (1 without missing entries)."""
        return self._design


#: Elements of one row block of the model on the missing set (2 MiB float64).
_MASK_BLOCK_ELEMENTS = 1 << 20

#: Observations per chunk when evaluating a model at given entries.
_CHUNK = 1 << 14


def _entries(L, R, rows, cols):
    """``(L Rᵀ)[rows, cols]`` without forming ``L Rᵀ``: O(len(rows)·r), in
    chunks so the gathered rows of ``L`` and ``R`` stay small."""
    out = np.empty(len(rows), dtype=np.result_type(L, R))
    for start in range(0, len(rows), _CHUNK):
        stop = start + _CHUNK
        out[start:stop] = np.einsum(
            "ij,ij->i", L[rows[start:stop]], R[cols[start:stop]]
        )
    return out


class SensingObjective(Objective):
    r"""Low-rank trace regression: ``yᵢ ≈ ⟨Aᵢ, M⟩ (+ b)``, ``M = L Rᵀ`` or ``X Xᵀ``.

    With ``𝒜(M)ᵢ = ⟨Aᵢ, M⟩``, ``𝒜*(v) = Σ vᵢ Aᵢ``, the residual
    ``ρ = 𝒜(M) − y`` (centred when ``fit_intercept``: the optimal intercept
    ``b = mean(y − 𝒜(M))`` is eliminated in closed form) and
    ``E = 𝒜*(ρ)/N``::

        asymmetric:  f(L, R) = ‖ρ‖²/(2N),   ∇_L f = E R,   ∇_R f = Eᵀ L
        symmetric:   f(X)    = ‖ρ‖²/(4N),   ∇f = ½ (E + Eᵀ) X

    Parameters
    ----------
    design : ndarray or CSR matrix of shape (N, n1·n2)
        Row ``i`` is ``Aᵢ`` flattened in row-major order. When every row of a
        sparse design holds exactly one entry (matrix completion) the model is
        evaluated at the observed entries only, ``O(N·r)`` per pass, and the
        n1×n2 matrix is never formed.
    y : ndarray of shape (N,)
    shape : (n1, n2)
    symmetric : bool
    fit_intercept : bool
    """

    def __init__(self, design, y, shape, symmetric=False, fit_intercept=False):
        self.design = design.tocsr() if sp.issparse(design) else design
        self.dtype = design.dtype
        self.y = y
        self.shape = tuple(shape)
        self.symmetric = symmetric
        self.fit_intercept = fit_intercept
        self.n_factors = 1 if symmetric else 2
        self.n_samples = design.shape[0]
        self._half = 0.25 if symmetric else 0.5
        self.completion = self._entry_pattern()
        centred = y - y.mean() if fit_intercept else y
        self.reference_loss = self._half * sq_norm(centred) / self.n_samples
        self._y_centred = centred

    # -- the measurement operator and its adjoint -----------------------------
    def _entry_pattern(self):
        """Rows, columns and values of single-entry rows, or None."""
        D = self.design
        if not sp.issparse(D) or D.shape[0] == 0:
            return None
        if not np.all(np.diff(D.indptr) == 1):
            return None
        n1, n2 = self.shape
        # a column index is the flattened position j·n2 + k of the entry;
        # 𝒜* lives on the distinct positions (repeated observations add up)
        positions, inverse = np.unique(D.indices, return_inverse=True)
        e_rows, e_cols = np.divmod(positions, n2)
        indptr = np.zeros(n1 + 1, dtype=D.indices.dtype)
        np.cumsum(np.bincount(e_rows, minlength=n1), out=indptr[1:])
        rows, cols = np.divmod(D.indices, n2)
        return {
            "rows": rows,
            "cols": cols,
            "values": D.data,
            "position": inverse.ravel().astype(D.indices.dtype),
            "indices": e_cols.astype(D.indices.dtype),
            "indptr": indptr,
            "nnz": len(positions),
        }

    def measure(self, factors):
        """``𝒜(M)`` for the model of ``factors`` (M = L Rᵀ or X Xᵀ)."""
        L = factors[0]
        R = factors[0] if self.symmetric else factors[1]
        pattern = self.completion
        if pattern is not None:
            out = _entries(L, R, pattern["rows"], pattern["cols"])
            out *= pattern["values"]
            return out
        M = L @ R.T
        return np.asarray(self.design @ M.ravel())

    def adjoint(self, v):
        """``𝒜*(v)``: dense n1×n2, or CSR on the observed pattern."""
        pattern = self.completion
        if pattern is not None:
            data = np.bincount(
                pattern["position"],
                weights=pattern["values"] * v,
                minlength=pattern["nnz"],
            ).astype(self.dtype, copy=False)
            return sp.csr_matrix(
                (data, pattern["indices"], pattern["indptr"]), shape=self.shape
            )
        return np.asarray(self.design.T @ v).reshape(self.shape)

    # -- cached quantities at a point -----------------------------------------
    def _residual(self, point):
        rho = point.cache.get("rho")
        if rho is None:
            rho = self.measure(point.factors) - self.y
            if self.fit_intercept:
                rho -= rho.mean()
            point.cache["rho"] = rho
        return rho

    def _E(self, point):
        E = point.cache.get("E")
        if E is None:
            # divide the vector, not the matrix: keeps float32 sparse float32
            E = self.adjoint(self._residual(point) / self.n_samples)
            point.cache["E"] = E
        return E

    def intercept(self, factors):
        """The optimal intercept ``mean(y − 𝒜(M))`` (0 without intercept)."""
        if not self.fit_intercept:
            return 0.0
        return float(np.mean(self.y - self.measure(factors)))

    def value(self, point):
        f = point.cache.get("value")
        if f is None:
            f = self._half * sq_norm(self._residual(point)) / self.n_samples
            point.cache["value"] = f
        return f

    def grad_block(self, point, i):
        E = self._E(point)
        if self.symmetric:
            X = point.factors[0]
            return np.asarray(0.5 * (E @ X + E.T @ X))
        L, R = point.factors
        return np.asarray(E @ R) if i == 0 else np.asarray(E.T @ L)

    def grad(self, point):
        return [self.grad_block(point, i) for i in range(self.n_factors)]

    def partner(self, i):
        return 0 if self.symmetric else 1 - i

    # -- what initializers and step-size rules need ---------------------------
    @property
    def target(self):
        """``𝒜*(y)/N`` (y centred with an intercept): ≈ M for isotropic designs."""
        T = getattr(self, "_target", None)
        if T is None:
            T = self.adjoint(self._y_centred / self.n_samples)
            if self.symmetric:
                T = 0.5 * (T + T.T)
            self._target = T
        return T

    def design_curvature(self):
        """``‖D‖_F² / (N·n1·n2)``: the mean eigenvalue of ``𝒜*𝒜/N``.

        1 for designs with i.i.d. N(0, 1) entries, ``1/(n1·n2)`` for
        completion with unit entries; the scale-free step sizes of the
        preconditioned methods are divided by it.
        """
        D = self.design
        total = sq_norm(D.data) if sp.issparse(D) else sq_norm(D)
        return total / (self.n_samples * self.shape[0] * self.shape[1])

    def _operator_norm2(self):
        """``α = σ₁(D)²/N``: the largest eigenvalue of ``𝒜*𝒜/N``."""
        alpha = getattr(self, "_alpha", None)
        if alpha is None:
            alpha = spectral_norm(self.design, np.random.RandomState(0)) ** 2
            alpha /= self.n_samples
            self._alpha = alpha
        return alpha

    def frozen_curvature(self, point):
        return self._operator_norm2() * super().frozen_curvature(point)

    def smoothness(self, point):
        """Bound ``α(‖L‖₂² + ‖R‖₂²) + ‖E‖₂`` with ``α = σ₁(D)²/N``."""
        alpha = self._operator_norm2()
        grams = [point.gram(i) for i in range(self.n_factors)]
        tops = [float(np.linalg.eigvalsh(g)[-1]) for g in grams]
        factor_term = 2 * tops[0] if self.symmetric else sum(tops)
        E = self._E(point)
        E_norm = spectral_norm(E, np.random.RandomState(0))
        return alpha * factor_term + E_norm


def _chain(mats):
    """Product of a list of matrices; None when the list is empty."""
    if not mats:
        return None
    out = mats[0]
    for M in mats[1:]:
        out = out @ M
    return out


class LinearNetObjective(Objective):
    r"""Deep linear network ``x ↦ W_N ⋯ W₁ x`` by least squares.

    Factors are stored ``[W_N, W_{N−1}, …, W₂, W₁ᵀ]`` so that the end-to-end
    map is ``W = P₁ P₂ ⋯ P_K`` with ``P_K = W₁ᵀᵀ``; for two layers this is the
    two-factor form ``L Rᵀ`` with ``L = W₂`` (output layer) and ``R = W₁ᵀ``.
    With sufficient statistics ``S = XᵀX/n`` (p×p), ``C = YᵀX/n`` (q×p) and
    ``G = W S − C``, computed once (centred when fitting an intercept)::

        f = ½ (‖Y‖²/n − 2⟨C, W⟩ + ⟨W S, W⟩) = ‖X Wᵀ − Y‖²/(2n)
        ∇P_k = (P₁⋯P_{k−1})ᵀ G (P_{k+1}⋯P_K)ᵀ,   ∇W₁ᵀ = Gᵀ (P₁⋯P_{K−1})

    so an iteration costs nothing in the number of samples.

    Parameters
    ----------
    S : ndarray (p, p), C : ndarray (q, p), yy : float
        ``XᵀX/n``, ``YᵀX/n`` and ``‖Y‖_F²/n`` (all centred with an intercept).
    n_layers : int
    """

    def __init__(self, S, C, yy, n_layers):
        self.S, self.C = S, C
        self.dtype = C.dtype
        self.n_factors = n_layers
        self.reference_loss = 0.5 * yy
        self._yy = yy

    @property
    def target(self):
        """The least-squares map ``W* = C S^†`` (q×p), what ``W`` must reach.

        ALGORITHMS.md names ``C`` as the target; the two agree for whitened
        inputs (``S = I``, the papers' setting). With correlated inputs
        ``‖W*‖`` can be far larger than ``‖C‖``, and starts scaled from ``C``
        put the layers out of balance with the solution (an unbalanced start
        then diverged whatever the step). Eigenvalues of ``S`` below
        ``p·eps·λ_max`` are treated as zero.
        """
        T = getattr(self, "_target", None)
        if T is None:
            w, V = np.linalg.eigh(self.S)
            keep = w > self.S.shape[0] * np.finfo(self.S.dtype).eps * max(w[-1], 0.0)
            T = ((self.C @ V[:, keep]) / w[keep]) @ V[:, keep].T
            self._target = T.astype(self.dtype, copy=False)
            T = self._target
        return T

    def _W(self, point):
        W = point.cache.get("W")
        if W is None:
            F = point.factors
            W = _chain(F[:-1]) @ F[-1].T
            point.cache["W"] = W
        return W

    def _G(self, point):
        G = point.cache.get("G")
        if G is None:
            # W S = (P₁⋯P_{K−1})(W₁ S): d₁p² + q·d·p flops instead of q·p²
            F = point.factors
            G = _chain(F[:-1]) @ (F[-1].T @ self.S)
            G -= self.C
            point.cache["G"] = G
        return G

    def value(self, point):
        f = point.cache.get("value")
        if f is None:
            W = self._W(point)
            # ⟨WS, W⟩ = ⟨G, W⟩ + ⟨C, W⟩: no q×p temporary
            f = 0.5 * (
                self._yy - float(np.vdot(self.C, W)) + float(np.vdot(self._G(point), W))
            )
            point.cache["value"] = max(f, 0.0)
            f = point.cache["value"]
        return f

    def grad(self, point):
        F = point.factors
        G = self._G(point)
        K = len(F)
        grads = []
        for k in range(K):
            left = _chain(F[:k])  # P₁⋯P_{k−1}
            if k == K - 1:
                grads.append(G.T @ left)
                continue
            right = _chain(F[k + 1 : -1])  # P_{k+1}⋯P_{K−1}
            right = F[-1].T if right is None else right @ F[-1].T  # … P_K
            GB = G @ right.T
            grads.append(GB if left is None else left.T @ GB)
        return grads

    def grad_block(self, point, i):
        return self.grad(point)[i]

    def _s_top(self):
        s_norm = getattr(self, "_s_norm", None)
        if s_norm is None:
            s_norm = float(np.linalg.eigvalsh(self.S)[-1]) if self.S.size else 0.0
            self._s_norm = s_norm
        return s_norm

    def frozen_curvature(self, point):
        """``λ_max(PᵀP)·λ_max(S)``, P = the product of all layers but the input."""
        P = _chain(point.factors[:-1])
        return top_singular_value(P) ** 2 * self._s_top()

    def smoothness(self, point):
        """A bound on ``‖∇²f‖`` at the point.

        ``‖S‖₂ Σ_k Π_{j≠k} ‖P_j‖₂²`` (the blocks) plus
        ``‖G‖₂ Σ_{i<j} Π_{l≠i,j} ‖P_l‖₂`` (the cross terms ``⟨G, ⋯ΔP_i⋯ΔP_j⋯⟩``,
        which for two layers reduce to ``‖G‖₂``).
        """
        norms = [
            float(np.sqrt(max(np.linalg.eigvalsh(point.gram(i))[-1], 0.0)))
            for i in range(self.n_factors)
        ]
        K = len(norms)
        blocks = sum(
            float(np.prod([v * v for j, v in enumerate(norms) if j != k]))
            for k in range(K)
        )
        cross = sum(
            float(np.prod([v for m, v in enumerate(norms) if m not in (i, j)]))
            for i in range(K)
            for j in range(i + 1, K)
        )
        G_norm = float(np.linalg.norm(self._G(point), 2)) if self.C.size else 0.0
        return self._s_top() * blocks + G_norm * cross


class LinearNetDataObjective(LinearNetObjective):
    r"""The linear network of :class:`LinearNetObjective`, from products with X.

    For many features the p×p statistic ``S`` is larger than the data; then
    every iteration makes two passes over ``X`` (dense or sparse, never
    densified) of width ``d₁`` (the first hidden layer), forward and backward
    through the activations, and the q×p map ``W`` is never formed::

        H = (X − x̄) W₁ᵀ,   aₖ = H (Pₖ₊₁⋯P_{K−1})ᵀ,   R = a₁ − (Y − ȳ)
        f = ‖R‖²/(2n),      δ₁ = R/n,   δₖ₊₁ = δₖ Pₖ
        ∇Pₖ = δₖᵀ aₖ₊₁,     ∇W₁ᵀ = Xᵀ δ_K

    (``R`` and hence every ``δₖ`` have zero column means, so ``Xᵀ δ_K`` needs
    no centring). ``H`` is linear in ``W₁``, so a combination of points
    (NAG's look-ahead) combines the cached ``H`` instead of a pass over X:
    every optimizer costs the two passes ``X W₁ᵀ`` and ``Xᵀ δ_K`` per
    iteration. The start's target is ``C = YᵀX/n`` here: the least-squares
    map would need ``S``.
    """

    def __init__(self, X, Y, x_mean, y_mean, n_layers):
        n = X.shape[0]
        self.X = X
        # no centring of X needed when x̄ = 0 (no intercept)
        self.x_mean = x_mean if x_mean is not None and np.any(x_mean) else None
        self.Yc = Y if y_mean is None else Y - y_mean
        C = np.asarray(X.T @ self.Yc).T / n
        yy = sq_norm(self.Yc) / n
        super().__init__(None, C.astype(X.dtype, copy=False), yy, n_layers)

    @property
    def target(self):
        return self.C

    def _H(self, point):
        """The centred first hidden layer ``(X − x̄) W₁ᵀ`` (n×d₁)."""
        H = point.cache.get("H")
        if H is None:
            W1t = point.factors[-1]
            H = np.asarray(self.X @ W1t)
            if self.x_mean is not None:
                H -= self.x_mean @ W1t
            point.cache["H"] = H
        return H

    def _activations(self, point):
        """``[a₁, …, a_K]`` with ``a_K = H`` and ``aₖ = aₖ₊₁ Pₖᵀ``."""
        acts = point.cache.get("acts")
        if acts is None:
            F = point.factors
            acts = [self._H(point)]
            for P in F[-2::-1]:
                acts.append(acts[-1] @ P.T)
            acts.reverse()
            point.cache["acts"] = acts
        return acts

    def _residual(self, point):
        R = point.cache.get("R")
        if R is None:
            R = self._activations(point)[0] - self.Yc
            point.cache["R"] = R
        return R

    def _G(self, point):
        """``G = Rᵀ(X − x̄)/n`` (q×p): only for the step rule, never per iteration."""
        G = point.cache.get("G")
        if G is None:
            G = np.asarray(self.X.T @ self._residual(point)).T / self.X.shape[0]
            point.cache["G"] = G
        return G

    def value(self, point):
        f = point.cache.get("value")
        if f is None:
            f = 0.5 * sq_norm(self._residual(point)) / self.X.shape[0]
            point.cache["value"] = f
        return f

    def grad(self, point):
        F = point.factors
        acts = self._activations(point)
        delta = self._residual(point) / np.asarray(self.X.shape[0], dtype=self.dtype)
        grads = []
        for k, P in enumerate(F[:-1]):
            grads.append(delta.T @ acts[k + 1])
            delta = delta @ P
        grads.append(np.asarray(self.X.T @ delta))
        return grads

    def combine(self, terms):
        point = super().combine(terms)
        if all("H" in p.cache for _, p in terms):
            point.cache["H"] = _linear_combination(
                [(c, p.cache["H"]) for c, p in terms]
            )
        return point

    def _s_top(self):
        """An upper bound on ``λ_max`` of the centred ``XᵀX/n``."""
        s_norm = getattr(self, "_s_norm", None)
        if s_norm is None:
            s_norm = spectral_norm(self.X, np.random.RandomState(0)) ** 2
            s_norm /= self.X.shape[0]
            self._s_norm = s_norm
        return s_norm
