"""
Grid-searching the step size in a Pipeline
==========================================

The estimators are ordinary scikit-learn estimators, so ``learning_rate``,
``optimizer`` and ``init`` can be tuned like any hyperparameter. Here
``FactorizationNAG`` reduces the 8×8 digits to 16 components before a
logistic regression. The grid is over the step size, relative to the
automatic one, and the optimizer. Each fit runs 150 iterations, so the
accuracy also shows how far each setting gets on that budget.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

from skfactor import FactorizationNAG

X, y = load_digits(return_X_y=True)
X = MinMaxScaler().fit_transform(X)

auto = FactorizationNAG(16, random_state=0, max_iter=1, tol=0).fit(X).learning_rate_
print(f"automatic step: {auto:.3g}")
steps = auto * np.array([0.1, 0.3, 1.0, 1.5])

pipe = make_pipeline(
    FactorizationNAG(16, max_iter=150, tol=0, random_state=0),
    LogisticRegression(max_iter=2000),
)
search = GridSearchCV(
    pipe,
    {
        "factorizationnag__learning_rate": list(steps),
        "factorizationnag__optimizer": ["gd", "nag"],
    },
    cv=3,
)
search.fit(X, y)
print("best:", search.best_params_, f"accuracy {search.best_score_:.3f}")

results = search.cv_results_
fig, ax = plt.subplots()
for optimizer in ("gd", "nag"):
    mask = np.array(results["param_factorizationnag__optimizer"]) == optimizer
    ax.plot(
        steps / auto,
        np.array(results["mean_test_score"])[mask],
        marker="o",
        label=optimizer,
    )
ax.set_xscale("log")
ax.set_xlabel("learning_rate / automatic step")
ax.set_ylabel("3-fold accuracy")
ax.legend()
plt.show()
