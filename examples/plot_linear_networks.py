"""
Two-layer linear networks trained by GD, NAG and heavy ball
===========================================================

``LinearNetRegressor`` fits ``x ↦ W₂W₁x`` by least squares. A two-layer
network is a factorization of the least-squares map: the output layer ``W₂``
plays the part of ``X`` and the input layer ``W₁`` that of ``Yᵀ``. The NAG
paper (Xu, Wang, Zhao, Ward & Tao, NeurIPS 2024) trains it from the
unbalanced start: a large output layer, sketched from the targets, and an
input layer at 0. Its settings:

- ``init="unbalanced", init_power_iter=0, init_scale=100``;
- ``learning_rate="auto"``: the step is one over the curvature of the
  least-squares problem in ``W₁`` with ``W₂`` held at its start;
- ``momentum="paper"``: the constant β of that problem's condition number
  (``momentum_``), used by NAG and here also by heavy ball;
- ``fit_intercept=False``, as in the paper's model.

The task is a small version of the paper's: 40 inputs, 50 outputs and 600
samples, a planted map of rank 5 with condition number 10, widths
d ∈ {5, 20, 80}. Each fit stops at a relative error of 1e-6. Every
iteration runs on the sufficient statistics ``XᵀX/n`` and ``YᵀX/n``, so it
costs nothing in the number of samples. The paper's own sizes are in
:ref:`sphx_glr_auto_examples_plot_nag_large_runs.py`.
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

fig, axes = plt.subplots(1, 3, figsize=(11, 3.6), sharey=True)
print(f"{'d':>3} {'GD':>6} {'NAG':>6} {'heavy ball':>10} {'β':>7}")
for ax, d in zip(axes, (5, 20, 80)):
    fits = [
        LinearNetRegressor(
            (d,),
            optimizer=optimizer,
            init="unbalanced",
            init_scale=100,
            init_power_iter=0,
            momentum="paper",
            fit_intercept=False,
            tol=1e-6,
            max_iter=5000,
            random_state=0,
        ).fit(X, Y)
        for optimizer in ("gd", "nag", "heavy_ball")
    ]
    ConvergenceDisplay.from_estimators(
        fits, labels=["GD", "NAG", "heavy ball"], y="relative_error", ax=ax
    )
    ax.set_title(f"40 → {d} → 50")
    ax.label_outer()
    gd, nag, heavy_ball = fits
    print(
        f"{d:>3} {gd.n_iter_:>6} {nag.n_iter_:>6} {heavy_ball.n_iter_:>10} "
        f"{nag.momentum_:7.3f}"
    )
fig.tight_layout()
plt.show()

# %%
# The fitted layers keep the start's imbalance: the output layer stays large
# and the input layer small, while their product recovers the planted map.
W1, W2 = nag.coefs_
error = np.linalg.norm(nag.coef_ - W) / np.linalg.norm(W)
print(
    f"d = 80, NAG: ‖W₁‖ = {np.linalg.norm(W1):.3f}, ‖W₂‖ = {np.linalg.norm(W2):.1f}, "
    f"‖W₂W₁ − W‖/‖W‖ = {error:.1e}"
)

# %%
# NAG needs about a fifteenth of GD's iterations at every width, and heavy
# ball with the same β a little more than NAG. Width helps all three a
# little here.
#
# A noisy target: at full width the network reaches the least-squares fit.
Y_noisy = Y + 0.1 * rng.standard_normal(Y.shape)
net = LinearNetRegressor((40,), tol=1e-10, max_iter=5000, random_state=0).fit(
    X, Y_noisy
)
ols = LinearRegression().fit(X, Y_noisy)
print("R² network:", net.score(X, Y_noisy), " LinearRegression:", ols.score(X, Y_noisy))
