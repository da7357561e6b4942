"""skfactor: scikit-learn estimators for low-rank models trained by first-order methods.

Public estimators
-----------------
FactorizationNAG
    Low-rank factorization ``A ≈ X Yᵀ`` as a transformer (GD, AltGD, NAG,
    heavy ball, PrecGD, ScaledGD, APGD; unbalanced, Ward–Kolda, random,
    spectral and sketch starts).
MatrixSensingPrecGD
    Low-rank trace regression, matrix sensing and completion.
LinearNetRegressor
    Deep linear networks (reduced-rank regression) by GD, NAG, heavy ball.
LowRankImputer
    Missing-value imputation from a low-rank model fitted to the observed
    entries.
MatrixCompletionRegressor
    Recommender-style completion: (row id, column id) pairs in, ratings out,
    with biases, a count-weighted ridge and early stopping.

ratings_from_sparse
    The stored entries of a sparse matrix as (ids, values) ratings.

eigsh
    Top eigenpairs of a symmetric matrix by factored gradient descent
    (retraction-free).

See ``skfactor.datasets`` for planted low-rank problems with an exact
condition number.
"""

from ._completion import MatrixCompletionRegressor, ratings_from_sparse
from ._eigen import eigsh
from ._factorization import FactorizationNAG
from ._imputer import LowRankImputer
from ._linear_net import LinearNetRegressor
from ._sensing import MatrixSensingPrecGD

__version__ = "0.1.0.dev0"

__all__ = [
    "FactorizationNAG",
    "LinearNetRegressor",
    "LowRankImputer",
    "MatrixCompletionRegressor",
    "MatrixSensingPrecGD",
    "__version__",
    "eigsh",
    "ratings_from_sparse",
]
