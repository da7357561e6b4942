"""What the estimators share: parameters, the step-size policy, fit plumbing."""

from numbers import Integral, Real

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions

from ._initializers import INITIALIZERS, check_custom_init
from ._optimizers import OPTIMIZERS, make_optimizer
from ._solver import minimize

#: Step size of the preconditioned (scale-free) methods with
#: ``learning_rate="auto"``: 0.5, as in the ScaledGD and PrecGD authors' code.
PRECONDITIONED_LEARNING_RATE = 0.5
#: ScaledGD(λ) with ``damping="auto"``: λ as a fraction of σ₁(target).
SCALEDGD_RELATIVE_DAMPING = 1e-5


def auto_learning_rate(optimizer, init, objective, point, random_state):
    """The ``learning_rate="auto"`` rule (ALGORITHMS.md §4).

    * preconditioned methods (precgd, scaledgd, apgd): ``η = 0.5/β``, whatever
      the scale of the data, with ``β`` the objective's mean curvature of its
      linear map (1 for factorization; ``‖X‖_F²/(N·n1·n2)`` for sensing);
    * the Ward–Kolda start with altgd: ``η = 1/σ₁(T)``, the step the start
      was built for (handled by the caller);
    * the unbalanced start: ``η = 1/s₁(X₀)²`` (times the largest eigenvalue
      of the objective's linear map, ``frozen_curvature``), the curvature of the
      least-squares problem in Y with design X₀ (the X block is almost
      frozen);
    * every other start: ``η = 1/L̂`` with
      ``L̂ = max(‖X₀‖₂² + ‖Y₀‖₂² + ‖X₀Y₀ᵀ − T‖_F, 3σ₁(T))``: the first term
      bounds the Hessian at the start, the second the Hessian along a
      balanced trajectory (``‖X‖₂², ‖Y‖₂² ≲ σ₁`` and ``‖R‖₂ ≤ σ₁``).

    Every branch is scale-equivariant: for ``s·T`` the step is ``η/s``.
    """
    if optimizer.scale_free:
        beta = objective.design_curvature()  # 0 only for an all-zero design
        return PRECONDITIONED_LEARNING_RATE / beta if beta > 0 else 1.0
    if init == "unbalanced" and objective.n_factors == 2:
        curvature = objective.frozen_curvature(point)
    else:
        curvature = max(
            objective.smoothness(point), 3.0 * objective.target_norm(random_state)
        )
    return 1.0 / curvature if curvature > 0 else 1.0


class FirstOrderEstimatorMixin:
    """Parameters and fit plumbing shared by the skfactor estimators.

    Subclasses set ``_init_options`` (the names their ``init`` accepts) and
    call :meth:`_run` from ``fit`` with a ready objective.
    """

    _shared_parameter_constraints: dict = {
        "optimizer": [StrOptions(set(OPTIMIZERS))],
        "learning_rate": [
            Interval(Real, 0, None, closed="neither"),
            StrOptions({"auto"}),
        ],
        "momentum": [Interval(Real, 0, 1, closed="left"), StrOptions({"auto"})],
        "damping": [Interval(Real, 0, None, closed="left"), StrOptions({"auto"})],
        "init_scale": [
            Interval(Real, 0, None, closed="neither"),
            StrOptions({"auto"}),
        ],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
    }

    def _run_init(self, init, objective, width, random_state, init_lr):
        """The named start (estimators with other factor layouts override)."""
        return INITIALIZERS[init](
            objective,
            width,
            scale=self.init_scale,
            random_state=random_state,
            learning_rate=init_lr,
        )

    def _resolve_damping(self, objective, random_state, data_scale):
        if self.damping != "auto":
            return self.damping / data_scale
        if self.optimizer != "scaledgd":
            return self.damping
        return SCALEDGD_RELATIVE_DAMPING * objective.target_norm(random_state)

    def _run(
        self, objective, width, shapes, warm_factors=None, data_scale=1.0, init=None
    ):
        """Initialize, resolve the step size, run the solver, store the results.

        Parameters
        ----------
        objective : Objective
        width : int
            The inner dimension handed to named initializers.
        shapes : list of tuple
            Expected shapes of the factors (for explicit ``init``).
        warm_factors : list of ndarray, optional
            Factors to continue from (``warm_start``); they win over ``init``.
        init : str or list of ndarray, optional
            Overrides ``self.init`` (explicit factors already in storage order).
        data_scale : float
            The objective holds the user's data divided by ``data_scale`` (a
            power of 4; see :func:`skfactor._linalg.scale_exponent`). Explicit
            factors, step sizes and dampings are converted into those units
            and the results back: the fit is exactly the scaled fit.

        Returns
        -------
        factors : list of ndarray
        """
        random_state = check_random_state(self.random_state)
        auto_lr = self.learning_rate == "auto"
        root = np.sqrt(data_scale)
        user_lr = None if auto_lr else float(self.learning_rate) * data_scale
        damping = self._resolve_damping(objective, random_state, data_scale)
        optimizer = make_optimizer(
            self.optimizer, 1.0, momentum=self.momentum, damping=damping
        )
        init_param = self.init if init is None else init
        init = init_param if isinstance(init_param, str) else "custom"
        if warm_factors is not None:
            factors = [F / root for F in warm_factors]
            init = "warm"
        elif init == "custom":
            factors = check_custom_init(init_param, shapes, objective.dtype)
            factors = [F / root for F in factors]
        else:
            init_lr = None
            if init == "ward_kolda":
                # The start depends on η, so η is fixed first: 1/σ₁(T).
                sigma1 = objective.target_norm(random_state)
                if not auto_lr:
                    init_lr = user_lr
                else:
                    init_lr = 1.0 / sigma1 if sigma1 > 0 else 1.0
            factors = self._run_init(init, objective, width, random_state, init_lr)
        point = objective.point(factors)
        if not auto_lr:
            learning_rate = user_lr
        elif init == "warm" and hasattr(self, "learning_rate_"):
            learning_rate = self.learning_rate_ * data_scale
        elif init == "ward_kolda" and self.optimizer == "altgd":
            # Ward & Kolda's pairing: the step the start was built for.
            learning_rate = init_lr
        else:
            learning_rate = auto_learning_rate(
                optimizer, init, objective, point, random_state
            )
        optimizer.learning_rate = learning_rate
        result = minimize(
            objective,
            point.factors,
            optimizer,
            max_iter=self.max_iter,
            tol=self.tol,
            verbose=self.verbose,
            name=type(self).__name__,
            learning_rate_was_auto=auto_lr,
            data_scale=data_scale,
        )
        # the solver may have halved an automatic step (backtracking)
        self.learning_rate_ = optimizer.learning_rate / data_scale
        self.damping_ = damping if damping == "auto" else damping * data_scale
        self.n_iter_ = result.n_iter
        self.loss_curve_ = result.loss_curve
        self.time_curve_ = result.time_curve
        self.reference_loss_ = result.reference_loss
        self.converged_ = result.converged
        return result.factors
