"""
Alternating GD from the Ward–Kolda start
========================================

Ward & Kolda (NeurIPS 2023) analyse alternating gradient descent
(``X⁺ = X − η∇_X f``, then ``Y⁺ = Y − η∇_Y f`` at the new ``X``) from an
asymmetric random start:

- ``X₀ = AΦ₁/(√η·C·σ₁)``, a sketch of ``A``;
- ``Y₀ = √η·D·σ₁·Φ₂``, small and random.

The sketch puts ``X₀`` in the range of ``A`` from the first iteration. A
standard Gaussian start must first find that range.

Both fits below use AltGD with the step ``η = 1/σ₁(A)``.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np

from skfactor import FactorizationNAG
from skfactor.datasets import make_low_rank_matrix
from skfactor.plotting import ConvergenceDisplay

A, *_ = make_low_rank_matrix(300, 200, 5, 10, random_state=0)
eta = 1.0 / np.linalg.norm(A, 2)
fits = {
    init: FactorizationNAG(
        10,
        optimizer="altgd",
        init=init,
        learning_rate=eta,
        tol=1e-8,
        max_iter=4000,
        random_state=0,
    ).fit(A)
    for init in ("ward_kolda", "gaussian")
}
for init, model in fits.items():
    print(f"{init:>10}: {model.n_iter_} iterations, converged: {model.converged_}")

display = ConvergenceDisplay.from_estimators(
    list(fits.values()),
    labels=["AltGD, Ward–Kolda start", "AltGD, Gaussian start"],
    y="relative_error",
)
display.ax_.set_title("Planted rank 5, κ = 10, width 10")
plt.show()
