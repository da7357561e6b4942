"""MatrixSensingPrecGD: low-rank trace regression, matrix sensing and completion."""

import math
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

from ._array_api import Space, fits_in_space, method_in_space, to_host
from ._base import (
    FirstOrderEstimatorMixin,
    Float64ScoreMixin,
    check_sample_weight,
    restores_on_failure,
)
from ._initializers import starts_for
from ._linalg import numpy_dtype, product_svd
from ._objectives import SensingObjective
from ._objectives._sensing import DeviceSensingObjective
from ._units import DataUnit


def _flatten(X):
    """Accept (N, n1, n2) arrays; return (X as 2-D, (n1, n2) or None)."""
    if not sp.issparse(X) and getattr(X, "ndim", None) == 3:
        space = Space.of(X)
        if space is not None:  # a device array stays there
            return space.xp.reshape(X, (X.shape[0], -1)), tuple(X.shape[1:])
        X = np.asarray(X)
        return X.reshape(X.shape[0], -1), X.shape[1:]
    return X, None


def _native(estimator, X):
    """Whether the fit runs on the device of ``X``: a dense design of the
    pair model (the symmetric model fits on the host)."""
    return not estimator.symmetric


class MatrixSensingPrecGD(
    ClassNamePrefixFeaturesOutMixin,
    Float64ScoreMixin,
    RegressorMixin,
    TransformerMixin,
    FirstOrderEstimatorMixin,
    BaseEstimator,
):
    r"""Low-rank trace regression :math:`y_i = \langle A_i, M \rangle + b` by
    preconditioned GD.

    Each sample is a matrix :math:`A_i` of shape (n1, n2), given flattened
    (row-major) as a row of ``X``, or as a 3-D array. The coefficient matrix
    :math:`M` is fitted as :math:`L R^\top` (or :math:`X X^\top` with
    ``symmetric=True``) at the search rank :math:`r` = ``rank``, which may
    exceed the true rank: the preconditioned methods (PrecGD, ScaledGD(λ),
    APGD) keep a linear rate there, and when :math:`M` is ill-conditioned,
    where plain GD slows to a crawl. Matrix completion is the case of a sparse
    ``X`` with one entry per row; it is evaluated at the observed entries
    only, :math:`O(\mathrm{nnz} \cdot r)` per iteration.

    The loss is the mean squared error :math:`f = \lVert \rho \rVert^2 / (2N)`
    of the residuals :math:`\rho = \mathcal{A}(M) + b - y`; the symmetric
    model divides by :math:`4N` instead, and its gradient is then
    :math:`\tfrac12 (E + E^\top) X` with :math:`E = \mathcal{A}^*(\rho)/N`.

    Parameters
    ----------
    rank : int, default=2
        Search rank :math:`r` (width of the factors).
    shape : "auto", "column" or tuple (n1, n2), default="auto"
        Shape of each :math:`A_i`. ``"auto"``: square when n_features is a
        perfect square (or the shape of a 3-D ``X``); ``"column"``:
        (n_features, 1), which makes the model an ordinary rank-constrained
        linear regression.
    symmetric : bool, default=False
        Fit a positive semi-definite :math:`M = X X^\top` (needs n1 == n2).
    optimizer : str, default="precgd"
        The update rule, one of the seven below.

        - ``"precgd"``:

          .. math::

              L^+ &= L - \eta \, \nabla_L f \, (R^\top R + \delta_k I)^{-1}, \\
              R^+ &= R - \eta \, \nabla_R f \, (L^\top L + \delta_k I)^{-1},

          :math:`\delta_k = \sqrt{2f/\beta}` (:math:`\sqrt{4f/\beta}` for the
          symmetric model; the paper's
          :math:`\lVert \mathcal{A}(L R^\top) - y \rVert` in its scaling, in
          the model's units) or ``damping``.
        - ``"scaledgd"``: the same with a fixed :math:`\lambda` = ``damping``.
        - ``"apgd"``: alternating,

          .. math::

              L^+ &= L - \eta \, \nabla_L f(L, R) \, (R^\top R)^\dagger, \\
              R^+ &= R - \eta \, \nabla_R f(L^+, R) \, (L^{+\top} L^+)^\dagger

          (asymmetric models only).
        - ``"gd"``, ``"altgd"``, ``"nag"``, ``"heavy_ball"``: as in
          :class:`FactorizationNAG`.
    init : str or tuple of arrays, default="small_random"
        The start: ``"small_random"``, ``"spectral"``, ``"nystrom"``,
        ``"unbalanced"``, ``"gaussian"``, ``"orthogonal"``, ``"balanced"`` or
        ``"ward_kolda"``, built from :math:`T = \mathcal{A}^*(y)/(N\beta)` in
        the model's units, with
        :math:`\beta = \sum_i \lVert A_i \rVert_F^2 / (N n_1 n_2)` the mean
        curvature of the design: :math:`\approx M` for isotropic designs,
        :math:`P_\Omega(Y)/p` for completion with unit entries; see
        :class:`FactorizationNAG` for the formulas. The symmetric model
        takes the first factor of a sketch start and the top positive
        eigenpairs for ``"spectral"``; ``"balanced"`` and ``"ward_kolda"``
        need the asymmetric model. Explicit factors: a tuple ``(L0, R0)`` of
        shapes (n1, rank), (n2, rank), or ``(X0,)``.
    learning_rate : float or "auto", default="auto"
        ``"auto"``: :math:`0.5/\beta` for the preconditioned methods, with
        :math:`\beta = \sum_i \lVert A_i \rVert_F^2 / (N n_1 n_2)` the mean
        curvature of the design (1 for :math:`\mathcal{N}(0, 1)` entries; this
        carries the papers' :math:`\eta = 0.5` over to any scaling, completion
        included); otherwise :math:`1/\hat L` from the local curvature bound.
        Backtracks on divergence (see FactorizationNAG).
    damping : float >= 0 or "auto", default="auto"
        PrecGD: a fixed :math:`\delta` instead of :math:`\sqrt{2f/\beta}`
        (:math:`\sqrt{4f/\beta}` symmetric).
        ScaledGD: :math:`\lambda`, ``"auto"`` is :math:`10^{-5} \sigma_1(T)`.
        That is below the ScaledGD(λ) paper's window (a fraction of
        :math:`\sigma_{\min}` of the truth, which is unknown): in that window
        the iterations depend strongly on :math:`\lambda` and
        :math:`\lambda \approx \sigma_{\min}` stalls, while
        :math:`10^{-5} \sigma_1` converged over-parameterized for every
        :math:`\kappa` up to 1000. With any fixed :math:`\lambda` the
        symmetric over-parameterized problem has a sublinear tail (an order
        of magnitude more iterations than PrecGD to :math:`10^{-8}`; the
        asymmetric one stays linear): see :ref:`papers`. :math:`\lambda`
        must stay above the start's Gram (:math:`\alpha^2 \sigma_1`).
    momentum : float in [0, 1), "auto" or "paper", default="auto"
        For nag and heavy_ball, as in :class:`FactorizationNAG`
        (``"paper"``: the constant momentum from the unbalanced start's
        :math:`L_0`).
    init_scale : float, tuple or "auto", default="auto"
        Scale of the start (small_random: :math:`\alpha = 10^{-4}` relative
        to :math:`\sqrt{\sigma_1(T)}`).
    init_power_iter : int >= 0 or "auto", default="auto"
        Power iterations of the sketch starts (``"unbalanced"``,
        ``"nystrom"``), as in :class:`FactorizationNAG`.
    fit_intercept : bool, default=False
        Fit :math:`b`; it is eliminated in closed form at every iteration
        (:math:`b = \operatorname{mean}(y - \mathcal{A}(M))`), so sparse
        designs stay sparse.
    max_iter : int, default=1000
    tol : float >= 0, default=1e-6
        Stop when :math:`\lVert \rho \rVert / \lVert y - \bar y \rVert` falls
        below ``tol``, or when the loss is flat at a minimum (see
        FactorizationNAG).
    random_state, verbose, warm_start :
        As in :class:`FactorizationNAG`; a warm refit continues only when
        ``rank``, ``symmetric`` and the samples' shape are unchanged, and
        starts afresh from ``init`` otherwise.

    Attributes
    ----------
    coef_ : ndarray of shape (n1, n2)
        The fitted :math:`M`.
    left_factor_, right_factor_ : ndarray of shape (n1, rank), (n2, rank)
        :math:`L` and :math:`R` (asymmetric model).
    factor_ : ndarray of shape (n, rank)
        :math:`X` (symmetric model).
    intercept_ : float
    effective_rank_ : int
        Numerical rank of ``coef_``: the rank an over-parameterized fit
        discovers. Singular values count above :math:`10\, a \lVert M \rVert_F`,
        where :math:`a = \min(e, \max(\mathtt{tol}, \sqrt{\epsilon}))` is the
        accuracy the fit attained (:math:`e` its final relative error,
        :math:`\epsilon` the machine epsilon): directions at that level are
        what the solver left unresolved. And above
        :math:`\max(n_1, n_2)\, \epsilon\, \sigma_1`.
    shape_ : tuple
    n_iter_, loss_curve_, time_curve_, converged_, stop_reason_ :
        As in :class:`FactorizationNAG`.
    learning_rate_, damping_, momentum_ :
        As in :class:`FactorizationNAG`. Scaling the design by :math:`c`
        scales ``coef_`` by :math:`1/c`, ``learning_rate_`` by :math:`1/c`
        (gd, altgd, nag, heavy_ball) or :math:`1/c^2` (precgd, scaledgd,
        apgd), and leaves the iterations unchanged.
    reference_loss_ : float
        Loss of the zero model: :math:`\tfrac12 \lVert y - \bar y \rVert^2 / N`
        with an intercept, :math:`\tfrac12 \lVert y \rVert^2 / N` without
        (:math:`\tfrac14` instead of :math:`\tfrac12` for the symmetric
        model). ``np.sqrt(loss_curve_ / reference_loss_)`` is the relative
        error that ``tol`` is compared with.
    n_features_in_, feature_names_in_ :
        Features seen during fit.

    Examples
    --------
    >>> import numpy as np
    >>> from skfactor import MatrixSensingPrecGD
    >>> from skfactor.datasets import make_matrix_sensing
    >>> X, y, M = make_matrix_sensing(10, 10, 2, 400, condition_number=10,
    ...                               random_state=0)
    >>> model = MatrixSensingPrecGD(rank=4, random_state=0).fit(X, y)
    >>> bool(np.linalg.norm(model.coef_ - M) / np.linalg.norm(M) < 1e-5)
    True
    >>> model.effective_rank_
    2
    """

    _width_parameter = "rank"

    _parameter_constraints: dict = {
        **FirstOrderEstimatorMixin._shared_parameter_constraints,
        "rank": [Interval(Integral, 1, None, closed="left")],
        "shape": [StrOptions({"auto", "column"}), tuple, list],
        "symmetric": ["boolean"],
        "init": [StrOptions(starts_for("pair", "symmetric")), tuple, list],
        "fit_intercept": ["boolean"],
    }

    def __init__(
        self,
        rank=2,
        *,
        shape="auto",
        symmetric=False,
        optimizer="precgd",
        init="small_random",
        learning_rate="auto",
        damping="auto",
        momentum="auto",
        init_scale="auto",
        init_power_iter="auto",
        fit_intercept=False,
        max_iter=1000,
        tol=1e-6,
        random_state=None,
        verbose=0,
        warm_start=False,
    ):
        self.rank = rank
        self.shape = shape
        self.symmetric = symmetric
        self.optimizer = optimizer
        self.init = init
        self.learning_rate = learning_rate
        self.damping = damping
        self.momentum = momentum
        self.init_scale = init_scale
        self.init_power_iter = init_power_iter
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start

    # -- validation -------------------------------------------------------------
    def _resolve_shape(self, n_features, shape_3d):
        shape = self.shape
        if isinstance(shape, str):
            if shape == "column":
                return (n_features, 1)
            if shape_3d is not None:
                return tuple(shape_3d)
            side = math.isqrt(n_features)
            if side * side != n_features:
                raise ValueError(
                    f"shape='auto' needs n_features to be a perfect square (a "
                    f"square matrix per sample); got n_features={n_features}. "
                    "Pass shape=(n1, n2) with n1 * n2 == n_features, or "
                    "shape='column'."
                )
            return (side, side)
        if (
            len(shape) != 2
            or not all(isinstance(s, Integral) and s >= 1 for s in shape)
            or shape[0] * shape[1] != n_features
        ):
            raise ValueError(
                f"shape={tuple(shape)!r} must be two positive integers with "
                f"n1 * n2 == n_features={n_features}."
            )
        if shape_3d is not None and tuple(shape_3d) != tuple(shape):
            raise ValueError(
                f"X has samples of shape {tuple(shape_3d)} but shape={tuple(shape)}."
            )
        return (int(shape[0]), int(shape[1]))

    def _validate_X(self, X, reset):
        X, shape_3d = _flatten(X)
        space = Space.of(X, type(self).__name__)
        xp = np if space is None else space.xp
        X = validate_data(
            self,
            X,
            accept_sparse="csr" if space is None else False,
            dtype=[xp.float64, xp.float32],
            reset=reset,
        )
        return X, shape_3d

    # -- fit ----------------------------------------------------------------------
    @restores_on_failure
    @fits_in_space(native=_native)
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        r"""Fit the low-rank coefficient matrix.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n1 * n2)
            The samples :math:`A_i`, flattened in row-major order, or an array
            of shape (n_samples, n1, n2).
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights :math:`w_i`: the loss is

            .. math::

                \frac{\sum_i w_i (y_i - \langle A_i, M \rangle - b)^2}
                     {2 \sum_i w_i}

            and the intercept the weighted mean. An integer weight is the
            sample repeated; a zero weight drops it.

        Returns
        -------
        self : object
        """
        X, shape_3d = _flatten(X)
        space = Space.of(X, type(self).__name__)
        xp = np if space is None else space.xp
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse="csr" if space is None else False,
            dtype=[xp.float64, xp.float32],
            y_numeric=True,
        )
        dtype = numpy_dtype(X.dtype)
        y = y.astype(X.dtype, copy=False) if space is None else xp.astype(y, X.dtype)
        X_user, y_user = X, y  # what the callbacks see
        weights, kept = check_sample_weight(to_host(sample_weight), to_host(y))
        if kept is not None:
            if space is None:
                X, y = X[kept], y[kept]
            else:
                rows = space.from_host(kept)
                X, y = xp.take(X, rows, axis=0), xp.take(y, rows, axis=0)
        shape = self._resolve_shape(X.shape[1], shape_3d)
        if self.symmetric and shape[0] != shape[1]:
            raise ValueError(
                f"symmetric=True fits M = X Xᵀ and needs square samples; got "
                f"shape={shape}."
            )
        # data far from unit scale: fit y / 4**k and X / 4**j (exact)
        unit, y_fit, X_fit = DataUnit.from_data(y, design=X)
        if space is not None and self.symmetric:
            X, y, X_fit, y_fit = map(to_host, (X, y, X_fit, y_fit))
            space = None
        if space is not None:  # the iterations run on the design's device
            objective = DeviceSensingObjective(
                X_fit, y_fit, shape, space, self.fit_intercept, sample_weight=weights
            )
        else:
            objective = SensingObjective(
                X_fit,
                y_fit,
                shape,
                self.symmetric,
                self.fit_intercept,
                sample_weight=weights,
            )
        n1, n2 = shape
        shapes = (
            [(n1, self.rank)] if self.symmetric else [(n1, self.rank), (n2, self.rank)]
        )
        warm = None
        fitted = getattr(self, "_factors", None)
        # the one warm-start policy: continue only from factors of these shapes
        if self.warm_start and fitted is not None:
            if [F.shape for F in fitted] == shapes:
                warm = [F.astype(dtype) for F in fitted]

        def attributes(factors, fitted):
            internal = unit.factors_to_internal(factors)
            intercept = unit.response_to_user(objective.intercept(internal))
            factors = [objective.host(F) for F in factors]
            return self._set_fitted(factors, fitted, shape, intercept, False)

        metadata = None if sample_weight is None else {"sample_weight": sample_weight}
        data = {"X": X_user, "y": y_user, "metadata": metadata}
        return self._fit_factors(objective, shapes, unit, attributes, data, warm=warm)

    def _set_fitted(self, factors, fitted, shape, intercept, publish=True):
        """Publish the model of ``factors`` (user units), or with
        ``publish=False`` return its attributes."""
        L = factors[0]
        R = L if len(factors) == 1 else factors[1]
        attributes = {**fitted, "_factors": factors, "shape_": shape}
        if len(factors) == 1:  # the symmetric model
            attributes["factor_"] = L
        else:
            attributes["left_factor_"], attributes["right_factor_"] = L, R
        attributes["intercept_"] = intercept
        # the SVD of L Rᵀ from the r×r core of their QR factors: no n1×n2
        # matrix is formed (completion at scale); transform's components
        U, s, Vt, _ = product_svd(L, R)
        attributes["_components"] = (U * s, Vt.T)
        if s.size == 0 or s[0] == 0:
            attributes["effective_rank_"] = 0
        else:
            # directions at the level of the fit's own accuracy are unresolved
            eps = float(np.finfo(L.dtype).eps)
            curve, reference = fitted["loss_curve_"], fitted["reference_loss_"]
            attained = 1.0  # the start (a callback's iterate 0)
            if len(curve):
                attained = np.sqrt(curve[-1] / reference) if reference > 0 else 0.0
            accuracy = min(attained, max(self.tol, np.sqrt(eps)))
            frobenius = s[0] * np.linalg.norm(s / s[0])  # no squares of s
            cut = max(max(shape) * eps * s[0], 10 * accuracy * frobenius)
            attributes["effective_rank_"] = int(np.sum(s > cut))
        return self._publish(attributes, publish=publish)

    def _model_factors(self):
        """The coefficient matrix as factors ``(L, R)``, ``M = L Rᵀ`` in the
        user's units; what :mod:`skfactor.callbacks` measures."""
        check_is_fitted(self)
        L = self._factors[0]
        return L, self._factors[-1]

    @property
    def coef_(self):
        r"""The fitted :math:`M = L R^\top` (or :math:`X X^\top`), shape (n1, n2).

        Formed on access from the factors, so that fitting a large completion
        problem never allocates the dense :math:`n_1 \times n_2` matrix.
        """
        check_is_fitted(self, "shape_")
        L = self._factors[0]
        R = L if len(self._factors) == 1 else self._factors[1]
        return L @ R.T

    # -- prediction ---------------------------------------------------------------
    def _contributions(self, X):
        """Per-component ``⟨Aᵢ, s_c u_c v_cᵀ⟩``, shape (n_samples, rank)."""
        L, R = self._components
        n1, n2 = self.shape_
        L, R = L.astype(X.dtype, copy=False), R.astype(X.dtype, copy=False)
        if sp.issparse(X):
            coo = X.tocoo()
            j, k = np.divmod(coo.col, n2)
            out = np.zeros((X.shape[0], L.shape[1]), dtype=X.dtype)
            np.add.at(out, coo.row, coo.data[:, None] * L[j] * R[k])
            return out
        A = X.reshape(X.shape[0], n1, n2)
        return np.einsum("ijk,jc,kc->ic", A, L, R, optimize=True)

    @method_in_space()
    def transform(self, X):
        r"""Per-component contributions of the SVD of ``coef_``.

        The contributions :math:`\langle A_i, s_c u_c v_c^\top \rangle` of the
        terms of :math:`M = \sum_c s_c u_c v_c^\top` (``coef_``, decreasing
        :math:`s_c`; rows sum to the predictions without intercept). They
        depend on the model only, not on how its factors are balanced or
        rotated (which differs between optimizers and starts).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n1 * n2)
            The samples :math:`A_i`, flattened in row-major order, or an array
            of shape (n_samples, n1, n2).

        Returns
        -------
        C : ndarray of shape (n_samples, rank)
        """
        check_is_fitted(self)
        X, _ = self._validate_X(X, reset=False)
        return self._contributions(X)

    @method_in_space(native=lambda self, X: not sp.issparse(X))
    def predict(self, X):
        r"""Predict :math:`\langle A_i, M \rangle + b` for every sample.

        :math:`M` is ``coef_`` and :math:`b` is ``intercept_``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n1 * n2)
            The samples :math:`A_i`, flattened in row-major order, or an array
            of shape (n_samples, n1, n2).

        Returns
        -------
        y : ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        X, _ = self._validate_X(X, reset=False)
        space = Space.of(X)
        if space is not None:  # fitted on this device: ⟨Aᵢ, M⟩ there
            xp = space.xp
            L, R = (xp.astype(F, X.dtype) for F in self._components)
            return X @ xp.reshape(L @ R.T, (-1,)) + self.intercept_
        return self._contributions(X).sum(axis=1) + np.asarray(
            self.intercept_, dtype=X.dtype
        )

    @property
    def _n_features_out(self):
        return self._factors[0].shape[1]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
