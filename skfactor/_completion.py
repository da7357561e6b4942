"""MatrixCompletionRegressor: ratings in, predictions at (row, column) pairs out."""

import contextlib
import math
import warnings
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, RegressorMixin, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from ._array_api import copy_array, fits_in_space, method_in_space
from ._base import (
    FirstOrderEstimatorMixin,
    Float64ScoreMixin,
    check_sample_weight,
    restores_on_failure,
)
from ._initializers import starts_for
from ._linalg import sq_norm
from ._objectives import CompletionObjective
from ._objectives._completion import (
    DeviceCompletionObjective,
    rowwise_dots,
    scatter_add_available,
)
from ._solver import SADDLE_FRACTION
from ._units import DataUnit

#: ``early_stopping="auto"`` holds out entries from this many ratings on.
EARLY_STOPPING_FROM = 10_000
#: ``alpha="auto"`` selects α on held-out ratings from this many ratings on
#: (below, α = 0).
AUTO_ALPHA_FROM = 20
#: ``alpha="auto"`` goes to α = 0 once two steps of the path (α/√2 each)
#: lowered the held-out RMSE by at least this factor each (the error is the
#: ridge's own bias: noiseless data).
_NOISELESS_RATIO = 0.8
#: ``alpha="auto"`` ends its path once a step improved the held-out RMSE by
#: less than this fraction: the minimum is that flat.
_FLAT_PATH = 1e-3


def ratings_from_sparse(matrix):
    """The stored entries of a sparse matrix as ratings ``(X, y)``.

    Every stored entry is an observation (an explicitly stored 0 too); the
    implicit zeros are unobserved. The result is what
    :class:`MatrixCompletionRegressor` fits: ``X[e] = (row, column)`` and
    ``y[e]`` the stored value.

    Parameters
    ----------
    matrix : sparse matrix or array of shape (n_rows, n_columns)
        A scipy sparse matrix (any format), or a dense array whose NaN
        entries are the unobserved ones.

    Returns
    -------
    X : ndarray of shape (n_ratings, 2), dtype int64
        Row and column indices, row-major order.
    y : ndarray of shape (n_ratings,)
        The stored values (float32 stays float32, other dtypes become
        float64).

    Examples
    --------
    >>> import numpy as np
    >>> import scipy.sparse as sp
    >>> from skfactor import ratings_from_sparse
    >>> R = sp.csr_matrix(np.array([[5.0, 0, 3], [0, 4, 0]]))
    >>> X, y = ratings_from_sparse(R)
    >>> X.tolist(), y.tolist()
    ([[0, 0], [0, 2], [1, 1]], [5.0, 3.0, 4.0])
    """
    if np.iscomplexobj(matrix.data if sp.issparse(matrix) else np.asarray(matrix)):
        raise TypeError("ratings_from_sparse: ratings cannot be complex numbers.")
    if sp.issparse(matrix):
        coo = sp.coo_matrix(matrix)
        rows, cols, values = coo.row, coo.col, coo.data
    else:
        dense = np.asarray(matrix)
        if dense.ndim != 2:
            raise ValueError(
                "ratings_from_sparse takes a 2-D matrix (sparse, or dense with "
                f"NaN for unobserved entries); got an array of shape {dense.shape}."
            )
        if not np.issubdtype(dense.dtype, np.number):
            raise TypeError(
                "ratings_from_sparse: a dense matrix must be numeric (NaN marks the "
                f"unobserved entries); got dtype {dense.dtype}."
            )
        rows, cols = np.nonzero(~np.isnan(dense.astype(np.float64, copy=False)))
        values = dense[rows, cols]
    dtype = np.float32 if values.dtype == np.float32 else np.float64
    order = np.lexsort((cols, rows))
    X = np.column_stack([rows[order], cols[order]]).astype(np.int64)
    return X, values[order].astype(dtype)


class _Ids:
    """The distinct ids of one column of ``X``, sorted (``categories``), and
    the codes of ids among them (-1 for unknown ones)."""

    def __init__(self, categories):
        self.categories = categories

    @classmethod
    def fit(cls, values, name):
        """The ids of ``values`` and their codes."""
        if values.dtype.kind in "iu" and len(values):
            low, high = int(values.min()), int(values.max())
            if low >= 0 and high < 4 * len(values) + 1024:
                # non-negative integer ids, not too sparse: by counting
                present = np.zeros(high + 1, dtype=bool)
                present[values] = True
                categories = np.flatnonzero(present).astype(values.dtype)
                code = np.cumsum(present) - 1
                return cls(categories), code[values]
        try:
            categories, codes = np.unique(values, return_inverse=True)
        except TypeError as error:
            raise TypeError(
                f"MatrixCompletionRegressor: the {name} ids must be mutually "
                "comparable (all numbers or all strings); sorting them failed: "
                f"{error}."
            ) from None
        return cls(categories), codes.ravel()

    def encode(self, values):
        """Codes of ``values`` (-1 for an id not among the categories)."""
        categories = self.categories
        if not len(categories):
            return np.full(len(values), -1, dtype=np.intp)
        try:
            position = np.searchsorted(categories, values)
            position = np.minimum(position, len(categories) - 1)
            known = np.asarray(categories[position] == values, dtype=bool)
            return np.where(known, position, -1)
        except (TypeError, ValueError):
            pass
        # ids of several kinds (some not comparable with the fit's): one at
        # a time, each unknown unless it equals a category
        lookup = {}
        for code, category in enumerate(categories):
            with contextlib.suppress(TypeError):
                lookup[category] = code
        codes = np.full(len(values), -1, dtype=np.intp)
        for e, value in enumerate(values):
            try:
                codes[e] = lookup.get(value, -1)
            except TypeError:  # unhashable, or no truth value (pd.NA)
                pass
        return codes


