"""Smoke tests: every benchmark runs in its quick mode and prints finite
numbers (timings are never asserted: they belong to the tables, not to tests)."""

import math

import pytest

from benchmarks.__main__ import MODULES
from benchmarks.__main__ import main as run_benchmarks


def _numbers(rows):
    """Every cell that parses as a number (markers ~ and > stripped)."""
    out = []
    for row in rows:
        for cell in row:
            try:
                out.append(float(str(cell).lstrip("~>")))
            except ValueError:
                pass
    return out


@pytest.mark.parametrize("name", MODULES)
def test_quick_mode_runs_and_prints_finite_numbers(name, capsys):
    import importlib

    module = importlib.import_module(f"benchmarks.{name}")
    rows = module.run(quick=True)
    out = capsys.readouterr().out
    assert out.strip()
    numbers = _numbers(rows)
    assert numbers, f"{name} printed no numbers"
    assert all(math.isfinite(x) for x in numbers)


def test_roofline_ratios_are_positive(capsys):
    from benchmarks import roofline

    rows = roofline.factorization(quick=True)
    assert "A @ Y + A.T @ X" in capsys.readouterr().out
    ratios = [float(row[-1]) for row in rows]
    assert len(ratios) >= 10 and min(ratios) > 0


def test_iterations_to_target_reached_extrapolated_and_bounded():
    import numpy as np

    from benchmarks.complexity import iterations_to_target

    linear = 0.5 ** np.arange(1, 101)  # error 2⁻ᵏ: 1e-8 at k = 27
    assert iterations_to_target(linear) == (27, "")
    count, how = iterations_to_target(linear[:20])
    assert how == "~" and abs(count - 27) <= 1
    sublinear = 1.0 / np.arange(1, 201)
    assert iterations_to_target(sublinear) == (200, ">")


def test_the_runner_rejects_unknown_names(capsys):
    with pytest.raises(SystemExit):
        run_benchmarks(["--quick", "nonsense"])
    assert "unknown benchmark 'nonsense'" in capsys.readouterr().err


def test_the_claims_table_of_the_docs_and_of_the_readme_agree():
    from pathlib import Path

    from benchmarks.papers import HEADER, parse_markdown, parse_rst

    root = Path(__file__).resolve().parents[1]
    rst = parse_rst((root / "docs" / "claims_table.rst").read_text("utf-8"))
    md = parse_markdown((root / "benchmarks" / "README.md").read_text("utf-8"))
    assert len(rst) >= 36
    assert all(len(row) == len(HEADER) for row in rst)
    assert rst == md
    verdicts = {row[-1] for row in rst}
    assert verdicts <= {"yes", "no", "partly", "—"}


def test_the_numbers_the_papers_page_quotes_are_the_tables():
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    table = (root / "docs" / "claims_table.rst").read_text("utf-8")
    page = " ".join((root / "docs" / "papers.rst").read_text("utf-8").split())
    # every pair of slopes the prose quotes is a pair of measured rows
    pairs = re.findall(r"([0-9]\.[0-9]+) \(GD\) and ([0-9]\.[0-9]+) \(NAG\)", page)
    assert len(pairs) >= 2
    for gd, nag in pairs:
        assert f"slope {gd}" in table and f"slope {nag}" in table


def test_claims_table_round_trip(tmp_path):
    from benchmarks.papers import (
        MARKERS,
        markdown_table,
        parse_markdown,
        parse_rst,
        rst_table,
        write_markdown,
    )

    rows = [("1", "P", "a claim", "a | b setting", "12 iterations", "yes")]
    rows = [tuple(c.replace(" | ", " / ") for c in r) for r in rows]
    assert parse_rst(rst_table(rows)) == rows
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{MARKERS[0]}\nold\n{MARKERS[1]}\noutro\n")
    write_markdown(readme, rows)
    text = readme.read_text()
    assert text.startswith("intro\n") and text.endswith("outro\n")
    assert "old" not in text
    assert parse_markdown(text) == rows
    assert markdown_table(rows) in text
