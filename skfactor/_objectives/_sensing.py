"""Low-rank trace regression, matrix sensing and completion."""

import numpy as np
import scipy.sparse as sp

from .._array_api import adopt_factors, to_host
from .._linalg import (
    device_inner,
    numpy_dtype,
    spectral_norm,
    sq_norm,
    top_eigenvalue,
)
from ._base import NORM_SEED, Objective
from ._factorization import _DeviceData, entries
from ._models import PairModel, SymmetricModel


class SensingObjective(Objective):
    r"""Low-rank trace regression: ``yᵢ ≈ ⟨Aᵢ, M⟩ (+ b)``, ``M = L Rᵀ`` or ``X Xᵀ``.

    With ``𝒜(M)ᵢ = ⟨Aᵢ, M⟩``, ``𝒜*(v) = Σ vᵢ Aᵢ``, the residual
    ``ρ = 𝒜(M) − y`` (centred when ``fit_intercept``: the optimal intercept
    ``b = mean(y − 𝒜(M))`` is eliminated in closed form) and
    ``E = 𝒜*(ρ)/N``::

        asymmetric:  f(L, R) = ‖ρ‖²/(2N),   ∇_L f = E R,   ∇_R f = Eᵀ L
        symmetric:   f(X)    = ‖ρ‖²/(4N),   ∇f = ½ (E + Eᵀ) X

    (the model, :mod:`._models`, carries the ½ or ¼ and the chain rule).

    **Units.** ``β = ‖D‖_F²/(N·n1·n2)``, the mean eigenvalue of ``𝒜*𝒜/N``,
    is the curvature of the loss in the model. The start's target is
    ``T = 𝒜*(y)/(N·β)``, the model's own units: ``≈ M`` for isotropic
    designs (β = 1 for N(0, 1) entries) and ``P_Ω(Y)/p`` for completion with
    unit entries (β = 1/(n1·n2)). Scaling the design by c scales β by c² and
    ``T`` by 1/c, as the model.

    Parameters
    ----------
    design : ndarray or CSR matrix of shape (N, n1·n2)
        Row ``i`` is ``Aᵢ`` flattened in row-major order. When every row of a
        sparse design holds exactly one entry (matrix completion) the model is
        evaluated at the observed entries only, ``O(N·r)`` per pass, and the
        n1×n2 matrix is never formed.
    y : ndarray of shape (N,)
    shape : (n1, n2)
    symmetric : bool
    fit_intercept : bool
    sample_weight : ndarray of shape (N,), optional
        Positive weights: the loss is ``Σ wᵢρᵢ²/(2Σw)`` with the weighted
        mean as intercept. The objective holds the whitened problem, design
        rows and y times ``√wᵢ`` (every formula above with ``N = Σw`` and
        the centring a projection off ``√w``), so integer weights are exactly
        repeated samples.
    """

    def __init__(
        self, design, y, shape, symmetric=False, fit_intercept=False, sample_weight=None
    ):
        design = design.tocsr() if sp.issparse(design) else design
        self._root_w = None
        self.n_samples = design.shape[0]  # Σw with weights
        if sample_weight is not None:
            root = np.sqrt(sample_weight).astype(design.dtype)
            if sp.issparse(design):
                design = sp.csr_matrix(sp.diags(root) @ design)
            else:
                design = design * root[:, None]
            y = y * root
            self._root_w = root
            self.n_samples = float(np.sum(sample_weight, dtype=np.float64))
        self.design = design
        self.dtype = numpy_dtype(design.dtype)
        self.y = y
        self.shape = tuple(shape)
        self.model = SymmetricModel() if symmetric else PairModel()
        self.fit_intercept = fit_intercept
        self.completion = self._entry_pattern()
        centred = self._centre(y) if fit_intercept else y
        self.reference_loss = self.model.half * sq_norm(centred) / self.n_samples
        self._y_centred = centred
        D = self.design
        total = sq_norm(D.data) if sp.issparse(D) else sq_norm(D)
        self._beta = total / (self.n_samples * self.shape[0] * self.shape[1])

    def _centre(self, v):
        """``v`` less its (weighted) mean: with weights the whitened vector's
        projection off ``√w``."""
        root = self._root_w
        if root is None:
            return v - v.mean()
        return v - root * (float(root @ v) / self.n_samples)

    # -- the measurement operator and its adjoint -----------------------------
    def _entry_pattern(self):
        """Rows, columns and values of single-entry rows, or None."""
        D = self.design
        if not sp.issparse(D) or D.shape[0] == 0:
            return None
        if not np.all(np.diff(D.indptr) == 1):
            return None
        n1, n2 = self.shape
        # a column index is the flattened position j·n2 + k of the entry;
        # 𝒜* lives on the distinct positions (repeated observations add up)
        positions, inverse = np.unique(D.indices, return_inverse=True)
        e_rows, e_cols = np.divmod(positions, n2)
        indptr = np.zeros(n1 + 1, dtype=D.indices.dtype)
        np.cumsum(np.bincount(e_rows, minlength=n1), out=indptr[1:])
        rows, cols = np.divmod(D.indices, n2)
        return {
            "rows": rows,
            "cols": cols,
            "values": D.data,
            "position": inverse.ravel().astype(D.indices.dtype),
            "indices": e_cols.astype(D.indices.dtype),
            "indptr": indptr,
            "nnz": len(positions),
        }

    def measure(self, factors):
        """``𝒜(M)`` for the model of ``factors``."""
        L, R = self.model.split(factors)
        pattern = self.completion
        if pattern is not None:
            out = entries(L, R, pattern["rows"], pattern["cols"])
            out *= pattern["values"]
            return out
        M = L @ R.T
        return np.asarray(self.design @ M.ravel())

    def adjoint(self, v):
        """``𝒜*(v)``: dense n1×n2, or CSR on the observed pattern."""
        pattern = self.completion
        if pattern is not None:
            data = np.bincount(
                pattern["position"],
                weights=pattern["values"] * v,
                minlength=pattern["nnz"],
            ).astype(self.dtype, copy=False)
            return sp.csr_matrix(
                (data, pattern["indices"], pattern["indptr"]), shape=self.shape
            )
        return np.asarray(self.design.T @ v).reshape(self.shape)

    # -- cached quantities at a point -----------------------------------------
    def _residual(self, point):
        rho = point.cache.get("rho")
        if rho is None:
            rho = self.measure(point.factors) - self.y
            if self.fit_intercept:
                rho = self._centre(rho)
            point.cache["rho"] = rho
        return rho

    def _E(self, point):
        E = point.cache.get("E")
        if E is None:
            # divide the vector, not the matrix: keeps float32 sparse float32
            E = self.adjoint(self._residual(point) / self.n_samples)
            point.cache["E"] = E
        return E

    def intercept(self, factors):
        """The optimal intercept ``mean(y − 𝒜(M))``, weighted with weights (0
        without intercept)."""
        if not self.fit_intercept:
            return 0.0
        residual = self.y - self.measure(factors)
        if self._root_w is None:
            return float(np.mean(residual))
        return float(self._root_w @ residual) / self.n_samples

    def value(self, point):
        f = point.cache.get("value")
        if f is None:
            f = self.model.half * sq_norm(self._residual(point)) / self.n_samples
            point.cache["value"] = f
        return f

    def grad_block(self, point, i):
        return self.model.grad_block(self._E(point), point.factors, i)

    def grad(self, point):
        return self.model.grads(self._E(point), point.factors)

    # -- what initializers and step-size rules need ---------------------------
    @property
    def target(self):
        """``𝒜*(y)/(N·β)`` (y centred with an intercept): the model's units."""
        T = getattr(self, "_target", None)
        if T is None:
            beta = self._beta if self._beta > 0 else 1.0
            T = self.adjoint(self._y_centred / (self.n_samples * beta))
            self._target = self._operator(self.model.symmetrize(T))
        return self._target

    def design_curvature(self):
        """``β = ‖D‖_F² / (N·n1·n2)``: the mean eigenvalue of ``𝒜*𝒜/N``.

        1 for designs with i.i.d. N(0, 1) entries, ``1/(n1·n2)`` for
        completion with unit entries.
        """
        return self._beta

    def _operator_norm2(self):
        """``α = σ₁(D)²/N``: the largest eigenvalue of ``𝒜*𝒜/N``."""
        alpha = getattr(self, "_alpha", None)
        if alpha is None:
            pattern = self.completion
            if pattern is not None:
                # DᵀD is diagonal: the squared values observed at each position
                squares = np.bincount(
                    pattern["position"],
                    weights=np.square(pattern["values"], dtype=np.float64),
                    minlength=pattern["nnz"],
                )
                top = float(squares.max(initial=0.0))
            else:
                design = self._operator(self.design)
                top = spectral_norm(design, np.random.RandomState(NORM_SEED)) ** 2
            alpha = top / self.n_samples
            self._alpha = alpha
        return alpha

    def frozen_curvature(self, point):
        top = top_eigenvalue(point.gram(0))
        return self._operator_norm2() * top

    def _operator(self, M):
        """``M`` (the design, ``E``, the target) as the norm estimates and
        the starts read it: itself here; products with host operands for a
        device objective."""
        return M

    def model_gradient_norm(self, point):
        E = self._operator(self._E(point))
        return spectral_norm(E, np.random.RandomState(NORM_SEED))

    def escape_strength(self, point):
        def norm(E):
            return spectral_norm(E, np.random.RandomState(NORM_SEED))

        return self.model.escape_strength(self._operator(self._E(point)), norm)

    def smoothness(self, point):
        """Bound ``α(‖L‖₂² + ‖R‖₂²) + ‖E‖₂`` with ``α = σ₁(D)²/N``."""
        alpha = self._operator_norm2()
        tops = [top_eigenvalue(point.gram(i)) for i in range(self.n_factors)]
        return alpha * self.model.factor_curvature(tops) + self.model_gradient_norm(
            point
        )