def _kind(values):
    """``"number"``, ``"text"`` or the type name of the first id."""
    first = values[0] if len(values) else None
    if isinstance(first, (str, np.str_, bytes)):
        return "text"
    if isinstance(first, (int, float, np.number)) and not isinstance(first, bool):
        return "number"
    return type(first).__name__


def _warn_on_foreign_ids(codes, values, fitted, side):
    """Warn when none of the ids of a column are known *and* they are of
    another kind than the fit's (strings against numbers): unknown ids get
    the bias-only prediction by design, but a whole batch of them of the
    wrong type is a mistake."""
    if not len(codes) or (codes >= 0).any() or not len(fitted):
        return
    ours, theirs = _kind(fitted), _kind(values)
    if ours != theirs:
        warnings.warn(
            f"MatrixCompletionRegressor.predict: none of the {len(codes)} {side} "
            f"ids is known, and they are of another kind ({theirs}) than the "
            f"ids fitted ({ours}): every prediction is the bias-only one. Pass "
            f"the {side} ids as they were given to fit (e.g. the same dtype).",
            UserWarning,
            stacklevel=3,
        )


class _EarlyStopper:
    """The solver's stop test for ``early_stopping``.

    The RMSE at the held-out ratings of the start and of every iteration,
    the best iterate kept (a copy of its factors), a stop after ``patience``
    iterations without a new best; ``_fit_factors`` then publishes the best
    iterate (``best``).
    """

    stop_reason = "early_stopping"

    def __init__(self, objective, unit, rows, cols, y, weights, patience):
        self.objective, self.unit = objective, unit
        # a small start sits near the bias-only saddle for a while, where the
        # held-out score barely moves: patience counts from leaving it
        self.saddle = SADDLE_FRACTION * unit.loss_to_user(objective.saddle_loss)
        self.escaped = None
        # -1: an id the fit does not know. The index sets are fixed: split
        # once, contiguous (the scores run every iteration)
        both = (rows >= 0) & (cols >= 0)
        self.both = np.flatnonzero(both)
        self.both_rows, self.both_cols = rows[both], cols[both]
        self.row_only = np.flatnonzero((rows >= 0) & ~both)
        self.col_only = np.flatnonzero((cols >= 0) & ~both)
        self.row_only_rows = rows[self.row_only]
        self.col_only_cols = cols[self.col_only]
        self.y = y.astype(np.float64)
        self.weights = None if weights is None else weights.astype(np.float64)
        self.patience = patience
        self.scores, self.best_k, self.best_rmse = [], 0, math.inf
        self.best_factors = None

    def rmse(self, factors):
        """The held-out RMSE of the model of ``factors`` (user units)."""
        objective = self.objective
        internal = self.unit.factors_to_internal(factors)
        pred = np.full(len(self.y), objective.mean, dtype=np.float64)
        if len(self.row_only) or len(self.col_only):  # the other's bias only
            b, c = objective.biases_at(internal, self.row_only_rows, self.col_only_cols)
            pred[self.row_only] += b
            pred[self.col_only] += c
        if len(self.both):  # the full coordinates: biases included
            pred[self.both] += objective.model_at(
                internal, self.both_rows, self.both_cols
            )
        residual = self.unit.response_to_user(pred)
        residual -= self.y
        if self.weights is None:
            return math.sqrt(float(np.dot(residual, residual)) / len(residual))
        return math.sqrt(
            float(np.dot(self.weights * residual, residual)) / self.weights.sum()
        )

    def _size(self, factors):
        """``‖L‖_F ‖R‖_F`` of the low-rank part (a bound on its σ₁)."""
        d = self.objective.rank
        L, R = factors
        return math.sqrt(sq_norm(L[:, :d]) * sq_norm(R[:, :d]))

    def _record(self, k, factors, loss):
        rmse = self.rmse(factors)
        self.scores.append(rmse)
        if self.escaped is None:
            # left the saddle: the loss fell below it, or the low-rank part
            # grew a hundredfold from a small start (a weak signal may move
            # the loss by less than the saddle's margin)
            size = self._size(factors)
            if k == 0:
                self.start_size = size
            if loss < self.saddle or size > 100 * self.start_size:
                self.escaped = k
        if rmse < self.best_rmse:
            self.best_rmse, self.best_k = rmse, k
            self.best_factors = [copy_array(F) for F in factors]
        if self.escaped is None:
            return False
        return k - max(self.best_k, self.escaped) >= self.patience

    def begin(self, factors, loss):
        """Score the start (iteration 0)."""
        self._record(0, factors, loss)

    def __call__(self, iterate):
        return self._record(iterate.k, iterate.factors, iterate.loss)

    def best(self):
        return self.best_k, self.best_factors


