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
from sklearn.utils.validation import check_is_fitted, validate_data

from ._base import FirstOrderEstimatorMixin
from ._initializers import DEFAULT_SCALES, check_custom_init
from ._linalg import scale_exponent, top_singular_value
from ._objectives import LinearNetDataObjective, LinearNetObjective

_NET_INITS = {"unbalanced", "gaussian", "orthogonal", "balanced", "small_random"}
_NET_SCALES = {**DEFAULT_SCALES, "balanced": 1.0}


def _means(X, Y, fit_intercept):
    if not fit_intercept:
        return (
            np.zeros(X.shape[1], dtype=X.dtype),
            np.zeros(Y.shape[1], dtype=Y.dtype),
        )
    return np.asarray(X.mean(axis=0)).ravel().astype(X.dtype), Y.mean(axis=0)


def _statistics(X, Y, fit_intercept):
    """``S = XᵀX/n``, ``C = YᵀX/n``, ``‖Y‖²/n`` (centred), and the means.

    Sparse ``X`` is never densified: the centring is applied to the small
    p×p and q×p products.
    """
    n = X.shape[0]
    x_mean, y_mean = _means(X, Y, fit_intercept)
    XtX = X.T @ X
    XtX = XtX.toarray() if sp.issparse(XtX) else np.asarray(XtX)
    S = XtX / n - np.outer(x_mean, x_mean)
    C = np.asarray(X.T @ Y).T / n - np.outer(y_mean, x_mean)
    Yc = Y - y_mean
    yy = float(np.einsum("ij,ij->", Yc, Yc, dtype=np.float64)) / n
    return S.astype(X.dtype), C.astype(X.dtype), yy, x_mean, y_mean


