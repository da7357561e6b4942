"""Imputation: LowRankImputer against scikit-learn's imputers.

``load_diabetes`` with 20 % of its entries removed at random (three draws):

- the 5-fold cross-validated R² of a ``Ridge`` on the imputed data, with
  LowRankImputer's ``n_components`` chosen by an inner ``GridSearchCV``;
- the imputation error, as the RMSE on the removed entries, each imputer at its
  defaults and LowRankImputer at rank 3;
- the time of one cross-validation.

    python -m benchmarks.imputation [--quick]
"""

import time
import warnings

import numpy as np
from sklearn.datasets import load_diabetes
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.impute import IterativeImputer, KNNImputer, SimpleImputer
from sklearn.linear_model import Ridge
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from sklearn.pipeline import make_pipeline

from skfactor import LowRankImputer

from ._timing import cli, print_table


def _imputers(quick):
    grid = [1, 2, 3] if quick else [1, 2, 3, 4, 6, 8]
    return {
        "LowRankImputer (grid n_components)": GridSearchCV(
            make_pipeline(LowRankImputer(random_state=0), Ridge(alpha=0.1)),
            {"lowrankimputer__n_components": grid},
            cv=3 if quick else 5,
        ),
        "SimpleImputer(mean)": make_pipeline(SimpleImputer(), Ridge(alpha=0.1)),
        "KNNImputer": make_pipeline(KNNImputer(), Ridge(alpha=0.1)),
        "IterativeImputer": make_pipeline(
            IterativeImputer(random_state=0), Ridge(alpha=0.1)
        ),
    }


def run(quick=False):
    X, y = load_diabetes(return_X_y=True)
    seeds = (0,) if quick else (0, 1, 2)
    scores = {}
    errors = {}
    seconds = {}
    for seed in seeds:
        rng = np.random.RandomState(seed)
        removed = rng.rand(*X.shape) < 0.2
        X_missing = np.where(removed, np.nan, X)
        cv = KFold(5, shuffle=True, random_state=seed)
        for name, pipe in _imputers(quick).items():
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # IterativeImputer's early stop
                score = cross_val_score(pipe, X_missing, y, cv=cv).mean()
            seconds.setdefault(name, []).append(time.perf_counter() - start)
            scores.setdefault(name, []).append(score)
        standalone = {
            "LowRankImputer (grid n_components)": LowRankImputer(3, random_state=0),
            "SimpleImputer(mean)": SimpleImputer(),
            "KNNImputer": KNNImputer(),
            "IterativeImputer": IterativeImputer(random_state=0),
        }
        for name, imputer in standalone.items():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                filled = imputer.fit_transform(X_missing)
            rmse = np.sqrt(np.mean((filled[removed] - X[removed]) ** 2))
            errors.setdefault(name, []).append(rmse)
    rows = [
        (
            name,
            *(f"{s:.4f}" for s in scores[name]),
            f"{np.mean(scores[name]):.4f}",
            f"{np.mean(errors[name]):.4f}",
            f"{np.mean(seconds[name]):.2f}",
        )
        for name in scores
    ]
    print_table(
        "load_diabetes, 20 % of entries removed at random; Ridge(alpha=0.1) on the "
        "imputed data",
        (
            "imputer",
            *(f"R² draw {s}" for s in seeds),
            "mean R²",
            "RMSE removed",
            "s per CV",
        ),
        rows,
    )
    return rows


def main(argv=None):
    cli(run, __doc__, argv)


if __name__ == "__main__":
    main()
