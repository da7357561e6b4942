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
    assert "condition_number" in proc.stderr
