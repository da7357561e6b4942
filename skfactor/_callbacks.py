"""scikit-learn's callbacks (:mod:`sklearn.callback`, scikit-learn ≥ 1.9) in
the skfactor estimators: the bridge between the solver and the task tree.

Every fit is one root task (``"fit"``, ``max_subtasks=max_iter``) with one
leaf subtask (``"iteration"``) per solver iteration that stood (see
``skfactor._solver._Reports``: an iteration a backtrack undoes is never
reported). The subtask of iteration ``k`` begins with the iterate ``k − 1``
and ends with the iterate ``k``: its ``reconstruction_attributes`` are what
the estimator's ``_set_fitted`` publishes for that iterate, in the user's
units, so that a callback's ``fitted_estimator`` is the estimator as a fit
with ``max_iter=k`` from the same start would leave it (``n_iter_ == k``,
``stop_reason_ == "max_iter"``). They are built only when a hook asks for
``fitted_estimator``.

While its hooks run, an iteration task's context also carries the iterate
itself, as an :class:`IterationState` in ``context._skfactor_iterate`` (the
iterate ``k − 1`` during ``on_fit_task_begin``, ``k`` during
``on_fit_task_end``; removed once they returned): its loss, time, step and
factors need no reconstruction, and its ``fitted_estimator()`` builds that
iterate's fitted estimator only when called. This is how
:class:`skfactor.callbacks.Recorder` records the loss at every iteration
without building every iterate's estimator (the SVD form of its factors).

A subtask's ``on_fit_task_end`` returning True ends the fit at that iterate
(``stop_reason_ == "callback"``, no ``ConvergenceWarning``). A callback may
also define ``restored_estimator(estimator, context)``: after it stopped the
fit, a fitted estimator of an earlier iteration of this fit (one it received
as ``fitted_estimator``), whose model the fit then ends with
(:class:`skfactor.callbacks.EarlyStopping` restores its best iterate so).

With scikit-learn older than 1.9 the estimators work unchanged and
``set_callbacks`` raises an ``ImportError`` that names the version needed.
"""

import copy

import numpy as np
import sklearn

from ._solver import Iterate

try:
    from sklearn.callback import CallbackSupportMixin as _CallbackSupportMixin
except ImportError:  # scikit-learn < 1.9
    _CallbackSupportMixin = None

#: Whether the installed scikit-learn has ``sklearn.callback``.
HAS_CALLBACKS = _CallbackSupportMixin is not None

if HAS_CALLBACKS:

    class CallbackSupportMixin(_CallbackSupportMixin):
        """scikit-learn's ``set_callbacks`` (``sklearn.callback``)."""

else:

    class CallbackSupportMixin:
        """``set_callbacks`` on a scikit-learn without ``sklearn.callback``."""

        def set_callbacks(self, *callbacks):
            """Callbacks need scikit-learn 1.9 or later (``sklearn.callback``).

            Raises
            ------
            ImportError
                Always, with this scikit-learn.
            """
            raise ImportError(
                f"{type(self).__name__}.set_callbacks needs scikit-learn >= 1.9 "
                f"(sklearn.callback); scikit-learn {sklearn.__version__} is "
                "installed. Upgrade it: pip install -U 'scikit-learn>=1.9'. The "
                "estimator works without callbacks (see also its verbose)."
            )


class _GrowingArray:
    """A float64 array appended to one value at a time (amortized O(1));
    its prefixes are views that later appends never change."""

    def __init__(self):
        self._data, self._size = np.empty(64), 0

    def append(self, value):
        if self._size == self._data.size:
            grown = np.empty(2 * self._data.size)
            grown[: self._size] = self._data[: self._size]
            self._data = grown
        self._data[self._size] = value
        self._size += 1

    def prefix(self, k):
        view = self._data[:k]
        view.flags.writeable = False
        return view


def _fitted_copy(estimator, attributes):
    """The ``fitted_estimator`` scikit-learn builds from
    ``reconstruction_attributes``: a shallow copy of ``estimator`` with
    ``attributes`` set."""
    fitted = copy.copy(estimator)
    fitted.__dict__.pop("_fitting_space", None)
    for key, value in attributes.items():
        setattr(fitted, key, value)
    return fitted


class IterationState:
    """An iterate of a skfactor fit, as the callbacks that know skfactor read
    it from an iteration task's context (``context._skfactor_iterate``).

    Everything is in the user's units, and equal to what the iterate's fitted
    estimator would hold, without building it.

    Attributes
    ----------
    k : int
        The iteration (0: the start); the fitted estimator's ``n_iter_``.
    loss : float
        Its ``loss_curve_[-1]`` (``_start_loss`` at the start).
    time : float
        Its ``time_curve_[-1]`` (0 at the start).
    learning_rate : float
        Its ``learning_rate_``.
    reference_loss : float
        Its ``reference_loss_`` (the zero model's loss).
    factors : list of ndarray
        Its ``_factors`` (not copies: read them, or copy what you keep).
    """

    __slots__ = ("_build", "_fitted", "_iterate", "reference_loss")

    def __init__(self, iterate, reference_loss, build):
        self._iterate, self.reference_loss = iterate, reference_loss
        self._build, self._fitted = build, None

    @classmethod
    def of_fitted(cls, estimator):
        """The state of a fitted skfactor estimator (the end of its fit)."""
        k = estimator.n_iter_
        iterate = Iterate(
            k,
            estimator._factors,
            estimator.loss_curve_[-1] if k else estimator._start_loss,
            estimator.time_curve_[-1] if k else 0.0,
            estimator.learning_rate_,
            None,
        )
        return cls(iterate, estimator.reference_loss_, lambda it: estimator)

    # floats, as the fitted estimator's float64 curves hold them (a float32
    # fit's losses may be float32 scalars)
    k = property(lambda self: self._iterate.k)
    loss = property(lambda self: float(self._iterate.loss))
    time = property(lambda self: float(self._iterate.time))
    learning_rate = property(lambda self: float(self._iterate.learning_rate))
    factors = property(lambda self: self._iterate.factors)

    def fitted_estimator(self):
        """The estimator as a fit stopped at this iterate would leave it (what
        a hook's ``fitted_estimator`` is), built on the first call."""
        if self._fitted is None:
            self._fitted = self._build(self._iterate)
        return self._fitted


