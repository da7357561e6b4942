"""The main job, ``python -m skfactor``."""

import subprocess
import sys

from skfactor.__main__ import compare, format_table, main


def test_compare_rows_small_problem():
    rows = compare(
        n_samples=120,
        n_features=80,
        condition_number=10.0,
        n_components=8,
        max_iter=20000,
        tol=1e-8,
    )
    assert [r["optimizer"] for r in rows] == ["gd", "nag"]
    gd, nag = rows
    assert nag["converged"] and nag["relative_error"] < 1e-7
    assert nag["iterations"] < gd["iterations"]
    table = format_table(rows)
    assert table.splitlines()[0].split() == [
        "optimizer",
        "iterations",
        "seconds",
        "rel.",
        "error",
        "converged",
    ]


def test_main_prints_table(capsys):
    assert (
        main(
            [
                "--n-samples",
                "60",
                "--n-features",
                "40",
                "--max-iter",
                "300",
                "--condition-number",
                "10",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "condition number 10" in out
    assert out.count("\n") == 5  # title, header, rule, gd, nag


def test_bad_arguments_give_one_line_error():
    proc = subprocess.run(
        [sys.executable, "-m", "skfactor", "--condition-number", "0.5"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "--condition-number: must be at least 1" in proc.stderr


# -- the subcommands -----------------------------------------------------------
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import scipy.io  # noqa: E402
import scipy.sparse as sp  # noqa: E402

from skfactor.__main__ import load_matrix  # noqa: E402
from skfactor.datasets import make_low_rank_matrix  # noqa: E402


@pytest.mark.parametrize(
    "problem, best",
    [
        ("factorization", "nag"),
        ("sensing", "precgd"),
        ("completion", "precgd"),
        ("linear-net", "nag"),
    ],
)
def test_compare_each_problem(problem, best, capsys):
    small = {
        "factorization": ["--n-samples", "60", "--n-features", "40"],
        "sensing": ["--n-samples", "10", "--n-features", "10", "--rank", "2"],
        "completion": ["--n-samples", "60", "--n-features", "50", "--rank", "2"],
        "linear-net": ["--n-samples", "300", "--n-features", "12"],
    }[problem]
    argv = ["compare", "--problem", problem, "--condition-number", "10", *small]
    assert main([*argv, "--max-iter", "3000"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{problem}: ")
    rows = {line.split()[0]: line.split() for line in out.splitlines()[3:]}
    assert rows[best][-1] == "yes"
    assert float(rows[best][3]) < 1e-5  # relative error to the planted truth


def test_compare_saves_the_convergence_plot(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    target = tmp_path / "curves.png"
    argv = ["compare", "--n-samples", "40", "--n-features", "30", "--max-iter", "200"]
    assert (
        main([*argv, "--optimizers", "gd,nag,heavy_ball", "--plot", str(target)]) == 0
    )
    assert target.stat().st_size > 1000
    assert target.read_bytes()[:4] == b"\x89PNG"
    assert f"saved to {target}" in capsys.readouterr().out


@pytest.fixture
def matrix_files(tmp_path):
    A, *_ = make_low_rank_matrix(80, 50, 4, 10, random_state=0)
    np.save(tmp_path / "a.npy", A)
    header = ",".join(f"c{i}" for i in range(50))
    np.savetxt(tmp_path / "a.csv", A, delimiter=",", header=header, comments="")
    np.savetxt(tmp_path / "plain.csv", A, delimiter=",")
    S = sp.random(60, 40, density=0.1, random_state=0, format="csr")
    scipy.io.mmwrite(tmp_path / "s.mtx", S)
    return A, S, tmp_path


def test_load_matrix_formats(matrix_files):
    A, S, path = matrix_files
    np.testing.assert_array_equal(load_matrix(str(path / "a.npy")), A)
    np.testing.assert_allclose(load_matrix(str(path / "a.csv")), A, rtol=1e-15)
    np.testing.assert_allclose(load_matrix(str(path / "plain.csv")), A, rtol=1e-15)
    loaded = load_matrix(str(path / "s.mtx"))
    assert sp.issparse(loaded) and loaded.format == "csr"
    np.testing.assert_allclose(loaded.toarray(), S.toarray())


def test_fit_saves_factors_and_shows_progress(matrix_files, capsys):
    A, _, path = matrix_files
    out = path / "model.npz"
    argv = ["fit", str(path / "a.npy"), "--n-components", "4", "--tol", "1e-8"]
    assert main([*argv, "--max-iter", "3000", "--out", str(out)]) == 0
    text, progress = capsys.readouterr()
    assert "[FactorizationNAG] iter" in progress  # progress goes to stderr
    assert "[FactorizationNAG]" not in text  # stdout holds only the results
    assert "(converged)" in text and f"saved {out}" in text
    saved = np.load(out)
    X, Y = saved["embedding"], saved["components"]
    assert X.shape == (80, 4) and Y.shape == (4, 50)
    assert np.linalg.norm(X @ Y - A) / np.linalg.norm(A) < 1e-7
    assert saved["n_iter"] == len(saved["loss_curve"])


def test_fit_symmetric_saves_the_eigen_form(tmp_path, capsys):
    rng = np.random.RandomState(0)
    U = np.linalg.qr(rng.standard_normal((40, 3)))[0]
    A = (U * [5.0, 2.0, 1.0]) @ U.T
    np.save(tmp_path / "k.npy", A)
    out = tmp_path / "k.npz"
    argv = ["fit", str(tmp_path / "k.npy"), "--symmetric", "--n-components", "3"]
    argv += ["--optimizer", "precgd", "--tol", "1e-10", "--quiet", "--out", str(out)]
    assert main(argv) == 0
    text, _ = capsys.readouterr()
    assert "symmetric model X Xᵀ" in text and "‖A − XXᵀ‖/‖A‖" in text
    saved = np.load(out)
    np.testing.assert_allclose(saved["eigenvalues"], [5.0, 2.0, 1.0], rtol=1e-8)
    E = saved["embedding"]
    assert np.linalg.norm(E @ E.T - A) / np.linalg.norm(A) < 1e-8
    assert (
        main(["fit", str(tmp_path / "k.npy"), "--symmetric", "--init", "balanced"]) == 2
    )
    assert "balanced" in capsys.readouterr().err


def test_fit_sparse_quietly(matrix_files, capsys):
    _, _, path = matrix_files
    argv = ["fit", str(path / "s.mtx"), "--n-components", "3", "--quiet"]
    assert main([*argv, "--max-iter", "1"]) == 0
    out, err = capsys.readouterr()
    assert "sparse, " in out and "[FactorizationNAG]" not in out
    assert "max_iter=1" in err  # the ConvergenceWarning, as one line


def _write(name, content):
    def write(folder):
        path = folder / name
        if isinstance(content, np.ndarray):
            np.save(path, content)
        else:
            path.write_bytes(content)
        return path

    return write


@pytest.mark.parametrize(
    "write, extra, message",
    [
        (lambda folder: folder / "missing.npy", [], "no such file"),
        (_write("data.txt", b"1"), [], "extension must be .npy, .csv or .mtx"),
        (_write("data.npy", np.zeros((2, 2, 2))), [], "3-d array"),
        (_write("data.csv", b"a,b\n1,x\n"), [], "cannot read"),
        (_write("data.npy", b"not a npy"), [], "cannot read"),
        (_write("data.mtx", b"%%MatrixMarket nonsense"), [], "cannot read"),
        (_write("data.npy", np.ones((5, 4))), ["--optimizer", "foo"], "optimizer"),
        (
            _write("data.npy", np.ones((5, 4))),
            ["--out", "/no/such/folder/m.npz"],
            "does not exist",
        ),
        (_write("data.npy", np.full((5, 4), np.inf)), [], "holds infinite entries"),
    ],
)
def test_fit_bad_files_give_one_line_errors(tmp_path, capsys, write, extra, message):
    target = write(tmp_path)
    assert main(["fit", str(target), *extra]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("skfactor fit: error:")
    assert message in err


def test_cli_errors_never_show_tracebacks():
    for argv in (
        ["fit"],
        ["bogus"],
        ["compare", "--problem", "nope"],
        ["compare", "--max-iter", "0"],
        ["fit", "missing.npy", "--n-components", "x"],
    ):
        proc = subprocess.run(
            [sys.executable, "-m", "skfactor", *argv],
            capture_output=True,
            text=True,
            check=False,
        )
        assert proc.returncode == 2, argv
        assert "Traceback" not in proc.stderr
        assert proc.stderr.count("\n") == 1, proc.stderr


def test_fit_csv_with_missing_cells(tmp_path, capsys):
    A, *_ = make_low_rank_matrix(60, 30, 3, 5, random_state=0)
    rng = np.random.RandomState(0)
    missing = rng.rand(*A.shape) < 0.2
    cells = np.where(missing, "", A.astype(str))
    cells[0, 0], cells[1, 1] = "NA", "nan"
    missing[0, 0] = missing[1, 1] = True
    text = "\n".join(",".join(row) for row in cells) + "\n"
    (tmp_path / "m.csv").write_text(",".join(f"c{j}" for j in range(30)) + "\n" + text)
    loaded = load_matrix(str(tmp_path / "m.csv"))
    np.testing.assert_array_equal(np.isnan(loaded), missing)
    np.testing.assert_allclose(loaded[~missing], A[~missing], rtol=1e-15)
    argv = ["fit", str(tmp_path / "m.csv"), "--n-components", "4", "--quiet"]
    assert (
        main([*argv, "--init", "spectral", "--tol", "1e-8", "--max-iter", "3000"]) == 0
    )
    out = capsys.readouterr().out
    assert (
        f"{int(missing.sum())} missing entries" in out and "(observed entries)" in out
    )


# -- skfactor complete -----------------------------------------------------------
import re  # noqa: E402

from skfactor.datasets import make_ratings  # noqa: E402

_HELD_OUT = re.compile(
    r"held-out RMSE ([\d.]+) on (\d+) ratings vs ([\d.]+) for the bias-only baseline"
)


@pytest.fixture
def ratings():
    """3000 ratings of a 200 x 150 matrix (10 % observed), rank 3 plus noise."""
    X, y, _ = make_ratings(
        200, 150, 3000, rank=3, noise=0.3, signal=1.0, random_state=0
    )
    return X, y


def _held_out(out):
    match = _HELD_OUT.search(out)
    assert match, out
    return float(match[1]), int(match[2]), float(match[3])


def test_complete_mtx_fits_the_stored_entries_only(ratings, tmp_path, capsys):
    X, y = ratings
    S = sp.coo_matrix((y, (X[:, 0], X[:, 1])), shape=(200, 150))
    scipy.io.mmwrite(tmp_path / "r.mtx", S)
    assert main(["complete", str(tmp_path / "r.mtx")]) == 0
    out, progress = capsys.readouterr()
    assert "[MatrixCompletionRegressor]" in progress  # progress goes to stderr
    assert "[MatrixCompletionRegressor]" not in out
    lines = out.splitlines()
    assert len(lines) == 3
    assert "3000 ratings, 200 rows x 150 columns (density 10%)" in lines[0]
    assert "stored entries" in lines[0]
    assert "alpha " in lines[1] and "iteration" in lines[1] and " s" in lines[1]
    rmse, n_test, baseline = _held_out(lines[2])
    assert n_test == 600  # --test-fraction 0.2
    assert rmse < 0.9 * baseline  # the low-rank part helps
    # the unrated cells as zeros: even the best rank-10 fit of the filled
    # matrix, scored on the ratings it saw, is far off
    D = S.toarray()
    U, s, Vt = np.linalg.svd(D, full_matrices=False)
    as_zeros = ((U[:, :10] * s[:10]) @ Vt[:10])[X[:, 0], X[:, 1]]
    zeros_rmse = np.sqrt(np.mean((as_zeros - y) ** 2))
    assert rmse < 0.5 * zeros_rmse


def test_complete_triples_with_string_ids_round_trip(ratings, tmp_path, capsys):
    X, y = ratings
    users = np.array([f"user {u}" for u in range(200)])
    users[0] = "Smith, J"  # a quoted cell
    items = 1000 + np.arange(150)  # integer ids stay integer labels
    text = "user,item,rating\n" + "".join(
        f'"{users[u]}",{items[i]},{v:g}\n' for (u, i), v in zip(X, y)
    )
    (tmp_path / "t.csv").write_text(text)
    target = tmp_path / "model.npz"
    argv = ["complete", str(tmp_path / "t.csv"), "--n-components", "3", "--quiet"]
    assert main([*argv, "--test-fraction", "0", "--out", str(target)]) == 0
    out, err = capsys.readouterr()
    assert "[MatrixCompletionRegressor]" not in out + err
    assert "3000 ratings, 200 rows x 150 columns" in out
    assert "triples (user, item, rating)" in out
    assert "training RMSE" in out and "held-out" not in out
    assert f"saved {target}" in out
    saved = np.load(target)  # no pickles: plain string and integer arrays
    row_ids, column_ids = saved["row_ids"], saved["column_ids"]
    assert row_ids.dtype.kind == "U" and set(row_ids) == set(users)
    assert column_ids.dtype.kind == "i" and set(column_ids) == set(items)
    assert saved["row_factors"].shape == (200, 3)
    assert saved["column_factors"].shape == (150, 3)
    assert np.isnan(saved["test_rmse"])
    # the saved model predicts the ratings: ids looked up in the saved ids
    u = np.searchsorted(row_ids, users[X[:, 0]])
    i = np.searchsorted(column_ids, items[X[:, 1]])
    pred = (
        saved["global_mean"]
        + saved["row_bias"][u]
        + saved["column_bias"][i]
        + np.einsum("ij,ij->i", saved["row_factors"][u], saved["column_factors"][i])
    )
    rmse = np.sqrt(np.mean((pred - y) ** 2))
    np.testing.assert_allclose(rmse, saved["train_rmse"], rtol=1e-6)
    assert f"training RMSE {rmse:.4f} on 3000 ratings" in out
    assert rmse < 0.9 * np.std(y)


def test_complete_dense_csv_with_empty_cells(ratings, tmp_path, capsys):
    X, y = ratings
    cells = np.full((200, 150), "", dtype=object)
    cells[X[:, 0], X[:, 1]] = [f"{v:g}" for v in y]
    text = "\n".join(",".join(row) for row in cells) + "\n"
    (tmp_path / "d.csv").write_text(text)
    argv = ["complete", str(tmp_path / "d.csv"), "--quiet", "--alpha", "0.05"]
    assert main([*argv, "--optimizer", "precgd", "--n-components", "3"]) == 0
    out = capsys.readouterr().out
    assert "3000 ratings, 200 rows x 150 columns" in out
    assert "27000 missing entries unobserved" in out
    assert "alpha 0.05 (given)" in out
    rmse, n_test, baseline = _held_out(out)
    assert n_test == 600 and rmse < 0.9 * baseline


def test_complete_bias_only(ratings, tmp_path, capsys):
    X, y = ratings
    D = np.full((200, 150), np.nan)
    D[X[:, 0], X[:, 1]] = y
    np.save(tmp_path / "d.npy", D)
    argv = ["complete", str(tmp_path / "d.npy"), "--n-components", "0", "--quiet"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "0 components" in out and "(this is the bias-only model)" in out


@pytest.mark.parametrize(
    "content, extra, message",
    [
        (None, [], "no such file"),
        (
            b"user,item,rating\nalice,x,5\nbob,x,five\n",
            [],
            "line 3, column 3: 'five' is not a number",
        ),
        (b"user,item,rating\nalice,x,5\nbob,x\n", [], "line 3 has 2 values"),
        (b"alice,x,5\nbob,x,4\n", [], "give --format triples"),
        (
            b"user,item,rating\na,x,5\nb,x,4\nc,y,3\n",
            ["--test-fraction", "0.5"],
            "holds out 2 of 3 ratings, which leaves 1 to fit",
        ),
        (b"u,i,r\na,x,5\n", ["--test-fraction", "1"], "--test-fraction: must be"),
        (b"u,i,r\na,x,5\n", ["--test-fraction", "-0.1"], "--test-fraction: must be"),
        (b"u,i,r\na,x,5\n", ["--alpha", "big"], "--alpha: must be a number >= 0"),
        (b"u,i,r\na,x,5\n", ["--alpha", "-1"], "--alpha: must be a number >= 0"),
        (
            b"u,i,r\na,x,5\n",
            ["--out", "/no/such/folder/m.npz"],
            "does not exist",
        ),
    ],
)
def test_complete_bad_inputs_give_one_line_errors(
    tmp_path, capsys, content, extra, message
):
    target = tmp_path / "ratings.csv"
    if content is not None:
        target.write_bytes(content)
    assert main(["complete", str(target), "--quiet", *extra]) == 2
    out, err = capsys.readouterr()
    assert err.count("\n") == 1 and err.startswith("skfactor complete: error:")
    assert message in err and not out


def test_complete_errors_never_show_tracebacks(tmp_path):
    (tmp_path / "bad.csv").write_text("user,item,rating\nalice,x,five\n")
    for argv in (
        ["complete"],
        ["complete", str(tmp_path / "bad.csv")],
    ):
        proc = subprocess.run(
            [sys.executable, "-m", "skfactor", *argv],
            capture_output=True,
            text=True,
            check=False,
        )
        assert proc.returncode == 2, argv
        assert "Traceback" not in proc.stderr
        assert proc.stderr.count("\n") == 1, proc.stderr
