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

import functools
import operator

import numpy as np
import scipy.sparse as sp

from .._dask import (
    compute,
    is_dask,
    lazy_residual_sq_norm,
    matmul,
    persist,
    rmatmul,
    rows_like,
    tree_reduce,
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
        if self._exact_regime and "exact" not in cache and not cache.get("combined"):
            # the last loss was summed from the residual: this one will be
            # too, so its pass is part of the point's (A read once)
            lazy["exact"] = self._lazy_exact(X, Y)
        deferred = cache.pop("deferred", {})
        names = list(deferred)
        rows, small, finish = self._extra(point, X, Y)
        if not lazy and not names and not small and cache.get("persisted"):
            return
        keys = list(lazy)
        values = [lazy[k] for k in keys] + [deferred[k] for k in names]
        values += list(small.values())
        if cache.get("combined"):
            # a combination of persisted points (NAG's look-ahead): its rows
            # stay lazy, recomputed element-wise where they are read, so
            # they take no worker memory
            rows = dict(zip(rows, persist(*rows.values()))) if rows else {}
        else:
            X, product, *persisted = persist(X, product, *rows.values(), *values)
            point.factors[0] = X
            rows = dict(zip(rows, persisted[: len(rows)]))
            values = persisted[len(rows) :]
        values = compute(*values) if values else ()
        cache["product", 0] = product
        cache["persisted"] = True
        for key, value in zip(keys, values):
            scalar = key in ("cross", "exact")
            cache[key] = float(value) if scalar else np.asarray(value)
        done = cache.setdefault("read", {})
        for name, value in zip(names, values[len(keys) : len(keys) + len(names)]):
            done[name] = float(value)
        if finish is not None:
            finish(cache, rows, dict(zip(small, values[len(keys) + len(names) :])))

    def _extra(self, point, X, Y):
        """What a subclass adds to a point's one call: ``(rows, small,
        finish)``, lazy row-chunked arrays to persist and small results to
        compute (dicts by name), and ``finish(cache, rows, small)`` storing
        their values. Nothing here."""
        return {}, {}, None

    def _product(self, point, i):
        if ("product", i) not in point.cache or not point.cache.get("persisted"):
            self.materialize(point)
        return point.cache["product", i]

    def _expansion(self, point):
        self.materialize(point)
        cross = point.cache["cross"]
        quad = float(np.sum(point.gram(0) * point.gram(1), dtype=np.float64))
        return self.model.half * (self._total - 2.0 * cross + quad)

    #: Whether the last loss was summed from the residual (the expansion had
    #: lost its digits): new points then sum theirs in their one pass.
    _exact_regime = False

    def _lazy_exact(self, X, Y):
        return lazy_residual_sq_norm(self.A, X, Y)

    def _exact(self, point):
        self._exact_regime = True
        sq = point.cache.get("exact")
        if sq is None:
            (sq,) = compute(self._lazy_exact(*point.factors))
        return self.model.half * float(sq)

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
        cache = {"combined": True}
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


# -- missing entries ------------------------------------------------------------
#: Above this fraction of missing entries in a chunk, the model on its missing
#: set is formed by blocked products with the chunk's mask (read again with
#: the chunk) instead of gathered at coordinates kept on the workers
#: (:class:`~._factorization.MaskedFactorizationObjective`'s rule).
BLOCKED_ABOVE = 0.05


def _zero_nan(a):
    """The chunk with its NaN (missing) entries set to 0."""
    if hasattr(a, "tocoo"):
        a = a.tocsr(copy=True)
        a.data[np.isnan(a.data)] = 0
        return a
    return np.where(np.isnan(a), np.zeros((), dtype=a.dtype), a)


def _missing_source(a):
    """What the missing set of a chunk is read from: its coordinates
    ``(rows, cols, shape)`` when few (kept on the workers), else None (the
    chunk itself is read again); and the NaN count of each of its rows."""
    if hasattr(a, "tocoo"):
        coo = a.tocoo()
        keep = np.isnan(coo.data)
        rows, cols = coo.row[keep], coo.col[keep]
    else:
        rows, cols = np.nonzero(np.isnan(a))
    counts = np.bincount(rows, minlength=a.shape[0])
    if len(rows) > BLOCKED_ABOVE * a.shape[0] * a.shape[1]:
        return None, counts
    return (rows.astype(np.int32), cols.astype(np.int32), a.shape), counts


def _missing_blocks(source, chunk, x, y):
    """The model ``XᵢYⱼᵀ`` on the chunk's missing set, piece by piece: yields
    ``(start, stop, E)`` with ``E`` a CSR matrix (gathered entries) or a
    dense masked block of rows ``start:stop``."""
    if source is not None:
        rows, cols, shape = source
        values = np.einsum("ij,ij->i", x[rows], y[cols])
        yield 0, shape[0], sp.csr_matrix((values, (rows, cols)), shape=shape)
        return
    from .._dask import _rows_in_pieces

    for start, stop in _rows_in_pieces(chunk):
        piece = chunk[start:stop]
        if hasattr(piece, "toarray"):
            piece = piece.toarray()
        mask = np.isnan(piece)
        if not mask.any():
            continue
        block = x[start:stop] @ y.T
        block *= mask
        yield start, stop, block


def _missing_parts(source, chunk, x, y):
    """``(E yⱼ, Eᵀ xᵢ, ‖E‖², column sums of E)`` of one chunk, ``E`` the model
    on its missing set."""
    EY = np.zeros((x.shape[0], y.shape[1]), dtype=x.dtype)
    EtX = np.zeros((y.shape[0], x.shape[1]), dtype=x.dtype)
    energy = 0.0
    for start, stop, E in _missing_blocks(source, chunk, x, y):
        EY[start:stop] += np.asarray(E @ y)
        EtX += np.asarray(E.T @ x[start:stop])
        values = E.data if sp.issparse(E) else E
        energy += float(np.dot(values.ravel(), values.ravel()))
    return EY, EtX, energy


def _missing_right(source, chunk, x, y, v):
    """``E vⱼ`` for one chunk (``E`` the model on its missing set)."""
    out = np.zeros((x.shape[0], v.shape[1]), dtype=x.dtype)
    for start, stop, E in _missing_blocks(source, chunk, x, y):
        out[start:stop] += np.asarray(E @ v)
    return out


def _missing_left(source, chunk, x, y, u):
    """``Eᵀ uᵢ`` for one chunk (``E`` the model on its missing set)."""
    out = np.zeros((y.shape[0], u.shape[1]), dtype=x.dtype)
    for start, stop, E in _missing_blocks(source, chunk, x, y):
        out += np.asarray(E.T @ u[start:stop])
    return out


def _add(*parts):
    return functools.reduce(operator.add, parts)


class DaskMaskedFactorizationObjective(DaskFactorizationObjective):
    r""":class:`~._factorization.MaskedFactorizationObjective` (NaN entries
    missing) of a dask array, without column offsets.

    With ``A₀`` the data with missing entries set to 0 (chunk by chunk, in
    the tasks that read them) and ``E = P_M(XYᵀ)`` the model on the missing
    set::

        f     = ½‖XYᵀ − A₀‖² − ½‖E‖²
        ∇_X f = X(YᵀY) − A₀Y − E Y,     ∇_Y f = Y(XᵀX) − A₀ᵀX − Eᵀ X

    The products with ``A₀`` are those of :class:`DaskFactorizationObjective`
    (combined linearly for NAG's look-ahead); ``E Y``, ``EᵀX`` and ``‖E‖²``
    come from each chunk's missing set: gathered at its coordinates, kept on
    the workers from the first pass, for chunks with at most 5 % missing;
    else by blocked masked products with the chunk, read again.
    """

    def __init__(self, A, summary, alpha=0.0, exact_threshold=None):
        import dask

        m, n = A.shape
        self.A_missing = A
        filled = A.map_blocks(_zero_nan, dtype=A.dtype, meta=A._meta)
        blocks = A.to_delayed()
        sources = [
            [dask.delayed(_missing_source, nout=2)(b) for b in row] for row in blocks
        ]
        counts = [_add_delayed([s[1] for s in row]) for row in sources]
        kept = [[s[0] for s in row] for row in sources]
        kept, counts = persist(kept, counts)
        gathered = [[dask.delayed(_is_kept)(s) for s in row] for row in kept]
        row_counts, gathered = compute(
            [dask.delayed(_row_count_summary)(c, n) for c in counts], gathered
        )
        # per chunk: its missing coordinates (on the workers), or None where
        # the chunk itself is read again for its mask
        self._sources = [
            [s if g else None for s, g in zip(row, flags)]
            for row, flags in zip(kept, gathered)
        ]
        self._row_starts = np.concatenate([[0], np.cumsum(A.chunks[0])])
        self._col_starts = np.concatenate([[0], np.cumsum(A.chunks[1])])
        col_missing = np.asarray(summary["col_missing"])
        self.col_missing = col_missing
        self.n_missing = int(summary["missing"])
        self.n_observed = m * n - self.n_missing
        self.observed_fraction = self.n_observed / (m * n) if m * n else 0.0
        fewest = min(c[0] for c in row_counts)
        self.empty_rows = np.concatenate(
            [start + c[2] for start, c in zip(self._row_starts, row_counts)]
        )
        self.n_empty_rows = int(sum(c[1] for c in row_counts))
        row_fraction = 1.0 - fewest / max(n, 1)
        col_fraction = 1.0 - col_missing / max(m, 1)
        self._design = float(max(row_fraction, col_fraction.max(initial=0.0)))
        super().__init__(filled, summary, alpha=alpha, exact_threshold=exact_threshold)

    @property
    def target(self):
        """``A₀/p``: the zero-filled data over the observed fraction."""
        p = self.observed_fraction
        return _DaskData(self.A if p in (0.0, 1.0) else self.A / p)

    def design_curvature(self):
        return self._design

    def _column_slices(self, Y):
        return [
            Y[start:stop] for start, stop in zip(self._col_starts, self._col_starts[1:])
        ]

    def _extra(self, point, X, Y):
        """The model on the missing set at the point, in the point's call:
        ``EY`` (persisted beside the rows), ``EᵀX`` and ``‖E‖²``."""
        if "missing_energy" in point.cache:
            return {}, {}, None
        import dask

        # the row chunks as the keys of X itself: computed once in the call
        xs = X.to_delayed(optimize_graph=False)[:, 0]
        ys = self._column_slices(Y)
        chunks = self.A_missing.to_delayed()
        parts = [
            [
                dask.delayed(_missing_parts, nout=3)(
                    self._sources[i][j],
                    chunks[i, j] if self._sources[i][j] is None else None,
                    xs[i],
                    ys[j],
                )
                for j in range(len(ys))
            ]
            for i in range(len(xs))
        ]
        d = Y.shape[1]
        EY = self._rows_of([_add_delayed([p[0] for p in row]) for row in parts], d)
        EtX = [
            tree_reduce([parts[i][j][1] for i in range(len(xs))], _add)
            for j in range(len(ys))
        ]
        energy = tree_reduce([p[2] for row in parts for p in row], _add)

        def finish(cache, rows, small):
            cache["missing_products"] = (rows["EY"], np.concatenate(small["EtX"]))
            cache["missing_energy"] = float(small["energy"])

        return {"EY": EY}, {"EtX": EtX, "energy": energy}, finish

    def _rows_of(self, blocks, width):
        """Delayed row blocks as one dask array chunked like ``A``'s rows."""
        import dask.array as da

        return da.concatenate(
            [
                da.from_delayed(b, shape=(rows, width), dtype=self.dtype)
                for b, rows in zip(blocks, self.A.chunks[0])
            ],
            axis=0,
        )

    def _expansion(self, point):
        full = super()._expansion(point)
        return full - self.model.half * point.cache["missing_energy"]

    def _lazy_exact(self, X, Y):
        return lazy_residual_sq_norm(self.A_missing, X, Y, ignore_nan=True)

    def grad_block(self, point, i):
        grad = super().grad_block(point, i)
        EY, EtX = point.cache["missing_products"]
        return grad - (EY if i == 0 else EtX)

    def _normal_passes(self, point):
        """``V ↦ (‖(EV)ⱼ‖², EᵀEV)`` for the masked residual
        ``E = P_Ω(XYᵀ − A)``, in one pass."""
        import dask

        X, Y = point.factors
        A = self.A
        xs = X.to_delayed()[:, 0]
        ys = self._column_slices(Y)
        chunks = self.A_missing.to_delayed()

        def source(i, j):
            return self._sources[i][j], (
                chunks[i, j] if self._sources[i][j] is None else None
            )

        def passes(V):
            V = np.asarray(V, dtype=self.dtype)
            vs = self._column_slices(V)
            b = V.shape[1]
            EV = self._rows_of(
                [
                    _add_delayed(
                        [
                            dask.delayed(_missing_right)(
                                *source(i, j), xs[i], ys[j], vs[j]
                            )
                            for j in range(len(ys))
                        ]
                    )
                    for i in range(len(xs))
                ],
                b,
            )
            U = X @ (Y.T @ V) - matmul(A, V) - EV
            us = U.to_delayed()[:, 0]
            back = [
                tree_reduce(
                    [
                        dask.delayed(_missing_left)(*source(i, j), xs[i], ys[j], us[i])
                        for i in range(len(xs))
                    ],
                    _add,
                )
                for j in range(len(ys))
            ]
            squares, AtU, UX, EtU = compute(
                (U * U).sum(axis=0), rmatmul(A, U), X.T @ U, back
            )
            W = Y @ np.asarray(UX) - np.asarray(AtU) - np.concatenate(EtU, axis=0)
            return np.asarray(squares), W

        return passes


def _add_delayed(parts):
    """The sum of delayed parts (one task; the parts themselves if one)."""
    import dask

    return parts[0] if len(parts) == 1 else dask.delayed(_add)(*parts)


def _is_kept(source):
    return source is not None


def _row_count_summary(counts, n):
    """``(fewest missing in a row, rows with nothing observed, their first
    five indices)`` from a row chunk's per-row NaN counts (``n`` columns)."""
    empty = counts == n
    fewest = int(counts.min()) if len(counts) else n
    return fewest, int(empty.sum()), np.flatnonzero(empty)[:5]
