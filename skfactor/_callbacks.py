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

A subtask's ``on_fit_task_end`` returning True ends the fit at that iterate
(``stop_reason_ == "callback"``, no ``ConvergenceWarning``). A callback may
also define ``restored_estimator(estimator, context)``: after it stopped the
fit, a fitted estimator of an earlier iteration of this fit (one it received
as ``fitted_estimator``), whose model the fit then ends with
(:class:`skfactor.callbacks.EarlyStopping` restores its best iterate so).

With scikit-learn older than 1.9 the estimators work unchanged and
``set_callbacks`` raises an ``ImportError`` that names the version needed.
"""

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

    def _reconstruction(self, it):
        """The attributes of iterate ``it`` (the last one's are kept: the next
        subtask begins with it)."""
        if self._last is not None and self._last[0] is it:
            return self._last[1]
        fitted = self.solver_attributes(
            n_iter=it.k,
            loss_curve=self.losses.prefix(it.k),
            time_curve=self.times.prefix(it.k),
            learning_rate=it.learning_rate,
            converged=False,
            stop_reason="max_iter",
        )
        attributes = self.attributes(it.factors, fitted)
        self._last = (it, attributes)
        return attributes

    def __call__(self, it):
        """The solver's callback: iteration ``it.k`` stood."""
        previous, self.previous = self.previous, it
        context = self.context.subcontext(task_name="iteration")
        context.call_on_fit_task_begin(
            estimator=self.estimator,
            reconstruction_attributes=lambda: self._reconstruction(previous),
            **self.data,
        )
        self.losses.append(it.loss)
        self.times.append(it.time)
        return context.call_on_fit_task_end(
            estimator=self.estimator,
            reconstruction_attributes=lambda: self._reconstruction(it),
            **self.data,
        )

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
