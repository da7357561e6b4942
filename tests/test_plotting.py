"""ConvergenceDisplay: the plotted data, labels, axes and errors (Agg backend)."""

import sys

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skfactor import FactorizationNAG, LinearNetRegressor, MatrixSensingPrecGD
from skfactor.datasets import make_low_rank_matrix, make_matrix_sensing
from skfactor.plotting import ConvergenceDisplay

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def fits():
    A, *_ = make_low_rank_matrix(50, 40, 3, 10, random_state=0)
    return A, [
        FactorizationNAG(3, optimizer=opt, tol=1e-6, max_iter=3000, random_state=0).fit(
            A
        )
        for opt in ("gd", "nag")
    ]


def test_lines_hold_the_loss_curves(fits):
    _, (gd, nag) = fits
    display = ConvergenceDisplay.from_estimators([gd, nag])
    assert len(display.lines_) == 2
    for line, est in zip(display.lines_, (gd, nag)):
        x, y = line.get_data()
        np.testing.assert_array_equal(x, np.arange(1, est.n_iter_ + 1))
        np.testing.assert_allclose(y, est.loss_curve_)
    assert [line.get_label() for line in display.lines_] == [
        "gd, unbalanced",
        "nag, unbalanced",
    ]
    assert display.ax_.get_yscale() == "log"
    assert display.ax_.get_xlabel() == "iteration"
    assert display.figure_ is display.ax_.figure
    legend = [t.get_text() for t in display.ax_.get_legend().get_texts()]
    assert legend == ["gd, unbalanced", "nag, unbalanced"]


def test_relative_error_and_wall_time(fits):
    A, (_, nag) = fits
    display = ConvergenceDisplay.from_estimator(
        nag, x="time", y="relative_error", label="NAG"
    )
    x, y = display.lines_[0].get_data()
    np.testing.assert_allclose(x, nag.time_curve_)
    assert np.all(np.diff(x) >= 0) and x[0] >= 0
    # for factorization the relative error is ‖XYᵀ − A‖/‖A‖
    assert y[-1] == pytest.approx(nag.reconstruction_err_ / np.linalg.norm(A), rel=1e-6)
    assert y[-1] <= 1e-6  # what tol asked for
    assert display.ax_.get_ylabel() == "relative error"
    assert display.ax_.get_xlabel() == "wall time (s)"
    assert display.lines_[0].get_label() == "NAG"


def test_draws_on_a_given_axes_and_passes_line_options(fits):
    gd = fits[1][0]
    fig, (left, right) = plt.subplots(1, 2)
    display = ConvergenceDisplay.from_estimator(gd, ax=right, linewidth=3.5)
    assert display.ax_ is right and display.figure_ is fig
    assert display.lines_[0].get_linewidth() == 3.5
    assert not left.lines
    again = display.plot(ax=left, y="relative_error")
    assert again is display and display.ax_ is left and len(left.lines) == 1


def test_labels_tell_apart_fits_that_share_optimizer_and_init(fits):
    A, _ = fits
    fits_ = [
        FactorizationNAG(3, learning_rate=lr, max_iter=50, tol=0, random_state=0).fit(A)
        for lr in (0.05, 0.1)
    ]
    display = ConvergenceDisplay.from_estimators(fits_)
    labels = [line.get_label() for line in display.lines_]
    assert labels == [
        "nag, unbalanced (learning_rate=0.05)",
        "nag, unbalanced (learning_rate=0.1)",
    ]


def test_all_three_estimators_pipelines_and_searches():
    rng = np.random.RandomState(0)
    X, y, _ = make_matrix_sensing(8, 8, 2, 200, random_state=0)
    sensing = MatrixSensingPrecGD(2, random_state=0).fit(X, y)
    Xr = rng.standard_normal((100, 5))
    net = LinearNetRegressor((3,), random_state=0).fit(Xr, Xr @ rng.standard_normal(5))
    pipe = make_pipeline(StandardScaler(), LinearNetRegressor((3,), random_state=0))
    pipe.fit(Xr, Xr[:, 0])
    search = GridSearchCV(
        FactorizationNAG(2, max_iter=100, init_power_iter=0, random_state=0),
        {"optimizer": ["gd", "nag"]},
        cv=2,
    ).fit(rng.standard_normal((20, 6)))
    display = ConvergenceDisplay.from_estimators(
        [sensing, net, pipe, search], y="relative_error"
    )
    assert len(display.lines_) == 4
    np.testing.assert_allclose(
        display.lines_[0].get_data()[1],
        np.sqrt(sensing.loss_curve_ / sensing.reference_loss_),
    )
    np.testing.assert_allclose(
        display.lines_[2].get_data()[1],
        np.sqrt(pipe[-1].loss_curve_ / pipe[-1].reference_loss_),
    )
    labels = [line.get_label() for line in display.lines_]
    best = search.best_estimator_
    assert labels[0] == f"precgd, {sensing.init}"
    assert labels[1].startswith("LinearNetRegressor: nag, unbalanced")
    assert labels[2].startswith("LinearNetRegressor: nag, unbalanced")
    assert f"{best.optimizer}, unbalanced" in labels[3]


def test_curves_given_directly_and_zero_losses_are_not_drawn():
    display = ConvergenceDisplay([[1.0, 0.1, 0.0]], ["exact"]).plot()
    _, y = display.lines_[0].get_data()
    assert y[:2].tolist() == [1.0, 0.1] and np.isnan(y[2])


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"x": "epoch"}, ValueError, "x must be one of 'iteration', 'time'"),
        ({"y": "r2"}, ValueError, "y must be one of 'loss', 'relative_error'"),
    ],
)
def test_bad_axis_names(fits, kwargs, error, match):
    with pytest.raises(error, match=match):
        ConvergenceDisplay.from_estimator(fits[1][0], **kwargs)


def test_bad_inputs():
    with pytest.raises(NotFittedError):
        ConvergenceDisplay.from_estimator(FactorizationNAG(2))
    with pytest.raises(TypeError, match="is not a skfactor estimator"):
        ConvergenceDisplay.from_estimator(StandardScaler().fit([[1.0], [2.0]]))
    with pytest.raises(ValueError, match="estimators is empty"):
        ConvergenceDisplay.from_estimators([])
    with pytest.raises(ValueError, match="one label per curve"):
        ConvergenceDisplay([[1.0, 0.5]], ["a", "b"]).plot()
    with pytest.raises(ValueError, match="needs time_curves"):
        ConvergenceDisplay([[1.0, 0.5]], ["a"]).plot(x="time")
    with pytest.raises(ValueError, match="needs reference_losses"):
        ConvergenceDisplay([[1.0, 0.5]], ["a"]).plot(y="relative_error")
    with pytest.raises(ValueError, match="one entry per loss"):
        ConvergenceDisplay([[1.0, 0.5]], ["a"], time_curves=[[0.1]]).plot(x="time")


def test_clear_message_without_matplotlib(monkeypatch, fits):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(
        ImportError, match=r"requires matplotlib.*pip install matplotlib"
    ):
        ConvergenceDisplay.from_estimator(fits[1][0])
