"""
Small random initialization and its three phases
================================================

Stöger & Soltanolkotabi (NeurIPS 2021) describe gradient descent from a tiny
random start ``F₀ = α·G`` in three phases:

1. **Alignment.** While the factors are tiny, GD acts like the power method: the
   loss barely moves while the factors turn towards the top singular subspace.
2. **Saddle escapes.** The singular values of ``XYᵀ`` grow one at a time, largest
   first. Each escape is a drop in the loss.
3. **Local convergence.** A linear rate, down to an error floor that shrinks with
   α.

The fit below is cut into chunks with ``warm_start`` so that the singular values
of ``XYᵀ`` can be recorded along the way. GD keeps no state between
iterations, so the chunked fit is the same fit.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np

from skfactor import FactorizationNAG
from skfactor.datasets import make_low_rank_matrix

A, U, s, V = make_low_rank_matrix(100, 80, 3, 4, random_state=0)
print("planted singular values:", np.round(s, 3))

model = FactorizationNAG(
    5,
    optimizer="gd",
    init="small_random",
    init_scale=1e-6,
    learning_rate=0.2,
    max_iter=10,
    tol=0,
    warm_start=True,
    random_state=0,
)
losses, sigmas = [], []
for _ in range(60):
    model.fit(A)
    losses.extend(model.loss_curve_)
    XYt = model.embedding_ @ model.components_
    sigmas.append(np.linalg.svd(XYt, compute_uv=False)[:3])
iterations = np.arange(1, len(losses) + 1)
checkpoints = np.arange(1, len(sigmas) + 1) * 10

fig, (top, bottom) = plt.subplots(2, 1, sharex=True, figsize=(7, 6))
top.semilogy(iterations, losses)
top.set_ylabel("loss ½‖XYᵀ − A‖²")
top.set_title("GD from α = 1e-6: alignment, saddle escapes, local convergence")
sigmas = np.array(sigmas)
for k in range(3):
    bottom.plot(checkpoints, sigmas[:, k], label=f"σ{k + 1}(XYᵀ)")
    bottom.axhline(s[k], color=f"C{k}", linestyle=":", linewidth=1)
bottom.set_xlabel("iteration")
bottom.set_ylabel("singular value")
bottom.legend()
fig.tight_layout()
plt.show()

# %%
# The dotted lines are the planted singular values. Each one is learned in turn,
# and each escape shows as a step in the loss.
