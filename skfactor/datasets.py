"""Planted low-rank problems with a known truth and an exact condition number."""

from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, validate_params

__all__ = [
    "make_low_rank_matrix",
    "make_matrix_completion",
    "make_matrix_sensing",
    "make_ratings",
]


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
    r"""Generate :math:`A = U \operatorname{diag}(s) V^\top` plus noise, with an
    exact condition number.

    The singular values are ``s = linspace(1, 1/condition_number, rank)``, so
    :math:`\sigma_1 = 1` and :math:`\sigma_1 / \sigma_r` = ``condition_number``
    exactly (before noise), :math:`r` = ``rank``. :math:`U` and :math:`V` have
    orthonormal columns drawn uniformly (Haar).

    Not to be confused with :func:`sklearn.datasets.make_low_rank_matrix`,
    which draws a smoothly decaying spectrum and plants no condition number.

    Parameters
    ----------
    n_samples, n_features : int
        Shape of ``A``.
    rank : int
        Rank of the noiseless matrix, at most ``min(n_samples, n_features)``.
    condition_number : float >= 1
        :math:`\sigma_1 / \sigma_r`. Must be 1 when ``rank == 1``.
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
    dtype = np.dtype(dtype)
    if dtype not in (np.float64, np.float32):
        raise ValueError(f"dtype must be float64 or float32; got {dtype}.")
    rng = check_random_state(random_state)
    U, s, V = _planted(rng, n_samples, n_features, rank, condition_number)
    A = (U * s) @ V.T
    if noise > 0:
        A += noise * rng.standard_normal(A.shape)
    return A.astype(dtype), U.astype(dtype), s.astype(dtype), V.astype(dtype)


def _planted(rng, n1, n2, rank, condition_number, symmetric=False):
    """Validated ``(U, s, V)`` with ``s = linspace(1, 1/condition_number, rank)``."""
    if rank > min(n1, n2):
        raise ValueError(
            f"rank={rank} cannot exceed the smaller dimension {min(n1, n2)}."
        )
    if rank == 1 and condition_number != 1:
        raise ValueError(
            "A rank-1 matrix has condition number 1; got "
            f"condition_number={condition_number}. Use rank >= 2."
        )
    if symmetric and n1 != n2:
        raise ValueError(f"symmetric=True needs n1 == n2; got {n1} and {n2}.")
    U = _orthonormal(rng, n1, rank)
    V = U if symmetric else _orthonormal(rng, n2, rank)
    return U, np.linspace(1.0, 1.0 / condition_number, rank), V


_SHARED = {
    "n1": [Interval(Integral, 1, None, closed="left")],
    "n2": [Interval(Integral, 1, None, closed="left")],
    "rank": [Interval(Integral, 1, None, closed="left")],
    "condition_number": [Interval(Real, 1, None, closed="left")],
    "noise": [Interval(Real, 0, None, closed="left")],
    "random_state": ["random_state"],
}


@validate_params(
    {
        **_SHARED,
        "n_measurements": [Interval(Integral, 1, None, closed="left")],
        "symmetric": ["boolean"],
    },
    prefer_skip_nested_validation=True,
)
def make_matrix_sensing(
    n1,
    n2,
    rank,
    n_measurements,
    condition_number=1.0,
    symmetric=False,
    noise=0.0,
    random_state=None,
):
    r"""Gaussian matrix sensing: :math:`y_i = \langle A_i, M \rangle` plus noise,
    with a planted :math:`M`.

    :math:`M = U \operatorname{diag}(s) V^\top` (:math:`V = U` and :math:`M`
    positive semi-definite when ``symmetric``) with
    ``s = linspace(1, 1/condition_number, rank)``; every :math:`A_i` has
    i.i.d. :math:`\mathcal{N}(0, 1)` entries, so that
    :math:`\mathcal{A}^* \mathcal{A} / N \approx I`.

    Parameters
    ----------
    n1, n2 : int
        Shape of :math:`M` (equal when ``symmetric``).
    rank : int
    n_measurements : int
        :math:`N`, the number of samples.
    condition_number : float >= 1, default=1.0
    symmetric : bool, default=False
    noise : float >= 0, default=0.0
        Standard deviation of Gaussian noise added to y.
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    X : ndarray of shape (n_measurements, n1 * n2)
        The design: row :math:`i` is :math:`A_i` flattened in row-major order.
    y : ndarray of shape (n_measurements,)
    M : ndarray of shape (n1, n2)
        The planted matrix.

    Examples
    --------
    >>> from skfactor.datasets import make_matrix_sensing
    >>> X, y, M = make_matrix_sensing(10, 8, 2, 300, random_state=0)
    >>> X.shape, y.shape, M.shape
    ((300, 80), (300,), (10, 8))
    """
    rng = check_random_state(random_state)
    U, s, V = _planted(rng, n1, n2, rank, condition_number, symmetric)
    M = (U * s) @ V.T
    X = rng.standard_normal((n_measurements, n1 * n2))
    y = X @ M.ravel()
    if noise > 0:
        y += noise * rng.standard_normal(n_measurements)
    return X, y, M


@validate_params(
    {**_SHARED, "fraction": [Interval(Real, 0, 1, closed="right")]},
    prefer_skip_nested_validation=True,
)
def make_matrix_completion(
    n1,
    n2,
    rank,
    condition_number=1.0,
    fraction=0.2,
    noise=0.0,
    random_state=None,
):
    r"""Matrix completion: observe a random ``fraction`` of the entries of :math:`M`.

    :math:`M = U \operatorname{diag}(s) V^\top` with
    ``s = linspace(1, 1/condition_number, rank)``, scaled by
    :math:`\sqrt{n_1 n_2 / r}` (:math:`r` = ``rank``) so that its entries are
    of order one. The design is a sparse selection matrix: one unit entry per
    row, at the flattened position (row-major) of the observed entry;
    positions are drawn without replacement.

    Parameters
    ----------
    n1, n2 : int
    rank : int
    condition_number : float >= 1, default=1.0
    fraction : float in (0, 1], default=0.2
        Fraction of the :math:`n_1 n_2` entries observed.
    noise : float >= 0, default=0.0
        Standard deviation of Gaussian noise added to the observations.
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    X : scipy.sparse.csr_matrix of shape (N, n1 * n2)
        :math:`N` = ``round(fraction * n1 * n2)`` rows with one entry equal to
        1.
    y : ndarray of shape (N,)
    M : ndarray of shape (n1, n2)

    Examples
    --------
    >>> from skfactor.datasets import make_matrix_completion
    >>> X, y, M = make_matrix_completion(30, 20, 2, fraction=0.5, random_state=0)
    >>> X.shape, int(X.getnnz(axis=1).max())
    ((300, 600), 1)
    """
    rng = check_random_state(random_state)
    U, s, V = _planted(rng, n1, n2, rank, condition_number)
    M = (U * s) @ V.T * np.sqrt(n1 * n2 / rank)
    n_obs = max(1, round(fraction * n1 * n2))
    positions = np.sort(rng.choice(n1 * n2, size=n_obs, replace=False))
    X = sp.csr_matrix(
        (np.ones(n_obs), positions, np.arange(n_obs + 1)), shape=(n_obs, n1 * n2)
    )
    y = M.ravel()[positions]
    if noise > 0:
        y = y + noise * rng.standard_normal(n_obs)
    return X, y, M


def _power_law(rng, n, exponent):
    """Zipf-like weights ``(k + 10)^(-exponent)`` over a random order."""
    weights = (np.arange(n) + 10.0) ** -float(exponent)
    return rng.permutation(weights / weights.sum())


def make_ratings(
    n_rows=943,
    n_columns=1682,
    n_ratings=100_000,
    rank=10,
    *,
    noise=0.9,
    row_bias=0.4,
    column_bias=0.5,
    signal=0.8,
    popularity=1.0,
    activity=0.8,
    rating_scale=(1, 5),
    mean=3.3,
    random_state=None,
):
    r"""Synthetic ratings shaped like a public recommender benchmark's.

    Entries of an ``n_rows × n_columns`` matrix are observed with probability
    proportional to ``aᵤ pᵢ``, Zipf-like activities and popularities
    (``(k + 10)^(-exponent)`` over a random order), without repetition, and
    rated

    .. math::

        y_{ui} = \mu + b_u + c_i + \langle L_u, R_i \rangle + \varepsilon,

    ``b ~ N(0, row_bias²)``, ``c ~ N(0, column_bias²)`` plus a share that
    grows with popularity (popular items are rated higher), ``L``, ``R``
    Gaussian with ``⟨L_u, R_i⟩`` of standard deviation ``signal``, ``ε`` of
    standard deviation ``noise``; with ``rating_scale`` the ratings are then
    rounded and clipped to the integers of the scale. The defaults are
    shaped like MovieLens-100K's (943 users, 1682 items, 100 000 ratings,
    6 % density, ratings 1–5 of mean ≈ 3.5 and standard deviation ≈ 1.1).

    Parameters
    ----------
    n_rows, n_columns, n_ratings : int
    rank : int, default=10
    noise, row_bias, column_bias, signal : float >= 0
        Standard deviations (see above). With the defaults Surprise's
        ``SVD`` (its defaults) gains 1–3 % RMSE over its bias-only
        ``BaselineOnly``, as on MovieLens-100K (0.934 against 0.944).
    popularity, activity : float >= 0, default=1.0, 0.8
        Exponents of the columns' popularities and of the rows' activities
        (0: uniform sampling).
    rating_scale : (int, int) or None, default=(1, 5)
        Round and clip to these integers; None keeps continuous ratings.
    mean : float, default=3.3
        μ (the observed mean is higher: popular columns are rated higher).
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    X : ndarray of shape (n_ratings, 2), dtype int64
        (row, column) of every rating, in random order.
    y : ndarray of shape (n_ratings,)
    truth : sklearn.utils.Bunch
        ``global_mean``, ``row_bias``, ``column_bias``, ``row_factors``,
        ``column_factors``: the model before noise and rounding;
        ``truth.predict(X)`` evaluates it.

    Examples
    --------
    >>> from skfactor.datasets import make_ratings
    >>> X, y, truth = make_ratings(100, 80, 2000, rank=3, random_state=0)
    >>> X.shape, sorted(set(y.tolist())) == [1.0, 2.0, 3.0, 4.0, 5.0]
    ((2000, 2), True)
    """
    from sklearn.utils import Bunch

    rng = check_random_state(random_state)
    n1, n2, n = int(n_rows), int(n_columns), int(n_ratings)
    if min(n1, n2) < 1 or not 1 <= n <= n1 * n2:
        raise ValueError(
            f"make_ratings: n_ratings={n} must be between 1 and n_rows * "
            f"n_columns = {n1 * n2}."
        )
    a = _power_law(rng, n1, activity)
    p = _power_law(rng, n2, popularity)
    chosen = np.empty(0, dtype=np.int64)
    while len(chosen) < n:  # draw, drop repeats, top up
        need = n - len(chosen)
        extra = int(need * 1.2) + 16
        u = rng.choice(n1, size=extra, p=a)
        i = rng.choice(n2, size=extra, p=p)
        _, first = np.unique(np.concatenate([chosen, u * n2 + i]), return_index=True)
        pool = np.concatenate([chosen, u * n2 + i])
        fresh = np.sort(first[first >= len(chosen)])
        chosen = np.concatenate([chosen, pool[fresh][:need]])
        if extra > 50 * n1 * n2:  # pragma: no cover - nearly full matrices
            break
    chosen = chosen[rng.permutation(len(chosen))]
    rows, cols = np.divmod(chosen, n2)
    b = row_bias * rng.standard_normal(n1)
    log_p = np.log(p)
    c = column_bias * (
        0.8 * rng.standard_normal(n2) + 0.6 * (log_p - log_p.mean()) / log_p.std()
    )
    scale = np.sqrt(signal / np.sqrt(max(rank, 1)))
    L = scale * rng.standard_normal((n1, rank))
    R = scale * rng.standard_normal((n2, rank))
    truth = Bunch(
        global_mean=float(mean),
        row_bias=b,
        column_bias=c,
        row_factors=L,
        column_factors=R,
    )

    def predict(X):
        from ._linalg import entries  # chunked: no (n_ratings, rank) gathers

        X = np.asarray(X)
        u, i = X[:, 0], X[:, 1]
        return mean + b[u] + c[i] + entries(L, R, u, i)

    truth.predict = predict
    X = np.column_stack([rows, cols]).astype(np.int64)
    del rows, cols, chosen
    y = predict(X)
    y += noise * rng.standard_normal(len(X))
    if rating_scale is not None:
        low, high = rating_scale
        y = np.clip(np.round(y), low, high)
    return X, y, truth
