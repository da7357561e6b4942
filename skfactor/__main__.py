"""The ``skfactor`` command line (also ``python -m skfactor``).

``skfactor compare``
    Fit one model per optimizer on a planted problem (factorization, sensing,
    completion or a linear network) and print iterations, seconds and the
    final relative error to the truth; ``--plot FILE`` saves the convergence
    curves.
``skfactor fit DATA``
    Factor a matrix from a ``.npy``, ``.csv`` or Matrix Market ``.mtx`` file
    with :class:`~skfactor.FactorizationNAG`, showing progress, and save the
    factors to an ``.npz`` file.

Without a subcommand, ``skfactor`` runs ``compare`` (GD against NAG on a
planted rank-5 matrix with condition number 100). Bad files and arguments end
with a one-line error and exit code 2, never a traceback.
"""

import argparse
import contextlib
import math
import os
import sys
import tempfile
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from . import FactorizationNAG, LinearNetRegressor, MatrixSensingPrecGD, __version__
from ._initializers import starts_for
from ._linalg import max_abs
from ._optimizers import OPTIMIZERS
from .datasets import make_low_rank_matrix, make_matrix_completion, make_matrix_sensing

#: Planted problems of ``skfactor compare`` with their default sizes and
#: optimizers; ``n_samples``/``n_features`` are the matrix shape (n1 × n2 for
#: sensing and completion, samples × features for the linear network).
PROBLEMS = {
    "factorization": dict(
        n_samples=600, n_features=400, rank=5, n_components=10, optimizers="gd,nag"
    ),
    "sensing": dict(
        n_samples=30, n_features=30, rank=3, n_components=6, optimizers="precgd,gd"
    ),
    # completion at the true rank: over-specified, unregularized completion
    # has exact fits of the observed entries that are not the truth
    "completion": dict(
        n_samples=300,
        n_features=200,
        rank=5,
        n_components=None,  # = rank
        optimizers="precgd,gd",
    ),
    # tol 1e-6: the loss from sufficient statistics resolves relative errors
    # down to about 1e-7, so a tighter tol could only stop at max_iter
    "linear-net": dict(
        n_samples=2000,
        n_features=50,
        rank=5,
        n_components=10,
        optimizers="gd,nag",
        tol=1e-6,
    ),
}


def _relative(estimate, truth):
    return float(np.linalg.norm(estimate - truth) / np.linalg.norm(truth))


def _planted(problem, n_samples, n_features, rank, condition_number, random_state):
    """Data, a fit-and-score function per optimizer, and a description."""
    if problem == "factorization":
        A, *_ = make_low_rank_matrix(
            n_samples, n_features, rank, condition_number, random_state=random_state
        )

        def error(model):
            return model.reconstruction_err_ / np.linalg.norm(A)

        return (A,), FactorizationNAG, error
    if problem in ("sensing", "completion"):
        if problem == "sensing":
            X, y, M = make_matrix_sensing(
                n_samples,
                n_features,
                rank,
                10 * max(n_samples, n_features) * rank,
                condition_number=condition_number,
                random_state=random_state,
            )
        else:
            X, y, M = make_matrix_completion(
                n_samples,
                n_features,
                rank,
                condition_number=condition_number,
                fraction=0.3,
                random_state=random_state,
            )

        def error(model):
            return _relative(model.coef_, M)

        def make(n_components, **kwargs):
            return MatrixSensingPrecGD(
                n_components, shape=(n_samples, n_features), **kwargs
            )

        return (X, y), make, error
    rng = np.random.RandomState(random_state)
    W, *_ = make_low_rank_matrix(
        20, n_features, rank, condition_number, random_state=random_state
    )
    X = rng.standard_normal((n_samples, n_features))
    Y = X @ W.T

    def error(model):
        return _relative(model.coef_, W)

    def make(n_components, **kwargs):
        return LinearNetRegressor((n_components,), fit_intercept=False, **kwargs)

    return (X, Y), make, error


