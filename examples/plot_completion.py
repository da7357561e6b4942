"""
Completing a ratings matrix
===========================

A ratings-like matrix: 400 users × 300 items, with scores from a rank-4 model
plus noise. Only 15 % of the ratings are observed. Matrix completion is
``MatrixSensingPrecGD`` with a sparse design that has one unit entry per
observed rating, at column ``user·n_items + item``. Each iteration then costs
O(observed·rank), and the 400×300 matrix is never formed.

The model is fitted on 80 % of the observed ratings and scored on the other 20 %,
against the baseline of each item's mean rating.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
import scipy.sparse as sp

from skfactor import MatrixSensingPrecGD
from skfactor.plotting import ConvergenceDisplay

rng = np.random.RandomState(0)
n_users, n_items, rank = 400, 300, 4
taste = rng.standard_normal((n_users, rank))
traits = rng.standard_normal((n_items, rank))
scores = 3.0 + 0.6 * (taste @ traits.T) / np.sqrt(rank)
ratings = np.clip(scores + 0.3 * rng.standard_normal(scores.shape), 1, 5)

observed = rng.rand(n_users, n_items) < 0.15
users, items = np.nonzero(observed)
values = ratings[users, items]
train = rng.rand(len(values)) < 0.8


def design(u, i):
    """One unit entry per rating, at the flattened position of (user, item)."""
    k = len(u)
    return sp.csr_matrix(
        (np.ones(k), (np.arange(k), u * n_items + i)), shape=(k, n_users * n_items)
    )


X_train, y_train = design(users[train], items[train]), values[train]
X_test, y_test = design(users[~train], items[~train]), values[~train]

fits = {}
for optimizer in ("precgd", "gd"):
    fits[optimizer] = MatrixSensingPrecGD(
        rank,
        shape=(n_users, n_items),
        optimizer=optimizer,
        init="spectral",
        fit_intercept=True,
        tol=1e-6,
        max_iter=500,
        random_state=0,
    ).fit(X_train, y_train)

item_mean = np.bincount(items[train], weights=y_train, minlength=n_items)
item_mean /= np.maximum(np.bincount(items[train], minlength=n_items), 1)
baseline = np.sqrt(np.mean((item_mean[items[~train]] - y_test) ** 2))
print(f"item-mean baseline: test RMSE {baseline:.3f}")
for optimizer, model in fits.items():
    rmse = np.sqrt(np.mean((model.predict(X_test) - y_test) ** 2))
    print(f"{optimizer:>7}: {model.n_iter_:3d} iterations, test RMSE {rmse:.3f}")

display = ConvergenceDisplay.from_estimators(
    list(fits.values()), labels=list(fits), y="relative_error"
)
display.ax_.set_title("Training residual on the observed ratings")
plt.show()
