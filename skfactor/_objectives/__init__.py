"""Objectives: smooth losses over a list of factor arrays.

An objective knows its data and nothing about optimizers. Optimizers talk to it
through :class:`Point` objects: a point holds the factors and a cache of
everything derived from them (data products, Gram matrices, the loss), so that
no quantity is computed twice however an optimizer combines its calls.

The interface every objective offers (defaults in :class:`Objective`):

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
``model``: ``n_factors``, ``layout``, ``degree``, ``partner(i)``, ``structure``
    How the factors make the model (:mod:`._models`): ``L Rᵀ``, ``X Xᵀ`` or
    a chain of layers; the partner factor whose Gram right-preconditions
    block ``i`` (None for chains).
``target``, ``target_norm()``, ``reference_loss``, ``design_curvature()``
    The problem's units: the matrix that starts are built from, in the
    model's units; its σ₁; the loss of the zero model; the curvature β of
    the loss in the model.
``smoothness(p)``, ``frozen_curvature(p)``, ``residual_norm(p)``, ``penalty``
    What the step rules and the preconditioned optimizers need.
``saddle_probe(p)``
    What the solver's stopping rule needs to tell a saddle from an optimum.

Implementations: :class:`FactorizationObjective` (``½‖XYᵀ − A‖²``),
:class:`MaskedFactorizationObjective` (missing entries, optional column
offsets), :class:`SensingObjective` (trace regression and completion),
:class:`CompletionObjective` (completion at observed entries with row and
column biases), :class:`LinearNetObjective` and
:class:`LinearNetDataObjective` (deep linear networks from sufficient
statistics, or from products with X).
"""

from ._base import Objective, Point
from ._completion import CompletionObjective
from ._factorization import FactorizationObjective, MaskedFactorizationObjective
from ._linear_net import LinearNetDataObjective, LinearNetObjective
from ._models import BiasedPairModel, ChainModel, PairModel, SymmetricModel
from ._sensing import SensingObjective

__all__ = [
    "BiasedPairModel",
    "ChainModel",
    "CompletionObjective",
    "FactorizationObjective",
    "LinearNetDataObjective",
    "LinearNetObjective",
    "MaskedFactorizationObjective",
    "Objective",
    "PairModel",
    "Point",
    "SensingObjective",
    "SymmetricModel",
]
