"""
Linear networks trained by GD, NAG and heavy ball
=================================================

``LinearNetRegressor`` fits ``x ↦ W₂W₁x`` by least squares. The task is the NAG
paper's larger run, scaled down: 40 inputs, 50 outputs, hidden width 8 and 600
samples, with a planted map of rank 5 and condition number 10. The start is
unbalanced: a large first layer and a zero output layer.

Every iteration runs on the sufficient statistics ``XᵀX/n`` and ``YᵀX/n``, so it
costs nothing in the number of samples. At full width the fit matches
``LinearRegression``.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.linear_model import LinearRegression

from skfactor import LinearNetRegressor
from skfactor.datasets import make_low_rank_matrix
from skfactor.plotting import ConvergenceDisplay

rng = np.random.RandomState(0)
W, *_ = make_low_rank_matrix(50, 40, 5, 10, random_state=0)
X = rng.standard_normal((600, 40))
Y = X @ W.T

fits = [
    LinearNetRegressor(
        (8,),
        optimizer=opt,
        tol=1e-7,
        max_iter=5000,
        fit_intercept=False,
        random_state=0,
    ).fit(X, Y)
    for opt in ("gd", "nag", "heavy_ball")
]
for model in fits:
    error = np.linalg.norm(model.coef_ - W) / np.linalg.norm(W)
    print(f"{model.optimizer:>10}: {model.n_iter_:5d} iterations, error {error:.1e}")

display = ConvergenceDisplay.from_estimators(
    fits, labels=["GD", "NAG", "heavy ball"], y="relative_error"
)
display.ax_.set_title("Linear network 40 → 8 → 50, planted rank 5")
plt.show()

# %%
# A noisy target: at full width the network reaches the least-squares fit.
Y_noisy = Y + 0.1 * rng.standard_normal(Y.shape)
net = LinearNetRegressor((40,), tol=1e-10, max_iter=5000, random_state=0).fit(
    X, Y_noisy
)
ols = LinearRegression().fit(X, Y_noisy)
print("R² network:", net.score(X, Y_noisy), " LinearRegression:", ols.score(X, Y_noisy))
