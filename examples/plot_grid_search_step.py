"""
Grid-searching the step size
============================

The estimators are ordinary scikit-learn estimators, so ``learning_rate``,
``optimizer`` and ``init`` can be tuned like any hyperparameter, with
``GridSearchCV`` scoring each setting by the estimator's own ``score``: for
:class:`~skfactor.FactorizationNAG`, minus the mean squared reconstruction
error of the held-out rows. Here it reduces the 8×8 digits to 16 components.

The default start is sharpened by four power iterations, so its first iterate
is already a randomized SVD and the step hardly matters: every setting of the
grid then scores the same. To compare the optimizers themselves, this search
starts from the NAG paper's plain sketch (``init_power_iter=0``) and gives
each fit 100 iterations. The dashed line is ``TruncatedSVD``'s score, the best
any rank-16 model can do.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.decomposition import TruncatedSVD
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

from skfactor import FactorizationNAG

X, y = load_digits(return_X_y=True)
X = MinMaxScaler().fit_transform(X)

base = FactorizationNAG(16, init_power_iter=0, max_iter=100, tol=0, random_state=0)
auto = base.set_params(max_iter=1).fit(X).learning_rate_
base.set_params(max_iter=100)
relative = np.array([0.1, 0.3, 1.0, 1.5, 2.0])
print(f"automatic step: {auto:.3g}")

search = GridSearchCV(
    base,
    {"learning_rate": list(auto * relative), "optimizer": ["gd", "nag"]},
    cv=3,
)
search.fit(X)
best = search.best_params_
print(
    f"best: {best['optimizer']} with {best['learning_rate'] / auto:.1f}× the "
    f"automatic step, score {search.best_score_:.5f}"
)

# the best any rank-16 model reaches: the truncated SVD, scored the same way
# on the same folds (GridSearchCV's cv=3 is KFold(3) for unsupervised data)
svd_scores = []
for train, test in KFold(3).split(X):
    svd = TruncatedSVD(16, random_state=0).fit(X[train])
    restored = svd.inverse_transform(svd.transform(X[test]))
    svd_scores.append(-np.mean((X[test] - restored) ** 2))
print(f"TruncatedSVD: {np.mean(svd_scores):.5f}")

results = search.cv_results_
fig, ax = plt.subplots(figsize=(6, 4))
for optimizer in ("gd", "nag"):
    mask = np.array(results["param_optimizer"]) == optimizer
    ax.plot(
        relative,
        np.array(results["mean_test_score"])[mask],
        marker="o",
        label=optimizer,
    )
ax.axhline(np.mean(svd_scores), color="k", ls="--", lw=1, label="TruncatedSVD")
ax.set_xscale("log")
ax.set_xlabel("learning_rate / automatic step")
ax.set_ylabel("3-fold score (− mean squared error)")
ax.set_title("16 components of the digits, 100 iterations")
ax.legend()
plt.show()

# %%
# The tuned estimator is a transformer like any other: here it feeds a
# classifier in a pipeline.
pipe = make_pipeline(clone(search.best_estimator_), LogisticRegression(max_iter=2000))
accuracy = cross_val_score(pipe, X, y, cv=3).mean()
print(f"pipeline accuracy: {accuracy:.3f}")
