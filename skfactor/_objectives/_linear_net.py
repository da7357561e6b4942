"""Deep linear networks by least squares: sufficient statistics and data paths."""

import numpy as np

from .._array_api import adopt_factors, to_host
from .._linalg import (
    condition_number,
    device_inner,
    inner,
    numpy_dtype,
    operator_norm,
    spectral_norm,
    sq_norm,
    top_eigenvalue,
    top_singular_value,
)
from ._base import NORM_SEED, Objective
from ._base import linear_combination as _linear_combination
from ._models import model_for

_EPS = float(np.finfo(np.float64).eps)


def _chain(mats):
    """Product of a list of matrices; None when the list is empty."""
    if not mats:
        return None
    out = mats[0]
    for M in mats[1:]:
        out = out @ M
    return out


class LinearNetObjective(Objective):
    r"""Deep linear network ``x ↦ W_N ⋯ W₁ x`` by least squares.

    Factors are stored ``[W_N, W_{N−1}, …, W₂, W₁ᵀ]`` so that the end-to-end
    map is ``W = P₁ P₂ ⋯ P_K`` with ``P_K = W₁ᵀᵀ``; for two layers this is the
    two-factor form ``L Rᵀ`` with ``L = W₂`` (output layer) and ``R = W₁ᵀ``.
    With sufficient statistics ``S = XᵀX/n`` (p×p), ``C = YᵀX/n`` (q×p) and
    ``G = W S − C``, computed once (centred when fitting an intercept)::

        f = ½ (‖Y‖²/n − 2⟨C, W⟩ + ⟨W S, W⟩) = ‖X Wᵀ − Y‖²/(2n)
        ∇P_k = (P₁⋯P_{k−1})ᵀ G (P_{k+1}⋯P_K)ᵀ,   ∇W₁ᵀ = Gᵀ (P₁⋯P_{K−1})

    so an iteration costs nothing in the number of samples.

    Parameters
    ----------
    S : ndarray (p, p), C : ndarray (q, p), yy : float
        ``XᵀX/n``, ``YᵀX/n`` and ``‖Y‖_F²/n`` (all centred with an intercept).
    n_layers : int
    """

    def __init__(self, S, C, yy, n_layers):
        self.S, self.C = S, C
        self.dtype = C.dtype
        self.model = model_for(n_layers)
        self.reference_loss = 0.5 * yy
        self._yy = yy

    @property
    def target(self):
        """The least-squares map ``W* = C S^†`` (q×p), what ``W`` must reach.

        ALGORITHMS.md names ``C`` as the target; the two agree for whitened
        inputs (``S = I``, the papers' setting). With correlated inputs
        ``‖W*‖`` can be far larger than ``‖C‖``, and starts scaled from ``C``
        put the layers out of balance with the solution (an unbalanced start
        then diverged whatever the step). Eigenvalues of ``S`` below
        ``p·eps·λ_max`` are treated as zero.
        """
        T = getattr(self, "_target", None)
        if T is None:
            w, V = np.linalg.eigh(self.S)
            keep = w > self.S.shape[0] * np.finfo(self.S.dtype).eps * max(w[-1], 0.0)
            T = ((self.C @ V[:, keep]) / w[keep]) @ V[:, keep].T
            self._target = T.astype(self.dtype, copy=False)
            T = self._target
        return T

    def _W(self, point):
        W = point.cache.get("W")
        if W is None:
            F = point.factors
            W = _chain(F[:-1]) @ F[-1].T
            point.cache["W"] = W
        return W

    def _G(self, point):
        G = point.cache.get("G")
        if G is None:
            # W S = (P₁⋯P_{K−1})(W₁ S): d₁p² + q·d·p flops instead of q·p²
            F = point.factors
            G = _chain(F[:-1]) @ (F[-1].T @ self.S)
            G -= self.C
            point.cache["G"] = G
        return G

    def value(self, point):
        f = point.cache.get("value")
        if f is None:
            W = self._W(point)
            # ⟨WS, W⟩ = ⟨G, W⟩ + ⟨C, W⟩: no q×p temporary
            f = 0.5 * (self._yy - inner(self.C, W) + inner(self._G(point), W))
            point.cache["value"] = max(f, 0.0)
            f = point.cache["value"]
        return f

    def grad(self, point):
        F = point.factors
        G = self._G(point)
        K = len(F)
        grads = []
        for k in range(K):
            left = _chain(F[:k])  # P₁⋯P_{k−1}
            if k == K - 1:
                grads.append(G.T @ left)
                continue
            right = _chain(F[k + 1 : -1])  # P_{k+1}⋯P_{K−1}
            right = F[-1].T if right is None else right @ F[-1].T  # … P_K
            GB = G @ right.T
            grads.append(GB if left is None else left.T @ GB)
        return grads

    def grad_block(self, point, i):
        return self.grad(point)[i]

    def _s_top(self):
        s_norm = getattr(self, "_s_norm", None)
        if s_norm is None:
            s_norm = float(np.linalg.eigvalsh(self.S)[-1]) if self.S.size else 0.0
            self._s_norm = s_norm
        return s_norm

    def loss_rounding(self, value):
        """``eps·(f_ref + f)``: the loss is expanded from the statistics."""
        return float(np.finfo(self.dtype).eps) * (self.reference_loss + value)

    def design_curvature(self):
        """``λ_max(S)``: the curvature of the loss in the end-to-end map."""
        return self._s_top()

    def frozen_curvature(self, point):
        """``λ_max(PᵀP)·λ_max(S)``, P = the product of all layers but the input."""
        P = _chain(point.factors[:-1])
        return top_singular_value(P) ** 2 * self._s_top()

    def frozen_condition(self, point):
        """``κ(PᵀP)·κ(S)`` on their numerical ranges: the Hessian of the
        least-squares problem in the input layer is ``PᵀP ⊗ S``."""
        kappa_s = getattr(self, "_s_condition", None)
        if kappa_s is None:
            values = np.linalg.eigvalsh(self.S) if self.S.size else np.zeros(1)
            top = float(values[-1])
            kept = values[values > max(self.S.shape[0], 1) * _EPS * top]
            kappa_s = float(top / kept[0]) if top > 0 else 1.0
            self._s_condition = kappa_s
        return condition_number(_chain(point.factors[:-1])) * kappa_s

    def model_gradient_norm(self, point):
        """``‖G‖₂`` with ``G = WS − C`` the gradient in the end-to-end map."""
        return spectral_norm(self._G(point), np.random.RandomState(NORM_SEED))

    def smoothness(self, point):
        """A bound on ``‖∇²f‖`` at the point.

        ``‖S‖₂ Σ_k Π_{j≠k} ‖P_j‖₂²`` (the blocks) plus
        ``‖G‖₂ Σ_{i<j} Π_{l≠i,j} ‖P_l‖₂`` (the cross terms ``⟨G, ⋯ΔP_i⋯ΔP_j⋯⟩``,
        which for two layers reduce to ``‖G‖₂``).
        """
        norms = [
            float(np.sqrt(max(top_eigenvalue(point.gram(i)), 0.0)))
            for i in range(self.n_factors)
        ]
        K = len(norms)
        blocks = sum(
            float(np.prod([v * v for j, v in enumerate(norms) if j != k]))
            for k in range(K)
        )
        cross = sum(
            float(np.prod([v for m, v in enumerate(norms) if m not in (i, j)]))
            for i in range(K)
            for j in range(i + 1, K)
        )
        G_norm = float(np.linalg.norm(self._G(point), 2)) if self.C.size else 0.0
        return self._s_top() * blocks + G_norm * cross


