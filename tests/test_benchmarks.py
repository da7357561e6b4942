"""Smoke test: the benchmarks run and print finite ratios (timings not asserted)."""

import numpy as np

from benchmarks import roofline


def test_roofline_quick_runs(capsys):
    rows = roofline.run(quick=True)
    assert "ratio" in capsys.readouterr().out
    ratios = [float(row[-1]) for row in rows]
    assert len(ratios) >= 9
    assert np.all(np.isfinite(ratios)) and min(ratios) > 0


def test_sensing_quick_runs(capsys):
    from benchmarks import sensing

    rows = sensing.run(quick=True)
    out = capsys.readouterr().out
    assert "precgd" in out and "ratio" in out
    assert np.isfinite(float(rows[-1][-1]))


def test_linear_net_quick_runs(capsys):
    from benchmarks import linear_net

    rows = linear_net.run(quick=True)
    assert "statistics" in capsys.readouterr().out
    assert all(np.isfinite(float(row[1])) for row in rows[3:])
