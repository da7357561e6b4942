"""Top-k eigenvectors: retraction-free GD against Riemannian GD, ARPACK and
LOBPCG (issue 16).

On real symmetric matrices built from data that ship with the installed
packages (no downloads), each row times one method to a subspace accuracy
``‖sin Θ(span X, V_k)‖₂`` of 1e-4 and of 1e-8, against the top-``k``
eigenvectors ``V_k`` of a dense ``scipy.linalg.eigh``. The accuracy is
computed as ``‖(I − V_k V_kᵀ) Q‖₂`` for an orthonormal basis ``Q`` of
``span X`` (equal to ``√(1 − σ_min(V_kᵀQ)²)``, without the cancellation that
formula suffers below 1e-8).

The matrices:

- ``digits graph``: the symmetrized 10-nearest-neighbour graph of
  ``load_digits`` (1797 nodes), normalized adjacency ``D^{-1/2} W D^{-1/2}``
  (its top eigenvectors are the bottom of the normalized Laplacian: a
  spectral embedding), sparse.
- ``tf-idf``: ``TfidfVectorizer`` on the ``.py`` files of the installed
  scikit-learn and SciPy, one document per file; the cosine similarities
  ``S = T Tᵀ`` below 0.2 dropped, so that ``S`` stays sparse (18 entries a
  row; indefinite then: its top eigenpairs are positive).
- ``digits rbf``: the RBF kernel of ``load_digits``, dense, with
  ``gamma = 1/(n_features·Var(X))`` (scikit-learn's ``"scale"`` rule).
- ``china rbf``: the RBF kernel of 1000 random 8×8 grey patches of
  ``load_sample_image("china.jpg")``, dense, the same ``gamma`` rule.

The methods, all from one Gaussian block ``G`` (``n × k``, entries
N(0, 1/n)):

- ``eigsh <method> <init>``: ``skfactor.eigsh`` as a user calls it (its own
  start from ``random_state=0``), ``tol`` set so that it reaches the
  accuracy (below); ``iters`` its gradient iterations.
- ``FactorizationNAG gd``: ``FactorizationNAG(k, symmetric=True,
  optimizer="gd", init=(√‖A‖₂·G,), tol=0)``, its automatic step, the
  per-iteration comparison with Riemannian GD; the time is the fit's to the
  first iteration at the accuracy (the set-up, a spectral-norm estimate and
  the step rule, included).
- ``GD``: the paper's retraction-free iteration written in the benchmark,
  ``X⁺ = X − η(X(XᵀX) − AX)`` from ``X₀ = √‖A‖₂·G``: one product ``AX``, no
  orthonormalization.
- ``RGD-QR``: Riemannian gradient descent on the Stiefel manifold,
  ``Q⁺ = qf(Q + η(AQ − Q(QᵀAQ)))`` from ``Q₀ = qf(G)``, a Householder QR
  every step (single-threaded, as skfactor runs its small kernels), one
  product ``AQ`` per iteration (reused for ``QᵀAQ``).
- ``ARPACK``: ``scipy.sparse.linalg.eigsh(A, k, which="LA", v0=G[:, 0])``;
  ``LOBPCG``: ``scipy.sparse.linalg.lobpcg(A, G, largest=True)``.

Steps: GD and RGD-QR each run every ``η = c/‖A‖₂``, ``c`` in ``GRID``; the
row shows the fastest to 1e-8 (``c`` in the setting column), and the
``GD/RGD`` table also the common step ``c = 1``. The linearized subspace
error of both contracts by ``1 − η(λ_i − λ_j)`` (``i ≤ k < j``) per
iteration: at the same step the two take the same iterations. RGD is stable
for ``η < 2/(λ_1 − λ_n)``. The factored GD's scale directions (curvature
``2λ_i``) are unstable beyond ``η = 1/λ_1``, but up to about ``2/λ_1`` only
``XᵀX`` oscillates (along the top eigenvector, chaotically at ``c = 1.5``)
while ``span X`` converges; ``c = 2`` diverges. A run still above 0.5 after
500 iterations, or without a chance to be the fastest of its kind, stops.

Tolerances of the black boxes: the Davis–Kahan bound ``sin Θ ≤ ‖R‖/δ``
predicts the residual ``target·(λ_k − λ_{k+1})``; ``eigsh`` and ARPACK take
it relative to ``‖A‖₂`` (ARPACK: to each ``|λ_i|``), LOBPCG absolute. Each
tries 100, 10, 1, 0.1 and 0.01 times that, loosest first (1e-8 from the
factor 1e-4 needed; ARPACK last its default ``tol=0``), and the row is the
first that reached the accuracy (its time: the median of 3 runs when a run
takes under a second). ``iters``: gradient iterations (``eigsh``'s counted
from the fits it makes), LOBPCG's iterations; ``A·v``: products of ``A``
with a vector (a block product counts ``k``; counted for ARPACK and LOBPCG,
``k·iters`` for the others, ``eigsh``'s start and checks left out, hence
``~``). ``×best``: the time over the matrix's fastest at that accuracy.
``>N``: not reached in ``N`` iterations (``MAX_ITER``, ``eigsh``'s default;
the time ``>`` the run's).

FactorizationNAG's accuracy is recorded every ``RECORD_EVERY`` iterations
(a callback, which the estimator's ``time_curve_`` leaves out but which
still slows the iterations around it); a second fit without callbacks, to
the last crossing, gives the times.

Gradient runs written here record their own per-iteration times (the
accuracy checks are excluded) and run interleaved, one iteration of each in
turn, so that a slow spell of this 2-core VM hits all of them.

Two more tables: the time per iteration of GD and of RGD with a Cholesky-QR
retraction over RGD-QR's as ``k`` and the cost of a product change (where
the paper's 29 % can come from), and the accuracy ARPACK and the block
methods reach at each ``tol`` on a graph of two components (its top
eigenvalue 1 twice).

    python -m benchmarks.eigen [--quick]
"""

