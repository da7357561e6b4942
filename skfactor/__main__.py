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
``skfactor complete DATA``
    Fit :class:`~skfactor.MatrixCompletionRegressor` to observed ratings: the
    stored entries of a Matrix Market ``.mtx`` file, the non-NaN entries of a
    dense ``.npy``/``.csv`` matrix, or ``row,column,value`` lines of a ``.csv``
    (read as such when its first line is a header of three names, or with
    ``--format triples``). A random ``--test-fraction`` of the ratings is held
    out and the held-out RMSE printed next to the bias-only baseline's;
    ``--out`` saves the ids, biases and factors to an ``.npz`` file.

Without a subcommand, ``skfactor`` runs ``compare`` (GD against NAG on a
planted rank-5 matrix with condition number 100). Bad files and arguments end
with a one-line error and exit code 2, never a traceback.
"""

import argparse
import contextlib
import csv
import math
import os
import re
import sys
import tempfile
import time
import warnings
import zipfile

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from . import FactorizationNAG, LinearNetRegressor, MatrixSensingPrecGD, __version__
from ._base import _memory_bytes
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
    init_power_iter=0,
):
    """Fit one model per optimizer on a planted problem.

    Every fit uses the estimator's default start with ``init_power_iter``
    power iterations: 0 (the default here) is the papers' plain sketch, so
    that the optimizers, not the start, make the difference (a sharpened
    sketch solves an exactly low-rank planted matrix in one iteration).

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
            init_power_iter=init_power_iter,
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
    _check_file(path)
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
    except (OSError, ValueError, EOFError, OverflowError, csv.Error) as exc:
        message = f"cannot read {path!r} as {ext[1:]}: {_first_line(exc)}"
        raise ValueError(message) from None
    if not hasattr(A, "tocsr"):
        if A.dtype == bool:
            A = A.astype(np.float64)  # the estimator fits booleans as 0/1
        if A.ndim != 2 or A.dtype.kind not in "iuf":
            raise ValueError(
                f"{path!r} holds a {A.ndim}-d array of {A.dtype}; a 2-d matrix of "
                "real numbers (float, integer or boolean) is needed."
            )
    if 0 in A.shape:
        raise ValueError(f"{path!r} holds no data (shape {A.shape}).")
    if np.isinf(A.data if hasattr(A, "tocsr") else A).any():
        raise ValueError(
            f"{path!r} holds infinite entries; replace them by finite values, or "
            "by NaN (or an empty CSV cell) to fit around them as missing."
        )
    return A


def _check_file(path):
    """A one-line error unless ``path`` is an existing regular file."""
    if not os.path.exists(path):
        raise ValueError(f"no such file: {path!r}.")
    if not os.path.isfile(path):
        kind = "a folder" if os.path.isdir(path) else "not a regular file"
        raise ValueError(f"{path!r} is {kind}; give a data file.")


def _read_npy(path):
    try:
        A = np.load(path, allow_pickle=False)
    except zipfile.BadZipFile:  # starts like a zip (.npz) archive
        raise ValueError("not a NumPy .npy file (a broken zip archive)") from None
    except ValueError as exc:
        if "pickle" in str(exc):  # an object array, or not an .npy file at all
            raise ValueError(
                "not a numeric NumPy .npy file (object arrays and other formats "
                "are not read)"
            ) from None
        raise
    if not isinstance(A, np.ndarray):  # an .npz archive of several arrays
        A.close()
        raise ValueError(
            "it is an .npz archive, not an .npy file; save one array with np.save"
        )
    return A


#: CSV cells read as a missing entry (NaN).
_MISSING_CELLS = {"", "na", "nan", "n/a", "null"}


def _number(text):
    """The cell's value, NaN for a missing cell, None when it is no number."""
    text = text.strip()
    if text.lower() in _MISSING_CELLS:
        return np.nan
    try:
        return float(text)
    except ValueError:
        return None


def _csv_lines(path):
    """``(line number, cells)`` of every line of a CSV file that is neither
    blank nor a ``#`` comment, read with the :mod:`csv` module (quoted cells,
    CRLF line ends and a UTF-8 byte-order mark are fine)."""
    with open(path, encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle, skipinitialspace=True)
        for cells in reader:
            if not cells or all(not c.strip() for c in cells):
                continue  # a blank line
            if cells[0].lstrip().startswith("#"):
                continue  # a comment
            yield reader.line_num, cells


