"""The scale contract: scaling the data by c scales the fit by a power of c.

Every estimator, with every optimizer it accepts and every named start,
fitted with ``learning_rate="auto"``, ``damping="auto"`` and a fixed
``random_state``, on data scaled by ``c ∈ {1e-6, 1e-3, 1e3, 1e6}``, in
float64 and in float32, gives, compared with the ``c = 1`` fit of the same
configuration (fits use ``tol=1e-6`` in float64, ``1e-4`` in float32):

- the correspondingly scaled model, within a relative tolerance measured
  against the norm of the model (not elementwise);
- the same ``n_iter_`` (±1; float32: ±max(1, 5 %));

and where a fit is sensitive to rounding (the fit on the data times
``1 + 4·eps`` already differs), the fit at c differs from the reference by
no more than ten times that (twice in ``n_iter_``): scaling must not move a
fit further than rounding does;
- the same final relative error ``√(loss_curve_[-1] / reference_loss_)``;
- ``learning_rate_(c) = learning_rate_(1)·c**p``;
- ``loss_curve_(c) = loss_curve_(1)·c**q`` (the whole curve, on the common
  length, relative to its norm) and ``reference_loss_(c) =
  reference_loss_(1)·c**q``.

The exponents. "curvature" optimizers are gd, altgd, nag and heavy_ball
(their automatic step is the inverse of a curvature bound); "scale-free"
ones are precgd, scaledgd and apgd (a fixed step in units of the inverse
curvature of the data map only). N is the number of layers of a linear
network (``len(hidden_layer_sizes) + 1``)::

    data scaled      model part: exponent           q   p (curvature)  p (scale-free)
    ---------------  -----------------------------  --  -------------  --------------
    FactorizationNAG
      A → c·A        embedding_ @ components_: 1    2   -1             0
    FactorizationNAG(symmetric=True)
      A → c·A        embedding_ @ embedding_ᵀ: 1    2   -1             0
    LowRankImputer
      A → c·A        transform(A) (filled): 1       2   -1             0
                     statistics_: 1
    MatrixSensingPrecGD (dense, symmetric and completion)
      y → c·y        coef_: 1                       2   -1             0
      X → c·X        coef_: -1                      0   -1             -2
    MatrixCompletionRegressor (X holds ids)
      y → c·y        predict(X): 1                  2   -1             0
    LinearNetRegressor (N layers)
      y → c·y        coef_: 1, intercept_: 1        2   -2(N-1)/N      0
      X → c·X        coef_: -1, intercept_: 0       0   -2/N           -2

Derivation of p: the model's scale s is shared evenly by its factors
(``s^{1/N}`` each); a curvature step is the inverse of ``β·‖other factors‖²``
with β the curvature of the data map (``β ∝ c²`` when the design X is scaled,
1 otherwise); a scale-free step is ``0.5/β``. The scale-free optimizers need
two factors: a linear network with more than one hidden layer, or the
symmetric sensing model with apgd, is a ValueError (tested separately).

The whole product (optimizer × start) is tested at c = 1e-6 and 1e6 in
float64; a representative subset (every optimizer with the estimator's
default start, every start with its default optimizer) at all four scales in
float64 and float32. The slowest problems (the imputer, matrix completion and
the wide linear network's data path) test the subset at c = 1e-6 and 1e6 in
both dtypes. Each ``c = 1`` reference is fitted once per configuration and
dtype (per test process).
"""

import functools
import math
import warnings
from dataclasses import dataclass

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from skfactor import (
    FactorizationNAG,
    LinearNetRegressor,
    LowRankImputer,
    MatrixCompletionRegressor,
    MatrixSensingPrecGD,
)
from skfactor._initializers import starts_for
from skfactor._optimizers import OPTIMIZERS as REGISTRY
from skfactor.datasets import (
    make_low_rank_matrix,
    make_matrix_completion,
    make_matrix_sensing,
    make_ratings,
)

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

