"""``eigsh``: top eigenpairs of a symmetric matrix by factored gradient descent."""

import math
import warnings
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_array, check_random_state

from ._array_api import Space, to_host
from ._factorization import FactorizationNAG, symmetric_data
from ._initializers import starts_for
from ._linalg import max_abs, numpy_dtype, spectral_norm, thin_qr
from ._objectives._factorization import _DeviceData
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
    tol=None,
    method="nag",
    init="nystrom",
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
    20 iterations (or a tenth of those run, when more) a copy of the
    current :math:`X` is orthonormalized, the iterate itself left as it is:
    :math:`X = QR`, and the :math:`k \times k` eigenproblem of
    :math:`Q^\top A Q` gives Ritz pairs :math:`(w_i, v_i)`; the run stops
    when every residual :math:`\lVert A v_i - w_i v_i \rVert_2` is below
    ``tol`` times :math:`\lVert A \rVert_2`. The eigenvalues are then
    accurate to about ``tol**2`` relative to the gaps.

    This is one fit of :class:`FactorizationNAG` with ``symmetric=True``,
    stopped by that Rayleigh–Ritz test (each check costs about one
    iteration); use the estimator directly for its attributes, callbacks or
    convergence curve. The default start is the Nyström sketch
    :math:`A\Omega` sharpened by 4 power iterations (about 10 products with
    :math:`k + 10` columns): from it GD needs far fewer iterations than from
    the paper's random start (``init="gaussian"``), whose first phase aligns
    :math:`X` with the top eigenspace at GD's own slow rate.

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
    tol : float > 0 or None, default=None
        Relative residual :math:`\max_i \lVert A v_i - w_i v_i \rVert /
        \lVert A \rVert_2` to reach. None: 1e-8 for float64 data,
        :math:`100\,\epsilon \approx 1.2 \cdot 10^{-5}` for float32 (whose
        residuals cannot go much lower).
    method : {"nag", "gd", "heavy_ball", "precgd", "scaledgd"}, default="nag"
        The optimizer. ``"gd"`` is the paper's method; ``"nag"`` (Nesterov's
        momentum with restarts) accelerates it, 15× on the digits' graph.
        ``"scaledgd"`` (step 0.5) contracts the error by about
        :math:`\tfrac12 (1 + (\lambda_{k+1} + \lambda)/(\lambda_k + \lambda))`
        per iteration, like damped subspace iteration, with its damping
        :math:`\lambda` at least :math:`|\lambda_{\min}(A)|`: fast on kernels
        whose spectrum decays, slow on graphs whose spectrum is spread over
        :math:`[-1, 1]`. ``"precgd"`` damps by the fit's residual
        :math:`\lVert XX^\top - A \rVert_F`, which stays large unless
        :math:`A` is close to rank :math:`k`: it is for low-rank matrices.
    init : str or ndarray of shape (n, k), default="nystrom"
        The start, as ``FactorizationNAG(symmetric=True, init=...)``:
        ``"nystrom"`` (a sketch of :math:`A` sharpened by 4 power
        iterations), ``"gaussian"`` (the paper's moderate random start),
        ``"small_random"``, ``"spectral"``, ``"unbalanced"``,
        ``"orthogonal"``, or an explicit :math:`X_0`.
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
    if tol is not None and (
        isinstance(tol, (bool, np.bool_)) or not isinstance(tol, Real) or not tol > 0
    ):
        raise ValueError(f"eigsh: tol must be a positive float or None; got {tol!r}.")
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
    if isinstance(A, scipy.sparse.linalg.LinearOperator):
        raise TypeError(
            "eigsh: A must be a dense array or a sparse matrix (its entries are "
            "read to check symmetry and to build the start); got a "
            "LinearOperator. Use scipy.sparse.linalg.eigsh for an operator."
        )
    # an array of another library (array API dispatch): the iterations and
    # the products of the residual checks on its device, the small
    # Rayleigh–Ritz problems on the host, the eigenpairs returned there
    space = Space.of(A, "eigsh")
    xp = np
    if space is not None:
        xp = space.xp
        if isinstance(init, tuple | list):
            init = type(init)(to_host(X) for X in init)
        elif not isinstance(init, str):
            init = to_host(init)
    A = check_array(
        A,
        accept_sparse=("csr", "csc") if space is None else False,
        dtype=[xp.float64, xp.float32],
        ensure_all_finite=True,
        input_name="A",
    )
    A = symmetric_data(A, "eigsh", "A", "call scipy.linalg.eig for a general matrix")
    n = A.shape[0]
    if k > n:
        raise ValueError(f"eigsh: k={k} exceeds the matrix's size n={n}.")
    init = _check_init(init, n, k)
    if tol is None:
        tol = max(1e-8, 100 * float(np.finfo(numpy_dtype(A.dtype)).eps))
    # eigenvalues scale with A: solve for A·2⁻ᵉ with max|A·2⁻ᵉ| ≈ 1 (exact)
    if space is None:
        top = float(abs(A).max()) if A.size else 0.0
    else:
        top = max_abs(A)
    exponent = int(np.frexp(top)[1]) if top > 0 else 0
    if exponent and space is not None:
        A = A * float(np.ldexp(1.0, -exponent))  # a power of 2: exact
    elif exponent:
        A = A * np.asarray(np.ldexp(1.0, -exponent), dtype=A.dtype)
        if not isinstance(init, str):  # a factor scales as √A
            (X0,) = init
            init = (
                np.asarray(X0, dtype=np.float64) * np.sqrt(np.ldexp(1.0, -exponent)),
            )
    random_state = check_random_state(random_state)
    seed = random_state.randint(np.iinfo(np.int32).max)

    def solve(B, shift):
        """Iterate on ``B = A + shift·I`` until its Ritz residuals are below
        tol·‖B‖₂; None, without a shift, as soon as the k-th Ritz value is
        not positive (``A``'s positive part may have a rank below k)."""
        # the host algorithms see a device B through its products
        view = B if space is None else _DeviceData(B, space)
        norm = spectral_norm(view, np.random.RandomState(0))
        state = {"next": _CHECK_EVERY, "ritz": None, "deficient": False}

        def check(factor, k_done):
            w, V, residual = _rayleigh_ritz(view, to_host(factor))
            scale = max(norm, float(np.abs(w).max(initial=0.0)))
            worst = float(residual.max(initial=0.0)) / scale if scale > 0 else 0.0
            state["ritz"] = (w, V, worst, k_done)
            return w, worst, scale

        def stop_test(iterate):
            if iterate.k < state["next"]:
                return False
            state["next"] = iterate.k + max(_CHECK_EVERY, math.ceil(0.1 * iterate.k))
            w, worst, scale = check(iterate.factors[0], iterate.k)
            if worst <= tol:
                return True
            if not shift and w[-1] <= tol * scale:
                state["deficient"] = True
                return True
            return False

        estimator = FactorizationNAG(
            k,
            symmetric=True,
            optimizer=method,
            init=init,
            tol=0.0,
            max_iter=max_iter,
            random_state=seed,
        )
        estimator._validate_params()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            estimator._fit(B, stop_test)
        if estimator.stop_reason_ != "callback":  # max_iter, or a stop rule
            w, worst, scale = check(estimator.factor_, estimator.n_iter_)
            # the zero model (A's positive part is 0) or too few positive
            # directions: the same test as at the checks
            if not shift and worst > tol and w[-1] <= tol * scale:
                state["deficient"] = True
        if state["deficient"]:
            return None
        w, V, worst, done = state["ritz"]
        return w - shift, V, worst, done

    result = solve(A, 0.0)
    if result is None:
        # A + sI is positive definite for s > ‖A‖₂, with A's eigenvectors
        view = A if space is None else _DeviceData(A, space)
        shift = 1.01 * spectral_norm(view, np.random.RandomState(0))
        if space is not None:
            B = A + xp.eye(n, dtype=A.dtype, device=A.device) * shift
        elif sp.issparse(A):
            identity = sp.identity(n, dtype=A.dtype, format="csr")
            B = (A + identity * np.asarray(shift, dtype=A.dtype)).tocsr()
        else:
            B = A + np.eye(n, dtype=A.dtype) * np.asarray(shift, dtype=A.dtype)
        result = solve(B, shift)
    w, V, achieved, done = result
    if exponent:
        w = np.ldexp(w, exponent)
    if achieved > tol:
        warnings.warn(
            f"eigsh: {done} iterations (max_iter={max_iter}) left a relative "
            f"residual of {achieved:.2e}, above tol={tol:g}. Increase max_iter, "
            "or try method='scaledgd'.",
            ConvergenceWarning,
            stacklevel=2,
        )
    order = np.arange(k)[::-1]  # ascending, as scipy's eigsh
    move = (lambda a: a) if space is None else space.from_host
    if not return_eigenvectors:
        return move(w[order])
    return move(w[order]), move(np.ascontiguousarray(V[:, order]))


def _check_init(init, n, k):
    """``init`` for ``FactorizationNAG(symmetric=True)``: a symmetric start's
    name, or explicit factors (an (n, k) array, or a one-element tuple)."""
    if isinstance(init, str):
        names = sorted(starts_for("symmetric"))
        if init not in names:
            raise ValueError(
                f"eigsh: init must be one of {', '.join(map(repr, names))} or an "
                f"array of shape ({n}, {k}); got {init!r}."
            )
        return init
    if isinstance(init, (tuple, list)) and len(init) == 1:
        init = init[0]
    X0 = np.asarray(init)
    if X0.shape != (n, k):
        raise ValueError(
            f"eigsh: an explicit init must have shape (n, k) = ({n}, {k}); got "
            f"{X0.shape}."
        )
    return (X0,)
