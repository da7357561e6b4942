"""What callbacks cost per iteration (issue 14).

FactorizationNAG (NAG, dense 4000×3000, d = 20, ``tol=0``) fitted for a fixed
number of iterations without callbacks and with each callback below, in
interleaved rounds:

- ``fit s/iter``: wall time of the fit per iteration (median of rounds);
- ``overhead``: median over rounds of that time over the plain fit's, less 1;
- ``in hooks``: the time the solver spent reporting iterations (the bridge
  and the callbacks' hooks, which the solver leaves out of ``time_curve_``)
  over the solver's own time, both per iteration: the figure whole-fit
  noise does not blur (the target is ≤ 2 % for ``ProgressBar``);
- ``per fit s``: the once-per-fit cost outside the iterations (``setup``,
  ``teardown``: the progress bar's thread and display), the fit's wall time
  less the solver's and reporting time less the plain fit's set-up.

The callbacks: scikit-learn's ``ProgressBar`` (no reconstruction), a callback
that does nothing (the bridge alone), ``Recorder(["loss", "time"])`` (reads
the iterate: no reconstruction either) and ``ScoringMonitor`` (builds every
iterate's fitted estimator, the SVD form of the factors, unscored: no ``y``).

    python -m benchmarks.callbacks [--quick]
"""

import contextlib
import io
import time

import numpy as np

from skfactor import FactorizationNAG, _solver
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
    """Wall time, reporting time and solver time of one fit."""
    model = FactorizationNAG(d, optimizer="nag", max_iter=n_iter, tol=0, random_state=0)
    if make is not None:
        model.set_callbacks(make())
    reports = []
    original = _solver._Reports.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        reports.append(self)

    sink = io.StringIO()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        _solver._Reports.__init__ = init
        try:
            start = time.perf_counter()
            model.fit(A)
            wall = time.perf_counter() - start
        finally:
            _solver._Reports.__init__ = original
    assert model.n_iter_ == n_iter
    paused = reports[0].paused if reports else 0.0
    return wall, paused, float(model.time_curve_[-1])


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
            plain, _, plain_solver = _fit(A, d, n_iter)
            wall, paused, solver = _fit(A, d, n_iter, make)
            walls.append(wall / n_iter)
            ratios.append(wall / plain - 1.0)
            hooks.append(paused / solver)
            fixed.append((wall - solver - paused) - (plain - plain_solver))
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