class LinearNetDataObjective(LinearNetObjective):
    r"""The linear network of :class:`LinearNetObjective`, from products with X.

    For many features the p×p statistic ``S`` is larger than the data; then
    every iteration makes two passes over ``X`` (dense or sparse, never
    densified) of width ``d₁`` (the first hidden layer), forward and backward
    through the activations, and the q×p map ``W`` is never formed::

        H = (X − x̄) W₁ᵀ,   aₖ = H (Pₖ₊₁⋯P_{K−1})ᵀ,   R = a₁ − (Y − ȳ)
        f = ‖R‖²/(2n),      δ₁ = R/n,   δₖ₊₁ = δₖ Pₖ
        ∇Pₖ = δₖᵀ aₖ₊₁,     ∇W₁ᵀ = Xᵀ δ_K

    (``R`` and hence every ``δₖ`` have zero column means, so ``Xᵀ δ_K`` needs
    no centring). ``H`` is linear in ``W₁``, so a combination of points
    (NAG's look-ahead) combines the cached ``H`` instead of a pass over X:
    every optimizer costs the two passes ``X W₁ᵀ`` and ``Xᵀ δ_K`` per
    iteration.
    """

    def __init__(self, X, Y, x_mean, y_mean, n_layers, sample_weight=None):
        self.X = X
        # no centring of X needed when x̄ = 0 (no intercept)
        self.x_mean = x_mean if x_mean is not None and np.any(x_mean) else None
        self.Yc = Y if y_mean is None else Y - y_mean
        # with weights every sum over samples is weighted and n is Σw (the
        # means are the weighted ones, so the residual's weighted column sums
        # still vanish); w is applied to the n×q residuals, never to X
        self._w = None
        self.n_samples = X.shape[0]
        if sample_weight is not None:
            self._w = sample_weight.astype(X.dtype)[:, None]
            self.n_samples = float(np.sum(sample_weight, dtype=np.float64))
        n = self.n_samples
        C = np.asarray(X.T @ self._weighted(self.Yc)).T / n
        yy = self._weighted_sq_norm(self.Yc) / n
        super().__init__(None, C.astype(X.dtype, copy=False), yy, n_layers)

    def _weighted(self, R):
        return R if self._w is None else R * self._w

    def _weighted_sq_norm(self, R):
        if self._w is None:
            return sq_norm(R)
        return float(np.einsum("ij,ij,i->", R, R, self._w[:, 0], dtype=np.float64))

    @property
    def target(self):
        """``C/λ_max(S)``: the map that fits ``C`` along X's strongest
        direction, in the units of ``W`` (the least-squares map itself would
        need ``S``). Scaling X by c scales it by 1/c, as ``W``."""
        T = getattr(self, "_target", None)
        if T is None:
            top = self._s_top()
            T = self.C / np.asarray(top if top > 0 else 1.0, dtype=self.dtype)
            self._target = T
        return T

    def _H(self, point):
        """The centred first hidden layer ``(X − x̄) W₁ᵀ`` (n×d₁)."""
        H = point.cache.get("H")
        if H is None:
            W1t = point.factors[-1]
            H = np.asarray(self.X @ W1t)
            if self.x_mean is not None:
                H -= self.x_mean @ W1t
            point.cache["H"] = H
        return H

    def _activations(self, point):
        """``[a₁, …, a_K]`` with ``a_K = H`` and ``aₖ = aₖ₊₁ Pₖᵀ``."""
        acts = point.cache.get("acts")
        if acts is None:
            F = point.factors
            acts = [self._H(point)]
            for P in F[-2::-1]:
                acts.append(acts[-1] @ P.T)
            acts.reverse()
            point.cache["acts"] = acts
        return acts

    def _residual(self, point):
        R = point.cache.get("R")
        if R is None:
            R = self._activations(point)[0] - self.Yc
            point.cache["R"] = R
        return R

    def _G(self, point):
        """``G = Rᵀ(X − x̄)/n`` (q×p): only for the step rule, never per iteration."""
        G = point.cache.get("G")
        if G is None:
            R = self._weighted(self._residual(point))
            # a device X's product comes to the host (the step rule's SVD)
            G = np.asarray(to_host(self.X.T @ R)).T / self.n_samples
            point.cache["G"] = G
        return G

    def value(self, point):
        f = point.cache.get("value")
        if f is None:
            f = 0.5 * self._weighted_sq_norm(self._residual(point)) / self.n_samples
            point.cache["value"] = f
        return f

    def grad(self, point):
        F = point.factors
        acts = self._activations(point)
        delta = self._weighted(self._residual(point)) / np.asarray(
            self.n_samples, dtype=self.dtype
        )
        grads = []
        for k, P in enumerate(F[:-1]):
            grads.append(delta.T @ acts[k + 1])
            delta = delta @ P
        grads.append(np.asarray(self.X.T @ delta))
        return grads

    def combine(self, terms):
        point = super().combine(terms)
        if all("H" in p.cache for _, p in terms):
            point.cache["H"] = _linear_combination(
                [(c, p.cache["H"]) for c, p in terms]
            )
        return point

    def loss_rounding(self, value):
        return Objective.loss_rounding(self, value)

    def _s_top(self):
        """``λ_max`` of the centred ``XᵀX/n`` (block power iterations)."""
        s_norm = getattr(self, "_s_norm", None)
        if s_norm is None:
            X, x_mean = self.X, self.x_mean
            root = None if self._w is None else np.sqrt(self._w)

            # √W (X − x̄): its top singular value squared over Σw is λ_max(S)
            def matmat(V):
                out = np.asarray(X @ V)
                out = out if x_mean is None else out - x_mean @ V
                return out if root is None else out * root

            def rmatmat(U):
                U = U if root is None else U * root
                out = np.asarray(X.T @ U)
                return out if x_mean is None else out - np.outer(x_mean, U.sum(0))

            top = operator_norm(matmat, rmatmat, X.shape[1], self.dtype, 12, 6)
            s_norm = top**2 / self.n_samples
            self._s_norm = s_norm
        return s_norm


