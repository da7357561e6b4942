"""scikit-learn's estimator checks: every optimizer, and every init with the default."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from skfactor import (
    FactorizationNAG,
    LinearNetRegressor,
    LowRankImputer,
    MatrixSensingPrecGD,
)
from skfactor._initializers import INITIALIZERS
from skfactor._optimizers import OPTIMIZERS

ESTIMATORS = [FactorizationNAG(optimizer=name) for name in sorted(OPTIMIZERS)] + [
    FactorizationNAG(init=name) for name in sorted(INITIALIZERS) if name != "unbalanced"
]
# shape="column" makes any number of features a valid (n_features, 1) sample
ESTIMATORS += [
    MatrixSensingPrecGD(shape="column", optimizer=name)
    for name in ("precgd", "scaledgd", "apgd", "gd")
]
ESTIMATORS += [
    LinearNetRegressor(hidden, optimizer=name)
    for hidden in ((4,), (4, 3))
    for name in ("gd", "nag", "heavy_ball")
]

ESTIMATORS += [
    LowRankImputer(),
    LowRankImputer(optimizer="apgd", add_indicator=True),
    LowRankImputer(missing_values=-1.0, keep_empty_features=True),
]


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
