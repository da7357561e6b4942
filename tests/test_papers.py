"""The papers' own settings: ``momentum="paper"``, Ward–Kolda's constants."""

import numpy as np
import pytest

from skfactor import FactorizationNAG, LinearNetRegressor, MatrixSensingPrecGD
from skfactor._initializers import starts_for
from skfactor.datasets import make_low_rank_matrix, make_matrix_sensing

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _paper_beta(kappa):
    root = np.sqrt(kappa)
    return (root - 1) / (root + 1)


@pytest.fixture
def planted():
    return make_low_rank_matrix(60, 50, 4, 10, random_state=0)[0]


def test_paper_momentum_is_the_constant_beta_of_the_start(planted):
    rng = np.random.RandomState(1)
    X0 = planted @ rng.standard_normal((50, 8)) * 3.0
    s = np.linalg.svd(X0, compute_uv=False)
    rank = int(np.sum(s > max(X0.shape) * np.finfo(float).eps * s[0]))
    assert rank == 4  # the sketch of a rank-4 matrix
    expected = _paper_beta((s[0] / s[rank - 1]) ** 2)
    est = FactorizationNAG(
        8, optimizer="nag", momentum="paper", init=[X0, np.zeros((50, 8))], max_iter=5
    ).fit(planted)
    assert est.momentum_ == pytest.approx(expected, rel=1e-12)
    # the paper's method is NAG with that constant: the same iterates
    same = FactorizationNAG(
        8,
        optimizer="nag",
        momentum=est.momentum_,
        init=[X0, np.zeros((50, 8))],
        max_iter=5,
    ).fit(planted)
    np.testing.assert_allclose(est.loss_curve_, same.loss_curve_, rtol=1e-13)


@pytest.mark.parametrize("optimizer", ["nag", "heavy_ball"])
def test_paper_momentum_from_the_unbalanced_start(planted, optimizer):
    est = FactorizationNAG(
        8,
        optimizer=optimizer,
        momentum="paper",
        init_scale=100,
        init_power_iter=0,
        max_iter=3,
        random_state=0,
    ).fit(planted)
    # κ_eff of X₀ = c·AΦ is about κ(A)² = 100 (times a width factor)
    assert 0.8 < est.momentum_ < 0.98
    # a constant β: no schedule, no restart
    assert isinstance(est.momentum_, float)
    # scale-equivariant: the same β for 1e6·A
    scaled = FactorizationNAG(
        8,
        optimizer=optimizer,
        momentum="paper",
        init_scale=100,
        init_power_iter=0,
        max_iter=3,
        random_state=0,
    ).fit(1e6 * planted)
    assert scaled.momentum_ == pytest.approx(est.momentum_, rel=1e-9)


def test_paper_momentum_of_a_power_iterated_start_is_zero(planted):
    # the sharpened start has equal singular values: κ_eff = 1, β = 0
    est = FactorizationNAG(
        8, optimizer="nag", momentum="paper", max_iter=2, random_state=0
    ).fit(planted)
    assert est.momentum_ == pytest.approx(0.0, abs=1e-6)


def test_momentum_attribute(planted):
    assert (
        FactorizationNAG(3, optimizer="gd", max_iter=2).fit(planted).momentum_ is None
    )
    nag = FactorizationNAG(3, max_iter=2).fit(planted)  # NAG is the default
    assert nag.momentum_ == "auto"
    fixed = FactorizationNAG(3, optimizer="nag", momentum=0.5, max_iter=2)
    assert fixed.fit(planted).momentum_ == 0.5
    # "paper" is ignored by the optimizers without momentum, like a float
    gd = FactorizationNAG(
        3, optimizer="gd", momentum="paper", init="gaussian", max_iter=2
    )
    assert gd.fit(planted).momentum_ is None


@pytest.mark.parametrize("init", ["gaussian", "spectral", "ward_kolda"])
def test_paper_momentum_needs_a_frozen_start(planted, init):
    est = FactorizationNAG(
        4, optimizer="nag", momentum="paper", init=init, max_iter=3, random_state=0
    )
    with pytest.raises(ValueError, match=r"momentum='paper'.*init='unbalanced'"):
        est.fit(planted)
    assert not hasattr(est, "n_iter_")  # a fit that raises leaves it unfitted


def test_paper_momentum_warm_refit_keeps_beta(planted):
    kw = dict(optimizer="nag", momentum="paper", init_scale=100, init_power_iter=0)
    est = FactorizationNAG(8, max_iter=3, warm_start=True, random_state=0, **kw)
    beta = est.fit(planted).momentum_
    assert est.fit(planted).momentum_ == beta


def test_paper_momentum_linear_net():
    rng = np.random.RandomState(0)
    X = rng.standard_normal((200, 6)) * np.array([1, 1, 1, 2, 3, 4.0])
    Y = X @ rng.standard_normal((6, 3))
    est = LinearNetRegressor(
        (4,),
        optimizer="nag",
        momentum="paper",
        init_scale=100,
        init_power_iter=0,
        fit_intercept=False,
        max_iter=3,
        random_state=0,
    ).fit(X, Y)
    # κ_eff = κ(PᵀP)·κ(S) with P = W₂ the output layer at the start
    S = X.T @ X / len(X)
    ev = np.linalg.eigvalsh(S)
    assert 0 < est.momentum_ < 1
    kappa = ((np.sqrt(1) + est.momentum_) / (1 - est.momentum_)) ** 2
    assert kappa >= ev[-1] / ev[0] * (1 - 1e-9)