SCALES = (1e-6, 1e-3, 1e3, 1e6)
EXTREME_SCALES = (1e-6, 1e6)
# every registered optimizer and start, by their declarations: a new one is
# in the contract as soon as it is registered
CURVATURE = tuple(n for n, c in REGISTRY.items() if c.step_unit == "curvature")
SCALE_FREE = tuple(n for n, c in REGISTRY.items() if c.step_unit == "scale_free")
OPTIMIZERS = CURVATURE + SCALE_FREE
ONE_FACTOR_OPTIMIZERS = tuple(
    n for n in OPTIMIZERS if not {"two_factors", "blocks"} & REGISTRY[n].requires
)
FACTORIZATION_INITS = tuple(sorted(starts_for("pair")))
SENSING_INITS = FACTORIZATION_INITS
SYMMETRIC_INITS = tuple(sorted(starts_for("symmetric")))
NET_INITS = tuple(sorted(starts_for("pair", "chain")))
DEEP_NET_INITS = tuple(sorted(starts_for("chain")))

#: Per dtype: the fits' ``tol`` and the contract's tolerances: the model, loss
#: curve and reference loss (relative to their norm), the final relative error
#: (rtol, atol) and learning_rate_ (rtol). float32 fits use tol=1e-4, above
#: float32's rounding floor (a relative error of a few 1e-6 here): a fit that
#: ends on the plateau of its own rounding noise stops at an iteration that
#: no scaling rule can reproduce.
TOLERANCES = {
    "float64": {
        "fit_tol": 1e-6,
        "model": 1e-5,
        "error": (1e-4, 1e-6),
        "learning_rate": 1e-6,
    },
    "float32": {
        "fit_tol": 1e-4,
        "model": 1e-2,
        "error": (1e-2, 1e-3),
        "learning_rate": 1e-3,
    },
}


def _iteration_slack(dtype, n_iter):
    if dtype == "float64":
        return 1
    return max(1, math.ceil(0.05 * n_iter))


# --------------------------------------------------------------------------
# The problems
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class Scaling:
    """What multiplying one input by c does: the contract's exponents."""

    data: str  # the input that is scaled: "A", "X" or "y"
    model: dict  # model part -> exponent of c
    loss: float  # q
    curvature_lr: float  # p for gd, altgd, nag, heavy_ball
    scale_free_lr: float  # p for precgd, scaledgd, apgd

    def learning_rate_exponent(self, optimizer):
        return self.scale_free_lr if optimizer in SCALE_FREE else self.curvature_lr


@dataclass(frozen=True)
class Problem:
    name: str
    make_data: object  # () -> (X, y) in float64; y may be None
    make_estimator: object  # (optimizer, init) -> unfitted estimator
    model: object  # (fitted estimator, X, y) -> {part: array}
    scalings: tuple
    optimizers: tuple
    inits: tuple
    default_optimizer: str
    default_init: str
    full_product: bool = True


def _common(optimizer, init, max_iter=200):
    """The parameters of every fit (``_fit`` sets ``tol`` per dtype)."""
    return {
        "optimizer": optimizer,
        "init": init,
        "learning_rate": "auto",
        "damping": "auto",
        "random_state": 0,
        "max_iter": max_iter,
    }


def _factorization_data():
    A, *_ = make_low_rank_matrix(
        40, 30, rank=3, condition_number=10, noise=0.01, random_state=0
    )
    return A, None


def _symmetric_factorization_data():
    A, *_ = make_low_rank_matrix(
        30, 30, rank=3, condition_number=10, noise=0.01, random_state=0
    )
    return A @ A.T, None  # PSD of rank 3 plus a small full-rank part


def _symmetric_model(est, X, y):
    return {"embedding_ @ embedding_.T": est.embedding_ @ est.embedding_.T}


def _imputer_data():
    A, *_ = make_low_rank_matrix(
        30, 20, rank=3, condition_number=10, noise=0.01, random_state=0
    )
    rng = np.random.RandomState(0)
    A = A + 0.1 * rng.standard_normal(A.shape[1])  # column offsets
    A[rng.rand(*A.shape) < 0.2] = np.nan
    return A, None


def _sensing_data():
    X, y, _ = make_matrix_sensing(6, 6, 2, 200, random_state=0)
    return X, y


def _symmetric_sensing_data():
    X, y, _ = make_matrix_sensing(6, 6, 2, 200, symmetric=True, random_state=0)
    return X, y


