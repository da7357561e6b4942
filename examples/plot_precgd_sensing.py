r"""
PrecGD against GD in over-parameterized matrix sensing
======================================================

The comparison of the PrecGD paper (Zhang, Fattahi & Zhang, NeurIPS 2021):
recover a positive semi-definite matrix :math:`M = ZZ^\top` of rank
:math:`r^\star` from Gaussian measurements :math:`y_i = \langle A_i, M\rangle`
by fitting :math:`XX^\top` at a search rank :math:`r`.

- At the exact rank, GD converges linearly, at a rate set by κ.
- Over-parameterized (:math:`r > r^\star`), GD turns sublinear.
- PrecGD right-preconditions the gradient by
  :math:`(X^\top X + \delta_k I)^{-1}` with :math:`\delta_k` the residual
  norm, and keeps a linear rate whatever the search rank and κ.

Settings: the paper's symmetric model (``symmetric=True``); PrecGD with the
step η = 0.5 and :math:`\delta_k = \sqrt{2f}`, which is the paper's
:math:`\lVert\mathcal{A}(XX^\top) - y\rVert` in skfactor's mean-squared
scaling (both ``"auto"``); GD with its automatic step; both from the small
random start :math:`X_0 = \alpha G` with α = 1e-4 (relative to
:math:`\sqrt{\sigma_1}`). The data, this project's choice: 30×30, rank
:math:`r^\star = 3` with singular values ``linspace(1, 1/κ, 3)``,
N = 450 = 5·n·r⋆ measurements with N(0, 1) entries, κ ∈ {10, 100}, search
rank 6. Each fit stops at a relative residual of 1e-10 or after 1500
iterations.
"""

# %%
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.exceptions import ConvergenceWarning

from skfactor import MatrixSensingPrecGD
from skfactor.datasets import make_matrix_sensing
from skfactor.plotting import ConvergenceDisplay

# GD is expected to hit max_iter here; that is the point of the comparison.
warnings.filterwarnings("ignore", category=ConvergenceWarning)

runs = [("gd", 3), ("gd", 6), ("precgd", 6)]
fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
for ax, kappa in zip(axes, (10, 100)):
    X, y, M = make_matrix_sensing(
        30, 30, 3, 450, condition_number=kappa, symmetric=True, random_state=0
    )
    fits = []
    for optimizer, rank in runs:
        model = MatrixSensingPrecGD(
            rank,
            symmetric=True,
            optimizer=optimizer,
            tol=1e-10,
            max_iter=1500,
            random_state=0,
        ).fit(X, y)
        error = np.linalg.norm(model.coef_ - M) / np.linalg.norm(M)
        print(
            f"κ = {kappa:3d}, {optimizer:>6}, rank {rank}: {model.n_iter_:4d} "
            f"iterations, ‖M̂ − M‖/‖M‖ = {error:.1e}, "
            f"effective rank {model.effective_rank_}"
        )
        fits.append(model)
    ConvergenceDisplay.from_estimators(
        fits,
        labels=[f"{optimizer}, search rank {rank}" for optimizer, rank in runs],
        y="relative_error",
        ax=ax,
    )
    ax.set_title(f"Sensing, true rank 3, κ = {kappa}")
    ax.label_outer()
fig.tight_layout()
plt.show()

# %%
# At κ = 10, GD at the exact rank reaches 1e-10 in about 1300 iterations,
# while at search rank 6 it slows down and is still at about 5e-5 after 1500.
# At κ = 100, GD is slow at either rank. PrecGD needs about 200 iterations
# in both cases, and ``effective_rank_`` shows that its over-parameterized
# fit ends at rank 3, where GD's still spreads the solution over all six
# directions.
