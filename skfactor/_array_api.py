"""Array namespaces: which library and device a fit's data live on.

With scikit-learn's ``array_api_dispatch`` on, an estimator fitted on arrays
of another library than numpy (torch, CuPy, array-api-strict, …) returns
fitted attributes and outputs of that library, on the input's device; with
it off, or for numpy input, nothing here runs and everything is numpy as
before. :class:`Space` is such a library and device; the estimators'
``fit`` and methods pass through :func:`fits_in_space` and
:func:`method_in_space`.

What runs where: an objective whose data can stay on the device (dense
factorization, see ``FactorizationObjective``) iterates there; the others are
fitted on a host copy, and their results are moved to the device. Either way
the attributes are computed once on the host from the fitted factors (a few
d×d decompositions and (m + n)×d products) and published on the device; the
host copies are kept (``_array_host``) for the methods that run on the host.
"""

import copy
import functools
import importlib

import numpy as np
import scipy.sparse as sp


def dispatch_enabled():
    """Whether scikit-learn's ``array_api_dispatch`` is on."""
    import sklearn

    return bool(sklearn.get_config().get("array_api_dispatch", False))


#: Whether the paths whose kernels torch's CPU build runs far slower than
#: numpy and scipy (the masked model's blocks against a gather of the
#: missing entries: 3.3× a whole fit; ``index_add`` against compiled CSR
#: products for ratings: 8–10× an iteration, measured on this 2-core
#: machine with torch 2.13) run on a torch CPU tensor's "device" all the
#: same. Off: such fits read the tensor's memory as numpy (no copy) and run
#: the host path, with attributes and outputs published as torch tensors.
#: The tests switch it on.
DEVICE_PASSES_ON_CPU = False


def _compat():
    import array_api_compat

    return array_api_compat


def _library(x):
    """The name of the library that made the array ``x`` (``"torch"``)."""
    return type(x).__module__.split(".")[0]


def _check_device_input(X, name):
    """Clear errors for what no estimator reads: sparse arrays of device
    libraries, and complex arrays (scikit-learn's message for numpy's)."""
    library = _library(X)
    dtype = str(getattr(X, "dtype", ""))
    if "complex" in dtype:
        raise ValueError(f"{name}: complex data not supported ({dtype}).")
    layout = getattr(X, "layout", None)
    sparse_torch = library == "torch" and layout is not None and "sparse" in str(layout)
    if sparse_torch or library == "cupyx":
        raise TypeError(
            f"{name}: sparse {library} arrays are not supported. Pass a "
            "scipy.sparse matrix (on the host), or a dense array of any array "
            "API library (it stays on its device)."
        )


