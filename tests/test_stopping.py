"""The stopping rule (issue 11): optimum plateaus stop, saddle plateaus never
do, and no decision depends on the number of BLAS threads."""

import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

from skfactor import (
    FactorizationNAG,
    LinearNetRegressor,
    MatrixCompletionRegressor,
    MatrixSensingPrecGD,
)
from skfactor._objectives import FactorizationObjective
from skfactor._optimizers import make_optimizer
from skfactor._solver import N_ITER_NO_CHANGE, STOP_REASONS, minimize
from skfactor._units import DataUnit
from skfactor.datasets import (
    make_low_rank_matrix,
    make_matrix_completion,
    make_matrix_sensing,
)


def _fit_with_threads(estimator, X, threads, y=None):
    with threadpool_limits(limits=threads), warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        return estimator.fit(X) if y is None else estimator.fit(X, y)


def _rel(model, A):
    return model.reconstruction_err_ / np.linalg.norm(A)


@pytest.fixture(scope="module")
def noisy():
    # large enough that the products run multi-threaded
    return make_low_rank_matrix(400, 300, 5, 10, noise=0.01, random_state=0)[0]


@pytest.mark.parametrize("optimizer", ["nag", "gd", "apgd"])
def test_spectral_start_at_the_optimum_stops_within_a_few_windows(noisy, optimizer):
    """A spectral start on noisy data at the true rank is already at the
    optimum: the fit stops after two or three windows, whatever the threads."""
    n_iter = set()
    for threads in (1, 2):
        model = FactorizationNAG(
            5, optimizer=optimizer, init="spectral", random_state=0
        )
        _fit_with_threads(model, noisy, threads)
        assert model.converged_
        assert model.stop_reason_ in ("plateau", "precision")
        assert model.n_iter_ <= 3 * N_ITER_NO_CHANGE
        n_iter.add(model.n_iter_)
    assert len(n_iter) == 1


@pytest.mark.parametrize("optimizer", ["gd", "altgd", "nag"])
def test_small_random_start_never_stops_on_a_saddle_plateau(optimizer):
    """From a small start the loss crosses one plateau per singular value; the
    fit must go on across each of them to the planted matrix."""
    A, *_ = make_low_rank_matrix(120, 80, 5, 10, random_state=0)
    n_iter = set()
    for threads in (1, 2):
        model = FactorizationNAG(
            8,
            optimizer=optimizer,
            init="small_random",
            tol=1e-7,
            max_iter=5000,
            random_state=0,
        )
        _fit_with_threads(model, A, threads)
        assert model.stop_reason_ == "tol"
        assert _rel(model, A) <= 1e-7
        n_iter.add(model.n_iter_)
    assert len(n_iter) == 1


def test_the_saddle_plateaus_are_flat_enough_to_fool_a_flatness_rule():
    """The case above is a real test: the loss curve has plateaus over which a
    window's decrease is below ``tol`` times the loss."""
    A, *_ = make_low_rank_matrix(120, 80, 5, 10, random_state=0)
    model = FactorizationNAG(
        8, optimizer="gd", init="small_random", tol=0, max_iter=1500, random_state=0
    ).fit(A)
    f = model.loss_curve_
    w = N_ITER_NO_CHANGE
    relative_decrease = (f[:-w] - f[w:]) / f[w:]
    error = np.sqrt(f[w:] / model.reference_loss_)
    # somewhere far above the optimum the loss moves by less than 1e-4 per window
    assert np.any((relative_decrease < 1e-4) & (error > 1e-2))


@pytest.mark.parametrize("seed", range(4))
def test_stopping_does_not_depend_on_the_scale_at_the_optimum(seed):
    """A Gaussian matrix with apgd and a spectral start (at the optimum): the
    same number of iterations for the data and for 3.7 times the data."""
    G = np.random.RandomState(seed).standard_normal((40, 25))
    counts = []
    for c in (1.0, 3.7):
        model = FactorizationNAG(5, optimizer="apgd", init="spectral", random_state=0)
        model.fit(c * G)
        assert model.converged_
        counts.append(model.n_iter_)
    assert abs(counts[0] - counts[1]) <= 1
    assert max(counts) <= 3 * N_ITER_NO_CHANGE


