"""Callbacks for researchers: record any quantity per iteration, stop early
on held-out data.

Both follow scikit-learn's callback API (:mod:`sklearn.callback`,
scikit-learn ≥ 1.9): set them on a skfactor estimator with
``set_callbacks``, also when it sits inside a ``Pipeline`` or a
``GridSearchCV`` (its clones share the callback; every fit is one run).
scikit-learn's own :class:`~sklearn.callback.ProgressBar` and
:class:`~sklearn.callback.ScoringMonitor` work with every skfactor estimator
too; they are set on the outermost estimator.

A skfactor fit reports one task per iteration that stood (an iteration a
backtrack undoes is never reported), and the ``fitted_estimator`` a hook
receives is the estimator exactly as a fit stopped at that iteration would
leave it (user units). A hook's true return value ends the fit there
(``stop_reason_ == "callback"``). A callback that defines
``restored_estimator(estimator, context)`` may, after stopping a fit, hand
back a ``fitted_estimator`` of an earlier iteration of that fit; the fit then
ends with that model (:class:`EarlyStopping` restores its best iterate so).

Records are kept in the process that fits: with ``n_jobs > 1`` in a search,
each worker records into its own copy.
"""

import math
import numbers

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

from ._array_api import copy_array, host_twin, to_host
from ._callbacks import IterationState

__all__ = ["EarlyStopping", "Recorder", "RecorderHistory"]

#: The quantities :class:`Recorder` computes by name.
BUILTIN_QUANTITIES = ("loss", "time", "relative_error", "learning_rate", "distance")


def _is_iteration(context):
    """A skfactor iteration task (a leaf of a skfactor fit's root task)."""
    return context.task_name == "iteration" and context.max_subtasks == 0


def _is_fit_root(context):
    return context.task_name == "fit" and context.max_subtasks != 0


def _state(context):
    """The iterate a skfactor fit attached to an iteration task, during its
    hooks (``skfactor._callbacks.IterationState``), or None."""
    return getattr(context, "_skfactor_iterate", None)


def _check_skfactor(estimator, caller):
    if not hasattr(estimator, "_fit_factors"):
        raise TypeError(
            f"{caller} records skfactor fits; it was set on "
            f"{type(estimator).__name__}. Set it on the skfactor estimator "
            "itself (inside a Pipeline or a search too), e.g. "
            "pipe[-1].set_callbacks(...)."
        )


def _relative_distance(fitted, truth, X):
    """``‖M − M*‖_F / ‖M*‖_F`` for the model ``M`` of ``fitted``.

    ``truth``: the matrix ``M*`` or its factors ``(L*, R*)``. For an imputer,
    the error of the imputed values on the entries missing from ``X``.
    A fit on a device is measured on the host copies of its model.
    """
    fitted, X = host_twin(fitted), to_host(X)
    if isinstance(truth, tuple):
        truth = tuple(to_host(F) for F in truth)
    else:
        truth = to_host(truth)
    if not hasattr(fitted, "_model_factors"):  # the imputer
        X = np.asarray(X, dtype=np.float64)
        rows, cols = np.nonzero(np.isnan(X))
        if not rows.size:
            return 0.0
        true = np.asarray(truth, dtype=np.float64)[rows, cols]
        guess = fitted._entries(rows, cols, X)
        return float(np.linalg.norm(guess - true) / np.linalg.norm(true))
    L, R = (
        None if F is None else np.asarray(F, dtype=np.float64)
        for F in fitted._model_factors()
    )
    if isinstance(truth, tuple) and R is not None:
        # M − M* = [L, −L*] [R, R*]ᵀ: the norm from the two small triangular
        # factors of QRs, no n1×n2 matrix and no cancellation of squares
        Ls, Rs = (np.asarray(F, dtype=np.float64) for F in truth)

        def norm(left, right):
            return np.linalg.norm(
                np.linalg.qr(left, mode="r") @ np.linalg.qr(right, mode="r").T
            )

        return float(norm(np.hstack([L, -Ls]), np.hstack([R, Rs])) / norm(Ls, Rs))
    if isinstance(truth, tuple):
        truth = np.asarray(truth[0], dtype=np.float64) @ np.asarray(truth[1]).T
    M_true = np.asarray(truth, dtype=np.float64)
    model = L if R is None else L @ R.T
    if model.size != M_true.size:
        raise ValueError(
            f"Recorder: truth has shape {M_true.shape}, but the model of "
            f"{type(fitted).__name__} has shape {model.shape}."
        )
    model = model.reshape(M_true.shape)
    return float(np.linalg.norm(model - M_true) / np.linalg.norm(M_true))


