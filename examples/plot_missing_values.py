"""
Imputing missing values and choosing the rank by held-out entries
=================================================================

A 300×120 matrix of rank 6, plus 5 % noise, has 30 % of its entries missing.
``LowRankImputer`` fits a low-rank model to the observed entries only (NaN
marks a missing entry). To choose the rank, another 10 % of the observed
entries are hidden, and each setting is scored by its error on them.

- Without a penalty (``alpha=0``), too high a rank over-fits the observed
  entries.
- A small ridge penalty, which is a nuclear-norm penalty at the optimum, makes
  a generous rank safe.
"""

# %%
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.exceptions import ConvergenceWarning

from skfactor import LowRankImputer
from skfactor.datasets import make_low_rank_matrix

# over-fitted ranks may stop at max_iter; that is part of what is shown
warnings.filterwarnings("ignore", category=ConvergenceWarning)

rng = np.random.RandomState(0)
truth, *_ = make_low_rank_matrix(300, 120, 6, 10, random_state=0)
rms = np.sqrt(np.mean(truth**2))
data = truth + 0.05 * rms * rng.standard_normal(truth.shape)
missing = rng.rand(*data.shape) < 0.3
X = np.where(missing, np.nan, data)

held_out = ~missing & (rng.rand(*data.shape) < 0.1)
X_train = np.where(held_out, np.nan, X)

ranks = list(range(3, 11))
errors = {0.0: [], 0.005: []}
for alpha, values in errors.items():
    for d in ranks:
        imputer = LowRankImputer(d, alpha=alpha, max_iter=300, random_state=0)
        filled = imputer.fit_transform(X_train)
        values.append(
            np.linalg.norm((filled - data)[held_out]) / np.linalg.norm(data[held_out])
        )
alpha, d = min(
    ((a, ranks[int(np.argmin(v))]) for a, v in errors.items()),
    key=lambda ad: min(errors[ad[0]]),
)
print(f"chosen by held-out entries: n_components={d}, alpha={alpha}")

fig, ax = plt.subplots()
for a, values in errors.items():
    ax.semilogy(ranks, values, marker="o", label=f"alpha = {a}")
ax.axvline(6, color="gray", linestyle=":", label="planted rank")
ax.set_xlabel("n_components")
ax.set_ylabel("relative error on held-out entries")
ax.legend()
plt.show()

# %%
# Impute with the chosen setting. The observed entries come back unchanged.
filled = LowRankImputer(d, alpha=alpha, random_state=0).fit_transform(X)
assert np.array_equal(filled[~missing], X[~missing])
error = np.linalg.norm((filled - truth)[missing]) / np.linalg.norm(truth[missing])
print(
    f"relative error on the missing entries, against the noiseless truth: {error:.3f}"
)
