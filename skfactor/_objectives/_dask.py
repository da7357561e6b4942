r"""The factorization objective on distributed data (dask).

``A`` (m×n) is a dask array chunked by rows (and possibly by columns). The
row factor ``X`` (m×d) is a dask array chunked like ``A``'s rows, persisted
on the workers at every point; the column factor ``Y`` (n×d), the Grams,
``AᵀX`` (n×d) and the loss live on the client. A point costs one pass over
``A``: the two products ``AY`` (blockwise, kept beside ``X``) and ``AᵀX`` (a
tree reduction over the row chunks), ``XᵀX`` and ``⟨AY, X⟩`` are computed
in one call, with the optimizers' deferred scalars (NAG's restart test).
The solver, optimizers and starts are those of the numpy path.
"""

import numpy as np

from .._dask import (
    compute,
    is_dask,
    matmul,
    persist,
    residual_sq_norm,
    rmatmul,
    rows_like,
)
from .._linalg import numpy_dtype, operator_norm
from .._threads import single_threaded
from ._base import Point, linear_combination
from ._factorization import FactorizationObjective
from ._models import PairModel


def _dense_chunk(a):
    return a.toarray() if hasattr(a, "toarray") else a


class _DaskPoint(Point):
    """A point whose row factor is a dask array: its Gram and deferred
    scalars come from the objective's one call per point."""

    __slots__ = ("objective",)

    def __init__(self, factors, cache=None, objective=None):
        super().__init__(factors, cache)
        self.objective = objective

    def gram(self, i):
        key = ("gram", i)
        if key not in self.cache and is_dask(self.factors[i]):
            self.objective.materialize(self)
        return super().gram(i)

    def read(self, scalar=None, name=None):
        done = self.cache.setdefault("read", {})
        if name is not None and name in done:
            return done[name]
        if scalar is not None:
            self.defer("_scalar", scalar)
        self.objective.materialize(self)
        done = self.cache["read"]
        if name is not None:
            return done[name]
        return done.pop("_scalar")


class _DaskData:
    """Distributed data seen from the client: ``T @ B`` takes and returns
    numpy arrays (the starts' and norm estimates' few products; their
    operands are m×b or n×b), the products computed where the data are.
    ``exact_svd`` gives the thin SVD of a matrix with few rows or columns
    from a tall-skinny QR, without gathering it."""

    ndim = 2

    def __init__(self, A, transposed=False):
        self._A, self._transposed = A, transposed
        m, n = A.shape
        self.shape = (n, m) if transposed else (m, n)
        self.dtype = numpy_dtype(A.dtype)

    @property
    def T(self):
        return _DaskData(self._A, not self._transposed)

    def __matmul__(self, B):
        A = self._A
        B = np.ascontiguousarray(B, dtype=self.dtype)
        if self._transposed:
            (out,) = compute(rmatmul(A, B))
        else:
            (out,) = compute(matmul(A, B))
        return np.asarray(out)

    def __array__(self, dtype=None, copy=None):
        raise TypeError(
            "skfactor never gathers distributed data to the client; this is a "
            "bug of the fit that asked for it (please report it)."
        )

    def exact_svd(self, compute_uv=True):
        """The thin SVD of this target from the QR of its tall orientation:
        ``R`` (min(m, n) square) on the client, the tall factor's rows
        computed where the data are."""
        A = self._A
        m, n = A.shape
        tall = A if m >= n else A.T
        # one column chunk, dense (the short side is small here)
        tall = tall.map_blocks(_dense_chunk, dtype=A.dtype).rechunk({0: "auto", 1: -1})
        import dask.array as da

        Q, R = da.linalg.qr(tall)
        if not compute_uv:
            (R,) = compute(R)
            with single_threaded():
                return np.linalg.svd(R, compute_uv=False)
        (R,) = compute(R)
        with single_threaded():
            Ur, s, Vrt = np.linalg.svd(R, full_matrices=False)
        (left,) = compute(Q @ Ur.astype(self.dtype))  # tall (·, k)
        small = Vrt.T.astype(self.dtype)
        # A = Q R = (Q Ur) s Vrᵀ; for a wide A, Aᵀ = Q R, so A = Vr s (Q Ur)ᵀ
        U, V = (left, small) if m >= n else (small, left)
        if self._transposed:
            U, V = V, U
        return np.asarray(U), s, np.ascontiguousarray(V.T)


