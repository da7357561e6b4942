"""Optimizers: update rules over a list of factor arrays.

An optimizer knows update rules and nothing about data: it asks the objective
for points, gradients and combinations (see :mod:`skfactor._objectives`).
``init_state(objective, point)`` starts it, ``step(objective, point, state)``
returns the next point and state; the solver evaluates the loss.

Notation: ``F = [F₁, …, F_N]`` the factors, ``η`` the learning rate, ``β`` the
momentum, ``∇ᵢf`` the gradient with respect to block ``i``. For the
two-factor (preconditioned) methods ``F = [L, R]`` and the model is ``L Rᵀ``.
"""

import math

import numpy as np

from ._linalg import device_inner, inner, right_solve


def _inner(blocks_a, blocks_b):
    return sum(inner(a, b) for a, b in zip(blocks_a, blocks_b))


def _inner_change(grads, new, old):
    """``Σᵢ⟨gᵢ, newᵢ⟩ − Σᵢ⟨gᵢ, oldᵢ⟩``: a float for numpy factors; for device
    factors a 0-d device array, summed there (read later, see
    ``_Momentum._beta``)."""
    if isinstance(grads[0], np.ndarray):
        return _inner(grads, new) - _inner(grads, old)
    ahead = sum(device_inner(g, F) for g, F in zip(grads, new))
    behind = sum(device_inner(g, F) for g, F in zip(grads, old))
    return ahead - behind


def _penalty(objective):
    """The objective's ridge penalty λ (0 for objectives without one)."""
    return float(getattr(objective, "penalty", 0.0))


def _step(F, eta, D):
    """``F − η·D`` as a new array, with one allocation instead of two.

    η is cast to the factors' dtype first, so that a step too large for
    float32 becomes inf (caught as divergence) instead of promoting to float64.
    """
    if not isinstance(D, np.ndarray):  # a device array: the same operations
        return D * (-eta) + F
    out = np.multiply(D, np.asarray(-eta, dtype=D.dtype))
    out += F
    return out


class Optimizer:
    """Base class.

    Parameters
    ----------
    learning_rate : float
        The step size η (> 0), in the unit ``step_unit``.
    momentum : float or "auto"
        Used by the momentum methods only.
    damping : float or "auto"
        Used by the preconditioned methods only.

    Declared attributes (what the step policy and the compatibility check
    read; nothing else about an optimizer is inspected):

    ``step_unit``
        ``"curvature"``: η is a 1/L step, in the inverse units of the loss's
        curvature in the factors; ``"scale_free"``: the preconditioner
        absorbs the factors' scale and η ≈ 0.5/β (β the objective's
        ``design_curvature()``) whatever the data's scale.
    ``requires``
        What the method needs of the model: ``"partner"`` (a partner factor
        whose Gram right-preconditions each block: two factors, or one
        symmetric factor), ``"two_factors"`` (two distinct factors to
        alternate between).
    ``alternating``
        Blocks are updated one after another (the step a start built for an
        alternating method is kept).
    ``has_momentum``
        The method reads ``momentum`` (``"paper"`` is resolved for it).
    ``damping_rule``
        ``None`` (no damping), ``"adaptive"`` (``damping="auto"`` follows the
        iterate) or ``"fixed"`` (``damping="auto"`` is resolved once, relative
        to the target).
    """

    name = None
    step_unit = "curvature"
    requires = frozenset()
    alternating = False
    damping_rule = None
    has_momentum = False

    def __init__(self, learning_rate, momentum="auto", damping="auto"):
        self.learning_rate = float(learning_rate)
        self.momentum = momentum
        self.damping = damping

    def init_state(self, objective, point):
        return None

    def memory(self):
        """Iterations over which an iterate still carries earlier steps: 1
        without momentum, ``1/(1 − β)`` with a constant momentum β. The
        solver's rule for a slowly rising loss waits several such spans,
        since a constant momentum's loss oscillates on that scale."""
        return 1.0

    def step(self, objective, point, state):
        raise NotImplementedError


