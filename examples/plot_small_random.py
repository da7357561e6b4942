r"""
Small random initialization and its three phases
================================================

Stöger & Soltanolkotabi (NeurIPS 2021) study gradient descent for
over-parameterized low-rank matrix sensing, fitting :math:`XX^\top` to a
positive semi-definite matrix of rank :math:`r^\star` from a tiny random
start :math:`X_0 = \alpha G`. They describe three phases:

1. **Alignment.** While the factor is tiny, GD acts like the power method:
   the loss barely moves while :math:`X` turns towards the top eigenspace.
2. **Saddle escapes.** The eigenvalues of :math:`XX^\top` grow one at a
   time, largest first. Each escape is a drop in the error.
3. **Local convergence.** A linear rate, down to an error floor that
   shrinks with α: the surplus directions of :math:`X` stay about as small
   as they started.

Settings, the paper's model with sizes of this project's choosing: the
symmetric model (``symmetric=True``), ``optimizer="gd"`` with its automatic
step, ``init="small_random"`` with ``init_scale`` α (relative to
:math:`\sqrt{\sigma_1}`; G has N(0, 1/n) entries); a 40×40 matrix of rank
:math:`r^\star = 3` with eigenvalues ``linspace(1, 1/3, 3)`` (κ = 3), 1200
Gaussian measurements, search rank 12; 600 iterations for α = 1e-3 and
α = 1e-6.

A :class:`~skfactor.callbacks.Recorder` set on the estimator records, at
every iteration, the distance of :math:`XX^\top` to the planted matrix and
the top eigenvalues of the iterate;
:meth:`~skfactor.plotting.ConvergenceDisplay.from_recorder` draws them.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np

from skfactor import MatrixSensingPrecGD
from skfactor.callbacks import Recorder
from skfactor.datasets import make_matrix_sensing
from skfactor.plotting import ConvergenceDisplay

X, y, M = make_matrix_sensing(
    40, 40, 3, 1200, condition_number=3, symmetric=True, random_state=0
)
s = np.linalg.eigvalsh(M)[::-1]
print("planted eigenvalues:", np.round(s[:3], 3))


def eigenvalue(k):
    """The k-th largest eigenvalue of the iterate's model XXᵀ."""
    return lambda model: np.linalg.eigvalsh(model.coef_)[-1 - k]


recorders = []
for alpha in (1e-3, 1e-6):
    recorder = Recorder(
        {"distance": "distance", **{f"λ{k + 1}": eigenvalue(k) for k in range(4)}},
        truth=M,
    )
    model = MatrixSensingPrecGD(
        12,
        symmetric=True,
        optimizer="gd",
        init="small_random",
        init_scale=alpha,
        max_iter=600,
        tol=0,
        random_state=0,
    )
    model.set_callbacks(recorder).fit(X, y)
    recorders.append(recorder)
    final = recorder.history_["distance"][-1]
    print(
        f"α = {alpha:.0e}: step {model.learning_rate_:.3f}, "
        f"final ‖XXᵀ − M‖/‖M‖ = {final:.1e}"
    )

fig, (top, bottom) = plt.subplots(2, 1, sharex=True, figsize=(7, 6.5))
ConvergenceDisplay.from_recorder(
    [r.history_ for r in recorders],
    "distance",
    ax=top,
    labels=["GD, α = 1e-3", "GD, α = 1e-6"],
)
top.set_ylabel("‖XXᵀ − M‖ / ‖M‖")
top.set_xlabel("")
top.set_title("GD from a small start, search rank 12, true rank 3")
history = recorders[1].history_
for k in range(4):
    name = f"λ{k + 1}"
    bottom.semilogy(history["iteration"], history[name], label=f"{name}(XXᵀ), α = 1e-6")
    if k < 3:
        bottom.axhline(s[k], color=f"C{k}", linestyle=":", linewidth=1)
bottom.set_xlabel("iteration")
bottom.set_ylabel("eigenvalue")
bottom.legend(fontsize="small")
fig.tight_layout()
plt.show()

# %%
# The dotted lines are the planted eigenvalues. From α = 1e-6 the model is
# still tiny for the first few dozen iterations (the distance stays at 1);
# the planted eigenvalues are then learned in turn, largest first, each one
# a drop in the distance. The fourth eigenvalue belongs to a direction the
# planted matrix does not have: it stays near 1e-7, and that sets the error
# floor. From α = 1e-3 the phases are shorter, but the floor is more than a
# thousand times higher.
