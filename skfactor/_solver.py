"""The one driver loop shared by every estimator.

``minimize`` steps an optimizer on an objective, records the loss of every
iterate, and owns every stopping rule, the divergence check, the
``ConvergenceWarning`` and the ``verbose`` output. Nothing else in skfactor
loops over iterations. Everything it reports — messages, the callback's
arguments, the result — is in the user's units (:class:`~skfactor._units.DataUnit`).
"""

import math
import os
import sys
import time
import warnings
from dataclasses import dataclass

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from ._linalg import any_nonzero, numpy_dtype
from ._units import DataUnit
from .exceptions import DivergenceError

#: Window (iterations) of the plateau rule.
N_ITER_NO_CHANGE = 10
#: The first iteration at which the early plateau rule may stop a fit.
EARLY_MIN_ITER = 2
#: Without a saddle probe, the plateau rule waits until the best loss is below
#: this fraction of the zero model's loss (the zero model is a saddle).
SADDLE_FRACTION = 0.999
#: A flat loss is a saddle while the model's gradient has a direction this
#: many times stronger than the model's weakest direction.
SADDLE_RATIO = 2.0
#: The loss is flat to its own precision when it moves by less than this many
#: times its rounding error (the objective's ``loss_rounding``) over a window.
ROUNDING_UNITS = 16
#: Halvings of an automatic step size before divergence is an error.
MAX_BACKTRACKS = 8
#: An automatic step also backtracks when the window medians of the loss have
#: risen this many windows in a row to above twice the best loss (a slow
#: instability, which never reaches the divergence limit).
RISING_WINDOWS = 4
#: The fit has diverged once the loss exceeds this multiple of
#: ``max(initial loss, loss of the zero model)``.
DIVERGENCE_FACTOR = 1e4
#: An automatic step backtracks already when the loss exceeds this multiple
#: of ``max(initial loss, loss of the zero model)``: a step that goes that far
#: uphill is too long (ScaledGD's first step from a small start reaches about
#: 20× and then converges; an unstable one went to 759× and wandered).
AUTO_SPIKE_FACTOR = 100.0

#: Why a fit stopped (``SolverResult.stop_reason``, the estimators'
#: ``stop_reason_``).
STOP_REASONS = {
    "tol": "the relative error fell below tol",
    "plateau": "the loss stopped decreasing at a minimum (noise, or a rank "
    "too small for the data, keeps the error above tol)",
    "precision": "the loss stopped changing beyond its rounding precision",
    "max_iter": "max_iter iterations were run",
    "optimal": "the zero model is a minimizer: the data's gradient vanishes "
    "there (the response is orthogonal to the design, or the design is zero)",
    "callback": "a callback asked the fit to stop",
    "early_stopping": "the score on held-out entries stopped improving; the fit "
    "ends with its best iterate",
}

#: While a callback is set, iterations that a backtrack may still undo wait
#: before they are reported, their factors kept: at most this many bytes of
#: them (and between ``PENDING_MIN`` and ``PENDING_MAX`` iterates).
PENDING_BYTES = 2**28
PENDING_MIN, PENDING_MAX = 2, 64


@dataclass
class SolverResult:
    """What ``minimize`` returns (in the user's units)."""

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
    #: the final step size, in the fitted problem's units
    learning_rate: float = 0.0


class Iterate:
    """An iteration that stood, as the solver's ``callback`` receives it.

    Attributes, in the user's units
    -------------------------------
    k : int
        The iteration (1 for the first).
    loss : float
    time : float
        Seconds of solver work from the start to this iterate (the time spent
        in callbacks excluded).
    learning_rate : float
        The step size this iterate was computed with.
    factors : list of ndarray
        The iterate (converted on first access).
    """

    __slots__ = ("_factors", "_unit", "k", "learning_rate", "loss", "time")

    def __init__(self, k, factors, loss, time, learning_rate, unit):
        self.k, self.loss, self.time = k, loss, time
        self.learning_rate = learning_rate
        self._factors, self._unit = factors, unit

    @property
    def factors(self):
        if self._unit is not None:
            self._factors, self._unit = self._unit.factors_to_user(self._factors), None
        return self._factors