#: What each requirement means, for the error message.
_REQUIREMENTS = {
    "partner": (
        "right-preconditions each factor with the Gram matrix of its partner "
        "factor and needs a model with two factors (or one symmetric factor)",
        lambda objective: all(
            objective.partner(i) is not None for i in range(objective.n_factors)
        ),
    ),
    "blocks": (
        "updates the factors one after another and needs a model with at least "
        "two (with the single factor of X Xᵀ it would be plain gradient descent)",
        lambda objective: objective.n_factors >= 2,
    ),
    "two_factors": (
        "alternates between two distinct factors L and R",
        lambda objective: (
            objective.n_factors == 2 and objective.partner(0) not in (None, 0)
        ),
    ),
}


def supports(optimizer_class, objective):
    """Whether the optimizer's declared requirements hold for the objective."""
    return all(_REQUIREMENTS[r][1](objective) for r in optimizer_class.requires)


def check_objective(optimizer, objective):
    """Raise a ``ValueError`` naming the alternatives when ``optimizer``
    cannot run on ``objective`` (the one compatibility check)."""
    for requirement in sorted(optimizer.requires):
        what, holds = _REQUIREMENTS[requirement]
        if not holds(objective):
            usable = [n for n, cls in OPTIMIZERS.items() if supports(cls, objective)]
            raise ValueError(
                f"optimizer={optimizer.name!r} {what}, but the model is "
                f"{objective.structure}. Use optimizer="
                + ", ".join(repr(n) for n in usable)
                + "."
            )


# ---------------------------------------------------------------------------
# Simultaneous methods: GD and its right-preconditioned variants
# ---------------------------------------------------------------------------
class GD(Optimizer):
    r"""Gradient descent.

    Every block moves at the old point::

        Fᵢ⁺ = Fᵢ − η ∇ᵢf(F)        for all i.
    """

    name = "gd"

    def _directions(self, objective, point, grads):
        return grads

    def step(self, objective, point, state):
        grads = objective.grad(point)
        directions = self._directions(objective, point, grads)
        eta = self.learning_rate
        new = [_step(F, eta, D) for F, D in zip(point.factors, directions)]
        return objective.point(new), state


class _RightPreconditioned(GD):
    """Shared by PrecGD and ScaledGD: ``Fᵢ⁺ = Fᵢ − η ∇ᵢf (GᵀG + (λ + μ) I)⁻¹``
    with ``G`` the partner's factor, ``λ`` the method's damping and ``μ`` the
    objective's ridge penalty on the factors (0 without one)."""

    requires = frozenset({"partner"})
    step_unit = "scale_free"

    def _damping_value(self, objective, point):
        raise NotImplementedError

    def _directions(self, objective, point, grads):
        # a ridge penalty λ on the factors adds λI to each block's curvature
        lam = self._damping_value(objective, point) + _penalty(objective)
        return [
            right_solve(g, objective.preconditioner(point, i), lam)
            for i, g in enumerate(grads)
        ]


class PrecGD(_RightPreconditioned):
    r"""Preconditioned gradient descent (Zhang, Fattahi & Zhang, NeurIPS 2021).

    Both factors move at the old point, each right-preconditioned by the Gram
    matrix of its partner with a damping that shrinks with the loss::

        δₖ = √(2 f(Lₖ, Rₖ)/β)             (damping="auto"), or the given float
        L⁺ = L − η ∇_L f(L, R) (RᵀR + δₖ I)⁻¹
        R⁺ = R − η ∇_R f(L, R) (LᵀL + δₖ I)⁻¹

    With ``f = ½‖LRᵀ − A‖²`` (β = 1) the automatic damping is
    ``δₖ = ‖LRᵀ − A‖_F``, the paper's choice of a damping proportional to the
    distance to the solution in the noiseless case; β, the objective's
    curvature in the model (``design_curvature``), puts δ in the model's
    units for other problems (the objective's ``residual_norm``). Each
    preconditioner is applied by a solve of the d×d system (LU with partial
    pivoting, or a least-squares solve when it is singular), never an
    explicit inverse.
    """

    name = "precgd"
    damping_rule = "adaptive"

    def _damping_value(self, objective, point):
        if self.damping == "auto":
            return objective.residual_norm(point)
        return float(self.damping)


