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

eigsh
    Top eigenpairs of a symmetric matrix by factored gradient descent
    (retraction-free).

See ``skfactor.datasets`` for planted low-rank problems with an exact
condition number.
"""

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
    "MatrixSensingPrecGD",
    "__version__",
    "eigsh",
]
