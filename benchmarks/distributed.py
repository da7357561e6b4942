"""Dask: a matrix larger than a worker's memory, fitted out of core on a
``LocalCluster``, with bounded client and worker memory.

The data are a float32 ``.npy`` file on disk (4 GB: 1 000 000 × 1 000, a
rank-10 signal plus unit noise, a relative error of about 0.3 at the optimum,
where the loss is expanded from the products; ``--quick``: 40 MB), read by
the workers a chunk of
rows at a time (each task opens the file and reads its rows; nothing holds
the whole array). Workers are limited to 1 GB each (``memory_limit``), one
thread each. For 1 and 2 workers:

- ``iteration``: the median solver iteration of ``FactorizationNAG``
  (``optimizer="nag"``, ``n_components=10``; the solver's own time stamps,
  the start excluded);
- ``products``: the same pass in plain dask, ``A @ Y`` (persisted beside the
  rows) and ``A.T @ X`` (reduced) in one call — what any iteration must do;
- ``fit``: the whole fit (validation pass, start, iterations, attributes);
- ``client``, ``worker``: peak resident memory of this process above its
  level before the fit, and of the largest worker (sampled every 50 ms).

    python -m benchmarks.distributed [--quick]
"""

import contextlib
import logging
import os
import tempfile
import threading
import time
import warnings

import numpy as np

from ._timing import cli, print_table


def _write(path, m, n, rank, seed=0, block=50_000):
    """A float32 ``m × n`` rank-``rank`` matrix plus noise, written to a
    ``.npy`` file a block of rows at a time."""
    rng = np.random.default_rng(seed)
    right = rng.standard_normal((rank, n)).astype(np.float32)
    scales = np.logspace(0, -1, rank).astype(np.float32)
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(m, n))
    for start in range(0, m, block):
        stop = min(start + block, m)
        left = rng.standard_normal((stop - start, rank)).astype(np.float32)
        rows = (left * scales) @ right
        rows += rng.standard_normal(rows.shape, dtype=np.float32)
        out[start:stop] = rows
    out.flush()
    del out


def _read(path, start, stop):
    """Rows ``start:stop`` of the ``.npy`` file (a task's whole input), read
    into a new array: no memory map, whose pages would count in the worker's
    resident memory after the task."""
    with open(path, "rb") as f:
        version = np.lib.format.read_magic(f)
        read_header = (
            np.lib.format.read_array_header_1_0
            if version == (1, 0)
            else np.lib.format.read_array_header_2_0
        )
        shape, _, dtype = read_header(f)
        n = shape[1]
        f.seek(f.tell() + start * n * dtype.itemsize)
        rows = np.fromfile(f, dtype=dtype, count=(stop - start) * n)
    return rows.reshape(stop - start, n)


def npy_rows(path, chunk_rows):
    """A dask array over a ``.npy`` file, one task per chunk of rows."""
    import dask
    import dask.array as da

    data = np.load(path, mmap_mode="r")
    m, n = data.shape
    dtype = data.dtype
    del data
    chunks = []
    for start in range(0, m, chunk_rows):
        stop = min(start + chunk_rows, m)
        part = dask.delayed(_read)(path, start, stop)
        chunks.append(da.from_delayed(part, shape=(stop - start, n), dtype=dtype))
    return da.concatenate(chunks, axis=0)


def _rss():
    import psutil

    return psutil.Process().memory_info().rss


class _PeakSampler:
    """The peak of ``measure()`` sampled every 50 ms in a thread."""

    def __init__(self, measure):
        self.measure, self.peak = measure, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self):
        while not self._stop.is_set():
            with contextlib.suppress(Exception):
                self.peak = max(self.peak, self.measure())
            time.sleep(0.05)

    def __enter__(self):
        self.peak = self.measure()
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def _worker_sampler_start(dask_worker):
    """Run on each worker: start a thread recording its peak RSS."""
    import psutil

    state = {"peak": psutil.Process().memory_info().rss, "run": True}

    def loop():
        while state["run"]:
            state["peak"] = max(state["peak"], psutil.Process().memory_info().rss)
            time.sleep(0.05)

    threading.Thread(target=loop, daemon=True).start()
    dask_worker._skfactor_peak = state  # the worker object outlives the call


def _worker_sampler_stop(dask_worker):
    state = getattr(dask_worker, "_skfactor_peak", None)
    if state is None:  # a worker started during the fit (a restart)
        return None
    state["run"] = False
    return state["peak"]