class ScaledGD(_RightPreconditioned):
    r"""Scaled gradient descent with damping, ScaledGD(λ).

    (Tong, Ma & Chi, 2021 for λ = 0; Xu, Shen, Chi & Ma, ICML 2023 for λ > 0.)
    Both factors move at the old point with a fixed damping λ::

        L⁺ = L − η ∇_L f(L, R) (RᵀR + λ I)⁻¹
        R⁺ = R − η ∇_R f(L, R) (LᵀL + λ I)⁻¹

    ``damping`` is λ; ``"auto"`` resolves to a value relative to the data
    before the fit (the estimator stores it). λ = 0 gives the original
    ScaledGD, with a least-squares (pseudo-inverse) solve when a Gram matrix
    is singular.
    """

    name = "scaledgd"
    damping_rule = "fixed"

    def _damping_value(self, objective, point):
        return float(self.damping)


# ---------------------------------------------------------------------------
# Alternating methods
# ---------------------------------------------------------------------------
class AltGD(Optimizer):
    r"""Alternating gradient descent (Ward & Kolda, NeurIPS 2023).

    Blocks are updated in order, each at the newest values of the others::

        F₁⁺ = F₁ − η ∇₁f(F₁, F₂, …)
        F₂⁺ = F₂ − η ∇₂f(F₁⁺, F₂, …)
        …

    For a factorization ``X Yᵀ``: ``X⁺ = X − η∇_X f(X, Y)``, then
    ``Y⁺ = Y − η∇_Y f(X⁺, Y)``. It costs the same two data products per
    iteration as GD.
    """

    name = "altgd"
    requires = frozenset({"blocks"})
    alternating = True

    def _direction(self, objective, point, i, grad):
        return grad

    def step(self, objective, point, state):
        eta = self.learning_rate
        for i in range(objective.n_factors):
            grad = objective.grad_block(point, i)
            direction = self._direction(objective, point, i, grad)
            point = objective.replace_block(
                point, i, _step(point.factors[i], eta, direction)
            )
        return point, state


class APGD(AltGD):
    r"""Alternating preconditioned gradient descent (Liu et al., 2025).

    Alternating, undamped, with the pseudo-inverse of the partner's Gram::

        L⁺ = L − η ∇_L f(L, R) (RᵀR)^†
        R⁺ = R − η ∇_R f(L⁺, R) (L⁺ᵀL⁺)^†

    ``(·)^†`` is applied as a minimum-norm least-squares solve (eigenvalues
    below ``d·eps·λ_max`` are treated as zero). For the factorization
    objective η = 1 is exactly alternating least squares. With a ridge
    penalty ``½μ(‖L‖² + ‖R‖²)`` on the factors (an objective's ``penalty``,
    e.g. ``FactorizationNAG(alpha=…)``), the preconditioners become
    ``(RᵀR + μI)⁻¹`` and ``(L⁺ᵀL⁺ + μI)⁻¹``, so η = 1 stays the exact block
    minimizer.
    """

    name = "apgd"
    requires = frozenset({"partner", "two_factors"})
    step_unit = "scale_free"

    def _direction(self, objective, point, i, grad):
        # the objective's floor: 0 unless its Grams are sampled (completion)
        lam = _penalty(objective) + objective.damping_floor()
        return right_solve(grad, objective.preconditioner(point, i), lam)


