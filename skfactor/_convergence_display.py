"""Convergence curves of fitted skfactor estimators (scikit-learn's Display API)."""

import numbers

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ._array_api import host_twin

_X_AXES = {"iteration": "iteration", "time": "wall time (s)"}
_Y_AXES = {"loss": "loss", "relative_error": "relative error"}


def _check_matplotlib(caller):
    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            f"{caller} requires matplotlib, an optional dependency of skfactor. "
            "Install it with `pip install matplotlib` (or "
            '`pip install "skfactor[plot]"`).'
        ) from exc


def _check_choice(name, value, choices):
    if value not in choices:
        raise ValueError(
            f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}."
        )


def _default_labels(estimators):
    """``"optimizer, init"``, plus the parameters that tell duplicates apart."""
    base = []
    for est in estimators:
        init = est.init if isinstance(est.init, str) else "custom"
        base.append(f"{est.optimizer}, {init}")
    labels = list(base)
    for label in set(base):
        group = [i for i, b in enumerate(base) if b == label]
        if len(group) < 2:
            continue
        kinds = {type(estimators[i]).__name__ for i in group}
        params = [estimators[i].get_params(deep=False) for i in group]
        shared = set(params[0]).intersection(*params[1:]) - {"optimizer", "init"}
        differing = [
            key
            for key in sorted(shared)
            if isinstance(params[0][key], str | numbers.Number | tuple | type(None))
            and any(p[key] != params[0][key] for p in params[1:])
        ]
        for i, p in zip(group, params):
            name = f"{type(estimators[i]).__name__}: " if len(kinds) > 1 else ""
            extra = ", ".join(f"{key}={p[key]!r}" for key in differing)
            labels[i] = f"{name}{base[i]}" + (f" ({extra})" if extra else "")
    return labels


def _unwrap(estimator):
    """The skfactor estimator inside a Pipeline or a fitted search."""
    if hasattr(estimator, "best_estimator_"):
        estimator = estimator.best_estimator_
    if hasattr(estimator, "steps"):
        estimator = estimator.steps[-1][1]
    return estimator