def compare(
    n_samples=600,
    n_features=400,
    rank=5,
    condition_number=100.0,
    n_components=10,
    optimizers=("gd", "nag"),
    tol=1e-8,
    max_iter=3000,
    random_state=0,
    problem="factorization",
):
    """Fit one model per optimizer on a planted problem.

    Returns a list of rows (dicts): ``optimizer``, ``iterations``,
    ``seconds``, ``relative_error`` (to the planted truth), ``converged`` and
    the fitted ``estimator``.
    """
    if problem not in PROBLEMS:
        raise ValueError(
            f"problem must be one of {', '.join(PROBLEMS)}; got {problem!r}."
        )
    data, make, error = _planted(
        problem, n_samples, n_features, rank, condition_number, random_state
    )
    rows = []
    for name in optimizers:
        model = make(
            n_components,
            optimizer=name,
            tol=tol,
            max_iter=max_iter,
            random_state=random_state,
        )
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(*data)
        rows.append(
            {
                "optimizer": name,
                "iterations": model.n_iter_,
                "seconds": time.perf_counter() - start,
                "relative_error": error(model),
                "converged": model.converged_,
                "estimator": model,
            }
        )
    return rows


def format_table(rows):
    """Render result rows as a fixed-width text table."""
    header = (
        f"{'optimizer':<10} {'iterations':>10} {'seconds':>9} "
        f"{'rel. error':>11} {'converged':>10}"
    )
    lines = [header, "-" * len(header)]
    for row in rows:
        lines.append(
            f"{row['optimizer']:<10} {row['iterations']:>10d} "
            f"{row['seconds']:>9.3f} {row['relative_error']:>11.2e} "
            f"{'yes' if row['converged'] else 'no':>10}"
        )
    return "\n".join(lines)


# -- loading user data -----------------------------------------------------------
def load_matrix(path):
    """Read a matrix from ``.npy``, ``.csv`` (comma-separated, an optional
    header line) or Matrix Market ``.mtx`` (sparse, as CSR)."""
    ext = os.path.splitext(path)[1].lower()
    if ext not in (".npy", ".csv", ".mtx"):
        raise ValueError(
            f"cannot read {path!r}: the extension must be .npy, .csv or .mtx."
        )
    if not os.path.isfile(path):
        raise ValueError(f"no such file: {path!r}.")
    try:
        if ext == ".npy":
            A = _read_npy(path)
        elif ext == ".mtx":
            import scipy.io

            A = scipy.io.mmread(path)
            A = A.tocsr() if hasattr(A, "tocsr") else np.asarray(A)
        else:
            A = _read_csv(path)
    except MemoryError:
        raise ValueError(
            f"cannot read {path!r}: it declares a matrix too large for this "
            "machine's memory."
        ) from None
    except (OSError, ValueError, EOFError, OverflowError) as exc:
        message = f"cannot read {path!r} as {ext[1:]}: {_first_line(exc)}"
        raise ValueError(message) from None
    if not hasattr(A, "tocsr"):
        if A.dtype == bool:
            A = A.astype(np.float64)  # the estimator fits booleans as 0/1
        if A.ndim != 2 or not np.issubdtype(A.dtype, np.number):
            raise ValueError(
                f"{path!r} holds a {A.ndim}-d array of {A.dtype}; a 2-d numeric "
                "matrix is needed."
            )
    if 0 in A.shape:
        raise ValueError(f"{path!r} holds no data (shape {A.shape}).")
    if np.isinf(A.data if hasattr(A, "tocsr") else A).any():
        raise ValueError(
            f"{path!r} holds infinite entries; replace them by finite values, or "
            "by NaN (or an empty CSV cell) to fit around them as missing."
        )
    return A


def _read_npy(path):
    try:
        return np.load(path, allow_pickle=False)
    except ValueError as exc:
        if "pickle" in str(exc):  # an object array, or not an .npy file at all
            raise ValueError(
                "not a numeric NumPy .npy file (object arrays and other formats "
                "are not read)"
            ) from None
        raise