class RecorderHistory(dict):
    """One fit's record: a dict of arrays, one entry per recorded iteration.

    Keys: ``"iteration"`` (0 is the start), one per quantity, and
    ``"iterates"``, a dict ``{iteration: list of factors}`` (user units, as
    the estimator's factors) for the iterations kept.

    Attributes
    ----------
    estimator_name : str
    """

    def __init__(self, estimator_name, columns):
        super().__init__({name: [] for name in columns})
        self["iterates"] = {}
        self.estimator_name = estimator_name

    def _finish(self):
        for key, values in self.items():
            if key != "iterates":
                self[key] = np.asarray(
                    values, dtype=np.float64 if key != "iteration" else np.int64
                )
        return self

    def __repr__(self):
        n = len(self["iteration"])
        quantities = [key for key in self if key not in ("iteration", "iterates")]
        return (
            f"RecorderHistory({self.estimator_name}: {n} iterations of "
            f"{', '.join(quantities)}; {len(self['iterates'])} iterates kept)"
        )


class Recorder:
    r"""Record chosen quantities at every iteration of a skfactor fit.

    Set it with ``estimator.set_callbacks(Recorder(...))``; after ``fit``,
    :attr:`history_` holds the last fit's record (:attr:`histories_` every
    fit's, e.g. those of a search). Each quantity costs one float per
    recorded iteration; factors are kept only at the iterations
    ``keep_iterates`` selects.

    The loss, time, relative error, learning rate and factors are read from
    the iterate the skfactor fit reports, at no cost beyond the bridge to
    :mod:`sklearn.callback`. A callable or ``"distance"`` needs the iterate's
    fitted estimator (for :class:`~skfactor.FactorizationNAG`, the SVD form
    of its factors), built only at the iterations recorded (see ``every``).

    Parameters
    ----------
    quantities : list of str, or dict, default=("loss", "time")
        Names among ``"loss"`` (user units), ``"time"`` (seconds of solver
        work, callbacks excluded), ``"relative_error"``
        (:math:`\sqrt{f / f_0}`, :math:`f` the loss and :math:`f_0` the zero
        model's loss), ``"learning_rate"`` and ``"distance"`` (to ``truth``).
        A dict maps names to these or to callables
        ``f(fitted_estimator) -> float``: any function of the iterate, which
        ``fitted_estimator`` is as a fit stopped there.
    truth : ndarray or tuple of two ndarrays, default=None
        The planted model for ``"distance"``:
        :math:`\lVert M - M^\star \rVert_F / \lVert M^\star \rVert_F`. The
        matrix :math:`M^\star` (the data's shape for
        :class:`~skfactor.FactorizationNAG`, ``shape_`` for
        :class:`~skfactor.MatrixSensingPrecGD`, the coefficients
        ``(n_outputs, n_features)`` for
        :class:`~skfactor.LinearNetRegressor`) or its factors
        :math:`(L^\star, R^\star)` with :math:`M^\star = L^\star R^{\star\top}`
        (then no matrix of the data's size is formed).
        For :class:`~skfactor.LowRankImputer`, the complete data: the
        distance is the imputed entries' relative error.
    keep_iterates : "none", "all", list of int or callable, default="none"
        The iterations whose factors are kept in ``history_["iterates"]``
        (``callable(k) -> bool`` to choose; 0 is the start).
    every : int, default=1
        Record every ``every``-th iteration (and always the start).

    Attributes
    ----------
    history_ : RecorderHistory
        The most recent fit's record.
    histories_ : list of RecorderHistory
        Every fit's, oldest first.

    Notes
    -----
    The last entry of a record is always the fitted model: when a callback
    such as :class:`EarlyStopping` restores an earlier iterate, that iterate
    comes last, after the later ones that were recorded (its ``iteration``
    is smaller). A fit that raises (a :class:`~skfactor.exceptions.DivergenceError`)
    leaves no record; the error carries the best factors and the loss curve.

    Examples
    --------
    >>> from skfactor import FactorizationNAG
    >>> from skfactor.callbacks import Recorder
    >>> from skfactor.datasets import make_low_rank_matrix
    >>> A, U, s, V = make_low_rank_matrix(60, 40, 3, 5, random_state=0)
    >>> recorder = Recorder(["loss", "distance"], truth=(U * s, V))
    >>> model = FactorizationNAG(3, random_state=0).set_callbacks(recorder).fit(A)
    >>> history = recorder.history_
    >>> len(history["iteration"]) == model.n_iter_ + 1
    True
    >>> bool(history["distance"][-1] < 1e-3)
    True
    """

    @validate_params(
        {
            "quantities": [list, tuple, dict],
            "truth": [np.ndarray, tuple, None],
            "keep_iterates": [StrOptions({"none", "all"}), list, tuple, callable],
            "every": [Interval(numbers.Integral, 1, None, closed="left")],
        },
        prefer_skip_nested_validation=True,
    )
    def __init__(
        self, quantities=("loss", "time"), *, truth=None, keep_iterates="none", every=1
    ):
        if isinstance(quantities, dict):
            named = dict(quantities)
        else:
            named = {name: name for name in quantities}
        for name, how in named.items():
            if not callable(how) and how not in BUILTIN_QUANTITIES:
                raise ValueError(
                    f"Recorder: unknown quantity {how!r} for {name!r}; use one of "
                    f"{', '.join(map(repr, BUILTIN_QUANTITIES))} or a callable "
                    "f(fitted_estimator) -> float."
                )
            if how == "distance" and truth is None:
                raise ValueError(
                    "Recorder: the quantity 'distance' needs truth= (the planted "
                    "model, or its factors (L, R))."
                )
        if isinstance(truth, tuple) and len(truth) != 2:
            raise ValueError(
                "Recorder: truth as factors is a pair (L, R) with M = L Rᵀ; got a "
                f"tuple of {len(truth)}."
            )
        self.quantities = quantities
        self.truth = truth
        self.keep_iterates = keep_iterates
        self.every = every
        self._named = named
        self._runs = {}
        self.histories_ = []

    @property
    def history_(self):
        """The most recent fit's record."""
        if not self.histories_:
            raise AttributeError(
                "Recorder has no record yet: fit an estimator it is set on."
            )
        return self.histories_[-1]

    # -- the callback protocol --------------------------------------------------
    def setup(self, estimator, context):
        _check_skfactor(estimator, "Recorder")

    def teardown(self, estimator, context):
        pass

    # The hooks ask for no ``fitted_estimator`` (scikit-learn would build one
    # at every iteration): they read the iterate the skfactor fit attaches to
    # each iteration task (``IterationState``), and build its fitted
    # estimator only for a recorded iteration whose quantities need it.
    def on_fit_task_begin(self, estimator, context, *, X=None):
        if _is_fit_root(context):
            self._runs[context] = RecorderHistory(
                context.estimator_name, ["iteration", *self._named]
            )
        elif _is_iteration(context) and context.task_id == 0:
            # the start: iteration 1 begins with it
            self._record(context.parent, _state(context), X)

    def on_fit_task_end(self, estimator, context, *, X=None):
        if _is_iteration(context):
            if (context.task_id + 1) % self.every == 0:
                self._record(context.parent, _state(context), X)
        elif _is_fit_root(context) and context in self._runs:
            history = self._runs.pop(context)
            # the last iteration, whatever ``every``: the fitted estimator
            # itself (the model a callback restored, if one did)
            k = estimator.n_iter_
            if not len(history["iteration"]) or history["iteration"][-1] != k:
                self._record(None, IterationState.of_fitted(estimator), X, history)
            self.histories_.append(history._finish())
        return False

    # -- recording --------------------------------------------------------------
    def _keeps(self, k):
        keep = self.keep_iterates
        if isinstance(keep, str):
            return keep == "all"
        if callable(keep):
            return bool(keep(k))
        return k in keep

    def _record(self, root, state, X, history=None):
        history = self._runs.get(root) if history is None else history
        if history is None or state is None:
            return
        k = state.k
        history["iteration"].append(k)
        for name, how in self._named.items():
            history[name].append(self._value(how, state, X))
        if self._keeps(k):
            history["iterates"][k] = [copy_array(F) for F in state.factors]

    def _value(self, how, state, X):
        """``how`` at the iterate ``state``: only a callable and
        ``"distance"`` build its fitted estimator (once per iterate)."""
        if callable(how):
            return float(how(state.fitted_estimator()))
        if how == "loss":
            return float(state.loss)
        if how == "time":
            return float(state.time)
        if how == "relative_error":
            ref = state.reference_loss
            return math.sqrt(state.loss / ref) if ref > 0 else 0.0
        if how == "learning_rate":
            return float(state.learning_rate)
        return _relative_distance(state.fitted_estimator(), self.truth, X)


