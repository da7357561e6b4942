"""The one driver loop shared by every estimator.

``minimize`` steps an optimizer on an objective, records the loss of every
iterate, and owns every stopping rule, the divergence check, the
``ConvergenceWarning`` and the ``verbose`` output. Nothing else in skfactor
loops over iterations.
"""

import math
import time
import warnings
from dataclasses import dataclass

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from .exceptions import DivergenceError

#: Window (iterations) of the stagnation rule.
N_ITER_NO_CHANGE = 10
#: The stagnation rule waits until the best loss is below this fraction of the
#: zero model's loss.
SADDLE_FRACTION = 0.999
#: Halvings of an automatic step size before divergence is an error.
MAX_BACKTRACKS = 8
#: The fit has diverged once the loss exceeds this multiple of
#: ``max(initial loss, loss of the zero model)``.
DIVERGENCE_FACTOR = 1e4


@dataclass
class SolverResult:
    """What ``minimize`` returns."""

    factors: list
    loss_curve: np.ndarray
    n_iter: int
    converged: bool
    stop_reason: str
    initial_loss: float
    elapsed: float = 0.0
    #: seconds since the solver started, at each entry of ``loss_curve``
    time_curve: np.ndarray = None
    #: loss of the zero model (the relative error is √(loss / reference))
    reference_loss: float = 0.0


def _format_lr(value):
    return f"{value:.3g}"