class DeviceSensingObjective(SensingObjective):
    r""":class:`SensingObjective` of a dense design on a device (any array API
    library, see :mod:`skfactor._array_api`), for the pair model ``L Rᵀ``.

    The same loss and gradients, computed where the design lives: per point
    the model ``M = L Rᵀ`` (n1×n2), the measurements ``D vec(M)``, the
    residual and ``E = 𝒜*(ρ)/N = reshape(Dᵀρ)/N`` stay on the device, and the
    loss ``‖ρ‖²/(2N)`` is read with one synchronisation. The starts see the
    target ``𝒜*(y)/(Nβ)`` and the norm estimates see ``D`` and ``E`` through
    products (numpy operands in and out); the weights, when given, travel
    to the device once.
    """

    def __init__(
        self,
        design,
        y,
        shape,
        space,
        fit_intercept=False,
        sample_weight=None,
    ):
        self.space = space
        if sample_weight is not None:
            root = np.sqrt(sample_weight).astype(numpy_dtype(design.dtype))
            root = space.from_host(root)
            design, y = design * root[:, None], y * root
        super().__init__(design, y, shape, False, fit_intercept, None)
        if sample_weight is not None:
            self._root_w = root
            self.n_samples = float(np.sum(sample_weight, dtype=np.float64))
            centred = self._centre(y) if fit_intercept else y
            self.reference_loss = self.model.half * sq_norm(centred) / self.n_samples
            self._y_centred = centred
            self._beta = sq_norm(self.design) / (
                self.n_samples * self.shape[0] * self.shape[1]
            )

    def adopt(self, factors):
        return adopt_factors(self.space, factors, self.dtype)

    def value(self, point):
        f = point.cache.get("value")
        if f is None:
            rho = self._residual(point)
            energy = point.read(device_inner(rho, rho))  # one synchronisation
            f = point.cache["value"] = self.model.half * energy / self.n_samples
        return f

    def host(self, F):
        return to_host(F)

    def _centre(self, v):
        xp = self.space.xp
        root = self._root_w
        if root is None:
            return v - xp.mean(v)
        return v - root * (xp.sum(root * v) / self.n_samples)

    def measure(self, factors):
        L, R = factors
        return self.design @ self.space.xp.reshape(L @ R.T, (-1,))

    def adjoint(self, v):
        return self.space.xp.reshape(self.design.T @ v, self.shape)

    def intercept(self, factors):
        if not self.fit_intercept:
            return 0.0
        xp = self.space.xp
        residual = self.y - self.measure(factors)
        if self._root_w is None:
            return float(xp.mean(residual))
        return float(xp.sum(self._root_w * residual)) / self.n_samples

    def _operator(self, M):
        return _DeviceData(M, self.space)