def _read_csv(path):
    """Comma-separated numbers; empty, NA or NaN cells are missing entries.

    Read with the :mod:`csv` module, so quoted cells and CRLF line ends are
    fine. A UTF-8 byte-order mark (as spreadsheet programs write it), blank
    lines, lines starting with ``#`` and a first line of column names (no
    cell a number) are skipped; a comma ending every line is ignored. A cell
    that is not a number, or a line with another number of values than the
    first, is an error naming its line and column: no data are dropped.
    """
    lines = list(_csv_lines(path))
    if not lines:
        raise ValueError("the file is empty")
    first = lines[0][1]
    if len(first) == 1:
        for separator, name in ((";", "semicolons"), ("\t", "tabs")):
            if separator in first[0]:
                raise ValueError(
                    f"its values are separated by {name}; skfactor reads "
                    "comma-separated values"
                )
    values = [_number(cell) for cell in first]
    names = [cell for cell, value in zip(first, values) if value is None]
    if names and all(
        value is None or (np.isnan(value) and not cell.strip())
        for cell, value in zip(first, values)
    ):
        lines = lines[1:]  # a line of column names
        if not lines:
            raise ValueError("it has no data rows")
    width = len(lines[0][1])
    if all(not cells[-1].strip() for _, cells in lines) and width > 1:
        lines = [(number, cells[:-1]) for number, cells in lines]  # trailing commas
        width -= 1
    rows = []
    for number, cells in lines:
        if len(cells) != width:
            raise ValueError(
                f"line {number} has {len(cells)} values but line {lines[0][0]} has "
                f"{width}; every line needs the same number of values"
            )
        row = [_number(cell) for cell in cells]
        for column, (cell, value) in enumerate(zip(cells, row), start=1):
            if value is None:
                raise ValueError(
                    f"line {number}, column {column}: {cell.strip()[:40]!r} is "
                    "not a number (missing cells may be empty, NA or NaN)"
                )
        rows.append(row)
    return np.array(rows, dtype=np.float64)


# -- ratings for ``skfactor complete`` -------------------------------------------
#: Ids of a triples column read as integers: canonical integer literals only
#: ("007" and "7" stay two labels).
_INTEGER_ID = re.compile(r"0|-?[1-9][0-9]*")


def _first_csv_cells(path):
    """The cells of the first line of a CSV file that is no blank line or
    ``#`` comment (None when there is none or it cannot be read)."""
    try:
        for _, cells in _csv_lines(path):
            while len(cells) > 1 and not cells[-1].strip():
                cells = cells[:-1]  # a comma ending the line
            return cells
    except (OSError, ValueError, csv.Error):
        return None
    return None


def _is_triples_header(cells):
    """Three non-empty cells, none a number: a header such as
    ``user,item,rating``."""
    return (
        cells is not None
        and len(cells) == 3
        and all(c.strip() and _number(c) is None for c in cells)
    )


def _ratings_format(path, requested):
    """``"matrix"`` or ``"triples"`` for ``--format requested`` (``auto``:
    triples for a ``.csv`` whose first line is a header of three names)."""
    ext = os.path.splitext(path)[1].lower()
    if requested == "triples":
        if ext != ".csv":
            raise ValueError(
                f"--format triples reads a comma-separated .csv file of "
                f"row,column,value lines; got {path!r}."
            )
        return "triples"
    if requested == "matrix" or ext != ".csv":
        return "matrix"
    return "triples" if _is_triples_header(_first_csv_cells(path)) else "matrix"


def _id_labels(texts):
    """The ids of one triples column: int64 when every id is an integer
    literal, else strings."""
    if all(_INTEGER_ID.fullmatch(text) for text in texts):
        try:
            return np.array([int(text) for text in texts], dtype=np.int64)
        except OverflowError:
            pass
    return np.array(texts, dtype=str)