# ---------------------------------------------------------------------------
# Momentum methods
# ---------------------------------------------------------------------------
class _Momentum(Optimizer):
    """Shared momentum bookkeeping.

    With a float ``momentum`` β is constant. With ``"auto"`` it follows
    Nesterov's schedule ``βₖ = (tₖ − 1)/tₖ₊₁``, ``tₖ₊₁ = (1 + √(1 + 4tₖ²))/2``,
    ``t₀ = 1``, with the gradient restart of O'Donoghue & Candès (2015):
    whenever ``⟨g, Fₖ₊₁ − Fₖ⟩ > 0`` (g the gradient used by the step) the
    schedule starts again from ``t = 1``, so the next step has β = 0. The rule
    needs no knowledge of the condition number.
    """

    has_momentum = True

    def init_state(self, objective, point):
        return {"previous": point, "t": 1.0}

    def memory(self):
        # the restarted schedule (``"auto"``) resets itself whenever the loss
        # turns up, so its memory is short
        if isinstance(self.momentum, str):
            return 1.0
        return 1.0 / (1.0 - float(self.momentum))

    def _beta(self, state):
        if self.momentum == "auto":
            t = state["t"]
            pending = state.get("restart")
            if pending is not None and pending.read(name="restart") > 0.0:
                # the last step's restart test, kept on the device and read
                # in the same transfer as that point's loss (Point.read)
                t = 1.0
            t_next = 0.5 * (1.0 + math.sqrt(1.0 + 4.0 * t * t))
            return (t - 1.0) / t_next, t_next
        return float(self.momentum), None

    def _next_state(self, point, new_point, grads, t_next):
        if t_next is None:
            return {"previous": point, "t": 1.0}
        # ⟨g, F⁺ − F⟩ as ⟨g, F⁺⟩ − ⟨g, F⟩: no temporary the size of the factors
        change = _inner_change(grads, new_point.factors, point.factors)
        if not isinstance(change, float):
            # a device scalar: read with the new point's loss (one transfer),
            # decided at the next step
            new_point.defer("restart", change)
            return {"previous": point, "t": t_next, "restart": new_point}
        if change > 0.0:
            t_next = 1.0
        return {"previous": point, "t": t_next}


class NAG(_Momentum):
    r"""Nesterov's accelerated gradient, as analysed by Xu, Wang, Zhao, Ward & Tao.

    The gradient is taken at the look-ahead point ``W``; the iterate reported
    (and whose loss is recorded) is ``Fₖ``, not ``W``::

        Wₖ   = Fₖ + βₖ (Fₖ − Fₖ₋₁),       F₋₁ = F₀
        Fₖ₊₁ = Wₖ − η ∇f(Wₖ)

    This is the formulation of the paper. It is *not* the same recursion as
    ``torch.optim.SGD(nesterov=True)``, optax's ``nesterov`` or
    scikit-learn's ``MLPRegressor(nesterovs_momentum=True)``, which keep a
    velocity buffer and evaluate the gradient at the current iterate. For the
    factorization objective ``Wₖ`` is formed from cached products, so an
    iteration costs two data products, like GD. See :class:`_Momentum` for
    ``momentum="auto"`` (schedule with restart).
    """

    name = "nag"

    def step(self, objective, point, state):
        beta, t_next = self._beta(state)
        previous = state["previous"]
        if beta == 0.0 or previous is point:
            lookahead = point
        else:
            lookahead = objective.combine([(1.0 + beta, point), (-beta, previous)])
        grads = objective.grad(lookahead)
        eta = self.learning_rate
        new = objective.point(
            [_step(W, eta, g) for W, g in zip(lookahead.factors, grads)]
        )
        return new, self._next_state(point, new, grads, t_next)


class HeavyBall(_Momentum):
    r"""Polyak's heavy-ball method.

    The gradient is taken at the current iterate::

        Fₖ₊₁ = Fₖ − η ∇f(Fₖ) + βₖ (Fₖ − Fₖ₋₁),       F₋₁ = F₀

    See :class:`_Momentum` for ``momentum="auto"`` (schedule with restart).
    """

    name = "heavy_ball"

    def step(self, objective, point, state):
        beta, t_next = self._beta(state)
        previous = state["previous"]
        grads = objective.grad(point)
        eta = self.learning_rate
        if beta == 0.0 or previous is point:
            new = [_step(F, eta, g) for F, g in zip(point.factors, grads)]
        else:
            new = [
                F - eta * g + beta * (F - P)
                for F, g, P in zip(point.factors, grads, previous.factors)
            ]
        new = objective.point(new)
        return new, self._next_state(point, new, grads, t_next)


OPTIMIZERS = {
    cls.name: cls for cls in (GD, AltGD, NAG, HeavyBall, PrecGD, ScaledGD, APGD)
}


def make_optimizer(name, learning_rate, momentum="auto", damping="auto"):
    """Instantiate the optimizer registered under ``name``."""
    return OPTIMIZERS[name](learning_rate, momentum=momentum, damping=damping)
