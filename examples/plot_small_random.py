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

A :class:`~skfactor.callbacks.Recorder` set on the estimator records, at every
iteration of one fit, the distance of ``XYᵀ`` to the planted matrix and the
top singular values of the iterate;
:meth:`~skfactor.plotting.ConvergenceDisplay.from_recorder` draws them.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np

from skfactor import FactorizationNAG
from skfactor.callbacks import Recorder
from skfactor.datasets import make_low_rank_matrix
from skfactor.plotting import ConvergenceDisplay

A, U, s, V = make_low_rank_matrix(100, 80, 3, 4, random_state=0)
print("planted singular values:", np.round(s, 3))


def sigma(k):
    """The k-th singular value of the iterate's model X Yᵀ."""
    return lambda model: model.singular_values_[k]


recorder = Recorder(
    {
        "loss": "loss",
        "distance": "distance",  # ‖XYᵀ − M*‖_F / ‖M*‖_F
        **{f"σ{k + 1}": sigma(k) for k in range(3)},
    },
    truth=(U * s, V),  # M* = U diag(s) Vᵀ, never formed
)
model = FactorizationNAG(
    5,
    optimizer="gd",
    init="small_random",
    init_scale=1e-6,
    learning_rate=0.2,
    max_iter=600,
    tol=0,
    random_state=0,
)
model.set_callbacks(recorder).fit(A)
history = recorder.history_
print(history)

fig, (top, bottom) = plt.subplots(2, 1, sharex=True, figsize=(7, 6))
ConvergenceDisplay.from_recorder(recorder, "distance", ax=top, labels=["GD, α = 1e-6"])
top.set_ylabel("‖XYᵀ − M*‖ / ‖M*‖")
top.set_title("GD from α = 1e-6: alignment, saddle escapes, local convergence")
for k in range(3):
    bottom.plot(history["iteration"], history[f"σ{k + 1}"], label=f"σ{k + 1}(XYᵀ)")
    bottom.axhline(s[k], color=f"C{k}", linestyle=":", linewidth=1)
bottom.set_xlabel("iteration")
bottom.set_ylabel("singular value")
bottom.legend()
fig.tight_layout()
plt.show()

# %%
# The dotted lines are the planted singular values. During the alignment the
# distance stays at 1 (the model is still tiny); each planted value is then
# learned in turn, largest first, each escape a drop in the distance; the last
# phase is a straight line on the log scale, GD's linear rate.
