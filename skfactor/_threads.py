"""BLAS threads for small linear algebra.

The big products of an iteration (``A @ Y``, ``Aᵀ @ X``, a design times a
model) use the BLAS thread pool as configured. The small dense kernels (d×d
factorizations, eigenvalues of Gram matrices, the core SVD of the canonical
form, PrecGD's right solves) run on one thread: threading them costs more in
wake-ups and synchronisation than it saves, and when another process holds a
core a spinning BLAS thread waits for a descheduled partner at every call
(an example fit ran 5× slower with two threads than with one under such a
load). ``single_threaded`` sets the pools' sizes directly (a few µs) and
restores them, so a user's ``threadpool_limits`` keeps working around it.
"""

import contextlib
import functools

_BLAS = None


def _blas_libraries():
    global _BLAS
    if _BLAS is None:
        from threadpoolctl import ThreadpoolController

        controller = ThreadpoolController()
        _BLAS = [lib for lib in controller.lib_controllers if lib.user_api == "blas"]
    return _BLAS


@contextlib.contextmanager
def single_threaded():
    """Run the block with every BLAS pool at one thread, then restore them."""
    libraries = _blas_libraries()
    saved = [lib.num_threads for lib in libraries]
    if all(n == 1 for n in saved):
        yield
        return
    for lib in libraries:
        lib.set_num_threads(1)
    try:
        yield
    finally:
        for lib, n in zip(libraries, saved):
            lib.set_num_threads(n)


def small(function):
    """Decorate a small dense kernel: it runs single-threaded."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        with single_threaded():
            return function(*args, **kwargs)

    return wrapper


def blas_threads():
    """The BLAS pool's current size (1 without a BLAS threadpoolctl sees): the
    number of threads skfactor's own parallel passes use, so that a user's
    ``threadpool_limits`` bounds them too."""
    sizes = [lib.num_threads for lib in _blas_libraries()]
    return max(sizes, default=1)
