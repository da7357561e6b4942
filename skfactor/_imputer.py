"""LowRankImputer: fill missing entries from a low-rank model of the data."""

import math
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context, clone
from sklearn.impute import MissingIndicator
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from ._array_api import Space, fits_in_space, method_in_space, to_host
from ._base import FirstOrderEstimatorMixin, restores_on_failure
from ._factorization import FactorizationNAG
from ._initializers import starts_for
from ._linalg import column_variance_sum, numpy_dtype, residual_sq_norm
from ._units import DataUnit

_SHARED = FirstOrderEstimatorMixin._shared_parameter_constraints


def _is_nan_marker(value):
    """NaN of any float type (``np.nan``, ``np.float32("nan")``, …)."""
    return (
        isinstance(value, Real)
        and not isinstance(value, Integral)
        and math.isnan(value)
    )


class LowRankImputer(TransformerMixin, FirstOrderEstimatorMixin, BaseEstimator):
    r"""Impute missing entries from a low-rank factorization of the data.

    The model is :math:`\mu + X Y^\top`, with column offsets :math:`\mu` and a
    rank-:math:`d` factorization (:math:`d` = ``n_components``), fitted by
    minimizing the squared error over the **observed entries only** with the
    optimizers and starts of :class:`FactorizationNAG`. The offsets are
    eliminated in closed form at every iterate (the best offsets for the
    current :math:`X Y^\top`: the observed column means of the residual), so
    the fit is one run of the solver over :math:`X` and :math:`Y` alone, with
    one ``n_iter_``, one ``converged_`` and at most one
    ``ConvergenceWarning``.

    ``transform`` fits each row's coefficients on the components by (ridge)
    least squares over its observed entries, and fills the missing entries with
    :math:`\mu + z Y^\top`, :math:`z` the row's coefficients. Observed entries
    are returned unchanged. A row with no observed entry gets :math:`\mu`.

    Centring by the observed means alone would add one weak direction to the
    rank that the data need: the error of those means. Fitting the offsets
    with the factors removes it, so exactly rank-:math:`r` data plus offsets
    are reproduced at :math:`d = r`. A larger rank has spare directions
    that can change missing entries without changing the fit to the observed
    ones; the default ridge penalty (``alpha``) shrinks them, so a generous
    ``n_components`` is safe.

    Parameters
    ----------
    n_components : int, default=2
        Rank of the model. Choose it by cross-validation, e.g. a
        ``GridSearchCV`` over a pipeline that ends in a predictor.

    alpha : float >= 0, default=0.05
        Ridge penalty on the factors relative to the data's top singular value,
        as in :class:`FactorizationNAG`. It is equivalent to a nuclear-norm
        penalty that shrinks every singular value by
        :math:`\mathtt{alpha}\, \sigma_1`. Without it (``alpha=0``), a rank
        close to the number of observed entries per row over-fits: the
        row-wise least squares of ``transform`` then has almost as many
        unknowns as observations.

    missing_values : float or int, default=np.nan
        The placeholder for missing entries. With a value other than NaN, NaN
        in the input is an error.

    optimizer : str, default="nag"
        As in :class:`FactorizationNAG` (``"apgd"`` is often fastest on noisy
        data).

    init : str, default="spectral"
        As in :class:`FactorizationNAG`. The spectral start, the top singular
        vectors of the zero-filled data rescaled by the observed fraction, needs
        far fewer iterations with missing entries than the unbalanced start.

    learning_rate, momentum, damping, init_scale, init_power_iter :
        Passed to :class:`FactorizationNAG`.

    max_iter, tol, random_state, verbose :
        Passed to :class:`FactorizationNAG`.

    add_indicator : bool, default=False
        Append :class:`~sklearn.impute.MissingIndicator` columns, one for each
        feature with missing entries in ``fit``. Missing entries in other
        features at ``transform`` are imputed without a column, as
        scikit-learn's imputers do (cross-validation folds differ).

    keep_empty_features : bool, default=False
        What to do with features that have no observed entry during ``fit``.
        By default they are dropped from the output, as scikit-learn's imputers
        do. With True they are kept and filled with 0.

    Attributes
    ----------
    factorization_ : FactorizationNAG
        The fitted model of the data centred by ``statistics_``, over the
        non-empty features.
    statistics_ : ndarray of shape (n_features,)
        The fitted column offsets :math:`\mu`; NaN for empty features.
    indicator_ : MissingIndicator or None
        The fitted indicator, when ``add_indicator=True``.
    n_iter_, loss_curve_, time_curve_, reference_loss_, converged_ :
        As in :class:`FactorizationNAG`. The loss is over the observed
        entries with the offsets at their best; ``reference_loss_`` is that of
        the offsets alone (the observed column means). Use them with
        :class:`~skfactor.plotting.ConvergenceDisplay`.
    stop_reason_, learning_rate_, damping_, momentum_ :
        As in :class:`FactorizationNAG`.
    n_features_in_, feature_names_in_ :
        Features seen during fit.

    See Also
    --------
    sklearn.impute.SimpleImputer : Column statistics.
    sklearn.impute.KNNImputer : Nearest neighbours.
    sklearn.impute.IterativeImputer : Round-robin regression.

    Examples
    --------
    >>> import numpy as np
    >>> from skfactor import LowRankImputer
    >>> from skfactor.datasets import make_low_rank_matrix
    >>> A, *_ = make_low_rank_matrix(100, 30, rank=3, condition_number=5,
    ...                              random_state=0)
    >>> rng = np.random.RandomState(0)
    >>> X = A.copy()
    >>> X[rng.rand(*A.shape) < 0.2] = np.nan
    >>> imputer = LowRankImputer(n_components=3, alpha=0.0, tol=1e-8,
    ...                          max_iter=2000, random_state=0)
    >>> filled = imputer.fit_transform(X)
    >>> bool(np.isnan(filled).any())
    False
    >>> missing = np.isnan(X)
    >>> bool(np.abs(filled[missing] - A[missing]).max() < 1e-4)
    True
    """

    _parameter_constraints: dict = {
        **{
            key: value
            for key, value in _SHARED.items()
            if key != "warm_start"  # every fit starts afresh
        },
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "missing_values": [Real],
        "init": [StrOptions(starts_for("pair")), tuple, list],
        "add_indicator": ["boolean"],
        "keep_empty_features": ["boolean"],
    }

    def __init__(
        self,
        n_components=2,
        *,
        alpha=0.05,
        missing_values=np.nan,
        optimizer="nag",
        init="spectral",
        learning_rate="auto",
        momentum="auto",
        damping="auto",
        init_scale="auto",
        init_power_iter="auto",
        max_iter=1000,
        tol=1e-4,
        random_state=None,
        verbose=0,
        add_indicator=False,
        keep_empty_features=False,
    ):
        self.n_components = n_components
        self.alpha = alpha
        self.missing_values = missing_values
        self.optimizer = optimizer
        self.init = init
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.damping = damping
        self.init_scale = init_scale
        self.init_power_iter = init_power_iter
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state
        self.verbose = verbose
        self.add_indicator = add_indicator
        self.keep_empty_features = keep_empty_features

    # -- input ------------------------------------------------------------------
    def _validate(self, X, reset):
        nan_marker = _is_nan_marker(self.missing_values)
        space = Space.of(X, type(self).__name__)
        xp = np if space is None else space.xp
        X = validate_data(
            self,
            X,
            dtype=[xp.float64, xp.float32],
            ensure_all_finite="allow-nan" if nan_marker else True,
            reset=reset,
            copy=not nan_marker,
        )
        if not nan_marker:
            if space is not None:
                nan = xp.asarray(float("nan"), dtype=X.dtype, device=X.device)
                return xp.where(X == self.missing_values, nan, X)
            X[X == self.missing_values] = np.nan
        return X

    def _device_fit_data(self, X):
        """The fit's data preparation on a device ``X``: the observed column
        means, the valid columns and rows, the centred data (on the device)."""
        xp = Space.of(X).xp
        missing = xp.isnan(X)
        observed_counts = to_host(
            X.shape[0] - xp.sum(xp.astype(missing, xp.int64), axis=0)
        )
        valid = observed_counts > 0
        zero = xp.zeros((), dtype=X.dtype, device=X.device)
        sums = to_host(xp.sum(xp.where(missing, zero, X), axis=0))
        with np.errstate(invalid="ignore", divide="ignore"):
            means = (sums / observed_counts)[valid].astype(numpy_dtype(X.dtype))
        space = Space.of(X)
        data = xp.take(X, space.from_host(np.flatnonzero(valid)), axis=1)
        empty = to_host(xp.all(xp.isnan(data), axis=1)) if data.shape[1] else None
        rows = np.ones(X.shape[0], dtype=bool) if empty is None else ~empty
        if rows.all():
            selected = data
        else:
            selected = xp.take(data, space.from_host(np.flatnonzero(rows)), axis=0)
        return valid, means, rows, selected - space.from_host(means)

    # -- fit ----------------------------------------------------------------------
    @restores_on_failure
    @fits_in_space(native=lambda self, X: True)
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Fit the low-rank model to the observed entries of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data with missing entries marked by ``missing_values``.
        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted imputer.
        """
        X = self._validate(X, reset=True)
        space = Space.of(X)  # a device X: the iterations run there
        if space is not None and space.prefers_host():
            X, space = to_host(X), None  # torch's CPU: the host path is faster
        if space is not None:
            valid, means, rows, centred = self._device_fit_data(X)
        else:
            missing = np.isnan(X)
            observed_counts = X.shape[0] - missing.sum(axis=0)
            valid = observed_counts > 0
            sums = np.where(missing, 0, X).sum(axis=0)
            with np.errstate(invalid="ignore", divide="ignore"):
                means = (sums / observed_counts)[valid].astype(X.dtype)
            data = X[:, valid]
            # rows with nothing observed carry no information about the model
            rows = ~np.isnan(data).all(axis=1)
        if not rows.any():
            raise ValueError(
                "LowRankImputer: X has no observed entry; there is nothing to "
                "learn from."
            )
        if space is None:
            # centred by the observed means, the offsets the objective
            # eliminates are small corrections and its loss keeps its digits
            centred = data[rows] - means
        unit, fitted_data, _ = DataUnit.from_data(centred)
        # every parameter the two share, passed through by name
        shared = FactorizationNAG().get_params().keys() & self.get_params().keys()
        model = FactorizationNAG(**{key: getattr(self, key) for key in shared})
        objective = model._masked_objective(fitted_data, offsets=True)
        m, n = centred.shape
        d = self.n_components
        ridge = unit.damping_to_user(objective.penalty)
        # subtracting the offsets (per column) leaves the variances as they are
        total = column_variance_sum(centred)

        def attributes(factors, fitted):
            internal = unit.factors_to_internal(factors)
            offsets = unit.response_to_user(objective.offsets_at(internal))
            error = None
            if space is not None:  # the residual where the data are
                mu = space.from_host(offsets.astype(numpy_dtype(X.dtype)))
                sq = residual_sq_norm(
                    centred - mu, *factors, scale=unit.response, ignore_nan=True
                )
                error = math.sqrt(sq)
                factors = [objective.host(F) for F in factors]
            return self._set_fitted(
                factors,
                fitted,
                clone(model),
                X,
                valid,
                means,
                centred,
                offsets,
                ridge,
                unit,
                False,
                total,
                error,
            )

        return self._fit_factors(
            objective, [(m, d), (n, d)], unit, attributes, {"X": X}
        )

    def _set_fitted(
        self,
        factors,
        fitted,
        model,
        X,
        valid,
        means,
        centred,
        offsets,
        ridge,
        unit,
        publish=True,
        total=None,
        error=None,
    ):
        """Publish the imputer: the factorization of the data centred by the
        fitted offsets ``means + offsets`` (user units); with
        ``publish=False``, return its attributes."""
        dtype = numpy_dtype(X.dtype)
        offsets = offsets.astype(dtype)
        space = Space.of(X)
        model._set_fitted(
            factors,
            fitted,
            # a device fit's error is known: the data are not read again
            centred - (offsets if space is None else space.from_host(offsets)),
            ridge,
            unit.response,
            True,
            error=error,
            total=total,
        )
        model.n_features_in_ = centred.shape[1]
        statistics = np.full(X.shape[1], np.nan, dtype=dtype)
        statistics[valid] = means + offsets
        indicator = None
        if self.add_indicator:
            # internal calls never go through the global set_output config
            indicator = MissingIndicator(missing_values=np.nan, error_on_new=False)
            if space is not None:  # it needs the pattern only
                pattern = to_host(space.xp.isnan(X))
                X = np.where(pattern, np.nan, np.zeros((), dtype=dtype))
            indicator = indicator.set_output(transform="default").fit(X)
        return self._publish(
            {
                **fitted,
                "factorization_": model,
                "_factors": factors,
                "statistics_": statistics,
                "indicator_": indicator,
                "_valid": valid,
            },
            publish=publish,
        )

    def _entries(self, rows, cols, X):
        """The imputed values at entries ``(rows[t], cols[t])`` of ``X`` (the
        training data, with those entries missing)."""
        check_is_fitted(self)
        unique, inverse = np.unique(np.asarray(rows), return_inverse=True)
        X = self._validate(np.asarray(X)[unique], reset=False)
        return self._fill(X)[inverse, np.asarray(cols)]

    # -- transform ----------------------------------------------------------------
    @method_in_space()
    def transform(self, X):
        """Fill the missing entries of ``X`` from the low-rank model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        X_filled : ndarray of shape (n_samples, n_features_out)
            ``X`` with its missing entries replaced. Observed entries are
            unchanged. Empty features are dropped, or filled with 0 when
            ``keep_empty_features=True``. Indicator columns come last.
        """
        check_is_fitted(self)
        X = self._validate(X, reset=False)
        out = self._fill(X)
        if not self.keep_empty_features:
            out = out[:, self._valid]
        if self.indicator_ is not None:
            indicator = self.indicator_.transform(X).astype(out.dtype)
            out = np.hstack([out, indicator])
        return out

    def _fill(self, X):
        """Validated ``X`` with its missing entries filled, every column kept
        (empty features 0)."""
        missing = np.isnan(X)
        valid = self._valid
        means = self.statistics_[valid]
        centred = X[:, valid] - means
        model = self.factorization_
        Z = model._coefficients(centred)  # not transform: no set_output there
        completed = Z @ model.components_.astype(X.dtype, copy=False)
        completed += means
        out = X.copy()
        sub = out[:, valid]
        sub[missing[:, valid]] = completed[missing[:, valid]]
        out[:, valid] = sub
        out[:, ~valid] = 0.0
        return out

    def get_feature_names_out(self, input_features=None):
        """Names of the output features.

        Parameters
        ----------
        input_features : array-like of str, default=None
            Input feature names; ``feature_names_in_`` or ``x0, x1, …`` when
            None.

        Returns
        -------
        feature_names_out : ndarray of str
        """
        check_is_fitted(self)
        n = self.n_features_in_
        if input_features is None:
            names = getattr(self, "feature_names_in_", None)
            if names is None:
                names = np.array([f"x{i}" for i in range(n)], dtype=object)
        else:
            names = np.asarray(input_features, dtype=object)
            if len(names) != n:
                raise ValueError(
                    f"input_features has {len(names)} names, but the imputer was "
                    f"fitted on {n} features."
                )
            fitted = getattr(self, "feature_names_in_", None)
            if fitted is not None and not np.array_equal(names, fitted):
                raise ValueError("input_features is not equal to feature_names_in_.")
        kept = names if self.keep_empty_features else names[to_host(self._valid)]
        if self.indicator_ is None:
            return np.asarray(kept, dtype=object)
        flags = self.indicator_.get_feature_names_out(names)
        return np.concatenate([np.asarray(kept, dtype=object), flags])

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = _is_nan_marker(self.missing_values)
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
