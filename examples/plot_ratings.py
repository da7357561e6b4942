r"""
Ratings in, predictions out: a recommender with MatrixCompletionRegressor
=========================================================================

:class:`~skfactor.MatrixCompletionRegressor` takes a ratings table as it
is: one row of ``X`` per rating with its (user id, item id), and the
ratings in ``y``. It fits the biased low-rank model of the recommender
literature,

.. math::

    \hat y_{ui} = \mu + b_u + c_i + \langle L_u, R_i \rangle,

with a count-weighted ridge ``alpha``, at the observed ratings only.

The ratings here come from :func:`skfactor.datasets.make_ratings`, shaped
like MovieLens-100K's at a smaller size: power-law item popularity and user
activity, user and item biases (popular items rated higher), a low-rank
taste signal, noise, and integer ratings from 1 to 5. Three questions:

1. How do the rank and the ridge change the held-out RMSE, and where does
   ``alpha="auto"`` land?
2. What does early stopping see during one fit?
3. How does that compare with the bias-only model and with the best model
   one could have (the generator's own)?
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import train_test_split

from skfactor import MatrixCompletionRegressor
from skfactor.datasets import make_ratings

X, y, truth = make_ratings(600, 800, 40_000, rank=6, signal=0.7, random_state=0)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=0)


def rmse(model):
    return np.sqrt(np.mean((model.predict(X_test) - y_test) ** 2))


print(
    f"{len(y)} ratings of {len(np.unique(X[:, 0]))} users and "
    f"{len(np.unique(X[:, 1]))} items; mean {y.mean():.2f}, std {y.std():.2f}"
)

# %%
# Rank and ridge
# --------------
#
# A grid over ``n_components`` and ``alpha``, each fit with early stopping on
# 10 % of its training ratings. The ridge is count-weighted (ALS-WR's), and
# ``alpha`` is free of the rating scale: it multiplies the ratings' standard
# deviation. Too small a ridge overfits the rare users and items; too large
# a one shrinks everything to the biases. The defaults choose ``alpha`` on
# held-out ratings along a warm-started path (``alphas_``, ``alpha_scores_``).
ranks = [2, 5, 10, 20]
alphas = [0.03, 0.06, 0.1, 0.2]
grid = np.array(
    [
        [
            rmse(
                MatrixCompletionRegressor(
                    d, alpha=a, early_stopping=True, random_state=0
                ).fit(X_train, y_train)
            )
            for a in alphas
        ]
        for d in ranks
    ]
)
auto = {
    d: MatrixCompletionRegressor(d, random_state=0).fit(X_train, y_train) for d in ranks
}

fig, ax = plt.subplots(figsize=(6.4, 4))
for j, a in enumerate(alphas):
    ax.plot(ranks, grid[:, j], "o-", label=f"alpha={a}")
ax.plot(ranks, [rmse(auto[d]) for d in ranks], "k*--", ms=10, label='alpha="auto"')
ax.set_xscale("log", base=2)
ax.set_xticks(ranks, [str(d) for d in ranks])
ax.set_xlabel("n_components")
ax.set_ylabel("test RMSE")
ax.set_title("Held-out RMSE against rank and ridge")
ax.legend()
for d in ranks:
    print(
        f"n_components={d:2d}: alpha_={auto[d].alpha_:.3f}, test RMSE "
        f"{rmse(auto[d]):.4f} (grid best {grid[ranks.index(d)].min():.4f})"
    )

# %%
# The learning curve with early stopping
# --------------------------------------
#
# One fit at a fixed ridge, over-parameterized (rank 20 for a rank-6
# signal), with the held-out RMSE recorded after every iteration
# (``validation_rmse_``). From a small start the low-rank part first sits
# at the bias-only model (a saddle), then grows one direction at a time;
# the held-out error falls, and rises again once the fit starts on the
# noise. The fit ends ``n_iter_no_change`` iterations after the best and
# publishes the best iterate (``best_iteration_``).
model = MatrixCompletionRegressor(
    20, alpha=0.03, early_stopping=True, n_iter_no_change=60, random_state=0
).fit(X_train, y_train)
train_rmse = np.sqrt(2 * model.loss_curve_)  # the loss is half the MSE (+ ridge)

fig, ax = plt.subplots(figsize=(6.4, 4))
ax.plot(model.validation_rmse_, label="held-out ratings (validation)")
ax.plot(np.arange(1, len(train_rmse) + 1), train_rmse, label="training ratings")
ax.axvline(model.best_iteration_, color="k", ls=":", label="best iterate (kept)")
ax.set_xlabel("iteration")
ax.set_ylabel("RMSE")
ax.set_title("Early stopping restores the best held-out iterate")
ax.legend()
print(
    f"best iteration {model.best_iteration_} of {len(model.validation_rmse_) - 1}; "
    f"test RMSE {rmse(model):.4f}"
)

# %%
# Against the bias-only model and the generator's own
# ---------------------------------------------------
#
# The bias-only model is the same estimator with ``n_components=0`` (a
# popularity baseline with user and item offsets, its ridge chosen the same
# way). The generator's model, before noise and rounding, is the best any
# method could do on these ratings.
baseline = MatrixCompletionRegressor(0, random_state=0).fit(X_train, y_train)
oracle = np.sqrt(np.mean((truth.predict(X_test) - y_test) ** 2))
best_auto = min(ranks, key=lambda d: rmse(auto[d]))
print(f"bias-only model        {rmse(baseline):.4f}")
print(f'alpha="auto", rank {best_auto:2d}  {rmse(auto[best_auto]):.4f}')
print(f"generator's own model  {oracle:.4f}")
plt.show()
