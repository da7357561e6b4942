"""Planted low-rank problems with a known truth and an exact condition number."""

from numbers import Integral, Real

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, validate_params

__all__ = ["make_low_rank_matrix"]


def _orthonormal(random_state, rows, cols):
    Q, R = np.linalg.qr(random_state.standard_normal((rows, cols)))
    # Fix the signs so that Q is Haar-distributed and reproducible.
    return Q * np.sign(np.diag(R))


@validate_params(
    {
        "n_samples": [Interval(Integral, 1, None, closed="left")],
        "n_features": [Interval(Integral, 1, None, closed="left")],
        "rank": [Interval(Integral, 1, None, closed="left")],
        "condition_number": [Interval(Real, 1, None, closed="left")],
        "noise": [Interval(Real, 0, None, closed="left")],
        "random_state": ["random_state"],
        "dtype": "no_validation",
    },
    prefer_skip_nested_validation=True,
)
def make_low_rank_matrix(
    n_samples,
    n_features,
    rank,
    condition_number,
    noise=0.0,
    random_state=None,
    dtype=np.float64,
):
    """Generate ``A = U diag(s) Vᵀ + noise`` with an exact condition number.

    The singular values are ``s = linspace(1, 1/condition_number, rank)``, so
    ``σ₁ = 1`` and ``σ₁/σ_rank = condition_number`` exactly (before noise).
    ``U`` and ``V`` have orthonormal columns drawn uniformly (Haar).

    Not to be confused with :func:`sklearn.datasets.make_low_rank_matrix`,
    which draws a smoothly decaying spectrum and plants no condition number.

    Parameters
    ----------
    n_samples, n_features : int
        Shape of ``A``.
    rank : int
        Rank of the noiseless matrix, at most ``min(n_samples, n_features)``.
    condition_number : float >= 1
        ``σ₁/σ_rank``. Must be 1 when ``rank == 1``.
    noise : float >= 0, default=0.0
        Standard deviation of i.i.d. Gaussian noise added to every entry.
    random_state : int, RandomState instance or None, default=None
    dtype : {np.float64, np.float32}, default=np.float64

    Returns
    -------
    A : ndarray of shape (n_samples, n_features)
    U : ndarray of shape (n_samples, rank)
        Left singular vectors of the noiseless matrix.
    s : ndarray of shape (rank,)
        Its singular values, decreasing.
    V : ndarray of shape (n_features, rank)
        Right singular vectors.

    Examples
    --------
    >>> import numpy as np
    >>> from skfactor.datasets import make_low_rank_matrix
    >>> A, U, s, V = make_low_rank_matrix(50, 30, rank=4, condition_number=100,
    ...                                   random_state=0)
    >>> sv = np.linalg.svd(A, compute_uv=False)
    >>> round(float(sv[0] / sv[3]), 6)
    100.0
    """
    if rank > min(n_samples, n_features):
        raise ValueError(
            f"rank={rank} cannot exceed min(n_samples, n_features)="
            f"{min(n_samples, n_features)}."
        )
    if rank == 1 and condition_number != 1:
        raise ValueError(
            "A rank-1 matrix has condition number 1; got "
            f"condition_number={condition_number}. Use rank >= 2."
        )
    dtype = np.dtype(dtype)
    if dtype not in (np.float64, np.float32):
        raise ValueError(f"dtype must be float64 or float32; got {dtype}.")
    rng = check_random_state(random_state)
    U = _orthonormal(rng, n_samples, rank)
    V = _orthonormal(rng, n_features, rank)
    s = np.linspace(1.0, 1.0 / condition_number, rank)
    A = (U * s) @ V.T
    if noise > 0:
        A += noise * rng.standard_normal(A.shape)
    return A.astype(dtype), U.astype(dtype), s.astype(dtype), V.astype(dtype)