def _completion_data():
    X, y, _ = make_matrix_completion(30, 20, 2, fraction=0.4, random_state=0)
    return X, y


def _ratings_data():
    X, y, _ = make_ratings(40, 30, 500, rank=2, random_state=0)
    return X, y


def _ratings_model(est, X, y):
    return {"predict(X)": est.predict(X)}


def _tall_net_data():
    rng = np.random.RandomState(0)
    X = rng.standard_normal((200, 8))
    y = X @ rng.standard_normal((8, 3)) + 0.5 + 0.1 * rng.standard_normal((200, 3))
    return X, y


def _wide_net_data():
    rng = np.random.RandomState(1)
    X = rng.standard_normal((10, 50))
    y = X @ rng.standard_normal(50) + 0.5
    return X, y


def _factorization_model(est, X, y):
    return {"embedding_ @ components_": est.embedding_ @ est.components_}


def _imputer_model(est, X, y):
    filled = est.transform(X)
    return {
        "transform(X)[missing]": filled[np.isnan(X)],
        "statistics_": est.statistics_,
    }


def _coef_model(est, X, y):
    return {"coef_": est.coef_}


def _net_model(est, X, y):
    return {"coef_": est.coef_, "intercept_": est.intercept_}


def _sensing_scalings(model=("coef_",)):
    return (
        Scaling("y", dict.fromkeys(model, 1), 2, -1, 0),
        Scaling("X", dict.fromkeys(model, -1), 0, -1, -2),
    )


def _net_scalings(depth):
    return (
        Scaling("y", {"coef_": 1, "intercept_": 1}, 2, -2 * (depth - 1) / depth, 0),
        Scaling("X", {"coef_": -1, "intercept_": 0}, 0, -2 / depth, -2),
    )


def _net_problem(name, make_data, hidden, optimizers, inits, full_product=True):
    return Problem(
        name=name,
        make_data=make_data,
        make_estimator=lambda optimizer, init: LinearNetRegressor(
            hidden_layer_sizes=hidden, **_common(optimizer, init)
        ),
        model=_net_model,
        scalings=_net_scalings(len(hidden) + 1),
        optimizers=optimizers,
        inits=inits,
        default_optimizer="nag",
        default_init="unbalanced",
        full_product=full_product,
    )