import glob
import math
import os
import time
import warnings

import numpy as np
import scipy.linalg
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from sklearn.exceptions import ConvergenceWarning

import skfactor
import skfactor._eigen as _eigen
from skfactor import FactorizationNAG
from skfactor._threads import single_threaded
from skfactor.callbacks import Recorder

from ._timing import cli, print_table

#: Subspace accuracies ‖sin Θ‖₂ to reach.
TARGETS = (1e-4, 1e-8)
#: Steps η = c/‖A‖₂ tried for GD and RGD-QR; c = 1 is the common step.
GRID = (0.5, 1.0, 1.5, 2.0)
#: skfactor.eigsh configurations (method, init): the paper's GD, and the
#: fastest others found (NAG; PrecGD on decaying spectra).
EIGSH = (
    ("gd", "gaussian"),
    ("gd", "nystrom"),
    ("nag", "gaussian"),
    ("nag", "nystrom"),
    ("precgd", "nystrom"),
)
#: Multiples of the predicted tolerance the black boxes try, loosest first.
TOL_FACTORS = (100.0, 10.0, 1.0, 0.1, 0.01)
#: A race run still at an accuracy above STALL_ERROR after STALL_AFTER
#: iterations has a step beyond its stable range: it stops.
STALL_AFTER, STALL_ERROR = 500, 0.5
#: Iteration caps (gradient methods; LOBPCG), and the quick mode's.
MAX_ITER, QUICK_MAX_ITER = 20000, 2000
LOBPCG_MAX_ITER = 2000
#: FactorizationNAG's accuracy is recorded every this many iterations.
RECORD_EVERY = 10
#: Iterations per round of the per-iteration table, and its rounds.
PER_ITERATION_STEPS, ROUNDS = 30, 3
#: TF-IDF similarities below this are dropped.
SIMILARITY_FLOOR = 0.2

HEADER = (
    "matrix",
    "method",
    "setting",
    "iters 1e-4",
    "s 1e-4",
    "×best",
    "iters 1e-8",
    "s 1e-8",
    "×best",
    "A·v 1e-8",
    "ms/iter",
)


# ---------------------------------------------------------------------------
# the matrices
# ---------------------------------------------------------------------------
def digits_graph(n_samples=None, neighbors=10):
    """Normalized adjacency ``D^{-1/2} W D^{-1/2}`` of the symmetrized
    ``neighbors``-NN graph of ``load_digits`` (first ``n_samples``)."""
    from sklearn.datasets import load_digits
    from sklearn.neighbors import kneighbors_graph

    X = load_digits().data[:n_samples]
    W = kneighbors_graph(X, neighbors, include_self=False)
    W = W.maximum(W.T)
    scale = sp.diags(1.0 / np.sqrt(np.asarray(W.sum(axis=1)).ravel()))
    A = (scale @ W @ scale).tocsr()
    return ((A + A.T) * 0.5).tocsr()


def _source_files(packages, max_files=None):
    texts = []
    for name in packages:
        root = os.path.dirname(__import__(name).__file__)
        paths = sorted(glob.glob(os.path.join(root, "**", "*.py"), recursive=True))
        for path in paths[:max_files]:
            with open(path, encoding="utf-8", errors="replace") as handle:
                texts.append(handle.read())
    return texts