def test_the_saddle_probe_tells_a_saddle_from_the_optimum():
    A, U, s, V = make_low_rank_matrix(50, 40, 3, 5, random_state=0)
    objective = FactorizationObjective(A)
    root = np.sqrt(s)
    # the optimum at width 3, and the saddle that misses the weakest direction
    optimum = objective.point([U * root, V * root])
    saddle = objective.point([U * root * [1, 1, 0], V * root * [1, 1, 0]])
    strength, weakest, ridge, beta = objective.saddle_probe(optimum)
    assert strength == pytest.approx(0.0, abs=1e-8) and beta == 1.0
    assert weakest == pytest.approx(s[2], rel=1e-6) and ridge == 0.0
    strength, weakest, _, _ = objective.saddle_probe(saddle)
    assert strength == pytest.approx(s[2], rel=1e-3)  # the missing direction
    assert weakest == pytest.approx(0.0, abs=1e-8)


def test_a_deep_network_crosses_its_saddles_too():
    rng = np.random.RandomState(0)
    X = rng.standard_normal((200, 6))
    y = X @ rng.standard_normal((6, 2))
    net = LinearNetRegressor(
        (4, 4), init="small_random", tol=1e-6, max_iter=5000, random_state=0
    ).fit(X, y)
    assert net.stop_reason_ == "tol" and net.score(X, y) > 1 - 1e-9


def test_every_stop_reason_is_documented():
    assert set(STOP_REASONS) == {
        "tol",
        "plateau",
        "precision",
        "optimal",
        "max_iter",
        "callback",
        "early_stopping",
    }
    guide = (Path(__file__).parents[1] / "docs" / "user_guide.rst").read_text()
    for reason in STOP_REASONS:
        assert f'``"{reason}"``' in guide
        if reason != "early_stopping":  # the estimators with a held-out set
            assert f'"{reason}"' in FactorizationNAG.__doc__
    assert '"early_stopping"' in MatrixCompletionRegressor.__doc__
    model = FactorizationNAG(3, init="gaussian", max_iter=5, random_state=0)
    with pytest.warns(ConvergenceWarning):
        model.fit(make_low_rank_matrix(30, 20, 3, 10, random_state=0)[0])
    assert model.stop_reason_ == "max_iter" and not model.converged_


# --------------------------------------------------------------------------
# Completion in the model's units
# --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def completion():
    return make_matrix_completion(300, 200, 5, fraction=0.3, random_state=0)


@pytest.mark.parametrize("optimizer", ["scaledgd", "precgd", "apgd"])
@pytest.mark.parametrize("init", ["small_random", "spectral"])
def test_preconditioned_completion_recovers_the_matrix(completion, optimizer, init):
    X, y, M = completion
    model = MatrixSensingPrecGD(
        5,
        shape=(300, 200),
        optimizer=optimizer,
        init=init,
        tol=1e-9,
        max_iter=1000,
        random_state=0,
    )
    _fit_with_threads(model, X, 2, y)
    assert np.linalg.norm(model.coef_ - M) / np.linalg.norm(M) <= 1e-6


def test_the_completion_start_is_in_the_model_units(completion):
    """The spectral start of completion targets P_Ω(Y)/p ≈ M, not M/(n1·n2)."""
    X, y, M = completion
    model = MatrixSensingPrecGD(
        5, shape=(300, 200), init="spectral", max_iter=1, tol=0, random_state=0
    ).fit(X, y)
    ratio = np.linalg.norm(model.coef_) / np.linalg.norm(M)
    assert 0.8 < ratio < 1.25


# --------------------------------------------------------------------------
# Callback arguments in the user's units
# --------------------------------------------------------------------------
def test_callback_receives_user_units():
    A, *_ = make_low_rank_matrix(30, 20, 3, 10, random_state=0)
    big = A * 4.0**210  # squares overflow: the fit runs on big / 4**k
    unit, fitted, _ = DataUnit.from_data(big)
    j = 210 - round(np.log2(unit.response) / 2)  # fitted = A * 4**j, exactly
    assert unit.response > 1 and np.array_equal(fitted, A * 4.0**j)
    rng = np.random.RandomState(0)
    X0, Y0 = rng.standard_normal((30, 3)), rng.standard_normal((20, 3))
    runs = []
    for data, u, start, eta in (
        (A, None, [X0, Y0], 0.01),
        (fitted, unit, [X0 * 2.0**j, Y0 * 2.0**j], 0.01 / 4.0**j),
    ):
        seen = []
        minimize(
            FactorizationObjective(data),
            start,
            make_optimizer("gd", eta),  # the same iterates, in other units
            max_iter=5,
            tol=0,
            unit=u,
            callback=lambda it, seen=seen: seen.append((it.factors, it.loss)),
        )
        runs.append(seen)
    for (plain_factors, plain_loss), (factors, loss) in zip(*runs):
        assert loss == pytest.approx(plain_loss * 4.0**420, rel=1e-12)
        for F, G in zip(factors, plain_factors):
            np.testing.assert_allclose(F, G * 2.0**210, rtol=1e-12)


