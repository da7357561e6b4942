"""``eigsh``: top eigenpairs of a symmetric matrix by factored gradient descent."""

import math
import warnings
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_array, check_random_state

from ._factorization import FactorizationNAG, symmetric_data
from ._linalg import spectral_norm, thin_qr
from ._threads import single_threaded

#: The optimizers ``eigsh`` runs (those of the symmetric model).
METHODS = ("gd", "nag", "heavy_ball", "precgd", "scaledgd")

#: Iterations between two residual checks: at least this many, and a tenth
#: of those run so far (a check costs about one iteration).
_CHECK_EVERY = 20


def _rayleigh_ritz(A, X):
    """Ritz pairs of ``A`` on the range of ``X``: ``Q = qr(X)``, the
    eigenpairs ``(w, W)`` of ``QᵀAQ`` (decreasing), ``V = QW``, and the
    residual norms ``‖A vᵢ − wᵢ vᵢ‖``."""
    Q, _ = thin_qr(X)
    AQ = np.asarray(A @ Q)
    H = Q.T @ AQ
    with single_threaded():
        w, W = np.linalg.eigh(0.5 * (H + H.T))
    order = np.argsort(w)[::-1]
    w, W = w[order], W[:, order]
    V = Q @ W
    R = AQ @ W - V * w
    return w, V, np.sqrt(np.sum(R * R, axis=0))


