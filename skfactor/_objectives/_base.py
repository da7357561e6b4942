"""Points and the objective base class: every hook an objective offers, with
its default."""

import math

import numpy as np

from .._array_api import copy_array
from .._array_api import to_host as _host
from .._linalg import condition_number, spectral_norm, top_eigenvalue

#: Seed of the power iterations that estimate norms of an objective's data:
#: they are part of the problem, not of the start, so they never draw on the
#: user's ``random_state``.
NORM_SEED = 0


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

    # -- scalars on a device, read together ----------------------------------
    def defer(self, name, scalar):
        """Keep a 0-d device array ``scalar`` (an optimizer's test about this
        point) to be read with the point's loss: one transfer for both."""
        self.cache.setdefault("deferred", {})[name] = scalar

    def read(self, scalar=None, name=None):
        """``float(scalar)`` (the loss of a device objective), reading every
        deferred scalar of the point in the same transfer; or, with ``name``,
        a deferred scalar's float (read now if the loss was not)."""
        done = self.cache.setdefault("read", {})
        if name is not None and name in done:
            return done[name]
        deferred = self.cache.pop("deferred", {})
        names = list(deferred)
        values = [deferred[key] for key in names]
        if scalar is not None:
            values.append(scalar)
        if not values:
            raise KeyError(name)
        import array_api_compat

        xp = array_api_compat.array_namespace(values[0])
        wide = values[0].dtype
        stacked = xp.stack([xp.astype(v, wide) for v in values])
        floats = [float(v) for v in np.asarray(_host(stacked), dtype=np.float64)]
        done.update(zip(names, floats))
        if name is not None:
            return done[name]
        return floats[-1]

    def gram(self, i):
        """``Fᵢᵀ Fᵢ`` (d×d), computed once per point."""
        key = ("gram", i)
        gram = self.cache.get(key)
        if gram is None:
            factor = self.factors[i]
            gram = factor.T @ factor
            self.cache[key] = gram
        return gram


def linear_combination(terms):
    """``Σ cᵢ·aᵢ`` with one allocation (the sum) and one pass per term (numpy;
    device arrays in the same order of operations, new arrays each)."""
    (c0, a0), *rest = terms
    if not isinstance(a0, np.ndarray):
        if len(rest) == 1 and c0 != 0:
            c1, a1 = rest[0]
            return (a1 * (c1 / c0) + a0) * c0
        out = a0 * c0
        for c, a in rest:
            out = out + a * c
        return out
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