#: CSV cells read as a missing entry (NaN).
_MISSING_CELLS = {"", "na", "nan", "n/a", "null"}


def _cell(text):
    text = text.strip()
    return np.nan if text.lower() in _MISSING_CELLS else float(text)


def _read_csv(path):
    """Comma-separated numbers; empty, NA or NaN cells are missing entries.

    A UTF-8 byte-order mark (as spreadsheet programs write it) is skipped, and
    an optional first line of column names too.
    """
    with open(path, encoding="utf-8-sig") as handle:
        first = handle.readline()
    if not first.strip():
        raise ValueError("the file is empty")
    if "," not in first:
        for separator, name in ((";", "semicolons"), ("\t", "tabs")):
            if separator in first:
                raise ValueError(
                    f"its values are separated by {name}; skfactor reads "
                    "comma-separated values"
                )
    try:
        [_cell(cell) for cell in first.split(",")]
        header = 0
    except ValueError:
        header = 1  # a line of column names
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "input contained no data"
        A = np.loadtxt(
            path,
            delimiter=",",
            ndmin=2,
            converters=_cell,
            dtype=np.float64,
            skiprows=header,
            encoding="utf-8-sig",
        )
    if A.size == 0:
        raise ValueError("it has no data rows")
    return A


class _Destination:
    """An output file reserved before the work starts, written at the end.

    The constructor creates a temporary file in the target's folder, so an
    unwritable or missing folder is reported before any fitting; ``save``
    writes the temporary and moves it onto the target with ``os.replace``, and
    ``discard`` removes it. A failed or interrupted save leaves the target as
    it was.
    """

    def __init__(self, option, path):
        self.option, self.path = option, path
        if path.endswith(("/", os.sep)) or os.path.isdir(path):
            raise ValueError(f"{option}: {path!r} is a folder; give a file name.")
        folder, name = os.path.split(os.path.abspath(path))
        if not os.path.isdir(folder):
            raise ValueError(f"{option}: the folder {folder!r} does not exist.")
        try:
            handle, self.temporary = tempfile.mkstemp(
                dir=folder, prefix=f".{name}.", suffix=os.path.splitext(name)[1]
            )
        except OSError as exc:
            raise ValueError(
                f"{option}: cannot write in {folder!r}: {exc.strerror or exc}."
            ) from None
        os.close(handle)

    def save(self, write):
        """``write(temporary_path)``, then move it onto the target."""
        try:
            write(self.temporary)
            os.replace(self.temporary, self.path)
        except OSError as exc:
            self.discard()
            raise ValueError(
                f"{self.option}: cannot write {self.path!r}: {exc.strerror or exc}."
            ) from None
        except BaseException:
            self.discard()
            raise

    def discard(self):
        if os.path.exists(self.temporary):
            os.remove(self.temporary)


def _first_line(exc):
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


# -- the subcommands ---------------------------------------------------------------
#: Bytes of float64 working memory per planted problem, a rough upper bound:
#: the data and its truth, a few copies while they are made.
def _planted_bytes(problem, n_samples, n_features, rank):
    if problem == "sensing":
        cells = 10 * max(n_samples, n_features) * rank * n_samples * n_features
    elif problem == "linear-net":
        cells = n_samples * (n_features + 20) + 20 * n_features
    else:
        cells = n_samples * n_features
    return 4 * 8 * cells


def _memory_bytes():
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, OSError, ValueError):  # not a POSIX system
        return math.inf


def _plot_format(path):
    """The figure format from the file name (checked before any fitting)."""
    import importlib.util

    if importlib.util.find_spec("matplotlib") is None:
        raise ValueError(
            "--plot needs matplotlib: pip install matplotlib (or skfactor[plot])."
        )
    from matplotlib.backend_bases import FigureCanvasBase

    formats = FigureCanvasBase.get_supported_filetypes()
    extension = os.path.splitext(path)[1].lower().lstrip(".")
    if extension not in formats:
        kind = f"a .{extension} file" if extension else "a file without extension"
        raise ValueError(
            f"--plot: cannot save the figure as {kind} ({path!r}); end the "
            "file name with one of "
            f"{', '.join('.' + f for f in sorted(formats))}."
        )
    return extension