def read_triples(path):
    """Ratings from a CSV file of ``row,column,value`` lines.

    Returns ``(rows, columns, values, names)``: the row and column ids of
    every line (int64 arrays when every id of that column is an integer,
    else string arrays), the values (float64) and the header's three names
    (None without a header). The CSV conventions are those of
    :func:`load_matrix`: quoted cells, CRLF line ends, a byte-order mark,
    blank lines and ``#`` comment lines are fine; a first line with no
    number in it is the header. A value that is not a finite number, an
    empty id or a line without three values is an error naming its line and
    column.
    """
    _check_file(path)
    try:
        return _read_triples(path)
    except MemoryError:
        raise ValueError(
            f"cannot read {path!r}: too many ratings for this machine's memory."
        ) from None
    except (OSError, ValueError, csv.Error) as exc:
        message = f"cannot read {path!r} as row,column,value triples: "
        raise ValueError(message + _first_line(exc)) from None


def _read_triples(path):
    rows, columns, values, names = [], [], [], None
    for number, cells in _csv_lines(path):
        while len(cells) > 3 and not cells[-1].strip():
            cells = cells[:-1]  # a comma ending the line
        if (
            names is None
            and not values
            and all(_number(c) is None or not c.strip() for c in cells)
        ):
            if len(cells) == 1 and any(s in cells[0] for s in ";\t"):
                name = "semicolons" if ";" in cells[0] else "tabs"
                raise ValueError(
                    f"its values are separated by {name}; skfactor reads "
                    "comma-separated values"
                )
            if len(cells) != 3:
                raise ValueError(
                    f"its header (line {number}) has {len(cells)} names; "
                    "row,column,value triples have three"
                )
            names = [c.strip() for c in cells]
            continue
        if len(cells) != 3:
            raise ValueError(
                f"line {number} has {len(cells)} values; every line needs "
                "three: row,column,value"
            )
        row, column, value = (c.strip() for c in cells)
        for position, (kind, text) in enumerate(
            (("row", row), ("column", column)), start=1
        ):
            if not text:
                raise ValueError(f"line {number}, column {position}: empty {kind} id")
        if not value:
            raise ValueError(f"line {number}, column 3: empty rating")
        try:
            rating = float(value)
        except ValueError:
            rating = math.nan
        if not math.isfinite(rating):
            raise ValueError(
                f"line {number}, column 3: {value[:40]!r} is not a number (the "
                "third value of a line is the rating)"
            )
        rows.append(row)
        columns.append(column)
        values.append(rating)
    if not values:
        raise ValueError("it has no ratings" if names else "the file is empty")
    return _id_labels(rows), _id_labels(columns), np.array(values), names


def load_ratings(path, format="auto"):
    """Ratings ``(X, y, info)`` for ``skfactor complete``.

    ``X`` holds integer codes (row, column) into ``info["row_ids"]`` and
    ``info["column_ids"]`` (the ids, sorted: the file's labels for triples,
    0-based indices for a matrix); ``info`` also has ``shape`` and a
    description ``source``. A Matrix Market file's stored entries are the
    ratings (its implicit zeros are unobserved); a dense matrix's entries
    are, except NaN (empty CSV cells).
    """
    from . import ratings_from_sparse

    if _ratings_format(path, format) == "triples":
        rows, columns, y, names = read_triples(path)
        row_ids, row_codes = np.unique(rows, return_inverse=True)
        column_ids, column_codes = np.unique(columns, return_inverse=True)
        X = np.column_stack([row_codes.ravel(), column_codes.ravel()])
        source = "row,column,value triples"
        if names is not None:
            source += f" ({', '.join(names)})"
        shape = (len(row_ids), len(column_ids))
    else:
        try:
            A = load_matrix(path)
        except ValueError as exc:
            cells = _first_csv_cells(path) if path.lower().endswith(".csv") else None
            message = _first_line(exc)
            if (
                format == "auto"
                and cells is not None
                and len(cells) == 3
                and "is not a number" in message
            ):
                raise ValueError(
                    f"{message.rstrip('.')}; for a file of "
                    "row,column,value lines give --format triples."
                ) from None
            raise
        if hasattr(A, "tocsr"):
            X, y = ratings_from_sparse(A)
            keep = ~np.isnan(y)  # a stored NaN is unobserved too
            X, y = X[keep], y[keep]
            source = "the stored entries of a sparse matrix"
        else:
            X, y = ratings_from_sparse(A)
            n_missing = A.size - len(y)
            source = "a dense matrix, " + (
                f"{n_missing} missing entries unobserved"
                if n_missing
                else "every entry observed"
            )
        y = y.astype(np.float64)
        shape = A.shape
        row_ids, column_ids = np.arange(shape[0]), np.arange(shape[1])
        if not len(y):
            raise ValueError(
                f"{path!r} holds no ratings: every entry is missing (NaN, an "
                "empty CSV cell) or, in a .mtx file, none is stored."
            )
    return (
        X,
        y,
        dict(row_ids=row_ids, column_ids=column_ids, shape=shape, source=source),
    )


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
        # mkstemp makes the file private (0600): give it the mode a plain
        # open() would (the umask's), or the mode of the file it replaces
        if os.path.exists(path):
            mode = os.stat(path).st_mode & 0o7777
        else:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.chmod(self.temporary, mode)

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
            init_power_iter=args.init_power_iter,
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
                lambda temporary: _write_with(
                    temporary, display.figure_.savefig, format=plot_format
                )
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