class LinearNetRegressor(
    ClassNamePrefixFeaturesOutMixin,
    RegressorMixin,
    TransformerMixin,
    FirstOrderEstimatorMixin,
    BaseEstimator,
):
    """Linear network ``x ↦ W_N ⋯ W₁ x + b`` trained by GD, NAG or heavy ball.

    Minimizes the mean squared error ``‖X Wᵀ + b − Y‖²/(2n)`` over the layers
    of ``W = W_N ⋯ W₁`` (depth ``N = len(hidden_layer_sizes) + 1``). A width
    smaller than the number of inputs and outputs gives reduced-rank
    regression. The intercept is fitted by centring, as scikit-learn's linear
    models do; the loss and gradients come from the sufficient statistics
    ``S = XᵀX/n`` and ``C = YᵀX/n``, computed once, so an iteration costs
    nothing in the number of samples.

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default=(10,)
        Widths of the hidden layers (positive integers).
    optimizer : {"nag", "gd", "altgd", "heavy_ball", "precgd", "scaledgd", \
"apgd"}, default="nag"
        Update rule (see :class:`FactorizationNAG`). The preconditioned ones
        need exactly one hidden layer (a two-factor model).
    init : {"unbalanced", "gaussian", "orthogonal", "balanced", \
"small_random"} or list of arrays, default="unbalanced"
        Every named start puts each layer at scale ``σ₁(C)^{1/N}`` times
        ``init_scale`` (which keeps fits scale-equivariant):

        - ``"unbalanced"`` (Xu et al., 2024): output layer from a sketch of
          ``C`` (large, ``c₀`` = 3 by default), middle layers semi-identity,
          input layer 0. With one hidden layer it is FactorizationNAG's start.
        - ``"gaussian"`` / ``"small_random"``: i.i.d. Gaussian layers with
          N(0, 1/fan_out) entries (``init_scale`` 1 and 1e-4).
        - ``"orthogonal"``: semi-orthogonal layers.
        - ``"balanced"``: a random end-to-end map split evenly over the
          layers, ``W_{k+1}ᵀ W_{k+1} = W_k W_kᵀ``.
        - a list ``[W₁, …, W_N]`` of arrays of shapes (d₁, p), …, (q, d_{N−1}).
    learning_rate, momentum, damping, init_scale, max_iter, tol, \
random_state, verbose, warm_start :
        As in :class:`FactorizationNAG`.
    fit_intercept : bool, default=True

    Attributes
    ----------
    coefs_ : list of ndarray
        The layers ``[W₁, …, W_N]``, ``W_k`` of shape (d_k, d_{k−1}).
    coef_ : ndarray of shape (n_outputs, n_features) or (n_features,)
        The end-to-end map ``W_N ⋯ W₁``, laid out like LinearRegression's.
    intercept_ : ndarray of shape (n_outputs,) or float
    n_iter_, loss_curve_, time_curve_, converged_, learning_rate_ :
        As in :class:`FactorizationNAG`.
    reference_loss_ : float
        Loss of the zero model: ``½‖Y − Ȳ‖²/n`` with an intercept,
        ``½‖Y‖²/n`` without. ``√(loss_curve_ / reference_loss_)`` is the
        relative error that ``tol`` is compared with.
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

    _parameter_constraints: dict = {
        **FirstOrderEstimatorMixin._shared_parameter_constraints,
        "hidden_layer_sizes": [tuple, list, Interval(Integral, 1, None, closed="left")],
        "init": [StrOptions(_NET_INITS), list, tuple],
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

    # -- starts -----------------------------------------------------------------
    def _run_init(self, init, objective, width, random_state, init_lr):
        """Layers ``[W_N, …, W₂, W₁ᵀ]`` of the named start (see ``init``)."""
        shapes = self._layer_shapes  # (out, in) per layer, W₁ first
        depth = len(shapes)
        scale = _NET_SCALES[init] if self.init_scale == "auto" else self.init_scale
        sigma = objective.target_norm(random_state)
        unit = sigma ** (1.0 / depth) if sigma > 0 else 0.0
        dtype = objective.dtype
        layers = []
        if init == "unbalanced":
            C = objective.target
            q, d_last = shapes[-1]
            phi = random_state.standard_normal((C.shape[1], d_last)) / np.sqrt(d_last)
            top = C @ phi.astype(dtype)
            s1 = top_singular_value(top)
            top = top / s1 if s1 > 0 else top
            for k, (out, inp) in enumerate(shapes):
                if k == 0:
                    layer = np.zeros((out, inp))
                elif k == depth - 1:
                    layer = top
                else:
                    layer = np.eye(out, inp)
                layers.append(layer * unit * (scale if k == depth - 1 else 1.0))
        elif init == "balanced":
            ranks = min(min(s) for s in shapes)
            q, p = shapes[-1][0], shapes[0][1]
            G = random_state.standard_normal((q, p))
            U, s, Vt = np.linalg.svd(G, full_matrices=False)
            root = (s[:ranks] / s[0]) ** (1.0 / depth)  # even split, top = 1
            for k, (out, inp) in enumerate(shapes):
                layer = np.zeros((out, inp))
                if k == 0:
                    layer[:ranks] = root[:, None] * Vt[:ranks]
                elif k == depth - 1:
                    layer[:, :ranks] = U[:, :ranks] * root
                else:
                    layer[:ranks, :ranks] = np.diag(root)
                layers.append(layer * unit * scale)
        else:  # gaussian, small_random, orthogonal
            for out, inp in shapes:
                G = random_state.standard_normal((out, inp))
                if init == "orthogonal":
                    G = np.linalg.qr(G)[0] if out >= inp else np.linalg.qr(G.T)[0].T
                else:
                    G /= np.sqrt(out)
                layers.append(G * unit * scale)
        layers = [layer.astype(dtype, copy=False) for layer in layers]
        return [*layers[:0:-1], layers[0].T]

    # -- fit --------------------------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Fit the layers.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)

        Returns
        -------
        self : object
        """
        widths = self._widths()
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse="csr",
            dtype=[np.float64, np.float32],
            multi_output=True,
            y_numeric=True,
        )
        Y = np.asarray(y, dtype=X.dtype)
        self._single_output = Y.ndim == 1
        if Y.ndim == 1:
            Y = Y[:, None]
        n_features, n_outputs = X.shape[1], Y.shape[1]
        sizes = [n_features, *widths, n_outputs]
        self._layer_shapes = [(sizes[k + 1], sizes[k]) for k in range(len(sizes) - 1)]
        depth = len(self._layer_shapes)
        if depth != 2 and self.optimizer in ("precgd", "scaledgd", "apgd"):
            raise ValueError(
                f"optimizer={self.optimizer!r} preconditions each factor with the "
                "Gram matrix of its partner and needs exactly one hidden layer; "
                f"hidden_layer_sizes={tuple(widths)} gives {depth} layers. Use "
                "optimizer='gd', 'altgd', 'nag' or 'heavy_ball'."
            )
        scale = 4.0 ** scale_exponent(Y) if Y.size else 1.0
        Y_fit = Y / np.asarray(scale, dtype=Y.dtype)
        if n_features <= min(self._max_statistics_features, X.shape[0]):
            S, C, yy, x_mean, y_mean = _statistics(X, Y_fit, self.fit_intercept)
            objective = LinearNetObjective(S, C, yy, depth)
        else:
            x_mean, y_mean = _means(X, Y_fit, self.fit_intercept)
            objective = LinearNetDataObjective(X, Y_fit, x_mean, y_mean, depth)
        y_mean = y_mean * scale
        storage_shapes = [self._layer_shapes[k] for k in range(depth - 1, 0, -1)]
        storage_shapes.append(self._layer_shapes[0][::-1])
        init = self.init
        if not isinstance(init, str):
            # validate in the user's order [W₁, …, W_N], then store
            init = check_custom_init(init, self._layer_shapes, X.dtype)
            init = [*init[:0:-1], init[0].T]
        warm = None
        if self.warm_start and getattr(self, "_factors", None) is not None:
            if [F.shape for F in self._factors] == storage_shapes:
                warm = [F.astype(X.dtype) for F in self._factors]
        factors = self._run(
            objective,
            widths[0],
            storage_shapes,
            warm_factors=warm,
            data_scale=scale,
            init=init,
        )
        self._factors = factors
        layers = [factors[-1].T, *factors[-2::-1]]
        self.coefs_ = layers
        W = layers[0]
        for layer in layers[1:]:
            W = layer @ W
        intercept = y_mean - W @ x_mean
        if self._single_output:
            self.coef_, self.intercept_ = W[0], float(intercept[0])
        else:
            self.coef_, self.intercept_ = W, intercept
        return self

    def _check_X(self, X):
        check_is_fitted(self)
        return validate_data(
            self, X, accept_sparse="csr", dtype=[np.float64, np.float32], reset=False
        )

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
        coef = np.asarray(self.coef_, dtype=X.dtype)
        out = X @ coef.T
        return np.asarray(out) + np.asarray(self.intercept_, dtype=X.dtype)

    def transform(self, X):
        """First hidden layer's activations ``X W₁ᵀ``: a supervised projection.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        H : ndarray of shape (n_samples, hidden_layer_sizes[0])
        """
        X = self._check_X(X)
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