def _run_compare(args):
    defaults = PROBLEMS[args.problem]

    def get(name):
        value = getattr(args, name)
        if value is None:
            value = defaults.get(name, 1e-8)
        if value is None and name == "n_components":
            value = get("rank")
        return value

    optimizers = [o.strip() for o in get("optimizers").split(",") if o.strip()]
    if not optimizers:
        raise ValueError("--optimizers is empty; give e.g. --optimizers gd,nag.")
    unknown = [name for name in optimizers if name not in OPTIMIZERS]
    if unknown:
        raise ValueError(
            f"--optimizers: unknown optimizer {unknown[0]!r}; choose from "
            f"{', '.join(OPTIMIZERS)}."
        )
    n_samples, n_features, rank = get("n_samples"), get("n_features"), get("rank")
    if args.problem == "linear-net":  # the planted map is 20 x n_features
        bound, names = min(20, n_features), "20 outputs and --n-features"
    else:
        bound, names = min(n_samples, n_features), "--n-samples and --n-features"
    if rank > bound:
        raise ValueError(
            f"--rank {rank} exceeds {bound}, the smaller of {names}; give a "
            "smaller --rank or a larger matrix."
        )
    if rank == 1 and args.condition_number != 1:
        raise ValueError(
            "--rank 1: a rank-1 matrix has condition number 1; give --rank 2 or "
            "more, or --condition-number 1."
        )
    needed = _planted_bytes(args.problem, n_samples, n_features, rank)
    if needed > _memory_bytes():
        raise ValueError(
            f"--n-samples {n_samples} --n-features {n_features}: the planted "
            f"{args.problem} problem needs about {needed / 2**30:.3g} GiB of memory; "
            f"this machine has {_memory_bytes() / 2**30:.3g} GiB."
        )
    plot = None
    if args.plot is not None:  # fail before fitting if the figure can't be saved
        plot_format = _plot_format(args.plot)
        plot = _Destination("--plot", args.plot)
    try:
        rows = compare(
            n_samples=n_samples,
            n_features=n_features,
            rank=rank,
            condition_number=args.condition_number,
            n_components=get("n_components"),
            optimizers=optimizers,
            tol=get("tol"),
            max_iter=args.max_iter,
            random_state=args.random_state,
            problem=args.problem,
        )
        if plot is not None:
            import matplotlib

            matplotlib.use("Agg")
            from .plotting import ConvergenceDisplay

            display = ConvergenceDisplay.from_estimators(
                [row["estimator"] for row in rows],
                labels=[row["optimizer"] for row in rows],
                x=args.x,
                y="relative_error",
            )
            display.ax_.set_title(
                f"{args.problem}, condition number {args.condition_number:g}"
            )
            plot.save(
                lambda temporary: display.figure_.savefig(temporary, format=plot_format)
            )
    finally:
        if plot is not None:
            plot.discard()
    # the results are printed only once everything succeeded
    print(
        f"{args.problem}: {n_samples}x{n_features}, planted rank {rank}, condition "
        f"number {args.condition_number:g}, width {get('n_components')}, "
        f"tol={get('tol'):g}; relative error to the truth"
    )
    print(format_table(rows))
    if plot is not None:
        print(f"convergence plot saved to {args.plot}")
    return 0


class _Progress:
    """A text stream onto stderr that writes ``header`` before its first text."""

    def __init__(self, header):
        self.header = header

    def write(self, text):
        if self.header is not None:
            sys.stderr.write(self.header + "\n")
            self.header = None
        return sys.stderr.write(text)

    def flush(self):
        sys.stderr.flush()


def _run_fit(args):
    out = None
    if args.out is not None:
        path = args.out
        if not path.endswith(("/", os.sep, ".npz")):
            path += ".npz"
        out = _Destination("--out", path)
    try:
        return _fit_and_save(args, out)
    finally:
        if out is not None:
            out.discard()


