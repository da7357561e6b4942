"""FactorizationNAG: low-rank factorization A ≈ X Yᵀ as a transformer."""

import math
from numbers import Integral, Real

import numpy as np
import scipy.linalg
import scipy.sparse as sp
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from ._array_api import Space, fits_in_space, host_twin, method_in_space, to_host
from ._base import FirstOrderEstimatorMixin, restores_on_failure
from ._dask import check_dask_array, compute, is_dask, persist, summarize
from ._initializers import starts_for
from ._linalg import (
    column_variance_sum,
    factor_eigh,
    numpy_dtype,
    product_svd,
    residual_sq_norm,
    scale_exponent,
    thin_qr,
)
from ._objectives import FactorizationObjective, MaskedFactorizationObjective
from ._objectives._dask import (
    DaskFactorizationObjective,
    DaskMaskedFactorizationObjective,
)
from ._objectives._factorization import (
    DeviceFactorizationObjective,
    DeviceMaskedFactorizationObjective,
)
from ._objectives._models import model_for
from ._threads import single_threaded
from ._units import DataUnit

#: Rows per block of the masked least-squares solve in ``transform``.
_MASKED_BLOCK_ELEMENTS = 1 << 20


def _has_nan(A):
    """Whether a dense or sparse array holds a NaN (one reduction, no copy)."""
    if is_dask(A):  # one pass on the scheduler
        import dask.array as da

        return bool(compute(da.isnan(A).any())[0])
    if Space.of(A) is not None:  # a device array: one reduction there
        import array_api_compat

        xp = array_api_compat.array_namespace(A)
        return bool(xp.any(xp.isnan(A)))
    data = A.data if sp.issparse(A) else A
    return bool(data.size) and bool(np.isnan(np.add.reduce(data, axis=None)))


def _native(estimator, X):
    """Whether ``FactorizationNAG`` fits an array of another library on its
    device: dense data (NaN entries are fitted on the host, see ``_fit``)."""
    return True


