"""Recommender-grade completion: MatrixCompletionRegressor against Surprise.

Quality, on ratings shaped like MovieLens-100K's (``make_ratings``'s
defaults: 943 × 1682, 100 000 ratings on 1–5, power-law popularity and
activity, row and column biases, a rank-10 signal, noise), by 5-fold CV RMSE
(Surprise's protocol):

- ``MatrixCompletionRegressor()`` with its defaults, and the best cell of a
  12-cell ``GridSearchCV`` over ``n_components × alpha``;
- Surprise's ``SVD`` (its defaults: biased SGD, 100 factors, 20 epochs),
  ``SVDpp`` and ``BaselineOnly`` when ``scikit-surprise`` is installed (the
  ``bench`` extra), otherwise the same SGD as a plain numpy loop.

Speed, in one run:

- time per iteration against the gather/scatter floor at the same number of
  ratings and rank: the floor is the two gathers of the factors' rows at
  every rating (chunked as skfactor does, on the same threads) plus the two
  scatter-adds into the rows and the columns (scipy's compiled CSR/CSC
  products), the memory traffic any gradient pass needs;
- the default fit on the 100 000 ratings;
- a synthetic 25M-rating problem (160 000 × 60 000, rank 20): seconds per
  iteration and the fit's peak memory (full mode only).

    python -m benchmarks.completion [--quick]
"""

import resource
import time
import warnings

import numpy as np
from sklearn.model_selection import GridSearchCV, KFold

from skfactor import MatrixCompletionRegressor
from skfactor._objectives import CompletionObjective
from skfactor._objectives._completion import _both, _workers
from skfactor.datasets import make_ratings

from ._timing import cli, median_time, peak_memory, print_table

try:  # the bench extra
    import surprise
except ImportError:  # pragma: no cover - depends on the environment
    surprise = None

#: Surprise's published 5-fold RMSE on MovieLens-100K (its README), the
#: anchors of the issue: SVD, SVD++, kNN-baseline, BaselineOnly.
ANCHORS = {"SVD": 0.934, "SVD++": 0.919, "KNNBaseline": 0.931, "BaselineOnly": 0.944}


def _rmse(a, b):
    return float(np.sqrt(np.mean((np.asarray(a) - np.asarray(b)) ** 2)))


# ---------------------------------------------------------------------------
# The peers
# ---------------------------------------------------------------------------
def sgd_svd(X, y, n_factors=100, n_epochs=20, lr=0.005, reg=0.02, seed=0):
    """Surprise's ``SVD`` as a plain numpy loop: biased SGD over the ratings
    in a random order each epoch, factors N(0, 0.1²). Returns ``predict``."""
    rng = np.random.RandomState(seed)
    users, u_codes = np.unique(X[:, 0], return_inverse=True)
    items, i_codes = np.unique(X[:, 1], return_inverse=True)
    mu = float(np.mean(y))
    bu, bi = np.zeros(len(users)), np.zeros(len(items))
    P = rng.normal(0, 0.1, (len(users), n_factors))
    Q = rng.normal(0, 0.1, (len(items), n_factors))
    for _ in range(n_epochs):
        for e in rng.permutation(len(y)):
            u, i = u_codes[e], i_codes[e]
            pu, qi = P[u], Q[i]
            err = y[e] - (mu + bu[u] + bi[i] + pu @ qi)
            bu[u] += lr * (err - reg * bu[u])
            bi[i] += lr * (err - reg * bi[i])
            P[u] = pu + lr * (err * qi - reg * pu)
            Q[i] = qi + lr * (err * pu - reg * qi)

    def predict(Xt):
        u = np.searchsorted(users, Xt[:, 0])
        i = np.searchsorted(items, Xt[:, 1])
        ku = (u < len(users)) & (users[np.minimum(u, len(users) - 1)] == Xt[:, 0])
        ki = (i < len(items)) & (items[np.minimum(i, len(items) - 1)] == Xt[:, 1])
        out = np.full(len(Xt), mu)
        out[ku] += bu[u[ku]]
        out[ki] += bi[i[ki]]
        both = ku & ki
        out[both] += np.einsum("ij,ij->i", P[u[both]], Q[i[both]])
        return np.clip(out, 1, 5)  # Surprise clips to the rating scale

    return predict


