"""The data unit of a fit: the one place that converts between the user's
numbers and the fitted problem's.

A fit runs on data divided by exact powers of 4 when the user's values are too
large or too small for their dtype (see :func:`skfactor._linalg.scale_exponent`),
so the fitted problem's factors, losses, steps and dampings are those of the
user's problem in other units. :class:`DataUnit` is built once per fit from the
data and does every conversion; nothing else in skfactor multiplies by a data
scale.

With ``response`` the divisor of the data the loss is quadratic in (A for
factorization, y for sensing, Y for linear networks), ``model`` the resulting
factor of the model (``response`` divided by the divisor of a design, if any),
and ``N`` the degree of the model in its factors (2 for ``L Rᵀ`` and ``X Xᵀ``,
the depth for a linear network), the user's quantities are::

    model     M_user = model · M
    factors   F_user = model^(1/N) · F
    loss      f_user = response² · f
    damping   δ_user = model^(2/N) · δ                  (a Gram's unit)
    step      η_user = model^(2/N) / response² · η      (step_unit "curvature": 1/L)
    step      η_user = model^(4/N) / response² · η      (step_unit "scale_free")

The last two are exact for gradient steps and for right-preconditioned steps
``F − η ∇f (GᵀG + δI)⁻¹`` respectively.
"""

import math

import numpy as np

from ._linalg import (
    divide_exactly,
    max_abs,
    numpy_dtype,
    safe_max_abs,
    scale_exponent,
)

#: The exponent of ``model`` in each step unit (times 1/N), see the module docstring.
_STEP_MODEL_POWER = {"curvature": 2, "scale_free": 4}


def _scaled(F, c):
    """``c·F`` in ``F``'s dtype (a device array: its library keeps the dtype
    of a Python float's product)."""
    if isinstance(F, np.ndarray):
        return F * np.asarray(c, dtype=F.dtype)
    return F * c


class DataUnit:
    """Conversions between the user's units and the fitted problem's.

    Parameters
    ----------
    response : float
        The divisor applied to the data the loss is quadratic in.
    model : float
        The user's model is the fitted model times ``model``.
    degree : int
        Number of factors multiplied into the model (factors scale as
        ``model^(1/degree)``).
    """

    #: ``log(max|response| / max|design|)`` in the user's units (the design's
    #: term only with a design): how the model's size moves when the data are
    #: rescaled (a warm refit follows it). None when unknown or zero.
    log_model_scale = None

    def __init__(self, response=1.0, model=1.0, degree=2):
        self.response = float(response)
        self.model = float(model)
        self.degree = int(degree)

    @classmethod
    def from_data(
        cls, response, design=None, degree=2, squared=True, top=None, design_top=None
    ):
        """The unit that brings ``response`` (and ``design``) to a safe range.

        Returns the unit and the divided arrays ``(response / r, design / g)``
        (``design`` is None when not given). Dividing by powers of 4 is exact.
        Each array far from 1 for its dtype is brought near 1; with a design,
        ``g`` is also moved so that the fitted model (about
        ``max|response|/max|design|``) stays in range: its Gram matrices and
        their squares must be representable too. ``squared=False`` is for
        work that forms no loss (a transform): data beyond ``1e±150`` is then
        divided instead of refused. ``top``: ``response``'s largest absolute
        entry, when already known (a pass over distributed data saved), and
        ``design_top`` the design's.
        """
        size = math.prod(response.shape)  # a torch tensor's size is a method
        if top is None:
            top = max_abs(response) if size else 0.0
        top_y = top
        r = 4.0 ** scale_exponent(response, squared, top_y) if size else 1.0
        g = 1.0
        if design is not None:
            top_x = max_abs(design) if design_top is None else design_top
            k = scale_exponent(design, squared=False, top=top_x)
            limit = safe_max_abs(design.dtype) ** (3 / 10)  # 4**60, 4**4.5
            if top_y > 0 and top_x > 0:
                # log₄ of the fitted model's scale with the design / 4**k
                model = (math.log(top_y / r) - math.log(top_x / 4.0**k)) / math.log(4)
                if abs(model) > math.log(limit, 4):
                    k -= round(model)
            g = 4.0**k
            design = divide_exactly(design, g)
            # the user's model itself must be representable (with a margin)
            info = np.finfo(numpy_dtype(design.dtype))
            low, high = float(info.tiny) * 1e4, float(info.max) / 1e4
            if top_y > 0 and top_x > 0 and not low < top_y / top_x < high:
                raise ValueError(
                    f"The response is about {top_y:.1e} and the design about "
                    f"{top_x:.1e}: the fitted model (about {top_y / top_x:.1e}) "
                    f"cannot be represented in {numpy_dtype(design.dtype).name}. "
                    "Rescale them, or fit in float64."
                )
        unit = cls(response=r, model=r / g, degree=degree)
        top_x = 1.0 if design is None else top_x
        if top_y > 0 and top_x > 0 and np.isfinite(top_y) and np.isfinite(top_x):
            unit.log_model_scale = math.log(top_y) - math.log(top_x)
        return unit, divide_exactly(response, r), design

    # -- factors and models --------------------------------------------------
    @property
    def factor(self):
        """``F_user / F``."""
        return self.model ** (1.0 / self.degree)

    def factors_to_user(self, factors):
        if self.model == 1.0:
            return list(factors)
        c = self.factor
        return [_scaled(F, c) for F in factors]

    def factors_to_internal(self, factors):
        if self.model == 1.0:
            return list(factors)
        c = 1.0 / self.factor
        return [_scaled(F, c) for F in factors]

    def response_to_user(self, value):
        """A value in the response's units (an intercept, offsets)."""
        return value * self.response

    # -- losses --------------------------------------------------------------
    def loss_to_user(self, loss):
        return loss * self.response**2

    def loss_to_internal(self, loss):
        return loss / self.response**2

    # -- steps and dampings --------------------------------------------------
    def _log_step_factor(self, step_unit):
        power = _STEP_MODEL_POWER[step_unit] / self.degree
        return power * math.log(self.model) - 2.0 * math.log(self.response)

    @staticmethod
    def _rescale(value, log_factor):
        # in logarithms: a step and its conversion can both be representable
        # where the factor between them is not
        if log_factor == 0.0 or not value > 0 or not math.isfinite(value):
            return value
        try:
            return math.exp(math.log(value) + log_factor)
        except OverflowError:  # a step beyond float64 in the user's units
            return math.inf

    def step_to_user(self, eta, step_unit):
        return self._rescale(eta, self._log_step_factor(step_unit))

    def step_to_internal(self, eta, step_unit):
        return self._rescale(eta, -self._log_step_factor(step_unit))

    def damping_to_user(self, damping):
        return self._rescale(damping, 2.0 / self.degree * math.log(self.model))

    def damping_to_internal(self, damping):
        return self._rescale(damping, -2.0 / self.degree * math.log(self.model))
