"""The driver loop: stopping rules, divergence, warnings, callback."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from skfactor._objectives import FactorizationObjective
from skfactor._optimizers import make_optimizer
from skfactor._solver import N_ITER_NO_CHANGE, minimize
from skfactor.exceptions import DivergenceError


def test_relative_error_rule_stops_at_first_iterate_below_tol(problem):
    objective, F = problem
    tol = 1e-6
    result = minimize(objective, F, make_optimizer("nag", 0.01), max_iter=5000, tol=tol)
    rel = np.sqrt(result.loss_curve / objective.reference_loss)
    assert result.converged and result.stop_reason == "tol"
    assert rel[-1] <= tol
    assert np.all(rel[:-1] > tol)


def test_stagnation_rule_on_noisy_data():
    rng = np.random.RandomState(1)
    A = rng.standard_normal((30, 20))
    objective = FactorizationObjective(A)
    F = [rng.standard_normal((30, 2)), np.zeros((20, 2))]
    result = minimize(
        objective, F, make_optimizer("apgd", 0.5), max_iter=5000, tol=1e-8
    )
    assert result.converged and result.stop_reason == "plateau"
    losses = result.loss_curve
    w = N_ITER_NO_CHANGE
    before, recent = np.median(losses[-2 * w : -w]), np.median(losses[-w:])
    assert before - recent <= 1e-8 * before
    # a rank-2 model of a full-rank matrix: the loss floor is the SVD tail
    s = np.linalg.svd(A, compute_uv=False)
    assert losses[-1] == pytest.approx(0.5 * np.sum(s[2:] ** 2), rel=1e-6)


def test_small_start_saddle_is_not_mistaken_for_convergence():
    """From a tiny start the loss is flat for many iterations at first."""
    rng = np.random.RandomState(2)
    A = rng.standard_normal((30, 3)) @ rng.standard_normal((3, 20))
    objective = FactorizationObjective(A)
    F = [1e-9 * rng.standard_normal((30, 3)), 1e-9 * rng.standard_normal((20, 3))]
    eta = 0.3 / np.linalg.norm(A, 2)
    result = minimize(objective, F, make_optimizer("gd", eta), max_iter=20000, tol=1e-4)
    assert result.stop_reason == "tol"
    # the first 20 iterations barely moved the loss
    assert result.loss_curve[19] > 0.999 * objective.reference_loss


def test_tol_zero_runs_exactly_max_iter_without_warning(problem):
    objective, F = problem
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = minimize(objective, F, make_optimizer("gd", 0.01), max_iter=37, tol=0)
    assert result.n_iter == 37 == len(result.loss_curve)
    assert not result.converged and result.stop_reason == "max_iter"


def test_max_iter_with_tol_warns_once(problem):
    objective, F = problem
    with pytest.warns(ConvergenceWarning, match="max_iter=3") as record:
        minimize(objective, F, make_optimizer("gd", 1e-4), max_iter=3, tol=1e-3)
    assert sum(w.category is ConvergenceWarning for w in record) == 1


@pytest.mark.parametrize("name", ["gd", "nag", "heavy_ball", "altgd"])
def test_divergence_raises_and_keeps_the_best_iterate(problem, name):
    objective, F = problem
    with pytest.raises(DivergenceError) as info:
        minimize(
            objective,
            F,
            make_optimizer(name, 10.0),
            max_iter=500,
            tol=1e-6,
            name="Model",
        )
    err = info.value
    assert str(err).startswith("Model diverged at iteration")
    assert "learning_rate=10" in str(err) and "learning_rate=1." in str(err)
    assert err.suggested_learning_rate == pytest.approx(1.0)
    best = objective.point(err.best_factors)
    assert np.isfinite(err.best_loss)
    assert objective.value(best) == pytest.approx(err.best_loss)
    assert err.best_loss <= objective.value(objective.point(F))
    assert len(err.loss_curve) == err.n_iter


def test_automatic_step_backtracks_from_the_best_iterate(problem):
    objective, F = problem
    optimizer = make_optimizer("nag", 1.0)
    result = minimize(
        objective, F, optimizer, max_iter=3000, tol=1e-8, learning_rate_was_auto=True
    )
    assert result.converged
    halvings = np.log2(1.0 / optimizer.learning_rate)
    assert halvings == int(halvings) and 1 <= halvings <= 8
    # the undone iterations are not in the curve: it never explodes
    assert np.all(np.isfinite(result.loss_curve))
    assert result.loss_curve.max() <= 1e4 * objective.reference_loss
    assert len(result.loss_curve) == result.n_iter


def test_automatic_step_gives_up_after_eight_halvings(problem):
    objective, F = problem
    with pytest.raises(DivergenceError, match="halved 8 times") as info:
        minimize(
            objective,
            F,
            make_optimizer("gd", 1e5),
            max_iter=50,
            tol=0,
            learning_rate_was_auto=True,
        )
    assert "automatic learning rate 391" in str(info.value)  # 1e5 / 2**8


def test_non_finite_start_is_refused(problem):
    objective, F = problem
    huge = [np.full_like(F[0], 1e200), np.full_like(F[1], 1e200)]
    with pytest.raises(ValueError, match="non-finite loss"):
        minimize(objective, huge, make_optimizer("gd", 1.0), max_iter=5, tol=0)


def test_callback_sees_every_iterate(problem):
    objective, F = problem
    seen = []
    result = minimize(
        objective,
        F,
        make_optimizer("nag", 0.01),
        max_iter=15,
        tol=0,
        callback=lambda it: seen.append((it.k, it.loss)),
    )
    assert [k for k, _ in seen] == list(range(1, 16))
    np.testing.assert_array_equal([f for _, f in seen], result.loss_curve)


def test_starting_factors_are_not_modified(problem):
    objective, F = problem
    copies = [f.copy() for f in F]
    for name in ("gd", "altgd", "nag", "heavy_ball", "precgd", "scaledgd", "apgd"):
        minimize(
            objective, F, make_optimizer(name, 0.01, damping=0.1), max_iter=5, tol=0
        )
        for f, c in zip(F, copies):
            np.testing.assert_array_equal(f, c)