class DeviceLinearNetDataObjective(LinearNetDataObjective):
    r""":class:`LinearNetDataObjective` with ``X`` on a device (any array API
    library, see :mod:`skfactor._array_api`).

    The two passes of an iteration (``X W₁ᵀ`` and ``Xᵀ δ_K``), the
    activations and the residual run where ``X`` lives, with the layers; the
    loss is read with one synchronisation per point. ``C = YᵀX/n`` (for the
    starts) and ``G = Rᵀ(X − x̄)/n`` (for the step rule, a few times per
    fit) are brought to the host, and the norm estimate of ``S`` multiplies
    on the device with host operands.
    """

    def __init__(self, X, Y, x_mean, y_mean, n_layers, space, sample_weight=None):
        self.space = space
        move = space.from_host
        dtype = numpy_dtype(X.dtype)
        self.X = X
        centred = x_mean is not None and np.any(x_mean)
        self.x_mean = move(np.asarray(x_mean, dtype=dtype)) if centred else None
        self.Yc = move(np.asarray(Y if y_mean is None else Y - y_mean, dtype=dtype))
        self._w = None
        self.n_samples = X.shape[0]
        if sample_weight is not None:
            self._w = move(sample_weight.astype(dtype))[:, None]
            self.n_samples = float(np.sum(sample_weight, dtype=np.float64))
        n = self.n_samples
        C = to_host(X.T @ self._weighted(self.Yc)).T / n
        yy = self._weighted_sq_norm(self.Yc) / n
        LinearNetObjective.__init__(
            self, None, C.astype(dtype, copy=False), yy, n_layers
        )

    def adopt(self, factors):
        return adopt_factors(self.space, factors, self.dtype)

    def host(self, F):
        return to_host(F)

    def _weighted_sq_norm(self, R, point=None):
        energy = device_inner(self._weighted(R), R)
        return float(energy) if point is None else point.read(energy)

    def _H(self, point):
        H = point.cache.get("H")
        if H is None:
            W1t = point.factors[-1]
            H = self.X @ W1t
            if self.x_mean is not None:
                H = H - self.x_mean @ W1t
            point.cache["H"] = H
        return H

    def value(self, point):
        f = point.cache.get("value")
        if f is None:
            energy = self._weighted_sq_norm(self._residual(point), point)
            f = point.cache["value"] = 0.5 * energy / self.n_samples
        return f

    def grad(self, point):
        F = point.factors
        acts = self._activations(point)
        delta = self._weighted(self._residual(point)) / self.n_samples
        grads = []
        for k, P in enumerate(F[:-1]):
            grads.append(delta.T @ acts[k + 1])
            delta = delta @ P
        grads.append(self.X.T @ delta)
        return grads

    def frozen_curvature(self, point):
        P = _chain([self.host(F) for F in point.factors[:-1]])
        return top_singular_value(P) ** 2 * self._s_top()

    def _s_top(self):
        s_norm = getattr(self, "_s_norm", None)
        if s_norm is None:
            X, x_mean, move = self.X, self.x_mean, self.space.from_host
            root = None if self._w is None else self.space.xp.sqrt(self._w)

            def matmat(V):
                V = move(np.asarray(V, dtype=self.dtype))
                out = X @ V
                out = out if x_mean is None else out - x_mean @ V
                return to_host(out if root is None else out * root)

            def rmatmat(U):
                U = move(np.asarray(U, dtype=self.dtype))
                U = U if root is None else U * root
                out = to_host(X.T @ U)
                if x_mean is None:
                    return out
                return out - np.outer(to_host(x_mean), to_host(U).sum(0))

            top = operator_norm(matmat, rmatmat, X.shape[1], self.dtype, 12, 6)
            s_norm = self._s_norm = top**2 / self.n_samples
        return s_norm