class ConvergenceDisplay:
    r"""Loss or relative error against iteration or wall time, one line per fit.

    Build it with :meth:`from_estimator` or :meth:`from_estimators` from fitted
    skfactor estimators, or directly from curves; then :meth:`plot` draws it.
    matplotlib is an optional dependency, needed by :meth:`plot` only.

    Parameters
    ----------
    loss_curves : list of array-like
        The loss after each iteration, one array per fit (``loss_curve_``).
    labels : list of str
        One legend entry per curve.
    time_curves : list of array-like, default=None
        Seconds since the start of each fit, per iteration (``time_curve_``);
        needed for ``x="time"``.
    reference_losses : list of float, default=None
        Loss of each fit's zero model (``reference_loss_``); needed for
        ``y="relative_error"``, which plots :math:`\sqrt{f / f_0}` (:math:`f`
        the loss, :math:`f_0` the reference loss).

    Attributes
    ----------
    ax_ : matplotlib Axes
        The axes drawn on (set by :meth:`plot`).
    figure_ : matplotlib Figure
        The figure holding ``ax_``.
    lines_ : list of matplotlib Line2D
        One line per curve, in the order of ``labels``.

    See Also
    --------
    FactorizationNAG, MatrixSensingPrecGD, LinearNetRegressor :
        Estimators whose fits this display draws.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from skfactor import FactorizationNAG
    >>> from skfactor.datasets import make_low_rank_matrix
    >>> from skfactor.plotting import ConvergenceDisplay
    >>> A, *_ = make_low_rank_matrix(60, 40, 3, 10, random_state=0)
    >>> fits = [
    ...     FactorizationNAG(3, optimizer=opt, tol=1e-6, random_state=0).fit(A)
    ...     for opt in ("gd", "nag")
    ... ]
    >>> display = ConvergenceDisplay.from_estimators(fits, y="relative_error")
    >>> [line.get_label() for line in display.lines_]
    ['gd, unbalanced', 'nag, unbalanced']
    """

    #: The iterations of each curve (None: 1, 2, …) and the name of what it
    #: holds (None: the loss); set by :meth:`from_recorder`.
    iteration_curves = None
    quantity = None

    def __init__(self, loss_curves, labels, *, time_curves=None, reference_losses=None):
        self.loss_curves = loss_curves
        self.labels = labels
        self.time_curves = time_curves
        self.reference_losses = reference_losses

    def plot(self, ax=None, *, x="iteration", y="loss", **kwargs):
        r"""Draw the curves, the y axis on a log scale.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Where to draw; a new figure when None.
        x : {"iteration", "time"}, default="iteration"
            Iteration number (1, 2, …) or seconds since the start of the fit.
        y : {"loss", "relative_error"}, default="loss"
            The loss :math:`f`, or :math:`\sqrt{f / f_0}` with :math:`f_0` the
            reference loss (the relative error ``tol`` is compared with; for
            factorization
            :math:`\lVert X Y^\top - A \rVert_F / \lVert A \rVert_F`).
        **kwargs : dict
            Passed to every ``ax.plot`` call (``linewidth``, ``alpha``, …).

        Returns
        -------
        self : ConvergenceDisplay
        """
        _check_matplotlib(f"{type(self).__name__}.plot")
        _check_choice("x", x, tuple(_X_AXES))
        if self.quantity is None:
            _check_choice("y", y, tuple(_Y_AXES))
        curves = [np.asarray(c, dtype=float).ravel() for c in self.loss_curves]
        if len(self.labels) != len(curves):
            raise ValueError(
                f"labels has {len(self.labels)} entries for {len(curves)} curves; "
                "give one label per curve."
            )
        if self.quantity is not None and y not in ("loss", self.quantity):
            raise ValueError(
                f"This display holds the recorded {self.quantity!r}; plot it with "
                f"y={self.quantity!r}."
            )
        if self.quantity is not None:
            y = self.quantity
        if x == "time":
            if self.time_curves is None:
                raise ValueError(
                    'x="time" needs time_curves (the estimators\' time_curve_).'
                )
            xs = [np.asarray(t, dtype=float).ravel() for t in self.time_curves]
        elif self.iteration_curves is not None:
            xs = [np.asarray(k, dtype=float).ravel() for k in self.iteration_curves]
        else:
            xs = [np.arange(1, len(c) + 1) for c in curves]
        if y == "relative_error" and self.quantity is None:
            if self.reference_losses is None:
                raise ValueError(
                    'y="relative_error" needs reference_losses (the estimators\' '
                    "reference_loss_)."
                )
            curves = [
                np.sqrt(np.maximum(c, 0.0) / ref) if ref > 0 else np.zeros_like(c)
                for c, ref in zip(curves, self.reference_losses)
            ]
        for xv, c in zip(xs, curves):
            if len(xv) != len(c):
                raise ValueError(
                    "Each time curve must have one entry per loss; got "
                    f"{len(xv)} and {len(c)}."
                )
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots()
        self.lines_ = []
        for xv, c, label in zip(xs, curves, self.labels):
            # zeros (an exact fit) cannot be drawn on a log scale
            shown = np.where(c > 0, c, np.nan)
            (line,) = ax.plot(xv, shown, label=label, **kwargs)
            self.lines_.append(line)
        ax.set_yscale("log")
        ax.set_xlabel(_X_AXES[x])
        ax.set_ylabel(_Y_AXES.get(y, self.quantity))
        if self.labels:
            ax.legend()
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    @classmethod
    def from_estimator(
        cls, estimator, *, label=None, ax=None, x="iteration", y="loss", **kwargs
    ):
        """Plot the convergence curve of one fitted estimator.

        Parameters
        ----------
        estimator : fitted FactorizationNAG, MatrixSensingPrecGD or LinearNetRegressor
        label : str, default=None
            Legend entry; ``"optimizer, init"`` when None.
        ax, x, y, **kwargs :
            As in :meth:`plot`.

        Returns
        -------
        display : ConvergenceDisplay
        """
        labels = None if label is None else [label]
        return cls.from_estimators(
            [estimator], labels=labels, ax=ax, x=x, y=y, **kwargs
        )

    @classmethod
    def from_estimators(
        cls, estimators, *, labels=None, ax=None, x="iteration", y="loss", **kwargs
    ):
        """Plot the convergence curves of several fitted estimators together.

        Parameters
        ----------
        estimators : list of fitted skfactor estimators
            Fits to compare, e.g. one per optimizer or initialization. A
            fitted Pipeline stands for its last step, and a fitted
            ``GridSearchCV`` for its ``best_estimator_``.
        labels : list of str, default=None
            Legend entries. When None: ``"optimizer, init"``, followed by the
            parameters that differ between fits sharing both.
        ax, x, y, **kwargs :
            As in :meth:`plot`.

        Returns
        -------
        display : ConvergenceDisplay
        """
        _check_matplotlib(f"{cls.__name__}.from_estimators")
        # the host copies of fits on a device (their curves are small)
        estimators = [host_twin(_unwrap(est)) for est in estimators]
        if not estimators:
            raise ValueError("estimators is empty; pass at least one fitted estimator.")
        for est in estimators:
            if not hasattr(est, "optimizer") or not hasattr(est, "init"):
                raise TypeError(
                    f"{type(est).__name__} is not a skfactor estimator: "
                    "ConvergenceDisplay draws the loss_curve_ of FactorizationNAG, "
                    "MatrixSensingPrecGD or LinearNetRegressor."
                )
            check_is_fitted(est, "loss_curve_")
        if labels is None:
            labels = _default_labels(estimators)
        display = cls(
            [est.loss_curve_ for est in estimators],
            list(labels),
            time_curves=[est.time_curve_ for est in estimators],
            reference_losses=[est.reference_loss_ for est in estimators],
        )
        return display.plot(ax=ax, x=x, y=y, **kwargs)

    @classmethod
    def from_recorder(
        cls, recorder, quantity="loss", *, labels=None, ax=None, x="iteration", **kwargs
    ):
        """Plot a quantity a :class:`~skfactor.callbacks.Recorder` recorded,
        one line per fit, against iteration (from 0, the start) or time.

        Parameters
        ----------
        recorder : Recorder, RecorderHistory or list of RecorderHistory
            A recorder (all its fits), or the records to draw.
        quantity : str, default="loss"
            A recorded quantity (e.g. ``"distance"``, or a name you gave).
            Its values must be positive where they are drawn (log scale).
        labels : list of str, default=None
            Legend entries; the estimator's class name and the fit's number
            when None.
        ax, x, **kwargs :
            As in :meth:`plot` (``x="time"`` needs the quantity ``"time"``
            recorded).

        Returns
        -------
        display : ConvergenceDisplay
        """
        _check_matplotlib(f"{cls.__name__}.from_recorder")
        histories = getattr(recorder, "histories_", recorder)
        if isinstance(histories, dict):
            histories = [histories]
        histories = list(histories)
        if not histories:
            raise ValueError(
                "The recorder has no record: fit an estimator it is set on first."
            )
        for history in histories:
            if quantity not in history:
                recorded = [k for k in history if k not in ("iteration", "iterates")]
                raise ValueError(
                    f"{quantity!r} was not recorded; the recorder has "
                    f"{', '.join(map(repr, recorded))}."
                )
        if labels is None:
            names = [getattr(h, "estimator_name", "fit") for h in histories]
            labels = (
                names
                if len(names) == 1
                else [f"{name} #{i}" for i, name in enumerate(names)]
            )
        times = None
        if all("time" in h for h in histories):
            times = [h["time"] for h in histories]
        display = cls([h[quantity] for h in histories], list(labels), time_curves=times)
        display.iteration_curves = [h["iteration"] for h in histories]
        display.quantity = quantity
        return display.plot(ax=ax, x=x, y=quantity, **kwargs)