def _write_with(path, write, *args, **kwargs):
    """``write(file, *args, **kwargs)`` into ``path`` opened for writing."""
    with open(path, "wb") as handle:
        write(handle, *args, **kwargs)


#: Seconds of progress held back at the start of a fit: a fit that fails
#: sooner (a step that diverges at once) prints its one error line only.
PROGRESS_HOLD = 1.0


class _Progress:
    """A text stream onto stderr for the progress lines of one fit.

    The lines are headed by ``header`` and held back for the first
    ``PROGRESS_HOLD`` seconds, then written as they come. ``close(success)``
    writes what is held after a successful fit and drops it after a failure.
    """

    def __init__(self, header):
        self.held = [header + "\n"]
        self.start = time.perf_counter()

    def write(self, text):
        if self.held is None:
            return sys.stderr.write(text)
        self.held.append(text)
        if time.perf_counter() - self.start >= PROGRESS_HOLD:
            self._release()
        return len(text)

    def _release(self):
        sys.stderr.write("".join(self.held))
        sys.stderr.flush()
        self.held = None

    def flush(self):
        if self.held is None:
            sys.stderr.flush()

    def close(self, success):
        if self.held is not None and success and len(self.held) > 1:
            self._release()
        self.held = None


def _fit_with_progress(header, fit, *args):
    """``fit(*args)`` with its progress lines on stderr, headed by ``header``
    and held back for a moment (a fit refused or diverging at once prints only
    its error line), stdout left for the results. Returns the seconds it took
    and the ``ConvergenceWarning`` records it raised."""
    progress = _Progress(header)
    start = time.perf_counter()
    success = False
    try:
        with (
            warnings.catch_warnings(record=True) as caught,
            contextlib.redirect_stdout(progress),
        ):
            warnings.simplefilter("always", ConvergenceWarning)
            fit(*args)
        success = True
    finally:
        progress.close(success)
    return time.perf_counter() - start, caught


def _with_destination(args, work):
    """``work(args, out)`` with ``out`` the ``--out`` file reserved first
    (``.npz`` added to a name without it), or None; a failed ``work`` leaves
    no file behind."""
    out = None
    if args.out is not None:
        path = args.out
        if not path.endswith(("/", os.sep, ".npz")):
            path += ".npz"
        out = _Destination("--out", path)
    try:
        return work(args, out)
    finally:
        if out is not None:
            out.discard()


def _run_fit(args):
    return _with_destination(args, _fit_and_save)