class EarlyStopping:
    """Stop a skfactor fit once a held-out score stops improving, and end it
    on the best iterate.

    After every iteration the iterate is scored on held-out data (``X_val``,
    ``y_val``) or on held-out entries of the training matrix (``entries``).
    When ``patience`` iterations in a row brought no improvement, the fit
    stops (``stop_reason_ == "callback"``) and, with ``restore_best``, ends
    with the model of the best iterate: its fitted attributes are those of a
    fit stopped there (``n_iter_`` is the best iteration).

    Parameters
    ----------
    X_val : array-like, default=None
        Held-out samples, scored with ``scoring`` (for the unsupervised
        :class:`~skfactor.FactorizationNAG`, held-out rows of the matrix).
    y_val : array-like, default=None
        Their targets (supervised estimators).
    entries : tuple (rows, cols, values), default=None
        Held-out entries of the training matrix, NaN in the ``X`` fitted
        (:class:`~skfactor.FactorizationNAG` on data with NaN,
        :class:`~skfactor.LowRankImputer`): the score is minus the root mean
        squared error of the model at them.
    scoring : str or callable, default=None
        For ``X_val``: a scikit-learn scorer name or callable (higher is
        better); None uses the estimator's ``score``.
    patience : int, default=10
        Iterations without improvement before stopping.
    tol : float, default=0.0
        An improvement beats the best score by more than ``tol`` times the
        best score's absolute value.
    restore_best : bool, default=True
        End the fit on the best iterate (otherwise on the last one).

    Attributes
    ----------
    scores_ : ndarray
        The score of every iteration of the last fit (index 0 is iteration 1).
    best_iteration_ : int
        The last fit's best iteration.
    best_score_ : float
    stopped_ : bool
        Whether it stopped the last fit.

    Examples
    --------
    >>> import numpy as np
    >>> from skfactor import LinearNetRegressor
    >>> from skfactor.callbacks import EarlyStopping
    >>> rng = np.random.RandomState(0)
    >>> X = rng.standard_normal((200, 30))
    >>> y = X[:, :3] @ rng.standard_normal(3) + rng.standard_normal(200)
    >>> stop = EarlyStopping(X[150:], y[150:], patience=5)
    >>> net = LinearNetRegressor((4,), max_iter=500, random_state=0)
    >>> net = net.set_callbacks(stop).fit(X[:150], y[:150])
    >>> net.n_iter_ == stop.best_iteration_
    True
    """

    @validate_params(
        {
            "X_val": ["array-like", "sparse matrix", None],
            "y_val": ["array-like", None],
            "entries": [tuple, None],
            "scoring": [str, callable, None],
            "patience": [Interval(numbers.Integral, 1, None, closed="left")],
            "tol": [Interval(numbers.Real, 0, None, closed="left")],
            "restore_best": ["boolean"],
        },
        prefer_skip_nested_validation=True,
    )
    def __init__(
        self,
        X_val=None,
        y_val=None,
        *,
        entries=None,
        scoring=None,
        patience=10,
        tol=0.0,
        restore_best=True,
    ):
        if (X_val is None) == (entries is None):
            raise ValueError(
                "EarlyStopping needs held-out data: pass X_val (and y_val for a "
                "supervised estimator) or entries=(rows, cols, values), not both."
            )
        if entries is not None:
            if len(entries) != 3:
                raise ValueError(
                    "EarlyStopping: entries is (rows, cols, values), three arrays "
                    f"of the same length; got a tuple of {len(entries)}."
                )
            rows, cols, values = (np.asarray(to_host(a)).ravel() for a in entries)
            if not (rows.size == cols.size == values.size) or not rows.size:
                raise ValueError(
                    "EarlyStopping: entries' rows, cols and values must be "
                    "non-empty and of the same length; got "
                    f"{rows.size}, {cols.size} and {values.size}."
                )
            if not np.isfinite(values.astype(np.float64)).all():
                raise ValueError("EarlyStopping: entries' values must be finite.")
            entries = (rows.astype(np.intp), cols.astype(np.intp), values)
        self.X_val, self.y_val, self.entries = X_val, y_val, entries
        self.scoring, self.patience, self.tol = scoring, patience, tol
        self.restore_best = restore_best
        self._runs = {}

    def setup(self, estimator, context):
        _check_skfactor(estimator, "EarlyStopping")
        if self.entries is not None and not hasattr(estimator, "_entries"):
            raise TypeError(
                f"EarlyStopping(entries=...) scores entries of the fitted matrix, "
                f"which {type(estimator).__name__} does not model; use X_val, "
                "y_val."
            )

    def teardown(self, estimator, context):
        pass

    def on_fit_task_begin(self, estimator, context):
        if _is_fit_root(context):
            self._runs[context] = {
                "scores": [],
                "best": -np.inf,
                "best_k": 0,
                "best_estimator": None,
                "stopped": False,
            }

    def _score(self, fitted, X):
        if self.entries is not None:
            # the model's entries from its host copies (a fit on a device)
            fitted, X = host_twin(fitted), to_host(X)
            rows, cols, values = (np.asarray(to_host(a)) for a in self.entries)
            shape = np.shape(X)
            if (
                rows.max() >= shape[0]
                or cols.max() >= shape[1]
                or min(rows.min(), cols.min()) < 0
            ):
                raise ValueError(
                    f"EarlyStopping: entries index a {shape[0]}×{shape[1]} "
                    "matrix out of its bounds."
                )
            guess = fitted._entries(rows, cols, X)
            return -float(np.sqrt(np.mean((guess - values) ** 2)))
        from sklearn.metrics import check_scoring

        scorer = check_scoring(fitted, self.scoring)
        return float(scorer(fitted, self.X_val, self.y_val))

    def on_fit_task_end(self, estimator, context, *, X=None, fitted_estimator=None):
        if _is_fit_root(context):
            run = self._runs.pop(context, None)
            if run is not None:
                self.scores_ = np.asarray(run["scores"], dtype=np.float64)
                self.best_iteration_ = run["best_k"]
                self.best_score_ = run["best"]
                self.stopped_ = run["stopped"]
            return False
        run = self._runs.get(context.parent)
        if not _is_iteration(context) or run is None or fitted_estimator is None:
            return False
        k = context.task_id + 1
        score = self._score(fitted_estimator, X)
        run["scores"].append(score)
        if not math.isfinite(run["best"]) or score > run["best"] + self.tol * abs(
            run["best"]
        ):
            run["best"], run["best_k"] = score, k
            run["best_estimator"] = fitted_estimator if self.restore_best else None
        elif k - run["best_k"] >= self.patience:
            run["stopped"] = True
            return True
        return False

    def restored_estimator(self, estimator, context):
        """The best iterate's fitted estimator after this callback stopped
        the fit (``restore_best``), else None."""
        run = self._runs.get(context)
        if run is None or not run["stopped"] or not self.restore_best:
            return None
        return run["best_estimator"]