class _Reports:
    """The callback's side of the loop: which iterations have stood.

    An iteration stands once no backtrack can undo it: when a new best loss
    is reached (a backtrack rewinds to the best iterate), or when the fit
    ends. Until then it waits, its factors kept (references, no copies). More
    than the allowance waiting (a long stretch without a new best, e.g. at
    the loss's precision floor with ``tol=0``) reports the oldest, which then
    becomes the point a backtrack rewinds to: nothing reported is undone.
    """

    def __init__(self, callback, unit, step_unit, factors):
        self.callback, self.unit, self.step_unit = callback, unit, step_unit
        # bytes of one iterate (any array library: no ``nbytes`` in the standard)
        size = sum(math.prod(F.shape) * numpy_dtype(F.dtype).itemsize for F in factors)
        self.limit = int(
            np.clip(PENDING_BYTES // max(size, 1), PENDING_MIN, PENDING_MAX)
        )
        self.pending = []
        self.last = None  # the last reported entry
        self.paused = 0.0  # seconds spent in the callback

    def add(self, k, factors, f, stamp, learning_rate, new_best):
        """Record iteration ``k`` and report what stood. Returns the entry
        ``(k, factors, f, stamp, learning_rate)`` the callback asked to stop
        at, or None."""
        self.pending.append((k, factors, f, stamp, learning_rate))
        if new_best:
            return self.flush()
        if len(self.pending) > self.limit:
            return self._report(1)
        return None

    def flush(self):
        return self._report(len(self.pending))

    def drop(self):
        """A backtrack undid every waiting iteration."""
        self.pending.clear()

    def _report(self, count):
        ready, self.pending = self.pending[:count], self.pending[count:]
        entered = time.perf_counter()
        try:
            for entry in ready:
                k, factors, f, stamp, eta = entry
                self.last = entry
                it = Iterate(
                    k,
                    factors,
                    self.unit.loss_to_user(f),
                    stamp,
                    self.unit.step_to_user(eta, self.step_unit),
                    self.unit,
                )
                if self.callback(it):
                    self.pending.clear()
                    return entry
            return None
        finally:
            self.paused += time.perf_counter() - entered


def _format_lr(value):
    return f"{value:.3g}"


_PACKAGE = os.path.dirname(os.path.abspath(__file__))


def caller_stacklevel():
    """The ``stacklevel`` of the first frame outside skfactor (and outside
    scikit-learn's wrappers), so that warnings point at the user's line."""
    frame, level = sys._getframe(1), 1
    while frame is not None:
        path = os.path.abspath(frame.f_code.co_filename)
        inside = path.startswith(_PACKAGE) or f"{os.sep}sklearn{os.sep}" in path
        if not inside:
            return level
        frame, level = frame.f_back, level + 1
    return 1


class _Rising:
    """Window medians that keep rising above the best loss (``RISING_WINDOWS``).

    Rises below ``eps·f_ref`` (a relative error under √eps) are not counted:
    there the iterates' own rounding moves the loss, amplified by momentum
    (NAG with a constant β near 1 wanders around 1e-12 relative error), and
    a true divergence crosses that level within a few more windows.

    With a constant momentum β the loss of a converging run oscillates, and
    rises for up to half a period, about ``2π/(1 − β)`` iterations (the
    slowest mode of NAG on a quadratic turns by ``√(ηλ)`` per iteration, and
    ``√(ημ) ≈ (1 − β)/2`` for the paper's β): the rule then waits that long
    (``memory``, the optimizer's ``1/(1 − β)``).
    """

    def __init__(self, objective, memory=1.0):
        self.objective, self.last, self.count = objective, None, 0
        eps = float(np.finfo(objective.dtype).eps)
        self.noise = eps * objective.reference_loss
        self.windows = max(
            RISING_WINDOWS, math.ceil(2.0 * math.pi * memory / N_ITER_NO_CHANGE)
        )

    def update(self, median, best_loss):
        rounding = ROUNDING_UNITS * self.objective.loss_rounding(median)
        rose = self.last is not None and median > self.last + rounding
        self.count = self.count + 1 if rose else 0
        self.last = median
        return (
            self.count >= self.windows
            and median > 2.0 * best_loss + rounding
            and median > self.noise
        )


class _Plateau:
    """The plateau rule (see :func:`minimize`), with its saddle probe."""

    def __init__(self, objective, tol, f0, ref, start_loss=None):
        self.objective, self.tol, self.f0 = objective, tol, f0
        self.ref = ref
        self.start_loss = f0 if start_loss is None else start_loss
        self.probe_after = 0
        self.wait = N_ITER_NO_CHANGE
        self.has_probe = None

    def decide(self, losses, k, f, best_loss, point):
        """``None`` (go on), ``"plateau"`` or ``"precision"``."""
        w = N_ITER_NO_CHANGE
        if k < 2 * w:
            return self._early(losses, k, f, best_loss, point)
        before = float(np.median(losses[k - 2 * w : k - w]))
        recent = float(np.median(losses[k - w : k]))
        rounding = ROUNDING_UNITS * self.objective.loss_rounding(recent)
        if f > recent + rounding:  # never stop on a spike
            return None
        change = abs(before - recent)
        progress = max(self.f0 - recent, 0.0)
        # slow but real progress adds up over longer horizons: not precision
        older = np.median(losses[k - 5 * w : k - 4 * w]) if k >= 5 * w else recent
        if change <= rounding and older - recent <= 4 * rounding:
            # first, so that the label at an optimum is not rounding's
            reason = "precision"
        elif change <= self.tol * min(before, progress):
            reason = "plateau"
        else:
            return None
        if k < self.probe_after:
            return None
        if self._at_saddle(k, point, recent, best_loss, rounding):
            return None
        return reason

    def _early(self, losses, k, f, best_loss, point):
        """The rule before two full windows exist (``k < 2·N_ITER_NO_CHANGE``).

        The best loss ``b_j`` (the envelope, from the start's loss ``b_0``)
        over the last half of the run, ``b_⌊k/2⌋ − b_k``, as a per-iteration
        rate projected over ``max(k, N_ITER_NO_CHANGE)`` more iterations,
        plus the current iterate's excess over ``b_k``: what going on would
        still gain. Flat when that is below ``tol·b_k``: the error is within
        about ``tol/2`` of what those iterations would give. The saddle probe
        runs only while the best loss is within 0.1% of the zero model's. A
        good start (a sharpened sketch, a spectral start) ends here; a poor
        one makes fast progress and goes on to the windowed rule, which also
        weighs the progress made.
        """
        if k < EARLY_MIN_ITER:
            return None
        h = k // 2
        half = min([self.start_loss, *losses[:h]])
        horizon = max(k, N_ITER_NO_CHANGE)
        gain = (half - best_loss) * horizon / (k - h) + (f - best_loss)
        rounding = ROUNDING_UNITS * self.objective.loss_rounding(best_loss)
        if gain <= rounding:
            reason = "precision"
        elif gain <= self.tol * best_loss:
            reason = "plateau"
        else:
            return None
        if k < self.probe_after:
            return None
        # so early, only a start at a saddle can be on a saddle's plateau: the
        # zero model's (a small start, within 0.1% of its loss), or one a
        # user built (exactly stationary: no gradient step leaves it anyway)
        if best_loss >= SADDLE_FRACTION * self.ref and self._at_saddle(
            k, point, best_loss, best_loss, rounding
        ):
            return None
        return reason

    def _at_saddle(self, k, point, recent, best_loss, rounding):
        if self.has_probe is False:
            return best_loss >= SADDLE_FRACTION * self.ref
        probe = self.objective.saddle_probe(point)
        if probe is None:
            self.has_probe = False
            return best_loss >= SADDLE_FRACTION * self.ref
        self.has_probe = True
        strength, weakest, ridge, beta = probe
        bar = max(SADDLE_RATIO * weakest, ridge)
        if not strength > bar:
            return False
        # ½β(s² − bar²) in loss units, without squaring model-unit numbers
        root = math.sqrt(beta)
        gain = 0.5 * (root * strength - root * bar) * (root * strength + root * bar)
        if gain > self.tol * recent and gain > rounding:
            # a saddle: look again later, less often the longer it lasts
            self.probe_after = k + self.wait
            self.wait = min(2 * self.wait, 16 * N_ITER_NO_CHANGE)
            return True
        return False


def _reported(verbose, k):
    """Whether iteration ``k`` prints a progress line (1, 2, 4, … and every
    100th; every one with ``verbose >= 2``)."""
    return verbose >= 2 or bool(verbose and (k & (k - 1) == 0 or k % 100 == 0))


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
    unit=None,
    advice="",
    initial_loss=None,
    restart_after_first=False,
    callback_reason="callback",
):
    """Run ``optimizer`` on ``objective`` from ``factors``.

    Stopping rules, checked after every iteration ``k`` when ``tol > 0``:

    * **tol**: the relative error ``√(f_k / f_ref) ≤ tol``, where ``f_ref``
      is the loss of the zero model (for factorization
      ``‖XYᵀ − A‖_F / ‖A‖_F ≤ tol``);
    * **plateau, early** (``2 ≤ k < 2·N_ITER_NO_CHANGE``): with ``b_j`` the
      best loss after ``j`` iterations (``b_0`` the start's), going on would
      gain ``(b_⌊k/2⌋ − b_k)·max(k, N_ITER_NO_CHANGE)/(k − ⌊k/2⌋) +
      (f_k − b_k)``, the last half's rate over a horizon of at least one
      window; flat when that is at most ``tol·b_k`` (see ``_Plateau._early``);
    * **plateau**: with ``before`` and ``recent`` the median losses of the
      two last windows of ``N_ITER_NO_CHANGE`` iterations, the loss is flat
      when ``|before − recent| ≤ tol·min(before, f_0 − recent)``: a relative
      ``tol`` of the smaller of the loss and the progress made since the
      start (the progress keeps noise-dominated fits going, where the loss is
      large and steady progress is small next to it);
    * **precision**: or when ``|before − recent|`` (and the decrease since
      five windows back, once there are five, over 4) is below
      ``ROUNDING_UNITS`` times the loss's own rounding error (the
      objective's ``loss_rounding``: ``eps·f_ref`` where the loss is
      expanded from products, ``2·eps·√(f·f_ref)`` from a residual): a fit
      that starts at the optimum (a spectral start on noisy data) stops
      after two windows instead of comparing rounding errors, so the
      decision does not depend on the number of BLAS threads.

    A flat loss ends the fit only at a minimum, never on the plateau of a
    saddle. Objectives with a ``saddle_probe`` report the strongest direction
    ``s`` of the model's gradient, the weakest direction ``w`` of the model
    and the ridge penalty λ (all in the model's units, β the curvature): with
    ``b = max(SADDLE_RATIO·w, λ)`` the point is a saddle while escaping it
    would still gain ``½β(s² − b²) > tol·f`` (a direction of the data twice
    as strong as the weakest one of the model, and stronger than the
    penalty, is missing, as on every plateau a small start crosses). Then the fit goes
    on and probes again after 10, 20, 40, … iterations. Objectives without a
    probe only refuse to stop while the best loss is within 0.1% of the zero
    model's. Medians follow the descending envelope of momentum methods; the
    fit never stops on an iterate above the recent median by more than the
    rounding margin (a spike).

    ``tol = 0`` runs exactly ``max_iter`` iterations. Reaching ``max_iter``
    with ``tol > 0`` warns once with ``ConvergenceWarning``, pointing at the
    caller's line.

    Divergence is a non-finite loss or one above
    ``DIVERGENCE_FACTOR·max(f_0, f_ref)``. With a step size the user chose it
    raises :class:`~skfactor.exceptions.DivergenceError`, which carries the
    best iterate and names a smaller step to try. With an automatic step
    (``learning_rate_was_auto``) the solver backtracks instead: it rewinds to
    the best iterate, halves ``optimizer.learning_rate``, restarts the
    optimizer's state (momentum) and goes on, at most ``MAX_BACKTRACKS`` times
    before raising. The iterations undone are dropped from the loss curve. An
    automatic step backtracks the same way when the window medians of the
    loss have risen ``RISING_WINDOWS`` windows in a row to above twice the
    best loss: a slow instability (the over-parameterized directions of a
    preconditioned method on completion) that never reaches the limit.

    Parameters
    ----------
    objective, optimizer : objects from the two families.
    factors : list of ndarray
        The starting factors (not modified), in the objective's units.
    max_iter : int
    tol : float
    verbose : int
        0 silent; 1 a line at iterations 1, 2, 4, 8, … and every 100; 2 every
        iteration.
    callback : callable, optional
        ``callback(iterate)`` once per iteration that stood, in order, with an
        :class:`Iterate` (user units); a true return value ends the fit at
        that iterate (``stop_reason`` ``"callback"``, no warning). An
        iteration stands once no backtrack can undo it (see
        :class:`_Reports`): at once for a new best loss, later for one above
        it, never for one a backtrack undoes. The time spent in the callback
        is left out of ``time_curve``.
    callback_reason : str, default="callback"
        The ``stop_reason`` of a fit the callback ends (a key of
        ``STOP_REASONS``: ``"early_stopping"`` for a held-out stop test).
    name : str
        Prefix of messages (the estimator's class name).
    learning_rate_was_auto : bool
        Backtrack on divergence instead of raising at once (see above).
    unit : DataUnit, optional
        How the objective's numbers relate to the user's (identity if None).
    advice : str
        Appended to the ``ConvergenceWarning`` (what else to try).
    initial_loss : float, optional
        The loss the fit's progress is measured from, when larger than that of
        ``factors`` (a warm refit continues the progress of the first fit).
    restart_after_first : bool
        Restart the optimizer's state (momentum) after the first iteration,
        whose displacement solved a block of the problem (see
        ``skfactor._step_size.restart_after_first_step``).
    """
    unit = DataUnit() if unit is None else unit
    step_unit = optimizer.step_unit
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
    factor = AUTO_SPIKE_FACTOR if learning_rate_was_auto else DIVERGENCE_FACTOR
    limit = factor * max(f0, ref)
    state = optimizer.init_state(objective, point)
    losses, stamps = [], []
    best_loss, best_point, best_k = f0, point, 0
    backtracks = 0
    floor = tol * tol * ref
    # a warm refit measures its progress from where the first fit started
    plateau = _Plateau(
        objective, tol, max(f0, initial_loss or 0.0), objective.saddle_loss, f0
    )
    rising = _Rising(objective, optimizer.memory())
    converged, reason, k, stop = False, "max_iter", 0, None
    # a zero start where the zero model is optimal: one (null) step, done
    zero_is_optimal = (
        ref > 0
        and not any(any_nonzero(F) for F in point.factors)
        and objective.zero_model_is_optimal(point)
    )
    reports = None
    if callback is not None:
        reports = _Reports(callback, unit, step_unit, point.factors)
    start = time.perf_counter()

    def clock():
        """Seconds of solver work (the callback's time left out)."""
        paused = 0.0 if reports is None else reports.paused
        return time.perf_counter() - start - paused

    def report(k, f):
        rel = math.sqrt(f / ref) if ref > 0 else 0.0
        elapsed = clock()
        print(
            f"[{name}] iter {k:6d}  loss {unit.loss_to_user(f):.6e}  "
            f"rel. error {rel:.3e}  ({elapsed:.2f} s)"
        )

    while k < max_iter:
        k += 1
        with np.errstate(over="ignore", invalid="ignore"):
            point, state = optimizer.step(objective, point, state)
            f = objective.value(point)
        losses.append(f)
        stamps.append(clock())
        diverged = not (f <= limit)  # catches NaN too
        if learning_rate_was_auto and not diverged and k % N_ITER_NO_CHANGE == 0:
            diverged = rising.update(np.median(losses[-N_ITER_NO_CHANGE:]), best_loss)
        if diverged and learning_rate_was_auto and backtracks < MAX_BACKTRACKS:
            backtracks += 1
            optimizer.learning_rate *= 0.5
            diverged_at = k
            k, point = best_k, best_point
            if reports is not None:
                reports.drop()
                last = reports.last
                if last is not None and last[0] > best_k:
                    # reported before a new best: never undone
                    k, point = last[0], objective.point(last[1])
            if verbose:
                eta = unit.step_to_user(optimizer.learning_rate, step_unit)
                print(
                    f"[{name}] the loss diverged at iteration {diverged_at}; back "
                    f"to iteration {k} with learning rate {_format_lr(eta)}"
                )
            del losses[k:], stamps[k:]
            rising = _Rising(objective, optimizer.memory())
            state = optimizer.init_state(objective, point)
            continue
        if diverged:
            eta = unit.step_to_user(optimizer.learning_rate, step_unit)
            suggestion = eta / 10.0
            how = (
                f"the automatic learning rate {_format_lr(eta)} "
                f"(learning_rate='auto', halved {backtracks} times)"
                if learning_rate_was_auto
                else f"learning_rate={_format_lr(eta)}"
            )
            raise DivergenceError(
                f"{name} diverged at iteration {k} with {how}: the loss went "
                f"from {unit.loss_to_user(f0):.3e} to {unit.loss_to_user(f):.3e}. "
                f"Try a smaller step, e.g. learning_rate={_format_lr(suggestion)}.",
                learning_rate=eta,
                suggested_learning_rate=suggestion,
                best_factors=unit.factors_to_user(best_point.factors),
                best_loss=unit.loss_to_user(best_loss),
                n_iter=k,
                loss_curve=unit.loss_to_user(np.asarray(losses)),
            )
        if k == 1 and restart_after_first:
            state = optimizer.init_state(objective, point)
        new_best = f < best_loss
        if new_best:
            # factors only: the cache (residuals, products) is not kept alive
            best_loss, best_point, best_k = f, objective.point(point.factors), k
        if _reported(verbose, k):
            report(k, f)
        if reports is not None:
            stop = reports.add(
                k, point.factors, f, stamps[-1], optimizer.learning_rate, new_best
            )
            if stop is not None:
                break
        if zero_is_optimal and f <= f0:
            converged, reason = True, "optimal"
            break
        if tol > 0:
            if f <= floor:
                converged, reason = True, "tol"
                break
            flat = plateau.decide(losses, k, f, best_loss, point)
            if flat is not None:
                converged, reason = True, flat
                break
    learning_rate = optimizer.learning_rate
    if reports is not None:
        if stop is None:
            stop = reports.flush()  # the fit ended: everything stands
        if stop is not None:
            k, factors, _, _, learning_rate = stop
            point = objective.point(factors)
            converged, reason = False, callback_reason
            del losses[k:], stamps[k:]
    elapsed = time.perf_counter() - start
    n_iter = k
    losses = np.asarray(losses, dtype=np.float64)
    if verbose:
        if not _reported(verbose, n_iter):  # the last line, once
            report(n_iter, losses[n_iter - 1])
        print(
            f"[{name}] stopped after {n_iter} iterations ({reason}): "
            f"{STOP_REASONS[reason]}."
        )
    if reason == "max_iter" and tol > 0:
        f = losses[n_iter - 1]
        rel = math.sqrt(f / ref) if ref > 0 else 0.0
        warnings.warn(
            f"{name}: max_iter={max_iter} iterations reached before the stopping "
            f"rule (tol={tol:g}) was met; relative error {rel:.2e}. Increase "
            "max_iter or tol." + (f" {advice}" if advice else ""),
            ConvergenceWarning,
            stacklevel=caller_stacklevel(),
        )
    return SolverResult(
        factors=unit.factors_to_user(point.factors),
        loss_curve=unit.loss_to_user(losses),
        n_iter=n_iter,
        converged=converged,
        stop_reason=reason,
        initial_loss=unit.loss_to_user(f0),
        elapsed=elapsed,
        time_curve=np.asarray(stamps, dtype=np.float64),
        reference_loss=unit.loss_to_user(ref),
        learning_rate=learning_rate,
    )
