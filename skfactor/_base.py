"""What the estimators share: parameters, one fit path, one warm-start policy."""

import functools
import os
from numbers import Integral, Real

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import (
    Interval,
    InvalidParameterError,
    StrOptions,
)

from ._array_api import method_in_space
from ._callbacks import CallbackSupportMixin, FitMonitor
from ._dask import gathered_state
from ._doc_link import DocLinkMixin
from ._initializers import check_custom_init, check_start
from ._linalg import max_abs
from ._optimizers import OPTIMIZERS, check_objective, make_optimizer, supports
from ._solver import minimize
from ._step_size import (
    auto_learning_rate,
    natural_learning_rate,
    paper_momentum,
    resolve_damping,
    restart_after_first_step,
    start_learning_rate,
)


def restores_on_failure(fit):
    """Make ``fit`` all or nothing: if it raises — a bad input, a divergence,
    a ``KeyboardInterrupt`` — the estimator is left exactly as it was before
    the call (the attributes ``validate_data`` sets first included)."""

    @functools.wraps(fit)
    def wrapper(self, *args, **kwargs):
        saved = dict(self.__dict__)
        try:
            return fit(self, *args, **kwargs)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(saved)
            raise

    return wrapper


def check_sample_weight(sample_weight, X):
    """Validated weights, normalised to a largest weight of 1, and the rows
    they keep (zero weights drop their samples), or ``(None, None)``.

    The regressors' losses are normalised by ``Σw``, so dividing the weights
    by a constant changes nothing but keeps ``√w`` and ``Σw`` in range.
    """
    from sklearn.utils.validation import _check_sample_weight

    if sample_weight is None:
        return None, None
    w = _check_sample_weight(
        sample_weight, X, dtype=np.float64, ensure_non_negative=True
    )
    top = float(w.max(initial=0.0))
    if not top > 0:
        raise ValueError(
            "sample_weight sums to zero: at least one sample needs a positive weight."
        )
    keep = w > 0
    low = float(w[keep].min())
    if low < np.finfo(np.float64).eps * top:
        raise ValueError(
            f"sample_weight spans {top / low:.1e}: beyond 1/eps of float64, the "
            "lightest samples add nothing to the loss next to the heaviest (their "
            "sums round them away). Clip the weights to a range of at most 1e15, "
            "or drop the samples that should not count (weight 0)."
        )
    return w[keep] / top, (None if keep.all() else np.flatnonzero(keep))


