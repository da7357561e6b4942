"""LinearNetRegressor: deep linear networks trained by first-order methods."""

from numbers import Integral

import numpy as np
import scipy.sparse as sp
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    RegressorMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from ._array_api import Space, fits_in_space, method_in_space, to_host
from ._base import (
    FirstOrderEstimatorMixin,
    Float64ScoreMixin,
    check_sample_weight,
    restores_on_failure,
)
from ._dask import (
    check_dask_array,
    compute,
    is_dask,
    regression_moments,
    rows_like,
    summarize,
)
from ._initializers import check_custom_init, starts_for
from ._linalg import numpy_dtype, widest_float
from ._objectives import LinearNetDataObjective, LinearNetObjective
from ._objectives._linear_net import DeviceLinearNetDataObjective
from ._units import DataUnit

#: Elements of one block of rows of the float32 moments (2 MiB in float64).
_MOMENT_BLOCK = 1 << 18


def _wide_moments(X, WY, weights):
    """``(Σwᵢxᵢ, Σwᵢxᵢxᵢᵀ, Σxᵢ(wᵢyᵢ)ᵀ)`` of a dense float32 or device ``X``,
    accumulated in float64 (the widest float of a device) a block of rows at
    a time, on ``X``'s device; the results on the host in float64. With
    ``WY`` None, the weighted column sums only.

    float32 moments summed in float32 differ from one BLAS to the next by
    their rounding, so a fit on a device and on the host could stop an
    iteration apart; in float64 both round to the same float32 statistics.
    """
    space = Space.of(X)
    if space is None:
        xp, move, host_wide = np, (lambda a: a), np.float64

        def widen(a):
            return a.astype(np.float64)
    else:
        xp, move = space.xp, space.from_host
        wide = widest_float(xp, X)
        host_wide = np.float64 if wide == xp.float64 else np.float32

        def widen(a):
            return xp.astype(a, wide)

    n, p = X.shape
    step = max(1, _MOMENT_BLOCK // max(p, 1))
    sums = XtX = XtWY = None
    for start in range(0, n, step):
        stop = min(start + step, n)
        block = widen(X[start:stop, :])
        weighted = block
        if weights is not None:
            w = move(weights[start:stop].astype(host_wide))
            weighted = block * w[:, None]
        part = xp.sum(weighted, axis=0)
        sums = part if sums is None else sums + part
        if WY is not None:
            gram = block.T @ weighted
            cross = block.T @ move(np.asarray(WY[start:stop], dtype=host_wide))
            XtX = gram if XtX is None else XtX + gram
            XtWY = cross if XtWY is None else XtWY + cross
    if WY is None:
        return np.asarray(to_host(sums), dtype=np.float64)
    return tuple(np.asarray(to_host(a), dtype=np.float64) for a in (sums, XtX, XtWY))


def _wide(X):
    """Whether ``X``'s moments are summed by :func:`_wide_moments`: dense
    float32 data, and any device data."""
    if Space.of(X) is not None:
        return True
    return not sp.issparse(X) and X.dtype == np.float32


def _y_mean(Y, fit_intercept, weights):
    """The (weighted) column means of Y (host); zeros without intercept."""
    if not fit_intercept:
        return np.zeros(Y.shape[1], dtype=Y.dtype)
    if weights is None:
        return Y.mean(axis=0)
    return (weights / weights.sum()).astype(Y.dtype) @ Y


def _means(X, Y, fit_intercept, weights=None):
    """The (weighted) column means of X and Y; zeros without intercept."""
    dtype = numpy_dtype(X.dtype)
    y_mean = _y_mean(Y, fit_intercept, weights)
    if not fit_intercept:
        return np.zeros(X.shape[1], dtype=dtype), y_mean
    total = X.shape[0] if weights is None else float(weights.sum())
    w = None if weights is None else weights / weights.sum()
    if _wide(X):
        return (_wide_moments(X, None, weights) / total).astype(dtype), y_mean
    if weights is None:
        return np.asarray(X.mean(axis=0)).ravel().astype(X.dtype), y_mean
    x_mean = np.asarray(X.T @ w.astype(X.dtype)).ravel().astype(X.dtype)
    return x_mean, y_mean


def _statistics(X, Y, fit_intercept, weights=None):
    """``S = XᵀWX/Σw``, ``C = YᵀWX/Σw``, ``Σwᵢ‖yᵢ‖²/Σw`` (centred), and the
    means (``W = I``, ``Σw = n`` without weights).

    Sparse ``X`` is never densified: the centring is applied to the small
    p×p and q×p products. Dense float32 and device ``X`` (any array API
    library, read once on its device) have their moments summed in float64
    (:func:`_wide_moments`); ``Y`` and everything after the products are on
    the host.
    """
    n = X.shape[0] if weights is None else float(weights.sum())
    dtype = numpy_dtype(X.dtype)
    WY = Y if weights is None else Y * weights.astype(dtype)[:, None]
    if _wide(X):
        sums, XtX, XtWY = _wide_moments(X, WY, weights)
        x_mean = sums / n if fit_intercept else np.zeros_like(sums)
        y_mean = _y_mean(Y, fit_intercept, weights)
    else:
        x_mean, y_mean = _means(X, Y, fit_intercept, weights)
        if weights is None:
            WX = X
        else:
            w = weights.astype(X.dtype)
            WX = X.multiply(w[:, None]).tocsr() if sp.issparse(X) else X * w[:, None]
        XtX = X.T @ WX
        XtX = XtX.toarray() if sp.issparse(XtX) else np.asarray(XtX)
        XtWY = np.asarray(X.T @ WY)
    Yc = Y - y_mean
    squares = np.einsum("ij,ij->i", Yc, Yc, dtype=np.float64)
    yy = float(squares.sum() if weights is None else squares @ weights) / n
    y_squares = np.einsum("ij,ij->j", Y, WY, dtype=np.float64)
    return _centred(n, XtX, XtWY, x_mean, y_mean, yy, y_squares, fit_intercept, dtype)


def _centred(n, XtX, XtWY, x_mean, y_mean, yy, y_squares, fit_intercept, dtype):
    """``(S, C, yy, x_mean, y_mean)`` of :func:`_statistics` from the raw
    moments ``XᵀWX``, ``XᵀWY``, the means, the centred ``yy`` and the raw
    weighted squares of ``Y``'s columns (whatever pass computed them)."""
    S = XtX / n - np.outer(x_mean, x_mean)
    C = XtWY.T / n - np.outer(y_mean, x_mean)
    if fit_intercept:
        # centring by subtraction cancels: what is left of a (nearly) constant
        # feature at the level of the raw moments' rounding is noise, and a
        # fit to it would put huge weights on it (a constant float32 column
        # gave coefficients of ±1e4 whose predictions depended on the batch)
        eps = 8 * float(np.finfo(dtype).eps)
        x_raw = np.sqrt(np.abs(np.diag(XtX)) / n)
        y_raw = np.sqrt(y_squares / n)
        S[np.abs(S) <= eps * np.outer(x_raw, x_raw)] = 0.0
        C[np.abs(C) <= eps * np.outer(y_raw, x_raw)] = 0.0
    return S.astype(dtype), C.astype(dtype), yy, x_mean.astype(dtype), y_mean


def _check_finite(*statistics):
    """NaN or infinity in the data reach their statistics (checked there, at
    no cost, since ``sklearn.set_config(assume_finite=True)`` skips the check
    of the data themselves)."""
    if not all(np.isfinite(np.sum(s)) for s in statistics):
        raise ValueError(
            "X or y contains NaN or infinity (the input check is off under "
            "sklearn's assume_finite=True); remove or impute those entries."
        )


class LinearNetRegressor(
    ClassNamePrefixFeaturesOutMixin,
    Float64ScoreMixin,
    RegressorMixin,
    TransformerMixin,
    FirstOrderEstimatorMixin,
    BaseEstimator,
):
    r"""Linear network :math:`x \mapsto W_N \cdots W_1 x + b` trained by GD, NAG or
    heavy ball.

    Minimizes the mean squared error
    :math:`\lVert X W^\top + b - Y \rVert_F^2 / (2n)` over the layers of
    :math:`W = W_N \cdots W_1` (depth :math:`N` =
    ``len(hidden_layer_sizes) + 1``). A width smaller than the number of
    inputs and outputs gives reduced-rank regression. The intercept is fitted
    by centring, as scikit-learn's linear models do; the loss and gradients
    come from the sufficient statistics :math:`S = X^\top X / n` and
    :math:`C = Y^\top X / n`, computed once, so an iteration costs nothing in
    the number of samples.

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default=(10,)
        Widths of the hidden layers (positive integers).
    optimizer : str, default="nag"
        Update rule: ``"nag"``, ``"gd"``, ``"altgd"``, ``"heavy_ball"``,
        ``"precgd"``, ``"scaledgd"`` or ``"apgd"`` (see
        :class:`FactorizationNAG`). The preconditioned ones need exactly one
        hidden layer (a two-factor model); their automatic step is
        :math:`0.5 / \lambda_{\max}(X^\top X / n)`.
    init : str or list of arrays, default="unbalanced"
        Every named start puts each layer at scale :math:`\sigma_1(T)^{1/N}`
        times ``init_scale``, with :math:`T` the least-squares map
        :math:`C S^\dagger` (:math:`C / \lambda_{\max}(S)` on the
        many-features path), so that scaling X or y scales the fit
        accordingly:

        - ``"unbalanced"`` (Xu et al., 2024): output layer from a sketch of
          :math:`T` (large, :math:`c_0` = 3 by default), middle layers
          semi-identity, input layer 0. With one hidden layer it is
          FactorizationNAG's start.
        - ``"gaussian"`` / ``"small_random"``: i.i.d. Gaussian layers with
          :math:`\mathcal{N}(0, 1/\mathrm{fan\_out})` entries, :math:`W_1`
          with :math:`\mathcal{N}(0, 1/\mathrm{n\_features})` (``init_scale``
          1 and 1e-4).
        - ``"orthogonal"``: semi-orthogonal layers.
        - ``"balanced"``: a random end-to-end map split evenly over the
          layers, :math:`W_{k+1}^\top W_{k+1} = W_k W_k^\top`.
        - ``"spectral"``, ``"nystrom"``, ``"ward_kolda"``: with one hidden
          layer, FactorizationNAG's starts for :math:`T`.
        - a list :math:`[W_1, \dots, W_N]` of arrays of shapes
          :math:`(d_1, p), \dots, (q, d_{N-1})`.
    learning_rate, momentum, damping, init_scale, init_power_iter :
        As in :class:`FactorizationNAG`.
    max_iter, tol, random_state, verbose, warm_start :
        As in :class:`FactorizationNAG`; a warm refit continues only when the
        layers' shapes (``hidden_layer_sizes``, the numbers of features and
        outputs) are unchanged, and starts afresh from ``init`` otherwise.
    fit_intercept : bool, default=True

    Attributes
    ----------
    coefs_ : list of ndarray
        The layers :math:`[W_1, \dots, W_N]`, :math:`W_k` of shape
        :math:`(d_k, d_{k-1})`.
    coef_ : ndarray of shape (n_outputs, n_features) or (n_features,)
        The end-to-end map :math:`W_N \cdots W_1`, laid out like
        LinearRegression's.
    intercept_ : ndarray of shape (n_outputs,) or float
    n_iter_, loss_curve_, time_curve_, converged_, stop_reason_ :
        As in :class:`FactorizationNAG`.
    learning_rate_, damping_, momentum_ :
        As in :class:`FactorizationNAG`.
    reference_loss_ : float
        Loss of the zero model: :math:`\tfrac12 \lVert Y - \bar Y \rVert_F^2 / n`
        with an intercept, :math:`\tfrac12 \lVert Y \rVert_F^2 / n` without.
        ``np.sqrt(loss_curve_ / reference_loss_)`` is the relative error that
        ``tol`` is compared with.
    n_features_in_, feature_names_in_ :
        Features seen during fit.

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from sklearn.linear_model import LinearRegression
    >>> from skfactor import LinearNetRegressor
    >>> X, y = load_diabetes(return_X_y=True)
    >>> net = LinearNetRegressor((16,), tol=1e-12, max_iter=20000,
    ...                          random_state=0).fit(X, y)
    >>> ols = LinearRegression().fit(X, y)
    >>> bool(abs(net.score(X, y) - ols.score(X, y)) < 1e-6)
    True
    """

    #: Above this many features (or more features than samples) the fit uses
    #: products with X per iteration instead of the p×p statistic S.
    _max_statistics_features = 2000

    _width_parameter = "hidden_layer_sizes"

    #: ``fit`` takes dask arrays where their chunks are (:mod:`skfactor._dask`).
    _fits_dask = True

    _parameter_constraints: dict = {
        **FirstOrderEstimatorMixin._shared_parameter_constraints,
        "hidden_layer_sizes": [tuple, list, Interval(Integral, 1, None, closed="left")],
        "init": [StrOptions(starts_for("pair", "chain")), list, tuple],
        "fit_intercept": ["boolean"],
    }

    def __init__(
        self,
        hidden_layer_sizes=(10,),
        *,
        optimizer="nag",
        init="unbalanced",
        learning_rate="auto",
        momentum="auto",
        damping="auto",
        init_scale="auto",
        init_power_iter="auto",
        fit_intercept=True,
        max_iter=1000,
        tol=1e-6,
        random_state=None,
        verbose=0,
        warm_start=False,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.optimizer = optimizer
        self.init = init
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.damping = damping
        self.init_scale = init_scale
        self.init_power_iter = init_power_iter
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start

    def _widths(self):
        sizes = self.hidden_layer_sizes
        if isinstance(sizes, Integral):
            sizes = (sizes,)
        if len(sizes) == 0 or not all(
            isinstance(s, Integral) and not isinstance(s, bool) and s >= 1
            for s in sizes
        ):
            raise ValueError(
                "hidden_layer_sizes must be a non-empty tuple of positive "
                f"integers (the hidden widths); got {self.hidden_layer_sizes!r}."
            )
        return [int(s) for s in sizes]

    # -- fit --------------------------------------------------------------------
    @restores_on_failure
    @fits_in_space(native=lambda self, X: True)
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        r"""Fit the layers.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights :math:`w_i`: the loss is

            .. math::

                \frac{\sum_i w_i \lVert W x_i + b - y_i \rVert^2}{2 \sum_i w_i},

            from weighted sufficient statistics (or weighted passes over X
            with many features). An integer weight is the sample repeated.

        Returns
        -------
        self : object
        """
        widths = self._widths()
        if is_dask(X):
            return self._fit_dask(X, y, sample_weight, widths)
        # a device X (array API dispatch) stays there for its one pass: the
        # sufficient statistics; y, the weights and the iterations are small
        space = Space.of(X, type(self).__name__)
        xp = np if space is None else space.xp
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse="csr" if space is None else False,
            dtype=[xp.float64, xp.float32],
            multi_output=True,
            y_numeric=True,
        )
        dtype = numpy_dtype(X.dtype)
        Y = np.asarray(to_host(y), dtype=dtype)
        X_user, y_user = X, y  # what the callbacks see
        weights, kept = check_sample_weight(to_host(sample_weight), to_host(Y))
        if kept is not None:
            rows = kept if space is None else space.from_host(kept)
            X, Y = (X[kept] if space is None else xp.take(X, rows, axis=0)), Y[kept]
        single_output = Y.ndim == 1
        if Y.ndim == 1:
            Y = Y[:, None]
        n_features, n_outputs = X.shape[1], Y.shape[1]
        sizes = [n_features, *widths, n_outputs]
        layer_shapes = [(sizes[k + 1], sizes[k]) for k in range(len(sizes) - 1)]
        depth = len(layer_shapes)
        # data far from unit scale: fit Y / 4**k and X / 4**j (exact)
        unit, Y_fit, X_fit = DataUnit.from_data(Y, design=X, degree=depth)
        statistics = n_features <= min(self._max_statistics_features, X.shape[0])
        if statistics:
            S, C, yy, _, _ = _statistics(X_fit, Y_fit, self.fit_intercept, weights)
            _check_finite(S, C, yy)
            objective = LinearNetObjective(S, C, yy, depth)
        else:
            x_mean, y_mean = _means(X_fit, Y_fit, self.fit_intercept, weights)
            _check_finite(x_mean, y_mean)
            if space is not None:  # the two passes per iteration on the device
                objective = DeviceLinearNetDataObjective(
                    X_fit, Y_fit, x_mean, y_mean, depth, space, sample_weight=weights
                )
            else:
                objective = LinearNetDataObjective(
                    X_fit, Y_fit, x_mean, y_mean, depth, sample_weight=weights
                )
        storage_shapes, init, warm = self._starting_layers(layer_shapes, dtype)
        means = _means(X, Y, self.fit_intercept, weights)

        def attributes(factors, fitted):
            factors = [objective.host(F) for F in factors]  # the layers
            return self._set_fitted(factors, fitted, *means, single_output, False)

        metadata = None if sample_weight is None else {"sample_weight": sample_weight}
        data = {"X": X_user, "y": y_user, "metadata": metadata}
        return self._fit_factors(
            objective, storage_shapes, unit, attributes, data, warm=warm, init=init
        )

    def _starting_layers(self, layer_shapes, dtype):
        """The storage shapes of the layers (the last one transposed, in
        reverse order), the validated ``init`` in that order, and the
        factors a warm start continues from (None for a fresh start)."""
        depth = len(layer_shapes)
        storage_shapes = [layer_shapes[k] for k in range(depth - 1, 0, -1)]
        storage_shapes.append(layer_shapes[0][::-1])
        init = self.init
        if not isinstance(init, str):
            # validate in the user's order [W₁, …, W_N], then store
            init = check_custom_init(init, layer_shapes, dtype)
            init = [*init[:0:-1], init[0].T]
        warm = None
        if self.warm_start and getattr(self, "_factors", None) is not None:
            if [F.shape for F in self._factors] == storage_shapes:
                warm = [F.astype(dtype) for F in self._factors]
        return storage_shapes, init, warm

    def _fit_dask(self, X, y, sample_weight, widths):
        """``fit`` of a dask ``X`` (and ``y``, ``sample_weight``: dask or
        numpy): the sufficient statistics in one pass on the scheduler
        (:func:`skfactor._dask.regression_moments`), the iterations on the
        client. Zero weights are kept in the sums, where they add nothing."""
        name = type(self).__name__
        X = check_dask_array(self, X, reset=True)
        dtype = numpy_dtype(X.dtype)
        m, n_features = X.shape
        if is_dask(y):
            Y = check_dask_array(
                None, y, reset=False, ensure_2d=False, dtypes=(dtype,), name="y"
            )
        else:
            Y = check_array(y, ensure_2d=False, dtype=dtype, ensure_all_finite=False)
        if Y.ndim not in (1, 2) or Y.shape[0] != m:
            raise ValueError(
                f"{name}: y has shape {Y.shape}, X has {m} samples: pass y of "
                "shape (n_samples,) or (n_samples, n_outputs)."
            )
        single_output = Y.ndim == 1
        Y = rows_like(X, Y[:, None] if single_output else Y)
        if sample_weight is not None:
            if is_dask(sample_weight):
                (sample_weight,) = compute(sample_weight)  # n floats
            weights, kept = check_sample_weight(np.asarray(sample_weight), Y)
            if kept is not None:  # zero weights stay, adding nothing
                full = np.zeros(m)
                full[kept] = weights
                weights = full
        else:
            weights = None
        x_summary = summarize(X, "X", allow_nan=False)
        y_summary = summarize(Y, "y", allow_nan=False)
        n_outputs = Y.shape[1]
        sizes = [n_features, *widths, n_outputs]
        layer_shapes = [(sizes[k + 1], sizes[k]) for k in range(len(sizes) - 1)]
        depth = len(layer_shapes)
        if n_features > self._max_statistics_features:
            raise ValueError(
                f"{name}: a dask X with {n_features} features (more than "
                f"{self._max_statistics_features}) would need its {n_features}² "
                "second moments on the client; reduce the features first (e.g. "
                "with FactorizationNAG), or fit a numpy array."
            )
        unit, Y_fit, X_fit = DataUnit.from_data(
            Y,
            design=X,
            degree=depth,
            top=y_summary["top"],
            design_top=x_summary["top"],
        )
        moments = regression_moments(X_fit, Y_fit, weights)
        total = moments["n"]
        x_mean = moments["sx"] / total
        y_mean = moments["y_mean"]
        if not self.fit_intercept:
            x_mean, y_mean = np.zeros_like(x_mean), np.zeros_like(y_mean)
            yy = float(moments["syy"].sum()) / total
        else:
            yy = float(moments["y_m2"].sum()) / total
        S, C, yy, _, _ = _centred(
            total,
            moments["sxx"],
            moments["sxy"],
            x_mean,
            y_mean,
            yy,
            moments["syy"],
            self.fit_intercept,
            dtype,
        )
        _check_finite(S, C, yy)
        objective = LinearNetObjective(S, C, yy, depth)
        storage_shapes, init, warm = self._starting_layers(layer_shapes, dtype)
        # the means in the user's units (the unit divides by powers of 4)
        means = (
            (x_mean * (unit.response / unit.model)).astype(dtype),
            (y_mean * unit.response).astype(dtype),
        )

        def attributes(factors, fitted):
            return self._set_fitted(factors, fitted, *means, single_output, False)

        metadata = None if sample_weight is None else {"sample_weight": sample_weight}
        data = {"X": X, "y": y, "metadata": metadata}
        return self._fit_factors(
            objective, storage_shapes, unit, attributes, data, warm=warm, init=init
        )

    def _set_fitted(self, factors, fitted, x_mean, y_mean, single_output, publish=True):
        """Publish the network of ``factors`` (storage order, user units), or
        with ``publish=False`` return its attributes."""
        layers = [factors[-1].T, *factors[-2::-1]]
        W = layers[0]
        for layer in layers[1:]:
            W = layer @ W
        intercept = y_mean - W @ x_mean
        attributes = {**fitted, "_factors": factors, "coefs_": layers}
        if single_output:
            attributes["coef_"], attributes["intercept_"] = W[0], float(intercept[0])
        else:
            attributes["coef_"], attributes["intercept_"] = W, intercept
        return self._publish(attributes, publish=publish)

    def _model_factors(self):
        """The end-to-end map ``W`` (n_outputs × n_features) as ``(W, None)``
        (a dense model), in the user's units; what :mod:`skfactor.callbacks`
        measures."""
        check_is_fitted(self)
        return np.atleast_2d(self.coef_), None

    def _check_X(self, X):
        check_is_fitted(self)
        space = Space.of(X, type(self).__name__)
        xp = np if space is None else space.xp
        sparse = "csr" if space is None else False
        return validate_data(
            self, X, accept_sparse=sparse, dtype=[xp.float64, xp.float32], reset=False
        )

    @method_in_space(native=lambda self, X: True)
    def predict(self, X):
        """``X @ coef_.T + intercept_``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        """
        X = self._check_X(X)
        space = Space.of(X)
        if space is not None:  # fitted on this device: predict there
            coef = space.xp.astype(self.coef_, X.dtype)
            out = X @ (coef if coef.ndim == 1 else coef.T)
            intercept = self.intercept_
            if not isinstance(intercept, float):
                intercept = space.xp.astype(intercept, X.dtype)
            return out + intercept
        coef = np.asarray(self.coef_, dtype=X.dtype)
        out = X @ coef.T
        return np.asarray(out) + np.asarray(self.intercept_, dtype=X.dtype)

    @method_in_space(native=lambda self, X: True)
    def transform(self, X):
        r"""First hidden layer's activations :math:`XW_1^\top`: a supervised projection.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        H : ndarray of shape (n_samples, hidden_layer_sizes[0])
        """
        X = self._check_X(X)
        if Space.of(X) is not None:
            return X @ Space.of(X).xp.astype(self.coefs_[0], X.dtype).T
        return np.asarray(X @ self.coefs_[0].T.astype(X.dtype, copy=False))

    @property
    def _n_features_out(self):
        return self.coefs_[0].shape[0]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.target_tags.multi_output = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