PROBLEMS = {
    problem.name: problem
    for problem in (
        Problem(
            name="factorization",
            make_data=_factorization_data,
            make_estimator=lambda optimizer, init: FactorizationNAG(
                n_components=4, **_common(optimizer, init)
            ),
            model=_factorization_model,
            scalings=(Scaling("A", {"embedding_ @ components_": 1}, 2, -1, 0),),
            optimizers=OPTIMIZERS,
            inits=FACTORIZATION_INITS,
            default_optimizer="nag",
            default_init="unbalanced",
        ),
        Problem(
            name="factorization_symmetric",
            make_data=_symmetric_factorization_data,
            make_estimator=lambda optimizer, init: FactorizationNAG(
                n_components=4, symmetric=True, **_common(optimizer, init)
            ),
            model=_symmetric_model,
            scalings=(Scaling("A", {"embedding_ @ embedding_.T": 1}, 2, -1, 0),),
            optimizers=ONE_FACTOR_OPTIMIZERS,
            inits=SYMMETRIC_INITS,
            default_optimizer="nag",
            default_init="unbalanced",
        ),
        Problem(
            name="imputer",
            make_data=_imputer_data,
            make_estimator=lambda optimizer, init: LowRankImputer(
                n_components=4, **_common(optimizer, init, max_iter=30)
            ),
            model=_imputer_model,
            scalings=(
                Scaling("A", {"transform(X)[missing]": 1, "statistics_": 1}, 2, -1, 0),
            ),
            optimizers=OPTIMIZERS,
            inits=FACTORIZATION_INITS,
            default_optimizer="nag",
            default_init="spectral",
            full_product=False,
        ),
        Problem(
            name="sensing",
            make_data=_sensing_data,
            make_estimator=lambda optimizer, init: MatrixSensingPrecGD(
                rank=3, **_common(optimizer, init)
            ),
            model=_coef_model,
            scalings=_sensing_scalings(),
            optimizers=OPTIMIZERS,
            inits=SENSING_INITS,
            default_optimizer="precgd",
            default_init="small_random",
        ),
        Problem(
            name="sensing_symmetric",
            make_data=_symmetric_sensing_data,
            make_estimator=lambda optimizer, init: MatrixSensingPrecGD(
                rank=3, symmetric=True, **_common(optimizer, init)
            ),
            model=_coef_model,
            scalings=_sensing_scalings(),
            optimizers=ONE_FACTOR_OPTIMIZERS,
            inits=SYMMETRIC_INITS,
            default_optimizer="precgd",
            default_init="small_random",
        ),
        Problem(
            name="completion",
            make_data=_completion_data,
            make_estimator=lambda optimizer, init: MatrixSensingPrecGD(
                rank=3, shape=(30, 20), **_common(optimizer, init, max_iter=100)
            ),
            model=_coef_model,
            scalings=_sensing_scalings(),
            optimizers=OPTIMIZERS,
            inits=SENSING_INITS,
            default_optimizer="precgd",
            default_init="small_random",
            full_product=False,
        ),
        Problem(
            name="ratings",
            make_data=_ratings_data,
            make_estimator=lambda optimizer, init: MatrixCompletionRegressor(
                3,
                alpha=0.1,
                early_stopping=False,
                **_common(optimizer, init, max_iter=100),
            ),
            model=_ratings_model,
            # X holds ids: only the ratings scale
            scalings=(Scaling("y", {"predict(X)": 1}, 2, -1, 0),),
            optimizers=OPTIMIZERS,
            inits=SENSING_INITS,
            default_optimizer="heavy_ball",
            default_init="small_random",
            full_product=False,
        ),
        _net_problem("net_1_hidden", _tall_net_data, (2,), OPTIMIZERS, NET_INITS),
        _net_problem("net_2_hidden", _tall_net_data, (2, 2), CURVATURE, DEEP_NET_INITS),
        _net_problem(
            "net_wide", _wide_net_data, (3,), OPTIMIZERS, NET_INITS, full_product=False
        ),
    )
}


# --------------------------------------------------------------------------
# Fitting, with the c = 1 reference cached per configuration
# --------------------------------------------------------------------------
@functools.cache
def _data(problem_name):
    return PROBLEMS[problem_name].make_data()


def _scaled(problem_name, data, c, dtype):
    """The problem's inputs with ``data`` ("A", "X", "y") multiplied by c in
    float64, then cast to ``dtype``."""
    X, y = _data(problem_name)
    if data in ("A", "X"):
        X = X * c  # CSR times a scalar stays CSR
    elif data == "y":
        y = y * c
    X = X.astype(dtype)
    if y is not None:
        y = y.astype(dtype)
    return X, y