def _memory_bytes():
    """Physical memory of this machine (inf where unknown)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, OSError, ValueError):  # not a POSIX system
        return np.inf


def _gram_representable(F):
    """Whether ``FᵀF`` can be formed without overflow (with a margin)."""
    if not F.size:
        return True
    top = max_abs(F)
    limit = np.sqrt(float(np.finfo(F.dtype).max) / (16 * max(F.shape)))
    return bool(top <= limit)


def _either(*callbacks):
    """One solver callback from several (None ones dropped): each sees every
    iterate, and any of them can stop the fit."""
    callbacks = [c for c in callbacks if c is not None]
    if len(callbacks) <= 1:
        return callbacks[0] if callbacks else None

    def callback(iterate):
        stops = [c(iterate) for c in callbacks]
        return any(stops)

    return callback


class Float64ScoreMixin:
    """``score`` as R² computed in float64 (for the regressors): the squares
    of float32 targets far from 1 overflow in their own dtype."""

    @method_in_space()
    def score(self, X, y, sample_weight=None):
        """R² of ``predict(X)`` against ``y``, computed in float64.

        Parameters
        ----------
        X : {array-like, sparse matrix}
            Samples, as for ``predict``.
        y : array-like
            True targets.
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        score : float
        """
        from sklearn.metrics import r2_score

        y_pred = np.asarray(self.predict(X), dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        return r2_score(y, y_pred, sample_weight=sample_weight)


class FirstOrderEstimatorMixin(DocLinkMixin, CallbackSupportMixin):
    """Parameters and the fit path shared by the skfactor estimators.

    With scikit-learn ≥ 1.9 it adds ``set_callbacks`` (``sklearn.callback``);
    every fit reports its iterations to the callbacks (see
    :mod:`skfactor._callbacks`).

    An estimator validates its data, builds its objective and data unit
    (:class:`~skfactor._units.DataUnit`), calls :meth:`_fit_factors` and
    publishes everything at once with its ``_set_fitted``, so that a fit
    that raises leaves the estimator as it was.

    **Warm start**: an estimator's ``fit`` passes the previous fit's factors
    as ``warm`` when it continues from them; ``learning_rate="auto"`` then
    keeps the previous step (``learning_rate_``) when the optimizer and the
    data's scale are the same, and runs the automatic rule again otherwise.
    """

    def __getstate__(self):
        # attributes of a fit on dask arrays (the row factor, the embedding)
        # are gathered: a pickle does not depend on the cluster that made it
        return gathered_state(super().__getstate__())

    _shared_parameter_constraints: dict = {
        "optimizer": [StrOptions(set(OPTIMIZERS))],
        "learning_rate": [
            Interval(Real, 0, None, closed="neither"),
            StrOptions({"auto"}),
        ],
        "momentum": [
            Interval(Real, 0, 1, closed="left"),
            StrOptions({"auto", "paper"}),
        ],
        "damping": [Interval(Real, 0, None, closed="left"), StrOptions({"auto"})],
        "init_scale": [
            Interval(Real, 0, None, closed="neither"),
            StrOptions({"auto"}),
            tuple,
        ],
        "init_power_iter": [
            Interval(Integral, 0, None, closed="left"),
            StrOptions({"auto"}),
        ],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
    }

    #: The parameter that sets the factors' widths (for error messages).
    _width_parameter = "n_components"

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # arrays of any array API library in, of that library out (see
        # skfactor._array_api), with scikit-learn's array_api_dispatch on
        tags.array_api_support = True
        return tags

    def _validate_params(self):
        super()._validate_params()
        # scikit-learn's Interval(Integral) admits booleans (True == 1): an
        # integer parameter given True or False is almost surely a mistake
        for name, constraints in self._parameter_constraints.items():
            value = getattr(self, name, None)
            numeric = [c for c in constraints if isinstance(c, Interval)]
            takes_bool = any(c == "boolean" or c is bool for c in constraints)
            if numeric and not takes_bool and isinstance(value, (bool, np.bool_)):
                kind = (
                    "an int" if any(c.type is Integral for c in numeric) else "a float"
                )
                raise InvalidParameterError(
                    f"The {name!r} parameter of {type(self).__name__} must be "
                    f"{kind}, not a bool; got {value!r}."
                )

    def _check_widths(self, shapes, dtype):
        """Refuse factors that cannot be held in memory, before allocating."""
        elements = sum(rows * cols for rows, cols in shapes)
        # the optimizers hold about eight factor-sized arrays (the iterate,
        # the previous one, the look-ahead, the gradients, the best point)
        needed = 8 * elements * np.dtype(dtype).itemsize
        available = _memory_bytes()
        if needed > available:
            raise ValueError(
                f"{type(self).__name__}: factors of shapes "
                f"{', '.join(map(str, shapes))} need about {needed / 2**30:.3g} GiB "
                f"of memory, more than this machine's {available / 2**30:.3g} GiB. "
                f"Lower {self._width_parameter}."
            )

    def _paper_momentum(self, objective, point, warm):
        """``momentum="paper"``: the NAG paper's constant β from the frozen
        problem at the start (a warm refit keeps the first fit's β)."""
        if warm is not None and getattr(self, "_fit_momentum", None) == "paper":
            previous = getattr(self, "momentum_", None)
            if isinstance(previous, float):
                return previous
        if objective.layout == "symmetric":
            raise ValueError(
                f"{type(self).__name__}: momentum='paper' takes β from the "
                "least-squares problem in the last factor with the others frozen, "
                "and the symmetric model X Xᵀ has a single factor. Use a float "
                "momentum, or 'auto'."
            )
        beta = paper_momentum(objective, point)
        if beta is None and warm is not None:
            raise ValueError(
                f"{type(self).__name__}: momentum='paper' takes β from the start, "
                "whose last factor must be 0, but this warm refit continues from "
                "the previous fit's factors. Refit with warm_start=False, or keep "
                "the previous fit's momentum."
            )
        if beta is None:
            raise ValueError(
                f"{type(self).__name__}: momentum='paper' is the NAG paper's "
                "constant β = (√κ − 1)/(√κ + 1), with κ the conditioning of the "
                "least-squares problem in the last factor at a start whose last "
                "factor is 0. This start is not one: use init='unbalanced' (the "
                "paper's start), init factors whose last factor is 0, or a "
                "float momentum."
            )
        return beta

    def _advice(self, optimizer, objective):
        """What the ``ConvergenceWarning`` suggests for this fit."""
        if optimizer.step_unit == "scale_free":
            return ""
        others = [
            repr(name)
            for name, cls in OPTIMIZERS.items()
            if cls.step_unit == "scale_free" and supports(cls, objective)
        ]
        if not others:
            return ""
        return (
            "On data that is not exactly low rank the preconditioned optimizers "
            f"({', '.join(others)}) need far fewer iterations."
        )

    def _fit_factors(
        self,
        objective,
        shapes,
        unit,
        attributes,
        data,
        *,
        warm=None,
        init=None,
        stop_test=None,
        callbacks=True,
    ):
        """Start, resolve the step size, run the solver, publish the model.

        The one fit path: the callbacks' root task spans it (see
        :mod:`skfactor._callbacks`), and the attributes published at the end
        are those the callbacks see at every iteration.

        Parameters
        ----------
        objective : Objective
        shapes : list of tuple
            The factors' shapes, in the objective's storage order.
        unit : DataUnit
            The fit's data unit: explicit and warm factors, steps and
            dampings are converted with it, and so is everything reported.
        attributes : callable
            ``attributes(factors, fitted)``: the estimator's ``_set_fitted``
            with ``publish=False``, the attributes of the model of
            ``factors`` (user units) with the solver's ``fitted`` (see below).
        data : dict
            What the callbacks' hooks receive: the validated ``X``, ``y``
            (None when unsupervised) and ``metadata`` (``sample_weight``).
        warm : list of ndarray, optional
            Factors to continue from, in the user's units; they win over
            ``init``.
        init : str or list of ndarray, optional
            Overrides ``self.init`` (explicit factors in storage order).
        stop_test : callable, optional
            ``stop_test(iterate) -> bool`` on every iterate that stood (the
            solver's callback protocol, :class:`~skfactor._solver.Iterate`,
            user units): a true value ends the fit there (``stop_reason_``
            ``"callback"``). For functions built on an estimator that stop
            on their own criterion (:func:`skfactor.eigsh`). A stop test
            that also has ``best()``, returning None or ``(k, factors)`` (an
            earlier iterate, user units), ends the fit with that iterate's
            model and ``n_iter_ = k``, whatever stopped the solver; its
            ``stop_reason`` attribute (default ``"callback"``) is then the
            fit's ``stop_reason_`` (early stopping on held-out data). Its
            ``begin(factors, loss)``, if any, receives the start (user units).
        callbacks : bool, default=True
            Report to the estimator's callbacks. False for the internal fits
            of a model selection (their callbacks see the final fit only).

        Returns
        -------
        self : estimator
            Fitted: ``attributes(factors, fitted)`` published, with
            ``fitted`` the solver's attributes (``n_iter_``, ``loss_curve_``,
            …) in the user's units.
        """
        self._check_widths(shapes, objective.dtype)
        monitor = FitMonitor.start(self, self.max_iter, data) if callbacks else None
        random_state = check_random_state(self.random_state)
        optimizer = make_optimizer(self.optimizer, 1.0, momentum=self.momentum)
        check_objective(optimizer, objective)
        init = self.init if init is None else init
        if warm is not None:
            # None when the data's scale is unknown (all zero): a fresh start
            warm = self._rescaled_warm(warm, unit)
        start = None
        if warm is None and isinstance(init, str):
            start = check_start(init, objective)
        step_unit = optimizer.step_unit
        auto = self.learning_rate == "auto"
        user_lr = None if auto else unit.step_to_internal(self.learning_rate, step_unit)
        if not auto:
            natural = natural_learning_rate(optimizer, objective)
            if natural and user_lr < float(np.finfo(objective.dtype).eps) * natural:
                raise ValueError(
                    f"{type(self).__name__}: learning_rate={self.learning_rate:g} "
                    f"is {user_lr / natural:.1e} times the step this data's "
                    "curvature calls for: steps that small leave the factors "
                    f"unchanged in {np.dtype(objective.dtype).name}. Use a larger "
                    "learning_rate, or 'auto'."
                )
        damping = self.damping
        if damping != "auto":
            damping = unit.damping_to_internal(float(damping))
        optimizer.damping = damping = resolve_damping(optimizer, objective, damping)
        start_step = start_learning_rate(start, objective, user_lr)
        if warm is not None:
            factors = unit.factors_to_internal(warm)
        elif start is None:
            factors = check_custom_init(init, shapes, objective.dtype)
            factors = unit.factors_to_internal(factors)
        else:
            factors = start(
                objective,
                objective.start_shapes(shapes),
                scale=self.init_scale,
                power_iter=self.init_power_iter,
                random_state=random_state,
                learning_rate=start_step,
            )
            factors = objective.complete_start(factors)
        host_factors = [objective.host(F) for F in factors]
        factors = objective.adopt(factors)  # to the data's device, if elsewhere
        point = objective.point(factors)
        with np.errstate(over="ignore", invalid="ignore"):
            start_loss = objective.value(point)
        if np.isfinite(start_loss) and not all(map(_gram_representable, host_factors)):
            start_loss = np.inf  # a zero last factor hides huge others
        if (
            objective.reference_loss > 0
            and not any(np.any(F) for F in host_factors)
            and not objective.zero_model_is_optimal(point)
        ):
            # every gradient of a product of factors vanishes there: no
            # optimizer can leave this saddle
            raise ValueError(
                f"{type(self).__name__}: every starting factor is zero, a saddle "
                "point no gradient method can leave. Pass init factors that are "
                "not all zero, or a named start."
            )
        if not np.isfinite(start_loss):
            fix = (
                f"an init_scale closer to the start's default ({start.default_scale!r})"
                if start is not None
                else "smaller starting factors (init)"
            )
            raise ValueError(
                f"{type(self).__name__}: the starting factors are too large for "
                f"{np.dtype(objective.dtype).name} (their loss or their squares "
                "overflow). "
                f"Use {fix}."
            )
        momentum = self.momentum
        if momentum == "paper" and optimizer.has_momentum:
            momentum = self._paper_momentum(objective, point, warm)
        optimizer.momentum = momentum
        # a warm refit on data of the same scale continues the first fit:
        # its progress (for the plateau rule) and, same optimizer, its step
        same_scale = warm is not None and self._same_scale(objective, unit)
        initial_loss = None
        if same_scale and len(self.loss_curve_):
            initial_loss = unit.loss_to_internal(float(self.loss_curve_[0]))
        if not auto:
            learning_rate = user_lr
        elif same_scale and getattr(self, "_fit_optimizer", None) == self.optimizer:
            learning_rate = unit.step_to_internal(self.learning_rate_, step_unit)
        else:
            learning_rate = auto_learning_rate(
                optimizer, start, objective, point, start_step
            )
        reported = unit.step_to_user(learning_rate, step_unit)
        if not 0 < reported < np.inf:
            raise ValueError(
                f"{type(self).__name__}: the step size in your data's units "
                f"({reported:g}) cannot be represented in float64: the data's "
                "curvature (the squares of the design or X) is beyond its range. "
                "Rescale the design."
            )
        optimizer.learning_rate = learning_rate
        reference = unit.loss_to_user(objective.reference_loss)
        start_loss_user = unit.loss_to_user(start_loss)
        user_damping = damping if damping == "auto" else unit.damping_to_user(damping)
        begin = getattr(stop_test, "begin", None)
        if callable(begin):  # a stop test that scores the start too
            begin(unit.factors_to_user(point.factors), start_loss_user)

        def solver_attributes(
            n_iter, loss_curve, time_curve, learning_rate, converged, stop_reason
        ):
            """The solver's part of the fitted attributes (user units), for
            the fit's end and for the callbacks' iterates alike."""
            return {
                "learning_rate_": learning_rate,
                "damping_": user_damping,
                "momentum_": momentum if optimizer.has_momentum else None,
                "n_iter_": n_iter,
                "loss_curve_": loss_curve,
                "time_curve_": time_curve,
                "reference_loss_": reference,
                "converged_": converged,
                "stop_reason_": stop_reason,
                "_fit_optimizer": self.optimizer,
                "_fit_momentum": self.momentum,
                "_log_model_scale": unit.log_model_scale,
                "_start_loss": start_loss_user,
            }

        listening = monitor is not None and monitor.active
        if listening:
            monitor.prepare(
                attributes,
                solver_attributes,
                start=(point.factors, start_loss_user, reported, unit),
            )
        result = minimize(
            objective,
            point.factors,
            optimizer,
            max_iter=self.max_iter,
            tol=self.tol,
            verbose=self.verbose,
            name=type(self).__name__,
            learning_rate_was_auto=auto,
            unit=unit,
            advice=self._advice(optimizer, objective),
            initial_loss=initial_loss,
            restart_after_first=restart_after_first_step(
                optimizer, start, objective, auto
            ),
            callback=_either(monitor if listening else None, stop_test),
            # a stop test alone names its reason (early stopping)
            callback_reason=(
                getattr(stop_test, "stop_reason", "callback")
                if stop_test is not None and not listening
                else "callback"
            ),
        )
        fitted = solver_attributes(
            n_iter=result.n_iter,
            loss_curve=result.loss_curve,
            time_curve=result.time_curve,
            # the solver may have halved an automatic step (backtracking)
            learning_rate=unit.step_to_user(result.learning_rate, step_unit),
            converged=result.converged,
            stop_reason=result.stop_reason,
        )
        published = attributes(result.factors, fitted)
        best = getattr(stop_test, "best", None)
        best = best() if callable(best) else None
        if best is not None and best[0] < result.n_iter:
            # the stop test kept an earlier iterate (early stopping on
            # held-out data): the fit ends with it, as if stopped there
            k, factors = best
            fitted = solver_attributes(
                n_iter=k,
                loss_curve=result.loss_curve[:k],
                time_curve=result.time_curve[:k],
                learning_rate=fitted["learning_rate_"],
                converged=False,
                stop_reason=getattr(stop_test, "stop_reason", "callback"),
            )
            published = attributes(factors, fitted)
        elif best is not None and result.stop_reason == "callback":
            published["stop_reason_"] = getattr(stop_test, "stop_reason", "callback")
        restored = None
        if listening and result.stop_reason == "callback":
            restored = monitor.restored()
        if restored is not None:
            # the model of the earlier iterate a callback kept (its best)
            published = {key: getattr(restored, key) for key in published}
            published["stop_reason_"] = "callback"
            published["converged_"] = False
        self._publish(published)
        if monitor is not None:
            monitor.end()
        return self

    def _rescaled_warm(self, warm, unit):
        """Warm factors (user units) for data of the previous fit's scale.

        When the data's model scale (``DataUnit.log_model_scale``: the largest
        response entry over the largest design entry) moved by more than a
        factor of 2, the factors are rescaled with it, each by its
        ``degree``-th root, so that a warm refit of ``c·A`` continues from the
        scaled model instead of one ``1/c`` off. None (a fresh start) when
        either scale is unknown or zero.
        """
        before = getattr(self, "_log_model_scale", None)
        now = unit.log_model_scale
        if (
            before is None
            or now is None
            or not (np.isfinite(before) and np.isfinite(now))
        ):
            return None
        shift = now - before
        if abs(shift) <= np.log(2.0):
            return warm
        c = np.exp(shift / unit.degree)
        return [
            F * (np.asarray(c, dtype=F.dtype) if isinstance(F, np.ndarray) else c)
            for F in warm
        ]

    def _same_scale(self, objective, unit):
        """Whether the data of a warm refit have the scale of the last fit's
        (zero models' losses within a factor of 2)."""
        before = getattr(self, "reference_loss_", None)
        now = unit.loss_to_user(objective.reference_loss)
        if before is None or not (before > 0 and now > 0):
            return before == now
        return 0.5 <= now / before <= 2.0

    def _publish(self, attributes, publish=True):
        """Set fitted attributes all at once (after everything is computed),
        and remove those of the previous fit that this one does not set
        (another model's, e.g. ``factor_`` after a symmetric fit). With
        ``publish=False``, return ``attributes`` instead (the callbacks'
        reconstruction of an iterate)."""
        if not publish:
            return attributes
        for key in getattr(self, "_published", ()):
            if key not in attributes:
                self.__dict__.pop(key, None)
        for key, value in attributes.items():
            setattr(self, key, value)
        self._published = tuple(attributes)
        return self
