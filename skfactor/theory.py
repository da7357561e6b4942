r"""The NAG paper's frozen-X theory curves, to compare measured fits with.

From the unbalanced start (:math:`X_0` large, :math:`Y_0 = 0`), the first factor
barely moves, and fitting :math:`A \approx X Y^\top` is the least-squares problem
in :math:`Y` with design :math:`X_0` (ALGORITHMS.md §3). Its loss curve has a
closed form: with the eigenpairs :math:`(\lambda_i, u_i)` of :math:`X_0 X_0^\top`
on its range and :math:`e_i = \lVert u_i^\top A \rVert^2`, gradient descent with
step :math:`\eta` gives

.. math::

    f_k = \tfrac12 \sum_i (1 - \eta \lambda_i)^{2k} e_i + f_\perp

and Nesterov's method with constant momentum :math:`\beta` gives

.. math::

    f_k &= \tfrac12 \sum_i s_{i,k}^2 e_i + f_\perp, \\
    s_{i,k+1} &= (1 - \eta \lambda_i)
                 \bigl((1 + \beta) s_{i,k} - \beta s_{i,k-1}\bigr), \qquad
    s_{i,0} = s_{i,-1} = 1;

:math:`f_\perp = \tfrac12 \lVert (I - P) A \rVert_F^2` is the part of :math:`A`
outside the range of :math:`X_0`, which no :math:`Y` reaches. The measured curve
follows it while :math:`X` stays near :math:`X_0`: closely for a large
``init_scale`` (the paper's regime).
"""

from numbers import Integral, Real

import numpy as np
import scipy.linalg
from sklearn.utils import check_array
from sklearn.utils._param_validation import Interval, validate_params

__all__ = ["frozen_loss_curve"]


@validate_params(
    {
        "A": ["array-like"],
        "X0": ["array-like"],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "n_iter": [Interval(Integral, 1, None, closed="left")],
        "momentum": [Interval(Real, 0, 1, closed="left")],
    },
    prefer_skip_nested_validation=True,
)
def frozen_loss_curve(A, X0, learning_rate, n_iter, momentum=0.0):
    r"""Loss :math:`\tfrac12 \lVert X_0 Y_k^\top - A \rVert_F^2` of GD or NAG in
    :math:`Y` with :math:`X` frozen at :math:`X_0`.

    The theory curve of the NAG paper (Xu, Wang, Zhao, Ward & Tao, 2024)
    for a fit from :math:`Y_0 = 0`: see the module docstring for the formulas.
    Compare it with ``loss_curve_`` of :class:`~skfactor.FactorizationNAG`
    with ``optimizer="gd"`` or ``"nag"``, the same ``momentum`` and
    ``init="unbalanced"``, whose start :math:`X_0` a
    :class:`~skfactor.callbacks.Recorder` with ``keep_iterates=[0]`` records.

    Parameters
    ----------
    A : array-like of shape (m, n)
        The data.
    X0 : array-like of shape (m, d)
        The frozen first factor.
    learning_rate : float > 0
        The step :math:`\eta` (``learning_rate_`` of the fit).
    n_iter : int >= 1
        Iterations to predict.
    momentum : float in [0, 1), default=0.0
        Nesterov's constant :math:`\beta` (0 is gradient descent).

    Returns
    -------
    loss : ndarray of shape (n_iter,)
        The predicted loss after iterations :math:`1, \dots,` ``n_iter``,
        like ``loss_curve_``.

    Examples
    --------
    >>> import numpy as np
    >>> from skfactor.theory import frozen_loss_curve
    >>> A = np.diag([2.0, 1.0])
    >>> X0 = np.eye(2)
    >>> frozen_loss_curve(A, X0, learning_rate=0.5, n_iter=2)
    array([0.625  , 0.15625])
    """
    for name, value in (("n_iter", n_iter), ("learning_rate", learning_rate)):
        if isinstance(value, (bool, np.bool_)):
            raise TypeError(f"{name} must be a number, not a bool; got {value!r}.")
    A = check_array(A, dtype=np.float64, input_name="A")
    X0 = check_array(X0, dtype=np.float64, input_name="X0")
    if X0.shape[0] != A.shape[0]:
        raise ValueError(
            f"X0 has {X0.shape[0]} rows but A has {A.shape[0]}: X0 is the first "
            "factor of A ≈ X Yᵀ, of shape (n_rows of A, width)."
        )
    U, s, _ = scipy.linalg.svd(X0, full_matrices=False)
    keep = s > max(X0.shape) * np.finfo(float).eps * s[0] if s.size and s[0] else []
    U, lam = U[:, keep], s[keep] ** 2
    energy = np.square(U.T @ A).sum(axis=1)  # eᵢ = ‖uᵢᵀA‖²
    outside = max(0.5 * (np.sum(A * A) - energy.sum()), 0.0)
    q = 1.0 - learning_rate * lam
    beta = float(momentum)
    s_prev = np.ones_like(q)
    s_cur = np.ones_like(q)
    out = np.empty(n_iter)
    for k in range(n_iter):
        s_cur, s_prev = q * ((1.0 + beta) * s_cur - beta * s_prev), s_cur
        out[k] = 0.5 * np.dot(s_cur * s_cur, energy) + outside
    return out