def _fit(problem_name, optimizer, init, dtype, data=None, c=1.0):
    """Fit one configuration; return what the contract compares.

    Attributes the estimator lacks are None (a violation of the contract,
    reported by ``_violations``).
    """
    problem = PROBLEMS[problem_name]
    X, y = _scaled(problem_name, data, c, dtype)
    est = problem.make_estimator(optimizer, init)
    est.set_params(tol=TOLERANCES[dtype]["fit_tol"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if y is None:
            est.fit(X)
        else:
            est.fit(X, y)
    model = {
        part: np.asarray(value, dtype=np.float64)
        for part, value in problem.model(est, X, y).items()
    }
    summary = {"model": model}
    for name in ("n_iter_", "loss_curve_", "reference_loss_", "learning_rate_"):
        value = getattr(est, name, None)
        if name == "loss_curve_" and value is not None:
            value = np.asarray(value, dtype=np.float64)
        summary[name] = value
    return summary


@functools.cache
def _reference(problem_name, optimizer, init, dtype):
    return _fit(problem_name, optimizer, init, dtype)


# --------------------------------------------------------------------------
# The comparison
# --------------------------------------------------------------------------
def _relative_gap(got, expected):
    """``‖got − expected‖ / ‖expected‖`` (0/0 = 0, x/0 = inf)."""
    got, expected = np.ravel(got), np.ravel(expected)
    if got.shape != expected.shape:
        return np.inf
    gap = np.linalg.norm(got - expected)
    norm = np.linalg.norm(expected)
    if norm == 0:
        return 0.0 if gap == 0 else np.inf
    return float(gap / norm)


def _final_error(summary):
    curve, reference = summary["loss_curve_"], summary["reference_loss_"]
    if curve is None or reference is None or len(curve) == 0 or reference <= 0:
        return None
    return math.sqrt(max(float(curve[-1]), 0.0) / reference)


def _widened(dtype, ref, noise):
    """The tolerances, widened to the problem's own sensitivity to rounding.

    ``noise`` is the fit on the c = 1 data times ``1 + 4·eps``: a perturbation
    of each entry by a few units in the last place. Where that alone moves
    the fit (ScaledGD(λ) with its small λ amplifies rounding in the flat
    directions of an under-determined problem), scaling by c may move it as
    much, and no better than ten times as much is required.
    """
    tol = dict(TOLERANCES[dtype])
    if noise is None:
        return tol, 0
    gaps = [
        _relative_gap(noise["model"][part], ref["model"][part]) for part in ref["model"]
    ]
    tol["model"] = max(tol["model"], 10 * max(gaps))
    k = min(len(ref["loss_curve_"]), len(noise["loss_curve_"]))
    curve = _relative_gap(noise["loss_curve_"][:k], ref["loss_curve_"][:k])
    tol["model"] = max(tol["model"], 10 * curve)
    rtol, atol = tol["error"]
    e_ref, e_noise = _final_error(ref), _final_error(noise)
    spread = abs(e_noise - e_ref) / max(e_ref, 1e-300)
    tol["error"] = (max(rtol, 10 * spread), atol)
    return tol, 2 * abs(noise["n_iter_"] - ref["n_iter_"])


def _violations(ref, got, scaling, optimizer, dtype, c, noise=None):
    """The clauses of the contract that ``got`` (the fit at c) breaks."""
    tol, extra_slack = _widened(dtype, ref, noise)
    problems = []
    for name in ("n_iter_", "loss_curve_", "reference_loss_", "learning_rate_"):
        if ref[name] is None or got[name] is None:
            problems.append(f"{name} is missing")
    for part, exponent in scaling.model.items():
        expected = c**exponent * ref["model"][part]
        gap = _relative_gap(got["model"][part], expected)
        if not gap <= tol["model"]:
            problems.append(
                f"{part} is not c**{exponent:g} times the c=1 model: relative "
                f"gap {gap:.3g} > {tol['model']:g}"
            )
    if ref["n_iter_"] is not None and got["n_iter_"] is not None:
        slack = _iteration_slack(dtype, ref["n_iter_"]) + extra_slack
        if abs(got["n_iter_"] - ref["n_iter_"]) > slack:
            problems.append(
                f"n_iter_ {got['n_iter_']} differs from the c=1 fit's "
                f"{ref['n_iter_']} by more than {slack}"
            )
    ref_error, got_error = _final_error(ref), _final_error(got)
    if ref_error is not None and got_error is not None:
        rtol, atol = tol["error"]
        if not math.isclose(got_error, ref_error, rel_tol=rtol, abs_tol=atol):
            problems.append(
                f"final relative error {got_error:.6g} differs from the c=1 "
                f"fit's {ref_error:.6g} (rtol {rtol:g}, atol {atol:g})"
            )
    q = scaling.loss
    if ref["reference_loss_"] is not None and got["reference_loss_"] is not None:
        gap = _relative_gap(got["reference_loss_"], c**q * ref["reference_loss_"])
        if not gap <= tol["model"]:
            problems.append(
                f"reference_loss_ is not c**{q:g} times the c=1 one: relative gap "
                f"{gap:.3g}"
            )
    if ref["loss_curve_"] is not None and got["loss_curve_"] is not None:
        k = min(len(ref["loss_curve_"]), len(got["loss_curve_"]))
        gap = _relative_gap(got["loss_curve_"][:k], c**q * ref["loss_curve_"][:k])
        if not gap <= tol["model"]:
            problems.append(
                f"loss_curve_ is not c**{q:g} times the c=1 curve: relative gap "
                f"{gap:.3g} over the first {k} iterations"
            )
    p = scaling.learning_rate_exponent(optimizer)
    if ref["learning_rate_"] is not None and got["learning_rate_"] is not None:
        expected = ref["learning_rate_"] * c**p
        if not math.isclose(
            got["learning_rate_"], expected, rel_tol=tol["learning_rate"]
        ):
            problems.append(
                f"learning_rate_ {got['learning_rate_']:.6g} is not c**{p:.4g} "
                f"times the c=1 rate {ref['learning_rate_']:.6g} "
                f"(expected {expected:.6g})"
            )
    return problems


# --------------------------------------------------------------------------
# The cases
# --------------------------------------------------------------------------
def _subset(problem):
    """Every optimizer with the default start, every start with the default
    optimizer."""
    pairs = [(optimizer, problem.default_init) for optimizer in problem.optimizers]
    pairs += [
        (problem.default_optimizer, init)
        for init in problem.inits
        if init != problem.default_init
    ]
    return pairs


def _cases():
    for problem in PROBLEMS.values():
        subset = _subset(problem)
        full = [(o, i) for o in problem.optimizers for i in problem.inits]
        for scaling in problem.scalings:
            runs = []
            if problem.full_product:
                runs += [(o, i, "float64", c) for o, i in full for c in EXTREME_SCALES]
                runs += [
                    (o, i, "float64", c)
                    for o, i in subset
                    for c in SCALES
                    if c not in EXTREME_SCALES
                ]
                runs += [(o, i, "float32", c) for o, i in subset for c in SCALES]
            else:  # the slow ones: the subset at the extreme scales
                runs += [
                    (o, i, dtype, c)
                    for o, i in subset
                    for dtype in ("float64", "float32")
                    for c in EXTREME_SCALES
                ]
            for optimizer, init, dtype, c in runs:
                yield pytest.param(
                    problem.name,
                    scaling.data,
                    optimizer,
                    init,
                    dtype,
                    c,
                    id=f"{problem.name}-{scaling.data}-{optimizer}-{init}-{dtype}-c={c:g}",
                )


@pytest.mark.parametrize(
    ("problem_name", "data", "optimizer", "init", "dtype", "c"), list(_cases())
)
def test_scale_contract(problem_name, data, optimizer, init, dtype, c):
    problem = PROBLEMS[problem_name]
    scaling = next(s for s in problem.scalings if s.data == data)
    ref = _reference(problem_name, optimizer, init, dtype)
    got = _fit(problem_name, optimizer, init, dtype, data=data, c=c)
    problems = _violations(ref, got, scaling, optimizer, dtype, c)
    if problems:
        # a fit that moves under a rounding-level perturbation of its data
        # may move as much under scaling (see _widened)
        noise = _perturbed(problem_name, data, optimizer, init, dtype)
        problems = _violations(ref, got, scaling, optimizer, dtype, c, noise)
    assert not problems, "\n".join(problems)


@functools.cache
def _perturbed(problem_name, data, optimizer, init, dtype):
    c = 1.0 + 4 * float(np.finfo(dtype).eps)
    return _fit(problem_name, optimizer, init, dtype, data=data, c=c)


# --------------------------------------------------------------------------
# Combinations refused by design
# --------------------------------------------------------------------------
@pytest.mark.parametrize("c", [1.0, 1e6])
def test_apgd_refuses_the_symmetric_model(c):
    X, y = _symmetric_sensing_data()
    est = MatrixSensingPrecGD(rank=3, symmetric=True, **_common("apgd", "spectral"))
    with pytest.raises(ValueError):
        est.fit(X, c * y)


@pytest.mark.parametrize("optimizer", SCALE_FREE)
@pytest.mark.parametrize("hidden", [(2, 2), (3, 2, 2)], ids=["2_hidden", "3_hidden"])
def test_scale_free_optimizers_refuse_deep_networks(optimizer, hidden):
    X, y = _tall_net_data()
    est = LinearNetRegressor(
        hidden_layer_sizes=hidden, **_common(optimizer, "unbalanced")
    )
    with pytest.raises(ValueError, match="exactly one hidden layer"):
        est.fit(X, y)