def _fit_and_save(args, out):
    A = load_matrix(args.data)
    shape = "x".join(map(str, A.shape))
    kind = f"sparse, {A.nnz} stored entries" if hasattr(A, "nnz") else "dense"
    values = A.data if hasattr(A, "nnz") else A
    n_missing = int(np.count_nonzero(np.isnan(values)))
    if n_missing:
        kind += f", {n_missing} missing entries fitted around"
    described = f"{args.data}: {shape} ({kind}); {args.n_components} components"
    if args.symmetric:
        described += " of the symmetric model X Xᵀ"
    model = FactorizationNAG(
        args.n_components,
        symmetric=args.symmetric,
        optimizer=args.optimizer,
        init=args.init,
        learning_rate=args.learning_rate,
        max_iter=args.max_iter,
        tol=args.tol,
        alpha=args.alpha,
        random_state=args.random_state,
        verbose=0 if args.quiet else 1,
    )
    seconds, caught = _fit_with_progress(f"fitting {described}", model.fit, A)
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
        f"error ‖A − {'XXᵀ' if args.symmetric else 'XYᵀ'}‖/‖A‖ = {relative:.4e}"
        + (" (observed entries)" if n_missing else ""),
    ]
    if out is not None:
        spectrum = "eigenvalues" if args.symmetric else "singular_values"
        arrays = dict(
            embedding=model.embedding_,
            components=model.components_,
            **{spectrum: model.singular_values_},
            loss_curve=model.loss_curve_,
            reconstruction_err=model.reconstruction_err_,
            n_iter=model.n_iter_,
            converged=model.converged_,
            learning_rate=model.learning_rate_,
            optimizer=args.optimizer,
            init=args.init,
        )
        # through an open file: np.savez would append ".npz" to a name
        # without that suffix (the temporary of "--out .npz")
        out.save(lambda temporary: _write_with(temporary, np.savez, **arrays))
        model_form = (
            "A ≈ embedding @ embedding.T (components: eigenvectors)"
            if args.symmetric
            else "A ≈ embedding @ components"
        )
        lines.append(
            f"saved {out.path}: embedding ({model.embedding_.shape[0]}x"
            f"{args.n_components}), components ({args.n_components}x"
            f"{model.components_.shape[1]}, orthonormal rows), {spectrum}, "
            f"loss_curve; {model_form}"
        )
    print("\n".join(lines))
    for warning in caught:
        print(f"warning: {warning.message}", file=sys.stderr)
    return 0


def _rmse(model, X, y):
    """The root-mean-square error of ``model`` at the ratings ``(X, y)``."""
    residual = model.predict(X).astype(np.float64) - y
    return float(np.sqrt(np.mean(residual * residual)))


def _run_complete(args):
    return _with_destination(args, _complete_and_save)