def eigsh(
    A,
    k=6,
    *,
    tol=1e-8,
    method="gd",
    init="gaussian",
    max_iter=20000,
    random_state=None,
    return_eigenvectors=True,
):
    r"""Largest eigenpairs of a symmetric matrix, by factored gradient descent.

    The retraction-free method of Chen, Chen, Elmasri & Sun: gradient descent
    on :math:`f(X) = \tfrac14 \lVert X X^\top - A \rVert_F^2` over
    :math:`X \in \mathbb{R}^{n \times k}`, one product :math:`AX` per
    iteration and no orthonormalization while it runs (the column space of
    :math:`X` converges to the top-:math:`k` eigenspace of :math:`A`). Every
    few iterations the current :math:`X` is orthonormalized once,
    :math:`X = QR`, and the :math:`k \times k` eigenproblem of
    :math:`Q^\top A Q` gives Ritz pairs :math:`(w_i, v_i)`; the run stops
    when every residual :math:`\lVert A v_i - w_i v_i \rVert_2` is below
    ``tol`` times :math:`\lVert A \rVert_2`. The eigenvalues are then
    accurate to about ``tol**2`` relative to the gaps.

    This is :class:`FactorizationNAG` with ``symmetric=True`` (warm refits of
    the same estimator) followed by a Rayleigh–Ritz step; use the estimator
    directly for its attributes, callbacks or convergence curve.

    The factored model :math:`X X^\top` is positive semidefinite, so it finds
    the top eigenpairs of the *positive part* of :math:`A`. When :math:`A`
    has fewer than ``k`` positive eigenvalues, ``eigsh`` solves for
    :math:`A + sI` with :math:`s = 1.01 \lVert A \rVert_2` (positive definite,
    the same eigenvectors) and returns the eigenvalues of :math:`A`; the
    shift shrinks the relative gaps, so that run is slower.

    Parameters
    ----------
    A : {ndarray, sparse matrix} of shape (n, n)
        Symmetric (to the tolerance of :class:`FactorizationNAG`'s
        ``symmetric=True``), finite.
    k : int, default=6
        Number of eigenpairs, ``1 <= k <= n``.
    tol : float > 0, default=1e-8
        Relative residual :math:`\max_i \lVert A v_i - w_i v_i \rVert /
        \lVert A \rVert_2` to reach.
    method : {"gd", "nag", "heavy_ball", "precgd", "scaledgd"}, default="gd"
        The optimizer. ``"gd"`` is the paper's method; ``"precgd"`` and
        ``"scaledgd"`` (step 0.5) contract the error by a factor close to
        :math:`\tfrac12 (1 + \lambda_{k+1}/\lambda_k)` per iteration,
        like half a step of subspace iteration; ``"nag"`` accelerates
        ``"gd"``.
    init : str or ndarray of shape (n, k), default="gaussian"
        The start, as ``FactorizationNAG(symmetric=True, init=...)``:
        ``"gaussian"`` (the paper's moderate random start),
        ``"small_random"``, ``"nystrom"`` (a sketch of :math:`A` sharpened
        by 4 power iterations), ``"spectral"``, ``"unbalanced"``,
        ``"orthogonal"``, or explicit factors.
    max_iter : int, default=20000
        Maximum number of gradient iterations in all.
    random_state : int, RandomState instance or None, default=None
        Seeds the random start.
    return_eigenvectors : bool, default=True
        Return the eigenvectors too.

    Returns
    -------
    w : ndarray of shape (k,)
        The eigenvalues, in ascending order (as
        ``scipy.sparse.linalg.eigsh(A, k, which="LA")``).
    v : ndarray of shape (n, k)
        Orthonormal eigenvectors, ``v[:, i]`` for ``w[i]``; only with
        ``return_eigenvectors=True``.

    Warns
    -----
    ConvergenceWarning
        When ``max_iter`` iterations leave a residual above ``tol`` (the
        achieved residual is reported; the pairs are returned all the same).

    See Also
    --------
    FactorizationNAG : ``symmetric=True`` fits :math:`A \approx XX^\top`.
    scipy.sparse.linalg.eigsh : Lanczos (ARPACK).
    scipy.sparse.linalg.lobpcg : Block preconditioned conjugate gradients.

    References
    ----------
    H. Chen, X. Chen, M. Elmasri, Q. Sun. Fast global convergence of gradient
    descent for low-rank matrix approximation. 2023.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.sparse.linalg import eigsh as arpack
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.metrics.pairwise import rbf_kernel
    >>> from skfactor import eigsh
    >>> K = rbf_kernel(load_digits().data[:500], gamma=1e-3)
    >>> w, v = eigsh(K, k=4, random_state=0)
    >>> w_ref = arpack(K, k=4, which="LA")[0]
    >>> bool(np.allclose(w, w_ref, rtol=1e-10))
    True
    """
    if isinstance(k, (bool, np.bool_)) or not isinstance(k, Integral) or k < 1:
        raise ValueError(f"eigsh: k must be a positive int; got {k!r}.")
    if isinstance(tol, (bool, np.bool_)) or not isinstance(tol, Real) or not tol > 0:
        raise ValueError(f"eigsh: tol must be a positive float; got {tol!r}.")
    if method not in METHODS:
        raise ValueError(
            f"eigsh: method must be one of {', '.join(map(repr, METHODS))}; got "
            f"{method!r}."
        )
    if (
        isinstance(max_iter, (bool, np.bool_))
        or not isinstance(max_iter, Integral)
        or max_iter < 1
    ):
        raise ValueError(f"eigsh: max_iter must be a positive int; got {max_iter!r}.")
    A = check_array(
        A,
        accept_sparse=("csr", "csc"),
        dtype=[np.float64, np.float32],
        ensure_all_finite=True,
        ensure_min_samples=1,
        input_name="A",
    )
    A = symmetric_data(A, "eigsh")
    n = A.shape[0]
    if k > n:
        raise ValueError(f"eigsh: k={k} exceeds the matrix's size n={n}.")
    random_state = check_random_state(random_state)
    seed = random_state.randint(np.iinfo(np.int32).max)

    def solve(B, shift):
        """Iterate on ``B = A + shift·I`` until its Ritz residuals are below
        tol·‖B‖₂; None, without a shift, as soon as the k-th Ritz value is
        not positive (``A``'s positive part may have a rank below k)."""
        norm = spectral_norm(B, np.random.RandomState(0))
        estimator = FactorizationNAG(
            k,
            symmetric=True,
            optimizer=method,
            init=init,
            tol=0.0,
            random_state=seed,
            warm_start=True,
        )
        done = 0
        while True:
            estimator.max_iter = max(1, min(max_iter - done, _chunk(done)))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                estimator.fit(B)
            done += estimator.n_iter_
            w, V, residual = _rayleigh_ritz(B, estimator.factor_)
            norm = max(norm, float(np.abs(w).max(initial=0.0)))
            worst = float(residual.max(initial=0.0)) / norm if norm > 0 else 0.0
            if worst <= tol or done >= max_iter:
                return w - shift, V, worst, done
            if not shift and w[-1] <= tol * norm:
                return None

    result = solve(A, 0.0)
    if result is None:
        # A + sI is positive definite for s > ‖A‖₂, with A's eigenvectors
        shift = 1.01 * spectral_norm(A, np.random.RandomState(0))
        identity = sp.identity(n, dtype=A.dtype, format="csr")
        if sp.issparse(A):
            B = (A + identity * np.asarray(shift, dtype=A.dtype)).tocsr()
        else:
            B = A + np.eye(n, dtype=A.dtype) * np.asarray(shift, dtype=A.dtype)
        result = solve(B, shift)
    w, V, achieved, done = result
    if achieved > tol:
        warnings.warn(
            f"eigsh: {done} iterations (max_iter={max_iter}) left a relative "
            f"residual of {achieved:.2e}, above tol={tol:g}. Increase max_iter, "
            "or try method='precgd' or init='nystrom'.",
            ConvergenceWarning,
            stacklevel=2,
        )
    order = np.arange(k)[::-1]  # ascending, as scipy's eigsh
    if not return_eigenvectors:
        return w[order]
    return w[order], np.ascontiguousarray(V[:, order])


def _chunk(done):
    return max(_CHECK_EVERY, math.ceil(0.1 * done))
