"""``learning_rate="auto"`` and ``damping="auto"``: the step-size policy.

The only code that reads an optimizer, a start and an objective together. It
decides by their declared attributes (``step_unit``, ``alternating``,
``damping_rule``; ``frozen_step``, ``needs_learning_rate``; ``layout``,
``degree``, ``design_curvature()``), never by names, and works in the fitted
problem's units (:mod:`skfactor._units` converts).

The rules (ALGORITHMS.md §4), with β the objective's curvature in the model
and ``T`` its target (both in the model's units):

* ``step_unit="scale_free"`` (PrecGD, ScaledGD(λ), APGD): ``η = 0.5/β``, the
  authors' 0.5 for designs with ``𝒜*𝒜/N ≈ I``, whatever the scale;
* a start built for a step (``needs_learning_rate``, Ward–Kolda) with an
  alternating method: that step, ``η = 1/(β·σ₁(T))`` unless given;
* a start whose last factor is 0 and the others large (``frozen_step``,
  the unbalanced start) on a pair: ``η = 1/L_frozen``, the curvature of the
  least-squares problem in the last factor (``1/s₁(X₀)²`` for factorization);
* otherwise ``η = 1/L̂`` with ``L̂ = max(smoothness(F₀), (K + 1)·β·σ₁(T)^(2 − 2/K))``
  (K the model's degree): the first term bounds the Hessian at the start, the
  second the Hessian along a balanced trajectory (``3βσ₁`` for two factors).

``momentum="paper"`` (NAG, heavy ball): the NAG paper's constant
``β = (√κ_eff − 1)/(√κ_eff + 1)``, ``κ_eff`` the condition number of the
least-squares problem in the last factor at a start whose last factor is 0
(``objective.frozen_condition``; ``≈ κ(T)²`` for the unbalanced start).

``damping="auto"``: ``"adaptive"`` optimizers (PrecGD) follow the iterate;
``"fixed"`` ones (ScaledGD(λ)) get ``λ = 1e-5·σ₁(T)``, or the objective's
``damping_floor()`` when larger (``|λ_min(A)|`` for ``X Xᵀ`` of an
indefinite ``A``: with a smaller λ the step along a negative eigenvector,
``η|λ|/λ`` times the factor, overshoots).

Every rule is homogeneous of the right degree in the data, so fitting scaled
data gives the scaled trajectory.
"""

import math

from ._linalg import any_nonzero

#: Step size of the scale-free methods, relative to 1/β: 0.5, as in the
#: ScaledGD and PrecGD authors' code.
PRECONDITIONED_LEARNING_RATE = 0.5
#: ScaledGD(λ) with ``damping="auto"``: λ as a fraction of σ₁(target).
SCALEDGD_RELATIVE_DAMPING = 1e-5


def _curvature_scale(objective):
    beta = objective.design_curvature()
    return beta if beta > 0 else 1.0


def resolve_damping(optimizer, objective, damping):
    """The damping in the fitted problem's units (``"auto"`` stays for
    adaptive rules)."""
    if damping != "auto" or optimizer.damping_rule != "fixed":
        return damping
    relative = SCALEDGD_RELATIVE_DAMPING * objective.target_norm()
    return max(relative, objective.damping_floor())


def paper_momentum(objective, point):
    """``momentum="paper"``: ``β = (√κ_eff − 1)/(√κ_eff + 1)`` from the
    frozen problem at ``point``, or None when the point is not a frozen start
    (a model of one factor, or a last factor that is not 0)."""
    if objective.layout not in ("pair", "chain") or any_nonzero(point.factors[-1]):
        return None
    root = math.sqrt(objective.frozen_condition(point))
    return (root - 1.0) / (root + 1.0)


def start_learning_rate(start, objective, learning_rate):
    """The step a start is built for (None for starts that need none)."""
    if not getattr(start, "needs_learning_rate", False):
        return None
    if learning_rate is not None:
        return learning_rate
    sigma1 = objective.target_norm()
    return 1.0 / (_curvature_scale(objective) * sigma1) if sigma1 > 0 else 1.0


def natural_learning_rate(optimizer, objective):
    """The step the data's curvature calls for, without a start: ``0.5/β``
    (scale-free) or ``1/((K + 1)·β·σ₁(T)^(2 − 2/K))`` (None for a zero target).
    A reference for judging a given step, not a rule."""
    beta = _curvature_scale(objective)
    if optimizer.step_unit == "scale_free":
        return PRECONDITIONED_LEARNING_RATE / beta
    K = objective.degree
    sigma1 = objective.target_norm()
    if not sigma1 > 0:
        return None
    return 1.0 / ((K + 1) * beta * sigma1 ** (2.0 - 2.0 / K))


def restart_after_first_step(optimizer, start, objective, auto):
    """Whether momentum starts after the first iteration.

    With a frozen-step start and the automatic step, the first iteration
    minimizes the loss over the last factor, the others frozen: exactly when
    they have equal singular values (the sharpened unbalanced start),
    nearly otherwise. Its displacement is a solve, not a velocity: carried
    as momentum it overshoots the minimizer (by β₂ ≈ 0.28 with Nesterov's
    schedule, a loss several times the first iterate's from a good start).
    So the restart schedule (``momentum="auto"``) begins after it; a
    constant momentum, the papers' setting, keeps it.
    """
    return bool(
        auto
        and getattr(start, "frozen_step", False)
        and objective.layout == "pair"
        and getattr(optimizer, "momentum", None) == "auto"
    )


def auto_learning_rate(optimizer, start, objective, point, start_step=None):
    """``learning_rate="auto"`` (see the module docstring)."""
    beta = _curvature_scale(objective)
    if optimizer.step_unit == "scale_free":
        return PRECONDITIONED_LEARNING_RATE / beta
    if start_step is not None and optimizer.alternating:
        return start_step
    if getattr(start, "frozen_step", False) and objective.layout == "pair":
        curvature = objective.frozen_curvature(point)
    else:
        K = objective.degree
        sigma1 = objective.target_norm()
        balanced = (K + 1) * beta * sigma1 ** (2.0 - 2.0 / K)
        curvature = max(objective.smoothness(point), balanced)
    return 1.0 / curvature if curvature > 0 else 1.0