def minimize(
    objective,
    factors,
    optimizer,
    *,
    max_iter,
    tol,
    verbose=0,
    callback=None,
    name="skfactor",
    learning_rate_was_auto=False,
    data_scale=1.0,
):
    """Run ``optimizer`` on ``objective`` from ``factors``.

    Stopping rules, checked after every iteration ``k`` when ``tol > 0``:

    * relative error: ``√(f_k / f_ref) ≤ tol``, where ``f_ref`` is the loss of
      the zero model (for factorization ``‖XYᵀ − A‖_F / ‖A‖_F ≤ tol``);
    * stagnation: the median loss of the last ``N_ITER_NO_CHANGE`` iterations
      differs from the median of the ``N_ITER_NO_CHANGE`` before by at most
      ``tol`` times the smaller of that earlier median and the progress made
      since the start (``f_0`` minus the recent median). The second term
      keeps noise-dominated fits going, where the loss is large and steady
      progress is small next to it. Medians follow the descending envelope of momentum
      methods, whose loss may stay above an earlier lucky dip for dozens of
      iterations; a *rising* loss is never taken for convergence, and the fit
      does not stop on an iterate above the recent median (a spike). The rule is
      inactive while the best loss is within 0.1% of the zero model's, so the
      slow escape from a small start (a saddle) is not mistaken for
      convergence.

    ``tol = 0`` runs exactly ``max_iter`` iterations. Reaching ``max_iter``
    with ``tol > 0`` warns once with ``ConvergenceWarning``.

    Divergence is a non-finite loss or one above
    ``DIVERGENCE_FACTOR·max(f_0, f_ref)``. With a step size the user chose it
    raises :class:`~skfactor.exceptions.DivergenceError`, which carries the
    best iterate and names a smaller step to try. With an automatic step
    (``learning_rate_was_auto``) the solver backtracks instead: it rewinds to
    the best iterate, halves ``optimizer.learning_rate``, restarts the
    optimizer's state (momentum) and goes on, at most ``MAX_BACKTRACKS`` times
    before raising. The iterations undone are dropped from the loss curve.
    (The automatic steps are chosen from the starting factors; with momentum
    the imbalance between factors can drift over thousands of iterations on
    noise-dominated data until that step is no longer stable.)

    Parameters
    ----------
    objective, optimizer : objects from the two families.
    factors : list of ndarray
        The starting factors (not modified).
    max_iter : int
    tol : float
    verbose : int
        0 silent; 1 a line at iterations 1, 2, 4, 8, … and every 100; 2 every
        iteration.
    callback : callable, optional
        ``callback(k, factors, loss)`` after every iteration (``k ≥ 1``).
    name : str
        Prefix of messages (the estimator's class name).
    learning_rate_was_auto : bool
        Backtrack on divergence instead of raising at once (see above).
    data_scale : float
        The objective's data are the user's divided by ``data_scale`` (a
        power of 4, see :func:`skfactor._linalg.scale_exponent`). Everything
        reported (messages, the result's factors and losses) is converted back
        to the user's units: losses × s², factors × √s, step sizes ÷ s.
    """
    loss_unit, factor_unit = data_scale**2, math.sqrt(data_scale)
    optimizer.check_objective(objective)
    point = objective.point(factors)
    ref = objective.reference_loss
    with np.errstate(over="ignore", invalid="ignore"):
        f0 = objective.value(point)
    if not math.isfinite(f0):
        raise ValueError(
            f"{name}: the starting factors give a non-finite loss ({f0}); the "
            "data or the starting factors are too large to represent in "
            f"{np.dtype(objective.dtype).name}."
        )
    limit = DIVERGENCE_FACTOR * max(f0, ref)
    state = optimizer.init_state(objective, point)
    losses = np.empty(max_iter, dtype=np.float64)
    stamps = np.empty(max_iter, dtype=np.float64)
    best_loss, best_point, best_k = f0, point, 0
    backtracks = 0
    floor = tol * tol * ref
    saddle = SADDLE_FRACTION * ref
    w = N_ITER_NO_CHANGE
    converged, reason, k = False, "max_iter", 0
    start = time.perf_counter()

    def report(k, f):
        rel = math.sqrt(f / ref) if ref > 0 else 0.0
        elapsed = time.perf_counter() - start
        print(
            f"[{name}] iter {k:6d}  loss {f * loss_unit:.6e}  rel. error {rel:.3e}  "
            f"({elapsed:.2f} s)"
        )

    while k < max_iter:
        k += 1
        with np.errstate(over="ignore", invalid="ignore"):
            point, state = optimizer.step(objective, point, state)
            f = objective.value(point)
        losses[k - 1] = f
        stamps[k - 1] = time.perf_counter()
        diverged = not (f <= limit)  # catches NaN too
        if diverged and learning_rate_was_auto and backtracks < MAX_BACKTRACKS:
            backtracks += 1
            optimizer.learning_rate *= 0.5
            if verbose:
                print(
                    f"[{name}] the loss diverged at iteration {k}; back to "
                    f"iteration {best_k} with learning rate "
                    f"{_format_lr(optimizer.learning_rate / data_scale)}"
                )
            k, point = best_k, best_point
            state = optimizer.init_state(objective, point)
            continue
        if diverged:
            eta = optimizer.learning_rate / data_scale
            suggestion = eta / 10.0
            how = (
                f"the automatic learning rate {_format_lr(eta)} "
                f"(learning_rate='auto', halved {backtracks} times)"
                if learning_rate_was_auto
                else f"learning_rate={_format_lr(eta)}"
            )
            raise DivergenceError(
                f"{name} diverged at iteration {k} with {how}: the loss went "
                f"from {f0 * loss_unit:.3e} to {f * loss_unit:.3e}. Try a smaller "
                "step, e.g. "
                f"learning_rate={_format_lr(suggestion)}.",
                learning_rate=eta,
                suggested_learning_rate=suggestion,
                best_factors=[F * factor_unit for F in best_point.factors],
                best_loss=best_loss * loss_unit,
                n_iter=k,
                loss_curve=losses[:k] * loss_unit,
            )
        if f < best_loss:
            # factors only: the cache (residuals, products) is not kept alive
            best_loss, best_point, best_k = f, objective.point(point.factors), k
        if callback is not None:
            callback(k, point.factors, f)
        if verbose >= 2 or (verbose and (k & (k - 1) == 0 or k % 100 == 0)):
            report(k, f)
        if tol > 0:
            if f <= floor:
                converged, reason = True, "tol"
                break
            if k >= 2 * w and best_loss < saddle:
                before = float(np.median(losses[k - 2 * w : k - w]))
                recent = float(np.median(losses[k - w : k]))
                scale = min(before, f0 - recent)
                if abs(before - recent) <= tol * scale and f <= recent:
                    converged, reason = True, "no_improvement"
                    break
    elapsed = time.perf_counter() - start
    n_iter = k
    if verbose:
        report(n_iter, losses[n_iter - 1])
        print(f"[{name}] stopped after {n_iter} iterations ({reason}).")
    if reason == "max_iter" and tol > 0:
        f = losses[n_iter - 1]
        rel = math.sqrt(f / ref) if ref > 0 else 0.0
        warnings.warn(
            f"{name}: max_iter={max_iter} iterations reached before the stopping "
            f"rule (tol={tol:g}) was met; relative error {rel:.2e}. Increase "
            "max_iter or tol. On data that is not exactly low rank the "
            "preconditioned optimizers ('apgd', 'scaledgd') or init='spectral' "
            "need far fewer iterations.",
            ConvergenceWarning,
            stacklevel=3,
        )
    factors = point.factors
    if data_scale != 1.0:
        factors = [F * factor_unit for F in factors]
    return SolverResult(
        factors=factors,
        loss_curve=losses[:n_iter] * loss_unit,
        n_iter=n_iter,
        converged=converged,
        stop_reason=reason,
        initial_loss=f0 * loss_unit,
        elapsed=elapsed,
        time_curve=stamps[:n_iter] - start,
        reference_loss=ref * loss_unit,
    )
