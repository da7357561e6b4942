"""Plotting utilities (matplotlib is optional: ``pip install matplotlib``).

``ConvergenceDisplay`` draws the loss or relative error of fitted skfactor
estimators against iteration or wall time, following scikit-learn's Display
API (``from_estimator``, ``from_estimators``, ``plot(ax=...)``).
"""

from ._convergence_display import ConvergenceDisplay

__all__ = ["ConvergenceDisplay"]