def _device_asymmetry(A):
    """``_asymmetry`` of a dense device ``A`` without NaN: ``max|A − Aᵀ|`` and
    ``max|A|``, a block of rows at a time on the device."""
    xp = Space.of(A).xp
    n = A.shape[0]
    rows = max(1, (1 << 22) // max(n, 1))
    defect = xp.zeros((), dtype=A.dtype, device=A.device)
    for start in range(0, n, rows):
        stop = min(start + rows, n)
        block = A[start:stop, :] - A[:, start:stop].T
        defect = xp.maximum(defect, xp.max(xp.abs(block)))
    return float(defect), float(xp.max(xp.abs(A))), True


#: Relative asymmetry ``max|A − Aᵀ| / max|A|`` that ``symmetric=True``
#: accepts as rounding (and removes, fitting ``(A + Aᵀ)/2``): float64 1e-10,
#: float32 1.2e-4 (1000·eps).
def symmetry_tolerance(dtype):
    return max(1e-10, 1e3 * float(np.finfo(dtype).eps))


def _asymmetry(A):
    """``(max|A − Aᵀ|, max|A|, NaN pattern symmetric)`` over the entries
    observed on both sides, a block of rows at a time for dense ``A``."""
    if Space.of(A) is not None:
        return _device_asymmetry(A)
    if sp.issparse(A):
        A = A.tocsr()
        nan = A.copy()
        nan.data = np.isnan(A.data).astype(np.int8)
        nan.eliminate_zeros()
        pattern = (nan != nan.T).nnz == 0
        filled = A.copy()
        filled.data = np.where(np.isnan(A.data), 0, A.data)
        # with a symmetric NaN pattern, zero-filled entries cancel in pairs
        D = filled - filled.T
        top = float(np.abs(filled.data).max(initial=0.0))
        defect = float(abs(D).max()) if D.nnz else 0.0
        return defect, top, pattern
    n = A.shape[0]
    rows = max(1, (1 << 20) // max(n, 1))
    exact = all(  # the common case, one comparison pass
        np.array_equal(A[start : start + rows], A[:, start : start + rows].T, True)
        for start in range(0, n, rows)
    )
    if exact:
        return 0.0, 0.0, True
    defect = top = 0.0
    pattern = True
    for start in range(0, n, rows):
        stop = min(start + rows, n)
        a, b = A[start:stop], A[:, start:stop].T
        missing_a, missing_b = np.isnan(a), np.isnan(b)
        if not np.array_equal(missing_a, missing_b):
            pattern = False
        both = ~(missing_a | missing_b)
        diff = np.abs(np.where(both, a - b, 0))
        defect = max(defect, float(diff.max(initial=0.0)))
        top = max(top, float(np.abs(np.where(missing_a, 0, a)).max(initial=0.0)))
    return defect, top, pattern


def _diagonal_missing(A):
    """Whether each diagonal entry of a square ``A`` is NaN."""
    diagonal = A.diagonal()
    return np.isnan(np.asarray(diagonal))


def _mirror_missing(A):
    """A copy of square ``A`` whose NaN entries with an observed mirror take
    the mirror's value (an implicit zero of a sparse matrix is observed)."""
    if sp.issparse(A):
        A = A.tocoo()
        nan = np.isnan(A.data)
        rows, cols = A.row[nan], A.col[nan]
        mirror = np.asarray(A.tocsr()[cols, rows]).ravel()
        data = A.data.copy()
        data[np.flatnonzero(nan)] = mirror  # NaN where the mirror is NaN too
        return sp.csr_matrix((data, (A.row, A.col)), shape=A.shape)
    A = A.copy()
    rows, cols = np.nonzero(np.isnan(A))
    A[rows, cols] = A[cols, rows]
    return A


def symmetric_data(A, name="FactorizationNAG", argument="X", alternative=None):
    """``A`` checked for ``symmetric=True``: square and symmetric up to
    :func:`symmetry_tolerance` (relative to ``max|A|``) on the entries
    observed on both sides. A missing (NaN) entry whose mirror is observed
    takes the mirror's value: for a symmetric matrix that entry is known, so
    only pairs missing on both sides stay missing. Returns ``A`` itself when
    it is exactly symmetric with a symmetric NaN pattern, else a new array
    (mirrored, then ``(A + Aᵀ)/2``); raises a ``ValueError`` otherwise,
    naming ``argument`` and ending with ``alternative`` (default: "use
    symmetric=False")."""
    what = (
        f"{name}: symmetric=True fits {argument} ≈ Z Zᵀ"
        if alternative is None
        else f"{name} works on a symmetric {argument}"
    )
    if alternative is None:
        alternative = "use symmetric=False for a matrix that is not symmetric"
    if A.shape[0] != A.shape[1]:
        raise ValueError(
            f"{what} and needs a square matrix (a kernel, a covariance, the "
            f"adjacency of an undirected graph); got shape {A.shape}. Or "
            f"{alternative}."
        )
    defect, top, pattern = _asymmetry(A)
    if not pattern:
        A = _mirror_missing(A)
        defect, top, pattern = _asymmetry(A)
    tol = symmetry_tolerance(numpy_dtype(A.dtype))
    if defect > tol * top:
        raise ValueError(
            f"{what}, but max|{argument} − {argument}ᵀ| = {defect:.3g} is "
            f"{defect / top:.3g} times max|{argument}| = {top:.3g}, above the "
            f"tolerance {tol:.3g} (relative; {numpy_dtype(A.dtype).name}). "
            f"Symmetrize it first, e.g. ({argument} + {argument}.T) / 2 (a "
            f"k-nearest-neighbour graph is not symmetric), or {alternative}."
        )
    if defect == 0:
        return A
    if sp.issparse(A):
        return ((A + A.T) * np.asarray(0.5, dtype=A.dtype)).tocsr()
    if Space.of(A) is not None:
        return (A + A.T) * 0.5
    return (A + A.T) * np.asarray(0.5, dtype=A.dtype)


def _masked_coefficients(A, Y, full_map, ridge=0.0):
    """Row-wise (ridge) least squares on the observed entries of ``A``.

    For each row ``a``, ``z = argmin ‖P_o(a − Y z)‖² + ridge·‖z‖²`` with
    ``o`` its observed (non-NaN) entries: the minimum-norm solution
    ``(Y_oᵀY_o + ridge·I)^† Y_oᵀ a_o``.
    Rows without NaN use ``full_map`` (the same solution, ``(Yᵀ)^†``). The
    others are solved together, a block of rows at a time: the Gram matrices
    ``Σ_{j∈o} y_j y_jᵀ`` of all rows of a block come from one product of the
    mask with the rows of ``Y ⊗ Y``, then one batched eigendecomposition;
    eigenvalues below ``max(n, d)·eps·λ_max`` count as zero, so a row with
    fewer observed entries than ``d`` gets the minimum-norm fit and a row
    with none gets 0.
    """
    Z = np.empty((A.shape[0], Y.shape[1]), dtype=Y.dtype)
    if sp.issparse(A):
        A = A.tocsr()
        nan_rows = np.repeat(np.arange(A.shape[0]), np.diff(A.indptr))[np.isnan(A.data)]
        incomplete = np.zeros(A.shape[0], dtype=bool)
        incomplete[nan_rows] = True
    else:
        incomplete = np.isnan(A).any(axis=1)
    complete = ~incomplete
    if complete.any():
        Z[complete] = np.asarray(A[complete] @ full_map)
    if not incomplete.any():
        return Z
    n, d = Y.shape
    outer = (Y[:, :, None] * Y[:, None, :]).reshape(n, d * d)
    eps = np.finfo(Y.dtype).eps * max(n, d)
    where = np.flatnonzero(incomplete)
    step = max(1, _MASKED_BLOCK_ELEMENTS // max(n, d * d))
    for start in range(0, len(where), step):
        rows = where[start : start + step]
        block = A[rows]
        block = block.toarray() if sp.issparse(block) else block
        observed = ~np.isnan(block)
        G = (observed.astype(Y.dtype) @ outer).reshape(len(rows), d, d)
        b = np.where(observed, block, 0) @ Y
        with single_threaded():  # a batch of d×d problems
            w, V = np.linalg.eigh(G)
        w += ridge
        top = w[:, -1:]
        inv = np.zeros_like(w)
        keep = w > eps * top if ridge == 0 else w > 0
        inv[keep] = 1.0 / w[keep]
        coef = np.einsum("rij,ri->rj", V, b) * inv
        Z[rows] = np.einsum("rij,rj->ri", V, coef)
    return Z


def _least_squares_map(Y, ridge=0.0):
    """``(Yᵀ)^†`` of shape (n, d): ``A @ it`` solves ``min_Z ‖A − Z Yᵀ‖``.

    Computed from a thin QR of Y and the pseudo-inverse of its d×d factor;
    singular values below
    ``max(n, d)·eps·s₁`` are treated as zero, so the map stays bounded when
    ``YᵀY`` is singular (over-parameterized fits). With ``ridge > 0`` it is
    ``Y (YᵀY + ridge·I)⁻¹``, the solution of the ridge problem
    ``min_Z ‖A − Z Yᵀ‖² + ridge·‖Z‖²`` that the penalized fit's ``X`` solves.
    """
    if ridge > 0:
        d = Y.shape[1]
        gram = Y.T @ Y + ridge * np.eye(d, dtype=Y.dtype)
        return np.linalg.solve(gram, Y.T).T.astype(Y.dtype, copy=False)
    # (Yᵀ)^† = Q (Rᵀ)^† for Y = QR: a d×d pseudo-inverse instead of an
    # SVD of Y, with the same cutoff relative to s₁(Y)
    n, d = Y.shape
    Q, R = thin_qr(Y)
    cutoff = max(n, d) * float(np.finfo(Y.dtype).eps)
    with single_threaded():
        inverse = scipy.linalg.pinv(R.T.astype(np.float64), rtol=cutoff)
    return (Q @ inverse.astype(Y.dtype, copy=False)).astype(Y.dtype, copy=False)


#: The solver's last loss gives ``reconstruction_err_`` when its rounding
#: error is below this fraction of it (float64 fits to a relative error above
#: about 5e-4); otherwise the residual is summed exactly.
_SOLVER_LOSS_PRECISION = 1e-9


def _solver_error(objective, fitted, unit):
    """``‖P_Ω(XYᵀ − A)‖_F / unit.response`` from the final iterate's recorded
    loss, or None when it carries a penalty or too much rounding."""
    if objective.penalty or not len(fitted["loss_curve_"]):
        return None
    loss = unit.loss_to_internal(float(fitted["loss_curve_"][-1]))
    if not objective.loss_rounding(loss) <= _SOLVER_LOSS_PRECISION * loss:
        return None
    return math.sqrt(loss / objective.model.half)  # h‖M − A‖², h = ½ or ¼


class FactorizationNAG(
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    FirstOrderEstimatorMixin,
    BaseEstimator,
):
    r"""Low-rank factorization :math:`A \approx XY^\top` trained by first-order methods.

    Minimizes :math:`f(X, Y) = \tfrac12 \lVert X Y^\top - A \rVert_F^2` over
    :math:`X` (n_samples, :math:`d`) and :math:`Y` (n_features, :math:`d`),
    :math:`d` = ``n_components``, with a choice of optimizer and
    initialization. :math:`d` larger than the rank of :math:`A`
    (over-parameterization) is normal use: the default, Nesterov's accelerated
    gradient from the unbalanced start (large :math:`X_0`, :math:`Y_0 = 0`),
    converges linearly there, at a rate that depends on :math:`\sqrt{\kappa}`
    where gradient descent depends on :math:`\kappa`.

    Gradients and the loss come from the products ``A @ Y`` and ``A.T @ X``
    only (two per iteration for every optimizer); :math:`A` is never densified
    and no n_samples × n_features temporary is formed.

    Parameters
    ----------
    n_components : int, default=2
        Width :math:`d` of the factors. Any :math:`d \ge 1` is accepted,
        including ``n_components > min(n_samples, n_features)``, where the model
        can reproduce :math:`A` exactly (the extra columns are redundant, which
        is harmless here).

    symmetric : bool, default=False
        Fit the symmetric model :math:`A \approx X X^\top` with a single
        factor :math:`X` (n_samples, :math:`d`) to a symmetric :math:`A` (a
        kernel, a covariance, the adjacency of an undirected graph),
        minimizing :math:`\tfrac14 \lVert X X^\top - A \rVert_F^2` with one
        product ``A @ X`` per iteration (see *Symmetric model* in the Notes).
        :math:`A` must be square and symmetric up to
        :math:`\max|A - A^\top| \le \tau \max|A|`, with
        :math:`\tau = 10^{-10}` in float64 and :math:`1000\,\epsilon` in
        float32 (within it, :math:`(A + A^\top)/2` is fitted), compared where
        both mirror entries are observed; a NaN whose mirror is observed takes
        the mirror's value, so only pairs missing on both sides are missing.
        The optimizers are ``"gd"``, ``"nag"``,
        ``"heavy_ball"``, ``"precgd"`` and ``"scaledgd"`` (with one factor
        ``"altgd"`` would be ``"gd"`` and ``"apgd"`` has no partner factor:
        both raise); the starts all but ``"ward_kolda"`` and ``"balanced"``,
        or ``init=(X0,)``.

    optimizer : str, default="nag"
        The update rule, one of the seven below; each class in
        ``skfactor._optimizers`` states its equations.

        - ``"gd"``: :math:`F^+ = F - \eta \nabla f(F)`.
        - ``"altgd"``: :math:`X^+ = X - \eta \nabla_X f(X, Y)`, then
          :math:`Y^+ = Y - \eta \nabla_Y f(X^+, Y)`.
        - ``"nag"``: :math:`W = F_k + \beta_k (F_k - F_{k-1})`,
          :math:`F_{k+1} = W - \eta \nabla f(W)`.
        - ``"heavy_ball"``:
          :math:`F_{k+1} = F_k - \eta \nabla f(F_k) + \beta_k (F_k - F_{k-1})`.
        - ``"precgd"``:

          .. math::

              X^+ &= X - \eta \, \nabla_X f \, (Y^\top Y + \delta_k I)^{-1}, \\
              Y^+ &= Y - \eta \, \nabla_Y f \, (X^\top X + \delta_k I)^{-1},

          with :math:`\delta_k = \lVert X Y^\top - A \rVert_F`.
        - ``"scaledgd"``: the same with a fixed damping :math:`\lambda`
          (``damping``).
        - ``"apgd"``: alternating,

          .. math::

              X^+ &= X - \eta \, \nabla_X f(X, Y) \, (Y^\top Y)^\dagger, \\
              Y^+ &= Y - \eta \, \nabla_Y f(X^+, Y) \, (X^{+\top} X^+)^\dagger

          (:math:`\eta = 1` is alternating least squares).

    init : str or tuple of two arrays, default="unbalanced"
        The start: one of the named starts below, or explicit factors. With
        :math:`\Phi` Gaussian of shape (n_features, :math:`d`), of
        :math:`\mathcal{N}(0, 1/d)` entries:

        - ``"unbalanced"``: :math:`X_0 = c_0 \sqrt{s_1}\, Q`, :math:`Y_0 = 0`,
          where :math:`Q` holds the top-:math:`d` Ritz vectors of the range of
          :math:`(A A^\top)^q A \Phi` (:math:`q` = ``init_power_iter``,
          default 4; :math:`\Phi` with 10 extra columns) and :math:`s_1` the
          top Ritz value: with the automatic step the first iteration is the
          randomized SVD's projection :math:`Q Q^\top A`.
          ``init_power_iter=0`` is the NAG paper's start
          :math:`X_0 = c_0\, A\Phi / \sqrt{s_1(A\Phi)}`. :math:`c_0` =
          ``init_scale``, default 3; with a constant ``momentum`` use at
          least 10 (a smaller :math:`c_0` can diverge), and 100 for the
          paper's rates (``momentum="paper"``).
        - ``"ward_kolda"``:
          :math:`X_0 = A\Phi_1 / (\sqrt{\eta}\, C \sigma_1)`,
          :math:`Y_0 = \sqrt{\eta}\, D \sigma_1 \Phi_2`
          (``init_scale=(C, D)``, default ``(1, 0.01)``; a float sets
          :math:`C`).
        - ``"small_random"``, ``"gaussian"``: :math:`\alpha \sqrt{\sigma_1}\, G`
          for both factors, :math:`G` with :math:`\mathcal{N}(0, 1/\mathrm{rows})`
          entries; :math:`\alpha` = ``init_scale`` (1e-4 and 1).
        - ``"orthogonal"``: :math:`c \sqrt{\sigma_1}\, Q` with :math:`Q`
          semi-orthogonal.
        - ``"spectral"``: :math:`X_0 = U S^{1/2}`, :math:`Y_0 = V S^{1/2}` from
          the top-:math:`d` SVD of :math:`A`.
        - ``"nystrom"``: the unbalanced construction with :math:`c_0 = 1`
          (``init_power_iter=0``: :math:`X_0 = A\Phi`, the paper's).
        - ``"balanced"``: a random rank-:math:`d` matrix split evenly,
          :math:`X_0 = c \sqrt{\sigma_1}\, U S^{1/2}`,
          :math:`Y_0 = c \sqrt{\sigma_1}\, V S^{1/2}` (:math:`S` normalised to
          :math:`s_1 = 1`).
        - ``(X0, Y0)``: explicit arrays of shapes (n_samples, d) and
          (n_features, d).

        :math:`\sigma_1` is the largest singular value of :math:`A` (a few
        power iterations).

    learning_rate : float or "auto", default="auto"
        The step size :math:`\eta > 0` of the update equations, in the data's
        units. ``"auto"``: ``0.5`` for the preconditioned optimizers (0.5 over
        the largest observed fraction of a row or column with missing values);
        :math:`1/s_1(X_0)^2` for the unbalanced start; :math:`1/\sigma_1` for
        the Ward–Kolda start with ``"altgd"`` (the pairing of the paper);
        otherwise

        .. math::

            \eta = 1 / \max\bigl(\lVert X_0 \rVert_2^2 + \lVert Y_0 \rVert_2^2
                   + \lVert X_0 Y_0^\top - A \rVert_F,\ 3 \sigma_1\bigr).

        Every rule is scale-equivariant: fitting :math:`cA` gives the
        :math:`\sqrt{c}`-scaled factors, the same iterations, and
        ``learning_rate_`` times :math:`1/c` (gd, altgd, nag, heavy_ball) or
        unchanged (precgd, scaledgd, apgd).
        If an automatic step diverges (with momentum, the factors' imbalance
        can drift on noise-dominated data) the fit goes back to its best
        iterate and halves the step, at most 8 times; a float step that
        diverges raises :class:`~skfactor.exceptions.DivergenceError`, naming
        a smaller value to try. The value finally used is ``learning_rate_``.

    momentum : float in [0, 1), "auto" or "paper", default="auto"
        :math:`\beta` for ``"nag"`` and ``"heavy_ball"`` (ignored by the
        others). A float is a constant momentum. ``"paper"`` is the NAG
        paper's constant

        .. math::

            \beta = \frac{\sqrt{\kappa_{\mathrm{eff}}} - 1}
                         {\sqrt{\kappa_{\mathrm{eff}}} + 1}, \qquad
            \kappa_{\mathrm{eff}} = s_1(X_0)^2 / s_{\hat r}(X_0)^2,

        from the singular values of :math:`X_0` above its numerical rank
        :math:`\hat r` (the conditioning of the least-squares problem in
        :math:`Y` while :math:`X` stays near :math:`X_0`); it needs a start
        whose :math:`Y_0` is 0 (``init="unbalanced"``, or custom factors). The
        paper's whole method is ``optimizer="nag", momentum="paper",
        init="unbalanced", init_power_iter=0, init_scale=100`` with
        ``learning_rate="auto"`` (:math:`\eta = 1/s_1(X_0)^2`): iterations to
        a given accuracy then grow like :math:`\kappa` (GD: :math:`\kappa^2`),
        as the paper proves. ``"auto"`` uses Nesterov's schedule

        .. math::

            \beta_k = \frac{t_k - 1}{t_{k+1}}, \qquad
            t_{k+1} = \frac{1 + \sqrt{1 + 4 t_k^2}}{2},

        with gradient restart (:math:`t_k = 1` whenever
        :math:`\langle \nabla f(W), F_{k+1} - F_k \rangle > 0`), which needs
        no knowledge of the condition number and is faster from the default
        start; see :ref:`papers` for both, measured.

    damping : float >= 0 or "auto", default="auto"
        For ``"precgd"``: a fixed :math:`\delta` instead of
        :math:`\lVert P_\Omega(X Y^\top - A) \rVert_F / \sqrt{\beta}`
        (:math:`\beta = 1` without missing values). For ``"scaledgd"``:
        :math:`\lambda`; ``"auto"`` is :math:`10^{-5} \sigma_1(A)`. In the
        units of the factors' Grams (those of :math:`A`). Ignored by the
        other optimizers.

    init_scale : float > 0, tuple or "auto", default="auto"
        The scale constant of the named start (see ``init``). For
        ``init="ward_kolda"`` a pair ``(C, D)`` sets both of the paper's
        constants (a float sets :math:`C`, with :math:`D = 0.01`).

    init_power_iter : int >= 0 or "auto", default="auto"
        Power iterations that sharpen the sketch of the ``"unbalanced"`` and
        ``"nystrom"`` starts (ignored by the others). ``"auto"`` is 4, which
        costs 10 products of :math:`A` with ``n_components + 10`` columns,
        about what ``TruncatedSVD``'s default costs, and puts the first
        iterate within 1e-3 of ``TruncatedSVD``'s error on real data; 0 is
        the papers' plain sketch :math:`A\Phi` (the setting of their
        analysis).

    alpha : float >= 0, default=0.0
        Ridge penalty on the factors, relative to the data:
        :math:`\tfrac12\, \mathtt{alpha}\, \sigma_1(A)
        (\lVert X \rVert_F^2 + \lVert Y \rVert_F^2)` is added to the loss. At a
        minimum this equals the nuclear-norm penalty
        :math:`\mathtt{alpha}\, \sigma_1(A) \lVert X Y^\top \rVert_*`: the
        fitted singular values are those of :math:`A` shrunk by
        :math:`\mathtt{alpha}\, \sigma_1(A)`, and directions weaker than that
        are dropped. It guards against over-fitting the observed entries when
        values are missing. ``loss_curve_`` then includes the penalty.
        :math:`\sigma_1` is estimated by power iterations (of the zero-filled
        data over the observed fraction, with missing values).

    max_iter : int, default=1000
        Maximum number of iterations.

    tol : float >= 0, default=1e-4
        Stop when the relative error
        :math:`\lVert X Y^\top - A \rVert_F / \lVert A \rVert_F` falls below
        ``tol``, or when the loss is flat at a minimum. In the first 20
        iterations: the best loss's decrease over the last half of the run,
        projected over at least 10 more iterations, is below ``tol`` times
        the loss (the default start stops so after two or three iterations).
        Later: over the last two windows of 10 iterations the loss moved by
        less than ``tol`` times the smaller of the loss and the progress
        since the start. Or it moved by less than its rounding error. Saddle
        plateaus (the small start crosses one per singular value) never stop
        a fit. ``stop_reason_`` says which rule
        ended it; ``tol=0`` runs exactly ``max_iter`` iterations.

    random_state : int, RandomState instance or None, default=None
        Seeds the sketches and random starts.

    verbose : int, default=0
        Print progress (1: at iterations 1, 2, 4, … and every 100; 2: every
        iteration).

    warm_start : bool, default=False
        Continue from the fitted factors. If the number of samples changed,
        :math:`X` restarts at the least-squares coefficients of the new data
        on the fitted components. Momentum restarts from zero, and
        ``learning_rate="auto"`` keeps the step of the previous fit
        (``learning_rate_``), so fitting twice with ``max_iter=k`` runs the
        same GD iterates as one fit with ``2k``. When ``n_components`` or the
        number of features changed, the fit starts afresh from ``init`` (the
        one warm-start policy of every estimator: continue only from factors
        of the shapes the parameters and data ask for).

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
        The fitted model :math:`X Y^\top = U \operatorname{diag}(s) V^\top` in
        its SVD form, as :class:`~sklearn.decomposition.TruncatedSVD` has it:
        the rows of :math:`V^\top`, orthonormal and ordered by decreasing
        singular value, signs fixed as ``svd_flip(u_based_decision=False)``
        does (the largest entry of each row is positive). Computed after the
        fit at :math:`O((m + n) d^2)` (QR of both factors, SVD of the
        :math:`d \times d` core). With
        ``n_components > min(n_samples, n_features)`` the extra rows are 0.
    singular_values_ : ndarray of shape (n_components,)
        :math:`s`, decreasing.
    explained_variance_ : ndarray of shape (n_components,)
        The variance (float64) of each column of ``embedding_``: the
        training rows' coefficients on the components, as TruncatedSVD
        defines it.
    explained_variance_ratio_ : ndarray of shape (n_components,)
        ``explained_variance_`` over the summed variances of the columns of
        ``X`` (observed entries only, when some are missing).
    embedding_ : ndarray of shape (n_samples, n_components)
        :math:`U \operatorname{diag}(s)`: the fitted model's coordinates of
        the training rows, so that ``embedding_ @ components_`` is the model.
        ``transform`` of the training data is the least-squares :math:`Z`
        instead, which coincides at a stationary point.
    eigenvalues_ : ndarray of shape (n_components,)
        ``symmetric=True`` only: the eigenvalues :math:`w` of the fitted
        model :math:`X X^\top = V \operatorname{diag}(w) V^\top`,
        decreasing (float64, :math:`\ge 0`); ``components_`` holds
        :math:`V^\top`, ``singular_values_`` equals ``eigenvalues_`` and
        ``embedding_`` is :math:`V \operatorname{diag}(\sqrt{w})`.
    factor_ : ndarray of shape (n_samples, n_components)
        ``symmetric=True`` only: the optimizer's own :math:`X` (in place of
        ``left_factor_`` and ``right_factor_``).
    left_factor_ : ndarray of shape (n_samples, n_components)
        The optimizer's own :math:`X`.
    right_factor_ : ndarray of shape (n_features, n_components)
        The optimizer's own :math:`Y` (:math:`X Y^\top` is the same model in
        another basis). Both factors are for research use: comparing iterates
        with a reference loop, balancedness, warm starts (which continue from
        them).
    n_components_ : int
        :math:`d`.
    n_iter_ : int
        Iterations run.
    loss_curve_ : ndarray of shape (`n_iter_`,)
        :math:`\tfrac12 \lVert X_k Y_k^\top - A \rVert_F^2` after each
        iteration :math:`k = 1, \dots,` ``n_iter_``
        (:math:`\tfrac14 \lVert X_k X_k^\top - A \rVert_F^2` with
        ``symmetric=True``; plus the penalty with ``alpha``; accurate to relative
        errors of about 1e-15: the loss switches to an exact blocked residual
        when the fast expansion would lose digits).
    time_curve_ : ndarray of shape (`n_iter_`,)
        Seconds since the solver started, at each entry of ``loss_curve_``
        (what :class:`~skfactor.plotting.ConvergenceDisplay` plots against
        wall time).
    reference_loss_ : float
        Loss of the zero model, :math:`\tfrac12 \lVert A \rVert_F^2`
        (:math:`\tfrac14 \lVert A \rVert_F^2` with ``symmetric=True``). The
        relative error ``np.sqrt(loss_curve_ / reference_loss_)`` (here
        :math:`\lVert X Y^\top - A \rVert_F / \lVert A \rVert_F`) is what
        ``tol`` is compared with.
    reconstruction_err_ : float
        :math:`\lVert A - X Y^\top \rVert_F` of the final factors, computed
        exactly.
    converged_ : bool
        Whether a stopping rule (not ``max_iter``) ended the fit.
    stop_reason_ : {"tol", "plateau", "precision", "optimal", "max_iter", "callback"}
        What ended the fit: the relative error fell below ``tol``; the loss
        was flat at a minimum above ``tol`` (noise, or too small a rank); the
        loss stopped changing beyond its rounding error; the zero start was
        already a minimizer (the data's gradient vanishes there);
        ``max_iter``; or a callback (``set_callbacks``, e.g.
        :class:`skfactor.callbacks.EarlyStopping`).
    learning_rate_ : float
        The step size :math:`\eta` used (after any backtracking), in the
        data's units.
    damping_ : float or "auto"
        The damping used by scaledgd/precgd (``"auto"`` for precgd's
        iterate-dependent :math:`\delta_k`).
    momentum_ : float, "auto" or None
        The momentum used by nag/heavy_ball: the constant :math:`\beta`
        (``"paper"`` resolved), ``"auto"`` for the restarted schedule; None
        for the optimizers without momentum.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when ``A`` has string column names.

    See Also
    --------
    sklearn.decomposition.TruncatedSVD : Exact truncated SVD.
    sklearn.decomposition.NMF : Non-negative factorization.

    Notes
    -----
    ``transform(A_new)`` returns the least-squares coefficients of each row
    on the fitted model's row space, in the basis of ``components_``: for
    complete rows ``A_new @ components_.T`` (what TruncatedSVD returns), in
    general :math:`A_{\mathrm{new}} (Y^\top)^\dagger K` with
    :math:`K = Y^\top V` (``components_`` is :math:`V^\top`), stable when
    :math:`Y^\top Y` is singular and the ridge solution when ``alpha > 0``.
    ``inverse_transform(Z) = Z @ components_``, and ``score`` is the negative
    mean squared reconstruction error of ``inverse_transform(transform(A))``.

    **Missing entries.** NaN marks a missing entry, in dense input or stored in
    a sparse matrix. The implicit zeros of a sparse matrix are observed zeros.
    The fit minimizes :math:`\tfrac12 \lVert P_\Omega(X Y^\top - A) \rVert_F^2`
    over the observed set :math:`\Omega` with any optimizer and start.
    Sketching starts use the zero-filled data divided by the observed
    fraction, and ``init="spectral"`` needs far fewer iterations here than
    the unbalanced default. An iteration costs the two products with the
    zero-filled data plus :math:`O(d)` per missing entry for the model at the
    missing entries, with no :math:`m \times n` temporary; the zero-filled
    copy of dense data is the one extra data-sized array.
    ``loss_curve_``, ``reconstruction_err_`` and ``score`` count observed
    entries only.
    ``transform`` solves each row's least squares over its observed
    entries. It is vectorized over rows, and a row with nothing observed gets
    0. A row or a column with no observed entry in ``fit`` is an error, and so
    is a mask with fewer observations than a rank-:math:`d` model has degrees
    of freedom (unless ``alpha > 0``). For imputation, see
    :class:`LowRankImputer`.

    **Symmetric model** (``symmetric=True``). The loss and its gradient are

    .. math::

        f(X) = \tfrac14 \bigl(\lVert A \rVert_F^2
               - 2 \langle A X, X \rangle + \lVert X^\top X \rVert_F^2\bigr),
        \qquad \nabla f(X) = X (X^\top X) - A X,

    one product with :math:`A` per iteration, half the asymmetric cost. The
    model :math:`X X^\top` is positive semidefinite: for an indefinite
    :math:`A` the minimizer is the best rank-:math:`d` approximation of
    :math:`A`'s positive part (its top positive eigenpairs), and a negative
    semidefinite :math:`A` gives the zero model (at once, with
    ``stop_reason_ = "optimal"``, from a zero start; the factor decays
    towards it from the others). The sketch starts (``"unbalanced"``,
    ``"nystrom"``) keep the sketch's directions of largest algebraic Ritz
    value, but a sketch sees the largest :math:`|\lambda|` first: when large
    negative eigenvalues dominate :math:`A`, ``init="gaussian"`` reaches the
    small positive ones sooner. ScaledGD(λ)'s automatic
    :math:`\lambda` is then at least :math:`|\lambda_{\min}(A)|`: along a
    negative eigenvector a smaller one makes the step overshoot. The loss
    floor of a matrix that is not of rank :math:`d` is high, and ``tol``
    compares changes of the loss with the loss: eigenvalues are then
    resolved to about :math:`\sqrt{\mathtt{tol}}` relative to the
    residual; :func:`skfactor.eigsh` stops on the eigen-residuals instead.
    ``components_`` are orthonormal eigenvectors, by decreasing eigenvalue
    (``eigenvalues_``); with the small or moderate random start and
    ``optimizer="gd"`` this is the retraction-free eigenspace method of
    Chen, Chen, Elmasri & Sun: no orthonormalization while it runs, one at
    the end (see :func:`skfactor.eigsh`).
    ``transform(B)``, for ``B`` of shape (n_new, n_samples) holding a kernel's
    rows for new points against the training points, is the Nyström
    out-of-sample extension :math:`B X (X^\top X)^\dagger` expressed in the
    eigenbasis, :math:`B V \operatorname{diag}(w)^{-1/2}` (directions of zero
    eigenvalue get 0): the training rows map to ``embedding_`` at a
    stationary point, as in :class:`~sklearn.decomposition.KernelPCA` with a
    precomputed kernel (without its centring). ``inverse_transform(Z)`` is
    :math:`Z \operatorname{diag}(\sqrt{w}) V^\top`. The estimator is tagged
    ``pairwise``: cross-validation fits on ``K[train][:, train]`` and scores
    on ``K[test][:, train]``. Missing entries (pairs NaN on both sides) are
    handled as in the rectangular model.

    References
    ----------
    Z. Xu, Y. Wang, T. Zhao, R. Ward, M. Tao. Provable acceleration of
    Nesterov's accelerated gradient for rectangular matrix factorization and
    linear neural networks. NeurIPS 2024.

    R. Ward, T. G. Kolda. Convergence of alternating gradient descent for
    matrix factorization. NeurIPS 2023.

    H. Chen, X. Chen, M. Elmasri, Q. Sun. Fast global convergence of
    gradient descent for low-rank matrix approximation. 2023.

    Examples
    --------
    >>> import numpy as np
    >>> from skfactor import FactorizationNAG
    >>> from skfactor.datasets import make_low_rank_matrix
    >>> A, U, s, V = make_low_rank_matrix(60, 40, rank=3, condition_number=10,
    ...                                   random_state=0)
    >>> model = FactorizationNAG(n_components=5, tol=1e-10, max_iter=5000,
    ...                          random_state=0).fit(A)
    >>> model.components_.shape
    (5, 40)
    >>> bool(model.reconstruction_err_ / np.linalg.norm(A) < 1e-9)
    True
    >>> model.transform(A[:2]).shape
    (2, 5)

    The symmetric model of a kernel matrix, and its eigenvalues:

    >>> from sklearn.metrics.pairwise import rbf_kernel
    >>> K = rbf_kernel(np.random.RandomState(0).randn(100, 3))
    >>> sym = FactorizationNAG(4, symmetric=True, optimizer="precgd", tol=1e-12,
    ...                        random_state=0).fit(K)
    >>> bool(np.allclose(sym.eigenvalues_, np.linalg.eigvalsh(K)[::-1][:4],
    ...                  rtol=1e-6))
    True
    >>> sym.transform(K[:2]).shape
    (2, 4)
    """

    #: ``fit`` takes dask arrays where their chunks are (:mod:`skfactor._dask`).
    _fits_dask = True

    _parameter_constraints: dict = {
        **FirstOrderEstimatorMixin._shared_parameter_constraints,
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "symmetric": ["boolean"],
        "init": [StrOptions(starts_for("pair", "symmetric")), tuple, list],
        "alpha": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(
        self,
        n_components=2,
        *,
        symmetric=False,
        optimizer="nag",
        init="unbalanced",
        learning_rate="auto",
        momentum="auto",
        damping="auto",
        init_scale="auto",
        init_power_iter="auto",
        alpha=0.0,
        max_iter=1000,
        tol=1e-4,
        random_state=None,
        verbose=0,
        warm_start=False,
    ):
        self.n_components = n_components
        self.symmetric = symmetric
        self.optimizer = optimizer
        self.init = init
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.damping = damping
        self.init_scale = init_scale
        self.init_power_iter = init_power_iter
        self.alpha = alpha
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start

    def _validate(self, A, reset):
        # NaN marks a missing entry; infinities are still errors
        if is_dask(A):  # checked lazily: entries where the fit reads them
            return check_dask_array(self, A, reset=reset)
        space = Space.of(A, type(self).__name__)
        xp = np if space is None else space.xp
        return validate_data(
            self,
            A,
            accept_sparse=("csr", "csc") if space is None else False,
            dtype=[xp.float64, xp.float32],
            ensure_all_finite="allow-nan",
            reset=reset,
        )

    def _masked_objective(self, A, offsets=False, model=None):
        """The masked objective, after checking the mask can carry the model."""
        space = Space.of(A)
        if space is not None:  # the iterations run on the data's device
            objective = DeviceMaskedFactorizationObjective(
                A, space, alpha=self.alpha, offsets=offsets, model=model
            )
        else:
            objective = MaskedFactorizationObjective(
                A, alpha=self.alpha, offsets=offsets, model=model
            )
        n = A.shape[1]
        empty_rows = np.flatnonzero(objective.row_missing == n)
        return self._check_mask(objective, A, (len(empty_rows), empty_rows))

    def _check_mask(self, objective, A, empty_rows):
        """Raise unless the observed entries can carry the model: no empty
        row (``empty_rows``: their count and first indices) or column, and
        enough entries for its degrees of freedom. Returns the objective."""
        m, n = A.shape
        d = self.n_components
        empty_cols = np.flatnonzero(objective.col_missing == m)
        for what, (count, empty) in (
            ("row", empty_rows),
            ("column", (len(empty_cols), empty_cols)),
        ):
            if count:
                listed = ", ".join(map(str, empty[:5])) + (", …" if count > 5 else "")
                raise ValueError(
                    f"{count} {what}(s) of X have no observed entry (index "
                    f"{listed}): nothing can be learned about them. Drop them, or "
                    "use LowRankImputer, which handles empty rows and columns."
                )
        observed = objective.n_observed
        if objective.n_factors == 1:
            # a symmetric model: the upper triangle (diagonal included) counts
            diagonal = n - int(np.count_nonzero(_diagonal_missing(A)))
            observed = (observed + diagonal) // 2
            needed = d * n - d * (d - 1) // 2 if d < n else n * (n + 1) // 2
            what = f"symmetric rank-{d} model of a {n}x{n} matrix"
        else:
            needed = d * (m + n - d) if d < min(m, n) else m * n
            what = f"rank-{d} model of a {m}x{n} matrix"
        # with a penalty the minimizer is determined whatever the width
        if not self.alpha and observed < needed:
            raise ValueError(
                f"X has {observed} observed entries"
                + (" (upper triangle)" if objective.n_factors == 1 else "")
                + f", fewer than the {needed} degrees of freedom of a {what}, "
                "so the missing entries are not determined. Lower "
                "n_components, set alpha > 0 (a ridge penalty), or observe more "
                "entries."
            )
        return objective

    def _warm_factors(self, A):
        """The factors a warm refit continues from: the fitted ones when
        ``n_components`` and the features are unchanged (X restarts at the
        least-squares fit of new samples); None (a fresh start) otherwise."""
        if not (self.warm_start and hasattr(self, "_factors")):
            return None
        if len(self._factors) != (1 if self.symmetric else 2):
            return None  # the other model: start afresh
        if self._factors[-1].shape != (A.shape[1], self.n_components):
            return None
        dtype = numpy_dtype(A.dtype)  # the factors are on the host here
        if self.symmetric:
            return [self.factor_.astype(dtype, copy=True)]
        Y = self.right_factor_.astype(dtype, copy=True)
        if self.left_factor_.shape[0] == A.shape[0]:
            X = self.left_factor_.astype(dtype, copy=True)
        else:
            ridge = getattr(self, "_ridge", 0.0)
            A = to_host(A)  # new samples on a device: their fit on the host
            X = _masked_coefficients(A, Y, _least_squares_map(Y, ridge), ridge)
        return [X, Y]

    @restores_on_failure
    @fits_in_space(native=_native)
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Fit the factorization to ``X`` (the matrix :math:`A`).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The matrix :math:`A` to factor. float32 input is fitted in float32.
            NaN entries are missing (see Notes).
        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._fit(X)

    def _fit(self, X, stop_test=None):
        """``fit``, with an extra stopping test ``stop_test(iterate) -> bool``
        on the solver's iterates (see ``_base._fit_factors``): what
        :func:`skfactor.eigsh` stops on."""
        A = self._validate(X, reset=True)
        if is_dask(A):
            return self._fit_dask(A, stop_test)
        space = Space.of(A)
        if space is not None and _has_nan(A):
            # a symmetric matrix's missing entries take their mirrors'
            # values: prepared on the host; and on torch's CPU the host's
            # gather of the missing entries is faster than masked blocks
            if self.symmetric or space.prefers_host():
                A, space = to_host(A), None
        if self.symmetric:
            A = symmetric_data(A, type(self).__name__)
        # data too large or too small for its dtype is fitted as A / 4**k
        # (exact); the unit converts everything back
        unit, A_fit, _ = DataUnit.from_data(A)
        missing = _has_nan(A)
        model = model_for(2, symmetric=self.symmetric)
        if missing:
            objective = self._masked_objective(A_fit, model=model)
        elif space is not None:  # the iterations run on the data's device
            objective = DeviceFactorizationObjective(
                A_fit, space, alpha=self.alpha, model=model
            )
        else:
            objective = FactorizationObjective(A_fit, alpha=self.alpha, model=model)
        d = self.n_components
        m, n = A.shape
        warm = self._warm_factors(A)
        ridge = unit.damping_to_user(objective.penalty)
        if self.symmetric:
            shapes = [(n, d)]

            def attributes(factors, fitted):
                error = _solver_error(objective, fitted, unit)
                if error is None and space is not None:
                    sq = residual_sq_norm(A, *factors * 2, scale=unit.response)
                    error = math.sqrt(sq)
                factors = [objective.host(F) for F in factors]
                return self._set_fitted_symmetric(
                    factors, fitted, A, ridge, unit.response, missing, error, False
                )

        else:
            shapes = [(m, d), (n, d)]
            total = column_variance_sum(A)

            def attributes(factors, fitted):
                error = _solver_error(objective, fitted, unit)
                if error is None and space is not None:
                    # the exact residual where the data are
                    sq = residual_sq_norm(
                        A, *factors, scale=unit.response, ignore_nan=missing
                    )
                    error = math.sqrt(sq)
                return self._set_fitted(
                    [objective.host(F) for F in factors],
                    fitted,
                    A,
                    ridge,
                    unit.response,
                    missing,
                    error,
                    False,
                    total,
                )

        return self._fit_factors(
            objective,
            shapes,
            unit,
            attributes,
            {"X": A},
            warm=warm,
            stop_test=stop_test,
        )

    def _fit_dask(self, A, stop_test=None):
        """``_fit`` of a dask array: the data stay on the scheduler, the row
        factor in chunks beside theirs (see :mod:`skfactor._dask`)."""
        name = type(self).__name__
        if self.symmetric:
            raise ValueError(
                f"{name}(symmetric=True) does not fit dask arrays yet: pass a "
                "numpy array or a sparse matrix, or fit the pair model "
                "(symmetric=False)."
            )
        summary = summarize(A)
        missing = summary["missing"] > 0
        unit, A_fit, _ = DataUnit.from_data(A, top=summary["top"])
        scaled = dict(summary, sq_norm=summary["sq_norm"] / unit.response**2)
        if missing:
            objective = DaskMaskedFactorizationObjective(
                A_fit, scaled, alpha=self.alpha
            )
            empty = (objective.n_empty_rows, objective.empty_rows)
            self._check_mask(objective, A, empty)
        else:
            objective = DaskFactorizationObjective(A_fit, scaled, alpha=self.alpha)
        d = self.n_components
        m, n = A.shape
        warm = self._warm_factors(A)
        ridge = unit.damping_to_user(objective.penalty)
        total = column_variance_sum(A)

        def attributes(factors, fitted):
            error = _solver_error(objective, fitted, unit)
            return self._set_fitted(
                factors, fitted, A, ridge, unit.response, missing, error, False, total
            )

        return self._fit_factors(
            objective,
            [(m, d), (n, d)],
            unit,
            attributes,
            {"X": A},
            warm=warm,
            stop_test=stop_test,
        )

    def _set_fitted(
        self,
        factors,
        fitted,
        A,
        ridge,
        scale=1.0,
        missing=False,
        error=None,
        publish=True,
        total=None,
    ):
        """Publish the model of ``factors`` (user units) fitted to ``A``, in
        its SVD form (see ``product_svd``) and as the raw factors (or, with
        ``publish=False``, return those attributes).
        ``error``: ``‖P_Ω(XYᵀ − A)‖_F/scale`` and ``total``: the sum of
        ``A``'s column variances, when already known (one pass over ``A``
        each, which the callbacks' iterates do not repeat)."""
        X_fit, Y_fit = factors
        if error is None:
            sq = residual_sq_norm(A, X_fit, Y_fit, scale=scale, ignore_nan=missing)
            error = float(np.sqrt(sq))
        U, s, Vt, K = product_svd(X_fit, Y_fit)
        embedding = U * s.astype(U.dtype)
        # TruncatedSVD's definitions, on the fitted rows: the variance of each
        # component's coefficients over that of the data (observed entries)
        if is_dask(embedding):  # kept on the workers, chunked like the rows
            embedding, X_fit = persist(embedding, X_fit)
            (explained,) = compute(embedding.astype(np.float64).var(axis=0))
        else:
            explained = np.var(embedding, axis=0, dtype=np.float64)
        if total is None:
            total = column_variance_sum(A)
        ratio = explained / total if total > 0 else np.zeros_like(explained)
        raw_map = _least_squares_map(Y_fit, ridge)
        return self._publish(
            {
                **fitted,
                "components_": np.ascontiguousarray(Vt),
                "singular_values_": s,
                # float64: variances of float32 data far from 1 overflow it
                "explained_variance_": explained,
                "explained_variance_ratio_": ratio,
                "embedding_": embedding,
                "left_factor_": X_fit,
                "right_factor_": Y_fit,
                "_factors": [X_fit, Y_fit],
                "n_components_": Y_fit.shape[1],
                "reconstruction_err_": scale * error,
                # the X-subproblem of the penalized loss, in the data's units
                "_ridge": float(ridge),
                "_raw_map": raw_map,
                "_to_canonical": K,
                "_transform_map": raw_map @ K,
                "_inverse_map": np.ascontiguousarray(Vt),
            },
            publish=publish,
        )

    def _set_fitted_symmetric(
        self,
        factors,
        fitted,
        A,
        ridge,
        scale=1.0,
        missing=False,
        error=None,
        publish=True,
    ):
        """Publish the symmetric model ``X Xᵀ`` (user units) fitted to ``A``
        in its eigen form ``V diag(w) Vᵀ`` (see ``factor_eigh``) and as the
        raw factor (or, with ``publish=False``, return those attributes).

        ``transform`` is the Nyström extension ``B X (XᵀX)^†`` in the
        eigenbasis: with ``X = F O`` for ``F = V diag(√w)`` and ``O``
        orthogonal, ``K = Xᵀ V diag(w)^{-½}`` maps the raw coefficients to the
        canonical ones, so that ``transform(B) = B V diag(w)^{-½}``."""
        (X_fit,) = factors
        if error is None:
            sq = residual_sq_norm(A, X_fit, X_fit, scale=scale, ignore_nan=missing)
            error = float(np.sqrt(sq))
        V, w = factor_eigh(X_fit)
        n = X_fit.shape[0]
        # eigenvalues beyond the numerical rank have no direction to extend
        cutoff = (
            max(n, len(w)) * float(np.finfo(X_fit.dtype).eps) * w[:1].max(initial=0.0)
        )
        root = np.sqrt(w)
        inverse_root = np.where(w > cutoff, 1.0 / np.where(w > cutoff, root, 1.0), 0)
        K = (X_fit.T @ V) * inverse_root.astype(X_fit.dtype)
        raw_map = _least_squares_map(X_fit, ridge)
        return self._publish(
            {
                **fitted,
                "components_": np.ascontiguousarray(V.T),
                "eigenvalues_": w,
                "singular_values_": w.copy(),
                "embedding_": V * root.astype(V.dtype),
                "factor_": X_fit,
                "_factors": [X_fit],
                "n_components_": X_fit.shape[1],
                "reconstruction_err_": scale * error,
                "_ridge": float(ridge),
                "_raw_map": raw_map,
                "_to_canonical": K,
                "_transform_map": raw_map @ K,
                "_inverse_map": np.ascontiguousarray(
                    root.astype(V.dtype)[:, None] * V.T
                ),
            },
            publish=publish,
        )

    def fit_transform(self, X, y=None):
        """Fit, then return ``transform(X)``.

        Equal to ``fit(X).transform(X)``: the least-squares coefficients of
        ``X`` on the fitted components (see ``embedding_`` for the optimizer's
        own :math:`X`).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : None
            Ignored.

        Returns
        -------
        Z : ndarray of shape (n_samples, n_components)
        """
        return self.fit(X).transform(X)

    @method_in_space(native=lambda self, X: True)
    def transform(self, X):
        r"""Least-squares coefficients of ``X`` on the components.

        Row by row, the minimum-norm solution of
        :math:`\min_Z \lVert X - Z Y^\top \rVert_F` (stable when
        :math:`Y^\top Y` is singular) expressed on ``components_``:
        ``X @ components_.T`` for complete rows of an unpenalized fit. Rows
        with NaN are solved over their observed entries.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        Z : ndarray of shape (n_samples, n_components)
        """
        check_is_fitted(self)
        return self._coefficients(self._validate(X, reset=False))

    def _coefficients(self, A):
        """``transform`` of validated data: the least-squares coefficients on
        the raw factor ``Y``, expressed on the canonical components."""
        space = getattr(self, "_array_space", None)
        if space is not None and Space.of(A) is not None:
            if _has_nan(A):  # rows with missing entries: solved on the host
                return space.from_host(host_twin(self)._coefficients(to_host(A)))
            return A @ space.xp.astype(self._transform_map, A.dtype)
        if _has_nan(A):
            # the row-wise normal equations square the data: solve them in
            # the units a fit of A would use, so that float32 data far from 1
            # neither overflows nor underflows
            unit, A_fit, _ = DataUnit.from_data(A, squared=False)
            Y = self._factors[-1].astype(A.dtype, copy=False)
            (Y_fit,) = unit.factors_to_internal([Y])
            raw_map = self._raw_map.astype(A.dtype, copy=False)
            full_fit = raw_map * np.asarray(unit.factor, dtype=A.dtype)
            ridge = unit.damping_to_internal(self._ridge)
            Z = _masked_coefficients(A_fit, Y_fit, full_fit, ridge)
            Z = unit.factors_to_user([Z])[0]
            return Z @ self._to_canonical.astype(A.dtype, copy=False)
        return np.asarray(A @ self._transform_map.astype(A.dtype, copy=False))

    @method_in_space(native=lambda self, X: True)
    def inverse_transform(self, X):
        """Map coefficients back to feature space: ``Z @ components_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_components)

        Returns
        -------
        A_hat : ndarray of shape (n_samples, n_features)
        """
        check_is_fitted(self)
        space = Space.of(X, type(self).__name__)
        xp = np if space is None else space.xp
        Z = check_array(X, dtype=[xp.float64, xp.float32])
        if Z.shape[1] != self.n_components_:
            raise ValueError(
                f"X has {Z.shape[1]} columns but inverse_transform expects "
                f"n_components_={self.n_components_} (the output of transform)."
            )
        if space is not None:
            return Z @ xp.astype(self._inverse_map, Z.dtype)
        return Z @ self._inverse_map.astype(Z.dtype, copy=False)

    @method_in_space()
    def score(self, X, y=None):
        r"""Negative mean squared reconstruction error (higher is better).

        :math:`-\lVert X - Z V^\top \rVert_F^2` divided by ``X.size``, with
        :math:`Z` = ``transform(X)`` and :math:`V^\top` = ``components_``,
        computed a block of rows at a time. Usable directly by
        ``GridSearchCV``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : None
            Ignored.

        Returns
        -------
        score : float
        """
        check_is_fitted(self)
        A = self._validate(X, reset=False)
        Z = self._coefficients(A)
        Y = self._inverse_map.T.astype(A.dtype, copy=False)
        scale = 4.0 ** scale_exponent(A)
        missing = _has_nan(A)
        observed = A.shape[0] * A.shape[1]
        if missing:
            data = A.data if sp.issparse(A) else A
            observed -= int(np.count_nonzero(np.isnan(data)))
        if observed == 0:
            raise ValueError(
                "X has no observed entry (every entry is NaN): there is nothing "
                "to score."
            )
        sse = residual_sq_norm(A, Z, Y, scale=scale, ignore_nan=missing)
        return -sse / observed * scale**2

    def _model_factors(self):
        """The fitted model as factors ``(L, R)``, ``M = L Rᵀ`` in the user's
        units (``A ≈ L Rᵀ``); what :mod:`skfactor.callbacks` measures."""
        check_is_fitted(self)
        if len(self._factors) == 1:
            return self.factor_, self.factor_
        return self.left_factor_, self.right_factor_

    def _entries(self, rows, cols, X=None):
        """The model at entries ``(rows[t], cols[t])`` of the fitted matrix."""
        L, R = self._model_factors()
        return np.einsum("ij,ij->i", L[rows], R[cols])

    @property
    def _n_features_out(self):
        return self.components_.shape[0]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.input_tags.allow_nan = True
        # a symmetric fit takes a kernel: cross-validation splits its rows and
        # columns alike (fit on K[train][:, train], transform K[test][:, train])
        tags.input_tags.pairwise = bool(self.symmetric)
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