class Space:
    """A non-numpy array library and a device (the namespace a fit saw).

    Pickles as the library's name and the device, so that a fitted
    estimator does not hold a module.
    """

    __slots__ = ("device", "library", "xp")

    def __init__(self, xp, device, library):
        self.xp = xp
        self.device = device
        self.library = library

    @classmethod
    def of(cls, X, name="estimator"):
        """The space of ``X`` when dispatch is on and ``X`` is an array of
        another library than numpy; None otherwise (the numpy path)."""
        if X is None or isinstance(X, np.ndarray) or sp.issparse(X):
            return None
        _check_device_input(X, name)
        if not dispatch_enabled() or _library(X) == "dask":
            # dask arrays are lazy: iterating on them here would grow one
            # task graph per iteration; they are read as numpy, as without
            # dispatch (distributed fits are a separate path)
            return None
        compat = _compat()
        if not compat.is_array_api_obj(X) or compat.is_numpy_array(X):
            return None
        return cls(compat.array_namespace(X), compat.device(X), _library(X))

    def __reduce__(self):
        return (_space_from_library, (self.library, self.device))

    def __eq__(self, other):
        return (
            isinstance(other, Space)
            and self.library == other.library
            and str(self.device) == str(other.device)
        )

    def __hash__(self):
        return hash((self.library, str(self.device)))

    def __repr__(self):
        return f"{self.library} arrays on device {self.device}"

    # -- moving arrays ----------------------------------------------------------
    def to_host(self, a):
        """``a`` (an array of this space, numpy, or None) as a numpy array."""
        return to_host(a)

    def prefers_host(self):
        """Whether a path with slow kernels on this device takes the host
        path instead (torch on the CPU, see ``DEVICE_PASSES_ON_CPU``)."""
        if DEVICE_PASSES_ON_CPU:
            return False
        return self.library == "torch" and str(self.device) == "cpu"

    def has_float64(self):
        info = getattr(self.xp, "__array_namespace_info__", None)
        if info is None:
            return True
        try:
            return "float64" in info().dtypes(device=self.device)
        except TypeError:
            return True

    def from_host(self, a):
        """A numpy array as an array of this space (same dtype; float64 as
        float32 on devices without it); anything else unchanged."""
        if not isinstance(a, np.ndarray) or a.dtype.kind not in "biuf":
            return a
        if a.dtype == np.float64 and not self.has_float64():
            a = a.astype(np.float32)
        return self.xp.asarray(np.ascontiguousarray(a), device=self.device)

    def asarray(self, a):
        """Any array (numpy, another device, this space) in this space."""
        if isinstance(a, np.ndarray) or a is None:
            return self.from_host(a)
        compat = _compat()
        if _library(a) == self.library and str(compat.device(a)) == str(self.device):
            return a
        return self.from_host(to_host(a))

    def prepare(self, X):
        """``X`` as the estimators compute with it: a torch tensor that
        records gradients is detached (the fit is no part of an autograd
        graph, and a graph through every iteration would hold them all)."""
        if getattr(X, "requires_grad", False):
            return X.detach()
        return X

    def published(self, attributes):
        """``attributes`` (a fit's, or an iterate's for the callbacks) as an
        estimator of this space holds them: numeric arrays (and lists or
        tuples of them) here, their host versions in ``_array_host`` for the
        methods that compute on the host, fitted skfactor estimators inside
        (``LowRankImputer.factorization_``) published here too."""
        out, host = {}, {}
        for key, value in attributes.items():
            if key in ("_array_host", "_array_space", "_fitting_space"):
                continue
            moved, original = self._moved(value)
            out[key] = moved
            if moved is not value or original is not value:
                host[key] = original
        out["_array_host"] = host
        out["_array_space"] = self
        return out

    def publish(self, estimator):
        """Publish the estimator's fitted attributes in this space (see
        :meth:`published`)."""
        attributes = self.published(vars(estimator))
        estimator.__dict__.pop("_fitting_space", None)
        estimator.__dict__.update(attributes)

    def _moved(self, value):
        """``(value in this space, value on the host)``."""
        if isinstance(value, np.ndarray):
            if value.dtype.kind in "biuf":
                return self.from_host(value), value
            return value, value
        if _is_array(value) and not sp.issparse(value):  # already on a device
            return self.asarray(value), to_host(value)
        if isinstance(value, list | tuple) and any(_is_array(v) for v in value):
            pairs = [self._moved(v) for v in value]
            return (
                type(value)(moved for moved, _ in pairs),
                type(value)(original for _, original in pairs),
            )
        if hasattr(value, "_published") and hasattr(value, "get_params"):
            # a fitted skfactor estimator held as an attribute
            nested = copy.copy(host_twin(value))
            self.publish(nested)
            return nested, value
        return value, value


def _space_from_library(library, device):
    """The :class:`Space` of a pickled estimator: the library's namespace
    (which does not depend on the device) and the device as pickled."""
    module = importlib.import_module(library)
    return Space(_compat().array_namespace(module.zeros(1)), device, library)


def to_host(a):
    """An array of any library as a numpy array (numpy and None as they are)."""
    if a is None or isinstance(a, np.ndarray) or sp.issparse(a):
        return a
    library = _library(a)
    if library == "torch":
        return a.detach().cpu().numpy()
    if library == "cupy":
        return a.get()
    if library == "array_api_strict":
        import array_api_strict

        return np.asarray(a.to_device(array_api_strict.Device("CPU_DEVICE")))
    compat = _compat()
    if compat.is_array_api_obj(a):
        try:
            return np.from_dlpack(a)
        except (BufferError, RuntimeError, TypeError, ValueError):
            return np.asarray(compat.to_device(a, "cpu"))
    return a


def adopt_factors(space, factors, dtype):
    """Factors of any library (a start on the host, a warm start on the
    device) as new arrays of ``space`` in ``dtype`` (numpy's): never the
    caller's arrays, which an objective may write into (fixed columns)."""
    out = []
    for F in factors:
        if isinstance(F, np.ndarray):
            out.append(space.from_host(np.asarray(F, dtype=dtype)))
        else:
            F = copy_array(space.asarray(F))
            out.append(space.xp.astype(F, getattr(space.xp, np.dtype(dtype).name)))
    return out


def copy_array(F):
    """A copy of an array of any library, in its library and on its device."""
    if isinstance(F, np.ndarray):
        return F.copy()
    return _compat().array_namespace(F).asarray(F, copy=True)


def _describe(space):
    return "numpy arrays" if space is None else repr(space)


