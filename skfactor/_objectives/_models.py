"""The factor → model maps shared by the problems.

A model knows how its factors multiply into the model matrix ``M``, the chain
rule from the model's gradient ``E = ∇_M f`` to the factors' gradients, the
loss normalisation that makes that chain rule exact, and which factor
preconditions which. Problems hold one and never branch on its kind.
"""

import numpy as np
import scipy.linalg
import scipy.sparse.linalg

from .._linalg import _foreign, top_eigenvalue
from .._threads import single_threaded


def _dense(P):
    """A product with ``E`` as an array: numpy's ``np.matrix`` results of
    sparse products as ndarrays, device arrays as they are."""
    return P if _foreign(P) else np.asarray(P)


class PairModel:
    """``M = L Rᵀ`` with ``L`` (n1, d), ``R`` (n2, d).

    ``f = ½·data``, ``∇_L f = E R``, ``∇_R f = Eᵀ L``; each factor is
    preconditioned by its partner's Gram.
    """

    layout = "pair"
    n_factors = 2
    degree = 2
    half = 0.5
    structure = "a two-factor model L Rᵀ"

    def split(self, factors):
        return factors[0], factors[1]

    def partner(self, i):
        return 1 - i

    def fixed_columns(self, i):
        """Columns of block ``i`` that hold constants (none)."""
        return ()

    def grad_block(self, E, factors, i):
        L, R = factors
        return _dense(E @ R) if i == 0 else _dense(E.T @ L)

    def grads(self, E, factors):
        return [self.grad_block(E, factors, 0), self.grad_block(E, factors, 1)]

    def symmetrize(self, T):
        return T

    def factor_curvature(self, tops):
        """``‖L‖₂² + ‖R‖₂²`` from the top eigenvalues of the Grams."""
        return tops[0] + tops[1]

    def escape_strength(self, E, norm):
        """``‖E‖₂``: a pair (or chain) can grow along any rank-one direction."""
        return norm(E)

    def negative_part(self, T):
        """0: a pair's loss has no direction the model must be pushed out of
        against the data (singular values are never negative)."""
        return 0.0

    def singular_values(self, factors):
        """Singular values of ``L Rᵀ`` from the small core of the QR factors
        (no n1×n2 matrix is formed), decreasing."""
        L, R = factors
        core = np.linalg.qr(L, mode="r") @ np.linalg.qr(R, mode="r").T
        with single_threaded():
            return np.linalg.svd(core, compute_uv=False)


class SymmetricModel:
    """``M = X Xᵀ`` with one factor ``X`` (n, d).

    ``f = ¼·data`` so that ``∇_X f = ½(E + Eᵀ) X`` (``= E X`` for symmetric
    ``E``); the factor is preconditioned by its own Gram.
    """

    layout = "symmetric"
    n_factors = 1
    degree = 2
    half = 0.25
    structure = "a symmetric model X Xᵀ with a single factor"

    def split(self, factors):
        return factors[0], factors[0]

    def partner(self, i):
        return 0

    def fixed_columns(self, i):
        return ()

    def grad_block(self, E, factors, i):
        X = factors[0]
        return _dense(0.5 * (E @ X + E.T @ X))

    def grads(self, E, factors):
        return [self.grad_block(E, factors, 0)]

    def symmetrize(self, T):
        return 0.5 * (T + T.T)

    def factor_curvature(self, tops):
        return 2.0 * tops[0]

    def singular_values(self, factors):
        X = factors[0]
        with single_threaded():
            w = np.linalg.eigvalsh(X.T @ X)[::-1]
        return np.maximum(w, 0.0)

    def negative_part(self, T):
        """``max(0, −λ_min(T))``: ``X Xᵀ`` must be driven to 0 along ``T``'s
        negative eigenvectors, where the loss's curvature in the factor is
        ``|λ|`` (not ``X``'s scale): the damping of a preconditioned step must
        be at least of that order to stay stable there."""
        return max(0.0, -_smallest_eigenvalue(T))

    def escape_strength(self, E, norm):
        """``max(0, λ_max(−½(E + Eᵀ)))`` (``E`` a matrix or a
        ``LinearOperator``): ``X Xᵀ`` grows only in positive
        semidefinite directions, so only a negative curvature of the loss along
        ``vvᵀ`` (a positive eigenvalue of ``−E``) is a direction to escape to."""
        S = -0.5 * (E + E.T)
        n = S.shape[0]
        if n <= 500:
            if isinstance(S, scipy.sparse.linalg.LinearOperator):
                S = S @ np.eye(n, dtype=S.dtype)  # an operator: n products
            S = S.toarray() if hasattr(S, "toarray") else np.asarray(S)
            top = top_eigenvalue(0.5 * (S + S.T))
        else:
            v0 = np.ones(n, dtype=S.dtype)
            try:
                top = scipy.sparse.linalg.eigsh(
                    S, k=1, which="LA", v0=v0, tol=1e-6, maxiter=50 * n
                )[0][0]
            except scipy.sparse.linalg.ArpackNoConvergence as error:
                values = error.eigenvalues
                top = values[0] if len(values) else norm(E)
        return max(float(top), 0.0)