class FitMonitor:
    """One fit's tasks: the root task, and the solver's ``callback``.

    Build it with :meth:`start` once the data are validated (it begins the
    root task); pass it as the solver's ``callback``; :meth:`end` ends the
    root task once the fitted attributes are published.

    Parameters
    ----------
    estimator : estimator
    context : CallbackContext
        The estimator's root context.
    data : dict
        ``X``, ``y`` and ``metadata`` for the hooks.
    """

    def __init__(self, estimator, context, data):
        self.estimator, self.context, self.data = estimator, context, data
        self.losses, self.times = _GrowingArray(), _GrowingArray()
        self.attributes = self.solver_attributes = self.previous = None
        self.reference_loss = None
        self._last = None  # (iterate, attributes) last reconstructed

    @classmethod
    def start(cls, estimator, max_iter, data):
        """Begin the fit's root task; None without ``sklearn.callback``."""
        if not HAS_CALLBACKS:
            return None
        context = estimator._init_callback_context(max_subtasks=max_iter)
        context.call_on_fit_task_begin(estimator=estimator, **data)
        return cls(estimator, context, data)

    @property
    def active(self):
        """Whether any callback listens (the solver reports nothing else)."""
        return bool(getattr(self.estimator, "_skl_callbacks", None))

    def prepare(self, attributes, solver_attributes, start):
        """What the iterates' reconstructions need, once the step is known.

        ``attributes(factors, fitted)``: what the estimator publishes for
        ``factors`` (user units) and the solver's ``fitted``, built by
        ``solver_attributes(n_iter, loss_curve, time_curve, learning_rate,
        converged, stop_reason)``. ``start``: the starting factors (the
        fitted problem's units), their loss and step (user units) and the
        data unit: what iteration 1 begins with.
        """
        self.attributes, self.solver_attributes = attributes, solver_attributes
        factors, loss, learning_rate, unit = start
        self.previous = Iterate(0, factors, loss, 0.0, learning_rate, unit)
        # a constant of the fit: the start's attributes hold it
        self.reference_loss = self._solver_attributes(self.previous)["reference_loss_"]

    def _reconstruction(self, it):
        """The attributes of iterate ``it`` (the last one's are kept: the next
        subtask begins with it)."""
        if self._last is not None and self._last[0] is it:
            return self._last[1]
        attributes = self.attributes(it.factors, self._solver_attributes(it))
        space = getattr(self.estimator, "_fitting_space", None)
        if space is not None:  # a fit on a device: its iterates are there too
            attributes = space.published(attributes)
        self._last = (it, attributes)
        return attributes

    def _solver_attributes(self, it):
        # the loss and time curves up to ``it`` (recorded before its end)
        return self.solver_attributes(
            n_iter=it.k,
            loss_curve=self.losses.prefix(it.k),
            time_curve=self.times.prefix(it.k),
            learning_rate=it.learning_rate,
            converged=False,
            stop_reason="max_iter",
        )

    def _fitted_estimator(self, it):
        """The fitted estimator of iterate ``it`` (``IterationState``'s)."""
        return _fitted_copy(self.estimator, self._reconstruction(it))

    def __call__(self, it):
        """The solver's callback: iteration ``it.k`` stood."""
        previous, self.previous = self.previous, it
        context = self.context.subcontext(task_name="iteration")
        try:
            context._skfactor_iterate = IterationState(
                previous, self.reference_loss, self._fitted_estimator
            )
            context.call_on_fit_task_begin(
                estimator=self.estimator,
                reconstruction_attributes=lambda: self._reconstruction(previous),
                **self.data,
            )
            self.losses.append(it.loss)
            self.times.append(it.time)
            context._skfactor_iterate = IterationState(
                it, self.reference_loss, self._fitted_estimator
            )
            return context.call_on_fit_task_end(
                estimator=self.estimator,
                reconstruction_attributes=lambda: self._reconstruction(it),
                **self.data,
            )
        finally:
            # the task tree keeps every context to the fit's end: not the
            # iterates' factors
            context.__dict__.pop("_skfactor_iterate", None)

    def restored(self):
        """The fitted estimator a callback restores after stopping the fit
        (``restored_estimator``), or None."""
        for callback in getattr(self.estimator, "_skl_callbacks", ()):
            restore = getattr(callback, "restored_estimator", None)
            if callable(restore):
                fitted = restore(self.estimator, self.context)
                if fitted is not None:
                    return fitted
        return None

    def end(self):
        """End the root task (the estimator is fitted)."""
        self.context.call_on_fit_task_end(
            estimator=self.estimator, reconstruction_attributes={}, **self.data
        )