def _complete_and_save(args, out):
    from . import MatrixCompletionRegressor

    X, y, info = load_ratings(args.data, args.format)
    n = len(y)
    n_rows, n_columns = info["shape"]
    density = n / (n_rows * n_columns)
    read = (
        f"{args.data}: {n} ratings, {n_rows} rows x {n_columns} columns "
        f"(density {100 * density:.3g}%); {info['source']}"
    )
    repeated = n - len(np.unique(X[:, 0] * n_columns + X[:, 1]))
    if repeated:
        read += f"; {repeated} repeated (row, column) pairs"
    n_test = math.ceil(args.test_fraction * n)
    if n - n_test < 2:
        raise ValueError(
            f"--test-fraction {args.test_fraction:g} holds out {n_test} of {n} "
            f"ratings, which leaves {n - n_test} to fit; at least 2 are needed. "
            "Give more ratings or a smaller --test-fraction (0: fit on all)."
        )
    order = np.random.RandomState(args.random_state).permutation(n)
    test, train = np.sort(order[:n_test]), np.sort(order[n_test:])

    def make(n_components, verbose=0):
        return MatrixCompletionRegressor(
            n_components,
            optimizer=args.optimizer,
            alpha=args.alpha,
            max_iter=args.max_iter,
            random_state=args.random_state,
            verbose=verbose,
        )

    model = make(args.n_components, verbose=0 if args.quiet else 1)
    held = f", {n_test} held out" if n_test else ""
    described = (
        f"{args.n_components} components by {args.optimizer} on {len(train)} "
        f"ratings{held}"
    )
    seconds, caught = _fit_with_progress(
        f"completing {args.data}: {described}", model.fit, X[train], y[train]
    )
    alphas = getattr(model, "alphas_", None)
    if args.alpha != "auto":
        how = "given"
    elif alphas is not None:
        how = f"chosen among {len(alphas)} on a validation split of the training set"
    else:  # too few ratings to hold any out
        how = "--alpha auto on too few ratings to choose one"
    if model.validation_rmse_ is not None:
        # early stopping: the fit ran on and kept its best validation iterate
        stop = (
            f"{len(model.validation_rmse_) - 1} iterations, kept iteration "
            f"{model.best_iteration_} of lowest validation RMSE "
            f"{np.min(model.validation_rmse_):.4f} ({model.stop_reason_})"
        )
    else:
        stop = f"{model.n_iter_} iterations ({model.stop_reason_})"
    lines = [
        read,
        f"fitted {described}: alpha {model.alpha_:.4g} ({how}); {stop} in "
        f"{seconds:.2f} s",
    ]
    train_rmse = _rmse(model, X[train], y[train])
    test_rmse = baseline_rmse = math.nan
    if n_test:
        test_rmse = _rmse(model, X[test], y[test])
        if args.n_components == 0:
            baseline_rmse, versus = test_rmse, "(this is the bias-only model)"
        else:
            baseline = make(0)
            with warnings.catch_warnings(record=True) as more:
                warnings.simplefilter("always", ConvergenceWarning)
                baseline.fit(X[train], y[train])
            caught += [f"(bias-only baseline) {w.message}" for w in more]
            baseline_rmse = _rmse(baseline, X[test], y[test])
            versus = (
                f"vs {baseline_rmse:.4f} for the bias-only baseline "
                f"({test_rmse / baseline_rmse:.3f}x)"
                if baseline_rmse > 0
                else f"vs {baseline_rmse:.4f} for the bias-only baseline"
            )
        lines.append(
            f"held-out RMSE {test_rmse:.4f} on {n_test} ratings {versus}; "
            f"ratings' standard deviation {np.std(y[test]):.4f}"
        )
    else:
        lines.append(
            f"training RMSE {train_rmse:.4f} on {n} ratings (--test-fraction 0: "
            "nothing held out)"
        )
    if out is not None:
        arrays = dict(
            row_ids=info["row_ids"][model.row_ids_],
            column_ids=info["column_ids"][model.column_ids_],
            global_mean=model.global_mean_,
            row_bias=model.row_bias_,
            column_bias=model.column_bias_,
            row_factors=model.row_factors_,
            column_factors=model.column_factors_,
            alpha=model.alpha_,
            test_rmse=test_rmse,
            baseline_rmse=baseline_rmse,
            train_rmse=train_rmse,
            n_iter=model.n_iter_,
            stop_reason=model.stop_reason_,
            optimizer=args.optimizer,
        )
        out.save(lambda temporary: _write_with(temporary, np.savez, **arrays))
        lines.append(
            f"saved {out.path}: row_ids ({len(arrays['row_ids'])}), column_ids "
            f"({len(arrays['column_ids'])}), global_mean, row_bias, column_bias, "
            f"row_factors ({len(arrays['row_ids'])}x{args.n_components}), "
            f"column_factors ({len(arrays['column_ids'])}x{args.n_components}); "
            "rating ≈ global_mean + row_bias[u] + column_bias[i] + "
            "row_factors[u] @ column_factors[i]"
        )
    print("\n".join(lines))
    if (
        args.format == "auto"
        and info["source"].startswith("a dense")
        and (args.data.lower().endswith(".csv") and n_columns == 3)
    ):
        print(
            f"note: {args.data} was read as a dense matrix of 3 columns; for "
            "row,column,value lines without a header give --format triples",
            file=sys.stderr,
        )
    for warning in caught:
        print(f"warning: {getattr(warning, 'message', warning)}", file=sys.stderr)
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


def _nonnegative_int(text):
    return _parse(text, int, lambda v: v >= 0, "a non-negative integer")


def _condition_number(text):
    return _parse(text, float, lambda v: 1 <= v < math.inf, "at least 1")


def _learning_rate(text):
    if text == "auto":
        return text
    return _parse(
        text, float, lambda v: 0 < v < math.inf, "a positive number or 'auto'"
    )


def _alpha(text):
    if text == "auto":
        return text
    return _parse(text, float, lambda v: 0 <= v < math.inf, "a number >= 0 or 'auto'")


def _fraction(text):
    return _parse(text, float, lambda v: 0 <= v < 1, "a number in [0, 1)")


def _seed(text):
    return _parse(text, int, lambda v: 0 <= v < 2**32, "an integer in [0, 2**32)")


def _tolerance(text):
    return _parse(text, float, lambda v: 0 <= v < math.inf, "a number >= 0")


def _option_names(parser):
    """``{parameter: option}`` for the options named like a parameter of the
    estimators (``learning_rate`` → ``--learning-rate``)."""
    return {
        action.dest: action.option_strings[-1]
        for action in parser._actions
        if action.option_strings
        and ("_" in action.dest or action.dest in ("alpha", "tol"))
    }