class BiasedPairModel(PairModel):
    """``M = L Rᵀ + b 1ᵀ + 1 cᵀ``: a pair with row and column biases, stored as
    two fixed columns (ALGORITHMS.md §6).

    The factors are ``L̃ = [L, b, h]`` (n1, d + 2) and ``R̃ = [R, g, c]``
    (n2, d + 2), so ``L̃ R̃ᵀ = L Rᵀ + b gᵀ + h cᵀ``: the columns ``h`` of
    ``L̃`` and ``g`` of ``R̃`` hold constants that the problem sets (all ones
    in the plain parametrization, ``fixed_columns``) and that never move:
    their gradients are 0 and a preconditioned step decouples them (see
    ``Objective.preconditioner``). Everything else about a pair applies
    unchanged, every optimizer included.
    """

    structure = "a two-factor model L Rᵀ with row and column biases"

    def __init__(self, rank):
        self.rank = int(rank)

    def fixed_columns(self, i):
        """``(d + 1,)`` for ``L̃`` (its ``h``), ``(d,)`` for ``R̃`` (its ``g``)."""
        return (self.rank + 1,) if i == 0 else (self.rank,)

    def low_rank(self, factors):
        """The low-rank part's factors ``(L, R)``."""
        return factors[0][:, : self.rank], factors[1][:, : self.rank]

    def singular_values(self, factors):
        """The low-rank part's singular values (the biases are not a direction
        the model has to grow along)."""
        return PairModel.singular_values(self, self.low_rank(factors))


#: Lanczos steps of ``_smallest_eigenvalue`` beyond the dense size.
_LANCZOS_STEPS = 40


def _smallest_eigenvalue(T):
    """An estimate of ``λ_min`` of a symmetric matrix, from above: exact up to
    200 rows, else the smallest Ritz value of 40 Lanczos steps (fully
    reorthogonalized, from a fixed seed). That is within a few percent of
    ``λ_min`` when the spectrum's lower end stands out, and near 0 for a
    positive semidefinite matrix whose small eigenvalues cluster there (where
    ARPACK's ``which="SA"`` takes tens of seconds): what a damping floor
    needs, at the cost of 40 products."""
    n = T.shape[0]
    if n <= 200:
        dense = T.toarray() if hasattr(T, "toarray") else np.asarray(T)
        with single_threaded():
            return float(scipy.linalg.eigvalsh(dense, subset_by_index=[0, 0])[0])
    steps = min(n, _LANCZOS_STEPS)
    q = np.random.RandomState(0).standard_normal(n)
    q /= np.linalg.norm(q)
    basis = np.zeros((n, steps))
    alpha, beta = [], []
    for j in range(steps):
        basis[:, j] = q
        w = np.asarray(T @ q.astype(T.dtype), dtype=np.float64).ravel()
        alpha.append(float(q @ w))
        done = basis[:, : j + 1]
        for _ in range(2):  # full reorthogonalization, twice
            w -= done @ (done.T @ w)
        b = float(np.linalg.norm(w))
        if b <= 1e-12 * max(abs(alpha[-1]), 1e-300) or j == steps - 1:
            break
        beta.append(b)
        q = w / b
    return float(
        scipy.linalg.eigvalsh_tridiagonal(
            np.array(alpha),
            np.array(beta[: len(alpha) - 1]),
            select="i",
            select_range=(0, 0),
        )[0]
    )


class ChainModel:
    """``M = P₁ P₂ ⋯ P_{K−1} P_Kᵀ`` (a deep linear network's layers in
    storage order, ``P_K = W₁ᵀ``).

    Two factors are a :class:`PairModel`; deeper chains have no partner
    factor.
    """

    layout = "chain"
    half = 0.5

    def __init__(self, n_factors):
        self.n_factors = self.degree = n_factors
        self.structure = (
            f"a linear network of {n_factors} layers (it has two factors with "
            "exactly one hidden layer)"
        )

    def partner(self, i):
        return None

    def fixed_columns(self, i):
        return ()

    # a chain, like a pair, can grow along any rank-one direction
    escape_strength = PairModel.escape_strength
    negative_part = PairModel.negative_part

    def singular_values(self, factors):
        """The top ``min`` (over every factor's shape) singular values of the
        model: those a chain with that bottleneck can have."""
        head = factors[0]
        for F in factors[1:-1]:
            head = head @ F
        values = PairModel().singular_values([head, factors[-1]])
        return values[: min(min(F.shape) for F in factors)]


def model_for(n_factors, symmetric=False):
    """The model of ``n_factors`` factors (a pair for two)."""
    if symmetric:
        return SymmetricModel()
    return PairModel() if n_factors == 2 else ChainModel(n_factors)