# --------------------------------------------------------------------------
# Found by review: the ridge's saddles, slow instabilities, warm refits
# --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("optimizer", "init"), [("nag", "unbalanced"), ("gd", "small_random")]
)
@pytest.mark.parametrize("alpha", [0.05, 0.3])
def test_ridge_fits_reach_the_shrunk_spectrum(optimizer, init, alpha):
    """With a ridge λ a direction of the data stronger than λ is a saddle
    direction to escape, not one to drop: the fit ends at σᵢ − λ."""
    rng = np.random.RandomState(0)
    U = np.linalg.qr(rng.standard_normal((60, 4)))[0]
    V = np.linalg.qr(rng.standard_normal((40, 4)))[0]
    s = np.array([1.0, 0.5, 0.2, 0.08])
    A = (U * s) @ V.T
    model = FactorizationNAG(
        4, alpha=alpha, optimizer=optimizer, init=init, max_iter=5000, random_state=0
    ).fit(A)
    fitted = np.linalg.svd(model.embedding_ @ model.components_, compute_uv=False)
    expected = np.maximum(s - alpha, 0.0)
    np.testing.assert_allclose(fitted[:4], expected, atol=2e-3)


def test_a_slow_instability_backtracks_instead_of_returning_a_diverged_fit():
    """PrecGD on completion above the true rank: its automatic step is slowly
    unstable in the spare directions; the fit halves it and stays near its
    best instead of climbing to an error of several times the data."""
    X, y, M = make_matrix_completion(
        60, 50, 2, condition_number=5, fraction=0.3, random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = MatrixSensingPrecGD(
            5, shape=(60, 50), max_iter=3000, random_state=0
        ).fit(X, y)
    curve = np.sqrt(model.loss_curve_ / model.reference_loss_)
    assert curve[-1] <= 2 * curve.min() + 1e-12
    assert np.linalg.norm(model.coef_ - M) / np.linalg.norm(M) < 0.1


def test_warm_refit_on_rescaled_data_recomputes_the_step():
    A, *_ = make_low_rank_matrix(60, 40, 3, 10, random_state=0)
    model = FactorizationNAG(3, warm_start=True, random_state=0).fit(A)
    model.fit(A * 1e6)  # the old step would diverge eight times over
    assert model.converged_
    assert model.reconstruction_err_ / np.linalg.norm(A * 1e6) < 1e-4


@pytest.mark.parametrize("optimizer", ["nag", "precgd", "scaledgd", "gd"])
@pytest.mark.parametrize(("cx", "cy"), [(1e-78, 1e78), (1e-130, 1e130), (1e130, 1.0)])
def test_design_and_response_at_opposite_extremes(optimizer, cx, cy):
    """Each array is in range but the model (y/X) is far from it: the unit
    moves the design so that the fitted model's Grams stay representable."""
    X, y, _ = make_matrix_sensing(4, 4, 1, 80, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        plain = MatrixSensingPrecGD(2, optimizer=optimizer, random_state=0).fit(X, y)
        model = MatrixSensingPrecGD(2, optimizer=optimizer, random_state=0).fit(
            cx * X, cy * y
        )
    assert model.n_iter_ == plain.n_iter_
    np.testing.assert_allclose(model.coef_ * (cx / cy), plain.coef_, rtol=1e-8)
    # the step's unit: 1/(cx·cy) for a curvature step, 1/cx² for a scale-free one
    scale_free = optimizer in ("precgd", "scaledgd")
    factor = cx**-2 if scale_free else 1.0 / (cx * cy)
    assert model.learning_rate_ == pytest.approx(
        plain.learning_rate_ * factor, rel=1e-8
    )


def test_a_warm_refit_stops_where_one_longer_fit_would():
    """Warm refits continue the first fit's progress: the plateau rule
    measures it from where the first fit started, not from the warm point."""
    A, *_ = make_low_rank_matrix(80, 60, 4, 30, noise=1e-3, random_state=0)
    kwargs = dict(optimizer="gd", init_power_iter=0, random_state=0)
    one = FactorizationNAG(4, max_iter=5000, **kwargs).fit(A)
    assert one.stop_reason_ == "plateau"
    warm = FactorizationNAG(4, max_iter=one.n_iter_ // 2, warm_start=True, **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warm.fit(A)
    first = warm.n_iter_
    warm.set_params(max_iter=5000).fit(A)
    assert warm.stop_reason_ == "plateau"
    assert abs(first + warm.n_iter_ - one.n_iter_) <= 2 * N_ITER_NO_CHANGE