class _Problem:
    """The ratings one fit trains on: ids encoded, the data unit, the
    objective (one per ridge, sharing the pattern), the held-out ratings and
    the conversions between this fit's coordinates and the user's model."""

    def __init__(self, X, y, weights, estimator):
        self.row_ids, self.rows = _Ids.fit(X[:, 0], "row")
        self.col_ids, self.cols = _Ids.fit(X[:, 1], "column")
        self.shape = (len(self.row_ids.categories), len(self.col_ids.categories))
        # the factors' memory, before anything of their size is allocated
        width = estimator.n_components + (2 if estimator.fit_biases else 0)
        estimator._check_widths([(n, width) for n in self.shape], y.dtype)
        self.unit, self.y_fit, _ = DataUnit.from_data(y)
        self.weights = weights
        self.rank, self.biases = estimator.n_components, estimator.fit_biases
        # the user's input on a device whose library scatter-adds: the passes
        # over the ratings run there (the setup on the host)
        space = getattr(estimator, "_fitting_space", None)
        self.space = space if scatter_add_available(space) else None
        self._base = None
        self._objectives = {}
        self.held = None

    def objective(self, alpha):
        alpha = float(alpha)
        if alpha not in self._objectives:
            self._objectives[alpha] = self._objective(alpha)
        return self._objectives[alpha]

    def _objective(self, alpha):
        if self._base is None:
            self._base = CompletionObjective(
                self.rows,
                self.cols,
                self.y_fit,
                self.shape,
                self.rank,
                biases=self.biases,
                alpha=alpha,
                sample_weight=self.weights,
            )
            if self.space is not None:
                self._base = DeviceCompletionObjective(self._base, self.space)
            return self._base
        if alpha == self._base.alpha:
            return self._base
        return self._base.with_alpha(alpha)

    @property
    def spread(self):
        """σ in the user's units."""
        return self.unit.response_to_user(self.objective(0.0).spread)

    def hold_out(self, X, y, weights):
        self.held = (
            self.row_ids.encode(X[:, 0]),
            self.col_ids.encode(X[:, 1]),
            y,
            weights,
        )

    def stopper(self, objective, patience, warm=False):
        rows, cols, y, weights = self.held
        stopper = _EarlyStopper(objective, self.unit, rows, cols, y, weights, patience)
        if warm or self.rank == 0:  # past the small start's saddle, or none
            stopper.escaped = 0
        return stopper

    def user_model(self, factors):
        """``{row_ids, column_ids, L, R, b, c}`` of ``factors`` (this fit's
        coordinates, user units)."""
        L, R, b, c = self.objective(0.0).from_coordinates(factors, spread=self.spread)
        return {
            "row_ids": self.row_ids.categories,
            "column_ids": self.col_ids.categories,
            "L": L,
            "R": R,
            "b": b,
            "c": c,
        }

    def from_user_model(self, model):
        """This fit's coordinates (user units) of a model of other ids: rows
        and columns matched by id, those it lacks at 0."""

        def align(previous_ids, values, ids):
            out = np.zeros((len(ids.categories), *values.shape[1:]))
            where = _Ids(previous_ids).encode(ids.categories)
            known = where >= 0
            out[known] = values[where[known]]
            return out

        rows, cols = model["row_ids"], model["column_ids"]
        L = align(rows, model["L"], self.row_ids)
        R = align(cols, model["R"], self.col_ids)
        b = align(rows, model["b"], self.row_ids)
        c = align(cols, model["c"], self.col_ids)
        return self.objective(0.0).to_coordinates(L, R, b, c, spread=self.spread)