def test_paper_momentum_sensing():
    X, y, _ = make_matrix_sensing(8, 7, 2, 400, condition_number=5, random_state=0)
    est = MatrixSensingPrecGD(
        4,
        shape=(8, 7),
        optimizer="nag",
        momentum="paper",
        init="unbalanced",
        init_scale=10,
        init_power_iter=0,
        max_iter=3,
        random_state=0,
    ).fit(X, y)
    assert 0 < est.momentum_ < 1


def test_running_past_machine_precision_is_not_divergence():
    # tol=0 runs every iteration: at the precision floor the loss wanders
    # (a constant β near 1 amplifies rounding); that is not a divergence
    A = make_low_rank_matrix(120, 100, 5, 10, random_state=0)[0]
    est = FactorizationNAG(
        20,
        momentum="paper",
        init_scale=100,
        init_power_iter=0,
        tol=0,
        max_iter=3000,
        random_state=0,
    ).fit(A)
    assert est.n_iter_ == 3000
    assert np.sqrt(2 * est.loss_curve_.min()) / np.linalg.norm(A) < 1e-10


def _wk_start(A, eta, C, D, width, seed):
    """Ward & Kolda's start, written out: X₀ = AΦ/(√η·C·σ₁), Y₀ = √η·D·σ₁·Ψ."""
    rng = np.random.RandomState(seed)
    n = A.shape[1]
    phi = rng.standard_normal((n, width)) / np.sqrt(width)
    psi = rng.standard_normal((n, width)) / np.sqrt(width)
    sigma1 = np.linalg.svd(A, compute_uv=False)[0]
    return (A @ phi) / (np.sqrt(eta) * C * sigma1), np.sqrt(eta) * D * sigma1 * psi


@pytest.mark.parametrize(
    "init_scale, C, D", [("auto", 1.0, 0.01), (2.0, 2.0, 0.01), ((4, 4 / 9), 4, 4 / 9)]
)
def test_ward_kolda_constants(planted, init_scale, C, D):
    eta = 0.3
    est = FactorizationNAG(
        6,
        optimizer="altgd",
        init="ward_kolda",
        init_scale=init_scale,
        learning_rate=eta,
        max_iter=1,
        random_state=0,
    )
    from skfactor._initializers import ward_kolda
    from skfactor._objectives import FactorizationObjective

    objective = FactorizationObjective(planted)
    X0, Y0 = ward_kolda(
        objective,
        [(60, 6), (50, 6)],
        scale=init_scale,
        random_state=np.random.RandomState(0),
        learning_rate=eta,
    )
    X_ref, Y_ref = _wk_start(planted, eta, C, D, 6, 0)
    np.testing.assert_allclose(X0, X_ref, rtol=1e-10)
    np.testing.assert_allclose(Y0, Y_ref, rtol=1e-10)
    # and the estimator starts from it: its first AltGD step from (X0, Y0)
    est.fit(planted)
    X1 = X_ref - eta * (X_ref @ Y_ref.T - planted) @ Y_ref
    Y1 = Y_ref - eta * (X1 @ Y_ref.T - planted).T @ X1
    np.testing.assert_allclose(
        est.loss_curve_[0], 0.5 * np.sum((X1 @ Y1.T - planted) ** 2)
    )


@pytest.mark.parametrize(
    "init, init_scale, match",
    [
        ("unbalanced", (1.0, 2.0), r"init='unbalanced' takes one float c"),
        ("ward_kolda", (1.0,), r"ward_kolda' takes a float C or a tuple \(C, D\)"),
        ("ward_kolda", (1.0, -2.0), r"constant D of init='ward_kolda' must be"),
        ("ward_kolda", (1.0, np.inf), r"positive finite"),
        ("ward_kolda", (1.0, "x"), r"positive finite"),
    ],
)
def test_init_scale_pair_is_checked(planted, init, init_scale, match):
    est = FactorizationNAG(
        4, optimizer="altgd", init=init, init_scale=init_scale, max_iter=2
    )
    with pytest.raises(ValueError, match=match):
        est.fit(planted)
    assert not hasattr(est, "components_")


@pytest.mark.parametrize("beta", [0.0, 0.7])
def test_frozen_loss_curve_is_the_frozen_loop(beta):
    from skfactor.theory import frozen_loss_curve

    rng = np.random.RandomState(0)
    A = rng.standard_normal((30, 20))
    X0 = A @ rng.standard_normal((20, 4))
    eta = 1.0 / np.linalg.norm(X0, 2) ** 2
    # Nesterov in Y with X frozen, written out
    Y = Y_prev = np.zeros((20, 4))
    expected = []
    for _ in range(25):
        W = Y + beta * (Y - Y_prev)
        Y, Y_prev = W - eta * (X0 @ W.T - A).T @ X0, Y
        expected.append(0.5 * np.sum((X0 @ Y.T - A) ** 2))
    got = frozen_loss_curve(A, X0, eta, 25, momentum=beta)
    np.testing.assert_allclose(got, expected, rtol=1e-10)


