"""What callbacks cost per iteration (issue 14).

FactorizationNAG (NAG, dense 4000×3000, d = 20, ``tol=0``) fitted for a fixed
number of iterations without callbacks and with each callback below, in
interleaved rounds:

- ``fit s/iter``: wall time of the fit per iteration (median of rounds);
- ``overhead``: median over rounds of that time over the plain fit's, less 1;
- ``in hooks``: the callbacks' own time per iteration over the plain fit's
  time per iteration. The solver leaves the callbacks' time out of
  ``time_curve_``, so the fit's wall time less its last ``time_curve_`` entry
  is set-up plus hooks; the plain fit's (set-up only) is subtracted, and the
  difference between fits of ``2N`` and ``N`` iterations leaves the
  once-per-fit costs out. This is the per-iteration figure (the target is
  ≤ 2 % for ``ProgressBar``), which the noise of whole fits does not blur;
- ``per fit s``: the once-per-fit cost (``setup``, ``teardown``: the
  progress bar's thread and display), from the same fits.

The callbacks: scikit-learn's ``ProgressBar`` (no reconstruction), a callback
that does nothing (the bridge alone), ``Recorder(["loss", "time"])`` (builds
every iterate's fitted estimator: the SVD form of the factors) and
``ScoringMonitor`` (the same, unscored: no ``y``).

    python -m benchmarks.callbacks [--quick]
"""

import contextlib
import io
import time

import numpy as np

from skfactor import FactorizationNAG
from skfactor.callbacks import Recorder
from skfactor.datasets import make_low_rank_matrix

from ._timing import cli, print_table


class _Nothing:
    def setup(self, estimator, context):
        pass

    def teardown(self, estimator, context):
        pass

    def on_fit_task_begin(self, estimator, context):
        pass

    def on_fit_task_end(self, estimator, context):
        return False


def _callbacks():
    from sklearn.callback import ProgressBar, ScoringMonitor

    return {
        "ProgressBar": ProgressBar,
        "does nothing": _Nothing,
        "Recorder(loss, time)": lambda: Recorder(["loss", "time"]),
        "ScoringMonitor": lambda: ScoringMonitor(scoring=None),
    }


def _fit(A, d, n_iter, make=None):
    model = FactorizationNAG(d, optimizer="nag", max_iter=n_iter, tol=0, random_state=0)
    if make is not None:
        model.set_callbacks(make())
    sink = io.StringIO()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        start = time.perf_counter()
        model.fit(A)
        wall = time.perf_counter() - start
    assert model.n_iter_ == n_iter
    return wall, wall - model.time_curve_[-1]


def run(quick=False):
    try:
        callbacks = _callbacks()
    except ImportError:  # scikit-learn < 1.9, or no rich
        print("sklearn.callback or rich is missing: nothing to measure.")
        return []
    m, n, d, n_iter, rounds = (
        (600, 400, 10, 20, 3) if quick else (4000, 3000, 20, 30, 3)
    )
    A, *_ = make_low_rank_matrix(m, n, d, 100, random_state=0)
    A = A + 1e-3 * np.random.RandomState(0).standard_normal(A.shape)
    _fit(A, d, 2)  # warm up
    rows = []
    for name, make in callbacks.items():
        walls, ratios, hooks, fixed = [], [], [], []
        for _ in range(rounds):
            plain, plain_rest = _fit(A, d, n_iter)
            plain2, plain_rest2 = _fit(A, d, 2 * n_iter)
            wall, rest = _fit(A, d, n_iter, make)
            _, rest2 = _fit(A, d, 2 * n_iter, make)
            per_iter = (plain2 - plain) / n_iter
            per_hook = ((rest2 - plain_rest2) - (rest - plain_rest)) / n_iter
            walls.append(wall / n_iter)
            ratios.append(wall / plain - 1.0)
            hooks.append(per_hook / per_iter)
            fixed.append((rest - plain_rest) - n_iter * per_hook)
        rows.append(
            [
                name,
                f"{np.median(walls):.4f}",
                f"{100 * np.median(ratios):+.2f} %",
                f"{100 * np.median(hooks):.3f} %",
                f"{np.median(fixed):.3f}",
            ]
        )
    print_table(
        f"Callbacks on FactorizationNAG, NAG, dense {m}×{n}, d = {d}, "
        f"{n_iter} iterations, {rounds} rounds",
        ["callback", "fit s/iter", "overhead", "in hooks", "per fit s"],
        rows,
    )
    return rows


if __name__ == "__main__":
    cli(run, __doc__)