class DaskFactorizationObjective(FactorizationObjective):
    r""":class:`FactorizationObjective` (the pair ``X Yᵀ``) of a dask array.

    The loss, gradients and caches of the numpy objective,

    .. math::

        ∇_X f = X (YᵀY) − AY + λX,\qquad ∇_Y f = Y (XᵀX) − AᵀX + λY,\qquad
        f = ½\,(‖A‖² − 2⟨AY, X⟩ + ⟨XᵀX, YᵀY⟩) + ½λ(‖X‖² + ‖Y‖²),

    with ``X`` and ``AY`` dask arrays chunked like ``A``'s rows and
    everything else on the client. ``materialize`` persists a point's row
    factor and computes all its missing quantities in one call: one pass
    over ``A`` when both products are missing (a new iterate), none for
    NAG's look-ahead (its products are the combinations of its parents').
    Below the expansion's precision the loss is summed exactly from the
    residual, block by block on the workers.

    Parameters
    ----------
    A : dask array of shape (m, n)
        The data (float32 or float64), validated.
    summary : dict
        :func:`skfactor._dask.summarize` of ``A`` (its squared norm).
    alpha, exact_threshold
        As for :class:`FactorizationObjective`.
    """

    model = PairModel()

    def __init__(self, A, summary, alpha=0.0, exact_threshold=None):
        self.A = A
        self.dtype = numpy_dtype(A.dtype)
        self.shape = tuple(A.shape)
        if exact_threshold is None:
            exact_threshold = 1e4 * np.finfo(self.dtype).eps
        self._total = float(summary["sq_norm"])
        self.reference_loss = self.model.half * self._total
        self._exact_below = exact_threshold * self.reference_loss
        self.penalty = float(alpha) * self.target_norm() if alpha else 0.0

    @property
    def target(self):
        return _DaskData(self.A)

    # -- where the factors live -------------------------------------------------
    def adopt(self, factors):
        X, Y = factors
        X = rows_like(self.A, X if is_dask(X) else np.array(X, dtype=self.dtype))
        X = X.astype(self.dtype)
        (X,) = persist(X)
        Y = np.array(compute(Y)[0] if is_dask(Y) else Y, dtype=self.dtype)
        return [X, Y]

    def host(self, F):
        """A factor on the client: the column factor as it is; the row factor
        is gathered (only for what is published at the end of a fit)."""
        return np.asarray(compute(F)[0]) if is_dask(F) else F

    def small_factors(self, point):
        """``[R, Y]`` with ``X = QR`` (a tall-skinny QR on the workers, ``R``
        d×d): the singular values of ``X Yᵀ`` and of ``X`` without gathering
        ``X``."""
        R = point.cache.get("row_r")
        if R is None:
            import dask.array as da

            (R,) = compute(da.linalg.qr(point.factors[0])[1])
            R = point.cache["row_r"] = np.asarray(R)
        return [R, point.factors[1]]

    # -- points ----------------------------------------------------------------
    def point(self, factors):
        return _DaskPoint(factors, objective=self)

    def materialize(self, point):
        """Persist the point's row factor (and ``AY``) and compute what it
        lacks of ``AᵀX``, ``XᵀX``, ``⟨AY, X⟩`` and its deferred scalars, in
        one call on the scheduler (``A`` read once)."""
        cache = point.cache
        X, Y = point.factors
        lazy = {}
        product = cache.get(("product", 0))
        if product is None:
            product = matmul(self.A, Y)
        if ("product", 1) not in cache:
            lazy["product", 1] = rmatmul(self.A, X)
        if ("gram", 0) not in cache:
            lazy["gram", 0] = X.T @ X
        if "cross" not in cache:
            wide = product.astype(np.float64) * X.astype(np.float64)
            lazy["cross"] = wide.sum()
        deferred = cache.pop("deferred", {})
        names = list(deferred)
        if not lazy and not names and cache.get("persisted"):
            return
        keys = list(lazy)
        values = [lazy[k] for k in keys] + [deferred[k] for k in names]
        X, product, *values = persist(X, product, *values)
        values = compute(*values) if values else ()
        point.factors[0] = X
        cache["product", 0] = product
        cache["persisted"] = True
        for key, value in zip(keys, values):
            cache[key] = float(value) if key == "cross" else np.asarray(value)
        done = cache.setdefault("read", {})
        for name, value in zip(names, values[len(keys) :]):
            done[name] = float(value)

    def _product(self, point, i):
        if ("product", i) not in point.cache or not point.cache.get("persisted"):
            self.materialize(point)
        return point.cache["product", i]

    def _expansion(self, point):
        self.materialize(point)
        cross = point.cache["cross"]
        quad = float(np.sum(point.gram(0) * point.gram(1), dtype=np.float64))
        return self.model.half * (self._total - 2.0 * cross + quad)

    def _exact(self, point):
        return self.model.half * residual_sq_norm(self.A, *point.factors)

    def grad_block(self, point, i):
        if i == 0:
            grad = point.factors[0] @ point.gram(1) - self._product(point, 0)
        else:
            grad = point.factors[1] @ point.gram(0)
            grad -= self._product(point, 1)
        if self.penalty:
            grad = grad + np.asarray(self.penalty, dtype=self.dtype) * point.factors[i]
        return grad

    # -- combinations: products combined, the row side lazily -----------------
    def combine(self, terms):
        factors = [
            linear_combination([(c, p.factors[i]) for c, p in terms]) for i in range(2)
        ]
        cache = {}
        for i in range(2):
            cache["product", i] = linear_combination(
                [(c, self._product(p, i)) for c, p in terms]
            )
        return _DaskPoint(factors, cache, objective=self)

    def replace_block(self, point, i, factor):
        plain = super().replace_block(point, i, factor)
        cache = plain.cache
        if i == 1:  # AY follows Y: recomputed with the new one
            cache.pop(("product", 0), None)
        return _DaskPoint(plain.factors, cache, objective=self)

    # -- what the step policy and the saddle probe read -------------------------
    def _normal_passes(self, point):
        """``V ↦ (‖(EV)ⱼ‖², Eᵀ E V)`` for the residual ``E = XYᵀ − A``, in one
        pass over ``A`` (``EV`` stays on the workers)."""
        X, Y = point.factors
        A = self.A

        def passes(V):
            V = np.asarray(V, dtype=self.dtype)
            U = X @ (Y.T @ V) - matmul(A, V)
            UX = X.T @ U  # d×b, to multiply Y on the client
            squares, AtU, UX = compute((U * U).sum(axis=0), rmatmul(A, U), UX)
            return np.asarray(squares), Y @ np.asarray(UX) - np.asarray(AtU)

        return passes

    def model_gradient_norm(self, point):
        """``‖XYᵀ − A‖₂`` by the block power method of the numpy objective,
        each iteration one pass over ``A``."""
        passes = self._normal_passes(point)
        return operator_norm(None, None, self.shape[1], self.dtype, passes=passes)

    def escape_strength(self, point):
        return self.model_gradient_norm(point)

    def _residual_products(self, point):
        raise NotImplementedError(
            "the residual of distributed data is applied through "
            "_normal_passes, never gathered"
        )
