"""Matrix completion at the observed entries: the recommender model."""

import copy
import itertools
import math
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import scipy.sparse as sp

from .._array_api import adopt_factors, to_host
from .._linalg import spectral_norm
from .._threads import blas_threads
from ._base import NORM_SEED, Objective, Point
from ._models import BiasedPairModel, PairModel

#: Entries per chunk of the gathered rows: about this many numbers per
#: gathered block (with at most 4096 rows), so that a chunk's two gathers
#: stay in the core's cache (measured: 16k rows of width 12 ran 3.7× slower
#: than 4k).
_CHUNK_ELEMENTS = 1 << 17
#: Below this many entries a pass runs on one thread: each chunk's few numpy
#: calls hold the GIL, and at 100 000 ratings two threads contending for it
#: were no faster than one (3.8 against 3.4–3.7 ms per iteration, measured
#: interleaved); at a million two threads are 1.4–1.8× faster.
_PARALLEL_ABOVE = 1 << 18
#: The preconditioned steps' damping floor, relative to σ₁(T).
COMPLETION_DAMPING = 0.1
#: Sweeps of the alternating solve for the baseline biases.
_BASELINE_SWEEPS = 10

_POOL = None


def _pool():
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 1))
    return _POOL


def _workers(n):
    """Threads for a pass over ``n`` entries: the BLAS pool's size (so that a
    user's ``threadpool_limits`` holds), one for small passes."""
    if n < _PARALLEL_ABOVE:
        return 1
    return max(1, min(blas_threads(), os.cpu_count() or 1, 8))