@pytest.mark.parametrize("optimizer", ["gd", "nag"])
def test_paper_regime_follows_the_frozen_theory(optimizer):
    from skfactor.callbacks import Recorder
    from skfactor.theory import frozen_loss_curve

    A = make_low_rank_matrix(120, 100, 5, 10, random_state=0)[0]
    recorder = Recorder(["loss"], keep_iterates=[0])
    est = FactorizationNAG(
        20,
        optimizer=optimizer,
        momentum="paper",
        init_scale=100,
        init_power_iter=0,
        max_iter=300,
        tol=1e-6,
        random_state=0,
    )
    est.set_callbacks(recorder).fit(A)
    X0 = recorder.history_["iterates"][0][0]
    beta = est.momentum_ if optimizer == "nag" else 0.0
    theory = frozen_loss_curve(A, X0, est.learning_rate_, est.n_iter_, beta)
    np.testing.assert_allclose(est.loss_curve_, theory, rtol=2e-3)


def test_paper_momentum_oscillation_is_not_a_slow_divergence():
    # NAG with β = 0.994 oscillates with a period of thousands of iterations;
    # the automatic step must not read its rises as an instability
    A = make_low_rank_matrix(120, 100, 5, 100, random_state=0)[0]
    kw = dict(momentum="paper", init_scale=100, init_power_iter=0, random_state=0)
    probe = FactorizationNAG(5, max_iter=1, **kw).fit(A)
    auto = FactorizationNAG(5, max_iter=6000, tol=1e-6, **kw).fit(A)
    assert auto.momentum_ > 0.99
    assert auto.learning_rate_ == probe.learning_rate_  # never halved
    fixed = FactorizationNAG(
        5, max_iter=6000, tol=1e-6, learning_rate=probe.learning_rate_, **kw
    ).fit(A)
    assert auto.n_iter_ == fixed.n_iter_
    np.testing.assert_allclose(auto.loss_curve_, fixed.loss_curve_, rtol=1e-12)


@pytest.mark.parametrize("init", sorted(starts_for("pair")))
def test_apgd_automatic_step_converges_from_every_start(init):
    # over-parameterized, ill-conditioned sensing: η = 1 diverges from the
    # spectral start there; the automatic step must not
    X, y, M = make_matrix_sensing(20, 20, 2, 400, condition_number=100, random_state=0)
    est = MatrixSensingPrecGD(
        4, shape=(20, 20), optimizer="apgd", init=init, max_iter=1000, random_state=0
    ).fit(X, y)
    assert est.stop_reason_ == "tol"
    error = np.linalg.norm(est.coef_.reshape(20, 20) - M) / np.linalg.norm(M)
    assert error < 1e-4


def test_paper_momentum_warm_refit_after_a_float_momentum(planted):
    # a warm refit that switches to "paper" computes the paper's β (from the
    # frozen problem it can only get from a start whose last factor is 0)
    est = FactorizationNAG(
        8,
        momentum=0.5,
        init_scale=100,
        init_power_iter=0,
        max_iter=3,
        warm_start=True,
        random_state=0,
    ).fit(planted)
    est.set_params(momentum="paper")
    with pytest.raises(ValueError, match="momentum='paper'"):
        est.fit(planted)
    assert est.momentum_ == 0.5  # the failed fit left the model as it was


def test_paper_momentum_in_the_symmetric_model_says_why_not():
    X, y, _ = make_matrix_sensing(8, 8, 2, 200, symmetric=True, random_state=0)
    est = MatrixSensingPrecGD(
        2,
        shape=(8, 8),
        symmetric=True,
        optimizer="nag",
        momentum="paper",
        init="unbalanced",
    )
    with pytest.raises(ValueError, match=r"single factor\. Use a float momentum"):
        est.fit(X, y)


def test_ward_kolda_with_a_tiny_C_points_at_the_default(planted):
    est = FactorizationNAG(
        4, optimizer="altgd", init="ward_kolda", init_scale=(1e-160, 1)
    )
    with pytest.raises(
        ValueError, match=r"closer to the start's default \(\(1.0, 0.01\)\)"
    ):
        est.fit(planted)


@pytest.mark.parametrize(
    "param, value",
    [("momentum", False), ("init_scale", True), ("learning_rate", True), ("tol", True)],
)
def test_a_bool_for_a_float_parameter_is_refused(planted, param, value):
    # within the range as a number (False == 0, True == 1), but surely a slip
    from sklearn.utils._param_validation import InvalidParameterError

    est = FactorizationNAG(3, **{param: value})
    with pytest.raises(InvalidParameterError, match=f"'{param}'.*not a bool"):
        est.fit(planted)


def test_frozen_loss_curve_refuses_bools():
    from skfactor.theory import frozen_loss_curve

    with pytest.raises(TypeError, match="n_iter must be a number"):
        frozen_loss_curve(np.eye(3), np.eye(3), 0.5, True)