def _fit_and_save(args, out):
    A = load_matrix(args.data)
    shape = "x".join(map(str, A.shape))
    kind = f"sparse, {A.nnz} stored entries" if hasattr(A, "nnz") else "dense"
    values = A.data if hasattr(A, "nnz") else A
    n_missing = int(np.count_nonzero(np.isnan(values)))
    if n_missing:
        kind += f", {n_missing} missing entries fitted around"
    described = f"{args.data}: {shape} ({kind}); {args.n_components} components"
    model = FactorizationNAG(
        args.n_components,
        optimizer=args.optimizer,
        init=args.init,
        learning_rate=args.learning_rate,
        max_iter=args.max_iter,
        tol=args.tol,
        random_state=args.random_state,
        verbose=0 if args.quiet else 1,
    )
    # progress goes to stderr, headed by what is being fitted once the first
    # iteration is done (a fit refused up front prints only the error line);
    # stdout gets the results only
    progress = _Progress(f"fitting {described}")
    start = time.perf_counter()
    with (
        warnings.catch_warnings(record=True) as caught,
        contextlib.redirect_stdout(progress),
    ):
        warnings.simplefilter("always", ConvergenceWarning)
        model.fit(A)
    seconds = time.perf_counter() - start
    # over the observed entries, in float64 and relative to the largest entry:
    # squares of float32 or integer data overflow in their own dtype
    top = max_abs(values)
    scaled = np.divide(values, top if top > 0 else 1.0, dtype=np.float64)
    norm = top * float(np.sqrt(np.nansum(scaled * scaled)))
    relative = model.reconstruction_err_ / norm if norm > 0 else 0.0
    status = "converged" if model.converged_ else "stopped at max_iter"
    lines = [
        described,
        f"{model.n_iter_} iterations ({status}) in {seconds:.2f} s; relative "
        f"error ‖A − XYᵀ‖/‖A‖ = {relative:.4e}"
        + (" (observed entries)" if n_missing else ""),
    ]
    if out is not None:
        arrays = dict(
            embedding=model.embedding_,
            components=model.components_,
            loss_curve=model.loss_curve_,
            reconstruction_err=model.reconstruction_err_,
            n_iter=model.n_iter_,
            converged=model.converged_,
            learning_rate=model.learning_rate_,
            optimizer=args.optimizer,
            init=args.init,
        )
        out.save(lambda temporary: np.savez(temporary, **arrays))
        lines.append(
            f"saved {out.path}: embedding ({model.embedding_.shape[0]}x"
            f"{args.n_components}), components ({args.n_components}x"
            f"{model.components_.shape[1]}), loss_curve; A ≈ embedding @ components"
        )
    print("\n".join(lines))
    for warning in caught:
        print(f"warning: {warning.message}", file=sys.stderr)
    return 0


