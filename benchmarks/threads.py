"""BLAS threads under a concurrent load (issue 13).

Each fit runs three ways: the BLAS pool at 2 threads with skfactor's small
kernels single-threaded (what skfactor does), the pool at 2 threads for
everything (the small kernels threaded too, as before), and the pool at 1
thread. Both on a quiet machine and while another process keeps one core
busy (a pure-Python loop), the load a second job, a notebook or
``pytest -n 2`` puts on this 2-core machine. The columns are seconds
(median of rounds).

    python -m benchmarks.threads [--quick]
"""

import contextlib
import multiprocessing
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

import skfactor._threads as threads
from skfactor import FactorizationNAG, MatrixSensingPrecGD
from skfactor.datasets import make_low_rank_matrix, make_matrix_completion

from ._timing import cli, print_table


def _burn(stop):
    while not stop.is_set():
        sum(i * i for i in range(10_000))


@contextlib.contextmanager
def _load(busy):
    if not busy:
        yield
        return
    stop = multiprocessing.Event()
    worker = multiprocessing.Process(target=_burn, args=(stop,), daemon=True)
    worker.start()
    time.sleep(0.2)
    try:
        yield
    finally:
        stop.set()
        worker.join()


@contextlib.contextmanager
def _mode(mode):
    if mode == "1 thread":
        with threadpool_limits(limits=1, user_api="blas"):
            yield
        return
    with threadpool_limits(limits=2, user_api="blas"):
        if mode == "2 threads, small ones on 1":
            yield
            return
        saved = threads.single_threaded
        threads.single_threaded = contextlib.nullcontext
        try:
            yield
        finally:
            threads.single_threaded = saved


def _workloads(quick):
    m, n = (600, 400) if quick else (2000, 1500)
    A = make_low_rank_matrix(m, n, 10, 100, noise=0.01, random_state=0)[0]
    yield (
        f"precgd {m}x{n} d=20",
        lambda: FactorizationNAG(
            20, optimizer="precgd", max_iter=200, tol=0, random_state=0
        ).fit(A),
    )
    small = make_low_rank_matrix(120, 80, 5, 100, random_state=0)[0]
    yield (
        "nag 120x80 d=10",
        lambda: FactorizationNAG(10, max_iter=2000, tol=0, random_state=0).fit(small),
    )
    n1, n2 = (150, 100) if quick else (600, 400)
    X, y, _ = make_matrix_completion(n1, n2, 5, fraction=0.2, random_state=0)
    yield (
        f"completion {n1}x{n2} scaledgd",
        lambda: MatrixSensingPrecGD(
            5, shape=(n1, n2), optimizer="scaledgd", max_iter=300, tol=0, random_state=0
        ).fit(X, y),
    )


MODES = ("2 threads, small ones on 1", "2 threads for all", "1 thread")


def run(quick=False):
    rounds = 1 if quick else 3
    rows = []
    for name, fit in _workloads(quick):
        for busy in (False, True):
            times = {mode: [] for mode in MODES}
            with _load(busy), warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                for _ in range(rounds):
                    for mode in MODES:
                        with _mode(mode):
                            start = time.perf_counter()
                            fit()
                            times[mode].append(time.perf_counter() - start)
            medians = [f"{np.median(times[mode]):.3f}" for mode in MODES]
            rows.append((name, "busy core" if busy else "quiet", *medians))
    print_table(
        "Seconds per fit: skfactor's threads against all-threaded and one thread",
        ("fit", "machine", *MODES),
        rows,
    )
    return rows


def main(argv=None):
    cli(run, __doc__, argv)


if __name__ == "__main__":
    main()
