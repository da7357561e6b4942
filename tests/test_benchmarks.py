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