def _in_cli_words(message, options):
    """An estimator's message with its parameter names as the CLI's options
    (``learning_rate=0.1`` → ``--learning-rate 0.1``)."""
    for dest, option in options.items():
        message = re.sub(rf"\b{dest}=", f"{option} ", message)
        message = re.sub(rf"(?<![-\w]){dest}\b", option, message)
    return message


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
    cmp_.add_argument(
        "--init-power-iter",
        type=_nonnegative_int,
        default=0,
        help="power iterations of the start's sketch (default 0: the papers' start)",
    )
    cmp_.add_argument("--random-state", type=_seed, default=0, help="seed")
    cmp_.add_argument(
        "--plot", metavar="FILE", help="save the convergence curves (.png, .pdf, .svg)"
    )
    cmp_.add_argument(
        "--x", choices=("iteration", "time"), default="iteration", help="plot axis"
    )
    cmp_.set_defaults(run=_run_compare, options=_option_names(cmp_))

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
        "--symmetric",
        action="store_true",
        help="fit the symmetric model A ≈ X Xᵀ (a symmetric A: kernel, graph)",
    )
    fit.add_argument(
        "--init",
        default="unbalanced",
        choices=sorted(starts_for("pair", "symmetric")),
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
    fit.add_argument(
        "--alpha",
        type=_tolerance,
        default=0.0,
        help="ridge penalty ½α(‖X‖² + ‖Y‖²) on the factors",
    )
    fit.add_argument("--random-state", type=_seed, default=0, help="seed")
    fit.add_argument("--out", metavar="FILE.npz", help="where to save the factors")
    fit.add_argument("--quiet", action="store_true", help="no progress lines")
    fit.set_defaults(run=_run_fit, options=_option_names(fit))

    complete = sub.add_parser(
        "complete",
        **helpful,
        help="fit the observed ratings of a matrix or of row,column,value "
        "triples; the held-out RMSE",
        description="Fit MatrixCompletionRegressor to the observed ratings of DATA, "
        "holding out --test-fraction of them, and print the held-out RMSE next "
        "to the bias-only baseline's.",
    )
    complete.add_argument(
        "data",
        metavar="DATA",
        help="a .mtx file (its stored entries), a dense .npy/.csv matrix (NaN or "
        "empty cells unobserved) or a .csv of row,column,value lines",
    )
    complete.add_argument(
        "--format",
        choices=("auto", "matrix", "triples"),
        default="auto",
        help="how to read DATA; auto: triples for a .csv whose first line is a "
        "header of three names (user,item,rating), a matrix otherwise",
    )
    complete.add_argument(
        "--triples",
        dest="format",
        action="store_const",
        const="triples",
        default=argparse.SUPPRESS,
        help="the same as --format triples",
    )
    complete.add_argument(
        "--n-components",
        type=_nonnegative_int,
        default=10,
        help="width of the factors (0: the bias-only model)",
    )
    complete.add_argument(
        "--optimizer",
        default="heavy_ball",
        choices=list(OPTIMIZERS),
        help="update rule",
    )
    complete.add_argument(
        "--alpha",
        type=_alpha,
        default="auto",
        help="count-weighted ridge: a number >= 0, or 'auto' (chosen on a "
        "validation split of the training ratings)",
    )
    complete.add_argument(
        "--test-fraction",
        type=_fraction,
        default=0.2,
        help="ratings held out at random for the test RMSE (0: fit on all)",
    )
    complete.add_argument(
        "--max-iter", type=_positive_int, default=1000, help="iterations at most"
    )
    complete.add_argument(
        "--random-state", type=_seed, default=0, help="seed of the split and the fit"
    )
    complete.add_argument("--out", metavar="FILE.npz", help="where to save the model")
    complete.add_argument("--quiet", action="store_true", help="no progress lines")
    complete.set_defaults(run=_run_complete, options=_option_names(complete))
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
        message = _in_cli_words(_first_line(exc), args.options)
        print(f"skfactor {args.command}: error: {message}", file=sys.stderr)
        return 2
    except MemoryError:
        print(f"skfactor {args.command}: error: out of memory", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"skfactor {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
