"""Exceptions raised by skfactor."""

__all__ = ["DivergenceError"]


class DivergenceError(ValueError):
    """The loss became non-finite or exploded during a fit.

    Raised by the solver with a message naming the learning rate and a smaller
    value to try. The best iterate seen before the divergence is kept on the
    exception, so nothing computed is lost.

    Attributes
    ----------
    learning_rate : float
        The step size that diverged.
    suggested_learning_rate : float
        A smaller step size to try.
    best_factors : list of ndarray
        The factors with the lowest loss seen.
    best_loss : float
        Their loss.
    n_iter : int
        The iteration at which the divergence was detected.
    loss_curve : ndarray
        The losses recorded up to and including that iteration.
    """

    def __init__(
        self,
        message,
        *,
        learning_rate=None,
        suggested_learning_rate=None,
        best_factors=None,
        best_loss=None,
        n_iter=None,
        loss_curve=None,
    ):
        super().__init__(message)
        self.learning_rate = learning_rate
        self.suggested_learning_rate = suggested_learning_rate
        self.best_factors = best_factors
        self.best_loss = best_loss
        self.n_iter = n_iter
        self.loss_curve = loss_curve