def _products_time(A, d, rounds):
    """Median time of the pass every iteration needs, in plain dask."""
    import dask
    import dask.array as da

    rng = np.random.default_rng(1)
    m, n = A.shape
    times = []
    for k in range(rounds):
        # new operands every round: new keys, so no result of a previous
        # round is found on the scheduler
        Y = rng.standard_normal((n, d)).astype(np.float32)
        Y = da.from_array(Y, chunks=-1, name=False)
        X = da.random.default_rng(2 + k).standard_normal(
            (m, d), chunks=(A.chunks[0], d)
        )
        (X,) = dask.persist(X.astype(np.float32))
        dask.compute(X.sum())
        start = time.perf_counter()
        product, reduced = dask.persist(A @ Y, A.T @ X)
        dask.compute(reduced, product.sum())
        times.append(time.perf_counter() - start)
        del product, reduced, X
    return float(np.median(times))


def _one(path, workers, chunk_rows, max_iter, limit):
    from distributed import Client, LocalCluster

    from skfactor import FactorizationNAG

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            memory_limit=limit,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )
    client = Client(cluster)
    try:
        A = npy_rows(path, chunk_rows)
        products = _products_time(A, 10, rounds=3)
        client.run(_worker_sampler_start)
        estimator = FactorizationNAG(
            n_components=10, optimizer="nag", max_iter=max_iter, tol=0.0, random_state=0
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with _PeakSampler(_rss) as client_peak:
                before = _rss()
                start = time.perf_counter()
                estimator.fit(A)
                fit = time.perf_counter() - start
        worker_peaks = client.run(_worker_sampler_stop)
        restarts = sum(peak is None for peak in worker_peaks.values())
        worker_peaks = {k: v for k, v in worker_peaks.items() if v is not None}
        iteration = float(np.median(np.diff(estimator.time_curve_)))
        return {
            "iteration": iteration,
            "products": products,
            "fit": fit,
            "client": client_peak.peak - before,
            "worker": max(worker_peaks.values(), default=0),
            "restarts": restarts,
            "n_iter": estimator.n_iter_,
            "error": estimator.reconstruction_err_,
        }
    finally:
        client.close()
        cluster.close()


def run(quick=False):
    try:
        import dask  # noqa: F401
        import distributed  # noqa: F401
    except ImportError:
        print("dask.distributed is not installed (pip install -e '.[dask]')")
        return [("skipped", "0")]
    m, n = (20_000, 500) if quick else (1_000_000, 1_000)
    chunk_rows = 2_500 if quick else 25_000
    max_iter = 4 if quick else 8
    limit = "1GB"
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "A.npy")
        start = time.perf_counter()
        _write(path, m, n, rank=10)
        size = m * n * 4
        print(
            f"data: {m}×{n} float32 on disk, {size / 1e9:.2f} GB "
            f"({time.perf_counter() - start:.0f} s to write); chunks of "
            f"{chunk_rows} rows ({chunk_rows * n * 4 / 1e6:.0f} MB); workers "
            f"limited to {limit}, one thread each\n"
        )
        results = {}
        for workers in (1, 2):
            results[workers] = result = _one(path, workers, chunk_rows, max_iter, limit)
            rows.append(
                (
                    str(workers),
                    f"{result['iteration']:.2f}",
                    f"{result['products']:.2f}",
                    f"{result['iteration'] / result['products']:.2f}",
                    f"{result['fit']:.1f}",
                    f"{result['client'] / 1e6:.0f}",
                    f"{result['worker'] / 1e6:.0f}",
                    str(result["restarts"]),
                    str(result["n_iter"]),
                )
            )
    print_table(
        "FactorizationNAG(n_components=10, optimizer='nag') on the file, "
        "seconds and MB",
        (
            "workers",
            "iteration",
            "products",
            "× products",
            "fit",
            "client peak",
            "worker peak",
            "restarts",
            "n_iter",
        ),
        rows,
    )
    speedup = results[1]["iteration"] / results[2]["iteration"]
    scaling = [
        (
            "iteration",
            f"{results[1]['iteration']:.2f}",
            f"{results[2]['iteration']:.2f}",
            f"{speedup:.2f}",
        ),
        (
            "products",
            f"{results[1]['products']:.2f}",
            f"{results[2]['products']:.2f}",
            f"{results[1]['products'] / results[2]['products']:.2f}",
        ),
    ]
    print_table(
        "Scaling from 1 to 2 workers (seconds; this machine has 2 cores)",
        ("", "1 worker", "2 workers", "speed-up"),
        scaling,
    )
    return rows + scaling


if __name__ == "__main__":
    cli(run, __doc__)