class Objective:
    """Base class: the interface, with generic cache-free defaults.

    Subclasses set ``model`` (see :mod:`._models`; it fixes ``n_factors``,
    ``layout``, ``degree`` and ``partner``) or override those, and implement
    ``value``, ``grad``, ``target``, ``reference_loss`` and ``smoothness``.

    Declared attributes and their defaults:

    ``penalty = 0.0``
        Ridge penalty λ on the factors (``½λΣ‖Fᵢ‖²`` in the loss); the
        preconditioned optimizers add it to their Grams.
    ``design_curvature() = 1.0``
        β, the curvature of the loss in the model: ``f(M) ≈ ½β‖M − M⋆‖²``
        near low-rank models. The problem's normalisation: the target, the
        scale-free steps (``η ≈ 0.5/β``), PrecGD's damping and the saddle
        probe are in the model's units through it.
    ``residual_norm(p) = √(f/(hβ))``
        The distance to the data in the model's units (PrecGD's δ).
    ``saddle_probe(p)``
        ``(strength, weakest, ridge, β)``: the strongest direction of the
        model's gradient and the weakest direction of the model, both in the
        model's units, the ridge penalty in those units (a direction weaker
        than it is dropped at the optimum) and β, for the solver's saddle
        test; None where the objective has no ``model_gradient_norm``.
    """

    model = None
    penalty = 0.0
    _target_norm = None

    @property
    def saddle_loss(self):
        """The loss at the saddle a small start begins near: the model with
        its factors at 0, ``reference_loss`` (a model with biases: its
        bias-only optimum). The stopping rule probes for a saddle while the
        best loss is within 0.1 % of it."""
        return self.reference_loss

    # -- structure, from the model ------------------------------------------
    @property
    def n_factors(self):
        return self.model.n_factors

    @property
    def layout(self):
        """``"pair"`` (``L Rᵀ``), ``"symmetric"`` (``X Xᵀ``) or ``"chain"``."""
        return self.model.layout

    @property
    def degree(self):
        """Factors multiplied into the model (each scales as model^(1/degree))."""
        return self.model.degree

    @property
    def structure(self):
        """The model in words, for error messages."""
        return self.model.structure

    def partner(self, i):
        """Index of the factor whose Gram right-preconditions block ``i``
        (None where no such pairing exists)."""
        return self.model.partner(i)

    def fixed_columns(self, i):
        """Columns of block ``i`` that hold constants of the model (a biased
        pair's, see :class:`~._models.BiasedPairModel`): their gradients are
        0, so no optimizer moves them. None for most models."""
        return self.model.fixed_columns(i)

    def preconditioner(self, point, i):
        """The d×d matrix that right-preconditions block ``i``: its partner's
        Gram, with the rows and columns of block ``i``'s fixed columns
        replaced by those of the identity. A right solve with it then maps a
        gradient that is 0 in those columns to a direction that is 0 there,
        and the free columns are preconditioned by the partner's columns they
        multiply (for a biased pair, ``[R, g]`` for ``[L, b]``)."""
        gram = point.gram(self.partner(i))
        fixed = self.fixed_columns(i)
        if not fixed:
            return gram
        gram = copy_array(gram)  # numpy or a device's
        for j in fixed:
            gram[j, :] = 0.0
            gram[:, j] = 0.0
            gram[j, j] = 1.0
        return gram

    def start_shapes(self, shapes):
        """The shapes a named start builds (``shapes`` by default; a model
        with fixed columns starts its free low-rank part only)."""
        return shapes

    def complete_start(self, factors):
        """The full factors from what a named start built (``start_shapes``):
        unchanged by default; a model with biases adds its bias and fixed
        columns."""
        return factors

    # -- where the factors live -------------------------------------------------
    def adopt(self, factors):
        """Factors built on the host (a start, a warm start, explicit
        factors) as the objective iterates on them: unchanged here; on the
        data's device for an objective whose data live there."""
        return list(factors)

    def host(self, F):
        """A factor as a numpy array, for the host algorithms (small
        decompositions of the saddle probe and of the step policy)."""
        return F

    def small_factors(self, point):
        """The point's factors as numpy arrays with their singular values
        (and right singular vectors): the factors on the host by default; a
        distributed tall factor as the triangular factor of its QR."""
        return [self.host(F) for F in point.factors]

    # -- points ----------------------------------------------------------------
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
            linear_combination([(c, p.factors[i]) for c, p in terms])
            for i in range(self.n_factors)
        ]
        return Point(factors)

    def replace_block(self, point, i, factor):
        factors = list(point.factors)
        factors[i] = factor
        return Point(factors)

    # -- what starts, step rules and the solver need --------------------------
    def smoothness(self, point):
        raise NotImplementedError

    def design_curvature(self):
        return 1.0

    def damping_floor(self):
        """The smallest damping a preconditioned step ``∇f (FᵀF + λI)⁻¹`` is
        stable with: 0 by default; the size of the target's negative part
        for ``X Xᵀ`` (see ``model.negative_part``), on objectives whose
        target is the data itself."""
        return 0.0

    def frozen_curvature(self, point):
        """Curvature in the last factor with the others frozen.

        For ``f = ½β‖F₀ F₁ᵀ − T‖²`` that is ``β·λ_max(F₀ᵀF₀)`` (plus the
        penalty): the step-size scale of the unbalanced start, where the
        first factor barely moves.
        """
        top = top_eigenvalue(point.gram(0))
        return self.design_curvature() * top + self.penalty

    def frozen_condition(self, point):
        """``κ_eff = L/μ`` of the least-squares problem in the last factor,
        the others frozen (ALGORITHMS.md §3): the condition number of
        ``β·F₀ᵀF₀ + λI`` on the range of ``F₀`` (λ the penalty). With the
        unbalanced start ``X₀ = c·TΦ`` it is about ``κ(T)²``.
        """
        first = self.small_factors(point)[0]
        rows = point.factors[0].shape[0]
        return condition_number(first, self.design_curvature(), self.penalty, rows)

    def target_norm(self):
        """``σ₁(target)``, estimated once per objective (see ``spectral_norm``)."""
        if self._target_norm is None:
            rng = np.random.RandomState(NORM_SEED)
            self._target_norm = spectral_norm(self.target, rng)
        return self._target_norm

    def offer_target_norm(self, value):
        """Take ``value`` as ``σ₁(target)`` if it was not estimated yet: a
        start that computed a sharper estimate on the way (the top Ritz value
        of a power-iterated sketch) saves the dozen products of
        ``spectral_norm``."""
        if self._target_norm is None and value > 0 and math.isfinite(value):
            self._target_norm = float(value)

    def residual_norm(self, point):
        """``√(f/(h·β))``: the residual in the model's units (``h`` the
        model's normalisation, ½ or ¼)."""
        beta = self.design_curvature()
        half = self.model.half if self.model is not None else 0.5
        return math.sqrt(
            max(self.value(point), 0.0) / (half * (beta if beta > 0 else 1.0))
        )

    def loss_rounding(self, value):
        """The rounding error of a computed loss ``value``.

        ``2·eps·√(value·f_ref)`` for a loss summed from a residual computed
        in the data's dtype (an error of ``eps·|y|`` per entry of it); an
        objective that expands the loss (cancellation) overrides it.
        """
        eps = float(np.finfo(self.dtype).eps)
        return 2.0 * eps * math.sqrt(max(value, 0.0)) * math.sqrt(self.reference_loss)

    def model_gradient_norm(self, point):
        """``‖∇_M f‖₂`` of the data term at the point's model (None: unknown)."""
        return None

    def escape_strength(self, point):
        """The strongest descent direction the model can grow along, in the
        gradient's units: ``‖∇_M f‖₂`` by default (None: unknown). A model
        restricted to a cone (``X Xᵀ``) counts only the directions inside it."""
        return self.model_gradient_norm(point)

    def zero_model_is_optimal(self, point):
        """Whether the zero model minimizes the loss (``point`` is a zero one).

        Every objective is convex in the model (over the cone of positive
        semidefinite models for ``X Xᵀ``), so the zero model is optimal where
        no direction the model can grow along descends: the escape strength
        vanishes up to rounding (``𝒜*(y) = 0``, a response orthogonal to every
        measurement; for ``X Xᵀ`` also ``𝒜*(y) ⪯ 0``), or the design is all
        zero. Then a zero start is the answer, not a saddle to escape.
        """
        beta = self.design_curvature()
        if not beta > 0:
            return True
        strength = self.escape_strength(point)
        if strength is None:
            return False
        eps = float(np.finfo(self.dtype).eps)
        # the gradient's scale for a generic response: β‖M⋆‖_F = √(2β f_ref)
        return strength <= 16 * eps * math.sqrt(2.0 * beta * self.reference_loss)

    def saddle_probe(self, point):
        strength = self.escape_strength(point)
        if strength is None:
            return None
        beta = self.design_curvature()
        if not beta > 0:  # an all-zero design: nothing to probe
            return None
        values = self.model.singular_values(self.small_factors(point))
        weakest = float(values[-1]) if len(values) else 0.0
        return strength / beta, weakest, self.penalty / beta, beta