def check_same_space(estimator, method, X):
    """Raise the ``ValueError`` scikit-learn's convention asks for when ``X``
    is not of the namespace and device the estimator was fitted on (with
    dispatch on; with it off everything is converted to numpy). Returns
    the fitted space (None for a numpy fit)."""
    fitted = getattr(estimator, "_array_space", None)
    name = f"{type(estimator).__name__}.{method}()"
    space = Space.of(X, name)
    if dispatch_enabled() and space != fitted:
        raise ValueError(
            f"Inputs passed to {name} must use the same namespace and the same "
            f"device as those passed to fit(): fitted on {_describe(fitted)}, "
            f"called with {_describe(space)}. Move X to the fit's namespace "
            "and device, or refit."
        )
    return fitted


def host_twin(estimator):
    """A shallow copy of the estimator with its fitted arrays on the host
    (the estimator itself is unchanged)."""
    host = getattr(estimator, "_array_host", None)
    if host is None:
        return estimator
    twin = copy.copy(estimator)
    twin.__dict__.update(host)
    twin.__dict__.pop("_array_space", None)
    twin.__dict__.pop("_array_host", None)
    return twin


def fits_in_space(native=None):
    """Decorator of ``fit(self, X, y=None, **params)``: with dispatch on and
    ``X`` of another library, fit there and publish the attributes there.

    ``native(self, X)``, when given and true, means the estimator fits
    arrays of ``X``'s space on their device itself (``fit`` receives ``X``
    as it is, and ``y`` and array-valued parameters moved to that space);
    otherwise every input is copied to the host and the fit runs in numpy.
    The previous fit's host arrays are restored first, so that a warm start
    reads numpy either way.
    """

    def decorator(fit):
        @functools.wraps(fit)
        def wrapper(self, X, *args, **kwargs):
            if _library(X) == "dask" and not getattr(self, "_fits_dask", False):
                name = type(self).__name__
                raise TypeError(
                    f"{name} does not fit dask inputs yet (it would gather them "
                    "whole to this process). Compute X to a numpy array first "
                    "(X.compute()) if it fits in memory; FactorizationNAG and "
                    "LinearNetRegressor fit dask arrays where their chunks are."
                )
            space = Space.of(X, f"{type(self).__name__}.fit()")
            host = self.__dict__.pop("_array_host", None)
            if host:
                self.__dict__.update(host)
            self.__dict__.pop("_array_space", None)
            if space is None:
                return fit(self, X, *args, **kwargs)
            # the space of the user's input, for what reads it during the
            # fit (the callbacks' iterate estimators)
            self._fitting_space = space
            if native is not None and native(self, X):
                X = space.prepare(X)

                def move(a):
                    return space.prepare(space.asarray(a))
            else:
                X, move = to_host(X), to_host
            args = [move(a) if _is_array(a) else a for a in args]
            kwargs = {k: move(v) if _is_array(v) else v for k, v in kwargs.items()}
            try:
                result = fit(self, X, *args, **kwargs)
            finally:
                self.__dict__.pop("_fitting_space", None)
            space.publish(self)
            return result

        return wrapper

    return decorator


def _is_array(a):
    if a is None or isinstance(a, np.ndarray) or sp.issparse(a):
        return isinstance(a, np.ndarray)
    return _compat().is_array_api_obj(a)


def method_in_space(native=None):
    """Decorator of a method ``method(self, X, *args)`` of a fitted
    estimator (``transform``, ``predict``, ``score``…): ``X`` must be of the
    fit's namespace and device (:func:`check_same_space`); an estimator
    fitted in another space computes on the host copies of its attributes
    (or, where ``native(self, X)`` is true, on the device itself) and
    returns arrays of that space."""

    def decorator(method):
        @functools.wraps(method)
        def wrapper(self, X, *args, **kwargs):
            if _library(X) == "dask":  # lazily, a chunk of rows at a time
                from ._dask import map_rows

                return map_rows(self, method, X, args, kwargs)
            fitted = check_same_space(self, method.__name__, X)
            if fitted is None:
                return method(self, X, *args, **kwargs)
            same = Space.of(X) == fitted  # False with dispatch off
            if same and native is not None and native(self, X):
                return method(self, fitted.prepare(X), *args, **kwargs)
            args = [to_host(a) if _is_array(a) else a for a in args]
            kwargs = {k: to_host(v) if _is_array(v) else v for k, v in kwargs.items()}
            out = method(host_twin(self), to_host(X), *args, **kwargs)
            if isinstance(out, np.ndarray) and dispatch_enabled():
                return fitted.from_host(out)
            return out

        return wrapper

    return decorator