class MatrixCompletionRegressor(
    Float64ScoreMixin, RegressorMixin, FirstOrderEstimatorMixin, BaseEstimator
):
    r"""Matrix completion for ratings: a biased low-rank model fitted at the
    observed entries.

    ``X`` holds one observed entry per row, its (row id, column id) — user
    and item ids of a ratings table, as integers or as any labels — and
    ``y`` the observed values. The model is

    .. math::

        \hat y_{ui} = \mu + b_u + c_i + \langle L_u, R_i \rangle,

    with :math:`\mu` the mean rating, row and column biases :math:`b, c`
    (``fit_biases``) and factors of width ``n_components``, fitted by
    minimizing

    .. math::

        \begin{aligned}
        f = {} & \frac{1}{2N} \sum_{(u, i)} (\hat y_{ui} - y_{ui})^2
        + \frac{\alpha \sigma}{2N} \Big(\sum_u n_u \lVert L_u \rVert^2
        + \sum_i n_i \lVert R_i \rVert^2\Big) \\
        & + \frac{\alpha}{2N} \Big(\sum_u n_u b_u^2 + \sum_i n_i c_i^2\Big),
        \end{aligned}

    :math:`n_u, n_i` the rows' and columns' numbers of ratings (ALS-WR's
    count-weighted ridge), :math:`\sigma` the ratings' standard deviation
    (so that :math:`\alpha` is free of the rating scale). One pass over the
    ratings costs :math:`O(N \cdot d)`; the :math:`n_1 \times n_2` matrix is
    never formed.

    The factors are fitted in *count-scaled* coordinates
    (:math:`L'_u \propto \sqrt{n_u} L_u`, :math:`R'_i \propto \sqrt{n_i} R_i`):
    there every row and column has about the same curvature, whatever its
    number of ratings, and the count-weighted ridge is a plain ridge (the
    weighted trace norm of Srebro & Salakhutdinov). Every optimizer's update
    below is in those coordinates; see :ref:`completion` in the user guide.

    With ``early_stopping`` a fraction of the ratings is held out and the fit
    ends with the iterate of lowest held-out RMSE: on noisy ratings that is
    the regularizer of a small start (the low-rank part grows one direction
    at a time, the strongest first, and fits the noise last), and it leaves
    noiseless data to converge.

    Parameters
    ----------
    n_components : int >= 0, default=10
        Width :math:`d` of the factors (the search rank); 0 fits the
        bias-only model (a baseline).
    optimizer : str, default="heavy_ball"
        The update rule, in the count-scaled coordinates (η the step, β the
        momentum; ``"auto"`` momentum is Nesterov's schedule with restart):

        - ``"gd"``: :math:`F^+ = F - \eta \nabla f(F)`.
        - ``"nag"``: Nesterov's method as in :class:`FactorizationNAG`,
          :math:`W = F_k + \beta_k (F_k - F_{k-1})`,
          :math:`F_{k+1} = W - \eta \nabla f(W)`.
        - ``"heavy_ball"``: :math:`F_{k+1} = F_k - \eta \nabla f(F_k) +
          \beta_k (F_k - F_{k-1})`.
        - ``"altgd"``: :math:`L^+ = L - \eta \nabla_L f(L, R)`, then
          :math:`R^+ = R - \eta \nabla_R f(L^+, R)`.
        - ``"precgd"``: :math:`L^+ = L - \eta \nabla_L f \, (R^\top R + (\delta_k
          + \lambda) I)^{-1}`, :math:`R^+` likewise, :math:`\delta_k` the
          residual in the model's units.
        - ``"scaledgd"``: the same with a fixed damping :math:`\delta`.
        - ``"apgd"``: alternating, :math:`L^+ = L - \eta \nabla_L f \, (R^\top R
          + (\lambda + \delta_0) I)^{-1}`, then :math:`R^+` at :math:`L^+`.

        Here :math:`L = [L', b', h]`, :math:`R = [R', g, c']` hold the biases
        as fixed columns (:math:`h, g` constants whose gradients are 0; a
        preconditioner leaves them out), :math:`\lambda` is the ridge in
        these coordinates and :math:`\delta_0 = 0.1\,\sigma_1(T)` the damping
        floor of the preconditioned methods here (each row's curvature is a
        *sampled* Gram; a smaller damping diverged in measured cases), also
        ScaledGD's smallest ``damping="auto"``. Heavy ball, the default,
        evaluates one point per iteration (NAG's look-ahead costs a second
        pass over the ratings) and needed as many iterations as NAG on
        ratings shaped like MovieLens-100K. Where the guarantees stop:
        over-specified completion *without* a ridge (``alpha=0`` and a rank
        above the truth's) has many exact fits of the observed entries;
        GD, NAG and heavy ball from the small start find the low-rank one,
        ScaledGD and APGD fit the entries but not the matrix (full-matrix
        errors of 3–4 % at twice the rank, measured on 300×200 of rank 5
        with 30 % observed) and PrecGD gets there slowly (5.6e-4 after 1000
        iterations). With
        ``alpha="auto"`` every optimizer recovers noiseless data to ``tol``
        at 2–4 times the rank (tested).
    init : str, default="small_random"
        The start of the low-rank part (see :class:`FactorizationNAG`), from
        the count-scaled residual of the bias-only model; the biases start
        at that model (the ridge baseline, a few exact alternating sweeps).
    alpha : float >= 0 or "auto", default="auto"
        The count-weighted ridge :math:`\alpha` (above). ``"auto"`` chooses
        it on ``validation_fraction`` of the ratings held out: a path from
        :math:`\alpha_0/2` (:math:`\alpha_0` the smallest ridge at which the
        bias-only model is a minimum) down by :math:`\sqrt2`, each fit warm
        from the previous one's best iterate with early stopping, until the
        held-out RMSE rises or improves by less than 0.1 %; an error that
        falls as fast as α (noiseless data) jumps to 0, and a best first
        point sends the path up. The final fit continues from the chosen
        model (with ``early_stopping=False``: on every rating). Fewer than 20
        ratings: α = 0.
    fit_biases : bool, default=True
        Fit the row and column biases (otherwise :math:`b = c = 0`).
    early_stopping : bool or "auto", default="auto"
        Hold out ``validation_fraction`` of the ratings and end with the
        iterate of lowest RMSE on them. ``"auto"``: on from 10 000 ratings,
        and from 20 with ``alpha="auto"`` (which holds them out anyway).
    validation_fraction : float in (0, 1), default=0.1
    n_iter_no_change : int, default=20
        Stop after this many iterations without a lower held-out RMSE.
    learning_rate : float or "auto", default="auto"
        As in :class:`MatrixSensingPrecGD` (``0.5/β`` for the scale-free
        methods, with :math:`\beta = 1/(n_1 n_2)` in the count-scaled
        coordinates).
    damping : float >= 0 or "auto", default="auto"
    momentum : float in [0, 1), "auto" or "paper", default="auto"
    init_scale : float, tuple or "auto", default="auto"
    init_power_iter : int >= 0 or "auto", default="auto"
    max_iter : int, default=1000
    tol : float >= 0, default=1e-7
        Stop when the training RMSE relative to the ratings' standard
        deviation falls below ``tol``, or when the loss is flat at a minimum.
    random_state : int, RandomState instance or None, default=None
        The held-out split and the start.
    verbose : int, default=0
    warm_start : bool, default=False
        Continue from the previous fit's model: rows and columns are matched
        by id, new ids start at 0.

    Attributes
    ----------
    global_mean_ : float
        :math:`\mu`.
    row_bias_, column_bias_ : ndarray of shape (n_rows,), (n_columns,)
    row_factors_, column_factors_ : ndarray of shape (n_rows, d), (n_columns, d)
    row_ids_, column_ids_ : ndarray
        The ids the fit knows, sorted (those of the ratings it trained on).
    validation_rmse_ : ndarray or None
        With early stopping, the held-out RMSE of the start and of every
        iteration.
    best_iteration_ : int or None
        With early stopping, the iteration the fit ended with.
    n_iter_, loss_curve_, time_curve_, converged_, stop_reason_ :
        As in :class:`FactorizationNAG`; ``stop_reason_ == "early_stopping"``
        when the fit ended on its best held-out iterate.
    learning_rate_, damping_, momentum_, reference_loss_ :
        As in :class:`MatrixSensingPrecGD`.
    alpha_ : float
        The ridge of the model (the chosen one with ``alpha="auto"``).
    alphas_, alpha_scores_ : ndarray
        With ``alpha="auto"``: the ridges tried and their best held-out RMSE.
    n_features_in_, feature_names_in_ :

    See Also
    --------
    ratings_from_sparse : ratings from the stored entries of a sparse matrix.
    MatrixSensingPrecGD : general trace regression.

    Examples
    --------
    >>> import numpy as np
    >>> from skfactor import MatrixCompletionRegressor
    >>> from skfactor.datasets import make_ratings
    >>> X, y, truth = make_ratings(300, 200, 8000, rank=3, random_state=0)
    >>> model = MatrixCompletionRegressor(5, random_state=0).fit(X[:7000], y[:7000])
    >>> test_rmse = np.sqrt(np.mean((model.predict(X[7000:]) - y[7000:]) ** 2))
    >>> bool(test_rmse < 0.95 * np.std(y[7000:]))
    True

    A user the fit never saw gets the bias-only prediction:

    >>> column = int(np.searchsorted(model.column_ids_, 7))
    >>> expected = model.global_mean_ + model.column_bias_[column]
    >>> bool(np.isclose(model.predict([[10**6, 7]])[0], expected))
    True
    """

    _parameter_constraints: dict = {
        **FirstOrderEstimatorMixin._shared_parameter_constraints,
        "n_components": [Interval(Integral, 0, None, closed="left")],
        "init": [StrOptions(starts_for("pair"))],
        "alpha": [Interval(Real, 0, None, closed="left"), StrOptions({"auto"})],
        "fit_biases": ["boolean"],
        "early_stopping": ["boolean", StrOptions({"auto"})],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        n_components=10,
        *,
        optimizer="heavy_ball",
        init="small_random",
        alpha="auto",
        fit_biases=True,
        early_stopping="auto",
        validation_fraction=0.1,
        n_iter_no_change=20,
        learning_rate="auto",
        damping="auto",
        momentum="auto",
        init_scale="auto",
        init_power_iter="auto",
        max_iter=1000,
        tol=1e-7,
        random_state=None,
        verbose=0,
        warm_start=False,
    ):
        self.n_components = n_components
        self.optimizer = optimizer
        self.init = init
        self.alpha = alpha
        self.fit_biases = fit_biases
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.learning_rate = learning_rate
        self.damping = damping
        self.momentum = momentum
        self.init_scale = init_scale
        self.init_power_iter = init_power_iter
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start

    # -- validation -------------------------------------------------------------
    def _validate_X(self, X, y="no_validation", reset=True):
        name = type(self).__name__
        kwargs = {"dtype": None, "ensure_min_samples": 1 if reset else 0}
        if getattr(X, "ndim", 2) == 1 or (
            isinstance(X, (list, tuple)) and X and np.ndim(X[0]) == 0
        ):
            raise ValueError(
                f"{name} takes X of shape (n_ratings, 2): a (row id, column id) "
                "pair per rating; got a 1-D array. Stack the two id columns, "
                "e.g. np.column_stack([users, items])."
            )
        try:
            if isinstance(y, str) and y == "no_validation":
                X = validate_data(self, X, reset=reset, **kwargs)
            else:
                X, y = validate_data(self, X, y, reset=reset, y_numeric=True, **kwargs)
        except TypeError as error:
            if "ambiguous" in str(error):  # pd.NA among the ids
                raise ValueError(
                    f"{name}: X contains missing ids (pd.NA): every rating needs "
                    "a row id and a column id; drop the ratings without one."
                ) from None
            raise
        except ValueError as error:
            text = str(error)
            if "NaN" in text and "Input X" in text:
                raise ValueError(
                    f"{name}: X contains NaN ids: every rating needs a row id "
                    "and a column id; drop the ratings without one."
                ) from None
            if "could not convert" in text:
                raise ValueError(
                    f"{name}: y must hold numeric ratings; {text}."
                ) from None
            raise
        if X.shape[1] != 2:
            raise ValueError(
                f"{type(self).__name__} takes X of shape (n_ratings, 2): a "
                "(row id, column id) pair per rating, e.g. the user and item "
                f"columns of a ratings table; got {X.shape[1]} column(s). "
                "For a matrix with missing entries use ratings_from_sparse."
            )
        if X.dtype.kind == "c":
            raise TypeError(f"{type(self).__name__}: ids cannot be complex numbers.")
        return X, y

    def _early_stopping(self, n):
        """``"auto"``: on from ``EARLY_STOPPING_FROM`` ratings, and with
        ``alpha="auto"`` from ``AUTO_ALPHA_FROM`` (its held-out ratings are
        there anyway)."""
        if self.early_stopping == "auto":
            auto_alpha = isinstance(self.alpha, str)
            return n >= (AUTO_ALPHA_FROM if auto_alpha else EARLY_STOPPING_FROM)
        return bool(self.early_stopping)

    # -- fit ----------------------------------------------------------------------
    @restores_on_failure
    @fits_in_space()
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the model to the ratings.

        Parameters
        ----------
        X : array-like of shape (n_ratings, 2)
            (row id, column id) of every rating: integers or any comparable
            labels (strings, e.g. the two id columns of a DataFrame).
        y : array-like of shape (n_ratings,)
            The ratings.
        sample_weight : array-like of shape (n_ratings,), default=None
            Non-negative weights: a rating of integer weight k counts as k
            copies of it (the counts of the ridge included); 0 drops it.

        Returns
        -------
        self : object
        """
        X, y = self._validate_X(X, y, reset=True)
        self._alpha_path = None
        if y.dtype.kind == "c":
            raise TypeError(f"{type(self).__name__}: ratings cannot be complex.")
        if y.dtype.kind not in "fiub":
            raise ValueError(
                f"{type(self).__name__}: y must hold numeric ratings; got an "
                f"array of {y.dtype}."
            )
        if not np.isfinite(np.asarray(y, dtype=np.float64)).all():
            raise ValueError(
                f"{type(self).__name__}: y contains NaN or infinity; every rating "
                "must be a finite number."
            )
        if self.n_components == 0 and not self.fit_biases:
            raise ValueError(
                "n_components=0 with fit_biases=False leaves nothing to fit (the "
                "model would be the mean rating): use n_components >= 1, or "
                "fit_biases=True for the bias-only model."
            )
        data = {
            "X": X,
            "y": y,
            "metadata": None
            if sample_weight is None
            else {"sample_weight": sample_weight},
        }
        dtype = np.float32 if y.dtype == np.float32 else np.float64
        y = np.asarray(y, dtype=dtype)
        weights, kept = check_sample_weight(sample_weight, X)
        if kept is not None:
            X, y = X[kept], y[kept]
        n = len(y)
        early = self._early_stopping(n)
        auto = isinstance(self.alpha, str)
        if auto and not early and n < AUTO_ALPHA_FROM:
            # too few ratings to hold any out: no ridge
            problem = _Problem(X, y, weights, self)
            return self._run(problem, 0.0, data)
        rng = check_random_state(self.random_state)
        if not (early or auto):
            problem = _Problem(X, y, weights, self)
            return self._run(problem, self.alpha, data)
        n_val = math.ceil(self.validation_fraction * n)
        if n - n_val < 2:
            reason = "early_stopping" if early else "alpha='auto'"
            raise ValueError(
                f"{reason} holds out "
                f"validation_fraction={self.validation_fraction} of {n} ratings, "
                f"which leaves {n - n_val} to fit. Use more ratings, another "
                "validation_fraction, or early_stopping=False with a float alpha."
            )
        if n_val < 10:
            warnings.warn(
                f"{type(self).__name__}: validation_fraction="
                f"{self.validation_fraction} holds out {n_val} of {n} ratings; "
                "a held-out RMSE of so few is noise, and it chooses the ridge "
                "and the iteration. Use a larger validation_fraction, or more "
                "ratings.",
                UserWarning,
                stacklevel=3,
            )
        order = rng.permutation(n)
        held_out, train = np.sort(order[:n_val]), np.sort(order[n_val:])
        w_train = None if weights is None else weights[train]
        w_val = None if weights is None else weights[held_out]
        problem = _Problem(X[train], y[train], w_train, self)
        problem.hold_out(X[held_out], y[held_out], w_val)
        alpha, warm = self.alpha, None
        if auto:
            alpha, warm, chosen = self._select_alpha(problem, data)
        if early and auto and alpha > 0 and not getattr(self, "_skl_callbacks", None):
            # nothing listens: the fit that chose the model is the result (at
            # α = 0, noiseless data, the final fit continues to tol)
            self._publish({**chosen, **self._path_attributes()})
            return self
        if early:
            self._run(problem, alpha, data, warm=warm, early=True)
            if auto and self.n_iter_ == 0:
                # the final fit kept the chosen model as it started: publish
                # the fit that made it (its iterations, curves and held-out
                # scores), the same model
                self._publish({**chosen, **self._path_attributes()})
            return self
        # alpha chosen on held-out ratings, no early stopping: the final fit
        # uses every rating, from the selected model
        if warm is not None:
            warm = problem.user_model(warm)
        full = _Problem(X, y, weights, self)
        if warm is not None:
            warm = full.from_user_model(warm)
        return self._run(full, alpha, data, warm=warm)

    def _run(self, problem, alpha, data, warm=None, early=False, callbacks=True):
        """One fit of ``problem`` with ridge ``alpha`` (early stopping on its
        held-out ratings with ``early``); returns ``self`` fitted."""
        objective = problem.objective(alpha)
        unit = problem.unit
        if warm is None:
            warm = self._warm_factors(problem)
        stopper = None
        if early:
            stopper = problem.stopper(
                objective, self.n_iter_no_change, warm=warm is not None
            )
        d = self.n_components
        width = d + 2 if self.fit_biases else d
        shapes = [(problem.shape[0], width), (problem.shape[1], width)]

        def attributes(factors, fitted):
            return self._set_fitted(factors, fitted, problem, objective, stopper, False)

        return self._fit_factors(
            objective,
            shapes,
            unit,
            attributes,
            data,
            warm=warm,
            stop_test=stopper,
            callbacks=callbacks,
        )

    def _select_alpha(self, problem, data):
        """``alpha="auto"``: the ridge of lowest held-out RMSE on a path.

        The path starts at ``α₀/2``, α₀ the smallest α at which the bias-only
        model is a minimum (``CompletionObjective.alpha_zero``), and steps
        down by √2, each fit warm from the previous one's best iterate with
        early stopping, until the RMSE rises or improves by less than
        ``_FLAT_PATH`` (relative); an error that falls as fast as α itself
        (noiseless data) jumps to α = 0. When the first point is the best the
        path goes up instead (by √2, up to α₀). Returns α, the best
        model's factors (user units) and the attributes its fit published.
        """
        alpha_zero = problem.objective(0.0).alpha_zero()
        if not alpha_zero > 1e-10:  # rounding: the bias-only model is optimal
            alpha_zero = 0.0
        path = []  # (alpha, rmse, factors)
        published = {}  # alpha -> the attributes its fit published
        warm = self._warm_factors(problem)
        # the path's ridges are top·2^(-j/2), j an integer (no rounding drift):
        # top = α₀, or a warm refit's previous α (a tie keeps it)
        top, first = alpha_zero, 2
        previous_alpha = getattr(self, "alpha_", None)
        if warm is not None and previous_alpha is not None and previous_alpha > 0:
            top, first = float(previous_alpha), 0

        def ridge(j):
            return top * 2.0 ** (-j / 2.0)

        def evaluate(alpha, warm):
            # the full patience: with half of it, a first point's held-out
            # curve (a small start leaving its saddles) stopped before its best
            # (test RMSE 0.9954 against 0.9846 on make_ratings(random_state=0))
            self._run(problem, alpha, data, warm=warm, early=True, callbacks=False)
            rmse = float(np.min(self.validation_rmse_))
            path.append((alpha, rmse, self._factors))
            published[alpha] = {key: getattr(self, key) for key in self._published}
            if self.verbose:
                print(
                    f"[{type(self).__name__}] alpha={alpha:.4g}: held-out RMSE "
                    f"{rmse:.6g} after {self.n_iter_} iterations"
                )
            return rmse

        j = first
        alpha = ridge(j) if top > 0 else 0.0
        best = evaluate(alpha, warm)
        while alpha > 0.0 and path[-1][1] > 0.0:
            previous = path[-1][1]
            scores = [rmse for _, rmse, _ in path]
            # twice a fifth lower or more: the ridge's own bias, no noise floor
            ratios = [b / a for a, b in zip(scores[-3:-1], scores[-2:])]
            noiseless = len(ratios) == 2 and max(ratios) <= _NOISELESS_RATIO
            j += 1
            alpha = ridge(j)
            if noiseless or alpha < 1e-3 * alpha_zero:
                alpha = 0.0
            rmse = evaluate(alpha, path[-1][2])
            if rmse >= best or rmse > previous * (1.0 - _FLAT_PATH):
                break
            best = rmse
        if top > 0 and min(path, key=lambda entry: entry[1]) is path[0]:
            j, warm = first, path[0][2]
            while ridge(j - 1) <= alpha_zero * (1 + 1e-9) and j > 0:
                j -= 1  # the optimum is above the start
                if evaluate(ridge(j), warm) >= best:
                    break
                best, warm = path[-1][1], path[-1][2]
        alpha, _, factors = min(path, key=lambda entry: entry[1])
        self._alpha_path = (
            np.asarray([a for a, _, _ in path]),
            np.asarray([r for _, r, _ in path]),
        )
        return alpha, factors, published[alpha]

    def _path_attributes(self):
        """``alphas_`` and ``alpha_scores_`` of the last ``alpha="auto"`` path."""
        alphas, scores = self._alpha_path
        return {"alphas_": alphas, "alpha_scores_": scores}

    def _warm_factors(self, problem):
        """With ``warm_start``, the previous fit's model in ``problem``'s
        coordinates (rows and columns matched by id, new ones at 0), or None."""
        if not self.warm_start or not hasattr(self, "row_factors_"):
            return None
        if self.row_factors_.shape[1] != self.n_components or (
            self.fit_biases != self._fit_biases
        ):
            return None
        return problem.from_user_model(
            {
                "row_ids": self.row_ids_,
                "column_ids": self.column_ids_,
                "L": self.row_factors_,
                "R": self.column_factors_,
                "b": self.row_bias_,
                "c": self.column_bias_,
            }
        )

    def _set_fitted(self, factors, fitted, problem, objective, stopper, publish=True):
        """Publish the model of ``factors`` (this fit's coordinates, user
        units), or with ``publish=False`` return its attributes."""
        model = problem.user_model(factors)
        dtype = objective.dtype
        attributes = {
            **fitted,
            "_factors": factors,
            "_fit_biases": bool(self.fit_biases),
            "alpha_": objective.alpha,
            "global_mean_": float(problem.unit.response_to_user(objective.mean)),
            "row_factors_": model["L"].astype(dtype),
            "column_factors_": model["R"].astype(dtype),
            "row_bias_": model["b"].astype(dtype),
            "column_bias_": model["c"].astype(dtype),
            "row_ids_": model["row_ids"],
            "column_ids_": model["column_ids"],
            "validation_rmse_": None,
            "best_iteration_": None,
        }
        if stopper is not None:
            attributes["validation_rmse_"] = np.asarray(stopper.scores)
            attributes["best_iteration_"] = fitted["n_iter_"]
        if isinstance(self.alpha, str) and self._alpha_path is not None:
            attributes.update(self._path_attributes())
        return self._publish(attributes, publish=publish)

    # -- prediction ---------------------------------------------------------------
    def _model_factors(self):
        """The model's factors ``([L, b, 1], [R, 1, c])`` (user units): what
        :mod:`skfactor.callbacks` measures."""
        check_is_fitted(self)
        ones_r = np.ones((len(self.row_bias_), 1), dtype=self.row_bias_.dtype)
        ones_c = np.ones((len(self.column_bias_), 1), dtype=self.column_bias_.dtype)
        return (
            np.hstack([self.row_factors_, self.row_bias_[:, None], ones_r]),
            np.hstack([self.column_factors_, ones_c, self.column_bias_[:, None]]),
        )

    @method_in_space()
    def predict(self, X):
        """The model at (row id, column id) pairs.

        A row or column id the fit did not see contributes nothing but the
        other's bias: an unknown row gets ``global_mean_ + column_bias_``
        (and vice versa), a pair of unknown ids ``global_mean_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, 2)

        Returns
        -------
        y : ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        X, _ = self._validate_X(X, reset=False)
        rows = _Ids(self.row_ids_).encode(X[:, 0])
        cols = _Ids(self.column_ids_).encode(X[:, 1])
        for codes, values, fitted, side in (
            (rows, X[:, 0], self.row_ids_, "row"),
            (cols, X[:, 1], self.column_ids_, "column"),
        ):
            _warn_on_foreign_ids(codes, values, fitted, side)
        dtype = self.row_factors_.dtype
        out = np.full(len(X), self.global_mean_, dtype=dtype)
        known_row, known_col = rows >= 0, cols >= 0
        out[known_row] += self.row_bias_[rows[known_row]]
        out[known_col] += self.column_bias_[cols[known_col]]
        both = known_row & known_col
        if both.any():
            out[both] += rowwise_dots(
                self.row_factors_, self.column_factors_, rows[both], cols[both]
            )
        return out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.categorical = True
        tags.regressor_tags.poor_score = True
        return tags