def rowwise_dots(L, R, rows, cols, out=None, finish=None):
    """``out[e] = ⟨L[rows[e]], R[cols[e]]⟩``: the model at the entries, in
    chunks (the gathered rows never exceed a chunk), on the BLAS pool's
    number of threads.

    ``finish(start, stop)``, if given, runs on each chunk of ``out`` while
    it is in the cache and returns a number; the sum over the chunks is then
    returned with ``out``.
    """
    n = len(rows)
    if out is None:
        out = np.empty(n, dtype=np.result_type(L, R))

    chunk = int(min(4096, max(512, _CHUNK_ELEMENTS // max(L.shape[1], 1))))

    def run(lo, hi):
        total = 0.0
        for start in range(lo, hi, chunk):
            stop = min(start + chunk, hi)
            np.einsum(
                "ij,ij->i",
                L.take(rows[start:stop], axis=0),
                R.take(cols[start:stop], axis=0),
                out=out[start:stop],
            )
            if finish is not None:
                total += finish(start, stop)
        return total

    workers = _workers(n)
    if workers == 1:
        total = run(0, n)
    else:
        bounds = np.linspace(0, n // chunk, workers + 1).astype(int) * chunk
        bounds[-1] = n
        futures = [_pool().submit(run, lo, hi) for lo, hi in itertools.pairwise(bounds)]
        total = sum(future.result() for future in futures)
    return out if finish is None else (out, total)


def _both(first, second, parallel):
    """``(first(), second())``, on two threads when ``parallel``."""
    if not parallel:
        return first(), second()
    future = _pool().submit(second)
    return first(), future.result()


class CompletionObjective(Objective):
    r"""Completion at observed entries with the biased low-rank model.

    The data are ``N`` entries ``(uₑ, iₑ, yₑ)`` of an n1×n2 matrix, with
    weights ``vₑ`` (1 without ``sample_weight``, ``V = Σv``) and counts
    ``n_u = Σ_{e∈u} vₑ``, ``n_i = Σ_{e∈i} vₑ``. The model and the loss, in
    the user's coordinates (ALGORITHMS.md §6, ALS-WR's count-weighted
    ridge)::

        ŷₑ = μ + ⟨L_u, R_i⟩ + b_u + c_i
        f  = (1/2V) Σ vₑ (ŷₑ − yₑ)²
             + (α σ/2V) (Σ n_u ‖L_u‖² + Σ n_i ‖R_i‖²)
             + (α/2V) (Σ n_u b_u² + Σ n_i c_i²)

    with ``σ`` the (weighted) standard deviation of ``y``, so that the ridge
    scales with the data (α is dimensionless: ALS-WR's λ on data of unit
    spread). The global mean μ is the data's (weighted) mean, fixed (the
    biases, ridge-shrunk towards 0, model the rest; Surprise's and ALS-WR's
    baseline). Without biases ``b = c = 0``.

    **Coordinates.** The factors are fitted in *count-scaled* coordinates,
    ``L'_u = c₁ s_u L_u``, ``R'_i = c₂ s_i R_i`` with ``s_u = √(n_u n1/V)``,
    ``s_i = √(n_i n2/V)``, ``c₁ = (n2/n1)^¼ = 1/c₂``, so that the model entry
    is ``⟨L'_u, R'_i⟩/(s_u s_i)``. In them

    * the count-weighted ridge is a plain ridge ``½λ(‖L'‖² + ‖R'‖²)``,
      ``λ = α σ/√(n1 n2)`` (the attribute ``penalty``): its minimum over
      factorizations is the weighted trace norm ``λ‖D_u^½ M D_i^½‖_*`` of
      Srebro & Salakhutdinov (2010), the regularizer for non-uniform
      sampling;
    * every row's curvature is about the same, ``β·R'ᵀR'`` with
      ``β = 1/(n1 n2)`` (``design_curvature``), whatever its count: a
      user with 1000 ratings and one with 10 move at the same rate, and the
      scale-free steps ``η = 0.5/β`` of ScaledGD and PrecGD are stable for
      both (in the plain coordinates a row's curvature is its count, and a
      step stable for the busiest row crawls for the others);
    * the target ``T = (n1 n2/V)·Σₑ vₑ rₑ/(s_u s_i)·e_u e_iᵀ`` (``rₑ`` the
      baseline residual below) is an unbiased estimate of the count-scaled
      matrix when entries are observed with probability ∝ ``n_u n_i``.

    The biases are fixed columns (:class:`~._models.BiasedPairModel`):
    ``L̃' = [L', b', h]``, ``R̃' = [R', g, c']`` with the constants
    ``h_u = c₁ s_u √σ``, ``g_i = c₂ s_i √σ`` and ``b'_u = c₁ s_u b_u/√σ``,
    ``c'_i = c₂ s_i c_i/√σ``: the bias ridge is then the same ``½λ‖b'‖²``, and
    every column scales as ``√y`` (the units' contract). Named starts build
    ``[L', R']`` from ``T``; the biases start at the ridge baseline (the
    bias-only model, ``_BASELINE_SWEEPS`` alternating sweeps).

    With ``ρₑ = ŷₑ − yₑ`` and ``qₑ = vₑρₑ/V``, the gradients are products
    with the observed pattern::

        ∇_{L̃'_u} f = (1/s_u) Σ_{e∈u} qₑ R̃'_{iₑ}/s_{iₑ} + λ L̃'_u
        ∇_{R̃'_i} f = (1/s_i) Σ_{e∈i} qₑ L̃'_{uₑ}/s_{uₑ} + λ R̃'_i

    (0 in the fixed columns), and the model at the entries is a row-wise dot
    product of gathered rows: ``O(N·(d + 2))`` per pass, no n1×n2 array.
    """

    def __init__(
        self, rows, cols, y, shape, rank, biases=True, alpha=0.0, sample_weight=None
    ):
        n1, n2 = (int(n) for n in shape)
        self.shape = (n1, n2)
        self.rank = int(rank)
        self.biases = bool(biases)
        self.model = BiasedPairModel(rank) if biases else PairModel()
        y = np.asarray(y)
        self.dtype = y.dtype
        index = np.int32 if max(n1, n2, len(y)) < 2**31 - 1 else np.intp
        order = np.lexsort((cols, rows))
        self.rows = np.asarray(rows)[order].astype(index, copy=False)
        self.cols = np.asarray(cols)[order].astype(index, copy=False)
        y = y[order]
        self.n_samples = N = len(y)
        if sample_weight is None:
            self.weights = None
            V = float(N)
            row_counts = np.bincount(self.rows, minlength=n1).astype(np.float64)
            col_counts = np.bincount(self.cols, minlength=n2).astype(np.float64)
        else:
            w = np.asarray(sample_weight, dtype=np.float64)[order]
            self.weights = w.astype(self.dtype)
            V = float(w.sum())
            row_counts = np.bincount(self.rows, weights=w, minlength=n1)
            col_counts = np.bincount(self.cols, weights=w, minlength=n2)
        self.total_weight = V
        self.row_counts, self.col_counts = row_counts, col_counts
        # count scales (a row without entries gets the mean's: it never moves)
        s_u = np.sqrt(np.where(row_counts > 0, row_counts, V / n1) * n1 / V)
        s_i = np.sqrt(np.where(col_counts > 0, col_counts, V / n2) * n2 / V)
        self._row_scale = s_u.astype(self.dtype)
        self._col_scale = s_i.astype(self.dtype)
        self._c1 = (n2 / n1) ** 0.25
        # the ratings are kept centred only (one N-vector)
        self.mean = mean = self._mean(y)
        self._centred = y - np.asarray(mean, dtype=self.dtype)
        del y
        variance = max(self._mean(np.square(self._centred, dtype=np.float64)), 0.0)
        spread = math.sqrt(variance)
        if not spread > 0:
            spread = abs(mean) or 1.0
        self.spread = spread  # σ
        self.alpha = float(alpha)
        self.penalty = self.alpha * spread / math.sqrt(n1 * n2)
        self.reference_loss = 0.5 * variance
        # the pattern (row-sorted), its data written per pass; the column
        # side reads it transposed (CSC): no second copy, no permutation
        indptr = np.zeros(n1 + 1, dtype=index)
        np.cumsum(np.bincount(self.rows, minlength=n1), out=indptr[1:])
        self._by_row = sp.csr_matrix(
            (np.zeros(N, dtype=self.dtype), self.cols, indptr), shape=(n1, n2)
        )
        self._fixed_values = None
        self._baseline = None

    def with_alpha(self, alpha):
        """This problem with another ridge ``alpha`` (the data and the
        pattern shared, the α-dependent caches dropped)."""
        # computed once and shared by every α: the target's norm, and the
        # α-free saddle's loss (a conservative bar for every α)
        self.target_norm()
        _ = self.saddle_loss
        other = copy.copy(self)
        other.alpha = float(alpha)
        other.penalty = (
            other.alpha * self.spread / math.sqrt(self.shape[0] * self.shape[1])
        )
        # the target (the unregularized baseline's residual) and its norm
        # do not depend on α; the start's biases and the saddle do
        other._baseline = None
        return other

    def alpha_zero(self):
        """The smallest α at which the bias-only model (low-rank part 0) is a
        local minimum: ``‖E‖₂ √(n1 n2)/σ`` with ``E`` the model's gradient
        at the unregularized baseline (the ridge ``λ`` must exceed ``‖E‖₂``)."""
        base = self.with_alpha(0.0)
        n1, n2 = self.shape
        zeros = [np.zeros((n, self.rank), dtype=self.dtype) for n in (n1, n2)]
        point = base.point(base.complete_start(zeros))
        return base.model_gradient_norm(point) * math.sqrt(n1 * n2) / self.spread

    # -- helpers --------------------------------------------------------------
    def _mean(self, v):
        """The (weighted) mean of a per-entry vector, in float64."""
        if self.weights is None:
            return float(np.mean(v, dtype=np.float64)) if len(v) else 0.0
        return float(np.dot(self.weights.astype(np.float64), v)) / self.total_weight

    def _fixed(self):
        """The fixed columns' constants ``(h, g)`` (internal units)."""
        if self._fixed_values is None:
            root = math.sqrt(self.spread)
            h = (self._c1 * root) * self._row_scale.astype(np.float64)
            g = (root / self._c1) * self._col_scale.astype(np.float64)
            self._fixed_values = (h.astype(self.dtype), g.astype(self.dtype))
        return self._fixed_values

    def _scales(self):
        """The count scales ``(s_u, s_i)`` in the factors' dtype, where the
        factors live."""
        return self._row_scale, self._col_scale

    def _unscaled(self, factors):
        """``(L̃'/s_u, R̃'/s_i)``: the factors the entries read."""
        (L, R), (s_u, s_i) = factors, self._scales()
        return L / s_u[:, None], R / s_i[:, None]

    def _scaled(self, point):
        """:meth:`_unscaled` of the point's factors, cached."""
        scaled = point.cache.get("scaled")
        if scaled is None:
            scaled = point.cache["scaled"] = self._unscaled(point.factors)
        return scaled

    def model_at(self, factors, rows, cols):
        """The model without μ at entries ``(rows, cols)`` (ids of this
        problem), for held-out scores."""
        return rowwise_dots(*self._unscaled(factors), rows, cols)

    def biases_at(self, factors, rows, cols):
        """The row biases ``b[rows]`` and column biases ``c[cols]`` of the
        model of ``factors`` (user coordinates, the factors' units)."""
        if not self.biases:
            return np.zeros(len(rows)), np.zeros(len(cols))
        L, R = factors
        d, root = self.rank, math.sqrt(self.spread)
        s_u = self._row_scale.astype(np.float64)
        s_i = self._col_scale.astype(np.float64)
        b = L[rows, d] * root / (self._c1 * s_u[rows])
        c = R[cols, d + 1] * root * self._c1 / s_i[cols]
        return b, c

    # -- points ---------------------------------------------------------------
    def point(self, factors):
        """A point whose fixed columns hold their constants (a combination of
        points, NAG's look-ahead, may round them by an ulp)."""
        factors = list(factors)
        if self.biases:
            h, g = self._fixed()
            for i, values in ((0, h), (1, g)):
                (j,) = self.fixed_columns(i)
                F = factors[i]
                if not np.array_equal(F[:, j], values):
                    F = F.copy()
                    F[:, j] = values
                    factors[i] = F
        return Point(factors)

    def combine(self, terms):
        return self.point(super().combine(terms).factors)

    # -- loss and gradients ---------------------------------------------------
    def _residual(self, point):
        """``q = vρ/V`` with ``ρ = ŷ − y`` (sorted order), and the data term
        ``½Σvρ²/V``, from one pass over the ratings: each chunk of the model
        becomes ``q`` and adds to the sum while it is in the cache. ``q`` is
        cached until the point's gradient is taken (the pattern then holds
        it as its data: the solver keeps points, and an N-vector each would
        add up)."""
        q = point.cache.get("q")
        if q is None:
            Lh, Rh = self._scaled(point)
            centred, w = self._centred, self.weights
            inverse = np.asarray(1.0 / self.total_weight, dtype=self.dtype)
            q = np.empty(self.n_samples, dtype=self.dtype)

            def finish(start, stop):
                chunk = q[start:stop]
                chunk -= centred[start:stop]
                if w is None:
                    energy = float(np.dot(chunk, chunk))
                    chunk *= inverse
                else:
                    weighted = w[start:stop] * chunk
                    energy = float(np.dot(weighted, chunk))
                    np.multiply(weighted, inverse, out=chunk)
                return energy

            q, energy = rowwise_dots(Lh, Rh, self.rows, self.cols, q, finish)
            point.cache["q"] = q
            point.cache["data_loss"] = 0.5 * energy / self.total_weight
        return q

    def intercept(self, factors=None):
        """The global mean μ (the data's weighted mean: it does not depend on
        the factors)."""
        return self.mean

    def _penalty_value(self, point):
        if not self.penalty:
            return 0.0
        total = sum(self._trace(point.gram(i)) for i in range(2))
        if self.biases:
            h, g = self._fixed()
            total = total - (float(np.dot(h, h)) + float(np.dot(g, g)))
        return 0.5 * self.penalty * total

    def _trace(self, G):
        """The trace of a Gram, as a float (a device objective: a scalar of
        the device, read with the loss)."""
        return float(np.trace(G))

    def _read(self, point, value):
        """The point's loss ``value`` as a float (a device objective reads it
        here, with the point's deferred scalars)."""
        return value

    def value(self, point):
        f = point.cache.get("value")
        if f is None:
            if "data_loss" not in point.cache:
                self._residual(point)
            data_loss = point.cache["data_loss"]
            f = self._read(point, data_loss + self._penalty_value(point))
            point.cache["value"] = f
        return f

    def _load(self, point):
        """The pattern with the point's ``q`` as its data (no copy); ``q``
        then leaves the point's cache (the gradient is its last use)."""
        E = self._by_row
        E.data = self._residual(point)
        point.cache.pop("q", None)
        return E

    def _finish(self, G, point, i):
        """Divide by the count scales, add the ridge, zero the fixed column."""
        scale = self._row_scale if i == 0 else self._col_scale
        G /= scale[:, None]
        if self.penalty:
            G += np.asarray(self.penalty, dtype=G.dtype) * point.factors[i]
        for j in self.fixed_columns(i):
            G[:, j] = 0.0
        return G

    def _product(self, point, i):
        """``Σ_{e∈row} qₑ·(partner's scaled row)`` for every row of block i."""
        Lh, Rh = self._scaled(point)
        E = self._load(point)
        return np.asarray(E @ Rh) if i == 0 else np.asarray(E.T @ Lh)

    def grad_block(self, point, i):
        return self._finish(self._product(point, i), point, i)

    def grad(self, point):
        Lh, Rh = self._scaled(point)
        E = self._load(point)
        # both products at once (they only read the pattern)
        first, second = _both(
            lambda: np.asarray(E @ Rh),
            lambda: np.asarray(E.T @ Lh),
            _workers(self.n_samples) > 1,
        )
        return [self._finish(first, point, 0), self._finish(second, point, 1)]

    # -- starts -----------------------------------------------------------------
    def start_shapes(self, shapes):
        if not self.biases:
            return shapes
        return [(rows, self.rank) for rows, _ in shapes]

    def baseline(self, alpha=None):
        """The ridge bias-only model ``(μ, b, c)`` with ridge ``alpha`` (this
        problem's by default; internal units, user coordinates), by
        ``_BASELINE_SWEEPS`` alternating exact sweeps; cached for this
        problem's α and for α = 0."""
        alpha = self.alpha if alpha is None else float(alpha)
        if alpha == self.alpha and self._baseline is not None:
            return self._baseline
        if alpha == 0.0 and getattr(self, "_zero_baseline", None) is not None:
            return self._zero_baseline
        w = self.weights
        n1, n2 = self.shape
        b, c = np.zeros(n1), np.zeros(n2)
        sweeps = _BASELINE_SWEEPS
        zero = getattr(self, "_zero_baseline", None)
        if zero is not None:  # from the unregularized one: a few sweeps
            b, c, sweeps = zero[1].copy(), zero[2].copy(), 3
        if self.rank == 0:
            # the bias-only model *is* this problem: solve it, so that the
            # solver starts at its optimum and stops on the flat loss
            sweeps = 50 * _BASELINE_SWEEPS
        if self.biases:
            shrink = 1.0 + alpha
            centred = self._centred.astype(np.float64)
            for _ in range(sweeps):
                b_before = b
                r = centred - c[self.cols]
                b = np.bincount(self.rows, r if w is None else w * r, n1)
                b /= np.maximum(self.row_counts * shrink, 1e-300)
                r = centred - b[self.rows]
                c = np.bincount(self.cols, r if w is None else w * r, n2)
                c /= np.maximum(self.col_counts * shrink, 1e-300)
                step = float(np.max(np.abs(b - b_before), initial=0.0))
                if step <= 1e-13 * max(self.spread, float(np.max(np.abs(b)))):
                    break  # converged to rounding
        result = (self.mean, b, c)
        if alpha == self.alpha:
            self._baseline = result
        if alpha == 0.0:
            self._zero_baseline = result
        return result

    def to_coordinates(self, L, R, b=None, c=None, spread=None):
        """The fitted coordinates' full factors from the user's ``L``, ``R``,
        ``b``, ``c`` (in the units of ``spread``, σ; internal by default)."""
        spread = self.spread if spread is None else spread
        s_u = self._row_scale.astype(np.float64)[:, None]
        s_i = self._col_scale.astype(np.float64)[:, None]
        Lc = self._c1 * s_u * L
        Rc = s_i * R / self._c1
        if self.biases:
            root = math.sqrt(spread)
            n1, n2 = self.shape
            b = np.zeros(n1) if b is None else b
            c = np.zeros(n2) if c is None else c
            Lc = np.hstack(
                [Lc, (self._c1 * b / root)[:, None] * s_u, root * self._c1 * s_u]
            )
            Rc = np.hstack(
                [Rc, root / self._c1 * s_i, (c / (root * self._c1))[:, None] * s_i]
            )
        return [Lc.astype(self.dtype), Rc.astype(self.dtype)]

    def from_coordinates(self, factors, spread=None):
        """``(L, R, b, c)`` in the user's coordinates (units of ``spread``)."""
        spread = self.spread if spread is None else spread
        L, R = (np.asarray(to_host(F), dtype=np.float64) for F in factors)
        s_u = self._row_scale.astype(np.float64)
        s_i = self._col_scale.astype(np.float64)
        d = self.rank
        low_L = L[:, :d] / (self._c1 * s_u[:, None])
        low_R = R[:, :d] * (self._c1 / s_i[:, None])
        if not self.biases:
            n1, n2 = self.shape
            return low_L, low_R, np.zeros(n1), np.zeros(n2)
        root = math.sqrt(spread)
        b = L[:, d] * root / (self._c1 * s_u)
        c = R[:, d + 1] * root * self._c1 / s_i
        return low_L, low_R, b, c

    def complete_start(self, factors):
        """Add the baseline biases and the fixed columns to a named start's
        ``[L', R']``."""
        if not self.biases:
            return factors
        _, b, c = self.baseline()
        root = math.sqrt(self.spread)
        h, g = self._fixed()
        s_u = self._row_scale.astype(np.float64)
        s_i = self._col_scale.astype(np.float64)
        L, R = factors
        b_col = (self._c1 * s_u * b / root).astype(self.dtype)
        c_col = (s_i * c / (self._c1 * root)).astype(self.dtype)
        return [
            np.column_stack([L, b_col, h]).astype(self.dtype, copy=False),
            np.column_stack([R, g, c_col]).astype(self.dtype, copy=False),
        ]

    # -- the problem's units ----------------------------------------------------
    @property
    def target(self):
        """``T``: the residual of the unregularized baseline, count-scaled, in
        the model's units (sparse n1×n2; the same for every α)."""
        T = getattr(self, "_target", None)
        if T is None:
            _, b, c = self.baseline(alpha=0.0)
            r = self._centred.astype(np.float64) - b[self.rows] - c[self.cols]
            if self.weights is not None:
                r *= self.weights
            n1, n2 = self.shape
            r *= n1 * n2 / self.total_weight
            r /= self._row_scale.astype(np.float64)[self.rows]
            r /= self._col_scale.astype(np.float64)[self.cols]
            # a repeated entry stays two entries: products sum them
            T = sp.csr_matrix(
                (r.astype(self.dtype), self.cols, self._by_row.indptr),
                shape=(n1, n2),
            )
            self._target = T
        return self._target

    @property
    def saddle_loss(self):
        """The data term of the unregularized baseline (the bias-only model,
        low-rank part 0): the saddle a small start sits near, and for α > 0
        a bar below the regularized saddle's loss."""
        loss = getattr(self, "_saddle_loss", None)
        if loss is None:
            _, b, c = self.baseline(alpha=0.0)
            r = self._centred.astype(np.float64) - b[self.rows] - c[self.cols]
            loss = self._saddle_loss = 0.5 * self._mean(r * r)
        return loss

    def damping_floor(self):
        """``0.1·σ₁(T)``: the damping the preconditioned steps need here.

        Each row's curvature is a *sampled* Gram (its own entries'), which
        in a direction the partner's Gram barely spans (an over-parameterized
        fit's spare directions, a small start's) can exceed that Gram many
        times over: ``(R'ᵀR' + λI)⁻¹`` then amplifies the step of the rows
        that happen to load on it. Measured (300×200, rank 5, 30 % observed,
        search rank 10, ``alpha="auto"``): ScaledGD diverged with λ up to
        1e-3·σ₁ and recovered the matrix to 2e-7 from 1e-2·σ₁ on; 0.1·σ₁
        also keeps APGD stable (its pseudo-inverse gets the same floor).
        """
        return COMPLETION_DAMPING * self.target_norm()

    def design_curvature(self):
        """``β = 1/(n1 n2)``: each row's curvature in the count-scaled
        coordinates is about ``β·R'ᵀR'`` (see the class docstring)."""
        n1, n2 = self.shape
        return 1.0 / (n1 * n2)

    def _gradient_matrix(self, point):
        """``E = ∇_M f`` in the count-scaled coordinates (sparse n1×n2)."""
        q = self._residual(point)
        data = q / self._row_scale[self.rows]
        data /= self._col_scale[self.cols]
        return sp.csr_matrix((data, self.cols, self._by_row.indptr), shape=self.shape)

    def saddle_probe(self, point):
        """The base class's probe; for the bias-only model (rank 0) a probe
        that finds no saddle: no low-rank part can grow."""
        if self.rank == 0:
            return (
                0.0,
                0.0,
                self.penalty / self.design_curvature(),
                self.design_curvature(),
            )
        return super().saddle_probe(point)

    def model_gradient_norm(self, point):
        return spectral_norm(
            self._gradient_matrix(point), np.random.RandomState(NORM_SEED)
        )

    def smoothness(self, point):
        """``β(‖L̃'‖₂² + ‖R̃'‖₂²) + ‖E‖₂ + λ`` (sensing's bound with the count-scaled
        curvature ``β``)."""
        from .._linalg import top_eigenvalue

        tops = [top_eigenvalue(point.gram(i)) for i in range(2)]
        beta = self.design_curvature()
        return (
            beta * (tops[0] + tops[1]) + self.model_gradient_norm(point) + self.penalty
        )


def scatter_add_available(space):
    """Whether completion's passes run on the device of ``space``: its
    library has a scatter-add (the gradient sums each rating's term into its
    row and its column: torch's ``index_add``, CuPy's ``cupyx.scatter_add``;
    the array API standard has none), and it is not torch's CPU, where
    scipy's CSR products are 8–10× faster (``Space.prefers_host``).
    Otherwise completion fits a host copy."""
    if space is None or space.library not in ("torch", "cupy"):
        return False
    return not space.prefers_host()


def _scatter_add(space, n, index, values):
    """``out[index[e]] += values[e]`` into zeros of shape (n, width)."""
    xp = space.xp
    out = xp.zeros((n, values.shape[1]), dtype=values.dtype, device=values.device)
    if space.library == "torch":
        return out.index_add_(0, index, values)
    import cupyx

    cupyx.scatter_add(out, index, values)
    return out


#: Entries per chunk of a device pass (the gathered rows of one chunk:
#: 2^20 × width numbers).
_DEVICE_CHUNK = 1 << 20


class DeviceCompletionObjective(CompletionObjective):
    r""":class:`CompletionObjective` with its passes over the ratings on a
    device (torch or CuPy, see :func:`scatter_add_available`).

    Built from the host objective (the setup — ids sorted, counts and their
    scales, the mean, the spread, the baseline biases, the target — is the
    host's, computed once): the sorted entries, the centred ratings, the
    weights, the count scales and the fixed columns' constants travel to the
    device once. Per pass, chunks of the gathered rows make the model at the
    entries and the residual ``q``, whose energy is summed there; the
    gradients are two scatter-adds of ``q``-weighted gathered rows. The loss
    is read with one synchronisation per point. The saddle probe and the
    norm estimates read ``q`` on the host (a few times per fit), and the
    held-out scores of early stopping gather the model on the device.
    """

    def __init__(self, host, space):
        self.__dict__.update(host.__dict__)
        self.space = space
        xp, move = space.xp, space.from_host
        self._rows_d = move(self.rows.astype(np.int64))
        self._cols_d = move(self.cols.astype(np.int64))
        self._centred_d = move(self._centred)
        self._weights_d = None if self.weights is None else move(self.weights)
        self._row_scale_d = move(self._row_scale)
        self._col_scale_d = move(self._col_scale)
        self._fixed_d = None
        self._indices = {}
        self.xp = xp

    # -- where the factors live -------------------------------------------------
    def adopt(self, factors):
        return adopt_factors(self.space, factors, self.dtype)

    def host(self, F):
        return to_host(F)

    def _device_fixed(self):
        if self._fixed_d is None:
            self._fixed_d = tuple(self.space.from_host(v) for v in self._fixed())
        return self._fixed_d

    def point(self, factors):
        """A point whose fixed columns hold their constants, set in place in
        the new factors the optimizers built (no comparison: it would read
        the device)."""
        factors = list(factors)
        if self.biases:
            for i, values in enumerate(self._device_fixed()):
                (j,) = self.fixed_columns(i)
                factors[i][:, j] = values
        return Point(factors)

    def _scales(self):
        return self._row_scale_d, self._col_scale_d

    def _dots(self, Lh, Rh, rows, cols):
        """``⟨Lh[rows[e]], Rh[cols[e]]⟩`` of device index arrays, chunked."""
        xp = self.xp
        parts = []
        for start in range(0, rows.shape[0], _DEVICE_CHUNK):
            stop = min(start + _DEVICE_CHUNK, rows.shape[0])
            left = xp.take(Lh, rows[start:stop], axis=0)
            right = xp.take(Rh, cols[start:stop], axis=0)
            parts.append(xp.sum(left * right, axis=1))
        if not parts:
            return xp.zeros(0, dtype=Lh.dtype, device=Lh.device)
        return parts[0] if len(parts) == 1 else xp.concat(parts)

    # -- loss and gradients -----------------------------------------------------
    def _residual(self, point):
        q = point.cache.get("q")
        if q is None:
            xp = self.xp
            Lh, Rh = self._scaled(point)
            rho = self._dots(Lh, Rh, self._rows_d, self._cols_d) - self._centred_d
            w = self._weights_d
            weighted = rho if w is None else w * rho
            wide = xp.float64 if self.space.has_float64() else xp.float32
            energy = xp.sum(xp.astype(weighted, wide) * xp.astype(rho, wide))
            q = weighted * (1.0 / self.total_weight)
            point.cache["q"] = q
            point.cache["data_loss"] = 0.5 * energy / self.total_weight
        return q

    def _trace(self, G):
        return self.xp.linalg.trace(G)

    def _read(self, point, value):
        return point.read(value)  # the one synchronisation of the point's loss

    def _finish(self, G, point, i):
        G = G / self._scales()[i][:, None]
        if self.penalty:
            G = G + self.penalty * point.factors[i]
        for j in self.fixed_columns(i):
            G[:, j] = 0.0
        return G

    def _product(self, point, i):
        xp = self.xp
        Lh, Rh = self._scaled(point)
        q = self._residual(point)
        if i == 0:
            gathered = xp.take(Rh, self._cols_d, axis=0) * q[:, None]
            return _scatter_add(self.space, self.shape[0], self._rows_d, gathered)
        gathered = xp.take(Lh, self._rows_d, axis=0) * q[:, None]
        return _scatter_add(self.space, self.shape[1], self._cols_d, gathered)

    def grad_block(self, point, i):
        return self._finish(self._product(point, i), point, i)

    def grad(self, point):
        grads = [self._finish(self._product(point, i), point, i) for i in range(2)]
        point.cache.pop("q", None)  # the gradient is its last use
        return grads

    def _gradient_matrix(self, point):
        q = to_host(self._residual(point))
        data = q / self._row_scale[self.rows]
        data /= self._col_scale[self.cols]
        return sp.csr_matrix((data, self.cols, self._by_row.indptr), shape=self.shape)

    # -- held-out scores ----------------------------------------------------------
    def _device_index(self, index):
        """A host index array on the device, uploaded once per array (the
        held-out ids are scored every iteration)."""
        key = id(index)
        cached = self._indices.get(key)
        if cached is None or cached[0] is not index:
            cached = (index, self.space.from_host(np.asarray(index, dtype=np.int64)))
            self._indices[key] = cached
        return cached[1]

    def model_at(self, factors, rows, cols):
        rows, cols = self._device_index(rows), self._device_index(cols)
        return to_host(self._dots(*self._unscaled(factors), rows, cols))

    def biases_at(self, factors, rows, cols):
        if not self.biases:
            return np.zeros(len(rows)), np.zeros(len(cols))
        d = self.rank
        L, R = factors
        b_col = self.host(L[:, d]).astype(np.float64)
        c_col = self.host(R[:, d + 1]).astype(np.float64)
        root = math.sqrt(self.spread)
        s_u = self._row_scale.astype(np.float64)
        s_i = self._col_scale.astype(np.float64)
        b = b_col[rows] * root / (self._c1 * s_u[rows])
        c = c_col[cols] * root * self._c1 / s_i[cols]
        return b, c