def tfidf_similarity(quick=False):
    """Cosine similarities of the TF-IDF vectors of installed source files
    (one document per file), those below ``SIMILARITY_FLOOR`` dropped."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    packages = ("sklearn",) if quick else ("sklearn", "scipy")
    texts = _source_files(packages, max_files=300 if quick else None)
    T = TfidfVectorizer(min_df=2, max_df=0.5, sublinear_tf=True).fit_transform(texts)
    S = (T @ T.T).tocsr()
    S.data[S.data < SIMILARITY_FLOOR] = 0.0
    S.eliminate_zeros()
    return ((S + S.T) * 0.5).tocsr()


def _rbf(X):
    from sklearn.metrics.pairwise import rbf_kernel

    return rbf_kernel(X, gamma=1.0 / (X.shape[1] * X.var()))


def digits_rbf(n_samples=None):
    from sklearn.datasets import load_digits

    return _rbf(load_digits().data[:n_samples])


def china_rbf(n_patches=1000):
    from sklearn.datasets import load_sample_image
    from sklearn.feature_extraction.image import extract_patches_2d

    grey = load_sample_image("china.jpg").mean(axis=2) / 255.0
    patches = extract_patches_2d(grey, (8, 8), max_patches=n_patches, random_state=0)
    return _rbf(patches.reshape(n_patches, -1))


def datasets(quick=False):
    """``(name, matrix, k)`` for every block of rows."""
    if quick:
        yield "digits graph", digits_graph(250), 4
        yield "digits rbf", digits_rbf(250), 4
        return
    yield "digits graph", digits_graph(), 8
    yield "tf-idf", tfidf_similarity(), 8
    yield "digits rbf", digits_rbf(), 4
    yield "china rbf", china_rbf(1000), 4


def reference(A, k):
    """``(λ_1..λ_{k+1}, V_k, ‖A‖₂)`` from a dense ``eigh``."""
    dense = A.toarray() if sp.issparse(A) else np.asarray(A)
    n = dense.shape[0]
    with single_threaded():  # untimed; threads spin on a loaded VM
        w, V = scipy.linalg.eigh(dense, subset_by_index=[n - k - 1, n - 1])
        bottom = scipy.linalg.eigh(dense, eigvals_only=True, subset_by_index=[0, 0])
    bottom = bottom[0]
    w, V = w[::-1], V[:, ::-1]
    return w, np.ascontiguousarray(V[:, :k]), max(float(w[0]), float(-bottom))


# ---------------------------------------------------------------------------
# the accuracy
# ---------------------------------------------------------------------------
def sin_theta(V, X):
    """``‖sin Θ(span X, span V)‖₂`` for orthonormal ``V``: the largest
    generalized eigenvalue of ``(PX)ᵀ(PX)`` against ``XᵀX``, ``P = I − VVᵀ``
    (1.0 for a rank-deficient or non-finite ``X``)."""
    if not np.all(np.isfinite(X)):
        return 1.0
    P = X - V @ (V.T @ X)
    try:
        with single_threaded():
            top = scipy.linalg.eigh(P.T @ P, X.T @ X, eigvals_only=True)[-1]
    except (np.linalg.LinAlgError, ValueError):
        return 1.0
    return float(min(1.0, math.sqrt(max(top, 0.0))))


# ---------------------------------------------------------------------------
# the gradient iterations written here
# ---------------------------------------------------------------------------
class _GD:
    """Retraction-free GD on ¼‖XXᵀ − A‖²: ``X⁺ = X − η(X(XᵀX) − AX)``."""

    name = "GD"

    def __init__(self, A, G, norm, c):
        self.A, self.eta, self.c = A, c / norm, c
        self.X = G * math.sqrt(norm)
        self.bound = 1e6 * math.sqrt(norm)  # ‖X‖₂² ≈ λ at the solution

    def step(self):
        X = self.X
        self.X = X - self.eta * (X @ (X.T @ X) - self.A @ X)

    def basis(self):
        return self.X

    def diverged(self):
        return not np.abs(self.X).max() < self.bound


class _RGD:
    """Riemannian GD with a QR retraction:
    ``Q⁺ = qf(Q + η(AQ − Q(QᵀAQ)))``, one product ``AQ`` per iteration."""

    name = "RGD-QR"

    def __init__(self, A, G, norm, c):
        self.A, self.eta, self.c = A, c / norm, c
        with single_threaded():
            self.Q = np.linalg.qr(G)[0]
        self.AQ = None

    def step(self):
        Q = self.Q
        AQ = self.A @ Q if self.AQ is None else self.AQ
        Z = Q + self.eta * (AQ - Q @ (Q.T @ AQ))
        with single_threaded():
            self.Q = np.linalg.qr(Z)[0]
        self.AQ = self.A @ self.Q

    def basis(self):
        return self.Q

    def diverged(self):
        return not np.all(np.isfinite(self.Q))


class _RGDCholesky(_RGD):
    """RGD-QR with the Q factor from Cholesky instead of Householder:
    ``R = chol(ZᵀZ)``, ``Q = Z R⁻¹`` (the same ``qf`` in exact arithmetic;
    ``Z = Q + η·(tangent)`` is well conditioned)."""

    name = "RGD-CholQR"

    def step(self):
        Q = self.Q
        AQ = self.A @ Q if self.AQ is None else self.AQ
        Z = Q + self.eta * (AQ - Q @ (Q.T @ AQ))
        with single_threaded():
            R = np.linalg.cholesky(Z.T @ Z).T
            inverse = np.linalg.inv(R)
        self.Q = Z @ inverse
        self.AQ = self.A @ self.Q


class _Run:
    """One member of the race: its iterations, own time and crossings."""

    def __init__(self, method):
        self.method, self.iterations, self.seconds = method, 0, 0.0
        self.reached = {}  # target -> (iterations, seconds)
        self.done = False


def race(A, G, V, norm, max_iter):
    """Every GD and RGD-QR step of ``GRID`` from the same start, one
    iteration of each in turn (each timed alone, the accuracy check
    untimed). A run stops at the last target, on divergence, at
    ``max_iter``, or, for ``c ≠ 1``, once it has used as many iterations as
    the fastest run of its kind that finished (it cannot be the fastest)."""
    runs = [_Run(kind(A, G, norm, c)) for kind in (_GD, _RGD) for c in GRID]
    best = {}
    while not all(run.done for run in runs):
        for run in runs:
            if run.done:
                continue
            start = time.perf_counter()
            run.method.step()
            run.seconds += time.perf_counter() - start
            run.iterations += 1
            kind = run.method.name
            if run.method.diverged():
                run.done = True
                continue
            error = sin_theta(V, run.method.basis())
            for target in TARGETS:
                if error <= target and target not in run.reached:
                    run.reached[target] = (run.iterations, run.seconds)
            if TARGETS[-1] in run.reached:
                run.done = True
                best[kind] = min(best.get(kind, max_iter), run.iterations)
            elif run.iterations >= max_iter:
                run.done = True
            elif run.iterations >= STALL_AFTER and error > STALL_ERROR:
                run.done = True  # no progress: a step beyond the stable range
            elif run.method.c != 1.0 and run.iterations >= best.get(kind, max_iter):
                run.done = True
    return runs


def _fastest(runs, kind):
    """The run of ``kind`` fastest to the last target (the most accurate
    one if none reached it)."""
    mine = [run for run in runs if run.method.name == kind]
    reached = [run for run in mine if TARGETS[-1] in run.reached]
    if reached:
        return min(reached, key=lambda run: run.reached[TARGETS[-1]][1])
    return max(mine, key=lambda run: (len(run.reached), -run.method.c))


def _common(runs, kind):
    return next(r for r in runs if r.method.name == kind and r.method.c == 1.0)


# ---------------------------------------------------------------------------
# skfactor: the estimator's trajectory, and eigsh
# ---------------------------------------------------------------------------
def _quiet(fn):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return fn()


def factorization_gd(A, G, V, norm, max_iter):
    """``FactorizationNAG(symmetric=True, optimizer="gd")`` from ``√‖A‖·G``
    with its automatic step: the accuracy recorded every ``RECORD_EVERY``
    iterations, then a fit without callbacks to the last crossing timed.
    Returns ``({target: (iterations, seconds)}, iterations run, seconds per
    iteration, step·‖A‖₂)``."""
    k = G.shape[1]

    def model(n_iter):
        return FactorizationNAG(
            k,
            symmetric=True,
            optimizer="gd",
            init=(G * math.sqrt(norm),),
            tol=0.0,
            max_iter=n_iter,
        )

    recorder = Recorder({"sin": lambda est: sin_theta(V, est.factor_)}, every=1)
    # the run's length: its step's share of the η = 1/‖A‖₂ one, which the
    # linear rate scales with (capped at max_iter)
    probe = _quiet(lambda: model(1).fit(A))
    c = probe.learning_rate_ * norm
    recorder.every = RECORD_EVERY
    fitted = model(max_iter)
    fitted.set_callbacks(recorder)
    _quiet(lambda: fitted.fit(A))
    history = recorder.history_
    crossings = {}
    for target in TARGETS:
        hit = np.flatnonzero(history["sin"] <= target)
        if len(hit):
            crossings[target] = int(history["iteration"][hit[0]])
    if not crossings:  # the recorded run's own times (callbacks excluded)
        per_iter = fitted.time_curve_[-1] / fitted.n_iter_
        return {}, fitted.n_iter_, per_iter, c
    timed = model(max(crossings.values()))
    start = time.perf_counter()
    _quiet(lambda: timed.fit(A))
    seconds = time.perf_counter() - start
    setup = seconds - timed.time_curve_[-1]
    reached = {
        target: (it, setup + timed.time_curve_[it - 1])
        for target, it in crossings.items()
    }
    per_iter = timed.time_curve_[-1] / timed.n_iter_
    return reached, fitted.n_iter_, per_iter, c


class _CountingFits:
    """Records the iterations of the ``FactorizationNAG`` fits that
    ``skfactor.eigsh`` makes (its module's class swapped for a subclass
    while a call runs): the count ``eigsh`` does not return."""

    def __init__(self):
        self.iterations, self._depth = 0, 0
        counter = self

        class Counting(FactorizationNAG):
            def _counted(self, method, *args, **kwargs):
                counter._depth += 1
                try:
                    return method(*args, **kwargs)
                finally:
                    counter._depth -= 1
                    if not counter._depth:
                        counter.iterations += int(getattr(self, "n_iter_", 0))

            def fit(self, *args, **kwargs):
                return self._counted(super().fit, *args, **kwargs)

            def _fit(self, *args, **kwargs):
                return self._counted(super()._fit, *args, **kwargs)

        self._class = Counting

    def __enter__(self):
        self.iterations = 0
        self._saved, _eigen.FactorizationNAG = _eigen.FactorizationNAG, self._class
        return self

    def __exit__(self, *exc):
        _eigen.FactorizationNAG = self._saved


class _CountingOperator(spla.LinearOperator):
    """``A`` as an operator that counts the vectors it multiplies."""

    def __init__(self, A):
        super().__init__(A.dtype, A.shape)
        self.A, self.vectors = A, 0

    def _matvec(self, x):
        self.vectors += 1
        return self.A @ x

    def _matmat(self, X):
        self.vectors += X.shape[1]
        return self.A @ X

    def _adjoint(self):
        return self


def _eigsh_call(A, k, method, init, max_iter):
    def call(tol):
        with _CountingFits() as counter, warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            _, v = skfactor.eigsh(
                A,
                k,
                tol=tol,
                method=method,
                init=init,
                max_iter=max_iter,
                random_state=0,
            )
        capped = any(issubclass(w.category, ConvergenceWarning) for w in caught)
        iters = counter.iterations
        return v, iters, k * iters, capped

    return call


def _arpack_call(A, k, v0):
    def call(tol):
        op = _CountingOperator(A)
        try:
            _, v = spla.eigsh(op, k, which="LA", tol=tol, v0=v0)
            capped = False
        except spla.ArpackNoConvergence as error:
            v, capped = error.eigenvectors, True
        return v, None, op.vectors, capped

    return call


def _lobpcg_call(A, G, max_iter):
    def call(tol):
        op = _CountingOperator(A)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _, v, history = spla.lobpcg(
                op,
                G.copy(),
                tol=tol,
                maxiter=max_iter,
                largest=True,
                retResidualNormsHistory=True,
            )
        iters = len(history)
        return v, iters, op.vectors, iters >= max_iter

    return call


def black_box(call, V, target, predicted, repeats=3, last_resort=(), first=0):
    """The loosest of ``predicted·TOL_FACTORS[first:]`` (then
    ``last_resort``) whose run reaches ``target``: ``(iterations, seconds,
    A·v, tol, index of its factor)``, or ``(None, seconds of the last run,
    A·v, None, None)`` when none does (or a run hit its cap)."""
    seconds = vectors = iters = None
    tols = [predicted * factor for factor in TOL_FACTORS[first:]]
    for index, tol in enumerate([*tols, *last_resort], start=first):
        start = time.perf_counter()
        v, iters, vectors, capped = call(tol)
        seconds = time.perf_counter() - start
        if v is not None and v.shape[1] == V.shape[1] and sin_theta(V, v) <= target:
            if seconds < 1.0 and repeats > 1:
                times = [seconds]
                for _ in range(repeats - 1):
                    start = time.perf_counter()
                    call(tol)
                    times.append(time.perf_counter() - start)
                seconds = float(np.median(times))
            return iters, seconds, vectors, tol, index
        if capped:
            break
    return None, seconds, vectors, None, None


# ---------------------------------------------------------------------------
# the table
# ---------------------------------------------------------------------------
def _cell(reached, iters, seconds):
    """One target's outcome: reached or not, iterations (None: not counted),
    seconds (of the whole run when not reached)."""
    return {"reached": reached, "iters": iters, "seconds": seconds}


def _black_box_row(label, call, V, predicted, cap, repeats, last_resort=()):
    """A row for a method timed as a whole call (eigsh, ARPACK, LOBPCG)."""
    results, vectors, tols, first = {}, "-", [], 0
    for index, target in enumerate(TARGETS):
        # a tighter target starts from the factor the looser one needed
        iters, seconds, vecs, tol, first = black_box(
            call, V, target, target * predicted, repeats, last_resort, first
        )
        if tol is None:
            # not reached: a tighter accuracy is not tried
            for later in TARGETS[index:]:
                results[later] = _cell(False, cap, seconds)
            break
        results[target] = _cell(True, iters, seconds)
        vectors, tols = vecs, [*tols, f"{tol:.0e}" if tol else "0"]
    if not results[TARGETS[-1]]["reached"]:
        vectors = None
    setting = "tol " + "/".join(tols) if tols else "-"
    return {
        "method": label,
        "setting": setting,
        "results": results,
        "vectors": vectors,
        "per_iter": None,
    }


def _matrix_rows(A, k, max_iter, repeats):
    """The rows of one matrix, the GD/RGD ratios and its spectrum."""
    w, V, norm = reference(A, k)
    n = A.shape[0]
    G = np.random.RandomState(0).standard_normal((n, k)) / math.sqrt(n)
    gap = w[k - 1] - w[k]
    rows = []
    for method, init in EIGSH:
        call = _eigsh_call(A, k, method, init, max_iter)
        label = f"eigsh {method} {init}"
        row = _black_box_row(label, call, V, gap / norm, max_iter, repeats)
        if row["vectors"] is not None:
            row["vectors"] = f"~{row['vectors']}"
        rows.append(row)

    reached, ran, per_iter, c = factorization_gd(A, G, V, norm, max_iter)
    last = reached.get(TARGETS[-1])
    rows.append(
        {
            "method": "FactorizationNAG gd",
            "setting": f"auto η = {c:.2g}/‖A‖",
            "results": {
                t: _cell(True, *reached[t])
                if t in reached
                else _cell(False, ran, per_iter * ran)
                for t in TARGETS
            },
            "vectors": f"~{k * last[0]}" if last else None,
            "per_iter": per_iter,
        }
    )
    runs = race(A, G, V, norm, max_iter)
    for kind in ("GD", "RGD-QR"):
        run = _fastest(runs, kind)
        last = run.reached.get(TARGETS[-1])
        extra = 1 if kind == "RGD-QR" else 0  # RGD's first product
        rows.append(
            {
                "method": kind,
                "setting": f"η = {run.method.c:g}/‖A‖",
                "results": {
                    t: _cell(True, *run.reached[t])
                    if t in run.reached
                    else _cell(False, run.iterations, run.seconds)
                    for t in TARGETS
                },
                "vectors": k * (last[0] + extra) if last else None,
                "per_iter": run.seconds / run.iterations,
            }
        )

    v0 = np.ascontiguousarray(G[:, 0])
    arpack = _arpack_call(A, k, v0)
    # ARPACK's own default, tol = 0 (machine precision), last
    rows.append(_black_box_row("ARPACK", arpack, V, gap / norm, None, repeats, (0.0,)))
    lobpcg = _lobpcg_call(A, G, LOBPCG_MAX_ITER)
    rows.append(_black_box_row("LOBPCG", lobpcg, V, gap, LOBPCG_MAX_ITER, repeats))
    return rows, _ratios(runs, reached), (w, norm)


def _ratios(runs, skfactor_reached):
    """Time to 1e-8 of GD over RGD-QR's: each at its fastest step, both at
    η = 1/‖A‖₂, and skfactor's FactorizationNAG (auto step) over RGD's
    fastest; and GD's time per iteration over RGD's at η = 1/‖A‖₂."""
    last = TARGETS[-1]
    gd, rgd = _fastest(runs, "GD"), _fastest(runs, "RGD-QR")
    gd1, rgd1 = _common(runs, "GD"), _common(runs, "RGD-QR")

    def ratio(a, b):
        if last in a and last in b:
            return a[last][1] / b[last][1]
        return math.nan

    per_iter = (gd1.seconds / gd1.iterations) / (rgd1.seconds / rgd1.iterations)
    iters1 = (
        gd1.reached[last][0] / rgd1.reached[last][0]
        if last in gd1.reached and last in rgd1.reached
        else math.nan
    )
    return {
        "best": ratio(gd.reached, rgd.reached),
        "common": ratio(gd1.reached, rgd1.reached),
        "skfactor": ratio(skfactor_reached, rgd.reached),
        "per_iter": per_iter,
        "iters": iters1,
        "steps": (gd.method.c, rgd.method.c),
    }


def per_iteration(quick=False):
    """GD's and RGD-CholQR's time per iteration over RGD-QR's (at the same
    step the three take the same iterations, so these are their time
    ratios), as the block width ``k`` and the cost of a product change:
    ``ROUNDS`` rounds of ``PER_ITERATION_STEPS`` iterations of each from one
    start, interleaved one by one; the median of each one's iteration
    times."""
    cases = (
        [("digits graph", digits_graph(250)), ("digits rbf", digits_rbf(250))]
        if quick
        else [
            ("digits graph", digits_graph()),
            ("digits rbf 500", digits_rbf(500)),
            ("digits rbf", digits_rbf()),
        ]
    )
    widths = (4, 16) if quick else (4, 16, 64)
    steps = 10 if quick else PER_ITERATION_STEPS
    rows = []
    for name, A in cases:
        n = A.shape[0]
        norm = float(spla.eigsh(A, 1, which="LM", return_eigenvectors=False)[0])
        norm = abs(norm)
        for k in widths:
            G = np.random.RandomState(0).standard_normal((n, k)) / math.sqrt(n)
            times = {kind: [] for kind in (_GD, _RGD, _RGDCholesky)}
            for _ in range(1 if quick else ROUNDS):
                methods = {kind: kind(A, G, norm, 1.0) for kind in times}
                for method in methods.values():
                    method.step()  # RGD's first step makes two products
                for _ in range(steps):
                    for kind, method in methods.items():
                        start = time.perf_counter()
                        method.step()
                        times[kind].append(time.perf_counter() - start)
            ms = {kind: float(np.median(values)) for kind, values in times.items()}
            rows.append(
                (
                    name,
                    "sparse" if sp.issparse(A) else "dense",
                    str(n),
                    str(k),
                    f"{1e3 * ms[_GD]:.3f}",
                    f"{1e3 * ms[_RGD]:.3f}",
                    f"{1e3 * ms[_RGDCholesky]:.3f}",
                    f"{ms[_GD] / ms[_RGD]:.2f}",
                    f"{ms[_RGDCholesky] / ms[_RGD]:.2f}",
                )
            )
    print_table(
        "Time per iteration: GD and RGD with a Cholesky-QR retraction over "
        "RGD-QR (Householder), η = 1/‖A‖₂",
        (
            "matrix",
            "kind",
            "n",
            "k",
            "GD ms",
            "RGD-QR ms",
            "RGD-CholQR ms",
            "GD/RGD-QR",
            "CholQR/QR",
        ),
        rows,
    )
    return rows


def repeated_eigenvalue(quick=False):
    """The accuracy each tolerance gives on a graph of two components (the
    eigenvalue 1 twice): ARPACK's Krylov space from one start vector holds
    one vector of that eigenspace until rounding errors bring in the second;
    the block methods start with ``k`` directions."""
    A = digits_graph(250) if quick else digits_graph(neighbors=5)
    k = 4 if quick else 8
    w, V, _ = reference(A, k)
    n = A.shape[0]
    G = np.random.RandomState(0).standard_normal((n, k)) / math.sqrt(n)
    cap = QUICK_MAX_ITER if quick else MAX_ITER
    eigsh_call = _eigsh_call(A, k, "nag", "nystrom", cap)
    rows = []
    for tol in (1e-4, 1e-6, 1e-8, 1e-10, 0.0):
        cells = [f"{tol:g}"]
        calls = [_arpack_call(A, k, np.ascontiguousarray(G[:, 0]))]
        if tol:  # LOBPCG's tol is absolute (‖A‖₂ = 1 here); eigsh's relative
            calls += [_lobpcg_call(A, G, LOBPCG_MAX_ITER), eigsh_call]
        for call in calls:
            start = time.perf_counter()
            v = call(tol)[0]
            seconds = time.perf_counter() - start
            cells += [f"{sin_theta(V, v):.1e}", f"{seconds:.3f}"]
        cells += ["-"] * (7 - len(cells))
        rows.append(tuple(cells))
    name = "digits 10-NN graph, 250 nodes" if quick else "digits 5-NN graph"
    top = ", ".join(f"{x:.6f}" for x in w[:3])
    print_table(
        f"A repeated top eigenvalue: {name} (two components; λ = {top}, ...), "
        f"k = {k}: ‖sin Θ‖₂ and seconds for each tol",
        (
            "tol",
            "ARPACK sinΘ",
            "s",
            "LOBPCG sinΘ",
            "s",
            "eigsh nag nystrom sinΘ",
            "s",
        ),
        rows,
    )
    return rows


def _format(value, fmt="{:.2f}"):
    return fmt.format(value) if np.isfinite(value) else "-"


def _table_cells(row, best):
    cells = []
    for target in TARGETS:
        cell = row["results"][target]
        iters, seconds = cell["iters"], cell["seconds"]
        if cell["reached"]:
            cells += [
                "-" if iters is None else str(iters),
                f"{seconds:.3f}",
                _format(seconds / best[target]),
            ]
        else:
            cells += [
                "-" if iters is None else f">{iters}",
                f">{seconds:.3f}",
                "-",
            ]
    vectors = "-" if row["vectors"] is None else str(row["vectors"])
    per_iter = "-" if row["per_iter"] is None else f"{1e3 * row['per_iter']:.3f}"
    return [*cells, vectors, per_iter]


def _wins(name, rows, best):
    """One row per accuracy: the fastest method, and the best block method,
    ``skfactor.eigsh`` configuration and written loop, over it."""
    out = []
    for target in TARGETS:
        seconds = {
            row["method"]: row["results"][target]["seconds"]
            for row in rows
            if row["results"][target]["reached"]
        }
        fastest = min(seconds, key=seconds.get) if seconds else "-"

        def ratio(prefix, seconds=seconds, target=target):
            mine = {m: t for m, t in seconds.items() if m.startswith(prefix)}
            if not mine:
                return "-"
            method = min(mine, key=mine.get)
            return f"{mine[method] / best[target]:.1f} {method}"

        out.append(
            (
                name,
                f"{target:g}",
                fastest,
                f"{best[target]:.3f}" if seconds else "-",
                ratio("LOBPCG"),
                ratio("eigsh"),
                ratio("GD"),
                ratio("RGD"),
            )
        )
    return out


def _conclusion(wins, ratios, cost_rows, repeated_rows):
    """The printed summary: counts and ranges read off the tables."""
    fastest = [row[2] for row in wins]
    counts = ", ".join(
        f"{name} {fastest.count(name)}" for name in dict.fromkeys(fastest)
    )

    def spread(column):
        values = [float(row[column].split()[0]) for row in wins if row[column] != "-"]
        return f"{min(values):.1f}–{max(values):.0f}×" if values else "-"

    def span(key):
        values = [r[key] for r in ratios if np.isfinite(r[key])]
        return f"{min(values):.2f}–{max(values):.2f}" if values else "-"

    per_iter = [float(row[7]) for row in cost_rows]
    missed = [row[0] for row in repeated_rows if float(row[1]) > 0.5]
    lines = [
        f"Fastest of the {len(wins)} (matrix, accuracy) cells: {counts}.",
        f"LOBPCG takes {spread(4)} the fastest's time, skfactor.eigsh's best "
        f"configuration {spread(5)}, the written GD {spread(6)}, RGD-QR "
        f"{spread(7)}: first-order rates scale with the relative gap, "
        "Krylov and LOBPCG's with about its square root.",
        f"GD over RGD-QR from one start at η = 1/‖A‖₂: iterations ×"
        f"{span('iters')}, time ×{span('common')} (the paper: 0.71); time per "
        f"iteration ×{min(per_iter):.2f}–{max(per_iter):.2f} as k and the "
        "product's cost change: the retraction is what GD saves, most where "
        "products are cheap (sparse, large k), little where a dense product "
        "dominates.",
        f"skfactor's FactorizationNAG(optimizer='gd') with its automatic step "
        f"takes ×{span('skfactor')} RGD-QR's time at RGD's best step.",
    ]
    if missed:
        lines.append(
            "A repeated top eigenvalue: ARPACK returned a wrong subspace "
            f"(sin Θ = 1) at tol = {', '.join(missed)}; the block methods "
            "converge at every tol."
        )
    print("Conclusion")
    for line in lines:
        print(f"- {line}")
    print()


def run(quick=False):
    max_iter = QUICK_MAX_ITER if quick else MAX_ITER
    table, ratio_rows, spectra, wins, all_ratios = [], [], [], [], []
    for name, A, k in datasets(quick):
        rows, ratios, (w, norm) = _matrix_rows(A, k, max_iter, 1 if quick else 3)
        all_ratios.append(ratios)
        best = {}
        for target in TARGETS:
            times = [
                row["results"][target]["seconds"]
                for row in rows
                if row["results"][target]["reached"]
            ]
            best[target] = min(times, default=math.nan)
        wins += _wins(name, rows, best)
        for row in rows:
            table.append(
                (name, row["method"], row["setting"], *_table_cells(row, best))
            )
        n = A.shape[0]
        shape = f"{n}x{n} " + (f"nnz {A.nnz}" if sp.issparse(A) else "dense")
        spectra.append(
            (
                name,
                shape,
                str(k),
                f"{w[0]:.4g}",
                f"{w[k - 1]:.4g}",
                f"{w[k]:.4g}",
                f"{(w[k - 1] - w[k]) / norm:.3g}",
                f"{norm:.4g}",
            )
        )
        ratio_rows.append(
            (
                name,
                f"{ratios['steps'][0]:g} / {ratios['steps'][1]:g}",
                _format(ratios["best"]),
                _format(ratios["common"]),
                _format(ratios["iters"]),
                _format(ratios["per_iter"]),
                _format(ratios["skfactor"]),
            )
        )
    print_table(
        "The matrices: top eigenvalues, and the relative gap (λ_k − λ_k+1)/‖A‖₂ "
        "that the first-order methods' rates scale with",
        ("matrix", "shape", "k", "λ_1", "λ_k", "λ_k+1", "gap/‖A‖", "‖A‖₂"),
        spectra,
    )
    print_table(
        "Time to ‖sin Θ(span X, V_k)‖₂ ≤ 1e-4 and ≤ 1e-8 (×best: over the "
        "matrix's fastest at that accuracy)",
        HEADER,
        table,
    )
    print_table(
        "Retraction-free GD over Riemannian GD (QR): time to 1e-8 (the paper: "
        "0.71, '29 % less')",
        (
            "matrix",
            "fastest c GD / RGD",
            "GD/RGD fastest",
            "GD/RGD η=1/‖A‖",
            "iters ratio η=1",
            "ms/iter ratio",
            "FactorizationNAG/RGD",
        ),
        ratio_rows,
    )
    print_table(
        "Where each method wins: the fastest, and each family's best over it",
        (
            "matrix",
            "accuracy",
            "fastest",
            "s",
            "LOBPCG ×",
            "best eigsh ×",
            "GD ×",
            "RGD-QR ×",
        ),
        wins,
    )
    cost_rows = per_iteration(quick)
    repeated_rows = repeated_eigenvalue(quick)
    _conclusion(wins, all_ratios, cost_rows, repeated_rows)
    return table + ratio_rows + spectra + cost_rows + repeated_rows


def main(argv=None):
    cli(run, __doc__, argv)


if __name__ == "__main__":
    main()