def _surprise_fit(algorithm, X, y):
    reader = surprise.Reader(rating_scale=(1, 5))
    frame = [(int(u), int(i), float(r)) for (u, i), r in zip(X, y)]
    import pandas as pd

    data = surprise.Dataset.load_from_df(
        pd.DataFrame(frame, columns=["u", "i", "r"]), reader
    )
    model = algorithm()
    model.fit(data.build_full_trainset())

    def predict(Xt):
        return np.array([model.predict(int(u), int(i)).est for u, i in Xt])

    return predict


def _peers(quick):
    if surprise is not None:
        peers = {
            "Surprise SVD": lambda X, y: _surprise_fit(surprise.SVD, X, y),
            "Surprise BaselineOnly": lambda X, y: _surprise_fit(
                lambda: surprise.BaselineOnly(verbose=False), X, y
            ),
        }
        if not quick:
            peers["Surprise SVD++"] = lambda X, y: _surprise_fit(surprise.SVDpp, X, y)
        return peers
    epochs = 2 if quick else 20
    return {"numpy SGD (Surprise's SVD)": lambda X, y: sgd_svd(X, y, n_epochs=epochs)}


# ---------------------------------------------------------------------------
# Quality
# ---------------------------------------------------------------------------
def quality(quick=False):
    if quick:
        X, y, _ = make_ratings(200, 300, 8000, rank=5, random_state=0)
        folds, grid = 2, {"n_components": [5, 10], "alpha": [0.05, 0.1]}
    else:
        X, y, _ = make_ratings(random_state=0)
        folds = 5
        grid = {"n_components": [5, 10, 20, 40], "alpha": [0.04, 0.07, 0.1]}
    cv = KFold(folds, shuffle=True, random_state=0)
    rows = []
    fits = {
        "MatrixCompletionRegressor() (defaults)": lambda X, y: (
            MatrixCompletionRegressor(random_state=0).fit(X, y).predict
        ),
        **_peers(quick),
    }
    for name, fit in fits.items():
        scores, seconds = [], []
        for train, test in cv.split(X):
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                predict = fit(X[train], y[train])
            seconds.append(time.perf_counter() - start)
            scores.append(_rmse(predict(X[test]), y[test]))
        rows.append((name, f"{np.mean(scores):.4f}", f"{np.mean(seconds):.2f}"))
    start = time.perf_counter()
    search = GridSearchCV(
        MatrixCompletionRegressor(random_state=0, early_stopping=True),
        grid,
        cv=cv,
        scoring="neg_root_mean_squared_error",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        search.fit(X, y)
    cells = len(search.cv_results_["params"])
    per_fit = (time.perf_counter() - start) / (cells * folds)
    best = search.best_params_
    rows.append(
        (
            f"GridSearchCV, {cells} cells (best: n_components={best['n_components']}, "
            f"alpha={best['alpha']})",
            f"{-search.best_score_:.4f}",
            f"{per_fit:.2f}",
        )
    )
    print_table(
        f"Ratings shaped like MovieLens-100K ({len(y)} ratings), {folds}-fold CV "
        "RMSE (Surprise's published MovieLens-100K figures: SVD 0.934, SVD++ "
        "0.919, BaselineOnly 0.944)",
        ("model", "CV RMSE", "s per fit"),
        rows,
    )
    return rows


# ---------------------------------------------------------------------------
# Speed
# ---------------------------------------------------------------------------
def _floor(objective, factors):
    """The gather/scatter floor of one gradient pass, in seconds (see the
    module docstring)."""
    L, R = factors
    rows, cols = objective.rows, objective.cols
    n = len(rows)
    E = objective._by_row
    chunk = int(min(4096, max(512, (1 << 17) // L.shape[1])))

    def gathers(lo, hi):
        for start in range(lo, hi, chunk):
            stop = min(start + chunk, hi)
            L.take(rows[start:stop], axis=0)
            R.take(cols[start:stop], axis=0)

    def run():
        workers = _workers(n)
        if workers > 1:
            half = (n // 2) // chunk * chunk
            _both(lambda: gathers(0, half), lambda: gathers(half, n), True)
        else:
            gathers(0, n)
        _both(lambda: E @ R, lambda: E.T @ L, workers > 1)

    return median_time(run, repeats=5)


def _iteration_time(X, y, rank, optimizer, iterations):
    model = MatrixCompletionRegressor(
        rank,
        optimizer=optimizer,
        alpha=0.1,
        early_stopping=False,
        max_iter=iterations,
        tol=0.0,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X, y)
    times = np.diff(np.concatenate([[0.0], model.time_curve_]))
    return float(np.median(times[1:])), model


def speed(quick=False):
    sizes = (
        [(300, 400, 20_000)]
        if quick
        else [(943, 1682, 100_000), (6040, 3706, 1_000_000)]
    )
    ranks = (5, 10) if quick else (5, 10, 20)
    rows = []
    for n1, n2, n in sizes:
        X, y, _ = make_ratings(n1, n2, n, rank=10, random_state=0)
        for rank in ranks:
            objective = CompletionObjective(X[:, 0], X[:, 1], y, (n1, n2), rank)
            rng = np.random.RandomState(0)
            factors = objective.complete_start(
                [0.1 * rng.standard_normal((s, rank)) for s in (n1, n2)]
            )
            floor = _floor(objective, factors)
            for optimizer in ("heavy_ball", "nag"):
                per_iter, _ = _iteration_time(
                    X, y, rank, optimizer, 30 if quick else 60
                )
                rows.append(
                    (
                        f"{n:,}",
                        rank,
                        optimizer,
                        f"{1e3 * floor:.2f}",
                        f"{1e3 * per_iter:.2f}",
                        f"{per_iter / floor:.2f}",
                    )
                )
    print_table(
        "Seconds per iteration against the gather/scatter floor (same ratings, "
        "same rank, same threads; alpha=0.1, no early stopping)",
        ("ratings", "rank", "optimizer", "floor ms", "iteration ms", "× floor"),
        rows,
    )
    X, y, _ = make_ratings(*sizes[0], rank=10, random_state=0)
    fits = []
    for _ in range(1 if quick else 3):
        start = time.perf_counter()
        model = MatrixCompletionRegressor(random_state=0).fit(X, y)
        fits.append(time.perf_counter() - start)
    default_rows = [
        (
            f"{sizes[0][2]:,}",
            f"{np.median(fits):.2f}",
            f"{model.alpha_:.4f}",
            len(model.alphas_),
        )
    ]
    print_table(
        "MatrixCompletionRegressor() with its defaults (alpha='auto', early "
        "stopping), median of the runs",
        ("ratings", "fit s", "alpha_ chosen", "path points"),
        default_rows,
    )
    return rows + default_rows


def large(quick=False):
    """The 25M-rating problem: 160 000 × 60 000, rank 20."""
    if quick:
        n1, n2, n, rank = 4000, 3000, 200_000, 20
    else:
        n1, n2, n, rank = 160_000, 60_000, 25_000_000, 20
    start = time.perf_counter()
    X, y, _ = make_ratings(n1, n2, n, rank=10, random_state=0)
    made = time.perf_counter() - start
    result = {}

    def fit():
        result["model"] = _iteration_time(X, y, rank, "heavy_ball", 3 if quick else 5)

    peak = peak_memory(fit)
    per_iter, model = result["model"]
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    rows = [
        (
            f"{n:,}",
            f"{n1:,} × {n2:,}",
            rank,
            f"{per_iter:.2f}",
            f"{peak / 2**30:.2f}",
            f"{rss / 2**30:.2f}",
            f"{made:.1f}",
        )
    ]
    del model
    print_table(
        "A large problem: seconds per heavy-ball iteration and the fit's peak "
        "memory (numpy and Python allocations; the process's maximum resident "
        "size includes the generated ratings)",
        (
            "ratings",
            "shape",
            "rank",
            "s per iteration",
            "fit peak GiB",
            "max RSS GiB",
            "data s",
        ),
        rows,
    )
    return rows


def run(quick=False):
    rows = quality(quick)
    rows += speed(quick)
    rows += large(quick)
    return rows


if __name__ == "__main__":
    cli(run, __doc__)