class _Parser(argparse.ArgumentParser):
    """Errors on one line (``skfactor: error: …``), exit code 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _parse(text, convert, accept, requirement):
    """``convert(text)`` if it parses and ``accept`` holds, else a one-line
    argparse error quoting the value (newlines included)."""
    try:
        value = convert(text)
    except ValueError:
        value = None
    if value is None or not accept(value):
        raise argparse.ArgumentTypeError(f"must be {requirement}, got {text!r}")
    return value


def _positive_int(text):
    return _parse(text, int, lambda v: v >= 1, "a positive integer")


def _condition_number(text):
    return _parse(text, float, lambda v: 1 <= v < math.inf, "at least 1")


def _learning_rate(text):
    if text == "auto":
        return text
    return _parse(
        text, float, lambda v: 0 < v < math.inf, "a positive number or 'auto'"
    )


def _seed(text):
    return _parse(text, int, lambda v: 0 <= v < 2**32, "an integer in [0, 2**32)")


def _tolerance(text):
    return _parse(text, float, lambda v: 0 <= v < math.inf, "a number >= 0")


def build_parser():
    parser = _Parser(
        prog="skfactor",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description="Low-rank models by first-order methods: compare optimizers on "
        "planted problems, or factor your own matrix.",
    )
    parser.add_argument("--version", action="version", version=__version__)
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    helpful = {"formatter_class": argparse.ArgumentDefaultsHelpFormatter}

    cmp_ = sub.add_parser(
        "compare",
        **helpful,
        help="one fit per optimizer on a planted problem; a table and a plot",
        description="Fit one model per optimizer on a planted problem and print "
        "iterations, seconds and the relative error to the truth.",
    )
    cmp_.add_argument(
        "--problem",
        choices=list(PROBLEMS),
        default="factorization",
        help="the planted problem",
    )
    cmp_.add_argument(
        "--optimizers",
        help="comma-separated (default: gd,nag; precgd,gd for sensing and completion)",
    )
    cmp_.add_argument(
        "--condition-number",
        type=_condition_number,
        default=100.0,
        help="σ₁/σ_r of the planted matrix",
    )
    cmp_.add_argument("--n-samples", type=_positive_int, help="rows (n1 for sensing)")
    cmp_.add_argument("--n-features", type=_positive_int, help="columns (n2)")
    cmp_.add_argument("--rank", type=_positive_int, help="planted rank")
    cmp_.add_argument(
        "--n-components", type=_positive_int, help="fitted width (search rank)"
    )
    cmp_.add_argument(
        "--max-iter", type=_positive_int, default=3000, help="iterations at most"
    )
    cmp_.add_argument(
        "--tol",
        type=_tolerance,
        help="relative error to stop at (default 1e-8; 1e-6 for linear-net)",
    )
    cmp_.add_argument("--random-state", type=_seed, default=0, help="seed")
    cmp_.add_argument(
        "--plot", metavar="FILE", help="save the convergence curves (.png, .pdf, .svg)"
    )
    cmp_.add_argument(
        "--x", choices=("iteration", "time"), default="iteration", help="plot axis"
    )
    cmp_.set_defaults(run=_run_compare)

    fit = sub.add_parser(
        "fit",
        **helpful,
        help="factor a matrix from .npy, .csv or .mtx and save the factors",
        description="Factor DATA ≈ X Yᵀ with FactorizationNAG, showing progress.",
    )
    fit.add_argument("data", metavar="DATA", help=".npy, .csv or Matrix Market .mtx")
    fit.add_argument(
        "--n-components", type=_positive_int, default=10, help="width of the factors"
    )
    fit.add_argument(
        "--optimizer", default="nag", choices=list(OPTIMIZERS), help="update rule"
    )
    fit.add_argument(
        "--init",
        default="unbalanced",
        choices=sorted(starts_for("pair")),
        help="the start",
    )
    fit.add_argument(
        "--learning-rate",
        type=_learning_rate,
        default="auto",
        help="step size: a positive number or 'auto'",
    )
    fit.add_argument(
        "--max-iter", type=_positive_int, default=1000, help="iterations at most"
    )
    fit.add_argument(
        "--tol", type=_tolerance, default=1e-4, help="relative error to stop at"
    )
    fit.add_argument("--random-state", type=_seed, default=0, help="seed")
    fit.add_argument("--out", metavar="FILE.npz", help="where to save the factors")
    fit.add_argument("--quiet", action="store_true", help="no progress lines")
    fit.set_defaults(run=_run_fit)
    return parser


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or (
        argv[0].startswith("-") and argv[0] not in ("-h", "--help", "--version")
    ):
        argv = ["compare", *argv]  # the main job: GD against NAG
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a one-line usage error
        return exc.code
    try:
        return args.run(args)
    except (ValueError, TypeError, OSError, OverflowError) as exc:
        print(f"skfactor {args.command}: error: {_first_line(exc)}", file=sys.stderr)
        return 2
    except MemoryError:
        print(f"skfactor {args.command}: error: out of memory", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"skfactor {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
